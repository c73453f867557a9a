//! A directory held open, and the `*at` calls on names inside it: once the
//! directory is open, no call here resolves its path again, so a directory
//! renamed or replaced by a symbolic link meanwhile changes nothing about
//! where a name is looked at, made or removed. No call follows a symbolic
//! link at the name itself either.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use super::FileType;

/// What fstatat(2) says of a file
/// (<https://man7.org/linux/man-pages/man2/fstatat.2.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStat {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    /// `st_mode`: the type bits and the permission bits.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
}

impl FileStat {
    // dev_t is i32 and mode_t u16 on macOS; ino_t u64 everywhere.
    #[allow(
        clippy::unnecessary_cast,
        clippy::useless_conversion,
        clippy::cast_sign_loss
    )]
    fn from_raw(st: &libc::stat) -> FileStat {
        FileStat {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            mode: u32::from(st.st_mode),
            uid: st.st_uid,
        }
    }

    pub(crate) fn file_type(&self) -> FileType {
        FileType::of_mode(self.mode)
    }

    /// Whether the sticky bit is set: in a directory, only a file's owner
    /// (or root) may remove or rename it.
    pub(crate) fn is_sticky(&self) -> bool {
        self.mode & 0o1000 != 0
    }

    /// Whether both name one file.
    pub(crate) fn same_file(&self, other: &FileStat) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

/// A name inside a directory, as the C string the calls take.
fn c_name(name: &OsStr) -> io::Result<CString> {
    Ok(CString::new(name.as_bytes())?)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The flags of a directory opened only to name files in it: on Linux
/// `O_PATH`, which needs no read permission on the directory (search is
/// enough, as for a path); elsewhere `O_RDONLY`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIR_FLAGS: libc::c_int = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// A directory open as a descriptor.
#[derive(Debug)]
pub(crate) struct Dir(OwnedFd);

/// Why [`Dir::open_along`] opened no directory.
#[derive(Debug)]
pub(crate) enum Along {
    /// A step failed.
    Io(io::Error),
    /// A symbolic link on the way belongs to a user not trusted to choose
    /// where it leads: the link, as the path resolved up to it, and its
    /// owner.
    Untrusted { link: PathBuf, uid: u32 },
}

impl From<io::Error> for Along {
    fn from(e: io::Error) -> Along {
        Along::Io(e)
    }
}

/// The most links one path may go through, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// Puts the names of `path` on `todo`, the names a walk of a path still
/// has to take, the next last: `..` kept, `/` and `.` left out (a walk
/// starts at `/` or `.` itself). A link's target is put on the same way,
/// in front of what was left.
pub(crate) fn push_names(todo: &mut Vec<OsString>, path: &Path) {
    let names = path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_owned()),
        Component::ParentDir => Some("..".into()),
        _ => None,
    });
    let from = todo.len();
    todo.extend(names);
    todo[from..].reverse();
}

