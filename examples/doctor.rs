//! The doctor: shows what a listen spec binds on this host (or a recorded
//! one), what it advertises, and why; or every error with its fix.
//!
//! ```text
//! cargo run --example doctor -- [--spec FILE | --listen LINE ...] [--host FILE]
//!                               [--dump-host] [--json] [--strict] [--bind] [--check]
//! ```
//! `--bind` binds the plan for real, reports each socket's real address and
//! advertised URL (or every failure with its fix), then releases everything.
//! `--check` (with `--bind` implied) also connects to every advertised
//! address, as a client would, and says whether it reaches these sockets; it
//! sends traffic to those addresses, so use it on your own networks.
//!
//! Exit status: 0 for a good plan (and, with `--bind`, all bound; with
//! `--check`, every advertised address reached), 2 for a spec, plan, bind or
//! reachability error, 1 when a file cannot be read or the host cannot
//! be captured.

use std::process::ExitCode;
use std::time::Duration;

use listenspec::bind::{Outcome, Reach};
use listenspec::{
    BindError, Bound, Host, ListenSpec, Plan, PlanError, PlanOptions, Problem, SpecError,
};
use serde_json::{Value, json};

const USAGE: &str = "usage: doctor [--spec FILE | --listen LINE ...] [--host FILE] [--dump-host] [--json] [--strict] [--bind] [--check]";

struct Args {
    spec: Option<String>,
    lines: Vec<String>,
    host: Option<String>,
    dump_host: bool,
    json: bool,
    strict: bool,
    bind: bool,
    check: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        spec: None,
        lines: Vec::new(),
        host: None,
        dump_host: false,
        json: false,
        strict: false,
        bind: false,
        check: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--spec" => a.spec = Some(value("--spec")?),
            "--listen" => a.lines.push(value("--listen")?),
            "--host" => a.host = Some(value("--host")?),
            "--dump-host" => a.dump_host = true,
            "--json" => a.json = true,
            "--strict" => a.strict = true,
            "--bind" => a.bind = true,
            "--check" => {
                a.bind = true;
                a.check = true;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if a.spec.is_some() && !a.lines.is_empty() {
        return Err(format!("give --spec or --listen, not both\n{USAGE}"));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let text = match &args.spec {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot read spec {path}: {e}");
                return ExitCode::from(1);
            }
        },
        None => args.lines.join("\n"),
    };
    let spec: ListenSpec = match text.parse() {
        Ok(s) => s,
        Err(e) => return spec_error(&e, args.json),
    };
    let host = match &args.host {
        Some(path) => match read_host(path) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        },
        None => match listenspec::capture(&spec) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("cannot read this host: {e}");
                return ExitCode::from(1);
            }
        },
    };
    if args.dump_host {
        // Serializing plain data into a String cannot fail.
        let text = serde_json::to_string_pretty(&host).expect("a host snapshot is plain data");
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    let options = if args.strict {
        PlanOptions::strict()
    } else {
        PlanOptions::default()
    };
    let plan = match listenspec::plan_with(&spec, &host, options) {
        Ok(plan) => plan,
        Err(e) => return plan_error(&e, args.json),
    };
    let bound = if args.bind {
        match plan.bind() {
            Ok(b) => Some(b),
            Err(e) => return bind_error(&plan, &e, args.json),
        }
    } else {
        None
    };
    let reach = match (&bound, args.check) {
        (Some(b), true) => b.check_advertised(Duration::from_secs(2)),
        _ => Vec::new(),
    };
    if args.json {
        println!("{}", plan_json(&plan, bound.as_ref(), &reach));
    } else {
        print_plan(&plan, &host, args.host.as_deref());
        if let Some(b) = &bound {
            print_bound(b);
        }
        if args.check {
            println!();
            println!("advertised addresses:");
            for r in &reach {
                println!("  {} {r}", if r.reached() { "ok  " } else { "FAIL" });
            }
        }
    }
    // Dropping `bound` releases every socket.
    let unreached = reach
        .iter()
        .any(|r| !r.reached() && !matches!(r.outcome(), Outcome::NotChecked(_)));
    if unreached {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn read_host(path: &str) -> Result<Host, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read host {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("host {path} is not a host snapshot: {e}"))
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "network": p.network_name().map(|n| n.as_str()),
        "endpoint": p.endpoint_name().map(|n| n.as_str()),
        "message": p.kind().to_string(),
        "fix": p.fix(),
    })
}

