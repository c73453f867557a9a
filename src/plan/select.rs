//! Turning one network's selectors into the host addresses it gets.

use foldhash::{HashMap, HashSet, HashSetExt};
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use smallvec::SmallVec;

use crate::host::{DnsAnswer, Interface};
use crate::plan::problem::{Unlistenable, Unmatched};
use crate::plan::{Chosen, HostAddr, HostView, Problem, ProblemKind, Why};
use crate::spec::{Family, IfPattern, Name, Network, Selector, Zone};
use crate::{AddrClass, class};

/// A selector made ready for matching: zones and DNS answers looked up, and
/// addresses and blocks turned into masks, once rather than once per host
/// address it is tried on.
enum Ready<'a> {
    /// An IPv4 address or block: the address's bits under `mask` are `net`.
    V4 { net: u32, mask: u32 },
    /// An IPv6 address or block, likewise.
    V6 { net: u128, mask: u128 },
    /// A link-local literal with its zone turned into an interface index.
    Scoped(IpAddr, u32),
    /// An interface glob.
    Glob(&'a IfPattern),
    /// An interface named in full, by its index (unique on a host, as its
    /// name is), which is cheaper to compare than the name.
    Index(u32),
    /// An address class.
    Class(AddrClass),
    /// A DNS name's answers that a listener may take, IPv4-mapped ones as
    /// the IPv4 address inside, in the resolver's order and as a set: a
    /// name may answer thousands, and each host address asks.
    Dns(Vec<IpAddr>, HashSet<IpAddr>),
    /// A wildcard among other selectors: only a network of wildcards has
    /// wildcard addresses, so it matches no host address.
    Nothing,
    /// Could not be prepared; its problem is already reported.
    Dead,
}

impl Ready<'_> {
    /// An address, or a block by its network address (so host bits, were
    /// there any, would not matter, as they do not to `IpNet::contains`).
    fn block(net: IpNet) -> Ready<'static> {
        match net {
            IpNet::V4(n) => Ready::V4 {
                net: n.network().to_bits(),
                mask: n.netmask().to_bits(),
            },
            IpNet::V6(n) => Ready::V6 {
                net: n.network().to_bits(),
                mask: n.netmask().to_bits(),
            },
        }
    }

    fn matches(&self, a: &HostAddr) -> bool {
        let (iface, ip) = (a.iface, a.net.addr());
        match (self, ip) {
            (Ready::V4 { net, mask }, IpAddr::V4(x)) => x.to_bits() & mask == *net,
            (Ready::V6 { net, mask }, IpAddr::V6(x)) => x.to_bits() & mask == *net,
            // A block of the other family.
            (Ready::V4 { .. } | Ready::V6 { .. }, _) => false,
            (Ready::Scoped(want, index), _) => *want == ip && iface.index() == *index,
            (Ready::Glob(p), _) => p.matches(iface.name()),
            (Ready::Index(i), _) => iface.index() == *i,
            (Ready::Class(c), _) => a.class == *c,
            (Ready::Dns(_, answers), _) => answers.contains(&ip.to_canonical()),
            (Ready::Nothing | Ready::Dead, _) => false,
        }
    }
}

/// Which of a network's prepared selectors take a host address, found by
/// looking the address up rather than trying each selector on it: a
/// network listing ten thousand addresses on a host of ten thousand would
/// otherwise try each on each. Made only for a network of more than
/// [`Lookup::FEW`] selectors; the few most have are tried in turn, which
/// costs less than building maps (a fleet check plans every network on
/// every host). Globs and classes are tried in turn here too: a glob
/// cannot be looked up, and there are few classes.
struct Lookup<'a> {
    /// Addresses and blocks by (mask, address under the mask); each mask
    /// in use once, so an address is looked up once per prefix length.
    v4: HashMap<(u32, u32), SmallVec<[usize; 1]>>,
    v4_masks: Vec<u32>,
    v6: HashMap<(u128, u128), SmallVec<[usize; 1]>>,
    v6_masks: Vec<u128>,
    /// Link-local literals by address and interface index.
    scoped: HashMap<(IpAddr, u32), SmallVec<[usize; 1]>>,
    /// Interfaces named in full, by index.
    by_index: HashMap<u32, SmallVec<[usize; 1]>>,
    /// DNS answers.
    answers: HashMap<IpAddr, SmallVec<[usize; 1]>>,
    tried: Vec<(usize, Tried<'a>)>,
}

