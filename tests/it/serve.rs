//! Serving endpoints: the endpoint listener taking turns between its
//! sockets, its errors, and the axum, tonic, hyper and actix-web examples
//! as a person runs them, each endpoint reached by a real client (curl, a
//! tonic channel).

// The examples' tests reach them with curl and stop them with kill(1),
// Linux tools here: on Windows those tests and their helpers are out.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use listenspec::bind::TakeError;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::TempDir;
use crate::examples::{Running, example};
use listenspec::serve::EndpointListener;

#[tokio::test]
async fn the_listener_takes_turns_between_its_sockets() {
    let spec = "local = 127.0.0.1, ::1; local.web = tcp:0".parse().unwrap();
    let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
    let mut listener = bound.take::<EndpointListener>("local", "web").unwrap();
    let [v4, v6] = listener.local_addrs().to_vec()[..] else {
        panic!("two sockets")
    };
    // Both sockets have connections waiting before the first accept, so
    // only the order of polling decides which is taken.
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(tokio::net::TcpStream::connect(v4).await.unwrap());
        clients.push(tokio::net::TcpStream::connect(v6).await.unwrap());
    }
    let mut order = Vec::new();
    for _ in 0..6 {
        let (conn, _) = listener.accept().await.unwrap();
        order.push(conn.local_addr().unwrap());
    }
    assert_eq!(order, [v4, v6, v4, v6, v4, v6]);
}

#[tokio::test]
async fn the_listener_names_the_endpoint_it_cannot_give() {
    let spec = "local = 127.0.0.1; local.web = http:0; local.dns = udp:0"
        .parse()
        .unwrap();
    let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
    let err = bound.take::<EndpointListener>("local", "dns").unwrap_err();
    assert!(matches!(err, TakeError::WrongTransport { .. }), "{err:?}");
    assert_eq!(err.to_string(), "endpoint local.dns is udp, not tcp");

    let err = bound.take::<EndpointListener>("lokal", "web").unwrap_err();
    assert!(matches!(err, TakeError::NotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no endpoint lokal.web (did you mean local.web?); the spec has local.dns, local.web"
    );
    // One address alone is a whole spec of its own network: told so, and
    // how to write the endpoint the server takes.
    let spec = "127.0.0.1:0".parse().unwrap();
    let mut one = listenspec::bind_all_async(&spec).await.unwrap();
    let err = one.take::<EndpointListener>("public", "http").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no endpoint public.http; the spec has listen.tcp; one address alone (127.0.0.1:8080, :8080, http://0.0.0.0:8080) is a whole spec of its own network, listen: to give the server its public.http, write that endpoint's statements instead (public = ADDRESS and public.http = http:PORT)"
    );

    bound.take::<EndpointListener>("local", "web").unwrap();
    let err = bound.take::<EndpointListener>("local", "web").unwrap_err();
    assert!(matches!(err, TakeError::Taken { .. }), "{err:?}");
    // The std way out and the tokio way agree on what was taken.
    let err = bound
        .take::<Vec<std::net::TcpListener>>("local", "web")
        .unwrap_err();
    assert!(matches!(err, TakeError::Taken { .. }), "{err:?}");
    let udp = bound
        .take::<Vec<std::net::UdpSocket>>("local", "dns")
        .unwrap();
    assert_eq!(udp.len(), 1);
    let err = bound
        .take::<Vec<tokio::net::UdpSocket>>("local", "dns")
        .unwrap_err();
    assert!(matches!(err, TakeError::Taken { .. }), "{err:?}");
    // A name never in the spec is not found, though others of its network
    // were taken.
    let err = bound
        .take::<Vec<tokio::net::TcpListener>>("local", "api")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no endpoint local.api; the spec has local.dns, local.web; to serve it, add `local.api = http:PORT` to the spec"
    );
    let err = bound
        .take::<Vec<std::net::TcpListener>>("ops", "metrics")
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "; to serve it, add its network and endpoint to the spec: `ops = ADDRESSES` and `ops.metrics = http:PORT`"
        ),
        "{err}"
    );
}

