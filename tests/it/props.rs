//! Property tests: Display and FromStr agree on every spec the builder can
//! make, the parser never panics, and the planner never binds an address the
//! host does not hold, whatever the spec and snapshot.
//!
//! Generators draw addresses, interface names and DNS names from small pools
//! shared by specs and hosts, so that planned specs often actually match the
//! host and the Ok-path properties get exercised, not just the error paths.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use listenspec::class::is_globally_reachable;
use listenspec::host::{DnsAnswer, Interface};
use listenspec::plan::Problem;
use listenspec::spec::{Account, Device, Stale, UnixPath, Zone};
use listenspec::spec::{
    Advertise, Endpoint, EndpointOptions, Exposure, Family, Network, Ports, Protocol, Selector,
    UrlHost,
};
use listenspec::{AddrClass, Host, ListenSpec, Plan, PlanError, PlanOptions};
use proptest::prelude::*;
use proptest::sample::{Index, select};

const IFACE_NAMES: &[&str] = &["lo", "eth0", "eth1", "eth2", "enp3s0", "wlan0", "ops0"];
const IF_GLOBS: &[&str] = &["eth*", "en*", "e?h0", "*", "*0", "ops?", "wl*n0"];
const DNS_NAMES: &[&str] = &["my-awesome-service", "svc.internal", "edge.example.com"];
const NET_NAMES: &[&str] = &[
    "public", "internal", "ops", "mgmt", "local", "edge", "pinned", "b-2", "Z_x",
];
const WORDY_CLASSES: &[AddrClass] = &[
    AddrClass::Shared,
    AddrClass::Private,
    AddrClass::Loopback,
    AddrClass::LinkLocal,
    AddrClass::Global,
];
const EP_NAMES: &[&str] = &["http", "admin", "grpc", "metrics", "snmp", "e-1"];

/// Addresses hosts hold and specs name, one or two of each class that
/// planning treats differently (loopback, link-local, private, shared,
/// documentation, global).
const V4_POOL: &[&str] = &[
    "127.0.0.1/8",
    "10.0.15.23/16",
    "10.1.2.3/8",
    "192.168.1.10/24",
    "169.254.7.7/16",
    "100.64.0.5/10",
    "198.51.100.7/24",
    "31.167.56.251/24",
];
const V6_POOL: &[&str] = &[
    "::1/128",
    "fe80::1/64",
    "fe80::2/64",
    "fd00::5/64",
    "fd12:3456::1/48",
    "2001:db8::7/64",
    "2a00:1450::1/64",
    "2001:4860::8888/32",
];

fn pool_net() -> impl Strategy<Value = IpNet> {
    select(V4_POOL)
        .prop_union(select(V6_POOL))
        .prop_map(|s| s.parse::<IpNet>().unwrap())
}

fn any_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<Ipv4Addr>(), 0u8..=32).prop_map(|(a, p)| IpNet::new(a.into(), p).unwrap()),
        (any::<Ipv6Addr>(), 0u8..=128).prop_map(|(a, p)| IpNet::new(a.into(), p).unwrap()),
    ]
}

/// Addresses no sane interface holds, but a recorded or hand-written
/// snapshot might: each would be a wildcard or worse if the planner took it.
const ODD_POOL: &[&str] = &[
    "0.0.0.0/0",
    "0.0.0.0/8",
    "::/0",
    "224.0.0.251/4",
    "ff02::1/16",
    "255.255.255.255/32",
    "::ffff:10.0.15.23/128",
    "::ffff:0.0.0.0/96",
    "::ffff:8.8.8.8/128",
    "0.1.2.3/8",
];

/// Mostly pool addresses, so specs and hosts meet; sometimes anything.
fn host_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        16 => pool_net(),
        4 => any_net(),
        1 => select(ODD_POOL).prop_map(|s| s.parse::<IpNet>().unwrap()),
    ]
}

fn host_ip() -> impl Strategy<Value = IpAddr> {
    host_net().prop_map(|n| n.addr())
}

fn zone() -> impl Strategy<Value = Zone> {
    prop_oneof![
        3 => select(IFACE_NAMES).prop_map(|n| Zone::Name(n.to_owned())),
        1 => (1u32..=8).prop_map(Zone::Index),
    ]
}

fn is_link_local_v6(ip: IpAddr) -> bool {
    ip.is_ipv6() && AddrClass::of(ip) == AddrClass::LinkLocal
}

/// A literal address as the parser would make it: unspecified addresses
/// are wildcards, and a zone comes exactly with link-local IPv6.
fn addr_selector(ip: IpAddr, zone: Zone) -> Selector {
    if ip.is_unspecified() {
        Selector::Wildcard(Family::of(ip))
    } else {
        Selector::Addr {
            ip,
            zone: is_link_local_v6(ip).then_some(zone),
        }
    }
}

fn glob() -> impl Strategy<Value = String> {
    prop_oneof![
        select(IFACE_NAMES).prop_map(str::to_owned),
        select(IF_GLOBS).prop_map(str::to_owned),
        "[a-z0-9*?!%=.:-]{1,8}",
    ]
}

fn dns_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(DNS_NAMES).prop_map(str::to_owned),
        "[a-z0-9_][a-z0-9_-]{0,10}(\\.[a-z0-9-]{1,6}){0,3}\\.?",
    ]
}

