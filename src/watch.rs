//! Following the host while serving: after the start-up bind, each change
//! of the host's links and addresses is planned again with the same spec
//! and options, and the sockets the new plan adds are opened, all of them
//! or none, on the ports the endpoints already have.
//!
//! The planner stays pure and so does deciding what a change means
//! (`delta`: old plan, new plan and the bound ports in, sockets to open
//! and close out); only reading the host and opening sockets are I/O.
//!
//! Needs the `watch` feature, which is off by default:
//! `listenspec = { version = "0.1", features = ["watch"] }`. With `tokio`
//! too, [`Watch::next_async`] waits in async code and
//! [`EndpointListener::follower`](crate::serve::EndpointListener::follower)
//! hands each change's sockets to a serving listener.

use foldhash::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::bind::{BoundSocket, ToOpen, open_planned};
use crate::capture::{CaptureError, HostChanges};
use crate::plan::Problem;
use crate::spec::{Ports, QualifiedName};
use crate::{Bound, Error, Host, ListenSpec, Plan, PlanOptions};

/// A watch of the host for one bound spec: [`Watch::next`] waits for a
/// change of the host's addresses and returns the sockets it opened and
/// the ones the server should close.
///
/// A change is planned with the spec and options of the start-up bind, so
/// every planner check holds for it as for the first plan: exposure,
/// address classes, conflicts. A change whose plan has errors is not
/// applied: `next` returns the plan error and the watch keeps the plan it
/// had, less the sockets whose address is no longer where it was planned
/// (gone from its interface, held by another one too, or its interface or
/// `device` made again with a new index): those it closes first, in a
/// change of their own, since the checks that let them open no longer
/// hold, and the next call returns the plan error. A change whose new
/// sockets cannot all be opened is not applied either: what opened is
/// closed, `next` returns the bind error once, and the same change is
/// tried again at each change of the host and each timeout (a port freed
/// or an address done with duplicate address detection says nothing),
/// a refusal that differs returned as it comes. If the change also closes
/// sockets, those are closed first (a change of their own) and the
/// opening is tried again at the next call, for up to a second while the
/// caller drops them (a `Follower`'s listener does at its next accept),
/// since the socket a change closes can be the one holding the port it
/// opens. An endpoint keeps its port: one bound on port 0 or a range
/// opens its new addresses on the port it got, and a socket closed and
/// opened again is opened there too, so a process that takes that port
/// meanwhile refuses the change until it lets go. A socket pinned to its
/// interface (`device`) whose address moved to another interface, or
/// whose interface was made again under the same name, is opened again
/// on the interface index that now holds it.
///
/// On a host that does not change, `next` returns `Ok(None)` at the
/// timeout:
///
/// ```
/// use std::time::Duration;
///
/// let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local; local.web = http:0".parse()?;
/// let (mut bound, mut watch) = listenspec::bind_all_following(&spec)?;
/// let web: Vec<std::net::TcpListener> = bound.take("local", "web")?;
/// // A server thread would loop on this, adding the opened sockets and
/// // closing the closed ones; loopback does not renumber.
/// match watch.next(Duration::from_millis(50))? {
///     None => {}
///     Some(change) => println!("{change}"),
/// }
/// assert_eq!(watch.plan().endpoints().len(), 1);
/// drop(web);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Watch {
    spec: ListenSpec,
    options: PlanOptions,
    /// The plan now applied: the start-up one, then each change's.
    plan: Plan,
    /// The host the plan's sockets are open on: a change asks it where
    /// each socket's address and device were.
    host: Host,
    /// The port each endpoint's IP sockets share, as bound.
    ports: HashMap<QualifiedName, u16>,
    /// `None` where the OS sends no notifications: poll.
    changes: Option<HostChanges>,
    /// The last change was refused at binding: try it again at a timeout
    /// too, since whether an address binds can change with no notification
    /// (Linux announces an IPv4 address before the route bind(2) checks).
    /// A change refused by the plan waits for the host to change.
    bind_refused: bool,
    /// The last bind refusal returned: the same again is not returned
    /// again, at a timeout or a change of the host.
    reported: Option<String>,
    /// The plan error of a change whose closes went out first, as a
    /// change of their own: the next call returns it.
    refusal: Option<Error>,
    /// The last change closed sockets before opening any: open the rest
    /// at the next call, without waiting for the host.
    open_now: bool,
    /// The last read of the host failed after its notifications were
    /// spent: read it again at the next timeout, even if nothing changes.
    read_failed: bool,
    /// A read of the host is under way in `next_async`. Still set at the
    /// next call (of either kind), the call that started it was dropped
    /// (a `select!` took another branch) and the notifications that
    /// called for it are spent: read the host at once.
    reading: bool,
    /// When that change went out and the addresses it closed: until the
    /// caller has dropped those sockets (a `Follower`'s listener does at its
    /// next accept), the opening finds them in use and is tried again
    /// every [`CLOSE_RETRY`], for [`CLOSE_GRACE`], before it is refused.
    /// After the grace, a refusal on those addresses names them.
    closing: Option<(Instant, Vec<(QualifiedName, SocketAddr)>)>,
}