/// A selector a [`Lookup`] tries on each address.
enum Tried<'a> {
    Glob(&'a IfPattern),
    Class(AddrClass),
}

/// A network's includes and excludes, each with its [`Lookup`] when it
/// has more than a few.
struct Lookups<'a> {
    includes: Option<Lookup<'a>>,
    excludes: Option<Lookup<'a>>,
}

impl<'a> Lookup<'a> {
    /// Up to this many selectors are tried in turn.
    const FEW: usize = 8;

    /// The lookup of `ready`, when there are more than [`Lookup::FEW`].
    fn of<'r>(ready: impl ExactSizeIterator<Item = &'r Ready<'a>>) -> Option<Lookup<'a>>
    where
        'a: 'r,
    {
        if ready.len() <= Lookup::FEW {
            return None;
        }
        let mut l = Lookup {
            v4: HashMap::default(),
            v4_masks: Vec::new(),
            v6: HashMap::default(),
            v6_masks: Vec::new(),
            scoped: HashMap::default(),
            by_index: HashMap::default(),
            answers: HashMap::default(),
            tried: Vec::new(),
        };
        for (i, r) in ready.enumerate() {
            match r {
                Ready::V4 { net, mask } => {
                    if !l.v4_masks.contains(mask) {
                        l.v4_masks.push(*mask);
                    }
                    l.v4.entry((*mask, *net)).or_default().push(i);
                }
                Ready::V6 { net, mask } => {
                    if !l.v6_masks.contains(mask) {
                        l.v6_masks.push(*mask);
                    }
                    l.v6.entry((*mask, *net)).or_default().push(i);
                }
                Ready::Scoped(ip, index) => l.scoped.entry((*ip, *index)).or_default().push(i),
                Ready::Index(index) => l.by_index.entry(*index).or_default().push(i),
                Ready::Dns(_, set) => {
                    for ip in set {
                        l.answers.entry(*ip).or_default().push(i);
                    }
                }
                Ready::Glob(p) => l.tried.push((i, Tried::Glob(p))),
                Ready::Class(c) => l.tried.push((i, Tried::Class(*c))),
                Ready::Nothing | Ready::Dead => {}
            }
        }
        Some(l)
    }

    /// The places of the selectors that take `a`, in ascending order.
    fn matching(&self, a: &HostAddr) -> SmallVec<[usize; 2]> {
        let ip = a.net.addr();
        let mut out = SmallVec::new();
        let mut add = |found: Option<&SmallVec<[usize; 1]>>| {
            out.extend(found.into_iter().flatten().copied());
        };
        match ip {
            IpAddr::V4(x) => {
                for &m in &self.v4_masks {
                    add(self.v4.get(&(m, x.to_bits() & m)));
                }
            }
            IpAddr::V6(x) => {
                for &m in &self.v6_masks {
                    add(self.v6.get(&(m, x.to_bits() & m)));
                }
            }
        }
        add(self.scoped.get(&(ip, a.iface.index())));
        add(self.by_index.get(&a.iface.index()));
        add(self.answers.get(&ip.to_canonical()));
        out.extend(self.tried.iter().filter_map(|(i, t)| {
            let hit = match t {
                Tried::Glob(p) => p.matches(a.iface.name()),
                Tried::Class(c) => a.class == *c,
            };
            hit.then_some(*i)
        }));
        out.sort_unstable();
        out
    }
}

