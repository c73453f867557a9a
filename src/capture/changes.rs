//! Waiting for the host to change: the kernel's notifications that a link or
//! an address came, went or changed state, so that a caller waiting for an
//! interface or an address captures again when something happened instead
//! of on a timer.

use std::io;
use std::time::Duration;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::time::Instant;

/// A subscription to the kernel's notifications of interface and address
/// changes: on Linux, the rtnetlink(7) groups `RTMGRP_LINK`,
/// `RTMGRP_IPV4_IFADDR` and `RTMGRP_IPV6_IFADDR`. Other systems have none
/// that listenspec reads, and [`HostChanges::subscribe`] says so; a caller
/// there captures again on a timer.
///
/// A notification says only that something changed: capture again to see
/// what. Changes made before the subscription are not reported, so
/// subscribe first, then capture, then wait.
///
/// ```
/// use std::time::Duration;
/// use listenspec::capture::HostChanges;
///
/// match HostChanges::subscribe()? {
///     // Nothing changes this host's interfaces in the next 10 ms, most likely.
///     Some(mut changes) => {
///         let _changed: bool = changes.wait(Duration::from_millis(10))?;
///     }
///     // This OS has no notifications: poll.
///     None => {}
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct HostChanges {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket: socket2::Socket,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    buf: Vec<u8>,
    /// Nowhere else can one be made.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    never: std::convert::Infallible,
}

/// `RTMGRP_*` of linux/rtnetlink.h.
#[cfg(any(target_os = "linux", target_os = "android"))]
const GROUPS: u32 = 0x1 /* LINK */ | 0x10 /* IPV4_IFADDR */ | 0x100 /* IPV6_IFADDR */;

impl HostChanges {
    /// Subscribes to the notifications; `Ok(None)` on a system without them
    /// (all but Linux and Android). Fails when the socket cannot be opened
    /// (out of file descriptors, or netlink denied by a sandbox).
    pub fn subscribe() -> io::Result<Option<HostChanges>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let socket = crate::sys::route_socket(GROUPS)?;
            // Waiting is poll's; reading only drains what is queued.
            socket.set_nonblocking(true)?;
            Ok(Some(HostChanges {
                socket,
                buf: Vec::with_capacity(64 * 1024),
            }))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Ok(None)
    }

    /// Waits up to `timeout` for a change: `true` when at least one came
    /// (everything queued by then is read, so the next wait is for a later
    /// change), `false` when the time passed without one. A signal does not
    /// cut the wait short. A notification the kernel could not queue
    /// (`ENOBUFS`: too many at once) still counts as a change.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::fd::AsFd;

            let start = Instant::now();
            loop {
                let left = timeout.saturating_sub(start.elapsed());
                match crate::sys::wait_readable(self.socket.as_fd(), left) {
                    Ok(true) => return self.drain(),
                    Ok(false) => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = timeout;
            match self.never {}
        }
    }

    /// Reads every queued notification; true when there was one.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn drain(&mut self) -> io::Result<bool> {
        let mut any = false;
        loop {
            match crate::sys::recv_datagram(&self.socket, &mut self.buf) {
                Ok(_) => any = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(any),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => any = true,
                Err(e) => return Err(e),
            }
        }
    }
}
