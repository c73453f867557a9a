//! A small real server: a public HTTP endpoint and an ops endpoint (health
//! and metrics) on separate networks, from one spec.
//!
//! ```text
//! cargo run --example server                 # the built-in spec below
//! cargo run --example server -- my.spec      # a spec file
//! ```
//! At start-up it prints each endpoint's sockets and advertised URL, one line
//! each, then serves until killed. Under systemd socket activation (or
//! `systemd-socket-activate --fdname=public.http`) the public socket is the
//! one passed in.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use listenspec::ListenSpec;

const DEFAULT_SPEC: &str = "
public        = 127.0.0.1
public.http   = http:0
ops           = ::1, 127.0.0.2   expose=local
ops.health    = http:0
";

fn main() -> ExitCode {
    let text = match std::env::args().nth(1) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                return ExitCode::from(1);
            }
        },
        None => DEFAULT_SPEC.to_owned(),
    };
    let spec: ListenSpec = match text.parse() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut bound = match listenspec::bind_all(&spec) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    for ep in bound.endpoints() {
        for s in ep.sockets() {
            let from = s
                .inherited()
                .map_or(String::new(), |n| format!(" (inherited {n})"));
            let url = ep.advertised().map_or("-".to_owned(), ToString::to_string);
            println!("{} {} {url}{from}", ep.qualified(), s.local_addr());
        }
    }
    println!("ready");
    let _ = std::io::stdout().flush();

    let requests = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    let public = bound
        .take::<Vec<TcpListener>>("public", "http")
        .unwrap_or_default();
    let ops = bound
        .take::<Vec<TcpListener>>("ops", "health")
        .unwrap_or_default();
    for l in public {
        let n = Arc::clone(&requests);
        workers.push(thread::spawn(move || {
            serve(l, |_| {
                n.fetch_add(1, Ordering::Relaxed);
                "hello from the public network\n".to_owned()
            })
        }));
    }
    for l in ops {
        let n = Arc::clone(&requests);
        workers.push(thread::spawn(move || {
            serve(l, |path| match path {
                "/metrics" => format!("requests_total {}\n", n.load(Ordering::Relaxed)),
                _ => "ok\n".to_owned(),
            })
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    ExitCode::SUCCESS
}

/// A minimal HTTP/1.0 responder: one request per connection.
fn serve(listener: TcpListener, respond: impl Fn(&str) -> String) {
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let mut line = String::new();
        if BufReader::new(&conn).read_line(&mut line).is_err() {
            continue;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/");
        let body = respond(path);
        let _ = write!(
            conn,
            "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
    }
}
