//! The planner: a pure function from (spec, host snapshot) to the exact
//! socket addresses each endpoint binds and the URL it advertises.
//!
//! Nothing here makes a syscall or reads a clock, so the same spec and
//! snapshot always give the same plan, on a laptop or in CI.

mod advertise;
mod problem;
mod select;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use ipnet::IpNet;

pub use advertise::{Advertised, Source};
pub use problem::{PlanError, Problem, ProblemKind};

use crate::host::Host;
use crate::spec::{
    Device, Endpoint, EndpointOptions, Exposure, Family, ListenSpec, Name, Ports, Protocol,
    Selector, Transport,
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
        interface: String,
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

/// One address a network resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    ip: IpAddr,
    scope_id: u32,
    interface: Option<String>,
    why: Why,
}

impl Chosen {
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
        self.interface.as_deref()
    }
    /// Why it was chosen.
    pub fn why(&self) -> &Why {
        &self.why
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
    interface: Option<String>,
    device: Option<String>,
    why: Why,
}

impl Bind {
    /// The address to bind; the port is the first of the endpoint's range
    /// (0 when the OS picks), and link-local IPv6 carries its scope id.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The interface holding the address; `None` for a wildcard.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }
    /// The interface `SO_BINDTODEVICE` pins the socket to, if any.
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }
    /// Why the address was chosen.
    pub fn why(&self) -> &Why {
        &self.why
    }
}

/// An endpoint as planned: every socket address, and what clients are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEndpoint {
    network: Name,
    name: Name,
    protocol: Protocol,
    ports: Ports,
    options: EndpointOptions,
    binds: Vec<Bind>,
    advertise: Option<Advertised>,
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
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.network, self.name)
    }
    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// The ports to try.
    pub fn ports(&self) -> Ports {
        self.ports
    }
    /// The socket options.
    pub fn options(&self) -> &EndpointOptions {
        &self.options
    }
    /// The sockets, one per address.
    pub fn binds(&self) -> &[Bind] {
        &self.binds
    }
    /// The socket addresses alone, as a test would compare them.
    pub fn socket_addrs(&self) -> Vec<SocketAddr> {
        self.binds.iter().map(|b| b.addr).collect()
    }
    /// What clients are told; `None` only when no address could be advertised
    /// (then the plan has an error for it).
    pub fn advertised(&self) -> Option<&Advertised> {
        self.advertise.as_ref()
    }
}

/// The complete plan: networks, endpoints, warnings. Binding is a mechanical
/// walk over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    networks: Vec<PlannedNetwork>,
    endpoints: Vec<PlannedEndpoint>,
    warnings: Vec<Problem>,
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

/// Plans a spec against a host snapshot.
pub fn plan_with(spec: &ListenSpec, host: &Host, options: PlanOptions) -> Result<Plan, PlanError> {
    let mut problems = Vec::new();
    let mut networks = Vec::with_capacity(spec.networks().len());
    for net in spec.networks() {
        let addrs = select::resolve(net, host, &mut problems);
        let exposure = net.exposure();
        check_exposure(net.name(), exposure, &addrs, &mut problems);
        if !spec.endpoints().iter().any(|e| e.network() == net.name()) {
            problems.push(Problem::network(net.name(), ProblemKind::NoEndpoints));
        }
        networks.push(PlannedNetwork {
            name: net.name().clone(),
            exposure,
            addrs,
        });
    }
    check_separation(spec, &networks, &mut problems);

    let mut endpoints = Vec::with_capacity(spec.endpoints().len());
    let mut ranked: Vec<Option<Option<advertise::Ranked>>> =
        networks.iter().map(|_| None).collect();
    for e in spec.endpoints() {
        // Every endpoint's network exists: ListenSpec guarantees it.
        let Some((i, net)) = networks
            .iter()
            .enumerate()
            .find(|(_, n)| n.name == *e.network())
        else {
            continue;
        };
        let mut report = |kind| problems.push(Problem::endpoint(e.network(), e.name(), kind));
        let binds = binds(e, &net.addrs, host, &mut report);
        // Loopback cannot be reached from other hosts, and wildcards on a
        // non-public network are already an exposure error.
        let reachable: Vec<IpAddr> = binds
            .iter()
            .filter(|b| b.interface.is_some() && AddrClass::of(b.addr.ip()) != AddrClass::Loopback)
            .map(|b| b.addr.ip())
            .collect();
        if e.socket_options().device.is_none()
            && net.exposure != Exposure::Public
            && !reachable.is_empty()
        {
            report(ProblemKind::AddressOnlyIsolation {
                exposure: net.exposure,
                addrs: reachable,
            });
        }
        let ranked = &mut ranked[i];
        let advertise = advertise::advertise(
            e,
            spec.networks()[i].advertised(),
            || {
                ranked
                    .get_or_insert_with(|| advertise::rank_network(&net.addrs, host))
                    .as_ref()
            },
            &mut report,
        );
        endpoints.push(PlannedEndpoint {
            network: e.network().clone(),
            name: e.name().clone(),
            protocol: e.protocol(),
            ports: e.ports(),
            options: e.socket_options().clone(),
            binds,
            advertise,
        });
    }
    check_conflicts(&endpoints, &mut problems);
    check_advertised(&endpoints, &mut problems);

    let (mut errors, warnings): (Vec<_>, Vec<_>) = problems
        .into_iter()
        .partition(|p| !p.is_warning() || options.strict);
    if options.strict {
        // Strict mode still says which findings are warnings at heart.
        errors.sort_by_key(Problem::is_warning);
    }
    if errors.is_empty() {
        Ok(Plan {
            networks,
            endpoints,
            warnings,
        })
    } else {
        Err(PlanError::new(errors, warnings))
    }
}

