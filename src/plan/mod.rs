//! The planner: a pure function from (spec, host snapshot) to the exact
//! socket addresses each endpoint binds and the URL it advertises.
//!
//! Nothing here makes a syscall or reads a clock, so the same spec and
//! snapshot always give the same plan, on a laptop or in CI.

mod advertise;
mod diff;
mod platform;
mod problem;
mod select;
pub(crate) mod table;
mod unix;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::cell::OnceCell;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::Arc;

use ipnet::IpNet;

pub use advertise::{Advertised, Source};
pub use diff::{PlanDiff, PlannedSocket};
pub use problem::{DirWriter, PlanError, Problem, ProblemKind, Severity, Unlistenable, Unmatched};
pub use unix::UnixBind;
pub(crate) use unix::{STAGING_EXTRA, resolve_unix_path};

use crate::host::{AddrFlags, Host, Interface};
use crate::spec::{
    Device, Endpoint, EndpointOptions, Exposure, Family, ListenSpec, Name, Ports, Protocol,
    QualifiedName, Selector, Transport,
};
use crate::{AddrClass, class};

/// How strictly to plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Turn every warning into an error.
    pub strict: bool,
}

impl PlanOptions {
    /// Warnings become errors.
    pub fn strict() -> PlanOptions {
        PlanOptions { strict: true }
    }
}

/// Why an address was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Why {
    /// A wildcard selector, for a family the host has.
    Wildcard {
        /// The selector (`*`, `0.0.0.0` or `::`).
        selector: Selector,
    },
    /// A selector matched this interface address.
    Matched {
        /// The first include selector that matched.
        selector: Selector,
        /// The interface holding the address.
        interface: Arc<str>,
        /// The address with its prefix, as the interface holds it.
        net: IpNet,
    },
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Wildcard { selector } => write!(f, "{selector}: wildcard"),
            Why::Matched {
                selector,
                interface,
                net,
            } => write!(f, "{selector} matched {interface} {net}"),
        }
    }
}

impl Why {
    /// The interface holding the address; `None` for a wildcard.
    fn interface(&self) -> Option<&Arc<str>> {
        match self {
            Why::Wildcard { .. } => None,
            Why::Matched { interface, .. } => Some(interface),
        }
    }
}

/// One address a network resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    ip: IpAddr,
    scope_id: u32,
    /// Also names the interface, which a matched address always has and a
    /// wildcard never does. Shared by every bind of the address, one per
    /// endpoint of its network, which copy the rest of `Chosen`.
    why: Arc<Why>,
    /// `AddrClass::of(ip)` and `class::is_globally_reachable(ip)`, which
    /// the checks and the ranking ask again and again.
    class: AddrClass,
    global: bool,
    /// Its preferred lifetime is over, so advertising avoids it.
    deprecated: bool,
    /// `why` is `Why::Wildcard`: asked of every address by the checks,
    /// kept here so they need not follow `why` to the heap.
    wildcard: bool,
}

impl Chosen {
    /// `classified` is [`class::classify`] of `ip`.
    fn new(ip: IpAddr, scope_id: u32, classified: (AddrClass, bool), why: Arc<Why>) -> Chosen {
        let (class, global) = classified;
        Chosen {
            ip,
            scope_id,
            wildcard: matches!(*why, Why::Wildcard { .. }),
            why,
            class,
            global,
            deprecated: false,
        }
    }
    /// The address (a wildcard for wildcard selectors).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
    /// The scope id: the interface index for link-local IPv6, else 0.
    pub fn scope_id(&self) -> u32 {
        self.scope_id
    }
    /// The interface holding it; `None` for a wildcard.
    pub fn interface(&self) -> Option<&str> {
        self.why.interface().map(|i| &**i)
    }
    /// Why it was chosen.
    pub fn why(&self) -> &Why {
        &self.why
    }
    fn is_wildcard(&self) -> bool {
        self.wildcard
    }
    fn socket_addr(&self, port: u16) -> SocketAddr {
        match self.ip {
            IpAddr::V6(ip) => SocketAddrV6::new(ip, port, 0, self.scope_id).into(),
            ip => SocketAddr::new(ip, port),
        }
    }
}

/// A network as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNetwork {
    name: Name,
    exposure: Exposure,
    addrs: Vec<Chosen>,
}

impl PlannedNetwork {
    /// The network's name.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// Its effective exposure.
    pub fn exposure(&self) -> Exposure {
        self.exposure
    }
    /// The addresses it resolved to, in host order.
    pub fn addrs(&self) -> &[Chosen] {
        &self.addrs
    }
}

/// One socket an endpoint will have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    addr: SocketAddr,
    /// Shared with the address's reason, or by the endpoint's binds.
    device: Option<Arc<str>>,
    /// The IPv6 wildcard with `v6only=false`: it takes IPv4 too.
    dual_stack: bool,
    /// The network's address this socket binds, with why it was chosen.
    chosen: Chosen,
}

