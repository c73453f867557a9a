//! The listen spec: named networks and the endpoints that listen on them.
//!
//! A [`ListenSpec`] is built either from text ([`str::parse`]) or with the
//! builder methods; both paths run the same checks, so every `ListenSpec` in
//! existence is well formed. The text grammar is documented on [`ListenSpec`].

#[cfg(feature = "clap")]
mod args;
#[cfg(feature = "serde")]
mod config;
mod error;
mod layers;
mod parse;
mod selector;
mod shorthand;
pub(crate) mod suggest;
mod unix;
mod url;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use smallvec::SmallVec;

#[cfg(feature = "clap")]
pub use args::ListenArgs;
#[cfg(feature = "serde")]
pub use config::SpecText;
#[cfg(feature = "serde")]
pub(crate) use error::hide_userinfo;
pub use error::{
    AdvertiseError, ForeignForm, Located, OptionError, Place, PortsError, SelectorError, SpecError,
    SpecErrorKind, Suggestion, UnixEndpointError, UnixNetworkError, UnixPathError,
};
pub(crate) use error::{Escaped, Quoted};
pub use layers::Layers;
pub use selector::{Family, IfPattern, Selector, Zone};
pub use shorthand::NETWORK as SHORTHAND_NETWORK;
pub(crate) use shorthand::is_one_address_network;
#[cfg(feature = "probe")]
pub(crate) use unix::from_url_text;
pub use unix::{Account, Stale, UnixPath};
pub(crate) use unix::{percent_decode, url_text};
pub use url::{Url, UrlError, UrlHost};

/// A network or endpoint name: up to 64 ASCII letters, digits, `-` and
/// `_`, starting with a letter.
///
/// Cheap to clone: the text is shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    /// The longest name, in bytes: a name is printed in every message
    /// about its network or endpoint, and `NETWORK.ENDPOINT` must fit
    /// systemd's 255 bytes of `FileDescriptorName=`.
    pub(crate) const MAX: usize = 64;

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Name {
    type Err = SpecErrorKind;
    fn from_str(s: &str) -> Result<Name, SpecErrorKind> {
        let mut bytes = s.bytes();
        let ok = s.len() <= Name::MAX
            && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Name(Arc::from(s)))
        } else {
            Err(SpecErrorKind::BadName(s.to_owned()))
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// How far a network's addresses may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exposure {
    /// Anything, including wildcards and globally reachable addresses. The
    /// default only for a network named `public`.
    Public,
    /// No wildcard and no globally reachable address. The default for every
    /// network not named `public`.
    Private,
    /// Loopback addresses only.
    Local,
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exposure::Public => "public",
            Exposure::Private => "private",
            Exposure::Local => "local",
        })
    }
}

impl FromStr for Exposure {
    type Err = SpecErrorKind;
    fn from_str(s: &str) -> Result<Exposure, SpecErrorKind> {
        match s {
            "public" => Ok(Exposure::Public),
            "private" => Ok(Exposure::Private),
            "local" => Ok(Exposure::Local),
            _ => Err(SpecErrorKind::BadExpose(s.to_owned())),
        }
    }
}

/// What clients are told to use: a full URL, or a host (and maybe a port) to
/// which the endpoint's own scheme and bound port are added.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advertise {
    /// `https://my-awesome-service`: what clients type, as is.
    Url(Url),
    /// `my-awesome-service` or `203.0.113.7:8443`.
    Host {
        /// The host clients connect to.
        host: UrlHost,
        /// The port clients connect to, when it differs from the bound one.
        port: Option<u16>,
    },
}

impl Advertise {
    /// The host clients are told to use; `None` for a Unix socket's URL.
    pub fn host(&self) -> Option<&UrlHost> {
        match self {
            Advertise::Url(u) => u.host(),
            Advertise::Host { host, .. } => Some(host),
        }
    }
}

impl fmt::Display for Advertise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Advertise::Url(u) => write!(f, "{u}"),
            Advertise::Host { host, port: None } => write!(f, "{host}"),
            Advertise::Host {
                host,
                port: Some(p),
            } => write!(f, "{host}:{p}"),
        }
    }
}

impl FromStr for Advertise {
    type Err = SpecErrorKind;
    fn from_str(s: &str) -> Result<Advertise, SpecErrorKind> {
        let bad = |reason| SpecErrorKind::BadAdvertise {
            text: s.to_owned(),
            reason,
        };
        let separator = |b: u8| b == b';' || b == b'#' || b.is_ascii_whitespace();
        if s.bytes().any(separator) || (!s.is_ascii() && s.contains(char::is_whitespace)) {
            return Err(bad(AdvertiseError::Separator));
        }
        if let Some(unix) = unix_url(s) {
            return unix.map(Advertise::Url).map_err(bad);
        }
        // etcd's `unixs://` (a Unix socket with TLS) is no host's URL, and
        // `@name` an abstract socket's name, not a user before a host.
        if s.starts_with('@') || s.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("unixs:")) {
            return Err(bad(AdvertiseError::UnixPath));
        }
        // etcd's `--advertise-client-urls` list: one URL is advertised.
        if s.split_once(',')
            .is_some_and(|(_, rest)| rest.contains("://"))
        {
            return Err(bad(AdvertiseError::List));
        }
        // Kafka's `advertised.listeners=PLAINTEXT://broker1:9092`: the
        // listener's name is no scheme clients could use.
        if let Some((scheme, address)) = s.split_once("://")
            && shorthand::is_kafka_listener(scheme)
        {
            return Err(bad(AdvertiseError::KafkaListener {
                name: scheme.to_owned(),
                address: address.to_owned(),
            }));
        }
        let is_url = s.contains("://");
        // A scheme-less host reads as http:// reads it, and so does the host
        // of every scheme: spellings like `0`, `0x0` or `0.0` are the
        // address 0.0.0.0 there, and names are lowercased.
        let parts = if is_url {
            url::Parts::url(s)
        } else {
            url::Parts::host(s)
        }
        .map_err(|e| bad(AdvertiseError::Url(e)))?;
        if parts.userinfo {
            return Err(bad(AdvertiseError::Credentials));
        }
        let url::RawHost::Host(host) = &parts.host else {
            return Err(bad(AdvertiseError::NoHost));
        };
        // An IPv4-mapped address is judged by the IPv4 address inside it:
        // `[::ffff:0:0]` is the IPv4 wildcard in another spelling.
        let ip = match host {
            UrlHost::Ip(ip) => Some(ip.to_canonical()),
            UrlHost::Name(_) => None,
        };
        if ip.is_some_and(|ip| ip.is_unspecified()) {
            return Err(bad(AdvertiseError::Wildcard));
        }
        // "This network": no client connects there. Where a port alone
        // lands too: to a URL's reader `advertise 8080` (Elasticsearch's
        // `publish_port`) or `https://8443` is the address 0.0.31.144.
        if ip.is_some_and(|ip| crate::AddrClass::of(ip) == crate::AddrClass::ThisNetwork) {
            return Err(bad(AdvertiseError::ThisNetwork));
        }
        if ip.is_some_and(|ip| ip.is_multicast() || ip == IpAddr::from([255u8; 4])) {
            return Err(bad(AdvertiseError::Group));
        }
        // The URL grammar lets a name hold `,`, `!` or `*`, which no
        // resolver answers: a client told `x,y` could never connect.
        if let UrlHost::Name(name) = host
            && selector::dns_name(name).is_none()
        {
            return Err(bad(AdvertiseError::BadHost));
        }
        // Elasticsearch's `publish_host: _site_`: no host a client can use.
        if let UrlHost::Name(name) = host
            && let Some(selector) = shorthand::elasticsearch_selector(name)
        {
            return Err(bad(AdvertiseError::Elasticsearch(selector)));
        }
        if parts.port == Some(0) {
            return Err(bad(AdvertiseError::PortZero));
        }
        if is_url {
            return Ok(Advertise::Url(Url::from_parts(&parts)));
        }
        if !matches!(parts.rest, "" | "/") {
            return Err(bad(AdvertiseError::PathWithoutScheme));
        }
        Ok(Advertise::Host {
            host: host.clone(),
            port: parts.port,
        })
    }
}