/// For an `if:` selector whose interfaces exist but hold no address at all,
/// says so: the cause is on the host, which a bare "no match" would hide.
fn bare_interfaces(sel: &Selector, view: &HostView) -> Option<Unmatched> {
    let Selector::Interface(p) = sel else {
        return None;
    };
    let interfaces: Vec<String> = named(p, view)
        .into_iter()
        .filter(|i| i.addrs().is_empty())
        .map(|i| i.name().to_owned())
        .collect();
    (!interfaces.is_empty()).then_some(Unmatched::NoAddress { interfaces })
}

/// The interfaces an `if:` pattern names, in host order: a plain name is
/// looked up, and only a glob goes through every interface.
fn named<'h>(p: &IfPattern, view: &HostView<'h>) -> Vec<&'h Interface> {
    if p.is_glob() {
        let all = view.host.interfaces().iter();
        all.filter(|i| p.matches(i.name())).collect()
    } else {
        view.interface(p.as_str()).into_iter().collect()
    }
}

fn zone_index(zone: &Zone, view: &HostView) -> Option<u32> {
    match zone {
        Zone::Index(i) => view.interface_by_index(*i).map(Interface::index),
        Zone::Name(n) => view.interface(n).map(Interface::index),
    }
}

/// A zone that is an index and also another interface's name.
fn ambiguous_zone(ip: IpAddr, zone: &Zone, view: &HostView) -> Option<ProblemKind> {
    let Zone::Index(zone) = *zone else {
        return None;
    };
    let named = view.interface(&zone.to_string())?.index();
    (named != zone).then(|| ProblemKind::AmbiguousZone {
        ip,
        zone,
        by_index: view.interface_by_index(zone).map(|i| i.name().to_owned()),
        named,
    })
}

/// For a link-local literal whose zone names another link than the one
/// holding the address, says where the address is; `None` when no
/// interface holds it.
fn wrong_zone(ip: IpAddr, zone: &Zone, view: &HostView) -> Option<ProblemKind> {
    let holders: Vec<String> = view
        .holders(ip)
        .iter()
        .map(|i| i.name().to_owned())
        .collect();
    (!holders.is_empty()).then(|| ProblemKind::WrongZone {
        ip,
        zone: zone.to_string(),
        holders,
    })
}

/// An include selector with what resolving one network learns about it.
struct Include<'a> {
    sel: &'a Selector,
    ready: Ready<'a>,
    /// Asked for every link-local address it matches, answered once.
    names_link_local: bool,
    matched: bool,
    /// It matched only link-local addresses it may not take, for a better
    /// message than "matches nothing".
    link_local_only: bool,
}

/// Resolves one network against the host. Problems go to `out`; the
/// addresses that survived are returned even when there are problems, so
/// later checks can still report theirs.
pub(crate) fn resolve(
    net: &Network,
    name: &Name,
    view: &HostView<'_>,
    out: &mut Vec<Problem>,
) -> Vec<Chosen> {
    let mut found = Vec::new();
    let mut chosen = Vec::new();
    if net.includes().iter().all(Selector::is_wildcard) {
        wildcards(net, view, &mut chosen, &mut |kind| add(&mut found, kind));
    } else {
        let mut report = |kind| add(&mut found, kind);
        let mut includes: SmallVec<[Include; 2]> = net
            .includes()
            .iter()
            .map(|sel| Include {
                sel,
                ready: prepare(sel, view, &mut report),
                names_link_local: sel.names_link_local(),
                matched: false,
                link_local_only: false,
            })
            .collect();
        let excludes: Vec<Ready> = net
            .excludes()
            .iter()
            .map(|s| prepare(s, view, &mut report))
            .collect();
        let lookups = Lookups {
            includes: Lookup::of(includes.iter().map(|i| &i.ready)),
            excludes: Lookup::of(excludes.iter()),
        };
        let mut matched = match_host(net, view, &mut includes, &excludes, &lookups, &mut report);
        chosen = matched.chosen;
        let is_excluded = |a: &HostAddr| excluded(a, &excludes, &lookups);
        loopback_literals(
            net,
            view,
            &mut includes,
            is_excluded,
            &mut chosen,
            &mut matched.removed,
        );
        for (iface, addrs) in matched.skipped_down {
            report(ProblemKind::SkippedDown {
                interface: iface.name().to_owned(),
                addrs,
                no_carrier: iface.is_admin_up(),
            });
        }
        let unmatched = report_unmatched(&includes, view, &mut report);
        report_partly_remote(&includes, view, &mut report);
        report_spread(&chosen, &mut report);
        if chosen.is_empty() && !unmatched && !matched.refused && !matched.removed.is_empty() {
            report(ProblemKind::AllExcluded {
                removed: matched.removed,
            });
        }
    }
    // Interface down is reported once per interface, however many addresses.
    found.dedup();
    out.extend(found.into_iter().map(|kind| Problem::network(name, kind)));
    chosen
}

