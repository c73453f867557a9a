//! Reading this host once: its interfaces and the DNS answers a spec needs.
//!
//! The planner ([`crate::plan()`]) is sans-IO: it reads a [`Host`] snapshot and
//! nothing else. Capture is kept apart so that the one place touching the
//! machine is small and obvious, a process reads the host once and plans any
//! number of specs against one consistent view, and a snapshot recorded on a
//! production box (with the `serde` feature) can be replayed in a test.
//!
//! # What is read, and how
//!
//! | data | source |
//! |---|---|
//! | interfaces (every one, with or without an address), their indexes and `UP`, `RUNNING` and `LOOPBACK` flags; addresses with prefix lengths, and for IPv6 their `tentative`, `dadfailed`, `deprecated` and `optimistic` flags (Linux, Android) | one [rtnetlink(7)](https://man7.org/linux/man-pages/man7/rtnetlink.7.html) conversation on one `NETLINK_ROUTE` socket: an `RTM_GETLINK` dump, then an `RTM_GETADDR` dump (`IFA_LOCAL` for this end of a point-to-point link, `IFA_FLAGS` for the address flags) |
//! | the same but the address flags (macOS, the BSDs) | one [`getifaddrs(3)`](https://man.freebsd.org/cgi/man.cgi?query=getifaddrs&sektion=3): each interface's `AF_LINK` entry has its index and flags |
//! | interfaces with an address, their indexes and operational state (Windows) | `GetAdaptersAddresses`, through `if-addrs` |
//! | whether this is a container | the files `/.dockerenv` (Docker), `/run/.containerenv` (Podman) and `/run/systemd/container` (systemd-nspawn, LXC), and the variable `KUBERNETES_SERVICE_HOST` |
//! | Unix socket paths of the spec | [`stat(2)`](https://man7.org/linux/man-pages/man2/stat.2.html) of the parent directory (following links) and [`lstat(2)`](https://man7.org/linux/man-pages/man2/lstat.2.html) of the path, the parent's [`realpath(3)`](https://man7.org/linux/man-pages/man3/realpath.3.html), and on Unix [`faccessat(2)`](https://man7.org/linux/man-pages/man2/faccessat.2.html) for write and search permission; relative paths against the working directory ([`getcwd(3)`](https://man7.org/linux/man-pages/man3/getcwd.3.html)), recorded only when the spec has one |
//! | ids of `owner=`/`group=` names | [`getpwnam_r(3)`](https://man7.org/linux/man-pages/man3/getpwnam_r.3.html) and [`getgrnam_r(3)`](https://man7.org/linux/man-pages/man3/getgrnam_r.3.html) on Unix (the name services of `nsswitch.conf`); elsewhere every name is recorded as unknown |
//! | DNS names of `dns:` selectors | the system resolver, [`getaddrinfo(3)`](https://man7.org/linux/man-pages/man3/getaddrinfo.3.html) (on Unix the sources of [`nsswitch.conf(5)`](https://man7.org/linux/man-pages/man5/nsswitch.conf.5.html), usually [`hosts(5)`](https://man7.org/linux/man-pages/man5/hosts.5.html) then the nameservers of [`resolv.conf(5)`](https://man7.org/linux/man-pages/man5/resolv.conf.5.html)); with `dns-hickory`, A and AAAA queries over UDP (TCP on truncation) to the servers of `resolv.conf` or [`CaptureOptions::nameservers`], after `hosts`, through `hickory-resolver` |
//!
//! # Known gaps
//!
//! - Only Linux and Android record address flags; elsewhere no address is
//!   tentative or deprecated as far as the snapshot knows, and binding a
//!   tentative address fails at bind time with a hint instead of a warning
//!   in the plan.
//! - On Windows interfaces without an address do not appear, and
//!   administratively up is not told from carrier (both follow the
//!   operational state).
//! - A link appearing between the two dumps is left out with its addresses;
//!   a dump the kernel marks as interrupted by a change is read again, up
//!   to three times. To follow changes, see [`HostChanges`].
//!
//! # DNS
//!
//! Only with the `dns` feature (on by default). Without it nothing is looked
//! up: a spec with `dns:` selectors fails capture with
//! [`CaptureError::DnsDisabled`], and plans only against a snapshot that
//! already holds the answers. A spec without `dns:` selectors builds no
//! resolver and starts no runtime or thread, whatever the features.
//!
//! Whoever answers, an answer is only a candidate: one no listener may take
//! (`0.0.0.0`, `::`, `::ffff:0.0.0.0`, a multicast group) is refused by the
//! planner, never bound, so a DNS answer cannot widen what a spec exposes.
//!
//! ## The system resolver (`dns`)
//!
//! Names are looked up as every other program on the host looks them up:
//! [`getaddrinfo(3)`](https://man7.org/linux/man-pages/man3/getaddrinfo.3.html),
//! through std, with its `nsswitch.conf` sources, `/etc/hosts`, the
//! nameservers, `search` and `options` of `resolv.conf`, and `gai.conf`.
//! `getent ahosts NAME` shows what it will answer. The names of one capture
//! are looked up on at most 4 threads started for them, each taking the
//! next name when done with one, and capture waits for their answers at
//! most [`CaptureOptions::timeout`] × [`CaptureOptions::attempts`] (2 s by
//! default; for `Bound::check_advertised`, feature `probe`, its own
//! timeout). A name still unanswered then is recorded as failed, and its
//! lookup is abandoned: getaddrinfo cannot be cancelled, so its thread
//! goes on until the resolver gives up by the `timeout:` and `attempts:`
//! of `resolv.conf` (5 s and 2 unless set there), and then ends. At most 16 lookup threads are
//! alive in a process; a capture that finds them all still waiting (for
//! captures running at the same time, or abandoned) records its names as
//! failed without asking. The wire traffic is the system
//! resolver's; [`CaptureOptions::nameservers`] cannot be honoured, and a
//! capture given them fails with [`CaptureError::NameserversNeedHickory`].
//!
//! ## hickory (`dns-hickory`)
//!
//! `hickory-resolver` answers `localhost` (and names under it) itself, with
//! both `127.0.0.1` and `::1` whatever `/etc/hosts` says (RFC 6761), and reads
//! `/etc/hosts` before asking any server. Every other name is asked of the
//! nameservers, all names at once, each bounded by
//! [`CaptureOptions::timeout`] × [`CaptureOptions::attempts`]. It does not
//! read `nsswitch.conf`: names only mDNS, LDAP or systemd-resolved know are
//! not found.
//!
//! What a name costs on the wire, when no answer comes: each attempt sends
//! one A and one AAAA query over UDP to each of up to two nameservers at once
//! (hickory's default of two concurrent requests), and nothing more until the
//! timeout ends the attempt. So with one nameserver a silent name costs
//! 2 × attempts datagrams, with two or more 4 × attempts. TCP is used only
//! when a UDP answer comes back truncated. hickory on its own would also
//! resend a UDP query every 333 ms within one attempt (three sends with the
//! 1 s default); capture turns that off, so `attempts` is the number of
//! times a query is sent.

