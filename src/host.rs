//! The host snapshot: the only view of the machine the planner ever reads.
//!
//! A [`Host`] is plain data: the interfaces with their addresses, the DNS
//! answers for the names a spec mentions, and for its Unix sockets what is
//! at their paths, the working directory and the ids of the users and groups
//! it names. [`crate::capture()`] fills one from the
//! running machine; tests build one with [`Host::builder`] or load a recorded
//! one from JSON (with the `serde` feature), so a plan made on a production box
//! can be replayed exactly in CI.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use ipnet::IpNet;

/// A snapshot of one host's interfaces and DNS answers, and what planning
/// Unix sockets needs: the facts of each socket path ([`PathFacts`]), the
/// working directory, and user and group ids by name.
///
/// Interface names and indexes are unique, and every interface has a non-zero
/// index: [`HostBuilder::build`] and deserialization refuse anything else, so the
/// planner can look interfaces up by either without ambiguity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "HostRepr", into = "HostRepr"))]
pub struct Host {
    interfaces: Vec<Interface>,
    dns: BTreeMap<String, DnsAnswer>,
    container: Option<String>,
    os: String,
    cwd: Option<PathBuf>,
    unix_paths: BTreeMap<PathBuf, PathFacts>,
    users: BTreeMap<String, NameLookup>,
    groups: BTreeMap<String, NameLookup>,
    euid: Option<u32>,
}

/// The OS a snapshot is taken as when it does not say: snapshots recorded
/// before the field existed were all taken on Linux, and a deterministic
/// default keeps a plan from depending on where it is replayed.
pub(crate) const DEFAULT_OS: &str = "linux";

impl Default for Host {
    /// No interfaces, no DNS answers, not a container, Linux.
    fn default() -> Host {
        Host {
            interfaces: Vec::new(),
            dns: BTreeMap::new(),
            container: None,
            os: DEFAULT_OS.to_owned(),
            cwd: None,
            unix_paths: BTreeMap::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            euid: None,
        }
    }
}

/// What is at a path, as `lstat` tells it (the path's own entry: a symbolic
/// link is not followed).
///
/// In JSON, `"socket"`, `"regular"`, `"directory"`, `"symlink"` or `"other"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum PathKind {
    /// A Unix socket file.
    Socket,
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (to anything, or dangling).
    Symlink,
    /// A FIFO, a device, or a type this OS has beyond those.
    Other,
}

impl fmt::Display for PathKind {
    /// With its article, as a sentence names it: `a regular file`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathKind::Socket => "a socket",
            PathKind::Regular => "a regular file",
            PathKind::Directory => "a directory",
            PathKind::Symlink => "a symbolic link",
            PathKind::Other => "a special file (a FIFO or a device)",
        })
    }
}

/// What looking at one path found.
///
/// In JSON, `"absent"`, a [`PathKind`] (`"directory"`), or the failure
/// (`{"error": "Permission denied (os error 13)"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// Nothing is there.
    Absent,
    /// Something is there, of this kind.
    Found(PathKind),
    /// The process could not tell (it may not search a directory above,
    /// say); the OS's message.
    Failed {
        /// Why, as the OS said it.
        error: String,
    },
}

/// What planning needs to know about one Unix socket's path: what is at its
/// parent directory and at the path itself.
///
/// ```
/// use listenspec::host::{Lookup, PathFacts, PathKind};
///
/// // The usual case: the directory exists, and nothing is there yet.
/// let free = PathFacts::free();
/// assert_eq!(free.parent(), &Lookup::Found(PathKind::Directory));
/// assert_eq!(free.file(), &Lookup::Absent);
/// // A socket file left by an earlier run, in a directory reached through
/// // a symbolic link.
/// let stale = PathFacts::free().taken_by(PathKind::Socket).parent_realpath("/run");
/// assert_eq!(stale.file(), &Lookup::Found(PathKind::Socket));
/// assert_eq!(stale.realpath().unwrap().to_str(), Some("/run"));
/// assert_eq!(PathFacts::no_parent().parent(), &Lookup::Absent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        expecting = "the facts of a Unix socket path: an object with \"parent\" and \"file\", and optionally \"parent_realpath\", \"writable\", \"dirs\" and \"links\""
    )
)]
pub struct PathFacts {
    parent: Lookup,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    parent_realpath: Option<PathBuf>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    writable: Option<bool>,
    file: Lookup,
    // Came after `writable`: older snapshots have none, and then the
    // planner does not judge the directories.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    dirs: Vec<DirFacts>,
    // Came after `dirs`: older snapshots have none, and then the planner
    // does not judge the links.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    links: Vec<LinkFacts>,
}

impl PathFacts {
    /// What was found at the parent directory and at the path; the parent's
    /// real path and whether it is writable are unknown until set.
    pub fn new(parent: Lookup, file: Lookup) -> PathFacts {
        PathFacts {
            parent,
            parent_realpath: None,
            writable: None,
            file,
            dirs: Vec::new(),
            links: Vec::new(),
        }
    }

    /// The parent is a directory and nothing is at the path.
    pub fn free() -> PathFacts {
        PathFacts::new(Lookup::Found(PathKind::Directory), Lookup::Absent)
    }

    /// The parent directory does not exist (so neither does the path).
    pub fn no_parent() -> PathFacts {
        PathFacts::new(Lookup::Absent, Lookup::Absent)
    }

    /// The same facts, with this at the path.
    #[must_use]
    pub fn taken_by(mut self, kind: PathKind) -> PathFacts {
        self.file = Lookup::Found(kind);
        self
    }

    /// The same facts, with the parent directory's real path (symbolic
    /// links resolved), which tells two spellings of one file apart.
    #[must_use]
    pub fn parent_realpath(mut self, path: impl Into<PathBuf>) -> PathFacts {
        self.parent_realpath = Some(path.into());
        self
    }

    /// The same facts, recording whether the capturing process may create
    /// files in the parent directory.
    #[must_use]
    pub fn writable(mut self, writable: bool) -> PathFacts {
        self.writable = Some(writable);
        self
    }

    /// The same facts, with the owner and mode of the parent directory's
    /// real path and of each directory above it, nearest first (see
    /// [`PathFacts::dirs`]).
    #[must_use]
    pub fn with_dirs(mut self, dirs: Vec<DirFacts>) -> PathFacts {
        self.dirs = dirs;
        self
    }

    /// The same facts, with the symbolic links on the parent directory's
    /// path as written (see [`PathFacts::links`]).
    #[must_use]
    pub fn with_links(mut self, links: Vec<LinkFacts>) -> PathFacts {
        self.links = links;
        self
    }

    /// What is at the parent directory's path, symbolic links followed (as
    /// `bind` follows them): a directory, normally.
    pub fn parent(&self) -> &Lookup {
        &self.parent
    }

    /// The parent directory's real path, if it is a directory and it was
    /// resolved.
    pub fn realpath(&self) -> Option<&Path> {
        self.parent_realpath.as_deref()
    }

    /// Whether the capturing process may create files in the parent
    /// directory (write and search permission, by `access(2)` with the
    /// effective ids); `None` when not known.
    pub fn is_writable(&self) -> Option<bool> {
        self.writable
    }

    /// What is at the path itself, not following a symbolic link.
    pub fn file(&self) -> &Lookup {
        &self.file
    }

    /// The owner and mode of the parent directory's real path and of each
    /// directory above it up to `/`, nearest first: who may rename or
    /// replace the socket file whatever the bind does. Empty when not
    /// recorded (snapshots from before this field, or a system without
    /// Unix permissions); it stops short at a directory capture could not
    /// look at, and after [`DirFacts::MAX`] directories.
    pub fn dirs(&self) -> &[DirFacts] {
        &self.dirs
    }

