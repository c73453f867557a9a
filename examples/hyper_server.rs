//! A plain hyper 1 server: hyper-util's connection builder (HTTP/1, or 2
//! when the client speaks it) in an accept loop over one endpoint, on
//! every address of it, or on a Unix socket when the spec says so: the
//! same code serves either. On Ctrl-C it stops accepting and lets the
//! requests under way finish.
//!
//! ```text
//! cargo run --example hyper_server
//! cargo run --example hyper_server -- --listen 'web.http = http:0'
//! cargo run --example hyper_server -- --listen 'web = unix; web.http = http:/tmp/web.sock'
//! curl --unix-socket /tmp/web.sock http://localhost/
//! ```
//! It prints what it bound, then serves `/` and `/slow` (answered after a
//! second) until interrupted.

use std::convert::Infallible;
use std::time::Duration;

use clap::Parser;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use listenspec::serve::AnyListener;
use listenspec::spec::{Layers, ListenArgs};

/// Where it listens unless `--listen` says otherwise.
const DEFAULT_SPEC: &str = "
web      = 127.0.0.1, ::1   expose=local
web.http = http:8080
";

/// How long the requests under way may take once interrupted.
const DRAIN: Duration = Duration::from_secs(10);

/// The server's command line.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

async fn handle(request: Request<Incoming>) -> Result<Response<String>, Infallible> {
    let body = match request.uri().path() {
        "/" => "hello from hyper\n",
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            "slow but done\n"
        }
        _ => {
            let mut missing = Response::new(String::new());
            *missing.status_mut() = StatusCode::NOT_FOUND;
            return Ok(missing);
        }
    };
    Ok(Response::new(body.to_owned()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let defaults = Layers::new().text("the built-in spec", DEFAULT_SPEC);
    let mut bound = listenspec::bind_layers_async(cli.listen.layers_over(defaults)).await?;
    println!("{bound}");
    let mut listener = bound.take::<AnyListener>("web", "http")?;

    let http = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    // One future for the whole loop: it listens for Ctrl-C from its first
    // poll on, and a signal between two accepts is not lost.
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let conn = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _peer)) => conn,
                Err(e) => {
                    // Out of descriptors, say: the socket stays readable,
                    // so pause rather than spin on it.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut interrupted => break,
        };
        // `Connection` is tokio's AsyncRead + AsyncWrite, TCP or Unix;
        // TokioIo makes it hyper's. `into_owned` so the task need not
        // borrow the builder; `watch` lets the shutdown below ask the
        // connection to finish its request and close.
        let served = http.serve_connection(TokioIo::new(conn), service_fn(handle));
        let served = graceful.watch(served.into_owned());
        tokio::spawn(async move {
            if let Err(e) = served.await {
                eprintln!("connection: {e}");
            }
        });
    }
    // Closing the sockets (and removing a Unix socket's file): from here a
    // new client is refused, while the connections already accepted go on.
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("requests still under way after {DRAIN:?}; leaving them");
    }
    Ok(())
}
