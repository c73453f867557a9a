//! What planning found wrong (errors) or worth knowing (warnings), each with
//! the endpoint, the address, the cause and what to change.

use foldhash::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;

use crate::ListenSpec;
use crate::class::AddrClass;
use crate::host::{AccountKind, Host, PathKind};
use crate::spec::{
    Escaped, Exposure, Family, Name, QualifiedName, Selector, Transport, UnixPath,
    is_one_address_network,
};

/// One finding of the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    network: Option<Name>,
    endpoint: Option<Name>,
    /// `kind.is_warning()`, which the planner asks of every finding more
    /// than once.
    warning: bool,
    kind: ProblemKind,
    /// For a network without endpoints, the one with endpoints it was most
    /// likely meant to change (its name is a slip away).
    meant: Option<Name>,
    /// Where its network's or endpoint's statement was written, in a spec
    /// of layers (`--listen #1 line 1`): the layer to change.
    written: Option<String>,
}

impl Problem {
    pub(crate) fn network(network: &Name, kind: ProblemKind) -> Problem {
        Problem {
            network: Some(network.clone()),
            endpoint: None,
            warning: kind.is_warning(),
            kind,
            meant: None,
            written: None,
        }
    }

    /// A finding about the spec as a whole.
    pub(crate) fn spec(kind: ProblemKind) -> Problem {
        Problem {
            network: None,
            endpoint: None,
            warning: kind.is_warning(),
            kind,
            meant: None,
            written: None,
        }
    }

    pub(crate) fn endpoint(network: &Name, endpoint: &Name, kind: ProblemKind) -> Problem {
        Problem {
            network: Some(network.clone()),
            endpoint: Some(endpoint.clone()),
            warning: kind.is_warning(),
            kind,
            meant: None,
            written: None,
        }
    }

    pub(crate) fn meaning(self, meant: Option<&Name>) -> Problem {
        Problem {
            meant: meant.cloned(),
            ..self
        }
    }

    /// Where the statement of its network or endpoint was written, in a
    /// spec built of named layers (`--listen #1 line 1`); `None` for a
    /// spec of one unnamed text or built in code.
    pub fn written(&self) -> Option<&str> {
        self.written.as_deref()
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
        self.hinted(self.kind.fix())
    }

    /// The kind's fix, with what this problem's network names add to it.
    fn hinted(&self, fix: String) -> String {
        // A one-address `--listen` on an address, or a port, a config's
        // network has: the flag meant to move that network's endpoint.
        if let Some(meant) = &self.meant {
            return format!(
                "{fix}; if it was meant to change network {meant}, name it {meant}: a later layer's statement for {meant} replaces the earlier one"
            );
        }
        // A one-address value's IPv6 address had its port in brackets
        // apart (`[2001:db8::7334]:2380`): no port in the address to mean.
        if let ProblemKind::NotLocal { selector, .. } = &self.kind
            && let Selector::Addr {
                ip: IpAddr::V6(ip), ..
            } = selector
            && !ip.is_unicast_link_local()
            && !ip.is_loopback()
            && port_in_address(*ip).is_some()
            && self
                .network
                .as_ref()
                .is_some_and(|n| is_one_address_network(n.as_str()))
        {
            return behind_nat(selector);
        }
        // `Public = *`: only `public`, in lowercase, is public by default.
        if let ProblemKind::Exposed { .. } = &self.kind
            && let Some(name) = &self.network
            && name.as_str() != "public"
            && name.as_str().eq_ignore_ascii_case("public")
        {
            return format!(
                "{fix}; a network is public by default only when named `public`, in lowercase"
            );
        }
        let others: Vec<&Name> = match &self.kind {
            ProblemKind::SharedAddress { others, .. } => others.iter().collect(),
            ProblemKind::Conflict { others, .. } => {
                others.iter().map(QualifiedName::network).collect()
            }
            ProblemKind::WildcardConflict { other, .. } => vec![other.network()],
            _ => return fix,
        };
        if !self
            .network
            .iter()
            .chain(others)
            .any(|n| is_one_address_network(n.as_str()))
        {
            return fix;
        }
        format!(
            "{fix}; a one-address value (--listen or $LISTEN 127.0.0.1:8282) over a config makes a network of its own beside the config's: to move an endpoint the config has, give its statement instead (--listen 'NETWORK.ENDPOINT = http:8282'; so too in $LISTEN)"
        )
    }

    /// Whether this is a warning (the plan stands) rather than an error.
    pub fn is_warning(&self) -> bool {
        self.warning
    }
}

impl fmt::Display for Problem {
    /// `network ops, endpoint metrics: message` then `  fix: …` on its own line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.network, &self.endpoint) {
            (Some(n), Some(e)) => write!(f, "{n}.{e}")?,
            (Some(n), None) => write!(f, "network {n}")?,
            _ => {}
        }
        if let Some(written) = &self.written {
            write!(f, " ({written})")?;
        }
        if self.network.is_some() {
            f.write_str(": ")?;
        }
        let Explained { message, fix, .. } = self.kind.explain();
        write!(f, "{message}\n  fix: {}", self.hinted(fix))
    }
}

/// The most addresses or interfaces one message names: it is read by a
/// person, and a host of 20,000 addresses made two messages 500 KB. The
/// problem itself keeps them all.
pub(crate) const LISTED_IN_MESSAGE: usize = 8;

/// `a, b, c`, or past [`LISTED_IN_MESSAGE`] the first ones and `and N more`.
fn list<T: fmt::Display>(items: &[T]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (n, item) in items.iter().take(LISTED_IN_MESSAGE).enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    if let Some(more) = items
        .len()
        .checked_sub(LISTED_IN_MESSAGE)
        .filter(|&n| n > 0)
    {
        let _ = write!(out, " and {more} more");
    }
    out
}

/// The verb for [`list`]'s items.
fn is_are<T>(items: &[T]) -> &'static str {
    if items.len() == 1 { "is" } else { "are" }
}

fn not_local(selector: &Selector, remote: &[IpAddr]) -> String {
    match selector {
        Selector::Dns(_) => format!(
            "{selector} resolves to {} but no interface of this host has {}",
            list(remote),
            if remote.len() == 1 {
                "it"
            } else {
                "any of them"
            }
        ),
        _ => format!("{selector} is not an address of this host"),
    }
}

/// An IPv6 address whose last group reads as a port after an address of
/// its own (`::1:80`, `2001:db8::1:443`): HAProxy's and others' way of
/// writing an IPv6 address and port without brackets. The group must be
/// written in decimal digits, and what comes before it must be a whole
/// address (`2001:db8::80` is not one, as `2001:db8:` is no address).
fn port_in_address(ip: Ipv6Addr) -> Option<(Ipv6Addr, u16)> {
    let text = ip.to_string();
    let (address, port) = text.rsplit_once(':')?;
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
    Some((address.parse().ok()?, port))
}

/// An interface name followed by what reads as a port (`eth0:8080`): the
/// name and the port. A port here is a number above 0 of more than one
/// digit, so an alias's label (`eth0:1`) is not read as one.
fn port_after_name(pattern: &str) -> Option<(&str, u16)> {
    let (name, port) = pattern.rsplit_once(':')?;
    let digits = port.len() > 1 && port.bytes().all(|b| b.is_ascii_digit());
    let port: u16 = port.parse().ok().filter(|&p| digits && p != 0)?;
    (!name.is_empty()).then_some((name, port))
}

/// The zone a URL's `%25ZONE` stands for, where `pattern` starts so: an
/// interface's name starts with a letter, seldom with `25`. Only a name
/// as `ip link` makes them is offered.
fn url_zone(pattern: &str) -> Option<&str> {
    let pattern = pattern.strip_prefix('%').unwrap_or(pattern);
    pattern.strip_prefix("25").filter(|zone| {
        zone.starts_with(|c: char| c.is_ascii_alphabetic())
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
    })
}

