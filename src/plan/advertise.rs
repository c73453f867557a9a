//! What clients are told: the advertised URL of each endpoint.

use std::cell::OnceCell;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::AddrClass;
use crate::plan::{Chosen, HostView, ProblemKind};
use crate::spec::{Advertise, Endpoint, Family, Ports, Transport, Url, UrlHost};

/// Where an advertised URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The endpoint's own `advertise`.
    Endpoint,
    /// The network's `advertise`.
    Network,
    /// Ranked from the bound addresses (or the host's, under a wildcard).
    Derived,
}

/// The URL clients use to reach an endpoint.
///
/// Its port may be unknown until binding (port 0 or a range with no port in
/// the advertised URL); [`Advertised::url`] is `None` then, and
/// [`Advertised::with_port`] completes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    /// Shared: the endpoints of a network that derive their URL from one
    /// address, on ports the OS picks, all have this one, and what is bound
    /// from the plan keeps it too.
    pub(crate) url: Arc<Url>,
    pub(crate) port_from_bind: bool,
    pub(crate) source: Source,
}

impl Advertised {
    /// The URL, when its port is known at plan time.
    pub fn url(&self) -> Option<&Url> {
        (!self.port_from_bind).then_some(&*self.url)
    }

    /// The URL once the endpoint is bound on `port`.
    pub fn with_port(&self, port: u16) -> Url {
        if self.port_from_bind {
            self.url.with_port(port)
        } else {
            Url::clone(&self.url)
        }
    }

    /// Whether the port is the one the OS picks at bind time.
    pub fn port_from_bind(&self) -> bool {
        self.port_from_bind
    }

    /// Where it came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The address clients are told, when the URL's host is a literal; an
    /// IPv4-mapped one as the IPv4 address inside it.
    pub(crate) fn literal_ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            UrlHost::Ip(ip) => Some(ip.to_canonical()),
            UrlHost::Name(_) => None,
        }
    }
}

impl fmt::Display for Advertised {
    /// The URL, with `<port>` standing for a port known only after binding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.url;
        if !self.port_from_bind {
            return write!(f, "{url}");
        }
        write!(
            f,
            "{}://{}:<port>{}",
            url.scheme(),
            url.host_str(),
            url.path()
        )
    }
}

/// The schemes of endpoints on IP addresses.
const SCHEMES: [&str; 4] = ["tcp", "udp", "http", "https"];

/// The URL `make` builds with the endpoint's port, when it is known: the
/// one written with the host, or the endpoint's fixed port.
fn url_for(
    explicit: Option<u16>,
    e: &Endpoint,
    make: impl FnOnce(Option<u16>) -> Arc<Url>,
) -> Advertised {
    let port = explicit.or(e.ports().and_then(Ports::fixed));
    Advertised {
        url: make(port),
        port_from_bind: port.is_none(),
        source: Source::Derived,
    }
}

/// Whether a URL's scheme can stand for an endpoint's protocol, so a network
/// URL applies whole (an `https://` front door for an `http` endpoint behind a
/// TLS-terminating proxy is fine; a `udp` endpoint cannot use it).
fn compatible(url: &Url, e: &Endpoint) -> bool {
    let url_udp = url.scheme() == "udp";
    url_udp == (e.transport() == Transport::Udp)
}

/// The host of an advertised URL that is not taken whole: one on IP
/// addresses, which has one (the spec refuses a Unix socket's URL there).
fn host_of(a: &Advertise) -> UrlHost {
    a.host().cloned().unwrap_or(UrlHost::Name(String::new()))
}

fn explicit(a: &Advertise, e: &Endpoint, source: Source, whole: bool) -> Advertised {
    let mut out = match a {
        Advertise::Url(u) if whole => {
            let known = u.port().is_some();
            let fixed = e.ports().and_then(Ports::fixed);
            let url = match fixed {
                Some(p) if !known => u.with_port(p),
                _ => u.clone(),
            };
            Advertised {
                port_from_bind: !known && fixed.is_none(),
                url: Arc::new(url),
                source: Source::Derived,
            }
        }
        Advertise::Url(u) => url_for(u.written_port(), e, |p| {
            Arc::new(Url::new(e.protocol().scheme(), host_of(a), p))
        }),
        Advertise::Host { host, port } => url_for(*port, e, |p| {
            Arc::new(Url::new(e.protocol().scheme(), host.clone(), p))
        }),
    };
    out.source = source;
    out
}

/// Ranks an address for advertising, given its class and whether it is
/// globally reachable: lower is better.
fn rank(ip: IpAddr, class: AddrClass, global: bool) -> (u8, Family, IpAddr) {
    // Site-local comes before the `global` guard: `fec0::/10` counts as maybe
    // public for exposure (the safe side there), but it is deprecated and
    // may not reach past the site, so clients are told a global or
    // unique-local address first, as RFC 6724's precedence table has it.
    // It stays above link-local and loopback, which reach no other host
    // without a zone, or none at all.
    let r = match class {
        AddrClass::Loopback => 4,
        AddrClass::LinkLocal => 3,
        AddrClass::SiteLocal => 2,
        _ if global => 0,
        _ => 1,
    };
    (r, Family::of(ip), ip)
}

