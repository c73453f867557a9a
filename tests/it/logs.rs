//! What `bind_all` logs: with the `tracing` feature, the table once at info
//! and each warning at warn; without it, nothing.

use std::fmt;
use std::sync::{Arc, Mutex};

use listenspec::{Bound, ListenSpec};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Every event of this crate, as (level, message). Installed per thread with
/// `with_default`, so tests binding on other threads do not show up here.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(Level, String)>>>);

impl Recorder {
    fn events(&self) -> Vec<(Level, String)> {
        self.0.lock().unwrap().clone()
    }
}

/// The `message` field, which `info!("{x}")` records as format arguments.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Recorder {
    // Asked again for every event, so another test's subscriber on another
    // thread cannot leave a callsite cached as never enabled.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("listenspec")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), message.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Binds on loopback with one warning that every host gives: a network
/// without endpoints.
fn spec() -> ListenSpec {
    "local     = loopback  expose=local
     spare     = 127.0.0.2 expose=local
     local.web = http:0"
        .parse()
        .unwrap()
}

/// What the feature promises: the table (the `Display` without its
/// warnings) at info, then one warn per warning; and without it, nothing.
fn assert_logged(bound: &Bound, events: &[(Level, String)]) {
    if !cfg!(feature = "tracing") {
        assert_eq!(events, [], "nothing is logged without the tracing feature");
        return;
    }
    assert!(!bound.warnings().is_empty(), "the spec has a warning");
    let shown = bound.to_string();
    let table = shown.split("\n\nwarning: ").next().unwrap();
    // On a line of its own, under the log line's prefix.
    let mut want = vec![(Level::INFO, format!("bound:\n{table}"))];
    want.extend(
        bound
            .warnings()
            .iter()
            .map(|w| (Level::WARN, w.to_string())),
    );
    assert_eq!(events, want);
}

#[test]
fn bind_all_logs_the_table_once_and_each_warning_or_nothing() {
    let recorder = Recorder::default();
    let bound =
        tracing::subscriber::with_default(recorder.clone(), || listenspec::bind_all(&spec()))
            .unwrap();
    assert_logged(&bound, &recorder.events());
}

#[cfg(feature = "tokio")]
#[test]
fn bind_all_async_logs_the_same() {
    let recorder = Recorder::default();
    let bound = tracing::subscriber::with_default(recorder.clone(), || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(listenspec::bind_all_async(&spec()))
    })
    .unwrap();
    assert_logged(&bound, &recorder.events());
}

#[test]
fn a_failed_bind_logs_nothing() {
    let recorder = Recorder::default();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let spec: ListenSpec = format!("local = 127.0.0.1 expose=local\nlocal.web = http:{port}")
        .parse()
        .unwrap();
    let result =
        tracing::subscriber::with_default(recorder.clone(), || listenspec::bind_all(&spec));
    assert!(result.is_err());
    assert_eq!(recorder.events(), []);
}
