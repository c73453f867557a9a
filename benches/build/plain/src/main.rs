// The reference server of issue #23 on a plain tokio TcpListener, the
// baseline of `benches/build/run`: one public address from the config
// file, `--listen` or `$LISTEN`, its port from `$PORT`; ops on its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::{Router, routing::get};
use tokio::net::TcpListener;

#[derive(clap::Parser)]
struct Cli {
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// The public address, over the config file's.
    #[arg(long, env = "LISTEN")]
    listen: Option<SocketAddr>,
}

#[derive(serde::Deserialize)]
struct Config {
    public: SocketAddr,
    ops: SocketAddr,
}

async fn shutdown() {
    _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let cli: Cli = clap::Parser::parse();
    let config: Config = toml::from_str(&std::fs::read_to_string(&cli.config)?)?;
    let mut public = cli.listen.unwrap_or(config.public);
    if let Ok(port) = std::env::var("PORT") {
        public.set_port(port.parse()?);
    }
    tracing::info!(%public, ops = %config.ops, "listening");
    let api = Router::new().route("/", get(|| async { "hello\n" }));
    let ops = Router::new().route("/metrics", get(|| async { "requests_total 0\n" }));
    let api = axum::serve(TcpListener::bind(public).await?, api).with_graceful_shutdown(shutdown());
    let ops = axum::serve(TcpListener::bind(config.ops).await?, ops).with_graceful_shutdown(shutdown());
    tokio::try_join!(api.into_future(), ops.into_future())?;
    Ok(())
}
