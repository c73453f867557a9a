//! Host snapshots read from JSON say what is wrong in the file's own terms.

use listenspec::Host;
use listenspec::host::{AddrError, AddrFlags, HostError};

fn refused(json: &str) -> String {
    match serde_json::from_str::<Host>(json) {
        Ok(host) => panic!("{json} was accepted as\n{host}"),
        Err(e) => e.to_string(),
    }
}

const LO: &str = r#""name": "lo", "index": 1, "up": true"#;

#[test]
fn json_errors_name_the_files_fields_not_internal_types() {
    let cases = [
        (
            "[]",
            "expected a host snapshot: an object with \"interfaces\"",
        ),
        (
            r#"{"interfaces": [], "extra": 1}"#,
            "unknown field `extra`, expected one of `interfaces`, `dns`, `container`",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "addrs": [], "mtu": 1500}}]}}"#),
            "unknown field `mtu`, expected one of `name`, `index`, `up`, `admin_up`, `carrier`, `loopback`, `addrs`, `addr_flags`",
        ),
        (
            &format!(
                r#"{{"interfaces": [{{{LO}, "addrs": ["::1/128"], "addr_flags": {{"::1": ["stale"]}}}}]}}"#
            ),
            "unknown variant `stale`, expected one of `tentative`, `dadfailed`, `deprecated`, `optimistic`",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "carrier": false, "addrs": []}}]}}"#),
            "interface \"lo\" says up=true but admin_up=true and carrier=false; up means both",
        ),
        (
            &format!(
                r#"{{"interfaces": [{{{LO}, "addrs": ["::1/128"], "addr_flags": {{"2001:db8::1": ["tentative"]}}}}]}}"#
            ),
            "interface \"lo\" has flags for 2001:db8::1, which it does not hold",
        ),
        (
            r#"{"interfaces": [{"name": "", "index": 3, "up": true, "addrs": []}]}"#,
            "interface #3 has an empty name; every OS names its interfaces",
        ),
        (
            r#"{"interfaces": [7]}"#,
            "expected an interface: an object with \"name\", \"index\", \"up\" and \"addrs\", and optionally \"admin_up\", \"carrier\", \"loopback\" and \"addr_flags\"",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "addrs": ["::1/129"]}}]}}"#),
            "\"::1/129\" is not like 10.0.0.1/8 or fe80::1/64: the prefix length 129 is longer than the 128 bits of an IPv6 address",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "addrs": ["127.0.0.1/33"]}}]}}"#),
            "the prefix length 33 is longer than the 32 bits of an IPv4 address",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "addrs": ["127.0.0.1"]}}]}}"#),
            "the /PREFIX after the address is missing",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "addrs": ["localhost/8"]}}]}}"#),
            "the part before the / is not an IPv4 or IPv6 address",
        ),
        (
            &format!(r#"{{"interfaces": [{{{LO}, "addrs": ["::1/+8"]}}]}}"#),
            "the prefix length after the / is not a number",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc": 3}}"#,
            "expected a DNS answer: a list of IP addresses, or {\"error\": \"why the lookup failed\"}",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc": ["203.0.113.5", "1.2.3.4.5"]}}"#,
            "DNS answer \"1.2.3.4.5\" is not an IPv4 or IPv6 address",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc": {"eror": "timed out"}}}"#,
            "unknown field `eror`, expected `error`",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc": {}}}"#,
            "missing field `error`",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc": {"error": "timed out", "error": "refused"}}}"#,
            "duplicate field `error`",
        ),
        // Text printed as it is may not forge lines or rewrite the terminal.
        (
            r#"{"interfaces": [{"name": "eth0\u001b[31m\nfix: rm -rf /", "index": 2, "up": true, "addrs": []}]}"#,
            "interface name \"eth0\\u{1b}[31m\\nfix: rm -rf /\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc\r": ["203.0.113.5"]}}"#,
            "DNS name \"svc\\r\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "dns": {"svc": {"error": "timed out\n- network public: fine"}}}"#,
            "DNS error \"timed out\\n- network public: fine\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "container": "docker\u0007"}"#,
            "container evidence \"docker\\u{7}\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "os": "linux\u009b"}"#,
            "OS name \"linux\\u{9b}\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "cwd": "/srv\n"}"#,
            "path \"/srv\\n\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/run/a.sock": {"parent": "directory", "parent_realpath": "/run\u001b", "file": "absent"}}}"#,
            "path \"/run\\u{1b}\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/run/\u001b.sock": {"parent": "directory", "file": "absent"}}}"#,
            "path \"/run/\\u{1b}.sock\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/run/a.sock": {"parent": "directory", "file": "absent", "dirs": [{"path": "/r\tun", "uid": 0, "mode": "755"}]}}}"#,
            "path \"/r\\tun\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/x/b.sock": {"parent": {"error": "Permission denied\n"}, "file": "absent"}}}"#,
            "OS error \"Permission denied\\n\" holds a control or invisible character",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/x/b.sock": {"parent": "directory", "file": {"error": "\u001b[2J"}}}}"#,
            "OS error \"\\u{1b}[2J\" holds a control or invisible character",
        ),
    ];
    for (json, expected) in cases {
        let error = refused(json);
        assert!(
            error.contains(expected),
            "{json}:\n  {error}\n  lacks {expected}"
        );
        for internal in ["HostRepr", "DnsAnswer", "untagged", "Interface"] {
            assert!(!error.contains(internal), "{json}: {error}");
        }
    }
}

