//! Turning one network's selectors into the host addresses it gets.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::AddrClass;
use crate::host::{DnsAnswer, Host, Interface};
use crate::plan::{Chosen, Problem, ProblemKind, Why};
use crate::spec::{Family, Network, Selector, Zone};

/// An include selector made ready for matching: zones and DNS answers looked
/// up once, not once per host address.
enum Ready<'a> {
    Selector(&'a Selector),
    /// A link-local literal with its zone turned into an interface index.
    Scoped(IpAddr, u32),
    /// A DNS name's answers.
    Dns(&'a [IpAddr]),
    /// Could not be prepared; its problem is already reported.
    Dead,
}

impl Ready<'_> {
    fn matches(&self, iface: &Interface, ip: IpAddr) -> bool {
        match self {
            Ready::Selector(s) => match s {
                Selector::Addr { ip: want, .. } => *want == ip,
                Selector::Cidr(net) => net.contains(&ip),
                Selector::Interface(p) => p.matches(iface.name()),
                Selector::Class(c) => AddrClass::of(ip) == *c,
                // Wildcards never reach here, DNS is `Ready::Dns`.
                _ => false,
            },
            Ready::Scoped(want, index) => *want == ip && iface.index() == *index,
            Ready::Dns(answers) => answers.contains(&ip),
            Ready::Dead => false,
        }
    }
}

/// The host as error messages show it.
pub(crate) fn describe(host: &Host) -> String {
    if host.interfaces().is_empty() {
        "no interfaces with addresses".to_owned()
    } else {
        host.to_string()
    }
}

fn zone_index(zone: &Zone, host: &Host) -> Option<u32> {
    match zone {
        Zone::Index(i) => host.interface_by_index(*i).map(Interface::index),
        Zone::Name(n) => host.interface(n).map(Interface::index),
    }
}

fn interface_names(host: &Host) -> Vec<String> {
    host.interfaces()
        .iter()
        .map(|i| i.name().to_owned())
        .collect()
}

