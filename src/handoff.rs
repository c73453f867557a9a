//! Restarts that refuse no connection: the listening sockets handed to a
//! successor process, which plans its own spec and takes the ones that
//! still fit, while this process goes on accepting until the successor
//! says it serves.
//!
//! The sockets go the way socket activation passes them (descriptors from
//! 3, `LISTEN_FDS`, `LISTEN_FDNAMES` with each socket's endpoint name,
//! `LISTEN_PID` the successor's own id), so the successor's start-up is
//! the usual one: [`crate::bind_all`] and its kin take them by name after
//! the same checks as under systemd. Readiness is systemd's protocol too:
//! the successor calls [`notify_ready`] once it serves, which sends
//! `READY=1` to `NOTIFY_SOCKET`, here a socket of this process, in a
//! folder of its own (mode 0700, `listenspec-handoff-PID-RANDOM` in the
//! temporary directory) that the upgrade removes when it ends; a process
//! killed with SIGKILL during an upgrade leaves it there.
//!
//! Needs the `handoff` feature, which is off by default:
//! `listenspec = { version = "0.1", features = ["handoff"] }`;
//! [`StopAccepting`] needs `axum` too, [`Upgrader::upgrade_async`]
//! `tokio`, and [`Upgrader::follow`] `watch`.
//!
//! ```
//! use std::time::Duration;
//! use listenspec::handoff::{Successor, Upgrader};
//!
//! let spec: listenspec::ListenSpec = "local = 127.0.0.1; local.web = http:0".parse()?;
//! let mut bound = listenspec::bind_all(&spec)?;
//! // Before the endpoints are taken: the upgrader keeps a copy of each socket.
//! let upgrader = Upgrader::new(&bound)?;
//! let web: Vec<std::net::TcpListener> = bound.take("local", "web")?;
//! // ... serve `web`; on SIGHUP, say:
//! let successor = Successor::new("/bin/sh").arg("-c").arg("exit 3"); // a successor that fails
//! let err = upgrader.upgrade(&successor, Duration::from_secs(5)).unwrap_err();
//! assert!(err.to_string().contains("exited before it was ready"), "{err}");
//! // Refused: this process keeps its sockets and goes on serving.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The successor takes every inherited socket whose name and address its
//! own plan still has, binds what is new, and closes what its spec no
//! longer has, all or nothing; a plan it refuses (a widened exposure, a
//! mistake) fails its start-up as it would a fresh one, and this process
//! keeps serving. A Unix socket file goes with its socket: once the
//! successor is ready this process no longer removes it, and the successor
//! removes it when it ends (the file of an endpoint its spec dropped, as
//! soon as it is ready).
//!
//! # A server that upgrades on SIGHUP
//!
//! The whole of it with axum (features `handoff` and `axum`, which turns
//! `tokio` on): the upgrader made before the endpoints are taken, [`StopAccepting`] so that new
//! connections go to the successor the moment it is ready, readiness said
//! once the listeners are in place, and the graceful shutdown after a
//! successful upgrade. A successor is this same program, started afresh:
//! it runs the same `main`, takes the sockets, and says it is ready.
//!
//! Keep-alive connections need one more step. Closed while idle, as a
//! graceful shutdown closes them, a connection may meet the client's next
//! request on its way, and the client sees that request fail (`wrk` counts
//! a read error for each of its connections at each upgrade). So once
//! stopped, the server answers `Connection: close` for a moment before it
//! shuts down: a client's request in that moment is answered, and the
//! client reconnects, to the successor. (One idle through the whole
//! moment may still meet the close: HTTP/1.1 leaves that race to clients,
//! which send an idempotent request again.)
//!
//! ```
//! # #[cfg(all(unix, feature = "axum"))]
//! # mod server {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use axum::{Router, routing::get};
//! use listenspec::handoff::{StopAccepting, Successor, Upgrader, notify_ready};
//! use listenspec::serve::AnyListener;
//! use tokio::signal::unix::{SignalKind, signal};
//!
//! /// Serves `spec` until a SIGHUP's upgrade to `successor` succeeds (in a
//! /// server, `Successor::this_program()?`: the binary on disk now).
//! pub async fn serve(spec: &str, successor: Successor) -> Result<(), Box<dyn std::error::Error>> {
//!     let spec: listenspec::ListenSpec = spec.parse()?;
//!     // Under a predecessor, this takes the sockets it handed over.
//!     let mut bound = listenspec::bind_all_async(&spec).await?;
//!     let upgrader = Arc::new(Upgrader::new(&bound)?);
//!     let listener = bound.take::<AnyListener>("public", "http")?;
//!
//!     let (stop, stopped) = tokio::sync::watch::channel(false);
//!     let closing = stopped.clone();
//!     let until_stopped = move || {
//!         let mut stopped = stopped.clone();
//!         async move { _ = stopped.wait_for(|s| *s).await }
//!     };
//!     let app = Router::new()
//!         .route("/", get(|| async { "hello" }))
//!         // Once stopped, each response tells its client to reconnect.
//!         .layer(axum::middleware::map_response(move |mut res: axum::response::Response| {
//!             if *closing.borrow() {
//!                 let close = axum::http::HeaderValue::from_static("close");
//!                 res.headers_mut().insert(axum::http::header::CONNECTION, close);
//!             }
//!             std::future::ready(res)
//!         }));
//!     let server = axum::serve(StopAccepting::new(listener, until_stopped()), app)
//!         .with_graceful_shutdown(async move {
//!             until_stopped().await;
//!             // A moment for keep-alive clients to be told.
//!             tokio::time::sleep(Duration::from_secs(1)).await;
//!         });
//!     // SIGHUP is handled before anyone sees this process serve: its
//!     // default action would end it.
//!     let mut hangup = signal(SignalKind::hangup())?;
//!     let server = tokio::spawn(server.into_future());
//!     // Ready: a predecessor (or systemd) is told, and stops accepting.
//!     notify_ready()?;
//!
//!     while hangup.recv().await.is_some() {
//!         match upgrader.upgrade_async(successor.clone(), Duration::from_secs(30)).await {
//!             Ok(upgraded) => {
//!                 eprintln!("upgraded: {upgraded}");
//!                 break;
//!             }
//!             // The successor was stopped; this process serves on.
//!             Err(e) => eprintln!("upgrade refused: {e}"),
//!         }
//!     }
//!     // New connections go to the successor; those under way finish here.
//!     stop.send(true)?;
//!     server.await??;
//!     Ok(())
//! }
//! # }
//! # #[cfg(all(unix, feature = "axum"))]
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #     use tokio::signal::unix::{SignalKind, signal};
//! #     // Run as its own successor: it says it is ready and ends.
//! #     if std::env::var_os("HANDOFF_DOC_SUCCESSOR").is_some() {
//! #         listenspec::handoff::notify_ready()?;
//! #         return Ok(());
//! #     }
//! #     let successor = listenspec::handoff::Successor::this_program()?.env("HANDOFF_DOC_SUCCESSOR", "1");
//! #     // SIGHUP handled from here on (its default ends the process); sent
//! #     // until the upgrade is done, since a stream only sees later signals.
//! #     let _handled = signal(SignalKind::hangup())?;
//! #     let pid = std::process::id().to_string();
//! #     tokio::spawn(async move {
//! #         loop {
//! #             tokio::time::sleep(std::time::Duration::from_millis(100)).await;
//! #             let _ = std::process::Command::new("kill").args(["-HUP", &pid]).status();
//! #         }
//! #     });
//! #     server::serve("public = 127.0.0.1 expose=local; public.http = http:0", successor).await
//! # }
//! # #[cfg(not(all(unix, feature = "axum")))]
//! # fn main() {}
//! ```
//!
//! `examples/upgrade_server.rs` in the repository is this server with
//! several endpoints and TERM handling, which the tests upgrade ten times
//! under load, and under `wrk`'s keep-alive connections.
//!
//! # The process tree, and supervisors
//!
//! The successor is this process's child, and outlives it: when this
//! process exits, the successor is adopted by the nearest subreaper or by
//! init, and goes on serving. Whoever watches this process sees it exit:
//!
//! - Under systemd, restart through the service manager instead:
//!   [`Upgrader::store_fds`] hands the sockets to systemd's file
//!   descriptor store, which passes them back to the restarted service.
//! - In a container, the process the runtime started is the container:
//!   when it exits the container ends, its successor with it, whatever
//!   init runs as PID 1 (tini and `docker run --init` exit with their
//!   child). Upgrade there with the orchestrator's rolling update.
//! - Started from a shell, the shell's prompt returns when this process
//!   exits, while the successor goes on writing to the same terminal.