#[test]
fn a_built_host_refuses_the_control_characters_a_snapshot_would() {
    let refused = |builder: listenspec::host::HostBuilder| builder.build().unwrap_err().to_string();
    assert!(
        refused(Host::builder().container("docker\u{1b}[2J")).contains(
            "container evidence \"docker\\u{1b}[2J\" holds a control or invisible character"
        )
    );
    assert!(
        refused(Host::builder().os("linux\r"))
            .contains("OS name \"linux\\r\" holds a control or invisible character")
    );
    assert!(
        refused(Host::builder().cwd("/srv\n"))
            .contains("path \"/srv\\n\" holds a control or invisible character")
    );
    Host::builder()
        .container("docker")
        .os("freebsd")
        .cwd("/srv")
        .build()
        .unwrap();
}

#[test]
fn a_good_snapshot_still_reads_both_kinds_of_answer() {
    let host: Host = serde_json::from_str(&format!(
        r#"{{"interfaces": [{{{LO}, "addrs": ["127.0.0.1/8", "::1/128"]}}],
            "dns": {{"svc": ["203.0.113.5"], "gone": {{"error": "no such name (NXDOMAIN)"}}}}}}"#
    ))
    .unwrap();
    let again: Host = serde_json::from_str(&serde_json::to_string(&host).unwrap()).unwrap();
    assert_eq!(again, host);
    assert_eq!(host.dns_answers().len(), 2);
}

#[test]
fn the_builder_says_why_an_address_is_refused() {
    let err = Host::builder()
        .interface("lo", 1, ["::1/129"])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        HostError::BadAddr {
            interface: "lo".to_owned(),
            text: "::1/129".to_owned(),
            reason: AddrError::PrefixTooLong {
                prefix: 129,
                max: 128
            },
        }
    );
    assert!(
        err.to_string()
            .ends_with("longer than the 128 bits of an IPv6 address")
    );
}

