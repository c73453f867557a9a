//! Binding: a plan becomes live sockets, every one of them or none.
//!
//! Every planned socket is attempted even after one fails, so the error lists
//! every failure at once; then, on any failure, everything opened is closed
//! (dropped) before returning. Fixed ports are bound before port 0 and
//! ranges, so a range never takes a port another endpoint names.

mod activation;
mod error;
#[cfg(feature = "watch")]
mod follow;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod sock_diag;
mod socket;
mod take;
#[cfg(unix)]
pub(crate) mod unix;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, OnceLock};

use socket2::Socket;

#[cfg(feature = "handoff")]
pub(crate) use activation::HANDOFF_VAR;
#[cfg(all(unix, feature = "handoff"))]
pub(crate) use activation::is_successor;
pub use activation::{Inherited, take_from_env};
pub use error::{
    ActivationError, BindError, BindFailure, BindTarget, Cause, Descriptor, Disagreement, FileKind,
    Liveness, Step, TakeError, UnixError,
};
pub use socket::DEFAULT_BACKLOG;
pub use take::FromEndpoint;
#[cfg(feature = "tokio")]
pub(crate) use take::in_runtime;
#[cfg(feature = "tokio")]
pub(crate) use take::want;
#[cfg(unix)]
pub use unix::{BoundUnix, SocketFile, UnixSocket, WithFile};

use crate::plan::table::{self, Table};
use crate::plan::{Advertised, Bind, Plan, PlannedEndpoint, Problem};
use crate::spec::{Name, Protocol, QualifiedName, Transport, Url};
#[cfg(feature = "watch")]
pub(crate) use follow::{ToOpen, open_planned};
use socket::Open;
#[cfg(feature = "watch")]
pub(crate) use socket::System;

/// How many times port 0 on several addresses is retried when the port the
/// OS gave the first address is taken on another.
const EPHEMERAL_ATTEMPTS: usize = 8;

/// A bound socket, as the std type for its transport.
#[derive(Debug)]
#[non_exhaustive]
pub enum Listener {
    /// A listening TCP socket.
    Tcp(TcpListener),
    /// A bound UDP socket.
    Udp(UdpSocket),
}

/// One live socket of an endpoint.
#[derive(Debug)]
pub struct BoundSocket {
    listener: Listener,
    local_addr: SocketAddr,
    inherited: Option<String>,
    /// The endpoint's planned binds and which of them this socket is, so
    /// that a bound socket can still say why its address was chosen: the
    /// binds are the plan's own, shared, not a copy per socket.
    planned: Arc<[Bind]>,
    bind: usize,
}

impl BoundSocket {
    /// The real local address; the real port when the plan said 0 or a range.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// The socket.
    pub fn listener(&self) -> &Listener {
        &self.listener
    }
    /// The socket, owned.
    pub fn into_listener(self) -> Listener {
        self.listener
    }
    /// The `LISTEN_FDNAMES` name, when the service manager passed it in
    /// instead of this process binding it.
    pub fn inherited(&self) -> Option<&str> {
        self.inherited.as_deref()
    }
    /// The planned socket this one is: the address asked for (port 0 or
    /// the first of a range), its device, and why it was chosen.
    pub fn planned(&self) -> &Bind {
        &self.planned[self.bind]
    }
}

/// The live sockets of one endpoint, and the URL clients use: IP sockets
/// in [`sockets`](BoundEndpoint::sockets), or the one Unix socket in
/// [`unix`](BoundEndpoint::unix).
#[derive(Debug)]
pub struct BoundEndpoint {
    network: Name,
    name: Name,
    protocol: Protocol,
    transport: Transport,
    sockets: Vec<BoundSocket>,
    #[cfg(unix)]
    unix: Option<Box<BoundUnix>>,
    /// What clients are told, as planned, and the port the sockets got.
    advertise: Option<(Advertised, u16)>,
    /// That URL with the real port, written out when first asked for:
    /// writing a port into a URL re-serialises it, and is most of what
    /// binding an endpoint costs besides its syscalls.
    advertised: OnceLock<Url>,
}

