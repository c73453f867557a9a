//! Where a server listens, and what clients type to reach it.
//!
//! Those are different things: between a client and the process sit DNS,
//! NAT, proxies, load balancers and containers, and a host has several
//! interfaces on several networks (public, internal, an operations network
//! where metrics and admin belong and nowhere else). listenspec lets a server
//! say both in one [`ListenSpec`], checks it against the host before a socket
//! is opened, and binds everything or nothing.
//!
//! ```
//! use listenspec::ListenSpec;
//!
//! let spec: ListenSpec = "
//!     public      = *          advertise https://my-awesome-service
//!     ops         = if:eth2
//!     public.http = http:8080
//!     ops.metrics = http:9100  device
//! ".parse()?;
//!
//! /// At start-up: every socket or none, and the plan in the log.
//! fn start(spec: &ListenSpec) -> Result<Vec<std::net::TcpListener>, Box<dyn std::error::Error>> {
//!     let mut bound = listenspec::bind_all(spec)?;
//!     println!("{bound}");
//!     Ok(bound.take("public", "http")?)
//! }
//! // On the server, which has eth2: let http = start(&spec)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The grammar of the spec is on [`ListenSpec`]; every example in these
//! docs runs as a test, so every spec in them parses.
//!
//! # From a config file to serving
//!
//! A server's listeners usually come from three places: its config file,
//! its command line, and its environment (`PORT` on cloud platforms, or a
//! whole spec in `$LISTEN`). [`spec::SpecText`] is the config field,
//! [`spec::ListenArgs`] the clap flags (`--listen LINE`, `--listen-file`),
//! and [`spec::Layers`] lays them over each other, later over earlier,
//! with `${NAME}` expanded from the environment. [`bind_layers_async`]
//! builds the spec and binds it, or fails with every problem at once;
//! [`Bound::take`] hands each endpoint to the framework as the type it
//! takes. This is the whole glue of a server with its API and its metrics
//! on two networks, served by axum until Ctrl-C (features `serde`, `clap`,
//! `axum`; with `tracing`, the plan is logged too):
//!
//! ```
//! # #[cfg(all(feature = "serde", feature = "clap", feature = "axum"))]
//! #[derive(clap::Parser)]
//! struct Cli {
//!     /// The config file.
//!     #[arg(long, default_value = "config.toml")]
//!     config: std::path::PathBuf,
//!     #[command(flatten)]
//!     listen: listenspec::spec::ListenArgs,
//! }
//!
//! /// config.toml: `listen` is spec text in any form a spec field takes.
//! # #[cfg(all(feature = "serde", feature = "clap", feature = "axum"))]
//! #[derive(serde::Deserialize)]
//! struct Config {
//!     listen: listenspec::spec::SpecText,
//! }
//!
//! /// The spec's layers: the config file's, then the flags' over it. The
//! /// server adds `.env_vars()`; a unit test adds `.env(..)` with a table
//! /// and plans the same layers against a fake host.
//! # #[cfg(all(feature = "serde", feature = "clap", feature = "axum"))]
//! fn layers(cli: &Cli, config: Config) -> listenspec::spec::Layers<'static> {
//!     let config_layer = listenspec::spec::Layers::new().text("config.toml [listen]", config.listen);
//!     cli.listen.layers_over(config_layer)
//! }
//!
//! /// Binds what the config, the flags and the environment say, then serves
//! /// until `stop` resolves, letting requests under way finish.
//! # #[cfg(all(feature = "serde", feature = "clap", feature = "axum"))]
//! async fn serve<F>(cli: Cli, config: Config, stop: impl Fn() -> F) -> Result<(), Box<dyn std::error::Error>>
//! where
//!     F: std::future::Future<Output = ()> + Send + 'static,
//! {
//!     use std::future::IntoFuture; // in the prelude from edition 2024
//!
//!     use axum::{Router, routing::get};
//!     use listenspec::serve::AnyListener;
//!
//!     let mut bound = listenspec::bind_layers_async(layers(&cli, config).env_vars()).await?;
//!     // Each endpoint's sockets and the URL clients use. With the `tracing`
//!     // feature `bind_layers_async` logs this table itself: leave this out.
//!     println!("{bound}");
//!
//!     let api = Router::new().route("/", get(|| async { "hello" }));
//!     let ops = Router::new().route("/metrics", get(|| async { "requests_total 0\n" }));
//!     // TCP or a Unix socket, as the spec says: the code is the same.
//!     let api = axum::serve(bound.take::<AnyListener>("public", "http")?, api)
//!         .with_graceful_shutdown(stop());
//!     let ops = axum::serve(bound.take::<AnyListener>("ops", "metrics")?, ops)
//!         .with_graceful_shutdown(stop());
//!     // An endpoint the spec has and this server does not serve (a
//!     // one-address `--listen` over the config adds one) is an error.
//!     bound.check_all_taken()?;
//!     tokio::try_join!(api.into_future(), ops.into_future())?;
//!     Ok(())
//! }
//!
//! // In a server's main, every error printed as people read it (`{e}`:
//! // each problem with its fix), the config file's too: a `main` returning
//! // `Err` prints it with `Debug`, which is the message for listenspec's
//! // errors but, for toml's, a struct holding the whole file. Under
//! // systemd or Kubernetes, stop on SIGTERM too: each call of `stop`
//! // listens for itself, so one signal stops both servers.
//! //     let cli: Cli = clap::Parser::parse();
//! //     let stop = || async {
//! //         use tokio::signal::unix::{SignalKind, signal};
//! //         let mut term = signal(SignalKind::terminate()).expect("SIGTERM is handled");
//! //         tokio::select! { _ = tokio::signal::ctrl_c() => {} _ = term.recv() => {} }
//! //     };
//! //     let run = async move {
//! //         let config: Config = toml::from_str(&std::fs::read_to_string(&cli.config)?)?;
//! //         serve(cli, config, stop).await
//! //     };
//! //     if let Err(e) = run.await {
//! //         eprintln!("{e}");
//! //         std::process::exit(1);
//! //     }
//! # #[cfg(all(feature = "serde", feature = "clap", feature = "axum"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #     let cli: Cli = clap::Parser::try_parse_from(["server", "--listen", "ops.metrics = http:0"])?;
//! #     let config: Config = toml::from_str(r#"listen = """
//! #         public      = 127.0.0.1, ::1
//! #         ops         = 127.0.0.2        expose=local
//! #         public.http = http:${NO_SUCH_VARIABLE_HERE:-0}
//! #         ops.metrics = http:9100
//! #     """"#)?;
//! #     serve(cli, config, || std::future::ready(())).await
//! # }
//! # #[cfg(not(all(feature = "serde", feature = "clap", feature = "axum")))]
//! # fn main() {}
//! ```
//!
//! A unit test builds the same `Cli` with `try_parse_from`, calls `layers`,
//! and gives [`Layers::env`](spec::Layers::env) a table instead of
//! `.env_vars()`: parsing a command line reads no variable, so the test
//! sees only what it gave; [`spec::Layers::build`] then gives the spec to
//! plan against a fake host (see [`Host::builder`]). A config's table form
//! comes in the order the `toml` crate hands its keys over: sorted, unless
//! its `preserve_order` feature is on. Where `.env_vars()` or `.env(..)`
//! stands in the chain does not matter: variables are expanded when the
//! spec is built.
//!
//! Over a config file, `--listen` takes statements: `--listen 'public.http
//! = http:8282'` moves the config's endpoint, `--listen '-ops.admin'`
//! removes one. A value of one address (`--listen 127.0.0.1:8282`) is a
//! whole spec when it stands alone; over a config it adds a network of its
//! own, `listen`, with one endpoint (`listen.tcp`, `listen.http`, ...),
//! which the server serves only if it takes that endpoint;
//! [`Bound::check_all_taken`] after taking makes one it does not an error.
//!
//! # Which call for my framework
//!
//! [`Bound::take`] takes any type that implements [`bind::FromEndpoint`]:
//!
//! | framework | what to take | then | feature |
//! |---|---|---|---|
//! | axum 0.8 | [`serve::AnyListener`] (TCP or Unix), or [`serve::EndpointListener`] | `axum::serve(listener, app)` | `axum` |
//! | tonic 0.14 | [`serve::AnyListener`], or [`serve::EndpointListener`] | `Server::builder()...serve_with_incoming(listener)`, or `serve_with_incoming_shutdown(listener, signal)` | `tonic` (`stream` for `EndpointListener` alone) |
//! | hyper 1 with hyper-util | [`serve::AnyListener`] | `accept().await` in a loop, each connection to `hyper_util::server::conn::auto::Builder` (the loop, with graceful shutdown, is on [`AnyListener::accept`](serve::AnyListener::accept)) | `tokio` |
//! | actix-web 4 | `Vec<std::net::TcpListener>`; for a Unix socket (on [`bind::TakeError::WrongTransport`]), [`bind::WithFile`]`<UnixListener>` | `HttpServer::new(..).listen(l)?` for each, or `listen_uds(l)?` with the file guard of [`into_parts`](bind::WithFile::into_parts) kept until the server stops; two servers: `.disable_signals()` on each, and on SIGTERM `handle().stop(true)` each | |
//! | anything on std | `Vec<std::net::TcpListener>`, `Vec<std::net::UdpSocket>`, [`bind::WithFile`]`<UnixListener>` | | |
//! | anything on tokio | `Vec<tokio::net::TcpListener>`, `Vec<tokio::net::UdpSocket>`, `WithFile<tokio::net::UnixListener>` | | `tokio` |
//!
//! Without the feature in the last column, the error comes from the
//! framework's own trait, which cannot name it: for tonic, ``the trait
//! bound `Connection: Connected` is not satisfied`` (turn on `tonic`) or
//! ``the trait bound `AnyListener: Stream` is not satisfied`` (turn on
//! `stream`); for axum,
//! ``the trait bound `AnyListener: Listener` is not satisfied`` (turn on
//! `axum`).
//!
//! Take [`serve::AnyListener`] unless you need what only
//! [`serve::EndpointListener`] has: it serves a TCP port or a Unix socket
//! as the spec says, with no change to the code. `EndpointListener` is TCP
//! alone, and has [`follower`](serve::EndpointListener::follower), which
//! takes the sockets of a host's changes while it serves (feature
//! `watch`: see [`watch`]), and [`local_addrs`](serve::EndpointListener::local_addrs).
//!
//! An endpoint has a socket per address (IPv4 and IPv6, each interface a
//! network selects), which is why the plain socket types come as a `Vec`
//! and the serving listeners accept on all of them as one.
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `dns` (default) | looks up `dns:NAME` selectors when capturing the host, and advertised names in [`Bound::check_advertised`] (with `probe`), with the system resolver (getaddrinfo: `/etc/hosts`, nsswitch, `resolv.conf`) on a few threads, bounded in time; no DNS stack is compiled |
//! | `dns-hickory` | the same lookups with hickory-resolver (and tokio): nameservers of one's own (`CaptureOptions::nameservers`), exact per-query timeouts and attempts |
//! | `serde` | `Serialize`/`Deserialize` for specs, hosts and plans; [`spec::SpecText`] |
//! | `clap` | [`spec::ListenArgs`], `--listen` and `--listen-file` for a server's own command line |
//! | `tokio` | tokio sockets from [`Bound::take`], the listeners of [`serve`], the async entry points ([`bind_all_async`], [`bind_layers_async`], ...) |
//! | `axum` | the listeners of [`serve`] are `axum::serve::Listener`s (turns `tokio` on) |
//! | `stream` | the listeners of [`serve`] are `Stream`s of connections (futures-core), for tonic and others (turns `tokio` on) |
//! | `tonic` | [`serve::Connection`] is tonic's `Connected`, so tonic serves an [`serve::AnyListener`] (turns `stream` on) |
//! | `tracing` | [`bind_all`] and friends log what they bound once, with target `listenspec`: the table at info, each warning at warn (the application installs a subscriber: `tracing_subscriber::fmt::init()` shows info, but with its `env-filter` feature only what `RUST_LOG` asks, so `RUST_LOG=info`) |
//! | `watch` | [`watch`]: following the host's address changes after binding ([`bind_all_following`]; with `tokio`, [`watch::Watch::next_async`] and [`serve::EndpointListener::follower`]; with `handoff`, [`handoff::Upgrader::follow`]) |
//! | `handoff` | [`handoff`]: upgrades that refuse no connection, the sockets handed to a new process ([`handoff::Upgrader`], or to systemd's store with [`handoff::Upgrader::store_fds`]); [`handoff::notify_ready`]; with `axum`, [`handoff::StopAccepting`] |
//! | `probe` | [`probe`]: [`Bound::check_advertised`], does each advertised address reach this process? |
//! | `fleet` | [`fleet`]: one spec against a folder of recorded host snapshots (with `serde`) |
//! | `cli` | the `listenspec` binary and its doctor (`cargo install listenspec --features cli`); turns on `clap`, `fleet` and `probe` |
//!
//! Items that need a feature say so on their page.
//!
//! # The steps, each usable alone
//!
//! - [`capture(&spec)`](capture()) reads the host once (interfaces, and DNS for the
//!   spec's `dns:` names) into a [`Host`], plain data that can be recorded
//!   as JSON and replayed.
//! - [`plan()`] is a pure function of the spec and a `Host`: every socket
//!   address of every endpoint, why it was chosen, the advertised URL, and
//!   every error or warning, with no syscalls, so unit tests can assert it
//!   against a fake host.
//! - [`Plan::bind`] opens the sockets, taking systemd-activated ones where
//!   their names match, and on any failure closes all and reports each.
//! - [`Bound::take`] hands each endpoint's sockets to the server, and the
//!   listeners of [`serve`] accept on them.
//!
//! ```
//! use listenspec::{Host, ListenSpec};
//!
//! let spec: ListenSpec = "public = *; public.http = http:8080".parse()?;
//! let host = Host::builder()
//!     .interface("lo", 1, ["127.0.0.1/8"])
//!     .interface("eth0", 2, ["203.0.113.5/24"])
//!     .build()?;
//! let plan = spec.plan(&host)?;
//! let http = plan.endpoint("public", "http").unwrap();
//! assert_eq!(http.socket_addrs(), ["0.0.0.0:8080".parse()?]);
//! assert_eq!(http.advertised().unwrap().to_string(), "http://203.0.113.5:8080/");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
// The guide above links to items of every feature; a build with fewer
// leaves some unresolved. CI checks the links with every feature on, as
// docs.rs builds them.
#![cfg_attr(
    not(all(
        feature = "serde",
        feature = "clap",
        feature = "tokio",
        feature = "axum",
        feature = "fleet",
        feature = "watch",
        feature = "handoff",
        feature = "probe",
        feature = "stream",
        feature = "tonic",
        feature = "tracing"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

/// `Debug` for an error a server's `main` may return: `{:?}` is its
/// message, every fix included, since `fn main() -> Result<(), Box<dyn
/// Error>>` prints an error with `Debug` (derived, it buried the fixes in
/// nested structs, and a plan's held the whole host); `{:#?}` is its
/// fields, for a programmer.
macro_rules! debug_is_message {
    ($ty:ident { $($field:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if !f.alternate() {
                    return std::fmt::Display::fmt(self, f);
                }
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish()
            }
        }
    };
}
pub(crate) use debug_is_message;

pub mod bind;
pub mod capture;
pub mod class;
#[cfg(feature = "fleet")]
pub mod fleet;
#[cfg(feature = "handoff")]
pub mod handoff;
pub mod host;
pub mod plan;
#[cfg(feature = "probe")]
pub mod probe;
#[cfg(feature = "serde")]
mod serialize;
#[cfg(feature = "tokio")]
pub mod serve;
pub mod spec;
#[allow(unsafe_code)]
mod sys;
pub mod wait;
#[cfg(feature = "watch")]
pub mod watch;

// The headline types; everything else is reached through its module
// (`listenspec::spec::Selector`, `listenspec::plan::ProblemKind`, ...).
pub use bind::{BindError, Bound};
pub use capture::{CaptureError, capture};
pub use class::AddrClass;
pub use host::Host;
pub use plan::{Plan, PlanError, PlanOptions, plan, plan_with};
pub use spec::{ListenSpec, SpecError};

/// Whether printing `c` raw could forge or hide what a reader sees: a
/// control character (a newline, an escape sequence), a line or paragraph
/// separator, a bidirectional formatting character, which reorders the
/// text around it on screen (`eth0\u{202e}1hte` shows as another name), or
/// an invisible one, which makes two names look alike (`eth\u{200b}0` shows
/// as `eth0`): Unicode's default-ignorable code points (zero-width spaces
/// and joiners, variation selectors, fillers, tags, the byte order mark,
/// the soft hyphen), which a terminal shows as nothing; the other format
/// characters (Arabic number signs, interlinear annotation marks,
/// Egyptian format controls), which show as nothing or as a box; and
/// every space but the ASCII one (no-break, en, ideographic, the Braille
/// blank), which shows as one and is another character.
pub(crate) fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00a0}'
                | '\u{0600}'..='\u{0605}'
                | '\u{06dd}'
                | '\u{070f}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08e2}'
                | '\u{1680}'
                | '\u{2000}'..='\u{200a}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{2800}'
                | '\u{3000}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1345f}'
                | '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fff8}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// Writes a count with its noun, then each item on a line of its own, the
/// way every error type here that holds several problems reads: the first
/// [`LISTED_ITEMS`], and how many more, so that a spec of a million bad
/// lines is not a million lines of output (the error's own list has all).
pub(crate) fn write_list<T: std::fmt::Display>(
    f: &mut std::fmt::Formatter<'_>,
    (before, noun, after): (&str, &str, &str),
    bullet: &str,
    items: &[T],
) -> std::fmt::Result {
    let n = items.len();
    write!(
        f,
        "{before}{n} {noun}{}{after}:",
        if n == 1 { "" } else { "s" }
    )?;
    write_items(f, noun, bullet, items)
}

/// Each item on a line of its own after `bullet`: the first
/// [`LISTED_ITEMS`], then how many more `noun`s were left out.
pub(crate) fn write_items<T: std::fmt::Display>(
    f: &mut std::fmt::Formatter<'_>,
    noun: &str,
    bullet: &str,
    items: &[T],
) -> std::fmt::Result {
    for item in items.iter().take(LISTED_ITEMS) {
        write!(f, "\n{bullet}{item}")?;
    }
    match items.len().saturating_sub(LISTED_ITEMS) {
        0 => Ok(()),
        more => write!(f, "\n{bullet}… and {more} more {noun}s, not shown"),
    }
}

/// The most problems an error prints.
pub(crate) const LISTED_ITEMS: usize = 100;

impl ListenSpec {
    /// Plans this spec against a host snapshot; see [`plan()`].
    pub fn plan(&self, host: &Host) -> Result<Plan, PlanError> {
        plan::plan(self, host)
    }
}

/// Why [`bind_all`] bound nothing.
///
/// Each variant prints every problem of its step, with its fix:
///
/// ```
/// let spec: listenspec::ListenSpec = "ops = if:nosuch0\nops.metrics = http:0".parse()?;
/// match listenspec::bind_all(&spec) {
///     Err(listenspec::Error::Plan(e)) => {
///         assert_eq!(e.errors().len(), 1);
///         assert!(e.to_string().contains("nosuch0"), "{e}");
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), listenspec::SpecError>(())
/// ```
#[non_exhaustive]
pub enum Error {
    /// The host could not be read.
    Capture(CaptureError),
    /// The spec does not fit this host.
    Plan(PlanError),
    /// Some sockets could not be bound.
    Bind(BindError),
    /// The layers do not make a spec ([`bind_layers_async`]).
    Spec(SpecError),
    /// Waiting for the host ([`bind_all_waiting`]) reached its deadline
    /// with problems time may fix still there.
    Deadline(wait::DeadlineError),
}

