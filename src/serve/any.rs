//! One listener for an endpoint whichever kind of socket its spec gives
//! it, so a server's code does not change when its config moves an
//! endpoint from a TCP port to a Unix socket.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use super::EndpointListener;
#[cfg(unix)]
use super::UnixEndpointListener;
#[cfg(feature = "axum")]
use super::accept_retrying;
use crate::bind::{BoundEndpoint, FromEndpoint, TakeError, want};
use crate::spec::{QualifiedName, Transport};

/// An endpoint's stream sockets as one listener: every TCP socket of an
/// endpoint on IP addresses, or its Unix socket, as the spec says. It is
/// what a server takes when it does not care which: with `axum`,
/// `axum::serve(bound.take::<AnyListener>("public", "http")?, app)`;
/// with `stream`, a [`Stream`](futures_core::Stream) of [`Connection`]s,
/// which tonic's `serve_with_incoming` takes with the `tonic` feature.
///
/// [`EndpointListener`] and [`UnixEndpointListener`] are the two kinds on
/// their own, with the plain tokio stream types as connections.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyListener {
    /// TCP sockets on IP addresses.
    Tcp(EndpointListener),
    /// A Unix stream socket.
    #[cfg(unix)]
    Unix(UnixEndpointListener),
}

/// One accepted connection of an [`AnyListener`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Connection {
    /// Over TCP.
    Tcp(TcpStream),
    /// Over a Unix stream socket.
    #[cfg(unix)]
    Unix(UnixStream),
}

/// Who connected to an [`AnyListener`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer's address.
    Tcp(SocketAddr),
    /// A Unix socket peer's address (usually unnamed).
    #[cfg(unix)]
    Unix(tokio::net::unix::SocketAddr),
}

impl AnyListener {
    /// The endpoint it accepts for.
    pub fn endpoint(&self) -> &QualifiedName {
        match self {
            AnyListener::Tcp(l) => l.endpoint(),
            #[cfg(unix)]
            AnyListener::Unix(l) => l.endpoint(),
        }
    }

    /// The next connection on any of the endpoint's sockets.
    ///
    /// Cancel-safe: in a `tokio::select!` beside a shutdown signal, an
    /// `accept` dropped unfinished has taken no connection, which the next
    /// one gets. An error is one accept's (a client that reset before it
    /// was taken, the process out of descriptors): the listener goes on,
    /// so log it and accept again, after a pause for `EMFILE`, whose
    /// socket stays readable. Dropping the listener closes its sockets
    /// (and removes a Unix socket's file): new clients are refused while
    /// the connections already accepted go on.
    ///
    /// A hyper 1 server over it, TCP or Unix as the spec says, which on
    /// its signal stops accepting and lets the requests under way finish
    /// (`examples/hyper_server.rs` in the repository adds Ctrl-C and a
    /// deadline):
    ///
    /// ```
    /// use hyper::{Response, service::service_fn};
    /// use hyper_util::{rt::{TokioExecutor, TokioIo}, server::conn::auto, server::graceful::GracefulShutdown};
    /// use listenspec::serve::AnyListener;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local; local.web = http:0".parse()?;
    /// let mut bound = listenspec::bind_all(&spec)?;
    /// let addr = bound.endpoint("local", "web").unwrap().local_addrs()[0];
    /// let mut listener = bound.take::<AnyListener>("local", "web")?;
    /// let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(async move {
    ///     let (http, graceful) = (auto::Builder::new(TokioExecutor::new()), GracefulShutdown::new());
    ///     loop {
    ///         let conn = tokio::select! {
    ///             accepted = listener.accept() => match accepted {
    ///                 Ok((conn, _peer)) => conn,
    ///                 Err(_) => {
    ///                     tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    ///                     continue;
    ///                 }
    ///             },
    ///             _ = &mut stopped => break,
    ///         };
    ///         let service = service_fn(|_| async { Ok::<_, std::convert::Infallible>(Response::new("hello\n".to_owned())) });
    ///         let served = graceful.watch(http.serve_connection(TokioIo::new(conn), service).into_owned());
    ///         tokio::spawn(served);
    ///     }
    ///     drop(listener);
    ///     graceful.shutdown().await;
    /// });
    ///
    /// let mut client = tokio::net::TcpStream::connect(addr).await?;
    /// client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
    /// let mut reply = String::new();
    /// client.read_to_string(&mut reply).await?;
    /// assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("hello\n"), "{reply}");
    /// stop.send(()).unwrap();
    /// server.await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(&mut self) -> io::Result<(Connection, PeerAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection.
    pub fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Connection, PeerAddr)>> {
        match self {
            AnyListener::Tcp(l) => l
                .poll_accept(cx)
                .map_ok(|(c, a)| (Connection::Tcp(c), PeerAddr::Tcp(a))),
            #[cfg(unix)]
            AnyListener::Unix(l) => l
                .poll_accept(cx)
                .map_ok(|(c, a)| (Connection::Unix(c), PeerAddr::Unix(a))),
        }
    }
}