impl Advertise {
    /// Whether it is a Unix socket's URL (`unix:PATH`, `unixgram:PATH`,
    /// `http+unix://…`), which only an endpoint on a Unix socket can
    /// advertise.
    pub fn is_unix(&self) -> bool {
        matches!(self, Advertise::Url(u) if url::is_unix_scheme(u.scheme()))
    }
}

/// A Unix socket's URL as its clients spell it, when `s` is one:
/// `unix:/run/app.sock` or `unix:@name` (and `unixgram:`), or
/// `http+unix://%2Frun%2Fapp.sock/` with the path percent-encoded as the
/// host. A server in another container or mount namespace advertises the
/// path its clients see. `None` for any other text.
fn unix_url(s: &str) -> Option<Result<Url, AdvertiseError>> {
    let (scheme, rest) = parse::cut(s, b':')?;
    if !url::is_unix_scheme(scheme) {
        return None;
    }
    // Past `unix:`, a `//` left over (`unix://host/a.sock`) is refused
    // below: no path starts with two slashes.
    let path = match shorthand::unix_url(s) {
        Some((_, path)) => path,
        None => rest.to_owned(),
    };
    // `has_root`: `/run/a.sock` is absolute as a Unix path, also where
    // std's `is_absolute` wants a drive first (Windows).
    let absolute = path
        .parse::<UnixPath>()
        .is_ok_and(|p| p.file().is_none_or(std::path::Path::has_root));
    if !absolute {
        return Some(Err(AdvertiseError::UnixPath));
    }
    Some(match url::Parts::url(s) {
        Ok(parts) if parts.userinfo => Err(AdvertiseError::Credentials),
        Ok(parts) => Ok(Url::from_parts(&parts)),
        Err(e) => Err(AdvertiseError::Url(e)),
    })
}

/// A named set of this host's addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    name: Name,
    /// Most networks have one or two includes; keeping them inline saves an
    /// allocation per network, which was a good part of parsing.
    include: SmallVec<[Selector; 2]>,
    exclude: Vec<Selector>,
    family: Option<Family>,
    expose: Option<Exposure>,
    // Boxed: most have none, and a spec of many thousand networks
    // costs per byte where it is first written.
    advertise: Option<Box<Advertise>>,
    shared: bool,
}

impl Network {
    /// A network with no selectors yet; add at least one with [`Network::with_include`].
    pub fn new(name: Name) -> Network {
        Network {
            name,
            include: SmallVec::new(),
            exclude: Vec::new(),
            family: None,
            expose: None,
            advertise: None,
            shared: false,
        }
    }

    /// Adds addresses the selector picks.
    #[must_use]
    pub fn with_include(mut self, s: Selector) -> Network {
        self.include.push(s);
        self
    }

    /// Removes addresses the selector picks (`!SELECTOR`).
    #[must_use]
    pub fn with_exclude(mut self, s: Selector) -> Network {
        self.exclude.push(s);
        self
    }

    /// Keeps one family only (`ipv4` or `ipv6`).
    #[must_use]
    pub fn with_family(mut self, f: Family) -> Network {
        self.family = Some(f);
        self
    }

    /// Sets the exposure (`expose=`).
    #[must_use]
    pub fn with_expose(mut self, e: Exposure) -> Network {
        self.expose = Some(e);
        self
    }

    /// Sets what clients use to reach this network's endpoints.
    #[must_use]
    pub fn with_advertise(mut self, a: Advertise) -> Network {
        self.advertise = Some(Box::new(a));
        self
    }

    /// Lets this network share addresses with other networks that also opt in.
    #[must_use]
    pub fn with_shared(mut self) -> Network {
        self.shared = true;
        self
    }

    /// The network's name.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// The include selectors, in order.
    pub fn includes(&self) -> &[Selector] {
        &self.include
    }
    /// The exclude selectors, in order.
    pub fn excludes(&self) -> &[Selector] {
        &self.exclude
    }
    /// The family filter, if any.
    pub fn family_filter(&self) -> Option<Family> {
        self.family
    }
    /// The exposure: `local` for a network of Unix sockets; else as set,
    /// else `public` for a network named `public` and `private` for any
    /// other.
    pub fn exposure(&self) -> Exposure {
        if self.is_unix() {
            return Exposure::Local;
        }
        self.expose.unwrap_or(if self.name == "public" {
            Exposure::Public
        } else {
            Exposure::Private
        })
    }
    /// The advertised host or URL, if set.
    pub fn advertised(&self) -> Option<&Advertise> {
        self.advertise.as_deref()
    }
    /// Whether the network opted in to sharing addresses.
    pub fn is_shared(&self) -> bool {
        self.shared
    }
    /// Whether this is a network of Unix sockets (`NAME = unix`), whose
    /// endpoints listen on paths rather than ports.
    pub fn is_unix(&self) -> bool {
        self.include.contains(&Selector::Unix)
    }

