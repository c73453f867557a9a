//! One spec against a whole fleet: a plan per recorded host snapshot, and
//! the hosts grouped by outcome and by cause (feature `fleet`).
//!
//! Snapshots come from `listenspec doctor --dump-host`, collected by
//! whatever runs commands across the fleet (ssh, Ansible, a Kubernetes
//! DaemonSet) into one folder. [`Fleet::check_dir`] reads and plans them
//! all in parallel, a thread per core; a snapshot that cannot be read is
//! reported with its file and never stops the rest.
//! [`Fleet::from_snapshots`] is the same without the I/O, for snapshots a
//! test or a server's CI already holds.
//!
//! ```
//! use listenspec::fleet::{Fleet, SnapshotError};
//! use listenspec::{Host, ListenSpec, PlanOptions};
//!
//! let spec: ListenSpec = "ops = if:eth2\nops.metrics = http:9100 device".parse()?;
//! let with_eth2 = Host::builder().interface("eth2", 2, ["198.51.100.7/24"]).build()?;
//! let without = Host::builder().interface("eth0", 2, ["203.0.113.5/24"]).build()?;
//! let fleet = Fleet::from_snapshots(
//!     &spec,
//!     PlanOptions::default(),
//!     [
//!         ("web-1.json".into(), Ok(with_eth2)),
//!         ("web-2.json".into(), Ok(without)),
//!         ("web-3.json".into(), serde_json::from_str("{").map_err(SnapshotError::Json)),
//!     ],
//! );
//! assert!(fleet.failed());
//! let causes = fleet.causes();
//! assert_eq!(causes.len(), 1);
//! assert_eq!(causes[0].hosts(), ["web-2.json"]);
//! assert!(fleet.to_string().starts_with("3 hosts: 1 plans cleanly, 1 fails, 1 unreadable"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use foldhash::{HashMap, HashMapExt};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::mem::Discriminant;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::plan::{PlanError, Planner, Problem, ProblemKind, Severity};
use crate::spec::{ListenSpec, Name};
use crate::{Host, PlanOptions};

/// The most read from one snapshot file: a host of ten thousand interfaces
/// is a few megabytes, and `/dev/zero` must not be read forever.
const FILE_LIMIT: u64 = 64 << 20;

/// How many host names the table shows per cause, and how many unreadable
/// files: the JSON form has them all.
const SHOWN: usize = 8;

/// Why a snapshot file could not be read as a host.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The OS could not read it.
    Read(io::Error),
    /// It is larger than 64 MiB.
    TooLarge,
    /// It is not the JSON of a host snapshot.
    Json(serde_json::Error),
    /// It is not a regular file (nor a symbolic link to one), so it is
    /// not opened, or is closed unread: a FIFO would block the reader
    /// until something writes to it, and a device is no snapshot.
    NotAFile(FileKind),
    /// It is UTF-16 (it starts with UTF-16's byte order mark), as Windows
    /// PowerShell 5.1 writes `>` and `Out-File`: JSON here is UTF-8.
    Utf16,
    /// A symbolic link in the folder that leads out of it, to a file its
    /// owner does not own: not read, since whoever may write the folder
    /// would otherwise have the check read (and its errors quote) any
    /// file the checker can.
    LinkOutside,
    /// What was opened is not the file looked at a moment before: another
    /// file, or a link, was put at its name in between. Not read, since a
    /// link put there is followed by no one's judgement.
    Replaced,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Read(error) => write!(f, "cannot be read: {error}"),
            SnapshotError::TooLarge => {
                write!(f, "is larger than the limit of {} MiB", FILE_LIMIT >> 20)
            }
            // serde's own messages quote what the file holds (an unknown
            // key, a value): quoted here as any snapshot text is, escaped
            // and by its start.
            SnapshotError::Json(error) => write!(
                f,
                "is not a host snapshot (write one with `listenspec doctor --dump-host`): {}",
                crate::spec::Escaped(error)
            ),
            SnapshotError::Utf16 => f.write_str(
                "is UTF-16 (as Windows PowerShell 5.1 writes `>`), and a snapshot is UTF-8 JSON: write it with `listenspec doctor --dump-host | Set-Content -Encoding utf8 FILE`, or convert it (`iconv -f UTF-16 -t UTF-8`)",
            ),
            SnapshotError::Replaced => f.write_str(
                "was replaced while it was opened (another file or a link put at its name), and is not read: whoever may write the folder can do that; check the folder again, and keep it writable by its owner alone",
            ),
            SnapshotError::LinkOutside => f.write_str(
                "is a symbolic link out of the folder to a file of another owner than the link's, and is not followed: a link may lead inside the folder (as a ConfigMap's do), or to a file of the link's own owner",
            ),
            SnapshotError::NotAFile(kind) => write!(
                f,
                "is {kind}, not a host snapshot: only regular files are read (move it out of the folder, \
                 or rename it so that its name does not end in .json)"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// What a `*.json` entry of a snapshot folder is, when it is not a regular
/// file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A FIFO (named pipe).
    Fifo,
    /// A Unix socket file.
    Socket,
    /// A character device, such as `/dev/null`.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A directory (reached through a symbolic link: directories are
    /// skipped when the folder is listed).
    Directory,
    /// Anything else that is not a regular file.
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Directory => "a directory",
            FileKind::Other => "not a regular file",
        })
    }
}

