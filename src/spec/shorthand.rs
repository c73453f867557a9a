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

use url::Url;

use crate::spec::error::Located;
use crate::spec::{
    Endpoint, Exposure, ListenSpec, Name, Network, Ports, Protocol, Selector, SpecError,
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
    let (protocol, host, port) = match text.split_once("://") {
        Some(_) => from_url(text)?,
        None => from_socket_addr(text)?,
    };
    Some(build(text, protocol, &host, &port))
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
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
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

/// The spec, or the parser's own errors for the address or port, pointed at
/// what was written.
fn build(text: &str, protocol: Protocol, host: &str, port: &str) -> Result<ListenSpec, SpecError> {
    let located = |kind| {
        SpecError::new(
            vec![Located {
                line: Some(1),
                statement: Some(text.to_owned()),
                layer: None,
                kind,
            }],
            &[],
        )
    };
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