    /// The symbolic links met resolving the parent directory's path
    /// (`/tmp/app` in `/tmp/app/api.sock`, when it is one, and any link
    /// its target goes through), with their owners, in the order met:
    /// whoever owns one may replace it, and so choose the directory the
    /// socket is made in. Empty when there are none, or they were not
    /// recorded (snapshots from before this field).
    pub fn links(&self) -> &[LinkFacts] {
        &self.links
    }
}

/// A symbolic link on the path of a Unix socket as written, and the user
/// id of its owner, as `lstat` tells them. In JSON, `{"path": "/tmp/app",
/// "uid": 65534}`.
///
/// ```
/// use listenspec::host::LinkFacts;
///
/// let link = LinkFacts::new("/tmp/app", 65534);
/// assert_eq!((link.path().to_str(), link.uid()), (Some("/tmp/app"), 65534));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        expecting = "a symbolic link above a socket path: an object with \"path\" and \"uid\""
    )
)]
pub struct LinkFacts {
    path: PathBuf,
    uid: u32,
}

impl LinkFacts {
    /// A link at `path` owned by `uid`.
    pub fn new(path: impl Into<PathBuf>, uid: u32) -> LinkFacts {
        LinkFacts {
            path: path.into(),
            uid,
        }
    }

    /// The link's path, as the socket's path writes it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The user id of its owner, who may replace it.
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

/// The owner and permission bits of one directory above a Unix socket's
/// path, as `lstat` tells them.
///
/// In JSON, `{"path": "/run/app", "uid": 0, "mode": "755"}`, the mode in
/// octal as chmod(1) writes it (`"1777"` for a sticky `/tmp`).
///
/// ```
/// use listenspec::host::DirFacts;
///
/// let tmp = DirFacts::new("/tmp", 0, 0o1777);
/// assert!(tmp.is_sticky() && tmp.mode() == 0o1777 && tmp.uid() == 0);
/// // Bits beyond the permissions and the sticky bit are not kept.
/// assert_eq!(DirFacts::new("/srv", 0, 0o40755).mode(), 0o755);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        expecting = "a directory above a socket path: an object with \"path\", \"uid\" and \"mode\" (octal, as \"755\")"
    )
)]
pub struct DirFacts {
    path: PathBuf,
    uid: u32,
    #[cfg_attr(feature = "serde", serde(with = "wire::octal"))]
    mode: u32,
}

impl DirFacts {
    /// The most directories recorded for one path: a path of `PATH_MAX`
    /// (4096) bytes could name 2048, no real one comes near this, and a
    /// snapshot stays small whatever the path.
    pub const MAX: usize = 256;

    /// The permission bits and the sticky bit (`0o1777`); the rest of a
    /// mode (the file type, set-id bits) says nothing about who may
    /// rename an entry.
    const KEPT: u32 = 0o1777;

    /// A directory owned by `uid`, of `mode` (only its permission and
    /// sticky bits are kept).
    pub fn new(path: impl Into<PathBuf>, uid: u32, mode: u32) -> DirFacts {
        DirFacts {
            path: path.into(),
            uid,
            mode: mode & DirFacts::KEPT,
        }
    }

    /// The directory's path (a real path: no symbolic link in it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The user id of its owner, who may change its mode.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Its permission bits and sticky bit, as `0o1777`.
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether the sticky bit is set: then only an entry's owner (or the
    /// directory's, or root) may rename or remove it (see chmod(2)).
    pub fn is_sticky(&self) -> bool {
        self.mode & 0o1000 != 0
    }
}

/// Which kind of account a name is looked up as: a user (`owner=`) or a
/// group (`group=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountKind {
    /// A user, by getpwnam(3).
    User,
    /// A group, by getgrnam(3).
    Group,
}

impl AccountKind {
    /// The endpoint option that names one: `owner` or `group`.
    pub fn option(self) -> &'static str {
        match self {
            AccountKind::User => "owner",
            AccountKind::Group => "group",
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountKind::User => "user",
            AccountKind::Group => "group",
        })
    }
}

/// What looking a user or group name up gave.
///
/// In JSON, the id (`33`), or `null` for a name the host does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "Option<u32>", into = "Option<u32>"))]
#[non_exhaustive]
pub enum NameLookup {
    /// The name's uid or gid.
    Id(u32),
    /// The host has no user or group of that name.
    NoSuchName,
}

impl From<Option<u32>> for NameLookup {
    fn from(id: Option<u32>) -> NameLookup {
        id.map_or(NameLookup::NoSuchName, NameLookup::Id)
    }
}

impl From<NameLookup> for Option<u32> {
    fn from(lookup: NameLookup) -> Option<u32> {
        match lookup {
            NameLookup::Id(id) => Some(id),
            NameLookup::NoSuchName => None,
        }
    }
}

/// One network interface, its state, and the addresses it holds.
///
/// Its state is two flags the kernel keeps apart: administratively up (`ip
/// link set X up`) and carrier (a cable plugged in, a veth's peer up).
/// [`Interface::is_up`] is both: the interface passes traffic.
///
/// ```
/// use listenspec::host::{AddrFlags, Interface};
///
/// let eth2 = Interface::new("eth2", 3, true, vec!["2001:db8::7/64".parse()?])
///     .with_carrier(false)
///     .with_addr_flags("2001:db8::7".parse()?, AddrFlags::TENTATIVE);
/// assert!(eth2.is_admin_up() && !eth2.has_carrier() && !eth2.is_up());
/// assert!(eth2.addr_flags("2001:db8::7".parse()?).is_tentative());
/// assert!(!eth2.is_loopback());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "wire::InterfaceRepr", into = "wire::InterfaceRepr")
)]
pub struct Interface {
    name: String,
    index: u32,
    admin_up: bool,
    carrier: bool,
    loopback: bool,
    addrs: Vec<IpNet>,
    /// Only addresses with a flag set; most have none.
    flags: BTreeMap<IpAddr, AddrFlags>,
}

/// The state flags the kernel keeps on an address; on Linux the `IFA_F_*`
/// flags of an IPv6 address (ip-address(8) shows them after the address).
/// Snapshots from other systems, and older ones, have none.
///
/// In JSON, a list of names: `["tentative", "deprecated"]`.
///
/// ```
/// use listenspec::host::AddrFlags;
///
/// let flags = AddrFlags::TENTATIVE | AddrFlags::OPTIMISTIC;
/// assert!(flags.is_tentative() && flags.is_optimistic() && !flags.is_deprecated());
/// assert!(!AddrFlags::TENTATIVE.is_optimistic() && !flags.is_dadfailed());
/// assert_eq!(flags.to_string(), "tentative optimistic");
/// // Adding a flag that is already set changes nothing.
/// assert_eq!(flags | AddrFlags::TENTATIVE, flags);
/// assert!(AddrFlags::NONE.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags(u8);

impl AddrFlags {
    /// No flag: the address is usable.
    pub const NONE: AddrFlags = AddrFlags(0);
    /// Duplicate address detection (DAD) has not finished: binding the
    /// address fails with `EADDRNOTAVAIL` until it does, a second or two
    /// after the address was added (unless `freebind`).
    pub const TENTATIVE: AddrFlags = AddrFlags(1);
    /// DAD found another host on the link with this address; the kernel
    /// will not use it until the duplicate is removed.
    pub const DADFAILED: AddrFlags = AddrFlags(2);
    /// Its preferred lifetime is over: it still works, but new
    /// connections should not use it, and it will go away.
    pub const DEPRECATED: AddrFlags = AddrFlags(4);
    /// Optimistic DAD (RFC 4429): usable while DAD runs.
    pub const OPTIMISTIC: AddrFlags = AddrFlags(8);