/// How long the sockets a change closes first may take to close.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How often the opening after them is tried meanwhile.
const CLOSE_RETRY: Duration = Duration::from_millis(10);

impl Watch {
    /// Captures, plans with `options` and binds, as
    /// [`crate::bind_all`] does, and returns the sockets with a watch of
    /// the host for them.
    ///
    /// It subscribes to the host's changes before capturing, so a change
    /// between the capture and the first [`Watch::next`] is not missed.
    pub fn bind(spec: &ListenSpec, options: PlanOptions) -> Result<(Bound, Watch), Error> {
        // Where there are no notifications, or the socket cannot be had, poll.
        let changes = HostChanges::subscribe().ok().flatten();
        let host = crate::capture(spec)?;
        let plan = crate::plan_with(spec, &host, options)?;
        let bound = plan.bind()?;
        let ports = bound
            .endpoints()
            .iter()
            .filter_map(|ep| Some((ep.qualified(), ep.port()?)))
            .collect();
        let watch = Watch {
            spec: spec.clone(),
            options,
            plan,
            host,
            ports,
            changes,
            bind_refused: false,
            reported: None,
            refusal: None,
            open_now: false,
            read_failed: false,
            reading: false,
            closing: None,
        };
        Ok((bound, watch))
    }

    /// The plan now applied.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Waits up to `timeout` for a change of the host that changes the
    /// sockets, and applies it: `Ok(Some(change))` with the sockets opened
    /// (the caller serves them) and the addresses closed (the caller drops
    /// its sockets there, before adding the opened ones), `Ok(None)` when
    /// none came in time. A change the watch refuses is an error, and the
    /// watch keeps its sockets but those no longer where they were planned,
    /// which the call before closed; call `next` again to go on following.
    ///
    /// Each call looks at the host at least once: `next(Duration::ZERO)`
    /// applies a change already announced without waiting for one. A
    /// failed read of the host is returned, and the host read again at
    /// the next timeout.
    ///
    /// Where the OS sends no notifications (all but Linux), the host is
    /// read every [`crate::wait::POLL_INTERVAL`].
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Change>, Error> {
        let start = Instant::now();
        loop {
            if let Some(e) = self.refusal.take() {
                return Err(e);
            }
            let left = timeout.saturating_sub(start.elapsed());
            let wait = self.wait(left);
            // Nothing changed: a refused change is not refused again. A
            // zero `timeout` still looks once, without waiting.
            if self.open_now
                || self.reading
                || crate::wait::pause(&mut self.changes, wait)
                || self.retrying()
            {
                let host = self.captured(crate::capture(&self.spec))?;
                if let Some(change) = self.apply(host)? {
                    return Ok(Some(change));
                }
            }
            if timeout <= start.elapsed() {
                return Ok(None);
            }
        }
    }

    /// [`Watch::next`] for async code: the waits run on tokio's blocking
    /// threads and DNS lookups as in
    /// [`capture_async`](crate::capture::capture_async), so the runtime's
    /// own threads are never blocked. Needs the `tokio` feature.
    ///
    /// A runtime shutting down waits for a blocking task under way, so
    /// keep `timeout` short (a second, say) and call it in a loop: a
    /// server then stops within that time.
    ///
    /// Dropped while it waits, it loses the subscription to the host's
    /// notifications, and the watch reads the host every
    /// [`crate::wait::POLL_INTERVAL`] from then on. Dropped while it reads
    /// the host for a change (a `select!` took another branch), the next
    /// call reads it at once, so the change is not lost.
    #[cfg(feature = "tokio")]
    pub async fn next_async(&mut self, timeout: Duration) -> Result<Option<Change>, Error> {
        let start = Instant::now();
        let options = crate::capture::CaptureOptions::default();
        loop {
            if let Some(e) = self.refusal.take() {
                return Err(e);
            }
            let left = timeout.saturating_sub(start.elapsed());
            if !self.open_now && !self.reading {
                let mut changes = self.changes.take();
                let wait = self.wait(left);
                let waited = tokio::task::spawn_blocking(move || {
                    let changed = crate::wait::pause(&mut changes, wait);
                    (changes, changed)
                })
                .await;
                // A blocking task fails only when the runtime is shutting
                // down or the wait panicked: either way, poll from here on.
                let (changes, changed) = waited.unwrap_or((None, true));
                self.changes = changes;
                // Nothing changed: a refused change is not refused again.
                // A zero `timeout` still looks once.
                if !changed && !self.retrying() {
                    if timeout <= start.elapsed() {
                        return Ok(None);
                    }
                    continue;
                }
            }
            self.reading = true;
            let host = self.captured(crate::capture::capture_async(&self.spec, &options).await)?;
            if let Some(change) = self.apply(host)? {
                return Ok(Some(change));
            }
            if timeout <= start.elapsed() {
                return Ok(None);
            }
        }
    }

