//! Capture against its floor, one bare getifaddrs(3) + freeifaddrs (what
//! any program that lists interfaces pays), and `bind_all` against that
//! floor plus the binds a server makes by hand; the goal is at most
//! 1.2x of each. `ratios.rs` has both ratios, which these
//! wall-clock figures are too noisy to settle.

mod common;

use std::hint::black_box;

use common::{floor, getifaddrs, ports, spec};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// The first of 100 ports free on 127.0.0.1 now, for the fixed-port runs.
fn free_ports() -> u16 {
    (20_000..60_000)
        .step_by(100)
        .find(|&first| {
            ports(100, first).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        })
        .expect("100 free ports in a row on 127.0.0.1")
}

fn capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");
    let one = spec(1, 0);
    g.bench_function("getifaddrs", |b| b.iter(getifaddrs));
    g.bench_function("capture", |b| {
        b.iter(|| black_box(listenspec::capture(&one).unwrap()))
    });
    g.finish();

    // Servers in production bind fixed ports; tests and sidecars port 0.
    for (group, first) in [("bind_floor", free_ports()), ("bind_floor_port0", 0)] {
        let mut g = c.benchmark_group(group);
        for n in [1usize, 3, 10, 100] {
            let spec = spec(n, first);
            g.bench_with_input(BenchmarkId::new("getifaddrs_and_binds", n), &n, |b, &n| {
                b.iter(|| black_box(floor(n, first)))
            });
            g.bench_with_input(BenchmarkId::new("bind_all", n), &spec, |b, spec| {
                b.iter(|| black_box(listenspec::bind_all(spec).unwrap()))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, capture);
criterion_main!(benches);
