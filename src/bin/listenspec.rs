//! `listenspec`, the ops tool (feature `cli`):
//! `cargo install listenspec --features cli`, then `listenspec doctor --help`.
//!
//! `listenspec doctor` shows what a listen spec binds on this host (or a
//! recorded one), what it advertises, and why; or every error with its fix.
//! Its JSON is the library's own `Serialize` form of each result, so it
//! says what the library says, field for field.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use listenspec::bind::BoundEndpoint;
use listenspec::capture::HostChanges;
use listenspec::fleet::shown;
use listenspec::plan::{PlannedEndpoint, PlannedNetwork, Problem};
use listenspec::probe::{Outcome, Reach};
use listenspec::spec::Layers;
use listenspec::wait::Wait;
use listenspec::{Bound, Error, Host, ListenSpec, Plan, PlanOptions};
use serde::Serialize;

// `--spec FILE` is read as `ListenArgs` reads `--listen-file`: capped, and
// a named pipe without a writer an error, not a wait or an empty spec.
#[path = "../spec/args/text_file.rs"]
mod text_file;

const EXIT_STATUS: &str = "\
Exit status: 0 for a good plan (and, with --bind, all bound; with --check,
every advertised address reached) and for --help; 2 for a spec, plan, bind
or reachability error, or no spec given at all; 1 for a bad argument, a
file that cannot be read, or a host that cannot be captured.";

/// Plan, check and bind listen specs.
#[derive(Parser)]
// bin_name: the usage says `listenspec`, not `listenspec.exe`, on Windows too.
#[command(
    name = "listenspec",
    bin_name = "listenspec",
    version,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Doctor(Doctor),
    Fleet(Fleet),
}

const FLEET_EXIT_STATUS: &str = "\
Exit status: 0 when the spec plans on every host (warnings allowed, unless
--strict); 2 when it fails on any host, any snapshot cannot be read, or the
spec itself has errors; 1 for a bad argument or a folder that cannot be
read.";

/// Plan one spec against every recorded host snapshot in a folder, and
/// report the hosts grouped by outcome and by cause.
///
/// The snapshots are the `*.json` files in DIR, each written by
/// `listenspec doctor --dump-host` on one host (collected by ssh, Ansible,
/// a Kubernetes DaemonSet, ...). A snapshot that cannot be read is reported
/// with its file and never stops the rest. Snapshot files are read up to 64
/// MiB each.
#[derive(Args)]
#[command(after_long_help = FLEET_EXIT_STATUS)]
struct Fleet {
    /// A file of listen spec lines.
    #[arg(long, visible_alias = "listen-file", value_name = "FILE")]
    spec: Option<PathBuf>,
    /// A listen spec line, laid over --spec; repeat it for more. Then
    /// $LISTEN, if set, is laid over both, as a server's ListenArgs lays it.
    #[arg(long, value_name = "LINE", allow_hyphen_values = true)]
    listen: Vec<OsString>,
    /// The folder of host snapshots.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Treat every warning as an error.
    #[arg(long)]
    strict: bool,
}