#[cfg(unix)]
use std::ffi::CString;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::PathBuf;
#[cfg(any(unix, feature = "tokio"))]
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};

use crate::Bound;
use crate::bind::HANDOFF_VAR;

/// The program a successor runs, with its arguments and the variables it
/// gets beside this process's own.
#[derive(Debug, Clone)]
// Off Unix no successor is started, so nothing reads its fields.
#[cfg_attr(not(unix), allow(dead_code))]
pub struct Successor {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl Successor {
    /// `program` (a path, not looked up in `PATH`) with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Successor {
        Successor {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// This very program, with the arguments it was started with: the
    /// successor of an upgrade that replaced the binary on disk. Where the
    /// binary was replaced by a rename over it (as package managers and
    /// `install` do), the path it was started from, which holds the new
    /// one.
    pub fn this_program() -> io::Result<Successor> {
        Ok(Successor {
            program: replaced(std::env::current_exe()?),
            args: std::env::args_os().skip(1).collect(),
            env: Vec::new(),
        })
    }

    /// Adds an argument.
    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Successor {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Replaces the arguments.
    #[must_use]
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Successor {
        self.args = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        self
    }

    /// Sets a variable for the successor, over this process's own; set
    /// twice, the last value is the one passed. The variables the handoff
    /// sets itself (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`,
    /// `NOTIFY_SOCKET` and `LISTENSPEC_HANDOFF`) cannot be set here:
    /// [`Upgrader::upgrade`] refuses them ([`HandoffError::Variable`]).
    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Successor {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }
}

/// A successor that serves: this process should stop accepting now and
/// let the connections under way finish (its framework's graceful
/// shutdown), then exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upgraded {
    /// The successor's process id.
    pub pid: u32,
    /// From the upgrade's start to the successor's `READY=1`.
    pub took: Duration,
}

/// Why an upgrade did not happen. In every case this process keeps its
/// sockets and goes on serving; a successor that was started is stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum HandoffError {
    /// Passing sockets to another process is not done on this system.
    Unsupported {
        /// The operating system.
        os: &'static str,
    },
    /// Another upgrade of this upgrader is under way.
    InProgress,
    /// The sockets could not be duplicated, or the readiness socket made.
    Prepare(io::Error),
    /// The successor could not be started.
    Start {
        /// The program.
        program: PathBuf,
        /// The OS's error.
        error: io::Error,
    },
    /// The successor ended before it said it was ready.
    Exited {
        /// Its process id.
        pid: u32,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// The successor did not say it was ready in time, and was killed.
    NotReady {
        /// Its process id.
        pid: u32,
        /// The deadline given.
        within: Duration,
        /// Another process that said `READY=1` (the last one's id): a
        /// child of the successor, say, which is not heeded (on Linux,
        /// where the sender is known).
        heard_from: Option<u32>,
    },
    /// Waiting for the successor failed.
    Wait(io::Error),
    /// A variable given with [`Successor::env`] that cannot be passed as
    /// given; no successor was started.
    Variable {
        /// Its name, as given.
        name: OsString,
        /// Why it cannot be passed.
        reason: VariableError,
    },
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandoffError::Unsupported { os } => write!(
                f,
                "handing sockets to a successor is not supported on {os}: restart the server instead (its clients see refused connections meanwhile)"
            ),
            HandoffError::InProgress => f.write_str(
                "an upgrade is under way already: wait for it to end before starting another",
            ),
            HandoffError::Prepare(error) => {
                write!(f, "the upgrade could not be prepared: {error}")
            }
            HandoffError::Start { program, error } => write!(
                f,
                "the successor {program:?} could not be started: {error}; check the path and that it is executable"
            ),
            HandoffError::Exited { pid, status } => write!(
                f,
                "the successor (pid {pid}) exited before it was ready ({status}); this process keeps serving. Its own output says why: a spec or bind error at its start-up, say"
            ),
            HandoffError::NotReady {
                pid,
                within,
                heard_from,
            } => {
                write!(
                    f,
                    "the successor (pid {pid}) did not say it was ready within {within:?}, and was killed; this process keeps serving. "
                )?;
                match heard_from {
                    Some(other) => write!(
                        f,
                        "READY=1 came from pid {other} instead, another process (one the successor started, say), and only the successor's own is heeded: a wrapper script starts the server with `exec`, so that the server is the successor"
                    ),
                    None => f.write_str(
                        "A successor calls listenspec::handoff::notify_ready() once it serves",
                    ),
                }
            }
            HandoffError::Wait(error) => write!(f, "waiting for the successor failed: {error}"),
            HandoffError::Variable { name, reason } => {
                write!(f, "the successor's variable {name:?} {reason}")
            }
        }
    }
}

