//! Advertised URLs, read the way clients read them where it decides where
//! they connect.
//!
//! The host is read by the WHATWG URL Standard's rules for `http://`,
//! whatever the scheme, since those are the rules under which spellings
//! like `0x7f.1`, `0` or `[::ffff:0:0]` mean an address. A host that needs
//! more than those rules (percent-escapes, non-ASCII names) is refused
//! rather than guessed: a client would be told a name it could not look
//! up, or an address other than the one written.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// The host of an advertised URL or value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlHost {
    /// An IP address, however it was spelt: `0x7f.1` is `127.0.0.1`.
    Ip(IpAddr),
    /// A DNS name, in ASCII and lowercase.
    Name(String),
}

impl fmt::Display for UrlHost {
    /// As a URL holds it: an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlHost::Ip(IpAddr::V6(a)) => write!(f, "[{}]", Ipv6Text(*a)),
            UrlHost::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            UrlHost::Name(n) => f.write_str(n),
        }
    }
}

/// An IPv6 address as the URL Standard writes it: like std, but an
/// IPv4-mapped address in hexadecimal too (`::ffff:7f00:1`), so that a
/// URL reads back as itself in every reader.
struct Ipv6Text(Ipv6Addr);

impl fmt::Display for Ipv6Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pieces = self.0.segments();
        // The first longest run of two or more zero pieces becomes `::`.
        let (mut best, mut run) = ((0, 0), (0, 0));
        for (i, &p) in pieces.iter().enumerate() {
            run = if p == 0 {
                (run.0, i + 1)
            } else {
                (i + 1, i + 1)
            };
            if run.1 - run.0 > best.1 - best.0 {
                best = run;
            }
        }
        let (skip_from, skip_to) = if best.1 - best.0 >= 2 { best } else { (9, 9) };
        let mut i = 0;
        while i < 8 {
            if i == skip_from {
                f.write_str(if i == 0 { "::" } else { ":" })?;
                i = skip_to;
                continue;
            }
            write!(f, "{:x}", pieces[i])?;
            if i < 7 {
                f.write_str(":")?;
            }
            i += 1;
        }
        Ok(())
    }
}

/// An advertised URL: what clients of an endpoint are told to use.
///
/// Only the planner and [`Advertise`](super::Advertise)'s parser make one,
/// so each has a host that is an address or a DNS name clients can look
/// up, never a wildcard (in any spelling), or a Unix socket's path. Its
/// text is canonical: the scheme and name lowercase, an address in its
/// usual form, a scheme's default port left out, and characters a URL
/// cannot hold percent-encoded. Hand it to the `url` crate or any other
/// reader with [`Url::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    text: String,
    /// `text[..scheme]` is the scheme.
    scheme: usize,
    /// `None` for `unix:PATH`, and for the opaque host of `http+unix://`.
    host: Option<UrlHost>,
    /// The host as `text` holds it; empty without one.
    host_text: Range<usize>,
    /// Written, and not the scheme's default.
    port: Option<u16>,
    /// `text[path..]` is the path and query.
    path: usize,
}

/// Why text is not a URL (or a host and port) that clients can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// No scheme, or not one followed by `//` and a host.
    Scheme,
    /// The port is not a number up to 65535.
    Port,
    /// A host that ends in a number, as an IPv4 address does, but is none.
    Ipv4,
    /// What is in `[ ]` is not an IPv6 address.
    Ipv6,
    /// A name with non-ASCII letters.
    NonAscii,
    /// A backslash, which URL readers disagree on.
    Backslash,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => {
                "a URL is SCHEME://HOST[:PORT][/PATH], its scheme letters, digits, '+', '-' or '.' (https://svc.example)"
            }
            UrlError::Port => "the port is not a number from 1 to 65535",
            UrlError::Ipv4 => {
                "a host that ends in a number is an IPv4 address to clients, and this is none (write four numbers 0-255, like 203.0.113.7)"
            }
            UrlError::Ipv6 => "the address in [ ] is not an IPv6 address",
            UrlError::NonAscii => {
                "write an international name in its ASCII form (xn--..., as `idn2 NAME` prints it), the one clients look up"
            }
            UrlError::Backslash => {
                "'\\' is not allowed: some URL readers take it for '/', others do not"
            }
        })
    }
}

impl std::error::Error for UrlError {}