impl BoundEndpoint {
    /// The endpoint `ep` of the plan, bound: its IP sockets, or its Unix
    /// socket.
    fn new(
        ep: &PlannedEndpoint,
        sockets: Vec<BoundSocket>,
        #[cfg(unix)] unix: Option<Box<BoundUnix>>,
    ) -> BoundEndpoint {
        let port = sockets.first().map(|s| s.local_addr.port());
        BoundEndpoint {
            network: ep.network().clone(),
            name: ep.name().clone(),
            protocol: ep.protocol(),
            transport: ep.transport(),
            advertise: ep.advertised().map(|a| {
                let port = port.unwrap_or_else(|| ep.ports().map_or(0, crate::spec::Ports::first));
                (a.clone(), port)
            }),
            advertised: OnceLock::new(),
            sockets,
            #[cfg(unix)]
            unix,
        }
    }
    /// The network's name.
    pub fn network(&self) -> &Name {
        &self.network
    }
    /// The endpoint's name.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// `network.name`.
    pub fn qualified(&self) -> QualifiedName {
        QualifiedName::new(self.network.clone(), self.name.clone())
    }
    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// The kind of socket.
    pub fn transport(&self) -> Transport {
        self.transport
    }
    /// The IP sockets, in plan order; none for a Unix socket.
    pub fn sockets(&self) -> &[BoundSocket] {
        &self.sockets
    }
    /// The IP sockets, owned, for tests that make a change of them.
    #[cfg(all(test, unix))]
    pub(crate) fn into_sockets(self) -> Vec<BoundSocket> {
        self.sockets
    }
    /// The real local addresses, in plan order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets.iter().map(|s| s.local_addr).collect()
    }
    /// The port every socket of the endpoint shares.
    pub fn port(&self) -> Option<u16> {
        self.sockets.first().map(|s| s.local_addr.port())
    }
    /// The advertised URL, with the real port where the plan left it open.
    pub fn advertised(&self) -> Option<&Url> {
        let (a, port) = self.advertise.as_ref()?;
        Some(match a.url() {
            Some(url) => url,
            None => self.advertised.get_or_init(|| a.with_port(*port)),
        })
    }
    /// The Unix socket, for an endpoint on a `unix` network.
    #[cfg(unix)]
    pub fn unix(&self) -> Option<&BoundUnix> {
        self.unix.as_deref()
    }
}

/// Every endpoint of a plan, bound.
///
/// Each endpoint's sockets share one port, the real one where the plan
/// said 0 or a range, and its advertised URL carries it. `Display` is the
/// doctor's table with those real ports, then the plan's warnings.
///
/// ```
/// let spec: listenspec::ListenSpec = "
///     local      = loopback  expose=local
///     local.web  = http:0
///     local.dns  = udp:0
/// ".parse()?;
/// let mut bound = listenspec::bind_all(&spec)?;
/// for ep in bound.endpoints() {
///     for s in ep.sockets() {
///         println!("{} {} ({})", ep.qualified(), s.local_addr(), s.planned().why());
///     }
/// }
/// println!("{bound}");
/// let web: Vec<std::net::TcpListener> = bound.take("local", "web")?;
/// let dns: Vec<std::net::UdpSocket> = bound.take("local", "dns")?;
/// assert!(bound.endpoints().is_empty(), "both taken");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Bound {
    endpoints: Vec<BoundEndpoint>,
    /// The endpoints moved out, so asking again says "taken", not "no such
    /// endpoint".
    taken: Vec<QualifiedName>,
    /// The plan's, so a server that only sees `Bound` can still show them.
    warnings: Arc<[Problem]>,
}

impl Bound {
    /// The endpoints, in spec order.
    pub fn endpoints(&self) -> &[BoundEndpoint] {
        &self.endpoints
    }
    /// The endpoint `network.name`.
    pub fn endpoint(&self, network: &str, name: &str) -> Option<&BoundEndpoint> {
        self.endpoints
            .iter()
            .find(|e| e.network == network && e.name == name)
    }
    fn position(&self, network: &str, name: &str) -> Option<usize> {
        self.endpoints
            .iter()
            .position(|e| e.network == network && e.name == name)
    }
    fn take_at(&mut self, i: usize) -> BoundEndpoint {
        let ep = self.endpoints.remove(i);
        self.taken.push(ep.qualified());
        ep
    }
    /// Every endpoint of the spec, taken or not, sorted.
    fn names(&self) -> Vec<QualifiedName> {
        let mut all: Vec<QualifiedName> = self
            .endpoints
            .iter()
            .map(BoundEndpoint::qualified)
            .collect();
        all.extend(self.taken.iter().cloned());
        all.sort();
        all
    }
    /// The plan's warnings: every socket is bound, but a person should read
    /// them.
    ///
    /// ```
    /// let spec: listenspec::ListenSpec = "
    ///     local     = loopback  expose=local
    ///     spare     = 127.0.0.2 expose=local
    ///     local.web = http:0
    /// ".parse()?;
    /// let bound = listenspec::bind_all(&spec)?;
    /// let warning = &bound.warnings()[0];
    /// assert_eq!(warning.network_name().unwrap().as_str(), "spare");
    /// assert!(warning.to_string().contains("has no endpoints"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
    /// The endpoints as the doctor's table, with the real addresses and
    /// advertised URLs; without the warnings.
    pub(crate) fn table(&self) -> Table {
        let mut t = Table::new("BOUND");
        for ep in &self.endpoints {
            #[cfg_attr(
                not(unix),
                expect(unused_mut, reason = "Unix sockets are added on Unix")
            )]
            let mut sockets: Vec<(String, String)> = ep
                .sockets
                .iter()
                .map(|s| {
                    let mut why = table::why(s.planned());
                    if let Some(name) = &s.inherited {
                        why.push_str(&format!(", inherited {name}"));
                    }
                    (s.local_addr.to_string(), why)
                })
                .collect();
            #[cfg(unix)]
            if let Some(u) = &ep.unix {
                let mut why = u.why.clone();
                if let Some(name) = &u.inherited {
                    why.push_str(&format!(", inherited {name}"));
                }
                sockets.push((u.path().to_string(), why));
            }
            t.endpoint(
                ep.qualified(),
                ep.protocol,
                ep.advertised(),
                sockets.into_iter(),
            );
        }
        t
    }
}