    const NAMES: [(AddrFlags, &'static str); 4] = [
        (AddrFlags::TENTATIVE, "tentative"),
        (AddrFlags::DADFAILED, "dadfailed"),
        (AddrFlags::DEPRECATED, "deprecated"),
        (AddrFlags::OPTIMISTIC, "optimistic"),
    ];

    /// Whether every flag of `other` is set here.
    pub fn contains(self, other: AddrFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// See [`AddrFlags::TENTATIVE`].
    pub fn is_tentative(self) -> bool {
        self.contains(AddrFlags::TENTATIVE)
    }
    /// See [`AddrFlags::DADFAILED`].
    pub fn is_dadfailed(self) -> bool {
        self.contains(AddrFlags::DADFAILED)
    }
    /// See [`AddrFlags::DEPRECATED`].
    pub fn is_deprecated(self) -> bool {
        self.contains(AddrFlags::DEPRECATED)
    }
    /// See [`AddrFlags::OPTIMISTIC`].
    pub fn is_optimistic(self) -> bool {
        self.contains(AddrFlags::OPTIMISTIC)
    }
    /// The names of the flags set, as ip-address(8) and the JSON write them.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        AddrFlags::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, name)| name)
    }
    /// The flag of this name.
    pub fn from_name(name: &str) -> Option<AddrFlags> {
        AddrFlags::NAMES
            .into_iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| f)
    }
}

impl std::ops::BitOr for AddrFlags {
    type Output = AddrFlags;
    fn bitor(self, other: AddrFlags) -> AddrFlags {
        AddrFlags(self.0 | other.0)
    }
}

impl fmt::Display for AddrFlags {
    /// The names, space-separated as ip-address(8) prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, name) in self.names().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// What a DNS lookup of one name gave when the host was captured.
///
/// In JSON, a list of addresses (`["203.0.113.5", "2001:db8::1"]`) or the
/// failure (`{"error": "no such name (NXDOMAIN)"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
#[non_exhaustive]
pub enum DnsAnswer {
    /// The addresses the name resolved to: IPv4 first, each family ascending, no duplicates.
    Addrs(Vec<IpAddr>),
    /// The lookup failed; the resolver's message.
    Failed {
        /// Why the lookup failed, as the resolver said it.
        error: String,
    },
}

impl Interface {
    /// The interface name, as the OS reports it (`eth0`, `enp3s0`, `lo`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The OS interface index; for link-local IPv6 addresses this is the scope id.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Whether the interface is usable: administratively up and with
    /// carrier.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.carrier
    }

    /// Whether it is administratively up (`IFF_UP`: `ip link set X up`),
    /// with or without carrier.
    pub fn is_admin_up(&self) -> bool {
        self.admin_up
    }

    /// Whether it has carrier and is operational (`IFF_RUNNING`: a cable
    /// plugged in, a veth's peer up). Always false when it is not
    /// administratively up, since the kernel then does not look.
    pub fn has_carrier(&self) -> bool {
        self.carrier
    }

    /// Whether it is a loopback interface (`IFF_LOOPBACK`).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// The addresses with their prefix lengths, in the OS's order.
    pub fn addrs(&self) -> &[IpNet] {
        &self.addrs
    }

    /// The state flags of one of its addresses; none when it has none, when
    /// the interface does not hold it, or when the snapshot does not know
    /// (see [`AddrFlags`]).
    pub fn addr_flags(&self, ip: IpAddr) -> AddrFlags {
        self.flags.get(&ip).copied().unwrap_or_default()
    }

    /// Every address with a flag set, and its flags.
    pub fn flagged_addrs(&self) -> &BTreeMap<IpAddr, AddrFlags> {
        &self.flags
    }
}