impl Dir {
    /// Opens the directory at `path` (following links on the way, as
    /// binding by path would): open(2),
    /// <https://man7.org/linux/man-pages/man2/open.2.html>.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let path = CString::new(path.as_os_str().as_bytes())?;
        // SAFETY: `path` is NUL-terminated and alive for the call, which
        // only reads it; the flags make no file.
        let fd = unsafe { libc::open(path.as_ptr(), DIR_FLAGS) };
        Dir::adopt(fd)
    }

    /// Opens the directory at `path` as the kernel would resolve it, but a
    /// component at a time, from `/` (or the working directory, for a
    /// relative path), none followed where it is a link: a link met is read
    /// and its target walked the same way, once `trusted` takes its owner.
    /// Each step is taken in the directory the last one opened, so a
    /// directory on the way renamed, or replaced by another user's link,
    /// between the plan's look and this walk leads nowhere that user
    /// chooses.
    pub(crate) fn open_along(path: &Path, trusted: impl Fn(u32) -> bool) -> Result<Dir, Along> {
        let start = if path.is_absolute() { "/" } else { "." };
        let mut dir = Dir::open(Path::new(start))?;
        // Where the walk is, to name a link by: the kernel's view, not
        // the path as written.
        let mut at = PathBuf::from(start);
        let mut todo = Vec::new();
        push_names(&mut todo, path);
        let mut links = 0;
        while let Some(name) = todo.pop() {
            let err = match dir.open_dir(&name) {
                Ok(next) => {
                    dir = next;
                    if name == ".." {
                        at.pop();
                    } else {
                        at.push(&name);
                    }
                    continue;
                }
                Err(e) => e,
            };
            let (link, target) = match dir.read_link(&name) {
                Ok(Some(read)) => read,
                // Not a link: the open's own error says why.
                Ok(None) => return Err(Along::Io(err)),
                Err(e) => return Err(Along::Io(e)),
            };
            if !trusted(link.uid) {
                return Err(Along::Untrusted {
                    link: at.join(&name),
                    uid: link.uid,
                });
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Along::Io(io::Error::from_raw_os_error(libc::ELOOP)));
            }
            if target.is_absolute() {
                dir = Dir::open(Path::new("/"))?;
                at = PathBuf::from("/");
            }
            push_names(&mut todo, &target);
        }
        Ok(dir)
    }

    /// The symbolic link `name` and what it holds, or `None` when `name`
    /// is no link. On Linux both come from one descriptor of the link
    /// itself (`O_PATH | O_NOFOLLOW`, then fstat(2) and readlinkat(2) on
    /// it), so the owner judged is the owner of the target read.
    /// Elsewhere the link is looked at before and after it is read, and a
    /// link replaced between the two is an error.
    fn read_link(&self, name: &OsStr) -> io::Result<Option<(FileStat, PathBuf)>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let c = c_name(name)?;
            // SAFETY: the descriptor is open, `c` NUL-terminated and alive
            // for the call, which only reads it; the flags make no file.
            let fd = unsafe {
                libc::openat(
                    self.0.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            let link = Dir::adopt(fd)?;
            let stat = link.stat_self()?;
            if stat.file_type() != FileType::Symlink {
                return Ok(None);
            }
            let target = link.read_link_at(c"")?;
            Ok(Some((stat, target)))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let before = self.stat(name)?;
            if before.file_type() != FileType::Symlink {
                return Ok(None);
            }
            let target = self.read_link_at(&c_name(name)?)?;
            if !self.stat(name)?.same_file(&before) {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
            Ok(Some((before, target)))
        }
    }

    /// readlink(2) of `name` in this directory (an empty name: the link
    /// this descriptor is, on Linux).
    fn read_link_at(&self, name: &std::ffi::CStr) -> io::Result<PathBuf> {
        // A link holds a path, which PATH_MAX bounds.
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: the descriptor is open, `name` NUL-terminated and alive,
        // `buf` live and writable for its length.
        let n = unsafe {
            libc::readlinkat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        buf.truncate(n);
        Ok(PathBuf::from(OsString::from_vec(buf)))
    }

    /// Opens the directory `name` inside this one, never following a link
    /// at `name`: openat(2) with `O_NOFOLLOW`.
    pub(crate) fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let name = c_name(name)?;
        // SAFETY: the descriptor is open (owned by `self`), `name` is
        // NUL-terminated and alive for the call, which only reads it.
        let fd = unsafe {
            libc::openat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                DIR_FLAGS | libc::O_NOFOLLOW,
            )
        };
        Dir::adopt(fd)
    }

    fn adopt(fd: libc::c_int) -> io::Result<Dir> {
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: open(2) just returned `fd`, a new descriptor that nothing
        // else owns.
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The directory itself: fstat(2).
    pub(crate) fn stat_self(&self) -> io::Result<FileStat> {
        // SAFETY: `stat` is plain integers, for which all zeroes is a value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is open, `st` is live and writable.
        check(unsafe { libc::fstat(self.0.as_raw_fd(), &mut st) })?;
        Ok(FileStat::from_raw(&st))
    }

    /// What is at `name`, a symbolic link itself rather than its target:
    /// fstatat(2) with `AT_SYMLINK_NOFOLLOW`.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<FileStat> {
        let name = c_name(name)?;
        // SAFETY: `stat` is plain integers, for which all zeroes is a value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is open, `name` NUL-terminated and alive,
        // `st` live and writable for one `stat`.
        check(unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        Ok(FileStat::from_raw(&st))
    }

    /// Makes the directory `name` with `mode` (less the umask): mkdirat(2),
    /// which fails if anything is at `name`, a link included.
    pub(crate) fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let name = c_name(name)?;
        // Permission bits fit mode_t everywhere (u16 on macOS).
        #[allow(clippy::cast_possible_truncation)]
        let mode = mode as libc::mode_t;
        // SAFETY: the descriptor is open, `name` NUL-terminated and alive.
        check(unsafe { libc::mkdirat(self.0.as_raw_fd(), name.as_ptr(), mode) })
    }

    /// Removes the file (or, with `dir`, the empty directory) `name`:
    /// unlinkat(2), <https://man7.org/linux/man-pages/man2/unlinkat.2.html>.
    pub(crate) fn unlink(&self, name: &OsStr, dir: bool) -> io::Result<()> {
        let name = c_name(name)?;
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        // SAFETY: the descriptor is open, `name` NUL-terminated and alive.
        check(unsafe { libc::unlinkat(self.0.as_raw_fd(), name.as_ptr(), flags) })
    }

    /// Gives `name` to `owner` and `group` (`None`: unchanged), a link
    /// itself rather than its target: fchownat(2) with
    /// `AT_SYMLINK_NOFOLLOW`.
    pub(crate) fn chown(
        &self,
        name: &OsStr,
        owner: Option<u32>,
        group: Option<u32>,
    ) -> io::Result<()> {
        let name = c_name(name)?;
        // -1 (all bits set) is "unchanged" to chown.
        let owner = owner.unwrap_or(u32::MAX) as libc::uid_t;
        let group = group.unwrap_or(u32::MAX) as libc::gid_t;
        // SAFETY: the descriptor is open, `name` NUL-terminated and alive.
        check(unsafe {
            libc::fchownat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                owner,
                group,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
    }

    /// Sets the permission bits of `name`: fchmodat(2). It follows a link
    /// at `name` (Linux has no flag against that), so it is only for names
    /// in a directory no one else can write.
    pub(crate) fn chmod(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let name = c_name(name)?;
        #[allow(clippy::cast_possible_truncation)]
        let mode = mode as libc::mode_t;
        // SAFETY: the descriptor is open, `name` NUL-terminated and alive.
        check(unsafe { libc::fchmodat(self.0.as_raw_fd(), name.as_ptr(), mode, 0) })
    }

    /// Gives the file `name` of this directory a second name, `to` in
    /// `to_dir`: linkat(2), which fails with `EEXIST` if anything is at
    /// `to` (a link included) and never replaces it. Both names are then
    /// the same file, which needs both directories on one file system.
    pub(crate) fn link(&self, name: &OsStr, to_dir: &Dir, to: &OsStr) -> io::Result<()> {
        let name = c_name(name)?;
        let to = c_name(to)?;
        // SAFETY: both descriptors are open, both names NUL-terminated and
        // alive for the call, which only reads them.
        check(unsafe {
            libc::linkat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                to_dir.0.as_raw_fd(),
                to.as_ptr(),
                0,
            )
        })
    }

    /// A path naming `name` in this directory through the descriptor, not
    /// the directory's path: `/proc/self/fd/N/name`, where the kernel
    /// reaches the open directory whatever has become of its path. Linux
    /// and Android only, and only while `/proc` is mounted.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn proc_path(&self, name: &OsStr) -> std::path::PathBuf {
        Path::new("/proc/self/fd")
            .join(self.0.as_raw_fd().to_string())
            .join(name)
    }
}