impl std::error::Error for HandoffError {}

/// Why a variable given with [`Successor::env`] cannot be passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VariableError {
    /// One the handoff sets itself, to tell the successor its sockets and
    /// where to say it is ready.
    Reserved,
    /// A name that is empty or holds `=`, or a name or value that holds a
    /// NUL byte, which an environment cannot carry.
    Malformed,
}

impl fmt::Display for VariableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VariableError::Reserved => {
                "is set by the handoff itself, to pass the sockets and readiness: remove it from Successor::env"
            }
            VariableError::Malformed => {
                "cannot be put in an environment (an empty name, '=' in the name, or a NUL byte): fix its name or value in Successor::env"
            }
        })
    }
}

impl std::error::Error for VariableError {}

/// The variables the handoff sets in the successor's environment.
const SET_HERE: [&str; 5] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "NOTIFY_SOCKET",
    HANDOFF_VAR,
];

/// The successor's own variables, checked: a second `LISTEN_FDS`, say,
/// would be the one it read, and point it at the wrong sockets.
fn check_env(successor: &Successor) -> Result<(), HandoffError> {
    for (name, value) in &successor.env {
        let bad = |reason| HandoffError::Variable {
            name: name.clone(),
            reason,
        };
        if SET_HERE.iter().any(|s| name == s) {
            return Err(bad(VariableError::Reserved));
        }
        let (n, v) = (name.as_encoded_bytes(), value.as_encoded_bytes());
        if n.is_empty() || n.contains(&b'=') || n.contains(&0) || v.contains(&0) {
            return Err(bad(VariableError::Malformed));
        }
    }
    Ok(())
}