impl Host {
    /// Starts building a snapshot by hand, as a unit test would.
    ///
    /// ```
    /// use listenspec::Host;
    ///
    /// let host = Host::builder()
    ///     .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
    ///     .interface("eth0", 2, ["10.0.15.23/16", "fe80::1/64"])
    ///     .dns("my-awesome-service", ["31.167.56.251"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(host.interface("eth0").unwrap().index(), 2);
    /// ```
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The interfaces, in the order they were captured or added.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The interface with this name.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The interface with this index.
    pub fn interface_by_index(&self, index: u32) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.index == index)
    }

    /// The recorded DNS answer for a name, if the name was looked up.
    pub fn dns(&self, name: &str) -> Option<&DnsAnswer> {
        self.dns.get(name)
    }

    /// Every recorded DNS answer, by name.
    pub fn dns_answers(&self) -> &BTreeMap<String, DnsAnswer> {
        &self.dns
    }

    /// Why the host looks like a container (`/.dockerenv exists: Docker`,
    /// say), if it does. Inside a container, loopback is the container's own:
    /// a port mapping forwards to its interface address, never to 127.0.0.1.
    pub fn container(&self) -> Option<&str> {
        self.container.as_deref()
    }

    /// The operating system the snapshot describes, as
    /// [`std::env::consts::OS`] names it (`"linux"`, `"macos"`, `"freebsd"`,
    /// `"windows"`, ...): [`crate::capture()`] records the running one. The
    /// planner refuses socket options this OS does not have. A snapshot that
    /// does not say (built by hand, or recorded before this field existed)
    /// is `"linux"`, whatever machine reads it.
    pub fn os(&self) -> &str {
        &self.os
    }

    /// The working directory of the capturing process, which relative
    /// socket paths (`./api.sock`) are resolved against; `None` when not
    /// recorded, and then a relative path is a plan error.
    pub fn cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// The recorded facts of a Unix socket path: absolute, and for a
    /// relative path of the spec, as resolved against [`Host::cwd`].
    /// `None` when the path was not looked at; the planner then plans it
    /// without those checks.
    pub fn unix_path(&self, path: &Path) -> Option<&PathFacts> {
        self.unix_paths.get(path)
    }

    /// Every recorded socket path with its facts.
    pub fn unix_paths(&self) -> &BTreeMap<PathBuf, PathFacts> {
        &self.unix_paths
    }

    /// The recorded uid of a user name (`owner=NAME`); `None` when the
    /// name was not looked up.
    pub fn user(&self, name: &str) -> Option<NameLookup> {
        self.users.get(name).copied()
    }

    /// The recorded gid of a group name (`group=NAME`); `None` when the
    /// name was not looked up.
    pub fn group(&self, name: &str) -> Option<NameLookup> {
        self.groups.get(name).copied()
    }

    /// Every recorded user name with its uid.
    pub fn users(&self) -> &BTreeMap<String, NameLookup> {
        &self.users
    }

    /// Every recorded group name with its gid.
    pub fn groups(&self) -> &BTreeMap<String, NameLookup> {
        &self.groups
    }

    /// The effective user id of the capturing process, which the server
    /// is taken to run as: a directory it owns above a socket path is its
    /// own to keep safe. Recorded when the spec has a socket file; `None`
    /// otherwise, and in snapshots from before the field.
    pub fn euid(&self) -> Option<u32> {
        self.euid
    }

    /// The same snapshot with the facts of a Unix socket spec: what capture
    /// records besides the interfaces.
    #[must_use]
    pub(crate) fn with_unix(mut self, facts: UnixFacts) -> Host {
        self.cwd = facts.cwd;
        self.unix_paths = facts.paths;
        self.users = facts.users;
        self.groups = facts.groups;
        self.euid = facts.euid;
        self
    }

    /// The same snapshot, taken as of this OS (see [`Host::os`]).
    #[must_use]
    pub fn with_os(mut self, os: impl Into<String>) -> Host {
        self.os = os.into();
        self
    }

    /// The same snapshot, recorded as taken inside a container, with the
    /// evidence (see [`Host::container`]).
    #[must_use]
    pub fn in_container(mut self, evidence: impl Into<String>) -> Host {
        self.container = Some(evidence.into());
        self
    }

    /// The interface holding this address, if any; for link-local IPv6 the
    /// scope id must match too, since the same `fe80::1` may sit on several links.
    ///
    /// ```
    /// use listenspec::Host;
    ///
    /// let host = Host::builder()
    ///     .interface("eth0", 2, ["fe80::1/64"])
    ///     .interface("eth1", 3, ["fe80::1/64"])
    ///     .build()?;
    /// let ip = "fe80::1".parse()?;
    /// let on = |scope| host.owner_of(ip, scope).map(|i| i.name());
    /// assert_eq!(on(None), Some("eth0"));
    /// assert_eq!(on(Some(3)), Some("eth1"));
    /// assert_eq!(on(Some(9)), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn owner_of(&self, ip: IpAddr, scope_id: Option<u32>) -> Option<&Interface> {
        self.interfaces.iter().find(|i| {
            scope_id.is_none_or(|s| s == i.index) && i.addrs.iter().any(|n| n.addr() == ip)
        })
    }

    /// Every `(interface, address)` pair of the host, interfaces in order.
    pub fn addrs(&self) -> impl Iterator<Item = (&Interface, &IpNet)> {
        self.interfaces
            .iter()
            .flat_map(|i| i.addrs.iter().map(move |a| (i, a)))
    }

    /// Builds a snapshot from already-typed parts, checking the invariants.
    pub fn new(
        interfaces: Vec<Interface>,
        dns: BTreeMap<String, DnsAnswer>,
    ) -> Result<Host, HostError> {
        // Maps, not a comparison of every interface with every earlier one
        // or of every flag with every address: a snapshot of many thousand
        // interfaces (a router, a container host) loads in linear time.
        let mut names: HashSet<&str> = HashSet::with_capacity(interfaces.len());
        let mut indexes: HashMap<u32, &str> = HashMap::with_capacity(interfaces.len());
        for i in &interfaces {
            printable(TextOf::InterfaceName, &i.name)?;
            // No system names an interface with a space at either end
            // (Windows's friendly names have them inside): `eth2 ` would
            // be listed as a second eth2.
            if i.name.trim() != i.name {
                return Err(HostError::ControlCharacter {
                    what: TextOf::InterfaceName,
                    text: i.name.clone(),
                });
            }
            if i.index == 0 {
                return Err(HostError::ZeroIndex(i.name.clone()));
            }
            if i.name.is_empty() {
                return Err(HostError::EmptyName { index: i.index });
            }
            if !i.flags.is_empty() {
                let held: HashSet<IpAddr> = i.addrs.iter().map(IpNet::addr).collect();
                if let Some(&ip) = i.flags.keys().find(|ip| !held.contains(ip)) {
                    return Err(HostError::FlagsWithoutAddr {
                        interface: i.name.clone(),
                        ip,
                    });
                }
            }
            if !names.insert(&i.name) {
                return Err(HostError::DuplicateName(i.name.clone()));
            }
            if let Some(first) = indexes.insert(i.index, &i.name) {
                return Err(HostError::DuplicateIndex {
                    index: i.index,
                    first: first.to_owned(),
                    second: i.name.clone(),
                });
            }
        }
        for (name, answer) in &dns {
            printable(TextOf::DnsName, name)?;
            if let DnsAnswer::Failed { error } = answer {
                printable(TextOf::DnsError, error)?;
            }
        }
        Ok(Host {
            interfaces,
            dns,
            ..Host::default()
        })
    }
}

/// The Unix socket facts of a snapshot, as capture gathers them.
#[derive(Debug, Default, Clone)]
pub(crate) struct UnixFacts {
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) paths: BTreeMap<PathBuf, PathFacts>,
    pub(crate) users: BTreeMap<String, NameLookup>,
    pub(crate) groups: BTreeMap<String, NameLookup>,
    pub(crate) euid: Option<u32>,
}

impl Interface {
    /// An interface as plain data: `up` sets both administratively up and
    /// carrier; it is a loopback interface when it holds addresses and all
    /// of them are loopback addresses (`with_loopback` says otherwise).
    pub fn new(name: impl Into<String>, index: u32, up: bool, addrs: Vec<IpNet>) -> Interface {
        let loopback = looks_like_loopback(&addrs);
        Interface {
            name: name.into(),
            index,
            admin_up: up,
            carrier: up,
            loopback,
            addrs,
            flags: BTreeMap::new(),
        }
    }

    /// The same, administratively up or not.
    #[must_use]
    pub fn with_admin_up(mut self, admin_up: bool) -> Interface {
        self.admin_up = admin_up;
        self
    }

    /// The same, with carrier or not.
    #[must_use]
    pub fn with_carrier(mut self, carrier: bool) -> Interface {
        self.carrier = carrier;
        self
    }

    /// The same, a loopback interface or not.
    #[must_use]
    pub fn with_loopback(mut self, loopback: bool) -> Interface {
        self.loopback = loopback;
        self
    }

    /// The same, with these flags on one of its addresses (replacing any
    /// it had; [`AddrFlags::NONE`] clears them). [`Host::new`] refuses
    /// flags on an address the interface does not hold.
    #[must_use]
    pub fn with_addr_flags(mut self, ip: IpAddr, flags: AddrFlags) -> Interface {
        if flags.is_empty() {
            self.flags.remove(&ip);
        } else {
            self.flags.insert(ip, flags);
        }
        self
    }
}

impl Interface {
    /// What a listing adds after the index when the interface is not up.
    pub(crate) fn state_note(&self) -> &'static str {
        match (self.admin_up, self.carrier) {
            (true, true) => "",
            (true, false) => ", no carrier",
            (false, _) => ", down",
        }
    }
}

/// Whether addresses say loopback, for snapshots that do not record the
/// flag: `lo` holds 127.0.0.1/8 and ::1/128, and nothing else does.
fn looks_like_loopback(addrs: &[IpNet]) -> bool {
    !addrs.is_empty() && addrs.iter().all(|a| a.addr().is_loopback())
}

