//! Why binding failed, socket by socket, with what to do about it.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::plan::PlannedEndpoint;
use crate::spec::suggest::closest;
use crate::spec::{
    Account, Escaped, QualifiedName, Quoted, SHORTHAND_NETWORK, Transport, UnixPath,
    is_one_address_network,
};

/// Why one socket could not be had.
#[derive(Debug)]
#[non_exhaustive]
pub enum Cause {
    /// The OS refused a call.
    Os {
        /// The OS error.
        error: io::Error,
        /// The endpoint of this spec that holds the port, if one does.
        holder: Option<QualifiedName>,
        /// This endpoint's own socket that holds the port, if one does.
        own: Option<SocketAddr>,
        /// The device the socket was pinned to, if any.
        device: Option<String>,
    },
    /// No port of a range was free on every address of the endpoint.
    NoFreePort {
        /// The range's first port.
        first: u16,
        /// The range's last port.
        last: u16,
    },
    /// An inherited socket's name matches no endpoint.
    UnmatchedInherited {
        /// Its `LISTEN_FDNAMES` name.
        name: String,
        /// What it is.
        found: String,
        /// The endpoints of the plan.
        endpoints: Vec<QualifiedName>,
    },
    /// An inherited socket's name matches several endpoints.
    AmbiguousInherited {
        /// Its name.
        name: String,
        /// The endpoints it could be.
        endpoints: Vec<QualifiedName>,
    },
    /// An inherited socket's transport, family or address is none of the
    /// endpoint's.
    InheritedMismatch {
        /// Its name.
        name: String,
        /// What it is.
        found: String,
        /// What the endpoint binds.
        expected: Vec<String>,
        /// The endpoint it was passed for.
        endpoint: QualifiedName,
        /// Its address, for an IP socket of the endpoint's transport: the
        /// fix then says how the spec would plan it.
        addr: Option<SocketAddr>,
    },
    /// An inherited socket has the planned address, but the kernel says it
    /// is not the socket the plan would open there.
    InheritedDisagrees {
        /// Its name.
        name: String,
        /// Its descriptor number.
        fd: i32,
        /// What it is.
        found: String,
        /// Each way it disagrees.
        why: Vec<Disagreement>,
    },
    /// Two inherited sockets stand for the same planned address.
    InheritedTwice {
        /// Its name.
        name: String,
    },
    /// An inherited socket that came without a name (`LISTEN_FDNAMES` not
    /// set, as `systemfd` and `systemd-socket-activate` without `--fdname`
    /// pass them) sits on no planned socket's address, of its transport.
    UnnamedUnmatched {
        /// Its descriptor number.
        fd: i32,
        /// What it is.
        found: String,
        /// Every planned socket, as `ENDPOINT TRANSPORT ADDRESS`.
        planned: Vec<String>,
    },
    /// An inherited socket that came without a name fits the planned
    /// sockets of several endpoints (each on its address, with port 0 or
    /// a range that holds its port), so which one it is for is a guess.
    UnnamedAmbiguous {
        /// Its descriptor number.
        fd: i32,
        /// What it is.
        found: String,
        /// The planned sockets it fits, as `ENDPOINT TRANSPORT ADDRESS`.
        candidates: Vec<String>,
    },
    /// Several inherited sockets that came without names fit the one
    /// planned socket, which can take only one of them.
    UnnamedShared {
        /// Its descriptor number.
        fd: i32,
        /// What it is.
        found: String,
        /// The other unnamed sockets that fit the same planned socket.
        others: Vec<i32>,
    },
    /// The address is in use, in a successor of an upgrade
    /// ([`crate::handoff`], feature `handoff`): the predecessor, which
    /// serves on, holds it with the socket it made for its own spec, which
    /// this spec does not take as it is (another address, family,
    /// `v6only` or `device`).
    PredecessorHolds {
        /// The OS error (address in use).
        error: io::Error,
        /// The predecessor's process id.
        pid: u32,
    },
    /// The address is in use, following the host ([`crate::watch`],
    /// feature `watch`): by the socket endpoint `closed` had there, which
    /// the change before this one closed and the server has not dropped.
    ClosedStillOpen {
        /// The OS error (address in use).
        error: io::Error,
        /// The endpoint whose socket it was.
        closed: QualifiedName,
    },
    /// The address is in use, and sockets were announced (`LISTEN_FDS`)
    /// but not for this process (`LISTEN_PID` absent, or another
    /// process's id), so none was taken: one of them, still open in this
    /// process from fd 3 on, likely holds the address.
    PassedNotTaken {
        /// The OS error (address in use).
        error: io::Error,
        /// `LISTEN_FDS` as found.
        listen_fds: String,
        /// `LISTEN_PID` as found; `None` when it is not set.
        listen_pid: Option<String>,
        /// This process's id.
        pid: u32,
    },
    /// The socket-activation environment could not be used.
    Activation(ActivationError),
    /// A Unix socket could not be had at its path.
    Unix(UnixError),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Os { error, .. } => write!(f, "{error}"),
            Cause::NoFreePort { first, last } => write!(
                f,
                "no port in {first}-{last} is free on every address of the endpoint"
            ),
            Cause::UnmatchedInherited {
                name,
                found,
                endpoints,
            } => {
                write!(
                    f,
                    "inherited socket {} ({found}) matches no endpoint",
                    Quoted(name)
                )?;
                let all: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
                if let Some(near) = closest(name, all.iter().map(String::as_str)) {
                    write!(f, " (did you mean {near}?)")?;
                }
                write!(f, "; endpoints: {}", names(endpoints))
            }
            Cause::AmbiguousInherited { name, endpoints } => write!(
                f,
                "inherited socket {} could be any of {}",
                Quoted(name),
                names(endpoints)
            ),
            Cause::InheritedMismatch {
                name,
                found,
                expected,
                ..
            } => write!(
                f,
                "inherited socket {} is {found}, but the plan has {}",
                Quoted(name),
                expected.join(", ")
            ),
            Cause::InheritedDisagrees {
                name,
                fd,
                found,
                why,
            } => write!(
                f,
                "inherited socket {} (fd {fd}, {found}) {}",
                Quoted(name),
                phrases(why)
            ),
            Cause::InheritedTwice { name } => write!(
                f,
                "a second inherited socket {} stands for the same address",
                Quoted(name)
            ),
            Cause::UnnamedUnmatched { fd, found, planned } => write!(
                f,
                "inherited fd {fd} ({found}) came without a name (LISTEN_FDNAMES is not set), so it is matched by its address, but no planned socket has it; the plan has {}",
                capped(planned, ", ")
            ),
            Cause::UnnamedAmbiguous {
                fd,
                found,
                candidates,
            } => write!(
                f,
                "inherited fd {fd} ({found}) came without a name (LISTEN_FDNAMES is not set), so it is matched by its address, but it fits {}",
                candidates.join(" and ")
            ),
            Cause::UnnamedShared { fd, found, others } => write!(
                f,
                "inherited fd {fd} ({found}) came without a name (LISTEN_FDNAMES is not set), so it is matched by its address, but {} this planned socket too",
                match others.as_slice() {
                    [one] => format!("unnamed fd {one} fits"),
                    many => format!(
                        "unnamed fds {} fit",
                        capped(
                            &many.iter().map(ToString::to_string).collect::<Vec<_>>(),
                            ", "
                        )
                    ),
                }
            ),
            Cause::PassedNotTaken {
                error,
                listen_fds,
                listen_pid,
                pid,
            } => write!(
                f,
                "{error}; LISTEN_FDS={} is set {}, so the sockets passed from fd 3 on were not taken, and one of them likely holds this address",
                Quoted(listen_fds),
                match listen_pid {
                    None => "without LISTEN_PID".to_owned(),
                    Some(p) => format!(
                        "with LISTEN_PID={}, which is not this process ({pid})",
                        Quoted(p)
                    ),
                }
            ),
            Cause::PredecessorHolds { error, pid } => write!(
                f,
                "{error}: the process upgrading to this one (pid {pid}) holds it, with a socket it made for its own spec that this spec does not take as it is (its address, family, v6only or device differ)"
            ),
            Cause::ClosedStillOpen { error, closed } => write!(
                f,
                "{error}: by the socket {closed} had there, which the change before this one closed and this process still holds"
            ),
            Cause::Activation(error) => write!(f, "socket activation: {error}"),
            Cause::Unix(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Cause {}

/// The endpoints' names, capped as [`capped`] caps any list: a spec can
/// have thousands.
fn names(endpoints: &[QualifiedName]) -> String {
    let all: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
    capped(&all, ", ")
}

/// The transports a type can be made from: `tcp`, `tcp or unix`.
fn either(wanted: &[Transport]) -> String {
    let all: Vec<String> = wanted.iter().map(ToString::to_string).collect();
    all.join(" or ")
}

/// At most eight items, then how many more: every planned socket of a
/// spec on a wildcard-rich host can be many.
fn capped(items: &[String], separator: &str) -> String {
    const SHOWN: usize = 8;
    let mut out = items[..items.len().min(SHOWN)].join(separator);
    if items.len() > SHOWN {
        out.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

/// How to give passed sockets names, for every error about unnamed ones.
const NAME_THEM: &str = "name each socket after its endpoint: FileDescriptorName=NETWORK.ENDPOINT in the .socket unit, or systemd-socket-activate --fdname=NETWORK.ENDPOINT (one --fdname per --listen); systemfd passes no names, so each of its sockets must sit on exactly one planned address";

fn phrases(why: &[Disagreement]) -> String {
    let all: Vec<String> = why.iter().map(ToString::to_string).collect();
    all.join("; and it ")
}

impl Cause {
    pub(crate) fn os(
        error: io::Error,
        (holder, own): (Option<QualifiedName>, Option<SocketAddr>),
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
            own,
            device,
        }
    }

    /// What to do about it, for the socket on `addr` that failed.
    pub fn hint(&self, transport: Transport, addr: SocketAddr) -> String {
        self.hint_for(Some((transport, addr)))
    }

    /// What to do about it; `socket` is the one that failed, when the cause
    /// concerns one (an inherited socket that matches no endpoint does not).
    fn hint_for(&self, socket: Option<(Transport, SocketAddr)>) -> String {
        match self {
            Cause::Os {
                error,
                holder,
                own,
                device,
            } => {
                let Some((transport, addr)) = socket else {
                    return "see the OS error above".to_owned();
                };
                os_hint(error, holder.as_ref(), *own, device.as_deref(), transport, addr)
            }
            Cause::NoFreePort { first, last } => format!(
                "other processes hold every port from {first} to {last}; widen the range or free a port"
            ),
            Cause::UnmatchedInherited { .. } => "name the socket after an endpoint (FileDescriptorName=NETWORK.ENDPOINT in the .socket unit), or add the endpoint".to_owned(),
            Cause::AmbiguousInherited { .. } => "use the full NETWORK.ENDPOINT name in FileDescriptorName=".to_owned(),
            // An IPv4-mapped address is an IPv6 socket's, which no plan
            // of its IPv4 address opens: only the unit can agree.
            Cause::InheritedMismatch {
                endpoint,
                addr: Some(addr),
                ..
            } if !matches!(addr, SocketAddr::V6(a) if a.ip().to_ipv4_mapped().is_some()) => {
                let (net, port) = (endpoint.network(), addr.port());
                // A link-local address with its zone; a wildcard on a
                // network that may have one.
                let (ip, note) = match addr {
                    SocketAddr::V6(a) if a.scope_id() != 0 => {
                        (format!("{}%{}", a.ip(), a.scope_id()), "")
                    }
                    SocketAddr::V6(a) if a.ip().is_unspecified() => (
                        ":: expose=public".to_owned(),
                        ", with v6only=false if the socket takes IPv4 too (BindIPv6Only=both)",
                    ),
                    a if a.ip().is_unspecified() => (format!("{} expose=public", a.ip()), ""),
                    a => (a.ip().to_string(), ""),
                };
                format!(
                    "make the .socket unit's ListenStream=/ListenDatagram= agree with the spec, or the spec with the socket: `{net} = {ip}` (or a selector that matches it) and {endpoint} on port {port}{note}"
                )
            }
            Cause::InheritedMismatch { .. } => "make the .socket unit's ListenStream=/ListenDatagram= agree with the spec".to_owned(),
            Cause::InheritedDisagrees { why, .. } => {
                let fixes: Vec<String> = why.iter().map(Disagreement::fix).collect();
                fixes.join("; ")
            }
            Cause::InheritedTwice { .. } => "give each inherited socket its own address".to_owned(),
            Cause::UnnamedUnmatched { .. } => format!(
                "{NAME_THEM}: give the tool the endpoint's address and port (`systemfd -s tcp::127.0.0.1:8080` for an endpoint http:8080 on 127.0.0.1), or make the spec plan the socket's address"
            ),
            Cause::UnnamedAmbiguous { .. } => format!(
                "{NAME_THEM}, which it does when only one endpoint has its address with its port, or port 0 or a range that holds it: give the others fixed ports or other addresses"
            ),
            Cause::UnnamedShared { .. } => format!(
                "pass one socket per planned address, or {NAME_THEM}"
            ),
            Cause::PassedNotTaken { listen_pid: None, .. } => "systemfd --no-pid leaves LISTEN_PID out, and listenspec takes passed sockets only when LISTEN_PID is this process's id (as sd_listen_fds(3) does), so that sockets meant for another process are never taken: run systemfd without --no-pid, with the server as its command (`systemfd -s http::8080 -- cargo run`: cargo run replaces itself with the server), or set LISTEN_PID to the server's pid (`sh -c 'export LISTEN_PID=$$; exec SERVER'`)".to_owned(),
            Cause::PassedNotTaken { listen_pid: Some(_), .. } => "a program between the one that passed the sockets and this server (cargo watch, a shell that does not exec) changed the process, and listenspec takes passed sockets only when LISTEN_PID is this process's id (as sd_listen_fds(3) does): start the server directly (`systemfd -s http::8080 -- cargo run`: cargo run replaces itself with the server), or set LISTEN_PID to the server's pid (`sh -c 'export LISTEN_PID=$$; exec SERVER'`)".to_owned(),
            Cause::PredecessorHolds { pid, .. } => format!(
                "an upgrade hands a socket over as it is, and this one stays with pid {pid}, which serves on: to change how the port is bound, restart instead (stop pid {pid}, then start this server), or give the endpoint another port"
            ),
            Cause::ClosedStillOpen { closed, .. } => format!(
                "drop the sockets of each change's `closed()` before adding its opened ones ({closed}'s here), as a `Follower` does at its listener's next accept"
            ),
            Cause::Activation(e) => e.fix(),
            Cause::Unix(e) => e.fix(),
        }
    }
}

/// What to do about an OS error on the socket on `addr`, in the terms of
/// the OS this runs on (the one that refused it).
fn os_hint(
    error: &io::Error,
    holder: Option<&QualifiedName>,
    own: Option<SocketAddr>,
    device: Option<&str>,
    transport: Transport,
    addr: SocketAddr,
) -> String {
    let port = addr.port();
    match (error.kind(), error.raw_os_error()) {
            (io::ErrorKind::AddrInUse, _) => match (own, holder) {
                (Some(mine), _) => format!(
                    "this endpoint's own socket on {mine} already takes port {port} (a `[::]` socket with v6only=false takes IPv4 too); write `::` alone for one dual-stack socket, or drop v6only=false"
                ),
                (None, Some(h)) => format!("endpoint {h} of this spec already holds port {port}; give one of them another port"),
                (None, None) => format!(
                    "another process holds it: {} shows which; stop it, or choose another port",
                    who_holds(transport, port)
                ),
            },
            // Windows has no privileged ports: it refuses a port it reserves,
            // or one another socket holds with SO_EXCLUSIVEADDRUSE.
            (io::ErrorKind::PermissionDenied, _) if cfg!(windows) => format!(
                "Windows keeps port {port} from this process: it is in a range the system reserves (`netsh interface {} show excludedportrange protocol={}` lists them; Hyper-V, WSL and Docker reserve ranges), or another process holds it for itself (SO_EXCLUSIVEADDRUSE: {} shows which); choose another port",
                if addr.is_ipv4() { "ipv4" } else { "ipv6" },
                if transport == Transport::Tcp { "tcp" } else { "udp" },
                who_holds(transport, port)
            ),
            (io::ErrorKind::PermissionDenied, _) if port != 0 && port < 1024 => {
                "ports below 1024 need CAP_NET_BIND_SERVICE: `setcap cap_net_bind_service=+ep BINARY`, AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit, socket activation, or a port of 1024 or more behind a proxy".to_owned()
            }
            (io::ErrorKind::PermissionDenied, _) if device.is_some() => {
                "SO_BINDTODEVICE needs CAP_NET_RAW on kernels before 5.7; grant it or drop `device`".to_owned()
            }
            (io::ErrorKind::AddrNotAvailable, _) => format!(
                "{} is not on this host now: it changed since the host was read, or it is an IPv6 address still tentative (duplicate address detection); {}",
                addr.ip(),
                // IP_FREEBIND is Linux's; the planner refuses it elsewhere.
                if cfg!(any(target_os = "linux", target_os = "android")) {
                    "add `freebind` to the endpoint, or retry in a moment"
                } else {
                    "retry in a moment"
                }
            ),
            (_, Some(libc::ENODEV)) if cfg!(unix) => format!(
                "device {} does not exist; `ip -br link` lists the interfaces",
                device.unwrap_or("?")
            ),
            (_, Some(libc::EMFILE)) if cfg!(unix) => {
                "the process is out of file descriptors: raise its limit (`ulimit -n` in the shell that starts it, LimitNOFILE= in its systemd unit), or close what it holds open".to_owned()
            }
            (_, Some(libc::ENFILE)) if cfg!(unix) => {
                "the system is out of file descriptors (`fs.file-max`): close what other processes hold open, or raise the limit".to_owned()
            }
            _ => "see the OS error above".to_owned(),
    }
}

/// The command that names the process holding `port`, on this OS.
fn who_holds(transport: Transport, port: u16) -> String {
    match (cfg!(windows), transport) {
        (true, Transport::Tcp) => format!("`Get-NetTCPConnection -LocalPort {port}` (PowerShell)"),
        (true, _) => format!(
            "`Get-NetUDPEndpoint -LocalPort {port} | Select-Object LocalAddress, OwningProcess` (PowerShell)"
        ),
        (false, Transport::Tcp) => format!("`ss -tlnp 'sport = :{port}'`"),
        (false, _) => format!("`ss -ulnp 'sport = :{port}'`"),
    }
}

/// How an inherited socket at a planned address differs from the socket the
/// plan would open there, as the kernel reports it (socket(7), ipv6(7)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disagreement {
    /// A TCP socket nobody called `listen(2)` on (`SO_ACCEPTCONN` off):
    /// usually one accepted connection, as `Accept=yes` units pass.
    NotListening {
        /// The far end, when it is connected.
        peer: Option<SocketAddr>,
    },
    /// `IPV6_V6ONLY` on an `[::]` socket is not what the endpoint says.
    V6Only {
        /// What the endpoint says: `true` unless it has `v6only=false`.
        expected: bool,
        /// The endpoint binds `0.0.0.0` too (its network is `*`), beside
        /// which its `[::]` cannot take IPv4.
        beside_ipv4: bool,
    },
    /// `SO_BINDTODEVICE` is not the interface the plan pins the socket to.
    Device {
        /// The plan's device.
        expected: Option<String>,
        /// The socket's.
        found: Option<String>,
    },
    /// No socket file is at the Unix socket's path, so clients cannot
    /// reach it there, nor can its mode and owner be checked.
    NoSocketFile {
        /// The planned path, as `lstat(2)` looked at it (a symbolic link
        /// there is not followed).
        path: PathBuf,
        /// What is there instead; `None` when nothing is.
        found: Option<FileKind>,
    },
    /// The socket file's permission bits are not the endpoint's `mode=`.
    FileMode {
        /// The socket file.
        path: PathBuf,
        /// Its permission bits.
        found: u32,
        /// The endpoint's `mode=`.
        expected: u32,
    },
    /// The socket file's owner is not the endpoint's `owner=`.
    FileOwner {
        /// The socket file.
        path: PathBuf,
        /// Its owner's uid.
        found: u32,
        /// The uid `owner=` resolved to.
        expected: u32,
        /// `owner=` as the spec wrote it.
        account: Account,
    },
    /// The socket file's group is not the endpoint's `group=`.
    FileGroup {
        /// The socket file.
        path: PathBuf,
        /// Its group's gid.
        found: u32,
        /// The gid `group=` resolved to.
        expected: u32,
        /// `group=` as the spec wrote it.
        account: Account,
    },
    /// A predecessor's socket file gives more than this process's own
    /// bind would where the endpoint sets no `mode=`, `owner=` or
    /// `group=`: a permission bit the umask clears, another owner, or a
    /// group neither this process's nor the directory's.
    WiderThanFresh {
        /// The socket file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// Its owner's uid.
        uid: u32,
        /// Its group's gid.
        gid: u32,
    },
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disagreement::NotListening { peer } => write!(
                f,
                "is not listening (SO_ACCEPTCONN off){}",
                peer.map_or(String::new(), |p| format!(", it is connected to {p}"))
            ),
            Disagreement::V6Only { expected, .. } => f.write_str(if *expected {
                "takes IPv4 too (IPV6_V6ONLY off), but the endpoint is v6-only"
            } else {
                "is v6-only (IPV6_V6ONLY on), but the endpoint says v6only=false"
            }),
            Disagreement::Device { expected, found } => write!(
                f,
                "is pinned to {}, but the plan pins it to {} (SO_BINDTODEVICE)",
                found.as_deref().unwrap_or("no device"),
                expected.as_deref().unwrap_or("no device")
            ),
            Disagreement::NoSocketFile { path, found } => write!(
                f,
                "has no socket file at {}: {}",
                Escaped(path.display()),
                found.map_or("nothing is there".to_owned(), |k| format!("it is {k}"))
            ),
            Disagreement::FileMode {
                path,
                found,
                expected,
            } => write!(
                f,
                "has mode {found:o} on its file {}, but the endpoint says mode={expected:o}",
                Escaped(path.display())
            ),
            Disagreement::FileOwner {
                path,
                found,
                expected,
                account,
            } => write!(
                f,
                "has its file {} owned by uid {found}, but the endpoint says owner={account} (uid {expected})",
                Escaped(path.display())
            ),
            Disagreement::FileGroup {
                path,
                found,
                expected,
                account,
            } => write!(
                f,
                "has its file {} in group gid {found}, but the endpoint says group={account} (gid {expected})",
                Escaped(path.display())
            ),
            Disagreement::WiderThanFresh {
                path,
                mode,
                uid,
                gid,
            } => write!(
                f,
                "has its file {} with mode {mode:o}, uid {uid}, gid {gid}: more than this spec's own bind makes, as it sets no mode=, owner= or group=",
                Escaped(path.display())
            ),
        }
    }
}

