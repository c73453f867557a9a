//! What planning found wrong (errors) or worth knowing (warnings), each with
//! the endpoint, the address, the cause and what to change.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::spec::{Exposure, Family, Name, Selector, Transport};

/// One finding of the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    network: Option<Name>,
    endpoint: Option<Name>,
    kind: ProblemKind,
}

impl Problem {
    pub(crate) fn network(network: &Name, kind: ProblemKind) -> Problem {
        Problem {
            network: Some(network.clone()),
            endpoint: None,
            kind,
        }
    }

    pub(crate) fn endpoint(network: &Name, endpoint: &Name, kind: ProblemKind) -> Problem {
        Problem {
            network: Some(network.clone()),
            endpoint: Some(endpoint.clone()),
            kind,
        }
    }

    /// The network it concerns.
    pub fn network_name(&self) -> Option<&Name> {
        self.network.as_ref()
    }
    /// The endpoint it concerns, if it is about one endpoint.
    pub fn endpoint_name(&self) -> Option<&Name> {
        self.endpoint.as_ref()
    }
    /// What was found.
    pub fn kind(&self) -> &ProblemKind {
        &self.kind
    }
    /// What to change, in a sentence.
    pub fn fix(&self) -> String {
        self.kind.fix()
    }
    /// Whether this is a warning (the plan stands) rather than an error.
    pub fn is_warning(&self) -> bool {
        self.kind.is_warning()
    }
}

impl fmt::Display for Problem {
    /// `network ops, endpoint metrics: message` then `  fix: …` on its own line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.network, &self.endpoint) {
            (Some(n), Some(e)) => write!(f, "{n}.{e}: ")?,
            (Some(n), None) => write!(f, "network {n}: ")?,
            _ => {}
        }
        write!(f, "{}\n  fix: {}", self.kind, self.kind.fix())
    }
}