/// Selectors the parser refuses by value: multicast groups, IPv4-mapped
/// addresses, `0.0.0.0/8` ("this network"), the limited broadcast address,
/// a wildcard written as a block, and the classes of those; no listener may
/// take any of them.
fn refused(s: &Selector) -> bool {
    let mapped = |ip: IpAddr| matches!(ip, IpAddr::V6(a) if a.to_ipv4_mapped().is_some());
    let zero = |ip: IpAddr| {
        matches!(
            AddrClass::of(ip),
            AddrClass::ThisNetwork | AddrClass::Unspecified
        )
    };
    let broadcast = |ip: IpAddr| ip == IpAddr::from([255u8; 4]);
    let never = |a: IpAddr, b: IpAddr| {
        (a.is_multicast() && b.is_multicast())
            || (mapped(a) && mapped(b))
            || (zero(a) && zero(b))
            || broadcast(a)
    };
    match s {
        Selector::Addr { ip, .. } => never(*ip, *ip),
        Selector::Cidr(n) => never(n.network(), n.broadcast()),
        Selector::Class(c) => REFUSED_CLASSES.contains(c),
        _ => false,
    }
}

/// Classes no listener may take an address of.
const REFUSED_CLASSES: &[AddrClass] = &[
    AddrClass::Multicast,
    AddrClass::Unspecified,
    AddrClass::ThisNetwork,
    AddrClass::Broadcast,
    AddrClass::Ipv4Mapped,
];

/// Any selector but a wildcard, as the parser would make it.
fn specific_selector() -> impl Strategy<Value = Selector> {
    any_specific_selector().prop_filter("the parser refuses it", |s| !refused(s))
}

/// Selectors that name multicast groups or IPv4-mapped addresses, or the
/// unspecified class.
fn refused_selector() -> impl Strategy<Value = Selector> {
    // Each with the shortest prefix that keeps a block inside its kind.
    let v4 = any::<u32>().prop_map(|x| (IpAddr::from(Ipv4Addr::from(0xe000_0000 | (x >> 4))), 4));
    let v6 =
        any::<u128>().prop_map(|x| (IpAddr::from(Ipv6Addr::from((0xff << 120) | (x >> 8))), 8));
    let mapped = any::<Ipv4Addr>().prop_map(|a| (IpAddr::from(a.to_ipv6_mapped()), 96));
    let this_network = (1u32..1 << 24).prop_map(|x| (IpAddr::from(Ipv4Addr::from(x)), 8));
    let broadcast = Just((IpAddr::from([255u8; 4]), 32));
    let odd = prop_oneof![v4, v6, mapped, this_network, broadcast];
    prop_oneof![
        odd.clone()
            .prop_map(|(ip, _)| Selector::Addr { ip, zone: None }),
        (odd, 0u8..=128).prop_map(|((ip, min), p)| {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            Selector::Cidr(IpNet::new(ip, p.clamp(min, max)).unwrap().trunc())
        }),
        select(REFUSED_CLASSES).prop_map(Selector::Class),
        Just(Selector::Cidr("0.0.0.0/32".parse().unwrap())),
        Just(Selector::Cidr("::/128".parse().unwrap())),
    ]
}

/// Any selector but a wildcard, including the ones the parser refuses.
fn any_specific_selector() -> impl Strategy<Value = Selector> {
    prop_oneof![
        3 => (host_ip(), zone()).prop_map(|(ip, z)| addr_selector(ip, z)),
        3 => prop_oneof![pool_net(), any_net()].prop_map(|n| Selector::Cidr(n.trunc())),
        3 => glob().prop_map(|g| format!("if:{g}").parse::<Selector>().unwrap()),
        1 => select(AddrClass::ALL).prop_map(Selector::Class),
        // Classes whose names are also words of the grammar (`shared` is a
        // network option) or that planning treats specially.
        1 => select(WORDY_CLASSES).prop_map(Selector::Class),
        2 => dns_name().prop_map(Selector::Dns),
    ]
}

fn wildcard_includes() -> impl Strategy<Value = Vec<Selector>> {
    prop_oneof![
        Just(vec![Selector::Any]),
        Just(vec![Selector::Wildcard(Family::V4)]),
        Just(vec![Selector::Wildcard(Family::V6)]),
        Just(vec![
            Selector::Wildcard(Family::V4),
            Selector::Wildcard(Family::V6)
        ]),
    ]
}

fn selector() -> impl Strategy<Value = Selector> {
    prop_oneof![
        1 => Just(Selector::Any),
        1 => prop_oneof![Just(Family::V4), Just(Family::V6)].prop_map(Selector::Wildcard),
        8 => specific_selector(),
    ]
}

fn advertise_text() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        select(DNS_NAMES).prop_map(str::to_owned),
        Just("node1.internal".to_owned()),
        Just("203.0.113.7".to_owned()),
        Just("[2001:db8::1]".to_owned()),
        Just("[fd00::5]".to_owned()),
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,4})?",
    ];
    let port = prop::option::of(1u16..=65535).prop_map(|p| p.map(|p| format!(":{p}")));
    let scheme = select(&["https", "http", "tcp", "udp", "grpc"][..]);
    let path = select(&["", "/", "/api/v1", "/x"][..]);
    let query = select(&["", "?a=b"][..]);
    prop_oneof![
        (host.clone(), port.clone()).prop_map(|(h, p)| format!("{h}{}", p.unwrap_or_default())),
        (scheme, host, port, path, query)
            .prop_map(|(s, h, p, path, q)| format!("{s}://{h}{}{path}{q}", p.unwrap_or_default())),
    ]
}

fn advertise() -> impl Strategy<Value = Advertise> {
    advertise_text().prop_filter_map("advertise text that does not parse", |t| t.parse().ok())
}

fn exposure() -> impl Strategy<Value = Exposure> {
    prop_oneof![
        Just(Exposure::Public),
        Just(Exposure::Private),
        Just(Exposure::Local)
    ]
}

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::V4), Just(Family::V6)]
}

/// Whether `f` leaves some include, the rule `FamilyEmpty` enforces.
fn family_keeps_some(includes: &[Selector], f: Family) -> bool {
    includes.iter().any(|s| match s {
        Selector::Wildcard(w) => *w == f,
        Selector::Addr { ip, .. } => Family::of(*ip) == f,
        Selector::Cidr(n) => Family::of(n.addr()) == f,
        _ => true,
    })
}

