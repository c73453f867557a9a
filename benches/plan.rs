//! Parse and plan costs, against two cheap parses as a yardstick so figures
//! from different machines can be compared as ratios.
//!
//! Goal: the example parses and plans in under 5 µs each, and
//! planning grows linearly with the number of interfaces. Nothing here binds
//! a socket or touches the network: plans are made against fake hosts.
//!
//!     cargo bench --bench plan -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipnet::IpNet;
use listenspec::{Host, ListenSpec};

/// The example from the project's first issue, shared with the tests.
const EXAMPLE: &str = include_str!("../tests/data/example.spec");

/// A host on which every selector of the example matches something and
/// nothing is an error. `pinned` overlaps `internal` on 10.0.15.23, which is
/// only a warning because `pinned` has no endpoints.
fn example_host() -> Host {
    Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["10.0.15.23/16", "fd00::23/64", "fe80::1/64"])
        .interface("eth1", 3, ["31.167.56.251/24", "2a00:1450::1/64"])
        .interface("eth2", 4, ["198.51.100.7/24", "fe80::2/64"])
        .interface("enp3s0", 5, ["192.168.1.10/24"])
        .interface("docker0", 6, ["172.17.0.1/16"])
        .dns("my-awesome-service", ["10.0.15.23"])
        .build()
        .expect("a valid host")
}

/// A spec whose work grows with the host: a wildcard, a block that holds
/// most interfaces, and a glob that holds the rest.
const SCALING: &str = "
public   = *
internal = 10.0.0.0/8, !if:ops*
ops      = if:ops*
public.http   = http:8080
internal.grpc = tcp:9000
internal.api  = https:8443
ops.metrics   = http:9100
ops.snmp      = udp:161
";

/// `n` interfaces, each with an address in 10/8 and a link-local IPv6
/// address; every tenth is an `ops` interface.
fn scaling_host(n: u32) -> Host {
    let mut b = Host::builder();
    for i in 0..n {
        let name = if i % 10 == 0 {
            format!("ops{i}")
        } else {
            format!("eth{i}")
        };
        let v4 = format!("10.1.{}.{}/16", i / 250, i % 250 + 1);
        let v6 = format!("fe80::{:x}/64", i + 1);
        b = b.interface(&name, i + 1, [v4.as_str(), v6.as_str()]);
    }
    b.build().expect("a valid host")
}

fn benches(c: &mut Criterion) {
    c.bench_function("baseline/url_parse", |b| {
        b.iter(|| url::Url::parse(black_box("https://my-awesome-service")))
    });
    c.bench_function("baseline/ipnet_parse", |b| {
        b.iter(|| black_box("10.0.0.0/8").parse::<IpNet>())
    });

    c.bench_function("parse/example", |b| {
        b.iter(|| black_box(EXAMPLE).parse::<ListenSpec>())
    });

    let spec: ListenSpec = EXAMPLE.parse().expect("the example parses");
    let host = example_host();
    if let Err(e) = listenspec::plan(&spec, &host) {
        panic!("the example should plan cleanly on the bench host:\n{e}");
    }
    c.bench_function("plan/example_6_interfaces", |b| {
        b.iter(|| listenspec::plan(black_box(&spec), black_box(&host)))
    });

    let spec: ListenSpec = SCALING.parse().expect("the scaling spec parses");
    let mut group = c.benchmark_group("plan/interfaces");
    for n in [10u32, 100, 1000] {
        let host = scaling_host(n);
        if let Err(e) = listenspec::plan(&spec, &host) {
            panic!("the scaling spec should plan cleanly on {n} interfaces:\n{e}");
        }
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &host, |b, host| {
            b.iter(|| listenspec::plan(black_box(&spec), black_box(host)))
        });
    }
    group.finish();

    // Hostile or generated sizes: parse and plan must stay linear in the
    // number of statements, so time per network is flat from 10k to 100k.
    let mut group = c.benchmark_group("networks");
    group.sample_size(10);
    let host = example_host();
    for n in [10_000usize, 40_000, 100_000] {
        let text = many_networks(n);
        let spec: ListenSpec = text.parse().expect("the generated spec parses");
        if let Err(e) = listenspec::plan(&spec, &host) {
            panic!("the generated spec should plan cleanly:\n{e}");
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("parse", n), &text, |b, text| {
            b.iter(|| black_box(text.as_str()).parse::<ListenSpec>())
        });
        group.bench_with_input(BenchmarkId::new("plan", n), &spec, |b, spec| {
            b.iter(|| listenspec::plan(black_box(spec), black_box(&host)))
        });
    }
    group.finish();
}

/// `n` networks on loopback, each with one endpoint on an ephemeral port.
fn many_networks(n: usize) -> String {
    (0..n)
        .map(|i| format!("n{i} = loopback shared\nn{i}.a = tcp:0\n"))
        .collect()
}

criterion_group!(plan, benches);
criterion_main!(plan);
