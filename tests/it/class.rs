//! Address classes against an independent transcription of the IANA
//! special-purpose registries (tests/data/iana-ipv*-special.tsv).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use listenspec::AddrClass;
use listenspec::class::{SpecialBlock, block_of, is_globally_reachable, registry};

/// One line of a data file.
#[derive(Debug)]
struct Row {
    net: IpNet,
    name: String,
    rfc: String,
    reachable: Option<bool>,
    class: AddrClass,
    line: String,
}

fn load(file: &str) -> Vec<Row> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let where_ = format!("{file}:{}", n + 1);
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "{where_}: expected 5 tab-separated columns");
        let net: IpNet = cols[0]
            .parse()
            .unwrap_or_else(|e| panic!("{where_}: block {:?}: {e}", cols[0]));
        assert_eq!(net, net.trunc(), "{where_}: block has host bits set");
        let reachable = match cols[3] {
            "True" => Some(true),
            "False" => Some(false),
            "N/A" => None,
            other => panic!("{where_}: reachable column {other:?}"),
        };
        let class = AddrClass::from_name(cols[4])
            .unwrap_or_else(|| panic!("{where_}: unknown class {:?}", cols[4]));
        rows.push(Row {
            net,
            name: cols[1].to_owned(),
            rfc: cols[2].to_owned(),
            reachable,
            class,
            line: where_,
        });
    }
    rows
}

fn all_rows() -> Vec<Row> {
    let mut rows = load("iana-ipv4-special.tsv");
    assert!(rows.iter().all(|r| matches!(r.net, IpNet::V4(_))));
    let v6 = load("iana-ipv6-special.tsv");
    assert!(v6.iter().all(|r| matches!(r.net, IpNet::V6(_))));
    rows.extend(v6);
    rows
}

fn to_ip(v4: bool, x: u128) -> IpAddr {
    if v4 {
        let x = u32::try_from(x).expect("IPv4 arithmetic stays below 2^32");
        IpAddr::V4(Ipv4Addr::from_bits(x))
    } else {
        IpAddr::V6(Ipv6Addr::from_bits(x))
    }
}

fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (n.network().to_bits().into(), n.broadcast().to_bits().into()),
        IpNet::V6(n) => (n.network().to_bits(), n.broadcast().to_bits()),
    }
}

/// The oracle: the most specific data-file row holding `ip`.
fn most_specific(rows: &[Row], ip: IpAddr) -> Option<&Row> {
    rows.iter()
        .filter(|r| r.net.contains(&ip))
        .max_by_key(|r| r.net.prefix_len())
}

/// What `is_globally_reachable` must say, given the oracle's row: the column,
/// N/A and "no row" as true, plus the documented global-scope multicast rule.
fn expected_reachable(row: Option<&Row>, ip: IpAddr) -> bool {
    if let IpAddr::V6(a) = ip
        && a.segments()[0] & 0xff0f == 0xff0e
    {
        return true;
    }
    row.is_none_or(|r| r.reachable.unwrap_or(true))
}