    /// A read of the host; one that failed is tried again at the next
    /// timeout, since the notifications that called for it are spent.
    fn captured(&mut self, host: Result<Host, CaptureError>) -> Result<Host, Error> {
        self.reading = false;
        self.read_failed = host.is_err();
        Ok(host?)
    }

    /// How long to wait for the host before trying again: while sockets
    /// closed first may still be open, a moment; else what is `left`.
    fn wait(&self, left: Duration) -> Duration {
        if self.in_grace() {
            left.min(CLOSE_RETRY)
        } else {
            left
        }
    }

    /// Whether to plan and open again though the host did not change.
    fn retrying(&self) -> bool {
        self.bind_refused || self.read_failed || self.closing.is_some()
    }

    /// Whether sockets closed first may still be on their way out.
    fn in_grace(&self) -> bool {
        self.closing
            .as_ref()
            .is_some_and(|(since, _)| since.elapsed() < CLOSE_GRACE)
    }

    /// Plans against `host` and, when the sockets change, opens the new
    /// ones; the watch moves to the new plan only when all of them opened.
    /// A refused plan, or a refused opening of a change that also closes,
    /// makes a change of the closes alone.
    fn apply(&mut self, host: Host) -> Result<Option<Change>, Error> {
        self.open_now = false;
        self.bind_refused = false;
        let reported = self.reported.take();
        let closing = self.closing.take();
        let mut gone = displaced(&self.plan, &self.host, &host);
        let plan = match crate::plan_with(&self.spec, &host, self.options) {
            Ok(plan) => plan,
            Err(e) => {
                self.keep_plan_on(host);
                if gone.is_empty() {
                    return Err(e.into());
                }
                self.refusal = Some(e.into());
                return Ok(Some(self.close(&gone)));
            }
        };
        for moved in unselected(&self.plan, &self.host, &plan, &host) {
            if !gone.contains(&moved) {
                gone.push(moved);
            }
        }
        let plan = keep_pins(&self.plan, &self.host, plan, &host, &gone);
        let Delta { open, close } = delta(&self.plan, &self.host, &plan, &host, &self.ports, &gone);
        if open.is_empty() && close.is_empty() {
            // Warnings or advertised URLs may differ; the sockets do not.
            self.plan = plan;
            self.host = host;
            return Ok(None);
        }
        let sockets = match open_planned(&plan, &open, &mut crate::bind::System) {
            Ok(sockets) => sockets,
            Err(_) if !close.is_empty() => {
                // The rest is opened at the next call, after these close.
                self.keep_plan_on(host);
                self.open_now = true;
                let change = self.close(&close);
                self.closing = Some((Instant::now(), change.closed().to_vec()));
                return Ok(Some(change));
            }
            Err(e) => {
                let in_use_by_closed = |closed: &[(QualifiedName, SocketAddr)]| {
                    e.failures().iter().all(|f| {
                        f.addr()
                            .is_some_and(|a| closed.iter().any(|(_, c)| *c == a))
                            && f.os_error().map(std::io::Error::kind)
                                == Some(std::io::ErrorKind::AddrInUse)
                    })
                };
                let e = match &closing {
                    Some((since, closed))
                        if since.elapsed() < CLOSE_GRACE && in_use_by_closed(closed) =>
                    {
                        self.closing = closing;
                        return Ok(None);
                    }
                    Some((_, closed)) => e.blame_closed(closed),
                    None => e,
                };
                self.closing = closing;
                self.bind_refused = true;
                let text = e.to_string();
                let again = reported.as_ref() == Some(&text);
                self.reported = Some(text);
                return if again { Ok(None) } else { Err(e.into()) };
            }
        };
        for (name, s) in &sockets {
            self.ports
                .entry(name.clone())
                .or_insert(s.local_addr().port());
        }
        let opened = sockets
            .iter()
            .map(|(n, s)| (n.clone(), s.local_addr()))
            .collect();
        self.plan = plan;
        self.host = host;
        Ok(Some(Change {
            plan: self.plan.clone(),
            opened,
            sockets,
            closed: bound_on(close, &self.ports),
        }))
    }

