//! Sockets passed without names (`LISTEN_FDNAMES` not set): the listenfd
//! convention of `systemfd`, and `systemd-socket-activate` without
//! `--fdname`. Each is taken where it sits on exactly one planned socket,
//! and is an error saying how to name it otherwise; `LISTEN_FDS` without
//! this process's `LISTEN_PID` (`systemfd --no-pid`) is never taken, and
//! the address it holds is not blamed on another process. The matching
//! through `Plan::bind_inherited`, then the real `systemd-socket-activate`
//! and `systemfd` in front of the server example.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use listenspec::bind::{Cause, Disagreement, Inherited};
use listenspec::{BindError, Bound, Host, ListenSpec, Plan};

use crate::TempDir;
use crate::examples::{Running, example};

fn lo_host() -> Host {
    Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .build()
        .unwrap()
}

fn plan(spec: &str) -> Plan {
    let spec: ListenSpec = spec.parse().unwrap();
    spec.plan(&lo_host()).unwrap_or_else(|e| panic!("{e}"))
}

/// A listening TCP socket on 127.0.0.1, as a tool passes it.
fn listening() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

fn unnamed(l: impl Into<socket2::Socket>) -> Inherited {
    Inherited::unnamed(l.into())
}

/// The one socket of `network.name`: its address and inherited name.
fn socket_of(bound: &Bound, network: &str, name: &str) -> (SocketAddr, Option<String>) {
    let s = &bound.endpoint(network, name).unwrap().sockets()[0];
    (s.local_addr(), s.inherited().map(str::to_owned))
}

/// The one failure's cause, with the whole error for messages.
fn only_cause(err: &BindError) -> &Cause {
    assert_eq!(err.failures().len(), 1, "{err}");
    err.failures()[0].cause()
}

/// Every error about an unnamed socket says it came without a name and
/// the three ways to have it matched.
fn assert_says_how_to_name(err: &BindError) {
    let text = err.to_string();
    for want in [
        "came without a name (LISTEN_FDNAMES is not set)",
        "FileDescriptorName=NETWORK.ENDPOINT",
        "systemd-socket-activate --fdname=NETWORK.ENDPOINT",
        "systemfd passes no names, so each of its sockets must sit on exactly one planned address",
    ] {
        assert!(text.contains(want), "want {want:?} in:\n{text}");
    }
}

#[test]
fn an_unnamed_socket_on_a_planned_address_and_port_is_taken() {
    let (l, addr) = listening();
    let port = addr.port();
    // The other endpoint is on ::1 only: nothing else fits.
    let plan = plan(&format!(
        "public = 127.0.0.1; public.http = http:{port}; ops = ::1; ops.health = http:0"
    ));
    let bound = plan
        .bind_inherited(vec![unnamed(l)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        socket_of(&bound, "public", "http"),
        (addr, Some("unknown".to_owned()))
    );
    assert_eq!(socket_of(&bound, "ops", "health").1, None);
    // The table says so, as for a named one.
    let table = bound.to_string();
    assert!(table.contains("inherited unknown"), "{table}");
    // And it is the very socket: a client reaches it through the bound one.
    let listener = match bound.endpoint("public", "http").unwrap().sockets()[0].listener() {
        listenspec::bind::Listener::Tcp(t) => t.try_clone().unwrap(),
        other => panic!("{other:?}"),
    };
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(b"hi").unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0; 2];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi");
}

/// Port 0 takes any port, a range a port inside it; the endpoint's other
/// addresses are then bound on the socket's port.
#[test]
fn an_unnamed_socket_fits_port_0_or_a_range_holding_its_port() {
    let (l, addr) = listening();
    let bound = plan("l = 127.0.0.1, ::1; l.web = http:0")
        .bind_inherited(vec![unnamed(l)])
        .unwrap_or_else(|e| panic!("{e}"));
    let ep = bound.endpoint("l", "web").unwrap();
    assert_eq!(ep.sockets()[0].local_addr(), addr);
    assert_eq!(ep.sockets()[0].inherited(), Some("unknown"));
    assert_eq!(ep.sockets()[1].local_addr().port(), addr.port());
    assert_eq!(ep.sockets()[1].inherited(), None);

    let (l, addr) = listening();
    let p = addr.port();
    let bound = plan(&format!(
        "l = 127.0.0.1; l.web = tcp:{}-{}",
        p.saturating_sub(5).max(1),
        p.saturating_add(5)
    ))
    .bind_inherited(vec![unnamed(l)])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        socket_of(&bound, "l", "web"),
        (addr, Some("unknown".into()))
    );

    // A range that does not hold the port does not fit.
    let (l, addr) = listening();
    let p = addr.port();
    let err = plan(&format!("l = 127.0.0.1; l.web = tcp:{}-{}", p + 1, p + 3))
        .bind_inherited(vec![unnamed(l)])
        .unwrap_err();
    assert!(
        matches!(only_cause(&err), Cause::UnnamedUnmatched { .. }),
        "{err}"
    );
}

