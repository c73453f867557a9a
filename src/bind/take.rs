//! Handing an endpoint's sockets to a server: one generic call,
//! [`Bound::take`], and one [`FromEndpoint`] impl per type a server can
//! use, so a new kind of socket or runtime adds an impl, not methods.

use std::net::{TcpListener, UdpSocket};

use super::{Bound, BoundEndpoint, Listener, TakeError};
use crate::spec::Transport;

/// What an endpoint's sockets can become: the std and tokio socket types,
/// and with `tokio` the listeners servers take
/// ([`EndpointListener`](crate::serve::EndpointListener),
/// [`UnixEndpointListener`](crate::serve::UnixEndpointListener),
/// [`AnyListener`](crate::serve::AnyListener)).
///
/// | type | endpoint | feature |
/// |---|---|---|
/// | [`BoundEndpoint`] | any, to look at before converting | |
/// | `Vec<std::net::TcpListener>` | `tcp`, `http`, ... | |
/// | `Vec<std::net::UdpSocket>` | `udp` | |
/// | [`WithFile`](super::WithFile)`<std::os::unix::net::UnixListener>` | Unix stream | |
/// | [`WithFile`](super::WithFile)`<std::os::unix::net::UnixDatagram>` | `unixgram` | |
/// | `Vec<tokio::net::TcpListener>`, `Vec<tokio::net::UdpSocket>` | as std | `tokio` |
/// | `WithFile<tokio::net::UnixListener>`, `WithFile<tokio::net::UnixDatagram>` | as std | `tokio` |
/// | [`EndpointListener`](crate::serve::EndpointListener) | TCP | `tokio` |
/// | [`UnixEndpointListener`](crate::serve::UnixEndpointListener) | Unix stream | `tokio` |
/// | [`AnyListener`](crate::serve::AnyListener) | TCP or Unix stream | `tokio` |
///
/// An endpoint has one socket per address, so the IP types come as a
/// `Vec`. The tokio types are made non-blocking and registered with the
/// runtime the call runs in; outside one, taking them is
/// [`TakeError::NoRuntime`], and the endpoint stays in [`Bound`].
///
/// A type of one's own (another runtime's listener, say) implements
/// `check` and `from_endpoint` from the std types' impls.
#[diagnostic::on_unimplemented(
    message = "an endpoint's sockets cannot be taken as `{Self}`",
    label = "not a type `Bound::take` hands out",
    note = "an endpoint has one socket per address, so the IP types come as a `Vec` (`Vec<std::net::TcpListener>`)",
    note = "tokio's types and the listeners of `listenspec::serve` need listenspec's `tokio` feature; the table on `FromEndpoint` lists every type"
)]
pub trait FromEndpoint: Sized {
    /// Whether `endpoint` can become `Self`. [`Bound::take`] asks before
    /// it moves the endpoint out, so an endpoint refused here stays.
    fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError>;
    /// Converts the endpoint; called only after `check` passed.
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError>;
}