/// Adds a finding, folding its addresses into an earlier finding of its
/// kind about the same interface (or name) and selector, for the same
/// reason: one finding per reason, not per address, so a host of a million
/// addresses no listener may take is a few findings, whose messages name
/// the first few, however its reasons alternate. The search back passes
/// only findings of that interface and selector (one per reason, a handful)
/// and stops at the first of the kind about another, so it stays short
/// however many interfaces there are.
fn add(found: &mut Vec<ProblemKind>, kind: ProblemKind) {
    use ProblemKind as K;
    let same_kind = |k: &&mut K| std::mem::discriminant(*k) == std::mem::discriminant(&kind);
    for earlier in found.iter_mut().rev().filter(same_kind) {
        match (earlier, &kind) {
            (
                K::Unlistenable {
                    selector,
                    interface,
                    nets,
                    why,
                },
                K::Unlistenable {
                    selector: s,
                    interface: i,
                    nets: more,
                    why: w,
                },
            ) if selector == s && interface == i => {
                if why.same_reason(w) {
                    nets.extend_from_slice(more);
                    return;
                }
            }
            (
                K::DnsUnlistenable { name, ips, why },
                K::DnsUnlistenable {
                    name: n,
                    ips: more,
                    why: w,
                },
            ) if name == n => {
                if why.same_reason(w) {
                    ips.extend_from_slice(more);
                    return;
                }
            }
            (
                K::DadFailed { interface, ips },
                K::DadFailed {
                    interface: i,
                    ips: more,
                },
            )
            | (
                K::Tentative { interface, ips },
                K::Tentative {
                    interface: i,
                    ips: more,
                },
            ) if interface == i => {
                ips.extend_from_slice(more);
                return;
            }
            _ => break,
        }
    }
    found.push(kind);
}

/// What matching the host's addresses against a network gave.
struct Matched<'h> {
    chosen: Vec<Chosen>,
    /// Matched by an include, then removed by an exclude or the family filter.
    removed: Vec<IpAddr>,
    /// Some address was refused as one no listener may take.
    refused: bool,
    /// Addresses left out because their interface is down, per interface.
    skipped_down: Vec<(&'h Interface, Vec<IpAddr>)>,
}

/// Why a selected interface that is not up cannot be used: down, or up
/// without carrier.
fn down(iface: &Interface) -> ProblemKind {
    let interface = iface.name().to_owned();
    if iface.is_admin_up() {
        ProblemKind::NoCarrier { interface }
    } else {
        ProblemKind::InterfaceDown { interface }
    }
}