/// One socket to pass: its endpoint name, a duplicate of it, and the
/// socket file that goes with it.
#[cfg(unix)]
#[derive(Debug)]
struct Passed {
    name: String,
    fd: OwnedFd,
    /// An IP socket's address, which a followed change may close.
    #[cfg(feature = "watch")]
    addr: Option<std::net::SocketAddr>,
    /// The file's path, device and inode, and the flag that keeps this
    /// process from removing it.
    file: Option<(PathBuf, u64, u64, Arc<AtomicBool>)>,
}

/// Hands this process's listening sockets to a successor process: made
/// from [`Bound`] before its endpoints are taken, it keeps a duplicate of
/// every socket, so the server can serve them meanwhile.
///
/// A server that follows the host with a [`Watch`](crate::watch::Watch)
/// (feature `watch`) gives each [`Change`](crate::watch::Change) to
/// [`Upgrader::follow`] too, before its listeners take the new sockets,
/// so that what it hands over is what it serves.
#[derive(Debug)]
pub struct Upgrader {
    #[cfg(unix)]
    sockets: std::sync::Mutex<Vec<Passed>>,
    busy: AtomicBool,
}

impl Upgrader {
    /// Keeps a duplicate of every socket of `bound` (close-on-exec), with
    /// its endpoint name.
    pub fn new(bound: &Bound) -> Result<Upgrader, HandoffError> {
        #[cfg(unix)]
        {
            let mut sockets = Vec::new();
            for ep in bound.endpoints() {
                let name = ep.qualified().to_string();
                for s in ep.sockets() {
                    let fd = copy_of(s.listener());
                    sockets.push(Passed {
                        name: name.clone(),
                        fd: fd.map_err(HandoffError::Prepare)?,
                        #[cfg(feature = "watch")]
                        addr: Some(s.local_addr()),
                        file: None,
                    });
                }
                if let Some(u) = ep.unix() {
                    let (fd, file) = match u.socket() {
                        crate::bind::UnixSocket::Stream(l) => {
                            (l.as_fd().try_clone_to_owned(), l.file())
                        }
                        crate::bind::UnixSocket::Datagram(d) => {
                            (d.as_fd().try_clone_to_owned(), d.file())
                        }
                    };
                    let file = file.map(|f| {
                        let (path, made, keep) = f.handoff();
                        (path.to_owned(), made.dev, made.ino, keep)
                    });
                    sockets.push(Passed {
                        name: name.clone(),
                        fd: fd.map_err(HandoffError::Prepare)?,
                        #[cfg(feature = "watch")]
                        addr: None,
                        file,
                    });
                }
            }
            Ok(Upgrader {
                sockets: std::sync::Mutex::new(sockets),
                busy: AtomicBool::new(false),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = bound;
            Err(HandoffError::Unsupported {
                os: std::env::consts::OS,
            })
        }
    }

    /// Follows a change of the host: the sockets it closes are no longer
    /// handed over, the ones it opens are (a copy of each, taken here:
    /// call it before the listeners take them from the change). Needs the
    /// `watch` feature.
    #[cfg(feature = "watch")]
    pub fn follow(&self, change: &crate::watch::Change) -> Result<(), HandoffError> {
        #[cfg(unix)]
        {
            let closed: std::collections::HashSet<(String, std::net::SocketAddr)> = change
                .closed()
                .iter()
                .map(|(n, a)| (n.to_string(), *a))
                .collect();
            let mut sockets = self.lock();
            sockets.retain(|s| {
                s.addr
                    .is_none_or(|a| !closed.contains(&(s.name.clone(), a)))
            });
            for (name, socket) in change.sockets() {
                let fd = copy_of(socket.listener());
                sockets.push(Passed {
                    name: name.to_string(),
                    fd: fd.map_err(HandoffError::Prepare)?,
                    addr: Some(socket.local_addr()),
                    file: None,
                });
            }
            // Each endpoint's sockets together, as `store_fds` sends them.
            sockets.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(())
        }
        #[cfg(not(unix))]
        {
            let _ = change;
            Err(HandoffError::Unsupported {
                os: std::env::consts::OS,
            })
        }
    }

    /// The endpoint names and addresses of the sockets an upgrade would
    /// hand over now, for a test to compare.
    #[cfg(all(test, unix))]
    fn handed(&self) -> Vec<(String, Option<std::net::SocketAddr>)> {
        self.lock()
            .iter()
            .map(|s| (s.name.clone(), s.addr))
            .collect()
    }

    /// The sockets to hand over. A poisoned lock is taken as it is: the
    /// list is whole after every step that changes it.
    #[cfg(unix)]
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Passed>> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts `successor` with the sockets and waits, at most `ready_within`,
    /// for it to say it serves. On success this process should stop
    /// accepting and finish what it serves; its socket files are now the
    /// successor's. Otherwise the successor is stopped (killed if it still
    /// runs) and this process keeps everything. One upgrade at a time.
    pub fn upgrade(
        &self,
        successor: &Successor,
        ready_within: Duration,
    ) -> Result<Upgraded, HandoffError> {
        check_env(successor)?;
        if self.busy.swap(true, Ordering::SeqCst) {
            return Err(HandoffError::InProgress);
        }
        let result = self.upgrade_once(successor, ready_within);
        self.busy.store(false, Ordering::SeqCst);
        result
    }

    /// [`Upgrader::upgrade`] on tokio's blocking threads, for async code:
    /// the wait for the successor blocks a thread for up to `ready_within`,
    /// so the upgrader is shared (`Arc`) and the successor moved to that
    /// thread.
    #[cfg(feature = "tokio")]
    pub async fn upgrade_async(
        self: &Arc<Self>,
        successor: Successor,
        ready_within: Duration,
    ) -> Result<Upgraded, HandoffError> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.upgrade(&successor, ready_within))
            .await
            .unwrap_or_else(|e| Err(HandoffError::Wait(io::Error::other(e))))
    }

