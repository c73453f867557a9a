//! Waiting for the host at start-up: capture, plan and bind again until
//! the problems that time can fix are gone (an interface that is missing,
//! down or without carrier, a named interface without its address yet or
//! with only link-local ones, a tentative address, an address that went
//! away between reading the host and binding it), or a deadline passes.
//!
//! This is the edge where waiting happens; the planner stays pure. Each
//! attempt is an ordinary capture, plan and bind, so waiting never changes
//! what a plan may bind: it only tries the same spec again later.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::AddrClass;
use crate::bind::{ActivationError, BindError, BindFailure, Inherited, take_from_env};
use crate::capture::HostChanges;
use crate::plan::{Problem, ProblemKind};
use crate::spec::{Selector, Zone};
use crate::{Bound, Error, Host, ListenSpec, Plan, PlanOptions};

/// How often the host is read again where the OS sends no notification of
/// changes (all but Linux): often enough that a server starts within a
/// blink of its address appearing, rarely enough to cost nothing (one
/// capture is tens of microseconds).
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Waiting for the host, up to a deadline; see [`crate::bind_all_waiting`]
/// for the common case.
///
/// Each attempt captures the host, plans, and (for [`Wait::bind`]) binds.
/// An attempt that fails only for reasons time can fix
/// ([`ProblemKind::time_may_fix`], or a bind refused with `EADDRNOTAVAIL`
/// on an address the host held when it was read: a tentative one, or one
/// that went away since, as on a host whose addresses flap) is tried again
/// when the kernel reports a change of links or addresses (Linux), or
/// every [`POLL_INTERVAL`] elsewhere. Once a bind was refused so, the
/// address missing from a later plan (not local, or a block or class that
/// now matches nothing) is waited for too: it was there a moment ago. Any
/// other error ends the wait at once.
/// When the deadline passes, the error is [`Error::Deadline`]: how long it
/// waited, for what, and the last attempt's own error.
///
/// ```
/// use std::time::Duration;
/// use listenspec::{PlanOptions, wait::Wait};
///
/// let spec: listenspec::ListenSpec = "local = loopback expose=local; local.web = http:0".parse()?;
/// let wait = Wait::up_to(Duration::from_secs(5)).plan_options(PlanOptions::strict());
/// let (host, plan) = wait.plan(&spec)?;
/// assert_eq!(plan.endpoints().len(), 1);
/// println!("{host}\n{plan}");
/// let bound = wait.bind(&spec)?;
/// assert_ne!(bound.endpoint("local", "web").unwrap().port(), Some(0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Wait {
    deadline: Duration,
    options: PlanOptions,
}

impl Wait {
    /// Waits at most `deadline` from the first attempt.
    pub fn up_to(deadline: Duration) -> Wait {
        Wait {
            deadline,
            options: PlanOptions::default(),
        }
    }

    /// Plans with these options (strict: a warning is an error, and a
    /// tentative address is then waited for before binding is tried).
    pub fn plan_options(mut self, options: PlanOptions) -> Wait {
        self.options = options;
        self
    }

    /// Waits until the spec plans on this host: the host and the plan.
    pub fn plan(&self, spec: &ListenSpec) -> Result<(Host, Plan), Error> {
        self.run(spec, |host, plan, _| Step::Ready((host, plan)))
    }

    /// Waits until the spec plans and binds on this host.
    pub fn bind(&self, spec: &ListenSpec) -> Result<Bound, Error> {
        Ok(self.bind_planned(spec)?.2)
    }

    /// [`Wait::bind`], with the host and the plan the sockets were bound
    /// from, for a caller that shows them (the doctor does).
    pub fn bind_planned(&self, spec: &ListenSpec) -> Result<(Host, Plan, Bound), Error> {
        let inherited = take_inherited()?;
        self.run(spec, |host, plan, vanished| {
            bind_step(&plan, &host, &inherited, vanished).map(|bound| (host, plan, bound))
        })
    }

