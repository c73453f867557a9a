//! Hostile sizes: what a spec or host far larger than any real one costs in
//! output. Errors grow with the problems, never with problems times the host.

use std::fmt::Write as _;

use crate::TempDir;
use listenspec::host::HostBuilder;
use listenspec::{Host, ListenSpec};

/// A host with `n` interfaces, each holding one address of 10.0.0.0/8.
fn big_host(n: u32) -> Host {
    big_host_builder(n).build().unwrap()
}

/// [`big_host`] before it is built, for DNS answers to add.
fn big_host_builder(n: u32) -> HostBuilder {
    let mut b: HostBuilder = Host::builder().interface("lo", 1, ["127.0.0.1/8"]);
    for i in 0..n {
        let addr = format!("{}/8", eth_addr(i));
        b = b.interface(&format!("eth{i}"), i + 2, [addr.as_str()]);
    }
    b
}

/// The address of `big_host`'s `eth{i}`.
fn eth_addr(i: u32) -> String {
    format!("10.{}.{}.{}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff)
}

#[test]
fn unknown_addresses_on_a_huge_host_list_the_host_once() {
    let host = big_host(10_000);
    let mut spec = String::new();
    for i in 0..1_000 {
        let _ = writeln!(
            spec,
            "n{i} = 198.51.100.{}, 203.0.113.{}",
            i % 250 + 1,
            i / 250 + 1
        );
        let _ = writeln!(spec, "n{i}.a = tcp:0");
    }
    let spec: ListenSpec = spec.parse().unwrap();
    let err = spec.plan(&host).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        err.errors().len(),
        2_000,
        "every unknown address is reported"
    );
    assert_eq!(
        text.matches("this host has:").count(),
        1,
        "the host is listed once"
    );
    assert!(
        text.contains("eth0 (#2) 10.0.0.0/8"),
        "{}",
        &text[text.len() - 2_000..]
    );
    assert_eq!(
        text.matches("9969 more").count(),
        1,
        "the listing says once how many it leaves out"
    );
    // About a line and a fix per error, plus a bounded listing: before, each
    // error repeated the whole host (497 MB for this spec).
    assert!(
        text.len() < err.errors().len() * 600 + 10_000,
        "{} bytes for {} errors",
        text.len(),
        err.errors().len()
    );
}

#[test]
fn many_endpoints_on_an_undefined_network_list_the_networks_once() {
    let mut spec = String::new();
    for i in 0..100 {
        let _ = writeln!(spec, "net{i} = loopback shared");
        let _ = writeln!(spec, "net{i}.a = tcp:0");
    }
    for i in 0..20_000 {
        let _ = writeln!(spec, "nowhere.e{i} = tcp:0");
    }
    let err = spec.parse::<ListenSpec>().unwrap_err();
    let text = err.to_string();
    assert_eq!(err.errors().len(), 20_000);
    assert_eq!(text.matches("defined networks:").count(), 1, "listed once");
    assert!(text.contains("net0, net1"), "{}", &text[text.len() - 500..]);
    assert!(
        text.contains("and 68 more"),
        "{}",
        &text[text.len() - 500..]
    );
    // 259 MB before, for the same spec.
    assert!(text.len() < 20_000 * 200, "{} bytes", text.len());
    // The JSON lists every network, once: a script can look a name up.
    let json = serde_json::to_value(&err).unwrap();
    let networks = json["networks"].as_array().unwrap();
    assert_eq!(networks.len(), 100);
    assert_eq!(
        (networks[0].as_str(), networks[99].as_str()),
        (Some("net0"), Some("net99"))
    );
}

#[test]
fn a_host_with_huge_interfaces_is_listed_in_bounded_lines() {
    let addrs: Vec<String> = (0..5_000)
        .map(|i| format!("10.1.{}.{}/16", i / 250, i % 250 + 1))
        .collect();
    let host = Host::builder()
        .interface("eth0", 2, addrs.iter().map(String::as_str))
        .build()
        .unwrap();
    let spec: ListenSpec = "x = if:eth9; x.a = tcp:0".parse().unwrap();
    let err = spec.plan(&host).unwrap_err();
    let listing = err.host_listing().expect("the error refers to the host");
    assert!(listing.contains("and 4984 more addresses"), "{listing}");
    assert!(listing.len() < 1_000, "{} bytes", listing.len());
}

/// A name whose answers sit on every one of 10,000 interfaces, selected by
/// 50 networks: one warning each, naming a few interfaces and how many
/// more, and its fix still names two of them.
#[test]
fn a_name_answering_on_thousands_of_interfaces_warns_in_bounded_lines() {
    let answers: Vec<String> = (0..10_000).map(eth_addr).collect();
    let host = big_host_builder(10_000)
        .dns("web-1", answers.iter().map(String::as_str))
        .build()
        .unwrap();
    let mut spec = String::new();
    for n in 0..50 {
        let _ = writeln!(spec, "n{n} = dns:web-1 shared\nn{n}.a = tcp:{}", 1000 + n);
    }
    let spec: ListenSpec = spec.parse().unwrap();
    let plan = spec.plan(&host).unwrap();
    let text: Vec<String> = plan.warnings().iter().map(ToString::to_string).collect();
    let spread: Vec<&String> = text
        .iter()
        .filter(|w| w.contains("resolves to addresses on 10000 interfaces"))
        .collect();
    assert_eq!(spread.len(), 50, "{:?}", &text[..text.len().min(3)]);
    for w in spread {
        assert!(w.contains("(eth0, eth1, "), "{w}");
        assert!(w.contains(" and 9992 more)"), "{w}");
        assert!(w.contains("`NET = dns:web-1, !if:eth1`"), "{w}");
        assert!(w.len() < 1_000, "{} bytes: {w}", w.len());
    }
}

#[test]
fn many_layers_and_removals_cost_linear_time_and_say_each_error() {
    // 20,000 networks, then a layer removing half of them and naming 20,000
    // that do not exist: each statement is looked up, never searched for.
    let mut file = String::new();
    for i in 0..20_000 {
        let _ = writeln!(file, "n{i} = loopback shared\nn{i}.a = tcp:0");
    }
    let mut flags = String::new();
    for i in (0..20_000).step_by(2) {
        let _ = writeln!(flags, "-n{i}");
    }
    for i in 0..20_000 {
        let _ = writeln!(flags, "-ghost{i}.a");
    }
    let err = listenspec::spec::Layers::new()
        .text("file", file)
        .text("flags", flags)
        .build()
        .unwrap_err();
    assert_eq!(
        err.errors().len(),
        20_000,
        "each removal of nothing is reported"
    );
    assert!(
        err.to_string()
            .contains("flags line 10001: -ghost0.a removes nothing")
    );
}