// Where the interfaces come from: netlink, read in this file (Linux,
// Android); getifaddrs(3) (macOS and the BSDs); if-addrs (the rest).
// `netlink` is declared outside the chain because cargo-mutants looks for
// modules only outside macros, and Linux's is the one its run can test.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod netlink;
cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        pub use netlink::BadReply;
    } else if #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))] {
        mod bsd;
        use bsd::interfaces;
    } else {
        mod windows;
        use windows::interfaces;
    }
}
mod changes;
// The resolver: hickory with `dns-hickory`, else with `dns` the system's.
#[cfg(feature = "dns-hickory")]
mod dns;
#[cfg(all(feature = "dns", not(feature = "dns-hickory")))]
mod system_dns;
#[cfg(all(feature = "dns", not(feature = "dns-hickory")))]
use system_dns as dns;
mod unix;

pub use changes::HostChanges;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

#[cfg(any(target_os = "linux", target_os = "android"))]
use ipnet::IpNet;

use crate::host::{AccountKind, DnsAnswer, Host, HostError, Interface};
use crate::spec::ListenSpec;

/// How [`capture_with`] and `capture_async` (feature `tokio`) look names up.
/// With the system resolver (feature `dns` without `dns-hickory`) the
/// timeout and attempts only bound how long capture waits, and nameservers
/// are refused; see the [module docs](mod@crate::capture#dns).
///
/// ```
/// use std::time::Duration;
/// use listenspec::capture::CaptureOptions;
///
/// let opts = CaptureOptions::default()
///     .nameservers(["127.0.0.1:5353".parse().unwrap()])
///     .timeout(Duration::from_millis(500))
///     .attempts(1);
/// assert_eq!(opts.attempts, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptureOptions {
    /// The nameservers to ask, each over UDP and TCP on the given port; `None`
    /// (the default) uses the system configuration (`/etc/resolv.conf` on Unix,
    /// with its `search`, `domain` and `ndots`). Only hickory (feature
    /// `dns-hickory`) can ask servers of its own choosing: with the system
    /// resolver, a capture that has names to look up fails with
    /// [`CaptureError::NameserversNeedHickory`].
    pub nameservers: Option<Vec<SocketAddr>>,
    /// How long one query may take before it is sent again; 1 s by default,
    /// more than zero and at most [`CaptureOptions::MAX_TIMEOUT`]. With
    /// hickory it replaces the `timeout:` of `resolv.conf`, whose 5 s default
    /// would stall start-up on a dead resolver; the system resolver keeps
    /// its own, and capture stops waiting for it after `timeout` ×
    /// `attempts`, all names together.
    pub timeout: Duration,
    /// How many times a query is sent in all before the name is recorded as
    /// failed, from 1 to [`CaptureOptions::MAX_ATTEMPTS`]; 2 by default.
    /// With hickory it replaces the `attempts:` of `resolv.conf`, and
    /// negative answers (NXDOMAIN, no records) are never retried; the system
    /// resolver keeps its own, as `timeout` says.
    pub attempts: usize,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            nameservers: None,
            timeout: Duration::from_secs(1),
            attempts: 2,
        }
    }
}