impl Bind {
    /// The address to bind; the port is the first of the endpoint's range
    /// (0 when the OS picks), and link-local IPv6 carries its scope id.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The interface holding the address; `None` for a wildcard.
    pub fn interface(&self) -> Option<&str> {
        self.chosen().interface()
    }
    /// The interface `SO_BINDTODEVICE` pins the socket to, if any.
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }
    /// Whether this is `[::]` with `v6only=false`, which takes IPv4
    /// connections too.
    pub fn is_dual_stack(&self) -> bool {
        self.dual_stack
    }
    /// Why the address was chosen.
    pub fn why(&self) -> &Why {
        &self.chosen().why
    }
    fn chosen(&self) -> &Chosen {
        &self.chosen
    }
    fn is_wildcard(&self) -> bool {
        self.chosen.is_wildcard()
    }
}

/// An endpoint as planned: every socket address, and what clients are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEndpoint {
    network: Name,
    name: Name,
    protocol: Protocol,
    transport: Transport,
    sockets: Sockets,
    options: EndpointOptions,
    advertise: Option<Advertised>,
}

/// An endpoint's sockets: one per address on ports, or one Unix socket.
/// The binds are shared with the sockets bound from them, which keep
/// their planned bind without a copy of it each; the Unix socket is boxed,
/// so that it does not make every endpoint on IP addresses its size.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sockets {
    Ip { ports: Ports, binds: Arc<[Bind]> },
    Unix(Box<UnixBind>),
}

impl PlannedEndpoint {
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
    /// The ports to try; `None` for a Unix socket.
    pub fn ports(&self) -> Option<Ports> {
        match &self.sockets {
            Sockets::Ip { ports, .. } => Some(*ports),
            Sockets::Unix(_) => None,
        }
    }
    /// The socket options.
    pub fn options(&self) -> &EndpointOptions {
        &self.options
    }
    /// The IP sockets, one per address; none for a Unix socket.
    pub fn binds(&self) -> &[Bind] {
        match &self.sockets {
            Sockets::Ip { binds, .. } => binds,
            Sockets::Unix(_) => &[],
        }
    }
    /// The Unix socket; `None` for an endpoint on IP addresses.
    pub fn unix(&self) -> Option<&UnixBind> {
        match &self.sockets {
            Sockets::Unix(u) => Some(u),
            Sockets::Ip { .. } => None,
        }
    }
    /// The IP socket addresses alone, as a test would compare them.
    pub fn socket_addrs(&self) -> Vec<SocketAddr> {
        self.binds().iter().map(|b| b.addr).collect()
    }
    /// What clients are told; `None` only when no address could be advertised
    /// (then the plan has an error for it).
    pub fn advertised(&self) -> Option<&Advertised> {
        self.advertise.as_ref()
    }
    /// The binds, to share with the sockets bound from them; empty for a
    /// Unix socket.
    pub(crate) fn shared_binds(&self) -> Arc<[Bind]> {
        match &self.sockets {
            Sockets::Ip { binds, .. } => Arc::clone(binds),
            Sockets::Unix(_) => Arc::new([]),
        }
    }
}

/// The complete plan: networks, endpoints, warnings. Binding is a mechanical
/// walk over it. `Display` is the doctor's table, then the warnings.
///
/// ```
/// use listenspec::{Host, ListenSpec};
///
/// let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
/// let spec: ListenSpec = "local = loopback expose=local\nlocal.web = http:8080".parse()?;
/// let plan = spec.plan(&host)?;
/// assert_eq!(plan.endpoints()[0].socket_addrs(), ["127.0.0.1:8080".parse()?]);
/// assert!(plan.warnings().is_empty());
/// assert_eq!(
///     plan.to_string(),
///     "ENDPOINT   PROTO  BIND            ADVERTISE               WHY\n\
///      local.web  http   127.0.0.1:8080  http://127.0.0.1:8080/  loopback matched lo 127.0.0.1/8",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    networks: Vec<PlannedNetwork>,
    endpoints: Vec<PlannedEndpoint>,
    /// Shared with what is bound from the plan, or planned in a fleet.
    warnings: Arc<[Problem]>,
}

impl Plan {
    /// The networks, in spec order.
    pub fn networks(&self) -> &[PlannedNetwork] {
        &self.networks
    }
    /// The endpoints, in spec order.
    pub fn endpoints(&self) -> &[PlannedEndpoint] {
        &self.endpoints
    }
    /// The endpoint `network.name`.
    pub fn endpoint(&self, network: &str, name: &str) -> Option<&PlannedEndpoint> {
        self.endpoints
            .iter()
            .find(|e| e.network == network && e.name == name)
    }
    /// The warnings: the plan stands, but a person should read them.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
    /// The warnings, for what outlives the plan: its [`Bound`](crate::Bound),
    /// a fleet's outcome.
    pub(crate) fn shared_warnings(&self) -> Arc<[Problem]> {
        Arc::clone(&self.warnings)
    }
    /// This plan with the socket of endpoint `name` on `kept`'s address
    /// pinned as `kept` (the open socket) is, its interface now called
    /// `device`: another interface holding the address too may come first
    /// in a fresh plan, but the socket stays where it is pinned.
    #[cfg(feature = "watch")]
    pub(crate) fn pinned_as(&mut self, name: &QualifiedName, kept: &Bind, device: &str) {
        for ep in &mut self.endpoints {
            if ep.network != *name.network() || ep.name != *name.endpoint() {
                continue;
            }
            if let Sockets::Ip { binds, .. } = &mut ep.sockets {
                let Some(i) = binds
                    .iter()
                    .position(|b| b.addr == kept.addr && b.device.is_some())
                else {
                    return;
                };
                if binds[i].device.as_deref() == Some(device) {
                    return;
                }
                let mut all = binds.to_vec();
                all[i] = Bind {
                    device: Some(Arc::from(device)),
                    ..kept.clone()
                };
                *binds = all.into();
            }
        }
    }
    /// This plan without the IP sockets `gone` (endpoint and planned
    /// address): what a watch still has open after closing them.
    #[cfg(feature = "watch")]
    pub(crate) fn without(&self, gone: &[(QualifiedName, SocketAddr)]) -> Plan {
        let mut plan = self.clone();
        for ep in &mut plan.endpoints {
            if let Sockets::Ip { binds, .. } = &mut ep.sockets {
                let name = QualifiedName::new(ep.network.clone(), ep.name.clone());
                let kept: Vec<Bind> = binds
                    .iter()
                    .filter(|b| !gone.iter().any(|(n, a)| *n == name && *a == b.addr))
                    .cloned()
                    .collect();
                if kept.len() < binds.len() {
                    *binds = kept.into();
                }
            }
        }
        plan
    }
}