    /// A network of Unix sockets has none of what picks, filters or shares
    /// addresses, and reaches this host only.
    fn check_unix(&self, errors: &mut Vec<SpecErrorKind>) {
        let mut bad = |reason| {
            errors.push(SpecErrorKind::UnixNetwork {
                network: self.name.clone(),
                reason,
            });
        };
        if self.include.len() > 1 {
            bad(UnixNetworkError::Mixed);
        }
        if !self.exclude.is_empty() {
            bad(UnixNetworkError::Exclude);
        }
        if self.family.is_some() {
            bad(UnixNetworkError::Family);
        }
        if self.shared {
            bad(UnixNetworkError::Shared);
        }
        if let Some(e) = self.expose.filter(|&e| e != Exposure::Local) {
            bad(UnixNetworkError::Expose(e));
        }
        if let Some(a @ Advertise::Host { .. }) = self.advertise.as_deref() {
            bad(UnixNetworkError::AdvertiseHost(a.to_string()));
        }
    }

    /// The structural rules a network must satisfy whatever the host.
    fn check(&self, errors: &mut Vec<SpecErrorKind>) {
        let name = &self.name;
        if self.include.is_empty() {
            errors.push(SpecErrorKind::NoInclude(name.clone()));
            return;
        }
        if self.is_unix() {
            self.check_unix(errors);
            return;
        }
        if self.exclude.contains(&Selector::Unix) {
            errors.push(SpecErrorKind::UnixNetwork {
                network: name.clone(),
                reason: UnixNetworkError::Mixed,
            });
        }
        if let Some(a) = self.advertise.as_deref().filter(|a| a.is_unix()) {
            errors.push(SpecErrorKind::UnixNetwork {
                network: name.clone(),
                reason: UnixNetworkError::UnixUrlOnIp(a.to_string()),
            });
        }
        let wildcards = self.include.iter().filter(|s| s.is_wildcard()).count();
        if wildcards > 0 && wildcards < self.include.len() {
            errors.push(SpecErrorKind::WildcardMixed(name.clone()));
        }
        if wildcards > 0 && !self.exclude.is_empty() {
            errors.push(SpecErrorKind::WildcardExclude(name.clone()));
        }
        if let Some(bad) = self.exclude.iter().find(|s| s.is_wildcard()) {
            errors.push(SpecErrorKind::ExcludeWildcard {
                network: name.clone(),
                selector: bad.clone(),
            });
        }
        if let Some(f) = self.family {
            let empty = self.include.iter().all(|s| match s {
                Selector::Wildcard(w) => *w != f,
                Selector::Addr { ip, .. } => Family::of(*ip) != f,
                Selector::Cidr(n) => Family::of(n.addr()) != f,
                _ => false,
            });
            if empty {
                errors.push(SpecErrorKind::FamilyEmpty {
                    network: name.clone(),
                    family: f,
                });
            }
        }
    }
}

/// The protocol of an endpoint; `http` and `https` are a stream (TCP, or a
/// Unix stream socket) with a scheme for the advertised URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// Plain TCP; advertised as `tcp://`.
    Tcp,
    /// UDP; advertised as `udp://`.
    Udp,
    /// HTTP over TCP or a Unix stream socket.
    Http,
    /// HTTPS over TCP or a Unix stream socket.
    Https,
    /// A Unix stream socket; advertised as `unix:PATH`.
    Unix,
    /// A Unix datagram socket; advertised as `unixgram:PATH`.
    Unixgram,
}

impl Protocol {
    /// The protocol's name, which is also the scheme of the URLs it
    /// advertises on IP addresses.
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Unix => "unix",
            Protocol::Unixgram => "unixgram",
        }
    }
    /// Whether it sends datagrams rather than a stream.
    fn is_datagram(self) -> bool {
        matches!(self, Protocol::Udp | Protocol::Unixgram)
    }
    /// The protocol that runs over a Unix socket for this one: itself, or
    /// `unix` and `unixgram` for `tcp` and `udp`.
    fn on_unix(self) -> Protocol {
        match self {
            Protocol::Tcp => Protocol::Unix,
            Protocol::Udp => Protocol::Unixgram,
            p => p,
        }
    }
    /// Whether it names its socket's kind, so runs on one kind only.
    fn only_on(self) -> Option<bool> {
        match self {
            Protocol::Tcp | Protocol::Udp => Some(false),
            Protocol::Unix | Protocol::Unixgram => Some(true),
            Protocol::Http | Protocol::Https => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())
    }
}

impl FromStr for Protocol {
    type Err = SpecErrorKind;
    fn from_str(s: &str) -> Result<Protocol, SpecErrorKind> {
        match s {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "http" => Ok(Protocol::Http),
            "https" => Ok(Protocol::Https),
            "unix" => Ok(Protocol::Unix),
            "unixgram" => Ok(Protocol::Unixgram),
            _ => Err(SpecErrorKind::BadProtocol(s.to_owned())),
        }
    }
}

/// The socket type under a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Transport {
    /// A TCP listener.
    Tcp,
    /// A UDP socket.
    Udp,
    /// A listening Unix stream socket.
    UnixStream,
    /// A bound Unix datagram socket.
    UnixDatagram,
}

impl Transport {
    /// Whether sockets of this transport listen for connections.
    pub fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::UnixStream)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::UnixStream => "unix",
            Transport::UnixDatagram => "unixgram",
        })
    }
}

/// A port, `0` (any free port), or a range whose first free port is taken.
///
/// Always `first <= last`, and `0` stands alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ports {
    first: u16,
    last: u16,
}

impl Ports {
    /// One port; `0` asks the OS for any free one.
    pub fn single(port: u16) -> Ports {
        Ports {
            first: port,
            last: port,
        }
    }

    /// An inclusive range; the first port free on every address is taken.
    pub fn range(first: u16, last: u16) -> Result<Ports, SpecErrorKind> {
        if first == 0 || first >= last {
            return Err(SpecErrorKind::BadPorts {
                text: format!("{first}-{last}"),
                reason: PortsError::NotARange,
            });
        }
        Ok(Ports { first, last })
    }