impl FileKind {
    /// `None` for a regular file, else what it is.
    fn of(t: std::fs::FileType) -> Option<FileKind> {
        #[cfg(unix)]
        use std::os::unix::fs::FileTypeExt;
        if t.is_file() {
            return None;
        }
        if t.is_dir() {
            return Some(FileKind::Directory);
        }
        #[cfg(unix)]
        {
            let kinds = [
                (t.is_fifo(), FileKind::Fifo),
                (t.is_socket(), FileKind::Socket),
                (t.is_char_device(), FileKind::CharDevice),
                (t.is_block_device(), FileKind::BlockDevice),
            ];
            if let Some((_, kind)) = kinds.into_iter().find(|(is, _)| *is) {
                return Some(kind);
            }
        }
        Some(FileKind::Other)
    }
}

/// What planning the spec gave on one host.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The spec plans; these are the plan's warnings (often none).
    Planned {
        /// The warnings.
        warnings: Arc<[Problem]>,
    },
    /// The spec does not plan on this host.
    Failed(PlanError),
    /// The snapshot could not be read, or is no host snapshot.
    Unreadable(SnapshotError),
}

/// One host's snapshot file and what planning gave on it.
#[derive(Debug)]
pub struct HostOutcome {
    file: PathBuf,
    outcome: Outcome,
}

impl HostOutcome {
    /// The snapshot's file (its name within the folder for
    /// [`Fleet::check_dir`]).
    pub fn file(&self) -> &Path {
        &self.file
    }
    /// What planning gave.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    /// The first line of the host's listing under its plan errors.
    fn listing(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(e) => e.host_listing().and_then(|l| l.lines().next()),
            _ => None,
        }
    }
    /// The problems found, errors first.
    fn problems(&self) -> impl Iterator<Item = &Problem> {
        let (errors, warnings): (&[Problem], &[Problem]) = match &self.outcome {
            Outcome::Planned { warnings } => (&[], warnings),
            Outcome::Failed(e) => (e.errors(), e.warnings()),
            Outcome::Unreadable(_) => (&[], &[]),
        };
        errors.iter().chain(warnings)
    }
}

/// One spec planned against many hosts.
#[derive(Debug)]
pub struct Fleet {
    /// In file order.
    hosts: Vec<HostOutcome>,
}

/// One cause, and the hosts it was found on: the same kind of problem, of
/// the same severity, on the same network and endpoint.
#[derive(Debug)]
pub struct Cause<'f> {
    /// The first host's finding, which speaks for the others.
    example: &'f Problem,
    hosts: Vec<&'f Path>,
    /// The first line of the first host's interface listing, when the
    /// finding's message refers to it.
    listing: Option<&'f str>,
}

impl<'f> Cause<'f> {
    /// The finding on the first host it was seen on; on the others the
    /// details (an address, say) may differ.
    pub fn example(&self) -> &'f Problem {
        self.example
    }
    /// Whether it is an error or a warning.
    pub fn severity(&self) -> Severity {
        self.example.kind().severity()
    }
    /// The hosts, in file order.
    pub fn hosts(&self) -> &[&'f Path] {
        &self.hosts
    }
}

/// What tells two causes apart.
type CauseKey<'f> = (
    bool,
    Option<&'f Name>,
    Option<&'f Name>,
    Discriminant<ProblemKind>,
);

impl Fleet {
    /// Plans `spec` against each snapshot, read or not; pure, like
    /// [`plan`](crate::plan()).
    pub fn from_snapshots(
        spec: &ListenSpec,
        options: PlanOptions,
        snapshots: impl IntoIterator<Item = (PathBuf, Result<Host, SnapshotError>)>,
    ) -> Fleet {
        let planner = Planner::new(spec);
        let hosts = snapshots
            .into_iter()
            .map(|(file, host)| HostOutcome {
                outcome: match host {
                    Ok(host) => plan_one(&planner, &host, options),
                    Err(error) => Outcome::Unreadable(error),
                },
                file,
            })
            .collect();
        Fleet { hosts }
    }

