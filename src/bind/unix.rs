//! Unix domain sockets: what is at the path is looked at before anything
//! is bound, the file's owner and mode are set before the socket takes a
//! connection, and the file is removed again when the socket is dropped,
//! if it is still the one this process made.
//!
//! Looking first (lstat(2), <https://man7.org/linux/man-pages/man2/lstat.2.html>):
//! nothing there, and the socket is bound; a socket file, and a connect
//! tells whether a server is behind it (unix(7): `ECONNREFUSED` when no
//! socket is bound to the file); anything else is never deleted. A symbolic
//! link is not followed: it is "not a socket".
//!
//! Mode and owner before the first connection:
//! - a stream socket is bound, then its file chowned and chmodded, then
//!   listened on: until listen(2) every connect is refused, so no client
//!   gets in under the umask's mode;
//! - a datagram socket takes datagrams as soon as it is bound, so with a
//!   mode or owner it is bound inside a fresh directory of mode 0700 next
//!   to the target (no one else can reach into it), set up there, and then
//!   linked into place with link(2), which fails if a file appeared at the
//!   path meanwhile. rename(2) would do the same but replace whatever is at
//!   the path by then, a file that is not a socket included; link never
//!   replaces anything. (The socket's own name, `local_addr`, stays the
//!   private path, which no longer exists: the kernel names a socket by
//!   what it was bound to.)

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use socket2::{Domain, SockAddr, Socket, Type};

use super::error::{FileKind, Liveness, Step, UnixError};
use super::socket::DEFAULT_BACKLOG;
use crate::plan::{PlannedEndpoint, UnixBind};
use crate::spec::{Stale, Transport, UnixPath};

/// The socket file this process bound, removed when this is dropped if it
/// is still that file: the same device and inode as right after binding,
/// so a file another process put there meanwhile (a restarted instance's
/// socket, or anything else) is left alone.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    keep: bool,
}

impl SocketFile {
    /// The file now at `path`, which this process just bound; removed on
    /// drop unless kept.
    fn bound_at(path: &Path) -> Result<SocketFile, UnixError> {
        let m = fs::symlink_metadata(path).map_err(|error| UnixError::Os {
            step: Step::Examine,
            error,
        })?;
        if !m.file_type().is_socket() {
            return Err(UnixError::Replaced {
                path: path.to_owned(),
            });
        }
        Ok(SocketFile {
            path: path.to_owned(),
            dev: m.dev(),
            ino: m.ino(),
            keep: false,
        })
    }

    /// The socket file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file stays when this is dropped.
    pub fn is_kept(&self) -> bool {
        self.keep
    }

    /// Leaves the file in place when this is dropped, as `keep-file` does:
    /// the next start finds a stale socket file and replaces it.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Whether the file at the path is still the socket this process bound.
    pub fn is_ours(&self) -> bool {
        fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && m.dev() == self.dev && m.ino() == self.ino)
    }

    /// Removes the file if it is still ours, kept or not: a rollback.
    fn remove_now(&self) {
        if self.is_ours() {
            // Only a file another process swapped in between the look and
            // the unlink could be lost here; a directory only the service
            // writes to (RuntimeDirectory=) has no such process.
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if !self.keep {
            self.remove_now();
        }
    }
}

/// A socket with the file guard of its path: derefs to the socket, and
/// removes the socket file when dropped (see [`SocketFile`]). An abstract
/// socket, or one the service manager passed in (its file is the unit's,
/// not this process's), has no guard.
///
/// ```
/// use std::io::Write;
///
/// let dir = std::env::temp_dir().join(format!("listenspec-doc-withfile-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("app.sock");
/// let spec: listenspec::ListenSpec = format!("local = unix\nlocal.api = unix:{}", path.display()).parse()?;
/// let mut bound = listenspec::bind_all(&spec)?;
/// let listener = bound.take_unix_listener("local", "api").unwrap();
/// let mut client = std::os::unix::net::UnixStream::connect(&path)?;
/// client.write_all(b"hi")?;
/// let (_conn, _) = listener.accept()?; // a std UnixListener underneath
/// assert_eq!(listener.file().unwrap().path(), path);
/// drop(listener);
/// assert!(!path.exists(), "the socket file goes with the listener");
/// # std::fs::remove_dir(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct WithFile<T> {
    // Declared first, so it is closed before its file is removed.
    socket: T,
    file: Option<SocketFile>,
}