/// Snapshots recorded before the OS was, read as Linux wherever they are
/// replayed; the OS survives a round trip, and capture records this one.
#[test]
fn the_os_defaults_to_linux_round_trips_and_is_captured() {
    let old: Host = serde_json::from_str(r#"{"interfaces": []}"#).unwrap();
    assert_eq!(old.os(), "linux");
    let windows = Host::builder().os("windows").build().unwrap();
    let json = serde_json::to_string(&windows).unwrap();
    assert!(json.contains(r#""os":"windows""#), "{json}");
    let back: Host = serde_json::from_str(&json).unwrap();
    assert_eq!(back, windows);
    let spec: listenspec::ListenSpec = "l = loopback\nl.a = tcp:1".parse().unwrap();
    assert_eq!(
        listenspec::capture(&spec).unwrap().os(),
        std::env::consts::OS
    );
}

/// Every snapshot in tests/data/hosts predates the link state and address
/// flags: each still loads, `admin_up` and `carrier` are its `up`,
/// `loopback` follows its addresses, and no address has flags.
#[test]
fn old_snapshots_load_with_the_link_state_of_their_up_flag() {
    let dir = format!("{}/tests/data/hosts", env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("admin_up") || path.ends_with("broken.json") {
            continue;
        }
        let host: Host =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for i in host.interfaces() {
            assert_eq!(i.is_admin_up(), i.is_up(), "{}: {i:?}", path.display());
            assert_eq!(i.has_carrier(), i.is_up(), "{}: {i:?}", path.display());
            assert!(i.flagged_addrs().is_empty(), "{}: {i:?}", path.display());
            let loopback =
                !i.addrs().is_empty() && i.addrs().iter().all(|a| a.addr().is_loopback());
            assert_eq!(i.is_loopback(), loopback, "{}: {i:?}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} old snapshots in {dir}");
    let three = crate::plan::host("three-networks");
    assert!(three.interface("lo").unwrap().is_loopback());
    assert!(!three.interface("eth3").unwrap().is_admin_up());
}

/// The new facts survive a round trip, and are written as named fields.
#[test]
fn link_state_and_address_flags_round_trip() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface(
            "eth0",
            2,
            ["2001:db8::1/64", "2001:db8::2/64", "198.51.100.1/24"],
        )
        .addr_flags("2001:db8::1", AddrFlags::TENTATIVE | AddrFlags::OPTIMISTIC)
        .addr_flags("2001:db8::2", AddrFlags::DEPRECATED)
        .interface("eth1", 3, ["203.0.113.1/24"])
        .no_carrier()
        .loopback(true)
        .interface("eth2", 4, [])
        .down()
        .build()
        .unwrap();
    let json = serde_json::to_string(&host).unwrap();
    for part in [
        r#""name":"eth0","index":2,"up":true,"admin_up":true,"carrier":true,"loopback":false"#,
        r#""addr_flags":{"2001:db8::1":["tentative","optimistic"],"2001:db8::2":["deprecated"]}"#,
        r#""name":"eth1","index":3,"up":false,"admin_up":true,"carrier":false,"loopback":true"#,
        r#""name":"eth2","index":4,"up":false,"admin_up":false,"carrier":false"#,
    ] {
        assert!(json.contains(part), "{part} not in {json}");
    }
    let back: Host = serde_json::from_str(&json).unwrap();
    assert_eq!(back, host);
    let eth0 = back.interface("eth0").unwrap();
    assert!(
        eth0.addr_flags("2001:db8::1".parse().unwrap())
            .is_tentative()
    );
    assert!(
        eth0.addr_flags("2001:db8::2".parse().unwrap())
            .is_deprecated()
    );
    assert!(eth0.addr_flags("198.51.100.1".parse().unwrap()).is_empty());
    let flagged: Vec<(String, AddrFlags)> = eth0
        .flagged_addrs()
        .iter()
        .map(|(ip, f)| (ip.to_string(), *f))
        .collect();
    assert_eq!(
        flagged,
        [
            (
                "2001:db8::1".to_owned(),
                AddrFlags::TENTATIVE | AddrFlags::OPTIMISTIC
            ),
            ("2001:db8::2".to_owned(), AddrFlags::DEPRECATED),
        ]
    );
    assert_eq!(
        host.to_string(),
        "lo (#1) 127.0.0.1/8\n\
         eth0 (#2) 2001:db8::1/64 (tentative optimistic) 2001:db8::2/64 (deprecated) 198.51.100.1/24\n\
         eth1 (#3, no carrier) 203.0.113.1/24\n\
         eth2 (#4, down) no address"
    );
    // The builder refuses flags for an address the interface lacks.
    let err = Host::builder()
        .interface("eth0", 2, ["2001:db8::1/64"])
        .addr_flags("2001:db8::9", AddrFlags::TENTATIVE)
        .build()
        .unwrap_err();
    assert!(matches!(err, HostError::FlagsWithoutAddr { .. }), "{err}");
}

/// Each builder step adds to the snapshot built so far, whatever its order.
#[test]
fn builder_steps_add_to_what_came_before() {
    use listenspec::host::{DnsAnswer, NameLookup};
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .dns_failure("gone.example", "no such name")
        .user("www-data", 33)
        .no_user("ghost")
        .group("www-data", 33)
        .no_group("ghosts")
        .container("/.dockerenv exists: Docker")
        .build()
        .unwrap();
    assert_eq!(host.interface("lo").unwrap().index(), 1);
    assert_eq!(host.container(), Some("/.dockerenv exists: Docker"));
    assert!(matches!(
        host.dns("gone.example"),
        Some(DnsAnswer::Failed { error }) if error == "no such name"
    ));
    for (names, gone) in [(host.users(), "ghost"), (host.groups(), "ghosts")] {
        let want = [
            (gone.to_owned(), NameLookup::NoSuchName),
            ("www-data".to_owned(), NameLookup::Id(33)),
        ];
        assert_eq!(names, &want.into_iter().collect(), "{names:?}");
    }
}