/// Why a host snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// Two interfaces share a name.
    DuplicateName(String),
    /// Two interfaces share an index.
    DuplicateIndex {
        /// The shared index.
        index: u32,
        /// The first interface with it.
        first: String,
        /// The second interface with it.
        second: String,
    },
    /// An interface has index 0, which no OS assigns.
    ZeroIndex(String),
    /// An interface has an empty name, which no OS gives one: `device`
    /// would pin a socket to `""`, which `SO_BINDTODEVICE` reads as no
    /// interface at all.
    EmptyName {
        /// Its index.
        index: u32,
    },
    /// An address did not parse as `ADDRESS/PREFIX`.
    BadAddr {
        /// The interface it was given for.
        interface: String,
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: AddrError,
    },
    /// Address flags were given for an address the interface does not hold.
    FlagsWithoutAddr {
        /// The interface.
        interface: String,
        /// The address.
        ip: IpAddr,
    },
    /// An address given for flags did not parse as an IP address.
    BadFlagsAddr {
        /// The interface.
        interface: String,
        /// The text given.
        text: String,
    },
    /// The JSON form gives `up` against `admin_up` and `carrier`.
    UpDisagrees {
        /// The interface.
        interface: String,
        /// `up` as given.
        up: bool,
        /// `admin_up` as given.
        admin_up: bool,
        /// `carrier` as given.
        carrier: bool,
    },
    /// A DNS answer did not parse as an IP address.
    BadDnsAddr {
        /// The name it was given for.
        name: String,
        /// The text given.
        text: String,
    },
    /// Text that is printed as it is (an interface's name, a DNS error)
    /// holds a control character or another that forges or hides what is
    /// shown: a newline or an escape sequence there could forge lines of
    /// the doctor's output or rewrite the terminal, a right-to-left
    /// override reorders the name, a zero-width space makes `eth\u{200b}0`
    /// pass for `eth0`.
    ControlCharacter {
        /// Which text it is.
        what: TextOf,
        /// The text, as given.
        text: String,
    },
    /// The working directory is a relative path: relative socket paths
    /// resolve against it, and would then resolve against the working
    /// directory of the process that plans, another machine's.
    RelativeCwd {
        /// The path, as given.
        path: String,
    },
    /// Text longer than any host has: an interface's name, say, is at most
    /// 15 bytes on Linux and 256 characters on Windows. Each problem about
    /// an address names its interface, so a forged megabyte-long name
    /// would make a plan of a few thousand addresses gigabytes.
    TooLong {
        /// Which text it is.
        what: TextOf,
        /// Its length, in bytes.
        length: usize,
        /// The most a text of its kind may be, in bytes.
        limit: usize,
    },
}

/// Through the spec errors' quoting (`Escaped`): a snapshot's text is
/// quoted with what it holds escaped and at most a few hundred characters
/// of each word, so an address or name a megabyte long from a hostile
/// snapshot is still an error of a line.
impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Message<'a>(&'a HostError);
        impl fmt::Display for Message<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.message(f)
            }
        }
        write!(f, "{}", crate::spec::Escaped(Message(self)))
    }
}

impl HostError {
    fn message(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::DuplicateName(name) => {
                write!(f, "two interfaces are named {name:?}; names must be unique")
            }
            HostError::DuplicateIndex {
                index,
                first,
                second,
            } => write!(
                f,
                "interfaces {first:?} and {second:?} both have index {index}; indexes must be unique"
            ),
            HostError::ZeroIndex(name) => write!(
                f,
                "interface {name:?} has index 0; the OS numbers interfaces from 1"
            ),
            HostError::EmptyName { index } => write!(
                f,
                "interface #{index} has an empty name; every OS names its interfaces"
            ),
            HostError::BadAddr {
                interface,
                text,
                reason,
            } => write!(
                f,
                "interface {interface:?}: {text:?} is not an address with a prefix length, like 10.0.0.1/8 or fe80::1/64: {reason}"
            ),
            HostError::FlagsWithoutAddr { interface, ip } => write!(
                f,
                "interface {interface:?} has flags for {ip}, which it does not hold; add the address to its \"addrs\" or remove its flags"
            ),
            HostError::BadFlagsAddr { interface, text } => write!(
                f,
                "interface {interface:?}: flags are given for {text:?}, which is not an IP address"
            ),
            HostError::UpDisagrees {
                interface,
                up,
                admin_up,
                carrier,
            } => write!(
                f,
                "interface {interface:?} says up={up} but admin_up={admin_up} and carrier={carrier}; up means both, so drop \"up\" or make it agree"
            ),
            HostError::BadDnsAddr { name, text } => {
                write!(f, "dns {name:?}: {text:?} is not an IP address")
            }
            HostError::ControlCharacter { what, text } => write!(
                f,
                "{what} {text:?} holds a control or invisible character, which could forge lines of the output it is printed in or pass for another name; rename it, or remove it from the snapshot"
            ),
            HostError::RelativeCwd { path } => write!(
                f,
                "cwd {path:?} is relative; a working directory is absolute (/srv/app), and the spec's relative socket paths resolve against it, never against the directory of the process that plans"
            ),
            HostError::TooLong {
                what,
                length,
                limit,
            } => write!(
                f,
                "{what} of {length} bytes, where no host has one over {limit}: the snapshot is damaged or was not written by a capture"
            ),
        }
    }
}

impl std::error::Error for HostError {}

/// Which text of a snapshot holds a control or invisible character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextOf {
    /// An interface's name.
    InterfaceName,
    /// A name with a DNS answer.
    DnsName,
    /// A DNS lookup's error message.
    DnsError,
    /// The evidence of a container.
    Container,
    /// The OS's name.
    Os,
    /// A path: the working directory, or a Unix socket's directory.
    Path,
    /// The OS's message for a path it could not look at.
    OsError,
    /// A user's or group's name.
    Account,
}

impl fmt::Display for TextOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextOf::InterfaceName => "interface name",
            TextOf::DnsName => "DNS name",
            TextOf::DnsError => "DNS error",
            TextOf::Container => "container evidence",
            TextOf::Os => "OS name",
            TextOf::Path => "path",
            TextOf::OsError => "OS error",
            TextOf::Account => "user or group name",
        })
    }
}

/// The text of a snapshot besides its interfaces and names, which a file
/// or a builder may fill with anything and the doctor prints: the OS, the
/// container evidence, the socket paths and the errors reading them.
fn printable_facts(os: &str, container: Option<&str>, unix: &UnixFacts) -> Result<(), HostError> {
    printable(TextOf::Os, os)?;
    // A Windows host's is `C:\\…`, which is no Unix path.
    if let Some(cwd) = &unix.cwd
        && os != "windows"
        && !cwd.to_string_lossy().starts_with('/')
    {
        return Err(HostError::RelativeCwd {
            path: cwd.to_string_lossy().into_owned(),
        });
    }
    for name in unix.users.keys().chain(unix.groups.keys()) {
        printable(TextOf::Account, name)?;
    }
    if let Some(c) = container {
        printable(TextOf::Container, c)?;
    }
    let paths = unix
        .cwd
        .iter()
        .chain(unix.paths.iter().flat_map(|(path, facts)| {
            let dirs = facts.dirs.iter().map(|d| &d.path);
            let links = facts.links.iter().map(|l| &l.path);
            std::iter::once(path)
                .chain(&facts.parent_realpath)
                .chain(dirs)
                .chain(links)
        }));
    for path in paths {
        printable(TextOf::Path, &path.to_string_lossy())?;
    }
    for facts in unix.paths.values() {
        for lookup in [&facts.parent, &facts.file] {
            if let Lookup::Failed { error } = lookup {
                printable(TextOf::OsError, error)?;
            }
        }
    }
    Ok(())
}

/// `text` when it is no longer than a text of its kind on any host, and
/// holds no control character, nor any other character that would forge
/// or reorder what the reader sees (`is_unprintable`).
fn printable(what: TextOf, text: &str) -> Result<(), HostError> {
    // A path as long as the OS takes (PATH_MAX); the rest, names and
    // messages, well past the longest an OS gives (a Windows adapter's
    // friendly name: 256 UTF-16 units, up to 768 bytes of UTF-8).
    let limit = match what {
        TextOf::Path => 4096,
        _ => 1024,
    };
    if text.len() > limit {
        return Err(HostError::TooLong {
            what,
            length: text.len(),
            limit,
        });
    }
    if text.chars().any(crate::is_unprintable) {
        return Err(HostError::ControlCharacter {
            what,
            text: text.to_owned(),
        });
    }
    Ok(())
}