impl std::error::Error for Disagreement {}

impl Disagreement {
    /// What to change so the two agree.
    pub fn fix(&self) -> String {
        match self {
            Disagreement::NotListening { .. } => "pass a listening socket: ListenStream= with Accept=no in the .socket unit (Accept=yes passes one accepted connection per process)".to_owned(),
            Disagreement::V6Only { expected: true, beside_ipv4: false } => "set BindIPv6Only=ipv6-only in the .socket unit, or add v6only=false to the endpoint if it should take IPv4 too".to_owned(),
            // `*` binds 0.0.0.0 beside [::]: v6only=false alone would
            // collide with it, so the one-socket fix changes the network.
            Disagreement::V6Only { expected: true, beside_ipv4: true } => "set BindIPv6Only=ipv6-only in the .socket unit (the endpoint binds 0.0.0.0 beside [::]); or, for one socket that takes IPv4 too, write the network as `::` alone and add v6only=false to the endpoint".to_owned(),
            Disagreement::V6Only { expected: false, .. } => "set BindIPv6Only=both in the .socket unit, or drop v6only=false from the endpoint".to_owned(),
            Disagreement::Device { expected: Some(d), .. } => format!("set BindToDevice={d} in the .socket unit"),
            Disagreement::Device { expected: None, .. } => "remove BindToDevice= from the .socket unit, or add device to the endpoint".to_owned(),
            Disagreement::NoSocketFile { path, .. } => format!("ListenStream=/ListenDatagram= of the .socket unit must be {}, and nothing may remove or replace its file while the unit runs", Escaped(path.display())),
            // systemd's SocketMode= is octal, its own default 0666.
            Disagreement::FileMode { expected, .. } => format!("set SocketMode={expected:04o} in the .socket unit, or change the endpoint's mode= to what the unit makes"),
            Disagreement::FileOwner { account, .. } => format!("set SocketUser={account} in the .socket unit, or drop owner= from the endpoint"),
            Disagreement::FileGroup { account, .. } => format!("set SocketGroup={account} in the .socket unit, or drop group= from the endpoint"),
            Disagreement::WiderThanFresh { mode, .. } => format!("restart instead, so that the file is made anew, or give the endpoint mode={mode:o} (and owner=, group=) to keep it"),
        }
    }
}