    /// The first port of the range (the port, for a single one).
    pub fn first(self) -> u16 {
        self.first
    }
    /// The last port of the range (the port, for a single one).
    pub fn last(self) -> u16 {
        self.last
    }
    /// The port, when it is one fixed non-zero port known before binding.
    pub fn fixed(self) -> Option<u16> {
        (self.first == self.last && self.first != 0).then_some(self.first)
    }
    /// Whether the OS picks the port.
    pub fn is_ephemeral(self) -> bool {
        self.first == 0
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for Ports {
    type Err = SpecErrorKind;
    fn from_str(s: &str) -> Result<Ports, SpecErrorKind> {
        let bad = |reason| SpecErrorKind::BadPorts {
            text: s.to_owned(),
            reason,
        };
        // A word, not a number, is most often a socket path written
        // without its `./`: say how to write one.
        let wordy = |b: u8| b.is_ascii_alphabetic() || b"./_~".contains(&b) || !b.is_ascii();
        if s.bytes().any(wordy) {
            return Err(bad(PortsError::NotAPortOrPath));
        }
        let port = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(PortsError::NotAPort));
            }
            t.parse::<u16>().map_err(|_| bad(PortsError::NotAPort))
        };
        match parse::cut(s, b'-') {
            None => Ok(Ports::single(port(s)?)),
            Some((a, b)) => {
                Ports::range(port(a)?, port(b)?).map_err(|_| bad(PortsError::NotARange))
            }
        }
    }
}

/// Socket options of an endpoint, applied when binding.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub struct EndpointOptions {
    /// `backlog=N`: the listen queue length (TCP only); when unset,
    /// [`crate::bind::DEFAULT_BACKLOG`], which the kernel clamps to
    /// `net.core.somaxconn`.
    pub backlog: Option<u32>,
    /// `reuseport`: set `SO_REUSEPORT`, so several processes can share the port.
    pub reuseport: bool,
    /// `v6only` / `v6only=false`: `IPV6_V6ONLY` on IPv6 sockets. Unset means
    /// `true`: an IPv6 socket never silently takes IPv4 traffic.
    pub v6only: Option<bool>,
    /// `device` / `device=NAME`: `SO_BINDTODEVICE`, so packets that arrive on
    /// other interfaces are refused even when addressed to this socket.
    pub device: Option<Device>,
    /// `freebind`: `IP_FREEBIND`, bind addresses not (yet) on the host.
    pub freebind: bool,
    /// `mode=660`: a Unix socket file's permission bits, set before it
    /// accepts anything. Unset leaves what the umask gives.
    pub mode: Option<u32>,
    /// `owner=NAME|UID`: the user a Unix socket file is given to.
    pub owner: Option<Account>,
    /// `group=NAME|GID`: the group a Unix socket file is given to.
    pub group: Option<Account>,
    /// `stale=replace|refuse`: what to do with a socket file already at
    /// the path; unset is [`Stale::Replace`].
    pub stale: Option<Stale>,
    /// `keep-file`: leave the socket file in place when the listener is
    /// dropped (by default it is removed, if it is still this process's).
    pub keep_file: bool,
}

impl EndpointOptions {
    /// The IP socket options that are set, by their names in a spec.
    fn ip_only(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.reuseport, "reuseport"),
            (self.v6only.is_some(), "v6only"),
            (self.device.is_some(), "device"),
            (self.freebind, "freebind"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
    }
    /// The socket-file options that are set, by their names in a spec.
    fn file_only(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.mode.is_some(), "mode"),
            (self.owner.is_some(), "owner"),
            (self.group.is_some(), "group"),
            (self.stale.is_some(), "stale"),
            (self.keep_file, "keep-file"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
    }
}

/// Where an endpoint listens on its network: a port (or range) on each of
/// the network's IP addresses, or one Unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// `http:8080`: ports on a network of IP addresses.
    Ports(Ports),
    /// `http:/run/app/api.sock`: a Unix socket on a `unix` network.
    Unix(UnixPath),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ports(p) => write!(f, "{p}"),
            Address::Unix(p) => write!(f, "{p}"),
        }
    }
}

/// Which interface `SO_BINDTODEVICE` pins a socket to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Device {
    /// `device`: each socket to the interface its own address is on.
    Own,
    /// `device=eth2`: every socket of the endpoint to this interface.
    Named(String),
}

/// A named service on a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    network: Name,
    name: Name,
    protocol: Protocol,
    address: Address,
    options: EndpointOptions,
    // Boxed: most have none, and a spec of many thousand networks
    // costs per byte where it is first written.
    advertise: Option<Box<Advertise>>,
    as_std: AsStd,
}

/// Whether an endpoint is a one-address `[::]:PORT`, whose `v6only` is
/// what std makes of `[::]` on the OS of the host it is planned for
/// ([`ListenSpec::on_os`]). Not part of the spec's equality: its text
/// says `v6only=false` as read on Linux or macOS, and nothing elsewhere.
#[derive(Debug, Clone, Copy, Default)]
struct AsStd(bool);

impl PartialEq for AsStd {
    fn eq(&self, _: &AsStd) -> bool {
        true
    }
}

impl Eq for AsStd {}

/// Whether std binds `[::]` on both families on `os`
/// (`std::env::consts::OS`'s name): Linux's and Android's default,
/// `net.ipv6.bindv6only` 0, and that of Apple's systems,
/// `net.inet6.ip6.v6only` 0. Windows and the BSDs default to IPv6 alone.
fn std_binds_dual(os: &str) -> bool {
    matches!(
        os,
        "linux" | "android" | "macos" | "ios" | "tvos" | "watchos" | "visionos"
    )
}

impl Endpoint {
    /// An endpoint `network.name = protocol:ports` with default options.
    pub fn new(network: Name, name: Name, protocol: Protocol, ports: Ports) -> Endpoint {
        Endpoint::at(network, name, protocol, Address::Ports(ports))
    }

    /// An endpoint on a Unix socket, `network.name = protocol:path`, with
    /// default options; its network is a `unix` one.
    pub fn unix(network: Name, name: Name, protocol: Protocol, path: UnixPath) -> Endpoint {
        Endpoint::at(network, name, protocol, Address::Unix(path))
    }

    fn at(network: Name, name: Name, protocol: Protocol, address: Address) -> Endpoint {
        Endpoint {
            network,
            name,
            protocol,
            address,
            options: EndpointOptions::default(),
            advertise: None,
            as_std: AsStd::default(),
        }
    }

