//! Looking names up with the system resolver: getaddrinfo(3) through std's
//! `ToSocketAddrs`, so `/etc/hosts`, `nsswitch.conf` and `resolv.conf`
//! apply as they do for every other program on the host. The `dns` feature
//! without `dns-hickory`; see the parent module for what it costs.
//!
//! getaddrinfo blocks and takes no timeout, so the lookups run on threads
//! of their own and the caller waits for their answers until a deadline.
//! A lookup still running then is abandoned: its name is recorded as
//! failed, and its thread is left to finish on its own, when the system
//! resolver gives up (the `timeout:` × `attempts:` of `resolv.conf`, per
//! nameserver and search domain); nothing waits for it, and its answer is
//! dropped. The threads are bounded twice, so a spec with ten thousand
//! names, or a watch capturing again and again against a resolver that
//! never answers, cannot start ten thousand: one batch runs its names on at
//! most [`BATCH_THREADS`], each taking the next name when done with one,
//! and the process has at most [`MAX_THREADS`] alive, abandoned ones
//! included.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{CaptureError, CaptureOptions};
use crate::host::DnsAnswer;

/// The most threads one batch of names runs on.
const BATCH_THREADS: usize = 4;

/// The most lookup threads alive at once in this process, those of
/// abandoned lookups included: four batches' worth.
const MAX_THREADS: usize = 4 * BATCH_THREADS;

/// The lookup threads alive now.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Looks `names` up, waiting on this thread at most `limit`, or without
/// one the capture's deadline, [`CaptureOptions::timeout`] ×
/// [`CaptureOptions::attempts`].
pub(super) fn lookup_blocking(
    names: &[&str],
    opts: &CaptureOptions,
    limit: Option<Duration>,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    let names = names.iter().map(|n| (*n).to_owned()).collect();
    lookup_owned(names, opts, limit)
}

/// [`lookup_blocking`] from async code: the wait blocks, so it runs on one
/// of Tokio's blocking threads, never on the runtime's own.
#[cfg(feature = "tokio")]
pub(super) async fn lookup_all(
    names: &[&str],
    opts: &CaptureOptions,
    limit: Option<Duration>,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let opts = opts.clone();
    match tokio::task::spawn_blocking(move || lookup_owned(names, &opts, limit)).await {
        Ok(answers) => answers,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: the runtime is shutting down.
        Err(e) => Err(CaptureError::Runtime(io::Error::other(e))),
    }
}

fn lookup_owned(
    names: Vec<String>,
    opts: &CaptureOptions,
    limit: Option<Duration>,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    if let Some(servers) = &opts.nameservers {
        return Err(CaptureError::NameserversNeedHickory {
            nameservers: servers.clone(),
        });
    }
    // `validate` bounds attempts to 10.
    let attempts = u32::try_from(opts.attempts).unwrap_or(u32::MAX);
    let deadline = limit.unwrap_or_else(|| opts.timeout.saturating_mul(attempts));
    lookup_batch(names, deadline, system_lookup, &LIVE, MAX_THREADS)
}

/// One name through getaddrinfo(3), its addresses sorted as the snapshot
/// promises (IPv4 first) and without repeats: getaddrinfo lists an address
/// once per socket type unless told one, and orders them by `gai.conf`.
fn system_lookup(name: &str) -> DnsAnswer {
    match (name, 0).to_socket_addrs() {
        Ok(found) => {
            let mut addrs: Vec<IpAddr> = found.map(|a| a.ip()).collect();
            addrs.sort_unstable();
            addrs.dedup();
            if addrs.is_empty() {
                DnsAnswer::Failed {
                    error: "the system resolver (getaddrinfo) returned no addresses".to_owned(),
                }
            } else {
                DnsAnswer::Addrs(addrs)
            }
        }
        Err(e) => DnsAnswer::Failed {
            error: describe(&e),
        },
    }
}

/// getaddrinfo's error as std words it, without std's preamble: "Name or
/// service not known" (no such name), "Temporary failure in name
/// resolution" (no nameserver answered), and so on.
fn describe(e: &io::Error) -> String {
    let text = e.to_string();
    let detail = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text);
    format!("the system resolver (getaddrinfo) failed: {detail}")
}

/// What the threads of one batch share: the names, the next one to take,
/// and under the lock the answers so far, the threads still working, and
/// whether the caller stopped waiting.
struct Batch {
    names: Vec<String>,
    next: AtomicUsize,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    answers: Vec<Option<DnsAnswer>>,
    working: usize,
    abandoned: bool,
}