/// Why a text is not an interface address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddrError {
    /// There is no `/` and prefix length.
    NoPrefix,
    /// The part before the `/` is not an IP address.
    NotAnAddress,
    /// The part after the `/` is not a number.
    BadPrefix,
    /// The prefix length is longer than the address.
    PrefixTooLong {
        /// The prefix length given.
        prefix: u32,
        /// The address's width in bits: 32 or 128.
        max: u8,
    },
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::NoPrefix => f.write_str("the /PREFIX after the address is missing"),
            AddrError::NotAnAddress => {
                f.write_str("the part before the / is not an IPv4 or IPv6 address")
            }
            AddrError::BadPrefix => f.write_str(
                "the prefix length after the / is not a number of bits (up to 32 for IPv4, 128 for IPv6)",
            ),
            AddrError::PrefixTooLong { prefix, max } => write!(
                f,
                "the prefix length {prefix} is longer than the {max} bits of an {} address",
                if *max == 32 { "IPv4" } else { "IPv6" }
            ),
        }
    }
}

impl std::error::Error for AddrError {}

/// `ADDRESS/PREFIX`, saying which half is wrong; `IpNet`'s own parser only
/// says the whole is not valid.
fn parse_net(text: &str) -> Result<IpNet, AddrError> {
    let (addr, prefix) = text.split_once('/').ok_or(AddrError::NoPrefix)?;
    let addr: IpAddr = addr.parse().map_err(|_| AddrError::NotAnAddress)?;
    // A leading `+` passes u32's parser but is no prefix length.
    if !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddrError::BadPrefix);
    }
    let prefix: u32 = prefix.parse().map_err(|_| AddrError::BadPrefix)?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let too_long = AddrError::PrefixTooLong { prefix, max };
    IpNet::new(addr, u8::try_from(prefix).map_err(|_| too_long)?).map_err(|_| too_long)
}

/// Builds a [`Host`] from text, for tests and examples; errors surface at
/// [`HostBuilder::build`].
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct HostBuilder {
    interfaces: Vec<Interface>,
    dns: BTreeMap<String, DnsAnswer>,
    container: Option<String>,
    os: Option<String>,
    unix: UnixFacts,
    error: Option<HostError>,
}

impl HostBuilder {
    /// Adds an interface that is up, with addresses like `"10.0.0.1/8"`.
    pub fn interface<'a>(
        mut self,
        name: &str,
        index: u32,
        addrs: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut parsed = Vec::new();
        for text in addrs {
            match parse_net(text) {
                Ok(net) => parsed.push(net),
                Err(reason) => {
                    self.error.get_or_insert(HostError::BadAddr {
                        interface: name.to_owned(),
                        text: text.to_owned(),
                        reason,
                    });
                }
            }
        }
        self.interfaces
            .push(Interface::new(name, index, true, parsed));
        self
    }

    /// Marks the most recently added interface as administratively down
    /// (and so without carrier).
    pub fn down(mut self) -> Self {
        if let Some(last) = self.interfaces.last_mut() {
            last.admin_up = false;
            last.carrier = false;
        }
        self
    }

    /// Marks the most recently added interface as administratively up but
    /// without carrier (a cable unplugged, a veth whose peer is down).
    ///
    /// ```
    /// use listenspec::plan::ProblemKind;
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let host = Host::builder().interface("eth2", 3, ["198.51.100.7/24"]).no_carrier().build()?;
    /// let spec: ListenSpec = "ops = if:eth2\nops.metrics = http:9100".parse()?;
    /// let err = spec.plan(&host).unwrap_err();
    /// assert!(matches!(err.errors()[0].kind(), ProblemKind::NoCarrier { .. }));
    /// assert!(err.errors()[0].kind().time_may_fix());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn no_carrier(mut self) -> Self {
        if let Some(last) = self.interfaces.last_mut() {
            last.admin_up = true;
            last.carrier = false;
        }
        self
    }

    /// Records whether the most recently added interface is a loopback
    /// interface; without this, it is one when all its addresses are
    /// loopback addresses.
    pub fn loopback(mut self, loopback: bool) -> Self {
        if let Some(last) = self.interfaces.last_mut() {
            last.loopback = loopback;
        }
        self
    }

    /// Sets the state flags of one address of the most recently added
    /// interface.
    ///
    /// ```
    /// use listenspec::host::AddrFlags;
    /// use listenspec::plan::ProblemKind;
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let host = Host::builder()
    ///     .interface("eth0", 2, ["2001:db8::5/64"])
    ///     .addr_flags("2001:db8::5", AddrFlags::TENTATIVE)
    ///     .build()?;
    /// let spec: ListenSpec = "api = 2001:db8::5\napi.grpc = tcp:9000".parse()?;
    /// let plan = spec.plan(&host)?;
    /// assert!(matches!(plan.warnings()[0].kind(), ProblemKind::Tentative { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn addr_flags(mut self, addr: &str, flags: AddrFlags) -> Self {
        let Some(last) = self.interfaces.pop() else {
            return self;
        };
        match addr.parse::<IpAddr>() {
            Ok(ip) => self.interfaces.push(last.with_addr_flags(ip, flags)),
            Err(_) => {
                self.error.get_or_insert(HostError::BadFlagsAddr {
                    interface: last.name.clone(),
                    text: addr.to_owned(),
                });
                self.interfaces.push(last);
            }
        }
        self
    }

    /// Records that `name` resolved to these addresses.
    pub fn dns<'a>(mut self, name: &str, addrs: impl IntoIterator<Item = &'a str>) -> Self {
        let mut parsed = Vec::new();
        for text in addrs {
            match text.parse::<IpAddr>() {
                Ok(ip) => parsed.push(ip),
                Err(_) => {
                    self.error.get_or_insert(HostError::BadDnsAddr {
                        name: name.to_owned(),
                        text: text.to_owned(),
                    });
                }
            }
        }
        self.dns.insert(name.to_owned(), DnsAnswer::Addrs(parsed));
        self
    }

    /// Records that looking `name` up failed with this message.
    pub fn dns_failure(mut self, name: &str, error: &str) -> Self {
        self.dns.insert(
            name.to_owned(),
            DnsAnswer::Failed {
                error: error.to_owned(),
            },
        );
        self
    }

    /// Records that the host is a container, with the evidence.
    pub fn container(mut self, evidence: &str) -> Self {
        self.container = Some(evidence.to_owned());
        self
    }

    /// Records the OS the host runs, as [`std::env::consts::OS`] names it;
    /// `"linux"` unless set (see [`Host::os`]).
    pub fn os(mut self, os: &str) -> Self {
        self.os = Some(os.to_owned());
        self
    }

    /// Records the working directory relative socket paths resolve against.
    ///
    /// ```
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let host = Host::builder().cwd("/srv/app").build()?;
    /// let spec: ListenSpec = "local = unix\nlocal.api = http:./api.sock".parse()?;
    /// let plan = spec.plan(&host)?;
    /// let api = plan.endpoint("local", "api").unwrap().unix().unwrap();
    /// assert_eq!(api.path().to_string(), "/srv/app/api.sock");
    /// // Planned, with a warning that says what it was resolved to.
    /// assert!(plan.warnings()[0].to_string().contains("./api.sock is relative"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.unix.cwd = Some(dir.into());
        self
    }

    /// Records what is at a Unix socket path (absolute; see
    /// [`Host::unix_path`]).
    ///
    /// ```
    /// use listenspec::host::{PathFacts, PathKind};
    /// use listenspec::plan::ProblemKind;
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let host = Host::builder()
    ///     .unix_path("/run/app/api.sock", PathFacts::free().taken_by(PathKind::Regular))
    ///     .build()?;
    /// let spec: ListenSpec = "local = unix\nlocal.api = http:/run/app/api.sock".parse()?;
    /// let err = spec.plan(&host).unwrap_err();
    /// assert!(matches!(err.errors()[0].kind(), ProblemKind::UnixPathTaken { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix_path(mut self, path: impl Into<PathBuf>, facts: PathFacts) -> Self {
        self.unix.paths.insert(path.into(), facts);
        self
    }

    /// Records that the user `name` has this uid.
    ///
    /// ```
    /// use listenspec::{Host, ListenSpec};
    ///
    /// let host = Host::builder().user("www-data", 33).group("www-data", 33).build()?;
    /// let spec: ListenSpec =
    ///     "local = unix\nlocal.api = http:/run/api.sock owner=www-data group=www-data".parse()?;
    /// let api = spec.plan(&host)?.endpoints()[0].unix().unwrap().clone();
    /// assert_eq!((api.owner(), api.group()), (Some(33), Some(33)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn user(mut self, name: &str, uid: u32) -> Self {
        self.unix.users.insert(name.to_owned(), NameLookup::Id(uid));
        self
    }

    /// Records that the host has no user `name`.
    pub fn no_user(mut self, name: &str) -> Self {
        self.unix
            .users
            .insert(name.to_owned(), NameLookup::NoSuchName);
        self
    }

    /// Records that the group `name` has this gid.
    pub fn group(mut self, name: &str, gid: u32) -> Self {
        self.unix
            .groups
            .insert(name.to_owned(), NameLookup::Id(gid));
        self
    }

    /// Records that the host has no group `name`.
    pub fn no_group(mut self, name: &str) -> Self {
        self.unix
            .groups
            .insert(name.to_owned(), NameLookup::NoSuchName);
        self
    }

    /// Records the effective user id of the process the snapshot stands
    /// for (see [`Host::euid`]).
    ///
    /// ```
    /// use listenspec::host::{DirFacts, PathFacts};
    /// use listenspec::plan::ProblemKind;
    /// use listenspec::{Host, ListenSpec};
    ///
    /// // /srv/app belongs to uid 1000, who may chmod it; the server runs as 33.
    /// let dirs = vec![DirFacts::new("/srv/app", 1000, 0o755), DirFacts::new("/srv", 0, 0o755)];
    /// let host = Host::builder()
    ///     .euid(33)
    ///     .unix_path("/srv/app/api.sock", PathFacts::free().with_dirs(dirs))
    ///     .build()?;
    /// let spec: ListenSpec = "local = unix\nlocal.api = unix:/srv/app/api.sock".parse()?;
    /// let plan = spec.plan(&host)?;
    /// assert!(matches!(plan.warnings()[0].kind(), ProblemKind::UnixDirUnsafe { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn euid(mut self, uid: u32) -> Self {
        self.unix.euid = Some(uid);
        self
    }

    /// Checks the invariants and returns the snapshot.
    pub fn build(self) -> Result<Host, HostError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        printable_facts(
            self.os.as_deref().unwrap_or("linux"),
            self.container.as_deref(),
            &self.unix,
        )?;
        let host = Host {
            container: self.container,
            ..Host::new(self.interfaces, self.dns)?
        }
        .with_unix(self.unix);
        Ok(match self.os {
            Some(os) => host.with_os(os),
            None => host,
        })
    }
}

