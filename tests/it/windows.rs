//! What Windows does differently, against the real OS (CI runs these
//! under Wine: README's development section says what that does not
//! prove). Capture through if-addrs, loopback on port 0 and on a range,
//! `[::]`, the socket options Windows lacks, socket activation and Unix
//! sockets, which it has not, and the fixes its errors name.

#![cfg(windows)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;

use listenspec::bind::Cause;
use listenspec::plan::ProblemKind;
use listenspec::spec::Transport;
use listenspec::{Bound, Error, Host, ListenSpec};

fn spec(text: &str) -> ListenSpec {
    text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Capture, plan and bind on this host.
fn bind_all(text: &str) -> Result<Bound, Error> {
    listenspec::bind_all(&spec(text))
}

/// Its `BindError`'s failures, each as `(cause, fix)` text.
fn failures(result: Result<Bound, Error>) -> Vec<(String, String)> {
    match result {
        Err(Error::Bind(e)) => e
            .failures()
            .iter()
            .map(|f| (f.cause().to_string(), f.hint()))
            .collect(),
        Err(e) => panic!("not a bind error: {e}"),
        Ok(b) => panic!("bound: {b}"),
    }
}

/// if-addrs gives the host's interfaces, loopback with both families and
/// a real index; the snapshot says Windows.
#[test]
fn capture_gives_the_interfaces_and_both_loopback_addresses() {
    let host = listenspec::capture(&spec("local = loopback expose=local")).unwrap();
    assert_eq!(host.os(), "windows");
    assert!(!host.interfaces().is_empty());
    let addrs: Vec<IpAddr> = host
        .interfaces()
        .iter()
        .inspect(|i| assert_ne!(i.index(), 0, "{}", i.name()))
        .flat_map(|i| i.addrs().iter().map(|n| n.addr()))
        .collect();
    for lo in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        assert!(addrs.contains(&lo), "{lo} not captured: {addrs:?}");
    }
}

/// Port 0 on loopback: one port for both families, and a client reaches
/// each socket.
#[test]
fn loopback_on_port_0_binds_both_families_on_one_port() {
    let mut bound = bind_all("local = loopback expose=local; local.web = http:0").unwrap();
    let listeners = bound
        .take::<Vec<TcpListener>>("local", "web")
        .unwrap_or_else(|e| panic!("{e}"));
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    assert_ne!(addrs[0].port(), 0);
    assert_eq!(addrs[0].port(), addrs[1].port());
    for (l, addr) in listeners.iter().zip(&addrs) {
        let mut c = TcpStream::connect(addr).unwrap();
        let (mut s, _) = l.accept().unwrap();
        c.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }
}