#[test]
fn huge_and_hostile_unix_paths_are_refused_in_bounded_output() {
    use listenspec::spec::{SpecErrorKind, UnixPath, UnixPathError};
    // A path of 10 MB: one error, its length and the fix, not the path
    // twice over in every part of the message.
    let long = format!("/{}", "a".repeat(10 << 20));
    for text in [format!("local = unix\nlocal.a = unix:{long}"), long.clone()] {
        let err = text.parse::<ListenSpec>().unwrap_err();
        assert_eq!(err.errors().len(), 1);
        assert!(
            matches!(
                &err.errors()[0].kind,
                SpecErrorKind::BadUnixPath { reason: UnixPathError::TooLong { len }, .. } if *len == long.len()
            ),
            "{:?}",
            err.errors()[0].kind
        );
        assert!(
            err.to_string().len() < 3 * text.len(),
            "bounded by the input"
        );
    }
    // The longest path the spec takes is still one.
    let max = format!("/{}", "a".repeat(UnixPath::MAX_LEN - 1));
    assert!(
        format!("local = unix\nlocal.a = unix:{max}")
            .parse::<ListenSpec>()
            .is_ok()
    );

    // NUL and every other control character, in paths and abstract names.
    let mut spec = String::from("local = unix\n");
    let controls: Vec<char> = (0u8..0x20)
        .chain([0x7f])
        .map(char::from)
        .chain(['\u{85}', '\u{2028}'])
        .collect();
    for (i, c) in controls.iter().enumerate() {
        let _ = writeln!(spec, "local.f{i} = unix:/run/a{c}b.sock");
        let _ = writeln!(spec, "local.a{i} = unix:@a{c}b");
    }
    let err = spec.parse::<ListenSpec>().unwrap_err();
    // \t, \n, \r and the like split the line instead: each is still an
    // error, never a path with the character in it.
    assert!(err.errors().len() >= controls.len() * 2, "{err}");
    assert!(
        err.errors()
            .iter()
            .all(|l| !matches!(l.kind, SpecErrorKind::DuplicateEndpoint(_)))
    );
}