/// A planned socket on exactly the socket's address and port is the one,
/// even when another endpoint on the address says port 0: given to that
/// one, the fixed port would be taken.
#[test]
fn an_exact_port_wins_over_port_0_on_the_same_address() {
    let (l, addr) = listening();
    let bound = plan(&format!(
        "l = 127.0.0.1; l.web = http:{}; l.ops = http:0",
        addr.port()
    ))
    .bind_inherited(vec![unnamed(l)])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        socket_of(&bound, "l", "web"),
        (addr, Some("unknown".into()))
    );
    assert_eq!(socket_of(&bound, "l", "ops").1, None);
}

#[test]
fn an_unnamed_socket_on_no_planned_address_says_how_to_name_it() {
    let (l, addr) = listening();
    let err = plan("l = ::1; l.web = http:0")
        .bind_inherited(vec![unnamed(l)])
        .unwrap_err();
    match only_cause(&err) {
        Cause::UnnamedUnmatched { found, planned, .. } => {
            assert_eq!(*found, format!("tcp {addr}"));
            assert_eq!(*planned, ["l.web tcp [::1]:0 (any port)"]);
        }
        other => panic!("{other:?}"),
    }
    assert_says_how_to_name(&err);
    let text = err.to_string();
    assert!(text.contains(&format!("(tcp {addr})")), "{text}");
    assert!(
        text.contains("the plan has l.web tcp [::1]:0 (any port)"),
        "{text}"
    );
    // Not bound on the endpoint: it concerns no planned socket.
    assert_eq!(err.failures()[0].endpoint(), None);

    // The right address but the other transport does not fit either.
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = u.local_addr().unwrap().port();
    let err = plan(&format!("l = 127.0.0.1; l.web = http:{port}"))
        .bind_inherited(vec![unnamed(u)])
        .unwrap_err();
    assert!(
        matches!(only_cause(&err), Cause::UnnamedUnmatched { found, .. } if found.starts_with("udp ")),
        "{err}"
    );
}