/// Resolves one network against the host. Problems go to `out`; the
/// addresses that survived are returned even when there are problems, so
/// later checks can still report theirs.
pub(crate) fn resolve(net: &Network, host: &Host, out: &mut Vec<Problem>) -> Vec<Chosen> {
    let name = net.name();
    let mut report = |kind| out.push(Problem::network(name, kind));
    if net.includes().iter().all(Selector::is_wildcard) {
        return wildcards(net, host, &mut report);
    }

    let ready: Vec<Ready> = net
        .includes()
        .iter()
        .map(|s| prepare(s, host, &mut report))
        .collect();
    let excludes: Vec<Ready> = net
        .excludes()
        .iter()
        .map(|s| prepare(s, host, &mut report))
        .collect();

    let mut matched = vec![false; ready.len()];
    // Which includes matched only link-local addresses they may not take, for
    // a better message than "matches nothing".
    let mut link_local_only = vec![false; ready.len()];
    let mut chosen = Vec::new();
    let mut removed = Vec::new();
    let mut seen = HashSet::new();
    let mut skipped_down: Vec<(&str, Vec<IpAddr>)> = Vec::new();
    for (iface, addr) in host.addrs() {
        let ip = addr.addr();
        // An interface "holding" 0.0.0.0 or a multicast address is a broken
        // snapshot; taken as specific, it would be a wildcard in disguise.
        if matches!(AddrClass::of(ip), AddrClass::Unspecified | AddrClass::Multicast) {
            continue;
        }
        let link_local = AddrClass::of(ip) == AddrClass::LinkLocal;
        let mut hit = None;
        for (i, r) in ready.iter().enumerate() {
            if !r.matches(iface, ip) {
                continue;
            }
            if link_local && !net.includes()[i].names_link_local() {
                link_local_only[i] = true;
                continue;
            }
            hit.get_or_insert(i);
            matched[i] = true;
        }
        let Some(i) = hit else { continue };
        // Excludes first, so `!if:eth3` silences a down eth3.
        if excludes.iter().any(|x| x.matches(iface, ip))
            || net.family_filter().is_some_and(|f| f != Family::of(ip))
        {
            removed.push(ip);
            continue;
        }
        if !iface.is_up() {
            match &net.includes()[i] {
                Selector::Addr { .. } | Selector::Interface(_) => {
                    report(ProblemKind::InterfaceDown {
                        interface: iface.name().to_owned(),
                    });
                }
                _ => match skipped_down.iter_mut().find(|(n, _)| *n == iface.name()) {
                    Some((_, list)) => list.push(ip),
                    None => skipped_down.push((iface.name(), vec![ip])),
                },
            }
            continue;
        }
        let scope_id = if link_local && ip.is_ipv6() {
            iface.index()
        } else {
            0
        };
        if seen.insert((ip, scope_id)) {
            chosen.push(Chosen {
                ip,
                scope_id,
                interface: Some(iface.name().to_owned()),
                why: Why::Matched {
                    selector: net.includes()[i].clone(),
                    interface: iface.name().to_owned(),
                    net: *addr,
                },
            });
        }
    }
    // Interface down is reported once per interface, however many addresses.
    out.dedup();
    loopback_literals(net, host, &mut matched, &mut chosen, &mut seen);

    let mut report = |kind| out.push(Problem::network(name, kind));
    for (interface, addrs) in skipped_down {
        report(ProblemKind::SkippedDown {
            interface: interface.to_owned(),
            addrs,
        });
    }
    let mut unmatched = false;
    for (i, sel) in net.includes().iter().enumerate() {
        if matched[i] || matches!(ready[i], Ready::Dead) {
            continue;
        }
        unmatched = true;
        let kind = match (sel, &ready[i]) {
            (Selector::Addr { ip, .. }, _) => ProblemKind::NotLocal {
                selector: sel.clone(),
                remote: vec![*ip],
                host: describe(host),
            },
            (Selector::Dns(_), Ready::Dns(answers)) => ProblemKind::NotLocal {
                selector: sel.clone(),
                remote: answers.to_vec(),
                host: describe(host),
            },
            _ => ProblemKind::NoMatch {
                selector: sel.clone(),
                note: link_local_only[i].then(|| {
                    " but link-local ones, which are taken only when a selector names them \
                     (link-local, fe80::/10, or the address with its zone)"
                        .to_owned()
                }),
                host: describe(host),
            },
        };
        report(kind);
    }
    for (sel, r) in net.includes().iter().zip(&ready) {
        if let (Selector::Dns(dns), Ready::Dns(answers)) = (sel, r) {
            let remote: Vec<IpAddr> = answers
                .iter()
                .copied()
                .filter(|ip| host.owner_of(*ip, None).is_none())
                .collect();
            if !remote.is_empty() && remote.len() < answers.len() {
                report(ProblemKind::DnsPartlyRemote {
                    name: dns.clone(),
                    remote,
                });
            }
        }
    }
    if chosen.is_empty() && !unmatched && !removed.is_empty() {
        report(ProblemKind::AllExcluded { removed });
    }
    chosen
}

/// Linux delivers the whole loopback block an interface holds (127.0.0.0/8
/// for `127.0.0.1/8`) to it, so `127.0.0.2` is bindable though no interface
/// lists it; a literal there is taken with the block as its reason.
fn loopback_literals(
    net: &Network,
    host: &Host,
    matched: &mut [bool],
    chosen: &mut Vec<Chosen>,
    seen: &mut HashSet<(IpAddr, u32)>,
) {
    for (i, sel) in net.includes().iter().enumerate() {
        let Selector::Addr { ip, zone: None } = sel else {
            continue;
        };
        if matched[i] || AddrClass::of(*ip) != AddrClass::Loopback {
            continue;
        }
        let holder = host.addrs().find(|(iface, block)| {
            iface.is_up()
                && AddrClass::of(block.addr()) == AddrClass::Loopback
                && block.contains(ip)
        });
        if let Some((iface, block)) = holder {
            matched[i] = true;
            if net.family_filter().is_none_or(|f| f == Family::of(*ip)) && seen.insert((*ip, 0)) {
                chosen.push(Chosen {
                    ip: *ip,
                    scope_id: 0,
                    interface: Some(iface.name().to_owned()),
                    why: Why::Matched {
                        selector: sel.clone(),
                        interface: iface.name().to_owned(),
                        net: *block,
                    },
                });
            }
        }
    }
}