impl<T> WithFile<T> {
    pub(crate) fn new(socket: T, file: Option<SocketFile>) -> WithFile<T> {
        WithFile { socket, file }
    }

    /// The socket file's guard; `None` for an abstract or inherited socket.
    pub fn file(&self) -> Option<&SocketFile> {
        self.file.as_ref()
    }

    /// Leaves the socket file in place when this is dropped.
    pub fn keep_file(&mut self) {
        if let Some(f) = &mut self.file {
            f.keep();
        }
    }

    /// The socket and its file guard, apart: the file is removed when the
    /// guard is dropped.
    pub fn into_parts(self) -> (T, Option<SocketFile>) {
        (self.socket, self.file)
    }

    /// The socket alone; its file then stays when the socket is closed,
    /// as with `keep-file`.
    pub fn into_inner_keeping_file(self) -> T {
        let (socket, file) = self.into_parts();
        if let Some(mut f) = file {
            f.keep();
        }
        socket
    }

    /// Removes the file if it is this process's, kept or not.
    pub(crate) fn discard(self) {
        if let Some(f) = &self.file {
            f.remove_now();
        }
    }
}

impl<T> Deref for WithFile<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.socket
    }
}

impl<T> DerefMut for WithFile<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.socket
    }
}

#[cfg(feature = "tokio")]
impl WithFile<UnixListener> {
    /// The listener as a tokio one (made non-blocking), file guard and
    /// all; must be called inside a tokio runtime.
    pub fn into_tokio(self) -> io::Result<WithFile<tokio::net::UnixListener>> {
        self.socket.set_nonblocking(true)?;
        Ok(WithFile {
            socket: tokio::net::UnixListener::from_std(self.socket)?,
            file: self.file,
        })
    }
}

#[cfg(feature = "tokio")]
impl WithFile<UnixDatagram> {
    /// The socket as a tokio one (made non-blocking), file guard and all;
    /// must be called inside a tokio runtime.
    pub fn into_tokio(self) -> io::Result<WithFile<tokio::net::UnixDatagram>> {
        self.socket.set_nonblocking(true)?;
        Ok(WithFile {
            socket: tokio::net::UnixDatagram::from_std(self.socket)?,
            file: self.file,
        })
    }
}

/// A bound Unix socket, as the std type for its kind.
#[derive(Debug)]
#[non_exhaustive]
pub enum UnixSocket {
    /// A listening stream socket.
    Stream(WithFile<UnixListener>),
    /// A bound datagram socket.
    Datagram(WithFile<UnixDatagram>),
}

impl UnixSocket {
    pub(crate) fn new(socket: Socket, file: Option<SocketFile>, t: Transport) -> UnixSocket {
        if t == Transport::UnixDatagram {
            UnixSocket::Datagram(WithFile::new(socket.into(), file))
        } else {
            UnixSocket::Stream(WithFile::new(socket.into(), file))
        }
    }

    /// The socket file's guard; `None` for an abstract or inherited socket.
    pub fn file(&self) -> Option<&SocketFile> {
        match self {
            UnixSocket::Stream(s) => s.file(),
            UnixSocket::Datagram(s) => s.file(),
        }
    }

    pub(crate) fn discard(self) {
        match self {
            UnixSocket::Stream(s) => s.discard(),
            UnixSocket::Datagram(s) => s.discard(),
        }
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            UnixSocket::Stream(s) => s.set_nonblocking(on),
            UnixSocket::Datagram(s) => s.set_nonblocking(on),
        }
    }
}

/// The Unix socket of an endpoint.
#[derive(Debug)]
pub struct BoundUnix {
    pub(crate) socket: UnixSocket,
    pub(crate) inherited: Option<String>,
    pub(crate) planned: UnixBind,
}

impl BoundUnix {
    /// The path or abstract name it is bound to, as planned.
    pub fn path(&self) -> &UnixPath {
        self.planned.path()
    }
    /// The socket.
    pub fn socket(&self) -> &UnixSocket {
        &self.socket
    }
    /// The socket, owned.
    pub fn into_socket(self) -> UnixSocket {
        self.socket
    }
    /// The `LISTEN_FDNAMES` name, when the service manager passed it in.
    pub fn inherited(&self) -> Option<&str> {
        self.inherited.as_deref()
    }
    /// The planned socket: path, owner and group.
    pub fn planned(&self) -> &UnixBind {
        &self.planned
    }
}