    /// Moves the watch to `host` with the plan it has, each pinned socket
    /// under its interface's name there: found by index, so a later change
    /// does not take a renamed interface for one gone.
    fn keep_plan_on(&mut self, host: Host) {
        self.plan = keep_pins(&self.plan, &self.host, self.plan.clone(), &host, &[]);
        self.host = host;
    }

    /// A change that closes the sockets `gone` (planned addresses) and
    /// opens none; the watch's plan goes on without them.
    fn close(&mut self, gone: &[(QualifiedName, SocketAddr)]) -> Change {
        self.plan = self.plan.without(gone);
        Change {
            plan: self.plan.clone(),
            opened: Vec::new(),
            sockets: Vec::new(),
            closed: bound_on(gone.to_vec(), &self.ports),
        }
    }
}

/// The planned addresses `planned` on the ports their endpoints are bound
/// on.
fn bound_on(
    mut planned: Vec<(QualifiedName, SocketAddr)>,
    ports: &HashMap<QualifiedName, u16>,
) -> Vec<(QualifiedName, SocketAddr)> {
    for (name, addr) in &mut planned {
        if let Some(&p) = ports.get(name) {
            addr.set_port(p);
        }
    }
    planned
}

/// One applied change of the host: the new plan, the sockets it opened and
/// the addresses whose sockets the server should close.
///
/// `Display` writes `+ network.name ADDR` for each socket opened and
/// `- network.name ADDR` for each to close, a line each, real ports and all.
#[derive(Debug)]
pub struct Change {
    plan: Plan,
    opened: Vec<(QualifiedName, SocketAddr)>,
    sockets: Vec<(QualifiedName, BoundSocket)>,
    closed: Vec<(QualifiedName, SocketAddr)>,
}

impl Change {
    /// The plan now applied.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    /// The new plan's warnings, for the server to show as at start-up.
    pub fn warnings(&self) -> &[Problem] {
        self.plan.warnings()
    }
    /// Each socket this change opened: its endpoint and real address.
    pub fn opened(&self) -> &[(QualifiedName, SocketAddr)] {
        &self.opened
    }
    /// Each socket to close: its endpoint and the real address it was
    /// bound on. Close them before adding the opened ones: a socket opened
    /// again on its interface has the address of the one it replaces.
    pub fn closed(&self) -> &[(QualifiedName, SocketAddr)] {
        &self.closed
    }
    /// Moves out the opened sockets of the endpoint `network.name` (empty
    /// when it has none, or they were taken already).
    pub fn take(&mut self, network: &str, name: &str) -> Vec<BoundSocket> {
        let (mine, rest) = std::mem::take(&mut self.sockets)
            .into_iter()
            .partition(|(n, _)| n.network() == network && n.endpoint() == name);
        self.sockets = rest;
        mine.into_iter().map(|(_, s)| s).collect()
    }
    /// Moves out every opened socket not taken yet, with its endpoint.
    pub fn into_sockets(self) -> Vec<(QualifiedName, BoundSocket)> {
        self.sockets
    }
    /// The opened sockets not taken yet, for an upgrader to copy.
    #[cfg(all(unix, feature = "handoff"))]
    pub(crate) fn sockets(&self) -> &[(QualifiedName, BoundSocket)] {
        &self.sockets
    }
    /// A change of these parts, for tests of what follows changes.
    #[cfg(all(test, unix))]
    pub(crate) fn of(
        plan: Plan,
        sockets: Vec<(QualifiedName, BoundSocket)>,
        closed: Vec<(QualifiedName, SocketAddr)>,
    ) -> Change {
        Change {
            plan,
            opened: sockets
                .iter()
                .map(|(n, s)| (n.clone(), s.local_addr()))
                .collect(),
            sockets,
            closed,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self
            .opened
            .iter()
            .map(|s| ('+', s))
            .chain(self.closed.iter().map(|s| ('-', s)));
        for (i, (mark, (name, addr))) in lines.enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{mark} {name} {addr}")?;
        }
        Ok(())
    }
}

/// What a change means for the sockets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Delta {
    /// The new plan's sockets the old one does not have, and those it
    /// opens again on their interface.
    pub(crate) open: Vec<ToOpen>,
    /// The old plan's sockets the new one does not have, and those it
    /// opens again: endpoint and planned address.
    pub(crate) close: Vec<(QualifiedName, SocketAddr)>,
}

