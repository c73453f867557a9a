//! Does the advertised address really reach this process?
//!
//! Needs the `probe` feature, which is off by default:
//! `listenspec = { version = "0.1", features = ["probe"] }` (`cli` turns it
//! on for `listenspec doctor --check`).
//!
//! Bind first, then connect to each advertised URL as a client would, send
//! a nonce only this check knows, and see whether this process answers it
//! on that same connection. The endpoint's side of the check accepts on the
//! endpoint's own sockets, and when a connection there carries a nonce it
//! sends back, on that connection, a second random value (as an HTTP
//! response for an HTTP endpoint, a bare line otherwise); the probe counts
//! the address reached only when that value comes back on the connection
//! it opened. That answers the question NAT, proxies, load balancers and
//! container port maps make hard: the advertised name may resolve, and
//! something may answer there, but is it *this* server? A proxy that
//! forwards the connection passes; something that reads the probe and sends
//! it on over a connection of its own, without passing the answer back, is
//! [`Outcome::Unanswered`]: its clients are not served by this process.
//!
//! UDP is a round trip too: the endpoint answers the address the probe
//! datagram came from, from the socket it arrived on, and the probe waits
//! for that answer on its own socket. A Unix datagram probe is sent from a
//! socket without an address, so there is nothing to answer: reached there
//! means the datagram sent to the path arrived on this endpoint's socket,
//! one way.
//!
//! The whole check, the lookups of advertised names included, ends by its
//! one timeout, whatever the clients of the endpoint or the peers at the
//! advertised addresses do: every address is probed at once, every
//! connect, accept, read and write is non-blocking, and the clock is looked
//! at between rounds. What one check holds is bounded too: it reads at
//! most 4 KiB of a connection before the nonce, keeps at most 64
//! connections per endpoint open, closing the rest as they come, and reads
//! at most 8 KiB back on its own.
//!
//! The check accepts connections on the endpoint while it runs and closes
//! any that are not its probe, so run it before serving (as `listenspec
//! doctor --check` does), not on a server already taking traffic.
//!
//! Advertised names are looked up the way [`crate::capture()`] looks up
//! `dns:` names (the system resolver with the `dns` feature, hickory with
//! `dns-hickory`: see [the capture module](mod@crate::capture#dns)),
//! within the check's timeout, so a resolver that never answers cannot
//! hold the check past it: a lookup of the system resolver still running
//! then is abandoned to its thread.
//! Without the `dns` feature names are not looked up at all: an advertised
//! name is reported [`Outcome::Unresolved`], naming the feature, and
//! advertised IP addresses are probed as usual.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::AddrClass;
use crate::bind::{Bound, BoundEndpoint, Listener};
use crate::capture::CaptureOptions;
use crate::host::DnsAnswer;
use crate::spec::{Protocol, QualifiedName, UnixPath, Url, from_url_text};

/// What one probe of one advertised address found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The probe arrived on this endpoint's socket bound to `local`, and
    /// the answer sent there came back to the probe.
    Reached {
        /// The endpoint's socket that received it.
        local: SocketAddr,
    },
    /// The probe arrived on this endpoint's Unix socket, and (on a stream
    /// socket) the answer sent there came back to the probe.
    ReachedUnix {
        /// The socket's path or abstract name.
        path: UnixPath,
    },
    /// The probe reached this endpoint's socket bound to `local`, but at a
    /// loopback address, while the endpoint also listens beyond loopback:
    /// it reaches this process from this host alone, and a client anywhere
    /// else connects to its own loopback. A name that answers loopback
    /// here (Debian's `/etc/hosts` maps the host's name to 127.0.1.1) may
    /// answer a reachable address elsewhere, which this host cannot check.
    ThisHostOnly {
        /// The endpoint's socket that received it.
        local: SocketAddr,
    },
    /// Something took the connection or datagram, but the probe never
    /// arrived on this endpoint: another process answers at the advertised
    /// address, or a TLS-terminating proxy dropped the probe.
    Elsewhere,
    /// The probe datagram never arrived on this endpoint (UDP has no
    /// handshake to tell "nobody there" from "someone else there").
    Lost,
    /// The probe arrived on this endpoint, but the answer the endpoint sent
    /// back where it came from never reached the probe's own connection
    /// (or socket): what answers at the advertised address passes on what
    /// it receives over connections of its own, without passing back what
    /// this process answers, so clients there are not served by it.
    Unanswered,
    /// The connection was refused or failed.
    Failed(io::Error),
    /// The advertised host did not resolve.
    Unresolved(String),
    /// The advertised name answered a wildcard (`0.0.0.0`, `::`) or
    /// another address of 0.0.0.0/8: not probed, since a connection there
    /// goes to the connecting host itself, which passes here and reaches
    /// no server for a client anywhere else.
    NoServer,
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
            Outcome::ThisHostOnly { local } => write!(
                f,
                ": reaches this process on {local}, but only from this host: the address is \
                 loopback, and a client on any other host connects to its own; make the name \
                 answer an address of the endpoint's network here, or advertise one"
            ),
            Outcome::Elsewhere => write!(
                f,
                ": something answers there, but not this endpoint; another process holds the \
                 advertised address, or a proxy in between does not pass the probe through"
            ),
            Outcome::Lost => write!(
                f,
                ": the probe datagram never arrived here; the address leads elsewhere or nowhere"
            ),
            Outcome::Unanswered => write!(
                f,
                ": the probe arrived here, but this endpoint's answer never came back to it; \
                 something at the advertised address re-sends what it receives instead of \
                 forwarding the connection, so clients there are not answered by this process"
            ),
            Outcome::Failed(e) => write!(f, ": {e}; nothing reachable answers there"),
            Outcome::Unresolved(e) => write!(f, ": the host does not resolve: {e}"),
            Outcome::NoServer => write!(
                f,
                ": the name answers an address that is no server's (a wildcard, or 0.0.0.0/8), \
                 which a client connects to itself through; make the name answer this server's \
                 address, or advertise another"
            ),
            Outcome::NotChecked(why) => write!(f, ": not checked: {why}"),
        }
    }
}

