//! Selectors: the words that pick a network's addresses out of the host.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net};

use crate::AddrClass;
use crate::spec::error::{SelectorError, Suggestion};
use crate::spec::parse::cut;
use crate::spec::url::{Parts, RawHost};
use crate::spec::{Protocol, SpecErrorKind, UnixPath, UrlHost};

/// One address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// This family's wildcard address: `0.0.0.0` or `::`.
    pub fn unspecified(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::from([0u8; 4]),
            Family::V6 => IpAddr::from([0u8; 16]),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        })
    }
}

/// A link-local address's zone: the interface it lives on, by name or index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Zone {
    /// `%eth0`.
    Name(String),
    /// `%2`.
    Index(u32),
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Name(n) => f.write_str(n),
            Zone::Index(i) => write!(f, "{i}"),
        }
    }
}

/// An interface-name pattern: a plain name, or a glob with `*` (any run of
/// characters) and `?` (one character).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfPattern(Arc<str>);

impl IfPattern {
    /// Whether the pattern has glob characters, so may match several interfaces.
    pub fn is_glob(&self) -> bool {
        self.0.contains(['*', '?'])
    }

    /// Whether `name` matches the pattern.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Iterative glob match with single-star backtracking: linear in practice,
/// never exponential, which matters because patterns come from config files.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The last star and the name position it was last tried at.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            // Back to the star, which now takes one more byte of the name.
            _ => match star {
                Some((sp, sn)) => {
                    p = sp;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// What picks addresses for a network.
///
/// | text | meaning |
/// |---|---|
/// | `*` | the wildcard of every family the host has |
/// | `0.0.0.0`, `::` | one family's wildcard |
/// | `10.0.15.23`, `fe80::1%eth0` | one local address (link-local needs its zone) |
/// | `10.0.0.0/8` | every local address inside the block |
/// | `if:eth0`, `if:en*` | the addresses of interfaces matching the name or glob |
/// | `loopback`, `private`, … | every local address of an [`AddrClass`] |
/// | `dns:name` | the local addresses a DNS name resolves to |
/// | `unix` | no addresses: the network's endpoints are Unix sockets |
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Selector {
    /// `*`: every family's wildcard.
    Any,
    /// `0.0.0.0` or `::`: one family's wildcard.
    Wildcard(Family),
    /// One address, with a zone when it is link-local IPv6.
    Addr {
        /// The address.
        ip: IpAddr,
        /// The zone (`%eth0`); present exactly when `ip` is link-local IPv6.
        zone: Option<Zone>,
    },
    /// Every local address inside a block; host bits are zero.
    Cidr(IpNet),
    /// The addresses of interfaces matching a name or glob.
    Interface(IfPattern),
    /// Every local address of a class.
    Class(AddrClass),
    /// The local addresses a DNS name resolves to.
    Dns(String),
    /// `unix`: no addresses, but this host's Unix sockets; a network of
    /// them has only this selector, and its endpoints listen on paths.
    Unix,
}

impl Selector {
    /// Whether this is `*`, `0.0.0.0` or `::`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Selector::Any | Selector::Wildcard(_))
    }

    /// Whether this selector names link-local addresses on purpose, which is
    /// the only way link-local addresses get into a plan.
    pub(crate) fn names_link_local(&self) -> bool {
        match self {
            Selector::Addr { ip, .. } => AddrClass::of(*ip) == AddrClass::LinkLocal,
            Selector::Cidr(net) => AddrClass::of(net.network()) == AddrClass::LinkLocal,
            Selector::Class(c) => *c == AddrClass::LinkLocal,
            _ => false,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Any => f.write_str("*"),
            Selector::Wildcard(fam) => write!(f, "{}", fam.unspecified()),
            Selector::Addr { ip, zone: None } => write!(f, "{ip}"),
            Selector::Addr { ip, zone: Some(z) } => write!(f, "{ip}%{z}"),
            Selector::Cidr(net) => write!(f, "{net}"),
            Selector::Interface(p) => write!(f, "if:{}", p.0),
            Selector::Class(c) => write!(f, "{}", c.name()),
            Selector::Dns(n) => write!(f, "dns:{n}"),
            Selector::Unix => f.write_str("unix"),
        }
    }
}

impl FromStr for Selector {
    type Err = SpecErrorKind;

    /// A selector as an include: addresses no listener may take are refused.
    fn from_str(s: &str) -> Result<Selector, SpecErrorKind> {
        Selector::parse(s, true)
    }
}

impl Selector {
    /// A selector after `!`: it may name what an include may not (a
    /// multicast group, an IPv4-mapped block), since leaving such addresses
    /// out is how a spec steps around an interface that holds them.
    pub(crate) fn parse_exclude(s: &str) -> Result<Selector, SpecErrorKind> {
        Selector::parse(s, false)
    }

    fn parse(s: &str, include: bool) -> Result<Selector, SpecErrorKind> {
        Selector::parse_reason(s, include).map_err(|reason| SpecErrorKind::BadSelector {
            text: s.to_owned(),
            reason,
        })
    }

    fn parse_reason(s: &str, include: bool) -> Result<Selector, SelectorError> {
        if s == "*" {
            return Ok(Selector::Any);
        }
        if s == "unix" {
            return Ok(Selector::Unix);
        }
        if let Some(endpoint) = unix_socket(s) {
            return Err(SelectorError::UnixSocket(endpoint));
        }
        if let Some(name) = s.strip_prefix("if:") {
            if !is_ifname(name) {
                return Err(SelectorError::BadInterface);
            }
            return Ok(Selector::Interface(IfPattern(Arc::from(name))));
        }
        // A DNS name is case-insensitive: one spelling, so that a snapshot's
        // answer for `localhost` is `LOCALHOST`'s too.
        if let Some(name) = s.strip_prefix("dns:") {
            return dns_name(name)
                .map(|n| Selector::Dns(n.to_ascii_lowercase()))
                .ok_or(SelectorError::BadDnsName);
        }
        if let Some(class) = AddrClass::from_name(s) {
            return match never_listened_class(class).filter(|_| include) {
                Some(why) => Err(why),
                None => Ok(Selector::Class(class)),
            };
        }
        // Kafka's `listeners=PLAINTEXT://:9092` read as a statement.
        if s.contains("://") {
            return Err(SelectorError::Url);
        }
        if s.bytes().any(|b| b == b'/') {
            let net: IpNet = s.parse().map_err(|_| SelectorError::BadCidr)?;
            if let Some(why) = never_held(net).filter(|_| include) {
                return Err(why);
            }
            if net.trunc() != net {
                return Err(SelectorError::HostBits(net.trunc()));
            }
            return Ok(Selector::Cidr(net));
        }
        let (ip_text, zone) = match cut(s, b'%') {
            Some((ip, zone)) => (ip, Some(zone)),
            None => (s, None),
        };
        let Ok(ip) = ip_text.parse::<IpAddr>() else {
            // A bare number other than 0 is likelier a port in the wrong
            // place than an address in inet_aton's form.
            let address_like = s.contains('.')
                || s.starts_with("0x")
                || s.starts_with("0X")
                || s.bytes().all(|b| b == b'0');
            if let Some(ip) = url_spelling(s).filter(|_| address_like) {
                return Err(SelectorError::UrlSpelling(ip));
            }
            return Err(SelectorError::Unknown(suggest_for(s)));
        };
        if ip.is_unspecified() {
            if zone.is_some() {
                return Err(SelectorError::ZonedWildcard);
            }
            return Ok(Selector::Wildcard(Family::of(ip)));
        }
        if let Some(why) = never_held(IpNet::from(ip)).filter(|_| include) {
            return Err(why);
        }
        let link_local_v6 = ip.is_ipv6() && AddrClass::of(ip) == AddrClass::LinkLocal;
        let zone = match (zone, link_local_v6) {
            (None, false) => None,
            (None, true) => return Err(SelectorError::MissingZone),
            (Some(_), false) => return Err(SelectorError::NeedlessZone),
            (Some(""), true) => return Err(SelectorError::EmptyZone),
            (Some(z), true) => Some(match z.parse::<u32>() {
                Ok(i) => Zone::Index(i),
                Err(_) if is_ifname(z) => Zone::Name(z.to_owned()),
                Err(_) => return Err(SelectorError::BadZone),
            }),
        };
        Ok(Selector::Addr { ip, zone })
    }
}

/// Why no listener can take any address of `net` (one address is a block
/// of one), if so. Planned as unknown addresses, these would be explained as
/// NAT, which sends the reader the wrong way; and the IPv4-mapped and zero
/// blocks are the wildcard, or any IPv4 address, in another spelling.
fn never_held(net: IpNet) -> Option<SelectorError> {
    let (first, last) = (net.network(), net.broadcast());
    if first.is_multicast() && last.is_multicast() {
        return Some(SelectorError::Multicast);
    }
    if first.is_unspecified() && last.is_unspecified() {
        return Some(SelectorError::WildcardBlock(first));
    }
    let zero = |ip| {
        matches!(
            AddrClass::of(ip),
            AddrClass::ThisNetwork | AddrClass::Unspecified
        )
    };
    if zero(first) && zero(last) {
        return Some(SelectorError::ThisNetwork);
    }
    if AddrClass::of(first) == AddrClass::Broadcast {
        return Some(SelectorError::Broadcast);
    }
    let mapped = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    };
    let (Some(v4), Some(_)) = (mapped(first), mapped(last)) else {
        return None;
    };
    // Both ends inside ::ffff:0:0/96 make the prefix at least 96.
    let ipv4 = Ipv4Net::new(v4, net.prefix_len() - 96).ok()?;
    Some(SelectorError::Ipv4Mapped(ipv4))
}

/// Why a class is refused as a selector: no interface address of it can be
/// listened on, if so.
fn never_listened_class(class: AddrClass) -> Option<SelectorError> {
    Some(match class {
        AddrClass::Multicast => SelectorError::Multicast,
        AddrClass::Unspecified => SelectorError::UnspecifiedClass,
        AddrClass::ThisNetwork => SelectorError::ThisNetwork,
        AddrClass::Broadcast => SelectorError::Broadcast,
        AddrClass::Ipv4Mapped => SelectorError::Ipv4MappedClass,
        _ => return None,
    })
}

/// The endpoint target a selector that is really a Unix socket stands
/// for: a path or `@name` (as `unix:PATH`), or `PROTOCOL:PATH` as written,
/// where `tcp` and `udp`, which do not run over a Unix socket, become
/// `unix` and `unixgram`. Checked before the CIDR rule, which would call
/// `/run/app.sock` a bad block.
fn unix_socket(s: &str) -> Option<String> {
    if UnixPath::looks_like(s) {
        return Some(format!("unix:{s}"));
    }
    let (protocol, path) = cut(s, b':')?;
    let protocol: Protocol = protocol.parse().ok()?;
    // `tcp://:9092` is a URL, which the selector says.
    if !UnixPath::looks_like(path) || path.starts_with("//") {
        return None;
    }
    Some(format!("{}:{path}", protocol.on_unix()))
}

/// What a word that is no selector most likely meant: a name is most often
/// meant as a DNS name, an interface, or the class it resembles.
fn suggest_for(word: &str) -> Option<Suggestion> {
    // One pair of quotes, so that no word of quotes is read as deep as it
    // is long.
    if let Some(inner) = super::shorthand::unquoted(word)
        && !inner.starts_with(['\'', '"'])
    {
        // PostgreSQL's `'localhost'`: what the word inside means.
        return match inner.parse::<Selector>() {
            Ok(_) => Some(Suggestion::Quoted(inner.to_owned())),
            Err(_) => suggest_for(inner),
        };
    }
    if cut(word, b':').is_some_and(|(protocol, _)| protocol.parse::<Protocol>().is_ok()) {
        return Some(Suggestion::Endpoint(word.to_owned()));
    }
    if let Some(suggestion) = with_port(word) {
        return Some(suggestion);
    }
    // `http = 8080`, or `PORT=8080` pasted from an environment: a port
    // alone, meant for every address.
    if crate::spec::shorthand::is_port(word) && word != "0" {
        return Some(Suggestion::WithPort {
            selector: "*".to_owned(),
            port: word.to_owned(),
            dual_stack: false,
        });
    }
    if let Some(selector) = crate::spec::shorthand::elasticsearch_selector(word) {
        return Some(Suggestion::Elasticsearch(selector));
    }
    if word.eq_ignore_ascii_case("localhost") {
        return Some(Suggestion::Loopback);
    }
    if crate::spec::suggest::closest(word, ["unix"]).is_some() {
        return Some(Suggestion::Unix);
    }
    let classes = AddrClass::ALL.iter().map(|c| c.name());
    if let Some(name) = crate::spec::suggest::closest(word, classes) {
        return AddrClass::from_name(name).map(Suggestion::Class);
    }
    // Another program's prefix (HAProxy's `unix@`): no name of either.
    if word.contains('@') {
        return None;
    }
    if interface_like(word) {
        return Some(Suggestion::Interface(word.to_owned()));
    }
    // `_ec2_` is Elasticsearch's, not a host's.
    (dns_name(word).is_some()
        && word.bytes().any(|b| b.is_ascii_alphabetic())
        && !word.starts_with('_')
        && !word.ends_with('_')
        && !matches!(word, "sd-listen" | "inetd" | "stdio"))
    .then(|| Suggestion::Dns(word.to_owned()))
}

/// Whether a word is shaped like an interface's name (`lo`, `eth0`,
/// `enp3s0`) rather than a host's.
fn interface_like(word: &str) -> bool {
    word == "lo"
        || (word.starts_with(|c: char| c.is_ascii_alphabetic())
            && word.ends_with(|c: char| c.is_ascii_digit())
            && is_ifname(word)
            && !word.contains(['.', '-', ':']))
}

/// `HOST:PORT` where a selector goes (`0.0.0.0:8080`, `:8080`,
/// `localhost:8080`): the selector that picks the host's addresses, with
/// the port, which goes on an endpoint's line.
fn with_port(word: &str) -> Option<Suggestion> {
    let (host, port) = word.rsplit_once(':')?;
    if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
        return None;
    }
    // HAProxy's family prefixes: `ipv4@:80`, `ipv6@:::80`.
    let (family, host) = match host.split_once('@') {
        Some(("ipv4", host)) => (Some("0.0.0.0"), host),
        Some(("ipv6", host)) => (Some("::"), host),
        Some(_) => return None,
        None => (None, host),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    // A second port (`:1:1`) is no host's: reading the host as a selector
    // would look for its port again, as deep as the word has ports.
    if host.parse::<IpAddr>().is_err()
        && host
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let selector = if let Some(wildcard) = family.filter(|_| matches!(host, "" | "::")) {
        wildcard.to_owned()
    } else if host.is_empty() {
        "*".to_owned()
    } else if host.eq_ignore_ascii_case("localhost") {
        // What the name resolves to, as `localhost:9000` alone is read:
        // `loopback` would take [::1] too where localhost is 127.0.0.1.
        "dns:localhost".to_owned()
    } else if host.parse::<Selector>().is_ok() {
        host.to_owned()
    } else if let Some(selector) = crate::spec::shorthand::elasticsearch_selector(host) {
        selector
    } else if interface_like(host) {
        format!("if:{host}")
    } else if dns_name(host).is_some() && host.bytes().any(|b| b.is_ascii_alphabetic()) {
        format!("dns:{host}")
    } else {
        return None;
    };
    Some(Suggestion::WithPort {
        // `[::]:8080` alone is both families, as a one-address value is.
        dual_stack: selector == "::" && family.is_none(),
        selector,
        port: port.to_owned(),
    })
}

/// The address a URL's rules read `host` as when they read an address
/// and its usual form is other text (`0`, `127.1`, `0x7f.0.0.1`).
pub(crate) fn url_spelling(host: &str) -> Option<IpAddr> {
    let parts = Parts::host(host).ok()?;
    if parts.userinfo || parts.port.is_some() || !parts.rest.is_empty() {
        return None;
    }
    match parts.host {
        RawHost::Host(UrlHost::Ip(ip)) if !usual_form(host, ip) => Some(ip),
        _ => None,
    }
}

/// Whether `host`, as a URL writes it (IPv6 in brackets), is `ip` in the
/// form std reads and writes.
pub(crate) fn usual_form(host: &str, ip: IpAddr) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    bare.unwrap_or(host).parse() == Ok(ip)
}

/// Whether text can be an interface name (or an `if:` glob): IFNAMSIZ is 16
/// with the NUL, and the spec language's own punctuation cannot appear.
pub(crate) fn is_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b'#' | b';' | b'/'))
}

/// Checks the shape of a DNS name (letters, digits, `-`, `_`, dots), so that
/// a typo fails at parse time instead of as a lookup at start-up.
pub(crate) fn dns_name(name: &str) -> Option<&str> {
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    name_ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob() {
        for (p, n, want) in [
            ("en*", "enp3s0", true),
            ("en*", "eth0", false),
            ("*", "", true),
            ("eth?", "eth0", true),
            ("eth?", "eth10", false),
            ("*0", "veth0", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("eth0", "eth0", true),
            ("eth0", "eth00", false),
        ] {
            assert_eq!(glob_match(p.as_bytes(), n.as_bytes()), want, "{p} vs {n}");
        }
    }
}
