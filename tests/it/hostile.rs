//! Hostile sizes: what a spec or host far larger than any real one costs in
//! output. Errors grow with the problems, never with problems times the host.

use std::fmt::Write as _;

use listenspec::host::HostBuilder;
use listenspec::{Host, ListenSpec};

/// A host with `n` interfaces, each holding one address of 10.0.0.0/8.
fn big_host(n: u32) -> Host {
    let mut b: HostBuilder = Host::builder().interface("lo", 1, ["127.0.0.1/8"]);
    for i in 0..n {
        let addr = format!("10.{}.{}.{}/8", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff);
        b = b.interface(&format!("eth{i}"), i + 2, [addr.as_str()]);
    }
    b.build().unwrap()
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
    assert!(
        text.contains("and 9969 more"),
        "the listing says how many it leaves out"
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