impl fmt::Display for Bound {
    /// The doctor's table (endpoint, protocol, bound address, advertised
    /// URL, why), then the warnings: what a server logs at start-up.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.table())?;
        table::write_warnings(f, &self.warnings)
    }
}

impl Plan {
    /// Binds every socket of the plan, using sockets passed in by systemd
    /// socket activation where their names match; all or none.
    ///
    /// The inherited sockets come from [`take_from_env`], whose precondition
    /// holds here too: no other library in the process may take them.
    ///
    /// ```
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let spec: ListenSpec = "local = 127.0.0.1 expose=local\nlocal.web = http:0".parse()?;
    /// // This host's snapshot, or a fake one: planning does not look.
    /// let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
    /// let plan = spec.plan(&host)?;
    /// let bound = plan.bind()?;
    /// assert_ne!(bound.endpoint("local", "web").unwrap().port(), Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind(&self) -> Result<Bound, BindError> {
        let inherited =
            take_from_env().map_err(|e| BindError::new(vec![BindFailure::activation(e)]))?;
        self.bind_inherited(inherited)
    }

    /// Binds every socket of the plan, using these already-bound sockets
    /// where their names match (`network.endpoint` or the endpoint's name)
    /// and they agree with the plan: transport, address, and where the
    /// kernel says, listening state, `IPV6_V6ONLY` on `[::]` and
    /// `SO_BINDTODEVICE`; all or none.
    ///
    /// A socket without a name ([`Inherited::unnamed`], named `unknown`)
    /// is matched by where it sits instead: the planned socket with its
    /// address and port (or Unix path), else the one with its address and
    /// port 0 or a range holding its port. It is taken only when exactly
    /// one planned socket fits and no other unnamed socket fits that one,
    /// and is then checked as a named one is; otherwise the error says it
    /// came without a name and how to name it.
    ///
    /// ```
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let spec: ListenSpec = "local = 127.0.0.1 expose=local\nlocal.web = http:0".parse()?;
    /// let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
    /// // Started by systemd, these are the sockets it passed in; otherwise none.
    /// let inherited = listenspec::bind::take_from_env()?;
    /// let bound = spec.plan(&host)?.bind_inherited(inherited)?;
    /// assert_eq!(bound.endpoints().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind_inherited(&self, inherited: Vec<Inherited>) -> Result<Bound, BindError> {
        bind_with(self, inherited, &mut socket::System)
    }
}

/// Which bind of which endpoint an inherited socket stands for.
// A cause is made once per refused socket at start-up: its size costs
// nothing there, and boxing it would cost every reader a dereference.
#[allow(clippy::result_large_err)]
fn match_inherited(plan: &Plan, inh: &Inherited) -> Result<(usize, usize), Cause> {
    let eps = plan.endpoints();
    let by_full: Vec<usize> = (0..eps.len())
        .filter(|&i| eps[i].qualified() == inh.name)
        .collect();
    let candidates = if by_full.is_empty() {
        (0..eps.len())
            .filter(|&i| eps[i].name().as_str() == inh.name)
            .collect()
    } else {
        by_full
    };
    let i = match candidates.as_slice() {
        [i] => *i,
        [] => {
            return Err(Cause::UnmatchedInherited {
                name: inh.name.clone(),
                found: inh.describe(),
                endpoints: eps.iter().map(PlannedEndpoint::qualified).collect(),
            });
        }
        many => {
            return Err(Cause::AmbiguousInherited {
                name: inh.name.clone(),
                endpoints: many.iter().map(|&i| eps[i].qualified()).collect(),
            });
        }
    };
    let ep = &eps[i];
    match fitting_bind(ep, inh) {
        Some(j) => Ok((i, j)),
        None => Err(Cause::InheritedMismatch {
            name: inh.name.clone(),
            found: inh.describe(),
            expected: planned_sockets(ep),
            endpoint: ep.qualified(),
            // Another transport's socket is no address to plan.
            addr: inh.addr.filter(|_| inh.transport == Some(ep.transport())),
        }),
    }
}

/// Which bind of `ep` an inherited socket fits, by what it is and where
/// it sits: of the endpoint's transport, and on a bind's address with the
/// endpoint's port, or any port inside its range, or any port at all for
/// port 0 (the port is then the socket's); or on the endpoint's Unix
/// path, as bind 0.
fn fitting_bind(ep: &PlannedEndpoint, inh: &Inherited) -> Option<usize> {
    if let Some(u) = ep.unix() {
        return unix_fits(ep, u, inh).then_some(0);
    }
    let ports = ep.ports().unwrap_or(crate::spec::Ports::single(0));
    let fits = |want: SocketAddr, got: SocketAddr| {
        want.ip() == got.ip()
            && (ports.is_ephemeral() || (ports.first()..=ports.last()).contains(&got.port()))
    };
    inh.addr
        .filter(|_| inh.transport == Some(ep.transport()))
        .and_then(|got| ep.binds().iter().position(|b| fits(b.addr(), got)))
}