/// Show what a listen spec binds on this host (or a recorded one), what it
/// advertises and why; or every error with its fix.
///
/// --bind binds the plan for real, reports each socket's real address and
/// advertised URL (or every failure with its fix), then releases
/// everything. --check also connects to every advertised address, as a
/// client would, and says whether it reaches these sockets and their
/// answer comes back, all within 2 seconds; it sends traffic to those
/// addresses, so use it on your own networks.
///
/// `${NAME}` and `${NAME:-DEFAULT}` in the spec are expanded from the
/// doctor's environment, as a server's are with `Layers::env_vars`: run it
/// with the server's environment.
///
/// Spec and host files are read up to 64 MiB.
#[derive(Args)]
#[command(after_long_help = EXIT_STATUS)]
struct Doctor {
    /// A file of listen spec lines.
    #[arg(long, visible_alias = "listen-file", value_name = "FILE")]
    spec: Option<PathBuf>,
    /// A listen spec line, laid over --spec; repeat it for more. Then
    /// $LISTEN, if set, is laid over both, as a server's ListenArgs lays it.
    // An `OsString`, so that a line that is not UTF-8 gets the doctor's
    // own message rather than clap's, which does not say which argument.
    #[arg(long, value_name = "LINE", allow_hyphen_values = true)]
    listen: Vec<OsString>,
    /// Plan against a host recorded with --dump-host instead of this one.
    #[arg(long, value_name = "FILE")]
    host: Option<PathBuf>,
    /// Print this host (with the spec's DNS answers) as JSON, to replay
    /// with --host.
    #[arg(long)]
    dump_host: bool,
    /// Print the plan, or the errors, as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Treat every warning as an error.
    #[arg(long)]
    strict: bool,
    /// Bind every socket for real, report them, then release them. Not
    /// with --host: a recorded host's addresses are another machine's.
    #[arg(long, conflicts_with = "host")]
    bind: bool,
    /// Like --bind, and connect to every advertised address to see whether
    /// it reaches these sockets and is answered by them (2 seconds in all).
    #[arg(long, conflicts_with = "host")]
    check: bool,
    /// Wait up to SECS seconds for this host to have what the spec needs
    /// (an interface to appear or come up, an address to be added or to
    /// finish duplicate address detection), reading the host again on each
    /// change, then plan (and with --bind, bind). Errors that waiting
    /// cannot fix are reported at once.
    #[arg(long, value_name = "SECS", conflicts_with_all = ["host", "dump_host"])]
    wait: Option<f64>,
    /// Plan now, then again on every change of this host's links and
    /// addresses, printing each change of the plan (`+` a socket it would
    /// open, `-` one it would close, or its errors) until interrupted.
    /// Nothing is bound.
    #[arg(long, conflicts_with_all = ["host", "dump_host", "wait", "bind", "check", "json"])]
    watch: bool,
    /// The spec file of the server now running: after the plan, say what
    /// an upgrade from it to this spec would do with the sockets it hands
    /// over (listenspec::handoff): keep, open, close. Nothing is bound.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dump_host", "wait", "bind", "check", "json", "watch"])]
    upgrade_from: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and the version go to stdout and are a success; every
            // other error is a bad argument.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Doctor(doctor) => doctor.run(),
        Command::Fleet(fleet) => fleet.run(),
    }
}