impl fmt::Display for BoundUnix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path())
    }
}

/// Makes the endpoint's Unix socket: the socket, ready (listening for a
/// stream), and the guard of the file it made, if it made one.
pub(crate) fn open(
    ep: &PlannedEndpoint,
    unix: &UnixBind,
) -> Result<(Socket, Option<SocketFile>), UnixError> {
    let stream = ep.transport() == Transport::UnixStream;
    let backlog = ep.options().backlog.unwrap_or(DEFAULT_BACKLOG);
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    match unix.path() {
        UnixPath::Abstract(name) => open_abstract(name, stream, backlog).map(|s| (s, None)),
        UnixPath::File(path) => {
            let o = ep.options();
            let setup = Setup {
                owner: unix.owner(),
                group: unix.group(),
                mode: o.mode,
            };
            clear(path, o.stale.unwrap_or(Stale::Replace))?;
            let (socket, mut file) = if stream {
                open_stream(path, &setup, backlog)?
            } else {
                open_datagram(path, &setup)?
            };
            file.keep = o.keep_file;
            Ok((socket, Some(file)))
        }
    }
}

/// What is set on the file before the socket takes anything.
struct Setup {
    owner: Option<u32>,
    group: Option<u32>,
    mode: Option<u32>,
}

impl Setup {
    fn is_empty(&self) -> bool {
        self.owner.is_none() && self.group.is_none() && self.mode.is_none()
    }

    /// lchown(2) (never follows a link), then chmod(2).
    fn apply(&self, path: &Path) -> Result<(), UnixError> {
        if self.owner.is_some() || self.group.is_some() {
            std::os::unix::fs::lchown(path, self.owner, self.group).map_err(|error| {
                UnixError::Os {
                    step: Step::Chown {
                        owner: self.owner,
                        group: self.group,
                    },
                    error,
                }
            })?;
        }
        if let Some(mode) = self.mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|error| {
                UnixError::Os {
                    step: Step::Chmod { mode },
                    error,
                }
            })?;
        }
        Ok(())
    }
}

fn os(step: Step) -> impl FnOnce(io::Error) -> UnixError {
    move |error| UnixError::Os { step, error }
}

/// The directory a path's file is in.
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes room at `path`: nothing there is fine, a stale socket file is
/// removed (unless `stale=refuse`), anything else is an error and stays.
fn clear(path: &Path, stale: Stale) -> Result<(), UnixError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        // A missing directory shows again, and is named, when binding.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(in_directory(path, error, Step::Examine)),
    };
    if !meta.file_type().is_socket() {
        return Err(UnixError::NotASocket {
            path: path.to_owned(),
            kind: kind_of(meta.file_type()),
        });
    }
    match liveness(path) {
        Ok(Some(how)) => Err(UnixError::Live {
            path: path.to_owned(),
            how,
        }),
        Ok(None) if stale == Stale::Refuse => Err(UnixError::Stale {
            path: path.to_owned(),
        }),
        Ok(None) => {
            // Only the file looked at: if another process replaced it since,
            // that one is not ours to delete.
            let same = fs::symlink_metadata(path)
                .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
            if !same {
                return Err(UnixError::Replaced {
                    path: path.to_owned(),
                });
            }
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    Err(in_directory(path, e, Step::RemoveStale))
                }
                _ => Ok(()),
            }
        }
        Err(error) => Err(UnixError::Probe {
            path: path.to_owned(),
            error,
        }),
    }
}

/// Whether a socket is behind the socket file at `path`; `None` when it is
/// stale. The probe is a datagram socket's connect(2) whatever the
/// endpoint's type, as unix(7) answers it: refused (`ECONNREFUSED`) when no
/// socket is bound to the file; `EPROTOTYPE` when one of another type is
/// (a stream server, listening or still between its bind and its listen:
/// another instance starting); success when a datagram socket is. A stream
/// connect would tell less (a stream socket not listening yet is refused
/// too, so its file would be taken from an instance starting up), could
/// block on a full queue, and would hand a live server an empty
/// connection; a datagram connect sends nothing.
fn liveness(path: &Path) -> io::Result<Option<Liveness>> {
    let addr = SockAddr::unix(path)?;
    match connect(&addr, Type::DGRAM) {
        Ok(()) => Ok(Some(Liveness::Datagram)),
        Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => Ok(Some(Liveness::Stream)),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(None),
        Err(e) => Err(e),
    }
}

