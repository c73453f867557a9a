//! Every TCP socket of an endpoint accepted as one listener, which axum
//! serves (feature `axum`) and tonic takes as its incoming stream
//! (feature `stream`).

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::net::{TcpListener, TcpStream};
#[cfg(feature = "watch")]
use tokio::sync::mpsc::UnboundedReceiver;

use crate::bind::{BoundEndpoint, FromEndpoint, TakeError};
use crate::spec::QualifiedName;

/// Every TCP socket of one endpoint (IPv4 and IPv6, each of its addresses)
/// accepting as one listener.
///
/// Sockets take turns: each accept starts polling at the socket after the
/// one that gave the last connection, so one busy socket cannot starve the
/// others.
///
/// With the `axum` feature it is an [`axum::serve::Listener`]; with
/// `stream`, a [`Stream`](futures_core::Stream) of connections for tonic's
/// `serve_with_incoming`. For hyper-util or a protocol of one's own,
/// [`accept`](EndpointListener::accept) in a loop:
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use listenspec::serve::EndpointListener;
///
/// let spec = "local = 127.0.0.1, ::1; local.echo = tcp:0".parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let mut listener = bound.take::<EndpointListener>("local", "echo")?;
/// let addrs = listener.local_addrs().to_vec();
/// tokio::spawn(async move {
///     while let Ok((mut conn, _peer)) = listener.accept().await {
///         tokio::spawn(async move {
///             let mut buf = [0; 64];
///             let n = conn.read(&mut buf).await?;
///             conn.write_all(&buf[..n]).await
///         });
///     }
/// });
/// for addr in addrs {
///     let mut client = tokio::net::TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut got = [0; 5];
///     client.read_exact(&mut got).await?;
///     assert_eq!(&got, b"hello");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct EndpointListener {
    pub(super) endpoint: QualifiedName,
    pub(super) sockets: Vec<TcpListener>,
    pub(super) local_addrs: Vec<SocketAddr>,
    /// The socket polled first by the next accept.
    next: usize,
    /// Where a [`Follower`](super::Follower) sends the sockets a change of
    /// the host opens and closes for this endpoint; `None` until one is
    /// made.
    #[cfg(feature = "watch")]
    pub(super) updates: Option<UnboundedReceiver<super::follower::Update>>,
    /// The `Stream`'s pause after an error of the socket.
    #[cfg(feature = "stream")]
    pause: super::Pause,
}

impl EndpointListener {
    /// The endpoint's name, `network.name`.
    pub fn endpoint(&self) -> &QualifiedName {
        &self.endpoint
    }

    /// The local address of every socket, in plan order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use listenspec::serve::EndpointListener;
    ///
    /// let spec = "local = 127.0.0.1, ::1; local.web = http:0".parse()?;
    /// let mut bound = listenspec::bind_all_async(&spec).await?;
    /// let listener = bound.take::<EndpointListener>("local", "web")?;
    /// let [v4, v6] = listener.local_addrs() else { panic!("two sockets") };
    /// assert!(v4.is_ipv4() && v6.is_ipv6());
    /// assert_eq!(v4.port(), v6.port(), "port 0 is one port across addresses");
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Waits for a connection on any of the sockets: the stream and the
    /// client's address. An error is one socket's accept error; the
    /// listener stays usable.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use listenspec::serve::EndpointListener;
    ///
    /// let spec = "local = ::1; local.web = http:0".parse()?;
    /// let mut bound = listenspec::bind_all_async(&spec).await?;
    /// let mut listener = bound.take::<EndpointListener>("local", "web")?;
    /// let client = tokio::net::TcpStream::connect(listener.local_addrs()[0]).await?;
    /// let (_conn, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// [`accept`](EndpointListener::accept) as a poll, for hand-written
    /// futures and streams: `Pending` registers `cx` with every socket.
    pub fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        #[cfg(feature = "watch")]
        if let Err(e) = self.poll_updates(cx) {
            return Poll::Ready(Err(e));
        }
        let n = self.sockets.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if let Poll::Ready(conn) = self.sockets[i].poll_accept(cx) {
                self.next = (i + 1) % n;
                return Poll::Ready(conn);
            }
        }
        Poll::Pending
    }
}