fn advertisable(ip: IpAddr, class: AddrClass) -> bool {
    crate::plan::problem::Unlistenable::of(ip, class).is_none()
}

/// The best address of a network to advertise, and those that tie with it.
/// Computed once per network, however many endpoints derive from it.
#[derive(Debug)]
pub(crate) struct Ranked {
    best: IpAddr,
    others: Vec<IpAddr>,
    /// Every candidate was deprecated, so the best is too.
    deprecated: bool,
    /// `scheme://best` for each of [`SCHEMES`], made when an endpoint first
    /// asks: writing the address into a URL is most of deriving one, and
    /// every endpoint of the network derives from the same address. Those
    /// on ports the OS picks share it as it is.
    urls: [OnceCell<Arc<Url>>; 4],
}

impl Ranked {
    /// The URL of `best` for `scheme`, with `port` when it is known.
    fn url(&self, scheme: &str, port: Option<u16>) -> Arc<Url> {
        let host = UrlHost::Ip(self.best);
        let i = SCHEMES.iter().position(|&s| s == scheme);
        match (i, port) {
            (Some(i), None) => {
                Arc::clone(self.urls[i].get_or_init(|| Arc::new(Url::new(scheme, host, None))))
            }
            _ => Arc::new(Url::new(scheme, host, port)),
        }
    }
}

/// Ranks a network's addresses (the host's, under a wildcard). Deprecated
/// addresses are going away, so they are ranked only when there is nothing
/// else.
pub(crate) fn rank_network(chosen: &[Chosen], view: &HostView) -> Option<Ranked> {
    rank_among(chosen, view, false).or_else(|| rank_among(chosen, view, true))
}

/// The ranking among current addresses, or among deprecated ones.
fn rank_among(chosen: &[Chosen], view: &HostView, deprecated: bool) -> Option<Ranked> {
    // One pass: the best so far, and the other candidates of its rank and
    // family, started afresh whenever a better rank turns up. Whatever joins
    // `others` is above the best of its time, so never equals a later, lower
    // best; and with no ties nothing joins, so nothing is allocated.
    let mut best: Option<(u8, Family, IpAddr)> = None;
    let mut others: Vec<IpAddr> = Vec::new();
    let mut consider = |ip: IpAddr, class: AddrClass, global: bool, old: bool| {
        if !advertisable(ip, class) || old != deprecated {
            return;
        }
        let key = rank(ip, class, global);
        match best {
            Some(b) if (key.0, key.1) > (b.0, b.1) || key == b => {}
            Some(b) if (key.0, key.1) == (b.0, b.1) => {
                others.push(key.2.max(b.2));
                best = Some(key.min(b));
            }
            _ => {
                others.clear();
                best = Some(key);
            }
        }
    };
    for c in chosen {
        if c.is_wildcard() {
            // A wildcard stands for the host's up addresses of its family.
            let fam = Family::of(c.ip);
            for a in &view.addrs {
                if a.iface.is_up() && !a.flags.is_dadfailed() && Family::of(a.net.addr()) == fam {
                    consider(a.net.addr(), a.class, a.global, a.flags.is_deprecated());
                }
            }
        } else {
            consider(c.ip, c.class, c.global, c.deprecated);
        }
    }
    let (_, _, best) = best?;
    others.sort_unstable();
    others.dedup();
    Some(Ranked {
        best,
        others,
        deprecated,
        urls: Default::default(),
    })
}

/// The URL of an endpoint on IP addresses when the endpoint or its network
/// says it, which no host changes.
pub(crate) fn written(e: &Endpoint, network_advertise: Option<&Advertise>) -> Option<Advertised> {
    if let Some(a) = e.advertised() {
        return Some(explicit(a, e, Source::Endpoint, true));
    }
    let a = network_advertise?;
    let whole = match a {
        Advertise::Url(u) => compatible(u, e),
        Advertise::Host { .. } => false,
    };
    Some(explicit(a, e, Source::Network, whole))
}

/// The advertised URL of an endpoint that neither it nor its network
/// writes, from its network's ranked addresses, when `url`; and warnings
/// about how it was chosen.
pub(crate) fn derived(
    e: &Endpoint,
    ranked: Option<&Ranked>,
    url: bool,
    warn: &mut impl FnMut(ProblemKind),
) -> Option<Advertised> {
    let ranked = ranked?;
    let best = ranked.best;
    if ranked.deprecated {
        warn(ProblemKind::DeprecatedAdvertised { ip: best });
    }
    if !ranked.others.is_empty() {
        warn(ProblemKind::AdvertiseTie {
            chosen: best,
            others: ranked.others.clone(),
        });
    }
    if AddrClass::of(best) == AddrClass::LinkLocal {
        warn(ProblemKind::LinkLocalAdvertised { ip: best });
    }
    url.then(|| url_for(None, e, |p| ranked.url(e.protocol().scheme(), p)))
}