/// connect(2) of a fresh non-blocking socket of type `ty`, closed after.
fn connect(addr: &SockAddr, ty: Type) -> io::Result<()> {
    let s = Socket::new(Domain::UNIX, ty, None)?;
    s.set_nonblocking(true)?;
    s.connect(addr)
}

fn kind_of(t: fs::FileType) -> FileKind {
    if t.is_file() {
        FileKind::RegularFile
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_fifo() {
        FileKind::Pipe
    } else if t.is_char_device() {
        FileKind::CharDevice
    } else if t.is_block_device() {
        FileKind::BlockDevice
    } else {
        FileKind::Other { mode: 0 }
    }
}

/// An OS error at `path` that concerns its directory when it is a
/// missing one or a permission, else `step`'s.
fn in_directory(path: &Path, error: io::Error, step: Step) -> UnixError {
    let dir = parent(path).to_owned();
    match error.kind() {
        io::ErrorKind::NotFound => UnixError::NoDirectory { dir },
        io::ErrorKind::PermissionDenied => UnixError::DirectoryDenied { dir, error },
        _ => UnixError::Os { step, error },
    }
}

fn bind(socket: &Socket, path: &Path) -> Result<(), UnixError> {
    let addr = SockAddr::unix(path).map_err(os(Step::Bind))?;
    // bind(2): https://man7.org/linux/man-pages/man2/bind.2.html
    socket
        .bind(&addr)
        .map_err(|e| in_directory(path, e, Step::Bind))
}

fn new_socket(stream: bool) -> Result<Socket, UnixError> {
    let ty = if stream { Type::STREAM } else { Type::DGRAM };
    // socket(2), close-on-exec as socket2 makes every socket.
    Socket::new(Domain::UNIX, ty, None).map_err(os(Step::Socket))
}

/// bind, set up the file, listen: connects before listen(2) are refused.
fn open_stream(
    path: &Path,
    setup: &Setup,
    backlog: i32,
) -> Result<(Socket, SocketFile), UnixError> {
    let socket = new_socket(true)?;
    bind(&socket, path)?;
    // From here on an error drops the guard, which removes the file.
    let file = SocketFile::bound_at(path)?;
    if !setup.is_empty() {
        setup.apply(path)?;
        if !file.is_ours() {
            return Err(UnixError::Replaced {
                path: path.to_owned(),
            });
        }
    }
    // listen(2): https://man7.org/linux/man-pages/man2/listen.2.html
    socket.listen(backlog).map_err(os(Step::Listen))?;
    Ok((socket, file))
}

/// A datagram socket takes datagrams once bound: with a mode or owner it is
/// set up in a private directory first (see the module docs).
fn open_datagram(path: &Path, setup: &Setup) -> Result<(Socket, SocketFile), UnixError> {
    let socket = new_socket(false)?;
    if setup.is_empty() {
        bind(&socket, path)?;
        let file = SocketFile::bound_at(path)?;
        return Ok((socket, file));
    }
    let private = PrivateDir::create(parent(path))?;
    let inside = private.dir.join("s");
    bind(&socket, &inside)?;
    let staged = SocketFile::bound_at(&inside)?;
    setup.apply(&inside)?;
    // link(2): https://man7.org/linux/man-pages/man2/link.2.html
    fs::hard_link(&inside, path).map_err(|e| in_directory(path, e, Step::Link))?;
    let file = SocketFile::bound_at(path)?;
    if (file.dev, file.ino) != (staged.dev, staged.ino) {
        // Not ours after all: the guard must not remove it.
        let mut file = file;
        file.keep();
        return Err(UnixError::Replaced {
            path: path.to_owned(),
        });
    }
    // `staged` removes the private name, `private` its directory.
    drop(staged);
    drop(private);
    Ok((socket, file))
}

/// A fresh directory of mode 0700, removed (with the socket name in it)
/// when dropped.
struct PrivateDir {
    dir: PathBuf,
}

/// Tells this process's private directories apart.
static PRIVATE: AtomicU32 = AtomicU32::new(0);

impl PrivateDir {
    fn create(parent: &Path) -> Result<PrivateDir, UnixError> {
        let mut last = None;
        // Short names: the socket inside must fit `sun_path` too.
        for _ in 0..8 {
            let n = PRIVATE.fetch_add(1, Ordering::Relaxed);
            let dir = parent.join(format!(".ls{:x}.{n:x}", std::process::id()));
            // mkdir(2) fails if anything is there: no link is followed.
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(PrivateDir { dir }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(match e.kind() {
                        io::ErrorKind::NotFound => UnixError::NoDirectory {
                            dir: parent.to_owned(),
                        },
                        io::ErrorKind::PermissionDenied => UnixError::DirectoryDenied {
                            dir: parent.to_owned(),
                            error: e,
                        },
                        _ => UnixError::Os {
                            step: Step::PrivateDir { dir },
                            error: e,
                        },
                    });
                }
            }
        }
        Err(UnixError::Os {
            step: Step::PrivateDir {
                dir: parent.to_owned(),
            },
            error: last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
        })
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.dir.join("s"));
        let _ = fs::remove_dir(&self.dir);
    }
}

