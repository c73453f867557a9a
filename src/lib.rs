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
//! fn start(spec: &ListenSpec) -> Result<Vec<std::net::TcpListener>, listenspec::Error> {
//!     let mut bound = listenspec::bind_all(spec)?;
//!     println!("{bound}");
//!     Ok(bound.take_tcp("public", "http").expect("planned above"))
//! }
//! // On the server, which has eth2: let http = start(&spec)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every example in these docs runs as a test (none is `no_run`), so every
//! spec in them parses; examples that bind use loopback and port 0.
//!
//! The three steps are separate so each can be used alone:
//! - [`capture()`] reads the host once (interfaces, and DNS for `dns:` names)
//!   into a [`Host`], plain data that can be recorded as JSON and replayed.
//! - [`plan()`] is a pure function of the spec and a `Host`: every socket
//!   address of every endpoint, why it was chosen, the advertised URL, and
//!   every error or warning, with no syscalls, so unit tests can assert it
//!   against a fake host.
//! - [`Plan::bind`] opens the sockets, taking systemd-activated ones where
//!   their names match, and on any failure closes all and reports each.
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

pub mod bind;
pub mod capture;
pub mod class;
#[cfg(feature = "fleet")]
pub mod fleet;
pub mod host;
pub mod plan;
pub mod probe;
#[cfg(feature = "serde")]
mod serialize;
pub mod spec;
#[allow(unsafe_code)]
mod sys;
pub mod wait;
pub mod watch;

// The headline types; everything else is reached through its module
// (`listenspec::spec::Selector`, `listenspec::plan::ProblemKind`, ...).
pub use bind::{BindError, Bound};
pub use capture::{CaptureError, capture};
pub use class::AddrClass;
pub use host::Host;
pub use plan::{Plan, PlanError, PlanOptions, plan, plan_with};
pub use spec::{ListenSpec, SpecError};

/// Writes a count with its noun, then each item on a line of its own, the
/// way every error type here that holds several problems reads.
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
    for item in items {
        write!(f, "\n{bullet}{item}")?;
    }
    Ok(())
}

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
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The spec does not fit this host.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Some sockets could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The layers do not make a spec ([`bind_layers_async`]).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Waiting for the host ([`bind_all_waiting`]) reached its deadline
    /// with problems time may fix still there.
    #[error(transparent)]
    Deadline(#[from] wait::DeadlineError),
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
/// let listeners = bound.take_tcp("local", "web").unwrap();
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
/// let web: Vec<tokio::net::TcpListener> = bound.take("local", "web").unwrap().into_tokio_tcp()?;
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
/// none, and keeps each endpoint's port.
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
/// let web = bound.listener("local", "web")?;
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
/// of the table, so a filter at warn keeps them and drops the table.
#[cfg(feature = "tracing")]
fn log_bound(bound: &Bound) {
    tracing::info!("{}", bound.table());
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
