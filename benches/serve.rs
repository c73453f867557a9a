//! Serving figure: requests per second through an `EndpointListener` with
//! two sockets (127.0.0.1 and ::1) against a plain `tokio::net::TcpListener`,
//! the same axum app, loaded by `wrk` over loopback.
//!
//! ```text
//! apt-get install wrk
//! cargo bench --bench serve
//! ```
//! Both servers run in this process, on one runtime; the rounds alternate
//! between them so a slow moment of the machine falls on both. Three loads:
//! keep-alive connections (the common case: the listener is out of the way
//! once connected), one request per connection (every request an accept,
//! where the listener's turn-taking costs), and the load split across both
//! of the endpoint's sockets, against two plain listeners (127.0.0.1 and
//! ::1) each served on its own. It takes about 150 s and stops by itself;
//! traffic goes to 127.0.0.1 and [::1] only.

use std::net::SocketAddr;
use std::process::{Command, ExitCode, Stdio};

use axum::Router;
use axum::routing::get;

/// Loopback on a small machine varies by a tenth from one run to the next,
/// so many short rounds, each endpoint run paired with the plain run next
/// to it in time.
const ROUNDS: usize = 8;
const DURATION: &str = "3s";
/// Connections per load, split across the wrk processes of a load.
const CONNECTIONS: usize = 64;

fn app() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

/// Requests per second of one wrk process per URL, run together, summed.
fn load(urls: &[String], close: bool) -> f64 {
    let connections = (CONNECTIONS / urls.len()).to_string();
    let children: Vec<_> = urls
        .iter()
        .map(|url| {
            let mut wrk = Command::new("wrk");
            wrk.args(["-t1", "-c", &connections, "-d", DURATION]);
            if close {
                wrk.args(["-H", "Connection: close"]);
            }
            wrk.arg(url)
                .stdout(Stdio::piped())
                .spawn()
                .expect("wrk runs")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wrk finishes");
            let text = String::from_utf8_lossy(&out.stdout);
            let rate = text
                .lines()
                .find_map(|l| l.strip_prefix("Requests/sec:"))
                .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
            rate.trim().parse::<f64>().expect("a number")
        })
        .sum()
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then there is nothing to check here beyond that it builds.
    if !std::env::args().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the serving figure needs wrk: apt-get install wrk");
        return ExitCode::FAILURE;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (plain, plain6, endpoint) = rt.block_on(async {
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let plain_addr = plain.local_addr().unwrap();
        tokio::spawn(async { axum::serve(plain, app()).await });
        let plain6 = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
        let plain6_addr = plain6.local_addr().unwrap();
        tokio::spawn(async { axum::serve(plain6, app()).await });

        let spec = "bench = 127.0.0.1, ::1 expose=local; bench.http = http:0"
            .parse()
            .unwrap();
        let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
        let listener = bound.listener("bench", "http").unwrap();
        let addrs = listener.local_addrs().to_vec();
        tokio::spawn(async { axum::serve(listener, app()).await });
        (plain_addr, plain6_addr, addrs)
    });
    let (v4, v6) = (endpoint[0], endpoint[1]);

    let loads = [
        (
            "keep-alive",
            false,
            [url(plain)].to_vec(),
            [url(v4)].to_vec(),
        ),
        (
            "a connection per request",
            true,
            [url(plain)].to_vec(),
            [url(v4)].to_vec(),
        ),
        (
            "keep-alive, both sockets",
            false,
            [url(plain), url(plain6)].to_vec(),
            [url(v4), url(v6)].to_vec(),
        ),
    ];
    for (name, close, plain_urls, endpoint_urls) in loads {
        let (mut p, mut e, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // Alternate which goes first, so neither always follows the other.
            let (pr, er) = if round % 2 == 0 {
                let pr = load(&plain_urls, close);
                (pr, load(&endpoint_urls, close))
            } else {
                let er = load(&endpoint_urls, close);
                (load(&plain_urls, close), er)
            };
            p.push(pr);
            e.push(er);
            ratios.push(er / pr);
        }
        let (p, e) = (median(p), median(e));
        println!(
            "{name}: TcpListener {p:.0} req/s, EndpointListener {e:.0} req/s (medians), ratio {:.3} (median of paired rounds)",
            median(ratios)
        );
    }
    ExitCode::SUCCESS
}