    /// Captures and plans until `finish` (given each plan, and the
    /// addresses binds of this wait saw go away) is done, fails for good,
    /// or the deadline passes.
    fn run<T>(
        &self,
        spec: &ListenSpec,
        mut finish: impl FnMut(Host, Plan, &mut Vec<IpAddr>) -> Step<T>,
    ) -> Result<T, Error> {
        let start = Instant::now();
        // Subscribed before the first capture, so a change between the
        // capture and the wait is not missed. Where there are no
        // notifications, or the socket cannot be had, poll.
        let mut changes = HostChanges::subscribe().ok().flatten();
        let mut vanished = Vec::new();
        loop {
            let host = match crate::capture(spec) {
                Ok(host) => host,
                // A host changing so fast that no read of it held still
                // is what waiting is for: read it again after a change.
                Err(e) if is_unsettled(&e) => {
                    let again = Again {
                        waiting_for: Vec::new(),
                        error: Error::Capture(e),
                        soon: true,
                    };
                    pause(&mut changes, self.left(start, again)?);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let step = match plan_step(spec, &host, self.options, &vanished) {
                Step::Ready(plan) => finish(host, plan, &mut vanished),
                Step::Fail(e) => Step::Fail(e),
                Step::Again(again) => Step::Again(again),
            };
            match step {
                Step::Ready(done) => return Ok(done),
                Step::Fail(e) => return Err(e),
                Step::Again(again) => {
                    pause(&mut changes, self.left(start, again)?);
                }
            }
        }
    }

    /// How long to wait for a change before the next attempt: the time
    /// left (at most [`POLL_INTERVAL`] when `again` is to be tried soon),
    /// or the deadline's error when none is.
    fn left(&self, start: Instant, again: Again) -> Result<Duration, Error> {
        let waited = start.elapsed();
        if waited >= self.deadline {
            return Err(Error::Deadline(DeadlineError {
                waited,
                deadline: self.deadline,
                waiting_for: again.waiting_for,
                last: Box::new(again.error),
            }));
        }
        let left = self.deadline - waited;
        Ok(if again.soon {
            left.min(POLL_INTERVAL)
        } else {
            left
        })
    }

    /// [`Wait::bind`] for async code: DNS lookups as in
    /// [`capture_async`](crate::capture::capture_async), and the waits
    /// between attempts on tokio's blocking threads, so the runtime's own
    /// threads are never blocked. Needs the `tokio` feature.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spec = "local = loopback expose=local; local.web = http:0".parse()?;
    /// let wait = listenspec::wait::Wait::up_to(Duration::from_secs(5));
    /// let mut bound = wait.bind_async(&spec).await?;
    /// let listener = bound.take::<listenspec::serve::EndpointListener>("local", "web")?;
    /// assert_eq!(listener.endpoint().to_string(), "local.web");
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn bind_async(&self, spec: &ListenSpec) -> Result<Bound, Error> {
        let start = Instant::now();
        let subscribed = tokio::task::spawn_blocking(HostChanges::subscribe).await;
        let mut changes = subscribed.ok().and_then(Result::ok).flatten();
        let inherited = take_inherited()?;
        let capture_options = crate::capture::CaptureOptions::default();
        let mut vanished = Vec::new();
        loop {
            let host = crate::capture::capture_async(spec, &capture_options).await?;
            let step = match plan_step(spec, &host, self.options, &vanished) {
                Step::Ready(plan) => bind_step(&plan, &host, &inherited, &mut vanished),
                Step::Fail(e) => Step::Fail(e),
                Step::Again(again) => Step::Again(again),
            };
            let left = match step {
                Step::Ready(bound) => return Ok(bound),
                Step::Fail(e) => return Err(e),
                Step::Again(again) => self.left(start, again)?,
            };
            let waited = tokio::task::spawn_blocking(move || {
                pause(&mut changes, left);
                changes
            })
            .await;
            // A blocking task fails only when the runtime is shutting down
            // (which drops this future too) or the wait panicked: either
            // way, poll from here on.
            changes = waited.ok().flatten();
        }
    }

    /// Builds the spec the layers make and binds it, waiting as
    /// [`Wait::bind_async`] does. Needs the `tokio` feature.
    #[cfg(feature = "tokio")]
    pub async fn bind_layers_async(&self, layers: crate::spec::Layers<'_>) -> Result<Bound, Error> {
        self.bind_async(&layers.build()?).await
    }
}

/// The inherited sockets, taken once for every attempt.
fn take_inherited() -> Result<Vec<Inherited>, Error> {
    take_from_env().map_err(|e| Error::Bind(BindError::new(vec![BindFailure::activation(e)])))
}

/// Waits up to `left` for a change of the host: a kernel notification, or
/// on a system without them (or once they fail) [`POLL_INTERVAL`]. Whether
/// the host may have changed: `false` only when notifications said
/// nothing changed in `left`.
pub(crate) fn pause(changes: &mut Option<HostChanges>, left: Duration) -> bool {
    if let Some(c) = changes {
        match c.wait(left) {
            Ok(changed) => return changed,
            // The subscription broke (a sandbox, say); polling still works.
            Err(_) => *changes = None,
        }
    }
    std::thread::sleep(left.min(POLL_INTERVAL));
    true
}

/// Whether a capture failed only because the host changed while it was
/// read (the kernel's dump interrupted at every attempt, or its reply
/// overrun by the changes): a later read may hold still.
pub(crate) fn is_unsettled(e: &crate::capture::CaptureError) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let crate::capture::CaptureError::BadReply { why, .. } = e {
        return matches!(
            why,
            crate::capture::BadReply::KeptChanging { .. } | crate::capture::BadReply::Overrun
        );
    }
    let _ = e;
    false
}

/// One step of an attempt: done, failed for good, or to try again.
enum Step<T> {
    Ready(T),
    Fail(Error),
    Again(Again),
}

impl<T> Step<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Ready(t) => Step::Ready(f(t)),
            Step::Fail(e) => Step::Fail(e),
            Step::Again(a) => Step::Again(a),
        }
    }
}

