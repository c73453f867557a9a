//! Linear on every input: the cost per item of the planning steps, from a
//! small input to one 100 times larger, as a ratio of the two measured in
//! the same run:
//!
//! - a host snapshot of N interfaces read from JSON (validation included)
//!   and a spec planned against it: the cost per interface at N = 100,000
//!   at most 1.5x the cost at N = 1,000;
//! - a spec of N networks parsed and planned against a small host: the
//!   cost per network at N = 100,000 at most 1.5x the cost at N = 1,000;
//! - N layers (`--listen` values) with an error each, laid and reported:
//!   the cost per layer at N = 100,000 at most 1.5x the cost at N = 1,000
//!   (errors were sorted by a search of the layers' names, quadratic).
//!
//! ```text
//! cargo bench --bench linear
//! ```
//!
//! A step that compares every interface (or network) with every other
//! costs 100 times more per item at the large size; one that is linear
//! costs about the same, a little more for caches the large input does not
//! fit in. Not criterion, as in `ratios.rs`: each round times every size,
//! the order reversed every other round, so a slow moment of this shared
//! machine falls on all of them, and the figure is the median of the
//! rounds' ratios, in the thread's CPU time (page faults included).
//!
//! Each figure is measured two ways. The goal is judged on the first:
//!
//! - **once, as at start-up**: each size in a process of its own (this
//!   bench run again with `--once`), its input made and the code warmed
//!   on 10 items, then read and planned once. This is what a server pays,
//!   and every size pays the same kinds of cost: fresh memory from the OS,
//!   caches that hold none of its data.
//! - **repeated in one process** (no goal): the small input read and
//!   planned 100 times for every time the large one is, on the same number
//!   of items. Here the two sizes are not alike: the small one reuses the
//!   memory its last run freed, still in the caches, while glibc hands the
//!   large one's tens of megabytes back to the OS after each run and takes
//!   them again, a page fault per 4 KiB. (`GLIBC_TUNABLES=glibc.malloc.
//!   mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295`,
//!   which keeps the memory, shows how much of the ratio that is.)
//!
//! It takes about a minute.

#[path = "common/rounds.rs"]
mod rounds;

use std::fmt::Write as _;
use std::hint::black_box;

use listenspec::{Host, ListenSpec};
use rounds::{Spread, cpu_time_of, verdict};

/// The sizes measured; the ratio is the last's cost per item to the first's.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// Rounds per figure; one more runs first, to warm caches and the
/// allocator, and is not counted.
const ROUNDS: usize = 9;
/// The most the cost per item may grow from the smallest size to the largest.
const GOAL: f64 = 1.5;

/// A spec whose work grows with the host: a wildcard, a block that holds
/// most interfaces, a glob that holds the rest, and `device` on one network,
/// so each chosen address is checked against its interface.
const HOST_SPEC: &str = "
public   = *
internal = 10.0.0.0/8, !if:ops*
ops      = if:ops*
public.http   = http:8080
internal.grpc = tcp:9000 device
internal.api  = https:8443
ops.metrics   = http:9100
ops.snmp      = udp:161
";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--once") {
        let figure = &args[at + 1];
        let size: usize = args[at + 2].parse().expect("a size");
        println!("{}", once(figure, size));
        return;
    }
    report("load + plan, per interface", "interfaces");
    report("parse + plan, per network", "networks");
    report("layers with an error each, per layer", "layers");

    // Not a goal: how much this machine charges per item for size alone,
    // for the figures above to be read against.
    let costs = per_item(|size| {
        black_box(names_floor(SIZES[size]));
    });
    print_figures(
        "for scale (no goal): a Vec and a HashMap of N names, per name",
        &costs,
    );
}

/// The host the network figure plans against.
fn small_host() -> Host {
    Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["10.0.15.23/16", "fe80::1/64"])
        .build()
        .expect("a valid host")
}

/// The cost per item, in ns, of one run of `figure` on `size` items, in
/// this process: its input made first, and not timed. A run on 10 items
/// goes first, also not timed, so that what any run pays once (the code
/// paged in, statics set up) is not counted against the small size; the
/// memory a run of `size` items needs is still fresh, as at start-up.
fn once(figure: &str, size: usize) -> f64 {
    if size > 10 {
        once(figure, 10);
    }
    let took = match figure {
        "interfaces" => {
            let spec: ListenSpec = HOST_SPEC.parse().expect("the host spec parses");
            let json = snapshot_json(size);
            cpu_time_of(1, || {
                let host: Host = serde_json::from_str(&json).unwrap();
                black_box(spec.plan(&host).unwrap());
            })
        }
        "networks" => {
            let host = small_host();
            let text = many_networks(size);
            cpu_time_of(1, || {
                let spec: ListenSpec = text.parse().unwrap();
                black_box(spec.plan(&host).unwrap());
            })
        }
        "layers" => {
            let layers: Vec<(String, String)> = (0..size)
                .map(|i| (format!("--listen #{i}"), format!("n{i} = zz")))
                .collect();
            cpu_time_of(1, || {
                let mut laid = listenspec::spec::Layers::new();
                for (name, text) in &layers {
                    laid = laid.text(name.clone(), text.clone());
                }
                black_box(laid.build().unwrap_err());
            })
        }
        other => panic!("no figure {other}"),
    };
    took.as_secs_f64() * 1e9 / size as f64
}

/// Both ways of one figure, the goal judged on the first.
fn report(what: &str, figure: &str) {
    let cold = per_item_once(figure);
    let ratio = print_figures(&format!("{what}, once, as at start-up"), &cold);
    println!("    {}", verdict(ratio, GOAL));
    let warm = match figure {
        "interfaces" => repeated_interfaces(),
        "networks" => repeated_networks(),
        // Layers are measured once only: their inputs are owned Strings,
        // made afresh for each run.
        _ => return,
    };
    print_figures(&format!("{what}, repeated in one process (no goal)"), &warm);
}