/// A network of wildcards: one socket address per family the host has.
fn wildcards(net: &Network, host: &Host, report: &mut impl FnMut(ProblemKind)) -> Vec<Chosen> {
    let has = |f: Family| {
        host.addrs()
            .any(|(i, a): (&Interface, &IpNet)| i.is_up() && Family::of(a.addr()) == f)
    };
    let mut chosen = Vec::new();
    for sel in net.includes() {
        let families: &[Family] = match sel {
            Selector::Wildcard(f) => std::slice::from_ref(f),
            _ => &[Family::V4, Family::V6],
        };
        let before = chosen.len();
        for &f in families {
            let wanted = net.family_filter().is_none_or(|g| g == f);
            let dup = chosen.iter().any(|c: &Chosen| c.ip == f.unspecified());
            if wanted && has(f) && !dup {
                chosen.push(Chosen {
                    ip: f.unspecified(),
                    scope_id: 0,
                    interface: None,
                    why: Why::Wildcard {
                        selector: sel.clone(),
                    },
                });
            }
        }
        if chosen.len() == before && matches!(sel, Selector::Wildcard(_)) {
            report(ProblemKind::NoMatch {
                selector: sel.clone(),
                note: Some(
                    " because the host has no up interface with an address of that family"
                        .to_owned(),
                ),
                host: describe(host),
            });
        }
    }
    if chosen.is_empty() && net.includes().iter().all(|s| *s == Selector::Any) {
        report(ProblemKind::NoMatch {
            selector: Selector::Any,
            note: Some(" because no interface is up with an address".to_owned()),
            host: describe(host),
        });
    }
    chosen
}

/// Looks up what a selector needs from the host once: its zone, its DNS
/// answers, whether its interface exists.
fn prepare<'a>(
    sel: &'a Selector,
    host: &'a Host,
    report: &mut impl FnMut(ProblemKind),
) -> Ready<'a> {
    match sel {
        Selector::Addr {
            ip,
            zone: Some(zone),
        } => match zone_index(zone, host) {
            Some(index) => Ready::Scoped(*ip, index),
            None => {
                report(ProblemKind::UnknownInterface {
                    pattern: zone.to_string(),
                    known: interface_names(host),
                });
                Ready::Dead
            }
        },
        Selector::Dns(name) => match host.dns(name) {
            Some(DnsAnswer::Addrs(a)) if !a.is_empty() => Ready::Dns(a),
            Some(DnsAnswer::Addrs(_)) => {
                report(ProblemKind::DnsFailed {
                    name: name.clone(),
                    error: "no addresses".to_owned(),
                });
                Ready::Dead
            }
            Some(DnsAnswer::Failed { error }) => {
                report(ProblemKind::DnsFailed {
                    name: name.clone(),
                    error: error.clone(),
                });
                Ready::Dead
            }
            None => {
                report(ProblemKind::DnsNotCaptured { name: name.clone() });
                Ready::Dead
            }
        },
        Selector::Interface(p) => {
            if host.interfaces().iter().any(|i| p.matches(i.name())) {
                Ready::Selector(sel)
            } else {
                report(ProblemKind::UnknownInterface {
                    pattern: p.as_str().to_owned(),
                    known: interface_names(host),
                });
                Ready::Dead
            }
        }
        _ => Ready::Selector(sel),
    }
}