#[test]
fn an_unnamed_socket_that_fits_two_endpoints_is_not_a_guess() {
    let (l, addr) = listening();
    let err = plan("l = 127.0.0.1; l.web = http:0; l.ops = http:0")
        .bind_inherited(vec![unnamed(l)])
        .unwrap_err();
    match only_cause(&err) {
        Cause::UnnamedAmbiguous {
            found, candidates, ..
        } => {
            assert_eq!(*found, format!("tcp {addr}"));
            assert_eq!(
                *candidates,
                [
                    "l.web tcp 127.0.0.1:0 (any port)",
                    "l.ops tcp 127.0.0.1:0 (any port)"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_says_how_to_name(&err);
    assert!(
        err.to_string()
            .contains("give the others fixed ports or other addresses"),
        "{err}"
    );
}

/// Two unnamed sockets that fit one planned socket: neither is taken.
#[test]
fn two_unnamed_sockets_for_one_planned_socket_are_refused() {
    let (a, a_addr) = listening();
    let (b, _) = listening();
    let (a_fd, b_fd) = {
        use std::os::fd::AsRawFd;
        (a.as_raw_fd(), b.as_raw_fd())
    };
    let err = plan("l = 127.0.0.1; l.web = http:0")
        .bind_inherited(vec![unnamed(a), unnamed(b)])
        .unwrap_err();
    assert_eq!(err.failures().len(), 2, "{err}");
    for (f, (fd, other)) in err.failures().iter().zip([(a_fd, b_fd), (b_fd, a_fd)]) {
        assert!(
            matches!(f.cause(), Cause::UnnamedShared { fd: got, others, .. } if *got == fd && *others == [other]),
            "{err}"
        );
        assert_eq!(f.endpoint().unwrap().to_string(), "l.web");
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "inherited fd {a_fd} (tcp {a_addr}) came without a name (LISTEN_FDNAMES is not set), \
             so it is matched by its address, but unnamed fd {b_fd} fits this planned socket too"
        )),
        "{text}"
    );
    assert!(
        text.contains("pass one socket per planned address"),
        "{text}"
    );
}

/// Named sockets go by name as before, unnamed ones by address, in one bind.
#[test]
fn named_and_unnamed_sockets_are_taken_together() {
    let (named, named_addr) = listening();
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u_addr = u.local_addr().unwrap();
    let bound = plan(&format!(
        "l = 127.0.0.1; l.web = http:0; l.dns = udp:{}",
        u_addr.port()
    ))
    .bind_inherited(vec![Inherited::new("l.web", named.into()), unnamed(u)])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        socket_of(&bound, "l", "web"),
        (named_addr, Some("l.web".into()))
    );
    assert_eq!(
        socket_of(&bound, "l", "dns"),
        (u_addr, Some("unknown".into()))
    );

    // An unnamed socket that fits only where a named one went is a second
    // socket for that planned socket.
    let (named, _) = listening();
    let (other, _) = listening();
    let err = plan("l = 127.0.0.1; l.web = http:0")
        .bind_inherited(vec![Inherited::new("l.web", named.into()), unnamed(other)])
        .unwrap_err();
    assert!(
        matches!(only_cause(&err), Cause::InheritedTwice { name } if name == "unknown"),
        "{err}"
    );
}

/// Taken by address, an unnamed socket is still checked as a named one
/// is: here an accepted connection instead of a listening socket.
#[test]
fn an_unnamed_socket_is_checked_as_a_named_one() {
    let (l, addr) = listening();
    let _client = TcpStream::connect(addr).unwrap();
    let (accepted, _) = l.accept().unwrap();
    let port = accepted.local_addr().unwrap().port();
    drop(l);
    let err = plan(&format!("l = 127.0.0.1; l.web = http:{port}"))
        .bind_inherited(vec![unnamed(accepted)])
        .unwrap_err();
    assert!(
        matches!(
            only_cause(&err),
            Cause::InheritedDisagrees { name, why, .. }
                if name == "unknown" && matches!(why[..], [Disagreement::NotListening { .. }])
        ),
        "{err}"
    );
}

/// A Unix socket passed without a name is matched by its path.
#[test]
fn an_unnamed_unix_socket_is_matched_by_its_path() {
    let dir = TempDir::new("unnamed");
    let path = dir.join("ctl.sock");
    let _ = std::fs::remove_file(&path);
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let spec = format!(
        "l = 127.0.0.1; l.web = http:0; u = unix; u.ctl = unix:{}",
        path.display()
    );
    let bound = plan(&spec)
        .bind_inherited(vec![unnamed(l)])
        .unwrap_or_else(|e| panic!("{e}"));
    let ctl = bound.endpoint("u", "ctl").unwrap().unix().unwrap();
    assert_eq!(ctl.inherited(), Some("unknown"));
    assert_eq!(socket_of(&bound, "l", "web").1, None);
    drop(bound);
}

/// A port free a moment ago on 127.0.0.1: bound on port 0, then let go,
/// for a tool that binds it itself.
fn free_port() -> u16 {
    listening().1.port()
}

/// Whether `tool` is there to run; if not, `SKIP test: why`, or a panic
/// under `CI`, which installs every tool the tests use.
fn tool_or_skip(test: &str, tool: &str, install: &str) -> bool {
    match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => return true,
        _ => {}
    }
    let why = format!("cannot run `{tool} --version` ({install})");
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI must run this test, but: {why}"
    );
    eprintln!("SKIP {test}: {why}");
    false
}

/// The server example's spec for a passed socket on 127.0.0.1:`port`, in
/// `server.spec` of the directory returned.
fn server_spec(test: &str, port: u16) -> TempDir {
    let dir = TempDir::new(test);
    std::fs::write(
        dir.join("server.spec"),
        format!(
            "public = 127.0.0.1\npublic.http = http:{port}\nops = ::1 expose=local\nops.health = http:0\n"
        ),
    )
    .unwrap();
    dir
}