/// Why the socket-activation environment (`LISTEN_PID`, `LISTEN_FDS`,
/// `LISTEN_FDNAMES`) could not be used. Whatever the reason, no descriptor
/// was taken and none was closed, except where a variant says otherwise.
#[derive(Debug)]
#[non_exhaustive]
pub enum ActivationError {
    /// `LISTEN_PID` is not a process id.
    BadPid {
        /// The value as found.
        found: String,
    },
    /// `LISTEN_FDS` is not a decimal count.
    NotACount {
        /// The value as found.
        found: String,
    },
    /// `LISTEN_FDS` is negative.
    NegativeCount {
        /// The value as found.
        found: String,
    },
    /// `LISTEN_FDS` counts descriptors this process cannot have: numbered
    /// from 3, the last would reach its descriptor limit.
    TooMany {
        /// The value as found.
        found: String,
        /// The soft `RLIMIT_NOFILE`.
        limit: u64,
    },
    /// `LISTEN_FDNAMES` names a different number of sockets.
    NamesMismatch {
        /// How many names it has.
        names: usize,
        /// `LISTEN_FDS`.
        count: usize,
    },
    /// Some announced descriptors are not sockets, or not open; they were
    /// all left as they are, and the sockets beside them too.
    NotSockets {
        /// `LISTEN_FDS`.
        count: usize,
        /// The descriptors that are not sockets; the scan stops at the
        /// first that is not open, as the count is wrong from there on.
        descriptors: Vec<Descriptor>,
    },
    /// Close-on-exec could not be set on a taken socket; every socket taken
    /// so far was closed again.
    CloseOnExec {
        /// The descriptor.
        fd: i32,
        /// The OS error.
        error: io::Error,
    },
    /// A taken socket could not be duplicated to be kept across a bind
    /// that is tried again (when waiting for the host); every taken socket
    /// was closed.
    Duplicate {
        /// The descriptor.
        fd: i32,
        /// The OS error.
        error: io::Error,
    },
}