/// Where a host's text came from, as the parts of a URL are read.
#[derive(Debug)]
pub(crate) enum RawHost<'a> {
    /// Read by the `http://` rules.
    Host(UrlHost),
    /// Empty: no host written (`tcp://:9092`, `unix:///a.sock`).
    Empty,
    /// Kept as written: the percent-encoded path of `http+unix://`.
    Opaque(&'a str),
}

/// The parts of `SCHEME://HOST[:PORT][PATH]` or `SCHEME:PATH`, with no
/// judgement on what the host is.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    /// Lowercase; borrowed unless the text had capitals.
    pub(crate) scheme: Cow<'a, str>,
    pub(crate) host: RawHost<'a>,
    pub(crate) port: Option<u16>,
    /// Path and query, as written.
    pub(crate) rest: &'a str,
    /// `SCHEME:PATH`, with no `//`.
    pub(crate) no_authority: bool,
    /// A user or password was written before the host.
    pub(crate) userinfo: bool,
}

/// The first URL of a list of them (Kafka's
/// `PLAINTEXT://kafka1:9092,SSL://kafka1:9093`): what comes after a comma
/// is another URL, not a query's value (`?q=1,2`).
pub(crate) fn first_of_list(text: &str) -> Option<&str> {
    text.split_once(',')
        .filter(|(_, rest)| rest.contains("://"))
        .map(|(first, _)| first)
}

/// The schemes whose default port a URL leaves out, as the URL Standard
/// lists them (`file` has none and no port).
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

fn is_special(scheme: &str) -> bool {
    default_port(scheme).is_some() || scheme == "file"
}

/// Whether `scheme` names a Unix socket (`unix`, `unixgram`, `http+unix`).
pub(crate) fn is_unix_scheme(scheme: &str) -> bool {
    matches!(scheme, "unix" | "unixgram") || scheme.ends_with("+unix")
}

impl<'a> Parts<'a> {
    /// Reads `text` as a URL.
    pub(crate) fn url(text: &'a str) -> Result<Parts<'a>, UrlError> {
        if text.contains('\\') {
            return Err(UrlError::Backslash);
        }
        let (scheme, rest) = text.split_once(':').ok_or(UrlError::Scheme)?;
        let mut chars = scheme.bytes();
        let scheme_ok = chars.next().is_some_and(|b| b.is_ascii_alphabetic())
            && chars.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(UrlError::Scheme);
        }
        let scheme = if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(scheme.to_ascii_lowercase())
        } else {
            Cow::Borrowed(scheme)
        };
        let Some(after) = rest.strip_prefix("//") else {
            // Only a Unix socket's URL is a path alone.
            if !is_unix_scheme(&scheme) || scheme.ends_with("+unix") {
                return Err(UrlError::Scheme);
            }
            return Ok(Parts {
                scheme,
                host: RawHost::Empty,
                port: None,
                rest,
                no_authority: true,
                userinfo: false,
            });
        };
        let (userinfo, authority, rest) = authority(after);
        let (host, port) = host_port(authority, scheme.ends_with("+unix"))?;
        Ok(Parts {
            scheme,
            host,
            port,
            rest,
            no_authority: false,
            userinfo,
        })
    }

    /// Reads `text` as `HOST[:PORT]`, the way `http://` reads it.
    pub(crate) fn host(text: &'a str) -> Result<Parts<'a>, UrlError> {
        if text.contains('\\') {
            return Err(UrlError::Backslash);
        }
        let (userinfo, authority, rest) = authority(text);
        let (host, port) = host_port(authority, false)?;
        Ok(Parts {
            scheme: Cow::Borrowed(""),
            host,
            port,
            rest,
            no_authority: false,
            userinfo,
        })
    }
}

/// Splits `text` at the end of its authority (`/`, `?` or the end), and
/// the authority after a user or password, if one was written.
fn authority(text: &str) -> (bool, &str, &str) {
    let end = text.find(['/', '?']).unwrap_or(text.len());
    let (authority, rest) = text.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => (true, host, rest),
        None => (false, authority, rest),
    }
}

/// Splits an authority into its host and port. A user or password is
/// kept in the host, for the caller to refuse.
fn host_port(authority: &str, opaque: bool) -> Result<(RawHost<'_>, Option<u16>), UrlError> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or(UrlError::Ipv6)?;
            let addr: Ipv6Addr = addr.parse().map_err(|_| UrlError::Ipv6)?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(UrlError::Port)?),
            };
            (RawHost::Host(UrlHost::Ip(IpAddr::V6(addr))), port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let host = if host.is_empty() {
                RawHost::Empty
            } else if opaque {
                RawHost::Opaque(host)
            } else {
                RawHost::Host(read_host(host)?)
            };
            (host, port)
        }
    };
    let port = port
        .map(|p| {
            let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            // Leading zeros are allowed, as the URL Standard allows them.
            match p.trim_start_matches('0') {
                _ if !digits => Err(UrlError::Port),
                "" => Ok(0),
                p => p.parse::<u16>().map_err(|_| UrlError::Port),
            }
        })
        .transpose()?;
    Ok((host, port))
}