/// `GET /` on 127.0.0.1:`port`, retried until something listens there
/// (bounded): the tools bind before they start the server.
fn get_when_listening(port: u16) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(addr) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                write!(s, "GET / HTTP/1.0\r\n\r\n").unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                return out;
            }
            Err(e) if Instant::now() > deadline => panic!("nothing listened on {addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The server's start-up lines, up to `ready`.
fn startup(child: &mut std::process::Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "ready" {
            return lines;
        }
        lines.push(line);
    }
    panic!("the server exited before it was ready: {lines:?}");
}

/// The real `systemd-socket-activate` without `--fdname`: it sets no
/// `LISTEN_FDNAMES`, and the server takes the socket by its address.
#[test]
fn the_server_takes_an_unnamed_socket_from_systemd_socket_activate() {
    let test = "the_server_takes_an_unnamed_socket_from_systemd_socket_activate";
    let tool = "/usr/bin/systemd-socket-activate";
    if !tool_or_skip(test, tool, "Debian package systemd") {
        return;
    }
    let port = free_port();
    let dir = server_spec("unnamed-activate", port);
    let spec = dir.join("server.spec");
    let mut child = Command::new(tool)
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(example("server"))
        .arg(&spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The tool starts the server on the first connection.
    let reply = get_when_listening(port);
    let lines = startup(&mut child);
    let _guard = Running(child);
    assert!(
        reply.ends_with("hello from the public network\n"),
        "{reply}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("public.http 127.0.0.1:{port} "))
                && l.ends_with("(inherited unknown)")),
        "{lines:?}"
    );
}

/// The real `systemfd` (`cargo install --locked systemfd`): with
/// `LISTEN_PID` the server takes its unnamed socket and serves on it;
/// with `--no-pid` it takes nothing, and its bind error says why the
/// address is in use and how to run systemfd instead.
#[test]
fn the_server_takes_its_socket_from_systemfd_and_explains_no_pid() {
    let test = "the_server_takes_its_socket_from_systemfd_and_explains_no_pid";
    if !tool_or_skip(test, "systemfd", "cargo install --locked systemfd") {
        return;
    }
    let port = free_port();
    let dir = server_spec("systemfd", port);
    let spec = dir.join("server.spec");
    // tcp::HOST:PORT, so it binds loopback only.
    let socket = format!("tcp::127.0.0.1:{port}");
    let mut child = Command::new("systemfd")
        .args(["--quiet", "-s", &socket, "--"])
        .arg(example("server"))
        .arg(&spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = startup(&mut child);
    let _guard = Running(child);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("public.http 127.0.0.1:{port} "))
                && l.ends_with("(inherited unknown)")),
        "{lines:?}"
    );
    let reply = get_when_listening(port);
    assert!(
        reply.ends_with("hello from the public network\n"),
        "{reply}"
    );
    drop(_guard);

    let port = free_port();
    let dir = server_spec("systemfd-no-pid", port);
    let spec = dir.join("server.spec");
    let socket = format!("tcp::127.0.0.1:{port}");
    let out = Command::new("systemfd")
        .args(["--quiet", "--no-pid", "-s", &socket, "--"])
        .arg(example("server"))
        .arg(&spec)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for want in [
        format!("public.http: tcp 127.0.0.1:{port}: Address already in use"),
        "LISTEN_FDS=\"1\" is set without LISTEN_PID, so the sockets passed from fd 3 on were not taken"
            .to_owned(),
        "run systemfd without --no-pid".to_owned(),
        "set LISTEN_PID".to_owned(),
    ] {
        assert!(stderr.contains(&want), "want {want:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("another process holds it"), "{stderr}");

    // With LISTEN_PID, but of a shell that forks the server (as cargo
    // watch does) instead of becoming it.
    let out = Command::new("systemfd")
        .args([
            "--quiet",
            "-s",
            &socket,
            "--",
            "sh",
            "-c",
            r#""$0" "$1"; exit $?"#,
        ])
        .arg(example("server"))
        .arg(&spec)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for want in [
        "LISTEN_FDS=\"1\" is set with LISTEN_PID=",
        ", which is not this process (",
        "start the server directly",
    ] {
        assert!(stderr.contains(want), "want {want:?} in:\n{stderr}");
    }
}