/// A network without its name: (includes, excludes, family, expose,
/// advertise, shared). Wildcard networks get no excludes, as the rules say.
type NetBody = (
    Vec<Selector>,
    Vec<Selector>,
    Option<Family>,
    Option<Exposure>,
    Option<Advertise>,
    bool,
);

/// How big generated specs are.
#[derive(Clone, Copy)]
struct Shape {
    /// Half-open range of the number of networks.
    networks: (usize, usize),
    includes: usize,
    /// Chance that a specific network has excludes.
    excludes: f64,
    /// Half-open range of the number of endpoints.
    endpoints: (usize, usize),
    /// Chance that an endpoint has `device`.
    device: f64,
}

const ANY_SHAPE: Shape = Shape {
    networks: (0, 5),
    includes: 4,
    excludes: 0.5,
    endpoints: (0, 7),
    device: 0.3,
};

/// Smaller specs for planning: every selector and exclude is one more way
/// to fail, and failed plans do not test what an Ok plan binds.
const PLAN_SHAPE: Shape = Shape {
    networks: (1, 3),
    includes: 3,
    excludes: 0.15,
    endpoints: (1, 6),
    device: 0.1,
};

/// A network of Unix sockets: `unix` alone, at most `expose=local` and an
/// advertised URL (a host alone is refused there).
fn unix_net_body() -> impl Strategy<Value = NetBody> {
    (
        prop::option::weighted(0.3, Just(Exposure::Local)),
        prop::option::weighted(0.3, advertise())
            .prop_map(|a| a.filter(|a| matches!(a, Advertise::Url(_)))),
    )
        .prop_map(|(expose, adv)| (vec![Selector::Unix], Vec::new(), None, expose, adv, false))
}

fn net_body(specific: BoxedStrategy<Selector>, shape: Shape) -> impl Strategy<Value = NetBody> {
    prop_oneof![
        4 => ip_net_body(specific, shape),
        1 => unix_net_body(),
    ]
}

fn ip_net_body(specific: BoxedStrategy<Selector>, shape: Shape) -> impl Strategy<Value = NetBody> {
    let excludes = prop::option::weighted(
        shape.excludes,
        prop::collection::vec(specific.clone(), 1..3),
    )
    .prop_map(Option::unwrap_or_default);
    // Wildcard networks are mostly public: on any other they are an error,
    // and a spec of errors never reaches the checks on what a plan binds.
    let wild = (
        wildcard_includes(),
        Just(Vec::new()),
        prop_oneof![
            2 => Just(Some(Exposure::Public)),
            1 => prop::option::weighted(0.4, exposure()),
        ],
    );
    let specific = (
        prop::collection::vec(specific, 1..shape.includes),
        excludes,
        prop::option::weighted(0.4, exposure()),
    );
    (
        prop_oneof![1 => wild, 3 => specific],
        prop::option::weighted(0.3, family()),
        prop::option::weighted(0.3, advertise()),
        prop::bool::weighted(0.2),
    )
        .prop_map(|((inc, exc, exp), fam, adv, shared)| (inc, exc, fam, exp, adv, shared))
}

fn build_network(name: &str, body: NetBody) -> Network {
    let (includes, excludes, family, expose, advertise, shared) = body;
    let mut net = Network::new(name.parse().unwrap());
    if let Some(f) = family.filter(|f| family_keeps_some(&includes, *f)) {
        net = net.with_family(f);
    }
    for s in includes {
        net = net.with_include(s);
    }
    for s in excludes {
        net = net.with_exclude(s);
    }
    if let Some(e) = expose {
        net = net.with_expose(e);
    }
    if let Some(a) = advertise {
        net = net.with_advertise(a);
    }
    if shared {
        net = net.with_shared();
    }
    net
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Http),
        Just(Protocol::Https)
    ]
}

fn ports() -> impl Strategy<Value = Ports> {
    prop_oneof![
        // Few distinct ports, so planned endpoints collide now and then.
        3 => select(&[0u16, 80, 443, 8080, 9100][..]).prop_map(Ports::single),
        1 => any::<u16>().prop_map(Ports::single),
        2 => (1u16..65535)
            .prop_flat_map(|a| (Just(a), a + 1..=65535))
            .prop_map(|(a, b)| Ports::range(a, b).unwrap()),
    ]
}

fn device() -> impl Strategy<Value = Device> {
    prop_oneof![
        Just(Device::Own),
        select(IFACE_NAMES).prop_map(|n| Device::Named(n.to_owned())),
        // What `device=` accepts: up to 15 printable bytes, no '/'.
        "[a-z0-9=!%:.*_-]{1,15}".prop_map(Device::Named),
    ]
}

/// An endpoint without its network: (name, protocol, ports, options,
/// advertise), and what it is if its network is one of Unix sockets.
type EpBody = (
    String,
    Protocol,
    Ports,
    EndpointOptions,
    Option<Advertise>,
    UnixBody,
);

/// An endpoint on a Unix socket: (protocol, path, options).
type UnixBody = (Protocol, UnixPath, EndpointOptions);

/// Paths and abstract names as the parser takes them: odd bytes included
/// (`=`, `:`, `,`, `@`, `!`, non-ASCII), none of the separators.
fn unix_path() -> impl Strategy<Value = UnixPath> {
    let part = "[a-zA-Z0-9._=:,@!é-]{1,8}".prop_filter("a directory", |p| p != "." && p != "..");
    prop_oneof![
        4 => (
            select(&["/", "./", "../"][..]),
            prop::collection::vec(part, 1..4),
        )
            .prop_map(|(start, parts)| UnixPath::File(format!("{start}{}", parts.join("/")).into())),
        1 => "[a-zA-Z0-9./_=:,@!é-]{1,12}".prop_map(UnixPath::Abstract),
    ]
}

