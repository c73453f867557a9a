//! What planning Unix sockets needs from the machine, for the paths and
//! account names one spec names and nothing else: what is at each socket
//! path and its parent directory, the working directory when a path is
//! relative, the ids of `owner=` and `group=` names, and the process's
//! effective user id, against which the owners of the directories above a
//! socket path are judged.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::capture::CaptureError;
use crate::host::{
    AccountKind, DirFacts, LinkFacts, Lookup, NameLookup, PathFacts, PathKind, UnixFacts,
};
use crate::plan::resolve_unix_path;
use crate::spec::{Account, ListenSpec, UnixPath};

/// The facts of every socket path and account name of the spec. Fails only
/// when the name service fails (not for a name it does not know, which is
/// recorded as such).
pub(super) fn facts(spec: &ListenSpec) -> Result<UnixFacts, CaptureError> {
    let files: Vec<&Path> = spec
        .endpoints()
        .iter()
        .filter_map(|e| e.unix_path().and_then(UnixPath::file))
        .collect();
    // The working directory is recorded only when a path needs it, as only
    // the names the spec uses are looked up.
    let cwd = if files.iter().any(|p| !p.has_root()) {
        std::env::current_dir().ok()
    } else {
        None
    };
    let mut paths = BTreeMap::new();
    for file in files {
        // A relative path with no working directory to resolve it against
        // is a plan error; there is nothing to look at.
        if let Some(path) = resolve_unix_path(file, cwd.as_deref()) {
            let facts = path_facts(&path);
            paths.insert(path, facts);
        }
    }
    let mut users = BTreeMap::new();
    let mut groups = BTreeMap::new();
    for e in spec.endpoints() {
        let o = e.options();
        for (account, kind, found) in [
            (&o.owner, AccountKind::User, &mut users),
            (&o.group, AccountKind::Group, &mut groups),
        ] {
            if let Some(Account::Name(name)) = account
                && !found.contains_key(name)
            {
                let id = account_id(kind, name).map_err(|error| CaptureError::Account {
                    kind,
                    name: name.clone(),
                    error,
                })?;
                found.insert(name.clone(), NameLookup::from(id));
            }
        }
    }
    // Only a socket file has directories to judge against it.
    let euid = if paths.is_empty() {
        None
    } else {
        effective_uid()
    };
    Ok(UnixFacts {
        cwd,
        paths,
        users,
        groups,
        euid,
    })
}

/// What is at `path` and at its parent directory.
pub(super) fn path_facts(path: &Path) -> PathFacts {
    // An absolute path other than `/` has a parent, and a socket path is
    // never `/` (the spec refuses a path ending in `/`).
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    // The parent is looked at through symbolic links, as bind(2) resolves
    // it; the path itself is not, since a link there is what bind finds.
    let parent_found = lookup(fs::metadata(parent));
    let facts = PathFacts::new(parent_found.clone(), lookup(fs::symlink_metadata(path)));
    if parent_found != Lookup::Found(PathKind::Directory) {
        return facts;
    }
    let facts = match fs::canonicalize(parent) {
        Ok(real) => {
            let mut dirs = dirs_up_from(&real);
            let (links, holding) = links_met(parent);
            // The directories the links sit in too: each decides who may
            // replace its link.
            for d in holding {
                if !dirs.iter().any(|seen| seen.path() == d.path()) {
                    dirs.push(d);
                }
            }
            facts
                .parent_realpath(real)
                .with_dirs(dirs)
                .with_links(links)
        }
        Err(_) => facts,
    };
    match may_create_in(parent) {
        Some(writable) => facts.writable(writable),
        None => facts,
    }
}

/// The owner and mode of `real` (a real path: no link in it, so `lstat`
/// sees each directory itself) and of each directory above it, nearest
/// first, up to `/`. Stops at the first that cannot be looked at or is
/// not a directory (it changed since the path was resolved): what was
/// read is still true, and a missing directory is only not judged.
#[cfg(unix)]
fn dirs_up_from(real: &Path) -> Vec<DirFacts> {
    use std::os::unix::fs::MetadataExt;

    let mut dirs = Vec::new();
    for dir in real.ancestors().take(DirFacts::MAX) {
        match fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => dirs.push(DirFacts::new(dir, m.uid(), m.mode())),
            _ => break,
        }
    }
    dirs
}