    #[cfg(unix)]
    fn upgrade_once(
        &self,
        successor: &Successor,
        ready_within: Duration,
    ) -> Result<Upgraded, HandoffError> {
        let start = Instant::now();
        let notify = NotifySocket::new().map_err(HandoffError::Prepare)?;
        let sockets = self.lock();
        let env = successor_env(&sockets, successor, &notify.path);
        let program = c_string(successor.program.as_os_str());
        let mut args = vec![program.clone()];
        args.extend(successor.args.iter().map(|a| c_string(a)));
        let fds: Vec<_> = sockets.iter().map(|s| s.fd.as_fd()).collect();
        let handoff = handoff_entry(&sockets);
        let with_pid = [b"LISTEN_PID=".as_slice(), &handoff];
        let pid = crate::sys::spawn_with_sockets(&program, &args, &env, &with_pid, &fds).map_err(
            |error| HandoffError::Start {
                program: successor.program.clone(),
                error,
            },
        )?;
        let upid = pid.unsigned_abs();
        let mut heard_from = None;
        loop {
            // Short waits, so a successor that ends is seen soon; measured
            // from the start, as `Duration::MAX` is no `Instant`.
            let left = ready_within.saturating_sub(start.elapsed());
            let wait = Instant::now() + left.min(Duration::from_millis(50));
            match notify.ready_by(pid, wait, &mut heard_from) {
                Ok(true) => {
                    for s in sockets.iter() {
                        if let Some((.., keep)) = &s.file {
                            keep.store(true, Ordering::Relaxed);
                        }
                    }
                    return Ok(Upgraded {
                        pid: upid,
                        took: start.elapsed(),
                    });
                }
                Ok(false) => {}
                Err(e) => {
                    let _ = crate::sys::kill_and_reap(pid);
                    return Err(HandoffError::Wait(e));
                }
            }
            match crate::sys::try_wait(pid) {
                Ok(Some(status)) => return Err(HandoffError::Exited { pid: upid, status }),
                Ok(None) => {}
                // ECHILD where SIGCHLD is ignored: the successor cannot be
                // watched, so it is stopped as one that is not ready.
                Err(e) => {
                    let _ = crate::sys::kill_and_reap(pid);
                    return Err(HandoffError::Wait(e));
                }
            }
            if start.elapsed() >= ready_within {
                let _ = crate::sys::kill_and_reap(pid);
                return Err(HandoffError::NotReady {
                    pid: upid,
                    within: ready_within,
                    heard_from,
                });
            }
        }
    }

    #[cfg(not(unix))]
    fn upgrade_once(&self, _: &Successor, _: Duration) -> Result<Upgraded, HandoffError> {
        Err(HandoffError::Unsupported {
            os: std::env::consts::OS,
        })
    }

    /// Hands the sockets to systemd's file descriptor store (`FDSTORE=1`,
    /// each endpoint's sockets under `FDNAME=` its name), so that a
    /// `systemctl restart` passes them back to the new process, which takes
    /// them as socket activation. Returns how many sockets were stored;
    /// none when `NOTIFY_SOCKET` is not set (not run by systemd), and none
    /// in a successor of an upgrade, whose `NOTIFY_SOCKET` is its
    /// predecessor's, which stores nothing. The unit
    /// needs `FileDescriptorStoreMax=` at least that many, and
    /// `NotifyAccess=` letting this process notify.
    pub fn store_fds(&self) -> Result<usize, HandoffError> {
        #[cfg(unix)]
        {
            // A successor's `NOTIFY_SOCKET` is its predecessor's, which
            // stores nothing (and is gone once it heard `READY=1`).
            if crate::bind::is_successor() {
                return Ok(0);
            }
            let Some(to) = notify_address().map_err(HandoffError::Prepare)? else {
                return Ok(0);
            };
            let socket = notify_socket().map_err(HandoffError::Prepare)?;
            let sockets = self.lock();
            let mut stored = 0;
            let mut i = 0;
            while i < sockets.len() {
                let name = &sockets[i].name;
                let run = sockets[i..].iter().take_while(|s| &s.name == name).count();
                let fds: Vec<_> = sockets[i..i + run].iter().map(|s| s.fd.as_fd()).collect();
                let message = format!("FDSTORE=1\nFDNAME={name}\n");
                crate::sys::send_with_fds(socket.as_fd(), &to, message.as_bytes(), &fds)
                    .map_err(HandoffError::Prepare)?;
                stored += run;
                i += run;
            }
            Ok(stored)
        }
        #[cfg(not(unix))]
        Err(HandoffError::Unsupported {
            os: std::env::consts::OS,
        })
    }
}