    /// This endpoint of a one-address `[::]:PORT`: `v6only` as std binds
    /// `[::]` on the host's OS, dual-stack on Linux, Android and Apple's
    /// systems, IPv6 alone elsewhere. Its text (`Display`, and serde's) is as read on
    /// this build's OS, which the spec's text has no word for: written out
    /// on Linux or macOS, `v6only=false` is then the text's own, dual-stack on a
    /// FreeBSD host too.
    pub(crate) fn bound_as_std(mut self) -> Endpoint {
        self.options.v6only = std_binds_dual(std::env::consts::OS).then_some(false);
        self.as_std = AsStd(true);
        self
    }

    /// Sets the socket options.
    #[must_use]
    pub fn with_options(mut self, options: EndpointOptions) -> Endpoint {
        self.options = options;
        // Options given are the caller's own, `v6only` too.
        self.as_std = AsStd::default();
        self
    }

    /// Sets what clients use to reach this endpoint; wins over the network's.
    #[must_use]
    pub fn with_advertise(mut self, a: Advertise) -> Endpoint {
        self.advertise = Some(Box::new(a));
        self
    }

    /// The network's name.
    pub fn network(&self) -> &Name {
        &self.network
    }
    /// The endpoint's name, unique within its network.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// Where it listens: ports, or a Unix socket.
    pub fn address(&self) -> &Address {
        &self.address
    }
    /// The ports; `None` for a Unix socket.
    pub fn ports(&self) -> Option<Ports> {
        match &self.address {
            Address::Ports(p) => Some(*p),
            Address::Unix(_) => None,
        }
    }
    /// The Unix socket's path; `None` for an endpoint on ports.
    pub fn unix_path(&self) -> Option<&UnixPath> {
        match &self.address {
            Address::Unix(p) => Some(p),
            Address::Ports(_) => None,
        }
    }
    /// The kind of socket: the protocol's stream or datagram, on IP or a
    /// Unix socket as the address says.
    pub fn transport(&self) -> Transport {
        transport(self.protocol, &self.address)
    }
    /// The socket options.
    pub fn options(&self) -> &EndpointOptions {
        &self.options
    }
    /// The endpoint's own advertised URL or host, if set.
    pub fn advertised(&self) -> Option<&Advertise> {
        self.advertise.as_deref()
    }

    /// The rules an endpoint satisfies whatever the host; `on_unix` is
    /// whether its network is a `unix` one (`None` when it is undefined).
    fn check(&self, on_unix: Option<bool>, errors: &mut Vec<SpecErrorKind>) {
        if self.protocol == Protocol::Udp && self.options.backlog.is_some() {
            errors.push(SpecErrorKind::UdpBacklog(self.qualified()));
        }
        if self.options.backlog == Some(0) {
            errors.push(SpecErrorKind::ZeroBacklog(self.qualified()));
        }
        let mut bad = |reason| {
            errors.push(SpecErrorKind::UnixEndpoint {
                endpoint: self.qualified(),
                reason,
            });
        };
        match &self.address {
            Address::Ports(_) => {
                if self.protocol.only_on() == Some(true) {
                    bad(UnixEndpointError::UnixProtocolOnPorts(self.protocol));
                } else if on_unix == Some(true) {
                    bad(UnixEndpointError::PortsOnUnixNetwork {
                        network: self.network.clone(),
                        protocol: self.protocol.on_unix(),
                    });
                }
                self.options
                    .file_only()
                    .for_each(|o| bad(UnixEndpointError::FileOption(o)));
                if let Some(a) = self.advertise.as_deref().filter(|a| a.is_unix()) {
                    bad(UnixEndpointError::UnixUrl(a.to_string()));
                }
            }
            Address::Unix(path) => {
                if self.protocol.only_on() == Some(false) {
                    bad(UnixEndpointError::IpProtocolOnPath {
                        found: self.protocol,
                        instead: self.protocol.on_unix(),
                        path: path.clone(),
                    });
                }
                if on_unix == Some(false) {
                    bad(UnixEndpointError::PathOnIpNetwork {
                        path: path.clone(),
                        network: self.network.clone(),
                    });
                }
                self.options
                    .ip_only()
                    .for_each(|o| bad(UnixEndpointError::IpOption(o)));
                if path.is_abstract() {
                    self.options
                        .file_only()
                        .for_each(|o| bad(UnixEndpointError::AbstractFileOption(o)));
                }
                if self.protocol == Protocol::Unixgram && self.options.backlog.is_some() {
                    bad(UnixEndpointError::DatagramBacklog);
                }
                if let Some(a @ Advertise::Host { .. }) = self.advertise.as_deref() {
                    bad(UnixEndpointError::AdvertiseHost(a.to_string()));
                }
            }
        }
    }

    /// `network.name`, as logs and systemd socket names spell it.
    pub fn qualified(&self) -> QualifiedName {
        QualifiedName::new(self.network.clone(), self.name.clone())
    }
}

/// The socket kind of `protocol` at `address`: a datagram protocol gives a
/// datagram socket, any other a stream, of the address's kind.
pub(crate) fn transport(protocol: Protocol, address: &Address) -> Transport {
    match (address, protocol.is_datagram()) {
        (Address::Ports(_), false) => Transport::Tcp,
        (Address::Ports(_), true) => Transport::Udp,
        (Address::Unix(_), false) => Transport::UnixStream,
        (Address::Unix(_), true) => Transport::UnixDatagram,
    }
}

/// An endpoint's full name, `network.endpoint`, as logs, errors and systemd
/// socket names (`FileDescriptorName=`) spell it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    network: Name,
    endpoint: Name,
}

impl QualifiedName {
    /// The endpoint `endpoint` of network `network`.
    pub fn new(network: Name, endpoint: Name) -> QualifiedName {
        QualifiedName { network, endpoint }
    }
    /// The network's name.
    pub fn network(&self) -> &Name {
        &self.network
    }
    /// The endpoint's own name.
    pub fn endpoint(&self) -> &Name {
        &self.endpoint
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.network, self.endpoint)
    }
}

impl PartialEq<str> for QualifiedName {
    /// Whether `network.endpoint` spells this name.
    fn eq(&self, other: &str) -> bool {
        other
            .split_once('.')
            .is_some_and(|(n, e)| self.network == *n && self.endpoint == *e)
    }
}