/// A host the way `http://` reads it: lowercase, and a name that ends in
/// a number is an IPv4 address in the URL Standard's spellings (`0x7f.1`,
/// `2130706433`, `017.0.0.1`). A name is left for the caller to check.
fn read_host(host: &str) -> Result<UrlHost, UrlError> {
    if !host.is_ascii() {
        return Err(UrlError::NonAscii);
    }
    let host = host.to_ascii_lowercase();
    if ends_in_number(&host) {
        return ipv4(&host)
            .map(|a| UrlHost::Ip(IpAddr::V4(a)))
            .ok_or(UrlError::Ipv4);
    }
    Ok(UrlHost::Name(host))
}

/// The URL Standard's "ends in a number": the last label (past one
/// trailing dot) is decimal digits or `0x` and hexadecimal.
fn ends_in_number(host: &str) -> bool {
    let host = host
        .strip_suffix('.')
        .filter(|h| !h.is_empty())
        .unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The URL Standard's IPv4 parser: up to four parts, each decimal, `0x`
/// hexadecimal or `0` octal, the last filling the bytes left.
fn ipv4(host: &str) -> Option<Ipv4Addr> {
    let host = host
        .strip_suffix('.')
        .filter(|h| !h.is_empty())
        .unwrap_or(host);
    // Five are enough to refuse: a host of a million dots is not listed.
    let parts: Vec<&str> = host.split('.').take(5).collect();
    if parts.len() > 4 {
        return None;
    }
    let numbers = parts
        .iter()
        .map(|p| ipv4_number(p))
        .collect::<Option<Vec<u64>>>()?;
    let (last, first) = numbers.split_last()?;
    if first.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut addr = *last;
    for (i, n) in first.iter().enumerate() {
        addr += n << (8 * (3 - i));
    }
    u32::try_from(addr).ok().map(Ipv4Addr::from)
}

fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) = match part.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None if part.len() > 1 && part.starts_with('0') => (&part[1..], 8),
        None => (part, 10),
    };
    if digits.is_empty() {
        return Some(0);
    }
    // Past 2^32 every value is refused alike; saturating keeps it past.
    digits.chars().try_fold(0u64, |n, c| {
        let d = c.to_digit(radix)?;
        Some(n.saturating_mul(radix.into()).saturating_add(d.into()))
    })
}

