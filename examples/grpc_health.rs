//! A gRPC server (tonic) with the standard health service, accepting on
//! every address of its endpoint, IPv4 and IPv6, or on a Unix socket when
//! the spec says so: the same code serves either.
//!
//! ```text
//! cargo run --example grpc_health
//! cargo run --example grpc_health -- --listen 'grpc.health = http:0'
//! cargo run --example grpc_health -- --listen 'grpc = unix; grpc.health = http:/tmp/health.sock'
//! ```
//! It prints what it bound and serves until interrupted (Ctrl-C).

use clap::Parser;
use listenspec::serve::AnyListener;
use listenspec::spec::{Layers, ListenArgs};

/// Where it listens unless `--listen` says otherwise.
const DEFAULT_SPEC: &str = "
grpc        = 127.0.0.1, ::1   expose=local
grpc.health = http:50051
";

/// The server's command line.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let defaults = Layers::new().text("the built-in spec", DEFAULT_SPEC);
    let mut bound = listenspec::bind_layers_async(cli.listen.layers_over(defaults)).await?;
    println!("{bound}");
    let incoming = bound.take::<AnyListener>("grpc", "health")?;

    let (_reporter, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, async {
            _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