impl PartialEq<String> for QualifiedName {
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

/// Where a server listens: named networks and the endpoints on them.
///
/// # The text form
///
/// A spec is statements separated by newlines or `;`; `#` starts a comment.
///
/// ```text
/// spec      = { [ statement ] ( "\n" | ";" ) } ;
/// statement = network | endpoint ;
/// network   = name "=" selector { "," selector } { net-option }
///           | name "=" "unix" [ "expose=local" ] [ "advertise" url ] ;
/// selector  = [ "!" ] ( "*" | address [ "%" zone ] | cidr | "if:" glob
///           | class | "dns:" dns-name ) | "ipv4" | "ipv6" ;
/// net-option= "expose=" ( "public" | "private" | "local" ) | "shared"
///           | "advertise" ( " " | "=" ) ( url | host [ ":" port ] ) ;
/// endpoint  = name "." name "=" protocol ":" ports { ep-option }
///           | name "." name "=" unix-proto ":" path { unix-option } ;
/// protocol  = "tcp" | "udp" | "http" | "https" ;
/// ports     = port | port "-" port ;          (* 0 = any free port *)
/// ep-option = "backlog=" n | "reuseport" | "v6only" [ "=" bool ]
///           | "device" [ "=" ifname ] | "freebind"
///           | "advertise" ( " " | "=" ) ( url | host [ ":" port ] ) ;
/// unix-proto= "unix" | "unixgram" | "http" | "https" ;
/// path      = ( "/" | "./" | "../" ) text     (* a socket file *)
///           | "@" text ;                      (* Linux's abstract namespace *)
/// unix-option = "mode=" octal                 (* at most 777 *)
///           | "owner=" ( user | uid ) | "group=" ( group | gid )
///           | "stale=" ( "replace" | "refuse" ) | "keep-file"
///           | "backlog=" n | "advertise" ( " " | "=" ) url ;
/// name      = letter { letter | digit | "-" | "_" } ;
/// ```
///
/// Whitespace separates words, so an option is one word (`backlog=1024`,
/// not `backlog = 1024`), and protocols and options are written in
/// lowercase. Includes are a union; excludes (`!`) are then removed; a
/// family filter (`ipv4`, `ipv6`) applies last. [`fmt::Display`] writes the canonical form,
/// which parses back to an equal spec.
///
/// An advertised value is what clients type, so its host is read as a
/// client reads a URL (the URL Standard's `http://` rules, whatever the
/// scheme): `0x7f.1` is `127.0.0.1`, `0`, `0.0` and `[::ffff:0:0]` are the
/// wildcard and refused, like multicast and broadcast addresses. A name
/// is written in ASCII (`xn--bcher-kva.example`, not `bücher.example`),
/// without user, password or percent-escapes. The value is kept in its
/// canonical form ([`Url`]): lowercase, the scheme's default port left out.
///
/// Networks keep apart: two that listen on one address are an error
/// (metrics meant for the ops network would answer on the public one too),
/// unless both say `shared`, as two networks on loopback for a test or a
/// laptop do: `api = 127.0.0.1 shared` and `ops = 127.0.0.1 shared`.
///
/// A network `NAME = unix` holds Unix domain sockets instead of addresses:
/// it reaches this host only (its exposure is `local`), and each endpoint
/// on it is one socket, on a path or (Linux) an abstract name. `unix` is a
/// stream socket, `unixgram` a datagram one, and `http` / `https` a stream
/// with a scheme. The file options (`mode`, `owner`, `group`, `stale`,
/// `keep-file`) apply to a path's socket file; an abstract socket has none.
/// Clients are told `unix:PATH`, `unixgram:PATH`, `http+unix://` with the
/// path percent-encoded, or the endpoint's `advertise` URL. A whole spec
/// may also be one socket address or path (`0.0.0.0:8080`,
/// `/run/app.sock`): see [`SHORTHAND_NETWORK`].
///
/// ```
/// use listenspec::ListenSpec;
///
/// let spec: ListenSpec = "
///     local     = unix
///     local.api = http:/run/app/api.sock  mode=0660 group=www-data
///     local.ctl = unix:@app-ctl
///     local.log = unixgram:/run/app/log.sock stale=refuse keep-file
/// ".parse().unwrap();
/// let api = &spec.endpoints()[0];
/// assert_eq!(api.unix_path().unwrap().to_string(), "/run/app/api.sock");
/// assert_eq!(api.options().mode, Some(0o660));
/// // Display writes the mode in three octal digits.
/// assert!(spec.to_string().contains("local.api = http:/run/app/api.sock mode=660 group=www-data"));
/// assert_eq!(spec.to_string().parse::<ListenSpec>().unwrap(), spec);
/// ```
///
/// ```
/// use listenspec::ListenSpec;
///
/// let spec: ListenSpec = "
///     public      = *    advertise https://my-awesome-service
///     ops         = 198.51.100.0/24
///     public.http = http:8080
///     ops.metrics = http:9100  backlog=1024 reuseport
/// ".parse().unwrap();
/// assert_eq!(spec.networks().len(), 2);
/// assert_eq!(spec.to_string().parse::<ListenSpec>().unwrap(), spec);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenSpec {
    networks: Vec<Network>,
    endpoints: Vec<Endpoint>,
    /// Each endpoint's network, by place in `networks`: found once, when
    /// the spec is checked, instead of by name wherever it is needed.
    network_of: Vec<u32>,
    /// Where each network and endpoint was written, for a spec of layers.
    written: WrittenAt,
}

/// Whether each of `networks` networks has an endpoint, from each
/// endpoint's network's place (one past them for a network not defined).
pub(crate) fn listening(networks: usize, network_of: impl Iterator<Item = usize>) -> Vec<bool> {
    let mut listening = vec![false; networks];
    for i in network_of {
        if let Some(l) = listening.get_mut(i) {
            *l = true;
        }
    }
    listening
}

/// Where a spec's networks and endpoints were written (`--listen #1 line
/// 1`), by their places in it, for a spec built of named layers, so that a
/// plan error says which layer to change; empty for a spec of one text or
/// built in code, where there is one place to look. It is no part of what
/// the spec says: specs of the same statements are equal wherever they
/// were written.
#[derive(Clone, Default)]
pub(crate) struct WrittenAt(Option<Arc<parse::Places>>);

impl WrittenAt {
    /// Where the network at `network`, or its endpoint at `endpoint`, was
    /// written.
    pub(crate) fn place(&self, network: Option<usize>, endpoint: Option<usize>) -> Option<String> {
        let places = self.0.as_deref()?;
        match endpoint {
            Some(e) => places.endpoint(e),
            None => places.network(network?),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl PartialEq for WrittenAt {
    fn eq(&self, _: &WrittenAt) -> bool {
        true
    }
}

impl Eq for WrittenAt {}

impl fmt::Debug for WrittenAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "layers" } else { "-" })
    }
}