fn binds(
    e: &Endpoint,
    addrs: &[Chosen],
    host: &Host,
    report: &mut impl FnMut(ProblemKind),
) -> Vec<Bind> {
    let mut device = e.socket_options().device.as_ref();
    if let Some(Device::Named(d)) = device
        && host.interface(d).is_none()
    {
        // Reported once here; comparing it with each address would only repeat it.
        device = None;
        report(ProblemKind::UnknownInterface {
            pattern: d.clone(),
            known: host
                .interfaces()
                .iter()
                .map(|i| i.name().to_owned())
                .collect(),
        });
    }
    let mut wildcard_reported = false;
    addrs
        .iter()
        .map(|c| {
            let dev = match (device, &c.interface) {
                (None, _) => None,
                (Some(Device::Named(d)), Some(on)) if d != on => {
                    report(ProblemKind::DeviceMismatch {
                        device: d.clone(),
                        ip: c.ip,
                        interface: on.clone(),
                    });
                    Some(d.clone())
                }
                (Some(Device::Named(d)), _) => Some(d.clone()),
                (Some(Device::Own), Some(on)) => Some(on.clone()),
                (Some(Device::Own), None) => {
                    if !wildcard_reported {
                        report(ProblemKind::DeviceWildcard);
                        wildcard_reported = true;
                    }
                    None
                }
            };
            Bind {
                addr: c.socket_addr(e.ports().first()),
                interface: c.interface.clone(),
                device: dev,
                why: c.why.clone(),
            }
        })
        .collect()
}

fn check_exposure(name: &Name, exposure: Exposure, addrs: &[Chosen], out: &mut Vec<Problem>) {
    let wild: Vec<IpAddr> = addrs
        .iter()
        .filter(|c| c.interface.is_none())
        .map(|c| c.ip)
        .collect();
    let too_far: Vec<IpAddr> = addrs
        .iter()
        .filter(|c| c.interface.is_some())
        .map(|c| c.ip)
        .filter(|ip| match exposure {
            Exposure::Public => false,
            Exposure::Private => class::is_globally_reachable(*ip),
            Exposure::Local => AddrClass::of(*ip) != AddrClass::Loopback,
        })
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

/// One address in two networks that both listen is an error unless both
/// opted in with `shared`; wildcards are left to the conflict check.
fn check_separation(spec: &ListenSpec, networks: &[PlannedNetwork], out: &mut Vec<Problem>) {
    let mut owner: HashMap<(IpAddr, u32), usize> = HashMap::new();
    for (i, net) in networks.iter().enumerate() {
        let listens = spec.endpoints().iter().any(|e| *e.network() == net.name);
        if !listens {
            continue;
        }
        for c in net.addrs.iter().filter(|c| c.interface.is_some()) {
            match owner.get(&(c.ip, c.scope_id)) {
                Some(&j) => {
                    let both = spec.networks()[i].is_shared() && spec.networks()[j].is_shared();
                    if !both {
                        out.push(Problem::network(
                            &net.name,
                            ProblemKind::SharedAddress {
                                ip: c.ip,
                                other: networks[j].name.clone(),
                            },
                        ));
                    }
                }
                None => {
                    owner.insert((c.ip, c.scope_id), i);
                }
            }
        }
    }
}

/// Two endpoints on the same transport, address and port, or a wildcard and a
/// specific address of its family on one port. Only fixed ports can collide
/// at plan time; port 0 and ranges pick free ports when binding.
fn check_conflicts(endpoints: &[PlannedEndpoint], out: &mut Vec<Problem>) {
    let mut exact: HashMap<(Transport, SocketAddr), usize> = HashMap::new();
    let mut wild: HashMap<(Transport, Family, u16), (usize, SocketAddr)> = HashMap::new();
    for (i, e) in endpoints.iter().enumerate() {
        if e.ports.fixed().is_none() {
            continue;
        }
        let t = e.protocol.transport();
        for b in &e.binds {
            let clash = |other: usize| ProblemKind::Conflict {
                transport: t,
                addr: b.addr,
                other: endpoints[other].qualified(),
            };
            if let Some(&j) = exact.get(&(t, b.addr)) {
                out.push(Problem::endpoint(&e.network, &e.name, clash(j)));
                continue;
            }
            exact.insert((t, b.addr), i);
            if b.interface.is_some() {
                continue;
            }
            let fam = Family::of(b.addr.ip());
            // An IPv6 wildcard with v6only=false also takes IPv4.
            let dual = fam == Family::V6 && e.options.v6only == Some(false);
            for f in [Some(fam), dual.then_some(Family::V4)]
                .into_iter()
                .flatten()
            {
                match wild.get(&(t, f, b.addr.port())) {
                    Some(&(j, _)) if j != i => {
                        out.push(Problem::endpoint(&e.network, &e.name, clash(j)));
                    }
                    _ => {
                        wild.insert((t, f, b.addr.port()), (i, b.addr));
                    }
                }
            }
        }
    }
    for (i, e) in endpoints.iter().enumerate() {
        let t = e.protocol.transport();
        for b in e.binds.iter().filter(|b| b.interface.is_some()) {
            let key = (t, Family::of(b.addr.ip()), b.addr.port());
            if let Some(&(j, w)) = wild.get(&key)
                && j != i
            {
                out.push(Problem::endpoint(
                    &e.network,
                    &e.name,
                    ProblemKind::WildcardConflict {
                        transport: t,
                        family: key.1,
                        specific: b.addr,
                        wildcard: w,
                        other: endpoints[j].qualified(),
                    },
                ));
            }
        }
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