/// Each planned socket of `ep` as messages write it: `tcp 127.0.0.1:8080`,
/// or the Unix socket's `unix /run/app.sock`.
fn planned_sockets(ep: &PlannedEndpoint) -> Vec<String> {
    if let Some(u) = ep.unix() {
        return vec![format!("{} {}", ep.transport(), u.path())];
    }
    ep.binds()
        .iter()
        .map(|b| format!("{} {}", ep.transport(), b.addr()))
        .collect()
}

/// Bind `j` of `ep` as the errors about unnamed sockets write it:
/// `local.web tcp 127.0.0.1:0 (any port)`, with the range or port 0
/// spelled out, since a range or port 0 is what lets a socket fit.
fn planned_socket(ep: &PlannedEndpoint, j: usize) -> String {
    let at = match (ep.unix(), ep.binds().get(j), ep.ports()) {
        (Some(u), _, _) => u.path().to_string(),
        (None, Some(b), Some(p)) if p.is_ephemeral() => format!("{} (any port)", b.addr()),
        (None, Some(b), Some(p)) if p.fixed().is_none() => {
            let ip = b.addr().ip();
            let ip = if ip.is_ipv6() {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            format!("{ip}:{}-{}", p.first(), p.last())
        }
        (None, Some(b), _) => b.addr().to_string(),
        (None, None, _) => "?".to_owned(),
    };
    format!("{} {} {at}", ep.qualified(), ep.transport())
}

/// Whether an inherited socket is the endpoint's Unix socket: of its kind
/// (stream or datagram) and on its path or abstract name.
fn unix_fits(ep: &PlannedEndpoint, u: &crate::plan::UnixBind, inh: &Inherited) -> bool {
    // A predecessor's socket is named where it was made (see the Unix
    // module), so it is known by the file it hands over instead.
    #[cfg(unix)]
    return inh.transport == Some(ep.transport())
        && (inh
            .unix_path()
            .is_some_and(|p| unix::same_path(u.path(), &p))
            || matches!(
                (&inh.predecessor, u.path().file()),
                (Some(activation::Predecessor { file: Some((dev, ino)), .. }), Some(path))
                    if unix::is_handed_file(path, *dev, *ino)
            ));
    // No socket activation, so nothing is inherited, off Unix.
    #[cfg(not(unix))]
    {
        let _ = (ep, u, inh);
        false
    }
}

/// The bind each unnamed inherited socket stands for, found by where it
/// sits, as [`fitting_bind`] says. A planned socket on exactly its
/// address and port (or its Unix path) is the one: the plan gives no two
/// planned sockets one address and port, and any other choice would
/// leave that one's port taken. Otherwise it must fit exactly one planned
/// socket with port 0 or a range holding its port. Either way, no other
/// unnamed socket may fit the one it is taken for, so no socket is ever
/// a guess. Every other one is a failure here, saying it came without a
/// name and how to give it one.
fn match_unnamed(
    plan: &Plan,
    unnamed: Vec<Inherited>,
    failures: &mut Vec<BindFailure>,
) -> Vec<(Inherited, (usize, usize))> {
    let eps = plan.endpoints();
    let exact = |i: usize| {
        eps[i].unix().is_some() || eps[i].ports().and_then(crate::spec::Ports::fixed).is_some()
    };
    let fits: Vec<Vec<(usize, usize)>> = unnamed
        .iter()
        .map(|inh| {
            let all: Vec<(usize, usize)> = (0..eps.len())
                .filter_map(|i| fitting_bind(&eps[i], inh).map(|j| (i, j)))
                .collect();
            if all.iter().any(|&(i, _)| exact(i)) {
                all.into_iter().filter(|&(i, _)| exact(i)).collect()
            } else {
                all
            }
        })
        .collect();
    let fds: Vec<i32> = unnamed.iter().map(|inh| inh.fd).collect();
    let mut matched = Vec::with_capacity(unnamed.len());
    for (k, inh) in unnamed.into_iter().enumerate() {
        let (fd, found) = (inh.fd, inh.describe());
        match fits[k].as_slice() {
            [] => failures.push(BindFailure::inherited(Cause::UnnamedUnmatched {
                fd,
                found,
                planned: (0..eps.len())
                    .flat_map(|i| {
                        let n = if eps[i].unix().is_some() {
                            1
                        } else {
                            eps[i].binds().len()
                        };
                        (0..n).map(move |j| planned_socket(&eps[i], j))
                    })
                    .collect(),
            })),
            &[(i, j)] => {
                let others: Vec<i32> = (0..fits.len())
                    .filter(|&o| o != k && fits[o].contains(&(i, j)))
                    .map(|o| fds[o])
                    .collect();
                if others.is_empty() {
                    matched.push((inh, (i, j)));
                } else {
                    let target = match eps[i].unix() {
                        Some(u) => BindTarget::Unix(u.path().clone()),
                        None => BindTarget::Ip(eps[i].binds()[j].addr()),
                    };
                    let cause = Cause::UnnamedShared { fd, found, others };
                    failures.push(BindFailure::at(&eps[i], target, cause));
                }
            }
            many => failures.push(BindFailure::inherited(Cause::UnnamedAmbiguous {
                fd,
                found,
                candidates: many
                    .iter()
                    .map(|&(i, j)| planned_socket(&eps[i], j))
                    .collect(),
            })),
        }
    }
    matched
}

/// Which endpoint of this spec holds `addr` for transport `t`: the one
/// with a socket, among those `bound` so far (per endpoint), that takes
/// it. Asked only when a bind fails, of the sockets themselves: a list of
/// them kept aside for the purpose would cost every bind, and most never
/// fail.
fn who_holds(
    eps: &[PlannedEndpoint],
    bound: &[Option<BoundEndpoint>],
    t: Transport,
    addr: SocketAddr,
    dual: bool,
) -> Option<usize> {
    bound.iter().zip(eps).position(|(b, ep)| {
        ep.transport() == t
            && b.iter()
                .flat_map(|b| &b.sockets)
                .any(|s| takes(s.local_addr, dual_stack(ep, s.local_addr), addr, dual))
    })
}

/// Whether a socket on `held` keeps one from binding `want`: the same port
/// and address, or a wildcard of the family, where a dual-stack `[::]`
/// belongs to both families.
fn takes(held: SocketAddr, held_dual: bool, want: SocketAddr, want_dual: bool) -> bool {
    if held.port() != want.port() {
        return false;
    }
    let (h, w) = (held.ip(), want.ip());
    if h.is_ipv4() == w.is_ipv4() {
        return h == w || h.is_unspecified() || w.is_unspecified();
    }
    (held_dual && h.is_unspecified()) || (want_dual && w.is_unspecified())
}

/// Whether the socket of `b` is a dual-stack `[::]` (`v6only=false`).
fn dual_stack(ep: &PlannedEndpoint, addr: SocketAddr) -> bool {
    addr.is_ipv6() && addr.ip().is_unspecified() && ep.options().v6only == Some(false)
}

/// Inherited sockets in the slots of the binds they stand for.
struct Placed {
    /// Per endpoint and bind; without inherited sockets (the usual
    /// start-up) it stays empty.
    given: Vec<Vec<Option<BoundSocket>>>,
    /// Per endpoint, its inherited Unix socket; empty like `given`.
    #[cfg(unix)]
    unix: Vec<Option<BoundUnix>>,
    /// Endpoints whose inherited socket holds the planned address but is not
    /// the socket the plan would open there: opening their own would only
    /// fail with "address in use" and blame another process.
    refused: Vec<usize>,
    /// Where the predecessor of an upgrade handed over a socket this spec
    /// does not take as it is: closed here, while the predecessor's copy
    /// holds the address until it ends, so a bind there fails because of
    /// it, not of another process.
    handed_back: Vec<(Option<Transport>, BindTarget)>,
}

/// Closes a predecessor's IP socket this spec does not take, noting where
/// it was: see [`Placed::handed_back`]. (A Unix socket is noted at the path
/// it was matched to: its own address is where the predecessor made it
/// before moving the file into place.)
fn hand_back(inh: Inherited, handed_back: &mut Vec<(Option<Transport>, BindTarget)>) {
    if let Some(addr) = inh.addr {
        handed_back.push((inh.transport, BindTarget::Ip(addr)));
    }
    // A Unix socket's file is stale once this process is ready and the
    // predecessor stops serving: removed then, if it is still that file
    // and the kernel says this socket made it.
    #[cfg(unix)]
    if let Some(activation::Predecessor {
        file: Some((dev, ino)),
        path: Some(path),
    }) = &inh.predecessor
        && activation::made_file(&inh.socket, *dev, *ino)
        && let Some(file) = unix::SocketFile::adopt(path, *dev, *ino, false)
    {
        unix::retire(file);
    }
}

/// Whether a socket the predecessor keeps at `kept` holds `want` for
/// `transport`: the same path, or the same port on the same address or a
/// wildcard.
#[cfg(unix)]
fn keeps(kept: &(Option<Transport>, BindTarget), transport: Transport, want: &BindTarget) -> bool {
    match (kept, want) {
        ((t, BindTarget::Ip(held)), BindTarget::Ip(want)) => {
            *t == Some(transport) && takes(*held, true, *want, true)
        }
        ((_, BindTarget::Unix(held)), BindTarget::Unix(want)) => held == want,
        _ => false,
    }
}

/// Matches each inherited socket to a planned bind and checks it there.
fn place_inherited(
    plan: &Plan,
    inherited: Vec<Inherited>,
    failures: &mut Vec<BindFailure>,
) -> Placed {
    let eps = plan.endpoints();
    let mut placed = Placed {
        given: if inherited.is_empty() {
            Vec::new()
        } else {
            eps.iter()
                .map(|e| e.binds().iter().map(|_| None).collect())
                .collect()
        },
        #[cfg(unix)]
        unix: if inherited.is_empty() {
            Vec::new()
        } else {
            eps.iter().map(|_| None).collect()
        },
        refused: Vec::new(),
        handed_back: Vec::new(),
    };
    // Named sockets by their names; then the unnamed ones by where they
    // sit, each checked and placed as a named one is.
    let (named, unnamed): (Vec<Inherited>, Vec<Inherited>) =
        inherited.into_iter().partition(Inherited::is_named);
    let mut slots = Vec::with_capacity(named.len() + unnamed.len());
    for inh in named {
        match match_inherited(plan, &inh) {
            Ok(slot) => slots.push((inh, slot)),
            // A predecessor's socket this spec no longer has (or has on
            // another address) is closed here; the plan binds what it has.
            Err(_) if inh.predecessor.is_some() => hand_back(inh, &mut placed.handed_back),
            Err(cause) => failures.push(BindFailure::inherited(cause)),
        }
    }
    if !unnamed.is_empty() {
        slots.extend(match_unnamed(plan, unnamed, failures));
    }
    for (inh, (i, j)) in slots {
        place(&eps[i], inh, (i, j), &mut placed, failures);
    }
    placed
}

/// Places an inherited socket that matched bind `j` of endpoint `i`, once
/// it is checked against what the plan would open there.
fn place(
    ep: &PlannedEndpoint,
    inh: Inherited,
    (i, j): (usize, usize),
    placed: &mut Placed,
    failures: &mut Vec<BindFailure>,
) {
    #[cfg(unix)]
    if let Some(u) = ep.unix() {
        place_unix(ep, u, inh, placed, i, failures);
        return;
    }
    let addr = ep.binds()[j].addr();
    let beside_ipv4 = ep
        .binds()
        .iter()
        .any(|b| b.addr().ip() == std::net::Ipv4Addr::UNSPECIFIED);
    let why = inh.disagreements(
        ep.transport(),
        ep.options(),
        Some(&ep.binds()[j]),
        beside_ipv4,
    );
    if !why.is_empty() && inh.predecessor.is_some() {
        // Made for the predecessor's spec: closed, and bound anew as this
        // one says (refused if the predecessor's copy still holds the
        // address, and then the predecessor serves on).
        hand_back(inh, &mut placed.handed_back);
    } else if !why.is_empty() {
        placed.refused.push(i);
        let cause = Cause::InheritedDisagrees {
            name: inh.name.clone(),
            fd: inh.fd,
            found: inh.describe(),
            why,
        };
        failures.push(BindFailure::new(ep, addr, cause));
    } else if placed.given[i][j].is_some() {
        let cause = Cause::InheritedTwice { name: inh.name };
        failures.push(BindFailure::new(ep, addr, cause));
    } else {
        placed.given[i][j] = Some(BoundSocket {
            local_addr: inh.addr.unwrap_or(addr),
            inherited: Some(inh.name.clone()),
            listener: into_listener(inh.socket, ep.transport()),
            planned: ep.shared_binds(),
            bind: j,
        });
    }
}

/// Places an inherited socket that matched endpoint `i`'s Unix socket,
/// once it is checked: a stream socket must be listening, and the file at
/// its path must have the endpoint's mode, owner and group.
#[cfg(unix)]
fn place_unix(
    ep: &PlannedEndpoint,
    u: &crate::plan::UnixBind,
    inh: Inherited,
    placed: &mut Placed,
    i: usize,
    failures: &mut Vec<BindFailure>,
) {
    let target = BindTarget::Unix(u.path().clone());
    let mut why = inh.disagreements(ep.transport(), ep.options(), None, false);
    why.extend(activation::file_disagreements(
        &inh.socket,
        u,
        ep.options(),
        inh.predecessor.is_some(),
    ));
    if !why.is_empty() && inh.predecessor.is_some() {
        drop(inh);
        placed.handed_back.push((None, target));
    } else if !why.is_empty() {
        placed.refused.push(i);
        let cause = Cause::InheritedDisagrees {
            name: inh.name.clone(),
            fd: inh.fd,
            found: inh.describe(),
            why,
        };
        failures.push(BindFailure::at(ep, target, cause));
    } else if placed.unix[i].is_some() {
        let cause = Cause::InheritedTwice { name: inh.name };
        failures.push(BindFailure::at(ep, target, cause));
    } else {
        // A service manager's socket file is the unit's to remove; one a
        // predecessor handed over with its socket is this process's now,
        // if it is still that file, and kept as this spec says.
        let file = match (inh.predecessor, u.path().file()) {
            (
                Some(activation::Predecessor {
                    file: Some((dev, ino)),
                    ..
                }),
                Some(path),
            ) => SocketFile::adopt(path, dev, ino, ep.options().keep_file),
            _ => None,
        };
        placed.unix[i] = Some(BoundUnix {
            socket: UnixSocket::new(inh.socket, file, ep.transport()),
            inherited: Some(inh.name),
            planned: u.clone(),
            // Made by whoever passed it: a service manager, as its unit
            // says, or the process before this one.
            why: "unix socket".to_owned(),
        });
    }
}

/// Binds an endpoint's Unix socket, or takes the inherited one.
#[cfg(unix)]
fn bind_unix(
    ep: &PlannedEndpoint,
    u: &crate::plan::UnixBind,
    given: Option<BoundUnix>,
    opener: &mut dyn Open,
    failures: &mut Vec<BindFailure>,
) -> Option<BoundUnix> {
    if given.is_some() {
        return given;
    }
    match opener.open_unix(ep, u) {
        Ok((socket, file)) => Some(BoundUnix {
            socket: UnixSocket::new(socket, file, ep.transport()),
            inherited: None,
            planned: u.clone(),
            why: crate::plan::table::unix_why(ep, u),
        }),
        Err(e) => {
            let target = BindTarget::Unix(u.path().clone());
            failures.push(BindFailure::at(ep, target, Cause::Unix(e)));
            None
        }
    }
}

pub(crate) fn bind_with(
    plan: &Plan,
    inherited: Vec<Inherited>,
    opener: &mut dyn Open,
) -> Result<Bound, BindError> {
    let eps = plan.endpoints();
    let mut failures = Vec::new();
    let Placed {
        mut given,
        #[cfg(unix)]
            unix: mut given_unix,
        refused,
        #[cfg(unix)]
        handed_back,
        #[cfg(not(unix))]
            handed_back: _,
    } = place_inherited(plan, inherited, &mut failures);
    let mut order: Vec<usize> = (0..eps.len()).collect();
    order.sort_by_key(|&i| eps[i].ports().and_then(crate::spec::Ports::fixed).is_none());
    // Per endpoint, in spec order; each is made as soon as its sockets are
    // bound, while its plan is at hand.
    let mut bound: Vec<Option<BoundEndpoint>> = eps.iter().map(|_| None).collect();
    for i in order.into_iter().filter(|i| !refused.contains(i)) {
        let ep = &eps[i];
        if let Some(u) = ep.unix() {
            #[cfg(unix)]
            {
                let given = given_unix.get_mut(i).and_then(Option::take);
                bound[i] = bind_unix(ep, u, given, opener, &mut failures)
                    .map(|u| BoundEndpoint::new(ep, Vec::new(), Some(Box::new(u))));
            }
            #[cfg(not(unix))]
            failures.push(BindFailure::at(
                ep,
                BindTarget::Unix(u.path().clone()),
                Cause::Unix(UnixError::Unsupported {
                    os: std::env::consts::OS,
                }),
            ));
            continue;
        }
        let given = given.get_mut(i).map(std::mem::take).unwrap_or_default();
        let sockets = bind_endpoint(eps, i, given, opener, &bound, &mut failures);
        bound[i] = sockets.map(|sockets| {
            BoundEndpoint::new(
                ep,
                sockets,
                #[cfg(unix)]
                None,
            )
        });
    }
    #[cfg(unix)]
    if !handed_back.is_empty() {
        // The predecessor is the parent, which serves on while this
        // process starts.
        let pid = std::os::unix::process::parent_id();
        let held = |t, want: &BindTarget| handed_back.iter().any(|k| keeps(k, t, want));
        failures = failures
            .into_iter()
            .map(|f| f.blame_predecessor(held, pid))
            .collect();
    }
    if !failures.is_empty() {
        // Dropping `bound` closes every socket opened above; the socket
        // files this call made go too, `keep-file` or not. A file a
        // predecessor handed over stays: it serves on there.
        #[cfg(unix)]
        for u in bound.into_iter().flatten().filter_map(|e| e.unix) {
            if u.inherited.is_some() {
                u.socket.close_keeping_file();
            } else {
                u.socket.discard();
            }
        }
        return Err(BindError::new(failures));
    }
    // Without failures every endpoint is bound. `filter_map`, not
    // `flatten`: std collects it into the allocation `bound` already has.
    #[allow(clippy::filter_map_identity)]
    let endpoints = bound.into_iter().filter_map(|e| e).collect();
    Ok(Bound {
        endpoints,
        taken: Vec::new(),
        warnings: plan.shared_warnings(),
    })
}

fn into_listener(socket: Socket, t: Transport) -> Listener {
    match t {
        Transport::Udp | Transport::UnixDatagram => Listener::Udp(socket.into()),
        Transport::Tcp | Transport::UnixStream => Listener::Tcp(socket.into()),
    }
}

/// Binds one endpoint on one port for all its addresses, trying the next port
/// of a range, or a fresh ephemeral port, while the only failures are
/// "address in use". Failures go to `failures`, naming the endpoint of
/// `bound` (those bound so far) that holds the port; `None` then.
fn bind_endpoint(
    eps: &[PlannedEndpoint],
    i: usize,
    mut given: Vec<Option<BoundSocket>>,
    opener: &mut dyn Open,
    bound: &[Option<BoundEndpoint>],
    failures: &mut Vec<BindFailure>,
) -> Option<Vec<BoundSocket>> {
    let ep = &eps[i];
    let ports = ep.ports()?;
    let inherited_port = given.iter().flatten().map(|s| s.local_addr.port()).next();
    // The ports to try, as (first, how many, step): one fixed port, port 0
    // a few times, or each port of a range.
    let (start, tries, step) = match (inherited_port, ports.fixed()) {
        (Some(p), _) | (None, Some(p)) => (p, 1, 0),
        _ if ports.is_ephemeral() => (0, EPHEMERAL_ATTEMPTS, 0),
        _ => (
            ports.first(),
            usize::from(ports.last() - ports.first()) + 1,
            1,
        ),
    };
    for (n, port) in std::iter::successors(Some(start), |p| p.checked_add(step))
        .take(tries)
        .enumerate()
    {
        let Attempt { opened, errors } = open_on(ep, port, &mut given, opener);
        if errors.is_empty() {
            // `filter_map`, not `flatten`: std collects it into the
            // allocation `opened` already has, where `flatten` makes a new
            // one.
            #[allow(clippy::filter_map_identity)]
            return Some(opened.into_iter().filter_map(|s| s).collect());
        }
        let in_use = errors
            .iter()
            .all(|(_, e)| e.kind() == io::ErrorKind::AddrInUse);
        if in_use && n + 1 < tries {
            // Keep inherited sockets for the next try; close what we opened.
            for (j, s) in opened.into_iter().enumerate() {
                if let Some(s) = s.filter(|s| s.inherited.is_some()) {
                    given[j] = Some(s);
                }
            }
            continue;
        }
        if in_use && tries > 1 && !ports.is_ephemeral() {
            failures.push(BindFailure::new(
                ep,
                ep.binds()[0].addr(),
                Cause::NoFreePort {
                    first: ports.first(),
                    last: ports.last(),
                },
            ));
            return None;
        }
        report_failures(eps, ep, &opened, errors, bound, failures);
        return None;
    }
    None
}

/// One try at every socket of an endpoint on one port.
struct Attempt {
    /// Per bind, the socket opened (or inherited), `None` where it failed.
    opened: Vec<Option<BoundSocket>>,
    errors: Vec<(SocketAddr, io::Error)>,
}

/// Opens every socket of `ep` on `port`, taking inherited ones from
/// `given`; port 0 takes the port the OS picks for the first address on
/// all the others.
fn open_on(
    ep: &PlannedEndpoint,
    mut port: u16,
    given: &mut [Option<BoundSocket>],
    opener: &mut dyn Open,
) -> Attempt {
    let t = ep.transport();
    let mut attempt = Attempt {
        opened: Vec::with_capacity(ep.binds().len()),
        errors: Vec::new(),
    };
    for (j, b) in ep.binds().iter().enumerate() {
        if let Some(s) = given.get_mut(j).and_then(Option::take) {
            attempt.opened.push(Some(s));
            continue;
        }
        let opened_one = opener.open(ep, b, port).and_then(|s| {
            let mut local = b.addr();
            local.set_port(port);
            // Only port 0 needs asking which port the OS chose.
            if port == 0 {
                local = s
                    .local_addr()?
                    .as_socket()
                    .ok_or_else(|| io::Error::other("bound socket has no IP address"))?;
            }
            Ok((s, local))
        });
        match opened_one {
            Ok((s, local)) => {
                port = local.port();
                attempt.opened.push(Some(BoundSocket {
                    listener: into_listener(s, t),
                    local_addr: local,
                    inherited: None,
                    planned: ep.shared_binds(),
                    bind: j,
                }));
            }
            Err(e) => {
                let mut addr = b.addr();
                addr.set_port(port);
                attempt.errors.push((addr, e));
                attempt.opened.push(None);
            }
        }
    }
    attempt
}

/// A failure per socket that could not be opened, naming who holds its
/// port where that is this spec: another endpoint, or the endpoint's own
/// socket (the plan refuses the known case, but a hint must never blame
/// another process for it).
fn report_failures(
    eps: &[PlannedEndpoint],
    ep: &PlannedEndpoint,
    opened: &[Option<BoundSocket>],
    errors: Vec<(SocketAddr, io::Error)>,
    bound: &[Option<BoundEndpoint>],
    failures: &mut Vec<BindFailure>,
) {
    let t = ep.transport();
    for (addr, e) in errors {
        let dual = dual_stack(ep, addr);
        let holder = who_holds(eps, bound, t, addr, dual).map(|j| eps[j].qualified());
        let own = opened
            .iter()
            .flatten()
            .map(|s| s.local_addr)
            .find(|&a| takes(a, dual_stack(ep, a), addr, dual));
        let cause = match (e.kind(), &holder, own) {
            // Nothing of this spec holds it: before blaming another
            // process, sockets passed to this one but not taken.
            (io::ErrorKind::AddrInUse, None, None) => match activation::not_taken() {
                Some(n) => Cause::PassedNotTaken {
                    error: e,
                    listen_fds: n.listen_fds,
                    listen_pid: n.listen_pid,
                    pid: n.pid,
                },
                None => Cause::os(e, (holder, own), ep, addr),
            },
            _ => Cause::os(e, (holder, own), ep, addr),
        };
        failures.push(BindFailure::new(ep, addr, cause));
    }
}

#[cfg(test)]
mod tests;
