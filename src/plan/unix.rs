//! Unix sockets in a plan: the path each endpoint binds, what the host's
//! recorded facts say about it, and what clients are told.
//!
//! Pure like the rest of the planner: relative paths are resolved against
//! the snapshot's working directory, `sun_path` is measured against the
//! snapshot's OS, and what is at a path is what capture recorded.

use foldhash::{HashMap, HashMapExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::host::{AccountKind, DirFacts, Host, Lookup, NameLookup, PathKind};
use crate::plan::{Advertised, DirWriter, PlannedEndpoint, Problem, ProblemKind, Source};
use crate::spec::url_text;
use crate::spec::{
    Account, Advertise, Endpoint, Protocol, QualifiedName, Transport, UnixPath, Url,
};

/// The one Unix socket an endpoint on a `unix` network will have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixBind {
    path: UnixPath,
    owner: Option<u32>,
    group: Option<u32>,
    relative_to: Option<PathBuf>,
}

impl UnixBind {
    /// The path to bind, or the abstract name. Absolute: a relative path
    /// of the spec is resolved against the host's working directory
    /// ([`Host::cwd`]); a plan is made only when it could be.
    pub fn path(&self) -> &UnixPath {
        &self.path
    }
    /// The user id the socket file is given to (`owner=`, a name resolved
    /// by the host snapshot), if any.
    pub fn owner(&self) -> Option<u32> {
        self.owner
    }
    /// The group id the socket file is given to (`group=`), if any.
    pub fn group(&self) -> Option<u32> {
        self.group
    }
    /// The working directory the spec's relative path was resolved
    /// against; `None` when the spec wrote it absolute.
    pub fn relative_to(&self) -> Option<&Path> {
        self.relative_to.as_deref()
    }
}

/// The `sun_path` size of `struct sockaddr_un` on an OS (as
/// [`std::env::consts::OS`] names it), which holds the path and its NUL,
/// or the abstract name after its leading NUL.
fn sun_path_limit(os: &str) -> usize {
    match os {
        // Linux's unix(7); illumos's un.h. (Windows' afunix.h has 108 too,
        // but the crate binds no Unix socket there: see `bind`.)
        "linux" | "android" | "illumos" | "solaris" => 108,
        // macOS, iOS and the BSDs declare 104 bytes; any other system is
        // held to that, the smallest of them, rather than not checked.
        _ => 104,
    }
}

/// How much longer than its directory's path the path is that a socket is
/// first bound at, off Linux: `DIR/.lsR.N/s`, with R random in at most 8
/// hex digits and N in 2 (`bind/unix.rs` makes the name). On Linux the
/// bind goes through the private directory's descriptor
/// (`/proc/self/fd/N/s`), whatever the directory's path.
pub(crate) const STAGING_EXTRA: usize = "/.lsffffffff.ff/s".len();

/// The systems with Linux's abstract socket namespace.
const ABSTRACT: [&str; 2] = ["linux", "android"];

/// A socket path as the plan binds it: an absolute one as written, a
/// relative one joined to `cwd`. `None` for a relative path without a
/// working directory.
pub(crate) fn resolve_unix_path(path: &Path, cwd: Option<&Path>) -> Option<PathBuf> {
    if path.has_root() {
        return Some(path.to_owned());
    }
    cwd.map(|cwd| unix_join(cwd, path))
}

/// `rel` joined to `dir` as the kernel would resolve it from there (`.`
/// components dropped, `..` kept), with `/` between components wherever
/// the plan is made: a Unix path stays one when a Linux host's snapshot
/// is planned on Windows, whose own paths join with `\`.
fn unix_join(dir: &Path, rel: &Path) -> PathBuf {
    let mut joined = std::ffi::OsString::new();
    let mut after_name = false;
    for c in dir.components().chain(rel.components()) {
        match c {
            Component::CurDir => {}
            Component::RootDir => {
                joined.push("/");
                after_name = false;
            }
            name => {
                if after_name {
                    joined.push("/");
                }
                joined.push(name.as_os_str());
                after_name = true;
            }
        }
    }
    PathBuf::from(joined)
}