/// Whether no client could reach a server at `ip`: a wildcard in any
/// spelling, or "this network" (0.0.0.0/8), as the registry's table says.
fn is_no_server(ip: IpAddr) -> bool {
    matches!(
        AddrClass::of(ip.to_canonical()),
        AddrClass::Unspecified | AddrClass::ThisNetwork
    )
}

/// Whether the endpoint listens on an address other hosts may reach: one
/// not loopback, a wildcard included.
fn beyond_loopback(ep: &BoundEndpoint) -> bool {
    ep.sockets()
        .iter()
        .any(|s| !s.local_addr().ip().to_canonical().is_loopback())
}

/// A number no other client will send, to recognise the probe, or the
/// answer to it. Each call hashes with keys of its own (`RandomState::new`
/// draws fresh ones from the process's random seed), so one value does not
/// tell another: a relay that sees the nonce cannot make up the answer.
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
    /// sockets and came back answered, all within `timeout`: the advertised
    /// names are looked up and every address is probed at once, and the
    /// check returns by then however slowly anyone involved answers (a few
    /// milliseconds later at most). An address not answered by then is
    /// reported as such.
    ///
    /// This sends real traffic to the advertised addresses and accepts on the
    /// endpoints while it runs; see the module docs. Needs the `probe`
    /// feature.
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
    /// options; a DNS timeout longer than `timeout` is cut to it, and the
    /// time the lookups take comes out of `timeout`.
    pub fn check_advertised_with(&self, timeout: Duration, dns: &CaptureOptions) -> Vec<Reach> {
        let start = Instant::now();
        let resolved = self.resolve_advertised(timeout, dns);
        let mut out = Vec::new();
        let mut probes = Vec::new();
        for (index, ep) in self.endpoints().iter().enumerate() {
            let reach = |target, outcome| Reach {
                endpoint: ep.qualified(),
                url: ep.advertised().cloned(),
                target,
                outcome,
            };
            let Some(url) = ep.advertised() else {
                out.push(reach(None, Outcome::NotChecked("no advertised URL")));
                continue;
            };
            let targets = if let Some(path) = unix_target(url) {
                vec![Target::Unix(path)]
            } else {
                let (Some(host), Some(port)) = (url.host().map(|_| url.host_str()), url.port())
                else {
                    out.push(reach(
                        None,
                        Outcome::NotChecked("the URL has no host or port"),
                    ));
                    continue;
                };
                match resolved(host) {
                    Ok(ips) => ips
                        .iter()
                        .map(|&ip| Target::Ip(SocketAddr::new(ip, port)))
                        .collect(),
                    Err(e) => {
                        out.push(reach(None, Outcome::Unresolved(e)));
                        continue;
                    }
                }
            };
            for target in targets {
                // A connection to 0.0.0.0 or `::` goes to the connecting
                // host: it would reach this process from here alone.
                if let Target::Ip(addr) = target
                    && is_no_server(addr.ip())
                {
                    out.push(reach(Some(target), Outcome::NoServer));
                    continue;
                }
                probes.push(Probe::start(out.len(), index, ep, url, &target));
                // Decided once every probe has run.
                out.push(reach(Some(target), Outcome::NotChecked("")));
            }
        }
        // Probes start in endpoint order: each endpoint once, after dedup.
        let mut probed: Vec<usize> = probes.iter().map(|p| p.ep).collect();
        probed.dedup();
        let endpoints = self.endpoints();
        let mut broken: Vec<(usize, io::Error)> = Vec::new();
        for &i in &probed {
            if let Err(e) = set_nonblocking(&endpoints[i], true) {
                broken.push((i, e));
            }
        }
        self.run_probes(&mut probes, start, timeout);
        // Back to blocking, as bound sockets are handed out.
        for &i in &probed {
            if let Err(e) = set_nonblocking(&endpoints[i], false) {
                broken.push((i, e));
            }
        }
        for p in probes {
            let outcome = match broken.iter().find(|(i, _)| *i == p.ep) {
                Some((_, e)) => Outcome::Failed(io::Error::new(e.kind(), e.to_string())),
                None => p.outcome.unwrap_or(Outcome::Elsewhere),
            };
            let outcome = match (outcome, &out[p.slot].target) {
                (Outcome::Reached { local }, Some(Target::Ip(to)))
                    if to.ip().to_canonical().is_loopback()
                        && beyond_loopback(&endpoints[p.ep]) =>
                {
                    Outcome::ThisHostOnly { local }
                }
                (outcome, _) => outcome,
            };
            out[p.slot].outcome = outcome;
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
        // The names among the hosts: literals are their own addresses.
        let names = self
            .endpoints()
            .iter()
            .filter_map(|ep| {
                let url = ep.advertised().filter(|u| unix_target(u).is_none())?;
                let host = url.host().map(|_| url.host_str())?;
                literal(host).is_none().then_some(host)
            })
            .collect();
        let names = crate::capture::distinct(names);
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
    names: &[&str],
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
    _: &[&str],
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
        s if s.ends_with("+unix") => url.host_str(),
        _ => return None,
    };
    from_url_text(text)
}