impl Fleet {
    fn run(self) -> ExitCode {
        if self.spec.is_none() && self.listen.is_empty() {
            eprintln!(
                "nothing to plan: give a spec file with --spec FILE or spec lines with \
                 --listen LINE (listenspec fleet --help says more)"
            );
            return ExitCode::from(2);
        }
        let spec = match spec_or_status(self.spec.as_deref(), &self.listen, self.json) {
            Ok(spec) => spec,
            Err(status) => return status,
        };
        let options = plan_options(self.strict);
        let fleet = match listenspec::fleet::Fleet::check_dir(&spec, &self.dir, options) {
            Ok(fleet) => fleet,
            Err(e) => {
                eprintln!("cannot read the folder {}: {e}", shown(&self.dir));
                return ExitCode::from(1);
            }
        };
        let written = to_stdout(|out| {
            if self.json {
                json(out, &fleet)
            } else {
                writeln!(out, "{fleet}")
            }
        });
        written.and(if fleet.failed() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}

impl Doctor {
    fn run(self) -> ExitCode {
        if self.spec.is_none() && self.listen.is_empty() && !self.dump_host {
            eprintln!(
                "nothing to plan: give a spec file with --spec FILE, spec lines with \
                 --listen LINE, or --dump-host to record this host \
                 (listenspec doctor --help says more)"
            );
            return ExitCode::from(2);
        }
        let spec = match spec_or_status(self.spec.as_deref(), &self.listen, self.json) {
            Ok(spec) => spec,
            Err(status) => return status,
        };
        if let Some(secs) = self.wait {
            return self.wait_then_report(&spec, secs);
        }
        if self.watch {
            return self.watch(&spec);
        }
        let host = match &self.host {
            Some(path) => read_host(path),
            None => listenspec::capture(&spec).map_err(|e| format!("cannot read this host: {e}")),
        };
        let host = match host {
            Ok(host) => host,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        };
        if self.dump_host {
            // Pretty: a snapshot is a file people read and edit.
            return to_stdout(|out| {
                serde_json::to_writer_pretty(&mut *out, &host)?;
                writeln!(out)
            })
            .and(ExitCode::SUCCESS);
        }
        self.plan(&spec, &host)
    }

    /// `--wait SECS`: the library's waiting plan (and bind), then the
    /// report of a plan that stands.
    fn wait_then_report(&self, spec: &ListenSpec, secs: f64) -> ExitCode {
        let Ok(deadline) = Duration::try_from_secs_f64(secs) else {
            eprintln!("--wait {secs} is not a number of seconds from 0 on");
            return ExitCode::from(1);
        };
        let wait = Wait::up_to(deadline).plan_options(plan_options(self.strict));
        let waited = if self.bind || self.check {
            wait.bind_planned(spec)
                .map(|(host, plan, bound)| (host, plan, Some(bound)))
        } else {
            wait.plan(spec).map(|(host, plan)| (host, plan, None))
        };
        match waited {
            Ok((host, plan, bound)) => self.report(&host, &plan, bound),
            Err(e) => {
                let last = match &e {
                    Error::Deadline(gave_up) => gave_up.last(),
                    other => other,
                };
                let status = if matches!(last, Error::Capture(_)) {
                    1
                } else {
                    2
                };
                if self.json {
                    let written = to_stdout(|out| match last {
                        Error::Plan(p) => json(out, p),
                        Error::Bind(b) => json(out, b),
                        _ => Ok(()),
                    });
                    // The JSON is the last attempt's; how long it waited is
                    // for the person reading stderr.
                    eprintln!("{e}");
                    return written.and(ExitCode::from(status));
                }
                eprintln!("{e}");
                ExitCode::from(status)
            }
        }
    }

    /// `--watch`: the plan, then each change of it, as the host changes.
    /// Ends only on an error reading the host at the start, or writing the
    /// report; a later failed read is reported as the plan's errors are,
    /// and the host is read again within a second, or at its next change.
    fn watch(&self, spec: &ListenSpec) -> ExitCode {
        // Subscribed before the first capture, so no change is missed;
        // where there are no notifications, poll.
        let mut changes = HostChanges::subscribe().ok().flatten();
        let mut last: Option<Result<Plan, String>> = None;
        loop {
            let captured = listenspec::capture(spec);
            // A failed read is tried again within a second: no change of
            // the host need follow it (a resolver that failed, say).
            let wait = match captured {
                Ok(_) => Duration::from_secs(3600),
                Err(_) => Duration::from_secs(1),
            };
            let now = match captured {
                Ok(host) => listenspec::plan_with(spec, &host, plan_options(self.strict))
                    .map_err(|e| e.to_string()),
                Err(e) if last.is_none() => {
                    eprintln!("cannot read this host: {e}");
                    return ExitCode::from(1);
                }
                Err(e) => Err(format!("cannot read this host: {e}")),
            };
            let mut out = io::stdout().lock();
            let written = match (&last, &now) {
                (None | Some(Err(_)), Ok(plan)) => writeln!(out, "{plan}"),
                (Some(Ok(old)), Ok(plan)) => {
                    let diff = plan.diff(old);
                    if diff.is_empty() {
                        Ok(())
                    } else {
                        writeln!(out, "the host changed:\n{diff}")
                    }
                }
                (Some(Err(old)), Err(e)) if old == e => Ok(()),
                (_, Err(e)) => writeln!(out, "{e}"),
            };
            match written.and_then(|()| out.flush()) {
                Ok(()) => {}
                // The reader went away (`| head`): it has had what it wanted.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cannot write the report: {e}");
                    return ExitCode::from(1);
                }
            }
            drop(out);
            last = Some(now);
            // A notification says only that something changed; a broken
            // subscription falls back to polling.
            let notified = changes.as_mut().is_some_and(|c| c.wait(wait).is_ok());
            if !notified {
                changes = None;
                std::thread::sleep(listenspec::wait::POLL_INTERVAL);
            }
        }
    }

    fn plan(&self, spec: &ListenSpec, host: &Host) -> ExitCode {
        let plan = match listenspec::plan_with(spec, host, plan_options(self.strict)) {
            Ok(plan) => plan,
            Err(e) => {
                if self.json {
                    return to_stdout(|out| json(out, &e)).and(ExitCode::from(2));
                }
                eprintln!("{e}");
                for w in e.warnings() {
                    eprintln!("warning: {w}");
                }
                return ExitCode::from(2);
            }
        };
        if let Some(old) = &self.upgrade_from {
            return self.upgrade_preview(old, host, &plan);
        }
        let bound = if self.bind || self.check {
            match plan.bind() {
                Ok(bound) => Some(bound),
                Err(e) => {
                    if self.json {
                        return to_stdout(|out| json(out, &e)).and(ExitCode::from(2));
                    }
                    eprintln!("{e}");
                    let n = plan.endpoints().len();
                    eprintln!(
                        "(the plan itself was fine: {n} endpoint{})",
                        if n == 1 { "" } else { "s" }
                    );
                    return ExitCode::from(2);
                }
            }
        } else {
            None
        };
        self.report(host, &plan, bound)
    }

    /// `--upgrade-from FILE`: the plan, then what an upgrade from the
    /// running spec to this one keeps, opens and closes, on this host.
    fn upgrade_preview(&self, old: &Path, host: &Host, plan: &Plan) -> ExitCode {
        let old_spec = match spec_or_status(Some(old), &[], false) {
            Ok(spec) => spec,
            Err(status) => return status,
        };
        let old_plan = match listenspec::plan_with(&old_spec, host, plan_options(self.strict)) {
            Ok(p) => p,
            Err(e) => {
                eprintln!(
                    "the running spec {} does not plan on this host: {e}",
                    shown(old)
                );
                return ExitCode::from(2);
            }
        };
        let diff = plan.diff(&old_plan);
        let total: usize = plan.endpoints().iter().map(|e| e.binds().len()).sum();
        let kept = total - diff.opened().len();
        to_stdout(|out| {
            print_plan(out, plan, host, self.host.as_deref())?;
            writeln!(
                out,
                "\nan upgrade from {}: {kept} socket{} kept (never closed), {} opened, {} closed",
                shown(old),
                if kept == 1 { "" } else { "s" },
                diff.opened().len(),
                diff.closed().len()
            )?;
            if !diff.is_empty() {
                writeln!(out, "{diff}")?;
            }
            Ok(())
        })
        .and(ExitCode::SUCCESS)
    }

    /// The plan, what was bound and what the check found, as a table or
    /// JSON; the exit status says whether every advertised address was
    /// reached.
    fn report(&self, host: &Host, plan: &Plan, bound: Option<Bound>) -> ExitCode {
        let reach = match &bound {
            Some(b) if self.check => b.check_advertised(Duration::from_secs(2)),
            _ => Vec::new(),
        };
        let written = to_stdout(|out| {
            if self.json {
                return json(out, &Report::new(plan, bound.as_ref(), &reach));
            }
            print_plan(out, plan, host, self.host.as_deref())?;
            if let Some(b) = &bound {
                print_bound(out, b)?;
            }
            if self.check {
                writeln!(out, "\nadvertised addresses:")?;
                for r in &reach {
                    let verdict = if r.reached() { "ok  " } else { "FAIL" };
                    writeln!(out, "  {verdict} {r}")?;
                }
            }
            Ok(())
        });
        // Dropping `bound` releases every socket.
        let unreached = reach
            .iter()
            .any(|r| !r.reached() && !matches!(r.outcome(), Outcome::NotChecked(_)));
        written.and(if unreached {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}

fn plan_options(strict: bool) -> PlanOptions {
    if strict {
        PlanOptions::strict()
    } else {
        PlanOptions::default()
    }
}

/// The spec of `--spec` and `--listen`, or the exit status once the reason
/// is told: 2 for a spec with errors (as JSON with `--json`), 1 for an
/// argument or file that cannot be read.
fn spec_or_status(
    spec: Option<&Path>,
    listen: &[OsString],
    as_json: bool,
) -> Result<ListenSpec, ExitCode> {
    match read_spec(spec, listen) {
        Ok(Ok(spec)) => Ok(spec),
        Ok(Err(e)) if as_json => Err(to_stdout(|out| json(out, &e)).and(ExitCode::from(2))),
        Ok(Err(e)) => {
            eprintln!("{e}");
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(1))
        }
    }
}

/// The spec of `--spec` and `--listen`: the file, then each line laid over
/// it, their variables expanded from the environment as a server's are.
/// The outer error is an argument or file that cannot be read.
fn read_spec(
    spec: Option<&Path>,
    listen: &[OsString],
) -> Result<Result<ListenSpec, listenspec::SpecError>, String> {
    let mut layers = Layers::new().env_vars();
    if let Some(path) = spec {
        let text = text_file::read_capped(path)
            .map_err(|e| format!("cannot read spec {}: {e}", shown(path)))?;
        layers = layers.text(format!("--spec {}", shown(path)), text);
    }
    for (i, line) in listen.iter().enumerate() {
        let line = line
            .clone()
            .into_string()
            .map_err(|bad| format!("--listen {bad:?} is not UTF-8 text; a spec line must be"))?;
        // `--listen "$ADDR"` with `ADDR` unset is no line left out silently,
        // nor is one of only `;` and comments (`--listen '#…'`), as
        // `ListenArgs` refuses them.
        let no_statement = line.split(['\n', ';']).all(|piece| {
            piece
                .split('#')
                .next()
                .unwrap_or_default()
                .trim_ascii()
                .is_empty()
        });
        if no_statement {
            return Err(format!(
                "--listen #{} is empty (an unset shell variable?) or holds only `;` and comments; give a spec line, or leave the flag out",
                i + 1
            ));
        }
        layers = layers.text(format!("--listen #{}", i + 1), line);
    }
    // Last, as a server's `ListenArgs` lays it: the doctor run with the
    // server's environment plans what the server binds.
    Ok(layers.variable("LISTEN").build())
}

/// The doctor's JSON for a good plan: the plan's networks, endpoints and
/// warnings, each endpoint with what binding it gave and what the check
/// found beside it.
#[derive(Serialize)]
struct Report<'a> {
    networks: &'a [PlannedNetwork],
    endpoints: Vec<EndpointReport<'a>>,
    warnings: &'a [Problem],
}

#[derive(Serialize)]
struct EndpointReport<'a> {
    #[serde(flatten)]
    planned: &'a PlannedEndpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    bound: Option<&'a BoundEndpoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reach: Vec<&'a Reach>,
}

impl<'a> Report<'a> {
    fn new(plan: &'a Plan, bound: Option<&'a Bound>, reach: &'a [Reach]) -> Report<'a> {
        let endpoints = plan
            .endpoints()
            .iter()
            .map(|e| EndpointReport {
                planned: e,
                bound: bound.and_then(|b| b.endpoint(e.network().as_str(), e.name().as_str())),
                reach: reach
                    .iter()
                    .filter(|r| e.qualified() == *r.endpoint())
                    .collect(),
            })
            .collect();
        Report {
            networks: plan.networks(),
            endpoints,
            warnings: plan.warnings(),
        }
    }
}

/// Runs `write` on stdout. A reader that went away (`| head`) has had all
/// it wanted, so a broken pipe ends the doctor quietly with its own status;
/// any other failure to write is an error.
fn to_stdout(write: impl FnOnce(&mut io::StdoutLock) -> io::Result<()>) -> Written {
    let mut out = io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("cannot write the report: {e}");
            Written(false)
        }
        _ => Written(true),
    }
}

