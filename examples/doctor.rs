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
//! Spec and host files are read up to 64 MiB; past that the doctor says the
//! file is too big instead of reading on.
//!
//! Exit status: 0 for a good plan (and, with `--bind`, all bound; with
//! `--check`, every advertised address reached) and for `--help`, 2 for a
//! spec, plan, bind or reachability error or no spec given at all, 1 for a
//! bad argument, a file that cannot be read, or a host that cannot be
//! captured.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use listenspec::plan::Problem;
use listenspec::probe::{Outcome, Reach};
use listenspec::{BindError, Bound, Host, ListenSpec, Plan, PlanError, PlanOptions, SpecError};
use serde_json::{Value, json};

const USAGE: &str = "usage: doctor [--spec FILE | --listen LINE ...] [--host FILE] [--dump-host] [--json] [--strict] [--bind] [--check]";

/// The most the doctor reads from a spec or host file. A recorded host of
/// ten thousand interfaces is a few megabytes; without a cap, `--host
/// /dev/zero` reads until memory runs out.
const FILE_LIMIT: u64 = 64 << 20;

struct Args {
    spec: Option<PathBuf>,
    lines: Vec<String>,
    host: Option<PathBuf>,
    dump_host: bool,
    json: bool,
    strict: bool,
    bind: bool,
    check: bool,
}

enum Command {
    Run(Args),
    Help,
}

/// Paths stay `OsString`s, since a file name need not be UTF-8; spec lines
/// are text, and a non-UTF-8 one is refused rather than garbled.
fn args(raw: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
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
    let mut it = raw.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.to_str() {
            Some("--spec") => a.spec = Some(value("--spec")?.into()),
            Some("--listen") => {
                let line = value("--listen")?.into_string().map_err(|bad| {
                    format!("--listen {bad:?} is not UTF-8 text; a spec line must be")
                })?;
                a.lines.push(line);
            }
            Some("--host") => a.host = Some(value("--host")?.into()),
            Some("--dump-host") => a.dump_host = true,
            Some("--json") => a.json = true,
            Some("--strict") => a.strict = true,
            Some("--bind") => a.bind = true,
            Some("--check") => {
                a.bind = true;
                a.check = true;
            }
            Some("-h" | "--help") => return Ok(Command::Help),
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    if a.spec.is_some() && !a.lines.is_empty() {
        return Err(format!("give --spec or --listen, not both\n{USAGE}"));
    }
    Ok(Command::Run(a))
}

fn main() -> ExitCode {
    let args = match args(std::env::args_os().skip(1)) {
        Ok(Command::Run(a)) => a,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if args.spec.is_none() && args.lines.is_empty() && !args.dump_host {
        eprintln!(
            "nothing to plan: give a spec file with --spec FILE, spec lines with --listen LINE, \
             or --dump-host to record this host\n{USAGE}"
        );
        return ExitCode::from(2);
    }
    let text = match &args.spec {
        Some(path) => match read_limited(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    eprintln!("cannot read spec {}: it is not UTF-8 text", path.display());
                    return ExitCode::from(1);
                }
            },
            Err(e) => {
                eprintln!("cannot read spec {}: {e}", path.display());
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

fn read_host(path: &Path) -> Result<Host, String> {
    let bytes =
        read_limited(path).map_err(|e| format!("cannot read host {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("host {} is not a host snapshot: {e}", path.display()))
}

/// The whole file, or an error once it passes [`FILE_LIMIT`]; reading one
/// byte past the limit tells a file of exactly the limit from a larger one.
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it is larger than the limit of {} MiB", FILE_LIMIT >> 20),
        ));
    }
    Ok(bytes)
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
                .filter(|r| e.qualified() == *r.endpoint())
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
                let (network, endpoint) = f.endpoint().map_or((None, None), |q| {
                    (Some(q.network().as_str()), Some(q.endpoint().as_str()))
                });
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
        println!("{}", json!({ "errors": errors, "host": e.host_listing() }));
    } else {
        eprintln!("{e}");
        for w in e.warnings() {
            eprintln!("warning: {w}");
        }
    }
    ExitCode::from(2)
}

fn print_plan(plan: &Plan, host: &Host, recorded: Option<&Path>) {
    match recorded {
        Some(path) => println!("host (recorded in {}):", path.display()),
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
                if first {
                    e.qualified().to_string()
                } else {
                    String::new()
                },
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
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| padded(cell, w))
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

/// `cell` padded with spaces to `width` characters. Not `{cell:width$}`:
/// format widths stop at 65,535 and panic past it, and a name may be longer.
fn padded(cell: &str, width: usize) -> String {
    let mut out = cell.to_owned();
    out.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(cell.chars().count()),
    ));
    out
}

/// A socket address with its port range, as the plan will try it.
fn bind_text(addr: std::net::SocketAddr, ports: listenspec::spec::Ports) -> String {
    if ports.first() == ports.last() {
        addr.to_string()
    } else {
        format!("{addr}-{}", ports.last())
    }
}