/// An attempt that time may fix: what it was waiting for, and its error.
struct Again {
    waiting_for: Vec<Problem>,
    error: Error,
    /// Try again within [`POLL_INTERVAL`] even if no change is reported:
    /// set for a refused bind, since whether an address binds can change
    /// with no address notification after it (Linux announces a new IPv4
    /// address before it adds the local route that bind(2) checks).
    soon: bool,
}

/// Plans against one capture: a plan error is waited out only when time
/// may fix every one of its errors, counting as such the absence of an
/// address a bind of this wait saw go away (`vanished`).
fn plan_step(
    spec: &ListenSpec,
    host: &Host,
    options: PlanOptions,
    vanished: &[IpAddr],
) -> Step<Plan> {
    let waitable = |p: &Problem| p.kind().time_may_fix() || may_come_back(p.kind(), vanished);
    match crate::plan_with(spec, host, options) {
        Ok(plan) => Step::Ready(plan),
        Err(e) if e.errors().iter().all(waitable) => Step::Again(Again {
            waiting_for: e.errors().to_vec(),
            error: Error::Plan(e),
            soon: false,
        }),
        Err(e) => Step::Fail(Error::Plan(e)),
    }
}

/// Whether a plan error is only the absence of addresses this wait saw go
/// away between a capture and its bind: a host whose addresses flap (a
/// DHCP renewal that removes and adds, a link bouncing) brings them back,
/// and until the deadline that is worth waiting for. A literal or a DNS
/// name's answer is `NotLocal` then; a block or a class matches nothing.
/// Every other error, and these for an address never seen, stays final:
/// a typo in a spec must not wait out its deadline.
fn may_come_back(kind: &ProblemKind, vanished: &[IpAddr]) -> bool {
    match kind {
        ProblemKind::NotLocal { remote, .. } => remote.iter().all(|ip| vanished.contains(ip)),
        ProblemKind::NoMatch {
            selector: Selector::Cidr(net),
            why: None,
        } => vanished.iter().any(|ip| net.contains(ip)),
        ProblemKind::NoMatch {
            selector: Selector::Class(class),
            why: None,
        } => vanished.iter().any(|ip| AddrClass::of(*ip) == *class),
        _ => false,
    }
}

