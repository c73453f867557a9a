//! An axum server: its public API on one network, metrics and health on an
//! operations network, where they listen read from its TOML config, laid
//! under `--listen` flags, with `PORT` from the environment.
//!
//! ```text
//! cargo run --example axum_server -- --config examples/axum_server.toml
//! PORT=3000 cargo run --example axum_server -- --config examples/axum_server.toml \
//!     --listen 'ops.http = http:0'
//! # ops on a Unix socket instead: the code does not change
//! cargo run --example axum_server -- --config examples/axum_server.toml \
//!     --listen 'ops = unix' --listen 'ops.http = http:/tmp/ops.sock'
//! curl --unix-socket /tmp/ops.sock http://localhost/metrics
//! ```
//! It prints what it bound (each endpoint's sockets and advertised URL), and
//! serves until interrupted (Ctrl-C), finishing the requests under way.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use clap::Parser;
use listenspec::serve::AnyListener;
use listenspec::spec::{Layers, ListenArgs, SpecText};
use serde::Deserialize;

/// The server's command line.
#[derive(Parser)]
struct Cli {
    /// The config file.
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    #[command(flatten)]
    listen: ListenArgs,
}

/// The server's config file.
#[derive(Deserialize)]
struct Config {
    /// What the public API answers.
    greeting: String,
    /// Spec text rather than a `ListenSpec`, so `${PORT}` is expanded when
    /// laid with the flags and the environment.
    listen: SpecText,
}

/// Requests the public API has answered, for the metrics.
type Requests = Arc<AtomicU64>;

fn api(greeting: String, requests: Requests) -> Router {
    Router::new().route(
        "/",
        get(move || async move {
            requests.fetch_add(1, Ordering::Relaxed);
            greeting
        }),
    )
}

fn ops(requests: Requests) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(requests)
}

async fn metrics(State(requests): State<Requests>) -> String {
    format!("requests_total {}\n", requests.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Errors as people read them, each problem with its fix (`{e}`), not
    // as `main` returning `Err` would print them (`{e:?}`).
    match serve(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config: Config = toml::from_str(&std::fs::read_to_string(&cli.config)?)?;
    let requests = Requests::default();
    let (api, ops) = (api(config.greeting, requests.clone()), ops(requests));

    let layer = Layers::new().text("config.toml [listen]", config.listen);
    let mut bound = listenspec::bind_layers_async(cli.listen.layers_over(layer).env_vars()).await?;
    println!("{bound}");
    let stop = || async { _ = tokio::signal::ctrl_c().await };
    let api = axum::serve(bound.take::<AnyListener>("public", "http")?, api)
        .with_graceful_shutdown(stop());
    let ops =
        axum::serve(bound.take::<AnyListener>("ops", "http")?, ops).with_graceful_shutdown(stop());
    // An endpoint the spec has and this server does not serve is an error.
    bound.check_all_taken()?;
    tokio::try_join!(api.into_future(), ops.into_future())?;
    Ok(())
}
