//! systemd socket activation: sockets the service manager bound for us.
//!
//! The protocol is `sd_listen_fds(3)`
//! (<https://www.freedesktop.org/software/systemd/man/latest/sd_listen_fds.html>):
//! `LISTEN_PID` names the process the sockets are for, `LISTEN_FDS` counts
//! them from fd 3, `LISTEN_FDNAMES` names them, colon-separated. The
//! environment is only read, never changed: removing the variables, as C
//! code does, is unsound in a multi-threaded Rust program.
//!
//! The environment is not trusted: the count is bounded by the descriptor
//! limit before anything is allocated, and every announced descriptor is
//! checked to be a socket that came across exec (not close-on-exec, as
//! every descriptor std and this crate open is) before any is wrapped into
//! an owning type, so a wrong count never takes, or closes, a file or a
//! socket the application opened.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
#[cfg(unix)]
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::error::{ActivationError, Disagreement};
#[cfg(unix)]
use super::error::{Descriptor, FileKind};
use crate::plan::Bind;
use crate::spec::{EndpointOptions, Transport};
#[cfg(unix)]
use crate::sys;

/// The first inherited descriptor, `SD_LISTEN_FDS_START`.
#[cfg(unix)]
const FIRST_FD: i32 = 3;

/// The name of a socket passed without one: what `sd_listen_fds_with_names(3)`
/// calls it when `LISTEN_FDNAMES` is not set.
pub(crate) const UNNAMED: &str = "unknown";

/// The variable that tells a successor its sockets come from a
/// predecessor (`crate::handoff`, and which of them carry their socket file
/// along): sockets its spec no longer has are then closed, not refused.
#[cfg(any(unix, feature = "handoff"))]
pub(crate) const HANDOFF_VAR: &str = "LISTENSPEC_HANDOFF";

/// One socket the service manager passed in.
#[derive(Debug)]
pub struct Inherited {
    /// Its name from `LISTEN_FDNAMES` (`unknown` when unnamed, as systemd does).
    pub name: String,
    /// Its descriptor number.
    pub fd: i32,
    pub(crate) socket: Socket,
    /// TCP or UDP for an IP socket of either, `unix` or `unixgram` for a
    /// Unix stream or datagram socket; `None` for anything else.
    pub transport: Option<Transport>,
    /// Its local address, for an IP socket.
    pub addr: Option<SocketAddr>,
    local: Option<SockAddr>,
    ty: Option<Type>,
    kernel: Kernel,
    /// Handed over by a predecessor process (`crate::handoff`), not a
    /// service manager: a socket the plan no longer has is closed, not
    /// refused, and a Unix socket's file (its device and inode) becomes
    /// this process's to remove.
    pub(crate) predecessor: Option<Predecessor>,
}

/// What a predecessor said of one socket it handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Predecessor {
    /// The socket file's device and inode, for a Unix socket whose file
    /// goes along.
    pub(crate) file: Option<(u64, u64)>,
    /// Where that file is, to remove it when this process's spec has the
    /// socket no more.
    pub(crate) path: Option<std::path::PathBuf>,
}

impl Inherited {
    /// Wraps an already-owned socket, as the bind tests and other service
    /// managers' glue do. Unix only: the descriptor number is what names an
    /// inherited socket in messages.
    ///
    /// ```
    /// use listenspec::bind::Inherited;
    /// use listenspec::{Host, ListenSpec};
    ///
    /// // A listening socket some other part of the process was handed.
    /// let given = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = given.local_addr()?.port();
    /// let spec: ListenSpec = format!("local = 127.0.0.1 expose=local\nlocal.web = http:{port}").parse()?;
    /// let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
    /// let inherited = Inherited::new("local.web", socket2::Socket::from(given));
    /// let bound = spec.plan(&host)?.bind_inherited(vec![inherited])?;
    /// assert_eq!(bound.endpoint("local", "web").unwrap().sockets()[0].inherited(), Some("local.web"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(unix)]
    pub fn new(name: impl Into<String>, socket: Socket) -> Inherited {
        let local = socket.local_addr().ok();
        let addr = local.as_ref().and_then(SockAddr::as_socket);
        let ty = socket.r#type().ok();
        let kernel = Kernel::read(&socket, addr);
        let unix = local.as_ref().is_some_and(|l| l.domain() == Domain::UNIX);
        let transport = match (addr, ty, kernel.protocol) {
            (Some(_), Some(Type::STREAM), None | Some(Protocol::TCP)) => Some(Transport::Tcp),
            (Some(_), Some(Type::DGRAM), None | Some(Protocol::UDP)) => Some(Transport::Udp),
            (None, Some(Type::STREAM), _) if unix => Some(Transport::UnixStream),
            (None, Some(Type::DGRAM), _) if unix => Some(Transport::UnixDatagram),
            _ => None,
        };
        Inherited {
            name: name.into(),
            fd: socket.as_raw_fd(),
            socket,
            transport,
            addr,
            local,
            ty,
            kernel,
            predecessor: None,
        }
    }

