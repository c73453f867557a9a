//! The planner against arbitrary hosts: whatever the spec and the host, `plan`
//! and `plan_with(strict)` never panic, and every plan they return keeps the
//! exposure invariant, judged by the canonical form of each bound address (an
//! IPv4-mapped `::ffff:a.b.c.d` is judged as `a.b.c.d`):
//!
//! - `private`: no wildcard (`0.0.0.0`, `::`, `::ffff:0.0.0.0`) and no
//!   globally reachable address (`class::is_globally_reachable`);
//! - `local`: loopback only (`AddrClass::of(..) == Loopback`);
//! - every network: a wildcard bind only if the spec wrote a wildcard selector
//!   of that family for the network (`*`, or `0.0.0.0` for the IPv4 wildcard,
//!   `::` for the IPv6 one).
//!
//! The input is decoded, byte by byte, into a spec text built from the
//! grammar's words (so most inputs parse) plus a host whose interfaces and DNS
//! answers lean hard on the dangerous addresses: wildcards, IPv4-mapped forms,
//! broadcast, multicast, global ones. A failure prints the spec and the host.
#![no_main]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

use listenspec::class::is_globally_reachable;
use listenspec::host::{DnsAnswer, Interface};
use listenspec::spec::{Exposure, Family, Selector};
use listenspec::{AddrClass, Host, ListenSpec, PlanOptions, plan, plan_with};

use ipnet::IpNet;

/// Interface names: a few real-looking ones, and `X` from the issue.
const IFACES: &[&str] = &["lo", "eth0", "eth1", "eth2", "docker0", "X", "en0"];
/// Interface patterns for `if:` selectors (names above, globs, an unknown one).
const IF_PATTERNS: &[&str] = &[
    "lo", "eth0", "eth1", "eth2", "docker0", "X", "en0", "eth*", "e*", "*", "en?", "eth9",
];
/// Names for `dns:` selectors and DNS answers.
const DNS_NAMES: &[&str] = &["svc", "my-awesome-service", "localhost", "node1.internal"];
const NET_NAMES: &[&str] = &["public", "internal", "ops", "mgmt", "edge", "x"];
const EP_NAMES: &[&str] = &["http", "metrics", "admin", "grpc", "a"];

/// Addresses an interface or a DNS answer may hold, the dangerous ones first.
const V4: &[[u8; 4]] = &[
    [0, 0, 0, 0],
    [8, 8, 8, 8],
    [255, 255, 255, 255],
    [0, 1, 2, 3],
    [224, 0, 0, 1],
    [239, 1, 1, 1],
    [31, 167, 56, 251],
    [127, 0, 0, 1],
    [127, 5, 5, 5],
    [169, 254, 1, 1],
    [10, 0, 15, 23],
    [172, 17, 0, 1],
    [192, 168, 1, 1],
    [100, 64, 0, 1],
    [192, 0, 2, 2],
    [198, 51, 100, 7],
    [203, 0, 113, 5],
    [240, 0, 0, 1],
    [192, 88, 99, 2],
    [192, 0, 0, 9],
    [198, 18, 0, 1],
];
const V6: &[&str] = &[
    "::ffff:0.0.0.0",
    "::ffff:8.8.8.8",
    "::",
    "::ffff:255.255.255.255",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:224.0.0.1",
    "::ffff:169.254.1.1",
    "::fffe:0:1",
    "::8.8.8.8",
    "::1",
    "2001:4860::1",
    "2a01:4f8::10",
    "fe80::1",
    "fe80::2",
    "fd00::23",
    "2001:db8::1",
    "3fff::1",
    "ff02::1",
    "ff0e::1",
    "64:ff9b::808:808",
    "2002::1",
    "2001::1",
    "fec0::1",
    "100::1",
];

/// Selectors that need no host data to write.
const SELECTORS: &[&str] = &[
    "*",
    "0.0.0.0",
    "::",
    "::/0",
    "0.0.0.0/0",
    "::fffe:0:0/95",
    "::ffff:0:0/96",
    "::/96",
    "::/64",
    "0.0.0.0/8",
    "128.0.0.0/1",
    "8.0.0.0/8",
    "2000::/3",
    "2001:4860::/32",
    "fe80::/10",
    "10.0.0.0/8",
    "fd00::/8",
    "global",
    "private",
    "loopback",
    "link-local",
    "ipv4-mapped",
    "unique-local",
    "documentation",
    "shared",
    "this-network",
    "reserved",
    "broadcast",
    "translation",
    "teredo",
    "6to4",
    "benchmarking",
    "anycast",
    "protocol-assignments",
    "multicast",
    "unspecified",
    "127.0.0.1",
    "::1",
    "8.8.8.8",
    "fe80::1%eth0",
    "fe80::1%X",
    "fe80::2%2",
];