/// Writes `s` with every byte outside printable ASCII, and those of
/// `also`, percent-encoded, as a URL holds them.
fn encode(out: &mut String, s: &str, also: &[u8]) {
    for &b in s.as_bytes() {
        if b.is_ascii_graphic() && !also.contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

impl Url {
    /// The URL of `parts`, whose host the caller has judged.
    pub(crate) fn from_parts(parts: &Parts<'_>) -> Url {
        // Room for the longest host and port up front: a plan makes a URL
        // per endpoint, and growing the text would allocate several times.
        let room = parts.scheme.len() + 56 + parts.rest.len();
        let mut text = String::with_capacity(room);
        text.push_str(&parts.scheme);
        let scheme = text.len();
        text.push(':');
        let (host, host_text);
        if parts.no_authority {
            host = None;
            host_text = text.len()..text.len();
        } else {
            text.push_str("//");
            let start = text.len();
            host = match &parts.host {
                RawHost::Host(h) => {
                    // Writing to a String cannot fail.
                    let _ = write!(text, "{h}");
                    Some(h.clone())
                }
                RawHost::Empty => None,
                RawHost::Opaque(o) => {
                    encode(&mut text, o, b"");
                    None
                }
            };
            host_text = start..text.len();
        }
        let port = parts
            .port
            .filter(|&p| Some(p) != default_port(&parts.scheme));
        if let Some(p) = port {
            let _ = write!(text, ":{p}");
        }
        let path = text.len();
        let (path_part, query) = match parts.rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (parts.rest, None),
        };
        if path_part.is_empty() && is_special(&parts.scheme) {
            text.push('/');
        }
        encode(&mut text, path_part, b"\"<>`{}");
        if let Some(q) = query {
            text.push('?');
            let also: &[u8] = if is_special(&parts.scheme) {
                b"\"<>'"
            } else {
                b"\"<>"
            };
            encode(&mut text, q, also);
        }
        Url {
            text,
            scheme,
            host,
            host_text,
            port,
            path,
        }
    }

    /// `SCHEME://HOST[:PORT]`, with the path `/` where the scheme has one.
    pub(crate) fn new(scheme: &str, host: UrlHost, port: Option<u16>) -> Url {
        Url::from_parts(&Parts {
            scheme: Cow::Borrowed(scheme),
            host: RawHost::Host(host),
            port,
            rest: "",
            no_authority: false,
            userinfo: false,
        })
    }

    /// A Unix socket's URL: `SCHEME:PATH`, or for `http+unix` and the
    /// like `SCHEME://HOST/` with the path as its host. `encoded` holds
    /// nothing a URL would rewrite.
    pub(crate) fn unix(scheme: &str, encoded: &str) -> Url {
        let in_host = scheme.ends_with("+unix");
        Url::from_parts(&Parts {
            scheme: Cow::Borrowed(scheme),
            host: RawHost::Opaque(encoded),
            port: None,
            rest: if in_host { "/" } else { encoded },
            no_authority: !in_host,
            userinfo: false,
        })
    }

    /// This URL on `port` instead of its own.
    pub(crate) fn with_port(&self, port: u16) -> Url {
        Url::from_parts(&Parts {
            scheme: Cow::Borrowed(self.scheme()),
            host: match &self.host {
                Some(h) => RawHost::Host(h.clone()),
                None => RawHost::Opaque(self.host_str()),
            },
            port: Some(port),
            rest: &self.text[self.path..],
            no_authority: false,
            userinfo: false,
        })
    }

    /// The whole URL.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme, lowercase: `https`, `tcp`, `unix`, `http+unix`.
    pub fn scheme(&self) -> &str {
        &self.text[..self.scheme]
    }

    /// The host: `None` for a Unix socket's URL.
    pub fn host(&self) -> Option<&UrlHost> {
        self.host.as_ref()
    }

    /// The host as the URL holds it (an IPv6 address in brackets), the
    /// percent-encoded path of `http+unix://`, or empty.
    pub(crate) fn host_str(&self) -> &str {
        &self.text[self.host_text.clone()]
    }

    /// The port clients connect to: the one written, or the scheme's
    /// default (80 for `http`, 443 for `https`). `None` when neither is
    /// known, and for a Unix socket.
    pub fn port(&self) -> Option<u16> {
        self.port.or_else(|| default_port(self.scheme()))
    }

    /// The port written in the URL, unless it is the scheme's default.
    pub(crate) fn written_port(&self) -> Option<u16> {
        self.port
    }

    /// The path, without the query: `/` for `https://svc.example`, the
    /// socket's path for `unix:PATH`.
    pub fn path(&self) -> &str {
        let rest = &self.text[self.path..];
        rest.split_once('?').map_or(rest, |(p, _)| p)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_spellings_read_as_the_url_standard_reads_them() {
        for (host, want) in [
            ("0", Some("0.0.0.0")),
            ("0x0", Some("0.0.0.0")),
            ("0.0", Some("0.0.0.0")),
            ("0x7f.1", Some("127.0.0.1")),
            ("017.0.0.1", Some("15.0.0.1")),
            ("2130706433", Some("127.0.0.1")),
            ("1.2.3.4.", Some("1.2.3.4")),
            ("1.65536", Some("1.1.0.0")),
            ("1.2.256", Some("1.2.1.0")),
            ("1.16777215", Some("1.255.255.255")),
            ("1.16777216", None),
            ("1.2.65536", None),
            ("0x", Some("0.0.0.0")),
            ("1.2.3.4.5", None),
            ("256.0.0.1", None),
            ("1.2.3.256", None),
            ("08.1.1.1", None),
            ("4294967296", None),
            ("99999999999999999999999", None),
        ] {
            assert!(ends_in_number(host), "{host}");
            assert_eq!(ipv4(host).map(|a| a.to_string()).as_deref(), want, "{host}");
            let theirs = ::url::Url::parse(&format!("http://{host}/")).ok();
            let theirs = theirs.as_ref().and_then(|u| u.host_str());
            assert_eq!(theirs, want, "{host}: the url crate reads it so");
        }
        for name in ["svc", "0x1g", "1.2.3.x", "a.0x1g", "."] {
            assert!(!ends_in_number(name), "{name}");
        }
    }

    #[test]
    fn ipv6_is_written_as_the_url_standard_writes_it() {
        for (addr, want) in [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8::1", "2001:db8::1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("::ffff:127.0.0.1", "::ffff:7f00:1"),
            ("fe80:0:0:0:1::", "fe80::1:0:0:0"),
        ] {
            let addr: Ipv6Addr = addr.parse().unwrap();
            assert_eq!(Ipv6Text(addr).to_string(), want);
        }
    }

    fn url(text: &str) -> Result<String, UrlError> {
        Parts::url(text).map(|p| Url::from_parts(&p).as_str().to_owned())
    }

    /// The canonical text: what the `url` crate writes for the same input,
    /// for the forms a spec holds.
    #[test]
    fn a_url_is_written_canonically() {
        for (text, want) in [
            ("HTTP://Svc.Example", "http://svc.example/"),
            ("http://svc:80", "http://svc/"),
            ("ws://svc:80", "ws://svc/"),
            ("wss://svc:443/a", "wss://svc/a"),
            ("ftp://svc:21/f", "ftp://svc/f"),
            ("ftp://svc:80/f", "ftp://svc:80/f"),
            ("https://svc:0443/a/b?x=1&y", "https://svc/a/b?x=1&y"),
            ("tcp://svc", "tcp://svc"),
            ("tcp://svc:80", "tcp://svc:80"),
            ("tcp://svc:65535", "tcp://svc:65535"),
            ("tcp://svc:0000065535", "tcp://svc:65535"),
            ("grpc://svc:9/", "grpc://svc:9/"),
            ("http://svc/a\"b<c>`{}", "http://svc/a%22b%3Cc%3E%60%7B%7D"),
            ("http://svc/é?é'", "http://svc/%C3%A9?%C3%A9%27"),
            ("tcp://svc/?'", "tcp://svc/?'"),
            ("http://svc?q", "http://svc/?q"),
            ("unix:/run/a.sock", "unix:/run/a.sock"),
            ("unix:///run/a.sock", "unix:///run/a.sock"),
            (
                "http+unix://%2Frun%2Fa.sock/x",
                "http+unix://%2Frun%2Fa.sock/x",
            ),
        ] {
            assert_eq!(url(text).as_deref(), Ok(want), "{text}");
            assert_eq!(::url::Url::parse(text).unwrap().as_str(), want, "{text}");
        }
    }

    #[test]
    fn a_url_that_clients_would_read_otherwise_is_refused() {
        for (text, want) in [
            ("svc.example", UrlError::Scheme),
            ("1http://svc", UrlError::Scheme),
            ("tcp:svc:80", UrlError::Scheme),
            ("http+unix:/run/a.sock", UrlError::Scheme),
            ("http://svc:", UrlError::Port),
            ("http://svc:65536", UrlError::Port),
            ("http://svc:99999999999999999999", UrlError::Port),
            ("http://svc:8o", UrlError::Port),
            ("http://svc:-1", UrlError::Port),
            ("http://[::1]x", UrlError::Port),
            ("http://[::1", UrlError::Ipv6),
            ("http://[1.2.3.4]", UrlError::Ipv6),
            ("http://[fe80::1%25eth0]", UrlError::Ipv6),
            ("http://1.2.3.256", UrlError::Ipv4),
            ("http://bücher.example", UrlError::NonAscii),
            ("http://svc\\a", UrlError::Backslash),
        ] {
            assert_eq!(url(text), Err(want), "{text}");
        }
        assert_eq!(url("http://svc:000080").as_deref(), Ok("http://svc/"));
    }

    #[test]
    fn with_port_replaces_only_the_port() {
        let u = Url::from_parts(&Parts::url("https://svc:8443/a?b").unwrap());
        assert_eq!(u.with_port(443).as_str(), "https://svc/a?b");
        assert_eq!(u.with_port(9).as_str(), "https://svc:9/a?b");
        assert_eq!(u.with_port(9).port(), Some(9));
        let u = Url::new("tcp", UrlHost::Ip("2001:db8::1".parse().unwrap()), None);
        assert_eq!((u.as_str(), u.port()), ("tcp://[2001:db8::1]", None));
        assert_eq!(u.with_port(7).as_str(), "tcp://[2001:db8::1]:7");
    }
}
