//! One address as a whole spec: what a `listen: SocketAddr` field or a
//! `--listen 0.0.0.0:8080` flag held before it became a [`ListenSpec`], so
//! that changing the field's type breaks no user's config.
//!
//! `ADDRESS:PORT` (`0.0.0.0:8080`, `[::1]:9000`, `[fe80::1%eth0]:80`) and
//! `SCHEME://HOST[:PORT]` (`http://0.0.0.0:8080`, `https://[::]:8443`,
//! `http://localhost:3000`) become one network, [`NETWORK`], holding that
//! address (a host name becomes `dns:NAME`) with `expose=public`, since the
//! address is exactly what was written; and one endpoint on it named after
//! the protocol (`tcp` for a bare address, else the scheme).
//!
//! A Unix socket is one too: a path or abstract name (`/run/app.sock`,
//! `./app.sock`, `@app`), `unix:PATH` or `unixgram:PATH`, and the URLs
//! clients write for one (`unix:///run/app.sock`,
//! `http+unix://%2Frun%2Fapp.sock`, the path percent-encoded) become the
//! network `listen = unix` and one endpoint on it, `listen.unix =
//! unix:PATH` (`listen.unixgram`, `listen.http`, `listen.https` as the
//! protocol says). `unix:PATH` is read as the URL the planner advertises,
//! percent-decoded like the other URL forms (`unix:/run/a%25b.sock` is
//! `/run/a%b.sock`), so an advertised URL given back names its own socket.
//!
//! ```
//! use listenspec::ListenSpec;
//!
//! let spec: ListenSpec = "/run/app.sock".parse()?;
//! assert_eq!(spec.to_string(), "listen = unix\nlisten.unix = unix:/run/app.sock\n");
//! let spec: ListenSpec = "http+unix://%2Frun%2Fapp%2Fapi.sock".parse()?;
//! assert_eq!(spec.to_string(), "listen = unix\nlisten.http = http:/run/app/api.sock\n");
//! # Ok::<(), listenspec::SpecError>(())
//! ```

use url::Url;

use crate::spec::error::Located;
use crate::spec::{
    Endpoint, Exposure, ListenSpec, Name, Network, Ports, Protocol, Selector, SpecError,
    SpecErrorKind, UnixPath, percent_decode,
};

/// The network a one-address spec defines.
pub const NETWORK: &str = "listen";

/// The spec `input` stands for, if it is one address; `None` when it is
/// not shaped like one, so the full grammar reads it.
pub(crate) fn shorthand(input: &str) -> Option<Result<ListenSpec, SpecError>> {
    let text = input.trim_ascii();
    if text.is_empty()
        || text
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b"=;#".contains(&b))
    {
        return None;
    }
    if let Some((protocol, path)) = unix_url(text) {
        return Some(build_unix(text, protocol, &path));
    }
    if UnixPath::looks_like(text) {
        return Some(build_unix(text, Protocol::Unix, text));
    }
    // `unix:PATH` is also the URL the planner advertises, with every byte
    // a URL cannot hold percent-encoded, so it is read back decoded: a
    // path the doctor printed names the same socket here.
    if let Some((scheme, path)) = text.split_once(':')
        && let Ok(protocol @ (Protocol::Unix | Protocol::Unixgram)) = scheme.parse()
        && !path.starts_with("//")
    {
        return Some(build_unix(text, protocol, &decoded(path)?));
    }
    let (protocol, host, port) = match text.split_once("://") {
        Some(_) => from_url(text)?,
        None => from_socket_addr(text)?,
    };
    Some(build(text, protocol, &host, &port))
}