/// Whether the report reached stdout (or a reader that left early).
#[must_use]
struct Written(bool);

impl Written {
    /// `status` when the report was written, else a failure.
    fn and(self, status: ExitCode) -> ExitCode {
        if self.0 { status } else { ExitCode::from(1) }
    }
}

fn json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

fn read_host(path: &Path) -> Result<Host, String> {
    listenspec::fleet::read_snapshot(path).map_err(|e| format!("host {} {e}", shown(path)))
}

fn print_bound(out: &mut impl Write, bound: &Bound) -> io::Result<()> {
    writeln!(out, "\nbound (and now released):")?;
    writeln!(out, "{bound}")
}

fn print_plan(
    out: &mut impl Write,
    plan: &Plan,
    host: &Host,
    recorded: Option<&Path>,
) -> io::Result<()> {
    match recorded {
        Some(path) => writeln!(out, "host (recorded in {}):", shown(path))?,
        None => writeln!(out, "host (this machine):")?,
    }
    for line in host.to_string().lines() {
        writeln!(out, "  {line}")?;
    }
    if let Some(evidence) = host.container() {
        writeln!(out, "  a container ({evidence})")?;
    }
    writeln!(out)?;
    // The library's own table, so a server's log and the doctor agree.
    writeln!(out, "{plan}")
}