const PORTS: &[&str] = &["8080", "0", "80", "9000-9010", "1", "65535", "8080-8090"];
const PROTOCOLS: &[&str] = &["tcp", "udp", "http", "https"];
const EP_OPTIONS: &[&str] = &[
    "v6only=false",
    "v6only",
    "device",
    "device=eth0",
    "device=X",
    "reuseport",
    "freebind",
    "backlog=16",
];
const ADVERTISE: &[&str] = &[
    "advertise https://my-awesome-service",
    "advertise svc:8080",
    "advertise 8.8.8.8",
    "advertise [::1]:81",
    "advertise [::ffff:0:0]:81",
    "advertise [::ffff:8.8.8.8]:81",
    "advertise 239.1.1.1",
    "advertise [ff08::108]",
    "advertise tcp://node1.internal",
    "advertise http://127.0.0.1:9100",
];

/// True one time in `n`; false when the input has run out, so a short input
/// decodes to a plain spec and host rather than to every rare option at once.
fn one_in(u: &mut Unstructured<'_>, n: u8) -> Result<bool> {
    Ok(u.int_in_range(1..=n)? == n)
}

fn pick<'a, T>(u: &mut Unstructured<'_>, items: &'a [T]) -> Result<&'a T> {
    u.choose(items)
}

/// An address, mostly from the tables, sometimes mapped into IPv6, sometimes any.
fn addr(u: &mut Unstructured<'_>) -> Result<IpAddr> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=3 => IpAddr::V4(Ipv4Addr::from(*pick(u, V4)?)),
        4..=6 => IpAddr::V6(pick(u, V6)?.parse().unwrap()),
        // Any table IPv4 address in its IPv4-mapped spelling.
        7 => IpAddr::V6(Ipv4Addr::from(*pick(u, V4)?).to_ipv6_mapped()),
        8 => IpAddr::V4(Ipv4Addr::from(u.arbitrary::<u32>()?)),
        _ => {
            // A mapped address with an arbitrary IPv4 inside, or any IPv6.
            if u.arbitrary()? {
                IpAddr::V6(Ipv4Addr::from(u.arbitrary::<u32>()?).to_ipv6_mapped())
            } else {
                IpAddr::V6(Ipv6Addr::from(u.arbitrary::<u128>()?))
            }
        }
    })
}

fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

/// A prefix length for an interface address: full, a common one, or any.
fn prefix(u: &mut Unstructured<'_>, ip: IpAddr) -> Result<u8> {
    let max = max_prefix(ip);
    Ok(match u.int_in_range(0u8..=3)? {
        0 => max,
        1 => *pick(
            u,
            if ip.is_ipv4() {
                &[8, 16, 24, 0][..]
            } else {
                &[64, 96, 95, 0][..]
            },
        )?,
        _ => u.int_in_range(0..=max)?,
    })
}

/// A selector text: mostly one that fits the host (its interface names, DNS
/// names, addresses, blocks around them) so plans get past "matches nothing",
/// else a word from the table or a literal or block from the address tables.
fn selector(u: &mut Unstructured<'_>, host: &Host) -> Result<String> {
    let held: Vec<IpAddr> = host.addrs().map(|(_, n)| n.addr()).collect();
    let ifaces: Vec<&str> = host.interfaces().iter().map(|i| i.name()).collect();
    let names: Vec<&str> = host.dns_answers().keys().map(String::as_str).collect();
    let literal = |u: &mut Unstructured<'_>, ip: IpAddr| -> Result<String> {
        Ok(
            if ip.is_ipv6() && AddrClass::of(ip) == AddrClass::LinkLocal {
                let zone = match host.addrs().find(|(_, n)| n.addr() == ip) {
                    Some((i, _)) if u.ratio(3u8, 4)? => i.name().to_owned(),
                    _ => (*pick(u, IFACES)?).to_owned(),
                };
                format!("{ip}%{zone}")
            } else {
                ip.to_string()
            },
        )
    };
    let block = |u: &mut Unstructured<'_>, ip: IpAddr| -> Result<String> {
        let len = prefix(u, ip)?;
        Ok(IpNet::new(ip, len).unwrap().trunc().to_string())
    };
    Ok(match u.int_in_range(0u8..=15)? {
        4..=7 if !ifaces.is_empty() => format!("if:{}", pick(u, &ifaces)?),
        8 | 9 if !names.is_empty() => format!("dns:{}", pick(u, &names)?),
        10..=12 if !held.is_empty() => {
            let ip = *pick(u, &held)?;
            literal(u, ip)?
        }
        13..=15 if !held.is_empty() => {
            let ip = *pick(u, &held)?;
            block(u, ip)?
        }
        1 => format!("if:{}", pick(u, IF_PATTERNS)?),
        2 => format!("dns:{}", pick(u, DNS_NAMES)?),
        3 => {
            let ip = addr(u)?;
            if u.arbitrary()? {
                literal(u, ip)?
            } else {
                block(u, ip)?
            }
        }
        _ => (*pick(u, SELECTORS)?).to_owned(),
    })
}