/// Plans a spec against a host snapshot with default options.
///
/// ```
/// use listenspec::{plan, Host, ListenSpec};
///
/// let spec: ListenSpec = "ops = if:eth2\nops.metrics = http:9100".parse()?;
/// let host = Host::builder()
///     .interface("lo", 1, ["127.0.0.1/8"])
///     .interface("eth2", 3, ["198.51.100.7/24"])
///     .build()?;
/// let plan = plan(&spec, &host)?;
/// let metrics = plan.endpoint("ops", "metrics").unwrap();
/// assert_eq!(metrics.socket_addrs(), ["198.51.100.7:9100".parse()?]);
/// assert_eq!(metrics.advertised().unwrap().to_string(), "http://198.51.100.7:9100/");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(spec: &ListenSpec, host: &Host) -> Result<Plan, PlanError> {
    plan_with(spec, host, PlanOptions::default())
}

/// One address of the host with what the planner asks of it, worked out once
/// per plan rather than once per network, selector and check.
pub(crate) struct HostAddr<'h> {
    pub(crate) iface: &'h Interface,
    /// The interface's place in the host's list.
    pub(crate) iface_at: usize,
    pub(crate) net: &'h IpNet,
    pub(crate) class: AddrClass,
    /// [`class::is_globally_reachable`] of the address.
    pub(crate) global: bool,
    /// Its state flags, as the interface records them.
    pub(crate) flags: AddrFlags,
    /// Why a network first chose it; the networks that choose it after,
    /// with the same selector, share it.
    why: OnceCell<Arc<Why>>,
}

impl HostAddr<'_> {
    /// What tells two chosen addresses apart: the address, and for
    /// link-local IPv6 the link it is on (its scope id).
    pub(crate) fn key(&self) -> (IpAddr, u32) {
        let ip = self.net.addr();
        let scope_id = if self.class == AddrClass::LinkLocal && ip.is_ipv6() {
            self.iface.index()
        } else {
            0
        };
        (ip, scope_id)
    }
}

/// The host as the planner reads it.
pub(crate) struct HostView<'h> {
    pub(crate) host: &'h Host,
    /// Every `(interface, address)` pair, in host order.
    pub(crate) addrs: Vec<HostAddr<'h>>,
    /// The interfaces by name and by index, which `if:` names, zones and
    /// `device=` name: looked up, never searched for, so a plan is linear
    /// in the host's interfaces however many selectors name one. Each map
    /// is built when first asked, as many plans never ask, and on a large
    /// host a map that does not fit in the caches costs more per
    /// interface than the rest of the plan.
    by_name: OnceCell<HashMap<&'h str, &'h Interface>>,
    by_index: OnceCell<HashMap<u32, &'h Interface>>,
    /// The interfaces holding each address, in host order (a DNS selector,
    /// an advertised literal, a wrong zone ask).
    holders: OnceCell<HashMap<IpAddr, Vec<&'h Interface>>>,
    /// Each interface's name, by place, shared by the reasons of every
    /// address chosen on it, whichever network chose it.
    names: OnceCell<Vec<Arc<str>>>,
    /// Whether some address (with its scope) is listed twice: on two
    /// interfaces, say. Most hosts list none twice, and then no network
    /// has to look out for one.
    listed_twice: OnceCell<bool>,
    /// The up loopback blocks, for the literals and DNS answers inside
    /// them that no interface lists: by prefix length, each block's
    /// network to the first address in `addrs` that has it. A lookup is
    /// one per prefix length the host uses, not a scan of every loopback
    /// address: a snapshot may list thousands, each asked about.
    loopback_blocks: OnceCell<Vec<(u8, HashMap<IpNet, usize>)>>,
    has_v4: bool,
    has_v6: bool,
}