/// The sockets to open and close going from `old` (planned on `old_host`)
/// to `new` (on `new_host`), with `ports` the port each endpoint is bound
/// on and `gone` the old plan's [`displaced`] sockets. Pure.
///
/// An endpoint's planned sockets carry the spec's port (0, or a range's
/// first), the same in both plans, so comparing planned sockets compares
/// addresses; the bound port goes on afterwards. An endpoint without a
/// bound port (it had no IP socket until now) opens on the spec's: the
/// fixed port, the first of a range, or 0. A socket both plans have is
/// opened again when it is pinned to an interface (`device`) and the new
/// plan pins it to another interface index: its address moved, or its
/// interface was made again. The new socket, pinned to another index than
/// the old one, does not conflict with it.
pub(crate) fn delta(
    old: &Plan,
    old_host: &Host,
    new: &Plan,
    new_host: &Host,
    ports: &HashMap<QualifiedName, u16>,
    gone: &[(QualifiedName, SocketAddr)],
) -> Delta {
    let diff = new.diff(old);
    let eps = new.endpoints();
    let to_open = |name: &QualifiedName, addr: SocketAddr| {
        let endpoint = eps.iter().position(|e| e.qualified() == *name)?;
        let ep = &eps[endpoint];
        let bind = ep.binds().iter().position(|b| b.addr() == addr)?;
        let port = ports
            .get(name)
            .copied()
            .unwrap_or_else(|| ep.ports().map_or(0, Ports::first));
        Some(ToOpen {
            endpoint,
            bind,
            port,
        })
    };
    let mut open: Vec<ToOpen> = diff
        .opened()
        .iter()
        .filter_map(|s| to_open(s.endpoint(), s.addr()))
        .collect();
    let mut close: Vec<(QualifiedName, SocketAddr)> = diff
        .closed()
        .iter()
        .map(|s| (s.endpoint().clone(), s.addr()))
        .collect();
    for &(ref name, addr) in gone {
        // The interface index the socket is pinned to in a plan, if it is.
        let pinned = |plan: &Plan, host: &Host| {
            let ep = plan.endpoint(name.network().as_str(), name.endpoint().as_str())?;
            let device = ep.binds().iter().find(|b| b.addr() == addr)?.device()?;
            Some(host.interface(device).map(crate::host::Interface::index))
        };
        let (was, now) = (pinned(old, old_host), pinned(new, new_host));
        // The same spec: pinned in both plans or in neither.
        if was.is_some()
            && was != now
            && !close.contains(&(name.clone(), addr))
            && let Some(again) = to_open(name, addr)
        {
            open.push(again);
            close.push((name.clone(), addr));
        }
    }
    Delta { open, close }
}

/// `new` (planned on `new_host`) with each socket `old` pins to an
/// interface (planned on `old_host`) and that is still in place pinned
/// where it is, under its interface's name now: a fresh plan pins an
/// address held by two interfaces to the first, which may not be the one
/// the open socket is pinned to. The plan applied says where the sockets
/// are, so a later change judges them right; `gone` are the old plan's
/// [`displaced`] sockets. Pure.
fn keep_pins(
    old: &Plan,
    old_host: &Host,
    mut new: Plan,
    new_host: &Host,
    gone: &[(QualifiedName, SocketAddr)],
) -> Plan {
    for (name, b, now) in pinned_now(old, old_host, new_host) {
        if !gone.contains(&(name.clone(), b.addr())) {
            new.pinned_as(&name, b, now.name());
        }
    }
    new
}

/// The sockets `old` pins to an interface (planned on `old_host`) that
/// `new` (planned on `new_host`) pins to another, where the interface
/// holding the socket now is not one the network's selector names: an
/// `if:eth0` socket on the interface once called eth0, where another
/// interface is called eth0 now. [`keep_pins`] keeps the others where they
/// are; these move. Pure.
fn unselected(
    old: &Plan,
    old_host: &Host,
    new: &Plan,
    new_host: &Host,
) -> Vec<(QualifiedName, SocketAddr)> {
    pinned_now(old, old_host, new_host)
        .filter(|(name, b, now)| {
            let fresh = new.endpoint(name.network().as_str(), name.endpoint().as_str());
            let chosen = fresh
                .and_then(|f| f.binds().iter().find(|f| f.addr() == b.addr()))
                .filter(|f| f.device().is_some_and(|d| d != now.name()));
            chosen.is_some_and(|chosen| match chosen.why() {
                crate::plan::Why::Matched {
                    selector: crate::spec::Selector::Interface(pattern),
                    ..
                } => !pattern.matches(now.name()),
                _ => false,
            })
        })
        .map(|(name, b, _)| (name, b.addr()))
        .collect()
}

/// Each socket `plan` pins to an interface (planned on `old`), with that
/// interface on `new`, found by its index, whatever its name there; a
/// socket whose interface `new` lacks is left out.
fn pinned_now<'a>(
    plan: &'a Plan,
    old: &'a Host,
    new: &'a Host,
) -> impl Iterator<
    Item = (
        QualifiedName,
        &'a crate::plan::Bind,
        &'a crate::host::Interface,
    ),