fn account() -> impl Strategy<Value = Account> {
    prop_oneof![
        "[a-z_][a-z0-9._-]{0,31}".prop_map(Account::Name),
        (0..u32::MAX).prop_map(Account::Id),
    ]
}

fn unix_body() -> impl Strategy<Value = UnixBody> {
    let protocol = select(
        &[
            Protocol::Unix,
            Protocol::Unixgram,
            Protocol::Http,
            Protocol::Https,
        ][..],
    );
    let file = (
        prop::option::weighted(0.5, 0u32..=0o777),
        prop::option::weighted(0.3, account()),
        prop::option::weighted(0.3, account()),
        prop::option::weighted(0.3, select(&[Stale::Replace, Stale::Refuse][..])),
        any::<bool>(),
    );
    (
        protocol,
        unix_path(),
        prop::option::weighted(0.3, 1u32..),
        file,
    )
        .prop_map(
            |(protocol, path, backlog, (mode, owner, group, stale, keep_file))| {
                let mut o = EndpointOptions::default();
                // A datagram socket does not listen; an abstract one has no file.
                o.backlog = backlog.filter(|_| protocol != Protocol::Unixgram);
                if !path.is_abstract() {
                    o.mode = mode;
                    o.owner = owner;
                    o.group = group;
                    o.stale = stale;
                    o.keep_file = keep_file;
                }
                (protocol, path, o)
            },
        )
}

fn ep_body(shape: Shape) -> impl Strategy<Value = EpBody> {
    let name = prop_oneof![
        select(EP_NAMES).prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9_-]{0,6}",
    ];
    let options = (
        prop::option::weighted(0.3, 1u32..),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::option::weighted(shape.device, device()),
        any::<bool>(),
    );
    (
        name,
        protocol(),
        ports(),
        options,
        prop::option::weighted(0.3, advertise()),
        unix_body(),
    )
        .prop_map(|(name, protocol, ports, o, adv, unix)| {
            let mut options = EndpointOptions::default();
            // UDP sockets do not listen, so the rules refuse a backlog there.
            options.backlog = o.0.filter(|_| protocol != Protocol::Udp);
            options.reuseport = o.1;
            options.v6only = o.2;
            options.device = o.3;
            options.freebind = o.4;
            (name, protocol, ports, options, adv, unix)
        })
}

/// Networks and endpoints put together so that almost every draw passes
/// `ListenSpec::new`: distinct network names, endpoints only on defined
/// networks, no endpoint twice.
fn spec() -> impl Strategy<Value = ListenSpec> {
    spec_with(specific_selector().boxed(), ANY_SHAPE)
}

/// A spec whose specific selectors come from `specific`.
fn spec_with(specific: BoxedStrategy<Selector>, shape: Shape) -> impl Strategy<Value = ListenSpec> {
    let nets = prop::collection::vec(
        net_body(specific, shape),
        shape.networks.0..shape.networks.1,
    );
    let names = Just(NET_NAMES.to_vec()).prop_shuffle();
    let eps = prop::collection::vec(
        (any::<Index>(), ep_body(shape)),
        shape.endpoints.0..shape.endpoints.1,
    );
    (nets, names, eps).prop_filter_map("the builder refused the spec", |(bodies, names, eps)| {
        let networks: Vec<Network> = bodies
            .into_iter()
            .zip(&names)
            .map(|(body, name)| build_network(name, body))
            .collect();
        let mut endpoints: Vec<Endpoint> = Vec::new();
        if !networks.is_empty() {
            for (at, (name, protocol, ports, options, adv, unix)) in eps {
                let network = &networks[at.index(networks.len())];
                let net = network.name().clone();
                let name = name.parse().unwrap();
                if endpoints
                    .iter()
                    .any(|e| *e.network() == net && *e.name() == name)
                {
                    continue;
                }
                let mut e = if network.is_unix() {
                    let (protocol, path, options) = unix;
                    Endpoint::unix(net, name, protocol, path).with_options(options)
                } else {
                    Endpoint::new(net, name, protocol, ports).with_options(options)
                };
                // A Unix socket has no port for an advertised host to take.
                if let Some(a) =
                    adv.filter(|a| !network.is_unix() || matches!(a, Advertise::Url(_)))
                {
                    e = e.with_advertise(a);
                }
                endpoints.push(e);
            }
        }
        ListenSpec::new(networks, endpoints).ok()
    })
}