    /// Wraps an already-owned socket that came without a name, as the
    /// listenfd convention (`systemfd`) and `systemd-socket-activate`
    /// without `--fdname` pass them: it is named `unknown`, as systemd's
    /// `sd_listen_fds_with_names(3)` names it, and a bind takes it for the
    /// one planned socket whose address (or Unix path) and transport it
    /// has, if exactly one has them and that one is given no other.
    ///
    /// ```
    /// use listenspec::bind::Inherited;
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let given = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = given.local_addr()?.port();
    /// let spec: ListenSpec = format!("local = 127.0.0.1 expose=local\nlocal.web = http:{port}").parse()?;
    /// let host = Host::builder().interface("lo", 1, ["127.0.0.1/8"]).build()?;
    /// let inherited = Inherited::unnamed(socket2::Socket::from(given));
    /// assert!(!inherited.is_named());
    /// let bound = spec.plan(&host)?.bind_inherited(vec![inherited])?;
    /// assert_eq!(bound.endpoint("local", "web").unwrap().sockets()[0].inherited(), Some("unknown"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(unix)]
    pub fn unnamed(socket: Socket) -> Inherited {
        Inherited::new(UNNAMED, socket)
    }

    /// Whether it came with a name. A socket named `unknown` did not:
    /// that is the name systemd gives a socket passed without one, so no
    /// unit can mean it as a name of its own.
    pub fn is_named(&self) -> bool {
        self.name != UNNAMED
    }

    /// A second descriptor for the same socket (`dup(2)` through socket2,
    /// close-on-exec), named by the original's number, so a bind that may
    /// be tried again can hand one over and keep the socket: a failed bind
    /// closes what it was given.
    pub(crate) fn duplicate(&self) -> io::Result<Inherited> {
        Ok(Inherited {
            name: self.name.clone(),
            fd: self.fd,
            socket: self.socket.try_clone()?,
            transport: self.transport,
            addr: self.addr,
            local: self.local.clone(),
            ty: self.ty,
            kernel: self.kernel.clone(),
            predecessor: self.predecessor.clone(),
        })
    }

    /// How the socket reads in messages: `tcp 127.0.0.1:8080`, or for
    /// anything but a TCP or UDP socket what it is instead, such as
    /// `unix socket /run/x.sock (stream)`.
    pub fn describe(&self) -> String {
        if let (Some(t), Some(a)) = (self.transport, self.addr) {
            return format!("{t} {a}");
        }
        let ty = match self.ty {
            Some(Type::STREAM) => "stream".to_owned(),
            Some(Type::DGRAM) => "datagram".to_owned(),
            Some(Type::SEQPACKET) => "seqpacket".to_owned(),
            Some(Type::RAW) => "raw".to_owned(),
            Some(other) => format!("type {}", i32::from(other)),
            None => "unknown type".to_owned(),
        };
        let Some(local) = &self.local else {
            return format!("socket without a local address ({ty})");
        };
        if let Some(a) = self.addr {
            let family = if a.is_ipv4() { "IPv4" } else { "IPv6" };
            let proto = self
                .kernel
                .protocol
                .map_or(String::new(), |p| format!(", protocol {}", i32::from(p)));
            return format!("{family} socket {a} ({ty}{proto})");
        }
        if local.domain() != Domain::UNIX {
            return format!("socket of address family {} ({ty})", local.family());
        }
        #[cfg(unix)]
        match (local.as_pathname(), local.as_abstract_namespace()) {
            (Some(path), _) => {
                use std::os::unix::ffi::OsStrExt;
                format!(
                    "unix socket {} ({ty})",
                    escaped(path.as_os_str().as_bytes())
                )
            }
            (_, Some(name)) => format!("unix socket @{} ({ty})", escaped(name)),
            _ => format!("unnamed unix socket ({ty})"),
        }
        #[cfg(not(unix))]
        format!("unix socket ({ty})")
    }

    /// The path or abstract name of a Unix socket.
    #[cfg(unix)]
    pub(crate) fn unix_path(&self) -> Option<crate::spec::UnixPath> {
        crate::bind::unix::path_of(self.local.as_ref()?)
    }

    /// How this socket, already found at `bind`'s address (or the Unix
    /// socket's path, with no `bind`) with the right transport, differs
    /// from the one the plan would open there. Only what the kernel can
    /// report is compared.
    pub(crate) fn disagreements(
        &self,
        transport: Transport,
        options: &EndpointOptions,
        bind: Option<&Bind>,
        beside_ipv4: bool,
    ) -> Vec<Disagreement> {
        let mut why = Vec::new();
        if transport.is_stream() && self.kernel.listening == Some(false) {
            why.push(Disagreement::NotListening {
                peer: self.kernel.peer,
            });
        }
        let Some(bind) = bind else {
            return why;
        };
        // The crate's own `[::]` sockets always set IPV6_V6ONLY, to the
        // endpoint's option or else on; an inherited one must match, or a
        // v6-only endpoint would silently serve IPv4 too.
        let expected = options.v6only.unwrap_or(true);
        if bind.addr().ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            && let Some(found) = self.kernel.v6only
            && found != expected
        {
            why.push(Disagreement::V6Only {
                expected,
                beside_ipv4,
            });
        }
        // SO_REUSEPORT is not compared: systemfd sets it on every socket it
        // passes (so that a reloaded server can bind beside it), and a
        // process of the same user, the only one it lets share the port,
        // can take the socket itself anyway (pidfd_getfd, ptrace).
        // Linux pins a socket bound to a link-local address to its scope's
        // interface, as if by SO_BINDTODEVICE: that device is the
        // address's own, not a BindToDevice= the plan lacks.
        let scoped = match bind.addr() {
            SocketAddr::V6(a) => a.scope_id() != 0,
            SocketAddr::V4(_) => false,
        };
        let own = |found: &Option<String>| {
            scoped && bind.device().is_none() && found.as_deref() == bind.interface()
        };
        if let Some(found) = &self.kernel.device
            && found.as_deref() != bind.device()
            && !own(found)
        {
            why.push(Disagreement::Device {
                expected: bind.device().map(str::to_owned),
                found: found.clone(),
            });
        }
        why
    }
}

