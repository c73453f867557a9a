//! Does the advertised address really reach this process?
//!
//! Bind first, then connect to each advertised URL as a client would and see
//! whether the connection arrives on the endpoint's own sockets, carrying a
//! nonce only this check knows. That answers the question NAT, proxies, load
//! balancers and container port maps make hard: the advertised name may
//! resolve, and something may answer there, but is it *this* server?
//!
//! The check accepts connections on the endpoint while it runs and closes
//! any that are not its probe, so run it before serving (as `listenspec
//! doctor --check` does), not on a server already taking traffic.
//!
//! Advertised names are looked up the way [`crate::capture()`] looks up
//! `dns:` names (hickory-resolver: `/etc/hosts`, then the nameservers of
//! `resolv.conf` or [`CaptureOptions::nameservers`]), all at once and within
//! the check's timeout, so a resolver that never answers cannot hold the
//! check past it. Without the `dns` feature names are not looked up at all:
//! an advertised name is reported [`Outcome::Unresolved`], naming the
//! feature, and advertised IP addresses are probed as usual. (std's
//! `ToSocketAddrs` could not honour the timeout, nor
//! [`CaptureOptions::nameservers`].)

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use socket2::Socket;
use url::Url;

use crate::bind::{Bound, BoundEndpoint, Listener};
use crate::capture::CaptureOptions;
use crate::host::DnsAnswer;
use crate::spec::{Protocol, QualifiedName, UnixPath, from_url_text};

/// What one probe of one advertised address found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The probe arrived on this endpoint's socket bound to `local`.
    Reached {
        /// The endpoint's socket that received it.
        local: SocketAddr,
    },
    /// The probe arrived on this endpoint's Unix socket.
    ReachedUnix {
        /// The socket's path or abstract name.
        path: UnixPath,
    },
    /// Something took the connection or datagram, but the probe never
    /// arrived on this endpoint: another process answers at the advertised
    /// address, or a TLS-terminating proxy dropped the probe.
    Elsewhere,
    /// The probe datagram never arrived on this endpoint (UDP has no
    /// handshake to tell "nobody there" from "someone else there").
    Lost,
    /// The connection was refused or failed.
    Failed(io::Error),
    /// The advertised host did not resolve.
    Unresolved(String),
    /// Nothing to check: the endpoint has no advertised URL or no socket.
    NotChecked(&'static str),
}

/// The result of checking one address an endpoint advertises.
#[derive(Debug)]
pub struct Reach {
    endpoint: QualifiedName,
    url: Option<Url>,
    target: Option<Target>,
    outcome: Outcome,
}

/// Where a probe goes: an address the URL's host resolved to, or the Unix
/// socket a `unix:`, `unixgram:` or `http+unix://` URL names.
#[derive(Debug, Clone)]
enum Target {
    Ip(SocketAddr),
    Unix(UnixPath),
}

impl Reach {
    /// The endpoint, as `network.endpoint`.
    pub fn endpoint(&self) -> &QualifiedName {
        &self.endpoint
    }
    /// The advertised URL checked.
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }
    /// The address the URL resolved to and was probed; `None` for a Unix
    /// socket (see [`Reach::unix_target`]).
    pub fn target(&self) -> Option<SocketAddr> {
        match self.target {
            Some(Target::Ip(a)) => Some(a),
            _ => None,
        }
    }
    /// The Unix socket the URL names, which was probed.
    pub fn unix_target(&self) -> Option<&UnixPath> {
        match &self.target {
            Some(Target::Unix(p)) => Some(p),
            _ => None,
        }
    }
    /// What was found.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    /// Whether the probe reached this endpoint.
    pub fn reached(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Reached { .. } | Outcome::ReachedUnix { .. }
        )
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.endpoint)?;
        if let Some(u) = &self.url {
            write!(f, " {u}")?;
        }
        match &self.target {
            Some(Target::Ip(t)) => write!(f, " ({t})")?,
            Some(Target::Unix(p)) => write!(f, " ({p})")?,
            None => {}
        }
        match &self.outcome {
            Outcome::Reached { local } => write!(f, ": reaches this process on {local}"),
            Outcome::ReachedUnix { path } => write!(f, ": reaches this process on {path}"),
            Outcome::Elsewhere => write!(
                f,
                ": something answers there, but not this endpoint; another process holds the \
                 advertised address, or a proxy in between does not pass the probe through"
            ),
            Outcome::Lost => write!(
                f,
                ": the probe datagram never arrived here; the address leads elsewhere or nowhere"
            ),
            Outcome::Failed(e) => write!(f, ": {e}; nothing reachable answers there"),
            Outcome::Unresolved(e) => write!(f, ": the host does not resolve: {e}"),
            Outcome::NotChecked(why) => write!(f, ": not checked: {why}"),
        }
    }
}

