//! Table-driven planner cases from `tests/data/plan-cases.txt`, each a spec
//! planned against a recorded host snapshot from `tests/data/hosts/`.
//!
//! Every error and warning a case produces must be listed in its expectations,
//! so a new finding, a lost one, or one moved to another endpoint fails.

use std::collections::BTreeMap;

use listenspec::plan::Problem;
use listenspec::{Host, ListenSpec, PlanOptions};

struct Case {
    name: String,
    line: usize,
    host: String,
    strict: bool,
    spec: String,
    expect: Vec<String>,
}

fn data(path: &str) -> String {
    let full = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub(crate) fn host(name: &str) -> Host {
    serde_json::from_str(&data(&format!("hosts/{name}.json")))
        .unwrap_or_else(|e| panic!("host {name}: {e}"))
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut section = "";
    for (n, line) in data("plan-cases.txt").lines().enumerate() {
        if let Some(name) = line.strip_prefix("## ") {
            cases.push(Case {
                name: name.to_owned(),
                line: n + 1,
                host: String::new(),
                strict: false,
                spec: String::new(),
                expect: Vec::new(),
            });
            section = "";
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        match t {
            "spec:" | "expect:" => section = if t == "spec:" { "spec" } else { "expect" },
            _ if section == "spec" => {
                case.spec.push_str(t);
                case.spec.push('\n');
            }
            _ if section == "expect" => case.expect.push(t.to_owned()),
            "strict" => case.strict = true,
            _ => match t.strip_prefix("host ") {
                Some(h) => case.host = h.to_owned(),
                None => panic!("plan-cases.txt:{}: unexpected {t:?}", n + 1),
            },
        }
    }
    cases
}

fn location(p: &Problem) -> String {
    match (p.network_name(), p.endpoint_name()) {
        (Some(n), Some(e)) => format!("{n}.{e}"),
        (Some(n), None) => n.to_string(),
        _ => "-".to_owned(),
    }
}

/// Runs one case; returns what differs.
fn run(case: &Case) -> Vec<String> {
    let mut diffs = Vec::new();
    let spec: ListenSpec = match case.spec.parse() {
        Ok(s) => s,
        Err(e) => return vec![format!("spec does not parse: {e}")],
    };
    let host = host(&case.host);
    let options = if case.strict {
        PlanOptions::strict()
    } else {
        PlanOptions::default()
    };
    let result = listenspec::plan_with(&spec, &host, options);
    let (plan, errors, warnings) = match &result {
        Ok(p) => (Some(p), &[][..], p.warnings()),
        Err(e) => (None, e.errors(), e.warnings()),
    };
    // An error that speaks of the host is read with the listing printed
    // once under all the errors.
    let listing = result.as_ref().err().and_then(|e| e.host_listing());
    // Findings: "error KIND at=LOC" -> the problem, to match and then tick off.
    let mut found: BTreeMap<String, Vec<&Problem>> = BTreeMap::new();
    for (sev, list) in [("error", errors), ("warning", warnings)] {
        for p in list {
            let key = format!("{sev} {} at={}", crate::variant_name(p.kind()), location(p));
            found.entry(key).or_default().push(p);
        }
    }
    for exp in &case.expect {
        let words: Vec<&str> = exp.splitn(3, ' ').collect();
        match words.as_slice() {
            [sev @ ("error" | "warning"), rest @ ..] => {
                let (head, contains) = match rest.join(" ").split_once(" contains=") {
                    // `\n` stands for the line break before the fix.
                    Some((h, c)) => (h.to_owned(), Some(c.trim_matches('"').replace("\\n", "\n"))),
                    None => (rest.join(" "), None),
                };
                let key = format!("{sev} {head}");
                match found.get_mut(&key).and_then(|v| v.pop()) {
                    None => diffs.push(format!("missing {key}")),
                    Some(p) => {
                        let mut text = p.to_string();
                        if *sev == "error"
                            && let Some(host) = listing
                        {
                            text = format!("{text}\n{host}");
                        }
                        if let Some(c) = contains
                            && !text.contains(&c)
                        {
                            diffs.push(format!("{key}: {text:?} does not contain {c:?}"));
                        }
                    }
                }
            }
            [ep, "bind", addrs] | [ep, "advertise", addrs] => {
                let Some(plan) = plan else {
                    diffs.push(format!("{exp}: the plan failed"));
                    continue;
                };
                let Some((n, e)) = ep.split_once('.') else {
                    panic!("{exp}: expected NETWORK.ENDPOINT")
                };
                let Some(pe) = plan.endpoint(n, e) else {
                    diffs.push(format!("no endpoint {ep}"));
                    continue;
                };
                let got = if words[1] == "bind" {
                    let v: Vec<String> = pe.socket_addrs().iter().map(|a| a.to_string()).collect();
                    v.join(" ")
                } else {
                    pe.advertised().map_or("-".to_owned(), |a| a.to_string())
                };
                if got != *addrs {
                    diffs.push(format!("{ep} {}: got {got}, want {addrs}", words[1]));
                }
            }
            [ep, "unix", want] => {
                let Some(plan) = plan else {
                    diffs.push(format!("{exp}: the plan failed"));
                    continue;
                };
                let got = ep
                    .split_once('.')
                    .and_then(|(n, e)| plan.endpoint(n, e))
                    .and_then(|pe| pe.unix())
                    .map(|u| {
                        let mut text = u.path().to_string();
                        for (what, id) in [("owner", u.owner()), ("group", u.group())] {
                            if let Some(id) = id {
                                text.push_str(&format!(" {what}={id}"));
                            }
                        }
                        text
                    });
                if got.as_deref() != Some(*want) {
                    diffs.push(format!("{ep} unix: got {got:?}, want {want}"));
                }
            }
            [ep, "bind"] => {
                let got = plan.and_then(|p| {
                    let (n, e) = ep.split_once('.')?;
                    p.endpoint(n, e)
                });
                if got.is_some_and(|pe| !pe.binds().is_empty()) {
                    diffs.push(format!("{ep}: expected no binds"));
                }
            }
            _ => panic!("case {}: cannot read expectation {exp:?}", case.name),
        }
    }
    for (key, left) in found {
        for p in left {
            diffs.push(format!("unexpected {key}: {p}"));
        }
    }
    diffs
}

#[test]
fn plan_cases() {
    let cases = cases();
    assert!(cases.len() > 20, "plan-cases.txt was not read");
    let mut failures = Vec::new();
    for case in &cases {
        let diffs = run(case);
        if !diffs.is_empty() {
            failures.push(format!(
                "case {:?} (plan-cases.txt:{}):\n    {}",
                case.name,
                case.line,
                diffs.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What time may fix, found by planning against the `states` host: an
/// interface missing, down or without carrier, an interface without its
/// address yet, a tentative address; and what it cannot.
#[test]
fn time_may_fix_the_host_coming_up_and_nothing_else() {
    let states = host("states");
    let bare = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("eth5", 2, [])
        .build()
        .unwrap();
    let cases: [(&str, &Host, &str, bool); 8] = [
        (
            "vpn = if:wg0 expose=public",
            &states,
            "UnknownInterface",
            true,
        ),
        (
            "ops = if:eth4 expose=public",
            &states,
            "InterfaceDown",
            true,
        ),
        ("ops = if:eth2 expose=public", &states, "NoCarrier", true),
        ("ops = if:eth5 expose=public", &bare, "NoMatch", true),
        (
            "api = 2001:db8:2::5 expose=public",
            &states,
            "Tentative",
            true,
        ),
        (
            "api = 2001:db8:2::6 expose=public",
            &states,
            "DadFailed",
            false,
        ),
        (
            "api = 2001:db8:9::1 expose=public",
            &states,
            "NotLocal",
            false,
        ),
        ("api = * expose=local", &states, "Exposed", false),
    ];
    for (network, host, kind, fixable) in cases {
        let spec: ListenSpec = format!("{network}\n{}.e = tcp:9000", &network[..3])
            .parse()
            .unwrap();
        let problems: Vec<Problem> = match listenspec::plan(&spec, host) {
            Ok(plan) => plan.warnings().to_vec(),
            Err(e) => e.errors().iter().chain(e.warnings()).cloned().collect(),
        };
        let found = problems
            .iter()
            .find(|p| crate::variant_name(p.kind()) == kind)
            .unwrap_or_else(|| panic!("{network}: no {kind} in {problems:?}"));
        assert_eq!(found.kind().time_may_fix(), fixable, "{network}: {found}");
    }
}

/// A fixed port is in the advertised URL from the plan on; port 0 is
/// known only once bound, and `with_port` completes the URL with it.
#[test]
fn an_advertised_url_waits_for_the_port_only_when_the_os_picks_it() {
    let host = crate::loopback_host();
    let spec: ListenSpec = "local = 127.0.0.1; local.fixed = http:8080; local.any = http:0"
        .parse()
        .unwrap();
    let plan = listenspec::plan(&spec, &host).unwrap();
    let fixed = plan
        .endpoint("local", "fixed")
        .unwrap()
        .advertised()
        .unwrap();
    assert!(!fixed.port_from_bind());
    assert_eq!(fixed.url().unwrap().as_str(), "http://127.0.0.1:8080/");
    assert_eq!(fixed.with_port(9).as_str(), "http://127.0.0.1:8080/");
    let any = plan.endpoint("local", "any").unwrap().advertised().unwrap();
    assert!(any.port_from_bind());
    assert_eq!(any.url(), None);
    assert_eq!(any.with_port(9).as_str(), "http://127.0.0.1:9/");
    assert_eq!(any.to_string(), "http://127.0.0.1:<port>/");
}

/// Advertising prefers any other address to a link-local one, which
/// clients reach only with its zone and only on the same link; there is no
/// tie to warn of between the two.
#[test]
fn a_link_local_address_is_advertised_last() {
    let host = Host::builder()
        .interface("eth1", 2, ["fd00::23/64", "fe80::2/64"])
        .build()
        .unwrap();
    let spec: ListenSpec = "internal = fd00::23, fe80::2%eth1 expose=private
                            internal.api = tcp:7000 device"
        .parse()
        .unwrap();
    let plan = listenspec::plan(&spec, &host).unwrap_or_else(|e| panic!("{e}"));
    let api = plan.endpoint("internal", "api").unwrap();
    assert_eq!(
        api.advertised().unwrap().url().unwrap().as_str(),
        "tcp://[fd00::23]:7000"
    );
    assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
}

/// A host address nobody can listen on (`0.0.0.0/8` is a source address
/// only) is never what a wildcard endpoint advertises.
#[test]
fn an_address_nobody_can_listen_on_is_never_advertised() {
    let host = Host::builder()
        .interface("eth0", 2, ["0.1.2.3/8", "198.51.100.7/24"])
        .build()
        .unwrap();
    let spec: ListenSpec = "public = 0.0.0.0; public.web = http:8080".parse().unwrap();
    let plan = listenspec::plan(&spec, &host).unwrap_or_else(|e| panic!("{e}"));
    let web = plan.endpoint("public", "web").unwrap();
    assert_eq!(
        web.advertised().unwrap().url().unwrap().as_str(),
        "http://198.51.100.7:8080/"
    );
}

/// Only an up loopback interface holding the whole block makes another
/// address of it bindable: with `127.0.0.1/32`, or `lo` down, `127.0.0.2`
/// is on no interface, whatever else is up.
#[test]
fn a_loopback_literal_needs_an_up_loopback_holding_its_block() {
    let hosts = [
        Host::builder()
            .interface("lo", 1, ["127.0.0.1/32"])
            .interface("eth0", 2, ["198.51.100.7/24"])
            .build()
            .unwrap(),
        Host::builder()
            .interface("lo", 1, ["127.0.0.1/8"])
            .down()
            .interface("eth0", 2, ["198.51.100.7/24"])
            .build()
            .unwrap(),
    ];
    let spec: ListenSpec = "local = 127.0.0.2; local.a = tcp:1".parse().unwrap();
    for host in &hosts {
        let err = listenspec::plan(&spec, host).unwrap_err();
        assert!(err.to_string().contains("127.0.0.2"), "{err}");
    }
}

/// The block is taken for loopback addresses only: a short prefix on `lo`
/// (`127.0.0.1/1`) does not make `10.0.0.1` an address of this host.
#[test]
fn only_a_loopback_literal_is_taken_from_the_loopback_block() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/1"])
        .build()
        .unwrap();
    let spec: ListenSpec = "local = 10.0.0.1; local.a = tcp:1".parse().unwrap();
    let err = listenspec::plan(&spec, &host).unwrap_err();
    assert!(err.to_string().contains("10.0.0.1"), "{err}");
}

/// The plan's JSON lists each network's addresses: the interface, the scope
/// id a link-local address is bound with, and why each was chosen.
#[test]
fn the_plan_json_lists_each_networks_addresses() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("eth0", 2, ["198.51.100.7/24", "fe80::7/64"])
        .build()
        .unwrap();
    let spec: ListenSpec = "lan = if:eth0, fe80::7%eth0\nlan.api = tcp:8080"
        .parse()
        .unwrap();
    let json = serde_json::to_value(spec.plan(&host).unwrap()).unwrap();
    let matched = |ip: &str, selector: &str, net: &str| {
        serde_json::json!({
            "ip": ip,
            "scope_id": if ip.starts_with("fe80") { 2 } else { 0 },
            "interface": "eth0",
            "why": {
                "kind": "matched",
                "selector": selector,
                "interface": "eth0",
                "net": net,
                "message": format!("{selector} matched eth0 {net}"),
            },
        })
    };
    assert_eq!(
        json["networks"],
        serde_json::json!([{
            "name": "lan",
            "exposure": "private",
            "addrs": [
                matched("198.51.100.7", "if:eth0", "198.51.100.7/24"),
                matched("fe80::7", "fe80::7%eth0", "fe80::7/64"),
            ],
        }])
    );
}

/// The host's listing comes with an error that sends the reader to it (an
/// unknown interface), with each address's flags, and not with an error
/// that does not (a wildcard on a private network).
#[test]
fn the_host_listing_comes_only_with_errors_that_refer_to_it() {
    let host = host("states");
    let listing = |text: &str| {
        let spec: ListenSpec = text.parse().unwrap();
        spec.plan(&host)
            .unwrap_err()
            .host_listing()
            .map(str::to_owned)
    };
    let listed = listing("ops = if:eth9\nops.m = tcp:1").expect("a listing");
    assert!(
        listed.contains(
            "\n  eth0 (#2) 203.0.113.10/24 2001:db8:1::9/64 (deprecated) 2001:db8:1::10/64 fe80::10/64\n"
        ),
        "{listed}"
    );
    assert_eq!(listing("internal = *\ninternal.m = tcp:1"), None);
}

/// A second address on the interface opens one socket and closes none: the
/// diff says so by its lists, its emptiness and its one line.
#[test]
fn a_plan_diff_lists_what_opens_and_what_closes() {
    let spec: ListenSpec = "svc = if:eth0\nsvc.web = http:8080\nsvc.dns = udp:53"
        .parse()
        .unwrap();
    let one = Host::builder()
        .interface("eth0", 2, ["203.0.113.5/24"])
        .build()
        .unwrap();
    let two = Host::builder()
        .interface("eth0", 2, ["203.0.113.5/24", "203.0.113.6/24"])
        .build()
        .unwrap();
    let (one, two) = (spec.plan(&one).unwrap(), spec.plan(&two).unwrap());
    let grown = two.diff(&one);
    assert!(!grown.is_empty());
    assert!(grown.closed().is_empty());
    let opened: Vec<String> = grown.opened().iter().map(ToString::to_string).collect();
    assert_eq!(
        opened,
        ["svc.dns udp 203.0.113.6:53", "svc.web tcp 203.0.113.6:8080"]
    );
    let web = &grown.opened()[1];
    assert_eq!(web.endpoint().to_string(), "svc.web");
    assert_eq!(web.transport(), listenspec::spec::Transport::Tcp);
    assert_eq!(web.addr(), "203.0.113.6:8080".parse().unwrap());
    assert_eq!(
        grown.to_string(),
        "+ svc.dns udp 203.0.113.6:53\n+ svc.web tcp 203.0.113.6:8080"
    );

    let shrunk = one.diff(&two);
    assert!(!shrunk.is_empty());
    assert!(shrunk.opened().is_empty());
    assert_eq!(shrunk.closed(), grown.opened());
    assert!(
        shrunk
            .to_string()
            .starts_with("- svc.dns udp 203.0.113.6:53\n- ")
    );
    assert!(one.diff(&one).is_empty());
    assert_eq!(one.diff(&one).to_string(), "");
}

/// A host may list one address on two interfaces (an anycast address on a
/// dummy and a loopback, say): a network taking both still binds it once,
/// and says which interface it matched first. A link-local address on two
/// links is two sockets, one per scope.
#[test]
fn an_address_listed_twice_is_bound_once() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("dummy0", 2, ["203.0.113.5/32", "fe80::5/64"])
        .interface("eth0", 3, ["203.0.113.5/24", "fe80::5/64"])
        .build()
        .unwrap();
    let spec: ListenSpec = "edge = 203.0.113.0/24, fe80::/64\nedge.dns = udp:53"
        .parse()
        .unwrap();
    let plan = spec.plan(&host).unwrap();
    let ep = plan.endpoint("edge", "dns").unwrap();
    let addrs: Vec<String> = ep.socket_addrs().iter().map(|a| a.to_string()).collect();
    assert_eq!(
        addrs,
        ["203.0.113.5:53", "[fe80::5%2]:53", "[fe80::5%3]:53"]
    );
    let why = plan.networks()[0].addrs()[0].why().to_string();
    assert!(why.contains("dummy0"), "{why}");
}

#[test]
fn each_network_says_which_of_its_selectors_chose_a_shared_address() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("eth0", 2, ["198.51.100.7/24"])
        .build()
        .unwrap();
    let spec: ListenSpec = "
        by_block = 198.51.100.0/24 shared
        by_name = if:eth0 shared
        again = 198.51.100.0/24 shared
        by_block.a = tcp:8001
        by_name.a = tcp:8002
        again.a = tcp:8003
    "
    .parse()
    .unwrap();
    let plan = spec.plan(&host).unwrap();
    let why: Vec<String> = plan
        .networks()
        .iter()
        .map(|n| n.addrs()[0].why().to_string())
        .collect();
    assert_eq!(
        why,
        [
            "198.51.100.0/24 matched eth0 198.51.100.7/24",
            "if:eth0 matched eth0 198.51.100.7/24",
            "198.51.100.0/24 matched eth0 198.51.100.7/24",
        ]
    );
}

/// Debian's `/etc/hosts` gives the host's own name `127.0.1.1`, which no
/// interface lists but lo's 127.0.0.0/8 takes: a name answering it is
/// this host, as the literal is, never a NAT case whose fix is `*`.
#[test]
fn a_name_answering_an_address_of_the_loopback_block_is_this_host() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["203.0.113.5/24"])
        .dns("debian-host", ["127.0.1.1"])
        .dns("both", ["203.0.113.5", "127.0.1.1"])
        .build()
        .unwrap();
    let spec: ListenSpec = "
        self = dns:debian-host expose=local shared
        self.http = http:8080
        both = dns:both shared
        both.http = http:8081
    "
    .parse()
    .unwrap();
    let plan = spec.plan(&host).unwrap_or_else(|e| panic!("{e}"));
    let of = |net: &str| -> Vec<String> {
        let n = plan.networks().iter().find(|n| n.name() == net).unwrap();
        n.addrs().iter().map(|c| c.ip().to_string()).collect()
    };
    assert_eq!(of("self"), ["127.0.1.1"]);
    assert_eq!(of("both"), ["203.0.113.5", "127.0.1.1"]);
    let why = plan.networks()[0].addrs()[0].why().to_string();
    assert_eq!(why, "dns:debian-host matched lo 127.0.0.1/8");
    assert!(
        plan.warnings()
            .iter()
            .all(|w| !w.to_string().contains("remote")),
        "{:?}",
        plan.warnings()
    );
}

/// A network of more than eight selectors finds them by lookup, a smaller
/// one tries each in turn: both choose the same addresses, each with the
/// first selector written that takes it, link-local ones only by a
/// selector that names link-local addresses, and leave out what an
/// exclude names.
#[test]
fn a_network_of_many_selectors_chooses_as_one_of_few() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface(
            "eth0",
            2,
            ["198.51.100.7/24", "2001:db8::7/64", "fe80::7/64"],
        )
        .interface("eth1", 3, ["203.0.113.9/24", "fe80::9/64"])
        .build()
        .unwrap();
    let few = "198.51.100.0/24, if:eth0, 203.0.113.9, link-local, !fe80::9%eth1";
    // Nine more selectors, each taking only what one before it took, and
    // nine excludes of addresses the host does not have.
    let again = "198.51.100.7, 198.51.100.0/25, if:eth1, if:eth*, 2001:db8::/32, \
                 2001:db8::7, 203.0.113.0/24, fe80::7%eth0, fe80::/10";
    let absent = (1..=9)
        .map(|i| format!("!192.0.2.{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let unused = format!("{again}, {absent}");
    let plan_of = |selectors: &str| {
        let spec: ListenSpec = format!("x = {selectors}\nx.a = tcp:1").parse().unwrap();
        let plan = spec.plan(&host).unwrap_or_else(|e| panic!("{e}"));
        plan.networks()[0]
            .addrs()
            .iter()
            .map(|c| format!("{} {}", c.ip(), c.why()))
            .collect::<Vec<_>>()
    };
    let want = plan_of(few);
    assert_eq!(
        want,
        [
            "198.51.100.7 198.51.100.0/24 matched eth0 198.51.100.7/24",
            "2001:db8::7 if:eth0 matched eth0 2001:db8::7/64",
            "fe80::7 link-local matched eth0 fe80::7/64",
            "203.0.113.9 203.0.113.9 matched eth1 203.0.113.9/24",
        ]
    );
    assert_eq!(plan_of(&format!("{few}, {unused}")), want);
}

/// `[::]:PORT` binds as std binds `[::]` on the OS of the host it is
/// planned for, whatever the OS it was read on: dual-stack on Linux and
/// macOS, IPv6 alone on FreeBSD, Windows and OpenBSD (which refuses
/// `v6only=false`, and so no error). Written out, `v6only=false` is the user's own, and
/// OpenBSD refuses it.
#[test]
fn a_one_address_ipv6_wildcard_binds_as_std_does_on_the_host_s_os() {
    use listenspec::plan::ProblemKind;
    let spec: ListenSpec = "[::]:8080".parse().unwrap();
    for (os, dual) in [
        ("dual-stack", true),
        ("unix-macos", true),
        ("freebsd", false),
        ("windows", false),
        ("openbsd", false),
    ] {
        let host = host(os);
        let plan = spec.plan(&host).unwrap_or_else(|e| panic!("{os}: {e}"));
        let ep = &plan.endpoints()[0];
        assert_eq!(ep.options().v6only, (dual).then_some(false), "{os}: {plan}");
        assert_eq!(
            plan.to_string().contains("dual-stack (IPv4 too)"),
            dual,
            "{os}: {plan}"
        );
        // Planned again after a plan for another OS: each its own.
        let again = spec.plan(&host).unwrap();
        assert_eq!(again.endpoints()[0].options().v6only, ep.options().v6only);
    }
    // Options given to its endpoint are the caller's own, v6only too.
    let mut options = listenspec::spec::EndpointOptions::default();
    options.v6only = Some(true);
    let given = ListenSpec::new(
        spec.networks().to_vec(),
        vec![spec.endpoints()[0].clone().with_options(options)],
    )
    .unwrap();
    let plan = given.plan(&host("dual-stack")).unwrap();
    assert_eq!(plan.endpoints()[0].options().v6only, Some(true), "{plan}");

    let written: ListenSpec = "public = ::; public.http = http:8080 v6only=false"
        .parse()
        .unwrap();
    let err = written.plan(&host("openbsd")).unwrap_err();
    assert!(
        matches!(
            err.errors()[0].kind(),
            ProblemKind::Unsupported {
                option: "v6only=false",
                ..
            }
        ) && err.errors()[0].fix().starts_with("remove `v6only=false`"),
        "{err}"
    );
    assert!(written.plan(&host("freebsd")).is_ok());
}

/// `fe80::1%6` where an interface is named `6` with another index is
/// refused, both readings named: this crate reads a number as an index
/// (RFC 4007), glibc's `getaddrinfo` as the name first, so the same text
/// would pick another link in another program.
#[test]
fn a_zone_that_is_an_index_and_another_interface_s_name_is_refused() {
    use listenspec::plan::ProblemKind;
    let host = |with_index_6: bool| {
        let mut b = Host::builder().interface("6", 5, ["fe80::1/64"]);
        if with_index_6 {
            b = b.interface("vA", 6, ["fe80::1/64"]);
        }
        b.build().unwrap()
    };
    let spec: ListenSpec = "ops = fe80::1%6\nops.x = udp:5005".parse().unwrap();
    let err = spec.plan(&host(true)).unwrap_err();
    let [only] = err.errors() else {
        panic!("{err}")
    };
    assert!(
        matches!(
            only.kind(),
            ProblemKind::AmbiguousZone { zone: 6, by_index: Some(n), named: 5, .. } if n == "vA"
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(
            "zone %6 of fe80::1 is the index of interface \"vA\", and the name of interface #5"
        ) && text.contains("write the zone as a name, fe80::1%vA"),
        "{text}"
    );
    // No interface has index 6: the named one is the only reading, and
    // still not this crate's.
    let err = spec.plan(&host(false)).unwrap_err();
    assert!(
        err.to_string()
            .contains("is the index of no interface, and the name of interface #5"),
        "{err}"
    );
    // Where the interface of that index is named by a number too, its
    // name is no way out: renaming is.
    let crossed = Host::builder()
        .interface("7", 6, ["fe80::6/64"])
        .interface("6", 7, ["fe80::6/64"])
        .build()
        .unwrap();
    let spec: ListenSpec = "ops = fe80::6%6\nops.x = udp:5005".parse().unwrap();
    let err = spec.plan(&crossed).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("fix: rename interface \"6\" (#7) to one that is not a number")
            && !text.contains("write the zone as a name"),
        "{text}"
    );
    // A name, or an index no interface is named, plans.
    for text in ["ops = fe80::1%vA", "ops = fe80::1%5"] {
        let spec: ListenSpec = format!("{text}\nops.x = udp:5005").parse().unwrap();
        let plan = spec
            .plan(&host(true))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(plan.endpoints()[0].binds().len(), 1, "{plan}");
    }
}