/// How long to sleep between polls of non-blocking sockets: short against
/// any useful timeout, long enough not to spin a core.
const POLL: Duration = Duration::from_millis(2);

/// The most read from one connection the check accepts before the nonce:
/// a peer that talks first is not read to its end.
const READ_LIMIT: usize = 4096;

/// The most the probe reads of what comes back on its own connection
/// before the answer (an HTTP proxy adds its headers).
const ANSWER_LIMIT: usize = 8192;

/// The most connections one endpoint keeps open while reading for the
/// nonce; more are closed as they are accepted. What one check holds stays
/// bounded, whoever connects.
const OPEN_LIMIT: usize = 64;

/// The most datagrams read from one socket between two looks at the clock,
/// so a flood cannot keep the check past its deadline.
const DATAGRAMS_PER_POLL: usize = 64;

/// What the endpoint side sends back on the connection (or to the
/// address) the nonce came from, before the answer token.
const ANSWER: &str = "listenspec-answer ";

/// Where a probe's nonce arrived: one of the endpoint's sockets.
#[derive(Debug, Clone)]
enum Arrival {
    Ip(SocketAddr),
    // Unix sockets are bound only on Unix.
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(UnixPath),
}

impl Arrival {
    fn reached(&self) -> Outcome {
        match self {
            Arrival::Ip(local) => Outcome::Reached { local: *local },
            Arrival::Unix(path) => Outcome::ReachedUnix { path: path.clone() },
        }
    }
}

/// One advertised address being probed: the client's side and what the
/// endpoint's side has seen of it.
struct Probe {
    /// Its place in the check's results.
    slot: usize,
    /// Its place in the check's endpoints.
    ep: usize,
    /// What the probe sends, which names the nonce.
    message: Vec<u8>,
    nonce: String,
    /// A second random value, sent back only by this endpoint and only once
    /// the nonce arrived there: seeing the nonce does not tell it.
    token: String,
    /// What the endpoint sends back to the nonce.
    answer: Vec<u8>,
    client: Client,
    arrived: Option<Arrival>,
    outcome: Option<Outcome>,
}