impl fmt::Display for ActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivationError::BadPid { found } => {
                write!(f, "LISTEN_PID={} is not a process id", Quoted(found))
            }
            ActivationError::NotACount { found } => {
                write!(
                    f,
                    "LISTEN_FDS={} is not a count of descriptors",
                    Quoted(found)
                )
            }
            ActivationError::NegativeCount { found } => {
                write!(f, "LISTEN_FDS={} is negative", Quoted(found))
            }
            ActivationError::TooMany { found, limit } => write!(
                f,
                "LISTEN_FDS={} announces more descriptors than this process can have: numbered from 3, they must stay below its descriptor limit of {limit} (RLIMIT_NOFILE)",
                Quoted(found)
            ),
            ActivationError::NamesMismatch { names, count } => {
                write!(f, "LISTEN_FDNAMES has {names} names but LISTEN_FDS={count}")
            }
            ActivationError::NotSockets { count, descriptors } => write!(
                f,
                "LISTEN_FDS={count} announces {}, but {}; none was taken or closed",
                fd_range(*count),
                list(descriptors)
            ),
            ActivationError::CloseOnExec { fd, error } => {
                write!(f, "inherited fd {fd}: cannot set close-on-exec: {error}")
            }
            ActivationError::Duplicate { fd, error } => write!(
                f,
                "inherited fd {fd}: cannot duplicate it to keep it for the next attempt: {error}"
            ),
        }
    }
}

impl std::error::Error for ActivationError {}

fn fd_range(count: usize) -> String {
    match count {
        1 => "fd 3".to_owned(),
        n => format!("fds 3 to {}", n + 2),
    }
}

fn list(descriptors: &[Descriptor]) -> String {
    let all: Vec<String> = descriptors.iter().map(ToString::to_string).collect();
    capped(&all, "; ")
}

impl ActivationError {
    /// What to change.
    pub fn fix(&self) -> String {
        match self {
            ActivationError::BadPid { .. } => "LISTEN_PID must be the decimal pid of the process the sockets are for, as systemd and systemd-socket-activate set it; unset LISTEN_PID and LISTEN_FDS when no service manager passes sockets".to_owned(),
            ActivationError::NotACount { .. } | ActivationError::NegativeCount { .. } => "LISTEN_FDS must be the number of sockets passed from fd 3 on, in decimal (LISTEN_FDS=2); unset LISTEN_PID and LISTEN_FDS when no service manager passes sockets".to_owned(),
            ActivationError::TooMany { .. } => "LISTEN_FDS must count the sockets really passed (the unit's ListenStream=/ListenDatagram= lines); if that many are passed, raise the limit (LimitNOFILE= in the unit, `ulimit -n`)".to_owned(),
            ActivationError::NamesMismatch { .. } => "give every socket a name (FileDescriptorName=) or none, so LISTEN_FDNAMES has exactly LISTEN_FDS names".to_owned(),
            ActivationError::NotSockets { .. } => "LISTEN_FDS must count only sockets, passed from fd 3 on; when other descriptors are passed too (the fd store, or files a wrapper opened), take the sockets yourself and give them to Plan::bind_inherited".to_owned(),
            ActivationError::CloseOnExec { .. } => "see the OS error above".to_owned(),
            ActivationError::Duplicate { .. } => "the process is out of descriptors: raise its limit (LimitNOFILE= in the unit, `ulimit -n`)".to_owned(),
        }
    }
}