/// Each variant prints as the error it holds, with the same formatter.
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Capture(e) => std::fmt::Display::fmt(e, f),
            Error::Plan(e) => std::fmt::Display::fmt(e, f),
            Error::Bind(e) => std::fmt::Display::fmt(e, f),
            Error::Spec(e) => std::fmt::Display::fmt(e, f),
            Error::Deadline(e) => std::fmt::Display::fmt(e, f),
        }
    }
}

/// `{:?}` is the message, as `main` returning this error prints it; `{:#?}`
/// the variant and the held error's fields.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !f.alternate() {
            return std::fmt::Display::fmt(self, f);
        }
        let (variant, held): (&str, &dyn std::fmt::Debug) = match self {
            Error::Capture(e) => ("Capture", e),
            Error::Plan(e) => ("Plan", e),
            Error::Bind(e) => ("Bind", e),
            Error::Spec(e) => ("Spec", e),
            Error::Deadline(e) => ("Deadline", e),
        };
        f.debug_tuple(variant).field(held).finish()
    }
}

/// The held error is what prints, so the source is its source, not itself.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Capture(e) => e.source(),
            Error::Plan(e) => e.source(),
            Error::Bind(e) => e.source(),
            Error::Spec(e) => e.source(),
            Error::Deadline(e) => e.source(),
        }
    }
}

