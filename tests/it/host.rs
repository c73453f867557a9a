//! Host snapshots read from JSON say what is wrong in the file's own terms.

use listenspec::Host;
use listenspec::host::{AddrError, HostError};

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
            "unknown field `mtu`, expected one of `name`, `index`, `up`, `addrs`",
        ),
        (
            r#"{"interfaces": [7]}"#,
            "expected an interface: an object with \"name\", \"index\", \"up\" and \"addrs\"",
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