/// The handoff's variable but for the successor's id, which the child
/// writes after the `;` between fork and exec, as it writes `LISTEN_PID`:
/// which sockets carry their file, `INDEX:DEV:INO:PATH` comma-separated
/// (the path's bytes in hexadecimal, so no byte of it reads as a
/// separator). The
/// successor takes it for a handoff only with its own id there, so a copy
/// left in the environment of a process it starts later is none, and its
/// predecessor may die before it reads it.
#[cfg(unix)]
fn handoff_entry(sockets: &[Passed]) -> Vec<u8> {
    let files: Vec<String> = sockets
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.file
                .as_ref()
                .map(|(path, dev, ino, _)| format!("{i}:{dev}:{ino}:{}", hex(path)))
        })
        .collect();
    format!("{HANDOFF_VAR}={};", files.join(",")).into_bytes()
}

/// A path's bytes in hexadecimal.
#[cfg(unix)]
fn hex(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The successor's environment: this process's, less what activation
/// and readiness set, then the successor's own variables, then the
/// sockets' (`LISTEN_PID` and `LISTENSPEC_HANDOFF`, which end in the
/// successor's id, are written by the child itself).
#[cfg(unix)]
fn successor_env(
    sockets: &[Passed],
    successor: &Successor,
    notify: &std::path::Path,
) -> Vec<CString> {
    use std::os::unix::ffi::OsStrExt;
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !SET_HERE.iter().any(|s| k == s))
        .filter(|(k, _)| !successor.env.iter().any(|(o, _)| o == k))
        .collect();
    // The last value of a name set twice, as `Command::env` keeps it.
    let own = &successor.env;
    vars.extend(
        own.iter()
            .enumerate()
            .filter(|&(i, (k, _))| !own[i + 1..].iter().any(|(o, _)| o == k))
            .map(|(_, kv)| kv.clone()),
    );
    let names: Vec<&str> = sockets.iter().map(|s| s.name.as_str()).collect();
    vars.push(("LISTEN_FDS".into(), sockets.len().to_string().into()));
    vars.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
    vars.push(("NOTIFY_SOCKET".into(), notify.as_os_str().to_owned()));
    vars.into_iter()
        .map(|(k, v)| {
            let mut entry = k.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            // This process's environment holds no NUL, and `check_env`
            // refused one in the successor's own.
            CString::new(entry).expect("no NUL in an environment variable")
        })
        .collect()
}

/// Says `READY=1` to the process that started this one (a predecessor in
/// an upgrade, or systemd for a `Type=notify` service), through
/// `NOTIFY_SOCKET`; returns whether it was heard there: `false` when
/// `NOTIFY_SOCKET` is not set, and when nothing listens at it any more.
///
/// Call it from the server's own process (a wrapper script `exec`s the
/// server): on Linux a predecessor heeds a `READY=1` from its successor's
/// process alone, not from one the successor started.
///
/// Call it when the server is ready to serve (its sockets bound and
/// taken, the application built), just before it starts accepting: the
/// predecessor stops accepting when it hears it. A successor that fails
/// before then has accepted no connection, so its predecessor, which goes
/// on serving, loses none. A predecessor that died during the upgrade
/// (killed, or crashed) has left its sockets to this process, which is
/// then the only one to serve them: that is `Ok(false)`, not an error, so
/// `notify_ready()?` goes on to serve.
///
/// A successor tells its predecessor once: a later call sends nothing and
/// is `Ok(false)`, since the predecessor has removed its socket and
/// anyone may make that path again. `NOTIFY_SOCKET` stays in the
/// environment (removing it is unsafe in a threaded program): start
/// other programs with `Command::env_remove("NOTIFY_SOCKET")`. A send
/// waits at most a second for room in the listener's queue.
pub fn notify_ready() -> io::Result<bool> {
    #[cfg(unix)]
    {
        // A predecessor hears once: once it has, it stops and removes its
        // socket's directory, and whoever makes that path again in the
        // temporary folder would hear the rest.
        let heard_before =
            crate::bind::is_successor() && PREDECESSOR_TOLD.swap(true, Ordering::SeqCst);
        let told = match notify_address()? {
            Some(to) if !heard_before => {
                let socket = notify_socket()?;
                match socket.send_to(b"READY=1\n", &to) {
                    Ok(_) => true,
                    // The listener is gone: its socket file is left unbound
                    // (ECONNREFUSED), or removed with its directory.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
                        ) =>
                    {
                        false
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => false,
        };
        // Serving now, alone or soon: the socket files handed over are
        // this process's to remove when it is done.
        crate::bind::unix::successor_ready();
        Ok(told)
    }
    #[cfg(not(unix))]
    Ok(false)
}

/// Whether this process, a successor, has told its predecessor it is
/// ready: its `NOTIFY_SOCKET` is then stale, and nothing more is sent
/// there.
#[cfg(unix)]
static PREDECESSOR_TOLD: AtomicBool = AtomicBool::new(false);

/// How long a message to `NOTIFY_SOCKET` may wait for room in a full
/// queue before it is an error.
#[cfg(unix)]
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(1);

/// A datagram socket to send to `NOTIFY_SOCKET` from: a listener whose
/// queue is full holds a send no longer than [`NOTIFY_TIMEOUT`].
#[cfg(unix)]
fn notify_socket() -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None)?;
    socket.set_write_timeout(Some(NOTIFY_TIMEOUT))?;
    Ok(socket)
}

