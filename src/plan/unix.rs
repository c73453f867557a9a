//! Unix sockets in a plan: the path each endpoint binds, and what clients
//! are told.

use url::Url;

use crate::host::Host;
use crate::plan::{Advertised, ProblemKind, Source};
use crate::spec::{Account, Advertise, Endpoint, Protocol, UnixPath};

/// The one Unix socket an endpoint on a `unix` network will have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixBind {
    path: UnixPath,
    owner: Option<u32>,
    group: Option<u32>,
}

impl UnixBind {
    /// The path to bind (absolute), or the abstract name.
    pub fn path(&self) -> &UnixPath {
        &self.path
    }
    /// The user id the socket file is given to (`owner=`), if any.
    pub fn owner(&self) -> Option<u32> {
        self.owner
    }
    /// The group id the socket file is given to (`group=`), if any.
    pub fn group(&self) -> Option<u32> {
        self.group
    }
}

/// Plans an endpoint's Unix socket against the host.
pub(crate) fn bind(
    e: &Endpoint,
    path: &UnixPath,
    _host: &Host,
    _report: &mut impl FnMut(ProblemKind),
) -> UnixBind {
    let id = |a: &Option<Account>| match a {
        Some(Account::Id(id)) => Some(*id),
        _ => None,
    };
    UnixBind {
        path: path.clone(),
        owner: id(&e.options().owner),
        group: id(&e.options().group),
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
        url,
        port_from_bind: false,
        source,
    }
}

/// `unix:/run/app.sock`, `unixgram:/run/app.sock`, or for HTTP the
/// `http+unix://` form (the path percent-encoded as the host) that
/// requests-unixsocket, hyperlocal and others read.
fn derived(protocol: Protocol, path: &UnixPath) -> Url {
    let text = path.to_string();
    let url = match protocol {
        Protocol::Http | Protocol::Https => {
            let host: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
            format!("{}+unix://{host}/", protocol.scheme())
        }
        _ => format!("{}:{text}", protocol.scheme()),
    };
    // Paths hold no whitespace or control characters (the spec refuses
    // them), and both forms parse for any other text.
    Url::parse(&url).expect("a Unix socket's URL parses")
}
