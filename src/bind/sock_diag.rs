//! sock_diag(7) as bytes, for Linux and Android: the one question the
//! binder asks, which file a Unix socket was bound to (`UNIX_DIAG_VFS`),
//! and the kernel's reply read back. Pure and safe but for the exchange
//! itself, which is `crate::sys`'s; every length here comes from the
//! kernel, so every read is bounds-checked and a reply that does not
//! parse is an error, never a panic. Netlink is in the host's byte order.

use std::io;
use std::os::fd::AsRawFd;

use socket2::Socket;

use crate::capture::netlink::{attrs, i32_at, u16_at, u32_at};
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

/// The file a Unix socket made when it was bound, as sock_diag(7)
/// reports it (`UNIX_DIAG_VFS`): its device, as `stat(2)` gives it, and
/// the low 32 bits of its inode number. The socket keeps that file's
/// inode, so while it lives no other file of its file system takes the
/// number, and a path whose file has another was removed and made again
/// since; another file system may have the same number, so the device
/// counts as much. `None` when the socket has no file (an abstract name).
/// Fails where the kernel has no `unix_diag` (`CONFIG_UNIX_DIAG`), or
/// gives no answer in a second.
pub(crate) fn socket_file(socket: &Socket) -> io::Result<Option<VfsFile>> {
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

/// A socket's file as sock_diag names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VfsFile {
    /// The device, in `stat(2)`'s encoding.
    pub(crate) dev: u64,
    /// The inode number's low 32 bits.
    pub(crate) ino: u32,
}

impl VfsFile {
    /// Whether the file of device `dev` and inode `ino` is this one.
    pub(crate) fn is_at(self, dev: u64, ino: u64) -> bool {
        self.dev == dev && self.ino == ino as u32
    }
}

/// The file in the reply about socket `ino`. Its attributes are walked as
/// rtnetlink's are (`capture::netlink`).
fn vfs_inode(reply: &[u8], ino: u32) -> io::Result<Option<VfsFile>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "sock_diag reply does not parse");
    let head = reply.get(..HEADER).ok_or_else(bad)?;
    let message = reply
        .get(HEADER..u32_at(head, 0) as usize)
        .ok_or_else(bad)?;
    match u16_at(head, 4) {
        NLMSG_ERROR => {
            let code = i32_at(message.get(..4).ok_or_else(bad)?, 0);
            Err(io::Error::from_raw_os_error(
                code.checked_neg().ok_or_else(bad)?,
            ))
        }
        SOCK_DIAG_BY_FAMILY => {
            let fixed = message.get(..UNIX_DIAG_MSG).ok_or_else(bad)?;
            if u32_at(fixed, 4) != ino {
                return Err(bad());
            }
            for attr in attrs(&message[UNIX_DIAG_MSG..], ino) {
                let (kind, data) = attr.map_err(|_| bad())?;
                if kind == UNIX_DIAG_VFS {
                    // unix_diag_vfs: the inode number, then the device in
                    // the kernel's encoding (major above 20 bits of minor).
                    let vfs = data.get(..8).ok_or_else(bad)?;
                    let dev = u32_at(vfs, 4);
                    return Ok(Some(VfsFile {
                        dev: libc::makedev(dev >> 20, dev & 0xf_ffff),
                        ino: u32_at(vfs, 0),
                    }));
                }
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
        assert_eq!(
            vfs_inode(&about(5, &attrs), 5).unwrap(),
            Some(VfsFile { dev: 9, ino: 77 })
        );
        // Major 8, minor 1 (a disk's first partition): 8:1 to stat(2).
        let vfs = [77u32.to_ne_bytes(), ((8u32 << 20) | 1).to_ne_bytes()].concat();
        let file = vfs_inode(&about(5, &attr(UNIX_DIAG_VFS, &vfs)), 5).unwrap();
        assert_eq!(
            file,
            Some(VfsFile {
                dev: libc::makedev(8, 1),
                ino: 77
            })
        );
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