/// The fix for an address no interface holds that clients may still use.
fn behind_nat(selector: &Selector) -> String {
    let advertised = match selector {
        Selector::Dns(name) => name.clone(),
        Selector::Addr {
            ip: IpAddr::V6(ip), ..
        } => format!("[{ip}]"),
        other => other.to_string(),
    };
    format!(
        "a server can only bind addresses its own interfaces hold. {selector} most likely \
         reaches this host through NAT, a proxy or load balancer, or a container's port \
         mapping, so clients use it but the server cannot bind it. Select the local \
         address or interface the traffic arrives on, and advertise this one, e.g. \
         `NET = if:eth0 advertise {advertised}` (not `*`, which would listen on every network)"
    )
}

/// Where messages that speak of the host's interfaces send the reader: the
/// host is listed once under all the errors, however many refer to it.
const LISTED: &str = "this host's interfaces are listed below";

/// Who besides the server's user and root may rename or replace entries
/// of a directory above a Unix socket (as OpenSSH's `StrictModes` judges
/// the directories of its files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirWriter {
    /// Any user: it is world-writable (`o+w`) without the sticky bit.
    World,
    /// The members of its group: it is group-writable (`g+w`) without the
    /// sticky bit.
    Group,
    /// Its owner, a user other than the server's and root, who may change
    /// its mode whatever it is now.
    Owner {
        /// The owner's user id.
        uid: u32,
    },
}

/// Why a selector matched nothing, where the planner can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmatched {
    /// Only link-local addresses, which need naming.
    LinkLocalOnly,
    /// The interfaces it names hold no address.
    NoAddress {
        /// Those interfaces.
        interfaces: Vec<String>,
    },
    /// A one-family wildcard on a host without an up address of that family.
    NoFamily,
    /// `*` on a host without an up interface with an address.
    NothingUp,
}

impl fmt::Display for Unmatched {
    /// A clause that ends the "matches no address" sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmatched::LinkLocalOnly => f.write_str(
                " but link-local ones, which are taken only when a selector names them (link-local, fe80::/10, or the address with its zone)",
            ),
            Unmatched::NoAddress { interfaces } => write!(
                f,
                " because {} has no address: give it one, or select an interface that has one",
                list(interfaces)
            ),
            Unmatched::NoFamily => {
                f.write_str(" because the host has no up interface with an address of that family")
            }
            Unmatched::NothingUp => f.write_str(" because no interface is up with an address"),
        }
    }
}

/// Why no listener may take an address, whoever holds or answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unlistenable {
    /// `0.0.0.0` or `::`: a wildcard, which only a wildcard selector may give.
    Unspecified,
    /// `0.0.0.0/8`: a source address only (RFC 791).
    ThisNetwork,
    /// `255.255.255.255`.
    Broadcast,
    /// A multicast group.
    Multicast,
    /// `::ffff:a.b.c.d`, which an IPv6 socket takes as the IPv4 address
    /// inside it: for `::ffff:0.0.0.0`, every IPv4 address.
    Ipv4Mapped(std::net::Ipv4Addr),
}

impl Unlistenable {
    /// Why `ip` may not be listened on, if so.
    pub(crate) fn of(ip: IpAddr, class: AddrClass) -> Option<Unlistenable> {
        Some(match class {
            AddrClass::Unspecified => Unlistenable::Unspecified,
            AddrClass::ThisNetwork => Unlistenable::ThisNetwork,
            AddrClass::Broadcast => Unlistenable::Broadcast,
            AddrClass::Multicast => Unlistenable::Multicast,
            AddrClass::Ipv4Mapped => match ip {
                IpAddr::V6(v6) => Unlistenable::Ipv4Mapped(v6.to_ipv4_mapped()?),
                IpAddr::V4(_) => return None,
            },
            _ => return None,
        })
    }
}

impl Unlistenable {
    /// Whether `other` is the same reason, for one finding of many
    /// addresses: IPv4-mapped addresses are, but for the mapped wildcard,
    /// whatever IPv4 address each maps (the finding says the first's).
    pub(crate) fn same_reason(&self, other: &Unlistenable) -> bool {
        match (self, other) {
            (Unlistenable::Ipv4Mapped(a), Unlistenable::Ipv4Mapped(b)) => {
                a.is_unspecified() == b.is_unspecified()
            }
            _ => self == other,
        }
    }
}

impl fmt::Display for Unlistenable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unlistenable::Unspecified => f.write_str(
                "it is a wildcard, which takes every address of its family; a wildcard only comes from *, 0.0.0.0 or :: written in the spec",
            ),
            Unlistenable::ThisNetwork => f.write_str(
                "0.0.0.0/8 means \"this network\" (RFC 791), a source address only, never one clients connect to",
            ),
            Unlistenable::Broadcast => f.write_str(
                "it is the limited broadcast address, which every host on the link receives",
            ),
            Unlistenable::Multicast => {
                f.write_str("it is a multicast group, which a server joins rather than holds")
            }
            Unlistenable::Ipv4Mapped(v4) if v4.is_unspecified() => f.write_str(
                "it is IPv4-mapped: a socket bound to it takes IPv4 connections to every local address, the IPv4 wildcard in another spelling",
            ),
            Unlistenable::Ipv4Mapped(v4) => write!(
                f,
                "it is IPv4-mapped: a socket bound to it takes IPv4 traffic for the address inside ({v4} for ::ffff:{v4}), which listenspec judges and binds only as that IPv4 address itself"
            ),
        }
    }
}

