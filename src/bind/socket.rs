//! Every socket syscall the crate makes, in one place.
//!
//! Each call links its man page. Sockets are created close-on-exec (socket2
//! passes `SOCK_CLOEXEC` on Linux) and blocking; nothing here changes that.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

#[cfg(unix)]
use super::error::UnixError;
#[cfg(unix)]
use super::unix::SocketFile;
#[cfg(unix)]
use crate::plan::UnixBind;
use crate::plan::{Bind, PlannedEndpoint};
use crate::spec::Transport;

/// The listen backlog when an endpoint sets none; the kernel clamps it to
/// `net.core.somaxconn`.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Opens one socket for one planned address: the seam tests use to make the
/// k-th bind fail.
pub(crate) trait Open {
    /// Creates, configures and binds (and for TCP, listens on) a socket.
    fn open(&mut self, ep: &PlannedEndpoint, bind: &Bind, port: u16) -> io::Result<Socket>;

    /// Makes the endpoint's Unix socket (listening, for a stream) and the
    /// guard of the file it made: see `bind/unix.rs`.
    #[cfg(unix)]
    fn open_unix(
        &mut self,
        ep: &PlannedEndpoint,
        unix: &UnixBind,
    ) -> Result<(Socket, Option<SocketFile>), UnixError> {
        super::unix::open(ep, unix)
    }
}

/// The real thing.
pub(crate) struct System;

impl Open for System {
    fn open(&mut self, ep: &PlannedEndpoint, bind: &Bind, port: u16) -> io::Result<Socket> {
        let mut addr = bind.addr();
        addr.set_port(port);
        let transport = ep.transport();
        let (ty, proto) = match transport {
            Transport::Tcp => (Type::STREAM, Protocol::TCP),
            Transport::Udp => (Type::DGRAM, Protocol::UDP),
            Transport::UnixStream | Transport::UnixDatagram => {
                return Err(io::Error::other("a Unix socket has no IP address"));
            }
        };
        // socket(2): https://man7.org/linux/man-pages/man2/socket.2.html
        let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
        let o = ep.options();
        if cfg!(unix) && transport == Transport::Tcp {
            // SO_REUSEADDR, as std sets it on Unix: a restarted server can bind
            // while old connections sit in TIME_WAIT. Not on UDP, where it
            // would let another socket share the port. socket(7).
            //
            // Not on Windows either, as std does not set it there: Windows
            // needs nothing to bind over TIME_WAIT, and its SO_REUSEADDR
            // means taking a port another socket holds (Windows lets the
            // same user's bind share it, refuses another user's with
            // WSAEACCES), so a taken port would not be AddrInUse and a range
            // would not move past it. Nor SO_EXCLUSIVEADDRUSE, which can keep
            // a restarted server off its port while the connections of the
            // last run close (libuv leaves it off for that reason).
            socket.set_reuse_address(true)?;
        }
        if o.reuseport {
            reuse_port(&socket)?;
        }
        if addr.is_ipv6() {
            // IPV6_V6ONLY, always set explicitly so `[::]` means the same on
            // every OS: ipv6(7).
            socket.set_only_v6(o.v6only.unwrap_or(true))?;
        }
        if let Some(dev) = bind.device() {
            bind_device(&socket, dev)?;
        }
        if o.freebind {
            freebind(&socket, addr)?;
        }
        // bind(2): https://man7.org/linux/man-pages/man2/bind.2.html
        socket.bind(&SockAddr::from(addr))?;
        if transport == Transport::Tcp {
            let backlog = o.backlog.unwrap_or(DEFAULT_BACKLOG);
            // listen(2): https://man7.org/linux/man-pages/man2/listen.2.html
            socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        }
        Ok(socket)
    }
}

/// SO_REUSEPORT: socket(7), https://man7.org/linux/man-pages/man7/socket.7.html
/// (BSDs and macOS have it too).
#[cfg(all(
    unix,
    not(any(
        target_os = "solaris",
        target_os = "illumos",
        target_os = "cygwin",
        target_os = "nuttx",
        target_os = "wasi"
    ))
))]
fn reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

/// The planner refuses `reuseport` for a host whose OS lacks it; this is
/// for a plan made against another OS's snapshot and bound here.
#[cfg(not(all(
    unix,
    not(any(
        target_os = "solaris",
        target_os = "illumos",
        target_os = "cygwin",
        target_os = "nuttx",
        target_os = "wasi"
    ))
)))]
fn reuse_port(_: &Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "reuseport (SO_REUSEPORT) does not exist on this OS",
    ))
}

/// SO_BINDTODEVICE: socket(7), https://man7.org/linux/man-pages/man7/socket.7.html
#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_device(socket: &Socket, dev: &str) -> io::Result<()> {
    socket.bind_device(Some(dev.as_bytes()))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_device(_: &Socket, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "device= (SO_BINDTODEVICE) exists on Linux only",
    ))
}

/// IP_FREEBIND / IPV6_FREEBIND: ip(7), https://man7.org/linux/man-pages/man7/ip.7.html
#[cfg(any(target_os = "linux", target_os = "android"))]
fn freebind(socket: &Socket, addr: SocketAddr) -> io::Result<()> {
    match addr {
        SocketAddr::V4(_) => socket.set_freebind_v4(true),
        SocketAddr::V6(_) => socket.set_freebind_v6(true),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn freebind(_: &Socket, _: SocketAddr) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "freebind (IP_FREEBIND) exists on Linux only",
    ))
}