impl From<CaptureError> for Error {
    fn from(e: CaptureError) -> Error {
        Error::Capture(e)
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        Error::Plan(e)
    }
}

impl From<BindError> for Error {
    fn from(e: BindError) -> Error {
        Error::Bind(e)
    }
}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Error {
        Error::Spec(e)
    }
}

impl From<wait::DeadlineError> for Error {
    fn from(e: wait::DeadlineError) -> Error {
        Error::Deadline(e)
    }
}

/// Reads this host, plans the spec against it, and binds every socket; on
/// any error nothing stays bound and the error lists every problem.
///
/// Works inside or outside a tokio runtime: DNS lookups for `dns:` selectors
/// run on threads of their own. Without the `dns` feature a spec with
/// `dns:` selectors fails with [`CaptureError::DnsDisabled`]. With the
/// `tracing` feature it logs what it bound, once: the table at info, each
/// warning at warn.
///
/// ```
/// let spec: listenspec::ListenSpec = "
///     local     = loopback  expose=local
///     local.web = http:0
/// ".parse()?;
/// let mut bound = listenspec::bind_all(&spec)?;
/// let web = bound.endpoint("local", "web").unwrap();
/// let port = web.port().unwrap();
/// assert_ne!(port, 0, "the real port");
/// assert_eq!(web.advertised().unwrap().to_string(), format!("http://127.0.0.1:{port}/"));
/// println!("{bound}");
/// let listeners: Vec<std::net::TcpListener> = bound.take("local", "web")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bind_all(spec: &ListenSpec) -> Result<Bound, Error> {
    let host = capture(spec)?;
    let bound = plan(spec, &host)?.bind()?;
    #[cfg(feature = "tracing")]
    log_bound(&bound);
    Ok(bound)
}