/// The path of this program's binary on disk now: Linux names a running
/// binary that was renamed over or removed `PATH (deleted)`, and the
/// upgrade is to whatever `PATH` holds now.
fn replaced(exe: PathBuf) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if let Some(path) = exe.as_os_str().as_bytes().strip_suffix(b" (deleted)")
            && !exe.exists()
        {
            return PathBuf::from(OsStr::from_bytes(path));
        }
    }
    exe
}

/// A copy of an IP socket's descriptor (close-on-exec), to hand over.
#[cfg(unix)]
fn copy_of(listener: &crate::bind::Listener) -> io::Result<OwnedFd> {
    match listener {
        crate::bind::Listener::Tcp(l) => l.as_fd().try_clone_to_owned(),
        crate::bind::Listener::Udp(u) => u.as_fd().try_clone_to_owned(),
    }
}

/// `NOTIFY_SOCKET` as an address: a path, or `@name` for Linux's abstract
/// namespace; `None` when it is not set.
#[cfg(unix)]
fn notify_address() -> io::Result<Option<socket2::SockAddr>> {
    use std::os::unix::ffi::OsStrExt;
    let Some(value) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let path: Vec<u8> = match bytes.split_first() {
        Some((b'@', name)) => std::iter::once(0).chain(name.iter().copied()).collect(),
        Some(_) => bytes.to_vec(),
        None => return Ok(None),
    };
    socket2::SockAddr::unix(OsStr::from_bytes(&path)).map(Some)
}

/// `s` as a C string; an interior NUL, which no path or argument the OS
/// could take has, is dropped.
#[cfg(unix)]
fn c_string(s: &OsStr) -> CString {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = s.as_bytes().to_vec();
    bytes.retain(|&b| b != 0);
    CString::new(bytes).unwrap_or_default()
}

/// The datagram socket a successor says `READY=1` to: in a fresh
/// directory of mode 0700, so only this user can, removed when dropped.
/// On Linux only the successor's own process is heard, as systemd's
/// `NotifyAccess=main`: a process it started (a helper, a server of its
/// own that inherited `NOTIFY_SOCKET`) is not it being ready.
#[cfg(unix)]
struct NotifySocket {
    dir: PathBuf,
    path: PathBuf,
    socket: std::os::unix::net::UnixDatagram,
}