/// Binds a plan, handing over a duplicate of each inherited socket so the
/// originals are still there for the next attempt. Addresses refused as
/// gone though `host` held them are added to `vanished`.
fn bind_step(
    plan: &Plan,
    host: &Host,
    inherited: &[Inherited],
    vanished: &mut Vec<IpAddr>,
) -> Step<Bound> {
    let given = inherited
        .iter()
        .map(|i| {
            i.duplicate()
                .map_err(|error| ActivationError::Duplicate { fd: i.fd, error })
        })
        .collect::<Result<Vec<_>, _>>();
    let given = match given {
        Ok(given) => given,
        Err(e) => {
            return Step::Fail(Error::Bind(BindError::new(vec![BindFailure::activation(
                e,
            )])));
        }
    };
    match plan.bind_inherited(given) {
        Ok(bound) => Step::Ready(bound),
        Err(e) => match unavailable_failures(plan, host, &e, vanished) {
            Some(waiting_for) => Step::Again(Again {
                waiting_for,
                error: Error::Bind(e),
                soon: true,
            }),
            None => Step::Fail(Error::Bind(e)),
        },
    }
}

/// When every failure is `EADDRNOTAVAIL` on an address the captured
/// `host` held, what the wait is for: the plan's warning for a tentative
/// one (duplicate address detection will end), and for any other a
/// `NotLocal` of the address, which is what the kernel just said (it went
/// away after the host was read; it is added to `vanished`, so a later
/// plan that misses it waits too). Otherwise `None`: time will not fix it.
fn unavailable_failures(
    plan: &Plan,
    host: &Host,
    e: &BindError,
    vanished: &mut Vec<IpAddr>,
) -> Option<Vec<Problem>> {
    let tentative = |ip: IpAddr| {
        plan.warnings()
            .iter()
            .find(|w| matches!(w.kind(), ProblemKind::Tentative { ips, .. } if ips.contains(&ip)))
    };
    let mut waiting_for: Vec<Problem> = Vec::new();
    for f in e.failures() {
        if f.os_error().map(io::Error::kind) != Some(io::ErrorKind::AddrNotAvailable) {
            return None;
        }
        let (addr, endpoint) = (f.addr()?, f.endpoint()?);
        let problem = match tentative(addr.ip()) {
            Some(warning) => warning.clone(),
            None => {
                let owner = host.owner_of(addr.ip(), scope(addr))?;
                if !vanished.contains(&addr.ip()) {
                    vanished.push(addr.ip());
                }
                Problem::endpoint(
                    endpoint.network(),
                    endpoint.endpoint(),
                    gone(addr.ip(), owner.name()),
                )
            }
        };
        if !waiting_for.contains(&problem) {
            waiting_for.push(problem);
        }
    }
    (!waiting_for.is_empty()).then_some(waiting_for)
}

/// The interface a planned socket address is scoped to (a link-local
/// IPv6 address's), or `None`: any interface may hold it.
fn scope(addr: SocketAddr) -> Option<u32> {
    match addr {
        SocketAddr::V6(a) if a.scope_id() != 0 => Some(a.scope_id()),
        _ => None,
    }
}

/// An address gone from the host since it was read, as the planner says
/// of a literal no interface holds (a link-local one with the zone of the
/// interface that held it, as a link-local literal must have).
fn gone(ip: IpAddr, interface: &str) -> ProblemKind {
    let zone =
        (AddrClass::of(ip) == AddrClass::LinkLocal).then(|| Zone::Name(interface.to_owned()));
    ProblemKind::NotLocal {
        selector: Selector::Addr { ip, zone },
        remote: vec![ip],
    }
}

