//! What changes between two plans of one spec: the IP sockets a new plan
//! opens and the ones it no longer has, so a watcher of the host can say
//! what a renumbering means for the sockets.

use std::fmt;
use std::net::SocketAddr;

use crate::plan::Plan;
use crate::spec::{QualifiedName, Transport};

/// One planned IP socket: its endpoint, transport and address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlannedSocket {
    endpoint: QualifiedName,
    transport: Transport,
    addr: SocketAddr,
}

impl PlannedSocket {
    /// The endpoint, `network.name`.
    pub fn endpoint(&self) -> &QualifiedName {
        &self.endpoint
    }
    /// TCP or UDP.
    pub fn transport(&self) -> Transport {
        self.transport
    }
    /// The planned address (port 0 or a range's first port as planned).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl fmt::Display for PlannedSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.endpoint, self.transport, self.addr)
    }
}

/// The IP sockets one plan has and another does not, both ways. A Unix
/// socket's path does not depend on the host's addresses, so only IP
/// sockets are compared.
///
/// ```
/// use listenspec::{Host, ListenSpec};
///
/// let spec: ListenSpec = "svc = if:eth0; svc.web = http:8080".parse()?;
/// let before = Host::builder().interface("eth0", 2, ["203.0.113.5/24"]).build()?;
/// let after = Host::builder().interface("eth0", 2, ["203.0.113.6/24"]).build()?;
/// let diff = spec.plan(&after)?.diff(&spec.plan(&before)?);
/// assert_eq!(diff.to_string(), "+ svc.web tcp 203.0.113.6:8080\n- svc.web tcp 203.0.113.5:8080");
/// assert!(spec.plan(&after)?.diff(&spec.plan(&after)?).is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanDiff {
    opened: Vec<PlannedSocket>,
    closed: Vec<PlannedSocket>,
}

impl PlanDiff {
    /// The sockets the new plan has and the old one does not, sorted.
    pub fn opened(&self) -> &[PlannedSocket] {
        &self.opened
    }
    /// The sockets the old plan has and the new one does not, sorted.
    pub fn closed(&self) -> &[PlannedSocket] {
        &self.closed
    }
    /// Whether the plans have the same IP sockets.
    pub fn is_empty(&self) -> bool {
        self.opened.is_empty() && self.closed.is_empty()
    }
}

impl fmt::Display for PlanDiff {
    /// `+ ` before each socket opened, `- ` before each closed, a line each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self
            .opened
            .iter()
            .map(|s| ('+', s))
            .chain(self.closed.iter().map(|s| ('-', s)));
        for (i, (mark, s)) in lines.enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{mark} {s}")?;
        }
        Ok(())
    }
}

impl Plan {
    /// What changes from `old` to this plan: the IP sockets opened and
    /// closed. Pure: the plans are compared as data.
    pub fn diff(&self, old: &Plan) -> PlanDiff {
        let new = sockets(self);
        let old = sockets(old);
        PlanDiff {
            opened: missing_from(&new, &old),
            closed: missing_from(&old, &new),
        }
    }
}

/// Every IP socket of a plan, sorted: a plan's sockets are unique, and
/// sorted they are found by binary search, so a diff is `n log n`.
fn sockets(plan: &Plan) -> Vec<PlannedSocket> {
    let mut all: Vec<PlannedSocket> = plan
        .endpoints()
        .iter()
        .flat_map(|ep| {
            ep.binds().iter().map(move |b| PlannedSocket {
                endpoint: ep.qualified(),
                transport: ep.transport(),
                addr: b.addr(),
            })
        })
        .collect();
    all.sort();
    all
}

/// The sockets of `these` that `others` lacks, in order; both sorted.
fn missing_from(these: &[PlannedSocket], others: &[PlannedSocket]) -> Vec<PlannedSocket> {
    these
        .iter()
        .filter(|s| others.binary_search(s).is_err())
        .cloned()
        .collect()
}
