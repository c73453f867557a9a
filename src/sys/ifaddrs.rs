//! getifaddrs(3) read directly, for macOS and the BSDs: one call lists
//! every interface (its `AF_LINK` entry has the index and flags, with or
//! without addresses) and every address. Linux reads rtnetlink instead,
//! which also has the IPv6 address states.

use std::io;

/// What one getifaddrs(3) entry says, read out of its socket addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IfEntry {
    /// The link-layer (`AF_LINK`) entry every interface has, with or
    /// without addresses: its index, and the interface's `IFF_*` flags.
    Link { index: u32, flags: u32 },
    /// An IPv4 or IPv6 address with its prefix length.
    Addr { ip: std::net::IpAddr, prefix: u8 },
}

/// The list getifaddrs(3) returned, freed with freeifaddrs(3) when dropped,
/// however the reading of it ends.
struct IfAddrs(std::ptr::NonNull<libc::ifaddrs>);

impl Drop for IfAddrs {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a successful getifaddrs, and this
        // guard, which is neither cloned nor copied, frees it only here.
        unsafe { libc::freeifaddrs(self.0.as_ptr()) }
    }
}

/// Every entry of getifaddrs(3)
/// (<https://man.freebsd.org/cgi/man.cgi?query=getifaddrs&sektion=3>) with
/// its interface name, in the system's order; entries of other families
/// are left out.
pub(crate) fn interfaces() -> io::Result<Vec<(String, IfEntry)>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a live, writable pointer for the call to fill.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let Some(list) = std::ptr::NonNull::new(head).map(IfAddrs) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut next: *const libc::ifaddrs = list.0.as_ptr();
    while !next.is_null() {
        // SAFETY: `next` is the list's head or an `ifa_next` of it, not
        // null, and `list` keeps every node alive for this borrow.
        let entry = unsafe { &*next };
        next = entry.ifa_next;
        if entry.ifa_name.is_null() {
            continue;
        }
        let Some(addr) = sockaddr_bytes(entry.ifa_addr) else {
            continue;
        };
        let mask = sockaddr_bytes(entry.ifa_netmask).unwrap_or_default();
        let Some(parsed) = if_entry(addr, mask, entry.ifa_flags) else {
            continue;
        };
        // SAFETY: a non-null ifa_name is a NUL-terminated string inside the
        // list, alive as long as `list`; it is copied out.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) };
        out.push((name.to_string_lossy().into_owned(), parsed));
    }
    Ok(out)
}

/// The bytes of a socket address as its `sa_len` gives them (BSD socket
/// addresses carry their length, and netmasks are often shorter than their
/// type); `None` for a null pointer.
fn sockaddr_bytes<'a>(sa: *const libc::sockaddr) -> Option<&'a [u8]> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: a non-null address of a getifaddrs entry points at a sockaddr
    // inside the list, whose first byte is its length.
    let len = usize::from(unsafe { (*sa).sa_len });
    // SAFETY: the kernel wrote `sa_len` bytes of address there, and the
    // caller only borrows them while the list is alive.
    Some(unsafe { std::slice::from_raw_parts(sa.cast::<u8>(), len) })
}

/// One entry from its address and netmask bytes: `sockaddr_dl` keeps the
/// index at bytes 2..4, `sockaddr_in` the address at 4..8, `sockaddr_in6`
/// at 8..24; a netmask is read in its address's family (its own is often
/// left 0), and a short one has zeroes past its end.
fn if_entry(addr: &[u8], mask: &[u8], flags: u32) -> Option<IfEntry> {
    let family = i32::from(*addr.get(1)?);
    let ones = |range: std::ops::Range<usize>| -> u8 {
        let mut n = 0u32;
        for i in range {
            let byte = mask.get(i).copied().unwrap_or(0);
            n += byte.leading_ones();
            if byte != 0xff {
                break;
            }
        }
        // At most 128: the widest mask is 16 bytes.
        n as u8
    };
    match family {
        libc::AF_LINK => {
            let index = u16::from_ne_bytes([*addr.get(2)?, *addr.get(3)?]);
            Some(IfEntry::Link {
                index: u32::from(index),
                flags,
            })
        }
        libc::AF_INET => {
            let b: [u8; 4] = addr.get(4..8)?.try_into().ok()?;
            Some(IfEntry::Addr {
                ip: std::net::Ipv4Addr::from(b).into(),
                prefix: ones(4..8),
            })
        }
        libc::AF_INET6 => {
            let b: [u8; 16] = addr.get(8..24)?.try_into().ok()?;
            Some(IfEntry::Addr {
                ip: std::net::Ipv6Addr::from(b).into(),
                prefix: ones(8..24),
            })
        }
        _ => None,
    }
}