/// The wire form: the same fields, checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a host snapshot: an object with \"interfaces\", and optionally \"dns\", \"container\", \"os\", \"cwd\", \"unix_paths\", \"users\", \"groups\" and \"euid\""
)]
struct HostRepr {
    interfaces: Vec<Interface>,
    #[serde(default, deserialize_with = "wire::unique")]
    dns: BTreeMap<String, DnsAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
    #[serde(default = "default_os")]
    os: String,
    // The Unix socket facts came later: snapshots without them still load,
    // and ones without Unix sockets are written as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cwd: Option<PathBuf>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "wire::unique"
    )]
    unix_paths: BTreeMap<PathBuf, PathFacts>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "wire::unique"
    )]
    users: BTreeMap<String, NameLookup>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "wire::unique"
    )]
    groups: BTreeMap<String, NameLookup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    euid: Option<u32>,
}

#[cfg(feature = "serde")]
fn default_os() -> String {
    DEFAULT_OS.to_owned()
}

#[cfg(feature = "serde")]
impl TryFrom<HostRepr> for Host {
    type Error = HostError;
    fn try_from(r: HostRepr) -> Result<Host, HostError> {
        let unix = UnixFacts {
            cwd: r.cwd,
            paths: r.unix_paths,
            users: r.users,
            groups: r.groups,
            euid: r.euid,
        };
        printable_facts(&r.os, r.container.as_deref(), &unix)?;
        Ok(Host {
            container: r.container,
            ..Host::new(r.interfaces, r.dns)?
        }
        .with_os(r.os)
        .with_unix(unix))
    }
}

#[cfg(feature = "serde")]
impl From<Host> for HostRepr {
    fn from(h: Host) -> HostRepr {
        HostRepr {
            interfaces: h.interfaces,
            dns: h.dns,
            container: h.container,
            os: h.os,
            cwd: h.cwd,
            unix_paths: h.unix_paths,
            users: h.users,
            groups: h.groups,
            euid: h.euid,
        }
    }
}

/// Reading the JSON form with errors in its own terms: serde's defaults name
/// internal types ("untagged enum DnsAnswer") or only say "invalid IP
/// address syntax".
#[cfg(feature = "serde")]
mod wire {
    use std::fmt;
    use std::net::IpAddr;

    use std::collections::BTreeMap;

    use ipnet::IpNet;
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::SerializeSeq;

    use super::{AddrFlags, DnsAnswer, HostError, Interface, Lookup, PathKind, parse_net};
    use crate::spec::Escaped;

