//! Serving: the listeners frameworks take, made from bound endpoints with
//! [`Bound::take`](crate::Bound::take) (feature `tokio`).
//!
//! | listener | endpoint | connections |
//! |---|---|---|
//! | [`EndpointListener`] | TCP: every socket of the endpoint | `tokio::net::TcpStream` |
//! | [`UnixEndpointListener`] | Unix stream | `tokio::net::UnixStream` |
//! | [`AnyListener`] | TCP or Unix stream, as the spec says | [`Connection`] |
//!
//! Each is an `axum::serve::Listener` (feature `axum`) and a `Stream` of
//! connections (feature `stream`) for tonic's `serve_with_incoming` and
//! hyper loops; with the `watch` feature, a [`Follower`] hands an
//! [`EndpointListener`] the sockets a change of the host opens.

mod any;
#[cfg(any(feature = "axum", feature = "stream"))]
mod backoff;
mod endpoint;
#[cfg(feature = "watch")]
mod follower;
#[cfg(unix)]
mod unix;

pub use any::{AnyListener, Connection, PeerAddr};
#[cfg(feature = "stream")]
use backoff::Pause;
#[cfg(feature = "axum")]
pub(crate) use backoff::accept_retrying;
pub use endpoint::EndpointListener;
#[cfg(feature = "watch")]
pub use follower::Follower;
#[cfg(unix)]
pub use unix::UnixEndpointListener;
