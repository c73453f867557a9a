//! Serving figure: requests per second through the endpoint listener
//! (`EndpointListener`) and through `AnyListener`, each against a
//! plain `tokio::net::TcpListener`, the same axum app, loaded by `wrk`
//! over loopback. Goal: at least 0.97x the plain listener.
//!
//! ```text
//! apt-get install wrk
//! cargo bench --bench serve
//! ```
//!
//! Each server runs in a process of its own (this program again, with
//! `--serve KIND`), on tokio's default runtime, as a real server would: one
//! process loading the other's runtime would measure both at once. Rounds
//! alternate the three servers, each round's order turned, so a slow
//! moment of the machine falls on all of them; the figure is the median of
//! the rounds' ratios. Two loads: keep-alive connections (the common case:
//! the listener is out of the way once connected) and one request per
//! connection (every request an accept, where the listener's own work
//! shows).
//!
//! wrk's load: two threads and 64 connections, the most the plain server
//! answered here, measured on this two-core machine with the plain server
//! alone, 3 s each, twice: `-t1 -c64` 154k and 160k req/s, `-t2 -c64` 163k
//! and 178k, `-t1 -c256` 149k and 154k, `-t2 -c256` 159k and 162k. More
//! connections add nothing once every worker is busy, and a second wrk
//! thread loads the server harder though it shares the cores with it.
//! `WRK_THREADS` and `WRK_CONNECTIONS` change them on another machine. It
//! takes about three
//! minutes and stops by itself; traffic goes to 127.0.0.1 only.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};

use axum::Router;
use axum::routing::get;
use listenspec::serve::{AnyListener, EndpointListener};

const ROUNDS: usize = 9;
const DURATION: &str = "3s";
const GOAL: f64 = 0.97;

fn app() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

/// The server side: binds on 127.0.0.1, port 0, the way `kind` says,
/// prints the address, and serves until killed.
fn serve(kind: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let spec = "bench = 127.0.0.1 expose=local; bench.http = http:0"
            .parse()
            .unwrap();
        match kind {
            "plain" => {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                println!("{}", l.local_addr().unwrap());
                axum::serve(l, app()).await.unwrap();
            }
            "endpoint" => {
                let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
                let l = bound.take::<EndpointListener>("bench", "http").unwrap();
                println!("{}", l.local_addrs()[0]);
                axum::serve(l, app()).await.unwrap();
            }
            "any" => {
                let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
                let addr = bound.endpoint("bench", "http").unwrap().local_addrs()[0];
                let l = bound.take::<AnyListener>("bench", "http").unwrap();
                println!("{addr}");
                axum::serve(l, app()).await.unwrap();
            }
            _ => panic!("no such server: {kind}"),
        }
    });
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(kind: &str) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--serve", kind])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line.trim().parse().expect("the server prints its address");
        Server {
            child,
            url: format!("http://{addr}/"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests per second wrk gets from `url`.
fn load(url: &str, close: bool) -> f64 {
    let threads = std::env::var("WRK_THREADS").unwrap_or_else(|_| "2".to_owned());
    let connections = std::env::var("WRK_CONNECTIONS").unwrap_or_else(|_| "64".to_owned());
    let mut wrk = Command::new("wrk");
    wrk.args(["-t", &threads, "-c", &connections, "-d", DURATION]);
    if close {
        wrk.args(["-H", "Connection: close"]);
    }
    let out = wrk.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    rate.trim().parse::<f64>().expect("a number")
}

fn median(xs: Vec<f64>) -> f64 {
    quartiles(xs)[1]
}

/// The first quartile, the median and the third of `xs`.
fn quartiles(mut xs: Vec<f64>) -> [f64; 3] {
    xs.sort_by(f64::total_cmp);
    [1, 2, 3].map(|q| xs[(xs.len() - 1) * q / 4])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(&args[i + 1]);
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then there is nothing to check here beyond that it builds.
    if !args.iter().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the serving figure needs wrk: apt-get install wrk");
        return ExitCode::FAILURE;
    }
    let servers = [
        Server::start("plain"),
        Server::start("endpoint"),
        Server::start("any"),
    ];
    for (load_name, close) in [("keep-alive", false), ("a connection per request", true)] {
        let mut rates: [Vec<f64>; 3] = Default::default();
        let mut ratios: [Vec<f64>; 2] = Default::default();
        for round in 0..ROUNDS {
            let mut got = [0.0; 3];
            for k in 0..3 {
                let i = (round + k) % 3;
                got[i] = load(&servers[i].url, close);
            }
            for i in 0..3 {
                rates[i].push(got[i]);
            }
            ratios[0].push(got[1] / got[0]);
            ratios[1].push(got[2] / got[0]);
        }
        let [plain, endpoint, any] = rates.map(median);
        println!(
            "{load_name}: TcpListener {plain:.0} req/s, EndpointListener {endpoint:.0}, AnyListener {any:.0} (medians)"
        );
        // Each round's ratio is of loads run one after the other, so a
        // slow spell of the machine falls on both: the median of those
        // ratios, which a spell that spans rounds can set apart from the
        // ratio of the medians above.
        for (name, r) in ["EndpointListener", "AnyListener"].iter().zip(ratios) {
            let [low, r, high] = quartiles(r);
            let verdict = if r >= GOAL { "met" } else { "MISSED" };
            println!(
                "    {name} / TcpListener, median of the rounds' ratios {r:.3} (middle half {low:.3} to {high:.3})   goal at least {GOAL}: {verdict}"
            );
        }
    }
    ExitCode::SUCCESS
}
