//! Serving endpoints: the endpoint listener taking turns between its
//! sockets, its errors, and the axum and tonic examples as a person runs
//! them, each endpoint reached by a real client (curl, a tonic channel).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use listenspec::bind::TakeError;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::examples::{Running, example};

#[tokio::test]
async fn the_listener_takes_turns_between_its_sockets() {
    let spec = "local = 127.0.0.1, ::1; local.web = tcp:0".parse().unwrap();
    let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
    let mut listener = bound.listener("local", "web").unwrap();
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
    let err = bound.listener("local", "dns").unwrap_err();
    assert!(matches!(err, TakeError::WrongTransport { .. }), "{err:?}");
    assert_eq!(err.to_string(), "endpoint local.dns is udp, not tcp");

    let err = bound.listener("lokal", "web").unwrap_err();
    assert!(matches!(err, TakeError::NotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no endpoint lokal.web; the spec has local.dns, local.web"
    );

    bound.listener("local", "web").unwrap();
    let err = bound.listener("local", "web").unwrap_err();
    assert!(matches!(err, TakeError::Taken { .. }), "{err:?}");
    // The std way out and the tokio way agree on what was taken.
    assert!(bound.take_tcp("local", "web").is_none());
    let udp = bound.take_udp("local", "dns").unwrap();
    assert_eq!(udp.len(), 1);
    let err = bound.take_tokio_udp("local", "dns").unwrap_err();
    assert!(matches!(err, TakeError::Taken { .. }), "{err:?}");
}

/// Reads the start-up lines, one per endpoint (`NETWORK.NAME ADDRESSES`),
/// into each endpoint's addresses.
fn endpoints(stdout: ChildStdout, count: usize) -> Vec<(String, Vec<SocketAddr>)> {
    let mut lines = BufReader::new(stdout).lines();
    (0..count)
        .map(|_| {
            let line = lines
                .next()
                .expect("the server printed its endpoints")
                .unwrap();
            let name = line.split_whitespace().next().unwrap().to_owned();
            let addrs = line
                .split([' ', ','])
                .filter_map(|word| {
                    // `[127.0.0.1:80]` and `[::1]:80]` as printed in a list.
                    let v4 = word.trim_matches(['[', ']']);
                    let v6 = word.strip_suffix(']').unwrap_or(word);
                    v4.parse().or_else(|_| v6.parse()).ok()
                })
                .collect();
            (name, addrs)
        })
        .collect()
}

fn curl(addr: SocketAddr, path: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-g", "-w", "\n%{http_code}"])
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("curl is installed");
    assert!(out.status.success(), "curl {addr}{path}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.to_owned(), body.to_owned())
}

/// Sends Ctrl-C's signal and waits, a bounded time, for a clean exit.
fn interrupt(mut running: Running) {
    let child: &mut Child = &mut running.0;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit 10 s after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_axum_server_serves_api_and_ops_on_their_networks() {
    let mut child = Command::new(example("axum_server"))
        .args(["--config", "examples/axum_server.toml"])
        .args(["--listen", "ops.http = http:0"])
        .env("PORT", "0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let eps = endpoints(stdout, 2);
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

#[tokio::test]
async fn the_grpc_server_answers_health_checks_on_every_address() {
    let mut child = Command::new(example("grpc_health"))
        .args(["--listen", "grpc.health = http:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let eps = endpoints(stdout, 1);
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
