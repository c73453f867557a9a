//! An actix-web server on every address of one endpoint: actix takes std
//! TCP listeners, one `listen` each, and runs them on its own runtime.
//!
//! ```text
//! cargo run --example actix_server
//! cargo run --example actix_server -- --listen 'web.http = http:0'
//! ```
//! It prints what it bound and serves until stopped: SIGTERM lets the
//! requests under way finish (actix's graceful shutdown, 30 s at most),
//! Ctrl-C stops at once.

use actix_web::{App, HttpServer, web};
use clap::Parser;
use listenspec::spec::{Layers, ListenArgs};

/// Where it listens unless `--listen` says otherwise.
const DEFAULT_SPEC: &str = "
web      = 127.0.0.1, ::1   expose=local
web.http = http:8080
";

/// The server's command line.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let spec = cli
        .listen
        .layers_over(Layers::new().text("the built-in spec", DEFAULT_SPEC))
        .build()?;
    // The synchronous bind_all: actix's runtime is tokio underneath, so
    // bind_all_async would do too, but nothing here needs it, and std
    // listeners are what actix takes.
    let mut bound = listenspec::bind_all(&spec)?;
    println!("{bound}");
    let listeners: Vec<std::net::TcpListener> = bound.take("web", "http")?;

    let mut server = HttpServer::new(|| {
        App::new().route("/", web::get().to(|| async { "hello from actix-web\n" }))
    });
    for listener in listeners {
        server = server.listen(listener)?;
    }
    // Handles SIGINT, SIGTERM and SIGQUIT itself.
    server.run().await?;
    Ok(())
}
