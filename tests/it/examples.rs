//! The tools as a person runs them: the installed `listenspec doctor`, the
//! server example, and the server under the real `systemd-socket-activate`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
#[cfg(unix)]
use std::time::{Duration, Instant};

use crate::TempDir;
use listenspec::Host;

/// An example binary; `cargo test` builds examples beside the test binary.
pub(crate) fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds the examples",
        path.display()
    );
    path
}

/// `listenspec doctor`, the binary `cargo install listenspec --features cli`
/// installs; the tests turn `cli` on through the dev-dependency on this
/// crate, so cargo builds it for them.
fn doctor_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_listenspec"));
    c.arg("doctor");
    c
}

fn doctor(args: &[&str]) -> Output {
    doctor_command()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn doctor_plans_the_sample_spec_on_this_host() {
    let out = doctor(&["--spec", "examples/sample.spec"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("host (this machine):"), "{stdout}");
    assert!(stdout.contains("public.http"), "{stdout}");
    assert!(stdout.contains("0.0.0.0:8080"), "{stdout}");
    assert!(stdout.contains("https://my-awesome-service/"), "{stdout}");
    assert!(
        stdout.contains("loopback matched lo 127.0.0.1/8"),
        "{stdout}"
    );
}

#[test]
fn doctor_json_lists_endpoints_and_errors() {
    let out = doctor(&["--spec", "examples/sample.spec", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let eps = v["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 3);
    assert_eq!(eps[0]["network"], "public");
    assert_eq!(eps[0]["name"], "http");
    assert_eq!(eps[0]["protocol"], "http");
    assert_eq!(eps[0]["advertise"], "https://my-awesome-service/");
    assert!(v["warnings"].as_array().unwrap().is_empty());

    let out = doctor(&[
        "--listen",
        "ops = if:nosuch0",
        "--listen",
        "ops.m = tcp:1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = &v["errors"][0];
    assert_eq!(err["network"], "ops");
    assert_eq!(err["endpoint"], serde_json::Value::Null);
    assert_eq!(err["severity"], "error");
    assert!(err["message"].as_str().unwrap().contains("nosuch0"), "{v}");
    assert!(err["fix"].as_str().unwrap().contains("ip -br addr"), "{v}");
    assert!(
        v["host"].as_str().unwrap().starts_with("this host has: "),
        "{v}"
    );

    let out = doctor(&["--listen", "x = 10.0.0.1/8", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"][0]["line"], 1);
    assert_eq!(v["errors"][0]["layer"], "--listen #1");
    assert_eq!(v["errors"][0]["statement"], "x = 10.0.0.1/8");
    // No error names an undefined network, so no list (not an empty one,
    // which would say the spec defines none).
    assert_eq!(v["networks"], serde_json::Value::Null, "{v}");
}

/// `--listen "$ADDR"` with `ADDR` unset is an error, not a flag dropped;
/// so is a value of only comments (`#$%@`), which would plan nothing.
#[test]
fn doctor_refuses_an_empty_listen() {
    for empty in ["", "#$%@", " ; # x"] {
        let out = doctor(&[
            "--listen",
            "x = loopback expose=local; x.a = tcp:1",
            "--listen",
            empty,
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("--listen #2 is empty (an unset shell variable?) or holds only `;` and comments; give a spec line, or leave the flag out"),
            "{empty:?}: {}",
            text(&out.stderr)
        );
    }
}

/// An endpoint on an undefined network: the JSON lists the networks the
/// spec does define, in the order written, as the text does under the
/// errors, and says so once however many endpoints are lost.
#[test]
fn doctor_json_spec_error_lists_the_defined_networks() {
    let out = doctor(&[
        "--listen",
        "public = loopback",
        "--listen",
        "ops = loopback expose=local",
        "--listen",
        "nowhere.a = tcp:1",
        "--listen",
        "elsewhere.b = tcp:2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"].as_array().unwrap().len(), 2, "{v}");
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nowhere.a"), "{v}");
    assert_eq!(v["networks"], serde_json::json!(["public", "ops"]), "{v}");
    assert_eq!(v["did_you_mean"], serde_json::json!([]), "{v}");
    // A slip of a defined network's name: the guess, as the text's.
    let out = doctor(&[
        "--listen",
        "ops = loopback expose=local",
        "--listen",
        "opps.a = tcp:1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["did_you_mean"],
        serde_json::json!([["opps.a", "ops.a"]]),
        "{v}"
    );

    // A spec with endpoints and no network at all: an empty list, where
    // the text says so in words.
    let out = doctor(&["--listen", "nowhere.a = tcp:1", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["networks"], serde_json::json!([]), "{v}");
    let out = doctor(&["--listen", "nowhere.a = tcp:1"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with("\nthe spec defines no network\n"),
        "{stderr}"
    );
}

#[test]
fn doctor_replays_a_recorded_host_and_explains_errors() {
    let host = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hosts/container.json"
    );
    let out = doctor(&[
        "--host",
        host,
        "--listen",
        "edge = dns:my-awesome-service",
        "--listen",
        "edge.http = http:8080",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("resolves to 31.167.56.251"), "{stderr}");
    assert!(stderr.contains("eth0 (#23) 172.17.0.3/16"), "{stderr}");
    assert!(stderr.contains("NAT, a proxy or load balancer"), "{stderr}");
}

/// A recorded host's addresses are another machine's: binding or
/// probing its plan here would bind whatever this machine has at them
/// (the snapshot's ops address may be this machine's public one). The
/// doctor refuses `--bind` and `--check` with `--host` as a bad argument,
/// before anything is bound.
#[test]
fn doctor_binds_and_checks_this_host_only() {
    let host = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hosts/container.json"
    );
    for flag in ["--bind", "--check"] {
        let out = doctor(&[
            "--host",
            host,
            "--listen",
            "l = loopback",
            "--listen",
            "l.a = tcp:0",
            flag,
        ]);
        assert_eq!(out.status.code(), Some(1), "{flag}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("cannot be used with"), "{flag}: {stderr}");
        assert!(out.stdout.is_empty(), "{flag}: {}", text(&out.stdout));
    }
}

/// A host file whose name holds a newline and a terminal escape is named
/// quoted and escaped, in the table's heading and in an error: its name
/// cannot forge a line of the doctor's output.
#[cfg(unix)] // Windows names no file with a newline
#[test]
fn doctor_names_a_host_file_with_control_characters_escaped() {
    let dir = TempDir::new("doctor-name");
    let good = dir.join("web-1\n- network ops: all good\x1b[2K.json");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/hosts/container.json"
        ),
        &good,
    )
    .unwrap();
    let out = doctor(&[
        "--host",
        good.to_str().unwrap(),
        "--listen",
        "l = loopback",
        "--listen",
        "l.a = tcp:0",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(r#"web-1\n- network ops: all good\u{1b}[2K.json""#),
        "{stdout}"
    );
    let bad = dir.join("web-2\n- fake\x1b[2K.json");
    std::fs::write(&bad, "{").unwrap();
    let out = doctor(&["--host", bad.to_str().unwrap(), "--listen", "l = loopback"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(r#"web-2\n- fake\u{1b}[2K.json""#),
        "{stderr}"
    );
    for output in [&stdout, &stderr] {
        assert!(!output.contains('\x1b'), "{output}");
        assert!(!output.contains("\n- "), "{output}");
    }
}

/// A good plan on a host of thousands of interfaces, one named with 1,000
/// characters, is a page of output, not the whole host: the doctor lists
/// the first interfaces and addresses, and how many more, and quotes a
/// name by its start (it printed 2,000 lines of 40 addresses, and the
/// name whole).
#[test]
fn doctor_lists_a_huge_host_in_a_bounded_page() {
    let dir = TempDir::new("doctor-huge");
    let long_name = "n".repeat(1_000);
    let interfaces: Vec<String> = std::iter::once(
        r#"{"name": "lo", "index": 1, "up": true, "addrs": ["127.0.0.1/8"]}"#.to_owned(),
    )
    .chain((0..2_000u32).map(|i| {
        let name = if i == 0 {
            long_name.clone()
        } else {
            format!("eth{i}")
        };
        let addrs: Vec<String> = (0..40u32)
            .map(|a| format!(r#""2001:db8:{i:x}::{a:x}/64""#))
            .collect();
        format!(
            r#"{{"name": "{name}", "index": {}, "up": true, "addrs": [{}]}}"#,
            i + 2,
            addrs.join(", ")
        )
    }))
    .collect();
    let host = dir.join("huge.json");
    let json = format!(r#"{{"interfaces": [{}]}}"#, interfaces.join(",\n"));
    std::fs::write(&host, json).unwrap();
    let out = doctor(&[
        "--host",
        host.to_str().unwrap(),
        "--listen",
        "l = loopback",
        "--listen",
        "l.a = tcp:1",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("and 1969 more interfaces"), "{stdout}");
    assert!(stdout.contains("eth9 (#11) 2001:db8:9::/64"), "{stdout}");
    assert!(stdout.contains("and 24 more addresses"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:1"), "{stdout}");
    assert!(!stdout.contains(&"n".repeat(300)), "{stdout}");
    assert!(
        stdout.len() < 16 << 10 && stdout.lines().count() < 60,
        "{} bytes, {} lines:\n{stdout}",
        stdout.len(),
        stdout.lines().count()
    );
}

/// `$LISTEN` is laid over `--spec` and `--listen` as a server's
/// `ListenArgs` lays it: the doctor run with the server's environment
/// plans what the server binds (it left `$LISTEN` out, and showed less).
#[test]
fn doctor_lays_listen_from_the_environment_as_a_server_does() {
    let out = doctor_command()
        .args([
            "--listen",
            "ops = 127.0.0.1",
            "--listen",
            "ops.http = http:0",
        ])
        .env("LISTEN", "extra = 127.0.0.2; extra.http = http:0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("extra.http"), "{stdout}");
    assert!(stdout.contains("ops.http"), "{stdout}");
}

/// A `--listen-file` at a named pipe no process writes to is an error at
/// once, as the server's `ListenArgs` has it: not a wait for a writer, nor
/// a plan without the file's lines.
#[cfg(unix)]
#[test]
fn doctor_refuses_a_listen_file_that_is_a_pipe_without_a_writer() {
    let dir = crate::TempDir::new("doctor-fifo");
    let fifo = dir.join("listen.spec");
    crate::mkfifo(&fifo);
    let out = doctor_command()
        .args([
            "--host",
            "tests/data/hosts/loopback-only.json",
            "--listen",
            "127.0.0.1:80",
        ])
        .arg("--listen-file")
        .arg(&fifo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(stderr.contains("no process wrote to it"), "{stderr}");
}

/// Out of descriptors, a bind failure says to raise the limit, not "see
/// the OS error".
#[cfg(unix)]
#[test]
fn doctor_out_of_descriptors_says_to_raise_the_limit() {
    let mut spec = "l = 127.0.0.1".to_owned();
    for i in 0..24 {
        spec.push_str(&format!("; l.e{i} = tcp:0"));
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 12 && exec "$0" doctor --bind --listen "$1""#)
        .arg(env!("CARGO_BIN_EXE_listenspec"))
        .arg(&spec)
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("Too many open files")
            && all.contains(
                "fix: the process is out of file descriptors: raise its limit (`ulimit -n`"
            ),
        "{all}"
    );
}

/// A `$LISTEN` or a `${PORT}` set, but not to UTF-8 text, is an error
/// naming it: read as not set, the wildcard under `$LISTEN` would stand
/// without a word, and `${PORT:-8080}` take its default.
#[cfg(unix)]
#[test]
fn a_variable_that_is_not_utf8_is_an_error_not_unset() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;
    let latin1 = |bytes: &[u8]| OsStr::from_bytes(bytes).to_owned();
    for (name, value, says) in [
        (
            "LISTEN",
            latin1(b"public = 127.0.0.1 # caf\xe9 only"),
            "$LISTEN is set, but not to UTF-8 text (\"public = 127.0.0.1 # caf\u{fffd} only\"",
        ),
        (
            "LISTENSPEC_TEST_PORT",
            latin1(b"8\xff"),
            "$LISTENSPEC_TEST_PORT is set, but not to UTF-8 text",
        ),
    ] {
        let out = doctor_command()
            .args([
                "--host",
                "tests/data/hosts/loopback-only.json",
                "--listen",
                "public = * expose=public",
                "--listen",
                "public.http = http:${LISTENSPEC_TEST_PORT:-8080}",
            ])
            .env_remove("LISTEN")
            .env_remove("LISTENSPEC_TEST_PORT")
            .env(name, value)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{name}: {}", text(&out.stdout));
        assert!(stderr.contains(says), "{name}: {stderr}");
    }
}

#[test]
fn doctor_dumps_this_host_as_a_snapshot_it_can_replay() {
    let out = doctor(&["--listen", "local = loopback", "--dump-host"]);
    assert!(out.status.success());
    let host: Host = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        host.interfaces()
            .iter()
            .any(|i| i.addrs().iter().any(|a| a.to_string() == "127.0.0.1/8"))
    );
}

#[test]
fn doctor_binds_for_real_and_reports_failures() {
    let out = doctor(&[
        "--listen",
        "local = 127.0.0.1",
        "--listen",
        "local.a = tcp:0",
        "--bind",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bound = v["endpoints"][0]["bound"]["sockets"][0]["addr"]
        .as_str()
        .unwrap();
    let addr: SocketAddr = bound.parse().unwrap();
    assert_ne!(addr.port(), 0, "the real port is reported");
    // Binding is not checking: nothing was sent to the advertised address.
    assert!(v["endpoints"][0].get("reach").is_none(), "{v}");

    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = doctor(&[
        "--listen",
        "local = 127.0.0.1",
        "--listen",
        &format!("local.a = tcp:{port}"),
        "--bind",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("another process holds it"), "{stderr}");
}

/// Waiting, `--json` still puts the last attempt's error on stdout for a
/// script to read, a plan's or a bind's, and the wait in words on stderr.
#[test]
fn doctor_waiting_writes_the_last_error_as_json() {
    let out = doctor(&[
        "--listen",
        "svc = if:nosuch9; svc.web = http:0",
        "--wait",
        "0.2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nosuch9"), "{v}");
    assert!(text(&out.stderr).starts_with("gave up waiting for the host after 0."));

    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = doctor(&[
        "--listen",
        &format!("local = 127.0.0.1; local.a = tcp:{port}"),
        "--wait",
        "5",
        "--bind",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["errors"][0]["address"],
        format!("127.0.0.1:{port}"),
        "{v}"
    );
}

/// The doctor, watching or not, ends with an error when its report cannot
/// be written, and quietly, with success, when its reader went away
/// (`| head`).
#[test]
fn doctor_fails_when_its_report_cannot_be_written() {
    let listen = ["--listen", "local = 127.0.0.1; local.a = tcp:0"];
    for watching in [true, false] {
        let doctor = || {
            let mut c = doctor_command();
            c.args(listen);
            if watching {
                c.arg("--watch");
            }
            c
        };
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let gone = doctor().stdout(writer).output().unwrap();
        assert_eq!(gone.status.code(), Some(0), "{}", text(&gone.stderr));
        assert_eq!(text(&gone.stderr), "");

        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let failed = doctor().stdout(full).output().unwrap();
        assert_eq!(failed.status.code(), Some(1), "watching: {watching}");
        assert!(
            text(&failed.stderr).starts_with("cannot write the report: "),
            "{}",
            text(&failed.stderr)
        );
    }
}

/// Kills the child when the test ends, pass or fail.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the server's start-up lines up to `ready`.
fn startup(stdout: ChildStdout) -> Vec<String> {
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "ready" {
            return lines;
        }
        lines.push(line);
    }
    panic!("server exited before it was ready: {lines:?}");
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// `ENDPOINT ADDR URL ...` lines into (endpoint, address).
fn sockets(lines: &[String]) -> Vec<(String, SocketAddr)> {
    lines
        .iter()
        .map(|l| {
            let mut w = l.split_whitespace();
            (
                w.next().unwrap().to_owned(),
                w.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_server_serves_public_and_ops_on_separate_networks() {
    let mut child = Command::new(example("server"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Running(child);
    let lines = startup(stdout);
    let socks = sockets(&lines);
    let public: Vec<_> = socks.iter().filter(|(e, _)| e == "public.http").collect();
    let ops: Vec<_> = socks.iter().filter(|(e, _)| e == "ops.health").collect();
    assert_eq!(public.len(), 1, "{lines:?}");
    assert_eq!(ops.len(), 2, "{lines:?}");
    assert!(get(public[0].1, "/").ends_with("hello from the public network\n"));
    for (_, addr) in &ops {
        assert!(get(*addr, "/health").ends_with("ok\n"));
    }
    assert!(get(ops[0].1, "/metrics").ends_with("requests_total 1\n"));
    // The ops port is not open on the public address.
    let cross = SocketAddr::new(public[0].1.ip(), ops[0].1.port());
    assert!(TcpStream::connect(cross).is_err());
}

#[cfg(unix)] // systemd-socket-activate
#[test]
fn the_server_takes_its_socket_from_systemd_socket_activate() {
    let tool = "/usr/bin/systemd-socket-activate";
    if !std::path::Path::new(tool).exists() {
        let why = format!("{tool} is not installed (Debian package systemd)");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: {why}"
        );
        eprintln!("SKIP the_server_takes_its_socket_from_systemd_socket_activate: {why}");
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("activate");
    let spec = dir.join("server.spec");
    std::fs::write(
        &spec,
        format!("public = 127.0.0.1\npublic.http = http:{port}\nops = ::1 expose=local\nops.health = http:0\n"),
    )
    .unwrap();
    let mut child = Command::new(tool)
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg("--fdname=public.http")
        .arg(example("server"))
        .arg(&spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Running(child);
    // The tool binds the port itself and starts the server on the first
    // connection; wait for the port to exist, bounded.
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let reply = loop {
        match TcpStream::connect(addr) {
            Ok(mut s) => {
                write!(s, "GET / HTTP/1.0\r\n\r\n").unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                break out;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("systemd-socket-activate never listened on {addr}: {e}"),
        }
    };
    assert!(
        reply.ends_with("hello from the public network\n"),
        "{reply}"
    );
    let lines = startup(stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("public.http 127.0.0.1:{port} "))
                && l.ends_with("(inherited public.http)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ops.health [::1]:") && !l.contains("inherited")),
        "{lines:?}"
    );
}

/// A real EACCES: `listenspec doctor` without CAP_NET_BIND_SERVICE (dropped from
/// the bounding set by util-linux's setpriv) binding a port below 1024.
#[cfg(unix)] // setpriv; Windows has no privileged ports
#[test]
fn a_privileged_port_without_the_capability_says_how_to_get_it() {
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    if start <= 1 {
        eprintln!(
            "note: every port is unprivileged on this kernel (ip_unprivileged_port_start={start}); nothing to test"
        );
        return;
    }
    let port = start - 1;
    let out = Command::new("setpriv")
        .arg("--bounding-set=-net_bind_service")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_listenspec"))
        .args([
            "doctor",
            "--listen",
            "l = 127.0.0.1",
            "--listen",
            &format!("l.web = http:{port}"),
            "--bind",
        ])
        .output()
        .expect("setpriv (util-linux) runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(stderr.contains("CAP_NET_BIND_SERVICE"), "{stderr}");
}

#[test]
fn doctor_checks_that_advertised_addresses_reach_it() {
    let out = doctor(&[
        "--listen",
        "l = 127.0.0.1",
        "--listen",
        "l.web = http:0",
        "--check",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reach = &v["endpoints"][0]["reach"][0];
    assert_eq!(reach["reached"], true, "{v}");
    assert_eq!(
        reach["target"],
        v["endpoints"][0]["bound"]["sockets"][0]["addr"]
    );

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = doctor(&[
        "--listen",
        &format!("l = 127.0.0.1 advertise 127.0.0.1:{closed}"),
        "--listen",
        "l.web = http:0",
        "--check",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL l.web"), "{stdout}");
    assert!(
        stdout.contains("nothing reachable answers there"),
        "{stdout}"
    );
}

#[test]
fn doctor_help_is_usage_on_stdout_and_success() {
    for flag in ["--help", "-h"] {
        let out = doctor(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("Usage: listenspec doctor "),
            "{flag}: {stdout}"
        );
        for option in ["--spec", "--listen", "--host", "--dump-host", "--json"] {
            assert!(stdout.contains(option), "{flag}: {stdout}");
        }
        assert!(out.stderr.is_empty(), "{flag}: {}", text(&out.stderr));
    }
    let out = doctor(&["--help"]);
    assert!(text(&out.stdout).contains("Exit status: 0 for a good plan"));
}

#[test]
fn doctor_refuses_an_unknown_argument_as_a_bad_argument() {
    let out = doctor(&["--bogus"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("--bogus"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn doctor_lays_listen_lines_over_the_spec_file() {
    let out = doctor(&[
        "--host",
        "tests/data/hosts/loopback-only.json",
        "--spec",
        "examples/sample.spec",
        "--listen",
        "public.http = http:9000",
        "--listen",
        "-ops.admin",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let eps = v["endpoints"].as_array().unwrap();
    let names: Vec<&str> = eps.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["http", "metrics"], "{v}");
    assert_eq!(eps[0]["ports"], "9000");
    assert_eq!(eps[0]["bind"][0]["addr"], "0.0.0.0:9000");
    assert_eq!(eps[0]["bind"][0]["why"]["kind"], "wildcard");
}

#[test]
fn doctor_without_a_spec_says_what_to_give() {
    let out = doctor(&["--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("nothing to plan"), "{stderr}");
    assert!(stderr.contains("--spec FILE"), "{stderr}");
    assert!(stderr.contains("--listen LINE"), "{stderr}");
}

#[test]
fn doctor_stops_reading_a_host_or_spec_file_at_its_limit() {
    // /dev/zero never ends: the doctor must stop on its own, and say why.
    let out = doctor(&["--host", "/dev/zero", "--listen", "l = loopback"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("host /dev/zero is larger than the limit of 64 MiB"),
        "{stderr}"
    );
    let out = doctor(&["--spec", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot read spec /dev/zero: it is larger than the limit of 64 MiB"),
        "{stderr}"
    );
    // A spec of exactly the limit is read (and then refused for what it
    // holds); a byte more is not read at all.
    let dir = TempDir::new("limit");
    let file = dir.join("big.spec");
    for (len, too_large) in [(64 << 20, false), ((64 << 20) + 1, true)] {
        // Not UTF-8 from its first byte, so it is refused without parsing
        // 64 MiB.
        let mut f = std::fs::File::create(&file).unwrap();
        f.write_all(&[0xff]).unwrap();
        f.set_len(len).unwrap();
        let out = doctor(&["--spec", file.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.contains("larger than the limit"),
            too_large,
            "{len} bytes: {stderr}"
        );
    }
}

#[cfg(unix)] // a Windows command line holds 32,767 characters
#[test]
fn doctor_prints_a_column_wider_than_any_format_width() {
    // Format widths stop at 65,535; a table column this wide must still
    // print (a name is at most 64 bytes, an advertised URL's path is not).
    let path = "p".repeat(70_000);
    let out = doctor(&[
        "--host",
        "tests/data/hosts/loopback-only.json",
        "--listen",
        &format!("x = 127.0.0.1 advertise http://svc/{path}"),
        "--listen",
        "x.web = http:1",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let header = stdout.lines().find(|l| l.starts_with("ENDPOINT")).unwrap();
    let row = stdout.lines().find(|l| l.starts_with("x.web ")).unwrap();
    assert!(row.contains(&path));
    assert_eq!(
        header.find("WHY"),
        row.find("127.0.0.1 matched"),
        "columns line up"
    );
}

/// The doctor expands `${NAME}` from its environment, as a server with
/// `Layers::env_vars` does, so ops run it on the server's spec file as is.
#[test]
fn doctor_expands_variables_from_its_environment() {
    let run = |port: Option<&str>| {
        let mut command = doctor_command();
        command.args([
            "--host",
            "tests/data/hosts/loopback-only.json",
            "--listen",
            "x = 127.0.0.1",
            "--listen",
            "x.web = http:${LISTENSPEC_TEST_PORT:-8080}",
            "--listen",
            "x.admin = tcp:${LISTENSPEC_TEST_ADMIN}",
        ]);
        command.env_remove("LISTENSPEC_TEST_PORT");
        command.env("LISTENSPEC_TEST_ADMIN", "9001");
        if let Some(port) = port {
            command.env("LISTENSPEC_TEST_PORT", port);
        }
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let out = run(Some("18099"));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("127.0.0.1:18099"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:9001"), "{stdout}");
    let out = run(None);
    assert!(text(&out.stdout).contains("127.0.0.1:8080"), "the default");

    let out = doctor(&[
        "--host",
        "tests/data/hosts/loopback-only.json",
        "--listen",
        "x = 127.0.0.1",
        "--listen",
        "x.web = http:${LISTENSPEC_TEST_NEVER_SET}",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("${LISTENSPEC_TEST_NEVER_SET} is not set"),
        "{stderr}"
    );
}

#[cfg(unix)] // a Unix argument or file name is bytes, a Windows one UTF-16
#[test]
fn doctor_takes_any_file_name_and_refuses_a_spec_line_that_is_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let bad = OsStr::from_bytes(b"l = \xff");
    let out = doctor_command().arg("--listen").arg(bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is not UTF-8 text"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A file name needs no UTF-8: this one is read, and is simply missing.
    let out = doctor_command()
        .arg("--spec")
        .arg(OsStr::from_bytes(b"/nonexistent/\xff.spec"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(r#"cannot read spec "/nonexistent/\xFF.spec": "#),
        "{stderr}"
    );
    assert!(stderr.contains("No such file"), "{stderr}");
}

#[test]
fn doctor_piped_into_a_reader_that_stops_early_ends_quietly() {
    // A table wider than a pipe's buffer, so the doctor is still writing
    // when the reader goes away, as under `| head -1`.
    // (In a file: one argument may not be that long.)
    let path = "p".repeat(200_000);
    let spec = std::env::temp_dir().join(format!("listenspec-wide-{}.spec", std::process::id()));
    std::fs::write(
        &spec,
        format!("x = 127.0.0.1 advertise http://svc/{path}\nx.web = http:1\n"),
    )
    .unwrap();
    let mut child = doctor_command()
        .args(["--host", "tests/data/hosts/loopback-only.json", "--spec"])
        .arg(&spec)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0; 5];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"host ");
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&spec);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