/// The spec text: networks with selectors, excludes and options, then
/// endpoints, each line from the grammar's words.
fn spec_text(u: &mut Unstructured<'_>, host: &Host) -> Result<String> {
    let mut text = String::new();
    let networks = u.int_in_range(1u8..=3)?;
    let mut names = Vec::new();
    for _ in 0..networks {
        let name = *pick(u, NET_NAMES)?;
        names.push(name);
        let mut words = Vec::new();
        for _ in 0..*pick(u, &[1u8, 1, 1, 2, 2, 3])? {
            words.push(selector(u, host)?);
        }
        for _ in 0..u.int_in_range(0u8..=2)? {
            if one_in(u, 3)? {
                words.push(format!("!{}", selector(u, host)?));
            }
        }
        match u.int_in_range(0u8..=5)? {
            4 => words.push("ipv4".into()),
            5 => words.push("ipv6".into()),
            _ => {}
        }
        let mut line = format!("{name} = {}", words.join(", "));
        match u.int_in_range(0u8..=4)? {
            2 => line.push_str(" expose=private"),
            3 => line.push_str(" expose=local"),
            4 => line.push_str(" expose=public"),
            _ => {}
        }
        if one_in(u, 6)? {
            line.push_str(" shared");
        }
        if one_in(u, 6)? {
            write!(line, " {}", pick(u, ADVERTISE)?).unwrap();
        }
        text.push_str(&line);
        text.push('\n');
    }
    for _ in 0..u.int_in_range(1u8..=4)? {
        // Mostly a network defined above.
        let net = if u.ratio(7u8, 8)? {
            *pick(u, &names)?
        } else {
            *pick(u, NET_NAMES)?
        };
        let mut line = format!(
            "{net}.{} = {}:{}",
            pick(u, EP_NAMES)?,
            pick(u, PROTOCOLS)?,
            pick(u, PORTS)?
        );
        for _ in 0..u.int_in_range(0u8..=2)? {
            write!(line, " {}", pick(u, EP_OPTIONS)?).unwrap();
        }
        if one_in(u, 8)? {
            write!(line, " {}", pick(u, ADVERTISE)?).unwrap();
        }
        text.push_str(&line);
        text.push('\n');
    }
    // Now and then a tail of free text, for what the tables do not know.
    if one_in(u, 16)? {
        let len = u.int_in_range(0usize..=24)?;
        let tail: String = u
            .bytes(len.min(u.len()))?
            .iter()
            .map(|&b| char::from(b))
            .collect();
        text.push_str(&tail);
    }
    Ok(text)
}

/// A host: up to five interfaces (unique names and indexes, mostly up) with
/// up to four addresses each, and DNS answers for some of the names.
fn host(u: &mut Unstructured<'_>) -> Result<Host> {
    let mut interfaces = Vec::new();
    let mut used = Vec::new();
    for index in 1..=u.int_in_range(1u32..=5)? {
        let name = *pick(u, IFACES)?;
        if used.contains(&name) {
            continue;
        }
        used.push(name);
        let up = u.ratio(5u8, 6)?;
        let mut addrs = Vec::new();
        for _ in 0..*pick(u, &[1u8, 2, 3, 4, 0])? {
            let ip = addr(u)?;
            addrs.push(IpNet::new(ip, prefix(u, ip)?).unwrap());
        }
        interfaces.push(Interface::new(name, index, up, addrs));
    }
    let mut dns = BTreeMap::new();
    for &name in DNS_NAMES {
        match u.int_in_range(0u8..=3)? {
            0 => {}
            1 => {
                dns.insert(
                    name.to_owned(),
                    DnsAnswer::Failed {
                        error: "no record".into(),
                    },
                );
            }
            _ => {
                // Mostly this host's own addresses, as a name for the host would be.
                let held: Vec<IpAddr> = interfaces
                    .iter()
                    .flat_map(|i: &Interface| i.addrs())
                    .map(|n| n.addr())
                    .collect();
                let mut ips = Vec::new();
                for _ in 0..u.int_in_range(0u8..=3)? {
                    ips.push(if !held.is_empty() && u.ratio(2u8, 3)? {
                        *pick(u, &held)?
                    } else {
                        addr(u)?
                    });
                }
                dns.insert(name.to_owned(), DnsAnswer::Addrs(ips));
            }
        }
    }
    let host = Host::new(interfaces, dns).expect("names and indexes are unique, indexes non-zero");
    Ok(if one_in(u, 8)? {
        host.in_container("/.dockerenv exists: Docker")
    } else {
        host
    })
}

