//! The raw calls, for Unix; [`wait_readable`] for Linux and Android, where
//! the kernel has change notifications to wait for.

use std::ffi::CString;
use std::io;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The soft `RLIMIT_NOFILE`: getrlimit(2),
/// <https://man7.org/linux/man-pages/man2/getrlimit.2.html>.
// rlim_t is u64 on Linux and macOS, i64 on FreeBSD.
#[allow(clippy::unnecessary_fallible_conversions, clippy::useless_conversion)]
pub(crate) fn fd_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live, writable rlimit for the call to fill, and
    // RLIMIT_NOFILE is a resource every Unix has.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Never negative: RLIM_INFINITY is the type's maximum.
    Ok(u64::try_from(limit.rlim_cur).unwrap_or(u64::MAX))
}

/// What kind of file a descriptor is, as fstat(2) says
/// (<https://man7.org/linux/man-pages/man2/fstat.2.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileType {
    Socket,
    Regular,
    Directory,
    Fifo,
    CharDevice,
    BlockDevice,
    /// A symbolic link: only an `lstat`-like look sees one.
    Symlink,
    /// Any other type, as `st_mode & S_IFMT`.
    Other(u32),
}

impl FileType {
    /// The type in `st_mode`'s `S_IFMT` bits.
    // mode_t is u16 on macOS.
    #[allow(clippy::useless_conversion)]
    pub(crate) fn of_mode(mode: u32) -> FileType {
        let t = mode & u32::from(libc::S_IFMT);
        match t {
            _ if t == u32::from(libc::S_IFSOCK) => FileType::Socket,
            _ if t == u32::from(libc::S_IFREG) => FileType::Regular,
            _ if t == u32::from(libc::S_IFDIR) => FileType::Directory,
            _ if t == u32::from(libc::S_IFIFO) => FileType::Fifo,
            _ if t == u32::from(libc::S_IFCHR) => FileType::CharDevice,
            _ if t == u32::from(libc::S_IFBLK) => FileType::BlockDevice,
            _ if t == u32::from(libc::S_IFLNK) => FileType::Symlink,
            _ => FileType::Other(t),
        }
    }
}

/// The type of the file open as `fd`. Only looks: the descriptor is neither
/// owned nor changed. A descriptor that is not open fails with `EBADF`
/// (see [`is_not_open`]).
// mode_t is u16 on macOS.
#[allow(clippy::useless_conversion)]
pub(crate) fn file_type(fd: RawFd) -> io::Result<FileType> {
    Ok(FileType::of_mode(u32::from(fstat(fd)?.st_mode)))
}

/// The inode number of the file open as `fd`; for a socket, the one
/// sock_diag(7) knows it by.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn inode(fd: RawFd) -> io::Result<u64> {
    Ok(fstat(fd)?.st_ino)
}

/// fstat(2), <https://man7.org/linux/man-pages/man2/fstat.2.html>.
fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: `stat` is plain integers (and integer padding), for which all
    // zeroes is a value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is live and valid for writes of one `stat`; fstat only
    // reads the inode behind `fd`, whatever number it is, and neither
    // closes nor changes the descriptor.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Whether `fd` is close-on-exec. A descriptor passed across exec never is
/// (exec closes those): one that is was opened by this process itself.
pub(crate) fn is_cloexec(fd: RawFd) -> io::Result<bool> {
    // SAFETY: F_GETFD only reads the descriptor's flags, whatever number
    // `fd` is.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags & libc::FD_CLOEXEC != 0)
}

/// Whether [`file_type`] failed because no file is open with that number.
pub(crate) fn is_not_open(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EBADF)
}

/// Whether this process has claimed its inherited descriptors: each can be
/// owned once, and wrapping one twice would close it twice.
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// One of the descriptors to claim is not an open socket.
#[derive(Debug)]
pub(crate) struct NotSockets;

/// Takes ownership of the `count` descriptors from `first` on, once per process, and only if
/// every one is an open socket that came across exec (not close-on-exec,
/// so not one this process opened, such as a log's or a database's
/// socket a wrong count would reach): `Ok(None)` once they were claimed (by this
/// or an earlier call; a later call does not even look, since their numbers
/// may belong to the application's files by now), `Err` if one is not a
/// socket, and then nothing is owned.
///
/// The caller must know the descriptors were handed to this process for it
/// to own (socket activation: `LISTEN_PID` names it) and that no code outside
/// this crate owns them; `crate::bind::take_from_env` states that as its
/// precondition to the user.
pub(crate) fn claim_sockets(
    first: RawFd,
    count: usize,
) -> Result<Option<Vec<OwnedFd>>, NotSockets> {
    if CLAIMED.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let fds = (first..).take(count);
    if !fds.clone().all(|fd| {
        matches!(file_type(fd), Ok(FileType::Socket)) && matches!(is_cloexec(fd), Ok(false))
    }) {
        return Err(NotSockets);
    }
    if CLAIMED.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    let owned = fds
        .map(|fd| {
            // SAFETY: fstat just found `fd` open (so it is not -1) and a socket
            // that came across exec,
            // and CLAIMED makes this the only place in the crate that wraps
            // inherited descriptors, once per process, so nothing in the
            // crate owns it already; that nothing outside the crate does is
            // the caller's documented precondition.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect();
    Ok(Some(owned))
}

/// Whether this process may create a file in `dir`: write and search
/// permission, by faccessat(2) with `AT_EACCESS`, so for the effective ids
/// that `bind` is checked against
/// (<https://man7.org/linux/man-pages/man2/faccessat.2.html>). A read-only
/// file system counts as not writable.
pub(crate) fn may_create_in(dir: &Path) -> io::Result<bool> {
    let dir = CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: `dir` is a NUL-terminated string alive for the call, which
    // only reads it; AT_FDCWD needs no descriptor.
    let rc = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            dir.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM | libc::EROFS) => Ok(false),
        _ => Err(e),
    }
}

