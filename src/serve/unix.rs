//! A Unix stream endpoint's socket as a listener servers take.

use std::io;
use std::task::{Context, Poll};

use crate::bind::{BoundEndpoint, FromEndpoint, TakeError, WithFile};
use crate::spec::{QualifiedName, Transport, UnixPath};

/// A Unix stream endpoint's socket as a listener: what
/// [`EndpointListener`](super::EndpointListener) is for TCP, with the guard that removes the socket
/// file when it is dropped (see [`WithFile`](crate::bind::WithFile)).
///
/// Its connections are plain `tokio::net::UnixStream`s. A server whose
/// spec may give the endpoint a TCP port or a Unix socket takes an
/// [`AnyListener`](super::AnyListener) instead, which is either.
///
/// With the `axum` feature it is an [`axum::serve::Listener`]:
///
/// ```
/// use axum::{Router, routing::get};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use listenspec::serve::UnixEndpointListener;
///
/// let dir = std::env::temp_dir().join(format!("listenspec-doc-axum-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("api.sock");
/// let spec = format!("local = unix\nlocal.api = http:{} mode=600", path.display()).parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let listener = bound.take::<UnixEndpointListener>("local", "api")?;
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(async move {
///     axum::serve(listener, app)
///         .with_graceful_shutdown(async { stopped.await.ok(); })
///         .await
/// });
/// let mut conn = tokio::net::UnixStream::connect(&path).await?;
/// conn.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
/// let mut response = String::new();
/// conn.read_to_string(&mut response).await?;
/// assert!(response.starts_with("HTTP/1.1 200") && response.ends_with("hello"));
/// stop.send(()).unwrap();
/// server.await??;
/// assert!(!path.exists(), "the listener removed its file when the server stopped");
/// # std::fs::remove_dir(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UnixEndpointListener {
    endpoint: QualifiedName,
    path: UnixPath,
    socket: WithFile<tokio::net::UnixListener>,
    /// The `Stream`'s pause after an error of the socket.
    #[cfg(feature = "stream")]
    pause: super::Pause,
}

impl UnixEndpointListener {
    /// The endpoint's name, `network.name`.
    pub fn endpoint(&self) -> &QualifiedName {
        &self.endpoint
    }

    /// The path (or abstract name) it listens on.
    pub fn path(&self) -> &UnixPath {
        &self.path
    }

    /// The socket, with its file guard.
    pub fn socket(&self) -> &WithFile<tokio::net::UnixListener> {
        &self.socket
    }

    /// Waits for a connection: the stream and the client's address (Unix
    /// clients are mostly unnamed).
    pub async fn accept(
        &mut self,
    ) -> io::Result<(tokio::net::UnixStream, tokio::net::unix::SocketAddr)> {
        self.socket.accept().await
    }

    /// [`accept`](UnixEndpointListener::accept) as a poll.
    pub fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(tokio::net::UnixStream, tokio::net::unix::SocketAddr)>> {
        self.socket.poll_accept(cx)
    }
}

impl FromEndpoint for UnixEndpointListener {
    fn check(endpoint: &BoundEndpoint) -> Result<(), TakeError> {
        WithFile::<tokio::net::UnixListener>::check(endpoint)
    }
    fn from_endpoint(endpoint: BoundEndpoint) -> Result<Self, TakeError> {
        let endpoint_name = endpoint.qualified();
        let (found, path) = (
            endpoint.transport(),
            endpoint.unix().map(|u| u.path().clone()),
        );
        let socket = WithFile::<tokio::net::UnixListener>::from_endpoint(endpoint)?;
        let path = path.ok_or(TakeError::WrongTransport {
            endpoint: endpoint_name.clone(),
            found,
            wanted: &[Transport::UnixStream],
        })?;
        Ok(UnixEndpointListener {
            endpoint: endpoint_name,
            path,
            socket,
            #[cfg(feature = "stream")]
            pause: super::Pause::default(),
        })
    }
}

#[cfg(feature = "axum")]
impl axum::serve::Listener for UnixEndpointListener {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    /// Errors are retried as [`EndpointListener`](super::EndpointListener)'s are.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        super::accept_retrying(|cx| self.poll_accept(cx)).await
    }

    /// The path the socket was published at. The kernel names a socket by
    /// the address it was bound to, and a socket file is bound in its
    /// private directory before it is published (see README's Unix
    /// section), so the socket's own name is not the one clients use.
    fn local_addr(&self) -> io::Result<Self::Addr> {
        match self.path.file() {
            Some(path) => std::os::unix::net::SocketAddr::from_pathname(path).map(Into::into),
            None => self.socket.local_addr(),
        }
    }
}

/// The connections, for tonic's `serve_with_incoming` (which knows
/// `tokio::net::UnixStream` as `Connected`) and other servers that take a
/// stream; it never ends.
///
/// ```
/// use futures_core::Stream;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use listenspec::serve::UnixEndpointListener;
///
/// let dir = std::env::temp_dir().join(format!("listenspec-doc-stream-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("grpc.sock");
/// let spec = format!("local = unix\nlocal.grpc = http:{}", path.display()).parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let mut incoming = bound.take::<UnixEndpointListener>("local", "grpc")?;
/// let _client = tokio::net::UnixStream::connect(&path).await?;
/// let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut incoming).poll_next(cx));
/// let conn: tokio::net::UnixStream = next.await.expect("never ends")?;
/// assert!(conn.peer_addr()?.is_unnamed(), "the client bound no name");
/// # drop(incoming);
/// # std::fs::remove_dir(&dir)?;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "stream")]
impl futures_core::Stream for UnixEndpointListener {
    type Item = io::Result<tokio::net::UnixStream>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<tokio::net::UnixStream>>> {
        let this = self.get_mut();
        std::task::ready!(this.pause.poll_over(cx));
        let accepted = std::task::ready!(this.poll_accept(cx));
        this.pause.after(&accepted);
        Poll::Ready(Some(accepted.map(|(stream, _)| stream)))
    }
}