impl CaptureOptions {
    /// The most attempts allowed: with the longest timeout, ten minutes of
    /// start-up on a dead resolver, which is already more than any server
    /// should wait.
    pub const MAX_ATTEMPTS: usize = 10;

    /// The longest timeout allowed for one query. A nameserver that takes a
    /// minute to answer is as good as dead, and hickory's timers panic on
    /// durations near `Duration::MAX`.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

    /// The defaults: system nameservers, 1 s, 2 attempts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks exactly these nameservers instead of the system's.
    #[must_use]
    pub fn nameservers(mut self, servers: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.nameservers = Some(servers.into_iter().collect());
        self
    }

    /// Sets how long one query may take.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many times a query is sent in all.
    #[must_use]
    pub fn attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts;
        self
    }

    /// Checks the options against their documented bounds; capture does
    /// this first, so a bad value fails before any traffic.
    ///
    /// ```
    /// use listenspec::capture::{CaptureOptions, CaptureOptionsError};
    ///
    /// let opts = CaptureOptions::default().attempts(0);
    /// assert_eq!(opts.validate(), Err(CaptureOptionsError::Attempts(0)));
    /// ```
    pub fn validate(&self) -> Result<(), CaptureOptionsError> {
        if let Some(servers) = &self.nameservers {
            if servers.is_empty() {
                return Err(CaptureOptionsError::NoNameservers);
            }
            if let Some(zero) = servers.iter().find(|s| s.port() == 0) {
                return Err(CaptureOptionsError::PortZero(*zero));
            }
        }
        if self.timeout.is_zero() || self.timeout > Self::MAX_TIMEOUT {
            return Err(CaptureOptionsError::Timeout(self.timeout));
        }
        if !(1..=Self::MAX_ATTEMPTS).contains(&self.attempts) {
            return Err(CaptureOptionsError::Attempts(self.attempts));
        }
        Ok(())
    }
}

/// Why [`CaptureOptions`] were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureOptionsError {
    /// `nameservers` was given an empty list.
    NoNameservers,
    /// A nameserver's port is 0, where nothing can listen.
    PortZero(SocketAddr),
    /// The timeout is zero or longer than [`CaptureOptions::MAX_TIMEOUT`].
    Timeout(Duration),
    /// The attempts are 0 or more than [`CaptureOptions::MAX_ATTEMPTS`].
    Attempts(usize),
}

