//! `listenspec fleet` at scale: one spec against 10,000 and 100,000
//! recorded snapshots of 10 interfaces each, against just reading and
//! parsing those files on the same threads, in the same run, so the figure
//! is a ratio.
//!
//! Goals: at most 1.5x reading and parsing at both sizes, and 10,000
//! snapshots in under a second on two cores.
//!
//! ```text
//! cargo bench --bench fleet --features fleet
//! ```
//!
//! Not criterion: criterion times one side for seconds, then the other,
//! and a slow moment of the machine then falls on one side only. Here the
//! rounds alternate the two sides, each round's order turned, and the
//! figure is the median of the rounds' ratios, in wall time (both sides
//! use every core). A first round of each, not counted, brings the files
//! into the page cache for both. It writes the snapshots to a temporary
//! folder (about 120 MB for the larger fleet), removed at the end, and
//! takes about two minutes.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use listenspec::fleet::Fleet;
use listenspec::{Host, ListenSpec, PlanOptions};

/// Counted rounds per size; one more of each side runs first.
const ROUNDS: usize = 5;
const GOAL: f64 = 1.5;

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
/// so the fleet has one cause to group. Every address is valid whatever
/// `i` (IPv4 addresses repeat between hosts, as on real fleets; the IPv6
/// ones carry `i` in two groups).
fn snapshot(i: usize) -> String {
    let (a, b) = ((i / 250) % 256, i % 250 + 1);
    let six = format!("{:x}:{:x}", i >> 16, i & 0xffff);
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
            0 => format!(r#""203.0.113.{b}/24", "2001:db8::{six}/64", "fe80::{six}/64""#),
            1 | 2 => format!(r#""10.{n}.{a}.{b}/16", "fd00:{n}::{six}/64", "fe80::{n}:{six}/64""#),
            _ => format!(r#""172.{}.{a}.{b}/16""#, 16 + n),
        };
        ifaces.push(format!(
            r#"{{"name": "{name}", "index": {}, "up": true, "addrs": [{addrs}]}}"#,
            n + 2
        ));
    }
    format!("{{\"interfaces\": [\n  {}]}}\n", ifaces.join(",\n  "))
}

/// A folder of `hosts` snapshots, removed when dropped.
struct FleetDir(PathBuf);

impl FleetDir {
    fn new(hosts: usize) -> FleetDir {
        let dir = std::env::temp_dir().join(format!(
            "listenspec-fleet-bench-{}-{hosts}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        for i in 0..hosts {
            std::fs::write(dir.join(format!("host-{i:06}.json")), snapshot(i)).expect("a snapshot");
        }
        FleetDir(dir)
    }
}

impl Drop for FleetDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then there is nothing to check here beyond that it builds.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let spec: ListenSpec = SPEC.parse().expect("the bench spec");
    for hosts in [10_000, 100_000] {
        let dir = FleetDir::new(hosts);
        let check = || Fleet::check_dir(&spec, &dir.0, PlanOptions::default()).expect("the folder");
        let fleet = check();
        assert_eq!(fleet.hosts().len(), hosts);
        let causes = fleet.causes();
        assert_eq!(causes.len(), 1, "{fleet}");
        assert_eq!(causes[0].hosts().len(), hosts / 100, "{fleet}");
        black_box(read_and_parse(&dir.0));

        let (mut ratios, mut fleet_s, mut base_s) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let (f, b) = if round % 2 == 0 {
                let f = timed(check);
                (f, timed(|| read_and_parse(&dir.0)))
            } else {
                let b = timed(|| read_and_parse(&dir.0));
                (timed(check), b)
            };
            ratios.push(f.as_secs_f64() / b.as_secs_f64());
            fleet_s.push(f.as_secs_f64());
            base_s.push(b.as_secs_f64());
        }
        let ratio = median(ratios);
        let (f, b) = (median(fleet_s), median(base_s));
        let verdict = if ratio <= GOAL { "met" } else { "MISSED" };
        println!(
            "{hosts} snapshots: fleet check {f:.3} s, read and parse {b:.3} s; ratio {ratio:.3}   goal at most {GOAL}x: {verdict}"
        );
        if hosts == 10_000 {
            let verdict = if f < 1.0 { "met" } else { "MISSED" };
            println!("    10,000 snapshots in {f:.3} s   goal under 1 s: {verdict}");
        }
    }
}