/// What the planner found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A selector matched no address of the host.
    NoMatch {
        /// The selector.
        selector: Selector,
        /// Why, where the planner can tell (e.g. only link-local addresses).
        why: Option<Unmatched>,
    },
    /// An `if:`, zone or `device=` names no interface of the host.
    UnknownInterface {
        /// The name or glob as written.
        pattern: String,
    },
    /// A link-local literal's zone is a number that is also another
    /// interface's name (`fe80::1%6`, where the interface named `6` has
    /// another index): read here as an index, as RFC 4007 writes it, where
    /// glibc's `getaddrinfo` takes the name first.
    AmbiguousZone {
        /// The address.
        ip: IpAddr,
        /// The zone, an index.
        zone: u32,
        /// The interface of that index, if any.
        by_index: Option<String>,
        /// The index of the interface named as the zone.
        named: u32,
    },
    /// A link-local literal's zone names another link than the one holding
    /// the address.
    WrongZone {
        /// The address.
        ip: IpAddr,
        /// The zone as written.
        zone: String,
        /// The interfaces that hold the address.
        holders: Vec<String>,
    },
    /// A selector matched interface addresses that no listener may take:
    /// one problem for each run of them on one interface, for one reason.
    Unlistenable {
        /// The selector that matched them.
        selector: Selector,
        /// The interface holding them.
        interface: String,
        /// The addresses with their prefixes, as the interface holds them.
        nets: Vec<IpNet>,
        /// Why they cannot be listened on.
        why: Unlistenable,
    },
    /// A DNS name answered addresses that no listener may take, for one
    /// reason.
    DnsUnlistenable {
        /// The name.
        name: String,
        /// The answers as the resolver gave them.
        ips: Vec<IpAddr>,
        /// Why they cannot be listened on.
        why: Unlistenable,
    },
    /// A selected interface is down.
    InterfaceDown {
        /// The interface.
        interface: String,
    },
    /// A selected interface is administratively up but has no carrier.
    NoCarrier {
        /// The interface.
        interface: String,
    },
    /// Chosen addresses of one interface failed duplicate address
    /// detection: another host on the link has each.
    DadFailed {
        /// The interface holding them.
        interface: String,
        /// The addresses.
        ips: Vec<IpAddr>,
    },
    /// A literal address or DNS name points at addresses this host does not have.
    NotLocal {
        /// The selector.
        selector: Selector,
        /// The addresses that are not local.
        remote: Vec<IpAddr>,
    },
    /// A DNS name in a selector could not be resolved.
    DnsFailed {
        /// The name.
        name: String,
        /// The resolver's message.
        error: String,
    },
    /// A DNS name in a selector could not be resolved, and it is the name
    /// of one of this host's interfaces (`eth0:8080`, ZeroMQ's
    /// `tcp://eth0:5555`): the interface was most likely meant.
    DnsNameIsInterface {
        /// The name.
        name: String,
        /// The resolver's message.
        error: String,
    },
    /// The host snapshot has no answer for a DNS name in a selector.
    DnsNotCaptured {
        /// The name.
        name: String,
    },
    /// Excludes or a family filter removed every address the includes matched.
    AllExcluded {
        /// What the includes matched.
        removed: Vec<IpAddr>,
    },
    /// A network would expose more than its level allows.
    Exposed {
        /// The network's level.
        exposure: Exposure,
        /// Whether the offending addresses are wildcards.
        wildcard: bool,
        /// The addresses that would have been exposed.
        addrs: Vec<IpAddr>,
    },
    /// A network selects addresses earlier networks select: one finding
    /// per network, however many addresses and networks.
    SharedAddress {
        /// The addresses.
        ips: Vec<IpAddr>,
        /// The networks that selected them first, in spec order.
        others: Vec<Name>,
    },
    /// An endpoint on the same protocol, addresses and port as earlier
    /// endpoints: one finding per endpoint.
    Conflict {
        /// The transport.
        transport: Transport,
        /// The addresses and port.
        addrs: Vec<SocketAddr>,
        /// The endpoints that took them first, in spec order.
        others: Vec<QualifiedName>,
    },
    /// A wildcard and specific addresses on the same port and family: one
    /// finding per pair of endpoints and wildcard.
    WildcardConflict {
        /// The transport.
        transport: Transport,
        /// The family.
        family: Family,
        /// The specific addresses.
        specific: Vec<SocketAddr>,
        /// The wildcard.
        wildcard: SocketAddr,
        /// The other endpoint.
        other: QualifiedName,
    },
    /// One endpoint whose `[::]` socket (`v6only=false`) also takes IPv4,
    /// beside its own `0.0.0.0` socket, so it collides with itself.
    DualStackSelf {
        /// The transport.
        transport: Transport,
        /// The IPv4 wildcard.
        v4: SocketAddr,
        /// The dual-stack IPv6 wildcard.
        v6: SocketAddr,
    },
    /// Two endpoints would tell clients the same URL.
    SameAdvertised {
        /// The URL.
        url: String,
        /// The other endpoint.
        other: QualifiedName,
    },
    /// `device=` does not hold the endpoint's addresses.
    DeviceMismatch {
        /// The device named.
        device: String,
        /// The address.
        ip: IpAddr,
        /// The interface that holds it.
        interface: String,
    },
    /// `device` (own interface) on a wildcard.
    DeviceWildcard,
    /// An endpoint option is a socket option the host's OS does not have.
    Unsupported {
        /// The option as the spec writes it: `device`, `freebind`,
        /// `reuseport`, `v6only=false`.
        option: &'static str,
        /// The host's OS, as [`Host::os`] names it.
        os: String,
        /// The systems that have it.
        supported: &'static [&'static str],
    },
    /// A Unix socket's path (or abstract name) does not fit `sun_path` on
    /// the host's OS.
    UnixPathTooLong {
        /// The path as the plan binds it (resolved, if it was relative).
        path: UnixPath,
        /// The bytes it takes in `sun_path`, with its NUL.
        len: usize,
        /// The bytes `sun_path` holds on the OS.
        limit: usize,
        /// The host's OS, as [`Host::os`] names it.
        os: String,
    },
    /// Off Linux the socket is made in a private directory next to its
    /// path and bound there by path (`DIR/.lsR.N/s`, R random), and that path is
    /// longer than `sun_path` holds, though the socket's own path fits.
    UnixStagingTooLong {
        /// The socket's path.
        path: UnixPath,
        /// The bytes the private path takes in `sun_path`, at most, with
        /// its NUL.
        len: usize,
        /// The bytes `sun_path` holds on the OS.
        limit: usize,
        /// The host's OS, as [`Host::os`] names it.
        os: String,
    },
    /// A relative socket path, and the snapshot has no working directory
    /// to resolve it against.
    UnixRelativeUnresolved {
        /// The path as written.
        written: PathBuf,
    },
    /// A Unix socket on a host whose OS this crate binds none on
    /// (Windows: its AF_UNIX is not used).
    UnixUnsupported {
        /// The path or abstract name as written.
        path: UnixPath,
        /// The host's OS.
        os: String,
    },
    /// An abstract socket name on an OS without the abstract namespace.
    AbstractUnsupported {
        /// The name, without its `@`.
        name: String,
        /// The host's OS.
        os: String,
    },
    /// Two endpoints on one Unix socket: the same path, one file under two
    /// spellings, or the same abstract name.
    UnixConflict {
        /// This endpoint's path.
        path: UnixPath,
        /// The other endpoint.
        other: QualifiedName,
        /// The other endpoint's path.
        other_path: UnixPath,
        /// The file both are, when it is spelled differently from this
        /// endpoint's path (through a symbolic link, say).
        same_file: Option<PathBuf>,
    },
    /// A socket path's directory does not exist.
    UnixNoDirectory {
        /// The socket path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// A socket path's directory is something else than a directory.
    UnixNotDirectory {
        /// The socket path.
        path: PathBuf,
        /// Its directory's path.
        dir: PathBuf,
        /// What is there instead.
        kind: PathKind,
    },
    /// Something other than a socket is at a socket path: a file that is
    /// never deleted, or a directory.
    UnixPathTaken {
        /// The socket path.
        path: PathBuf,
        /// What is there.
        kind: PathKind,
    },
    /// A user or group name of `owner=` or `group=` that the host does not
    /// have.
    UnknownAccount {
        /// User or group.
        kind: AccountKind,
        /// The name.
        name: String,
    },
    /// The host snapshot has no answer for an `owner=` or `group=` name.
    AccountNotCaptured {
        /// User or group.
        kind: AccountKind,
        /// The name.
        name: String,
    },
    /// Warning: a relative socket path, resolved against the snapshot's
    /// working directory.
    UnixRelative {
        /// The path as written.
        written: PathBuf,
        /// The absolute path the plan binds.
        resolved: PathBuf,
    },
    /// Warning: the capturing process may not create files in a socket
    /// path's directory.
    UnixNotWritable {
        /// The socket path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// Warning: capture could not look at a socket path or its directory.
    UnixUnreadable {
        /// The socket path.
        path: PathBuf,
        /// What could not be looked at: the path or its directory.
        looked_at: PathBuf,
        /// The OS's message.
        error: String,
    },
    /// The socket's path as written goes through a symbolic link owned by
    /// a user other than the server's and root: they may point it at
    /// another directory whenever they like, and the socket is then made
    /// there (and a stale socket file there removed).
    UnixLinkUnsafe {
        /// The socket's path.
        path: PathBuf,
        /// The link.
        link: PathBuf,
        /// The link owner's user id.
        uid: u32,
    },
    /// Warning: a directory on a socket's path (its own or one above it)
    /// may be written by a user other than the server's and root, without
    /// the sticky bit, so that user may rename or replace the socket file
    /// whatever the bind does. The nearest such directory.
    UnixDirUnsafe {
        /// The socket path.
        path: PathBuf,
        /// The directory, as a real path.
        dir: PathBuf,
        /// Who may write it.
        writer: DirWriter,
    },
    /// Warning: several candidates tie for the advertised address.
    AdvertiseTie {
        /// The address taken (the lowest).
        chosen: IpAddr,
        /// The others of the same rank and family.
        others: Vec<IpAddr>,
    },
    /// Warning: the advertised address is link-local; a URL cannot carry its zone.
    LinkLocalAdvertised {
        /// The address.
        ip: IpAddr,
    },
    /// Warning: the advertised address is one of this host's own, but the
    /// endpoint does not listen on it.
    AdvertisedNotBound {
        /// The advertised address.
        ip: IpAddr,
        /// The interface holding it.
        interface: String,
    },
    /// Warning: a network has no endpoints, so binds nothing.
    NoEndpoints,
    /// Warning: the spec is empty, so nothing listens at all (an empty
    /// `--listen`, or a config file whose listen section was not read and
    /// left the default, empty spec).
    EmptySpec,
    /// Warning: a DNS name resolves partly to other hosts.
    DnsPartlyRemote {
        /// The name.
        name: String,
        /// The addresses not on this host.
        remote: Vec<IpAddr>,
    },
    /// Warning: a DNS name resolves to link-local addresses of this host
    /// too, which a name does not select (a link-local address is one per
    /// link, and needs its zone): only its other addresses are bound.
    DnsLinkLocal {
        /// The name.
        name: String,
        /// Its link-local answers that interfaces here hold.
        ips: Vec<IpAddr>,
    },
    /// Warning: a DNS name's local answers sit on several interfaces, and
    /// the network listens on each, where Go and std bind one answer: a
    /// host name that nss-myhostname answers is every address of the host,
    /// ops network and all.
    DnsSeveralInterfaces {
        /// The name.
        name: String,
        /// The interfaces holding its answers, loopback left out, by name.
        interfaces: Vec<String>,
    },
    /// Warning: addresses on down interfaces were left out.
    SkippedDown {
        /// The interface.
        interface: String,
        /// The addresses left out.
        addrs: Vec<IpAddr>,
        /// The interface is administratively up, but has no carrier.
        no_carrier: bool,
    },
    /// Warning: chosen addresses of one interface are still tentative
    /// (duplicate address detection has not finished), so binding them
    /// fails for now.
    Tentative {
        /// The interface holding them.
        interface: String,
        /// The addresses.
        ips: Vec<IpAddr>,
    },
    /// Warning: the only addresses to advertise are deprecated (their
    /// preferred lifetime is over), so one of them is.
    DeprecatedAdvertised {
        /// The address advertised.
        ip: IpAddr,
    },
    /// Warning: a non-public endpoint is kept apart from other networks by its
    /// address only.
    AddressOnlyIsolation {
        /// The network's level.
        exposure: Exposure,
        /// The endpoint's addresses.
        addrs: Vec<IpAddr>,
    },
    /// Warning: inside a container, a network with endpoints is on loopback
    /// only.
    LoopbackInContainer {
        /// Why the host looks like a container.
        evidence: String,
    },
}

/// How grave a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Severity {
    /// The plan cannot stand.
    Error,
    /// The plan stands, but a person should read it.
    Warning,
}