> + 'a {
    plan.endpoints().iter().flat_map(move |ep| {
        let name = ep.qualified();
        ep.binds().iter().filter_map(move |b| {
            let index = old.interface(b.device()?)?.index();
            Some((name.clone(), b, new.interface_by_index(index)?))
        })
    })
}

/// The IP sockets of `plan`, opened on `old`, whose address is not where
/// it was on `new`: the interface that held it (by name and index) no
/// longer does, or another holds it too. A socket pinned to its interface
/// (`device`) takes only what arrives on that interface's index, whatever
/// it is called now and whoever else holds the address: it is displaced
/// when that index is gone or no longer holds its address. A wildcard
/// without a device is never displaced.
fn displaced(plan: &Plan, old: &Host, new: &Host) -> Vec<(QualifiedName, SocketAddr)> {
    let same = |name: &str| match (old.interface(name), new.interface(name)) {
        (Some(a), Some(b)) => a.index() == b.index(),
        _ => false,
    };
    let holds = |i: &crate::host::Interface, ip| i.addrs().iter().any(|n| n.addr() == ip);
    let in_place = |b: &crate::plan::Bind| {
        let ip = b.addr().ip();
        if let Some(device) = b.device() {
            let index = old.interface(device).map(crate::host::Interface::index);
            return index
                .and_then(|index| new.interface_by_index(index))
                .is_some_and(|i| b.interface().is_none() || holds(i, ip));
        }
        let Some(name) = b.interface() else {
            return true;
        };
        // A link-local address is the one on the link of its scope.
        let scope = match b.addr() {
            SocketAddr::V6(a) => a.scope_id(),
            SocketAddr::V4(_) => 0,
        };
        let mut holders = new
            .interfaces()
            .iter()
            .filter(|i| (scope == 0 || i.index() == scope) && holds(i, ip));
        same(name) && holders.next().is_some_and(|i| i.name() == name) && holders.next().is_none()
    };
    plan.endpoints()
        .iter()
        .flat_map(|ep| {
            ep.binds()
                .iter()
                .filter(|b| !in_place(b))
                .map(move |b| (ep.qualified(), b.addr()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTHING: Delta = Delta {
        open: Vec::new(),
        close: Vec::new(),
    };

    fn host(addrs: &[&str]) -> Host {
        Host::builder()
            .interface("eth0", 2, addrs.iter().copied())
            .build()
            .unwrap()
    }

    fn plan(spec: &ListenSpec, addrs: &[&str]) -> (Plan, Host) {
        planned(spec, host(addrs))
    }

    fn planned(spec: &ListenSpec, host: Host) -> (Plan, Host) {
        (spec.plan(&host).unwrap(), host)
    }

    fn change(
        old: &(Plan, Host),
        new: &(Plan, Host),
        ports: &HashMap<QualifiedName, u16>,
    ) -> Delta {
        let gone = displaced(&old.0, &old.1, &new.1);
        let Delta { open, close } = delta(&old.0, &old.1, &new.0, &new.1, ports, &gone);
        Delta {
            open,
            close: bound_on(close, ports),
        }
    }

    fn name(n: &str, e: &str) -> QualifiedName {
        QualifiedName::new(n.parse().unwrap(), e.parse().unwrap())
    }

    #[test]
    fn an_added_address_opens_on_the_bound_port_and_a_removed_one_closes_there() {
        let spec: ListenSpec = "svc = if:eth0; svc.web = http:0".parse().unwrap();
        let one = plan(&spec, &["198.51.100.1/24"]);
        let two = plan(&spec, &["198.51.100.1/24", "198.51.100.2/24"]);
        let ports = HashMap::from_iter([(name("svc", "web"), 41000)]);

        let added = change(&one, &two, &ports);
        assert!(added.close.is_empty());
        let [open] = added.open[..] else {
            panic!("{added:?}")
        };
        assert_eq!(open.port, 41000);
        let bind = &two.0.endpoints()[open.endpoint].binds()[open.bind];
        assert_eq!(bind.addr().ip().to_string(), "198.51.100.2");

        let removed = change(&two, &one, &ports);
        assert!(removed.open.is_empty());
        assert_eq!(
            removed.close,
            vec![(name("svc", "web"), "198.51.100.2:41000".parse().unwrap())]
        );
        assert_eq!(change(&two, &two, &ports), NOTHING);
    }

    #[test]
    fn a_renumbering_opens_the_new_address_and_closes_the_old_on_a_fixed_port() {
        let spec: ListenSpec = "svc = if:eth0; svc.web = http:8080".parse().unwrap();
        let old = plan(&spec, &["203.0.113.5/24"]);
        let new = plan(&spec, &["203.0.113.6/24"]);
        let ports = HashMap::from_iter([(name("svc", "web"), 8080)]);
        let d = change(&old, &new, &ports);
        assert_eq!(d.open.len(), 1);
        assert_eq!(d.open[0].port, 8080);
        assert_eq!(
            d.close,
            vec![(name("svc", "web"), "203.0.113.5:8080".parse().unwrap())]
        );
    }

    #[test]
    fn an_endpoint_without_a_bound_port_opens_on_the_first_of_its_range() {
        let spec: ListenSpec = "svc = if:eth0; svc.web = http:9000-9009".parse().unwrap();
        let old = plan(&spec, &["203.0.113.5/24"]);
        let new = plan(&spec, &["203.0.113.5/24", "203.0.113.7/24"]);
        let d = change(&old, &new, &HashMap::default());
        assert_eq!(d.open.len(), 1);
        assert_eq!(d.open[0].port, 9000);
    }

    /// `svc` on `if:eth1` (index `index`, holding `svc_addr`) beside
    /// `eth0` holding `other`.
    fn two_links(index: u32, svc_addr: &[&str], other: &[&str]) -> Host {
        Host::builder()
            .interface("eth0", 2, other.iter().copied())
            .interface("eth1", index, svc_addr.iter().copied())
            .build()
            .unwrap()
    }

    #[test]
    fn a_pinned_socket_whose_interface_is_made_again_opens_again_on_the_new_one() {
        let spec: ListenSpec = "svc = 198.51.100.0/24; svc.web = http:8080 device"
            .parse()
            .unwrap();
        let old_host = two_links(3, &["198.51.100.1/24"], &[]);
        let old = (spec.plan(&old_host).unwrap(), old_host);
        let ports = HashMap::from_iter([(name("svc", "web"), 8080)]);
        let addr: SocketAddr = "198.51.100.1:8080".parse().unwrap();

        // The same name, a new index: the socket is pinned to the old one.
        let again = planned(&spec, two_links(9, &["198.51.100.1/24"], &[]));
        let d = change(&old, &again, &ports);
        assert_eq!(d.close, [(name("svc", "web"), addr)]);
        let [open] = d.open[..] else { panic!("{d:?}") };
        assert_eq!(open.port, 8080);
        let bind = &again.0.endpoints()[open.endpoint].binds()[open.bind];
        assert_eq!((bind.addr(), bind.device()), (addr, Some("eth1")));

        // Moved to eth0: pinned there now.
        let moved = planned(&spec, two_links(3, &[], &["198.51.100.1/24"]));
        let d = change(&old, &moved, &ports);
        assert_eq!(d.close, [(name("svc", "web"), addr)]);
        let bind = &moved.0.endpoints()[d.open[0].endpoint].binds()[d.open[0].bind];
        assert_eq!(bind.device(), Some("eth0"));

        // Unchanged: nothing to do.
        let same = (old.0.clone(), old.1.clone());
        assert_eq!(change(&old, &same, &ports), NOTHING);
    }

    #[test]
    fn an_unpinned_socket_stays_open_when_its_address_moves_in_a_plan_that_keeps_it() {
        let spec: ListenSpec = "svc = 198.51.100.0/24 expose=public; svc.web = http:8080"
            .parse()
            .unwrap();
        let old_host = two_links(3, &["198.51.100.1/24"], &[]);
        let old = (spec.plan(&old_host).unwrap(), old_host);
        let moved = planned(&spec, two_links(3, &[], &["198.51.100.1/24"]));
        // Bound by address, it takes the address on any interface.
        let d = change(&old, &moved, &HashMap::default());
        assert_eq!(d, NOTHING);
    }

    #[test]
    fn a_socket_is_displaced_when_its_address_leaves_its_interface_by_name_and_index() {
        let spec: ListenSpec = "svc = 198.51.100.0/24 expose=public; svc.web = http:8080; \
                                any = * expose=public; any.web = http:9090"
            .parse()
            .unwrap();
        let old_host = two_links(3, &["198.51.100.1/24"], &["203.0.113.1/24"]);
        let plan = spec.plan(&old_host).unwrap();
        let web = (name("svc", "web"), "198.51.100.1:8080".parse().unwrap());
        let cases: [(&str, Host, bool); 5] = [
            ("unchanged", old_host.clone(), false),
            (
                "moved",
                two_links(3, &[], &["198.51.100.1/24", "203.0.113.1/24"]),
                true,
            ),
            (
                "held twice",
                two_links(3, &["198.51.100.1/24"], &["198.51.100.1/24"]),
                true,
            ),
            (
                "made again",
                two_links(7, &["198.51.100.1/24"], &["203.0.113.1/24"]),
                true,
            ),
            ("gone", two_links(3, &[], &["203.0.113.1/24"]), true),
        ];
        for (what, new, gone) in cases {
            // The wildcards stay whatever the host does.
            let expected = if gone { vec![web.clone()] } else { Vec::new() };
            assert_eq!(displaced(&plan, &old_host, &new), expected, "{what}");
        }
        let renamed = Host::builder()
            .interface("eth0", 2, ["203.0.113.1/24"])
            .interface("pub1", 3, ["198.51.100.1/24"])
            .build()
            .unwrap();
        assert_eq!(displaced(&plan, &old_host, &renamed), [web], "renamed");
    }

    #[test]
    fn a_pinned_socket_still_on_its_interface_index_is_not_opened_again() {
        let spec: ListenSpec = "svc = if:eth1 expose=private; svc.web = http:8080 device"
            .parse()
            .unwrap();
        let ports = HashMap::from_iter([(name("svc", "web"), 8080)]);
        let old = planned(
            &spec,
            two_links(3, &["198.51.100.1/24"], &["203.0.113.1/24"]),
        );
        // Its address on another link too: the pinned socket takes it on
        // its own alone, as before.
        let twice = planned(
            &spec,
            two_links(
                3,
                &["198.51.100.1/24"],
                &["203.0.113.1/24", "198.51.100.1/24"],
            ),
        );
        assert_eq!(change(&old, &twice, &ports), NOTHING, "held twice");
        let later = planned(
            &spec,
            two_links(
                3,
                &["198.51.100.1/24"],
                &["203.0.113.1/24", "203.0.113.2/24", "198.51.100.1/24"],
            ),
        );
        assert_eq!(
            change(&twice, &later, &ports),
            NOTHING,
            "an unrelated change"
        );

        // Renamed, the same index: SO_BINDTODEVICE holds the index.
        let spec: ListenSpec = "svc = 198.51.100.0/24 expose=private; svc.web = http:8080 device"
            .parse()
            .unwrap();
        let old = planned(&spec, two_links(3, &["198.51.100.1/24"], &[]));
        let renamed = Host::builder()
            .interface("eth0", 2, std::iter::empty::<&str>())
            .interface("ops9", 3, ["198.51.100.1/24"])
            .build()
            .unwrap();
        let renamed = planned(&spec, renamed);
        assert_eq!(change(&old, &renamed, &ports), NOTHING, "renamed");
    }

    #[test]
    fn a_pinned_socket_stays_in_place_while_its_interface_index_holds_its_address() {
        let pinned: ListenSpec = "svc = 198.51.100.0/24 expose=public; svc.web = http:8080 device"
            .parse()
            .unwrap();
        let unpinned: ListenSpec = "svc = 198.51.100.0/24 expose=public; svc.web = http:8080"
            .parse()
            .unwrap();
        let web = (name("svc", "web"), "198.51.100.1:8080".parse().unwrap());
        let old_host = two_links(3, &["198.51.100.1/24"], &[]);
        let twice = two_links(3, &["198.51.100.1/24"], &["198.51.100.1/24"]);
        let plan = pinned.plan(&old_host).unwrap();
        assert_eq!(displaced(&plan, &old_host, &old_host), [], "unchanged");
        // Held by eth0 too: packets for it there never reach the pinned
        // socket, but do reach a socket bound by address alone.
        assert_eq!(
            displaced(&plan, &old_host, &twice),
            [],
            "held twice, pinned"
        );
        let plan = unpinned.plan(&old_host).unwrap();
        assert_eq!(
            displaced(&plan, &old_host, &twice),
            std::slice::from_ref(&web),
            "held twice"
        );
        // Gone from its interface: displaced either way.
        let moved = two_links(3, &[], &["198.51.100.1/24"]);
        let plan = pinned.plan(&old_host).unwrap();
        assert_eq!(displaced(&plan, &old_host, &moved), [web], "moved, pinned");
    }

    #[test]
    fn a_link_local_socket_is_judged_on_the_link_of_its_scope_alone() {
        let spec: ListenSpec = "svc = fe80::1%eth1; svc.web = http:8080".parse().unwrap();
        let old_host = two_links(3, &["fe80::1/64"], &[]);
        let plan = spec.plan(&old_host).unwrap();
        // Every link has its own fe80::/10: eth0 taking the same address
        // is another address, on another link.
        let both = two_links(3, &["fe80::1/64"], &["fe80::1/64"]);
        assert_eq!(displaced(&plan, &old_host, &both), []);
        let gone = two_links(3, &[], &["fe80::1/64"]);
        assert_eq!(displaced(&plan, &old_host, &gone).len(), 1);
    }
}
