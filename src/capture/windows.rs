//! Capture on Windows, and on any other OS without a reader of its own:
//! the `if-addrs` crate.

use ipnet::IpNet;

use super::CaptureError;
use crate::host::Interface;

/// Interfaces through `if-addrs`, on systems without a reader of their own
/// (Windows): only interfaces with an address, and only operational state.
pub(super) fn interfaces() -> Result<Vec<Interface>, CaptureError> {
    use std::net::IpAddr;

    use if_addrs::IfOperStatus;

    let raw = if_addrs::get_if_addrs().map_err(CaptureError::Interfaces)?;
    let mut grouped: Vec<(String, Option<u32>, bool, Vec<IpNet>)> = Vec::new();
    for entry in raw {
        let (ip, prefix) = match &entry.addr {
            if_addrs::IfAddr::V4(a) => (IpAddr::V4(a.ip), a.prefixlen),
            if_addrs::IfAddr::V6(a) => (IpAddr::V6(a.ip), a.prefixlen),
        };
        let Ok(net) = IpNet::new(ip, prefix) else {
            continue;
        };
        // Windows reports the real RFC 2863 state; Testing and Dormant still
        // pass traffic in some form, so only the down states count as down.
        let up = !matches!(
            entry.oper_status,
            IfOperStatus::Down | IfOperStatus::NotPresent | IfOperStatus::LowerLayerDown
        );
        // Windows numbers an interface once, for both families, and each
        // entry carries the number of its family: an IPv6 entry may come
        // without one (Wine's do), so the interface's is any entry's.
        match grouped.iter_mut().find(|g| g.0 == entry.name) {
            Some(g) => {
                g.1 = g.1.or(entry.index);
                if !g.3.contains(&net) {
                    g.3.push(net);
                }
            }
            None => grouped.push((entry.name, entry.index, up, vec![net])),
        }
    }
    // No number on any entry (0) means the interface vanished after the
    // read; Host forbids index 0, and a gone interface cannot be bound.
    Ok(grouped
        .into_iter()
        .filter_map(|(name, index, up, addrs)| Some(Interface::new(name, index?, up, addrs)))
        .collect())
}