fn dns_answer() -> impl Strategy<Value = DnsAnswer> {
    prop_oneof![
        4 => prop::collection::vec(host_ip(), 0..4).prop_map(DnsAnswer::Addrs),
        1 => Just(DnsAnswer::Failed {
            error: "no record found".to_owned()
        }),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    let ifaces = prop::collection::vec(
        (
            prop::bool::weighted(0.85),
            prop::collection::vec(host_net(), 0..4),
        ),
        0..=6,
    );
    let names = Just(IFACE_NAMES.to_vec()).prop_shuffle();
    // Indexes 1..=8 so zone indexes in specs (1..=8) often name a real one.
    let indexes = Just((1..=8u32).collect::<Vec<_>>()).prop_shuffle();
    let dns = prop::collection::btree_map(
        prop_oneof![select(DNS_NAMES).prop_map(str::to_owned), dns_name()],
        dns_answer(),
        0..4,
    );
    (ifaces, names, indexes, dns).prop_map(|(ifaces, names, indexes, dns)| {
        let interfaces = ifaces
            .into_iter()
            .zip(names.into_iter().zip(indexes))
            .map(|((up, addrs), (name, index))| Interface::new(name, index, up, addrs))
            .collect();
        Host::new(interfaces, dns).expect("names and indexes are distinct and non-zero")
    })
}

/// Selectors that pick something this host has: its addresses (with the
/// right zone), their blocks, its interfaces, their classes, its DNS names;
/// and now and then any selector. Independent specs and hosts almost never
/// plan cleanly, which would leave the Ok-path properties untested.
fn fitted_selector(host: &Host) -> BoxedStrategy<Selector> {
    let held: Vec<(String, u32, IpNet)> = host
        .interfaces()
        .iter()
        .filter(|i| i.is_up())
        .flat_map(|i| {
            i.addrs()
                .iter()
                .map(|n| (i.name().to_owned(), i.index(), *n))
        })
        .filter(|(_, _, n)| !n.addr().is_unspecified())
        .collect();
    let dns: Vec<String> = host.dns_answers().keys().cloned().collect();
    if held.is_empty() {
        return specific_selector().boxed();
    }
    let addr = select(held.clone()).prop_flat_map(|(name, index, net)| {
        let ip = net.addr();
        prop_oneof![Just(Zone::Name(name)), Just(Zone::Index(index))]
            .prop_map(move |z| addr_selector(ip, z))
    });
    let cidr = select(held.clone()).prop_map(|(_, _, n)| Selector::Cidr(n.trunc()));
    let iface = select(held.clone())
        .prop_map(|(name, ..)| format!("if:{name}").parse::<Selector>().unwrap());
    let class = select(held).prop_map(|(_, _, n)| Selector::Class(AddrClass::of(n.addr())));
    let mut choices = vec![
        (3, addr.boxed()),
        (2, cidr.boxed()),
        (3, iface.boxed()),
        (2, class.boxed()),
        (1, specific_selector().boxed()),
    ];
    // Weighted 1 in 12: enough to mix in mismatches, few enough that most
    // fitted specs still plan.
    if !dns.is_empty() {
        choices.push((1, select(dns).prop_map(Selector::Dns).boxed()));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

/// A host and a spec made for it.
fn fitted() -> impl Strategy<Value = (ListenSpec, Host)> {
    host().prop_flat_map(|h| (spec_with(fitted_selector(&h), PLAN_SHAPE), Just(h)))
}

/// Characters and words of the grammar, so random text gets past the first
/// split and into the selector, option and advertise parsers.
const TOKENS: &[&str] = &[
    "=",
    ".",
    ",",
    "!",
    "%",
    ":",
    "/",
    "*",
    "?",
    "-",
    "[",
    "]",
    "@",
    "if:",
    "dns:",
    "advertise",
    "advertise=",
    "expose=",
    ";",
    "#",
    "\n",
    "\r\n",
    " ",
    "\t",
    "x",
    "public",
    "ops",
    "a.b",
    "0",
    "1",
    "8",
    "255",
    "65535",
    "70000",
    "10.0.0.0",
    "10.0.0.1",
    "fe80::1",
    "::",
    "0.0.0.0",
    "::1",
    "ipv4",
    "ipv6",
    "loopback",
    "link-local",
    "shared",
    "private",
    "local",
    "http",
    "tcp",
    "udp",
    "https",
    "://",
    "backlog=",
    "reuseport",
    "v6only",
    "v6only=false",
    "device",
    "device=",
    "freebind",
    "eth0",
    "é",
    "\u{0}",
    "\u{a0}",
    "\u{2028}",
    "%eth0",
    "/8",
    "9000-9010",
    "unix",
    "unixgram",
    "unix:",
    "/run/a.sock",
    "./a.sock",
    "../a",
    "@app",
    "/.",
    "/..",
    "mode=",
    "mode=660",
    "mode=0777",
    "owner=",
    "group=33",
    "stale=replace",
    "stale=refuse",
    "keep-file",
    "http+unix://",
    "%2F",
    "unix:///",
    // Other programs' forms, which errors name.
    "tcp4",
    "tcp6:",
    "fd:",
    "fd/",
    "fdgram/",
    "'",
    "\"",
    "_",
    "_site_",
    "_eth0:ipv6_",
    "$PORT",
    "${PORT}",
    "%25",
    "grpc://",
    "unix-abstract:",
    "http://unix:",
    "unixgram//",
    "8080:80",
    "ipv4:",
    "loopback:",
    ", ",
    " ",
];

fn grammar_text() -> impl Strategy<Value = String> {
    prop::collection::vec(select(TOKENS), 0..40).prop_map(|t| t.concat())
}

/// A valid spec's text with a few tokens inserted, removed or overwritten:
/// near-valid input reaches deeper than random text.
fn mutated_text() -> impl Strategy<Value = String> {
    let edit = (any::<Index>(), select(TOKENS), 0u8..3);
    (spec(), prop::collection::vec(edit, 1..4)).prop_map(|(spec, edits)| {
        let mut text: Vec<char> = spec.to_string().chars().collect();
        for (at, token, op) in edits {
            let i = at.index(text.len() + 1);
            match op {
                0 => {
                    text.splice(i..i, token.chars());
                }
                _ if i == text.len() => {}
                1 => {
                    text.remove(i);
                }
                _ => {
                    text.splice(i..=i, token.chars());
                }
            }
        }
        text.into_iter().collect()
    })
}

/// Few enough cases to keep the debug test binary fast, unless
/// `PROPTEST_CASES` asks for a longer hunt; no regression files, since shrunk
/// failures belong in a named test like the ones at the end.
pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

fn roundtrips(spec: &ListenSpec) -> Result<(), TestCaseError> {
    let text = spec.to_string();
    prop_assert_eq!(
        text.parse::<ListenSpec>(),
        Ok(spec.clone()),
        "text:\n{}",
        text
    );
    Ok(())
}

/// If text parses, its canonical form parses back to the same spec.
fn parses_sanely(text: &str) -> Result<(), TestCaseError> {
    match text.parse::<ListenSpec>() {
        Ok(spec) => roundtrips(&spec),
        Err(e) => {
            prop_assert!(!e.errors().is_empty(), "an error with no errors in it");
            prop_assert!(!e.to_string().is_empty());
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn spec_display_roundtrips(spec in spec()) {
        roundtrips(&spec)?;
    }

    #[test]
    fn selector_display_roundtrips(s in selector()) {
        prop_assert_eq!(s.to_string().parse::<Selector>(), Ok(s));
    }

    #[test]
    fn multicast_mapped_and_unspecified_selectors_are_refused(s in refused_selector()) {
        prop_assert!(refused(&s));
        prop_assert!(s.to_string().parse::<Selector>().is_err(), "{} parsed", s);
    }

    #[test]
    fn host_json_roundtrips(host in host(), container in prop::option::of("[ -~]{0,24}")) {
        let host = match container {
            Some(evidence) => host.in_container(evidence),
            None => host,
        };
        let json = serde_json::to_string(&host).unwrap();
        prop_assert_eq!(serde_json::from_str::<Host>(&json).unwrap(), host);
    }

    #[test]
    fn advertise_display_roundtrips(a in advertise()) {
        prop_assert_eq!(a.to_string().parse::<Advertise>(), Ok(a));
    }

    #[test]
    fn any_string_parses_without_panic(text in any::<String>()) {
        parses_sanely(&text)?;
    }

    #[test]
    fn grammar_text_parses_without_panic(text in grammar_text()) {
        parses_sanely(&text)?;
    }

    #[test]
    fn mutated_spec_parses_without_panic(text in mutated_text()) {
        parses_sanely(&text)?;
    }

    #[test]
    fn any_string_selector_parses_without_panic(text in grammar_text()) {
        if let Ok(s) = text.parse::<Selector>() {
            prop_assert_eq!(s.to_string().parse::<Selector>(), Ok(s));
        }
    }
}

fn problems_are_explained(list: &[Problem]) -> Result<(), TestCaseError> {
    for p in list {
        prop_assert!(!p.kind().to_string().trim().is_empty(), "{:?}", p);
        prop_assert!(!p.fix().trim().is_empty(), "{:?}", p);
        // Every finding names its network but the one about the spec as a whole.
        prop_assert!(
            p.network_name().is_some()
                || matches!(p.kind(), listenspec::plan::ProblemKind::EmptySpec),
            "{:?}",
            p
        );
    }
    Ok(())
}

fn holds(iface: &Interface, ip: IpAddr) -> bool {
    iface.addrs().iter().any(|n| n.addr() == ip)
}

/// The core safety property: an Ok plan binds only wildcards (on public
/// networks) and addresses an up interface of the host holds, on that
/// interface, within the network's exposure.
fn plan_is_safe(spec: &ListenSpec, host: &Host, plan: &Plan) -> Result<(), TestCaseError> {
    prop_assert_eq!(plan.endpoints().len(), spec.endpoints().len());
    for (e, pe) in spec.endpoints().iter().zip(plan.endpoints()) {
        prop_assert_eq!(e.network(), pe.network());
        prop_assert_eq!(e.name(), pe.name());
        let net = plan
            .networks()
            .iter()
            .find(|n| n.name() == pe.network())
            .expect("every endpoint's network is planned");
        for b in pe.binds() {
            let addr = b.addr();
            let ip = addr.ip();
            prop_assert_eq!(addr.port(), pe.ports().unwrap().first());
            // No other spelling of an address stands in for it: an
            // IPv4-mapped bind would be the IPv4 address inside it, for
            // `::ffff:0.0.0.0` the IPv4 wildcard.
            prop_assert!(
                !matches!(
                    AddrClass::of(ip),
                    AddrClass::Ipv4Mapped
                        | AddrClass::ThisNetwork
                        | AddrClass::Broadcast
                        | AddrClass::Multicast
                ),
                "{} is bound, but no listener may take it",
                addr
            );
            if ip.is_unspecified() {
                prop_assert!(b.interface().is_none(), "{:?}", b);
                let written = spec
                    .network(pe.network().as_str())
                    .is_some_and(|n| n.includes().iter().any(Selector::is_wildcard));
                prop_assert!(written, "wildcard {} that the spec did not write", addr);
                prop_assert_eq!(
                    net.exposure(),
                    Exposure::Public,
                    "wildcard {} on a non-public network",
                    addr
                );
                continue;
            }
            let Some(name) = b.interface() else {
                return Err(TestCaseError::fail(format!("{addr} has no interface")));
            };
            let iface = host.interface(name);
            prop_assert!(
                iface.is_some_and(|i| i.is_up() && holds(i, ip)),
                "{} bound on {}, which is not an up interface holding it; host:\n{}",
                addr,
                name,
                host
            );
            let iface = iface.expect("checked above");
            let scope = match addr {
                SocketAddr::V6(a) => a.scope_id(),
                SocketAddr::V4(_) => 0,
            };
            let want_scope = if is_link_local_v6(ip) {
                iface.index()
            } else {
                0
            };
            prop_assert_eq!(scope, want_scope, "scope of {}", addr);
            match net.exposure() {
                Exposure::Public => {}
                Exposure::Private => prop_assert!(!is_globally_reachable(ip), "{}", addr),
                Exposure::Local => prop_assert_eq!(AddrClass::of(ip), AddrClass::Loopback),
                other => prop_assert!(false, "no rule for exposure {other}"),
            }
        }
    }
    Ok(())
}

fn problems_of(r: &Result<Plan, PlanError>) -> (Vec<Problem>, Vec<Problem>) {
    match r {
        Ok(p) => (Vec::new(), p.warnings().to_vec()),
        Err(e) => (e.errors().to_vec(), e.warnings().to_vec()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn planning_is_total_deterministic_and_safe(
        (spec, host) in prop_oneof![1 => (spec(), host()), 3 => fitted()],
    ) {
        let first = listenspec::plan(&spec, &host);
        prop_assert_eq!(&first, &listenspec::plan(&spec, &host));
        let strict = listenspec::plan_with(&spec, &host, PlanOptions::strict());
        prop_assert_eq!(&strict, &listenspec::plan_with(&spec, &host, PlanOptions::strict()));

        let (errors, warnings) = problems_of(&first);
        problems_are_explained(&errors)?;
        problems_are_explained(&warnings)?;
        prop_assert!(warnings.iter().all(Problem::is_warning));
        prop_assert!(errors.iter().all(|p| !p.is_warning()));
        match &first {
            Ok(plan) => plan_is_safe(&spec, &host, plan)?,
            Err(e) => prop_assert!(!e.errors().is_empty()),
        }

        // Strict only moves warnings to the errors, after the real errors.
        let (strict_errors, strict_warnings) = problems_of(&strict);
        prop_assert!(strict_warnings.is_empty());
        let mut all = errors;
        all.extend(warnings);
        prop_assert_eq!(&strict_errors, &all);
        if let Ok(plan) = &strict {
            prop_assert_eq!(Ok(plan), first.as_ref());
        }
    }
}

/// `shared` is both an address class and a network option; after a comma
/// it is the class, as Display writes it.
#[test]
fn shared_class_roundtrips() {
    for text in ["x = loopback,shared", "x = shared", "x = shared shared"] {
        let spec: ListenSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(spec.to_string().parse::<ListenSpec>().unwrap(), spec);
    }
}

/// Regression: a scheme-less advertise host went through `tcp://`, where the
/// URL parser keeps `0.0.0.0` (or `0`) as an opaque name instead of an IPv4
/// address, so the wildcard check missed it and the plan told clients
/// `http://0.0.0.0:8080/`.
#[test]
fn advertise_refuses_every_wildcard_spelling() {
    for text in [
        "0.0.0.0",
        "0",
        "0x0",
        "0.0:80",
        "tcp://0.0.0.0:5",
        "udp://0",
    ] {
        assert!(
            text.parse::<Advertise>().is_err(),
            "advertise {text} was accepted"
        );
    }
}

/// The host of an advertised value, written as clients' URL readers read
/// it: spellings of a host the URL Standard knows (and the `url` crate
/// implements) as hexadecimal, octal, shortened or mapped addresses.
fn hostile_host() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[0-9a-fA-FxX.%]{1,14}",
        1 => "[0-9]{1,11}",
        1 => prop::collection::vec(select(&["0", "00", "0x", "0x0", "0x7f", "017", "255", "256", "1"][..]), 1..6)
            .prop_map(|parts| parts.join(".")),
        1 => select(&[
            "[::]", "[0:0::0]", "[::0.0.0.0]", "[::ffff:0:0]", "[::ffff:0.0.0.0]",
            "[::ffff:127.0.0.1]", "[::ffff:ff00:1]", "[ff02::1]", "[2001:db8::1]", "[::1]",
            "[0000:0000:0000:0000:0000:0000:0000:0000]", "[::ffff:255.255.255.255]",
        ][..]).prop_map(str::to_owned),
    ]
}

/// The host as the `url` crate (the URL Standard) reads it.
fn whatwg_host(url: &url::Url) -> Option<UrlHost> {
    Some(match url.host()? {
        url::Host::Ipv4(a) => UrlHost::Ip(a.into()),
        url::Host::Ipv6(a) => UrlHost::Ip(a.into()),
        url::Host::Domain(d) => UrlHost::Name(d.to_owned()),
    })
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the spelling, an advertised host means what it means to a
    /// client reading the URL Standard's way: a host accepted is the one
    /// the `url` crate reads (and the URL reads back as itself), and any
    /// host it reads as a wildcard, multicast or broadcast address is
    /// refused.
    #[test]
    fn an_advertised_host_means_what_it_means_to_clients(
        host in hostile_host(),
        scheme in select(&["", "http://", "https://", "tcp://", "udp://", "grpc://", "ws://"][..]),
        port in select(&["", ":80", ":443", ":08080", ":65535"][..]),
    ) {
        let text = format!("{scheme}{host}{port}");
        let whatwg = url::Url::parse(&format!("http://{host}{port}/")).ok();
        let theirs = whatwg.as_ref().and_then(whatwg_host);
        if let Some(UrlHost::Ip(ip)) = &theirs {
            let ip = ip.to_canonical();
            if ip.is_unspecified() || ip.is_multicast() || ip == IpAddr::from([255u8; 4]) {
                prop_assert!(text.parse::<Advertise>().is_err(), "advertise {} was accepted", text);
            }
        }
        match text.parse::<Advertise>() {
            Ok(Advertise::Url(u)) => {
                prop_assert_eq!(u.host(), theirs.as_ref(), "{}", text);
                let again = url::Url::parse(u.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), u.as_str());
                prop_assert_eq!(again.port_or_known_default(), u.port());
            }
            Ok(Advertise::Host { host, .. }) => prop_assert_eq!(Some(host), theirs, "{}", text),
            Ok(other) => prop_assert!(false, "{text}: {other:?}"),
            Err(_) => {}
        }
    }
}

/// Regression: `ListenSpec::new` promised the parser's checks but skipped
/// those inside selectors, `device=` and the advertised URL, so the builder
/// made specs whose text did not parse.
#[test]
fn builder_refuses_what_the_parser_refuses() {
    let x = || "x".parse::<listenspec::spec::Name>().unwrap();
    let net = |s: Selector| Network::new(x()).with_include(s);
    let device = |d: &str| {
        let mut o = EndpointOptions::default();
        o.device = Some(Device::Named(d.to_owned()));
        Endpoint::new(x(), "a".parse().unwrap(), Protocol::Tcp, Ports::single(1)).with_options(o)
    };
    let loopback = || net(Selector::Class(AddrClass::Loopback));
    let cases = [
        (vec![loopback()], vec![device("a b")]),
        (vec![loopback()], vec![device("")]),
        (
            vec![loopback().with_advertise(Advertise::Host {
                host: UrlHost::Name("a;b".to_owned()),
                port: None,
            })],
            vec![],
        ),
        (
            vec![net(Selector::Addr {
                ip: "fe80::1".parse().unwrap(),
                zone: None,
            })],
            vec![],
        ),
        (
            vec![net(Selector::Cidr("10.0.0.1/8".parse().unwrap()))],
            vec![],
        ),
        (vec![net(Selector::Dns("a b".to_owned()))], vec![]),
    ];
    for (networks, endpoints) in cases {
        if let Ok(spec) = ListenSpec::new(networks, endpoints) {
            let text = spec.to_string();
            assert!(
                text.parse::<ListenSpec>().is_ok(),
                "built, but {text:?} does not parse"
            );
        }
    }
}

/// Path bytes a URL cannot hold as they are: `%`, `?`, `#`, a space, `@`,
/// `:`, a backslash, and bytes that are not UTF-8 (a lone continuation
/// byte, `\xff`, half of `é`), beside plain ones.
#[cfg(unix)]
const URL_BYTES: &[u8] = b"az09-._~%?# @:;+&=!$'()*,[]\\\x80\xff\xc3\xa9";

/// A directory's path as bytes: `/` and segments of `URL_BYTES`, among
/// them `..`, which a URL parser would resolve away (`.` and empty
/// segments too, though a resolved path keeps neither).
#[cfg(unix)]
fn dir_bytes() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        4 => prop::collection::vec(select(URL_BYTES), 1..8),
        1 => Just(b"..".to_vec()),
        1 => Just(b".".to_vec()),
        1 => Just(Vec::new()),
    ];
    prop::collection::vec(segment, 1..6).prop_map(|segments| {
        let mut out = Vec::new();
        for s in segments {
            out.push(b'/');
            out.extend(s);
        }
        out
    })
}

/// The test's own percent-decoding (RFC 3986), not the crate's: `%XX` to
/// its byte, anything else as it is; `None` for a broken escape.
fn decode(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// What the advertised URL of a planned Unix endpoint says its socket is,
/// as a client reads it: the path of `unix:`/`unixgram:`, the host of
/// `http+unix://`, decoded.
fn url_names(url: &url::Url) -> Option<Vec<u8>> {
    match url.scheme() {
        "unix" | "unixgram" => decode(url.path()),
        "http+unix" | "https+unix" if url.path() == "/" => decode(url.host_str()?),
        _ => None,
    }
}

proptest! {
    #![proptest_config(config())]

    /// The URL a Unix endpoint advertises names its socket and no other:
    /// it parses again to itself, and decodes to exactly the planned
    /// path's bytes, whatever bytes the working directory a relative path
    /// was resolved against holds.
    #[cfg(unix)] // a working directory of any bytes: Unix paths are bytes
    #[test]
    fn an_advertised_unix_url_decodes_to_its_path(
        dir in dir_bytes(),
        protocol in select(&["unix", "unixgram", "http", "https"][..]),
        file in select(&["s.sock", "a%25b?c.sock", "é%.sock", "..x.sock"][..]),
    ) {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let cwd = std::path::PathBuf::from(std::ffi::OsString::from_vec(dir));
        let host = Host::builder().cwd(&cwd).build().unwrap();
        let spec: ListenSpec = format!("local = unix\nlocal.s = {protocol}:./{file}").parse().unwrap();
        let plan = spec.plan(&host).unwrap();
        let ep = &plan.endpoints()[0];
        let planned = ep.unix().unwrap().path().file().unwrap().as_os_str().as_bytes().to_vec();
        let url = ep.advertised().unwrap().url().unwrap();
        let again = url::Url::parse(url.as_str()).unwrap();
        prop_assert_eq!(again.as_str(), url.as_str());
        prop_assert_eq!(url_names(&again), Some(planned), "{}", url);
    }

    /// A path written in the spec round-trips as well: `.`, `..` and
    /// doubled `/` kept as written, and the abstract names of Linux.
    #[test]
    fn an_advertised_unix_url_decodes_to_a_written_path(
        segments in prop::collection::vec(
            prop_oneof![
                3 => prop::collection::vec(select(&b"az9-_~%?:@!$&'()*+,=[]"[..]), 1..6)
                    .prop_map(|b| String::from_utf8(b).unwrap()),
                1 => select(&["é", "..", ".", "", "%2F", "%2e%2E"][..]).prop_map(str::to_owned),
            ],
            1..6,
        ),
        abstract_name in any::<bool>(),
        protocol in select(&["unix", "unixgram", "http"][..]),
    ) {
        let body = format!("{}/x.sock", segments.join("/"));
        let path = if abstract_name { format!("@{body}") } else { format!("/{body}") };
        let spec = format!("local = unix\nlocal.s = {protocol}:{path}").parse::<ListenSpec>();
        // `//` at the start is not a socket path the spec takes.
        prop_assume!(spec.is_ok());
        let spec = spec.unwrap();
        let host = Host::builder().build().unwrap();
        let plan = spec.plan(&host).unwrap();
        let url = plan.endpoints()[0].advertised().unwrap().url().unwrap();
        let again = url::Url::parse(url.as_str()).unwrap();
        prop_assert_eq!(again.as_str(), url.as_str());
        prop_assert_eq!(url_names(&again), Some(path.into_bytes()), "{}", url);
    }
}