/// What a finding says: what was found, and what to change.
struct Explained {
    message: String,
    fix: String,
}

impl ProblemKind {
    /// Every variant's message and fix, side by side, so that a new variant
    /// does not compile until both are written.
    fn explain(&self) -> Explained {
        let (message, fix) = match self {
            ProblemKind::NoMatch { selector, why } => (
                format!(
                    "{selector} matches no address on this host{} ({LISTED})",
                    why.as_ref().map(ToString::to_string).unwrap_or_default()
                ),
                match selector {
                    // `ops = loopback, shared`: first or after a comma, the class.
                    Selector::Class(AddrClass::Shared) => format!(
                        "{selector} as a selector (first, or after a comma) is the address class 100.64.0.0/10 (carrier-grade NAT); for the option that lets networks share an address, write it after a space (`NAME = loopback shared`); otherwise pick an address, block or interface from the list below"
                    ),
                    _ => format!(
                        "pick an address, block or interface from the list below instead of {selector}, or add the address to the host"
                    ),
                }
            ),
            ProblemKind::UnknownInterface { pattern } => (
                format!("no interface matches {pattern:?} ({LISTED})"),
                match port_after_name(pattern) {
                    // `if:eth0:8080`: a name may hold `:` (an old alias's
                    // label, eth0:1), so it parsed; the port was meant.
                    Some((name, port)) => format!(
                        "if :{port} was meant as the port, it goes on an endpoint's line: `NET = if:{name}` and `NET.NAME = tcp:{port}`; otherwise use one of the interface names listed (`ip -br addr` shows them)"
                    ),
                    None => match url_zone(pattern) {
                        // `fe80::1%25eth0` copied out of a URL (RFC 6874).
                        Some(zone) => format!(
                            "`%25` is how a URL writes `%`: out of one, the interface is `{zone}`, written `if:{zone}` as a selector and `%{zone}` after an address; otherwise use one of the interface names listed (`ip -br addr` shows them)"
                        ),
                        None => "use one of the interface names listed (`ip -br addr` shows them)"
                            .to_owned(),
                    },
                },
            ),
            ProblemKind::AmbiguousZone {
                ip,
                zone,
                by_index,
                named,
            } => (
                format!(
                    "zone %{zone} of {ip} is the index of {}, and the name of interface #{named}, which other programs (glibc's getaddrinfo) read it as",
                    by_index.as_deref().map_or_else(|| "no interface".to_owned(), |n| format!("interface {n:?}"))
                ),
                match by_index {
                    // A name that is a number is as ambiguous as the zone.
                    Some(name) if name.parse::<u32>().is_err() => format!(
                        "write the zone as a name, {ip}%{name}, or rename interface \"{zone}\" (#{named}) to one that is not a number"
                    ),
                    _ => format!(
                        "rename interface \"{zone}\" (#{named}) to one that is not a number, and write {ip}%NEWNAME"
                    ),
                },
            ),
            ProblemKind::WrongZone { ip, zone, holders } => (
                format!(
                    "{ip} is on {}, not on {zone}: a link-local address is only reachable on its own link",
                    list(holders)
                ),
                format!(
                    "write {ip}%{} to name the link that holds it",
                    holders.first().map_or("IFNAME", String::as_str)
                ),
            ),
            ProblemKind::Unlistenable {
                selector,
                interface,
                nets,
                why,
            } => (
                match nets.as_slice() {
                    [net] => format!("{} on {interface} matches {selector}, but {why}", net.addr()),
                    _ => format!(
                        "{} on {interface} match {selector}, but for each: {why}",
                        list(&nets.iter().map(IpNet::addr).collect::<Vec<_>>())
                    ),
                },
                match nets.as_slice() {
                    [net] => format!(
                        "remove it from the interface (`ip addr del {net} dev {interface}`), or exclude it with !{}",
                        net.addr()
                    ),
                    _ => format!(
                        "remove them from the interface (`ip addr del {} dev {interface}`, and so on), or exclude each with !ADDRESS",
                        nets[0]
                    ),
                },
            ),
            ProblemKind::DnsUnlistenable { name, ips, why } => (
                match ips.as_slice() {
                    [ip] => format!("dns:{name} answered {ip}, but {why}"),
                    _ => format!("dns:{name} answered {}, but for each: {why}", list(ips)),
                },
                format!(
                    "fix the records of {name} so they hold this host's own unicast addresses, or select the addresses directly"
                ),
            ),
            ProblemKind::InterfaceDown { interface } => (
                format!("interface {interface} is down, so nothing bound to it can be reached"),
                format!(
                    "bring it up (`ip link set {interface} up`) or exclude it with !if:{interface}"
                ),
            ),
            ProblemKind::NoCarrier { interface } => (
                format!(
                    "{interface} is up but has no carrier: cable unplugged or peer down, so nothing bound to it can be reached"
                ),
                format!(
                    "plug the cable in or bring the link's peer up (`ip link show {interface}` says LOWER_UP once it has carrier), or exclude it with !if:{interface}"
                ),
            ),
            ProblemKind::DadFailed { interface, ips } => (
                format!(
                    "{} on {interface} failed duplicate address detection: another host on the link has {}, so the kernel will not use {}",
                    list(ips),
                    if ips.len() == 1 { "it" } else { "each" },
                    if ips.len() == 1 { "it" } else { "them" },
                ),
                format!(
                    "fix the duplicate: give this host or the other one a different address, then re-add it (`ip addr del {} dev {interface}` and add it again)",
                    ips[0]
                ),
            ),
            ProblemKind::Tentative { interface, ips } => (
                format!(
                    "{} on {interface} {} tentative: duplicate address detection has not finished, and until it does (a second or two) binding {} fails with EADDRNOTAVAIL",
                    list(ips),
                    if ips.len() == 1 { "is" } else { "are" },
                    if ips.len() == 1 { "it" } else { "them" },
                ),
                "wait for detection to finish before starting (it will on its own), or give the endpoint `freebind`, which binds now and receives once the address is usable".to_owned(),
            ),
            ProblemKind::DeprecatedAdvertised { ip } => (
                format!(
                    "advertises {ip}, which is deprecated (its preferred lifetime is over, so it will go away), because the network has no other address to advertise"
                ),
                "give the interface a current address, or advertise a name or address explicitly".to_owned(),
            ),
            ProblemKind::NotLocal { selector, remote } => (
                format!("{} ({LISTED})", not_local(selector, remote)),
                match selector {
                    // A link-local address is its own link's: no NAT, proxy
                    // or port map leads one here.
                    Selector::Addr { ip: ip @ IpAddr::V6(v6), .. } if v6.is_unicast_link_local() => Some(format!(
                        "a link-local address belongs to one link, and {ip} is on none of this host's (`ip -6 addr show scope link` lists theirs): select one of those, or the interface's (`NET = if:eth0, link-local`)"
                    )),
                    // Nor does any lead to a loopback address: the host
                    // lacks it (`::1` where IPv6 is turned off).
                    Selector::Addr { ip, .. } if ip.is_loopback() => Some(format!(
                        "no interface of this host holds the loopback address {ip}{}: select `loopback`, which takes the loopback addresses the host has{}",
                        if ip.is_ipv6() { " (IPv6 is turned off on lo, or on the host)" } else { "" },
                        if ip.is_ipv6() { ", or 127.0.0.1" } else { "" }
                    )),
                    _ => None,
                }
                .or_else(|| match selector {
                    Selector::Addr { ip: IpAddr::V6(ip), .. } => port_in_address(*ip).map(|(address, port)| format!(
                        "if :{port} was meant as the port ({selector} is read as one IPv6 address, where HAProxy and others mean {address} and port {port}), the port goes on an endpoint's line: `NET = {address}` and `NET.NAME = tcp:{port}`; an IPv6 address with its port is written [{address}]:{port}"
                    )),
                    _ => None,
                })
                .unwrap_or_else(|| behind_nat(selector)),
            ),
            ProblemKind::DnsFailed { name, error } => (
                format!("dns:{name} could not be resolved: {error}"),
                format!(
                    "check that {name} resolves on this host (`getent ahosts {name}`), or select the addresses directly"
                ),
            ),
            ProblemKind::DnsNameIsInterface { name, error } => (
                format!(
                    "dns:{name} could not be resolved ({error}), and {name} is an interface of this host"
                ),
                format!(
                    "select the interface's addresses with if:{name} on the network's line (`NET = if:{name}`, then `NET.tcp = tcp:PORT`): {name}:PORT reads {name} as a host name"
                ),
            ),
            ProblemKind::DnsNotCaptured { name } => (
                format!("dns:{name} was not looked up when the host snapshot was taken"),
                format!(
                    "capture the host with this spec (listenspec doctor --dump-host), or add an answer for {name} to the snapshot"
                ),
            ),
            ProblemKind::AllExcluded { removed } => (
                format!(
                    "the includes matched [{}] but excludes and family filters removed all of them",
                    list(removed)
                ),
                "loosen the excludes or the family filter, or include more".to_owned(),
            ),
            ProblemKind::Exposed {
                exposure,
                wildcard,
                addrs,
            } => (
                format!(
                    "expose={exposure} forbids {}{}",
                    if *wildcard {
                        "a wildcard, which takes every address including public ones: "
                    } else {
                        ""
                    },
                    list(addrs)
                ),
                match (exposure, wildcard) {
                    // `private` forbids a wildcard too: only `public` takes one.
                    (Exposure::Local, true) => "select loopback only (e.g. `loopback`), or mark it expose=public if it really is public",
                    (Exposure::Local, false) => "select loopback only (e.g. `loopback`), or raise the level: expose=private for private addresses, expose=public for public ones",
                    (_, true) => "list this network's own addresses (a CIDR block or if:NAME) instead of a wildcard, or mark it expose=public if it really is public",
                    (_, false) => "select private addresses only, or mark the network expose=public if it really is public",
                }
                .to_owned(),
            ),
            ProblemKind::SharedAddress { ips, others } => (
                format!(
                    "{} {} also selected by network{} {}, so endpoints meant for one network would be reachable from the other",
                    list(ips),
                    is_are(ips),
                    if others.len() == 1 { "" } else { "s" },
                    list(others)
                ),
                format!(
                    "give each network its own addresses, or mark both this network and {} `shared` if they really share one",
                    list(others)
                ),
            ),
            ProblemKind::Conflict {
                transport,
                addrs,
                others,
            } => (
                format!(
                    "{transport} {} {} also taken by {}",
                    list(addrs),
                    is_are(addrs),
                    list(others)
                ),
                "give one of the endpoints another port or address".to_owned(),
            ),
            ProblemKind::WildcardConflict {
                transport,
                family,
                specific,
                wildcard,
                other,
            } => (
                format!(
                    "{transport} {} {} with {other} on {wildcard}: a wildcard already takes every {family} address on port {}",
                    list(specific),
                    if specific.len() == 1 { "collides" } else { "collide" },
                    wildcard.port()
                ),
                "use specific addresses on both endpoints, or another port for one of them"
                    .to_owned(),
            ),
            ProblemKind::DualStackSelf { transport, v4, v6 } => (
                format!(
                    "v6only=false makes {transport} {v6} take IPv4 too, so it collides with this endpoint's own {v4}"
                ),
                format!(
                    "for one dual-stack socket write `::` alone on the network (with v6only=false), or drop v6only=false so {v6} takes IPv6 only"
                ),
            ),
            ProblemKind::SameAdvertised { url, other } => (
                format!("advertises {url}, as does {other}, so clients of one would reach the other"),
                "give each endpoint its own `advertise URL`".to_owned(),
            ),
            ProblemKind::DeviceMismatch {
                device,
                ip,
                interface,
            } => (
                format!(
                    "device={device} but {ip} is on {interface}: packets for it arrive on {interface} and the socket would refuse them"
                ),
                format!("use device={interface}, plain `device`, or select that device's addresses"),
            ),
            ProblemKind::DeviceWildcard => (
                "`device` pins each socket to the interface of its address, but a wildcard has no interface".to_owned(),
                "select the network's addresses (a CIDR block or if:NAME), or name the device with device=IFNAME".to_owned(),
            ),
            ProblemKind::Unsupported {
                option,
                os,
                supported,
            } => (
                format!(
                    "`{option}` asks for a socket option that {os} does not have (it exists on {})",
                    supported.join(", ")
                ),
                format!(
                    "remove `{option}` from the endpoint to run on {os}, or plan against a snapshot of the system it will run on"
                ),
            ),
            ProblemKind::UnixPathTooLong {
                path,
                len,
                limit,
                os,
            } => (
                format!(
                    "{path} takes {len} bytes of sun_path{}, but {os} holds {limit}, so the socket cannot be bound",
                    if path.is_abstract() {
                        " (a NUL and the name)"
                    } else {
                        " with its closing NUL"
                    }
                ),
                if path.is_abstract() {
                    format!("use an abstract name of at most {} bytes", limit - 1)
                } else {
                    format!(
                        "use a path of at most {} bytes, e.g. under /run/NAME/ (systemd's RuntimeDirectory=NAME)",
                        limit - 1
                    )
                },
            ),
            ProblemKind::UnixStagingTooLong {
                path,
                len,
                limit,
                os,
            } => (
                format!(
                    "{path} is made in a private directory beside it and bound there first, which on {os} goes by a path of up to {len} bytes of sun_path with its NUL, but {os} holds {limit}, so the socket cannot be bound"
                ),
                format!(
                    "use a directory whose path is at most {} bytes, e.g. /run/NAME/ (systemd's RuntimeDirectory=NAME)",
                    limit.saturating_sub(1 + crate::plan::STAGING_EXTRA)
                ),
            ),
            ProblemKind::UnixRelativeUnresolved { written } => (
                format!(
                    "{} is relative, and the host snapshot records no working directory to resolve it against",
                    Escaped(written.display())
                ),
                "write the socket's absolute path (a server's working directory is rarely what was meant), or capture the host with this spec so its working directory is recorded".to_owned(),
            ),
            ProblemKind::UnixUnsupported { path, os } => (
                format!(
                    "{path} is a Unix domain socket, and listenspec binds those on Unix only, not on {os}"
                ),
                format!(
                    "listen on loopback on {os} instead (`local = 127.0.0.1 expose=local` and a `local.NAME = tcp:PORT` endpoint), or plan against a snapshot of the Unix host it will run on"
                ),
            ),
            ProblemKind::AbstractUnsupported { name, os } => (
                format!(
                    "@{name} is an abstract socket name, which only Linux has ({os} has no abstract namespace)"
                ),
                format!(
                    "use a socket file on {os}, e.g. /run/{name}.sock, or plan against a snapshot of the Linux host it will run on"
                ),
            ),
            ProblemKind::UnixConflict {
                path,
                other,
                other_path,
                same_file,
            } => (
                match same_file {
                    None if path == other_path => {
                        format!("unix socket {path} is also taken by {other}")
                    }
                    None => {
                        format!("unix socket {path} is also taken by {other} (as {other_path})")
                    }
                    Some(f) => format!(
                        "unix socket {path} is the file {}, also taken by {other} (as {other_path})",
                        Escaped(f.display())
                    ),
                },
                "give one of the endpoints another path".to_owned(),
            ),
            ProblemKind::UnixNoDirectory { path, dir } => (
                format!(
                    "the directory of {} does not exist: {}",
                    Escaped(path.display()),
                    Escaped(dir.display())
                ),
                format!(
                    "create it before the server starts (`mkdir -p {}`, or systemd's RuntimeDirectory= for a directory under /run), or put the socket in a directory that exists",
                    Escaped(dir.display())
                ),
            ),
            ProblemKind::UnixNotDirectory { path, dir, kind } => (
                format!(
                    "the directory of {} is not a directory: {} is {kind}",
                    Escaped(path.display()),
                    Escaped(dir.display())
                ),
                "put the socket in a directory".to_owned(),
            ),
            ProblemKind::UnixPathTaken { path, kind } => (
                match kind {
                    PathKind::Directory => format!("{} is a directory, not a socket", Escaped(path.display())),
                    _ => format!(
                        "{} is {kind}, not a socket; listenspec never deletes it",
                        Escaped(path.display())
                    ),
                },
                format!(
                    "move what is at {} away if it is not needed, or use another path for the socket",
                    Escaped(path.display())
                ),
            ),
            ProblemKind::UnknownAccount { kind, name } => (
                format!(
                    "{}={name}: this host has no {kind} {name}",
                    kind.option()
                ),
                format!(
                    "create the {kind} (`{} {name}`), fix the name, or give a numeric id ({}=ID)",
                    match kind {
                        AccountKind::User => "useradd --system",
                        AccountKind::Group => "groupadd --system",
                    },
                    kind.option()
                ),
            ),
            ProblemKind::AccountNotCaptured { kind, name } => (
                format!(
                    "{}={name}: the {kind} {name} was not looked up when the host snapshot was taken",
                    kind.option()
                ),
                format!(
                    "capture the host with this spec (listenspec doctor --dump-host), or add \"{name}\": ID to the snapshot's \"{kind}s\""
                ),
            ),
            ProblemKind::UnixRelative { written, resolved } => (
                format!(
                    "{} is relative: it is bound as {}, from the working directory",
                    Escaped(written.display()),
                    Escaped(resolved.display())
                ),
                format!(
                    "write {} if that is meant, so the socket does not move with the directory the server starts in",
                    Escaped(resolved.display())
                ),
            ),
            ProblemKind::UnixNotWritable { path, dir } => (
                format!(
                    "the process that captured the host may not create files in {}, so it cannot bind {} (unless the service manager passes the socket in)",
                    Escaped(dir.display()),
                    Escaped(path.display())
                ),
                format!(
                    "give the server's user write permission on {} (systemd's RuntimeDirectory= does), or use socket activation (ListenStream={})",
                    Escaped(dir.display()),
                    Escaped(path.display())
                ),
            ),
            ProblemKind::UnixUnreadable {
                path,
                looked_at,
                error,
            } => (
                format!(
                    "could not look at {} for the socket {}: {error}; binding will most likely fail the same way",
                    Escaped(looked_at.display()),
                    Escaped(path.display())
                ),
                format!(
                    "give the server's user search permission on the directories above {}, or put the socket where it may",
                    Escaped(path.display())
                ),
            ),
            ProblemKind::UnixLinkUnsafe { path, link, uid } => (
                format!(
                    "the path of the socket {} goes through the symbolic link {}, which belongs to uid {uid}, neither the server's user nor root: they may point it at another directory at any time, and the socket would be made (and a stale socket there removed) where they choose",
                    Escaped(path.display()),
                    Escaped(link.display())
                ),
                format!(
                    "write the socket's path without the link, or give the link to the server's user or root (`chown -h root {}`)",
                    Escaped(link.display())
                ),
            ),
            ProblemKind::UnixDirUnsafe { path, dir, writer } => (
                format!(
                    "{} (on the path of the socket {}) {}, so they may rename or replace the socket file whatever the bind does",
                    Escaped(dir.display()),
                    Escaped(path.display()),
                    match writer {
                        DirWriter::World => "is world-writable without the sticky bit: any user may write it".to_owned(),
                        DirWriter::Group => "is group-writable without the sticky bit: any member of its group may write it".to_owned(),
                        DirWriter::Owner { uid } => format!(
                            "belongs to uid {uid}, neither the server's user nor root, who may change its mode at will"
                        ),
                    }
                ),
                format!(
                    "put the socket in a directory only the server's user and root may write, such as systemd's RuntimeDirectory=, or {}",
                    match writer {
                        DirWriter::World | DirWriter::Group => format!(
                            "`chmod go-w {0}` (or `chmod +t {0}` if others must create files there)",
                            Escaped(dir.display())
                        ),
                        DirWriter::Owner { .. } => format!(
                            "give it to the server's user or root (`chown root {}`)",
                            Escaped(dir.display())
                        ),
                    }
                ),
            ),
            ProblemKind::AdvertiseTie { chosen, others } => (
                format!(
                    "advertises {chosen}, chosen from {} equally ranked addresses: {}",
                    others.len() + 1,
                    list(others)
                ),
                "say which one clients use with `advertise HOST` on the network or endpoint"
                    .to_owned(),
            ),
            ProblemKind::LinkLocalAdvertised { ip } => (
                format!(
                    "advertises link-local {ip}, which clients can only use with a zone that URLs cannot carry"
                ),
                "advertise a routable address or a name with `advertise`".to_owned(),
            ),
            ProblemKind::AdvertisedNotBound { ip, interface } => (
                format!(
                    "advertises {ip}, an address of {interface} on this host, but the endpoint does not listen on it, so clients that use it reach nothing (NAT cannot explain an address the host holds itself)"
                ),
                format!(
                    "select {ip} in the network too, or advertise an address the endpoint listens on"
                ),
            ),
            ProblemKind::NoEndpoints => (
                "has no endpoints, so nothing listens on it".to_owned(),
                "add an endpoint (`NET.NAME = tcp:PORT`) or remove the network".to_owned(),
            ),
            ProblemKind::EmptySpec => (
                "the listen spec is empty, so nothing listens".to_owned(),
                "define a network and an endpoint on it (`local = 127.0.0.1` and `local.http = http:8080`); if the spec comes from a config file, check that its listen section was read".to_owned(),
            ),
            ProblemKind::DnsPartlyRemote { name, remote } => (
                format!(
                    "dns:{name} also resolves to {}, which this host does not have; only its local addresses are bound",
                    list(remote)
                ),
                format!(
                    "if clients should only reach this host, give it its own name instead of dns:{name}"
                ),
            ),
            ProblemKind::DnsLinkLocal { name, ips } => (
                format!(
                    "dns:{name} also resolves to {}, link-local on this host, which a name does not select; only its other addresses are bound",
                    list(ips)
                ),
                "to listen there too, add the address with its zone (`fe80::1%eth0`); else nothing to do".to_owned(),
            ),
            ProblemKind::DnsSeveralInterfaces { name, interfaces } => {
                // Names from a snapshot, quoted by their start.
                let shown: Vec<Escaped<&String>> = interfaces.iter().map(Escaped).collect();
                let nth = |n: usize| shown.get(n).map_or("IFNAME".to_owned(), ToString::to_string);
                (
                    format!(
                        "dns:{name} resolves to addresses on {} interfaces of this host ({}), and every one is bound, so the endpoints listen on each of those networks (Go and std would bind one answer)",
                        interfaces.len(),
                        list(&shown)
                    ),
                    format!(
                        "if one network was meant, leave the others out (`NET = dns:{name}, !if:{}`) or select it instead of the name (`NET = if:{}`), with `advertise {name}` so clients still reach it by name; else nothing to do",
                        nth(1),
                        nth(0)
                    ),
                )
            }
            ProblemKind::SkippedDown {
                interface,
                addrs,
                no_carrier,
            } => (
                format!(
                    "left out {} on {interface}, which {}",
                    list(addrs),
                    if *no_carrier {
                        "is up but has no carrier (cable unplugged or peer down)"
                    } else {
                        "is down"
                    }
                ),
                if *no_carrier {
                    format!(
                        "plug the cable in or bring the link's peer up, or exclude it with !if:{interface} to silence this"
                    )
                } else {
                    format!("bring {interface} up, or exclude it with !if:{interface} to silence this")
                },
            ),
            ProblemKind::AddressOnlyIsolation { exposure, addrs } => (
                format!(
                    "listens on {} of a {exposure} network without `device`; Linux accepts packets for any local address on any interface (weak host model), so a peer on another network that routes to this address reaches it",
                    list(addrs)
                ),
                "add `device` so each socket refuses packets that arrive on other interfaces"
                    .to_owned(),
            ),
            ProblemKind::LoopbackInContainer { evidence } => (
                format!(
                    "its endpoints listen on loopback only, inside a container ({evidence}): loopback there is the container's own, and a published port forwards to the container's interface address, so nothing outside the container reaches them"
                ),
                "select the container's interface (if:eth0, say) so published ports reach it; if only this container (or its pod) should, say expose=local".to_owned(),
            ),
        };
        Explained { message, fix }
    }