/// An abstract socket: no file, nothing to set up or clear; a name in use
/// is `EADDRINUSE`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_abstract(name: &str, stream: bool, backlog: i32) -> Result<Socket, UnixError> {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(name.as_bytes());
    // A leading NUL is the abstract namespace: unix(7).
    let addr = SockAddr::unix(OsStr::from_bytes(&bytes)).map_err(os(Step::Bind))?;
    let socket = new_socket(stream)?;
    socket.bind(&addr).map_err(os(Step::Bind))?;
    if stream {
        socket.listen(backlog).map_err(os(Step::Listen))?;
    }
    Ok(socket)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_abstract(name: &str, _: bool, _: i32) -> Result<Socket, UnixError> {
    // Keeps the imports used the same on every Unix.
    let _ = OsStr::from_bytes;
    Err(UnixError::AbstractUnsupported {
        name: name.to_owned(),
        os: std::env::consts::OS,
    })
}

/// The path or abstract name a Unix socket is bound to, from its address,
/// byte for byte. `None` for an unnamed socket, and for an abstract name
/// that is not UTF-8: a planned name is spec text, so no plan has such a
/// name, and a lossy conversion would make one (`@\xff` read as `@\u{FFFD}`).
pub(crate) fn path_of(addr: &SockAddr) -> Option<UnixPath> {
    if let Some(p) = addr.as_pathname() {
        return Some(UnixPath::File(p.to_owned()));
    }
    let name = std::str::from_utf8(addr.as_abstract_namespace()?).ok()?;
    Some(UnixPath::Abstract(name.to_owned()))
}

/// Whether an inherited socket's path is the planned one: the same bytes,
/// or the same file reached another way (`/var/run` for `/run`). Paths are
/// compared as bytes, not as `Path`s, whose equality skips `.` components
/// and doubled slashes: what two spellings share is decided by the file
/// they reach, never by their text.
pub(crate) fn same_path(planned: &UnixPath, found: &UnixPath) -> bool {
    match (planned, found) {
        (UnixPath::Abstract(a), UnixPath::Abstract(b)) => a.as_bytes() == b.as_bytes(),
        (UnixPath::File(a), UnixPath::File(b)) => {
            a.as_os_str().as_bytes() == b.as_os_str().as_bytes()
                || match (fs::symlink_metadata(a), fs::symlink_metadata(b)) {
                    (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                    _ => false,
                }
        }
        _ => false,
    }
}

/// The socket address of a Unix path, for a client.
pub(crate) fn sock_addr(path: &UnixPath) -> io::Result<SockAddr> {
    match path {
        UnixPath::File(p) => SockAddr::unix(p),
        UnixPath::Abstract(name) => {
            let mut bytes = vec![0u8];
            bytes.extend_from_slice(name.as_bytes());
            SockAddr::unix(OsStr::from_bytes(&bytes))
        }
    }
}