impl Batch {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a lookup that panicked
        // elsewhere left the answers as they were.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A place among the `max` lookup threads `live` counts, given back when
/// dropped: when its thread ends, or with a thread that failed to start.
struct Slot(&'static AtomicUsize);

impl Slot {
    fn take(live: &'static AtomicUsize, max: usize) -> Option<Slot> {
        live.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| Slot(live))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Looks every name up with `lookup` on at most [`BATCH_THREADS`] new
/// threads, within the `max` that `live` counts, and waits at most
/// `deadline` for all the answers. A name without an answer by then is
/// recorded as failed; the threads still looking are abandoned (see the
/// module docs), and take no further name.
fn lookup_batch(
    names: Vec<String>,
    deadline: Duration,
    lookup: fn(&str) -> DnsAnswer,
    live: &'static AtomicUsize,
    max: usize,
) -> Result<BTreeMap<String, DnsAnswer>, CaptureError> {
    let count = names.len();
    let batch = Arc::new(Batch {
        names,
        next: AtomicUsize::new(0),
        state: Mutex::new(State {
            answers: (0..count).map(|_| None).collect(),
            working: 0,
            abandoned: false,
        }),
        changed: Condvar::new(),
    });
    let mut started = false;
    for _ in 0..count.min(BATCH_THREADS) {
        let Some(slot) = Slot::take(live, max) else {
            break;
        };
        batch.lock().working += 1;
        let worker = Worker(Arc::clone(&batch));
        let spawned = std::thread::Builder::new()
            .name("listenspec-dns".to_owned())
            .spawn(move || {
                let _slot = slot;
                worker.work(lookup);
            });
        match spawned {
            Ok(_) => started = true,
            Err(e) if !started => return Err(CaptureError::Runtime(e)),
            // The threads already started take every name in turn.
            Err(_) => break,
        }
    }
    let mut state = batch.lock();
    let missing = if !started {
        format!(
            "not looked up: {max} lookups of other captures, or abandoned by earlier ones, are still waiting for the system resolver (is its nameserver answering?)"
        )
    } else {
        let (waited, timeout) = batch
            .changed
            .wait_timeout_while(state, deadline, |s| s.working > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state = waited;
        if timeout.timed_out() {
            format!(
                "no answer within {deadline:?} from the system resolver (getaddrinfo; its own timeouts are those of resolv.conf)"
            )
        } else {
            // Only a thread that panicked leaves a name without one.
            "the lookup thread ended without an answer".to_owned()
        }
    };
    state.abandoned = true;
    let answers = std::mem::take(&mut state.answers);
    drop(state);
    Ok(batch
        .names
        .iter()
        .zip(answers)
        .map(|(name, answer)| {
            let answer = answer.unwrap_or_else(|| DnsAnswer::Failed {
                error: missing.clone(),
            });
            (name.clone(), answer)
        })
        .collect())
}

/// One thread of a batch; when it ends, however it ends, the batch counts
/// one thread fewer and the caller hears of it.
struct Worker(Arc<Batch>);

impl Worker {
    /// The next name, until none is left or the caller stopped waiting.
    fn work(&self, lookup: fn(&str) -> DnsAnswer) {
        let batch = &self.0;
        loop {
            let i = batch.next.fetch_add(1, Ordering::Relaxed);
            let Some(name) = batch.names.get(i) else {
                return;
            };
            if batch.lock().abandoned {
                return;
            }
            let answer = lookup(name);
            let mut state = batch.lock();
            if state.abandoned {
                return;
            }
            state.answers[i] = Some(answer);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.lock().working -= 1;
        self.0.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    use std::time::{Duration, Instant};

    use super::{BATCH_THREADS, DnsAnswer, lookup_batch};

    /// A lookup that blocks until [`release`], as getaddrinfo does against
    /// a nameserver that never answers; [`STARTED`] counts the calls.
    static GATE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
    static STARTED: AtomicUsize = AtomicUsize::new(0);

    fn hang(_: &str) -> DnsAnswer {
        STARTED.fetch_add(1, Ordering::SeqCst);
        let (open, cv) = &GATE;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        DnsAnswer::Addrs(Vec::new())
    }

    fn release() {
        let (open, cv) = &GATE;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }

    fn fixed(name: &str) -> DnsAnswer {
        DnsAnswer::Addrs(vec![[198, 51, 100, name.len() as u8].into()])
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}.test")).collect()
    }

    /// The bounds the docs promise (module docs of `capture`, README).
    #[test]
    fn four_threads_a_capture_and_sixteen_a_process() {
        assert_eq!((BATCH_THREADS, super::MAX_THREADS), (4, 16));
    }

    #[test]
    fn every_name_answered_on_few_threads() {
        static LIVE: AtomicUsize = AtomicUsize::new(0);
        let answers = lookup_batch(names(100), Duration::from_secs(30), fixed, &LIVE, 16).unwrap();
        assert_eq!(answers.len(), 100);
        for (name, answer) in &answers {
            assert_eq!(answer, &fixed(name), "{name}");
        }
    }

    /// A lookup that panics loses its own name, said so, and no other: the
    /// thread's end is counted however it ends, so the caller neither
    /// waits for the deadline nor loses the other answers.
    #[test]
    fn a_panicking_lookup_fails_its_name_alone_at_once() {
        static LIVE: AtomicUsize = AtomicUsize::new(0);
        fn panics_on_n3(name: &str) -> DnsAnswer {
            assert_ne!(name, "n3.test", "the resolver broke");
            fixed(name)
        }
        let started = Instant::now();
        let answers =
            lookup_batch(names(10), Duration::from_secs(30), panics_on_n3, &LIVE, 16).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited for the deadline"
        );
        for (name, answer) in &answers {
            if name == "n3.test" {
                assert_eq!(
                    answer,
                    &DnsAnswer::Failed {
                        error: "the lookup thread ended without an answer".to_owned()
                    }
                );
            } else {
                assert_eq!(answer, &fixed(name), "{name}");
            }
        }
    }

    /// Ten thousand names against a resolver that never answers: the wait
    /// ends at the deadline with every name failed, having started at most
    /// one batch of threads, and the process never holds more than `max`:
    /// a batch that finds them all busy with abandoned lookups starts none
    /// and says why.
    #[test]
    fn a_hung_resolver_is_bounded_in_time_and_threads() {
        static LIVE: AtomicUsize = AtomicUsize::new(0);
        let deadline = Duration::from_millis(200);
        let started = Instant::now();
        let answers =
            lookup_batch(names(10_000), deadline, hang, &LIVE, 2 * BATCH_THREADS).unwrap();
        let took = started.elapsed();
        assert!(took >= deadline, "{took:?}");
        // A promise, not a speed test: slack for a loaded machine.
        assert!(took < deadline + Duration::from_secs(2), "{took:?}");
        assert_eq!(answers.len(), 10_000);
        assert!(answers.values().all(|a| matches!(
            a,
            DnsAnswer::Failed { error } if error.starts_with("no answer within 200ms from the system resolver")
        )));
        assert_eq!(STARTED.load(Ordering::SeqCst), BATCH_THREADS);
        assert_eq!(LIVE.load(Ordering::SeqCst), BATCH_THREADS);
        // A second batch takes the other half of the threads; a third none.
        lookup_batch(names(3), deadline, hang, &LIVE, 2 * BATCH_THREADS).unwrap();
        assert_eq!(STARTED.load(Ordering::SeqCst), 2 * BATCH_THREADS - 1);
        assert_eq!(LIVE.load(Ordering::SeqCst), 2 * BATCH_THREADS - 1);
        lookup_batch(
            names(BATCH_THREADS),
            deadline,
            hang,
            &LIVE,
            2 * BATCH_THREADS,
        )
        .unwrap();
        assert_eq!(LIVE.load(Ordering::SeqCst), 2 * BATCH_THREADS);
        let started = Instant::now();
        let refused = lookup_batch(names(2), deadline, hang, &LIVE, 2 * BATCH_THREADS).unwrap();
        assert!(started.elapsed() < deadline, "no thread, no wait");
        assert!(refused.values().all(|a| matches!(
            a,
            DnsAnswer::Failed { error } if error.contains("8 lookups of other captures, or abandoned by earlier ones")
        )));
        // The abandoned threads end when their lookups do, take no other
        // name, and give their places back.
        release();
        let until = Instant::now() + Duration::from_secs(10);
        while LIVE.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < until, "threads left");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(STARTED.load(Ordering::SeqCst), 2 * BATCH_THREADS);
    }
}