/// TCP or Unix stream, as the plan has it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use listenspec::serve::AnyListener;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let dir = std::env::temp_dir().join(format!("listenspec-doc-any-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("api.sock");
/// // The same code serves a TCP endpoint or, as here, a Unix one.
/// let spec = format!("local = unix\nlocal.api = http:{}", path.display()).parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let mut listener = bound.take::<AnyListener>("local", "api")?;
/// let mut client = tokio::net::UnixStream::connect(&path).await?;
/// let (mut conn, _peer) = listener.accept().await?;
/// client.write_all(b"ping").await?;
/// let mut buf = [0; 4];
/// conn.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # drop(listener);
/// # std::fs::remove_dir(&dir)?;
/// # Ok(())
/// # }
/// ```
impl FromEndpoint for AnyListener {
    fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
        want(endpoint, &[Transport::Tcp, Transport::UnixStream])?;
        crate::bind::in_runtime(endpoint)
    }
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
        #[cfg(unix)]
        if endpoint.transport() == Transport::UnixStream {
            return UnixEndpointListener::from_endpoint(endpoint).map(AnyListener::Unix);
        }
        EndpointListener::from_endpoint(endpoint).map(AnyListener::Tcp)
    }
}

/// Calls `$op` on whichever stream the connection holds.
macro_rules! on_stream {
    ($self:ident, $s:ident => $op:expr) => {
        match $self.get_mut() {
            Connection::Tcp($s) => $op,
            #[cfg(unix)]
            Connection::Unix($s) => $op,
        }
    };
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        on_stream!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        on_stream!(self, s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_stream!(self, s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_stream!(self, s => Pin::new(s).poll_shutdown(cx))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_stream!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            Connection::Unix(s) => s.is_write_vectored(),
        }
    }
}

/// `axum::serve(listener, app)` for either kind; errors are retried as
/// [`EndpointListener`]'s are.
#[cfg(feature = "axum")]
impl axum::serve::Listener for AnyListener {
    type Io = Connection;
    type Addr = PeerAddr;

    async fn accept(&mut self) -> (Connection, PeerAddr) {
        accept_retrying(|cx| self.poll_accept(cx)).await
    }

    /// A TCP endpoint's first address (axum has room for one), or the Unix
    /// socket's address.
    fn local_addr(&self) -> io::Result<PeerAddr> {
        match self {
            AnyListener::Tcp(l) => axum::serve::Listener::local_addr(l).map(PeerAddr::Tcp),
            #[cfg(unix)]
            AnyListener::Unix(l) => axum::serve::Listener::local_addr(l).map(PeerAddr::Unix),
        }
    }
}

/// `Router::into_make_service_with_connect_info::<PeerAddr>()`, so a
/// handler can take `ConnectInfo<PeerAddr>`.
#[cfg(feature = "axum")]
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, AnyListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, AnyListener>) -> PeerAddr {
        stream.remote_addr().clone()
    }
}

/// The connections, for tonic's `serve_with_incoming` (with the `tonic`
/// feature, which makes [`Connection`] tonic's `Connected`) and other
/// servers that take a stream; it never ends. Errors are one socket's
/// accept errors, for the server to decide on (tonic skips them); after
/// one that is not a client's (out of descriptors), the next accept waits
/// 100 ms, so a server that polls again at once does not spin.
#[cfg(feature = "stream")]
impl futures_core::Stream for AnyListener {
    type Item = io::Result<Connection>;

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Connection>>> {
        match self.get_mut() {
            AnyListener::Tcp(l) => Pin::new(l)
                .poll_next(cx)
                .map(|c| c.map(|c| c.map(Connection::Tcp))),
            #[cfg(unix)]
            AnyListener::Unix(l) => Pin::new(l)
                .poll_next(cx)
                .map(|c| c.map(|c| c.map(Connection::Unix))),
        }
    }
}

/// What tonic's `Request::extensions` holds for a connection from an
/// [`AnyListener`]: tonic's own `TcpConnectInfo`, as for its TCP listener,
/// so `request.remote_addr()` is the client's address on TCP. On a Unix
/// socket both addresses are `None` (a Unix client's socket has no
/// address to speak of, as a rule).
#[cfg(feature = "tonic")]
impl tonic::transport::server::Connected for Connection {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Connection::Tcp(s) => tonic::transport::server::TcpConnectInfo {
                local_addr: s.local_addr().ok(),
                remote_addr: s.peer_addr().ok(),
            },
            #[cfg(unix)]
            Connection::Unix(_) => tonic::transport::server::TcpConnectInfo {
                local_addr: None,
                remote_addr: None,
            },
        }
    }
}