/// [`bind_all`] for async code: DNS lookups never block the runtime's own
/// threads (the system resolver is waited for on tokio's blocking threads;
/// hickory, with `dns-hickory`, runs on the caller's runtime). Needs the
/// `tokio` feature.
///
/// ```
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let spec: listenspec::ListenSpec = "local = loopback expose=local\nlocal.web = http:0".parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let web: Vec<tokio::net::TcpListener> = bound.take("local", "web")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "tokio")]
pub async fn bind_all_async(spec: &ListenSpec) -> Result<Bound, Error> {
    let host = capture::capture_async(spec, &capture::CaptureOptions::default()).await?;
    let bound = plan(spec, &host)?.bind()?;
    #[cfg(feature = "tracing")]
    log_bound(&bound);
    Ok(bound)
}

/// [`bind_all`], and a watch that follows the host's address changes
/// after it: see [`watch::Watch`]. Each change is planned with the same
/// spec (so exposure and every planner check hold for it), applied all or
/// none, and keeps each endpoint's port. Needs the `watch` feature.
///
/// ```
/// use std::time::Duration;
///
/// let spec: listenspec::ListenSpec = "local = loopback expose=local; local.web = http:0".parse()?;
/// let (bound, mut watch) = listenspec::bind_all_following(&spec)?;
/// assert_ne!(bound.endpoint("local", "web").unwrap().port(), Some(0));
/// assert!(watch.next(Duration::from_millis(20))?.is_none(), "loopback stays");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "watch")]
pub fn bind_all_following(spec: &ListenSpec) -> Result<(Bound, watch::Watch), Error> {
    watch::Watch::bind(spec, PlanOptions::default())
}

