//! `listenspec fleet` at scale: one spec against 10,000 recorded snapshots
//! of 10 interfaces each, against just reading and parsing those files in
//! the same run (on the same threads), so the figure is a ratio.
//!
//! Goals: under 2 s for the fleet on 2 cores, and at most 2x reading and
//! parsing.
//!
//!     cargo bench --bench fleet --features fleet -- --warm-up-time 1 --measurement-time 10

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use listenspec::fleet::Fleet;
use listenspec::{Host, ListenSpec, PlanOptions};

const HOSTS: usize = 10_000;

const SPEC: &str = "
public        = if:eth0        advertise my-awesome-service
internal      = 10.1.0.0/16
ops           = if:eth2
local         = loopback       expose=local
public.http   = http:8080
public.https  = https:8443
internal.grpc = tcp:9000-9010  device
ops.metrics   = http:9100      device
ops.snmp      = udp:161        device
local.admin   = http:0
";

/// Host `i`: loopback, a public eth0, internal eth1, ops eth2 and six more
/// private interfaces; one host in a hundred calls its ops interface eth9,
/// so the fleet has one cause to group.
fn snapshot(i: usize) -> String {
    let (a, b) = (i / 250, i % 250 + 1);
    let mut ifaces = vec![
        r#"{"name": "lo", "index": 1, "up": true, "addrs": ["127.0.0.1/8", "::1/128"]}"#.to_owned(),
    ];
    for n in 0..9 {
        let name = if n == 2 && i % 100 == 7 {
            "eth9".to_owned()
        } else {
            format!("eth{n}")
        };
        let addrs = match n {
            0 => format!(r#""203.0.113.{b}/24", "2001:db8::{i:x}/64", "fe80::{i:x}/64""#),
            1 | 2 => format!(r#""10.{n}.{a}.{b}/16", "fd00:{n}::{i:x}/64", "fe80::{n}:{i:x}/64""#),
            _ => format!(r#""172.{}.{a}.{b}/16""#, 16 + n),
        };
        ifaces.push(format!(
            r#"{{"name": "{name}", "index": {}, "up": true, "addrs": [{addrs}]}}"#,
            n + 2
        ));
    }
    format!("{{\"interfaces\": [\n  {}]}}\n", ifaces.join(",\n  "))
}

fn fleet_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("listenspec-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    for i in 0..HOSTS {
        std::fs::write(dir.join(format!("host-{i:05}.json")), snapshot(i)).expect("a snapshot");
    }
    dir
}

/// The baseline: the files read and parsed, split over the same threads
/// as `Fleet::check_dir` splits them.
fn read_and_parse(dir: &Path) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    files.sort();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = files.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|p| {
                            let bytes = std::fs::read(p).expect("a snapshot");
                            let host: Host = serde_json::from_slice(&bytes).expect("a host");
                            host.interfaces().len()
                        })
                        .sum::<usize>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker"))
            .sum()
    })
}

fn bench(c: &mut Criterion) {
    let dir = fleet_dir();
    let spec: ListenSpec = SPEC.parse().expect("the bench spec");
    let fleet = Fleet::check_dir(&spec, &dir, PlanOptions::default()).expect("the folder");
    assert_eq!(fleet.hosts().len(), HOSTS);
    let causes = fleet.causes();
    assert_eq!(causes.len(), 1, "{fleet}");
    assert_eq!(causes[0].hosts().len(), HOSTS / 100, "{fleet}");

    let mut g = c.benchmark_group("fleet_10k");
    g.sample_size(10);
    g.bench_function("read_and_parse", |b| {
        b.iter(|| black_box(read_and_parse(&dir)))
    });
    g.bench_function("check_dir", |b| {
        b.iter(|| {
            black_box(Fleet::check_dir(&spec, &dir, PlanOptions::default()).expect("the folder"))
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
