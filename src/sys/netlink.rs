//! A NETLINK_ROUTE socket (netlink(7),
//! <https://man7.org/linux/man-pages/man7/netlink.7.html>), for Linux and
//! Android: socket2 opens it; only naming the multicast groups to join needs
//! a raw `sockaddr_nl`. And one sock_diag(7) question: which file a Unix
//! socket was bound to.

use std::io;
use std::os::fd::AsRawFd;

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

/// sock_diag(7)'s numbers, from `linux/sock_diag.h` and `linux/unix_diag.h`.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const UDIAG_SHOW_VFS: u32 = 0x2;
const UNIX_DIAG_VFS: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
/// `struct nlmsghdr`, `struct unix_diag_req` and `struct unix_diag_msg`.
const HEADER: usize = 16;
const UNIX_DIAG_REQ: usize = 24;
const UNIX_DIAG_MSG: usize = 16;

/// The inode number of the file a Unix socket made when it was bound, as
/// sock_diag(7) reports it (`UNIX_DIAG_VFS`, its low 32 bits): the socket
/// keeps that file's inode, so while it lives no other file takes the
/// number, and a path whose file has another was removed and made again
/// since. `None` when the socket has no file (an abstract name). Fails
/// where the kernel has no `unix_diag` (`CONFIG_UNIX_DIAG`).
pub(crate) fn unix_socket_file(socket: &Socket) -> io::Result<Option<u32>> {
    // The kernel knows sockets by 32-bit inode numbers.
    let ino = super::inode(socket.as_raw_fd())? as u32;
    let diag = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(libc::NETLINK_SOCK_DIAG)),
    )?;
    // The kernel answers at once; a start-up never hangs on it if not.
    diag.set_read_timeout(Some(std::time::Duration::from_secs(1)))?;
    let mut request = Vec::with_capacity(HEADER + UNIX_DIAG_REQ);
    request.extend_from_slice(&((HEADER + UNIX_DIAG_REQ) as u32).to_ne_bytes());
    request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    // unix_diag_req: family, protocol, padding; every state; this inode;
    // show the file; no cookie (both halves all ones).
    request.extend_from_slice(&[libc::AF_UNIX as u8, 0, 0, 0]);
    request.extend_from_slice(&u32::MAX.to_ne_bytes());
    request.extend_from_slice(&ino.to_ne_bytes());
    request.extend_from_slice(&UDIAG_SHOW_VFS.to_ne_bytes());
    request.extend_from_slice(&[0xff; 8]);
    diag.send(&request)?;
    let mut buf = Vec::with_capacity(512);
    recv_datagram(&diag, &mut buf)?;
    vfs_inode(&buf, ino)
}

/// The file's inode number in the reply about socket `ino`.
fn vfs_inode(reply: &[u8], ino: u32) -> io::Result<Option<u32>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "sock_diag reply does not parse");
    let u16_at = |b: &[u8], at: usize| b.get(at..at + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let u32_at = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let len = u32_at(reply, 0).ok_or_else(bad)? as usize;
    let message = reply.get(HEADER..len).ok_or_else(bad)?;
    match u16_at(reply, 4).ok_or_else(bad)? {
        NLMSG_ERROR => {
            let code = u32_at(message, 0).ok_or_else(bad)? as i32;
            Err(io::Error::from_raw_os_error(
                code.checked_neg().ok_or_else(bad)?,
            ))
        }
        SOCK_DIAG_BY_FAMILY if u32_at(message, 4) == Some(ino) => {
            let mut attrs = message.get(UNIX_DIAG_MSG..).ok_or_else(bad)?;
            while let (Some(attr_len), Some(kind)) = (u16_at(attrs, 0), u16_at(attrs, 2)) {
                let attr = attrs.get(4..usize::from(attr_len)).ok_or_else(bad)?;
                if kind == UNIX_DIAG_VFS {
                    // unix_diag_vfs: the inode number, then the device.
                    return u32_at(attr, 0).map(Some).ok_or_else(bad);
                }
                let next = (usize::from(attr_len) + 3) & !3;
                attrs = attrs.get(next..).unwrap_or_default();
            }
            Ok(None)
        }
        _ => Err(bad()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply as the kernel sends it: `nlmsghdr`, then `body`.
    fn reply(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = ((HEADER + body.len()) as u32).to_ne_bytes().to_vec();
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&[0; 10]);
        out.extend_from_slice(body);
        out
    }

    /// `unix_diag_msg` about socket `ino`, then `attrs`.
    fn about(ino: u32, attrs: &[u8]) -> Vec<u8> {
        let mut body = vec![1, 1, 10, 0];
        body.extend_from_slice(&ino.to_ne_bytes());
        body.extend_from_slice(&[0xff; 8]);
        body.extend_from_slice(attrs);
        reply(SOCK_DIAG_BY_FAMILY, &body)
    }

    fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = ((4 + data.len()) as u16).to_ne_bytes().to_vec();
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(data);
        out.resize((out.len() + 3) & !3, 0);
        out
    }

    #[test]
    fn the_file_inode_is_read_past_other_attributes() {
        let vfs = [77u32.to_ne_bytes(), 9u32.to_ne_bytes()].concat();
        let attrs = [attr(3, &[1, 2, 3]), attr(UNIX_DIAG_VFS, &vfs)].concat();
        assert_eq!(vfs_inode(&about(5, &attrs), 5).unwrap(), Some(77));
        // No file: an abstract name.
        assert_eq!(vfs_inode(&about(5, &attr(3, &[0; 4])), 5).unwrap(), None);
    }

    #[test]
    fn a_refusal_is_its_errno_and_a_broken_reply_an_error() {
        let refused = reply(NLMSG_ERROR, &(-libc::ENOENT).to_ne_bytes());
        assert_eq!(
            vfs_inode(&refused, 5).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        let vfs = [77u32.to_ne_bytes(), 9u32.to_ne_bytes()].concat();
        let good = about(5, &attr(UNIX_DIAG_VFS, &vfs));
        for broken in [
            good[..good.len() - 1].to_vec(),
            about(6, &attr(UNIX_DIAG_VFS, &vfs)),
            about(5, &[0, 0, 1, 0]),
            about(5, &attr(UNIX_DIAG_VFS, &[1, 2])),
            reply(NLMSG_ERROR, &[1]),
            reply(NLMSG_ERROR, &i32::MIN.to_ne_bytes()),
            vec![0; 3],
        ] {
            let err = vfs_inode(&broken, 5).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{broken:?}");
        }
    }
}
