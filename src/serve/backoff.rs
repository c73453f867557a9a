//! The pause after an accept error that is not one connection's (out of
//! descriptors, say), whose socket stays readable: axum's `accept` retries
//! after it, and a `Stream` waits it out before its next accept, so a
//! server that polls again at once (tonic skips accept errors) does not
//! spin.

use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long accepting pauses after an error that is not one
/// connection's: long enough not to spin on a socket that stays readable,
/// short enough to serve again soon after a descriptor is freed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an accept error is one client's, leaving the socket fine.
fn one_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A connection for axum, whose `accept` cannot fail: past an error,
/// polls again at once when it was one client's, after
/// [`ACCEPT_BACKOFF`] otherwise.
#[cfg(feature = "axum")]
pub(crate) async fn accept_retrying<C, A>(
    mut poll_accept: impl FnMut(&mut Context<'_>) -> Poll<io::Result<(C, A)>>,
) -> (C, A) {
    loop {
        match std::future::poll_fn(&mut poll_accept).await {
            Ok(conn) => return conn,
            Err(e) if one_connection(&e) => {}
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

/// A `Stream`'s pause: the error is handed on, for the server to log, and
/// the next accept waits [`ACCEPT_BACKOFF`]. Timed by a thread of its own,
/// not tokio's timer, which a runtime may lack (`enable_io` alone): at
/// most one short-lived thread per pause, ten a second.
#[cfg(feature = "stream")]
#[derive(Debug, Default)]
pub(crate) struct Pause(Option<std::time::Instant>);

#[cfg(feature = "stream")]
impl Pause {
    /// Ready once a pause begun by the last error is over.
    pub(crate) fn poll_over(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(until) = self.0 else {
            return Poll::Ready(());
        };
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            self.0 = None;
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        std::thread::spawn(move || {
            std::thread::sleep(left);
            waker.wake();
        });
        Poll::Pending
    }

    /// Begins a pause after `accepted` if it is an error of the socket.
    pub(crate) fn after<T>(&mut self, accepted: &io::Result<T>) {
        if let Err(e) = accepted
            && !one_connection(e)
        {
            self.0 = Some(std::time::Instant::now() + ACCEPT_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;
    use std::task::Poll;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::ACCEPT_BACKOFF;

    /// The kinds of error, each with the pause before the next accept: a
    /// client that gave up is skipped at once; an error of the socket
    /// (ENOMEM, or EMFILE: out of descriptors) waits, so a socket that
    /// stays readable is not spun on.
    const CASES: [(ErrorKind, Duration); 4] = [
        (ErrorKind::ConnectionRefused, Duration::ZERO),
        (ErrorKind::ConnectionAborted, Duration::ZERO),
        (ErrorKind::ConnectionReset, Duration::ZERO),
        (ErrorKind::OutOfMemory, ACCEPT_BACKOFF),
    ];

    /// On tokio's paused clock, where a sleep is seen and costs nothing.
    #[cfg(feature = "axum")]
    #[tokio::test(start_paused = true)]
    async fn axum_retries_a_clients_error_at_once_and_others_after_a_pause() {
        for (kind, pause) in CASES {
            // Popped from the end: the error, then a connection.
            let mut results = vec![Ok(("conn", ())), Err(kind.into())];
            let start = Instant::now();
            let got =
                super::accept_retrying(|_| Poll::Ready(results.pop().expect("polled once more")));
            assert_eq!(got.await.0, "conn", "{kind:?}");
            let waited = start.elapsed();
            assert!(
                waited >= pause && waited < pause + Duration::from_millis(5),
                "{kind:?}: {waited:?}"
            );
        }
    }

    /// The next of `results` (popped from the end) through `gate`.
    #[cfg(feature = "stream")]
    async fn next<T>(
        gate: &mut super::Pause,
        results: &mut Vec<std::io::Result<T>>,
    ) -> std::io::Result<T> {
        std::future::poll_fn(|cx| {
            std::task::ready!(gate.poll_over(cx));
            let accepted = results.pop().expect("polled once more");
            gate.after(&accepted);
            Poll::Ready(accepted)
        })
        .await
    }

    /// A stream hands the error on at once, and after an error of the
    /// socket waits before the next accept, as axum does before its retry:
    /// on a runtime without tokio's timer, too.
    #[cfg(feature = "stream")]
    #[test]
    fn a_stream_hands_an_error_on_and_pauses_the_next_accept_after_a_sockets_error() {
        let no_timer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for (kind, pause) in CASES {
            let mut gate = super::Pause::default();
            let mut results = vec![Ok("conn"), Err(std::io::Error::from(kind))];
            no_timer.block_on(async {
                let err = next(&mut gate, &mut results)
                    .await
                    .expect_err("the error first");
                assert_eq!(err.kind(), kind);
                assert_eq!(gate.0.is_some(), !pause.is_zero(), "{kind:?}");
                let start = std::time::Instant::now();
                let conn = next(&mut gate, &mut results).await.unwrap();
                assert_eq!(conn, "conn", "{kind:?}");
                assert!(start.elapsed() >= pause, "{kind:?}");
                assert!(gate.0.is_none(), "{kind:?}: the pause is over");
            });
        }
    }
}