/// A number no other client will send, to recognise the probe.
fn nonce() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

impl Bound {
    /// Connects to every advertised address (each address the URL's host
    /// resolves to) and reports whether the probe reached the endpoint's own
    /// sockets, waiting at most `timeout` for the advertised names to
    /// resolve and then at most `timeout` per address.
    ///
    /// This sends real traffic to the advertised addresses and accepts on the
    /// endpoints while it runs; see the module docs.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local\nlocal.web = http:0".parse()?;
    /// let bound = listenspec::bind_all(&spec)?;
    /// let reach = bound.check_advertised(Duration::from_secs(2));
    /// assert_eq!(reach.len(), 1);
    /// assert!(reach[0].reached(), "{}", reach[0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_advertised(&self, timeout: Duration) -> Vec<Reach> {
        self.check_advertised_with(timeout, &CaptureOptions::default())
    }

    /// [`Bound::check_advertised`], looking advertised names up with these
    /// options; a DNS timeout longer than `timeout` is cut to it.
    pub fn check_advertised_with(&self, timeout: Duration, dns: &CaptureOptions) -> Vec<Reach> {
        let resolved = self.resolve_advertised(timeout, dns);
        let mut out = Vec::new();
        for ep in self.endpoints() {
            let not_checked = |why| Reach {
                endpoint: ep.qualified(),
                url: ep.advertised().cloned(),
                target: None,
                outcome: Outcome::NotChecked(why),
            };
            let Some(url) = ep.advertised() else {
                out.push(not_checked("no advertised URL"));
                continue;
            };
            if let Some(path) = unix_target(url) {
                out.push(Reach {
                    endpoint: ep.qualified(),
                    url: Some(url.clone()),
                    outcome: probe(ep, url, &Target::Unix(path.clone()), timeout),
                    target: Some(Target::Unix(path)),
                });
                continue;
            }
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                out.push(not_checked("the URL has no host or port"));
                continue;
            };
            let targets: Vec<SocketAddr> = match resolved(host) {
                Ok(ips) => ips.iter().map(|&ip| SocketAddr::new(ip, port)).collect(),
                Err(e) => {
                    out.push(Reach {
                        endpoint: ep.qualified(),
                        url: Some(url.clone()),
                        target: None,
                        outcome: Outcome::Unresolved(e),
                    });
                    continue;
                }
            };
            for target in targets {
                let target = Target::Ip(target);
                out.push(Reach {
                    endpoint: ep.qualified(),
                    url: Some(url.clone()),
                    outcome: probe(ep, url, &target, timeout),
                    target: Some(target),
                });
            }
        }
        out
    }
}

impl Bound {
    /// Every advertised host's addresses, by the URL's host text: literals as
    /// they are, names looked up together within `timeout`.
    fn resolve_advertised(
        &self,
        timeout: Duration,
        dns: &CaptureOptions,
    ) -> impl Fn(&str) -> Result<Vec<IpAddr>, String> {
        let hosts: Vec<&str> = self
            .endpoints()
            .iter()
            .filter_map(|ep| {
                ep.advertised()
                    .filter(|u| unix_target(u).is_none())?
                    .host_str()
            })
            .collect();
        let names: BTreeSet<&str> = hosts
            .iter()
            .copied()
            .filter(|h| literal(h).is_none())
            .collect();
        let answers = if names.is_empty() {
            Ok(BTreeMap::new())
        } else {
            look_up(&names, dns, timeout)
        };
        move |host| addresses(host, &answers)
    }
}

/// The addresses to probe for an advertised host: a literal as it is, a
/// name as looked up. A name without addresses is an error, never an
/// endpoint left out of the check.
fn addresses(
    host: &str,
    answers: &Result<BTreeMap<String, DnsAnswer>, String>,
) -> Result<Vec<IpAddr>, String> {
    if let Some(ip) = literal(host) {
        return Ok(vec![ip]);
    }
    match answers.as_ref().map(|a| a.get(host)) {
        Ok(Some(DnsAnswer::Addrs(ips))) if !ips.is_empty() => Ok(ips.clone()),
        Ok(Some(DnsAnswer::Failed { error })) => Err(error.clone()),
        Ok(_) => Err("no addresses".to_owned()),
        Err(e) => Err(e.clone()),
    }
}

