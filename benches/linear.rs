//! Linear on every input: the cost per item of the planning steps, from a
//! small input to one 100 times larger, as a ratio of the two measured in
//! the same run:
//!
//! - a host snapshot of N interfaces read from JSON (validation included)
//!   and a spec planned against it: the cost per interface at N = 100,000
//!   at most 1.5x the cost at N = 1,000;
//! - a spec of N networks parsed and planned against a small host: the
//!   cost per network at N = 100,000 at most 1.5x the cost at N = 1,000.
//!
//! ```text
//! cargo bench --bench linear
//! ```
//!
//! A step that compares every interface (or network) with every other
//! costs 100 times more per item at the large size; one that is linear
//! costs about the same, a little more for caches the large input does not
//! fit in. Not criterion, as in `ratios.rs`: each round times every size
//! once, on the same number of items (the small input many times over), so
//! a slow moment of this shared machine falls on all of them, and the
//! figure is the median of the rounds' ratios, in this thread's CPU time.
//! It takes about half a minute.

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
    let spec: ListenSpec = HOST_SPEC.parse().expect("the host spec parses");
    let snapshots: Vec<String> = SIZES.iter().map(|&n| snapshot_json(n)).collect();
    for json in &snapshots {
        let host: Host = serde_json::from_str(json).expect("the snapshot loads");
        if let Err(e) = spec.plan(&host) {
            panic!("the spec should plan cleanly on the snapshot:\n{e}");
        }
    }
    let costs = per_item(|size| {
        let host: Host = serde_json::from_str(&snapshots[size]).unwrap();
        black_box(spec.plan(&host).unwrap());
    });
    report("load + plan, per interface", &costs);

    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface("eth0", 2, ["10.0.15.23/16", "fe80::1/64"])
        .build()
        .expect("a valid host");
    let texts: Vec<String> = SIZES.iter().map(|&n| many_networks(n)).collect();
    for text in &texts {
        let spec: ListenSpec = text.parse().expect("the generated spec parses");
        if let Err(e) = spec.plan(&host) {
            panic!("the generated spec should plan cleanly:\n{e}");
        }
    }
    let costs = per_item(|size| {
        let spec: ListenSpec = texts[size].parse().unwrap();
        black_box(spec.plan(&host).unwrap());
    });
    report("parse + plan, per network", &costs);

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
/// does the work once on `SIZES[i]` items.
fn per_item(mut run: impl FnMut(usize)) -> (Vec<f64>, Spread) {
    let largest = SIZES[SIZES.len() - 1];
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
            // The same number of items at every size.
            let calls = largest / SIZES[i];
            let took = cpu_time_of(calls, || run(i));
            this[i] = took.as_secs_f64() * 1e9 / largest as f64;
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

/// The figure at each size, the ratio, and the goal beside it, met or
/// missed by the median.
fn report(what: &str, figures: &(Vec<f64>, Spread)) {
    let ratio = print_figures(what, figures);
    println!("    {}", verdict(ratio, GOAL));
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