impl fmt::Display for CaptureOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureOptionsError::NoNameservers => f.write_str(
                "the list of nameservers is empty; give at least one, or leave nameservers unset to use the system's",
            ),
            CaptureOptionsError::PortZero(nameserver) => write!(
                f,
                "nameserver {nameserver} has port 0; DNS servers listen on port 53"
            ),
            CaptureOptionsError::Timeout(timeout) => write!(
                f,
                "a DNS timeout of {timeout:?} is out of range: it must be more than zero and at most 60s"
            ),
            CaptureOptionsError::Attempts(attempts) => {
                write!(f, "{attempts} DNS attempts are out of range: from 1 to 10")
            }
        }
    }
}

impl std::error::Error for CaptureOptionsError {}

/// Why the host could not be captured. A failed DNS lookup is not one of
/// these: it is recorded in the snapshot as [`DnsAnswer::Failed`], so the
/// planner can say which endpoint it affects.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaptureError {
    /// The options are out of their bounds.
    Options(CaptureOptionsError),
    /// The interfaces could not be read: the netlink socket (Linux) or
    /// getifaddrs (elsewhere) failed.
    Interfaces(io::Error),
    /// The kernel's answer to a request for the interfaces (Linux) did not
    /// parse.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    BadReply {
        /// The request it answered: `RTM_GETLINK` or `RTM_GETADDR`.
        request: &'static str,
        /// What was wrong with it.
        why: BadReply,
    },
    /// The resolver could not be set up, usually because the system
    /// configuration could not be read.
    Resolver {
        /// The resolver's message.
        message: String,
    },
    /// The private runtime (hickory) or the threads (the system resolver)
    /// that run the DNS lookups could not start.
    Runtime(io::Error),
    /// [`CaptureOptions::nameservers`] was set, but names are looked up with
    /// the system resolver (feature `dns` without `dns-hickory`), which asks
    /// only the system's nameservers.
    NameserversNeedHickory {
        /// The nameservers given.
        nameservers: Vec<SocketAddr>,
    },
    /// The spec has `dns:` selectors, but the crate was built without its
    /// `dns` feature, so it has no resolver.
    DnsDisabled {
        /// The names, in order.
        names: Vec<String>,
    },
    /// Looking up a user or group name of `owner=` or `group=` failed (the
    /// name service could not answer; a name it does not know is recorded
    /// in the snapshot, not an error here).
    Account {
        /// A user or a group.
        kind: AccountKind,
        /// The name.
        name: String,
        /// What the lookup returned.
        error: io::Error,
    },
    /// The interfaces changed while they were read (one was renamed), so the
    /// snapshot broke its own rules.
    Inconsistent(HostError),
    /// An interface's name (or a DNS lookup's message) holds a control or
    /// invisible character ([`HostError::ControlCharacter`]), which messages
    /// would print as it is.
    Unprintable(HostError),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Options(error) => write!(f, "bad DNS options: {error}"),
            CaptureError::Interfaces(error) => write!(
                f,
                "could not list the network interfaces: {error} (the route netlink socket on Linux, getifaddrs elsewhere; is it open to this process, or is it out of file descriptors?)"
            ),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            CaptureError::BadReply { request, why } => write!(
                f,
                "the kernel's reply to {request} could not be read: {why} (capture again; if it persists, report it with `ip -d link` and `ip addr` output)"
            ),
            CaptureError::Resolver { message } => write!(
                f,
                "could not set up the DNS resolver: {message} (check /etc/resolv.conf, or pass nameservers in CaptureOptions)"
            ),
            CaptureError::Runtime(error) => write!(
                f,
                "could not start the runtime or thread for DNS lookups: {error} (out of file descriptors or threads?)"
            ),
            CaptureError::NameserversNeedHickory { nameservers } => write!(
                f,
                "nameservers {} were given for the DNS lookups, but listenspec looks names up with the system resolver, which asks only the nameservers of /etc/resolv.conf (enable the `dns-hickory` feature to ask others: listenspec = {{ version = \"0.1\", features = [\"dns-hickory\"] }}, or leave nameservers unset)",
                nameservers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CaptureError::DnsDisabled { names } => write!(
                f,
                "the spec selects {}, but listenspec was built without its `dns` feature, so nothing can look names up (enable it: listenspec = {{ version = \"0.1\", features = [\"dns\"] }}, or select the addresses themselves)",
                names
                    .iter()
                    .map(|n| format!("dns:{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CaptureError::Account { kind, name, error } => write!(
                f,
                "could not look up the {kind} {name:?} of {option}={name}: {error} (check the name services in /etc/nsswitch.conf, or give the numeric id)",
                option = kind.option()
            ),
            CaptureError::Inconsistent(error) => {
                write!(
                    f,
                    "the interfaces changed while being read: {error} (capture again)"
                )
            }
            CaptureError::Unprintable(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Captures this host with the default [`CaptureOptions`].
///
/// Works with or without a Tokio runtime on the calling thread; inside one it
/// blocks the calling worker while names are looked up, so async code should
/// prefer `capture_async` (feature `tokio`).
pub fn capture(spec: &ListenSpec) -> Result<Host, CaptureError> {
    capture_with(spec, &CaptureOptions::default())
}

/// Captures this host: every interface with its state and addresses (see
/// the module docs for what each system tells), the A
/// and AAAA answers for every name in the spec's `dns:` selectors, and for
/// its Unix sockets what is at each path, the working directory when a path
/// is relative, and the ids of the `owner=` and `group=` names.
///
/// Works with or without a Tokio runtime on the calling thread, as
/// [`capture`] does.
pub fn capture_with(spec: &ListenSpec, opts: &CaptureOptions) -> Result<Host, CaptureError> {
    opts.validate().map_err(CaptureError::Options)?;
    let interfaces = interfaces()?;
    let names = dns_names(spec)?;
    #[cfg(feature = "dns")]
    let dns = if names.is_empty() {
        BTreeMap::new()
    } else {
        dns::lookup_blocking(&names, opts, None)?
    };
    #[cfg(not(feature = "dns"))]
    let dns = without_resolver(names);
    snapshot(spec, interfaces, dns)
}

/// Looks `names` up as capture does, and records every name still
/// unanswered after `limit` as failed; for [`crate::Bound::check_advertised`],
/// whose timeout bounds everything it does.
#[cfg(all(feature = "dns", feature = "probe"))]
pub(crate) fn lookup_within(
    names: &[&str],
    opts: &CaptureOptions,
    limit: Duration,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    opts.validate().map_err(CaptureError::Options)?;
    dns::lookup_blocking(names, opts, Some(limit))
}

/// Captures this host from async code. Needs the `tokio` feature. With
/// `dns-hickory` it looks names up on the caller's runtime, which must be
/// Tokio with I/O and time enabled (hickory's transport needs both); with
/// the system resolver (`dns`) it waits for the lookups on Tokio's
/// blocking threads, never the runtime's own. Without `dns` it is
/// [`capture_with`] in an async fn, and a spec with `dns:` names fails the
/// same way, with [`CaptureError::DnsDisabled`].
///
/// Reading the interfaces is a blocking exchange with the kernel of about
/// 20 µs; it runs inline.
#[cfg(feature = "tokio")]
pub async fn capture_async(spec: &ListenSpec, opts: &CaptureOptions) -> Result<Host, CaptureError> {
    opts.validate().map_err(CaptureError::Options)?;
    let interfaces = interfaces()?;
    let names = dns_names(spec)?;
    #[cfg(feature = "dns")]
    let dns = if names.is_empty() {
        BTreeMap::new()
    } else {
        dns::lookup_all(&names, opts, None).await?
    };
    #[cfg(not(feature = "dns"))]
    let dns = without_resolver(names);
    snapshot(spec, interfaces, dns)
}

fn snapshot(
    spec: &ListenSpec,
    interfaces: Vec<Interface>,
    dns: BTreeMap<String, DnsAnswer>,
) -> Result<Host, CaptureError> {
    let host = Host::new(interfaces, dns)
        .map_err(|e| match e {
            HostError::ControlCharacter { .. } => CaptureError::Unprintable(e),
            e => CaptureError::Inconsistent(e),
        })?
        .with_os(std::env::consts::OS)
        .with_unix(unix::facts(spec)?);
    Ok(match this_container() {
        Some(evidence) => host.in_container(evidence),
        None => host,
    })
}

/// Why this process looks like it runs in a container, looked at once: a
/// process never moves into or out of one, and the look is three `stat`s,
/// as costly as a fifth of a bind, that every capture would repeat.
fn this_container() -> Option<&'static str> {
    static EVIDENCE: OnceLock<Option<String>> = OnceLock::new();
    EVIDENCE
        .get_or_init(|| {
            let kubernetes = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
            container_evidence(Path::new("/"), kubernetes)
        })
        .as_deref()
}

/// Why this looks like a container, from the files container runtimes leave
/// at the root and the variable Kubernetes sets in every container.
fn container_evidence(root: &Path, kubernetes: bool) -> Option<String> {
    const MARKERS: [(&str, &str); 3] = [
        (".dockerenv", "Docker"),
        ("run/.containerenv", "Podman"),
        ("run/systemd/container", "systemd-nspawn or LXC"),
    ];
    MARKERS
        .iter()
        .find(|(file, _)| root.join(file).exists())
        .map(|(file, runtime)| format!("/{file} exists: {runtime}"))
        .or_else(|| kubernetes.then(|| "KUBERNETES_SERVICE_HOST is set: Kubernetes".to_owned()))
}

/// `names` sorted, each once: the names a batch of lookups runs.
pub(crate) fn distinct(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names.dedup();
    names
}

/// The names of the spec's `dns:` selectors. Without the `dns` feature
/// there is nothing to look them up with, and a spec that has any is refused
/// here, at capture: it still parses, and a snapshot recorded with their
/// answers still plans.
fn dns_names(spec: &ListenSpec) -> Result<Vec<&str>, CaptureError> {
    let names = distinct(spec.dns_names().collect());
    if cfg!(feature = "dns") || names.is_empty() {
        Ok(names)
    } else {
        Err(CaptureError::DnsDisabled {
            names: names.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// The answers of a capture without the `dns` feature, where
/// [`dns_names`] let only a spec without names through.
#[cfg(not(feature = "dns"))]
fn without_resolver(names: Vec<&str>) -> BTreeMap<String, DnsAnswer> {
    debug_assert!(names.is_empty());
    BTreeMap::new()
}

/// Interfaces by rtnetlink(7): a link dump, then an address dump, on one
/// socket. A dump the kernel marks as interrupted (an interface changed
/// while it was made) is read again.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn interfaces() -> Result<Vec<Interface>, CaptureError> {
    const ATTEMPTS: u32 = 3;
    let socket = crate::sys::route_socket(0).map_err(CaptureError::Interfaces)?;
    // Large enough for any datagram of a dump: the kernel sizes them to the
    // reader's buffer, up to 32 KiB.
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut seq = 0;
    for _ in 0..ATTEMPTS {
        let (mut links, mut addrs, mut interrupted) = (Vec::new(), Vec::new(), false);
        for kind in [netlink::RTM_GETLINK, netlink::RTM_GETADDR] {
            seq += 1;
            dump(
                &socket,
                &mut buf,
                kind,
                seq,
                &mut links,
                &mut addrs,
                &mut interrupted,
            )?;
        }
        if !interrupted {
            return Ok(assemble(links, addrs));
        }
    }
    Err(CaptureError::BadReply {
        request: "RTM_GETLINK",
        why: BadReply::KeptChanging { attempts: ATTEMPTS },
    })
}

/// Sends one dump request and reads its reply to the end.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn dump(
    socket: &socket2::Socket,
    buf: &mut Vec<u8>,
    kind: u16,
    seq: u32,
    links: &mut Vec<netlink::Link>,
    addrs: &mut Vec<netlink::Addr>,
    interrupted: &mut bool,
) -> Result<(), CaptureError> {
    let request = if kind == netlink::RTM_GETLINK {
        "RTM_GETLINK"
    } else {
        "RTM_GETADDR"
    };
    let bad = |why| CaptureError::BadReply { request, why };
    let message = netlink::dump_request(kind, seq);
    retry_interrupted(|| socket.send(&message)).map_err(CaptureError::Interfaces)?;
    loop {
        let n = retry_interrupted(|| crate::sys::recv_datagram(socket, buf))
            .map_err(CaptureError::Interfaces)?;
        if n == 0 {
            return Err(bad(BadReply::Unfinished));
        }
        if n == buf.capacity() {
            return Err(bad(BadReply::TooLarge { len: n }));
        }
        match netlink::read_datagram(buf, seq, links, addrs, interrupted) {
            Ok(netlink::Step::Done) => return Ok(()),
            Ok(netlink::Step::More) => {}
            Err(netlink::ReplyError::Bad(why)) => return Err(bad(why)),
            Err(netlink::ReplyError::Errno(errno)) => {
                return Err(CaptureError::Interfaces(io::Error::from_raw_os_error(
                    errno,
                )));
            }
        }
    }
}

/// Runs a call again while a signal interrupts it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn retry_interrupted<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The snapshot's interfaces from the two dumps, in the link dump's order
/// (by index, as `ip link` lists them). An address of an interface that
/// appeared after the link dump is left out with its interface.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn assemble(links: Vec<netlink::Link>, addrs: Vec<netlink::Addr>) -> Vec<Interface> {
    use std::net::IpAddr;

    use foldhash::HashMap;

    use crate::host::AddrFlags;

    let at: HashMap<u32, usize> = links
        .iter()
        .enumerate()
        .map(|(n, l)| (l.index, n))
        .collect();
    let mut held: Vec<Vec<netlink::Addr>> = links.iter().map(|_| Vec::new()).collect();
    for a in addrs {
        if let Some(&n) = at.get(&a.index) {
            held[n].push(a);
        }
    }
    links
        .into_iter()
        .zip(held)
        .map(|(l, addrs)| {
            let mut nets: Vec<IpNet> = Vec::with_capacity(addrs.len());
            let mut flagged: Vec<(IpAddr, AddrFlags)> = Vec::new();
            for a in addrs {
                // The parser checked the prefix against the family's width.
                let Ok(net) = IpNet::new(a.ip, a.prefix) else {
                    continue;
                };
                // A repeated entry would read as two addresses to the
                // planner, and so as a conflict with itself.
                if nets.contains(&net) {
                    continue;
                }
                nets.push(net);
                if a.ip.is_ipv6() {
                    flagged.push((a.ip, addr_flags(a.flags)));
                }
            }
            let on = |bit| l.flags & bit != 0;
            let mut i = Interface::new(l.name, l.index, true, nets)
                .with_admin_up(on(netlink::IFF_UP))
                .with_carrier(on(netlink::IFF_RUNNING))
                .with_loopback(on(netlink::IFF_LOOPBACK));
            for (ip, f) in flagged {
                i = i.with_addr_flags(ip, f);
            }
            i
        })
        .collect()
}

/// The `IFA_F_*` bits the planner reads.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn addr_flags(bits: u32) -> crate::host::AddrFlags {
    use crate::host::AddrFlags;
    [
        (netlink::IFA_F_TENTATIVE, AddrFlags::TENTATIVE),
        (netlink::IFA_F_DADFAILED, AddrFlags::DADFAILED),
        (netlink::IFA_F_DEPRECATED, AddrFlags::DEPRECATED),
        (netlink::IFA_F_OPTIMISTIC, AddrFlags::OPTIMISTIC),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .fold(AddrFlags::NONE, |all, (_, f)| all | f)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::{container_evidence, this_container};

    /// An empty directory standing in for `/`, removed when dropped.
    struct Root(PathBuf);

    impl Root {
        fn new(test: &str) -> Root {
            let dir =
                std::env::temp_dir().join(format!("listenspec-{test}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("run/systemd")).unwrap();
            Root(dir)
        }
        fn touch(&self, file: &str) {
            fs::write(self.0.join(file), "").unwrap();
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn container_markers_are_named_with_their_runtime() {
        let root = Root::new("markers");
        assert_eq!(container_evidence(&root.0, false), None);
        assert_eq!(
            container_evidence(&root.0, true).as_deref(),
            Some("KUBERNETES_SERVICE_HOST is set: Kubernetes")
        );
        root.touch("run/systemd/container");
        assert_eq!(
            container_evidence(&root.0, false).as_deref(),
            Some("/run/systemd/container exists: systemd-nspawn or LXC")
        );
        root.touch("run/.containerenv");
        assert_eq!(
            container_evidence(&root.0, true).as_deref(),
            Some("/run/.containerenv exists: Podman")
        );
        root.touch(".dockerenv");
        assert_eq!(
            container_evidence(&root.0, false).as_deref(),
            Some("/.dockerenv exists: Docker")
        );
    }

    #[test]
    fn a_capture_records_this_hosts_container_as_a_fresh_look_finds_it() {
        let kubernetes = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
        let fresh = container_evidence(std::path::Path::new("/"), kubernetes);
        let spec: crate::ListenSpec = "local = loopback expose=local".parse().unwrap();
        for _ in 0..2 {
            let host = crate::capture(&spec).unwrap();
            assert_eq!(host.container(), fresh.as_deref());
        }
        assert_eq!(this_container(), fresh.as_deref());
    }
}