fn check_against_oracle(rows: &[Row], ip: IpAddr) {
    let row = most_specific(rows, ip);
    let class = row.map_or(AddrClass::Global, |r| r.class);
    let via = row.map_or("no row".to_owned(), |r| format!("{} {}", r.line, r.net));
    assert_eq!(AddrClass::of(ip), class, "of({ip}), expected via {via}");
    assert_eq!(
        is_globally_reachable(ip),
        expected_reachable(row, ip),
        "is_globally_reachable({ip}), expected via {via}"
    );
    assert_eq!(
        block_of(ip).map(|b| b.net),
        row.map(|r| r.net),
        "block_of({ip})"
    );
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn next_u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

#[test]
fn every_data_row_is_in_the_registry() {
    let rows = all_rows();
    for r in &rows {
        let found: Vec<&SpecialBlock> = registry().iter().filter(|b| b.net == r.net).collect();
        assert_eq!(
            found.len(),
            1,
            "{}: {} in registry() {found:?}",
            r.line,
            r.net
        );
        let b = found[0];
        assert_eq!(
            b.globally_reachable, r.reachable,
            "{}: {} reachable",
            r.line, r.net
        );
        assert_eq!(b.class, r.class, "{}: {} class", r.line, r.net);
        assert_eq!(b.name, r.name, "{}: {} name", r.line, r.net);
        assert_eq!(b.rfc, r.rfc, "{}: {} rfc", r.line, r.net);
    }
}

#[test]
fn every_registry_row_is_in_the_data() {
    let rows = all_rows();
    for b in registry() {
        assert!(
            rows.iter().any(|r| r.net == b.net),
            "registry() has {} ({}) which the data files lack",
            b.net,
            b.name
        );
    }
    assert_eq!(registry().len(), rows.len());
}

#[test]
fn every_row_decides_its_own_addresses() {
    let rows = all_rows();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for r in &rows {
        let v4 = matches!(r.net, IpNet::V4(_));
        let (first, last) = bounds(&r.net);
        let span = last - first;
        let mut candidates = vec![
            first,
            last,
            first.saturating_add(1).min(last),
            last.saturating_sub(1).max(first),
            first + span / 2,
            first + span / 3,
        ];
        for _ in 0..16 {
            // span + 1 cannot overflow: no row is a /0.
            candidates.push(first + rng.next_u128() % (span + 1));
        }
        let mut own = 0;
        for &x in &candidates {
            let ip = to_ip(v4, x);
            check_against_oracle(&rows, ip);
            if most_specific(&rows, ip).is_some_and(|m| m.net == r.net) {
                own += 1;
                assert_eq!(AddrClass::of(ip), r.class, "{}: of({ip})", r.line);
            }
        }
        assert!(
            own > 0,
            "{}: no candidate address of {} escapes the more specific rows",
            r.line,
            r.net
        );
    }
}

#[test]
fn random_addresses_match_the_oracle() {
    let rows = all_rows();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let x = rng.next_u128();
        check_against_oracle(&rows, to_ip(true, x & 0xffff_ffff));
        check_against_oracle(&rows, to_ip(false, x));
        // Inside 2000::/3, where the interesting IPv6 rows live.
        check_against_oracle(&rows, to_ip(false, (x >> 3) | (1 << 125)));
        // Inside 2001::/16, around the /23 that go-sockaddr gets wrong.
        let near = (0x2001u128 << 112) | (x >> 16);
        check_against_oracle(&rows, to_ip(false, near));
    }
}

#[test]
fn registry_is_ordered_most_specific_first() {
    let reg = registry();
    let v4 = reg
        .iter()
        .take_while(|b| matches!(b.net, IpNet::V4(_)))
        .count();
    assert!(reg[v4..].iter().all(|b| matches!(b.net, IpNet::V6(_))));
    for part in [&reg[..v4], &reg[v4..]] {
        for w in part.windows(2) {
            assert!(
                w[0].net.prefix_len() >= w[1].net.prefix_len(),
                "{} before {}",
                w[0].net,
                w[1].net
            );
        }
    }
}

#[test]
fn hand_picked() {
    // (address, class, globally reachable)
    let cases: &[(&str, &str, bool)] = &[
        ("8.8.8.8", "global", true),
        ("0.0.0.0", "unspecified", false),
        ("::", "unspecified", false),
        ("0.1.2.3", "this-network", false),
        ("127.0.0.1", "loopback", false),
        ("127.255.255.255", "loopback", false),
        ("::1", "loopback", false),
        ("10.1.2.3", "private", false),
        ("172.31.255.255", "private", false),
        ("172.32.0.1", "global", true),
        ("192.168.1.1", "private", false),
        ("100.64.1.1", "shared", false),
        ("100.128.0.0", "global", true),
        ("169.254.1.1", "link-local", false),
        ("fe80::1", "link-local", false),
        ("febf:ffff::1", "link-local", false),
        // The Consul trap: fd00::/8 is the used half of fc00::/7.
        ("fd00::1", "unique-local", false),
        ("fd12::1", "unique-local", false),
        ("fc00::1", "unique-local", false),
        ("203.0.113.5", "documentation", false),
        ("192.0.2.1", "documentation", false),
        ("2001:db8::1", "documentation", false),
        ("3fff::1", "documentation", false),
        ("3fff:1000::1", "global", true),
        ("198.19.255.255", "benchmarking", false),
        ("198.20.0.0", "global", true),
        ("2001:2::1", "benchmarking", false),
        ("::ffff:10.0.0.1", "ipv4-mapped", false),
        ("::ffff:8.8.8.8", "ipv4-mapped", false),
        ("64:ff9b::808:808", "translation", true),
        ("64:ff9b:1::1", "translation", false),
        ("100::1", "discard", false),
        ("100:0:0:1::1", "dummy", false),
        ("100:0:0:2::1", "global", true),
        ("192.0.0.8", "dummy", false),
        ("192.0.0.1", "service-continuity", false),
        ("192.0.0.9", "anycast", true),
        ("192.0.0.10", "anycast", true),
        ("192.0.0.170", "nat64-discovery", false),
        ("192.0.0.171", "nat64-discovery", false),
        ("192.0.0.172", "protocol-assignments", false),
        ("192.88.99.1", "deprecated", true),
        ("192.88.99.2", "anycast", false),
        ("192.31.196.1", "as112", true),
        ("192.175.48.1", "as112", true),
        ("2001:4:112::1", "as112", true),
        ("2620:4f:8000::1", "as112", true),
        ("192.52.193.1", "amt", true),
        ("2001:3::1", "amt", true),
        ("255.255.255.255", "broadcast", false),
        ("255.255.255.254", "reserved", false),
        ("240.0.0.1", "reserved", false),
        ("224.0.0.1", "multicast", false),
        ("239.1.1.1", "multicast", false),
        ("ff02::1", "multicast", false),
        ("ff05::2", "multicast", false),
        ("ff0e::1", "multicast", true),
        ("ff3e::8000:1", "multicast", true),
        // The go-sockaddr trap: 2001::/23, not 2001::/16, is special.
        ("2001:4860::8888", "global", true),
        ("2001:200::1", "global", true),
        ("2001:1ff:ffff::1", "protocol-assignments", false),
        ("2001:1::4", "protocol-assignments", false),
        // Special but reachable: PCP, TURN and DNS-SD SRP anycast.
        ("2001:1::1", "anycast", true),
        ("2001:1::2", "anycast", true),
        ("2001:1::3", "anycast", true),
        ("2001::1", "teredo", true),
        ("2002::1", "6to4", true),
        ("2001:10::1", "deprecated", true),
        ("2001:20::1", "orchid", true),
        ("2001:30::1", "dets", true),
        ("5f00::1", "srv6", false),
        // Deprecated site-local: RFC 3879 has it treated as global unicast,
        // so it is maybe public, at both ends of the block.
        ("fec0::1", "site-local", true),
        ("feff:ffff::1", "site-local", true),
    ];
    for &(text, class, reachable) in cases {
        let ip: IpAddr = text.parse().expect("test address parses");
        let want = AddrClass::from_name(class).expect("test class name is valid");
        assert_eq!(AddrClass::of(ip), want, "of({ip})");
        assert_eq!(
            is_globally_reachable(ip),
            reachable,
            "is_globally_reachable({ip})"
        );
    }
}