/// A port held by another socket is "in use" on Windows too (the crate
/// sets no SO_REUSEADDR there, which would take it or be refused as
/// access denied): a range moves past it, a fixed port fails naming
/// PowerShell's way to find the holder.
#[test]
fn a_taken_port_is_in_use_and_a_range_moves_past_it() {
    // Room for the range above the held port.
    let (held, port) = loop {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        if port < 65_000 {
            break (held, port);
        }
    };
    let bound = bind_all(&format!(
        "local = 127.0.0.1 expose=local; local.r = tcp:{port}-{}",
        port + 20
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let got = bound.endpoint("local", "r").unwrap().port().unwrap();
    assert!(got > port && got <= port + 20, "{got}");

    let result = bind_all(&format!(
        "local = 127.0.0.1 expose=local; local.a = tcp:{port}"
    ));
    let err = match &result {
        Err(Error::Bind(e)) => e,
        other => panic!("{other:?}"),
    };
    let f = &err.failures()[0];
    assert_eq!(
        f.os_error().unwrap().kind(),
        std::io::ErrorKind::AddrInUse,
        "{err}"
    );
    assert_eq!(
        failures(result)[0].1,
        format!(
            "another process holds it: `Get-NetTCPConnection -LocalPort {port}` (PowerShell) shows which; stop it, or choose another port"
        )
    );
    drop(held);
}

/// A restarted server binds its port while connections of its last run
/// close, without SO_REUSEADDR (Windows keeps no listener off a port for
/// connections in TIME_WAIT).
#[test]
fn a_restarted_server_binds_its_port_again() {
    let mut first = bind_all("local = 127.0.0.1 expose=local; local.a = tcp:0").unwrap();
    let listener = first
        .take::<Vec<TcpListener>>("local", "a")
        .unwrap()
        .remove(0);
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (conn, _) = listener.accept().unwrap();
    // The server closes first, so its side of the connection waits.
    drop(conn);
    assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
    drop((client, listener));
    bind_all(&format!(
        "local = 127.0.0.1 expose=local; local.a = tcp:{port}"
    ))
    .unwrap_or_else(|e| panic!("binding again: {e}"));
}

/// `[::]` is IPv6 only on Windows, as std binds it there: the one-address
/// form means that, the grammar's `::` too, and `v6only=false` makes one
/// socket take IPv4 as well.
#[test]
fn an_ipv6_wildcard_is_ipv6_only_unless_the_endpoint_says_otherwise() {
    let shorthand = spec("[::]:0");
    assert_eq!(shorthand.endpoints()[0].options().v6only, None);
    assert_eq!(
        shorthand.to_string(),
        "listen = :: expose=public\nlisten.tcp = tcp:0\n"
    );
    for (text, takes_v4) in [
        ("[::]:0", false),
        ("any = :: expose=public; any.web = tcp:0", false),
        ("any = :: expose=public; any.web = tcp:0 v6only=false", true),
    ] {
        let bound = bind_all(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let addrs = bound.endpoints()[0].local_addrs();
        assert_eq!(addrs.len(), 1, "{text}");
        let port = addrs[0].port();
        assert!(TcpStream::connect(("::1", port)).is_ok(), "{text}");
        let v4 = TcpStream::connect(("127.0.0.1", port));
        assert_eq!(v4.is_ok(), takes_v4, "{text}: {v4:?}");
    }
}

/// The socket options Windows has no counterpart of are plan errors
/// against this host, naming the option and Windows, before a socket is
/// opened.
#[test]
fn options_windows_lacks_are_plan_errors_naming_it() {
    for option in ["reuseport", "device", "freebind"] {
        let text = format!("local = 127.0.0.1 expose=local; local.a = tcp:0 {option}");
        let err = match bind_all(&text) {
            Err(Error::Plan(e)) => e,
            other => panic!("{option}: {other:?}"),
        };
        let p = &err.errors()[0];
        assert!(
            matches!(p.kind(), ProblemKind::Unsupported { option: o, os, .. } if *o == option && os == "windows"),
            "{option}: {err}"
        );
        let text = err.to_string();
        assert!(text.contains("windows"), "{text}");
        assert!(!p.fix().is_empty(), "{text}");
    }
}

/// The crate binds Unix sockets on Unix only: on this host a Unix
/// endpoint is a plan error naming Windows and what to use instead, and a
/// plan made for a Linux host fails to bind here saying the same.
#[test]
fn a_unix_socket_endpoint_is_refused_with_what_to_use_instead() {
    let text = "local = unix; local.api = http:/run/app/api.sock";
    let err = match bind_all(text) {
        Err(Error::Plan(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(err.errors().len(), 1, "{err}");
    let p = &err.errors()[0];
    assert!(
        matches!(p.kind(), ProblemKind::UnixUnsupported { os, .. } if os == "windows"),
        "{err}"
    );
    assert!(
        p.fix().starts_with("listen on loopback on windows"),
        "{err}"
    );

    let linux = Host::builder().build().unwrap();
    let plan = spec(text).plan(&linux).unwrap();
    let fails = failures(plan.bind_inherited(Vec::new()).map_err(Error::Bind));
    assert_eq!(
        fails,
        [(
            "Unix domain sockets are not supported on windows".to_owned(),
            "use a TCP endpoint on loopback on this OS".to_owned()
        )]
    );
}

/// Windows refuses a port it reserves (Hyper-V's, WSL's and Docker's
/// excluded ranges) or one another socket holds exclusively with
/// WSAEACCES: the fix names both, for the family and protocol, and not
/// Linux's capabilities.
#[test]
fn access_denied_names_the_reserved_ranges_not_capabilities() {
    /// WSAEACCES.
    const ACCESS_DENIED: i32 = 10013;
    for (transport, addr, want) in [
        (
            Transport::Tcp,
            "127.0.0.1:80",
            "`netsh interface ipv4 show excludedportrange protocol=tcp`",
        ),
        (
            Transport::Udp,
            "[::1]:5353",
            "`netsh interface ipv6 show excludedportrange protocol=udp`",
        ),
    ] {
        let cause = Cause::Os {
            error: std::io::Error::from_raw_os_error(ACCESS_DENIED),
            holder: None,
            own: None,
            device: None,
        };
        let addr: SocketAddr = addr.parse().unwrap();
        let hint = cause.hint(transport, addr);
        assert!(hint.contains(want), "{hint}");
        assert!(hint.contains("SO_EXCLUSIVEADDRUSE"), "{hint}");
        assert!(!hint.contains("CAP_NET"), "{hint}");
    }
}

/// An address the snapshot has and this host has not: the fix is to wait
/// or plan again, never `freebind`, which Windows lacks.
#[test]
fn an_address_not_here_is_not_fixed_with_freebind() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "203.0.113.99/32"])
        .os("windows")
        .build()
        .unwrap();
    let err = spec("x = 203.0.113.99; x.a = tcp:0")
        .plan(&host)
        .unwrap()
        .bind_inherited(Vec::new())
        .unwrap_err();
    let f = &err.failures()[0];
    assert_eq!(
        f.os_error().unwrap().kind(),
        std::io::ErrorKind::AddrNotAvailable
    );
    assert!(f.hint().contains("retry in a moment"), "{}", f.hint());
    assert!(!f.hint().contains("freebind"), "{}", f.hint());
}

/// Set in the child run of the activation test, which runs this test
/// binary again with `LISTEN_*` in its environment from the start.
const CHILD: &str = "LISTENSPEC_TEST_WINDOWS_CHILD";

/// Socket activation is Unix's: on Windows `LISTEN_*` are never read, so
/// variables that would be an error on Unix (`LISTEN_PID` not a pid) take
/// nothing, fail nothing, and the endpoint binds its own socket.
#[test]
fn socket_activation_variables_are_not_read() {
    if std::env::var_os(CHILD).is_some() {
        let taken = listenspec::bind::take_from_env().unwrap();
        let bound = bind_all("l = 127.0.0.1 expose=local; l.web = http:0").unwrap();
        let own = bound.endpoints()[0].sockets()[0].inherited().is_none();
        println!("child: taken {} own {own}", taken.len());
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "windows::socket_activation_variables_are_not_read",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("LISTEN_PID", "not-a-pid")
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "l.web")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("child: taken 0 own true"), "{stdout}");
}

/// Handing sockets to a successor is a Unix protocol: on Windows the
/// upgrader says so, with what to do instead, and readiness has no one to
/// tell.
#[test]
fn handing_sockets_to_a_successor_is_refused_with_the_reason() {
    let bound = bind_all("local = 127.0.0.1; local.web = http:0").unwrap();
    let err = listenspec::handoff::Upgrader::new(&bound).unwrap_err();
    assert_eq!(
        err.to_string(),
        "handing sockets to a successor is not supported on windows: restart the server instead (its clients see refused connections meanwhile)"
    );
    assert!(!listenspec::handoff::notify_ready().unwrap());
}