/// A socket's path or abstract name as a person reads it: its UTF-8 as it
/// is, each byte that is not UTF-8 as `\xNN` (and `\` as `\\`, so an
/// escape cannot be confused with text). Lossy conversion would print
/// `\xff` and `\u{FFFD}` alike, and two sockets as one. A control
/// character is escaped (`\n`, `\u{1b}`), and so is an invisible or
/// bidirectional one: whoever named the socket must not write lines or
/// terminal escapes into the error.
#[cfg(unix)]
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.extend(c.escape_debug()),
                c if crate::is_unprintable(c) => out.extend(c.escape_unicode()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// How the socket file at an inherited Unix socket's planned path differs
/// from the file the plan would make there: its mode, owner and group
/// against the endpoint's `mode=`, `owner=` and `group=` (an option not
/// given accepts anything). The unit made the file (systemd's `SocketMode=`
/// is 0666 unless set), and this is the file clients reach, so a wider mode
/// than the spec's would serve users the spec keeps out. `lstat(2)`
/// through `symlink_metadata`: a symbolic link there is not the socket
/// file, whatever it points to; on Linux, neither is a socket file other
/// than the one `socket` made (sock_diag(7) names its inode): that one was
/// removed, and whoever made the new one there chose its mode and owner,
/// and takes the clients. That the file is the socket's is checked
/// whether or not the endpoint asks for any of the three; nothing is
/// looked at for an abstract name.
///
/// A predecessor's file (`fresh`) is held to what this spec's own bind
/// would make even where an option is not given: no permission bit the
/// umask would clear, this process's user, its group or the directory's.
/// An upgrade that drops `mode=666` or `group=` makes no wider file
/// stay.
#[cfg(unix)]
pub(crate) fn file_disagreements(
    socket: &Socket,
    u: &crate::plan::UnixBind,
    options: &EndpointOptions,
    fresh: bool,
) -> Vec<Disagreement> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Some(path) = u.path().file() else {
        return Vec::new();
    };
    let (owner, group) = (
        options.owner.as_ref().zip(u.owner()),
        options.group.as_ref().zip(u.group()),
    );
    let no_file = |found| {
        vec![Disagreement::NoSocketFile {
            path: path.to_owned(),
            found,
        }]
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() && !is_another_sockets(socket, &m) => m,
        Ok(m) if m.file_type().is_socket() => return no_file(Some(FileKind::AnotherSocket)),
        Ok(m) => return no_file(Some(sys::FileType::of_mode(m.mode()).into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return no_file(None),
        Err(e) => {
            return no_file(Some(FileKind::Unreadable {
                errno: e.raw_os_error().unwrap_or(0),
            }));
        }
    };
    let mut why = Vec::new();
    // Only the permission bits: mode= cannot say set-id or sticky bits.
    let found = meta.mode() & 0o777;
    if let Some(expected) = options.mode.filter(|&m| m != found) {
        why.push(Disagreement::FileMode {
            path: path.to_owned(),
            found,
            expected,
        });
    }
    if let Some((account, expected)) = owner.filter(|&(_, id)| id != meta.uid()) {
        why.push(Disagreement::FileOwner {
            path: path.to_owned(),
            found: meta.uid(),
            expected,
            account: account.clone(),
        });
    }
    if let Some((account, expected)) = group.filter(|&(_, id)| id != meta.gid()) {
        why.push(Disagreement::FileGroup {
            path: path.to_owned(),
            found: meta.gid(),
            expected,
            account: account.clone(),
        });
    }
    if fresh && wider_than_fresh(path, &meta, options) {
        why.push(Disagreement::WiderThanFresh {
            path: path.to_owned(),
            mode: found,
            uid: meta.uid(),
            gid: meta.gid(),
        });
    }
    why
}

/// Whether a socket file gives more than this process's own bind of it
/// would, in what the endpoint's options leave to the OS.
#[cfg(unix)]
fn wider_than_fresh(
    path: &std::path::Path,
    meta: &std::fs::Metadata,
    options: &EndpointOptions,
) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mode = options.mode.is_none()
        && sys::umask().is_some_and(|umask| meta.mode() & 0o777 & umask != 0);
    let owner = options.owner.is_none() && meta.uid() != sys::effective_uid();
    // A file takes the directory's group where it is set-group-ID on
    // Linux, always on the BSDs and macOS.
    let dirs_group = |dir: &std::fs::Metadata| {
        let inherits =
            !cfg!(any(target_os = "linux", target_os = "android")) || dir.mode() & 0o2000 != 0;
        inherits && dir.gid() == meta.gid()
    };
    let group = options.group.is_none()
        && meta.gid() != sys::effective_gid()
        && !path
            .parent()
            .and_then(|dir| std::fs::metadata(dir).ok())
            .is_some_and(|dir| dirs_group(&dir));
    mode || owner || group
}

/// Whether the socket file `found` is not the one `socket` was bound to.
/// Where the kernel cannot say (no sock_diag, or not Linux), it is taken
/// to be, as the path alone showed before.
#[cfg(unix)]
fn is_another_sockets(socket: &Socket, found: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    made_by(socket, found.dev(), found.ino()) == Some(false)
}

/// Whether `socket` made the file of device `dev` and inode `ino` when it
/// was bound: a predecessor's word that it did is taken only where the
/// kernel confirms it (sock_diag on Linux), since whoever can set the
/// handoff variable could name any socket file, a live one of another
/// process among them. Where the kernel cannot say, the file is not the
/// socket's, and stays.
#[cfg(unix)]
pub(crate) fn made_file(socket: &Socket, dev: u64, ino: u64) -> bool {
    made_by(socket, dev, ino) == Some(true)
}

/// Whether `socket` made the file of device `dev` and inode `ino`, as the
/// kernel says (sock_diag); `None` where it cannot say: no `unix_diag`, no
/// file (an abstract name), or not Linux.
#[cfg(unix)]
fn made_by(socket: &Socket, dev: u64, ino: u64) -> Option<bool> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            let made = super::sock_diag::socket_file(socket).ok().flatten()?;
            Some(made.is_at(dev, ino))
        } else {
            let _ = (socket, dev, ino);
            None
        }
    }
}