impl<'h> HostView<'h> {
    fn new(host: &'h Host) -> HostView<'h> {
        let mut addrs = Vec::with_capacity(host.interfaces().iter().map(|i| i.addrs().len()).sum());
        let (mut has_v4, mut has_v6) = (false, false);
        for (iface_at, iface) in host.interfaces().iter().enumerate() {
            for net in iface.addrs() {
                if iface.is_up() {
                    has_v4 |= net.addr().is_ipv4();
                    has_v6 |= net.addr().is_ipv6();
                }
                let (class, global) = class::classify(net.addr());
                addrs.push(HostAddr {
                    iface,
                    iface_at,
                    net,
                    class,
                    global,
                    flags: iface.addr_flags(net.addr()),
                    why: OnceCell::new(),
                });
            }
        }
        HostView {
            host,
            addrs,
            by_name: OnceCell::new(),
            by_index: OnceCell::new(),
            holders: OnceCell::new(),
            names: OnceCell::new(),
            listed_twice: OnceCell::new(),
            loopback_blocks: OnceCell::new(),
            has_v4,
            has_v6,
        }
    }

    /// The interface with this name.
    pub(crate) fn interface(&self, name: &str) -> Option<&'h Interface> {
        let all = self.host.interfaces();
        let by_name = self
            .by_name
            .get_or_init(|| all.iter().map(|i| (i.name(), i)).collect());
        by_name.get(name).copied()
    }

    /// The interface with this index.
    pub(crate) fn interface_by_index(&self, index: u32) -> Option<&'h Interface> {
        let all = self.host.interfaces();
        let by_index = self
            .by_index
            .get_or_init(|| all.iter().map(|i| (i.index(), i)).collect());
        by_index.get(&index).copied()
    }

    /// The interfaces holding `ip`, in host order; empty when none does.
    pub(crate) fn holders(&self, ip: IpAddr) -> &[&'h Interface] {
        let holders = self.holders.get_or_init(|| {
            let mut map: HashMap<IpAddr, Vec<&'h Interface>> =
                HashMap::with_capacity(self.addrs.len());
            for a in &self.addrs {
                let list = map.entry(a.net.addr()).or_default();
                // An interface listing one address twice holds it once.
                if list.last().is_none_or(|i| i.index() != a.iface.index()) {
                    list.push(a.iface);
                }
            }
            map
        });
        holders.get(&ip).map_or(&[], Vec::as_slice)
    }

    /// The name of the interface holding `a`.
    pub(crate) fn interface_name(&self, a: &HostAddr<'h>) -> Arc<str> {
        let names = self.names.get_or_init(|| {
            self.host
                .interfaces()
                .iter()
                .map(|i| i.name().into())
                .collect()
        });
        Arc::clone(&names[a.iface_at])
    }

    /// Why `selector` chose `a`: the reason a network made before for the
    /// same choice, or a new one.
    pub(crate) fn why_matched(&self, a: &HostAddr<'h>, selector: &Selector) -> Arc<Why> {
        let made = || {
            Arc::new(Why::Matched {
                selector: selector.clone(),
                interface: self.interface_name(a),
                net: *a.net,
            })
        };
        let first = a.why.get_or_init(made);
        match &**first {
            Why::Matched { selector: s, .. } if s == selector => Arc::clone(first),
            _ => made(),
        }
    }

    /// The up loopback address whose block holds `ip`, a loopback address
    /// no interface lists, which the kernel delivers to it all the same.
    pub(crate) fn loopback_holder(&self, ip: IpAddr) -> Option<&HostAddr<'h>> {
        if AddrClass::of(ip) != AddrClass::Loopback {
            return None;
        }
        let blocks = self.loopback_blocks.get_or_init(|| {
            let mut blocks: Vec<(u8, HashMap<IpNet, usize>)> = Vec::new();
            let up_loopback = (self.addrs.iter().enumerate())
                .filter(|(_, a)| a.iface.is_up() && a.class == AddrClass::Loopback);
            for (i, a) in up_loopback {
                let len = a.net.prefix_len();
                let at = match blocks.iter().position(|(l, _)| *l == len) {
                    Some(at) => at,
                    None => {
                        blocks.push((len, HashMap::new()));
                        blocks.len() - 1
                    }
                };
                blocks[at].1.entry(a.net.trunc()).or_insert(i);
            }
            blocks
        });
        // The first listed of the blocks that hold `ip`, as a scan in
        // order would find.
        blocks
            .iter()
            .filter_map(|(len, networks)| {
                let network = IpNet::new(ip, *len).ok()?.trunc();
                networks.get(&network).copied()
            })
            .min()
            .map(|i| &self.addrs[i])
    }

    /// Whether some address is listed twice, with the same scope.
    pub(crate) fn lists_an_address_twice(&self) -> bool {
        *self.listed_twice.get_or_init(|| {
            let mut seen = HashSet::with_capacity(self.addrs.len());
            !self.addrs.iter().all(|a| seen.insert(a.key()))
        })
    }

    /// Whether an up interface has an address of this family.
    pub(crate) fn has_up(&self, family: Family) -> bool {
        match family {
            Family::V4 => self.has_v4,
            Family::V6 => self.has_v6,
        }
    }
}

/// Plans a spec against a host snapshot.
pub fn plan_with(spec: &ListenSpec, host: &Host, options: PlanOptions) -> Result<Plan, PlanError> {
    Planner::new(spec).plan(host, options)
}

/// A spec with what planning asks of it whatever the host, worked out
/// once: a fleet check plans one spec against thousands of hosts.
#[derive(Debug)]
pub(crate) struct Planner<'s> {
    spec: &'s ListenSpec,

    /// Whether each network has an endpoint.
    listens: Vec<bool>,
    /// Each endpoint's URL when the endpoint or its network says it; `None`
    /// for a Unix endpoint, whose URL may name its socket's path.
    written: Vec<Option<Advertised>>,
}

