//! The machine, behind one door: every raw libc call of the crate and every
//! `unsafe` block is here, and nowhere else (`unsafe_code` is denied
//! everywhere but this module).
//!
//! Each function is a safe wrapper around one call (but `spawn`, whose
//! fork-to-exec is one unit, as it says), links its man page, and
//! returns `io::Result` (or a value that cannot fail); each `unsafe` block is
//! the call alone, with a `SAFETY:` line naming what the code around it
//! ensures. socket2's calls are safe already and stay where they are used.
//!
//! Only Unix has anything here: on other systems the crate makes no raw call.
//! `netlink` is Linux's and Android's route socket, `ifaddrs` the getifaddrs(3)
//! of macOS and the BSDs.

// `netlink` is declared outside the chain because cargo-mutants looks for
// modules only outside macros, and Linux's is the one its run can test.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod netlink;
cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        pub(crate) use netlink::{recv_datagram, route_socket, sock_diag};
    } else if #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))] {
        mod ifaddrs;
        pub(crate) use ifaddrs::{IfEntry, interfaces};
    }
}
#[cfg(unix)]
mod dir;
#[cfg(all(unix, feature = "handoff"))]
mod spawn;
#[cfg(unix)]
mod unix;

#[cfg(unix)]
pub(crate) use dir::{Along, Dir, FileStat, push_names};

#[cfg(all(unix, feature = "handoff"))]
pub(crate) use spawn::{kill_and_reap, send_with_fds, spawn_with_sockets, try_wait};
#[cfg(all(any(target_os = "linux", target_os = "android"), feature = "handoff"))]
pub(crate) use spawn::{pass_credentials, recv_with_sender};
#[cfg(unix)]
pub(crate) use unix::*;