/// [`bind_all`], waiting up to `deadline` for the host to have what the
/// spec needs: an interface that is missing, down or without carrier, an
/// address a named interface does not have yet, an address still
/// tentative (IPv6 duplicate address detection).
///
/// It captures, plans and binds again whenever the kernel reports a change
/// of links or addresses (Linux), or every
/// [`POLL_INTERVAL`](wait::POLL_INTERVAL) elsewhere; an error that time
/// cannot fix (an exposure error, say) fails at once. An unknown
/// interface is waited for, since it may yet appear, so a misspelt name
/// costs the whole deadline before its error. When the deadline
/// passes, [`Error::Deadline`] says how long it waited, for what, and
/// carries the last attempt's error. Waiting never binds anything the
/// spec would not bind without it: each attempt is an ordinary
/// [`bind_all`]. [`wait::Wait`] has the other ways to wait.
///
/// ```
/// use std::time::Duration;
///
/// let spec: listenspec::ListenSpec = "local = loopback expose=local; local.web = http:0".parse()?;
/// // Ready at once: no waiting.
/// let bound = listenspec::bind_all_waiting(&spec, Duration::from_secs(30))?;
/// assert_ne!(bound.endpoint("local", "web").unwrap().port(), Some(0));
///
/// // An exposure error does not go away by waiting: it fails at once.
/// let public: listenspec::ListenSpec = "web = * expose=local; web.http = http:0".parse()?;
/// let start = std::time::Instant::now();
/// let err = listenspec::bind_all_waiting(&public, Duration::from_secs(30)).unwrap_err();
/// assert!(matches!(err, listenspec::Error::Plan(_)), "{err}");
/// assert!(start.elapsed() < Duration::from_secs(30));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bind_all_waiting(spec: &ListenSpec, deadline: std::time::Duration) -> Result<Bound, Error> {
    let bound = wait::Wait::up_to(deadline).bind(spec)?;
    #[cfg(feature = "tracing")]
    log_bound(&bound);
    Ok(bound)
}

