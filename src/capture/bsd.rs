//! Capture on macOS and the BSDs: one getifaddrs(3).

use ipnet::IpNet;

use super::CaptureError;
use crate::host::Interface;

/// Interfaces by one getifaddrs(3): each one's `AF_LINK` entry gives its
/// index and flags, with or without addresses.
pub(super) fn interfaces() -> Result<Vec<Interface>, CaptureError> {
    use crate::sys::IfEntry;

    /// One interface's entries gathered: its link entry's index and flags,
    /// and its addresses.
    struct Gathered {
        name: String,
        link: Option<(u32, u32)>,
        addrs: Vec<IpNet>,
    }

    let entries = crate::sys::interfaces().map_err(CaptureError::Interfaces)?;
    // Grouped by name, in the order of first appearance, as `ifconfig` lists them.
    let mut gathered: Vec<Gathered> = Vec::new();
    for (name, entry) in entries {
        let n = match gathered.iter().position(|g| g.name == name) {
            Some(n) => n,
            None => {
                gathered.push(Gathered {
                    name,
                    link: None,
                    addrs: Vec::new(),
                });
                gathered.len() - 1
            }
        };
        let g = &mut gathered[n];
        match entry {
            IfEntry::Link { index, flags } => g.link = Some((index, flags)),
            IfEntry::Addr { ip, prefix } => {
                if let Ok(net) = IpNet::new(ip, prefix)
                    && !g.addrs.contains(&net)
                {
                    g.addrs.push(net);
                }
            }
        }
    }
    Ok(gathered
        .into_iter()
        .filter_map(|g| {
            // Without its link entry an interface has no index to bind by.
            let (index, flags) = g.link.filter(|(index, _)| *index != 0)?;
            let on = |bit: libc::c_int| flags & bit as u32 != 0;
            Some(
                Interface::new(g.name, index, true, g.addrs)
                    .with_admin_up(on(libc::IFF_UP))
                    .with_carrier(on(libc::IFF_RUNNING))
                    .with_loopback(on(libc::IFF_LOOPBACK)),
            )
        })
        .collect())
}