    /// An interface as JSON. `admin_up`, `carrier`, `loopback` and
    /// `addr_flags` came later: without them `admin_up` and `carrier` are
    /// `up`, `loopback` is read from the addresses, and no address has flags.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(
        deny_unknown_fields,
        expecting = "an interface: an object with \"name\", \"index\", \"up\" and \"addrs\", and optionally \"admin_up\", \"carrier\", \"loopback\" and \"addr_flags\""
    )]
    pub(super) struct InterfaceRepr {
        name: String,
        index: u32,
        up: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        admin_up: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        carrier: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loopback: Option<bool>,
        #[serde(deserialize_with = "addrs")]
        addrs: Vec<IpNet>,
        #[serde(
            default,
            skip_serializing_if = "BTreeMap::is_empty",
            deserialize_with = "unique"
        )]
        addr_flags: BTreeMap<IpAddr, AddrFlags>,
    }

    impl TryFrom<InterfaceRepr> for Interface {
        type Error = HostError;
        fn try_from(r: InterfaceRepr) -> Result<Interface, HostError> {
            let admin_up = r.admin_up.unwrap_or(r.up);
            let carrier = r.carrier.unwrap_or(r.up);
            if r.up != (admin_up && carrier) {
                return Err(HostError::UpDisagrees {
                    interface: r.name,
                    up: r.up,
                    admin_up,
                    carrier,
                });
            }
            let mut i = Interface::new(r.name, r.index, r.up, r.addrs)
                .with_admin_up(admin_up)
                .with_carrier(carrier);
            if let Some(loopback) = r.loopback {
                i = i.with_loopback(loopback);
            }
            for (ip, flags) in r.addr_flags {
                i = i.with_addr_flags(ip, flags);
            }
            Ok(i)
        }
    }

    impl From<Interface> for InterfaceRepr {
        fn from(i: Interface) -> InterfaceRepr {
            InterfaceRepr {
                up: i.is_up(),
                admin_up: Some(i.admin_up),
                carrier: Some(i.carrier),
                loopback: Some(i.loopback),
                name: i.name,
                index: i.index,
                addrs: i.addrs,
                addr_flags: i.flags,
            }
        }
    }

    impl serde::Serialize for AddrFlags {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(None)?;
            for name in self.names() {
                seq.serialize_element(name)?;
            }
            seq.end()
        }
    }

    impl<'de> Deserialize<'de> for AddrFlags {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AddrFlags, D::Error> {
            const NAMES: &[&str] = &["tentative", "dadfailed", "deprecated", "optimistic"];
            Vec::<String>::deserialize(d)?
                .iter()
                .try_fold(AddrFlags::NONE, |all, name| {
                    AddrFlags::from_name(name)
                        .map(|f| all | f)
                        .ok_or_else(|| de::Error::unknown_variant(name, NAMES))
                })
        }
    }

    /// A directory's mode as chmod(1) writes it: octal digits in a string
    /// (`"1777"`), since `1023` in JSON would say nothing to a reader.
    pub(super) mod octal {
        use serde::de::{self, Deserialize, Deserializer};

        use crate::spec::Escaped;

        pub(in crate::host) fn serialize<S: serde::Serializer>(
            mode: &u32,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("{mode:o}"))
        }

        pub(in crate::host) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<u32, D::Error> {
            let text = String::deserialize(d)?;
            // from_str_radix takes a sign; a mode has none. Four digits
            // hold every permission, set-id and sticky bit.
            u32::from_str_radix(&text, 8)
                .ok()
                .filter(|_| (1..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
                .map(|mode| mode & super::super::DirFacts::KEPT)
                .ok_or_else(|| {
                    de::Error::custom(Escaped(format_args!(
                        "directory mode {text:?} is not octal permission bits like \"755\" or \"1777\""
                    )))
                })
        }
    }

    pub(super) fn addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| {
                parse_net(text).map_err(|reason| {
                    de::Error::custom(Escaped(format_args!(
                        "interface address {text:?} is not like 10.0.0.1/8 or fe80::1/64: {reason}"
                    )))
                })
            })
            .collect()
    }

    /// An object whose keys are each given once. serde's maps keep the last
    /// of two, so a snapshot with `"db"` twice in `dns` would show a reader
    /// one answer and be planned with the other.
    pub(super) fn unique<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord + fmt::Debug,
        V: Deserialize<'de>,
    {
        struct Unique<K, V>(std::marker::PhantomData<(K, V)>);

        impl<'de, K, V> Visitor<'de> for Unique<K, V>
        where
            K: Deserialize<'de> + Ord + fmt::Debug,
            V: Deserialize<'de>,
        {
            type Value = BTreeMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<K>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(Escaped(format_args!(
                            "{key:?} is given twice in one object; a snapshot records each once, so keep the one that is true"
                        ))));
                    }
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(out)
            }
        }

        d.deserialize_map(Unique(std::marker::PhantomData))
    }

    /// `{"error": "..."}`, the failure a DNS answer and a path lookup both
    /// record: exactly one `error` key.
    fn failure<'de, A: MapAccess<'de>>(mut map: A) -> Result<String, A::Error> {
        let mut error = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "error" if error.is_some() => return Err(de::Error::duplicate_field("error")),
                "error" => error = Some(map.next_value::<String>()?),
                other => return Err(de::Error::unknown_field(other, &["error"])),
            }
        }
        error.ok_or_else(|| de::Error::missing_field("error"))
    }

    impl<'de> Deserialize<'de> for DnsAnswer {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DnsAnswer, D::Error> {
            d.deserialize_any(AnswerVisitor)
        }
    }

    struct AnswerVisitor;

    impl<'de> Visitor<'de> for AnswerVisitor {
        type Value = DnsAnswer;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a DNS answer: a list of IP addresses, or {\"error\": \"why the lookup failed\"}",
            )
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DnsAnswer, A::Error> {
            let mut addrs = Vec::new();
            while let Some(text) = seq.next_element::<String>()? {
                let ip: IpAddr = text.parse().map_err(|_| {
                    de::Error::custom(Escaped(format_args!(
                        "DNS answer {text:?} is not an IPv4 or IPv6 address"
                    )))
                })?;
                addrs.push(ip);
            }
            Ok(DnsAnswer::Addrs(addrs))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DnsAnswer, A::Error> {
            let error = failure(map)?;
            Ok(DnsAnswer::Failed { error })
        }
    }

    impl serde::Serialize for Lookup {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            match self {
                Lookup::Absent => s.serialize_str("absent"),
                Lookup::Found(kind) => kind.serialize(s),
                Lookup::Failed { error } => {
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("error", error)?;
                    map.end()
                }
            }
        }
    }

    impl<'de> Deserialize<'de> for Lookup {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Lookup, D::Error> {
            d.deserialize_any(LookupVisitor)
        }
    }

    struct LookupVisitor;

    const KINDS: &[&str] = &[
        "absent",
        "socket",
        "regular",
        "directory",
        "symlink",
        "other",
    ];

    impl<'de> Visitor<'de> for LookupVisitor {
        type Value = Lookup;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "what is at a path: \"absent\", \"socket\", \"regular\", \"directory\", \"symlink\", \"other\", or {\"error\": \"why it could not be looked at\"}",
            )
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Lookup, E> {
            Ok(match v {
                "absent" => Lookup::Absent,
                "socket" => Lookup::Found(PathKind::Socket),
                "regular" => Lookup::Found(PathKind::Regular),
                "directory" => Lookup::Found(PathKind::Directory),
                "symlink" => Lookup::Found(PathKind::Symlink),
                "other" => Lookup::Found(PathKind::Other),
                other => return Err(de::Error::unknown_variant(other, KINDS)),
            })
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lookup, A::Error> {
            let error = failure(map)?;
            Ok(Lookup::Failed { error })
        }
    }
}

/// How many interfaces, and addresses of one interface, a listing shows: a
/// person reads a few dozen lines, not a 10,000-interface host.
pub(crate) const LISTED_INTERFACES: usize = 32;
const LISTED_ADDRS: usize = 16;

impl fmt::Display for Host {
    /// One line per interface, as the doctor and error messages list them:
    /// the first 32 interfaces, 16 addresses each, names quoted by their
    /// start (a snapshot may hold names a megabyte long), and how many
    /// more; [`Host::interfaces`] has them all.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ListedInterfaces(self).fmt(f)?;
        match self.interfaces.len().saturating_sub(LISTED_INTERFACES) {
            0 => Ok(()),
            n => write!(f, "\nand {n} more interfaces"),
        }
    }
}

/// The lines of the interfaces a listing shows, without the count of those
/// it leaves out: an error's listing says that count in its first line.
pub(crate) struct ListedInterfaces<'a>(pub(crate) &'a Host);

impl fmt::Display for ListedInterfaces<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let interfaces = &self.0.interfaces;
        let shown = &interfaces[..interfaces.len().min(LISTED_INTERFACES)];
        for (n, i) in shown.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            let name = crate::spec::Escaped(&i.name);
            write!(f, "{name} (#{}{})", i.index, i.state_note())?;
            for a in &i.addrs[..i.addrs.len().min(LISTED_ADDRS)] {
                write!(f, " {a}")?;
                let flags = i.addr_flags(a.addr());
                if !flags.is_empty() {
                    write!(f, " ({flags})")?;
                }
            }
            if i.addrs.is_empty() {
                f.write_str(" no address")?;
            }
            match i.addrs.len().saturating_sub(LISTED_ADDRS) {
                0 => {}
                n => write!(f, " and {n} more addresses")?,
            }
        }
        Ok(())
    }
}