/// [`bind_all_waiting`] for async code: DNS lookups run on the caller's
/// runtime, the waits between attempts on tokio's blocking threads. Needs
/// the `tokio` feature.
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = "local = loopback expose=local; local.web = http:0".parse()?;
/// let mut bound = listenspec::bind_all_async_waiting(&spec, Duration::from_secs(30)).await?;
/// let web = bound.take::<listenspec::serve::EndpointListener>("local", "web")?;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn bind_all_async_waiting(
    spec: &ListenSpec,
    deadline: std::time::Duration,
) -> Result<Bound, Error> {
    let bound = wait::Wait::up_to(deadline).bind_async(spec).await?;
    #[cfg(feature = "tracing")]
    log_bound(&bound);
    Ok(bound)
}

/// [`bind_layers_async`], waiting up to `deadline` for the host as
/// [`bind_all_waiting`] does. Needs the `tokio` feature.
///
/// ```
/// use std::time::Duration;
/// use listenspec::spec::Layers;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), listenspec::Error> {
/// let layers = Layers::new().text("config.toml [listen]", "local = 127.0.0.1; local.http = http:0");
/// let bound = listenspec::bind_layers_async_waiting(layers, Duration::from_secs(30)).await?;
/// assert_eq!(bound.endpoints().len(), 1);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn bind_layers_async_waiting(
    layers: spec::Layers<'_>,
    deadline: std::time::Duration,
) -> Result<Bound, Error> {
    bind_all_async_waiting(&layers.build()?, deadline).await
}