/// Everything a failure report needs: the spec and the host.
fn describe(text: &str, host: &Host) -> String {
    let mut s = format!("spec:\n{text}\nhost:\n{host}");
    for (name, answer) in host.dns_answers() {
        write!(s, "\ndns {name}: {answer:?}").unwrap();
    }
    if let Some(c) = host.container() {
        write!(s, "\ncontainer: {c}").unwrap();
    }
    s
}

/// Whether the network wrote a wildcard selector for the family of `wild`.
fn wrote_wildcard(includes: &[Selector], family: Family) -> bool {
    includes
        .iter()
        .any(|s| matches!(s, Selector::Any) || *s == Selector::Wildcard(family))
}

fn check(spec: &ListenSpec, p: &listenspec::Plan, what: &str, ctx: &dyn Fn() -> String) {
    for e in p.endpoints() {
        let net = spec.network(e.network().as_str()).unwrap_or_else(|| {
            panic!(
                "{what}: endpoint {} on no network\n{}",
                e.qualified(),
                ctx()
            )
        });
        let exposure = net.exposure();
        if let Some(planned) = p.networks().iter().find(|n| n.name() == net.name()) {
            assert_eq!(
                planned.exposure(),
                exposure,
                "{what}: {} planned with another exposure\n{}",
                net.name(),
                ctx()
            );
        }
        for b in e.binds() {
            let ip = b.addr().ip();
            let canon = ip.to_canonical();
            let wildcard = canon.is_unspecified();
            let mut broken = Vec::new();
            if wildcard && !wrote_wildcard(net.includes(), Family::of(canon)) {
                broken.push("a wildcard the spec did not write for this network");
            }
            match exposure {
                Exposure::Public => {}
                Exposure::Private => {
                    if wildcard {
                        broken.push("a wildcard on a private network");
                    }
                    if is_globally_reachable(canon) {
                        broken.push("a globally reachable address on a private network");
                    }
                }
                Exposure::Local => {
                    if AddrClass::of(canon) != AddrClass::Loopback {
                        broken.push("not loopback on a local network");
                    }
                }
                _ => broken.push("an exposure level this target has no rule for"),
            }
            assert!(
                broken.is_empty(),
                "{what}: {} binds {} ({canon}, {:?}, why: {}): {}\n{}",
                e.qualified(),
                b.addr(),
                AddrClass::of(canon),
                b.why(),
                broken.join("; "),
                ctx()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(host) = host(&mut u) else {
        return;
    };
    let Ok(text) = spec_text(&mut u, &host) else {
        return;
    };
    let Ok(spec) = text.parse::<ListenSpec>() else {
        return;
    };
    let ctx = || describe(&text, &host);

    let normal = plan(&spec, &host);
    let strict = plan_with(&spec, &host, PlanOptions::strict());
    // Every message and fix is written out, to reach their formatting too.
    let mut sink = String::new();
    match &normal {
        Ok(p) => {
            check(&spec, p, "plan", &ctx);
            for w in p.warnings() {
                write!(sink, "{w}").unwrap();
            }
            write!(sink, "{p:?}").unwrap();
        }
        Err(e) => write!(sink, "{e}").unwrap(),
    }
    match &strict {
        Ok(p) => {
            check(&spec, p, "plan_with(strict)", &ctx);
            assert!(
                p.warnings().is_empty(),
                "strict plan kept warnings\n{}",
                ctx()
            );
            assert_eq!(
                normal.as_ref().ok(),
                Some(p),
                "strict planned what the default refused, or planned differently\n{}",
                ctx()
            );
        }
        Err(e) => write!(sink, "{e}").unwrap(),
    }
    std::hint::black_box(sink);
});