    /// Reads every `*.json` snapshot in `dir` (not its subfolders) and plans
    /// `spec` against each, in parallel (a thread per core); hosts are in
    /// file-name order.
    /// The error is for the folder alone: a file that cannot be read is an
    /// [`Outcome::Unreadable`] host.
    pub fn check_dir(spec: &ListenSpec, dir: &Path, options: PlanOptions) -> io::Result<Fleet> {
        let folder = &std::fs::canonicalize(dir)?;
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            // The listing says what most entries are; only a symbolic link
            // is followed, to skip one that leads to a folder.
            let kind = entry.file_type()?;
            let folder = kind.is_dir() || (kind.is_symlink() && path.is_dir());
            if path.extension().is_some_and(|e| e == "json") && !folder {
                files.push(path);
            }
        }
        files.sort();
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = files.len().div_ceil(workers).max(1);
        let planner = &Planner::new(spec);
        let hosts = std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|path| HostOutcome {
                                outcome: match read_in_folder(path, folder) {
                                    Ok(host) => plan_one(planner, &host, options),
                                    Err(error) => Outcome::Unreadable(error),
                                },
                                file: path.strip_prefix(dir).unwrap_or(path).to_owned(),
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            // A worker only reads, parses and plans, none of which panics;
            // were one to, its panic is passed on rather than hidden.
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        Ok(Fleet { hosts })
    }

    /// Every host, in file order.
    pub fn hosts(&self) -> &[HostOutcome] {
        &self.hosts
    }

    /// Whether any host fails to plan, or could not be read: a fleet is
    /// checked only when every host is.
    pub fn failed(&self) -> bool {
        self.hosts
            .iter()
            .any(|h| !matches!(h.outcome, Outcome::Planned { .. }))
    }

    /// The problems found, grouped by cause: errors first, then warnings;
    /// within each, the cause on most hosts first.
    pub fn causes(&self) -> Vec<Cause<'_>> {
        let mut index: HashMap<CauseKey<'_>, usize> = HashMap::new();
        let mut causes: Vec<Cause<'_>> = Vec::new();
        for h in &self.hosts {
            for p in h.problems() {
                let key = (
                    p.is_warning(),
                    p.network_name(),
                    p.endpoint_name(),
                    std::mem::discriminant(p.kind()),
                );
                let i = *index.entry(key).or_insert_with(|| {
                    causes.push(Cause {
                        example: p,
                        hosts: Vec::new(),
                        listing: h.listing().filter(|_| p.kind().refers_to_host()),
                    });
                    causes.len() - 1
                });
                // A host with two findings of one cause counts once.
                if causes[i].hosts.last() != Some(&h.file.as_path()) {
                    causes[i].hosts.push(&h.file);
                }
            }
        }
        // Stable: causes on as many hosts stay in the order first seen.
        causes.sort_by_key(|c| (c.example.is_warning(), std::cmp::Reverse(c.hosts.len())));
        causes
    }

    /// How many hosts have each outcome: clean, with warnings, failed,
    /// unreadable.
    pub(crate) fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for h in &self.hosts {
            match &h.outcome {
                Outcome::Planned { warnings } if warnings.is_empty() => c.clean += 1,
                Outcome::Planned { .. } => c.warned += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Unreadable(_) => c.unreadable += 1,
            }
        }
        c
    }
}

#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) clean: usize,
    pub(crate) warned: usize,
    pub(crate) failed: usize,
    pub(crate) unreadable: usize,
}

fn plan_one(planner: &Planner, host: &Host, options: PlanOptions) -> Outcome {
    match planner.warnings(host, options) {
        Ok(warnings) => Outcome::Planned { warnings },
        Err(e) => Outcome::Failed(e),
    }
}

/// Reads one host snapshot (JSON, as `listenspec doctor --dump-host`
/// writes it) of at most 64 MiB.
///
/// This reads whatever `path` is, a pipe too (`--host <(ssh web-1
/// listenspec doctor --dump-host)`), and waits for it as any reader of a
/// named file does: the caller chose the file. [`Fleet::check_dir`], which
/// chooses files by their names alone, reads regular files only.
pub fn read_snapshot(path: &Path) -> Result<Host, SnapshotError> {
    parse_snapshot(File::open(path).map_err(SnapshotError::Read)?, 0)
}