/// Start-up's one report. The warnings are events of their own, not lines
/// of the table, so a filter at warn keeps them and drops the table. The
/// table starts on a line of its own, so that a log line's prefix does not
/// push its header out of line with its rows.
#[cfg(feature = "tracing")]
fn log_bound(bound: &Bound) {
    tracing::info!("bound:\n{}", bound.table());
    for w in bound.warnings() {
        tracing::warn!("{w}");
    }
}

/// Builds the spec the layers make (a config file, flags, the environment)
/// and binds it: [`Layers::build`](spec::Layers::build), then
/// [`bind_all_async`]. Needs the `tokio` feature.
///
/// ```
/// use listenspec::spec::Layers;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), listenspec::Error> {
/// let from_config = "local = 127.0.0.1; local.http = http:${PORT:-8080}";
/// let layers = Layers::new()
///     .env(|name| (name == "PORT").then(|| "0".to_owned()))
///     .text("config.toml [listen]", from_config);
/// let bound = listenspec::bind_layers_async(layers).await?;
/// assert_ne!(bound.endpoint("local", "http").unwrap().port(), Some(0));
///
/// let err = listenspec::bind_layers_async(Layers::new().text("--listen #1", "local.http = http:80"))
///     .await
///     .unwrap_err();
/// assert!(matches!(err, listenspec::Error::Spec(_)));
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn bind_layers_async(layers: spec::Layers<'_>) -> Result<Bound, Error> {
    bind_all_async(&layers.build()?).await
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
