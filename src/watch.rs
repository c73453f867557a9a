//! Following the host while serving: after the start-up bind, each change
//! of the host's links and addresses is planned again with the same spec
//! and options, and the sockets the new plan adds are opened, all of them
//! or none, on the ports the endpoints already have.
//!
//! The planner stays pure and so does deciding what a change means
//! (`delta`: old plan, new plan and the bound ports in, sockets to open
//! and close out); only reading the host and opening sockets are I/O.

use foldhash::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::bind::{BoundSocket, ToOpen, open_planned};
use crate::capture::HostChanges;
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
/// had. A change whose new sockets cannot all be opened is not applied
/// either: what opened is closed, `next` returns the bind error, and the
/// same change is tried again at the next change of the host. An endpoint
/// keeps its port: one bound on port 0 or a range opens its new addresses
/// on the port it got.
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
    /// The port each endpoint's IP sockets share, as bound.
    ports: HashMap<QualifiedName, u16>,
    /// `None` where the OS sends no notifications: poll.
    changes: Option<HostChanges>,
    /// The last change was refused at binding: try it again at a timeout
    /// too, since whether an address binds can change with no notification
    /// (Linux announces an IPv4 address before the route bind(2) checks).
    /// A change refused by the plan waits for the host to change.
    bind_refused: bool,
}

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
            ports,
            changes,
            bind_refused: false,
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
    /// its sockets there), `Ok(None)` when none came in time. A change the
    /// watch refuses is an error, and the watch keeps its sockets; call
    /// `next` again to go on following.
    ///
    /// Where the OS sends no notifications (all but Linux), the host is
    /// read every [`crate::wait::POLL_INTERVAL`].
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Change>, Error> {
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Ok(None);
            }
            // Nothing changed: a refused change is not refused again.
            if !crate::wait::pause(&mut self.changes, left) && !self.bind_refused {
                continue;
            }
            let host = crate::capture(&self.spec)?;
            if let Some(change) = self.apply(&host)? {
                return Ok(Some(change));
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
    /// [`crate::wait::POLL_INTERVAL`] from then on.
    #[cfg(feature = "tokio")]
    pub async fn next_async(&mut self, timeout: Duration) -> Result<Option<Change>, Error> {
        let start = Instant::now();
        let options = crate::capture::CaptureOptions::default();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Ok(None);
            }
            let mut changes = self.changes.take();
            let waited = tokio::task::spawn_blocking(move || {
                let changed = crate::wait::pause(&mut changes, left);
                (changes, changed)
            })
            .await;
            // A blocking task fails only when the runtime is shutting down
            // or the wait panicked: either way, poll from here on.
            let (changes, changed) = waited.unwrap_or((None, true));
            self.changes = changes;
            // Nothing changed: a refused change is not refused again.
            if !changed && !self.bind_refused {
                continue;
            }
            let host = crate::capture::capture_async(&self.spec, &options).await?;
            if let Some(change) = self.apply(&host)? {
                return Ok(Some(change));
            }
        }
    }

    /// Plans against `host` and, when the sockets change, opens the new
    /// ones; the watch moves to the new plan only when all of them opened.
    fn apply(&mut self, host: &Host) -> Result<Option<Change>, Error> {
        self.bind_refused = false;
        let plan = crate::plan_with(&self.spec, host, self.options)?;
        let Delta { open, close } = delta(&self.plan, &plan, &self.ports);
        if open.is_empty() && close.is_empty() {
            // Warnings or advertised URLs may differ; the sockets do not.
            self.plan = plan;
            return Ok(None);
        }
        let sockets = open_planned(&plan, &open, &mut crate::bind::System);
        self.bind_refused = sockets.is_err();
        let sockets = sockets?;
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
        Ok(Some(Change {
            plan: self.plan.clone(),
            opened,
            sockets,
            closed: close,
        }))
    }
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
    /// bound on.
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
    #[cfg(unix)]
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
    /// The new plan's sockets the old one does not have.
    pub(crate) open: Vec<ToOpen>,
    /// The old plan's sockets the new one does not have, on their bound
    /// ports.
    pub(crate) close: Vec<(QualifiedName, SocketAddr)>,
}

/// The sockets to open and close going from `old` to `new`, with `ports`
/// the port each endpoint is bound on. Pure.
///
/// An endpoint's planned sockets carry the spec's port (0, or a range's
/// first), the same in both plans, so comparing planned sockets compares
/// addresses; the bound port goes on afterwards. An endpoint without a
/// bound port (it had no IP socket until now) opens on the spec's: the
/// fixed port, the first of a range, or 0.
pub(crate) fn delta(old: &Plan, new: &Plan, ports: &HashMap<QualifiedName, u16>) -> Delta {
    let diff = new.diff(old);
    let eps = new.endpoints();
    let open = diff
        .opened()
        .iter()
        .filter_map(|s| {
            let endpoint = eps.iter().position(|e| e.qualified() == *s.endpoint())?;
            let ep = &eps[endpoint];
            let bind = ep.binds().iter().position(|b| b.addr() == s.addr())?;
            let port = ports
                .get(s.endpoint())
                .copied()
                .unwrap_or_else(|| ep.ports().map_or(0, Ports::first));
            Some(ToOpen {
                endpoint,
                bind,
                port,
            })
        })
        .collect();
    let close = diff
        .closed()
        .iter()
        .map(|s| {
            let mut addr = s.addr();
            if let Some(&p) = ports.get(s.endpoint()) {
                addr.set_port(p);
            }
            (s.endpoint().clone(), addr)
        })
        .collect();
    Delta { open, close }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(spec: &ListenSpec, addrs: &[&str]) -> Plan {
        let host = Host::builder()
            .interface("eth0", 2, addrs.iter().copied())
            .build()
            .unwrap();
        spec.plan(&host).unwrap()
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

        let added = delta(&one, &two, &ports);
        assert!(added.close.is_empty());
        let [open] = added.open[..] else {
            panic!("{added:?}")
        };
        assert_eq!(open.port, 41000);
        let bind = &two.endpoints()[open.endpoint].binds()[open.bind];
        assert_eq!(bind.addr().ip().to_string(), "198.51.100.2");

        let removed = delta(&two, &one, &ports);
        assert!(removed.open.is_empty());
        assert_eq!(
            removed.close,
            vec![(name("svc", "web"), "198.51.100.2:41000".parse().unwrap())]
        );
        assert_eq!(
            delta(&two, &two, &ports),
            Delta {
                open: Vec::new(),
                close: Vec::new()
            }
        );
    }

    #[test]
    fn a_renumbering_opens_the_new_address_and_closes_the_old_on_a_fixed_port() {
        let spec: ListenSpec = "svc = if:eth0; svc.web = http:8080".parse().unwrap();
        let old = plan(&spec, &["203.0.113.5/24"]);
        let new = plan(&spec, &["203.0.113.6/24"]);
        let ports = HashMap::from_iter([(name("svc", "web"), 8080)]);
        let d = delta(&old, &new, &ports);
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
        let d = delta(&old, &new, &HashMap::default());
        assert_eq!(d.open.len(), 1);
        assert_eq!(d.open[0].port, 9000);
    }
}