impl<'s> Planner<'s> {
    pub(crate) fn new(spec: &'s ListenSpec) -> Planner<'s> {
        let listens = crate::spec::listening(spec.networks().len(), spec.network_of());
        let written = spec
            .endpoints()
            .iter()
            .zip(spec.network_of())
            .map(|(e, i)| {
                let network = spec.networks()[i].advertised();
                e.unix_path()
                    .is_none()
                    .then(|| advertise::written(e, network))
                    .flatten()
            })
            .collect();
        Planner {
            spec,
            listens,
            written,
        }
    }

    pub(crate) fn plan(&self, host: &Host, options: PlanOptions) -> Result<Plan, PlanError> {
        self.plan_urls(host, options, true)
    }

    /// The plan's warnings, as a fleet keeps them, or its errors. The URLs
    /// derived from the host's addresses are not made: no check reads them,
    /// and making them was a fifth of planning a small host.
    #[cfg(feature = "fleet")]
    pub(crate) fn warnings(
        &self,
        host: &Host,
        options: PlanOptions,
    ) -> Result<Arc<[Problem]>, PlanError> {
        self.plan_urls(host, options, false)
            .map(|plan| plan.warnings)
    }

    /// The plan, with its derived URLs when `urls` (else without, so not for
    /// anyone to read but its findings).
    fn plan_urls(&self, host: &Host, options: PlanOptions, urls: bool) -> Result<Plan, PlanError> {
        // `[::]:PORT` as std binds it on the host's OS, not this build's.
        let on_os = self.spec.on_os(host.os());
        let spec = on_os.as_ref().unwrap_or(self.spec);
        let view = HostView::new(host);
        // Room for about one finding per network and endpoint, which covers
        // most plans without growing.
        let mut problems = Vec::with_capacity(spec.networks().len() + spec.endpoints().len());
        // A network without endpoints has a warning of its own.
        if spec.networks().is_empty() {
            problems.push(Problem::spec(ProblemKind::EmptySpec));
        }
        let networks = plan_networks(spec, &view, &self.listens, &mut problems);

        let mut endpoints = Vec::with_capacity(spec.endpoints().len());
        // Each network's advertise candidates, ranked when an endpoint first
        // needs them, so a wildcard on a large host is ranked once.
        let mut ranked: Vec<Option<Option<advertise::Ranked>>> =
            networks.iter().map(|_| None).collect();
        for ((e, i), written) in spec
            .endpoints()
            .iter()
            .zip(spec.network_of())
            .zip(&self.written)
        {
            let net = &networks[i];
            let mut report = |kind| problems.push(Problem::endpoint(&net.name, e.name(), kind));
            let (Some(ports), None) = (e.ports(), e.unix_path()) else {
                if let Some(path) = e.unix_path() {
                    let bind = unix::bind(e, path, host, &mut report);
                    let advertise =
                        unix::advertise(e, spec.networks()[i].advertised(), bind.path());
                    endpoints.push(PlannedEndpoint {
                        network: net.name.clone(),
                        name: e.name().clone(),
                        protocol: e.protocol(),
                        transport: e.transport(),
                        sockets: Sockets::Unix(Box::new(bind)),
                        options: e.options().clone(),
                        advertise: Some(advertise),
                    });
                }
                continue;
            };
            let binds = binds(e, ports, &net.addrs, &view, &mut report);
            check_dual_stack(e, &binds, &mut report);
            check_isolation(e, net, &binds, host, &mut report);
            let advertise = match written {
                Some(a) => Some(a.clone()),
                None => {
                    let ranked =
                        ranked[i].get_or_insert_with(|| advertise::rank_network(&net.addrs, &view));
                    advertise::derived(e, ranked.as_ref(), urls, &mut report)
                }
            };
            if let Some(a) = &advertise {
                check_advertised_bound(a, e, &binds, &view, &mut report);
            }
            endpoints.push(PlannedEndpoint {
                network: net.name.clone(),
                name: e.name().clone(),
                protocol: e.protocol(),
                transport: e.transport(),
                sockets: Sockets::Ip { ports, binds },
                options: e.options().clone(),
                advertise,
            });
        }
        platform::check(spec, host, &mut problems);
        check_conflicts(&endpoints, &mut problems);
        unix::check_conflicts(&endpoints, host, &mut problems);
        check_advertised(&endpoints, &mut problems);

        let (errors, warnings) = verdict(problems, options);
        if errors.is_empty() {
            Ok(Plan {
                networks,
                endpoints,
                warnings: warnings.into(),
            })
        } else {
            Err(PlanError::new(errors, warnings, host, spec))
        }
    }
}

/// For a network without endpoints, a network with endpoints whose name is a
/// slip away: `--listen 'opps = 127.0.0.3'` meant to change `ops`, and made
/// a network of its own. Only among a person's few networks
/// (`GUESSED_AMONG`), as a spec error's guesses.
fn meant_network<'s>(spec: &'s ListenSpec, listens: &[bool], name: &Name) -> Option<&'s Name> {
    if spec.networks().len() > crate::spec::suggest::GUESSED_AMONG {
        return None;
    }
    let listening = || {
        spec.networks()
            .iter()
            .zip(listens)
            .filter(|&(_, &l)| l)
            .map(|(n, _)| n.name())
    };
    let near = crate::spec::suggest::closest(name.as_str(), listening().map(Name::as_str))?;
    listening().find(|n| n.as_str() == near)
}

