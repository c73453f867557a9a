//! sock_diag(7) as bytes, for Linux and Android: the one question the
//! binder asks, which file a Unix socket was bound to (`UNIX_DIAG_VFS`),
//! and the kernel's reply read back. Pure and safe but for the exchange
//! itself, which is `crate::sys`'s; every length here comes from the
//! kernel, so every read is bounds-checked and a reply that does not
//! parse is an error, never a panic. Netlink is in the host's byte order.

use std::io;
use std::os::fd::AsRawFd;

use socket2::Socket;

use crate::sys;

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
/// where the kernel has no `unix_diag` (`CONFIG_UNIX_DIAG`), or gives no
/// answer in a second.
pub(crate) fn socket_file(socket: &Socket) -> io::Result<Option<u32>> {
    // The kernel knows sockets by 32-bit inode numbers.
    let ino = sys::inode(socket.as_raw_fd())? as u32;
    let mut reply = Vec::with_capacity(512);
    sys::sock_diag(&request(ino), &mut reply)?;
    vfs_inode(&reply, ino)
}

/// `nlmsghdr` and `unix_diag_req` asking for socket `ino`'s file.
fn request(ino: u32) -> Vec<u8> {
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
    request
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
    fn the_request_says_its_own_length_and_asks_for_the_file() {
        let request = request(7);
        assert_eq!(request.len(), HEADER + UNIX_DIAG_REQ);
        assert_eq!(&request[..4], &(request.len() as u32).to_ne_bytes());
        assert_eq!(&request[24..28], &7u32.to_ne_bytes());
        assert_eq!(&request[28..32], &UDIAG_SHOW_VFS.to_ne_bytes());
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