/// An announced descriptor that is not a socket passed to this process.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Descriptor {
    /// Its number.
    pub fd: i32,
    /// Its `LISTEN_FDNAMES` name (`unknown` when unnamed).
    pub name: String,
    /// What it is instead.
    pub kind: FileKind,
    /// What it is open on, where the OS says (`/proc/self/fd`).
    pub path: Option<PathBuf>,
}

impl fmt::Display for Descriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fd {} ({}) is {}",
            self.fd,
            Quoted(&self.name),
            self.kind
        )?;
        if let Some(p) = &self.path {
            write!(f, " ({})", Escaped(p.display()))?;
        }
        match self.kind {
            FileKind::NotOpen => {}
            FileKind::OwnSocket => f.write_str(", not one passed to it")?,
            _ => f.write_str(", not a socket")?,
        }
        Ok(())
    }
}

/// What a descriptor is, from `fstat(2)`'s file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// No open file has this number.
    NotOpen,
    /// A regular file: a log, a lock file.
    RegularFile,
    /// A directory.
    Directory,
    /// A pipe or FIFO.
    Pipe,
    /// A character device: a terminal, `/dev/null`.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A symbolic link (what `lstat(2)` sees at a socket's path; it is
    /// never followed).
    Symlink,
    /// Any other file type, as `st_mode & S_IFMT`.
    Other {
        /// The file-type bits.
        mode: u32,
    },
    /// A socket this process opened itself (close-on-exec, which no
    /// descriptor passed across exec is): the application's, not passed.
    OwnSocket,
    /// The file of another socket, at an inherited socket's path (Linux):
    /// the file the inherited socket made was removed, and something bound
    /// there again since. Clients reach that one.
    AnotherSocket,
    /// `fstat(2)` failed for another reason than a closed descriptor.
    Unreadable {
        /// The errno.
        errno: i32,
    },
}

#[cfg(unix)]
impl From<crate::sys::FileType> for FileKind {
    // mode_t is u16 on macOS.
    #[allow(clippy::useless_conversion)]
    fn from(t: crate::sys::FileType) -> FileKind {
        use crate::sys::FileType;
        match t {
            FileType::Regular => FileKind::RegularFile,
            FileType::Directory => FileKind::Directory,
            FileType::Fifo => FileKind::Pipe,
            FileType::CharDevice => FileKind::CharDevice,
            FileType::BlockDevice => FileKind::BlockDevice,
            FileType::Symlink => FileKind::Symlink,
            // Both callers have told a socket apart before asking.
            FileType::Socket => FileKind::Other {
                mode: u32::from(libc::S_IFSOCK),
            },
            FileType::Other(mode) => FileKind::Other { mode },
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileKind::NotOpen => f.write_str("not open"),
            FileKind::RegularFile => f.write_str("a regular file"),
            FileKind::Directory => f.write_str("a directory"),
            FileKind::Pipe => f.write_str("a pipe or FIFO"),
            FileKind::CharDevice => f.write_str("a character device"),
            FileKind::BlockDevice => f.write_str("a block device"),
            FileKind::Symlink => f.write_str("a symbolic link"),
            FileKind::Other { mode } => write!(f, "a file of type {mode:#o}"),
            FileKind::OwnSocket => {
                f.write_str("a socket this process opened itself (close-on-exec)")
            }
            FileKind::AnotherSocket => f.write_str(
                "another socket's file: this socket's was removed, and another bound there since",
            ),
            FileKind::Unreadable { errno } => write!(
                f,
                "of a type fstat cannot read ({})",
                io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

/// Why a Unix socket could not be had at its path. Whatever the reason,
/// no file that was there before was removed, except a stale socket file
/// the endpoint allows replacing (`stale=replace`, the default).
#[derive(Debug)]
#[non_exhaustive]
pub enum UnixError {
    /// Something that is not a socket is at the path: it is never deleted.
    NotASocket {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// A socket at the path is in use.
    Live {
        /// The path.
        path: PathBuf,
        /// How that was seen.
        how: Liveness,
    },
    /// A socket at the path is in use by the predecessor of an upgrade
    /// ([`crate::handoff`], feature `handoff`), which handed it over made
    /// for its own spec (another `mode=`, `owner=` or `group=`), so this
    /// spec did not take it as it is.
    PredecessorHolds {
        /// The path.
        path: PathBuf,
        /// The predecessor's process id.
        pid: u32,
    },
    /// A stale socket file is at the path and the endpoint says
    /// `stale=refuse`.
    Stale {
        /// The path.
        path: PathBuf,
    },
    /// A stale socket file of another user, in a sticky directory (`/tmp`):
    /// only its owner may remove it there, so it is theirs, and stays.
    OthersStale {
        /// The path.
        path: PathBuf,
        /// The file's owner, a user id.
        owner: u32,
    },
    /// Whether the socket file at the path is in use could not be told:
    /// connecting to it failed in an unexpected way. It was left as it is.
    Probe {
        /// The path.
        path: PathBuf,
        /// The OS error of the connect.
        error: io::Error,
    },
    /// The directory the socket goes in does not exist.
    NoDirectory {
        /// The directory.
        dir: PathBuf,
    },
    /// This process may not create a file in the directory (or search a
    /// directory on the way to it).
    DirectoryDenied {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        error: io::Error,
    },
    /// A file changed while the socket was being made: it is not the
    /// one this process made or looked at. It was left as it is.
    Replaced {
        /// The path.
        path: PathBuf,
    },
    /// The socket's directory is reached through a symbolic link that
    /// belongs to a user other than the server's and root, which the plan
    /// did not see there (the plan refuses one it sees): that user chose
    /// where the socket would go, and nothing was made or removed there.
    UntrustedLink {
        /// The path.
        path: PathBuf,
        /// The link, as the path led to it.
        link: PathBuf,
        /// The link owner's user id.
        uid: u32,
    },
    /// A step of making the socket failed.
    Os {
        /// What was being done.
        step: Step,
        /// The OS error.
        error: io::Error,
    },
    /// An abstract name another socket is bound to: another instance is
    /// running (an abstract socket has no file to be stale).
    AbstractTaken {
        /// The name, without its `@`.
        name: String,
    },
    /// An abstract name, on an OS without the abstract namespace.
    AbstractUnsupported {
        /// The name.
        name: String,
        /// This OS, as `std::env::consts::OS` names it.
        os: &'static str,
    },
    /// Unix domain sockets on an OS this crate binds none on.
    Unsupported {
        /// This OS, as `std::env::consts::OS` names it.
        os: &'static str,
    },
}

impl fmt::Display for UnixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixError::NotASocket { path, kind } => write!(
                f,
                "{} is {kind}, not a socket; it was left as it is",
                Escaped(path.display())
            ),
            UnixError::Live { path, how } => write!(
                f,
                "another instance is running on {}: {how}",
                Escaped(path.display())
            ),
            UnixError::AbstractTaken { name } => write!(
                f,
                "another instance is running on @{}: a socket is bound to that abstract name, which has no file to be stale",
                Escaped(name)
            ),
            UnixError::PredecessorHolds { path, pid } => write!(
                f,
                "the process upgrading to this one (pid {pid}) serves on {} with the socket it made for its own spec, which this spec does not take as it is (its file's mode, owner or group differ)",
                Escaped(path.display())
            ),
            UnixError::Stale { path } => write!(
                f,
                "a stale socket file is at {} (connecting to it is refused: no process listens on it), and the endpoint says stale=refuse",
                Escaped(path.display())
            ),
            UnixError::OthersStale { path, owner } => write!(
                f,
                "a stale socket file of user id {owner} is at {}, in a sticky directory, where only its owner may remove it; it was left as it is",
                Escaped(path.display())
            ),
            UnixError::Probe { path, error } => write!(
                f,
                "cannot tell whether the socket file at {} is in use, so it was left as it is: connecting to it failed: {error}",
                Escaped(path.display())
            ),
            UnixError::NoDirectory { dir } => {
                write!(f, "the directory {} does not exist", Escaped(dir.display()))
            }
            UnixError::DirectoryDenied { dir, error } => write!(
                f,
                "this process may not create a socket file in {}: {error}",
                Escaped(dir.display())
            ),
            UnixError::Replaced { path } => write!(
                f,
                "{} was replaced by another process while the socket was being made; it is not this process's and was left as it is",
                Escaped(path.display())
            ),
            UnixError::UntrustedLink { path, link, uid } => write!(
                f,
                "the directory of {} is reached through the symbolic link {}, which belongs to uid {uid}, neither the server's user nor root; it was not followed, and nothing was made or removed where it leads",
                Escaped(path.display()),
                Escaped(link.display())
            ),
            UnixError::Os { step, error } => write!(f, "{step}: {error}"),
            UnixError::AbstractUnsupported { name, os } => write!(
                f,
                "abstract socket names (@{name}) exist on Linux and Android only, not on {os}"
            ),
            UnixError::Unsupported { os } => {
                write!(f, "Unix domain sockets are not supported on {os}")
            }
        }
    }
}

impl std::error::Error for UnixError {}

impl UnixError {
    /// The OS error, where there is one.
    pub fn os_error(&self) -> Option<&io::Error> {
        match self {
            UnixError::Probe { error, .. }
            | UnixError::DirectoryDenied { error, .. }
            | UnixError::Os { error, .. } => Some(error),
            _ => None,
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        match self {
            UnixError::NotASocket { .. } => "listenspec never deletes a file that is not a socket: move it away, or give the endpoint another path".to_owned(),
            UnixError::Live { path, .. } => format!(
                "stop the other instance first (`ss -xlp 'src {}'` shows which process holds it), or give this one another path",
                Escaped(path.display())
            ),
            UnixError::PredecessorHolds { pid, .. } => format!(
                "an upgrade hands a socket over as it is, and this one stays with pid {pid}, which serves on: to change the socket file, restart instead (stop pid {pid}, then start this server), or give the endpoint another path"
            ),
            UnixError::Stale { path } => format!(
                "remove the file (`rm {}`) once sure no server uses it, or drop stale=refuse to have it replaced",
                Escaped(path.display())
            ),
            UnixError::OthersStale { path, owner } => format!(
                "ask user {owner} (`getent passwd {owner}`) to remove {} once no server uses it, or give this endpoint a path in a directory of the service's own (RuntimeDirectory= in the unit)",
                Escaped(path.display())
            ),
            UnixError::Probe { path, .. } => format!(
                "see the OS error above; if no server uses {}, remove it by hand",
                Escaped(path.display())
            ),
            UnixError::NoDirectory { dir } => format!(
                "create it (`mkdir -p {}`), or let systemd make it for the service: RuntimeDirectory=NAME in the unit makes /run/NAME",
                Escaped(dir.display())
            ),
            UnixError::DirectoryDenied { dir, .. } => format!(
                "let this user write to {} (chown or chmod it), or let systemd make the directory for the service: RuntimeDirectory=NAME with User= in the unit",
                Escaped(dir.display())
            ),
            UnixError::Replaced { .. } => "another process changes files in that directory; give the service a directory only it may write to (RuntimeDirectory= in the unit)".to_owned(),
            UnixError::UntrustedLink { .. } => "another user changes the directories on the socket's path (the plan saw no such link): give the service a directory only it and root may write to (RuntimeDirectory= in the unit), reached by no other user's link".to_owned(),
            UnixError::Os { step, error } => step.fix(error),
            UnixError::AbstractTaken { name } => format!(
                "stop the other instance first (`ss -xlp | grep '@{}'` shows which process holds it), or give this one another name",
                Escaped(name)
            ),
            UnixError::AbstractUnsupported { .. } => "use a socket file path (/run/NAME/app.sock) instead of an abstract name".to_owned(),
            UnixError::Unsupported { .. } => "use a TCP endpoint on loopback on this OS".to_owned(),
        }
    }
}

/// How a socket at the path was seen to be in use: a datagram socket's
/// connect(2) to it, which sends nothing, was not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Liveness {
    /// A datagram socket is bound to it (the connect succeeded).
    Datagram,
    /// A stream (or seqpacket) socket is bound to it (`EPROTOTYPE`),
    /// listening or about to.
    Stream,
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Liveness::Datagram => "a datagram socket is bound to it",
            Liveness::Stream => "a stream socket is bound to it",
        })
    }
}