    /// How grave it is. Every variant is listed, with no catch-all, so a
    /// new one does not compile until it is given a severity; kept apart
    /// from the message and fix because the planner asks it of every
    /// finding, and formatting two sentences each time would double the
    /// cost of a small plan.
    pub fn severity(&self) -> Severity {
        match self {
            ProblemKind::AdvertiseTie { .. }
            | ProblemKind::LinkLocalAdvertised { .. }
            | ProblemKind::AdvertisedNotBound { .. }
            | ProblemKind::NoEndpoints
            | ProblemKind::EmptySpec
            | ProblemKind::DnsPartlyRemote { .. }
            | ProblemKind::DnsLinkLocal { .. }
            | ProblemKind::DnsSeveralInterfaces { .. }
            | ProblemKind::SkippedDown { .. }
            | ProblemKind::Tentative { .. }
            | ProblemKind::DeprecatedAdvertised { .. }
            | ProblemKind::AddressOnlyIsolation { .. }
            | ProblemKind::LoopbackInContainer { .. }
            | ProblemKind::UnixRelative { .. }
            | ProblemKind::UnixNotWritable { .. }
            | ProblemKind::UnixUnreadable { .. }
            | ProblemKind::UnixDirUnsafe { .. } => Severity::Warning,
            ProblemKind::NoMatch { .. }
            | ProblemKind::UnknownInterface { .. }
            | ProblemKind::WrongZone { .. }
            | ProblemKind::AmbiguousZone { .. }
            | ProblemKind::Unlistenable { .. }
            | ProblemKind::DnsUnlistenable { .. }
            | ProblemKind::InterfaceDown { .. }
            | ProblemKind::NoCarrier { .. }
            | ProblemKind::DadFailed { .. }
            | ProblemKind::NotLocal { .. }
            | ProblemKind::DnsFailed { .. }
            | ProblemKind::DnsNameIsInterface { .. }
            | ProblemKind::DnsNotCaptured { .. }
            | ProblemKind::AllExcluded { .. }
            | ProblemKind::Exposed { .. }
            | ProblemKind::SharedAddress { .. }
            | ProblemKind::Conflict { .. }
            | ProblemKind::WildcardConflict { .. }
            | ProblemKind::DualStackSelf { .. }
            | ProblemKind::SameAdvertised { .. }
            | ProblemKind::DeviceMismatch { .. }
            | ProblemKind::DeviceWildcard
            | ProblemKind::Unsupported { .. }
            | ProblemKind::UnixPathTooLong { .. }
            | ProblemKind::UnixStagingTooLong { .. }
            | ProblemKind::UnixRelativeUnresolved { .. }
            | ProblemKind::UnixUnsupported { .. }
            | ProblemKind::AbstractUnsupported { .. }
            | ProblemKind::UnixConflict { .. }
            | ProblemKind::UnixNoDirectory { .. }
            | ProblemKind::UnixNotDirectory { .. }
            | ProblemKind::UnixPathTaken { .. }
            | ProblemKind::UnixLinkUnsafe { .. }
            | ProblemKind::UnknownAccount { .. }
            | ProblemKind::AccountNotCaptured { .. } => Severity::Error,
        }
    }