/// What the kernel says about a socket beyond its address and type; `None`
/// where this OS cannot say.
#[derive(Debug, Clone, Default)]
struct Kernel {
    protocol: Option<Protocol>,
    listening: Option<bool>,
    peer: Option<SocketAddr>,
    v6only: Option<bool>,
    /// `Some(None)`: the kernel says the socket is pinned to no device.
    device: Option<Option<String>>,
}

impl Kernel {
    #[cfg(unix)]
    fn read(socket: &Socket, addr: Option<SocketAddr>) -> Kernel {
        let mut k = Kernel {
            peer: socket.peer_addr().ok().and_then(|a| a.as_socket()),
            // IPV6_V6ONLY: ipv6(7); IPv4 sockets have no such option.
            v6only: addr
                .filter(SocketAddr::is_ipv6)
                .and_then(|_| socket.only_v6().ok()),
            ..Kernel::default()
        };
        read_linux_only(socket, &mut k);
        k
    }
}

/// SO_PROTOCOL, SO_ACCEPTCONN and SO_BINDTODEVICE: socket(7),
/// <https://man7.org/linux/man-pages/man7/socket.7.html>.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_linux_only(socket: &Socket, k: &mut Kernel) {
    k.protocol = socket.protocol().ok().flatten();
    k.listening = socket.is_listener().ok();
    k.device = socket
        .device()
        .ok()
        .map(|d| d.map(|d| String::from_utf8_lossy(&d).into_owned()));
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
fn read_linux_only(_: &Socket, _: &mut Kernel) {}

/// What the environment says, before any descriptor is touched.
#[cfg(unix)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Announced {
    pub(crate) count: usize,
    /// Empty when unnamed, else exactly `count` names: never one allocation
    /// per announced descriptor, whatever the count says.
    names: Vec<String>,
}

#[cfg(unix)]
impl Announced {
    pub(crate) fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or(UNNAMED, String::as_str)
    }
}

/// Reads the three variables, given `LISTEN_PID` and `LISTEN_FDS`; `None`
/// when they are meant for another process. `fd_limit` is the soft
/// `RLIMIT_NOFILE`. Pure, so it is tested without touching descriptors or
/// the environment.
#[cfg(unix)]
pub(crate) fn announced(
    pid: u32,
    for_pid: &str,
    count: &str,
    names: Option<&str>,
    fd_limit: u64,
) -> Result<Option<Announced>, ActivationError> {
    let for_pid: u32 = for_pid
        .trim()
        .parse()
        .map_err(|_| ActivationError::BadPid {
            found: for_pid.to_owned(),
        })?;
    if for_pid != pid {
        return Ok(None);
    }
    let count = bounded_count(count, fd_limit)?;
    let names: Vec<String> = match names {
        Some(n) if !n.is_empty() => {
            let given = n.split(':').count();
            if given != count {
                return Err(ActivationError::NamesMismatch {
                    names: given,
                    count,
                });
            }
            n.split(':').map(str::to_owned).collect()
        }
        _ => Vec::new(),
    };
    Ok(Some(Announced { count, names }))
}

/// Sockets announced but not for this process: `LISTEN_FDS` set while
/// `LISTEN_PID` is absent (`systemfd --no-pid`) or names another process
/// (a program in between, such as `cargo watch`, that did not exec). Such
/// sockets are never taken, but they are still open in this process, and
/// one of them likely holds the address a bind is then refused; an error
/// that blamed another process would send the reader looking in vain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotTaken {
    /// `LISTEN_FDS` as found.
    pub(crate) listen_fds: String,
    /// `LISTEN_PID` as found; `None` when it is not set.
    pub(crate) listen_pid: Option<String>,
    /// This process's id.
    pub(crate) pid: u32,
}

/// [`NotTaken`] from the environment, read only when a bind was refused
/// (the usual start-up never asks).
#[cfg(unix)]
pub(crate) fn not_taken() -> Option<NotTaken> {
    let var = |k: &str| std::env::var(k).ok();
    not_taken_from(
        std::process::id(),
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
    )
}

/// Off Unix nothing is ever passed.
#[cfg(not(unix))]
pub(crate) fn not_taken() -> Option<NotTaken> {
    None
}