/// A step of making a Unix socket, each a system call or two.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Reading what is at the path: opening its directory, then `fstatat(2)`.
    Examine,
    /// Removing the stale socket file: `unlinkat(2)`.
    RemoveStale,
    /// Creating the socket: `socket(2)`.
    Socket,
    /// Binding it: `bind(2)`.
    Bind,
    /// Giving the file to its owner and group: `fchownat(2)`, never
    /// following a link.
    Chown {
        /// The user id, if set.
        owner: Option<u32>,
        /// The group id, if set.
        group: Option<u32>,
    },
    /// Setting the file's mode: `fchmodat(2)`, in the private directory.
    Chmod {
        /// The permission bits.
        mode: u32,
    },
    /// Listening: `listen(2)`.
    Listen,
    /// Creating the private directory (mode 0700) the socket is made in.
    PrivateDir {
        /// The directory.
        dir: PathBuf,
    },
    /// Publishing the set-up socket file at its path: `linkat(2)`, which
    /// never replaces a file.
    Link,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Examine => f.write_str("reading what is at the path (fstatat)"),
            Step::RemoveStale => f.write_str("removing the stale socket file"),
            Step::Socket => f.write_str("creating the socket"),
            Step::Bind => f.write_str("binding the socket"),
            Step::Chown { owner, group } => {
                let id = |v: &Option<u32>| v.map_or("unchanged".to_owned(), |v| v.to_string());
                write!(
                    f,
                    "giving the socket file to owner {} and group {} (fchownat)",
                    id(owner),
                    id(group)
                )
            }
            Step::Chmod { mode } => {
                write!(f, "setting the socket file's mode to {mode:o} (fchmodat)")
            }
            Step::Listen => f.write_str("listening"),
            Step::PrivateDir { dir } => {
                write!(
                    f,
                    "creating the private directory {}",
                    Escaped(dir.display())
                )
            }
            Step::Link => f.write_str("linking the socket file into place"),
        }
    }
}

impl Step {
    fn fix(&self, error: &io::Error) -> String {
        match (self, error.kind(), error.raw_os_error()) {
            (Step::Chown { .. }, io::ErrorKind::PermissionDenied, _) => "giving a file to another user needs root or CAP_CHOWN (AmbientCapabilities=CAP_CHOWN in the unit), and a group needs this user to be in it; or let systemd make the socket (SocketUser=/SocketGroup= in a .socket unit)".to_owned(),
            (Step::Bind, io::ErrorKind::InvalidInput, _) | (_, _, Some(libc::ENAMETOOLONG)) => "the path is too long for a Unix socket address (108 bytes on Linux, 104 on macOS and the BSDs); choose a shorter one".to_owned(),
            (Step::Bind | Step::Link, io::ErrorKind::AddrInUse | io::ErrorKind::AlreadyExists, _) => "a file appeared at the path after it was checked: another instance is starting; start one at a time".to_owned(),
            (_, _, Some(libc::EROFS)) => "the file system is read-only; put the socket under /run".to_owned(),
            _ => "see the OS error above".to_owned(),
        }
    }
}