/// A Unix socket's URL as its clients write one, as its protocol and
/// path: `unix:///run/app.sock` and `unixgram:///…` (gRPC's and Docker's
/// spelling, an absolute path after `//`), `http+unix://%2Frun%2Fapp.sock/`
/// and `https+unix://…` (requests-unixsocket's and hyperlocal's, the path
/// percent-encoded as the host, as the planner advertises it). The path is
/// percent-decoded; `None` for a bad escape, or a path that is not UTF-8,
/// which no spec can hold.
pub(crate) fn unix_url(text: &str) -> Option<(Protocol, String)> {
    let (scheme, rest) = text.split_once("://")?;
    match scheme {
        "unix" | "unixgram" => {
            let protocol = scheme.parse().ok()?;
            if !rest.starts_with('/') {
                return None;
            }
            Some((protocol, decoded(rest)?))
        }
        "http+unix" | "https+unix" => {
            let protocol = scheme.trim_end_matches("+unix").parse().ok()?;
            let host = rest.strip_suffix('/').unwrap_or(rest);
            if host.is_empty() || host.contains(['/', '?', '#']) {
                return None;
            }
            Some((protocol, decoded(host)?))
        }
        _ => None,
    }
}

/// `%2F` and the like to their bytes; `None` for a `%` without two hex
/// digits after it, or bytes that are not UTF-8.
fn decoded(text: &str) -> Option<String> {
    String::from_utf8(percent_decode(text)?).ok()
}

/// `ADDRESS:PORT`, with brackets (and maybe a zone) around IPv6.
fn from_socket_addr(text: &str) -> Option<(Protocol, String, String)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':')?)
        }
        None => {
            let (host, port) = text.rsplit_once(':')?;
            // An IPv4 address: IPv6 needs its brackets before a port.
            host.parse::<std::net::Ipv4Addr>().ok()?;
            (host, port)
        }
    };
    port.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| (Protocol::Tcp, host.to_owned(), port.to_owned()))
}

/// `SCHEME://HOST[:PORT][/]` for the endpoint schemes.
fn from_url(text: &str) -> Option<(Protocol, String, String)> {
    let url = Url::parse(text).ok()?;
    let protocol = match url.scheme() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "http" => Protocol::Http,
        "https" => Protocol::Https,
        _ => return None,
    };
    // No fragment to refuse: `#` starts a comment, so text with one never
    // reaches here.
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return None;
    }
    // tcp:// and udp:// hosts are opaque to the URL parser; read them the
    // http:// way, as an advertised host is.
    let reread = (!url.is_special())
        .then(|| Url::parse(&format!("http://{}", url.host_str()?)).ok())
        .flatten();
    let host = match reread.as_ref().unwrap_or(&url).host()? {
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
        url::Host::Domain(d) => format!("dns:{d}"),
    };
    // The URL parser leaves out a port that is its scheme's default.
    let port = url.port().or(match protocol {
        Protocol::Http => Some(80),
        Protocol::Https => Some(443),
        _ => None,
    })?;
    Some((protocol, host, port.to_string()))
}

/// An error of the one line `text`.
fn located(text: &str, kind: SpecErrorKind) -> SpecError {
    SpecError::new(
        vec![Located {
            line: Some(1),
            statement: Some(text.to_owned()),
            layer: None,
            kind,
        }],
        &[],
    )
}

/// The spec of one Unix socket, or the parser's error for its path.
fn build_unix(text: &str, protocol: Protocol, path: &str) -> Result<ListenSpec, SpecError> {
    let located = |kind| located(text, kind);
    let path: UnixPath = path.parse().map_err(located)?;
    let network: Name = NETWORK.parse().map_err(located)?;
    let endpoint: Name = protocol.to_string().parse().map_err(located)?;
    ListenSpec::new(
        vec![Network::new(network.clone()).with_include(Selector::Unix)],
        vec![Endpoint::unix(network, endpoint, protocol, path)],
    )
}

/// The spec, or the parser's own errors for the address or port, pointed at
/// what was written.
fn build(text: &str, protocol: Protocol, host: &str, port: &str) -> Result<ListenSpec, SpecError> {
    let located = |kind| located(text, kind);
    let selector: Selector = host.parse().map_err(located)?;
    let ports: Ports = port.parse().map_err(located)?;
    let network: Name = NETWORK.parse().map_err(located)?;
    let endpoint: Name = protocol.to_string().parse().map_err(located)?;
    let net = Network::new(network.clone())
        .with_include(selector)
        .with_expose(Exposure::Public);
    ListenSpec::new(
        vec![net],
        vec![Endpoint::new(network, endpoint, protocol, ports)],
    )
}