/// [`not_taken`] given the variables: pure, so it is tested without the
/// environment. A `LISTEN_FDS` of 0, or one that is no count, announces no
/// socket that could hold an address.
#[cfg(unix)]
fn not_taken_from(
    pid: u32,
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
) -> Option<NotTaken> {
    let fds = listen_fds?;
    if fds.trim().parse::<u64>().map_or(true, |n| n == 0) {
        return None;
    }
    if listen_pid.is_some_and(|p| p.trim().parse::<u32>() == Ok(pid)) {
        return None;
    }
    Some(NotTaken {
        listen_fds: fds.to_owned(),
        listen_pid: listen_pid.map(str::to_owned),
        pid,
    })
}

/// `LISTEN_FDS` as a count whose descriptors, numbered from 3, this process
/// can have: below its limit, and within the `int` that numbers them.
#[cfg(unix)]
fn bounded_count(found: &str, fd_limit: u64) -> Result<usize, ActivationError> {
    let digits = found.trim();
    let n = match digits.parse::<u64>() {
        Ok(n) => n,
        // All digits but past u64: too many, not garbage.
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => u64::MAX,
        Err(_)
            if digits
                .strip_prefix('-')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return Err(ActivationError::NegativeCount {
                found: found.to_owned(),
            });
        }
        Err(_) => {
            return Err(ActivationError::NotACount {
                found: found.to_owned(),
            });
        }
    };
    // The last, fd 2 + n, must be below the limit and within the int.
    let most = fd_limit
        .min(i32::MAX as u64)
        .saturating_sub(FIRST_FD as u64);
    usize::try_from(n)
        .ok()
        .filter(|_| n <= most)
        .ok_or_else(|| ActivationError::TooMany {
            found: found.to_owned(),
            limit: fd_limit,
        })
}

/// What descriptor `fd` is; `None` for a socket passed across exec.
#[cfg(unix)]
fn kind_of(fd: i32) -> Option<FileKind> {
    use sys::FileType;
    Some(match sys::file_type(fd) {
        Ok(FileType::Socket) if matches!(sys::is_cloexec(fd), Ok(true)) => FileKind::OwnSocket,
        Ok(FileType::Socket) => return None,
        Ok(t) => FileKind::from(t),
        Err(e) if sys::is_not_open(&e) => FileKind::NotOpen,
        Err(e) => FileKind::Unreadable {
            errno: e.raw_os_error().unwrap_or(0),
        },
    })
}

/// The announced descriptors that are not sockets. Stops at the first that
/// is not open: from there on the count is wrong, and listing every later
/// number up to the limit would say nothing more.
#[cfg(unix)]
fn not_sockets(announced: &Announced) -> Vec<Descriptor> {
    let mut found = Vec::new();
    for (i, fd) in (FIRST_FD..).take(announced.count).enumerate() {
        let Some(kind) = kind_of(fd) else { continue };
        found.push(Descriptor {
            fd,
            name: announced.name(i).to_owned(),
            kind,
            path: (kind != FileKind::NotOpen)
                .then(|| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok())
                .flatten(),
        });
        if kind == FileKind::NotOpen {
            break;
        }
    }
    found
}

/// Takes the sockets the service manager passed to this process, once per
/// process; later calls get none.
///
/// ```
/// // Not started by a service manager (`LISTEN_PID` is not this process):
/// // nothing to take, and nothing is read twice.
/// assert!(listenspec::bind::take_from_env()?.is_empty());
/// assert!(listenspec::bind::take_from_env()?.is_empty());
/// # Ok::<(), listenspec::bind::ActivationError>(())
/// ```
///
/// Nothing is taken unless every announced descriptor is a socket: when one
/// is a file, a pipe or not open, the error names it and every descriptor,
/// sockets included, is left open and untouched.
///
/// # Names, and `LISTEN_PID`
///
/// Each socket is named from `LISTEN_FDNAMES`; without it (the listenfd
/// convention: `systemfd`, `systemd-socket-activate` without `--fdname`)
/// each is `unknown`, as `sd_listen_fds_with_names(3)` says, and
/// [`crate::Plan::bind`] takes it for the one planned socket it sits on,
/// if exactly one (see [`Inherited::unnamed`]).
///
/// Sockets are taken only when `LISTEN_PID` is this process's id, as
/// `sd_listen_fds(3)` takes them, also when it is not set at all, which
/// the listenfd crate accepts (`systemfd --no-pid`): the variables are
/// inherited by every child, so a process started by an activated one, or
/// with an environment a parent left behind, would otherwise adopt
/// descriptors numbered from 3 that are some other code's. When a bind is
/// then refused an address (the passed socket still holds it), the error
/// says that `LISTEN_FDS` is set without this process's `LISTEN_PID` and
/// how to run the server instead, rather than blaming another process.
///
/// # Precondition
///
/// The announced descriptors (3 up to `2 + LISTEN_FDS`) must belong to no
/// one else in the process. This crate's own second take is prevented: a
/// later call, here or through [`crate::Plan::bind`], gets no sockets. But
/// it cannot know of another library (or code of the application) that
/// takes the same descriptors from the same environment; if one does, both
/// own them and each will close them. Take them through one library only,
/// or take them yourself and pass them to [`crate::Plan::bind_inherited`].
///
/// # Platforms
///
/// Socket activation is a Unix protocol (descriptors numbered from 3). On
/// other systems this reads nothing and returns no sockets, so
/// [`crate::Plan::bind`] opens every socket itself.
#[cfg(unix)]
pub fn take_from_env() -> Result<Vec<Inherited>, ActivationError> {
    // A value that is not UTF-8 is read with U+FFFD for its bad bytes, so
    // that it is the error its text is (no pid, no count, a name no
    // endpoint has), never taken for a variable not set.
    let var = |k: &str| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
    let (Some(for_pid), Some(count)) = (var("LISTEN_PID"), var("LISTEN_FDS")) else {
        // Not socket-activated, the usual start-up: nothing to ask the OS.
        return Ok(Vec::new());
    };
    let announced = announced(
        std::process::id(),
        &for_pid,
        &count,
        var("LISTEN_FDNAMES").as_deref(),
        // getrlimit fails only for a bad pointer or resource, neither
        // possible here; the `int` range of descriptors still bounds the count.
        sys::fd_limit().unwrap_or(u64::MAX),
    )?;
    let Some(announced) = announced else {
        return Ok(Vec::new());
    };
    // Set only by a predecessor handing its sockets over: which of the
    // sockets carry their socket file, `INDEX:DEV:INO` comma-separated,
    // then this process's id.
    let handoff = var(HANDOFF_VAR).and_then(|v| for_me(&v, std::process::id()).map(handed_files));
    let owned = match sys::claim_sockets(FIRST_FD, announced.count) {
        Ok(Some(owned)) => owned,
        Ok(None) => return Ok(Vec::new()),
        Err(sys::NotSockets) => {
            return Err(ActivationError::NotSockets {
                count: announced.count,
                descriptors: not_sockets(&announced),
            });
        }
    };
    owned
        .into_iter()
        .zip(FIRST_FD..)
        .enumerate()
        .map(|(i, (fd, number))| {
            let socket = Socket::from(fd);
            // Inherited descriptors come without close-on-exec; ours all have it.
            socket
                .set_cloexec(true)
                .map_err(|error| ActivationError::CloseOnExec { fd: number, error })?;
            let mut inherited = Inherited::new(announced.name(i), socket);
            inherited.predecessor = handoff.as_ref().map(|files| {
                let file = files.get(&i);
                Predecessor {
                    file: file.map(|f| (f.0, f.1)),
                    path: file.and_then(|f| f.2.clone()),
                }
            });
            Ok(inherited)
        })
        .collect()
}