    /// Whether waiting may fix it, with no change to the spec or the host's
    /// configuration: the host is still coming up. True for an interface
    /// that is missing (`if:` or a zone naming none: a VPN or a NIC not
    /// there yet), down or without carrier, an interface named by `if:`
    /// that has no address yet or only link-local ones (still waiting for
    /// DHCP or a router advertisement), and a tentative address (detection
    /// ends on its own). False for everything else, such as a duplicate
    /// address, excludes that remove every address, or a spec that
    /// contradicts itself; a caller waiting for the host stops at once on
    /// those. Every variant is listed, as in `severity`.
    ///
    /// ```
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let spec: ListenSpec = "vpn = if:wg0\nvpn.api = tcp:9000".parse()?;
    /// let err = spec.plan(&Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?).unwrap_err();
    /// // wg0 is not there yet: it may come.
    /// assert!(err.errors().iter().all(|p| p.kind().time_may_fix()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn time_may_fix(&self) -> bool {
        match self {
            ProblemKind::UnknownInterface { .. }
            | ProblemKind::InterfaceDown { .. }
            | ProblemKind::NoCarrier { .. }
            | ProblemKind::SkippedDown { .. }
            | ProblemKind::Tentative { .. } => true,
            // An interface named by `if:` with no address, or only its
            // link-local ones (which `if:` never takes), is one still waiting
            // for DHCP or a router advertisement. Link-local-only under any
            // other selector (`::/0`, say) stays final: nothing says an
            // address is coming there.
            ProblemKind::NoMatch { selector, why } => matches!(
                (selector, why),
                (_, Some(Unmatched::NoAddress { .. }))
                    | (Selector::Interface(_), Some(Unmatched::LinkLocalOnly))
            ),
            ProblemKind::AdvertiseTie { .. }
            | ProblemKind::LinkLocalAdvertised { .. }
            | ProblemKind::AdvertisedNotBound { .. }
            | ProblemKind::NoEndpoints
            | ProblemKind::EmptySpec
            | ProblemKind::DnsPartlyRemote { .. }
            | ProblemKind::DnsLinkLocal { .. }
            | ProblemKind::DnsSeveralInterfaces { .. }
            | ProblemKind::DeprecatedAdvertised { .. }
            | ProblemKind::AddressOnlyIsolation { .. }
            | ProblemKind::LoopbackInContainer { .. }
            | ProblemKind::UnixRelative { .. }
            | ProblemKind::UnixNotWritable { .. }
            | ProblemKind::UnixUnreadable { .. }
            | ProblemKind::UnixDirUnsafe { .. }
            | ProblemKind::WrongZone { .. }
            | ProblemKind::AmbiguousZone { .. }
            | ProblemKind::Unlistenable { .. }
            | ProblemKind::DnsUnlistenable { .. }
            | ProblemKind::DadFailed { .. }
            | ProblemKind::NotLocal { .. }
            | ProblemKind::DnsFailed { .. }
            | ProblemKind::DnsNameIsInterface { .. }
            | ProblemKind::DnsNotCaptured { .. }
            | ProblemKind::AllExcluded { .. }
            | ProblemKind::Exposed { .. }
            | ProblemKind::SharedAddress { .. }
            | ProblemKind::Conflict { .. }
            | ProblemKind::WildcardConflict { .. }
            | ProblemKind::DualStackSelf { .. }
            | ProblemKind::SameAdvertised { .. }
            | ProblemKind::DeviceMismatch { .. }
            | ProblemKind::DeviceWildcard
            | ProblemKind::Unsupported { .. }
            | ProblemKind::UnixPathTooLong { .. }
            | ProblemKind::UnixStagingTooLong { .. }
            | ProblemKind::UnixRelativeUnresolved { .. }
            | ProblemKind::UnixUnsupported { .. }
            | ProblemKind::AbstractUnsupported { .. }
            | ProblemKind::UnixConflict { .. }
            | ProblemKind::UnixNoDirectory { .. }
            | ProblemKind::UnixNotDirectory { .. }
            | ProblemKind::UnixPathTaken { .. }
            | ProblemKind::UnixLinkUnsafe { .. }
            | ProblemKind::UnknownAccount { .. }
            | ProblemKind::AccountNotCaptured { .. } => false,
        }
    }

    /// Whether the plan stands despite it.
    pub fn is_warning(&self) -> bool {
        self.severity() == Severity::Warning
    }

    /// What is wrong, without the fix: the first line of the problem's
    /// `Display`, without its place.
    pub fn message(&self) -> String {
        self.explain().message
    }

    /// What to change.
    pub fn fix(&self) -> String {
        self.explain().fix
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain().message)
    }
}

