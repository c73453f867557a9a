//! Starting a successor process with sockets at descriptors 3 and up, as
//! socket activation passes them, and `LISTEN_PID` (and the handoff's own
//! variable) ending in its own id.
//!
//! The one place in the crate where a sequence of calls is one unit: after
//! fork(2) a multi-threaded parent's child may only make
//! async-signal-safe calls (signal-safety(7)) until execve(2), so no
//! allocation, no lock, no `std::process::Command` (whose environment is
//! fixed before the fork, before the child's id is known). Everything the
//! child needs is made before the fork: the argument and environment
//! arrays, a writable slot for the id's digits, and the sockets duplicated
//! above the range they are moved into.

use std::ffi::{CStr, CString, c_char};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The first descriptor a passed socket gets, `SD_LISTEN_FDS_START`.
const FIRST_FD: RawFd = 3;

/// Room for a process id's digits: `pid_t` is an `i32`, at most 10 digits.
const PID_DIGITS: usize = 10;

/// Starts `program` (a path, not looked up in `PATH`) with `args` (the
/// first is `argv[0]`) and `env` (`NAME=value` entries), and `sockets` at
/// descriptors 3, 4, ... in order, without close-on-exec; the environment
/// also gets each of `with_pid` (`LISTEN_PID=`, say) followed by the
/// child's own id. Returns the child's id once it has executed the
/// program, or the error of the fork or the exec (the child is then
/// reaped).
///
/// fork(2) <https://man7.org/linux/man-pages/man2/fork.2.html>, dup2(2),
/// execve(2) <https://man7.org/linux/man-pages/man2/execve.2.html>.
pub(crate) fn spawn_with_sockets(
    program: &CStr,
    args: &[CString],
    env: &[CString],
    with_pid: &[&[u8]],
    sockets: &[BorrowedFd<'_>],
) -> io::Result<i32> {
    let top = FIRST_FD + RawFd::try_from(sockets.len()).map_err(|_| too_many())?;
    // Duplicates at or above `top`, so moving them to 3.. never overwrites
    // one not moved yet; close-on-exec, so a failed start leaks none.
    let staged: Vec<OwnedFd> = sockets
        .iter()
        .map(|s| dup_at_least(*s, top))
        .collect::<io::Result<_>>()?;
    let staged_raw: Vec<RawFd> = staged.iter().map(AsRawFd::as_raw_fd).collect();

    // Each entry with room for the digits and a NUL, written in the child.
    let mut pid_entries: Vec<Vec<u8>> = with_pid
        .iter()
        .map(|prefix| {
            let mut entry = prefix.to_vec();
            entry.resize(prefix.len() + PID_DIGITS + 1, 0);
            entry
        })
        .collect();
    let starts: Vec<*mut u8> = pid_entries.iter_mut().map(Vec::as_mut_ptr).collect();
    let digits: Vec<*mut u8> = starts
        .iter()
        .zip(with_pid)
        // SAFETY: each entry is longer than its prefix.
        .map(|(&start, prefix)| unsafe { start.add(prefix.len()) })
        .collect();
    let argv: Vec<*const c_char> = args
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const c_char> = env
        .iter()
        .map(|e| e.as_ptr())
        .chain(starts.iter().map(|&s| s.cast_const().cast()))
        .chain(std::iter::once(std::ptr::null()))
        .collect();

    let (read_end, write_end) = pipe_cloexec()?;
    // SAFETY: fork has no preconditions; what the child may do after it is
    // the next block's concern.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the child of a possibly multi-threaded process, so
        // only async-signal-safe calls (sigprocmask, signal, dup2, getpid,
        // execve, write, _exit) on memory made before the fork: each of
        // `digits` points into an entry of `pid_entries` with room for 10
        // digits and a NUL, `argv` and `envp` are NULL-terminated arrays
        // of NUL-terminated strings that live until the exec, and the
        // descriptors are open.
        unsafe {
            child(
                program.as_ptr(),
                &argv,
                &envp,
                &digits,
                &staged_raw,
                write_end.as_raw_fd(),
            )
        }
    }
    drop(write_end);
    drop(staged);
    // The child closes its end on a successful exec (close-on-exec), or
    // writes its errno first.
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < errno.len() {
        // SAFETY: the buffer is live and has `len - got` bytes of room.
        let n = unsafe {
            libc::read(
                read_end.as_raw_fd(),
                errno[got..].as_mut_ptr().cast(),
                errno.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n.unsigned_abs(),
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return Err(io::Error::last_os_error()),
        }
    }
    if got == 0 {
        return Ok(pid);
    }
    let _ = reap(pid);
    Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)))
}