/// The cost per item at each size, each run once in a process of its own.
fn per_item_once(figure: &str) -> (Vec<f64>, Spread) {
    let exe = std::env::current_exe().expect("the bench's own path");
    rounds(|size| {
        let out = std::process::Command::new(&exe)
            .args(["--once", figure, &SIZES[size].to_string()])
            .output()
            .expect("the bench runs itself");
        assert!(out.status.success(), "--once {figure} {}", SIZES[size]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a cost per item")
    })
}

fn repeated_interfaces() -> (Vec<f64>, Spread) {
    let spec: ListenSpec = HOST_SPEC.parse().expect("the host spec parses");
    let snapshots: Vec<String> = SIZES.iter().map(|&n| snapshot_json(n)).collect();
    for json in &snapshots {
        let host: Host = serde_json::from_str(json).expect("the snapshot loads");
        if let Err(e) = spec.plan(&host) {
            panic!("the spec should plan cleanly on the snapshot:\n{e}");
        }
    }
    per_item(|size| {
        let host: Host = serde_json::from_str(&snapshots[size]).unwrap();
        black_box(spec.plan(&host).unwrap());
    })
}

fn repeated_networks() -> (Vec<f64>, Spread) {
    let host = small_host();
    let texts: Vec<String> = SIZES.iter().map(|&n| many_networks(n)).collect();
    for text in &texts {
        let spec: ListenSpec = text.parse().expect("the generated spec parses");
        if let Err(e) = spec.plan(&host) {
            panic!("the generated spec should plan cleanly:\n{e}");
        }
    }
    per_item(|size| {
        let spec: ListenSpec = texts[size].parse().unwrap();
        black_box(spec.plan(&host).unwrap());
    })
}

/// The least any linear step on N named things does: N names made, kept in
/// a list and a map by name, each looked up once, all dropped.
fn names_floor(n: usize) -> usize {
    let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    let at: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    names.iter().map(|name| at[name.as_str()]).sum()
}

/// A snapshot of `n` interfaces as JSON: each with an address in 10/8 and
/// a link-local IPv6 address, every tenth an `ops` interface, every fifth
/// with a flag on its IPv6 address, as a capture records them.
fn snapshot_json(n: usize) -> String {
    let mut out = String::from("{\"interfaces\": [");
    for i in 0..n {
        let name = if i % 10 == 0 {
            format!("ops{i}")
        } else {
            format!("eth{i}")
        };
        let v6 = format!("fe80::{:x}:{:x}", (i + 1) >> 16, (i + 1) & 0xffff);
        let flags = if i % 5 == 0 {
            format!(", \"addr_flags\": {{\"{v6}\": [\"deprecated\"]}}")
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "{}{{\"name\": \"{name}\", \"index\": {}, \"up\": true, \"addrs\": [\"10.{}.{}.{}/8\", \"{v6}/64\"]{flags}}}",
            if i == 0 { "" } else { ", " },
            i + 1,
            i >> 16 & 0xff,
            i >> 8 & 0xff,
            i & 0xff,
        );
    }
    out.push_str("]}");
    out
}

/// `n` networks on loopback, each with one endpoint on an ephemeral port.
fn many_networks(n: usize) -> String {
    (0..n)
        .map(|i| format!("n{i} = loopback shared\nn{i}.a = tcp:0\n"))
        .collect()
}

/// The median cost per item at each size, in ns, and the median over the
/// rounds of the largest size's cost per item to the smallest's. `run(i)`
/// does the work once on `SIZES[i]` items; it is called as often at each
/// size as makes the same number of items.
fn per_item(mut run: impl FnMut(usize)) -> (Vec<f64>, Spread) {
    let largest = SIZES[SIZES.len() - 1];
    rounds(|i| {
        let calls = largest / SIZES[i];
        let took = cpu_time_of(calls, || run(i));
        took.as_secs_f64() * 1e9 / largest as f64
    })
}

/// The median of `cost(i)` (ns per item at `SIZES[i]`) over the rounds at
/// each size, and the median of the rounds' ratios of the largest to the
/// smallest. A first round warms up and is not counted.
fn rounds(mut cost: impl FnMut(usize) -> f64) -> (Vec<f64>, Spread) {
    let mut costs: Vec<Vec<f64>> = SIZES.iter().map(|_| Vec::new()).collect();
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let mut this = vec![0.0; SIZES.len()];
        // Sizes in turn, the order reversed every other round, so no size
        // always finds the caches another left.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..SIZES.len()).collect()
        } else {
            (0..SIZES.len()).rev().collect()
        };
        for i in order {
            this[i] = cost(i);
        }
        if round > 0 {
            ratios.push(this[SIZES.len() - 1] / this[0]);
            for (all, cost) in costs.iter_mut().zip(this) {
                all.push(cost);
            }
        }
    }
    let medians = costs.into_iter().map(|c| Spread::of(c).median).collect();
    (medians, Spread::of(ratios))
}

/// The cost per item at each size and the ratio of the largest to the
/// smallest; returns the ratio.
fn print_figures<'a>(what: &str, (costs, ratio): &'a (Vec<f64>, Spread)) -> &'a Spread {
    println!("{what}");
    for (n, cost) in SIZES.iter().zip(costs) {
        println!("    N = {n:<7}  {cost:>8.1} ns");
    }
    println!(
        "    N = {} / N = {}: {ratio}",
        SIZES[SIZES.len() - 1],
        SIZES[0]
    );
    ratio
}