/// Resolves every network, checks its exposure, and checks that networks
/// that listen keep apart.
fn plan_networks(
    spec: &ListenSpec,
    view: &HostView,
    listens: &[bool],
    problems: &mut Vec<Problem>,
) -> Vec<PlannedNetwork> {
    let mut networks = Vec::with_capacity(spec.networks().len());
    for (net, &listening) in spec.networks().iter().zip(listens) {
        let name = net.name().clone();
        let exposure = net.exposure();
        let addrs = if net.is_unix() {
            Vec::new()
        } else {
            select::resolve(net, &name, view, problems)
        };
        check_exposure(&name, exposure, &addrs, problems);
        let planned = PlannedNetwork {
            name,
            exposure,
            addrs,
        };
        if listening {
            check_container(view.host, &planned, problems);
        } else {
            let problem = Problem::network(&planned.name, ProblemKind::NoEndpoints);
            problems.push(problem.meaning(meant_network(spec, listens, &planned.name)));
        }
        networks.push(planned);
    }
    check_separation(spec, &networks, |i| listens[i], problems);
    networks
}

/// A non-public endpoint without `device` is kept apart from other networks
/// by its address only, which Linux's weak host model does not honour.
/// Windows' strong host model does (its default since Vista: a packet for
/// an address is taken only on that address's interface), and it has no
/// `device` to add.
fn check_isolation(
    e: &Endpoint,
    net: &PlannedNetwork,
    binds: &[Bind],
    host: &Host,
    report: &mut impl FnMut(ProblemKind),
) {
    if e.options().device.is_some() || net.exposure == Exposure::Public || host.os() == "windows" {
        return;
    }
    // Loopback cannot be reached from other hosts, and wildcards on a
    // non-public network are already an exposure error.
    let reachable: Vec<IpAddr> = binds
        .iter()
        .filter(|b| !b.is_wildcard() && b.chosen().class != AddrClass::Loopback)
        .map(|b| b.addr.ip())
        .collect();
    if !reachable.is_empty() {
        report(ProblemKind::AddressOnlyIsolation {
            exposure: net.exposure,
            addrs: reachable,
        });
    }
}

/// Inside a container, loopback is the container's own: a network on
/// loopback only is out of reach of every published port. Said once for
/// the network, since all its endpoints bind its addresses.
fn check_container(host: &Host, net: &PlannedNetwork, problems: &mut Vec<Problem>) {
    if let Some(evidence) = host.container()
        && net.exposure != Exposure::Local
        && !net.addrs.is_empty()
        && net.addrs.iter().all(|c| c.class == AddrClass::Loopback)
    {
        let kind = ProblemKind::LoopbackInContainer {
            evidence: evidence.to_owned(),
        };
        problems.push(Problem::network(&net.name, kind));
    }
}

/// Splits the findings into errors and warnings: a plan without errors keeps
/// every finding as a warning, in order; strict mode makes warnings errors,
/// listed after the real ones.
fn verdict(problems: Vec<Problem>, options: PlanOptions) -> (Vec<Problem>, Vec<Problem>) {
    let is_error = |p: &Problem| !p.is_warning() || options.strict;
    if !problems.iter().any(is_error) {
        return (Vec::new(), problems);
    }
    let (mut errors, warnings): (Vec<_>, Vec<_>) = problems.into_iter().partition(is_error);
    errors.sort_by_key(Problem::is_warning);
    (errors, warnings)
}

fn binds(
    e: &Endpoint,
    ports: Ports,
    addrs: &[Chosen],
    view: &HostView,
    report: &mut impl FnMut(ProblemKind),
) -> Arc<[Bind]> {
    let mut device = e.options().device.as_ref();
    if let Some(Device::Named(d)) = device
        && view.interface(d).is_none()
    {
        // Reported once here; comparing it with each address would only repeat it.
        device = None;
        report(ProblemKind::UnknownInterface { pattern: d.clone() });
    }
    let named: Option<Arc<str>> = match device {
        Some(Device::Named(d)) => Some(d.as_str().into()),
        _ => None,
    };
    let mut wildcard_reported = false;
    addrs
        .iter()
        .map(|c| {
            let dev = match (device, c.why.interface()) {
                (None, _) => None,
                (Some(Device::Named(d)), Some(on)) if d.as_str() != &**on => {
                    report(ProblemKind::DeviceMismatch {
                        device: d.clone(),
                        ip: c.ip,
                        interface: on.to_string(),
                    });
                    named.clone()
                }
                (Some(Device::Named(_)), _) => named.clone(),
                (Some(Device::Own), Some(on)) => Some(Arc::clone(on)),
                (Some(Device::Own), None) => {
                    if !wildcard_reported {
                        report(ProblemKind::DeviceWildcard);
                        wildcard_reported = true;
                    }
                    None
                }
            };
            let addr = c.socket_addr(ports.first());
            Bind {
                dual_stack: addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                    && e.options().v6only == Some(false),
                addr,
                device: dev,
                chosen: c.clone(),
            }
        })
        .collect()
}