/// Visits each host address once: the first include that takes it, then
/// excludes, the family filter, what no listener may take, and down
/// interfaces decide whether it is chosen.
fn match_host<'h>(
    net: &Network,
    view: &HostView<'h>,
    includes: &mut [Include],
    excludes: &[Ready],
    lookups: &Lookups,
    report: &mut impl FnMut(ProblemKind),
) -> Matched<'h> {
    let mut m = Matched {
        chosen: Vec::new(),
        removed: Vec::new(),
        refused: false,
        skipped_down: Vec::new(),
    };
    // A host that lists one address twice (on two interfaces, say) must
    // not give a network the same socket twice.
    let mut seen = view.lists_an_address_twice().then(HashSet::new);
    // Nor may it keep one an exclude takes on another interface: a socket
    // on the address is reached through both (`!if:eth0` where eth0 and
    // eth1 hold 198.51.100.10 removes it). Judged once per entry, here
    // where a host lists an address twice, in the loop elsewhere.
    let excluded_keys: Option<HashSet<_>> = match seen {
        Some(_) if !excludes.is_empty() => Some(
            (view.addrs.iter())
                .filter(|a| excluded(a, excludes, lookups))
                .map(HostAddr::key)
                .collect(),
        ),
        _ => None,
    };
    let is_excluded = |a: &HostAddr| match &excluded_keys {
        Some(keys) => keys.contains(&a.key()),
        None => excluded(a, excludes, lookups),
    };
    for a in &view.addrs {
        let (iface, ip) = (a.iface, a.net.addr());
        let Some(sel) = first_include(includes, lookups.includes.as_ref(), a) else {
            continue;
        };
        // Excludes first, so `!if:eth3` silences a down eth3.
        if is_excluded(a) || net.family_filter().is_some_and(|f| f != Family::of(ip)) {
            m.removed.push(ip);
            continue;
        }
        // An interface may hold what no listener should take (the kernel
        // accepts `::ffff:0.0.0.0/96`, the IPv4 wildcard in another
        // spelling); taken as a specific address it would widen exposure.
        if let Some(why) = Unlistenable::of(ip, a.class) {
            m.refused = true;
            report(ProblemKind::Unlistenable {
                selector: sel.clone(),
                interface: iface.name().to_owned(),
                nets: vec![*a.net],
                why,
            });
            continue;
        }
        if !iface.is_up() {
            match sel {
                Selector::Addr { .. } | Selector::Interface(_) => report(down(iface)),
                // The host's addresses come interface by interface, so
                // one interface's are together: only the last entry can
                // be its own, and nothing is searched per address.
                _ => match m.skipped_down.last_mut() {
                    Some((i, list)) if i.index() == iface.index() => list.push(ip),
                    _ => m.skipped_down.push((iface, vec![ip])),
                },
            }
            continue;
        }
        // The kernel refuses to bind an address that failed DAD, so it is
        // not chosen; a tentative one is, since it will bind on its own soon.
        if a.flags.is_dadfailed() {
            report(ProblemKind::DadFailed {
                interface: iface.name().to_owned(),
                ips: vec![ip],
            });
            continue;
        }
        if a.flags.is_tentative() {
            report(ProblemKind::Tentative {
                interface: iface.name().to_owned(),
                ips: vec![ip],
            });
        }
        let (ip, scope_id) = a.key();
        if seen.as_mut().is_none_or(|seen| seen.insert((ip, scope_id))) {
            let mut chosen =
                Chosen::new(ip, scope_id, (a.class, a.global), view.why_matched(a, sel));
            chosen.deprecated = a.flags.is_deprecated();
            m.chosen.push(chosen);
        }
    }
    m
}