fn list_ips(list: &[IpAddr]) -> String {
    let v: Vec<String> = list.iter().map(ToString::to_string).collect();
    v.join(", ")
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn not_local(selector: &Selector, remote: &[IpAddr]) -> String {
    match selector {
        Selector::Dns(_) => format!(
            "{selector} resolves to {} but no interface of this host has {}",
            list_ips(remote),
            if remote.len() == 1 {
                "it"
            } else {
                "any of them"
            }
        ),
        _ => format!("{selector} is not an address of this host"),
    }
}

/// Indents the host listing under a message.
fn host_lines(host: &str) -> String {
    host.lines()
        .map(|l| format!("\n      {l}"))
        .collect::<String>()
}

/// What the planner found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A selector matched no address of the host.
    #[error("{selector} matches no address on this host{}; the host has:{}", note.as_deref().unwrap_or(""), host_lines(host))]
    NoMatch {
        /// The selector.
        selector: Selector,
        /// Why, where the planner can tell (e.g. only link-local addresses).
        note: Option<String>,
        /// The host's interfaces and addresses, one per line.
        host: String,
    },
    /// An `if:`, zone or `device=` names no interface of the host.
    #[error("no interface matches {pattern:?}; this host has: {}", names(known))]
    UnknownInterface {
        /// The name or glob as written.
        pattern: String,
        /// The host's interface names.
        known: Vec<String>,
    },
    /// A selected interface is down.
    #[error("interface {interface} is down, so nothing bound to it can be reached")]
    InterfaceDown {
        /// The interface.
        interface: String,
    },
    /// A literal address or DNS name points at addresses this host does not have.
    #[error("{}; the host has:{}", not_local(selector, remote), host_lines(host))]
    NotLocal {
        /// The selector.
        selector: Selector,
        /// The addresses that are not local.
        remote: Vec<IpAddr>,
        /// The host's interfaces and addresses, one per line.
        host: String,
    },
    /// A DNS name in a selector could not be resolved.
    #[error("dns:{name} could not be resolved: {error}")]
    DnsFailed {
        /// The name.
        name: String,
        /// The resolver's message.
        error: String,
    },
    /// The host snapshot has no answer for a DNS name in a selector.
    #[error("dns:{name} was not looked up when the host snapshot was taken")]
    DnsNotCaptured {
        /// The name.
        name: String,
    },
    /// Excludes or a family filter removed every address the includes matched.
    #[error(
        "the includes matched [{}] but excludes and family filters removed all of them",
        list_ips(removed)
    )]
    AllExcluded {
        /// What the includes matched.
        removed: Vec<IpAddr>,
    },
    /// A network would expose more than its level allows.
    #[error("expose={exposure} forbids {}{}", if *wildcard { "a wildcard, which takes every address including public ones: " } else { "" }, list_ips(addrs))]
    Exposed {
        /// The network's level.
        exposure: Exposure,
        /// Whether the offending addresses are wildcards.
        wildcard: bool,
        /// The addresses that would have been exposed.
        addrs: Vec<IpAddr>,
    },
    /// Two networks select the same address.
    #[error(
        "{ip} is also selected by network {other}, so endpoints meant for one network would be reachable from the other"
    )]
    SharedAddress {
        /// The address.
        ip: IpAddr,
        /// The other network.
        other: Name,
    },
    /// Two endpoints on the same protocol, address and port.
    #[error("{transport} {addr} is also taken by {other}")]
    Conflict {
        /// The transport.
        transport: Transport,
        /// The address and port.
        addr: SocketAddr,
        /// The other endpoint, as `network.endpoint`.
        other: String,
    },
    /// A wildcard and a specific address on the same port and family.
    #[error("{transport} {specific} collides with {other} on {wildcard}: a wildcard already takes every {family} address on port {}", wildcard.port())]
    WildcardConflict {
        /// The transport.
        transport: Transport,
        /// The family.
        family: Family,
        /// The specific address.
        specific: SocketAddr,
        /// The wildcard.
        wildcard: SocketAddr,
        /// The other endpoint, as `network.endpoint`.
        other: String,
    },
    /// Two endpoints would tell clients the same URL.
    #[error("advertises {url}, as does {other}, so clients of one would reach the other")]
    SameAdvertised {
        /// The URL.
        url: String,
        /// The other endpoint.
        other: String,
    },
    /// `device=` does not hold the endpoint's addresses.
    #[error(
        "device={device} but {ip} is on {interface}: packets for it arrive on {interface} and the socket would refuse them"
    )]
    DeviceMismatch {
        /// The device named.
        device: String,
        /// The address.
        ip: IpAddr,
        /// The interface that holds it.
        interface: String,
    },
    /// `device` (own interface) on a wildcard.
    #[error(
        "`device` pins each socket to the interface of its address, but a wildcard has no interface"
    )]
    DeviceWildcard,
    /// Warning: several candidates tie for the advertised address.
    #[error("advertises {chosen}, chosen from {} equally ranked addresses: {}", others.len() + 1, list_ips(others))]
    AdvertiseTie {
        /// The address taken (the lowest).
        chosen: IpAddr,
        /// The others of the same rank and family.
        others: Vec<IpAddr>,
    },
    /// Warning: the advertised address is link-local; a URL cannot carry its zone.
    #[error(
        "advertises link-local {ip}, which clients can only use with a zone that URLs cannot carry"
    )]
    LinkLocalAdvertised {
        /// The address.
        ip: IpAddr,
    },
    /// Warning: a network has no endpoints, so binds nothing.
    #[error("has no endpoints, so nothing listens on it")]
    NoEndpoints,
    /// Warning: a DNS name resolves partly to other hosts.
    #[error(
        "dns:{name} also resolves to {}, which this host does not have; only its local addresses are bound",
        list_ips(remote)
    )]
    DnsPartlyRemote {
        /// The name.
        name: String,
        /// The addresses not on this host.
        remote: Vec<IpAddr>,
    },
    /// Warning: addresses on down interfaces were left out.
    #[error("left out {} on {interface}, which is down", list_ips(addrs))]
    SkippedDown {
        /// The interface.
        interface: String,
        /// The addresses left out.
        addrs: Vec<IpAddr>,
    },
    /// Warning: a non-public endpoint is kept apart from other networks by its
    /// address only.
    #[error(
        "listens on {} of a {exposure} network without `device`; Linux accepts packets for any local address on any interface (weak host model), so a peer on another network that routes to this address reaches it",
        list_ips(addrs)
    )]
    AddressOnlyIsolation {
        /// The network's level.
        exposure: Exposure,
        /// The endpoint's addresses.
        addrs: Vec<IpAddr>,
    },
    /// Warning: inside a container, an endpoint listens on loopback only.
    #[error(
        "listens on loopback only, inside a container ({evidence}): loopback there is the container's own, and a published port forwards to the container's interface address, so nothing outside the container reaches it"
    )]
    LoopbackInContainer {
        /// Why the host looks like a container.
        evidence: String,
    },
}