/// The deadline passed while the host still had problems time may fix.
///
/// It prints how long it waited and for what (each problem's place and
/// message), then the last attempt's own error with every fix.
///
/// ```
/// use std::time::Duration;
///
/// let spec: listenspec::ListenSpec = "ops = if:nosuch0; ops.metrics = http:0".parse()?;
/// let err = listenspec::bind_all_waiting(&spec, Duration::from_millis(50)).unwrap_err();
/// let listenspec::Error::Deadline(gave_up) = &err else { panic!("{err}") };
/// assert!(gave_up.waited() >= Duration::from_millis(50));
/// assert!(matches!(gave_up.last(), listenspec::Error::Plan(_)));
/// let text = err.to_string();
/// assert!(text.starts_with("gave up waiting for the host after 0."), "{text}");
/// assert!(text.contains("nosuch0"), "{text}");
/// # Ok::<(), listenspec::SpecError>(())
/// ```
pub struct DeadlineError {
    waited: Duration,
    deadline: Duration,
    waiting_for: Vec<Problem>,
    last: Box<Error>,
}

impl DeadlineError {
    /// How long it waited, from the first attempt to the last.
    pub fn waited(&self) -> Duration {
        self.waited
    }
    /// The deadline it was given.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
    /// What was still there at the last attempt: plan errors time may fix,
    /// or the addresses a bind was refused on (each tentative address's
    /// warning, and a `NotLocal` for one that went away after the host was
    /// read).
    pub fn waiting_for(&self) -> &[Problem] {
        &self.waiting_for
    }
    /// The last attempt's error, as [`crate::bind_all`] would have returned it.
    pub fn last(&self) -> &Error {
        &self.last
    }
}

crate::debug_is_message!(DeadlineError {
    waited,
    deadline,
    waiting_for,
    last
});

impl fmt::Display for DeadlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(
            f,
            (
                &format!(
                    "gave up waiting for the host after {:.1} s (the deadline was {:.1} s), with ",
                    self.waited.as_secs_f64(),
                    self.deadline.as_secs_f64()
                ),
                "problem",
                " still there",
            ),
            "- ",
            &self.waiting_for.iter().map(Summary).collect::<Vec<_>>(),
        )?;
        write!(
            f,
            "\nif the host is still coming up, give it longer; the last attempt: {}",
            self.last
        )
    }
}

impl std::error::Error for DeadlineError {}