/// The first include that takes a host address, marking every include that
/// matches it; a link-local address counts only for includes that name
/// link-local addresses.
fn first_include<'s>(
    includes: &mut [Include<'s>],
    lookup: Option<&Lookup>,
    a: &HostAddr,
) -> Option<&'s Selector> {
    let link_local = a.class == AddrClass::LinkLocal;
    let mut hit = None;
    let mut take = |inc: &mut Include<'s>| {
        if link_local && !inc.names_link_local {
            inc.link_local_only = true;
        } else {
            hit.get_or_insert(inc.sel);
            inc.matched = true;
        }
    };
    match lookup {
        Some(lookup) => lookup
            .matching(a)
            .into_iter()
            .for_each(|i| take(&mut includes[i])),
        None => includes
            .iter_mut()
            .filter(|inc| inc.ready.matches(a))
            .for_each(take),
    }
    hit
}

/// Reports each include that matched nothing, with the likeliest cause;
/// returns whether there was one.
fn report_unmatched(
    includes: &[Include],
    view: &HostView,
    report: &mut impl FnMut(ProblemKind),
) -> bool {
    let mut unmatched = false;
    for inc in includes {
        if inc.matched || matches!(inc.ready, Ready::Dead) {
            continue;
        }
        unmatched = true;
        let sel = inc.sel;
        let kind = match (sel, &inc.ready) {
            (Selector::Addr { ip, zone }, _) => zone
                .as_ref()
                .and_then(|zone| wrong_zone(*ip, zone, view))
                .unwrap_or_else(|| ProblemKind::NotLocal {
                    selector: sel.clone(),
                    remote: vec![*ip],
                }),
            // Its link-local answers are this host's, only not taken.
            (Selector::Dns(_), Ready::Dns(answers, _)) if !inc.link_local_only => {
                ProblemKind::NotLocal {
                    selector: sel.clone(),
                    remote: answers.clone(),
                }
            }
            _ => ProblemKind::NoMatch {
                selector: sel.clone(),
                why: if inc.link_local_only {
                    Some(Unmatched::LinkLocalOnly)
                } else {
                    bare_interfaces(sel, view)
                },
            },
        };
        report(kind);
    }
    unmatched
}

/// A DNS name that resolves partly to this host and partly elsewhere.
fn report_partly_remote(
    includes: &[Include],
    view: &HostView,
    report: &mut impl FnMut(ProblemKind),
) {
    for inc in includes {
        if let (Selector::Dns(dns), Ready::Dns(answers, _)) = (inc.sel, &inc.ready) {
            let remote: Vec<IpAddr> = answers
                .iter()
                .copied()
                .filter(|ip| view.holders(*ip).is_empty() && view.loopback_holder(*ip).is_none())
                .collect();
            if !remote.is_empty() && remote.len() < answers.len() {
                report(ProblemKind::DnsPartlyRemote {
                    name: dns.clone(),
                    remote,
                });
            }
            // Taken in part, its link-local answers left (they were
            // dropped without a word).
            if inc.matched && inc.link_local_only {
                let ips: Vec<IpAddr> = answers
                    .iter()
                    .copied()
                    .filter(|&ip| {
                        AddrClass::of(ip) == AddrClass::LinkLocal && !view.holders(ip).is_empty()
                    })
                    .collect();
                report(ProblemKind::DnsLinkLocal {
                    name: dns.clone(),
                    ips,
                });
            }
        }
    }
}

/// A DNS name whose chosen answers sit on several interfaces (loopback
/// aside): each is bound, where Go and std bind one answer, so a name
/// pasted from their configs (`my-host:8080`) may reach every network.
/// One pass over what was chosen, however many names the network lists.
fn report_spread(chosen: &[Chosen], report: &mut impl FnMut(ProblemKind)) {
    let mut held: Vec<(&str, &str)> = chosen
        .iter()
        .filter(|c| c.class != AddrClass::Loopback)
        .filter_map(|c| match &*c.why {
            Why::Matched {
                selector: Selector::Dns(name),
                interface,
                ..
            } => Some((name.as_str(), &**interface)),
            _ => None,
        })
        .collect();
    held.sort_unstable();
    held.dedup();
    for by_name in held.chunk_by(|a, b| a.0 == b.0) {
        if let [(name, _), _, ..] = by_name {
            report(ProblemKind::DnsSeveralInterfaces {
                name: (*name).to_owned(),
                interfaces: by_name.iter().map(|(_, i)| (*i).to_owned()).collect(),
            });
        }
    }
}