/// The child's part: nothing here allocates or takes a lock.
///
/// # Safety
///
/// Called only in the child of fork, with `argv` and `envp`
/// NULL-terminated, each of `digits` writable for `PID_DIGITS + 1` bytes,
/// and the descriptors open.
unsafe fn child(
    program: *const c_char,
    argv: &[*const c_char],
    envp: &[*const c_char],
    digits: &[*mut u8],
    staged: &[RawFd],
    report: RawFd,
) -> ! {
    // SAFETY: the caller's contract; each call is async-signal-safe.
    unsafe {
        // The child starts with the parent's blocked signals and ignored
        // SIGPIPE (Rust ignores it); a fresh program expects neither.
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        for (i, &fd) in staged.iter().enumerate() {
            // `i` is below the count checked to fit an fd number.
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let target = FIRST_FD + i as RawFd;
            // dup2 leaves the new descriptor without close-on-exec.
            if libc::dup2(fd, target) < 0 {
                fail(report);
            }
        }
        let pid = libc::getpid().unsigned_abs();
        for &at in digits {
            write_decimal(pid, at);
        }
        libc::execve(program, argv.as_ptr(), envp.as_ptr());
        fail(report)
    }
}

/// Reports errno to the parent and exits the child.
///
/// # Safety
///
/// In the child of fork; `report` is the pipe's write end.
unsafe fn fail(report: RawFd) -> ! {
    // SAFETY: async-signal-safe calls on a live buffer; _exit does not run
    // the parent's atexit handlers or flush its buffers.
    unsafe {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let bytes = errno.to_ne_bytes();
        libc::write(report, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(127)
    }
}

/// Writes `n` in decimal at `out`, then a NUL.
///
/// # Safety
///
/// `out` has room for `PID_DIGITS + 1` bytes; `n` has at most 10 digits.
unsafe fn write_decimal(mut n: u32, out: *mut u8) {
    let mut buf = [0u8; PID_DIGITS];
    let mut len = 0;
    loop {
        // `n % 10` is below 10.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        buf[len] = b'0' + digit;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        // SAFETY: `i < len <= PID_DIGITS`, within the caller's room.
        unsafe { *out.add(i) = buf[len - 1 - i] };
    }
    // SAFETY: `len <= PID_DIGITS`, and the room is one more.
    unsafe { *out.add(len) = 0 };
}

/// A duplicate of `fd` at `min` or above, close-on-exec: fcntl(2)
/// `F_DUPFD_CLOEXEC`.
fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl with F_DUPFD_CLOEXEC on a borrowed, open descriptor.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fcntl just returned this new descriptor, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// A pipe whose ends close on exec, made so at once where the OS can
/// (std's `io::pipe`: pipe2 with `O_CLOEXEC` on Linux and the BSDs), so a
/// child another thread spawns meanwhile inherits neither end.
fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = io::pipe()?;
    Ok((r.into(), w.into()))
}

/// How a child ended, or that it has not: waitpid(2) with `WNOHANG`,
/// <https://man7.org/linux/man-pages/man2/waitpid.2.html>.
pub(crate) fn try_wait(pid: i32) -> io::Result<Option<std::process::ExitStatus>> {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    loop {
        // SAFETY: `status` is live and writable.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        match r {
            0 => return Ok(None),
            r if r == pid => return Ok(Some(std::process::ExitStatus::from_raw(status))),
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return Err(io::Error::last_os_error()),
        }
    }
}