impl std::error::Error for ProblemKind {}

/// Every error planning found, with the warnings found beside them.
///
/// ```
/// use listenspec::{Host, ListenSpec};
///
/// let host = Host::builder()
///     .interface("lo", 1, ["127.0.0.1/8"])
///     .interface("eth0", 2, ["203.0.113.5/24"])
///     .build()?;
/// let spec: ListenSpec = "ops = if:eth2\nops.metrics = http:9100".parse()?;
/// let err = spec.plan(&host).unwrap_err();
/// assert_eq!(err.errors()[0].network_name().unwrap().as_str(), "ops");
/// assert!(err.to_string().contains("this host has: lo, eth0"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PlanError {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// The host as the errors that speak of it need it, rendered once.
    host: Option<String>,
}

impl PlanError {
    pub(crate) fn new(
        mut errors: Vec<Problem>,
        warnings: Vec<Problem>,
        host: &Host,
        spec: &ListenSpec,
    ) -> PlanError {
        locate(&mut errors, spec);
        let host = errors
            .iter()
            .any(|p| p.kind.refers_to_host())
            .then(|| listing(host));
        PlanError {
            errors,
            warnings,
            host,
        }
    }

    /// The errors, in spec order.
    pub fn errors(&self) -> &[Problem] {
        &self.errors
    }