/// `*` (or `0.0.0.0, ::`) with `v6only=false`: the `[::]` socket takes IPv4
/// too, so the endpoint's own `0.0.0.0` socket cannot bind beside it, on
/// any port.
fn check_dual_stack(e: &Endpoint, binds: &[Bind], report: &mut impl FnMut(ProblemKind)) {
    if e.options().v6only != Some(false) {
        return;
    }
    let wildcard = |f: Family| {
        binds
            .iter()
            .find(|b| b.is_wildcard() && Family::of(b.addr.ip()) == f)
    };
    if let (Some(v4), Some(v6)) = (wildcard(Family::V4), wildcard(Family::V6)) {
        report(ProblemKind::DualStackSelf {
            transport: e.transport(),
            v4: v4.addr,
            v6: v6.addr,
        });
    }
}

/// An advertised literal that this host holds but the endpoint does not
/// listen on reaches nothing: clients would connect to this host, on an
/// address where no socket of the endpoint waits.
fn check_advertised_bound(
    a: &Advertised,
    e: &Endpoint,
    binds: &[Bind],
    view: &HostView,
    report: &mut impl FnMut(ProblemKind),
) {
    // A derived URL is made from the endpoint's own addresses.
    if *a.source() == Source::Derived {
        return;
    }
    let Some(ip) = a.literal_ip() else {
        return;
    };
    let Some(holder) = view.holders(ip).first() else {
        return;
    };
    let family = Family::of(ip);
    let dual = e.options().v6only == Some(false);
    let covered = binds.iter().any(|b| {
        let bound = b.addr.ip();
        bound == ip
            || (b.is_wildcard() && (Family::of(bound) == family || (dual && bound.is_ipv6())))
    });
    if !covered {
        report(ProblemKind::AdvertisedNotBound {
            ip,
            interface: holder.name().to_owned(),
        });
    }
}

fn check_exposure(name: &Name, exposure: Exposure, addrs: &[Chosen], out: &mut Vec<Problem>) {
    let wild: Vec<IpAddr> = addrs
        .iter()
        .filter(|c| c.is_wildcard())
        .map(|c| c.ip)
        .collect();
    let too_far: Vec<IpAddr> = addrs
        .iter()
        .filter(|c| !c.is_wildcard())
        .filter(|c| match exposure {
            Exposure::Public => false,
            Exposure::Private => c.global,
            Exposure::Local => c.class != AddrClass::Loopback,
        })
        .map(|c| c.ip)
        .collect();
    if exposure != Exposure::Public && !wild.is_empty() {
        out.push(Problem::network(
            name,
            ProblemKind::Exposed {
                exposure,
                wildcard: true,
                addrs: wild,
            },
        ));
    }
    if !too_far.is_empty() {
        out.push(Problem::network(
            name,
            ProblemKind::Exposed {
                exposure,
                wildcard: false,
                addrs: too_far,
            },
        ));
    }
}

/// Findings grouped by what they are about (a network, an endpoint), in
/// the order each group first came: one finding with its addresses and
/// the others that have them, however many the host and the spec give,
/// so that output grows with the mistakes, not the host.
struct Grouped<K, V> {
    at: HashMap<K, usize>,
    groups: Vec<(K, Vec<V>)>,
}

impl<K: std::hash::Hash + Eq + Copy, V> Grouped<K, V> {
    fn new() -> Self {
        Grouped {
            at: HashMap::new(),
            groups: Vec::new(),
        }
    }

    fn push(&mut self, key: K, value: V) {
        let at = *self.at.entry(key).or_insert_with(|| {
            self.groups.push((key, Vec::new()));
            self.groups.len() - 1
        });
        self.groups[at].1.push(value);
    }
}

/// One address in two networks that both listen is an error unless both
/// opted in with `shared`; wildcards are left to the conflict check.
fn check_separation(
    spec: &ListenSpec,
    networks: &[PlannedNetwork],
    listens: impl Fn(usize) -> bool,
    out: &mut Vec<Problem>,
) {
    let listening = || networks.iter().enumerate().filter(|&(i, _)| listens(i));
    // With one network listening there is nobody to share with.
    if listening().nth(1).is_none() {
        return;
    }
    let mut owner: HashMap<(IpAddr, u32), usize> = HashMap::new();
    let mut shared = Grouped::new();
    for (i, net) in listening() {
        for c in net.addrs.iter().filter(|c| !c.is_wildcard()) {
            match owner.get(&(c.ip, c.scope_id)) {
                Some(&j) => {
                    let both = spec.networks()[i].is_shared() && spec.networks()[j].is_shared();
                    if !both {
                        shared.push(i, (c.ip, j));
                    }
                }
                None => {
                    owner.insert((c.ip, c.scope_id), i);
                }
            }
        }
    }
    for (i, found) in shared.groups {
        let (ips, others) = apart(found);
        out.push(Problem::network(
            &networks[i].name,
            ProblemKind::SharedAddress {
                ips,
                others: others
                    .into_iter()
                    .map(|j| Name::clone(&networks[j].name))
                    .collect(),
            },
        ));
    }
}

/// The addresses of a group, and the others it met, each once, in the
/// order first met.
fn apart<A>(found: Vec<(A, usize)>) -> (Vec<A>, Vec<usize>) {
    let mut seen = HashSet::new();
    let mut others = Vec::new();
    let addrs = found
        .into_iter()
        .map(|(addr, j)| {
            if seen.insert(j) {
                others.push(j);
            }
            addr
        })
        .collect();
    (addrs, others)
}

