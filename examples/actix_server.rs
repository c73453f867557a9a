//! An actix-web server on every address of one endpoint, or on its Unix
//! socket, as the spec says: actix takes std TCP listeners, one `listen`
//! each, or a Unix one with `listen_uds`, and runs them on its own runtime.
//!
//! ```text
//! cargo run --example actix_server
//! cargo run --example actix_server -- --listen 'web.http = http:0'
//! cargo run --example actix_server -- --listen 'web = unix; web.http = http:/tmp/web.sock'
//! ```
//! It prints what it bound and serves until stopped: SIGTERM lets the
//! requests under way finish (actix's graceful shutdown, 30 s at most),
//! Ctrl-C stops at once. Two `HttpServer`s (a public and an ops one) each
//! handle the signals and stop on their own: there, call
//! `.disable_signals()` on both, and on SIGTERM `handle().stop(true)` each.

use actix_web::{App, HttpServer, web};
use clap::Parser;
#[cfg(unix)]
use listenspec::bind::{TakeError, WithFile};
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

    let mut server = HttpServer::new(|| {
        App::new().route("/", web::get().to(|| async { "hello from actix-web\n" }))
    });
    let listeners = bound.take::<Vec<std::net::TcpListener>>("web", "http");
    // A Unix socket where the spec says so; its file is removed when
    // `_file` drops, once the server has stopped.
    #[cfg(unix)]
    let (listeners, _file) = match listeners {
        Err(TakeError::WrongTransport { .. }) => {
            let taken: WithFile<std::os::unix::net::UnixListener> = bound.take("web", "http")?;
            let (listener, file) = taken.into_parts();
            server = server.listen_uds(listener)?;
            (Ok(Vec::new()), file)
        }
        tcp => (tcp, None),
    };
    for listener in listeners? {
        server = server.listen(listener)?;
    }
    // Handles SIGINT, SIGTERM and SIGQUIT itself.
    server.run().await?;
    Ok(())
}