/// One `*.json` entry of a snapshot folder, read only if it is a regular
/// file or a symbolic link to one, and never waited for.
///
/// Symbolic links are followed: a Kubernetes ConfigMap or Secret mounted as
/// a folder is one link per key, and a `latest.json` link is a common way to
/// keep a history. What the name leads to is looked at first, so a FIFO, a
/// socket or a device is reported without being opened; it is then opened
/// non-blocking (a FIFO put in its place meanwhile cannot hold the reader:
/// the open returns at once, and for a regular file the flag changes
/// nothing) and without becoming the controlling terminal, and the file
/// opened is looked at again (`fstat`), so only a regular file is read,
/// whatever was swapped in between. What is left: someone who can write the
/// folder and win that race can make the fleet check open (never read) a
/// device they can name.
///
/// A link is followed inside `folder` (canonical), or out of it to a file
/// of the link's own owner (as nginx's `disable_symlinks if_not_owner`):
/// otherwise whoever may write the folder could have the check, run by
/// root, read a file only root may, and quote it in its errors. The file
/// opened must be the one judged (device and inode), a link's target or
/// the entry itself, so a link put at the name in between, or changed, is
/// refused too. (A hard link in the folder to a file its writer may not
/// read is what Linux's `fs.protected_hardlinks`, on by default, keeps
/// anyone but the file's owner from making.)
fn read_in_folder(path: &Path, folder: &Path) -> Result<Host, SnapshotError> {
    let regular = |meta: std::fs::Metadata| match FileKind::of(meta.file_type()) {
        None => Ok(()),
        Some(kind) => Err(SnapshotError::NotAFile(kind)),
    };
    let (judged, link) = judged(path, folder)?;
    regular(judged.clone())?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // An entry that was no link is opened as none: a link put there since
    // fails the open (ELOOP).
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NONBLOCK | libc::O_NOCTTY | if link { 0 } else { libc::O_NOFOLLOW },
    );
    #[cfg(not(unix))]
    let _ = link;
    let file = options.open(path).map_err(|e| match e.raw_os_error() {
        #[cfg(unix)]
        Some(libc::ELOOP) if !link => SnapshotError::Replaced,
        _ => SnapshotError::Read(e),
    })?;
    let meta = file.metadata().map_err(SnapshotError::Read)?;
    let size = meta.len();
    if !same_file(&judged, &meta) {
        return Err(match link {
            true => SnapshotError::LinkOutside,
            false => SnapshotError::Replaced,
        });
    }
    regular(meta)?;
    // A regular file says its size: one over the limit is refused unread.
    if size > FILE_LIMIT {
        return Err(SnapshotError::TooLarge);
    }
    parse_snapshot(file, size)
}

/// What the entry at `path` is to be read as, and whether it is a link:
/// for a symbolic link, its target, when it is allowed (see
/// [`read_in_folder`]); for anything else, the entry itself.
fn judged(path: &Path, folder: &Path) -> Result<(std::fs::Metadata, bool), SnapshotError> {
    let entry = std::fs::symlink_metadata(path).map_err(SnapshotError::Read)?;
    if !entry.file_type().is_symlink() {
        return Ok((entry, false));
    }
    let target = std::fs::canonicalize(path).map_err(SnapshotError::Read)?;
    let meta = std::fs::metadata(&target).map_err(SnapshotError::Read)?;
    if target.starts_with(folder) || same_owner(&entry, &meta) {
        Ok((meta, true))
    } else {
        Err(SnapshotError::LinkOutside)
    }
}

#[cfg(unix)]
fn same_owner(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.uid() == b.uid()
}

/// Elsewhere a link out of the folder is not followed.
#[cfg(not(unix))]
fn same_owner(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Windows's metadata has no stable file id: the judged file is trusted.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// The host in a file already open, read up to [`FILE_LIMIT`]. `size` is
/// what the file is expected to hold: read into room for it and one byte
/// more, a file is read in two calls (its bytes, then the end), where
/// growing the buffer from nothing takes seven for a small snapshot.
fn parse_snapshot(file: File, size: u64) -> Result<Host, SnapshotError> {
    let room = size.min(FILE_LIMIT) + 1;
    let mut bytes = Vec::with_capacity(usize::try_from(room).unwrap_or(0));
    file.take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(SnapshotError::Read)?;
    // One byte past the limit tells a file of exactly the limit from a
    // larger one.
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(SnapshotError::TooLarge);
    }
    // A byte order mark is no JSON, but editors and PowerShell write one
    // before UTF-8 text, and it says nothing else.
    let text = match bytes.as_slice() {
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => return Err(SnapshotError::Utf16),
        [0xef, 0xbb, 0xbf, rest @ ..] => rest,
        all => all,
    };
    serde_json::from_slice(text).map_err(SnapshotError::Json)
}

