//! The follower that hands an [`EndpointListener`] the sockets a change
//! of the host opens and closes for its endpoint (feature `watch`).

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::EndpointListener;
use crate::bind::{Listener, TakeError};
use crate::spec::{QualifiedName, Transport};
use crate::watch::Change;

/// One change, for one endpoint: std sockets, since they cross threads
/// before the listener (inside the runtime) makes them tokio's.
#[derive(Debug)]
pub(super) struct Update {
    opened: Vec<std::net::TcpListener>,
    closed: Vec<SocketAddr>,
}

/// Hands the sockets of each [`Change`] for one endpoint to its
/// [`EndpointListener`], which adds the opened ones and drops the closed
/// ones before its next accept; made by [`EndpointListener::follower`].
///
/// Connections already accepted on a closed socket go on; only the
/// listening socket is closed.
#[derive(Debug, Clone)]
pub struct Follower {
    endpoint: QualifiedName,
    updates: UnboundedSender<Update>,
}

impl Follower {
    /// Moves this endpoint's opened sockets out of `change` to the
    /// listener, with the addresses it closes. Returns whether the
    /// listener is still there to take them (`false` once it is dropped);
    /// a change without this endpoint's sockets is sent nothing.
    pub fn apply(&self, change: &mut Change) -> Result<bool, TakeError> {
        let (network, name) = (self.endpoint.network(), self.endpoint.endpoint());
        let closed: Vec<SocketAddr> = change
            .closed()
            .iter()
            .filter(|(n, _)| *n == self.endpoint)
            .map(|&(_, a)| a)
            .collect();
        let opened = change
            .take(network.as_str(), name.as_str())
            .into_iter()
            .map(|s| match s.into_listener() {
                Listener::Tcp(l) => {
                    l.set_nonblocking(true).map_err(|error| TakeError::Tokio {
                        endpoint: self.endpoint.clone(),
                        error,
                    })?;
                    Ok(l)
                }
                // The listener was made from a TCP endpoint, whose
                // sockets a change opens as TCP too.
                Listener::Udp(_) => Err(TakeError::WrongTransport {
                    endpoint: self.endpoint.clone(),
                    found: Transport::Udp,
                    wanted: &[Transport::Tcp],
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if opened.is_empty() && closed.is_empty() {
            return Ok(!self.updates.is_closed());
        }
        Ok(self.updates.send(Update { opened, closed }).is_ok())
    }
}

impl EndpointListener {
    /// A handle that makes this listener follow a [`Watch`](crate::watch::Watch):
    /// give it each [`Change`] and the listener takes this endpoint's new
    /// sockets and drops its closed ones between accepts, so a server
    /// (`axum::serve(listener, app)`) goes on across changes of the
    /// host's addresses. A listener has one follower; asking again makes a
    /// new one, and the older stops reaching the listener. Needs the
    /// `watch` feature (and `tokio`, as every listener here).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use listenspec::serve::EndpointListener;
    ///
    /// let spec = "local = 127.0.0.1; local.web = http:0".parse()?;
    /// let (mut bound, mut watch) = listenspec::bind_all_following(&spec)?;
    /// let mut listener = bound.take::<EndpointListener>("local", "web")?;
    /// let follower = listener.follower();
    /// tokio::spawn(async move {
    ///     loop {
    ///         // Short waits: a runtime shutting down waits for the one
    ///         // under way on its blocking threads.
    ///         match watch.next_async(Duration::from_millis(500)).await {
    ///             Ok(Some(mut change)) => {
    ///                 println!("{change}");
    ///                 if !follower.apply(&mut change).unwrap_or(true) {
    ///                     break; // the listener is gone
    ///                 }
    ///             }
    ///             Ok(None) => {}
    ///             // Refused: the sockets still where they were planned
    ///             // serve on (the change before closed the others).
    ///             Err(e) => eprintln!("{e}"),
    ///         }
    ///     }
    /// });
    /// let client = tokio::net::TcpStream::connect(listener.local_addrs()[0]).await?;
    /// let (_conn, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn follower(&mut self) -> Follower {
        let (tx, rx) = unbounded_channel();
        self.updates = Some(rx);
        Follower {
            endpoint: self.endpoint.clone(),
            updates: tx,
        }
    }

    /// Applies the updates a [`Follower`] sent: closed sockets dropped,
    /// opened ones added. Polling the channel registers `cx`, so a change
    /// wakes a pending accept to poll its new sockets too.
    pub(super) fn poll_updates(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(rx) = &mut self.updates else {
            return Ok(());
        };
        let mut added = Ok(());
        loop {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(update)) => {
                    for addr in &update.closed {
                        if let Some(i) = self.local_addrs.iter().position(|a| a == addr) {
                            self.local_addrs.remove(i);
                            self.sockets.remove(i);
                        }
                    }
                    for l in update.opened {
                        let addr = l.local_addr();
                        match addr.and_then(|a| Ok((a, TcpListener::from_std(l)?))) {
                            Ok((a, l)) => {
                                self.local_addrs.push(a);
                                self.sockets.push(l);
                            }
                            // Reported by this accept; the other sockets
                            // serve on.
                            Err(e) => added = Err(e),
                        }
                    }
                }
                Poll::Ready(None) => {
                    // Every follower is gone: nothing more will come.
                    self.updates = None;
                    return added;
                }
                Poll::Pending => return added,
            }
        }
    }
}
