//! Unix domain sockets: what is at the path is looked at before anything
//! is bound, the socket is made, given its owner and mode and made ready
//! where no one else can reach it, and only then published at its path;
//! the file is removed again when the socket is dropped, if it is still
//! the one this process made.
//!
//! Every step on the file goes through a descriptor of its directory,
//! opened once (`crate::sys::Dir`): looking (fstatat(2) without following
//! a link), removing (unlinkat(2)), publishing (linkat(2)). A user who may
//! write the directory can rename it, or put a symbolic link where a
//! directory on the path was, and no step follows them there: the steps
//! stay in the directory that was opened.
//!
//! Looking first: nothing there, and the socket is made; a socket file,
//! and a connect tells whether a server is behind it (unix(7):
//! `ECONNREFUSED` when no socket is bound to the file); anything else is
//! never deleted. A symbolic link is not followed: it is "not a socket". A
//! stale socket file is removed only if it is still the file looked at, and
//! in a sticky directory (`/tmp`) only if this process's user owns it:
//! another user's file there is theirs.
//!
//! Making it: a fresh directory of mode 0700 is made next to the path and
//! opened without following a link; the socket is bound inside it (on
//! Linux through `/proc/self/fd/N/`, the open directory, not its path),
//! given its owner and mode, and listened on. The kernel checks a client's
//! permission at connect(2), so until the socket is published nobody but
//! this user can reach it, and when it is, its mode is already the one
//! asked for. Publishing is linkat(2) from the private directory to the
//! path, which fails if a file appeared there meanwhile: it never replaces
//! anything. (The socket's own name, `local_addr`, stays the private one,
//! which no longer exists: the kernel names a socket by what it was bound
//! to.)

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use socket2::{Domain, SockAddr, Socket, Type};

use super::error::{Liveness, Step, UnixError};
use super::socket::DEFAULT_BACKLOG;
use crate::plan::{PlannedEndpoint, UnixBind};
use crate::spec::{Stale, Transport, UnixPath};
use crate::sys::{Along, Dir, FileStat, FileType, effective_uid};

/// The socket file this process bound, removed when this is dropped if it
/// is still that file: the same device and inode as when it was published,
/// looked at through its directory's descriptor, so a file another process
/// put there meanwhile (a restarted instance's socket, or anything else),
/// or the same name in a directory swapped in on the path, is left alone.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dir: Dir,
    name: OsString,
    /// The file as published: its device and inode tell it apart.
    made: FileStat,
    /// Shared with a [`crate::handoff::Upgrader`], which keeps the file
    /// once a successor serves it.
    keep: Arc<AtomicBool>,
    /// Handed over by a predecessor, which serves on it until this process
    /// says it is ready: kept until then, whatever ends this process first.
    adopted: bool,
}

/// Whether this process, a successor, has told its predecessor it is
/// ready (or found it gone): from then on the socket files it adopted are
/// its own to remove.
static SUCCESSOR_READY: AtomicBool = AtomicBool::new(false);

/// The files of a predecessor's Unix sockets this process's spec does not
/// have (an endpoint dropped or moved): the predecessor serves on them
/// until this process is ready, and then they are stale.
static RETIRED: std::sync::Mutex<Vec<SocketFile>> = std::sync::Mutex::new(Vec::new());

/// Keeps a retired socket file until [`successor_ready`], which removes it
/// if it is still that file.
pub(crate) fn retire(file: SocketFile) {
    RETIRED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(file);
}

