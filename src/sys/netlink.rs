//! A NETLINK_ROUTE socket (netlink(7),
//! <https://man7.org/linux/man-pages/man7/netlink.7.html>), for Linux and
//! Android: socket2 opens it; only naming the multicast groups to join needs
//! a raw `sockaddr_nl`. And a sock_diag(7) exchange, whose bytes
//! `bind::sock_diag` makes and reads.

use std::io;

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

/// A close-on-exec `NETLINK_ROUTE` socket, joined to the rtnetlink(7)
/// multicast `groups` (`RTMGRP_*` bits) when they are not 0. Requests are
/// sent to the kernel with a plain `send`: an unconnected netlink socket's
/// destination is the kernel, and the kernel assigns its port id on the
/// first send.
pub(crate) fn route_socket(groups: u32) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(libc::NETLINK_ROUTE)),
    )?;
    if groups != 0 {
        socket.bind(&groups_addr(groups))?;
    }
    Ok(socket)
}

/// `sockaddr_nl` with port id 0 (the kernel picks one) and these groups.
fn groups_addr(groups: u32) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_nl is one of this platform's sockaddr types, and it
    // fits in the storage (view_as asserts so).
    let nl = unsafe { storage.view_as::<libc::sockaddr_nl>() };
    nl.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    nl.nl_groups = groups;
    let len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised sockaddr_nl (all zeroes but
    // the family and groups set above) of exactly `len` bytes.
    unsafe { SockAddr::new(storage, len) }
}

/// One sock_diag(7) exchange: `request` sent on a fresh close-on-exec
/// `NETLINK_SOCK_DIAG` socket, the kernel's one reply datagram read into
/// `reply`. The kernel answers a request at once; a reply that has not come
/// in a second fails (`WouldBlock`), so no caller hangs on one.
pub(crate) fn sock_diag(request: &[u8], reply: &mut Vec<u8>) -> io::Result<usize> {
    let diag = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(libc::NETLINK_SOCK_DIAG)),
    )?;
    diag.set_read_timeout(Some(std::time::Duration::from_secs(1)))?;
    diag.send(request)?;
    recv_datagram(&diag, reply)
}

/// Receives one datagram into `buf`, replacing what it held, by recv(2)
/// (<https://man7.org/linux/man-pages/man2/recv.2.html>) into its spare
/// capacity, which need not be zeroed first; returns its length. A
/// datagram longer than the capacity is cut (the caller checks for a full
/// buffer).
pub(crate) fn recv_datagram(socket: &Socket, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    let n = socket.recv(buf.spare_capacity_mut())?;
    // SAFETY: recv wrote `n` bytes to the start of the spare capacity (it
    // never returns more than the length it was given), so the first `n`
    // bytes of `buf` are initialised.
    unsafe { buf.set_len(n) };
    Ok(n)
}