/// The probe's own socket.
enum Client {
    Stream(StreamClient),
    /// A UDP socket the answer comes back to.
    Udp(UdpSocket),
    /// A Unix datagram socket, which has no address to answer.
    #[cfg(unix)]
    UnixDatagram,
    /// None could be made; the outcome says why.
    Gone,
}

struct StreamClient {
    socket: Socket,
    target: socket2::SockAddr,
    /// `connect` is to be called (again): first, and after a Unix socket's
    /// full backlog (`EAGAIN`); a TCP connect in progress is watched instead.
    call_connect: bool,
    connected: bool,
    /// The part of the message not yet written.
    written: usize,
    /// What came back, up to [`ANSWER_LIMIT`].
    got: Vec<u8>,
    /// The peer closed, or reading failed: nothing more will come.
    ended: bool,
}

/// A connection the endpoint accepted while the check runs.
struct Conn {
    socket: Socket,
    on: Arrival,
    read: Vec<u8>,
    /// The answer, once the nonce came, and how much of it is written.
    answer: Option<(Vec<u8>, usize)>,
}

impl Bound {
    /// Probes every target at once, within one deadline: each connect,
    /// accept, read and write is non-blocking and the clock is looked at
    /// between rounds, so no client of the endpoint, however slow, holds
    /// the check past `timeout` from `start`.
    fn run_probes(&self, probes: &mut [Probe], start: Instant, timeout: Duration) {
        let endpoints = self.endpoints();
        let mut inboxes: Vec<Vec<Conn>> = endpoints.iter().map(|_| Vec::new()).collect();
        loop {
            for p in probes.iter_mut().filter(|p| p.outcome.is_none()) {
                p.step_client();
            }
            for (i, ep) in endpoints.iter().enumerate() {
                if probes.iter().any(|p| p.ep == i && p.outcome.is_none()) {
                    serve_stream(ep, i, &mut inboxes[i], probes);
                    serve_datagrams(ep, i, probes);
                }
            }
            if probes.iter().all(|p| p.outcome.is_some()) {
                break;
            }
            // Measured from the start, not as a deadline: `Duration::MAX`
            // is no `Instant`.
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(POLL));
        }
        for p in probes.iter_mut().filter(|p| p.outcome.is_none()) {
            p.outcome = Some(p.undecided());
        }
    }
}

impl Probe {
    /// A probe of `target` for endpoint number `index`, its socket made and
    /// its connect or datagram sent; a failure to do so is its outcome.
    fn start(slot: usize, index: usize, ep: &BoundEndpoint, url: &Url, target: &Target) -> Self {
        let token = nonce();
        let nonce = nonce();
        // HTTP proxies forward a request, and pass back a response; anything
        // else gets the bare lines.
        let (message, answer) = match ep.protocol() {
            Protocol::Http => {
                let body = format!("{ANSWER}{token}\r\n");
                (
                    format!(
                        "GET /.well-known/listenspec-probe/{nonce} HTTP/1.0\r\nHost: {}\r\n\r\n",
                        url.host_str()
                    ),
                    format!(
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    ),
                )
            }
            _ => (
                format!("listenspec-probe {nonce}\r\n"),
                format!("{ANSWER}{token}\r\n"),
            ),
        };
        let client = if ep.transport().is_stream() {
            stream_client(target).map(Client::Stream)
        } else {
            datagram_client(target, message.as_bytes())
        };
        let (client, outcome) = match client {
            Ok(c) => (c, None),
            Err(e) => (Client::Gone, Some(Outcome::Failed(e))),
        };
        Probe {
            slot,
            ep: index,
            message: message.into_bytes(),
            nonce,
            token,
            answer: answer.into_bytes(),
            client,
            arrived: None,
            outcome,
        }
    }

    /// One non-blocking round of the client's side: connect, write the
    /// message, read what comes back and look for the answer.
    fn step_client(&mut self) {
        let answered = match &mut self.client {
            Client::Stream(c) => c
                .step(&self.message)
                .map(|()| contains(&c.got, &self.token)),
            Client::Udp(u) => Ok(udp_answered(u, &self.token)),
            #[cfg(unix)]
            Client::UnixDatagram => Ok(false),
            Client::Gone => Ok(false),
        };
        match answered {
            Err(e) => self.outcome = Some(Outcome::Failed(e)),
            // The token is sent only where the nonce arrived.
            Ok(true) => self.outcome = self.arrived.as_ref().map(Arrival::reached),
            Ok(false) => {}
        }
    }