impl ListenSpec {
    /// Assembles a spec from typed parts, running every check the text
    /// parser runs.
    ///
    /// ```
    /// use listenspec::{ListenSpec};
    /// use listenspec::spec::{Endpoint, Network, Ports, Protocol};
    ///
    /// let spec = ListenSpec::new(
    ///     vec![Network::new("local".parse()?).with_include("loopback".parse()?)],
    ///     vec![Endpoint::new("local".parse()?, "api".parse()?, Protocol::Http, Ports::single(8080))],
    /// )?;
    /// assert_eq!(spec.to_string(), "local = loopback\nlocal.api = http:8080\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(networks: Vec<Network>, endpoints: Vec<Endpoint>) -> Result<ListenSpec, SpecError> {
        let mut errors: Vec<SpecErrorKind> = networks
            .iter()
            .flat_map(Network::parts_read_back)
            .chain(endpoints.iter().flat_map(Endpoint::parts_read_back))
            .collect();
        // The first network of a name, as the parser keeps the first.
        let mut index = HashMap::with_capacity(networks.len());
        for (i, n) in networks.iter().enumerate() {
            index.entry(&n.name).or_insert(i);
        }
        let (found, network_of) = validate(
            &networks,
            &endpoints,
            |name| index.get(name).copied(),
            false,
        );
        errors.extend(found.into_iter().map(|(_, k)| k));
        if errors.is_empty() {
            Ok(ListenSpec {
                networks,
                endpoints,
                network_of,
                written: WrittenAt::default(),
            })
        } else {
            Err(SpecError::unlocated(errors, &networks))
        }
    }

    /// The networks, in the order written.
    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    /// This spec as planned for a host of `os`, when its one-address
    /// `[::]:PORT` endpoints bind otherwise there than as read on this
    /// build's OS ([`Endpoint::bound_as_std`]): a snapshot of a FreeBSD
    /// host planned on Linux takes `[::]` on IPv6 alone, as std binds it
    /// there. `None` when the spec plans as it is.
    pub(crate) fn on_os(&self, os: &str) -> Option<ListenSpec> {
        let v6only = std_binds_dual(os).then_some(false);
        let differs = |e: &Endpoint| e.as_std.0 && e.options.v6only != v6only;
        if !self.endpoints.iter().any(differs) {
            return None;
        }
        let mut spec = self.clone();
        for e in spec.endpoints.iter_mut().filter(|e| e.as_std.0) {
            e.options.v6only = v6only;
        }
        Some(spec)
    }

    /// Where its networks and endpoints were written, for a spec of layers.
    pub(crate) fn written(&self) -> &WrittenAt {
        &self.written
    }

    /// Each endpoint's network, by place in [`ListenSpec::networks`].
    pub(crate) fn network_of(&self) -> impl Iterator<Item = usize> + '_ {
        self.network_of.iter().map(|&i| i as usize)
    }

    /// The endpoints, in the order written.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The network with this name.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The DNS names the spec's selectors mention, which a host capture must
    /// look up.
    pub fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.networks
            .iter()
            .flat_map(|n| n.include.iter().chain(&n.exclude))
            .filter_map(|s| match s {
                Selector::Dns(name) => Some(name.as_str()),
                _ => None,
            })
    }

    /// The interface names the spec names exactly: in `if:` selectors
    /// without globs, in zones and in `device=`. A glob names no interface.
    ///
    /// ```
    /// use listenspec::ListenSpec;
    ///
    /// let spec: ListenSpec = "ops = if:eth1, !if:veth*\n\
    ///                         lan = fe80::1%eth2\n\
    ///                         ops.metrics = tcp:9100 device=ops0\n\
    ///                         lan.api = tcp:80"
    ///     .parse()?;
    /// let names: Vec<&str> = spec.interface_names().collect();
    /// assert_eq!(names, ["eth1", "eth2", "ops0"]);
    /// # Ok::<(), listenspec::SpecError>(())
    /// ```
    pub fn interface_names(&self) -> impl Iterator<Item = &str> {
        let selectors = self
            .networks
            .iter()
            .flat_map(|n| n.include.iter().chain(&n.exclude))
            .filter_map(|s| match s {
                Selector::Interface(p) if !p.is_glob() => Some(p.as_str()),
                Selector::Addr {
                    zone: Some(Zone::Name(z)),
                    ..
                } => Some(z.as_str()),
                _ => None,
            });
        let devices = self
            .endpoints
            .iter()
            .filter_map(|e| match &e.options.device {
                Some(Device::Named(d)) => Some(d.as_str()),
                _ => None,
            });
        selectors.chain(devices)
    }
}

/// Parts built by hand (selectors, zones, URLs, device names) get the
/// parser's checks by being printed and read back: a part that does not read
/// back as itself could not have come from text.
fn read_back<T>(
    part: &T,
    parse: impl FnOnce(&str) -> Result<T, SpecErrorKind>,
    errors: &mut Vec<SpecErrorKind>,
    mismatch: impl FnOnce(String) -> SpecErrorKind,
) where
    T: fmt::Display + PartialEq,
{
    let text = part.to_string();
    match parse(&text) {
        Ok(back) if back == *part => {}
        Ok(_) => errors.push(mismatch(text)),
        Err(e) => errors.push(e),
    }
}

fn advertise_mismatch(text: String) -> SpecErrorKind {
    SpecErrorKind::BadAdvertise {
        text,
        reason: AdvertiseError::NotReadBack,
    }
}

impl Network {
    fn parts_read_back(&self) -> Vec<SpecErrorKind> {
        let mut errors = Vec::new();
        let selector_mismatch = |text| SpecErrorKind::BadSelector {
            text,
            reason: SelectorError::NotReadBack,
        };
        for s in &self.include {
            read_back(s, str::parse, &mut errors, selector_mismatch);
        }
        for s in &self.exclude {
            read_back(s, Selector::parse_exclude, &mut errors, selector_mismatch);
        }
        if let Some(a) = self.advertise.as_deref() {
            read_back(a, str::parse, &mut errors, advertise_mismatch);
        }
        errors
    }
}