/// Plans an endpoint's Unix socket against the host.
pub(crate) fn bind(
    e: &Endpoint,
    path: &UnixPath,
    host: &Host,
    report: &mut impl FnMut(ProblemKind),
) -> UnixBind {
    // Binding makes Unix sockets on Unix only (`bind/unix.rs`); on the one
    // other system the crate claims, that is all there is to say.
    if host.os() == "windows" {
        report(ProblemKind::UnixUnsupported {
            path: path.clone(),
            os: host.os().to_owned(),
        });
        return UnixBind {
            path: path.clone(),
            owner: None,
            group: None,
            relative_to: None,
        };
    }
    let (path, relative_to) = match path {
        UnixPath::Abstract(name) => {
            if !ABSTRACT.contains(&host.os()) {
                report(ProblemKind::AbstractUnsupported {
                    name: name.clone(),
                    os: host.os().to_owned(),
                });
            }
            (path.clone(), None)
        }
        UnixPath::File(written) => file(written, host, report),
    };
    let limit = sun_path_limit(host.os());
    // A relative path that could not be resolved has no length to judge yet.
    if path.sun_path_len() > limit && path.file().is_none_or(Path::has_root) {
        report(ProblemKind::UnixPathTooLong {
            path: path.clone(),
            len: path.sun_path_len(),
            limit,
            os: host.os().to_owned(),
        });
    }
    if let UnixPath::File(p) = &path {
        // Linux and Android bind through the descriptor (`/proc`), as they
        // have the abstract namespace: the same two systems.
        let staged = p.parent().map_or(0, |d| d.as_os_str().len()) + STAGING_EXTRA + 1;
        let fits = path.sun_path_len() <= limit;
        if fits && !ABSTRACT.contains(&host.os()) && p.has_root() && staged > limit {
            report(ProblemKind::UnixStagingTooLong {
                path: path.clone(),
                len: staged,
                limit,
                os: host.os().to_owned(),
            });
        }
        check_facts(p, host, report);
    }
    let options = e.options();
    UnixBind {
        path,
        owner: account(options.owner.as_ref(), AccountKind::User, host, report),
        group: account(options.group.as_ref(), AccountKind::Group, host, report),
        relative_to,
    }
}

/// A file path, resolved, with the working directory when it was relative.
fn file(
    written: &Path,
    host: &Host,
    report: &mut impl FnMut(ProblemKind),
) -> (UnixPath, Option<PathBuf>) {
    if written.has_root() {
        return (UnixPath::File(written.to_owned()), None);
    }
    match (resolve_unix_path(written, host.cwd()), host.cwd()) {
        (Some(resolved), Some(cwd)) => {
            report(ProblemKind::UnixRelative {
                written: written.to_owned(),
                resolved: resolved.clone(),
            });
            (UnixPath::File(resolved), Some(cwd.to_owned()))
        }
        _ => {
            report(ProblemKind::UnixRelativeUnresolved {
                written: written.to_owned(),
            });
            (UnixPath::File(written.to_owned()), None)
        }
    }
}

/// What the snapshot recorded at the path and its directory, if it did.
fn check_facts(path: &Path, host: &Host, report: &mut impl FnMut(ProblemKind)) {
    let Some(facts) = host.unix_path(path) else {
        return;
    };
    let dir = path.parent().unwrap_or(Path::new("/")).to_owned();
    match facts.parent() {
        Lookup::Absent => {
            report(ProblemKind::UnixNoDirectory {
                path: path.to_owned(),
                dir,
            });
            return;
        }
        Lookup::Found(PathKind::Directory) => {}
        Lookup::Found(kind) => {
            report(ProblemKind::UnixNotDirectory {
                path: path.to_owned(),
                dir,
                kind: *kind,
            });
            return;
        }
        Lookup::Failed { error } => {
            report(ProblemKind::UnixUnreadable {
                path: path.to_owned(),
                looked_at: dir,
                error: error.clone(),
            });
            return;
        }
    }
    if facts.is_writable() == Some(false) {
        report(ProblemKind::UnixNotWritable {
            path: path.to_owned(),
            dir,
        });
    }
    // An owner is judged only when the snapshot has the process's user id.
    if let Some(euid) = host.euid()
        && let Some(link) = facts
            .links()
            .iter()
            .find(|l| l.uid() != 0 && l.uid() != euid)
    {
        report(ProblemKind::UnixLinkUnsafe {
            path: path.to_owned(),
            link: link.path().to_owned(),
            uid: link.uid(),
        });
    }
    if let Some((dir, writer)) = unsafe_dir(facts.dirs(), host.euid()) {
        report(ProblemKind::UnixDirUnsafe {
            path: path.to_owned(),
            dir: dir.to_owned(),
            writer,
        });
    }
    match facts.file() {
        // A socket file may be stale or live: binding decides.
        Lookup::Absent | Lookup::Found(PathKind::Socket) => {}
        Lookup::Found(kind) => report(ProblemKind::UnixPathTaken {
            path: path.to_owned(),
            kind: *kind,
        }),
        Lookup::Failed { error } => report(ProblemKind::UnixUnreadable {
            path: path.to_owned(),
            looked_at: path.to_owned(),
            error: error.clone(),
        }),
    }
}

/// The nearest recorded directory on a socket's path that a user other
/// than `euid` and root may write without the sticky bit (which would
/// keep them from renaming entries they do not own), and who that is;
/// one per socket, however many there are. An owner is judged only when
/// the snapshot has the process's user id.
fn unsafe_dir(dirs: &[DirFacts], euid: Option<u32>) -> Option<(&Path, DirWriter)> {
    dirs.iter().find_map(|d| {
        let writer = if d.is_sticky() {
            None
        } else if d.mode() & 0o002 != 0 {
            Some(DirWriter::World)
        } else if d.mode() & 0o020 != 0 {
            Some(DirWriter::Group)
        } else {
            None
        };
        // An owner may chmod the directory whatever its mode or sticky bit.
        let writer = writer.or_else(|| {
            euid.filter(|&e| d.uid() != 0 && d.uid() != e)
                .map(|_| DirWriter::Owner { uid: d.uid() })
        });
        writer.map(|w| (d.path(), w))
    })
}