/// Elsewhere directories have no Unix owner and mode to record.
#[cfg(not(unix))]
fn dirs_up_from(_real: &Path) -> Vec<DirFacts> {
    Vec::new()
}

/// The symbolic links met resolving `parent` as the kernel does, a
/// component at a time, a link's target walked the same way (it may hold
/// links of its own), each with the directory it sits in, in the order
/// met: `/tmp/app`, a link another user made in `/tmp`, is no directory on
/// the real path, yet its owner chooses where the socket goes, and so does
/// the owner of any link its target goes through. Stops at what cannot
/// be looked at, and after [`DirFacts::MAX`] links.
#[cfg(unix)]
fn links_met(parent: &Path) -> (Vec<LinkFacts>, Vec<DirFacts>) {
    use std::os::unix::fs::MetadataExt;

    use std::path::PathBuf;

    use crate::sys::push_names;

    let (mut links, mut dirs) = (Vec::new(), Vec::new());
    let root = if parent.is_absolute() { "/" } else { "." };
    let mut at = PathBuf::from(root);
    let mut todo = Vec::new();
    push_names(&mut todo, parent);
    while let Some(name) = todo.pop() {
        if name == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&name);
        match fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() && links.len() < DirFacts::MAX => {
                links.push(LinkFacts::new(&next, m.uid()));
                if let Ok(d) = fs::symlink_metadata(&at) {
                    dirs.push(DirFacts::new(&at, d.uid(), d.mode()));
                }
                let Ok(target) = fs::read_link(&next) else {
                    break;
                };
                if target.is_absolute() {
                    at = PathBuf::from("/");
                }
                push_names(&mut todo, &target);
            }
            Ok(m) if m.is_dir() => at = next,
            _ => break,
        }
    }
    (links, dirs)
}

/// Elsewhere links have no Unix owner to record.
#[cfg(not(unix))]
fn links_met(_parent: &Path) -> (Vec<LinkFacts>, Vec<DirFacts>) {
    (Vec::new(), Vec::new())
}

/// The user the server is taken to run as: the capturing process's
/// effective one, which `bind` and file creation are checked against.
#[cfg(unix)]
fn effective_uid() -> Option<u32> {
    Some(crate::sys::effective_uid())
}

/// Without Unix accounts there is no user id.
#[cfg(not(unix))]
fn effective_uid() -> Option<u32> {
    None
}

fn lookup(metadata: io::Result<fs::Metadata>) -> Lookup {
    match metadata {
        Ok(m) => Lookup::Found(kind(m.file_type())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Lookup::Absent,
        Err(e) => Lookup::Failed {
            error: e.to_string(),
        },
    }
}

fn kind(t: fs::FileType) -> PathKind {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_socket() {
            return PathKind::Socket;
        }
    }
    if t.is_symlink() {
        PathKind::Symlink
    } else if t.is_dir() {
        PathKind::Directory
    } else if t.is_file() {
        PathKind::Regular
    } else {
        PathKind::Other
    }
}

#[cfg(unix)]
fn may_create_in(dir: &Path) -> Option<bool> {
    crate::sys::may_create_in(dir).ok()
}

/// Elsewhere there is no cheap check, and no Unix permission bits.
#[cfg(not(unix))]
fn may_create_in(_dir: &Path) -> Option<bool> {
    None
}

#[cfg(unix)]
fn account_id(kind: AccountKind, name: &str) -> io::Result<Option<u32>> {
    match kind {
        AccountKind::User => crate::sys::user_id(name),
        AccountKind::Group => crate::sys::group_id(name),
    }
}

/// Without Unix accounts, no name is known.
#[cfg(not(unix))]
fn account_id(_kind: AccountKind, _name: &str) -> io::Result<Option<u32>> {
    Ok(None)
}
