//! Waiting for the host at start-up: capture, plan and bind again until
//! the problems that time can fix are gone (an interface that is missing,
//! down or without carrier, a named interface without its address yet, a
//! tentative address), or a deadline passes.
//!
//! This is the edge where waiting happens; the planner stays pure. Each
//! attempt is an ordinary capture, plan and bind, so waiting never changes
//! what a plan may bind: it only tries the same spec again later.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::bind::{ActivationError, BindError, BindFailure, Inherited, take_from_env};
use crate::capture::HostChanges;
use crate::plan::{Problem, ProblemKind};
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
/// on an address the plan called tentative) is tried again when the kernel
/// reports a change of links or addresses (Linux), or every
/// [`POLL_INTERVAL`] elsewhere. Any other error ends the wait at once.
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
        self.run(spec, |host, plan| Step::Ready((host, plan)))
    }

    /// Waits until the spec plans and binds on this host.
    pub fn bind(&self, spec: &ListenSpec) -> Result<Bound, Error> {
        Ok(self.bind_planned(spec)?.2)
    }

    /// [`Wait::bind`], with the host and the plan the sockets were bound
    /// from, for a caller that shows them (the doctor does).
    pub fn bind_planned(&self, spec: &ListenSpec) -> Result<(Host, Plan, Bound), Error> {
        let inherited = take_inherited()?;
        self.run(spec, |host, plan| {
            bind_step(&plan, &inherited).map(|bound| (host, plan, bound))
        })
    }

    /// Captures and plans until `finish` (given each plan) is done, fails
    /// for good, or the deadline passes.
    fn run<T>(
        &self,
        spec: &ListenSpec,
        mut finish: impl FnMut(Host, Plan) -> Step<T>,
    ) -> Result<T, Error> {
        let start = Instant::now();
        // Subscribed before the first capture, so a change between the
        // capture and the wait is not missed. Where there are no
        // notifications, or the socket cannot be had, poll.
        let mut changes = HostChanges::subscribe().ok().flatten();
        loop {
            let host = crate::capture(spec)?;
            let step = match plan_step(spec, &host, self.options) {
                Step::Ready(plan) => finish(host, plan),
                Step::Fail(e) => Step::Fail(e),
                Step::Again(again) => Step::Again(again),
            };
            match step {
                Step::Ready(done) => return Ok(done),
                Step::Fail(e) => return Err(e),
                Step::Again(again) => pause(&mut changes, self.left(start, again)?),
            }
        }
    }

    /// The time left, or the deadline's error when none is.
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
        Ok(self.deadline - waited)
    }

    /// [`Wait::bind`] for async code: DNS lookups run on the caller's
    /// runtime, and the waits between attempts on tokio's blocking threads,
    /// so the runtime's own threads are never blocked. Needs the `tokio`
    /// feature.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spec = "local = loopback expose=local; local.web = http:0".parse()?;
    /// let wait = listenspec::wait::Wait::up_to(Duration::from_secs(5));
    /// let mut bound = wait.bind_async(&spec).await?;
    /// let listener = bound.listener("local", "web")?;
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
        loop {
            let host = crate::capture::capture_async(spec, &capture_options).await?;
            let step = match plan_step(spec, &host, self.options) {
                Step::Ready(plan) => bind_step(&plan, &inherited),
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
/// on a system without them (or once they fail) [`POLL_INTERVAL`].
pub(crate) fn pause(changes: &mut Option<HostChanges>, left: Duration) {
    if let Some(c) = changes {
        match c.wait(left) {
            Ok(_) => return,
            // The subscription broke (a sandbox, say); polling still works.
            Err(_) => *changes = None,
        }
    }
    std::thread::sleep(left.min(POLL_INTERVAL));
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
}

/// Plans against one capture: a plan error is waited out only when time
/// may fix every one of its errors.
fn plan_step(spec: &ListenSpec, host: &Host, options: PlanOptions) -> Step<Plan> {
    match crate::plan_with(spec, host, options) {
        Ok(plan) => Step::Ready(plan),
        Err(e) if e.errors().iter().all(|p| p.kind().time_may_fix()) => Step::Again(Again {
            waiting_for: e.errors().to_vec(),
            error: Error::Plan(e),
        }),
        Err(e) => Step::Fail(Error::Plan(e)),
    }
}

/// Binds a plan, handing over a duplicate of each inherited socket so the
/// originals are still there for the next attempt.
fn bind_step(plan: &Plan, inherited: &[Inherited]) -> Step<Bound> {
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
        Err(e) => match tentative_failures(plan, &e) {
            Some(waiting_for) => Step::Again(Again {
                waiting_for,
                error: Error::Bind(e),
            }),
            None => Step::Fail(Error::Bind(e)),
        },
    }
}

/// When every failure is `EADDRNOTAVAIL` on an address the plan warned is
/// tentative, those warnings: duplicate address detection will end, and
/// the bind may then succeed. Otherwise `None`: time will not fix it.
fn tentative_failures(plan: &Plan, e: &BindError) -> Option<Vec<Problem>> {
    let tentative = |ip: IpAddr| {
        plan.warnings()
            .iter()
            .find(|w| matches!(w.kind(), ProblemKind::Tentative { ip: t, .. } if *t == ip))
    };
    let mut waiting_for: Vec<Problem> = Vec::new();
    for f in e.failures() {
        let unavailable =
            f.os_error().map(io::Error::kind) == Some(io::ErrorKind::AddrNotAvailable);
        let warning = f
            .addr()
            .and_then(|a| tentative(a.ip()))
            .filter(|_| unavailable)?;
        if !waiting_for.contains(warning) {
            waiting_for.push(warning.clone());
        }
    }
    (!waiting_for.is_empty()).then_some(waiting_for)
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
#[derive(Debug)]
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
    /// or the tentative addresses a bind was refused on.
    pub fn waiting_for(&self) -> &[Problem] {
        &self.waiting_for
    }
    /// The last attempt's error, as [`crate::bind_all`] would have returned it.
    pub fn last(&self) -> &Error {
        &self.last
    }
}

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
    use super::Summary;
    use crate::plan::{Problem, ProblemKind};

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