/// The id of `owner=` or `group=`: as written, or the snapshot's answer
/// for the name.
fn account(
    account: Option<&Account>,
    kind: AccountKind,
    host: &Host,
    report: &mut impl FnMut(ProblemKind),
) -> Option<u32> {
    let name = match account? {
        Account::Id(id) => return Some(*id),
        Account::Name(name) => name,
    };
    let found = match kind {
        AccountKind::User => host.user(name),
        AccountKind::Group => host.group(name),
    };
    match found {
        Some(NameLookup::Id(id)) => return Some(id),
        Some(NameLookup::NoSuchName) => report(ProblemKind::UnknownAccount {
            kind,
            name: name.clone(),
        }),
        None => report(ProblemKind::AccountNotCaptured {
            kind,
            name: name.clone(),
        }),
    }
    None
}

/// What makes two sockets one: the same file (its directory's real path
/// where the snapshot has it, else the path with `.` and doubled `/`
/// dropped), or the same abstract name for the same kind of socket (Linux
/// keeps stream and datagram names apart).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    File(PathBuf),
    Abstract(String, bool),
}

fn key(u: &UnixBind, transport: Transport, host: &Host) -> Key {
    match u.path() {
        UnixPath::Abstract(name) => Key::Abstract(name.clone(), transport.is_stream()),
        UnixPath::File(p) => {
            let real = host
                .unix_path(p)
                .and_then(|f| f.realpath())
                .zip(p.file_name())
                .map(|(dir, name)| unix_join(dir, Path::new(name)));
            Key::File(real.unwrap_or_else(|| lexical(p)))
        }
    }
}

/// The path with `.` components and repeated separators gone; `..` stays,
/// since only the real path can say where it leads.
fn lexical(p: &Path) -> PathBuf {
    p.components().filter(|c| *c != Component::CurDir).collect()
}

/// Two endpoints on one socket: the same path, one file under two
/// spellings, or one abstract name.
pub(crate) fn check_conflicts(endpoints: &[PlannedEndpoint], host: &Host, out: &mut Vec<Problem>) {
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for (i, e) in endpoints.iter().enumerate() {
        let Some(u) = e.unix() else {
            continue;
        };
        let k = key(u, e.transport(), host);
        let Some(&j) = seen.get(&k) else {
            seen.insert(k, i);
            continue;
        };
        let other = &endpoints[j];
        let other_path = other.unix().map_or(u.path(), UnixBind::path).clone();
        let same_file = match k {
            Key::File(f) if Some(f.as_path()) != u.path().file() => Some(f),
            _ => None,
        };
        out.push(Problem::endpoint(
            e.network(),
            e.name(),
            ProblemKind::UnixConflict {
                path: u.path().clone(),
                other: QualifiedName::new(other.network().clone(), other.name().clone()),
                other_path,
                same_file,
            },
        ));
    }
}

/// What clients of a Unix socket are told: the endpoint's or network's
/// URL as written (a proxy's, say), else the socket in the form its
/// clients spell it.
pub(crate) fn advertise(
    e: &Endpoint,
    network_advertise: Option<&Advertise>,
    path: &UnixPath,
) -> Advertised {
    // The spec refuses a bare host on a Unix endpoint or network.
    let written = [e.advertised(), network_advertise]
        .into_iter()
        .zip([Source::Endpoint, Source::Network])
        .find_map(|(a, source)| match a {
            Some(Advertise::Url(u)) => Some((u.clone(), source)),
            _ => None,
        });
    let (url, source) = written.unwrap_or_else(|| (derived(e.protocol(), path), Source::Derived));
    Advertised {
        url: Arc::new(url),
        port_from_bind: false,
        source,
    }
}

/// `unix:/run/app.sock`, `unixgram:/run/app.sock`, or for HTTP the
/// `http+unix://` form (the path percent-encoded as the host) that
/// requests-unixsocket, hyperlocal and others read. Either way the path is
/// percent-encoded where a URL could not hold it as it is (`url_text`), so
/// the URL names this socket and no other, and a client that decodes it
/// (the doctor's `--check`, the one-address shorthand) gets every byte back.
fn derived(protocol: Protocol, path: &UnixPath) -> Url {
    // Only unreserved characters, `/`, `@` and escapes are left, and no
    // `//` begins the path: nothing a URL parser refuses or rewrites.
    match protocol {
        Protocol::Http | Protocol::Https => Url::unix(
            &format!("{}+unix", protocol.scheme()),
            &url_text(path, false),
        ),
        _ => Url::unix(protocol.scheme(), &url_text(path, true)),
    }
}
