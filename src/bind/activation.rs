//! systemd socket activation: sockets the service manager bound for us.
//!
//! The protocol is `sd_listen_fds(3)`
//! (<https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html>):
//! `LISTEN_PID` names the process the sockets are for, `LISTEN_FDS` counts
//! them from fd 3, `LISTEN_FDNAMES` names them, colon-separated. The
//! environment is only read, never changed: removing the variables, as C
//! code does, is unsound in a multi-threaded Rust program.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Socket, Type};

use crate::spec::Transport;

/// The first inherited descriptor, `SD_LISTEN_FDS_START`.
const FIRST_FD: i32 = 3;

/// One socket the service manager passed in.
#[derive(Debug)]
pub struct Inherited {
    /// Its name from `LISTEN_FDNAMES` (`unknown` when unnamed, as systemd does).
    pub name: String,
    /// Its descriptor number.
    pub fd: i32,
    pub(crate) socket: Socket,
    /// What it is, as read from the socket.
    pub transport: Option<Transport>,
    /// Its local address.
    pub addr: Option<SocketAddr>,
}

impl Inherited {
    /// Wraps an already-owned socket, as the bind tests and other service
    /// managers' glue do.
    pub fn new(name: impl Into<String>, socket: Socket) -> Inherited {
        use std::os::fd::AsRawFd;
        let transport = match socket.r#type() {
            Ok(Type::STREAM) => Some(Transport::Tcp),
            Ok(Type::DGRAM) => Some(Transport::Udp),
            _ => None,
        };
        let addr = socket.local_addr().ok().and_then(|a| a.as_socket());
        Inherited {
            name: name.into(),
            fd: socket.as_raw_fd(),
            socket,
            transport,
            addr,
        }
    }

    /// How the socket reads in messages: `tcp 127.0.0.1:8080`.
    pub fn describe(&self) -> String {
        let t = self
            .transport
            .map_or("non-IP".to_owned(), |t| t.to_string());
        match self.addr {
            Some(a) => format!("{t} {a}"),
            None => format!("{t} socket without an IP address"),
        }
    }
}

/// What the environment says, before any descriptor is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Announced {
    pub names: Vec<String>,
}

/// Reads the three variables; `None` when they are absent or meant for
/// another process. Pure, so it is tested without touching descriptors.
pub(crate) fn announced(
    pid: u32,
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    names: Option<&str>,
) -> Result<Option<Announced>, String> {
    let (Some(for_pid), Some(count)) = (listen_pid, listen_fds) else {
        return Ok(None);
    };
    let for_pid: u32 = for_pid
        .trim()
        .parse()
        .map_err(|_| format!("LISTEN_PID={for_pid:?} is not a process id"))?;
    if for_pid != pid {
        return Ok(None);
    }
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| format!("LISTEN_FDS={count:?} is not a number"))?;
    let mut list: Vec<String> = match names {
        Some(n) if !n.is_empty() => n.split(':').map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    if !list.is_empty() && list.len() != count {
        return Err(format!(
            "LISTEN_FDNAMES has {} names but LISTEN_FDS={count}",
            list.len()
        ));
    }
    list.resize(count, "unknown".to_owned());
    Ok(Some(Announced { names: list }))
}

/// Whether this process already took its inherited descriptors: they can be
/// owned once, and wrapping one twice would close it twice.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Takes the sockets the service manager passed to this process, once per
/// process; later calls get none.
pub fn take_from_env() -> io::Result<Vec<Inherited>> {
    let var = |k: &str| std::env::var(k).ok();
    let announced = announced(
        std::process::id(),
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
    )
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let Some(announced) = announced else {
        return Ok(Vec::new());
    };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(announced.names.len());
    for (i, name) in announced.names.into_iter().enumerate() {
        let fd = FIRST_FD + i32::try_from(i).unwrap_or(i32::MAX - FIRST_FD);
        // fcntl(2) F_GETFD: https://man7.org/linux/man-pages/man2/fcntl.2.html
        // Checks the descriptor is open before this process claims it.
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("LISTEN_FDS announces fd {fd} ({name}) but it is not open"),
            ));
        }
        // SAFETY: the service manager passed fd to this process (LISTEN_PID
        // matched), it is open, and TAKEN guarantees nothing else in this
        // process has wrapped it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let socket = Socket::from(owned);
        // Inherited descriptors come without close-on-exec; ours all have it.
        socket.set_cloexec(true)?;
        out.push(Inherited::new(name, socket));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::announced;

    #[test]
    fn reads_the_environment_protocol() {
        assert_eq!(announced(7, None, None, None), Ok(None));
        assert_eq!(announced(7, Some("8"), Some("2"), None), Ok(None));
        let a = announced(7, Some("7"), Some("2"), Some("public.http:ops.metrics"))
            .unwrap()
            .unwrap();
        assert_eq!(a.names, ["public.http", "ops.metrics"]);
        let unnamed = announced(7, Some("7"), Some("2"), None).unwrap().unwrap();
        assert_eq!(unnamed.names, ["unknown", "unknown"]);
        assert!(announced(7, Some("7"), Some("2"), Some("a")).is_err());
        assert!(announced(7, Some("x"), Some("2"), None).is_err());
        assert!(announced(7, Some("7"), Some("two"), None).is_err());
    }
}