/// Kills a child that did not become ready (SIGKILL: it serves no one
/// yet) and reaps it: kill(2), waitpid(2).
pub(crate) fn kill_and_reap(pid: i32) -> io::Result<std::process::ExitStatus> {
    // SAFETY: kill with a child's id this process has not reaped, so the id
    // is still its child's.
    if unsafe { libc::kill(pid, libc::SIGKILL) } < 0 {
        return Err(io::Error::last_os_error());
    }
    reap(pid)
}

/// Waits for a child to end: waitpid(2).
fn reap(pid: i32) -> io::Result<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    loop {
        // SAFETY: `status` is live and writable.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(std::process::ExitStatus::from_raw(status));
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(io::Error::last_os_error());
        }
    }
}

fn too_many() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "too many sockets to pass")
}

/// Sends `message` with `sockets` as `SCM_RIGHTS` to the datagram socket
/// at `to`: sendmsg(2), unix(7). What `sd_pid_notify_with_fds(3)` does
/// for `FDSTORE=1`.
pub(crate) fn send_with_fds(
    from: BorrowedFd<'_>,
    to: &socket2::SockAddr,
    message: &[u8],
    sockets: &[BorrowedFd<'_>],
) -> io::Result<()> {
    let fds: Vec<RawFd> = sockets.iter().map(AsRawFd::as_raw_fd).collect();
    let fd_bytes = std::mem::size_of_val(fds.as_slice());
    let fd_bytes_u32 = u32::try_from(fd_bytes).map_err(|_| too_many())?;
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes_u32) } as usize;
    // u64s, so the control buffer is aligned for `cmsghdr`.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: message.as_ptr().cast_mut().cast(),
        iov_len: message.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty one; the fields are set next.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = to.as_ptr().cast_mut().cast();
    msg.msg_namelen = to.len();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: `msg_control` points at `space` zeroed, aligned bytes,
        // room for one header and the descriptors (CMSG_SPACE above), so
        // CMSG_FIRSTHDR is that buffer's start and CMSG_DATA lies inside.
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&msg);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(fd_bytes_u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(header),
                fd_bytes,
            );
        }
    }
    loop {
        // SAFETY: every pointer in `msg` is live for the call.
        let sent = unsafe { libc::sendmsg(from.as_raw_fd(), &msg, 0) };
        if sent >= 0 {
            return Ok(());
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(io::Error::last_os_error());
        }
    }
}

/// Has the kernel attach each sender's credentials to the datagrams
/// `socket` receives: `SO_PASSCRED`, unix(7)
/// <https://man7.org/linux/man-pages/man7/unix.7.html>.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn pass_credentials(socket: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int, its size given.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&raw const on).cast(),
            std::mem::size_of_val(&on) as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receives one datagram into `buf` on a socket set by
/// [`pass_credentials`]: its length, and the sender's process id from its
/// `SCM_CREDENTIALS`, which the kernel fills in and only a privileged
/// sender can set to another's (recvmsg(2), unix(7)). `None` when no
/// credentials came.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn recv_with_sender(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Option<i32>)> {
    let cred_bytes = std::mem::size_of::<libc::ucred>() as u32;
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE(cred_bytes) } as usize;
    // u64s, so the control buffer is aligned for `cmsghdr`.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty one; the fields are set next.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: every pointer in `msg` is live and writable for the call.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    let Ok(n) = usize::try_from(n) else {
        return Err(io::Error::last_os_error());
    };
    // SAFETY: recvmsg left `msg` describing `control`: CMSG_FIRSTHDR and
    // CMSG_NXTHDR stay inside it or return null, and a header of
    // SCM_CREDENTIALS whose length is checked holds a `ucred`, read
    // unaligned as CMSG_DATA need not be.
    let sender = unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&msg);
        let mut sender = None;
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET
                && (*header).cmsg_type == libc::SCM_CREDENTIALS
                && (*header).cmsg_len as usize >= libc::CMSG_LEN(cred_bytes) as usize
            {
                let cred: libc::ucred = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast());
                sender = Some(cred.pid);
            }
            header = libc::CMSG_NXTHDR(&msg, header);
        }
        sender
    };
    Ok((n, sender))
}