/// Linux delivers the whole loopback block an interface holds (127.0.0.0/8
/// for `127.0.0.1/8`) to it, so `127.0.0.2` is bindable though no interface
/// lists it; a literal there is taken with the block as its reason, and so
/// is a DNS answer there (Debian's `/etc/hosts` gives the host's own name
/// `127.0.1.1`).
fn loopback_literals(
    net: &Network,
    view: &HostView,
    includes: &mut [Include],
    excluded: impl Fn(&HostAddr) -> bool,
    chosen: &mut Vec<Chosen>,
    removed: &mut Vec<IpAddr>,
) {
    // What was chosen, as a set once a literal asks: a network may list
    // thousands of loopback literals.
    let mut taken: Option<HashSet<IpAddr>> = None;
    for inc in includes {
        let sel = inc.sel;
        let candidates: &[IpAddr] = match (sel, &inc.ready) {
            (Selector::Addr { ip, zone: None }, _) => std::slice::from_ref(ip),
            (Selector::Dns(_), Ready::Dns(answers, _)) => answers,
            _ => continue,
        };
        for ip in candidates {
            let Some(a) = view.loopback_holder(*ip) else {
                continue;
            };
            inc.matched = true;
            // One an interface lists was judged with the host's addresses,
            // excludes and all.
            if !view.holders(*ip).is_empty() {
                continue;
            }
            // The excludes judge the address itself, on the interface
            // whose block holds it: `!loopback`, `!if:lo`, `!127.0.0.2`.
            let own = IpNet::new(*ip, a.net.prefix_len()).unwrap_or(*a.net);
            let literal = HostAddr {
                net: &own,
                class: AddrClass::of(*ip),
                global: false,
                why: Default::default(),
                ..*a
            };
            if excluded(&literal) {
                removed.push(*ip);
                continue;
            }
            let taken = taken.get_or_insert_with(|| chosen.iter().map(|c| c.ip).collect());
            if net.family_filter().is_none_or(|f| f == Family::of(*ip)) && taken.insert(*ip) {
                chosen.push(Chosen::new(
                    *ip,
                    0,
                    class::classify(*ip),
                    view.why_matched(a, sel),
                ));
            }
        }
    }
}

/// Whether one of a network's excludes takes the host address `a`.
fn excluded(a: &HostAddr, excludes: &[Ready], lookups: &Lookups) -> bool {
    match &lookups.excludes {
        Some(lookup) => !lookup.matching(a).is_empty(),
        None => excludes.iter().any(|x| x.matches(a)),
    }
}

/// A network of wildcards: one socket address per family the host has.
fn wildcards(
    net: &Network,
    view: &HostView,
    chosen: &mut Vec<Chosen>,
    report: &mut impl FnMut(ProblemKind),
) {
    for sel in net.includes() {
        let families: &[Family] = match sel {
            Selector::Wildcard(f) => std::slice::from_ref(f),
            _ => &[Family::V4, Family::V6],
        };
        let before = chosen.len();
        for &f in families {
            let wanted = net.family_filter().is_none_or(|g| g == f);
            let dup = chosen.iter().any(|c: &Chosen| c.ip == f.unspecified());
            if wanted && view.has_up(f) && !dup {
                chosen.push(Chosen::new(
                    f.unspecified(),
                    0,
                    class::classify(f.unspecified()),
                    Arc::new(Why::Wildcard {
                        selector: sel.clone(),
                    }),
                ));
            }
        }
        if chosen.len() == before && matches!(sel, Selector::Wildcard(_)) {
            report(ProblemKind::NoMatch {
                selector: sel.clone(),
                why: Some(Unmatched::NoFamily),
            });
        }
    }
    if chosen.is_empty() && net.includes().iter().all(|s| *s == Selector::Any) {
        report(ProblemKind::NoMatch {
            selector: Selector::Any,
            why: Some(Unmatched::NothingUp),
        });
    }
}