/// The effective user id of this process, by geteuid(2)
/// (<https://man7.org/linux/man-pages/man2/geteuid.2.html>), which never
/// fails.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid takes nothing and only returns a number.
    unsafe { libc::geteuid() }
}

/// The effective group id of this process, by getegid(2), which never
/// fails.
pub(crate) fn effective_gid() -> u32 {
    // SAFETY: getegid takes nothing and only returns a number.
    unsafe { libc::getegid() }
}

/// This process's umask, where the OS tells it without changing it (Linux
/// 4.7 and later: `Umask:` in `/proc/self/status`); `None` elsewhere, as
/// umask(2) can only read it by setting it, which would race other
/// threads' file creation.
pub(crate) fn umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// The most a passwd or group entry's strings may take: far past any real
/// entry (a group listing its members is the largest), small enough that a
/// broken name service cannot make the lookup allocate without end.
const MAX_ENTRY_BUFFER: usize = 1 << 20;

/// Runs a `get*nam_r` call with a buffer that grows on `ERANGE`, and says
/// whether it found the name. `call` is given the name, the buffer and its
/// length, and returns the function's result code and whether the result
/// pointer was set.
fn lookup_name(
    name: &str,
    mut call: impl FnMut(&CString, &mut [libc::c_char]) -> (libc::c_int, bool),
) -> io::Result<bool> {
    let name = CString::new(name)?;
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        match call(&name, &mut buf) {
            (0, found) => return Ok(found),
            (libc::ERANGE, _) if buf.len() < MAX_ENTRY_BUFFER => buf.resize(buf.len() * 2, 0),
            // Some systems say "not found" with an error code rather than a
            // null result (getpwnam(3) lists ENOENT and ESRCH).
            (libc::ENOENT | libc::ESRCH, _) => return Ok(false),
            (rc, _) => return Err(io::Error::from_raw_os_error(rc)),
        }
    }
}

/// The uid of the user `name`, or `None` when the host has no such user,
/// by getpwnam_r(3) (<https://man7.org/linux/man-pages/man3/getpwnam_r.3.html>),
/// which asks the name services nsswitch.conf lists.
pub(crate) fn user_id(name: &str) -> io::Result<Option<u32>> {
    // SAFETY: `passwd` is integers and pointers, for which all zeroes is a
    // value; the call overwrites it before it is read.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let found = lookup_name(name, |name, buf| {
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated, `pwd` and `result` are live and
        // writable, and `buf` is writable for the length passed; the
        // strings the call puts in `buf` are not read (only the uid is).
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        (rc, !result.is_null())
    })?;
    Ok(found.then_some(pwd.pw_uid))
}

/// The gid of the group `name`, or `None` when the host has no such
/// group, by getgrnam_r(3) (<https://man7.org/linux/man-pages/man3/getgrnam_r.3.html>).
pub(crate) fn group_id(name: &str) -> io::Result<Option<u32>> {
    // SAFETY: `group` is integers and pointers, for which all zeroes is a
    // value; the call overwrites it before it is read.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let found = lookup_name(name, |name, buf| {
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated, `grp` and `result` are live and
        // writable, and `buf` is writable for the length passed; the
        // strings the call puts in `buf` are not read (only the gid is).
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut grp,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        (rc, !result.is_null())
    })?;
    Ok(found.then_some(grp.gr_gid))
}

/// Waits until `fd` has something to read, or `timeout` passes, by poll(2)
/// (<https://man7.org/linux/man-pages/man2/poll.2.html>); true when it is
/// readable. A timeout past `i32::MAX` milliseconds (24 days) waits that
/// long. `EINTR` is returned to the caller, which knows the deadline.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: std::time::Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // Rounded up, so a wait of 0.5 ms does not become a busy poll of 0.
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    let millis = libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pfd` is one live, writable pollfd, and the count passed is 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, millis) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc > 0)
}

#[cfg(test)]
mod tests {
    use super::{MAX_ENTRY_BUFFER, lookup_name};

    /// A passwd or group entry too large for the buffer (`ERANGE`) is asked
    /// again with twice the room, up to the bound and not past it; "no such
    /// name" is not an error, whichever way the system says it.
    #[test]
    fn a_name_lookup_grows_its_buffer_up_to_a_bound() {
        let mut lens = Vec::new();
        let found = lookup_name("big", |_, buf| {
            lens.push(buf.len());
            if buf.len() < 5000 {
                (libc::ERANGE, false)
            } else {
                (0, true)
            }
        });
        assert!(found.unwrap());
        assert_eq!(lens, [1024, 2048, 4096, 8192]);

        // A name service that always wants more stops at the bound.
        let mut largest = 0;
        let err = lookup_name("endless", |_, buf| {
            assert!(buf.len() <= MAX_ENTRY_BUFFER, "grew past the bound");
            largest = buf.len();
            (libc::ERANGE, false)
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ERANGE));
        assert_eq!(largest, MAX_ENTRY_BUFFER);

        for rc in [libc::ENOENT, libc::ESRCH] {
            assert!(!lookup_name("gone", |_, _| (rc, false)).unwrap());
        }
        assert!(!lookup_name("gone", |_, _| (0, false)).unwrap());
        let err = lookup_name("broken", |_, _| (libc::EIO, false)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EIO));
    }
}