/// One socket that could not be had.
#[derive(Debug)]
pub struct BindFailure {
    /// The planned socket that failed; `None` for a failure that concerns
    /// no planned socket (an inherited one that matches no endpoint, or the
    /// activation environment itself).
    socket: Option<Planned>,
    cause: Cause,
}

/// Which planned socket failed.
#[derive(Debug)]
struct Planned {
    endpoint: QualifiedName,
    transport: Transport,
    target: BindTarget,
}

/// Where a planned socket was to be: an IP socket address, or a Unix
/// socket's path or abstract name. `Display` is the address or the path
/// as the plan's table writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindTarget {
    /// An IP socket address.
    Ip(SocketAddr),
    /// A Unix socket's path or abstract name.
    Unix(UnixPath),
}

impl fmt::Display for BindTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindTarget::Ip(a) => write!(f, "{a}"),
            BindTarget::Unix(p) => write!(f, "{p}"),
        }
    }
}

impl BindFailure {
    pub(crate) fn new(ep: &PlannedEndpoint, addr: SocketAddr, cause: Cause) -> BindFailure {
        BindFailure::at(ep, BindTarget::Ip(addr), cause)
    }

    pub(crate) fn at(ep: &PlannedEndpoint, target: BindTarget, cause: Cause) -> BindFailure {
        BindFailure {
            socket: Some(Planned {
                endpoint: ep.qualified(),
                transport: ep.transport(),
                target,
            }),
            cause,
        }
    }

    /// This failure as the predecessor of an upgrade (process `pid`)
    /// causes it, where it does: an address in use, or a live Unix socket
    /// at the path, where `held` says the predecessor keeps a socket this
    /// spec did not take as it was.
    #[cfg(unix)]
    pub(crate) fn blame_predecessor(
        self,
        held: impl Fn(Transport, &BindTarget) -> bool,
        pid: u32,
    ) -> BindFailure {
        if !self
            .socket
            .as_ref()
            .is_some_and(|s| held(s.transport, &s.target))
        {
            return self;
        }
        let cause = match self.cause {
            Cause::Os {
                error,
                holder: None,
                own: None,
                ..
            } if error.kind() == io::ErrorKind::AddrInUse => Cause::PredecessorHolds { error, pid },
            Cause::Unix(UnixError::Live { path, .. }) => {
                Cause::Unix(UnixError::PredecessorHolds { path, pid })
            }
            cause => cause,
        };
        BindFailure {
            socket: self.socket,
            cause,
        }
    }

    /// This failure blamed on the socket `closed` had at its address, if
    /// the address is in use and is one of `held`: a change closed that
    /// socket and the server still holds it.
    #[cfg(feature = "watch")]
    pub(crate) fn blame_closed(self, held: &[(QualifiedName, SocketAddr)]) -> BindFailure {
        let Some((closed, _)) = held.iter().find(|(_, a)| Some(*a) == self.addr()) else {
            return self;
        };
        let cause = match self.cause {
            Cause::Os { error, .. } if error.kind() == io::ErrorKind::AddrInUse => {
                Cause::ClosedStillOpen {
                    error,
                    closed: closed.clone(),
                }
            }
            cause => cause,
        };
        BindFailure {
            socket: self.socket,
            cause,
        }
    }

    pub(crate) fn inherited(cause: Cause) -> BindFailure {
        BindFailure {
            socket: None,
            cause,
        }
    }

    pub(crate) fn activation(e: ActivationError) -> BindFailure {
        BindFailure::inherited(Cause::Activation(e))
    }

    /// The endpoint; `None` for an inherited socket that matches none.
    pub fn endpoint(&self) -> Option<&QualifiedName> {
        self.socket.as_ref().map(|s| &s.endpoint)
    }
    /// The IP address that failed; `None` for a Unix socket (see
    /// [`BindFailure::target`]) or a failure of no planned socket.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.target()? {
            BindTarget::Ip(a) => Some(*a),
            BindTarget::Unix(_) => None,
        }
    }
    /// The planned socket that failed: its IP address or Unix path.
    pub fn target(&self) -> Option<&BindTarget> {
        self.socket.as_ref().map(|s| &s.target)
    }
    /// The transport of the socket that failed.
    pub fn transport(&self) -> Option<Transport> {
        self.socket.as_ref().map(|s| s.transport)
    }
    /// Why.
    pub fn cause(&self) -> &Cause {
        &self.cause
    }
    /// The OS error, when the OS refused.
    pub fn os_error(&self) -> Option<&io::Error> {
        match &self.cause {
            Cause::Os { error, .. }
            | Cause::PassedNotTaken { error, .. }
            | Cause::PredecessorHolds { error, .. }
            | Cause::ClosedStillOpen { error, .. } => Some(error),
            Cause::Unix(e) => e.os_error(),
            _ => None,
        }
    }
    /// What to do about it.
    pub fn hint(&self) -> String {
        let ip = self.socket.as_ref().and_then(|s| match s.target {
            BindTarget::Ip(a) => Some((s.transport, a)),
            BindTarget::Unix(_) => None,
        });
        self.cause.hint_for(ip)
    }
}

impl fmt::Display for BindFailure {
    /// The socket, the cause (an OS error included: this is read by people,
    /// so causes are printed rather than chained as a `source`), the fix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.socket {
            write!(f, "{}: {} {}: ", s.endpoint, s.transport, s.target)?;
        }
        write!(f, "{}\n  fix: {}", self.cause, self.hint())
    }
}

impl std::error::Error for BindFailure {}

/// Every socket that could not be had; nothing was left bound.
///
/// ```
/// use listenspec::{Host, ListenSpec};
///
/// let busy = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = busy.local_addr()?;
/// let spec: ListenSpec = format!("local = 127.0.0.1 expose=local\nlocal.web = http:{}", addr.port()).parse()?;
/// let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
/// let err = spec.plan(&host)?.bind_inherited(Vec::new()).unwrap_err();
/// let failure = &err.failures()[0];
/// assert_eq!(failure.endpoint().unwrap().to_string(), "local.web");
/// assert_eq!(failure.addr(), Some(addr));
/// assert!(err.to_string().contains("another process holds it"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BindError {
    failures: Vec<BindFailure>,
}

impl BindError {
    pub(crate) fn new(failures: Vec<BindFailure>) -> BindError {
        BindError { failures }
    }
    /// Each failure with [`BindFailure::blame_closed`].
    #[cfg(feature = "watch")]
    pub(crate) fn blame_closed(self, held: &[(QualifiedName, SocketAddr)]) -> BindError {
        let failures = self
            .failures
            .into_iter()
            .map(|f| f.blame_closed(held))
            .collect();
        BindError { failures }
    }
    /// The failures, in the order they happened.
    pub fn failures(&self) -> &[BindFailure] {
        &self.failures
    }
}

crate::debug_is_message!(BindError { failures });

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