/// What the handoff variable says of the sockets, when the process it
/// names (`…;PID`, written between fork and exec as `LISTEN_PID` is) is
/// `me`, this process. Any other value (a copy the successor left in the
/// environment of a process it started, a forged one, one of an older
/// version, which named its own id first) is no handoff, and every socket
/// passed is then checked as socket activation checks it. The predecessor
/// need not be alive: one killed during the upgrade has left its sockets
/// and files to this process.
#[cfg(unix)]
pub(crate) fn for_me(value: &str, me: u32) -> Option<&str> {
    let (files, pid) = value.rsplit_once(';')?;
    (pid.parse::<u32>().ok()? == me).then_some(files)
}

/// Whether this process was started by a predecessor handing its sockets
/// over (the handoff's variable names this process): its `NOTIFY_SOCKET`
/// is then the predecessor's, not a service manager's.
#[cfg(all(unix, feature = "handoff"))]
pub(crate) fn is_successor() -> bool {
    std::env::var(HANDOFF_VAR).is_ok_and(|v| for_me(&v, std::process::id()).is_some())
}

/// A handed-over socket's file: its device, its inode and, when the
/// predecessor said, its path.
#[cfg(unix)]
type HandedFile = (u64, u64, Option<std::path::PathBuf>);

/// The device, inode and path of each handed-over socket's file, by the
/// socket's index, from a predecessor's list (`INDEX:DEV:INO:PATH`, the
/// path in hexadecimal, comma-separated; `INDEX:DEV:INO` without it).
/// Entries that do not read so are skipped: at worst a file stays when
/// this process ends.
#[cfg(unix)]
fn handed_files(files: &str) -> std::collections::HashMap<usize, HandedFile> {
    use std::os::unix::ffi::OsStringExt;

    files
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(':');
            let (index, dev, ino) = (parts.next()?, parts.next()?, parts.next()?);
            let path = match parts.next() {
                Some(hex) => Some(std::path::PathBuf::from(std::ffi::OsString::from_vec(
                    unhex(hex)?,
                ))),
                None => None,
            };
            if parts.next().is_some() {
                return None;
            }
            Some((
                index.parse().ok()?,
                (dev.parse().ok()?, ino.parse().ok()?, path),
            ))
        })
        .collect()
}

/// Bytes from hexadecimal, two digits each; `None` for anything else, or
/// nothing at all.
#[cfg(unix)]
fn unhex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect()
}

/// Socket activation on a system without it: no sockets; see the Unix
/// version's docs.
#[cfg(not(unix))]
pub fn take_from_env() -> Result<Vec<Inherited>, ActivationError> {
    Ok(Vec::new())
}

// Socket activation is Unix's: the functions tested here exist only there.
#[cfg(all(test, unix))]
mod tests {
    use super::{ActivationError, announced, for_me, handed_files};

