//! Why binding failed, socket by socket, with what to do about it.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::plan::PlannedEndpoint;
use crate::spec::Transport;

/// Why one socket could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// The OS refused a call.
    #[error("{error}")]
    Os {
        /// The OS error.
        error: io::Error,
        /// The endpoint of this spec that holds the port, if one does.
        holder: Option<String>,
        /// The device the socket was pinned to, if any.
        device: Option<String>,
    },
    /// No port of a range was free on every address of the endpoint.
    #[error("no port in {first}-{last} is free on every address of the endpoint")]
    NoFreePort {
        /// The range's first port.
        first: u16,
        /// The range's last port.
        last: u16,
    },
    /// An inherited socket's name matches no endpoint.
    #[error("inherited socket {name:?} ({found}) matches no endpoint; endpoints: {}", endpoints.join(", "))]
    UnmatchedInherited {
        /// Its `LISTEN_FDNAMES` name.
        name: String,
        /// What it is.
        found: String,
        /// The endpoints of the plan.
        endpoints: Vec<String>,
    },
    /// An inherited socket's name matches several endpoints.
    #[error("inherited socket {name:?} could be any of {}", endpoints.join(", "))]
    AmbiguousInherited {
        /// Its name.
        name: String,
        /// The endpoints it could be.
        endpoints: Vec<String>,
    },
    /// An inherited socket does not agree with the plan.
    #[error("inherited socket {name:?} is {found}, but the plan has {}", expected.join(", "))]
    InheritedMismatch {
        /// Its name.
        name: String,
        /// What it is.
        found: String,
        /// What the endpoint binds.
        expected: Vec<String>,
    },
    /// Two inherited sockets stand for the same planned address.
    #[error("a second inherited socket {name:?} stands for the same address")]
    InheritedTwice {
        /// Its name.
        name: String,
    },
    /// The socket-activation environment could not be read.
    #[error("socket activation: {0}")]
    Activation(io::Error),
}

impl Cause {
    pub(crate) fn os(
        error: io::Error,
        holder: Option<String>,
        ep: &PlannedEndpoint,
        addr: SocketAddr,
    ) -> Cause {
        let device = ep
            .binds()
            .iter()
            .find(|b| b.addr().ip() == addr.ip())
            .and_then(|b| b.device().map(str::to_owned));
        Cause::Os {
            error,
            holder,
            device,
        }
    }

    /// What to do about it.
    pub fn hint(&self, transport: Transport, addr: SocketAddr) -> String {
        let port = addr.port();
        match self {
            Cause::Os {
                error,
                holder,
                device,
            } => match (error.kind(), error.raw_os_error()) {
                (io::ErrorKind::AddrInUse, _) => match holder {
                    Some(h) => format!("endpoint {h} of this spec already holds port {port}; give one of them another port"),
                    None => format!(
                        "another process holds it: `ss -{}lnp 'sport = :{port}'` shows which; stop it, or choose another port",
                        if transport == Transport::Tcp { "t" } else { "u" }
                    ),
                },
                (io::ErrorKind::PermissionDenied, _) if port != 0 && port < 1024 => {
                    "ports below 1024 need CAP_NET_BIND_SERVICE: `setcap cap_net_bind_service=+ep BINARY`, AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit, socket activation, or a port of 1024 or more behind a proxy".to_owned()
                }
                (io::ErrorKind::PermissionDenied, _) if device.is_some() => {
                    "SO_BINDTODEVICE needs CAP_NET_RAW on kernels before 5.7; grant it or drop `device`".to_owned()
                }
                (io::ErrorKind::AddrNotAvailable, _) => format!(
                    "{} is not on this host now: it changed since the host was read, or it is an IPv6 address still tentative (duplicate address detection); add `freebind` to the endpoint, or retry in a moment",
                    addr.ip()
                ),
                (_, Some(libc::ENODEV)) => format!(
                    "device {} does not exist; `ip -br link` lists the interfaces",
                    device.as_deref().unwrap_or("?")
                ),
                _ => "see the OS error above".to_owned(),
            },
            Cause::NoFreePort { first, last } => format!(
                "other processes hold every port from {first} to {last}; widen the range or free a port"
            ),
            Cause::UnmatchedInherited { .. } => "name the socket after an endpoint (FileDescriptorName=NETWORK.ENDPOINT in the .socket unit), or add the endpoint".to_owned(),
            Cause::AmbiguousInherited { .. } => "use the full NETWORK.ENDPOINT name in FileDescriptorName=".to_owned(),
            Cause::InheritedMismatch { .. } => "make the .socket unit's ListenStream=/ListenDatagram= agree with the spec".to_owned(),
            Cause::InheritedTwice { .. } => "give each inherited socket its own address".to_owned(),
            Cause::Activation(_) => "check LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES as the service manager set them".to_owned(),
        }
    }
}

/// One socket that could not be had.
#[derive(Debug)]
pub struct BindFailure {
    endpoint: Option<String>,
    transport: Transport,
    addr: Option<SocketAddr>,
    cause: Cause,
}

impl BindFailure {
    pub(crate) fn new(ep: &PlannedEndpoint, addr: SocketAddr, cause: Cause) -> BindFailure {
        BindFailure {
            endpoint: Some(ep.qualified()),
            transport: ep.protocol().transport(),
            addr: Some(addr),
            cause,
        }
    }

    pub(crate) fn inherited(cause: Cause) -> BindFailure {
        BindFailure {
            endpoint: None,
            transport: Transport::Tcp,
            addr: None,
            cause,
        }
    }

    pub(crate) fn activation(e: io::Error) -> BindFailure {
        BindFailure::inherited(Cause::Activation(e))
    }

    /// The endpoint, as `network.endpoint`; `None` for an inherited socket
    /// that matches none.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
    /// The address that failed.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }
    /// Why.
    pub fn cause(&self) -> &Cause {
        &self.cause
    }
    /// The OS error, when the OS refused.
    pub fn os_error(&self) -> Option<&io::Error> {
        match &self.cause {
            Cause::Os { error, .. } => Some(error),
            _ => None,
        }
    }
    /// What to do about it.
    pub fn hint(&self) -> String {
        let addr = self
            .addr
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        self.cause.hint(self.transport, addr)
    }
}

impl fmt::Display for BindFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.endpoint, self.addr) {
            (Some(e), Some(a)) => write!(f, "{e}: {} {a}: ", self.transport)?,
            (Some(e), None) => write!(f, "{e}: ")?,
            _ => {}
        }
        write!(f, "{}\n  fix: {}", self.cause, self.hint())
    }
}

/// Every socket that could not be had; nothing was left bound.
#[derive(Debug)]
pub struct BindError {
    failures: Vec<BindFailure>,
}

impl BindError {
    pub(crate) fn new(failures: Vec<BindFailure>) -> BindError {
        BindError { failures }
    }
    /// The failures, in the order they happened.
    pub fn failures(&self) -> &[BindFailure] {
        &self.failures
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_list(
            f,
            ("", "socket", " could not be bound, so none were"),
            "- ",
            &self.failures,
        )
    }
}

impl std::error::Error for BindError {}