/// Two endpoints on the same transport, address and port, or a wildcard and a
/// specific address of its family on one port. Only fixed ports can collide
/// at plan time; port 0 and ranges pick free ports when binding.
fn check_conflicts(endpoints: &[PlannedEndpoint], out: &mut Vec<Problem>) {
    let wildcards = check_same_socket(endpoints, out);
    check_under_wildcard(endpoints, &wildcards, out);
}

/// Which endpoint's wildcard takes a transport, port and family, and its
/// socket address.
type Wildcards = HashMap<(Transport, u16, Family), (usize, SocketAddr)>;

/// Two endpoints on one socket address, or on one family's wildcard (an
/// IPv6 wildcard with `v6only=false` takes IPv4 too). Returns the wildcards.
fn check_same_socket(endpoints: &[PlannedEndpoint], out: &mut Vec<Problem>) -> Wildcards {
    // Only endpoints on one transport and fixed port can meet (an
    // endpoint's own binds are distinct): one alone on its port puts none
    // of its sockets in the maps, which on a host of many thousand
    // addresses would hold an entry for each.
    let mut on_port: HashMap<(Transport, u16), usize> = HashMap::with_capacity(endpoints.len());
    for e in endpoints {
        if let Some(port) = e.ports().and_then(Ports::fixed) {
            *on_port.entry((e.transport, port)).or_default() += 1;
        }
    }
    let port_shared = |e: &PlannedEndpoint| {
        e.ports()
            .and_then(Ports::fixed)
            .filter(|&port| on_port[&(e.transport, port)] > 1)
    };
    // Sized for every socket that may meet another, so that it is
    // allocated once rather than grown.
    let mut exact: HashMap<(Transport, SocketAddr), usize> = HashMap::with_capacity(
        endpoints
            .iter()
            .filter(|e| port_shared(e).is_some())
            .map(|e| e.binds().len())
            .sum(),
    );
    let mut wildcards = Wildcards::new();
    // By endpoint: an endpoint has one transport.
    let mut clashes = Grouped::new();
    for (i, e) in endpoints.iter().enumerate() {
        let (t, Some(port)) = (e.transport, port_shared(e)) else {
            continue;
        };
        for b in e.binds() {
            if let Some(&j) = exact.get(&(t, b.addr)) {
                clashes.push(i, (b.addr, j));
                continue;
            }
            exact.insert((t, b.addr), i);
            if !b.is_wildcard() {
                continue;
            }
            let fam = Family::of(b.addr.ip());
            let dual = fam == Family::V6 && e.options.v6only == Some(false);
            for f in [Some(fam), dual.then_some(Family::V4)]
                .into_iter()
                .flatten()
            {
                match wildcards.get(&(t, port, f)) {
                    Some(&(j, _)) if j != i => clashes.push(i, (b.addr, j)),
                    _ => {
                        wildcards.insert((t, port, f), (i, b.addr));
                    }
                }
            }
        }
    }
    for (i, found) in clashes.groups {
        let e = &endpoints[i];
        let (addrs, others) = apart(found);
        out.push(Problem::endpoint(
            &e.network,
            &e.name,
            ProblemKind::Conflict {
                transport: e.transport,
                addrs,
                others: others
                    .into_iter()
                    .map(|j| endpoints[j].qualified())
                    .collect(),
            },
        ));
    }
    wildcards
}

/// A specific address on a port whose family's wildcard another endpoint
/// already takes.
fn check_under_wildcard(
    endpoints: &[PlannedEndpoint],
    wildcards: &Wildcards,
    out: &mut Vec<Problem>,
) {
    if wildcards.is_empty() {
        return;
    }
    let mut under = Grouped::new();
    for (i, e) in endpoints.iter().enumerate() {
        let (t, Some(port)) = (e.transport, e.ports().and_then(Ports::fixed)) else {
            continue;
        };
        for b in e.binds().iter().filter(|b| !b.is_wildcard()) {
            let family = Family::of(b.addr.ip());
            if let Some(&(j, wildcard)) = wildcards.get(&(t, port, family))
                && j != i
            {
                under.push((i, j, family, wildcard), b.addr);
            }
        }
    }
    for ((i, j, family, wildcard), specific) in under.groups {
        let e = &endpoints[i];
        out.push(Problem::endpoint(
            &e.network,
            &e.name,
            ProblemKind::WildcardConflict {
                transport: e.transport,
                family,
                specific,
                wildcard,
                other: endpoints[j].qualified(),
            },
        ));
    }
}

/// Two endpoints told to clients under one URL: clients of one reach the other.
fn check_advertised(endpoints: &[PlannedEndpoint], out: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, e) in endpoints.iter().enumerate() {
        // Derived URLs are equal only when the bound addresses are, which
        // the conflict check already reports.
        let Some(url) = e
            .advertise
            .as_ref()
            .filter(|a| *a.source() != Source::Derived)
            .and_then(Advertised::url)
        else {
            continue;
        };
        match seen.get(url.as_str()) {
            Some(&j) => out.push(Problem::endpoint(
                &e.network,
                &e.name,
                ProblemKind::SameAdvertised {
                    url: url.to_string(),
                    other: endpoints[j].qualified(),
                },
            )),
            None => {
                seen.insert(url.as_str(), i);
            }
        }
    }
}
