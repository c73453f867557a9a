//! An axum server on Unix sockets: every Unix stream endpoint of its spec
//! answers `GET /` with the path it listens on, so a proxy on the same host
//! (or `curl --unix-socket`) reaches it without a TCP port.
//!
//! ```text
//! mkdir -p /tmp/app
//! cargo run --example unix_server -- --listen 'local = unix' \
//!     --listen 'local.api = http:/tmp/app/api.sock mode=660'
//! curl --unix-socket /tmp/app/api.sock http://localhost/
//! ```
//! It prints what it bound and serves until interrupted (Ctrl-C); each
//! socket file is removed when its server stops. Under systemd socket
//! activation (`ListenStream=/tmp/app/api.sock`, `FileDescriptorName=local.api`,
//! or `systemd-socket-activate --listen=/tmp/app/api.sock --fdname=local.api`)
//! it serves the socket passed in, and leaves its file to the unit.

#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use std::io::Write;

use axum::Router;
use axum::routing::get;
use clap::Parser;
#[cfg(unix)]
use listenspec::serve::UnixEndpointListener;
use listenspec::spec::{ListenArgs, Transport};

/// The server's command line.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

/// Unix sockets are bound on Unix only: elsewhere the example says so.
#[cfg(not(unix))]
fn main() {
    eprintln!("unix_server serves Unix domain sockets, which listenspec binds on Unix only");
    std::process::exit(1);
}

#[cfg(unix)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let mut bound = match listenspec::bind_layers_async(cli.listen.layers()).await {
        Ok(bound) => bound,
        Err(e) => {
            // Its Display names each socket, the cause and the fix; a
            // `main` returning the error would print only its Debug form.
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("{bound}\n");
    std::io::stdout().flush()?;
    let streams: Vec<(String, String)> = bound
        .endpoints()
        .iter()
        .filter(|e| e.transport() == Transport::UnixStream)
        .map(|e| (e.network().to_string(), e.name().to_string()))
        .collect();
    let mut servers = tokio::task::JoinSet::new();
    for (network, name) in streams {
        let listener = bound.take::<UnixEndpointListener>(&network, &name)?;
        let greeting = format!("hello from {}\n", listener.path());
        let app = Router::new().route("/", get(move || async move { greeting }));
        let stop = async { _ = tokio::signal::ctrl_c().await };
        servers.spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .into_future(),
        );
    }
    while let Some(served) = servers.join_next().await {
        served??;
    }
    Ok(())
}