/// Looks up what a selector needs from the host once: its zone, its DNS
/// answers, whether its interface exists.
fn prepare<'a>(
    sel: &'a Selector,
    view: &HostView<'_>,
    report: &mut impl FnMut(ProblemKind),
) -> Ready<'a> {
    match sel {
        // A network of Unix sockets is never resolved; an IP network
        // cannot name it (the spec refuses `!unix`).
        Selector::Unix => Ready::Dead,
        Selector::Addr {
            ip,
            zone: Some(zone),
        } => {
            // `%6` where interface `6` is another: which one is meant?
            if let Some(problem) = ambiguous_zone(*ip, zone, view) {
                report(problem);
                return Ready::Dead;
            }
            match zone_index(zone, view) {
                Some(index) => Ready::Scoped(*ip, index),
                None => {
                    report(wrong_zone(*ip, zone, view).unwrap_or_else(|| {
                        ProblemKind::UnknownInterface {
                            pattern: zone.to_string(),
                        }
                    }));
                    Ready::Dead
                }
            }
        }
        Selector::Dns(name) => match view.host.dns(name) {
            Some(DnsAnswer::Addrs(a)) if !a.is_empty() => dns_answers(name, a, report),
            Some(DnsAnswer::Addrs(_)) => {
                report(ProblemKind::DnsFailed {
                    name: name.clone(),
                    error: "no addresses".to_owned(),
                });
                Ready::Dead
            }
            Some(DnsAnswer::Failed { error }) => {
                report(match view.host.interface(name) {
                    Some(_) => ProblemKind::DnsNameIsInterface {
                        name: name.clone(),
                        error: error.clone(),
                    },
                    None => ProblemKind::DnsFailed {
                        name: name.clone(),
                        error: error.clone(),
                    },
                });
                Ready::Dead
            }
            None => {
                report(ProblemKind::DnsNotCaptured { name: name.clone() });
                Ready::Dead
            }
        },
        Selector::Interface(p) => {
            let ready = if p.is_glob() {
                let exists = view.host.interfaces().iter().any(|i| p.matches(i.name()));
                exists.then_some(Ready::Glob(p))
            } else {
                view.interface(p.as_str()).map(|i| Ready::Index(i.index()))
            };
            ready.unwrap_or_else(|| {
                report(ProblemKind::UnknownInterface {
                    pattern: p.as_str().to_owned(),
                });
                Ready::Dead
            })
        }
        Selector::Addr { ip, zone: None } => Ready::block(IpNet::from(*ip)),
        Selector::Cidr(net) => Ready::block(*net),
        Selector::Class(c) => Ready::Class(*c),
        Selector::Any | Selector::Wildcard(_) => Ready::Nothing,
    }
}

/// A DNS name's answers as the planner matches them: an IPv4-mapped answer
/// is the IPv4 address inside it, and one no listener may take (a wildcard,
/// in any spelling, or a group) is reported and dropped, never bound.
fn dns_answers<'a>(
    name: &str,
    answers: &[IpAddr],
    report: &mut impl FnMut(ProblemKind),
) -> Ready<'a> {
    let mut usable = Vec::with_capacity(answers.len());
    for &answer in answers {
        let ip = answer.to_canonical();
        match Unlistenable::of(ip, AddrClass::of(ip)) {
            Some(why) => report(ProblemKind::DnsUnlistenable {
                name: name.to_owned(),
                ips: vec![answer],
                why,
            }),
            None => usable.push(ip),
        }
    }
    if usable.is_empty() {
        Ready::Dead
    } else {
        let set = usable.iter().copied().collect();
        Ready::Dns(usable, set)
    }
}