impl Endpoint {
    fn parts_read_back(&self) -> Vec<SpecErrorKind> {
        let mut errors = Vec::new();
        if let Address::Unix(path) = &self.address {
            read_back(path, str::parse, &mut errors, |text| {
                SpecErrorKind::BadUnixPath {
                    text,
                    reason: UnixPathError::NotReadBack,
                }
            });
        }
        let o = &self.options;
        let option_mismatch = |key: &str, value: String| SpecErrorKind::BadOption {
            text: format!("{key}={value}"),
            reason: OptionError::NotReadBack,
        };
        if let Some(mode) = o.mode
            && unix::parse_mode(&format!("{mode:03o}")) != Some(mode)
        {
            errors.push(option_mismatch("mode", format!("{mode:03o}")));
        }
        for (key, account) in [("owner", &o.owner), ("group", &o.group)] {
            if let Some(a) = account
                && Account::parse(&a.to_string()).as_ref() != Some(a)
            {
                errors.push(option_mismatch(key, a.to_string()));
            }
        }
        if let Some(a) = self.advertise.as_deref() {
            read_back(a, str::parse, &mut errors, advertise_mismatch);
        }
        if let Some(Device::Named(d)) = &self.options.device
            && !selector::is_ifname(d)
        {
            errors.push(SpecErrorKind::BadOption {
                text: format!("device={d}"),
                reason: OptionError::Device,
            });
        }
        errors
    }
}

/// Which statement a problem belongs to, so the parser can point at its line.
#[derive(Debug, Clone, Copy)]
enum Item {
    Network(usize),
    Endpoint(usize),
}

/// Every rule a spec must satisfy whatever the host, shared by the parser and
/// [`ListenSpec::new`] so both paths accept exactly the same specs.
/// `network_is_unix(name)` says whether the network of that name is a Unix
/// one, `None` when there is none. Names defined twice are looked for only
/// when `unique` is false: the parser has already refused or replaced
/// them as it read, with the line of each, and a spec of many thousand
/// networks pays for every set built over them.
/// The problems of a spec's parts, and each endpoint's network by place
/// (meaningful only when there are no problems); `network_index` finds a
/// network by name.
fn validate(
    networks: &[Network],
    endpoints: &[Endpoint],
    network_index: impl Fn(&Name) -> Option<usize>,
    unique: bool,
) -> (Vec<(Item, SpecErrorKind)>, Vec<u32>) {
    // Sets, not pairwise comparison: a spec of many thousand statements
    // (generated, or hostile) is checked in linear time.
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut names = HashSet::with_capacity(if unique { 0 } else { networks.len() });
    for (i, n) in networks.iter().enumerate() {
        n.check(&mut errors);
        if !unique && !names.insert(n.name.as_str()) {
            errors.push(SpecErrorKind::DuplicateNetwork(n.name.clone()));
        }
        out.extend(errors.drain(..).map(|k| (Item::Network(i), k)));
    }
    let mut qualified = HashSet::with_capacity(if unique { 0 } else { endpoints.len() });
    let mut network_of = Vec::with_capacity(endpoints.len());
    // Most specs list each network's endpoints together, in the networks'
    // order: the network of the endpoint before, or the one after it, is
    // tried before the map, whose every look at many thousand networks is
    // a miss in the cache. With names unique, the name decides alone.
    let mut last = None;
    for (i, e) in endpoints.iter().enumerate() {
        let guess = last.into_iter().flat_map(|at: usize| [at, at + 1]);
        let at = guess
            .filter(|_| unique)
            .find(|&at| networks.get(at).is_some_and(|n| n.name == e.network))
            .or_else(|| network_index(&e.network));
        last = at;
        // More networks than `u32` holds would not fit in memory.
        network_of.push(at.map_or(u32::MAX, |at| at as u32));
        let on_unix = at.map(|at| networks[at].is_unix());
        e.check(on_unix, &mut errors);
        // Only a socket on `::` takes IPv4 with v6only=false: `::1, ipv6`
        // is IPv6 either way.
        if e.options.v6only == Some(false)
            && at.is_some_and(|at| {
                networks[at].family_filter() == Some(Family::V6)
                    && networks[at].includes().iter().any(Selector::is_wildcard)
            })
        {
            errors.push(SpecErrorKind::DualStackOnIpv6(e.qualified()));
        }
        if !unique && !qualified.insert((e.network.as_str(), e.name.as_str())) {
            errors.push(SpecErrorKind::DuplicateEndpoint(e.qualified()));
        }
        if on_unix.is_none() {
            errors.push(SpecErrorKind::UnknownNetwork {
                endpoint: e.qualified(),
            });
        }
        out.extend(errors.drain(..).map(|k| (Item::Endpoint(i), k)));
    }
    (out, network_of)
}

impl FromStr for ListenSpec {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<ListenSpec, SpecError> {
        parse::parse(s)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.name)?;
        let mut sep = "";
        for s in &self.include {
            write!(f, "{sep}{s}")?;
            sep = ", ";
        }
        for s in &self.exclude {
            write!(f, "{sep}!{s}")?;
        }
        if let Some(fam) = self.family {
            write!(f, "{sep}{fam}")?;
        }
        if let Some(e) = self.expose {
            write!(f, " expose={e}")?;
        }
        if self.shared {
            f.write_str(" shared")?;
        }
        if let Some(a) = &self.advertise {
            write!(f, " advertise {a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} = {}:{}",
            self.network, self.name, self.protocol, self.address
        )?;
        let o = &self.options;
        if let Some(b) = o.backlog {
            write!(f, " backlog={b}")?;
        }
        if o.reuseport {
            f.write_str(" reuseport")?;
        }
        match o.v6only {
            Some(true) => f.write_str(" v6only")?,
            Some(false) => f.write_str(" v6only=false")?,
            None => {}
        }
        match &o.device {
            Some(Device::Own) => f.write_str(" device")?,
            Some(Device::Named(d)) => write!(f, " device={d}")?,
            None => {}
        }
        if o.freebind {
            f.write_str(" freebind")?;
        }
        if let Some(m) = o.mode {
            write!(f, " mode={m:03o}")?;
        }
        if let Some(a) = &o.owner {
            write!(f, " owner={a}")?;
        }
        if let Some(g) = &o.group {
            write!(f, " group={g}")?;
        }
        if let Some(s) = o.stale {
            write!(f, " stale={s}")?;
        }
        if o.keep_file {
            f.write_str(" keep-file")?;
        }
        if let Some(a) = &self.advertise {
            write!(f, " advertise {a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ListenSpec {
    /// The canonical text: networks, then endpoints, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.networks {
            writeln!(f, "{n}")?;
        }
        for e in &self.endpoints {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}