/// A problem's place and message, without its fix (the last attempt's
/// error below it has the fix).
struct Summary<'a>(&'a Problem);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.network_name(), self.0.endpoint_name()) {
            (Some(n), Some(e)) => write!(f, "{n}.{e}: ")?,
            (Some(n), None) => write!(f, "network {n}: ")?,
            _ => {}
        }
        write!(f, "{}", self.0.kind().message())
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::{Step, Summary, plan_step};
    use crate::plan::{Problem, ProblemKind};
    use crate::{Host, ListenSpec, PlanOptions};

    /// A capture the host's changes kept from holding still is waited
    /// out; one that failed otherwise is not.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_capture_the_host_kept_changing_is_waited_out() {
        use crate::capture::{BadReply, CaptureError};
        let bad = |why| CaptureError::BadReply {
            request: "RTM_GETLINK",
            why,
        };
        assert!(super::is_unsettled(&bad(BadReply::KeptChanging {
            attempts: 3
        })));
        assert!(super::is_unsettled(&bad(BadReply::Overrun)));
        assert!(!super::is_unsettled(&bad(BadReply::Unfinished)));
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!super::is_unsettled(&CaptureError::Interfaces(io)));
    }

    /// Plans `network` (one line, its endpoint added) against `host` as a
    /// waiting bind's attempt does: whether it would wait, with the
    /// errors' variant names.
    fn waits(network: &str, host: &Host, vanished: &[&str]) -> (bool, Vec<String>) {
        let name = network.split_once(' ').unwrap().0;
        let spec: ListenSpec = format!("{network}\n{name}.web = http:0").parse().unwrap();
        let vanished: Vec<IpAddr> = vanished.iter().map(|a| a.parse().unwrap()).collect();
        let errors = match crate::plan_with(&spec, host, PlanOptions::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .errors()
                .iter()
                .map(|p| format!("{:?}", p.kind()))
                .collect(),
        };
        let again = match plan_step(&spec, host, PlanOptions::default(), &vanished) {
            Step::Again(_) => true,
            Step::Ready(_) | Step::Fail(_) => false,
        };
        (again, errors)
    }

    /// An interface with only its link-local address is one waiting for
    /// DHCP or a router advertisement; link-local-only under a selector
    /// that names no interface, and excludes that remove every address,
    /// are not waited for.
    #[test]
    fn only_link_local_on_a_named_interface_is_waited_for_and_nothing_like_it() {
        let host = Host::builder()
            .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
            .interface("eth0", 2, ["fe80::1/64"])
            .interface("eth1", 3, ["2001:db8::1/64"])
            .build()
            .unwrap();
        let cases = [
            ("svc = if:eth0", true, "LinkLocalOnly"),
            ("svc = if:eth0, ipv4", true, "LinkLocalOnly"),
            ("svc = if:e*0", true, "LinkLocalOnly"),
            ("svc = ::/0, !::1, !2001:db8::/32", false, "AllExcluded"),
            ("svc = if:eth1, !2001:db8::/32", false, "AllExcluded"),
        ];
        for (network, waited, why) in cases {
            let (again, errors) = waits(network, &host, &[]);
            assert_eq!(again, waited, "{network}: {errors:?}");
            assert!(
                errors.iter().any(|e| e.contains(why)),
                "{network}: {errors:?}"
            );
        }
        // Only link-local addresses under a block: nothing says one is coming.
        let bare = Host::builder()
            .interface("lo", 1, ["127.0.0.1/8"])
            .interface("eth0", 2, ["fe80::1/64"])
            .build()
            .unwrap();
        let (again, errors) = waits("svc = ::/0", &bare, &[]);
        assert!(!again, "{errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("LinkLocalOnly")),
            "{errors:?}"
        );
    }

    /// An address a bind of this wait saw go away is waited for when a
    /// later plan misses it, as a literal, in a block or a class; one
    /// never seen is a typo or a remote address, final at once.
    #[test]
    fn an_address_that_went_away_is_waited_for_and_only_that_one() {
        let host = Host::builder()
            .interface("lo", 1, ["127.0.0.1/8"])
            .interface("eth0", 2, ["fe80::1/64"])
            .build()
            .unwrap();
        let gone = ["198.51.100.20"];
        let cases = [
            ("svc = 198.51.100.20", &gone[..], true),
            ("svc = 198.51.100.0/24", &gone[..], true),
            ("svc = 198.51.100.20", &[][..], false),
            ("svc = 198.51.100.21", &gone[..], false),
            ("svc = 203.0.113.0/24", &gone[..], false),
        ];
        for (network, vanished, waited) in cases {
            let (again, errors) = waits(network, &host, vanished);
            assert_eq!(again, waited, "{network} after {vanished:?}: {errors:?}");
        }
    }

    /// Each problem waited for is named by where it is, as the plan's own
    /// errors are: the endpoint, or the network when it is the network's.
    #[test]
    fn a_summary_names_the_endpoint_or_the_network_of_its_problem() {
        let (svc, web) = ("svc".parse().unwrap(), "web".parse().unwrap());
        let kind = ProblemKind::UnknownInterface {
            pattern: "late0".to_owned(),
        };
        let message = kind.message();
        let of_endpoint = Problem::endpoint(&svc, &web, kind.clone());
        let of_network = Problem::network(&svc, kind);
        assert_eq!(
            Summary(&of_endpoint).to_string(),
            format!("svc.web: {message}")
        );
        assert_eq!(
            Summary(&of_network).to_string(),
            format!("network svc: {message}")
        );
    }
}