/// Why [`Bound::take`](crate::Bound::take) handed out no sockets; each
/// names the endpoint asked for. Every refusal but `Tokio` leaves the
/// endpoint in [`Bound`](crate::Bound), to take as another type.
///
/// ```
/// use listenspec::bind::TakeError;
/// use std::net::{TcpListener, UdpSocket};
///
/// let spec = "local = 127.0.0.1; local.dns = udp:0; local.web = http:0".parse()?;
/// let mut bound = listenspec::bind_all(&spec)?;
/// let err = bound.take::<Vec<TcpListener>>("local", "dns").unwrap_err();
/// assert!(matches!(err, TakeError::WrongTransport { .. }));
/// assert_eq!(err.to_string(), "endpoint local.dns is udp, not tcp");
/// let _dns: Vec<UdpSocket> = bound.take("local", "dns")?;
///
/// let _web: Vec<TcpListener> = bound.take("local", "web")?;
/// let err = bound.take::<Vec<TcpListener>>("local", "web").unwrap_err();
/// assert_eq!(err.to_string(), "endpoint local.web was taken already: each endpoint's sockets are handed out once");
///
/// let err = bound.take::<Vec<TcpListener>>("local", "wbe").unwrap_err();
/// assert_eq!(err.to_string(), "no endpoint local.wbe (did you mean local.web?); the spec has local.dns, local.web");
/// // What `main` returning it prints is the message; `{:#?}` the fields.
/// assert_eq!(format!("{err:?}"), err.to_string());
/// assert!(format!("{err:#?}").starts_with("NotFound {\n    network: \"local\","));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
pub enum TakeError {
    /// The spec has no endpoint of that name.
    NotFound {
        /// The network asked for.
        network: String,
        /// The endpoint asked for.
        name: String,
        /// The endpoints the spec has, taken or not.
        endpoints: Vec<QualifiedName>,
    },
    /// The endpoint is of another transport than the type asked for takes.
    WrongTransport {
        /// The endpoint.
        endpoint: QualifiedName,
        /// Its transport.
        found: Transport,
        /// The transports the type asked for can be made from.
        wanted: &'static [Transport],
    },
    /// The endpoint's sockets were handed out before.
    Taken {
        /// The endpoint.
        endpoint: QualifiedName,
    },
    /// A tokio type was asked for outside a tokio runtime, which
    /// registering its sockets needs.
    NoRuntime {
        /// The endpoint.
        endpoint: QualifiedName,
    },
    /// A socket could not be made non-blocking or registered with tokio;
    /// the endpoint's sockets are closed.
    Tokio {
        /// The endpoint.
        endpoint: QualifiedName,
        /// The OS error.
        error: io::Error,
    },
    /// [`Bound::check_all_taken`](crate::Bound::check_all_taken): endpoints
    /// bound that the server did not take, whose sockets nothing serves.
    NotTaken {
        /// The endpoints left.
        endpoints: Vec<QualifiedName>,
        /// The endpoints the server took.
        taken: Vec<QualifiedName>,
    },
}

impl fmt::Display for TakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TakeError::NotFound {
                network,
                name,
                endpoints,
            } => {
                let wanted = format!("{network}.{name}");
                write!(f, "no endpoint {wanted}")?;
                let all: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
                let near = closest(&wanted, all.iter().map(String::as_str));
                if let Some(near) = near {
                    write!(f, " (did you mean {near}?)")?;
                }
                write!(f, "; the spec has {}", capped(&all, ", "))?;
                // One address alone is a whole spec of one network, which
                // has none of the networks the server takes.
                if !endpoints.is_empty()
                    && endpoints
                        .iter()
                        .all(|q| is_one_address_network(q.network().as_str()))
                {
                    write!(
                        f,
                        "; one address alone (127.0.0.1:8080, :8080, http://0.0.0.0:8080) is a whole spec of its own network, {SHORTHAND_NETWORK}: to give the server its {wanted}, write that endpoint's statements instead ({network} = ADDRESS and {wanted} = http:PORT)"
                    )?;
                } else if near.is_none() {
                    // A config written before the server served it.
                    if endpoints.iter().any(|q| q.network().as_str() == network) {
                        write!(f, "; to serve it, add `{wanted} = http:PORT` to the spec")?;
                    } else {
                        write!(
                            f,
                            "; to serve it, add its network and endpoint to the spec: `{network} = ADDRESSES` and `{wanted} = http:PORT`"
                        )?;
                    }
                }
                Ok(())
            }
            TakeError::WrongTransport {
                endpoint,
                found,
                wanted,
            } => write!(f, "endpoint {endpoint} is {found}, not {}", either(wanted)),
            TakeError::Taken { endpoint } => write!(
                f,
                "endpoint {endpoint} was taken already: each endpoint's sockets are handed out once"
            ),
            TakeError::NoRuntime { endpoint } => write!(
                f,
                "endpoint {endpoint}: tokio sockets can only be made inside a tokio runtime; take them in async code, or inside Runtime::block_on or Runtime::enter"
            ),
            TakeError::Tokio { endpoint, error } => write!(
                f,
                "endpoint {endpoint}: a socket could not be handed to tokio: {error}"
            ),
            TakeError::NotTaken { endpoints, taken } => {
                write!(
                    f,
                    "{} bound, but this server serves no such endpoint (it serves {}), so clients that connect there wait for an answer that never comes; remove it from the spec",
                    names(endpoints),
                    match taken.is_empty() {
                        true => "none".to_owned(),
                        false => names(taken),
                    }
                )?;
                // A one-address `--listen` over a config is a network of
                // its own, which this server does not know.
                let one_address = endpoints
                    .iter()
                    .filter(|q| is_one_address_network(q.network().as_str()));
                let (mut any, mut unix) = (false, false);
                for q in one_address {
                    any = true;
                    unix |= q.endpoint().as_str().starts_with("unix");
                }
                if any {
                    let (net, ep) = (
                        taken.first().map_or("NETWORK", |q| q.network().as_str()),
                        taken.first().map_or("ENDPOINT", |q| q.endpoint().as_str()),
                    );
                    write!(
                        f,
                        "; a one-address value (--listen or $LISTEN 127.0.0.1:8282) over a config adds network {SHORTHAND_NETWORK} beside the config's: to move an endpoint the server serves, give its statement (--listen '{net}.{ep} = http:8282'"
                    )?;
                    // A path: the network becomes one of Unix sockets.
                    if unix {
                        write!(
                            f,
                            ", or to a Unix socket --listen '{net} = unix; {net}.{ep} = http:/PATH/TO.sock'"
                        )?;
                    }
                    f.write_str("; so too in $LISTEN)")?;
                }
                Ok(())
            }
        }
    }
}

/// `{:?}` is the message, as `main` returning this error prints it;
/// `{:#?}` the variant's fields.
impl fmt::Debug for TakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        match self {
            TakeError::NotFound {
                network,
                name,
                endpoints,
            } => f
                .debug_struct("NotFound")
                .field("network", network)
                .field("name", name)
                .field("endpoints", endpoints)
                .finish(),
            TakeError::WrongTransport {
                endpoint,
                found,
                wanted,
            } => f
                .debug_struct("WrongTransport")
                .field("endpoint", endpoint)
                .field("found", found)
                .field("wanted", wanted)
                .finish(),
            TakeError::Taken { endpoint } => {
                f.debug_struct("Taken").field("endpoint", endpoint).finish()
            }
            TakeError::NoRuntime { endpoint } => f
                .debug_struct("NoRuntime")
                .field("endpoint", endpoint)
                .finish(),
            TakeError::Tokio { endpoint, error } => f
                .debug_struct("Tokio")
                .field("endpoint", endpoint)
                .field("error", error)
                .finish(),
            TakeError::NotTaken { endpoints, taken } => f
                .debug_struct("NotTaken")
                .field("endpoints", endpoints)
                .field("taken", taken)
                .finish(),
        }
    }
}

impl std::error::Error for TakeError {}