#[cfg(unix)]
impl NotifySocket {
    fn new() -> io::Result<NotifySocket> {
        let dir = private_dir()?;
        let path = dir.join("notify");
        let made = std::os::unix::net::UnixDatagram::bind(&path);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let made =
            made.and_then(|socket| crate::sys::pass_credentials(socket.as_fd()).map(|()| socket));
        match made {
            Ok(socket) => Ok(NotifySocket { dir, path, socket }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// Whether `successor` said `READY=1` by `until`; a `READY=1` from
    /// another process is recorded in `others`, its id, and not heeded.
    fn ready_by(
        &self,
        successor: i32,
        until: Instant,
        others: &mut Option<u32>,
    ) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.socket.set_read_timeout(Some(left))?;
            match self.recv(&mut buf) {
                Ok((n, sender)) => {
                    if buf[..n].split(|&b| b == b'\n').any(|l| l == b"READY=1") {
                        match sender {
                            Some(pid) if pid != successor => *others = Some(pid.unsigned_abs()),
                            _ => return Ok(true),
                        }
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One datagram and, where the system tells it, its sender's id.
    fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Option<i32>)> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return crate::sys::recv_with_sender(self.socket.as_fd(), buf);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return Ok((self.socket.recv(buf)?, None));
    }
}

/// A fresh directory of mode 0700 in the temporary directory, under a
/// name nobody can guess: another user who made something at a name known
/// in advance (the pid and a count) would stop every upgrade.
#[cfg(unix)]
fn private_dir() -> io::Result<PathBuf> {
    use std::hash::{BuildHasher, Hasher};
    use std::os::unix::fs::DirBuilderExt;
    // std seeds every `RandomState` from the OS's random source.
    let random = std::hash::RandomState::new().build_hasher().finish();
    let dir = std::env::temp_dir().join(format!(
        "listenspec-handoff-{}-{random:016x}",
        std::process::id()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

#[cfg(unix)]
impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// An axum listener that stops taking connections once `stop` resolves,
/// while the server goes on with those it has (feature `axum`): what the
/// predecessor of an upgrade does first, so that every new connection goes
/// to the successor, which accepts on the same sockets.
///
/// Its graceful shutdown comes a moment later: hyper closes a connection
/// that has not sent its first request yet as idle, and one accepted just
/// before the stop may not have. A second is plenty on a local network:
///
/// ```
/// use std::time::Duration;
/// use listenspec::handoff::StopAccepting;
/// use listenspec::serve::AnyListener;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = "local = 127.0.0.1; local.web = http:0".parse()?;
/// let mut bound = listenspec::bind_all_async(&spec).await?;
/// let (upgraded, mut is_upgraded) = tokio::sync::watch::channel(false);
/// let mut also = is_upgraded.clone();
/// let stop = async move { _ = is_upgraded.wait_for(|u| *u).await };
/// let listener = StopAccepting::new(bound.take::<AnyListener>("local", "web")?, stop);
/// let app = axum::Router::new();
/// let server = tokio::spawn(async move {
///     axum::serve(listener, app)
///         .with_graceful_shutdown(async move {
///             _ = also.wait_for(|u| *u).await;
///             tokio::time::sleep(Duration::from_secs(1)).await;
///         })
///         .await
/// });
/// upgraded.send(true)?; // what an `Ok` from `Upgrader::upgrade` leads to
/// server.await??;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "axum")]
pub struct StopAccepting<L> {
    listener: L,
    stop: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    stopped: bool,
}

#[cfg(feature = "axum")]
impl<L> StopAccepting<L> {
    /// `listener`, until `stop` resolves.
    pub fn new(listener: L, stop: impl Future<Output = ()> + Send + 'static) -> StopAccepting<L> {
        StopAccepting {
            listener,
            stop: Box::pin(stop),
            stopped: false,
        }
    }
}

#[cfg(feature = "axum")]
impl<L> fmt::Debug for StopAccepting<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopAccepting")
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "axum")]
impl<L: axum::serve::Listener> axum::serve::Listener for StopAccepting<L> {
    type Io = L::Io;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (L::Io, L::Addr) {
        if !self.stopped {
            let StopAccepting { listener, stop, .. } = self;
            let mut accept = std::pin::pin!(listener.accept());
            let first = std::future::poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return std::task::Poll::Ready(None);
                }
                accept.as_mut().poll(cx).map(Some)
            })
            .await;
            match first {
                Some(conn) => return conn,
                None => self.stopped = true,
            }
        }
        // Never again: the server's own shutdown ends it.
        std::future::pending().await
    }

    fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }
}

impl fmt::Display for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "successor pid {} ready after {:?}", self.pid, self.took)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::Upgrader;
    use crate::bind::BoundEndpoint;
    use crate::spec::QualifiedName;
    use crate::watch::Change;

    fn q(name: &str) -> QualifiedName {
        let (n, e) = name.split_once('.').unwrap();
        QualifiedName::new(n.parse().unwrap(), e.parse().unwrap())
    }

    /// What an upgrade hands over follows the host: a socket a change
    /// opened goes along, one it closed does not.
    #[test]
    fn follow_hands_over_what_a_change_opens_and_not_what_it_closes() {
        let spec = "local = 127.0.0.1; local.a = tcp:0; local.b = udp:0"
            .parse()
            .unwrap();
        let bound = crate::bind_all(&spec).unwrap();
        let upgrader = Upgrader::new(&bound).unwrap();
        let addr = |name| bound.endpoint("local", name).unwrap().local_addrs()[0];
        let (a, b) = (addr("a"), addr("b"));
        let handed = |names: &[(&str, std::net::SocketAddr)]| -> Vec<(String, Option<std::net::SocketAddr>)> {
            names.iter().map(|(n, a)| ((*n).to_owned(), Some(*a))).collect()
        };
        assert_eq!(upgrader.handed(), handed(&[("local.a", a), ("local.b", b)]));

        let more = "local = 127.0.0.1; local.a = tcp:0".parse().unwrap();
        let mut other = crate::bind_all(&more).unwrap();
        let mut opened = other
            .take::<BoundEndpoint>("local", "a")
            .unwrap()
            .into_sockets();
        let new_a = opened[0].local_addr();
        let plan = crate::plan(&spec, &crate::capture(&spec).unwrap()).unwrap();
        let change = Change::of(
            plan,
            vec![(q("local.a"), opened.remove(0))],
            vec![(q("local.b"), b)],
        );
        upgrader.follow(&change).unwrap();
        assert_eq!(
            upgrader.handed(),
            handed(&[("local.a", a), ("local.a", new_a)])
        );
    }
}