/// This process, a successor, is ready: the socket files it adopted are
/// its own to remove from now on, and those it retired go now.
#[cfg(feature = "handoff")]
pub(crate) fn successor_ready() {
    SUCCESSOR_READY.store(true, Ordering::SeqCst);
    let retired = std::mem::take(
        &mut *RETIRED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    drop(retired);
}

impl SocketFile {
    /// The socket file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file stays when this is dropped.
    pub fn is_kept(&self) -> bool {
        self.keep.load(Ordering::Relaxed)
    }

    /// Leaves the file in place when this is dropped, as `keep-file` does:
    /// the next start finds a stale socket file and replaces it.
    pub fn keep(&mut self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    /// The file's identity and the flag that keeps it, for handing it to
    /// a successor.
    #[cfg(feature = "handoff")]
    pub(crate) fn handoff(&self) -> (&Path, &FileStat, Arc<AtomicBool>) {
        (&self.path, &self.made, Arc::clone(&self.keep))
    }

    /// The guard of a socket file a predecessor made and handed over with
    /// its socket: taken only if the file at `path` is still that one (its
    /// device and inode), so this process removes it when done, as the
    /// predecessor would have, once it has said it is ready
    /// (`notify_ready`), unless this spec says `keep-file` (`keep`); ending
    /// before, it leaves the file to the predecessor, which serves on
    /// there.
    pub(crate) fn adopt(path: &Path, dev: u64, ino: u64, keep: bool) -> Option<SocketFile> {
        let (dir, name, made) = handed_file(path, dev, ino)?;
        Some(SocketFile {
            path: path.to_owned(),
            dir,
            name,
            made,
            keep: Arc::new(AtomicBool::new(keep)),
            adopted: true,
        })
    }
}

/// Whether the socket file at `path` is the one a predecessor handed over
/// (its device and inode): how a handed-over Unix socket is recognised,
/// since its own name is where the predecessor made it, not its path.
pub(crate) fn is_handed_file(path: &Path, dev: u64, ino: u64) -> bool {
    handed_file(path, dev, ino).is_some()
}

/// The directory, name and identity of the socket file at `path` if it
/// has this device and inode.
fn handed_file(path: &Path, dev: u64, ino: u64) -> Option<(Dir, OsString, FileStat)> {
    let (parent, name) = (path.parent()?, path.file_name()?);
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let dir = Dir::open(parent).ok()?;
    let made = dir.stat(name).ok()?;
    (made.file_type() == FileType::Socket && made.dev == dev && made.ino == ino)
        .then(|| (dir, name.to_owned(), made))
}

impl SocketFile {
    /// Whether the file at the path is still the socket this process bound.
    pub fn is_ours(&self) -> bool {
        self.dir
            .stat(&self.name)
            .is_ok_and(|m| m.file_type() == FileType::Socket && m.same_file(&self.made))
    }

    /// Removes the file if it is still ours, kept or not: a rollback.
    fn remove_now(&self) {
        if self.is_ours() {
            // Only a file swapped in within the directory between the look
            // and the unlink could be lost here, and whoever can do that may
            // remove files there anyway.
            let _ = self.dir.unlink(&self.name, false);
        }
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let predecessors = self.adopted && !SUCCESSOR_READY.load(Ordering::SeqCst);
        if !self.is_kept() && !predecessors {
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
/// use std::os::unix::net::UnixListener;
/// use listenspec::bind::WithFile;
///
/// let dir = std::env::temp_dir().join(format!("listenspec-doc-withfile-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("app.sock");
/// let spec: listenspec::ListenSpec = format!("local = unix\nlocal.api = unix:{}", path.display()).parse()?;
/// let mut bound = listenspec::bind_all(&spec)?;
/// let listener: WithFile<UnixListener> = bound.take("local", "api")?;
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
    pub(crate) fn into_tokio(self) -> io::Result<WithFile<tokio::net::UnixListener>> {
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
    pub(crate) fn into_tokio(self) -> io::Result<WithFile<tokio::net::UnixDatagram>> {
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

    /// Closes the socket and leaves its file in place.
    pub(crate) fn close_keeping_file(self) {
        match self {
            UnixSocket::Stream(mut s) => s.keep_file(),
            UnixSocket::Datagram(mut s) => s.keep_file(),
        }
    }

    #[cfg(feature = "probe")]
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
    /// The plan's WHY for it (`unix socket, mode 600`), which the bound
    /// table repeats: the endpoint's options are not kept past binding.
    pub(crate) why: String,
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
            let at = At::open(path)?;
            at.clear(o.stale.unwrap_or(Stale::Replace))?;
            let (socket, mut file) = at.make(&setup, stream.then_some(backlog))?;
            file.keep = Arc::new(AtomicBool::new(o.keep_file));
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
    /// Owner and group, then mode, of `name` in `dir`, a directory only
    /// this process's user can write (fchmodat follows a link).
    fn apply(&self, dir: &Dir, name: &OsStr) -> Result<(), UnixError> {
        if self.owner.is_some() || self.group.is_some() {
            dir.chown(name, self.owner, self.group)
                .map_err(os(Step::Chown {
                    owner: self.owner,
                    group: self.group,
                }))?;
        }
        if let Some(mode) = self.mode {
            dir.chmod(name, mode).map_err(os(Step::Chmod { mode }))?;
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

/// A socket path, as its directory held open and the name in it.
struct At<'a> {
    path: &'a Path,
    dir: Dir,
    name: &'a OsStr,
}

impl<'a> At<'a> {
    /// Opens the path's directory, once: every later step is relative to it.
    fn open(path: &'a Path) -> Result<At<'a>, UnixError> {
        let Some(name) = path.file_name() else {
            // `/`, or a path ending in `..`: no name to make a file at.
            return Err(UnixError::NotASocket {
                path: path.to_owned(),
                kind: super::error::FileKind::Directory,
            });
        };
        // The plan refused a link on the way that another user owns; one
        // put there since is not followed either.
        let euid = effective_uid();
        let dir = match Dir::open_along(parent(path), |uid| uid == 0 || uid == euid) {
            Ok(dir) => dir,
            Err(Along::Io(e)) => return Err(in_directory(path, e, Step::Examine)),
            Err(Along::Untrusted { link, uid }) => {
                return Err(UnixError::UntrustedLink {
                    path: path.to_owned(),
                    link,
                    uid,
                });
            }
        };
        Ok(At { path, dir, name })
    }

    /// Makes room at the path: nothing there is fine, a stale socket file
    /// is removed (unless `stale=refuse`, or another user's in a sticky
    /// directory), anything else is an error and stays.
    fn clear(&self, stale: Stale) -> Result<(), UnixError> {
        let path = || self.path.to_owned();
        let found = match self.dir.stat(self.name) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(in_directory(self.path, error, Step::Examine)),
        };
        if found.file_type() != FileType::Socket {
            return Err(UnixError::NotASocket {
                path: path(),
                kind: found.file_type().into(),
            });
        }
        match self.liveness(&found)? {
            Some(how) => Err(UnixError::Live { path: path(), how }),
            None if stale == Stale::Refuse => Err(UnixError::Stale { path: path() }),
            None => {
                let sticky = self.dir.stat_self().is_ok_and(|d| d.is_sticky());
                if sticky && found.uid != effective_uid() {
                    return Err(UnixError::OthersStale {
                        path: path(),
                        owner: found.uid,
                    });
                }
                // Only the file looked at: if another process replaced it
                // since, that one is not ours to delete.
                if !self.dir.stat(self.name).is_ok_and(|m| m.same_file(&found)) {
                    return Err(UnixError::Replaced { path: path() });
                }
                match self.dir.unlink(self.name, false) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        Err(in_directory(self.path, e, Step::RemoveStale))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// Whether a socket is behind `found`, the file at the name: probed
    /// through the directory's descriptor, or, where the name is too long
    /// for that to fit a socket address, through a hard link to the file
    /// made in a private directory and checked to be `found`. Never by the
    /// path where the descriptor's path exists: a user who may write a
    /// directory on the path could point it at a dead socket of theirs
    /// between the look and the probe, and a live socket's file would be
    /// taken for stale. Off Linux (no `/proc`) it goes by the path.
    fn liveness(&self, found: &FileStat) -> Result<Option<Liveness>, UnixError> {
        let probe = |error| UnixError::Probe {
            path: self.path.to_owned(),
            error,
        };
        if let Some(path) = through(&self.dir, self.name) {
            return liveness(&path).map_err(probe);
        }
        if !fd_paths() {
            return liveness(self.path).map_err(probe);
        }
        let private = PrivateDir::create(&self.dir, self.path)?;
        let staged = OsStr::new(STAGED);
        self.dir
            .link(self.name, &private.dir, staged)
            .map_err(os(Step::Examine))?;
        if !private.dir.stat(staged).is_ok_and(|m| m.same_file(found)) {
            return Err(UnixError::Replaced {
                path: self.path.to_owned(),
            });
        }
        // A private directory's name and `s` fit, as they do for a bind.
        let path =
            through(&private.dir, staged).unwrap_or_else(|| private.path(self.path).join(STAGED));
        liveness(&path).map_err(probe)
    }

    /// The socket, made in a private directory, set up, listened on with
    /// `listen`'s backlog (a stream), and published at the path.
    fn make(self, setup: &Setup, listen: Option<i32>) -> Result<(Socket, SocketFile), UnixError> {
        let private = PrivateDir::create(&self.dir, self.path)?;
        let socket = new_socket(listen.is_some())?;
        let addr = SockAddr::unix(private.bind_path(self.path)).map_err(os(Step::Bind))?;
        // bind(2): https://man7.org/linux/man-pages/man2/bind.2.html
        socket.bind(&addr).map_err(os(Step::Bind))?;
        let staged = private
            .dir
            .stat(OsStr::new(STAGED))
            .map_err(os(Step::Examine))?;
        if staged.file_type() != FileType::Socket {
            // The private directory's path led elsewhere (off Linux,
            // where the bind goes by path): not ours to touch.
            return Err(UnixError::Replaced {
                path: private.path(self.path),
            });
        }
        setup.apply(&private.dir, OsStr::new(STAGED))?;
        if let Some(backlog) = listen {
            // listen(2): https://man7.org/linux/man-pages/man2/listen.2.html
            socket.listen(backlog).map_err(os(Step::Listen))?;
        }
        // linkat(2) never replaces: a file that appeared at the path since
        // the look stays, and this bind fails.
        private
            .dir
            .link(OsStr::new(STAGED), &self.dir, self.name)
            .map_err(|e| in_directory(self.path, e, Step::Link))?;
        drop(private);
        let mut file = SocketFile {
            path: self.path.to_owned(),
            dir: self.dir,
            name: self.name.to_owned(),
            made: staged,
            keep: Arc::new(AtomicBool::new(false)),
            adopted: false,
        };
        if !file.is_ours() {
            file.keep();
            return Err(UnixError::Replaced {
                path: self.path.to_owned(),
            });
        }
        Ok((socket, file))
    }
}

/// `name` in `dir` through the descriptor (`/proc/self/fd/N/name`), when
/// this system has that and the result fits a socket address.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn through(dir: &Dir, name: &OsStr) -> Option<PathBuf> {
    let path = dir.proc_path(name);
    (fd_paths() && SockAddr::unix(&path).is_ok()).then_some(path)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn through(_: &Dir, _: &OsStr) -> Option<PathBuf> {
    None
}

/// Whether a name in an open directory has a path through its
/// descriptor: on Linux and Android, while `/proc` is mounted.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fd_paths() -> bool {
    static PROC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROC.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn fd_paths() -> bool {
    false
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

fn new_socket(stream: bool) -> Result<Socket, UnixError> {
    let ty = if stream { Type::STREAM } else { Type::DGRAM };
    // socket(2), close-on-exec as socket2 makes every socket.
    Socket::new(Domain::UNIX, ty, None).map_err(os(Step::Socket))
}

/// The socket's name inside its private directory.
const STAGED: &str = "s";

/// A fresh directory of mode 0700 next to the socket's path, held open,
/// removed (with the socket's name in it) when dropped.
struct PrivateDir<'a> {
    parent: &'a Dir,
    name: OsString,
    dir: Dir,
    made: FileStat,
}

/// Tells this process's private directories apart.
static PRIVATE: AtomicU32 = AtomicU32::new(0);

impl<'a> PrivateDir<'a> {
    /// The name is random: another user who may write the directory (a
    /// sticky `/tmp`) and made directories at every name this process
    /// would try, known in advance, would stop its every bind there; and
    /// one left by an earlier process is not in the way.
    fn create(parent: &'a Dir, path: &Path) -> Result<PrivateDir<'a>, UnixError> {
        let parent_path = self::parent(path);
        let n = PRIVATE.fetch_add(1, Ordering::Relaxed);
        // Short: off Linux the bind goes by path, and must fit `sun_path`
        // (the plan counts `STAGING_EXTRA`).
        let name = private_name(random_u32(), n);
        let step = || Step::PrivateDir {
            dir: parent_path.join(&name),
        };
        // mkdirat(2) fails if anything is there: no link is followed.
        parent.mkdir(&name, 0o700).map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => UnixError::DirectoryDenied {
                dir: parent_path.to_owned(),
                error: e,
            },
            _ => UnixError::Os {
                step: step(),
                error: e,
            },
        })?;
        // Opened without following a link, and checked to be the one just
        // made (this user's, closed to others): another user who can write
        // the parent could have swapped it in between.
        let dir = parent.open_dir(&name).map_err(os(step()))?;
        let made = dir.stat_self().map_err(os(step()))?;
        if made.uid != effective_uid() || made.mode & 0o077 != 0 {
            return Err(UnixError::Replaced {
                path: parent_path.join(&name),
            });
        }
        Ok(PrivateDir {
            parent,
            name,
            dir,
            made,
        })
    }

    /// The private directory's path, for messages.
    fn path(&self, socket: &Path) -> PathBuf {
        parent(socket).join(&self.name)
    }

    /// Where to bind: through the open directory where the system allows,
    /// else by path.
    fn bind_path(&self, socket: &Path) -> PathBuf {
        through(&self.dir, OsStr::new(STAGED)).unwrap_or_else(|| self.path(socket).join(STAGED))
    }
}

/// The private directory's name: a random number and a counter, short
/// enough for the plan's `STAGING_EXTRA` off Linux, where the bind goes by
/// its path.
fn private_name(random: u32, n: u32) -> OsString {
    OsString::from(format!(".ls{random:x}.{:x}", n % 256))
}

/// A number another process cannot guess: std seeds every `RandomState`
/// from the OS's random source.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let r = std::hash::RandomState::new().build_hasher().finish();
    (r >> 32) as u32 ^ r as u32
}

impl Drop for PrivateDir<'_> {
    fn drop(&mut self) {
        let _ = self.dir.unlink(OsStr::new(STAGED), false);
        // By name in the parent, so only if that name is still the
        // directory made.
        if self
            .parent
            .stat(&self.name)
            .is_ok_and(|m| m.same_file(&self.made))
        {
            let _ = self.parent.unlink(&self.name, true);
        }
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
    socket.bind(&addr).map_err(|error| match error.kind() {
        io::ErrorKind::AddrInUse => UnixError::AbstractTaken {
            name: name.to_owned(),
        },
        _ => UnixError::Os {
            step: Step::Bind,
            error,
        },
    })?;
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
#[cfg(feature = "probe")]
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{STAGED, private_name};
    use crate::plan::STAGING_EXTRA;

    /// The plan refuses, off Linux, a directory too long for the path the
    /// socket is first bound at; it counts on the longest private name.
    #[test]
    fn the_private_path_is_no_longer_than_the_plan_counts() {
        let dir = Path::new("/d");
        for (random, n) in [(u32::MAX, u32::MAX), (u32::MAX, 255), (1, 0)] {
            let staged = dir.join(private_name(random, n)).join(STAGED);
            let extra = staged.as_os_str().len() - dir.as_os_str().len();
            assert!(extra <= STAGING_EXTRA, "{}", staged.display());
        }
        let longest = dir.join(private_name(u32::MAX, 255)).join(STAGED);
        assert_eq!(longest.as_os_str().len() - 2, STAGING_EXTRA);
    }
}