/// The advertised names' answers, all within `timeout`.
#[cfg(feature = "dns")]
fn look_up(
    names: &BTreeSet<&str>,
    dns: &CaptureOptions,
    timeout: Duration,
) -> Result<BTreeMap<String, DnsAnswer>, String> {
    let opts = dns.clone().timeout(dns.timeout.min(timeout));
    crate::capture::lookup_within(names, &opts, timeout).map_err(|e| e.to_string())
}

/// Without a resolver every name is unresolved, and says why; a name is
/// never guessed at through another resolver than the one capture uses.
#[cfg(not(feature = "dns"))]
fn look_up(
    _: &BTreeSet<&str>,
    _: &CaptureOptions,
    _: Duration,
) -> Result<BTreeMap<String, DnsAnswer>, String> {
    Err(
        "listenspec was built without its `dns` feature, so names are not looked up \
         (enable the feature, or advertise an IP address)"
            .to_owned(),
    )
}

/// An IP address as a URL host writes it (IPv6 in brackets).
fn literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The Unix socket a URL names: `unix:PATH`, `unixgram:PATH` (`@name` for
/// an abstract one), or `SCHEME+unix://PERCENT-ENCODED-PATH/`. Decoded to
/// the path's bytes, which need not be UTF-8: the planner encodes every
/// byte a URL cannot hold (`%` itself too), so a path with `%`, `?` or a
/// space in it is reached at itself.
fn unix_target(url: &Url) -> Option<UnixPath> {
    let text = match url.scheme() {
        "unix" | "unixgram" => url.path(),
        s if s.ends_with("+unix") => url.host_str()?,
        _ => return None,
    };
    from_url_text(text)
}

fn probe(ep: &BoundEndpoint, url: &Url, target: &Target, timeout: Duration) -> Outcome {
    let nonce = nonce();
    // HTTP proxies forward a request; anything else gets the bare line.
    let message = match ep.protocol() {
        Protocol::Http => format!(
            "GET /.well-known/listenspec-probe/{nonce} HTTP/1.0\r\nHost: {}\r\n\r\n",
            url.host_str().unwrap_or("localhost")
        ),
        _ => format!("listenspec-probe {nonce}\r\n"),
    };
    if let Err(e) = set_nonblocking(ep, true) {
        return Outcome::Failed(e);
    }
    let outcome = if ep.transport().is_stream() {
        probe_stream(ep, target, &message, &nonce, timeout)
    } else {
        probe_datagram(ep, target, &message, &nonce, timeout)
    };
    // Back to blocking, as bound sockets are handed out.
    if let Err(e) = set_nonblocking(ep, false) {
        return Outcome::Failed(e);
    }
    outcome
}

fn set_nonblocking(ep: &BoundEndpoint, on: bool) -> io::Result<()> {
    for s in ep.sockets() {
        match s.listener() {
            Listener::Tcp(l) => l.set_nonblocking(on)?,
            Listener::Udp(u) => u.set_nonblocking(on)?,
        }
    }
    #[cfg(unix)]
    if let Some(u) = ep.unix() {
        u.socket().set_nonblocking(on)?;
    }
    Ok(())
}

/// How long to sleep between polls of non-blocking sockets: short against
/// any useful timeout, long enough not to spin a core.
const POLL: Duration = Duration::from_millis(2);

/// A stream client connected to the target.
fn connect(target: &Target, timeout: Duration) -> io::Result<Socket> {
    match target {
        Target::Ip(addr) => TcpStream::connect_timeout(addr, timeout).map(Socket::from),
        #[cfg(unix)]
        Target::Unix(path) => {
            let addr = crate::bind::unix::sock_addr(path)?;
            let s = Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
            s.connect_timeout(&addr, timeout)?;
            Ok(s)
        }
        #[cfg(not(unix))]
        Target::Unix(_) => Err(io::Error::from(io::ErrorKind::Unsupported)),
    }
}

/// The first connection waiting on any of the endpoint's stream sockets,
/// with where it arrived.
fn accept_any(ep: &BoundEndpoint) -> Option<(Socket, Outcome)> {
    for s in ep.sockets() {
        let Listener::Tcp(l) = s.listener() else {
            continue;
        };
        if let Ok((conn, _)) = l.accept() {
            let local = s.local_addr();
            return Some((Socket::from(conn), Outcome::Reached { local }));
        }
    }
    #[cfg(unix)]
    if let Some(u) = ep.unix()
        && let crate::bind::UnixSocket::Stream(l) = u.socket()
        && let Ok((conn, _)) = l.accept()
    {
        let path = u.path().clone();
        return Some((Socket::from(conn), Outcome::ReachedUnix { path }));
    }
    None
}

fn probe_stream(
    ep: &BoundEndpoint,
    target: &Target,
    message: &str,
    nonce: &str,
    timeout: Duration,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    let mut client = match connect(target, timeout) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    // The kernel buffers the probe until someone reads it; if what answered
    // is a proxy, it forwards it on its own time.
    if let Err(e) = client.write_all(message.as_bytes()) {
        return Outcome::Failed(e);
    }
    while Instant::now() < deadline {
        while let Some((mut conn, reached)) = accept_any(ep) {
            let left = deadline.saturating_duration_since(Instant::now());
            if read_contains(&mut conn, nonce, left) {
                if ep.protocol() == Protocol::Http {
                    let _ = conn.write_all(b"HTTP/1.0 204 No Content\r\n\r\n");
                }
                return reached;
            }
        }
        std::thread::sleep(POLL);
    }
    Outcome::Elsewhere
}

/// Reads from an accepted connection until the nonce shows up, the peer
/// stops, or time runs out.
fn read_contains(conn: &mut Socket, nonce: &str, left: Duration) -> bool {
    if conn.set_nonblocking(false).is_err()
        || conn
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .is_err()
    {
        return false;
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while buf.len() < 4096 {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if String::from_utf8_lossy(&buf).contains(nonce) {
            return true;
        }
    }
    false
}

/// Sends the probe datagram to the target.
fn send(target: &Target, message: &str) -> io::Result<()> {
    match target {
        Target::Ip(addr) => {
            let local: SocketAddr = match addr {
                SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
                SocketAddr::V6(_) => ([0u16; 8], 0).into(),
            };
            UdpSocket::bind(local)?.send_to(message.as_bytes(), addr)?;
        }
        #[cfg(unix)]
        Target::Unix(path) => {
            let addr = crate::bind::unix::sock_addr(path)?;
            let s = Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None)?;
            s.send_to(message.as_bytes(), &addr)?;
        }
        #[cfg(not(unix))]
        Target::Unix(_) => return Err(io::Error::from(io::ErrorKind::Unsupported)),
    }
    Ok(())
}

fn probe_datagram(
    ep: &BoundEndpoint,
    target: &Target,
    message: &str,
    nonce: &str,
    timeout: Duration,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    if let Err(e) = send(target, message) {
        return Outcome::Failed(e);
    }
    let mut buf = [0u8; 512];
    let has = |n: usize, buf: &[u8]| String::from_utf8_lossy(&buf[..n]).contains(nonce);
    while Instant::now() < deadline {
        for s in ep.sockets() {
            let Listener::Udp(u) = s.listener() else {
                continue;
            };
            while let Ok((n, _)) = u.recv_from(&mut buf) {
                if has(n, &buf) {
                    return Outcome::Reached {
                        local: s.local_addr(),
                    };
                }
            }
        }
        #[cfg(unix)]
        if let Some(u) = ep.unix()
            && let crate::bind::UnixSocket::Datagram(d) = u.socket()
        {
            while let Ok(n) = d.recv(&mut buf) {
                if has(n, &buf) {
                    return Outcome::ReachedUnix {
                        path: u.path().clone(),
                    };
                }
            }
        }
        std::thread::sleep(POLL);
    }
    Outcome::Lost
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolvers report a name without records as an error; an empty answer
    /// recorded some other way must still not make the check skip it.
    #[test]
    fn an_empty_answer_is_no_addresses() {
        let answers = Ok(BTreeMap::from([
            ("empty.test".to_owned(), DnsAnswer::Addrs(Vec::new())),
            (
                "svc.test".to_owned(),
                DnsAnswer::Addrs(vec![[192, 0, 2, 1].into()]),
            ),
        ]));
        assert_eq!(
            addresses("empty.test", &answers),
            Err("no addresses".to_owned())
        );
        assert_eq!(
            addresses("gone.test", &answers),
            Err("no addresses".to_owned())
        );
        assert_eq!(
            addresses("svc.test", &answers),
            Ok(vec![[192, 0, 2, 1].into()])
        );
        assert_eq!(
            addresses("[::1]", &answers),
            Ok(vec![std::net::Ipv6Addr::LOCALHOST.into()])
        );
    }
}