#[test]
fn many_unix_endpoints_parse_and_fail_in_linear_time() {
    let n = 20_000;
    let mut spec = String::from("local = unix\n");
    for i in 0..n {
        let _ = writeln!(
            spec,
            "local.e{i} = http:/run/app/e{i}.sock mode=660 owner=www-data group={i} stale=refuse keep-file"
        );
    }
    let start = std::time::Instant::now();
    let parsed: ListenSpec = spec.parse().unwrap();
    assert_eq!(parsed.endpoints().len(), n);
    assert_eq!(parsed.to_string().parse::<ListenSpec>().unwrap(), parsed);
    // Each one on the wrong network, and with an IP option: two errors a line.
    let bad = spec
        .replace("local = unix", "local = loopback")
        .replace("keep-file", "reuseport");
    let err = bad.parse::<ListenSpec>().unwrap_err();
    assert_eq!(err.errors().len(), n * 2, "every error of every line");
    assert!(
        err.to_string().len() < n * 2 * 400,
        "{} bytes",
        err.to_string().len()
    );
    // Quadratic work on 20,000 lines would take minutes in a debug build.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

/// `n` addresses of 10.0.0.0/8, from 10.0.0.1 up.
fn tens(n: u32) -> Vec<String> {
    (1..=n)
        .map(|i| format!("10.{}.{}.{}/8", i >> 16, i >> 8 & 0xff, i & 0xff))
        .collect()
}

/// A host of 100,000 addresses on one interface, 20,000 on a down one,
/// 20,000 interfaces holding one link-local address and 20,000 holding
/// none, and DNS names answering 100,000 and 20,000 addresses: every
/// problem that lists addresses or interfaces has the whole host to list.
fn listing_host() -> Host {
    fn strs(v: &[String]) -> impl Iterator<Item = &str> {
        v.iter().map(String::as_str)
    }
    let eth0 = tens(100_000);
    let down: Vec<String> = (1..=20_000u32)
        .map(|i| format!("172.16.{}.{}/12", i >> 8, i & 0xff))
        .collect();
    let far: Vec<String> = (1..=100_000u32)
        .map(|i| format!("198.{}.{}.{}", 18 + (i >> 16), i >> 8 & 0xff, i & 0xff))
        .collect();
    let near: Vec<String> = std::iter::once("10.0.0.1".to_owned())
        .chain(far[..20_000].iter().cloned())
        .collect();
    let mut b = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("eth0", 2, strs(&eth0))
        .interface("down0", 3, strs(&down))
        .down()
        .dns("far", strs(&far))
        .dns("near", strs(&near));
    for i in 0..20_000u32 {
        b = b
            .interface(&format!("ll{i}"), 10 + i, ["fe80::1/64"])
            .interface(&format!("bare{i}"), 100_000 + i, []);
    }
    b.build().unwrap()
}

/// Addresses no listener may take are one finding per interface (or
/// name), selector and reason, however many: IPv4-mapped ones too, each
/// of which maps another IPv4 address (each was a finding of its own, and
/// 200,000 of them 75 MB of JSON), and when the reasons alternate, each
/// address in turn mapped and multicast (each switch started a finding).
/// The mapped wildcard stays apart: its reason says more.
#[test]
fn many_ipv4_mapped_addresses_are_one_finding() {
    let mapped: Vec<String> = (0..5_000u32)
        .flat_map(|i| {
            let (hi, lo) = (i >> 8, i & 0xff);
            [
                format!("::ffff:10.0.{hi}.{lo}/128"),
                format!("224.1.{hi}.{lo}/32"),
            ]
        })
        .chain(["::ffff:0.0.0.0/128".to_owned(), "10.0.0.5/8".to_owned()])
        .collect();
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("eth0", 2, mapped.iter().map(String::as_str))
        .build()
        .unwrap();
    let spec: ListenSpec = "ops = if:eth0\nops.http = http:80".parse().unwrap();
    let err = spec.plan(&host).unwrap_err();
    let kinds = crate::plan_kinds(&err);
    assert_eq!(kinds, ["Unlistenable"; 3], "{err}");
    let text = err.to_string();
    assert_eq!(text.matches("and 4992 more on eth0").count(), 2, "{text}");
    assert!(
        text.contains("the IPv4 wildcard in another spelling"),
        "{text}"
    );
    assert!(text.len() < 4 << 10, "{} bytes:\n{text}", text.len());
}

#[test]
fn problems_list_a_bounded_number_of_addresses_and_say_how_many_more() {
    let host = listing_host();
    // Shared, and each endpoint on its own port: the findings are the
    // listing ones, not one per address.
    let spec: ListenSpec = "
        internal = 10.0.0.0/8 shared
        internal.api = tcp:9000
        local = 10.0.0.0/8 expose=local shared
        local.a = tcp:9001
        gone = 10.0.0.0/8, !if:eth0 shared
        gone.a = tcp:9002
        bare = if:bare* shared
        bare.a = tcp:9003
        zoned = fe80::1%eth0 shared
        zoned.a = tcp:9004
        remote = dns:far shared
        remote.a = tcp:9005
        partly = dns:near shared
        partly.a = tcp:9006
        downs = 172.16.0.0/12, 10.0.0.1 shared
        downs.a = tcp:9007
    "
    .parse()
    .unwrap();
    let err = listenspec::plan_with(&spec, &host, listenspec::PlanOptions::strict()).unwrap_err();
    let text = err.to_string();
    let kinds: Vec<String> = err
        .errors()
        .iter()
        .map(|p| {
            format!("{:?}", p.kind())
                .split([' ', '{', '('])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    for kind in [
        "AddressOnlyIsolation",
        "AdvertiseTie",
        "Exposed",
        "AllExcluded",
        "NoMatch",
        "WrongZone",
        "NotLocal",
        "DnsPartlyRemote",
        "SkippedDown",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} among {kinds:?}");
    }
    // Before, one isolation and one tie message on this host were 2.5 MB.
    assert!(
        text.len() < 16 << 10,
        "{} bytes:\n{}",
        text.len(),
        &text[..4_000]
    );
    // Each lists 8 and counts the rest.
    for (what, more) in [
        (
            "isolation of internal.api",
            "10.0.0.8 and 99992 more of a private network",
        ),
        ("tie of internal.api", "10.0.0.9 and 99991 more"),
        ("expose=local", "10.0.0.8 and 99992 more\n"),
        ("the excluded", "10.0.0.8 and 99992 more]"),
        ("the bare interfaces", "bare7 and 19992 more has no address"),
        ("the holders of fe80::1", "ll7 and 19992 more, not on eth0"),
        (
            "the answers of far",
            "198.18.0.8 and 99992 more but no interface",
        ),
        (
            "the remote answers of near",
            "198.18.0.8 and 19992 more, which",
        ),
        ("the down addresses", "172.16.0.8 and 19992 more on down0"),
    ] {
        assert!(text.contains(more), "{what}: no {more:?} in\n{text}");
    }
    // As warnings under the doctor's table (and in its JSON), the same.
    let spec: ListenSpec = "internal = 10.0.0.0/8\ninternal.api = tcp:9000"
        .parse()
        .unwrap();
    let plan = spec.plan(&host).unwrap();
    assert_eq!(plan.warnings().len(), 2, "{:?}", plan.warnings());
    for w in plan.warnings() {
        assert!(w.to_string().len() < 2 << 10, "{w}");
    }
}

#[test]
fn a_snapshot_of_100k_interfaces_loads_in_linear_time_and_finds_duplicates() {
    use listenspec::host::{AddrFlags, HostError, Interface};
    let start = std::time::Instant::now();
    let interfaces = |n: u32| -> Vec<Interface> {
        (1..=n)
            .map(|i| {
                let net = format!("10.{}.{}.{}/8", i >> 16, i >> 8 & 0xff, i & 0xff);
                Interface::new(format!("eth{i}"), i, true, vec![net.parse().unwrap()])
            })
            .collect()
    };
    // Each interface was compared with every earlier one: 100,000 took
    // over a minute in a release build.
    let json = serde_json::json!({ "interfaces": interfaces(100_000) }).to_string();
    let host: Host = serde_json::from_str(&json).unwrap();
    assert_eq!(host.interfaces().len(), 100_000);

    // A duplicate at the end is still found, naming both interfaces.
    let mut all = interfaces(100_000);
    all.push(Interface::new("eth1", 200_000, true, Vec::new()));
    assert_eq!(
        Host::new(all, Default::default()).unwrap_err(),
        HostError::DuplicateName("eth1".to_owned())
    );
    let mut all = interfaces(100_000);
    all.push(Interface::new("extra", 7, true, Vec::new()));
    assert_eq!(
        Host::new(all, Default::default()).unwrap_err(),
        HostError::DuplicateIndex {
            index: 7,
            first: "eth7".to_owned(),
            second: "extra".to_owned(),
        }
    );

    // 50,000 flagged addresses on one interface: each flag's address was
    // searched for among all of them.
    let nets: Vec<ipnet::IpNet> = tens(50_000).iter().map(|t| t.parse().unwrap()).collect();
    let mut one = Interface::new("eth0", 1, true, nets.clone());
    for n in &nets {
        one = one.with_addr_flags(n.addr(), AddrFlags::DEPRECATED);
    }
    assert!(Host::new(vec![one.clone()], Default::default()).is_ok());
    let stray = "192.0.2.1".parse().unwrap();
    assert_eq!(
        Host::new(
            vec![one.with_addr_flags(stray, AddrFlags::TENTATIVE)],
            Default::default()
        )
        .unwrap_err(),
        HostError::FlagsWithoutAddr {
            interface: "eth0".to_owned(),
            ip: stray,
        }
    );
    // Quadratic work on these sizes would take hours in a debug build.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

/// One statement of many bad words is one error a word, and the statement
/// is echoed once, not under each of them: before, a line of 4,000 bad
/// selectors (35 KB) printed 140 MB, and held as much, the line copied
/// into every error.
#[test]
fn a_statement_of_many_errors_is_echoed_once() {
    let n = 4_000;
    let words: Vec<String> = (0..n).map(|i| format!("bad{i}")).collect();
    let options: Vec<String> = (0..n).map(|i| format!("opt{i}")).collect();
    for text in [
        format!("x = {}\nx.a = tcp:1", words.join(", ")),
        format!("x = loopback\nx.a = tcp:1 {}", options.join(" ")),
        format!("x = loopback\nx.a = tcp:1{}", " reuseport".repeat(n)),
    ] {
        let err = text.parse::<ListenSpec>().unwrap_err();
        assert!(err.errors().len() >= n - 1, "{}", err.errors().len());
        let statements = err.errors().iter().filter(|e| e.statement.is_some());
        assert_eq!(statements.count(), 1, "the statement is kept once");
        let shown = err.to_string();
        assert!(
            shown.len() < err.errors().len() * 400 + 2 * text.len(),
            "{} bytes for {} errors of a {}-byte spec",
            shown.len(),
            err.errors().len(),
            text.len()
        );
        assert_eq!(shown.matches("\n    x").count(), 1, "echoed once");
    }
}

/// Spec text is echoed in errors, and it may hold what a terminal obeys
/// (an escape sequence, a carriage return) from a config file or a
/// variable: every control character is printed escaped, as a snapshot's
/// are refused.
#[test]
fn control_characters_in_spec_text_are_printed_escaped() {
    use listenspec::spec::Layers;
    let texts = [
        "x = loop\x1bback\nx.a = tcp:1",
        "-x\x1b[31m",
        "x = loopback\nx.a = tcp:${A\x1bB}",
        "x = loopback\x07 expose=\x1b]0;title\x07",
        "x = loopback\nx.a = tcp:1 \x1b[2J",
        "x\x1b = loopback",
        "x = loopback\r\x1b[1Aforged\nx.a = tcp:1",
    ];
    for text in texts {
        let shown = text.parse::<ListenSpec>().unwrap_err().to_string();
        assert!(!shown.contains(raw_control), "{shown:?}");
        assert!(
            shown.contains("\\u{1b}") || shown.contains("\\u{7}"),
            "{shown:?}"
        );
    }
    // A variable's value reaches the statement an error echoes.
    let err = Layers::new()
        .env(|_| Some("\x1b[2J".to_owned()))
        .text(
            "file \x1b[1A",
            "x = loopback advertise ${HOST}\nx.a = tcp:1",
        )
        .build()
        .unwrap_err()
        .to_string();
    assert!(!err.contains(raw_control), "{err:?}");
}

/// A control character other than the line breaks the messages are made of.
fn raw_control(c: char) -> bool {
    c.is_control() && c != '\n'
}

/// A value or statement a million bytes long, as a broken template or a
/// variable holding a file makes: its error shows its start and how much
/// was left out, a few lines whatever the size.
#[test]
fn a_huge_value_is_echoed_by_its_start_and_its_length() {
    let n = 1 << 20;
    let values = [
        format!("https://{}x", "a.".repeat(n / 2)),
        format!("https://svc:{}", "9".repeat(n)),
        format!("https://[{}]", ":".repeat(n)),
        format!("https://{}1", "1.".repeat(n / 2)),
        format!("https://{}@svc", "u".repeat(n)),
        format!("https://{}", "é".repeat(n / 2)),
    ];
    let mut texts: Vec<String> = values
        .iter()
        .flat_map(|v| {
            [
                format!("x = loopback advertise {v}\nx.a = tcp:1"),
                format!("x = loopback\nx.a = tcp:1 advertise {v}"),
            ]
        })
        .collect();
    texts.push(format!("x = {}\nx.a = tcp:1", "if:e".repeat(n / 4)));
    texts.push(format!("x = loopback\nx.a = {}:1", "t".repeat(n)));
    // A statement of many words with one error: the echo is cut, too.
    texts.push(format!(
        "x = {}b@d\nx.a = tcp:1",
        "127.0.0.1, ".repeat(n / 10)
    ));
    for text in &texts {
        let err = text.parse::<ListenSpec>().unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.len() < 8 * 1024,
            "{} bytes for a {}-byte spec:\n{}",
            shown.len(),
            text.len(),
            &shown[..2000]
        );
        // A huge user before `@` is hidden whole, as any URL's user is.
        assert!(
            shown.contains("more bytes)") || shown.contains("https://***@svc"),
            "{shown}"
        );
    }
}

/// Forms of other programs are recognised in one pass over the value: a
/// megabyte of quotes, of quoted values separated by spaces or commas, or
/// of colons is an error in bounded words, never a deep recursion.
#[test]
fn a_huge_value_of_quotes_and_separators_is_refused_without_recursing() {
    let n = 1 << 20;
    let values = [
        "'".repeat(n),
        format!("{}:80{}", "'".repeat(n / 2), "'".repeat(n / 2)),
        "':80' ".repeat(n / 6),
        "':80',".repeat(n / 6),
        "\"'".repeat(n / 2),
        ":".repeat(n),
        "_".repeat(n),
        format!("_{}_:80", "a".repeat(n)),
    ];
    for value in &values {
        let err = value.parse::<ListenSpec>().unwrap_err();
        assert!(err.to_string().len() < 8 * 1024, "{:.100}", err.to_string());
    }
}

/// A selector of many ports (`:1:1:1…`) is one error, not a search for
/// each port's host as deep as the word has ports (a 6 KB line overflowed
/// the stack), nor is a pasted value read again inside itself; many URLs
/// in one value have their userinfo hidden in one pass (40 KB of
/// `http://` took 15 s).
#[test]
fn many_ports_pasted_values_and_urls_in_one_value_are_refused_in_linear_time() {
    let n = 1 << 18;
    let values = [
        format!("public = {}", ":1".repeat(n)),
        format!("public = ipv4@{}", ":1".repeat(n)),
        format!("public = [{}]:1", ":1".repeat(n)),
        "http://".repeat(n),
        format!("x = loopback advertise {}", "http://a@".repeat(n)),
        "://".repeat(n),
        // A directive, a flag, a YAML key or a systemd line whose value is
        // another: each value is read once.
        format!("{}80", "-p ".repeat(n)),
        format!("{}80", "listen ".repeat(n)),
        format!("{}80", "--bind=".repeat(n)),
        format!("{}80", "-addr=".repeat(n)),
        format!("{}80", "-listen ".repeat(n)),
        format!("{}80", "a: ".repeat(n)),
        format!("{}80", "\"a\" : ".repeat(n)),
        // Paths in a comma list, each item read once.
        "/a.sock,".repeat(n / 8),
        format!("{}/a.sock", "-p /a.sock,".repeat(n / 8)),
        format!("{}80{}", "{\"a\": ".repeat(n / 4), "}".repeat(n / 4)),
        format!("{}80", "- ".repeat(n)),
        format!("{}80", "ListenStream=".repeat(n)),
        // A shell's export, a call from code and a config file's key
        // around a quoted value that is another.
        format!("{}:80{}", "export A=\"".repeat(n / 8), "\"".repeat(n / 8)),
        format!("{}:80{}", "f(\"".repeat(n / 4), "\")".repeat(n / 4)),
        format!("{}:80{}", "a = \"".repeat(n / 4), "\"".repeat(n / 4)),
        format!("{}:80", "--tcp-reuse-port=".repeat(n / 8)),
        format!("tcp://:80?{}", "backlog=1&".repeat(n / 8)),
        format!("{}80", "EXPOSE ".repeat(n / 4)),
        format!("{}\":80\"{}", "a = [\"".repeat(n / 8), "\"]".repeat(n / 8)),
        format!(
            "{}:80{}",
            "a = ['b = [\"".repeat(n / 16),
            "\"]']".repeat(n / 16)
        ),
        format!("{}:80{}", "[\"".repeat(n / 4), "\"]".repeat(n / 4)),
        // `;` inside quotes, each line looked at once for it: after many
        // statements, in one quoted value, quotes opened on every piece.
        format!("{}\"a;b\"", "x = loopback;".repeat(n / 4)),
        format!("x = \"{}\"", "a;".repeat(n / 2)),
        "\"a;".repeat(n / 2),
    ];
    for value in &values {
        let err = value.parse::<ListenSpec>().unwrap_err();
        assert!(err.to_string().len() < 8 * 1024, "{:.100}", err.to_string());
    }
    let err = format!(
        "x = loopback advertise http://u:pw@a/http://v:pw2@b{}",
        " x".repeat(3)
    )
    .parse::<ListenSpec>()
    .unwrap_err();
    assert!(!err.to_string().contains("pw"), "{err}");
}

/// A spec of thousands of bad statements prints its first hundred errors
/// and how many more; `errors()` has them all.
#[test]
fn an_error_prints_its_first_hundred_problems_and_how_many_more() {
    let err = "a;".repeat(5000).parse::<ListenSpec>().unwrap_err();
    assert_eq!(err.errors().len(), 5000);
    let shown = err.to_string();
    assert!(
        shown.starts_with("the listen spec has 5000 errors:"),
        "{shown:.200}"
    );
    assert!(
        shown.ends_with("… and 4900 more errors, not shown"),
        "{shown:.200}"
    );
    assert_eq!(shown.matches("line ").count(), 100);

    // A plan's errors alike.
    let mut text = String::new();
    for i in 0..150 {
        let _ = writeln!(text, "n{i} = 203.0.113.{}\nn{i}.a = tcp:1", i + 1);
    }
    let spec: ListenSpec = text.parse().unwrap();
    let err = listenspec::plan(&spec, &big_host(4)).unwrap_err();
    assert_eq!(err.errors().len(), 150);
    let shown = err.to_string();
    assert!(
        shown.starts_with("the listen plan has 150 errors:"),
        "{shown:.200}"
    );
    assert!(
        shown.contains("\n- … and 50 more errors, not shown"),
        "{shown:.200}"
    );
    assert_eq!(shown.matches("\n- network").count(), 100);
}

/// An error on a line whose variables were expanded quotes the line as
/// written once per line, and only a line of one statement: a line of
/// thousands of bad statements after a variable, or before a comment of a
/// megabyte, is not copied or searched once per error.
#[test]
fn quoting_lines_as_written_costs_once_per_line() {
    use listenspec::spec::Layers;
    let huge_comment = format!("{}# {}", "a;".repeat(5000), "x".repeat(1 << 20));
    let many = format!(
        "${{X}}:80; {}",
        (0..10_000)
            .map(|i| format!("bad{i}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for text in [huge_comment, many] {
        let started = std::time::Instant::now();
        let err = Layers::new()
            .env(|name| (name == "X").then(|| "127.0.0.1".to_owned()))
            .text("file", text)
            .build()
            .unwrap_err();
        assert!(err.errors().len() >= 5000);
        let quoted: usize = err
            .errors()
            .iter()
            .filter_map(|l| l.statement.as_ref())
            .map(String::len)
            .sum();
        assert!(quoted < 1 << 20, "{quoted} bytes quoted");
        // Not a timing assertion: a bound a quadratic walk misses by far.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }
    // A statement longer than 1 KiB is quoted as the parser read it only.
    let long = format!(
        "a = loopback\na.b = tcp:${{P}} advertise https://h/{}",
        "p".repeat(2000)
    );
    let err = Layers::new()
        .env(|name| (name == "P").then(|| "x".to_owned()))
        .text("file", long)
        .build()
        .unwrap_err();
    let statement = err.errors()[0].statement.as_deref().unwrap();
    assert!(statement.starts_with("a.b = tcp:x "), "{statement:.100}");
    assert!(!statement.contains("expanded"), "{statement:.100}");
    // One statement on its line is quoted as written.
    let err = Layers::new()
        .env(|name| (name == "P").then(|| "x".to_owned()))
        .text("file", "a = loopback\na.b = tcp:${P} # port ${P}")
        .build()
        .unwrap_err();
    assert_eq!(
        err.errors()[0].statement.as_deref(),
        Some("a.b = tcp:${P}   (expanded: a.b = tcp:x)")
    );
}

/// A network's or endpoint's name is in every message about it, so a huge
/// one is refused where it is written, in bounded words; 64 bytes is the
/// longest name, and the plan's messages about it stay short.
#[test]
fn a_huge_name_is_refused_and_the_longest_name_keeps_messages_short() {
    let huge = "n".repeat(1 << 20);
    for text in [
        format!("{huge} = loopback\n{huge}.a = tcp:1"),
        format!("x = loopback\nx.{huge} = tcp:1"),
    ] {
        let err = text.parse::<ListenSpec>().unwrap_err();
        assert!(
            crate::error_kinds(&err).iter().all(|k| k == "BadName"),
            "{err}"
        );
        let shown = err.to_string();
        assert!(shown.len() < 8 * 1024, "{} bytes", shown.len());
        assert!(shown.contains("up to 64 letters"), "{shown}");
    }
    // Removing it removes nothing, in as few words.
    let err = format!("x = loopback\nx.a = tcp:1\n-{huge}")
        .parse::<ListenSpec>()
        .unwrap_err();
    assert!(err.to_string().len() < 8 * 1024);
    let longest = "n".repeat(64);
    let too_long = "n".repeat(65);
    assert!(
        format!("x = loopback\nx.{longest} = tcp:1")
            .parse::<ListenSpec>()
            .is_ok()
    );
    let err = format!("x = loopback\nx.{too_long} = tcp:1")
        .parse::<ListenSpec>()
        .unwrap_err();
    assert_eq!(crate::error_kinds(&err), ["BadName"]);
    // The plan names the network and endpoint in its problems: an address
    // no interface holds, and the listing of the host.
    let spec: ListenSpec = format!("{longest} = 203.0.113.9\n{longest}.{longest} = tcp:1")
        .parse()
        .unwrap();
    let err = listenspec::plan(&spec, &big_host(10)).unwrap_err();
    assert!(err.to_string().len() < 4 * 1024, "{err}");
}

/// A network that lists every address of a host of 50,000 interfaces (as
/// addresses, as blocks of one, by interface name, as excludes), or 50,000
/// loopback addresses no interface lists: each host address is looked up
/// among the selectors, never tried on each of them. Tried on each, a release build
/// took 2 s at 30,000.
#[test]
fn a_network_of_many_selectors_on_a_host_of_many_plans_in_linear_time() {
    let start = std::time::Instant::now();
    let n = 50_000u32;
    let host = big_host(n);
    let octets = |i: u32| format!("{}.{}.{}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff);
    let listed: Vec<String> = (0..n).map(|i| format!("10.{}", octets(i))).collect();
    let blocks: Vec<String> = listed.iter().map(|a| format!("{a}/32")).collect();
    let names: Vec<String> = (0..n).map(|i| format!("if:eth{i}")).collect();
    for selectors in [&listed, &blocks, &names] {
        let spec: ListenSpec = format!("x = {}\nx.a = tcp:1", selectors.join(", "))
            .parse()
            .unwrap();
        let plan = spec.plan(&host).unwrap();
        assert_eq!(plan.networks()[0].addrs().len(), n as usize);
    }
    // As excludes: all but ten of the host's addresses left out.
    let excluded: Vec<String> = listed[10..].iter().map(|a| format!("!{a}")).collect();
    let spec: ListenSpec = format!("x = 10.0.0.0/8, {}\nx.a = tcp:1", excluded.join(", "))
        .parse()
        .unwrap();
    let plan = spec.plan(&host).unwrap();
    assert_eq!(plan.networks()[0].addrs().len(), 10);
    let loopback: Vec<String> = (0..n).map(|i| format!("127.{}", octets(i + 2))).collect();
    let spec: ListenSpec = format!("x = {} expose=local\nx.a = tcp:1", loopback.join(", "))
        .parse()
        .unwrap();
    let plan = spec.plan(&host).unwrap();
    assert_eq!(plan.networks()[0].addrs().len(), n as usize);
    // Quadratic work on these sizes would take many minutes in a debug build.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

/// A right-to-left override shows text other than it is
/// (`eth0\u{202e}1hte` reads as another name), and an invisible character
/// makes two names look alike (`eth\u{200b}0` shows as `eth0`): a snapshot
/// holding one, or a line separator, is refused as a control character is,
/// and a spec error prints one escaped.
#[test]
fn bidirectional_and_invisible_characters_are_refused_in_snapshots_and_escaped_in_errors() {
    use listenspec::host::HostError;
    for name in [
        "eth0\u{202e}1hte",
        "eth\u{2066}0",
        "eth\u{2028}0",
        "eth\u{200f}0",
        "eth\u{200b}0",
        "eth\u{200d}0",
        "eth\u{2060}0",
        "eth\u{feff}0",
        "eth\u{00ad}0",
        "eth\u{034f}0",
        "eth\u{3164}0",
        "eth\u{fe0f}0",
        "eth\u{e0041}0",
        "eth\u{1d173}0",
        // Format characters that are not default-ignorable, and spaces
        // other than the ASCII one, or at either end of a name.
        "eth\u{fff9}0",
        "eth\u{0600}0",
        "eth\u{070f}0",
        "eth\u{13430}0",
        "eth\u{00a0}0",
        "eth\u{2002}0",
        "eth\u{3000}0",
        "eth\u{2800}0",
        "eth2 ",
        " eth2",
    ] {
        let err = Host::builder()
            .interface(name, 2, ["203.0.113.5/24"])
            .build()
            .unwrap_err();
        assert!(
            matches!(err, HostError::ControlCharacter { .. }),
            "{name:?}: {err}"
        );
    }
    for (spec, c, escaped) in [
        ("x\u{202e} = loopback", '\u{202e}', "\\u{202e}"),
        ("pub\u{200b}lic = loopback", '\u{200b}', "\\u{200b}"),
        ("pub\u{00a0}lic = loopback", '\u{00a0}', "\\u{a0}"),
    ] {
        let err = spec.parse::<ListenSpec>().unwrap_err();
        let shown = err.to_string();
        assert!(!shown.contains(c), "{shown}");
        assert!(shown.contains(escaped), "{shown}");
    }
}

/// A snapshot's text is quoted in its errors by its start: an address or
/// a DNS answer a megabyte long is an error of a line, in the doctor's
/// output and in a fleet's list of unreadable snapshots alike.
#[test]
fn a_huge_text_in_a_snapshot_is_quoted_by_its_start() {
    let huge = "1".repeat(1 << 20);
    for json in [
        format!(
            r#"{{"interfaces": [{{"name": "eth0", "index": 2, "up": true, "addrs": ["{huge}/8"]}}]}}"#
        ),
        format!(r#"{{"interfaces": [], "dns": {{"svc": ["{huge}"]}}}}"#),
    ] {
        let err = serde_json::from_str::<Host>(&json).unwrap_err().to_string();
        assert!(err.len() < 4096, "{} bytes: {}", err.len(), &err[..300]);
        assert!(err.contains("more bytes)"), "{err}");
    }
}

/// A key given twice in one of a snapshot's maps is refused: JSON readers
/// keep the first or the last, so a snapshot whose `dns` says `"db"` twice
/// shows a reviewer one answer and would be planned with the other.
#[test]
fn a_snapshot_key_given_twice_is_refused() {
    let eth0 = r#"{"name": "eth0", "index": 2, "up": true, "addrs": ["203.0.113.5/24"]"#;
    for (json, key) in [
        (
            r#"{"interfaces": [], "dns": {"db": ["203.0.113.5"], "db": ["198.51.100.7"]}}"#.to_owned(),
            "\"db\"",
        ),
        (
            format!(
                r#"{{"interfaces": [{eth0}, "addr_flags": {{"203.0.113.5": [], "203.0.113.5": ["tentative"]}}}}]}}"#
            ),
            "203.0.113.5",
        ),
        (
            r#"{"interfaces": [], "cwd": "/", "unix_paths": {"/run/a.sock": {"parent": "directory", "file": "absent"}, "/run/a.sock": {"parent": "directory", "file": "socket"}}}"#.to_owned(),
            "\"/run/a.sock\"",
        ),
        (
            r#"{"interfaces": [], "users": {"www": 33, "www": 0}}"#.to_owned(),
            "\"www\"",
        ),
        (
            r#"{"interfaces": [], "groups": {"www": 33, "www": 0}}"#.to_owned(),
            "\"www\"",
        ),
    ] {
        let err = serde_json::from_str::<Host>(&json).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{key} is given twice in one object; a snapshot records each once, so keep the one that is true")),
            "{json}: {err}"
        );
    }
    let once =
        format!(r#"{{"interfaces": [{eth0}}}], "dns": {{"db": ["203.0.113.5"], "web": []}}}}"#);
    let host = serde_json::from_str::<Host>(&once).unwrap();
    assert_eq!(host.dns_answers().len(), 2);
}

/// An interface name longer than any OS gives (Linux's are at most 15
/// bytes, Windows' friendly names 256 characters) is refused: each problem
/// about an address names its interface, and a forged megabyte-long name
/// made a plan of a few thousand addresses gigabytes. Names up to the
/// limit are quoted by their start in the host's listing.
#[test]
fn huge_interface_names_are_refused_and_long_ones_listed_by_their_start() {
    let huge = "e".repeat(1 << 20);
    let err = Host::builder()
        .interface(&huge, 2, ["203.0.113.5/24"])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "interface name of 1048576 bytes, where no host has one over 1024: the snapshot is damaged or was not written by a capture"
    );
    let names: Vec<String> = (0..5).map(|i| format!("{}{i}", "e".repeat(1023))).collect();
    let mut b: HostBuilder = Host::builder().interface("lo", 1, ["127.0.0.1/8"]);
    for (i, name) in names.iter().enumerate() {
        b = b.interface(name, i as u32 + 2, ["203.0.113.5/24"]);
    }
    let host = b.build().unwrap();
    let spec: ListenSpec = "x = if:eth9\nx.a = tcp:1".parse().unwrap();
    let err = spec.plan(&host).unwrap_err().to_string();
    assert!(err.len() < 16 * 1024, "{} bytes", err.len());
    assert!(err.contains("more bytes)"), "{}", &err[..500]);
}

/// A snapshot of many loopback addresses and as many DNS answers inside
/// their blocks plans in linear time: each answer finds the block that
/// holds it by its prefix lengths, not by a scan of every address (30,000
/// of each took minutes).
#[test]
fn many_loopback_answers_on_many_loopback_addresses_plan_in_linear_time() {
    const N: u32 = 30_000;
    let ip = |base: u32, i: u32| std::net::Ipv4Addr::from(base + i).to_string();
    let addrs: Vec<String> = (0..N)
        .map(|i| format!("{}/32", ip(0x7f00_0001, i)))
        .collect();
    let answers: Vec<String> = (0..N).map(|i| ip(0x7fc8_0000, i)).collect();
    let host = Host::builder()
        .interface("lo", 1, addrs.iter().map(String::as_str))
        .dns("svc", answers.iter().map(String::as_str))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let spec: ListenSpec = "n = dns:svc expose=local\nn.x = http:8080".parse().unwrap();
    let _ = spec.plan(&host);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// serde's own messages about a snapshot quote what the file holds (an
/// unknown key): they are escaped and cut as any snapshot text is, so a
/// forged key can neither rewrite the terminal nor forge a report line.
#[test]
fn a_snapshot_s_json_errors_are_escaped_and_short() {
    let dir = TempDir::new("json");
    let key = format!(
        "\u{1b}]0;PWNED\u{7}\u{1b}[2J\nforged line{}",
        "k".repeat(1 << 20)
    );
    let path = dir.join("evil.json");
    std::fs::write(
        &path,
        serde_json::json!({"interfaces": [], key: 1}).to_string(),
    )
    .unwrap();
    let err = listenspec::fleet::read_snapshot(&path)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("is not a host snapshot"), "{err:.300}");
    assert!(!err.contains(|c: char| c.is_control()), "{err:.300}");
    assert!(err.len() < 4096, "{} bytes", err.len());
}

/// A snapshot's working directory is absolute: a relative one would make
/// the spec's relative socket paths resolve against the directory of the
/// process that plans (the doctor's, another machine's). User and group
/// names are checked for control characters as every other name is.
#[test]
fn a_snapshot_s_cwd_is_absolute_and_its_accounts_printable() {
    for cwd in ["sub", "../x", ""] {
        let err = Host::builder().cwd(cwd).build().unwrap_err();
        assert!(err.to_string().contains("is relative"), "{cwd}: {err}");
    }
    assert!(Host::builder().cwd("/srv/app").build().is_ok());
    let err = Host::builder()
        .user("www\u{1b}[2J", 33)
        .build()
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "user or group name \"www\\u{1b}[2J\" holds a control or invisible character"
        ),
        "{err}"
    );
}

/// A snapshot of 100,000 addresses no listener may take, on an interface
/// with a name a thousand bytes long, and a DNS name answering as many
/// groups: a few findings, not one per address (which, each with its own
/// copy of the name, made a fleet check of sixteen such hosts take a
/// gigabyte and a doctor's JSON a thousand times the snapshot). The
/// messages name the first few addresses and count the rest.
#[test]
fn a_hundred_thousand_unlistenable_addresses_are_a_few_findings() {
    let name = "e".repeat(1000);
    let n = 100_000u32;
    let groups: Vec<String> = (0..n)
        .map(|i| format!("239.{}.{}.{}/32", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let answers: Vec<String> = (0..n)
        .map(|i| format!("ff0e::{:x}:{:x}", i >> 16, i & 0xffff))
        .collect();
    let host = Host::builder()
        .interface(&name, 2, groups.iter().map(String::as_str))
        .dns("groups.test", answers.iter().map(String::as_str))
        .build()
        .unwrap();
    let spec: ListenSpec = "ops = if:e*, dns:groups.test\nops.metrics = http:9100"
        .parse()
        .unwrap();
    let err = listenspec::plan(&spec, &host).unwrap_err();
    let kinds = crate::plan_kinds(&err);
    assert_eq!(kinds, ["DnsUnlistenable", "Unlistenable"], "{err}");
    let text = err.to_string();
    assert!(text.len() < 16 * 1024, "{} bytes", text.len());
    assert!(text.contains("239.0.0.0, 239.0.0.1,"), "{text}");
    assert!(text.contains(&format!("and {} more", n - 8)), "{text}");
    let json = serde_json::to_string(&err).unwrap();
    assert!(json.len() < 16 * 1024, "{} bytes", json.len());
}

/// Two endpoints on one port of a block of a hundred thousand addresses,
/// and two networks selecting it: a finding per endpoint and per network,
/// naming the first few addresses and counting the rest, not one per
/// address (which made a doctor's JSON 16 MB here).
#[test]
fn conflicts_over_a_hundred_thousand_addresses_are_one_finding_each() {
    let n = 100_000u32;
    let addrs: Vec<String> = (0..n)
        .map(|i| format!("10.{}.{}.{}/8", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let host = Host::builder()
        .interface("eth0", 2, addrs.iter().map(String::as_str))
        .build()
        .unwrap();
    let spec: ListenSpec = "ops = 10.0.0.0/8; ops.x = tcp:80; ops.y = tcp:80\n\
         api = if:eth0; api.z = tcp:80\n\
         any = * expose=public; any.w = tcp:80"
        .parse()
        .unwrap();
    let err = listenspec::plan(&spec, &host).unwrap_err();
    let kinds = crate::plan_kinds(&err);
    assert_eq!(
        kinds,
        [
            "SharedAddress",
            "Conflict",
            "Conflict",
            "WildcardConflict",
            "WildcardConflict",
            "WildcardConflict"
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(text.len() < 16 * 1024, "{} bytes", text.len());
    let more = format!("and {} more", n - 8);
    assert!(
        text.contains(&format!(
            "10.0.0.0, 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7 {more} are also selected by network ops"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("tcp 10.0.0.0:80, 10.0.0.1:80, 10.0.0.2:80, 10.0.0.3:80, 10.0.0.4:80, 10.0.0.5:80, 10.0.0.6:80, 10.0.0.7:80 {more} are also taken by ops.x")),
        "{text}"
    );
    assert!(text.contains("collide with any.w on 0.0.0.0:80"), "{text}");
    let json = serde_json::to_string(&err).unwrap();
    assert!(json.len() < 16 * 1024, "{} bytes", json.len());
}

/// A pasted line quoting itself ten thousand deep (`bind "bind "…:80"…"`)
/// is one error, read at one depth: each quote was read as another pasted
/// line, which overflowed the stack and aborted the process.
#[test]
fn a_pasted_line_nested_in_its_own_quotes_is_read_once() {
    for (open, close) in [
        ("bind \"", "\""),
        ("listen '", "'"),
        ("export LISTEN=\"", "\""),
        ("\"listen\": \"", "\""),
        ("{\"listen\": ", "}"),
    ] {
        let n = 10_000;
        let text = format!("{}:80{}", open.repeat(n), close.repeat(n));
        let err = text.parse::<ListenSpec>().unwrap_err();
        assert_eq!(err.errors().len(), 1, "{open}");
    }
}

/// Three hundred networks of one address each, and three hundred more on
/// the whole block: one finding per network that shares, naming the first
/// few addresses and networks, not one per pair (90,000 findings, and a
/// doctor's JSON hundreds of megabytes at a thousand of each); the same
/// for endpoints on one port.
#[test]
fn many_networks_sharing_many_addresses_are_one_finding_each() {
    let n = 300u32;
    let addrs: Vec<String> = (0..n)
        .map(|i| format!("10.0.{}.{}/8", i >> 8, i & 255))
        .collect();
    let host = Host::builder()
        .interface("eth0", 2, addrs.iter().map(String::as_str))
        .build()
        .unwrap();
    let mut spec = String::new();
    for i in 0..n {
        writeln!(spec, "a{i} = 10.0.{}.{}\na{i}.x = tcp:80", i >> 8, i & 255).unwrap();
    }
    for i in 0..n {
        writeln!(spec, "w{i} = 10.0.0.0/8\nw{i}.x = tcp:80").unwrap();
    }
    let spec: ListenSpec = spec.parse().unwrap();
    let err = listenspec::plan(&spec, &host).unwrap_err();
    assert!(
        err.errors().len() <= 2 * n as usize,
        "{}",
        err.errors().len()
    );
    let first = err
        .errors()
        .iter()
        .find(|p| p.network_name().is_some_and(|n| n.as_str() == "w0"))
        .unwrap()
        .to_string();
    assert!(
        first.contains("also selected by networks a0, a1, a2, a3, a4, a5, a6, a7 and 292 more"),
        "{first}"
    );
    let json = serde_json::to_string(&err).unwrap();
    assert!(json.len() < 2 * 1024 * 1024, "{} bytes", json.len());
}

/// One-address values whose group is removed and made again, over and
/// over, beside a large first group: each new group made the first one
/// `shared` again, rewriting all its addresses (6,000 pairs after 6,000
/// addresses took 2.3 s and 1.7 GB in a release build). The first group
/// becomes `shared` once.
#[test]
fn a_group_removed_and_made_again_does_not_rewrite_the_first_each_time() {
    let n = 20_000u32;
    let mut text = String::new();
    for i in 0..n {
        writeln!(text, "10.{}.{}.{}:1", i >> 16, i >> 8 & 255, i & 255).unwrap();
    }
    for k in 0..n {
        writeln!(text, "[::1]:{}\n-listen-2", 2 + k % 60_000).unwrap();
    }
    let spec: ListenSpec = text.parse().unwrap();
    let [first] = spec.networks() else {
        panic!("{:.300}", spec.to_string())
    };
    assert!(first.is_shared());
    assert_eq!(first.includes().len(), n as usize);
}
