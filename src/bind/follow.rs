//! Opening the sockets one change of a watched host adds: the same opening
//! as a start-up bind, for chosen binds of a plan on chosen ports, all or
//! none.

use crate::bind::error::{BindError, BindFailure, Cause};
use crate::bind::socket::Open;
use crate::bind::{BoundSocket, into_listener};
use crate::plan::Plan;
use crate::spec::QualifiedName;

/// One socket a change opens: endpoint `endpoint` of the new plan, its bind
/// `bind`, on `port` (0: the OS picks, and every later socket of that
/// endpoint in the same change takes the port it picked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ToOpen {
    pub(crate) endpoint: usize,
    pub(crate) bind: usize,
    pub(crate) port: u16,
}

/// Opens every socket of `wanted`, each tried even after one fails so the
/// error lists every failure; on any failure every socket opened here is
/// closed (dropped) and none is returned.
pub(crate) fn open_planned(
    plan: &Plan,
    wanted: &[ToOpen],
    opener: &mut dyn Open,
) -> Result<Vec<(QualifiedName, BoundSocket)>, BindError> {
    let eps = plan.endpoints();
    let mut opened: Vec<(QualifiedName, BoundSocket)> = Vec::with_capacity(wanted.len());
    let mut failures = Vec::new();
    // Ports the OS picked for an endpoint asked on port 0, by endpoint.
    let mut picked: Vec<(usize, u16)> = Vec::new();
    for w in wanted {
        // The indices come from this plan, so both are there.
        let Some(ep) = eps.get(w.endpoint) else {
            continue;
        };
        let Some(b) = ep.binds().get(w.bind) else {
            continue;
        };
        let port = match w.port {
            0 => picked
                .iter()
                .find(|(i, _)| *i == w.endpoint)
                .map_or(0, |&(_, p)| p),
            p => p,
        };
        let mut addr = b.addr();
        addr.set_port(port);
        let socket = opener.open(ep, b, port).and_then(|s| {
            let local = match port {
                // Only port 0 needs asking which port the OS chose.
                0 => s
                    .local_addr()?
                    .as_socket()
                    .ok_or_else(|| std::io::Error::other("bound socket has no IP address"))?,
                _ => addr,
            };
            Ok((s, local))
        });
        match socket {
            Ok((s, local)) => {
                if port == 0 {
                    picked.push((w.endpoint, local.port()));
                }
                opened.push((
                    ep.qualified(),
                    BoundSocket {
                        listener: into_listener(s, ep.transport()),
                        local_addr: local,
                        inherited: None,
                        planned: ep.shared_binds(),
                        bind: w.bind,
                    },
                ));
            }
            Err(e) => failures.push(BindFailure::new(
                ep,
                addr,
                Cause::os(e, (None, None), ep, addr),
            )),
        }
    }
    if failures.is_empty() {
        Ok(opened)
    } else {
        // Dropping `opened` closes what this change opened.
        Err(BindError::new(failures))
    }
}