impl Bound {
    /// Moves the endpoint `network.name` out as the type the server uses:
    /// see [`FromEndpoint`] for the types. Each endpoint is handed out once.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpListener;
    ///
    /// let spec: listenspec::ListenSpec = "local = loopback expose=local\nlocal.web = http:0".parse()?;
    /// let mut bound = listenspec::bind_all(&spec)?;
    /// let listeners: Vec<TcpListener> = bound.take("local", "web")?;
    /// let mut client = std::net::TcpStream::connect(listeners[0].local_addr()?)?;
    /// client.write_all(b"hi")?;
    /// let (mut conn, _) = listeners[0].accept()?;
    /// let mut buf = [0; 2];
    /// conn.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hi");
    ///
    /// let again = bound.take::<Vec<TcpListener>>("local", "web").unwrap_err();
    /// assert_eq!(again.to_string(), "endpoint local.web was taken already: each endpoint's sockets are handed out once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Taking a [`BoundEndpoint`] first shows what was bound (its
    /// addresses, the URL clients use) before converting it:
    ///
    /// ```
    /// use listenspec::bind::{BoundEndpoint, FromEndpoint};
    ///
    /// let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local\nlocal.dns = udp:0".parse()?;
    /// let mut bound = listenspec::bind_all(&spec)?;
    /// let dns: BoundEndpoint = bound.take("local", "dns")?;
    /// println!("DNS on {:?}", dns.local_addrs());
    /// let sockets = Vec::<std::net::UdpSocket>::from_endpoint(dns)?;
    /// assert_eq!(sockets.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take<T: FromEndpoint>(&mut self, network: &str, name: &str) -> Result<T, TakeError> {
        let Some(i) = self.position(network, name) else {
            let named =
                |q: &&crate::spec::QualifiedName| q.network() == network && q.endpoint() == name;
            return Err(match self.taken.iter().find(named) {
                Some(q) => TakeError::Taken {
                    endpoint: q.clone(),
                },
                None => TakeError::NotFound {
                    network: network.to_owned(),
                    name: name.to_owned(),
                    endpoints: self.names(),
                },
            });
        };
        T::check(&self.endpoints[i])?;
        T::from_endpoint(self.take_at(i))
    }

    /// `Ok` once every endpoint was taken; else [`TakeError::NotTaken`],
    /// which names the endpoints left. Their sockets are bound and nothing
    /// serves them, so a client that connects waits in the backlog: call
    /// this after taking what the server serves, before serving, so that a
    /// spec with an endpoint the server does not know (a one-address
    /// `--listen` over a config file adds one) fails at start-up.
    ///
    /// ```
    /// let spec: listenspec::ListenSpec =
    ///     "local = 127.0.0.1 expose=local\nlocal.web = http:0\nlocal.extra = http:0".parse()?;
    /// let mut bound = listenspec::bind_all(&spec)?;
    /// let web: Vec<std::net::TcpListener> = bound.take("local", "web")?;
    /// let err = bound.check_all_taken().unwrap_err();
    /// assert!(err.to_string().starts_with("local.extra bound, but this server serves no such endpoint (it serves local.web)"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_all_taken(&self) -> Result<(), TakeError> {
        if self.endpoints.is_empty() {
            return Ok(());
        }
        Err(TakeError::NotTaken {
            endpoints: self
                .endpoints
                .iter()
                .map(BoundEndpoint::qualified)
                .collect(),
            taken: self.taken.clone(),
        })
    }
}

/// `Ok` if the endpoint is of one of the `wanted` transports.
pub(crate) fn want(
    endpoint: &BoundEndpoint,
    wanted: &'static [Transport],
) -> Result<(), TakeError> {
    if wanted.contains(&endpoint.transport) {
        Ok(())
    } else {
        Err(TakeError::WrongTransport {
            endpoint: endpoint.qualified(),
            found: endpoint.transport,
            wanted,
        })
    }
}

impl FromEndpoint for BoundEndpoint {
    fn check(_: &BoundEndpoint) -> Result<(), TakeError> {
        Ok(())
    }
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
        Ok(endpoint)
    }
}

/// The endpoint's IP sockets of the kind `pick` finds, once the endpoint
/// is of the `wanted` transport.
fn ip_sockets<T>(
    endpoint: BoundEndpoint,
    wanted: &'static [Transport],
    pick: impl FnMut(Listener) -> Option<T>,
) -> Result<Vec<T>, TakeError> {
    want(&endpoint, wanted)?;
    Ok(endpoint
        .sockets
        .into_iter()
        .map(|s| s.listener)
        .filter_map(pick)
        .collect())
}

impl FromEndpoint for Vec<TcpListener> {
    fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
        want(endpoint, &[Transport::Tcp])
    }
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
        ip_sockets(endpoint, &[Transport::Tcp], |l| match l {
            Listener::Tcp(l) => Some(l),
            Listener::Udp(_) => None,
        })
    }
}

impl FromEndpoint for Vec<UdpSocket> {
    fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
        want(endpoint, &[Transport::Udp])
    }
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
        ip_sockets(endpoint, &[Transport::Udp], |l| match l {
            Listener::Udp(u) => Some(u),
            Listener::Tcp(_) => None,
        })
    }
}

#[cfg(unix)]
mod unix_types {
    use std::os::unix::net::{UnixDatagram, UnixListener};

    use super::{BoundEndpoint, FromEndpoint, TakeError, want};
    use crate::bind::{UnixSocket, WithFile};
    use crate::spec::Transport;

