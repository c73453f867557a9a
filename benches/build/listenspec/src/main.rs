// The reference server of issue #23 on listenspec; `benches/build/run`
// builds it against `../plain`, the same server on a plain TcpListener.

use std::path::PathBuf;

use axum::{Router, routing::get};
use listenspec::serve::AnyListener;
use listenspec::spec::{Layers, ListenArgs, SpecText};

#[derive(clap::Parser)]
struct Cli {
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    #[command(flatten)]
    listen: ListenArgs,
}

#[derive(serde::Deserialize)]
struct Config {
    listen: SpecText,
}

async fn shutdown() {
    _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    let cli: Cli = clap::Parser::parse();
    let config: Config = toml::from_str(&std::fs::read_to_string(&cli.config)?)?;
    let file = Layers::new().text(cli.config.display().to_string(), config.listen);
    let mut bound = listenspec::bind_layers_async(cli.listen.layers_over(file).env_vars()).await?;
    let api = Router::new().route("/", get(|| async { "hello\n" }));
    let ops = Router::new().route("/metrics", get(|| async { "requests_total 0\n" }));
    let api = axum::serve(bound.take::<AnyListener>("public", "http")?, api).with_graceful_shutdown(shutdown());
    let ops = axum::serve(bound.take::<AnyListener>("ops", "metrics")?, ops).with_graceful_shutdown(shutdown());
    bound.check_all_taken()?;
    tokio::try_join!(api.into_future(), ops.into_future())?;
    Ok(())
}