fn plan_json(plan: &Plan, bound: Option<&Bound>, reach: &[Reach]) -> Value {
    let endpoints: Vec<Value> = plan
        .endpoints()
        .iter()
        .map(|e| {
            let mut v = json!({
                "network": e.network().as_str(),
                "name": e.name().as_str(),
                "protocol": e.protocol().to_string(),
                "bind": e.binds().iter().map(|b| b.addr().to_string()).collect::<Vec<_>>(),
                "advertise": e.advertised().map(|a| a.to_string()),
            });
            if let Some(be) =
                bound.and_then(|b| b.endpoint(e.network().as_str(), e.name().as_str()))
            {
                v["bound"] = json!(
                    be.local_addrs()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                );
                v["advertise"] = json!(be.advertised().map(ToString::to_string));
            }
            let mine: Vec<Value> = reach
                .iter()
                .filter(|r| r.endpoint() == e.qualified())
                .map(|r| {
                    json!({
                        "target": r.target().map(|t| t.to_string()),
                        "reached": r.reached(),
                        "message": r.to_string(),
                    })
                })
                .collect();
            if !mine.is_empty() {
                v["reach"] = json!(mine);
            }
            v
        })
        .collect();
    let warnings: Vec<Value> = plan.warnings().iter().map(problem_json).collect();
    json!({ "endpoints": endpoints, "warnings": warnings })
}

fn bind_error(plan: &Plan, e: &BindError, as_json: bool) -> ExitCode {
    if as_json {
        let errors: Vec<Value> = e
            .failures()
            .iter()
            .map(|f| {
                let (network, endpoint) = f
                    .endpoint()
                    .and_then(|q| q.split_once('.'))
                    .map_or((None, None), |(n, e)| (Some(n), Some(e)));
                json!({
                    "network": network,
                    "endpoint": endpoint,
                    "address": f.addr().map(|a| a.to_string()),
                    "message": f.cause().to_string(),
                    "fix": f.hint(),
                })
            })
            .collect();
        println!("{}", json!({ "errors": errors }));
    } else {
        eprintln!("{e}");
        eprintln!(
            "(the plan itself was fine: {} endpoint{})",
            plan.endpoints().len(),
            if plan.endpoints().len() == 1 { "" } else { "s" }
        );
    }
    ExitCode::from(2)
}

fn print_bound(bound: &Bound) {
    println!();
    println!("bound (and now released):");
    for ep in bound.endpoints() {
        let url = ep.advertised().map_or("-".to_owned(), ToString::to_string);
        for s in ep.sockets() {
            let from = s
                .inherited()
                .map_or(String::new(), |n| format!("  (inherited {n})"));
            println!(
                "  {:<14} {:<24} {url}{from}",
                ep.qualified(),
                s.local_addr().to_string()
            );
        }
    }
}

fn spec_error(e: &SpecError, as_json: bool) -> ExitCode {
    if as_json {
        let errors: Vec<Value> = e
            .errors()
            .iter()
            .map(|l| {
                json!({
                    "network": null, "endpoint": null, "line": l.line,
                    "message": l.kind.to_string(),
                })
            })
            .collect();
        println!("{}", json!({ "errors": errors }));
    } else {
        eprintln!("{e}");
    }
    ExitCode::from(2)
}

fn plan_error(e: &PlanError, as_json: bool) -> ExitCode {
    if as_json {
        let errors: Vec<Value> = e.errors().iter().map(problem_json).collect();
        println!("{}", json!({ "errors": errors }));
    } else {
        eprintln!("{e}");
        for w in e.warnings() {
            eprintln!("warning: {w}");
        }
    }
    ExitCode::from(2)
}

fn print_plan(plan: &Plan, host: &Host, recorded: Option<&str>) {
    match recorded {
        Some(path) => println!("host (recorded in {path}):"),
        None => println!("host (this machine):"),
    }
    for line in host.to_string().lines() {
        println!("  {line}");
    }
    if let Some(evidence) = host.container() {
        println!("  a container ({evidence})");
    }
    println!();
    let mut rows = vec![[
        "ENDPOINT".to_owned(),
        "PROTO".to_owned(),
        "BIND".to_owned(),
        "ADVERTISE".to_owned(),
        "WHY".to_owned(),
    ]];
    for e in plan.endpoints() {
        let advertise = e.advertised().map_or("-".to_owned(), ToString::to_string);
        for (i, b) in e.binds().iter().enumerate() {
            let mut why = b.why().to_string();
            if let Some(d) = b.device() {
                why.push_str(&format!(", device {d}"));
            }
            let first = i == 0;
            rows.push([
                if first { e.qualified() } else { String::new() },
                if first {
                    e.protocol().to_string()
                } else {
                    String::new()
                },
                bind_text(b.addr(), e.ports()),
                if first {
                    advertise.clone()
                } else {
                    String::new()
                },
                why,
            ]);
        }
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    if !plan.warnings().is_empty() {
        println!();
        for w in plan.warnings() {
            println!("warning: {w}");
        }
    }
}

/// A socket address with its port range, as the plan will try it.
fn bind_text(addr: std::net::SocketAddr, ports: listenspec::Ports) -> String {
    if ports.first() == ports.last() {
        addr.to_string()
    } else {
        format!("{addr}-{}", ports.last())
    }
}