    /// The outcome of a probe still open at the deadline.
    fn undecided(&self) -> Outcome {
        match (&self.client, &self.arrived) {
            (Client::Stream(c), _) if !c.connected => Outcome::Failed(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was not accepted within the check's timeout",
            )),
            (_, Some(_)) => Outcome::Unanswered,
            (Client::Stream(_), None) => Outcome::Elsewhere,
            _ => Outcome::Lost,
        }
    }
}

impl StreamClient {
    /// Connects, writes and reads as far as the socket allows now, without
    /// waiting; `Err` is a connection refused, or broken before the
    /// message was sent.
    fn step(&mut self, message: &[u8]) -> io::Result<()> {
        if !self.connected {
            self.connected = self.connect()?;
            if !self.connected {
                return Ok(());
            }
        }
        while self.written < message.len() {
            match (&self.socket).write(&message[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let mut chunk = [0u8; 512];
        while !self.ended && self.got.len() < ANSWER_LIMIT {
            let room = chunk.len().min(ANSWER_LIMIT - self.got.len());
            match (&self.socket).read(&mut chunk[..room]) {
                Ok(0) => self.ended = true,
                Ok(n) => self.got.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Reset after the message went out: what came back counts.
                Err(_) => self.ended = true,
            }
        }
        Ok(())
    }

    /// Whether the connection is made; `Err` when it failed.
    fn connect(&mut self) -> io::Result<bool> {
        if self.call_connect {
            return match self.socket.connect(&self.target) {
                Ok(()) => Ok(true),
                // A Unix socket's backlog is full: try again next round.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && self.target.is_unix() => {
                    Ok(false)
                }
                Err(e) if in_progress(&e) => {
                    self.call_connect = false;
                    Ok(false)
                }
                Err(e) => Err(e),
            };
        }
        // A non-blocking TCP connect ends with its error in SO_ERROR, or
        // with a peer: connect(2) "EINPROGRESS".
        if let Some(e) = self.socket.take_error()? {
            return Err(e);
        }
        match self.socket.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Whether the answer came back to the probe's UDP socket; a bounded
/// number of datagrams is read per round.
fn udp_answered(u: &UdpSocket, token: &str) -> bool {
    let mut buf = [0u8; 512];
    for _ in 0..DATAGRAMS_PER_POLL {
        match u.recv_from(&mut buf) {
            Ok((n, _)) if contains(&buf[..n], token) => return true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    false
}

/// A non-blocking connect under way.
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

/// A non-blocking stream socket for the target, its connect begun on the
/// first round.
fn stream_client(target: &Target) -> io::Result<StreamClient> {
    let (domain, target) = match target {
        Target::Ip(addr) => (socket2::Domain::for_address(*addr), (*addr).into()),
        #[cfg(unix)]
        Target::Unix(path) => (socket2::Domain::UNIX, crate::bind::unix::sock_addr(path)?),
        #[cfg(not(unix))]
        Target::Unix(_) => return Err(io::Error::from(io::ErrorKind::Unsupported)),
    };
    let socket = Socket::new(domain, socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    Ok(StreamClient {
        socket,
        target,
        call_connect: true,
        connected: false,
        written: 0,
        got: Vec::new(),
        ended: false,
    })
}

/// Sends the probe datagram to the target, from a socket the answer can
/// come back to (UDP), or from an unnamed one (Unix).
fn datagram_client(target: &Target, message: &[u8]) -> io::Result<Client> {
    match target {
        Target::Ip(addr) => {
            let local: SocketAddr = match addr {
                SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
                SocketAddr::V6(_) => ([0u16; 8], 0).into(),
            };
            let u = UdpSocket::bind(local)?;
            u.set_nonblocking(true)?;
            u.send_to(message, addr)?;
            Ok(Client::Udp(u))
        }
        #[cfg(unix)]
        Target::Unix(path) => {
            let addr = crate::bind::unix::sock_addr(path)?;
            let s = Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None)?;
            s.send_to(message, &addr)?;
            Ok(Client::UnixDatagram)
        }
        #[cfg(not(unix))]
        Target::Unix(_) => Err(io::Error::from(io::ErrorKind::Unsupported)),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    memchr::memmem::find(haystack, needle.as_bytes()).is_some()
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

/// One round of the endpoint's side for its stream sockets: accepts what
/// waits, reads each open connection once, and answers a nonce on the
/// connection that carried it.
fn serve_stream(ep: &BoundEndpoint, index: usize, conns: &mut Vec<Conn>, probes: &mut [Probe]) {
    if !ep.transport().is_stream() {
        return;
    }
    accept_waiting(ep, conns);
    conns.retain_mut(|conn| {
        if conn.answer.is_none() {
            match read_some(conn) {
                Some(true) => {}
                // Closed, failed or over the limit without a nonce: done.
                Some(false) => return false,
                None => return true,
            }
            let Some(p) = arrive(probes, index, &conn.read, conn.on.clone()) else {
                return conn.read.len() < READ_LIMIT;
            };
            conn.answer = Some((p.answer.clone(), 0));
        }
        // Answered connections stay open until the check ends: closed with
        // bytes still unread, one would be reset, the answer maybe with it.
        if let Some((answer, written)) = &mut conn.answer
            && *written < answer.len()
        {
            match (&conn.socket).write(&answer[*written..]) {
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
            if *written == answer.len() {
                // The end of the answer, for a proxy that waits for it.
                let _ = conn.socket.shutdown(std::net::Shutdown::Write);
            }
        }
        true
    });
}

/// Reads once from a connection: `Some(true)` when bytes came,
/// `Some(false)` when it ended or failed, `None` when nothing is there yet.
fn read_some(conn: &mut Conn) -> Option<bool> {
    let mut chunk = [0u8; 512];
    let room = chunk.len().min(READ_LIMIT - conn.read.len());
    match (&conn.socket).read(&mut chunk[..room]) {
        Ok(0) => Some(false),
        Ok(n) => {
            conn.read.extend_from_slice(&chunk[..n]);
            Some(true)
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(_) => Some(false),
    }
}

/// Accepts every connection waiting on the endpoint's stream sockets; past
/// [`OPEN_LIMIT`] open ones, a connection is closed as it is accepted.
fn accept_waiting(ep: &BoundEndpoint, conns: &mut Vec<Conn>) {
    let mut take = |socket: Socket, on: Arrival| {
        if conns.len() < OPEN_LIMIT && socket.set_nonblocking(true).is_ok() {
            conns.push(Conn {
                socket,
                on,
                read: Vec::new(),
                answer: None,
            });
        }
    };
    for s in ep.sockets() {
        let Listener::Tcp(l) = s.listener() else {
            continue;
        };
        for _ in 0..OPEN_LIMIT {
            let Ok((conn, _)) = l.accept() else { break };
            take(Socket::from(conn), Arrival::Ip(s.local_addr()));
        }
    }
    #[cfg(unix)]
    if let Some(u) = ep.unix()
        && let crate::bind::UnixSocket::Stream(l) = u.socket()
    {
        for _ in 0..OPEN_LIMIT {
            let Ok((conn, _)) = l.accept() else { break };
            take(Socket::from(conn), Arrival::Unix(u.path().clone()));
        }
    }
}

/// The probe of endpoint number `index` whose nonce `data` holds, marked
/// arrived `on` that socket.
fn arrive<'p>(
    probes: &'p mut [Probe],
    index: usize,
    data: &[u8],
    on: Arrival,
) -> Option<&'p mut Probe> {
    let p = probes
        .iter_mut()
        .find(|p| p.ep == index && p.arrived.is_none() && contains(data, &p.nonce))?;
    p.arrived = Some(on);
    Some(p)
}

/// One round of the endpoint's side for its datagram sockets: a datagram
/// with a probe's nonce is answered to the address it came from (UDP); a
/// Unix datagram's sender has no address, so its arrival decides.
fn serve_datagrams(ep: &BoundEndpoint, index: usize, probes: &mut [Probe]) {
    if ep.transport().is_stream() {
        return;
    }
    let mut buf = [0u8; 512];
    for s in ep.sockets() {
        let Listener::Udp(u) = s.listener() else {
            continue;
        };
        for _ in 0..DATAGRAMS_PER_POLL {
            let Ok((n, from)) = u.recv_from(&mut buf) else {
                break;
            };
            if let Some(p) = arrive(probes, index, &buf[..n], Arrival::Ip(s.local_addr())) {
                // Lost on the way back, it is reported as unanswered.
                let _ = u.send_to(&p.answer, from);
            }
        }
    }
    #[cfg(unix)]
    if let Some(u) = ep.unix()
        && let crate::bind::UnixSocket::Datagram(d) = u.socket()
    {
        for _ in 0..DATAGRAMS_PER_POLL {
            let Ok(n) = d.recv(&mut buf) else { break };
            if let Some(p) = arrive(probes, index, &buf[..n], Arrival::Unix(u.path().clone())) {
                p.outcome = p.arrived.as_ref().map(Arrival::reached);
            }
        }
    }
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