impl fmt::Display for Fleet {
    /// A count of each outcome, the causes with a few of their hosts each,
    /// then the unreadable files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts();
        let planned = c.clean + c.warned;
        write!(
            f,
            "{} hosts: {planned} plans cleanly{}, {} fails, {} unreadable",
            self.hosts.len(),
            if c.warned > 0 {
                format!(" ({} with warnings)", c.warned)
            } else {
                String::new()
            },
            c.failed,
            c.unreadable,
        )?;
        let causes = self.causes();
        for (severity, title) in [(Severity::Error, "errors"), (Severity::Warning, "warnings")] {
            let mut of_severity = causes
                .iter()
                .filter(|c| c.severity() == severity)
                .peekable();
            if of_severity.peek().is_none() {
                continue;
            }
            write!(f, "\n\n{title}, by cause:")?;
            for cause in of_severity {
                let n = cause.hosts.len();
                // The finding's own fix line, indented under its count.
                let finding = cause.example.to_string().replace('\n', "\n  ");
                let hosts = if n == 1 { "host" } else { "hosts" };
                write!(f, "\n  {n} {hosts}: {finding}")?;
                write!(f, "\n    on ")?;
                write_some(f, cause.hosts.iter().map(|p| Shown(p)))?;
                if let (Some(listing), Some(first)) = (cause.listing, cause.hosts.first()) {
                    write!(f, "\n    {}: {listing}", Shown(first))?;
                }
            }
        }
        let unreadable: Vec<_> = self
            .hosts
            .iter()
            .filter_map(|h| match &h.outcome {
                Outcome::Unreadable(error) => Some((Shown(&h.file), error)),
                _ => None,
            })
            .collect();
        if !unreadable.is_empty() {
            write!(f, "\n\nunreadable snapshots:")?;
            for (file, error) in unreadable.iter().take(SHOWN) {
                write!(f, "\n  {file} {error}")?;
            }
            if unreadable.len() > SHOWN {
                write!(f, "\n  and {} more", unreadable.len() - SHOWN)?;
            }
        }
        Ok(())
    }
}

/// A file's name as the fleet report and `listenspec doctor` print it:
/// as it is when it holds only printable characters other than a space or
/// a quote (`web-1.json`), else quoted and escaped as `{:?}` writes it
/// (`"a\nb.json"`, `"\xFF.json"`), so that a name cannot forge a line of
/// the output or repaint the terminal.
///
/// ```
/// use std::path::Path;
///
/// use listenspec::fleet::shown;
///
/// assert_eq!(shown(Path::new("web-1.json")).to_string(), "web-1.json");
/// assert_eq!(shown(Path::new("a\nb.json")).to_string(), r#""a\nb.json""#);
/// ```
pub fn shown(path: &Path) -> impl fmt::Display + '_ {
    Shown(path)
}

/// A snapshot's file name as the report prints it: as it is when every
/// character is a printable one other than a space or a quote, which is
/// what collected snapshots are named (`web-1.json`); otherwise quoted and
/// escaped as Rust's `{:?}` writes it (`"a\nb.json"`, `"\u{1b}[31m.json"`,
/// `"\xFF.json"` for a byte that is not UTF-8).
///
/// A name is whatever the folder's writer chose, and printed raw a newline
/// in it would forge a line of the report, an escape sequence would
/// repaint the terminal, a space would split it into two hosts of a list.
/// Plain names stay as they were, so the report reads and greps as before;
/// a quoted name cannot be taken for a plain one, which never holds a quote.
struct Shown<'a>(&'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.0.to_str().filter(|name| {
            // `escape_debug` leaves a printable character alone and escapes
            // quotes and backslashes; an apostrophe it escapes too, needlessly.
            name.chars()
                .all(|c| !c.is_whitespace() && (c == '\'' || c.escape_debug().len() == 1))
        });
        match plain {
            Some(name) => f.write_str(name),
            None => write!(f, "{:?}", self.0.as_os_str()),
        }
    }
}

/// The first few items, space-separated, then how many more there are.
fn write_some<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: impl ExactSizeIterator<Item = T>,
) -> fmt::Result {
    let n = items.len();
    let mut sep = "";
    for item in items.take(SHOWN) {
        write!(f, "{sep}{item}")?;
        sep = " ";
    }
    if n > SHOWN {
        write!(f, " and {} more", n - SHOWN)?;
    }
    Ok(())
}