#[test]
fn block_of_picks_the_most_specific_row() {
    let ip: IpAddr = "192.0.0.9".parse().expect("literal");
    let b = block_of(ip).expect("192.0.0.9 is special");
    assert_eq!(b.net.to_string(), "192.0.0.9/32");
    assert_eq!(b.name, "Port Control Protocol Anycast");
    let ip: IpAddr = "2001::1".parse().expect("literal");
    assert_eq!(
        block_of(ip).map(|b| b.net.to_string()),
        Some("2001::/32".to_owned())
    );
    let ip: IpAddr = "9.9.9.9".parse().expect("literal");
    assert_eq!(block_of(ip), None);
}

#[test]
fn names_round_trip() {
    let mut seen = std::collections::HashSet::new();
    for &c in AddrClass::ALL {
        let name = c.name();
        assert!(seen.insert(name), "{name} used twice");
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{name} is not kebab-case"
        );
        assert!(
            name.parse::<IpAddr>().is_err(),
            "{name} reads as an address"
        );
        assert_eq!(AddrClass::from_name(name), Some(c));
        assert_eq!(name.parse::<AddrClass>(), Ok(c));
        assert_eq!(c.to_string(), name);
        assert_eq!(format!("{c}"), name);
    }
    assert_eq!(AddrClass::ALL.len(), seen.len());
    for (name, class) in [
        ("link-local", AddrClass::LinkLocal),
        ("unique-local", AddrClass::UniqueLocal),
        ("ipv4-mapped", AddrClass::Ipv4Mapped),
        ("6to4", AddrClass::SixToFour),
        ("global", AddrClass::Global),
    ] {
        assert_eq!(class.name(), name);
    }
}

#[test]
fn every_class_is_used_by_the_registry() {
    for &c in AddrClass::ALL {
        let used = registry().iter().any(|b| b.class == c);
        assert_eq!(used, c != AddrClass::Global, "{c}");
    }
}

#[test]
fn unknown_names_are_refused_with_the_valid_ones() {
    for bad in [
        "publik",
        "Private",
        "LINK-LOCAL",
        "",
        " private",
        "link_local",
    ] {
        assert_eq!(AddrClass::from_name(bad), None, "{bad:?}");
        let err = bad.parse::<AddrClass>().expect_err("not a class name");
        assert_eq!(err.name(), bad);
        let msg = err.to_string();
        let names: Vec<&str> = AddrClass::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            msg,
            format!(
                "unknown address class {bad:?}; valid classes are {}",
                names.join(", ")
            )
        );
    }
}