/// Starts an example with its output in a file (a pipe would need reading
/// to its end, or the server dies writing to it), and reads the bound table
/// it prints at start-up (`ENDPOINT PROTO BOUND ...`, a row per socket, the
/// endpoint named on its first) until `sockets` sockets are listed: each
/// endpoint with its addresses.
fn start(mut cmd: Command, sockets: usize) -> (Running, Vec<(String, Vec<SocketAddr>)>) {
    let out = std::env::temp_dir().join(format!(
        "listenspec-serve-{}-{:?}.out",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = std::fs::File::create(&out).unwrap();
    let running = Running(cmd.stdout(file).spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&out).unwrap();
        let eps = table(&text);
        if eps.iter().map(|(_, a)| a.len()).sum::<usize>() >= sockets {
            let _ = std::fs::remove_file(&out);
            return (running, eps);
        }
        assert!(Instant::now() < deadline, "no table in 10 s: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn table(text: &str) -> Vec<(String, Vec<SocketAddr>)> {
    let mut eps: Vec<(String, Vec<SocketAddr>)> = Vec::new();
    for line in text.lines().take_while(|l| !l.is_empty()) {
        if line.starts_with("ENDPOINT") {
            continue;
        }
        if !line.starts_with(' ') {
            let name = line.split_whitespace().next().unwrap_or_default();
            eps.push((name.to_owned(), Vec::new()));
        }
        if let Some((_, addrs)) = eps.last_mut() {
            addrs.extend(
                line.split_whitespace()
                    .filter_map(|w| w.parse::<SocketAddr>().ok()),
            );
        }
    }
    eps
}

fn curl(addr: SocketAddr, path: &str) -> (String, String) {
    curl_with(&[], &format!("http://{addr}{path}"))
}

/// curl with `args` before the URL: the status and the body, within 10 s.
fn curl_with(args: &[&str], url: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-g", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed");
    assert!(out.status.success(), "curl {args:?} {url}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.to_owned(), body.to_owned())
}

/// Sends `signal` (`"INT"` is Ctrl-C's) to the example.
fn send(running: &Running, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(running.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Sends Ctrl-C's signal and waits, a bounded time, for a clean exit.
fn interrupt(running: Running) {
    send(&running, "INT");
    exits_cleanly(running);
}

/// Waits, a bounded time, for the example to exit with success.
fn exits_cleanly(mut running: Running) {
    let child: &mut Child = &mut running.0;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit 10 s after the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)] // curl and kill(1), Linux tools here
#[test]
fn the_axum_server_serves_api_and_ops_on_their_networks() {
    let mut cmd = Command::new(example("axum_server"));
    cmd.args(["--config", "examples/axum_server.toml"])
        .args(["--listen", "ops.http = http:0"])
        .env("PORT", "0")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let (running, eps) = start(cmd, 3);
    let (public, ops) = (&eps[0], &eps[1]);
    assert_eq!(public.0, "public.http");
    assert_eq!(ops.0, "ops.http");
    // PORT=0 and the flag took the place of the config's 8080 and 9100.
    let ips: Vec<String> = public.1.iter().map(|a| a.ip().to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "::1"]);
    assert_ne!(public.1[0].port(), 8080);
    assert_eq!(ops.1.len(), 1);
    assert_eq!(ops.1[0].ip().to_string(), "127.0.0.2");
    assert_ne!(ops.1[0].port(), 9100);

    for &addr in &public.1 {
        let greeting = ("200".into(), "hello from the public network".into());
        assert_eq!(curl(addr, "/"), greeting, "{addr}");
        assert_eq!(curl(addr, "/metrics").0, "404", "no ops on {addr}");
    }
    let ops = ops.1[0];
    assert_eq!(curl(ops, "/healthz"), ("200".into(), "ok\n".into()));
    assert_eq!(
        curl(ops, "/metrics"),
        ("200".into(), "requests_total 2\n".into())
    );
    assert_eq!(curl(ops, "/").0, "404", "no API on the ops network");
    interrupt(running);
}

/// A one-address `--listen` over the config adds an endpoint the server
/// does not serve: it refuses to start rather than hold a socket nobody
/// answers.
#[test]
fn the_axum_server_refuses_an_endpoint_it_does_not_serve() {
    let mut child = Command::new(example("axum_server"))
        .args(["--config", "examples/axum_server.toml"])
        .args(["--listen", "ops.http = http:0", "--listen", "127.0.0.3:0"])
        .env("PORT", "0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still serving 10 s later");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("listen.tcp bound, but this server serves no such endpoint (it serves public.http, ops.http)"),
        "{stderr}"
    );
}

#[cfg(unix)] // a Unix socket
#[test]
fn the_axum_server_serves_ops_on_a_unix_socket_when_the_flags_say_so() {
    let dir = TempDir::new("axum-unix");
    let sock = dir.join("ops.sock");
    let mut cmd = Command::new(example("axum_server"));
    cmd.args(["--config", "examples/axum_server.toml"])
        .args(["--listen", "ops = unix"])
        .arg("--listen")
        .arg(format!("ops.http = http:{} mode=600", sock.display()))
        .env("PORT", "0")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let (running, eps) = start(cmd, 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "no {} in 10 s", sock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let unix = |path: &str| {
        let out = Command::new("curl")
            .args(["-sS", "-w", "\n%{http_code}", "--unix-socket"])
            .arg(&sock)
            .arg(format!("http://localhost{path}"))
            .output()
            .expect("curl is installed");
        assert!(out.status.success(), "curl --unix-socket {path}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(unix("/healthz"), "ok\n\n200");
    let public = eps[0].1[0];
    assert_eq!(curl(public, "/").0, "200");
    assert_eq!(unix("/metrics"), "requests_total 1\n\n200");
    assert_eq!(unix("/").rsplit('\n').next(), Some("404"), "no API on ops");
    interrupt(running);
    assert!(!sock.exists(), "the socket file goes with the server");
    std::fs::remove_dir(&dir).unwrap();
}

#[cfg(unix)] // kill(1), a Linux tool here
#[tokio::test]
async fn the_grpc_server_answers_health_checks_on_every_address() {
    let mut cmd = Command::new(example("grpc_health"));
    cmd.args(["--listen", "grpc.health = http:0"]);
    let (running, eps) = start(cmd, 2);
    assert_eq!(eps[0].0, "grpc.health");
    assert_eq!(eps[0].1.len(), 2, "{eps:?}");
    for &addr in &eps[0].1 {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .unwrap();
        assert_eq!(reply.into_inner().status, ServingStatus::Serving as i32);
    }
    // Off the runtime: the clients' connections must go on running to
    // close when the server says it is shutting down.
    tokio::task::spawn_blocking(|| interrupt(running))
        .await
        .unwrap();
}

/// The same gRPC server, told by its flags to listen on a Unix socket,
/// answers there: tonic serves the endpoint as the spec has it through
/// one `AnyListener`, and a tonic client over the socket gets the health
/// reply.
#[cfg(unix)] // a Unix socket
#[tokio::test]
async fn the_grpc_server_answers_on_a_unix_socket_when_the_flags_say_so() {
    let dir = TempDir::new("grpc-unix");
    let sock = dir.join("health.sock");
    let mut cmd = Command::new(example("grpc_health"));
    cmd.args(["--listen", "grpc = unix"])
        .arg("--listen")
        .arg(format!("grpc.health = http:{}", sock.display()));
    let running = tokio::task::spawn_blocking(move || start(cmd, 0).0)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "no {} in 10 s", sock.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let path = sock.clone();
    // The URI is not dialled: the connector opens the socket.
    let channel = tonic::transport::Endpoint::from_static("http://[::]:50051")
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .unwrap();
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().status, ServingStatus::Serving as i32);
    tokio::task::spawn_blocking(|| interrupt(running))
        .await
        .unwrap();
    assert!(!sock.exists(), "the socket file goes with the server");
    std::fs::remove_dir(&dir).unwrap();
}

/// Waits, a bounded time, for the socket file a Unix endpoint publishes.
fn wait_for(sock: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "no {} in 10 s", sock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)] // curl and kill(1), Linux tools here
#[test]
fn the_hyper_server_answers_on_every_address() {
    let mut cmd = Command::new(example("hyper_server"));
    cmd.args(["--listen", "web.http = http:0"]);
    let (running, eps) = start(cmd, 2);
    assert_eq!(eps[0].0, "web.http");
    let ips: Vec<String> = eps[0].1.iter().map(|a| a.ip().to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "::1"]);
    for &addr in &eps[0].1 {
        let hello = ("200".into(), "hello from hyper\n".into());
        assert_eq!(curl(addr, "/"), hello, "{addr}");
        assert_eq!(curl(addr, "/nope").0, "404", "{addr}");
    }
    // hyper-util's auto builder speaks HTTP/2 to a client that starts so.
    let h2 = [
        "--http2-prior-knowledge",
        "-w",
        "\n%{http_code} HTTP/%{http_version}",
    ];
    let url = format!("http://{}/", eps[0].1[0]);
    let hello = ("200 HTTP/2".into(), "hello from hyper\n".into());
    assert_eq!(curl_with(&h2, &url), hello);
    interrupt(running);
}

/// A server whose `main` returns the error, as the hyper example's does
/// (`Result<(), Box<dyn Error>>`), prints it with `Debug`: that is the
/// message with its fix, not the error's fields.
#[test]
fn a_main_returning_the_error_prints_its_message_and_fix() {
    let out = Command::new(example("hyper_server"))
        .args(["--listen", "web = if:nosuch0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Error: "), "{stderr}");
    assert!(
        stderr.contains("no interface matches \"nosuch0\"")
            && stderr.contains("use one of the interface names listed"),
        "{stderr}"
    );
    assert!(!stderr.contains("Problem {"), "{stderr}");
}

/// The example `name` started on `web.sock` in a directory of its own,
/// by its `--listen` flags alone, answering `hello` on `/` and 404
/// elsewhere over the socket (curl --unix-socket).
#[cfg(unix)]
fn answering_on_a_unix_socket(name: &str, hello: &str) -> (TempDir, std::path::PathBuf, Running) {
    let dir = TempDir::new(&format!("{name}-unix"));
    let sock = dir.join("web.sock");
    let mut cmd = Command::new(example(name));
    cmd.args(["--listen", "web = unix"])
        .arg("--listen")
        .arg(format!("web.http = http:{}", sock.display()));
    let (running, _) = start(cmd, 0);
    wait_for(&sock);
    let unix = ["--unix-socket", sock.to_str().unwrap()];
    let hello = ("200".into(), hello.into());
    assert_eq!(curl_with(&unix, "http://localhost/"), hello);
    assert_eq!(curl_with(&unix, "http://localhost/nope").0, "404");
    (dir, sock, running)
}

/// The same accept loop over a Unix socket, the flags alone changed.
#[cfg(unix)] // a Unix socket
#[test]
fn the_hyper_server_answers_on_a_unix_socket_when_the_flags_say_so() {
    let (dir, sock, running) = answering_on_a_unix_socket("hyper_server", "hello from hyper\n");
    interrupt(running);
    assert!(!sock.exists(), "the socket file goes with the server");
    std::fs::remove_dir(&dir).unwrap();
}

/// Ctrl-C while a request is under way: the server closes its sockets at
/// once (a new client is refused while it still runs), answers the
/// request in full, and exits cleanly.
#[cfg(target_os = "linux")] // kill(1), and /proc/net/tcp to see the request read
#[test]
fn the_hyper_server_finishes_its_requests_and_takes_no_new_ones_when_interrupted() {
    use std::io::{Read, Write};

    let mut cmd = Command::new(example("hyper_server"));
    cmd.args(["--listen", "web.http = http:0"]);
    let (mut running, eps) = start(cmd, 2);
    let addr = eps[0].1[0];
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    // Interrupted before it has read the request, hyper closes the
    // connection as idle; so the signal waits for the read, not a guess
    // at how long one takes on a loaded machine.
    wait_until_read(addr, slow.local_addr().unwrap());
    send(&running, "INT");

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::net::TcpStream::connect(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            // Connected before the sockets closed, reset as they closed
            // (the handshake met the close), or no local port free for a
            // moment (the load of a test running beside this one): try
            // again, until refused.
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::AddrNotAvailable
                ) => {}
            Err(e) => panic!("connect {addr}: {e} ({:?})", e.kind()),
        }
        assert!(
            Instant::now() < deadline,
            "{addr} still open 5 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    slow.set_nonblocking(true).unwrap();
    let unanswered = slow.peek(&mut [0; 1]);
    assert!(
        matches!(&unanswered, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "refused while /slow is still under way: {unanswered:?}"
    );
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "and the server runs"
    );
    slow.set_nonblocking(false).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("\r\n\r\nslow but done\n"),
        "{answer}"
    );
    exits_cleanly(running);
}

/// Waits, a bounded time, until the server's end of the connection from
/// `client` to `server` holds no unread bytes: the kernel's own count, in
/// /proc/net/tcp's `rx_queue`.
#[cfg(target_os = "linux")]
fn wait_until_read(server: SocketAddr, client: SocketAddr) {
    let table = if server.is_ipv4() {
        "/proc/net/tcp"
    } else {
        "/proc/net/tcp6"
    };
    let port = |field: &str| u16::from_str_radix(field.rsplit_once(':').unwrap().1, 16).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(table).unwrap();
        let unread = text.lines().skip(1).find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let ours = port(f[1]) == server.port() && port(f[2]) == client.port();
            ours.then(|| u32::from_str_radix(f[4].split_once(':').unwrap().1, 16).unwrap())
        });
        if unread == Some(0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the request to {server} still unread after 10 s: {unread:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// actix-web serves the std listeners it was given, one `listen` each,
/// and stops gracefully on SIGTERM.
#[cfg(unix)] // curl and kill(1), Linux tools here
#[test]
fn the_actix_server_answers_on_every_address() {
    let mut cmd = Command::new(example("actix_server"));
    cmd.args(["--listen", "web.http = http:0"]);
    let (running, eps) = start(cmd, 2);
    assert_eq!(eps[0].0, "web.http");
    let ips: Vec<String> = eps[0].1.iter().map(|a| a.ip().to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "::1"]);
    for &addr in &eps[0].1 {
        let hello = ("200".into(), "hello from actix-web\n".into());
        assert_eq!(curl(addr, "/"), hello, "{addr}");
        assert_eq!(curl(addr, "/nope").0, "404", "{addr}");
    }
    send(&running, "TERM");
    exits_cleanly(running);
}

/// The same actix server on a Unix socket, the flags alone changed: its
/// file goes once SIGTERM has stopped the server.
#[cfg(unix)] // a Unix socket
#[test]
fn the_actix_server_answers_on_a_unix_socket_when_the_flags_say_so() {
    let (dir, sock, running) = answering_on_a_unix_socket("actix_server", "hello from actix-web\n");
    send(&running, "TERM");
    exits_cleanly(running);
    assert!(!sock.exists(), "the socket file goes with the server");
    std::fs::remove_dir(&dir).unwrap();
}

/// Taking a tokio type outside a runtime is an error that says so, not
/// tokio's panic, and the endpoint stays to be taken as a std type.
#[test]
fn a_tokio_type_outside_a_runtime_is_refused_and_the_endpoint_stays() {
    let spec = "local = 127.0.0.1; local.web = http:0".parse().unwrap();
    let mut bound = listenspec::bind_all(&spec).unwrap();
    let err = bound.take::<EndpointListener>("local", "web").unwrap_err();
    assert!(matches!(err, TakeError::NoRuntime { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "endpoint local.web: tokio sockets can only be made inside a tokio runtime"
        )
    );
    let err = bound
        .take::<Vec<tokio::net::TcpListener>>("local", "web")
        .unwrap_err();
    assert!(matches!(err, TakeError::NoRuntime { .. }), "{err:?}");
    let std: Vec<std::net::TcpListener> = bound.take("local", "web").unwrap();
    assert_eq!(std.len(), 1);
}

/// A name not in a spec of many endpoints lists a few of them and how
/// many more, not all.
#[test]
fn a_missing_endpoint_lists_some_of_many() {
    let text: String = (0..20)
        .map(|i| format!("local.e{i:02} = tcp:0\n"))
        .collect();
    let spec = format!("local = 127.0.0.1\n{text}").parse().unwrap();
    let mut bound = listenspec::bind_all(&spec).unwrap();
    let err = bound
        .take::<Vec<std::net::TcpListener>>("local", "nope")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no endpoint local.nope; the spec has local.e00, local.e01, local.e02, local.e03, \
         local.e04, local.e05, local.e06, local.e07 and 12 more; to serve it, add `local.nope = http:PORT` \
         to the spec"
    );
}

/// tonic's `request.remote_addr()` is the client's address on a
/// connection from an `AnyListener`, as on tonic's own TCP listener: the
/// connect info is tonic's `TcpConnectInfo` (it was a listenspec type
/// tonic does not read, so `remote_addr()` was `None`).
#[tokio::test]
async fn tonic_sees_the_clients_address_through_any_listener() {
    use std::sync::{Arc, Mutex};

    let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local\nlocal.grpc = http:0"
        .parse()
        .unwrap();
    let mut bound = listenspec::bind_all(&spec).unwrap();
    let addr = bound.endpoint("local", "grpc").unwrap().local_addrs()[0];
    let incoming = bound
        .take::<listenspec::serve::AnyListener>("local", "grpc")
        .unwrap();
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(tonic::service::InterceptorLayer::new(
                move |request: tonic::Request<()>| {
                    *record.lock().unwrap() = Some(request.remote_addr());
                    Ok(request)
                },
            ))
            .add_service(health)
            .serve_with_incoming(incoming),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    let remote = seen.lock().unwrap().expect("the interceptor ran");
    let remote = remote.expect("tonic knows the client's address");
    assert_eq!(remote.ip(), addr.ip());
    assert_ne!(remote.port(), addr.port());
    server.abort();
}