    /// The warnings that were found too.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The host's interfaces and addresses, as the message lists them under
    /// the errors, when an error refers to them.
    pub fn host_listing(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

impl ProblemKind {
    /// Whether its message sends the reader to the host's listing.
    pub(crate) fn refers_to_host(&self) -> bool {
        matches!(
            self,
            ProblemKind::NoMatch { .. }
                | ProblemKind::UnknownInterface { .. }
                | ProblemKind::NotLocal { .. }
        )
    }
}

/// `this host has: lo, eth0` and the host's own lines under it.
fn listing(host: &Host) -> String {
    let interfaces = host.interfaces();
    if interfaces.is_empty() {
        return "this host has no interfaces".to_owned();
    }
    let shown = &interfaces[..interfaces.len().min(crate::host::LISTED_INTERFACES)];
    // A name is quoted by its start (`Escaped`): a snapshot may hold
    // names a megabyte long, which no person reads to the end.
    let names: Vec<String> = shown
        .iter()
        .map(|i| Escaped(i.name()).to_string())
        .collect();
    let mut out = format!("this host has: {}", names.join(", "));
    if interfaces.len() > shown.len() {
        out += &format!(
            " and {} more (`ip -br addr` lists them all)",
            interfaces.len() - shown.len()
        );
    }
    for line in crate::host::ListedInterfaces(host).to_string().lines() {
        out += "\n  ";
        out += line;
    }
    out
}

crate::debug_is_message!(PlanError {
    errors,
    warnings,
    host
});

/// Notes on each problem where its network or endpoint was written, for a
/// spec of named layers: which layer to change is the reader's first
/// question when a flag, the environment and a file all say something.
fn locate(problems: &mut [Problem], spec: &ListenSpec) {
    let written = spec.written();
    if written.is_empty() {
        return;
    }
    let networks: HashMap<&str, usize> = spec
        .networks()
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name().as_str(), i))
        .collect();
    let endpoints: HashMap<(&str, &str), usize> = spec
        .endpoints()
        .iter()
        .enumerate()
        .map(|(i, e)| ((e.network().as_str(), e.name().as_str()), i))
        .collect();
    for p in problems {
        let Some(network) = &p.network else { continue };
        let endpoint = p
            .endpoint
            .as_ref()
            .and_then(|e| endpoints.get(&(network.as_str(), e.as_str())).copied());
        p.written = written.place(networks.get(network.as_str()).copied(), endpoint);
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(f, ("the listen plan has ", "error", ""), "- ", &self.errors)?;
        if let Some(host) = &self.host {
            write!(f, "\n{host}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanError {}