    /// The endpoint's Unix socket if `pick` finds the kind wanted in it.
    fn unix_socket<T>(
        endpoint: BoundEndpoint,
        wanted: &'static [Transport],
        pick: impl FnOnce(UnixSocket) -> Option<T>,
    ) -> Result<T, TakeError> {
        let (qualified, found) = (endpoint.qualified(), endpoint.transport);
        endpoint
            .unix
            .and_then(|u| pick(u.socket))
            .ok_or(TakeError::WrongTransport {
                endpoint: qualified,
                found,
                wanted,
            })
    }

    impl FromEndpoint for WithFile<UnixListener> {
        fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
            want(endpoint, &[Transport::UnixStream])
        }
        fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
            unix_socket(endpoint, &[Transport::UnixStream], |s| match s {
                UnixSocket::Stream(l) => Some(l),
                UnixSocket::Datagram(_) => None,
            })
        }
    }

    impl FromEndpoint for WithFile<UnixDatagram> {
        fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
            want(endpoint, &[Transport::UnixDatagram])
        }
        fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
            unix_socket(endpoint, &[Transport::UnixDatagram], |s| match s {
                UnixSocket::Datagram(d) => Some(d),
                UnixSocket::Stream(_) => None,
            })
        }
    }
}

#[cfg(feature = "tokio")]
mod tokio_types {
    use std::io;

    use super::{BoundEndpoint, FromEndpoint, TakeError};
    use crate::spec::QualifiedName;

    /// `Ok` inside a tokio runtime, which registering a socket needs
    /// (tokio panics without one).
    pub(crate) fn in_runtime(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
        match tokio::runtime::Handle::try_current() {
            Ok(_) => Ok(()),
            Err(_) => Err(TakeError::NoRuntime {
                endpoint: endpoint.qualified(),
            }),
        }
    }

    /// The std sockets `S` made non-blocking and registered with tokio by
    /// `convert`; the error names the endpoint.
    fn converted<S: FromEndpoint, T>(
        endpoint: BoundEndpoint,
        convert: impl FnOnce(S) -> io::Result<T>,
    ) -> Result<T, TakeError> {
        let qualified: QualifiedName = endpoint.qualified();
        let std = S::from_endpoint(endpoint)?;
        convert(std).map_err(|error| TakeError::Tokio {
            endpoint: qualified,
            error,
        })
    }

    /// `FromEndpoint` for a tokio type made from the std type `$std` by
    /// `$convert`, inside a runtime: the same check as the std type's,
    /// and the runtime's.
    macro_rules! from_std {
        ($tokio:ty, $std:ty, $convert:expr) => {
            impl FromEndpoint for $tokio {
                fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
                    <$std>::check(endpoint)?;
                    in_runtime(endpoint)
                }
                fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
                    in_runtime(&endpoint)?;
                    converted::<$std, _>(endpoint, $convert)
                }
            }
        };
    }

    from_std!(
        Vec<tokio::net::TcpListener>,
        Vec<std::net::TcpListener>,
        |sockets: Vec<std::net::TcpListener>| {
            sockets
                .into_iter()
                .map(|l| {
                    l.set_nonblocking(true)?;
                    tokio::net::TcpListener::from_std(l)
                })
                .collect()
        }
    );
    from_std!(
        Vec<tokio::net::UdpSocket>,
        Vec<std::net::UdpSocket>,
        |sockets: Vec<std::net::UdpSocket>| {
            sockets
                .into_iter()
                .map(|u| {
                    u.set_nonblocking(true)?;
                    tokio::net::UdpSocket::from_std(u)
                })
                .collect()
        }
    );
    #[cfg(unix)]
    from_std!(
        crate::bind::WithFile<tokio::net::UnixListener>,
        crate::bind::WithFile<std::os::unix::net::UnixListener>,
        crate::bind::WithFile::<std::os::unix::net::UnixListener>::into_tokio
    );
    #[cfg(unix)]
    from_std!(
        crate::bind::WithFile<tokio::net::UnixDatagram>,
        crate::bind::WithFile<std::os::unix::net::UnixDatagram>,
        crate::bind::WithFile::<std::os::unix::net::UnixDatagram>::into_tokio
    );
}

#[cfg(feature = "tokio")]
pub(crate) use tokio_types::in_runtime;