impl ProblemKind {
    /// Whether the plan stands despite it.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            ProblemKind::AdvertiseTie { .. }
                | ProblemKind::LinkLocalAdvertised { .. }
                | ProblemKind::NoEndpoints
                | ProblemKind::DnsPartlyRemote { .. }
                | ProblemKind::SkippedDown { .. }
                | ProblemKind::AddressOnlyIsolation { .. }
                | ProblemKind::LoopbackInContainer { .. }
        )
    }

    /// What to change.
    pub fn fix(&self) -> String {
        match self {
            ProblemKind::NoMatch { selector, .. } => format!(
                "pick an address, block or interface from the list above instead of {selector}, or add the address to the host"
            ),
            ProblemKind::UnknownInterface { .. } => {
                "use one of the interface names listed (`ip -br addr` shows them)".to_owned()
            }
            ProblemKind::InterfaceDown { interface } => format!(
                "bring it up (`ip link set {interface} up`) or exclude it with !if:{interface}"
            ),
            ProblemKind::NotLocal { selector, .. } => format!(
                "a server can only bind addresses its own interfaces hold. {selector} most likely \
                 reaches this host through NAT, a proxy or load balancer, or a container's port \
                 mapping, so clients use it but the server cannot bind it. Bind a local address \
                 (or `*`) and advertise the name instead, e.g. `NET = * advertise {}`",
                match selector {
                    Selector::Dns(name) => name.clone(),
                    other => other.to_string(),
                }
            ),
            ProblemKind::DnsFailed { name, .. } => format!(
                "check that {name} resolves on this host (`getent ahosts {name}`), or select the addresses directly"
            ),
            ProblemKind::DnsNotCaptured { name } => format!(
                "capture the host with this spec (doctor --dump-host), or add an answer for {name} to the snapshot"
            ),
            ProblemKind::AllExcluded { .. } => {
                "loosen the excludes or the family filter, or include more".to_owned()
            }
            ProblemKind::Exposed { exposure, wildcard, .. } => match (exposure, wildcard) {
                (Exposure::Local, _) => "select loopback only (e.g. `loopback`), or raise the level with expose=private".to_owned(),
                (_, true) => "list this network's own addresses (a CIDR block or if:NAME) instead of a wildcard, or mark it expose=public if it really is public".to_owned(),
                (_, false) => "select private addresses only, or mark the network expose=public if it really is public".to_owned(),
            },
            ProblemKind::SharedAddress { other, .. } => format!(
                "give each network its own addresses, or mark both this network and {other} `shared` if they really share one"
            ),
            ProblemKind::Conflict { .. } => {
                "give one of the endpoints another port or address".to_owned()
            }
            ProblemKind::WildcardConflict { .. } => {
                "use specific addresses on both endpoints, or another port for one of them".to_owned()
            }
            ProblemKind::SameAdvertised { .. } => {
                "give each endpoint its own `advertise URL`".to_owned()
            }
            ProblemKind::DeviceMismatch { interface, .. } => {
                format!("use device={interface}, plain `device`, or select that device's addresses")
            }
            ProblemKind::DeviceWildcard => {
                "select the network's addresses (a CIDR block or if:NAME), or name the device with device=IFNAME".to_owned()
            }
            ProblemKind::AdvertiseTie { .. } => {
                "say which one clients use with `advertise HOST` on the network or endpoint".to_owned()
            }
            ProblemKind::LinkLocalAdvertised { .. } => {
                "advertise a routable address or a name with `advertise`".to_owned()
            }
            ProblemKind::NoEndpoints => {
                "add an endpoint (`NET.NAME = tcp:PORT`) or remove the network".to_owned()
            }
            ProblemKind::DnsPartlyRemote { name, .. } => format!(
                "if clients should only reach this host, give it its own name instead of dns:{name}"
            ),
            ProblemKind::SkippedDown { interface, .. } => format!(
                "bring {interface} up, or exclude it with !if:{interface} to silence this"
            ),
            ProblemKind::AddressOnlyIsolation { .. } => {
                "add `device` so each socket refuses packets that arrive on other interfaces".to_owned()
            }
            ProblemKind::LoopbackInContainer { .. } => {
                "select the container's interface (if:eth0, say) or `*` on a public network so published ports reach it; if only this container (or its pod) should, say expose=local".to_owned()
            }
        }
    }
}

/// Every error planning found, with the warnings found beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl PlanError {
    pub(crate) fn new(errors: Vec<Problem>, warnings: Vec<Problem>) -> PlanError {
        PlanError { errors, warnings }
    }

    /// The errors, in spec order.
    pub fn errors(&self) -> &[Problem] {
        &self.errors
    }

    /// The warnings that were found too.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(f, ("the listen plan has ", "error", ""), "- ", &self.errors)
    }
}

impl std::error::Error for PlanError {}
