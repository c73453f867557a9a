//! An axum server that upgrades itself without refusing a connection: on
//! SIGHUP it starts its successor (this program again, reading its spec
//! again) with its listening sockets, keeps serving until the successor
//! says it serves, then stops accepting, finishes its requests and exits.
//! A successor that fails, or is not ready in time, is stopped, and this
//! one serves on.
//!
//! ```text
//! cargo run --example upgrade_server -- --listen-file listen.spec
//! kill -HUP <pid>     # after editing listen.spec, or replacing the binary
//! ```
//! In this repository the dev-dependencies turn on the features it uses;
//! in a crate of your own it needs listenspec's `handoff`, `axum` and
//! `clap` features (`handoff` is off by default).
//! Every endpoint of the spec answers `hello from pid N generation G`.
//! For the tests, `UPGRADE_FAIL_FILE` names a file whose text makes a
//! successor exit at start (`exit`), never say it is ready (`hang`), say
//! so only after half a second (`slow`), or bind only after a second
//! (`late`).

#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Parser;
use listenspec::handoff::{StopAccepting, Successor, Upgrader, notify_ready};
use listenspec::serve::AnyListener;
use listenspec::spec::{ListenArgs, Transport};
#[cfg(unix)]
use tokio::signal::unix::{SignalKind, signal};

/// The server's command line.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
    /// Hand the sockets to systemd's file descriptor store at start, so
    /// that `systemctl restart` passes them to the next process.
    #[arg(long)]
    store_fds: bool,
}

/// How long the connections under way have, once the successor serves,
/// to send another request (answered, and told to reconnect: see
/// [`reconnect_once_stopped`]) before the graceful shutdown closes the
/// idle ones.
const GRACE: Duration = Duration::from_secs(1);

/// How long a successor has to say it serves.
fn ready_within() -> Duration {
    let ms = std::env::var("UPGRADE_READY_WITHIN_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    Duration::from_millis(ms.unwrap_or(10_000))
}

/// Handing sockets over is done on Unix only: elsewhere the example says so.
#[cfg(not(unix))]
fn main() {
    eprintln!(
        "upgrade_server hands its sockets to its successor, which listenspec does on Unix only"
    );
    std::process::exit(1);
}

#[cfg(unix)]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Errors as people read them (a successor's start-up error is what its
    // predecessor's log shows of a refused upgrade).
    match serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(unix)]
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let generation: u32 = std::env::var("UPGRADE_GENERATION")
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0);
    let cli = Cli::parse();
    if generation > 0 {
        test_failure(false).await;
    }
    let mut bound = listenspec::bind_layers_async(cli.listen.layers().env_vars()).await?;
    println!("{bound}");
    let upgrader = std::sync::Arc::new(Upgrader::new(&bound)?);
    if cli.store_fds {
        println!(
            "stored {} sockets with the service manager",
            upgrader.store_fds()?
        );
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    let streams: Vec<(String, String)> = bound
        .endpoints()
        .iter()
        .filter(|e| matches!(e.transport(), Transport::Tcp | Transport::UnixStream))
        .map(|e| (e.network().to_string(), e.name().to_string()))
        .collect();
    for (network, name) in streams {
        let listener = bound.take::<AnyListener>(&network, &name)?;
        let body = format!(
            "hello from pid {} generation {generation}\n",
            std::process::id()
        );
        let app = Router::new()
            .route("/", get(move || async move { body }))
            .layer(axum::middleware::map_response(reconnect_once_stopped(
                stopped.clone(),
            )));
        let until = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            _ = stopped.wait_for(|s| *s).await;
        };
        // Every new connection goes to the successor at once; the ones
        // under way finish.
        let listener = StopAccepting::new(listener, until(stopped.clone()));
        let shutdown = until(stopped.clone());
        servers.push(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    shutdown.await;
                    tokio::time::sleep(GRACE).await;
                })
                .await
        });
    }
    if generation > 0 {
        test_failure(true).await;
    }
    // The signals are ours before anyone can see this process serve: a
    // SIGHUP before that would end it (its default action).
    let (mut hangup, mut terminate) = (
        signal(SignalKind::hangup())?,
        signal(SignalKind::terminate())?,
    );
    // Ready to serve: tell a predecessor (or systemd) so, then accept. A
    // successor that fails before this line has accepted no connection.
    notify_ready()?;
    let mut servers: tokio::task::JoinSet<_> = servers.into_iter().collect();
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                let successor = Successor::this_program()?.env("UPGRADE_GENERATION", (generation + 1).to_string());
                match upgrader.upgrade_async(successor, ready_within()).await {
                    Ok(upgraded) => {
                        println!("upgraded: {upgraded}");
                        break;
                    }
                    // The successor is stopped; this process serves on.
                    Err(e) => eprintln!("upgrade refused: {e}"),
                }
            }
            _ = terminate.recv() => break,
        }
    }
    stop.send(true)?;
    while let Some(done) = servers.join_next().await {
        done??;
    }
    Ok(())
}

/// Once this process stops accepting, every response says
/// `Connection: close`, so a keep-alive client (a browser, a proxy's pool,
/// `wrk`) opens its next connection to the successor. Closed while idle
/// instead, such a connection may meet the client's next request on its
/// way, which the client sees fail: a graceful shutdown alone lost one
/// request of each of wrk's connections at each upgrade.
fn reconnect_once_stopped(
    stopped: tokio::sync::watch::Receiver<bool>,
) -> impl Fn(axum::response::Response) -> std::future::Ready<axum::response::Response> + Clone {
    move |mut response| {
        if *stopped.borrow() {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        std::future::ready(response)
    }
}

/// What `UPGRADE_FAIL_FILE` asks a successor to do wrong, for the tests,
/// before it binds or once it has (`bound`).
async fn test_failure(bound: bool) {
    let Some(file) = std::env::var_os("UPGRADE_FAIL_FILE") else {
        return;
    };
    match (
        std::fs::read_to_string(file).unwrap_or_default().trim(),
        bound,
    ) {
        ("exit", true) => std::process::exit(3),
        ("hang", true) => std::future::pending::<()>().await,
        ("slow", true) => tokio::time::sleep(Duration::from_millis(500)).await,
        ("late", false) => tokio::time::sleep(Duration::from_secs(1)).await,
        _ => {}
    }
}