    /// A predecessor's list of socket files is read entry by entry: what
    /// does not read as `INDEX:DEV:INO` is skipped (that file then stays
    /// when the successor ends), never a panic, whatever its size.
    #[test]
    fn a_hostile_list_of_handed_files_is_skipped_not_trusted() {
        let files = handed_files(
            "0:1:2,x:1:2,1:2,2:3:4:5,3:-1:7,4:18446744073709551616:1,,5:8:9,6:1:2:2f612e736f636b,7:1:2:zz,8:1:2:2f:0",
        );
        let mut got: Vec<_> = files.into_iter().collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                (0, (1, 2, None)),
                (5, (8, 9, None)),
                (6, (1, 2, Some("/a.sock".into())))
            ]
        );
        let huge = ",".repeat(1 << 20) + "7:1:1";
        assert_eq!(handed_files(&huge).get(&7), Some(&(1, 1, None)));
        assert!(handed_files("").is_empty());
    }

    /// An inherited abstract name that is not UTF-8 is compared as bytes:
    /// `@…\xff…` is not the planned `@…\u{FFFD}…` that a lossy reading
    /// would make of it, and reads with its byte escaped. The same socket
    /// under a UTF-8 name is taken, so the test sees a match when there
    /// is one.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn an_abstract_name_that_is_not_utf8_matches_no_planned_name() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;

        use socket2::{Domain, SockAddr, Socket, Type};

        use super::Inherited;
        use crate::bind::Cause;
        use crate::{Host, ListenSpec};

        let pid = std::process::id();
        let host = Host::builder().build().unwrap();
        let plan = |name: &str| {
            let spec: ListenSpec = format!("local = unix\nlocal.ctl = unix:@{name}")
                .parse()
                .unwrap();
            spec.plan(&host).unwrap()
        };
        let listening = |name: &[u8]| {
            let mut bytes = vec![0u8];
            bytes.extend_from_slice(name);
            let addr = SockAddr::unix(OsStr::from_bytes(&bytes)).unwrap();
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
            socket.bind(&addr).unwrap();
            socket.listen(1).unwrap();
            Inherited::new("local.ctl", socket)
        };

        let raw = format!("ls-act-{pid}-\u{FFFD}").into_bytes();
        let mut raw: Vec<u8> = raw[..raw.len() - 3].to_vec();
        raw.push(0xff);
        let inh = listening(&raw);
        assert_eq!(inh.unix_path(), None);
        let found = inh.describe();
        assert_eq!(found, format!("unix socket @ls-act-{pid}-\\xff (stream)"));
        let err = plan(&format!("ls-act-{pid}-\u{FFFD}"))
            .bind_inherited(vec![inh])
            .unwrap_err();
        assert!(
            matches!(
                err.failures()[0].cause(),
                Cause::InheritedMismatch { found: f, .. } if *f == found
            ),
            "{err}"
        );

        let name = format!("ls-act-{pid}-é");
        let bound = plan(&name)
            .bind_inherited(vec![listening(name.as_bytes())])
            .unwrap();
        let ep = bound.endpoint("local", "ctl").unwrap();
        assert_eq!(ep.unix().unwrap().inherited(), Some("local.ctl"));
    }

    /// An inherited socket whose name holds a line break, a terminal
    /// escape or a bidirectional override reads with each escaped: whoever
    /// bound it cannot forge a line of the error or clear the screen.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn an_inherited_names_control_characters_are_escaped() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;

        use socket2::{Domain, SockAddr, Socket, Type};

        use super::Inherited;

        let name = format!(
            "\0ls-act-{}\n- fake: all good\x1b[2J\u{202e}",
            std::process::id()
        );
        let addr = SockAddr::unix(OsStr::from_bytes(name.as_bytes())).unwrap();
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        socket.bind(&addr).unwrap();
        let found = Inherited::new("x", socket).describe();
        assert_eq!(
            found,
            format!(
                "unix socket @ls-act-{}\\n- fake: all good\\u{{1b}}[2J\\u{{202e}} (stream)",
                std::process::id()
            )
        );
    }

    /// The handoff variable counts only for the process it names: not a
    /// copy inherited further down, nor a forged or empty one, nor an
    /// older version's, which named the predecessor first.
    #[test]
    fn a_handoff_is_taken_by_the_process_it_names_alone() {
        assert_eq!(for_me("0:1:2;41", 41), Some("0:1:2"));
        assert_eq!(for_me("0:1:2,1:3:4;41", 41), Some("0:1:2,1:3:4"));
        assert_eq!(for_me(";41", 41), Some(""));
        for other in [
            "0:1:2;41",
            "7;0:1:2",
            "7;",
            "",
            ";",
            "0:1:2",
            "0:1:2;x",
            ";-7",
            ";4294967303",
            "0:1:2;7;8",
        ] {
            assert_eq!(for_me(other, 7), None, "{other:?}");
        }
    }

    /// Paths are compared as bytes: `/a/./b` and `/a/b` are equal
    /// `Path`s, but only one file, if there is one, makes them the same.
    #[test]
    fn paths_are_compared_as_bytes() {
        use crate::bind::unix::same_path;
        use crate::spec::UnixPath;

        let p = |s: &str| UnixPath::File(s.into());
        let none = "/nonexistent-listenspec-test";
        assert!(same_path(
            &p(&format!("{none}/b")),
            &p(&format!("{none}/b"))
        ));
        assert!(!same_path(
            &p(&format!("{none}/./b")),
            &p(&format!("{none}/b"))
        ));
        assert!(!same_path(
            &p(&format!("{none}//b")),
            &p(&format!("{none}/b"))
        ));
        // The same file under two spellings is one socket.
        assert!(same_path(&p("/tmp/./"), &p("/tmp")));
        assert!(!same_path(
            &UnixPath::Abstract("a".into()),
            &UnixPath::Abstract("a\u{0}".into())
        ));
    }

    /// Sockets announced but not for this process are told apart from
    /// none announced and from this process's own.
    #[test]
    fn announced_sockets_not_for_this_process_are_noticed() {
        use super::{NotTaken, not_taken_from};
        let n = |pid: Option<&str>, fds: Option<&str>| not_taken_from(7, pid, fds);
        let not_taken = |pid: Option<&str>| NotTaken {
            listen_fds: "2".to_owned(),
            listen_pid: pid.map(str::to_owned),
            pid: 7,
        };
        assert_eq!(n(None, Some("2")), Some(not_taken(None)));
        assert_eq!(n(Some("8"), Some("2")), Some(not_taken(Some("8"))));
        // This process's: they were taken (or refused) as usual.
        assert_eq!(n(Some("7"), Some("2")), None);
        assert_eq!(n(Some(" 7\n"), Some("2")), None);
        // Nothing announced that could hold an address.
        assert_eq!(n(None, None), None);
        assert_eq!(n(Some("8"), None), None);
        assert_eq!(n(None, Some("0")), None);
        assert_eq!(n(None, Some("two")), None);
    }

    /// The descriptor limit the cases run under, as `ulimit -n` often is.
    const LIMIT: u64 = 1024;

    #[test]
    fn reads_the_environment_protocol() {
        let a = |pid: &str, fds: &str, names: Option<&str>| announced(7, pid, fds, names, LIMIT);
        assert!(matches!(a("8", "2", None), Ok(None)));
        let named = a("7", "2", Some("public.http:ops.metrics"))
            .unwrap()
            .unwrap();
        assert_eq!(named.count, 2);
        assert_eq!(
            [named.name(0), named.name(1)],
            ["public.http", "ops.metrics"]
        );
        let unnamed = a("7", "2", None).unwrap().unwrap();
        assert_eq!([unnamed.name(0), unnamed.name(1)], ["unknown", "unknown"]);
        // An empty LISTEN_FDNAMES names nothing, as if it were not set.
        let empty = a("7", "2", Some("")).unwrap().unwrap();
        assert_eq!([empty.name(0), empty.name(1)], ["unknown", "unknown"]);
        assert!(matches!(
            a("7", "2", Some("a")),
            Err(ActivationError::NamesMismatch { names: 1, count: 2 })
        ));
        assert!(matches!(
            a("x", "2", None),
            Err(ActivationError::BadPid { found }) if found == "x"
        ));
    }

    /// Hostile counts: each is refused by its own reason before anything
    /// is allocated for it, and none panics.
    #[test]
    fn a_hostile_listen_fds_is_refused_before_anything_is_allocated() {
        #[derive(Debug)]
        enum Want {
            Count(usize),
            NotACount,
            Negative,
            TooMany,
        }
        use Want::*;
        let cases: &[(&str, u64, Want)] = &[
            ("0", LIMIT, Count(0)),
            ("2", LIMIT, Count(2)),
            (" 2\n", LIMIT, Count(2)),
            // fds 3..=1023 are the last below a limit of 1024.
            ("1021", LIMIT, Count(1021)),
            ("1022", LIMIT, TooMany),
            ("18446744073709551615", LIMIT, TooMany),
            ("18446744073709551616", LIMIT, TooMany),
            ("99999999999999999999999999999999", LIMIT, TooMany),
            ("4294967296", LIMIT, TooMany),
            ("50000000", LIMIT, TooMany),
            // Even an unlimited process numbers descriptors with an int.
            ("4294967296", u64::MAX, TooMany),
            ("2147483645", u64::MAX, TooMany),
            // A count that fits is kept as a number, not as names.
            ("2147483644", u64::MAX, Count(2147483644)),
            ("-1", LIMIT, Negative),
            ("-0", LIMIT, Negative),
            ("-18446744073709551616", LIMIT, Negative),
            ("", LIMIT, NotACount),
            (" ", LIMIT, NotACount),
            ("two", LIMIT, NotACount),
            ("3x", LIMIT, NotACount),
            ("0x10", LIMIT, NotACount),
            ("1e3", LIMIT, NotACount),
            ("2.0", LIMIT, NotACount),
            ("-", LIMIT, NotACount),
            ("--1", LIMIT, NotACount),
            ("1 2", LIMIT, NotACount),
        ];
        for (fds, limit, want) in cases {
            let got = announced(7, "7", fds, None, *limit);
            let ok = match (&got, want) {
                (Ok(Some(a)), Count(n)) => {
                    a.count == *n && a.name(a.count.saturating_sub(1)) == "unknown"
                }
                (Err(ActivationError::NotACount { found }), NotACount)
                | (Err(ActivationError::NegativeCount { found }), Negative) => found == fds,
                (Err(ActivationError::TooMany { found, limit: l }), TooMany) => {
                    found == fds && l == limit
                }
                _ => false,
            };
            assert!(
                ok,
                "LISTEN_FDS={fds:?} limit {limit}: want {want:?}, got {got:?}"
            );
            if let Err(e) = got {
                let text = e.to_string();
                assert!(text.contains(&format!("LISTEN_FDS={fds:?}")), "{text}");
                assert!(e.fix().contains("LISTEN_FDS"), "{}", e.fix());
            }
        }
    }
}