impl FromEndpoint for EndpointListener {
    fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
        Vec::<TcpListener>::check(endpoint)
    }
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
        let name = endpoint.qualified();
        let local_addrs = endpoint.local_addrs();
        Ok(EndpointListener {
            endpoint: name,
            sockets: Vec::<TcpListener>::from_endpoint(endpoint)?,
            local_addrs,
            next: 0,
            #[cfg(feature = "watch")]
            updates: None,
            #[cfg(feature = "stream")]
            pause: super::Pause::default(),
        })
    }
}

#[cfg(feature = "axum")]
mod axum_listener {
    use std::io;
    use std::net::SocketAddr;

    use tokio::net::TcpStream;

    use super::EndpointListener;
    use crate::serve::accept_retrying;

    /// `axum::serve(listener, app)`, graceful shutdown included.
    ///
    /// axum's `accept` cannot fail, so errors are retried here: at once
    /// when a client gave up before it was accepted (refused, aborted,
    /// reset), after a pause of 100 ms otherwise: axum's policy for its own
    /// `TcpListener`, with a shorter pause than its second.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use listenspec::serve::EndpointListener;
    ///
    /// let spec = "public = 127.0.0.1, ::1; public.http = http:0".parse()?;
    /// let mut bound = listenspec::bind_all_async(&spec).await?;
    /// let listener = bound.take::<EndpointListener>("public", "http")?;
    /// let addrs = listener.local_addrs().to_vec();
    /// let app = Router::new().route("/", get(|| async { "hello" }));
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(async move {
    ///     axum::serve(listener, app)
    ///         .with_graceful_shutdown(async { stopped.await.ok(); })
    ///         .await
    /// });
    /// for addr in addrs {
    ///     use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///     let mut conn = tokio::net::TcpStream::connect(addr).await?;
    ///     conn.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
    ///     let mut response = String::new();
    ///     conn.read_to_string(&mut response).await?;
    ///     assert!(response.starts_with("HTTP/1.1 200") && response.ends_with("hello"));
    /// }
    /// stop.send(()).unwrap();
    /// server.await??;
    /// # Ok(())
    /// # }
    /// ```
    impl axum::serve::Listener for EndpointListener {
        type Io = TcpStream;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (TcpStream, SocketAddr) {
            accept_retrying(|cx| self.poll_accept(cx)).await
        }

        /// The first socket's address (axum has room for one); all of them
        /// are in [`EndpointListener::local_addrs`].
        fn local_addr(&self) -> io::Result<SocketAddr> {
            // Empty only after a followed change closed every socket.
            self.local_addrs.first().copied().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "the endpoint has no socket now: a change of the host closed them all",
                )
            })
        }
    }
}

/// The connections, for tonic's `serve_with_incoming` and other servers
/// that take a stream; it never ends. Errors are one socket's accept
/// errors, for the server to decide on (tonic skips them); after one that
/// is not a client's (out of descriptors), the next accept waits 100 ms,
/// so a server that polls again at once does not spin.
///
/// ```
/// use tonic_health::pb::health_client::HealthClient;
/// use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use listenspec::serve::EndpointListener;
///
/// let spec = "local = 127.0.0.1; local.grpc = http:0".parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let incoming = bound.take::<EndpointListener>("local", "grpc")?;
/// let addr = incoming.local_addrs()[0];
/// let (_reporter, health) = tonic_health::server::health_reporter();
/// tokio::spawn(
///     tonic::transport::Server::builder()
///         .add_service(health)
///         .serve_with_incoming(incoming),
/// );
/// let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?;
/// let mut client = HealthClient::new(channel.connect().await?);
/// let status = client.check(HealthCheckRequest::default()).await?.into_inner().status;
/// assert_eq!(status, ServingStatus::Serving as i32);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "stream")]
impl futures_core::Stream for EndpointListener {
    type Item = io::Result<TcpStream>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<TcpStream>>> {
        let this = self.get_mut();
        std::task::ready!(this.pause.poll_over(cx));
        let accepted = std::task::ready!(this.poll_accept(cx));
        this.pause.after(&accepted);
        Poll::Ready(Some(accepted.map(|(stream, _)| stream)))
    }
}
