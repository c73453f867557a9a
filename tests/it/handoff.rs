//! Upgrades that refuse no connection: the upgrade example, a real axum
//! server, hands its sockets to its successor on SIGHUP while clients on
//! loopback count every request; and systemd's file descriptor store,
//! with a real datagram socket standing in for systemd.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::TempDir;
use crate::examples::{Running, example};

/// The upgrade example on the spec in `spec_file`, its output (and its
/// successors', which inherit it) in `log`.
fn start(spec_file: &Path, log: &Path, env: &[(&str, &str)]) -> Running {
    let out = std::fs::File::create(log).unwrap();
    let mut cmd = Command::new(example("upgrade_server"));
    cmd.arg("--listen-file")
        .arg(spec_file)
        .envs(env.iter().copied())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    Running(cmd.spawn().unwrap())
}

/// How long a test waits for what should take a moment: long, since a
/// loaded CI machine runs many tests at once, and it costs nothing when
/// things go right.
const PATIENCE: Duration = Duration::from_secs(40);

/// Waits, a bounded time, until `log` says what `done` looks for, in its
/// complete lines: a line the server is still writing is read next time
/// (a message read up to its `: ` and no further failed a test).
fn wait_for_log<T>(log: &Path, what: &str, mut done: impl FnMut(&str) -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        if let Some(t) = done(complete) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} in {PATIENCE:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The address of endpoint `name` in the `n`th table the log holds (each
/// process prints one at start).
fn bound_addr(log: &Path, name: &str, n: usize) -> SocketAddr {
    wait_for_log(log, &format!("table {n} with {name}"), |text| {
        text.split("ENDPOINT")
            .nth(n + 1)?
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .find_map(|w| w.parse().ok())
    })
}

/// Where the clients go: the example's TCP or Unix stream endpoint.
#[derive(Clone)]
enum Target {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl From<SocketAddr> for Target {
    fn from(addr: SocketAddr) -> Target {
        Target::Tcp(addr)
    }
}

/// One request on a fresh connection: the body, or why it failed.
fn get(to: impl Into<Target>) -> Result<String, String> {
    match to.into() {
        Target::Tcp(addr) => {
            let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .map_err(|e| format!("connect: {e}"))?;
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            request(conn)
        }
        Target::Unix(path) => {
            let conn = std::os::unix::net::UnixStream::connect(&path)
                .map_err(|e| format!("connect: {e}"))?;
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            request(conn)
        }
    }
}

fn request(mut conn: impl Read + Write) -> Result<String, String> {
    conn.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(format!("response: {response:?}")),
    }
}

/// `hello from pid N generation G` as `(N, G)`.
fn who(body: &str) -> (u32, u32) {
    let words: Vec<&str> = body.split_whitespace().collect();
    match words[..] {
        ["hello", "from", "pid", pid, "generation", g] => {
            (pid.parse().unwrap(), g.parse().unwrap())
        }
        _ => panic!("not the example's answer: {body:?}"),
    }
}

/// Clients on fresh connections in a loop until stopped, counting every
/// request and every failure.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn on(to: impl Into<Target>, clients: usize) -> Load {
        let to = to.into();
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
                let to = to.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match get(to.clone()) {
                            Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(e) => {
                                failures.lock().unwrap().push(e);
                                0
                            }
                        };
                    }
                })
            })
            .collect();
        Load {
            stop,
            ok,
            failures,
            threads,
        }
    }

    /// Stops the clients: the requests that succeeded, and every failure.
    fn end(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::Relaxed), failures)
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name} {pid}");
}

/// The folders of the notification sockets of `pid`'s upgrades that are
/// still in the temporary directory. Taken before an upgrade too: one a
/// process killed long ago left under the same pid is not this one's.
fn notify_folders_of(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("listenspec-handoff-{pid}-");
    let mut folders: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    folders.sort();
    folders
}

/// Removes the folder of the notification socket of an upgrade whose
/// process was killed with SIGKILL, which cannot remove it itself.
fn remove_notify_folder_of(pid: u32) {
    for folder in notify_folders_of(pid) {
        let _ = std::fs::remove_dir_all(folder);
    }
}

/// Asks the server to end (SIGTERM) and waits until it has.
fn stop(pid: u32) {
    signal(pid, "-TERM");
    wait_ended(pid);
}

/// Whether the process has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

fn wait_ended(pid: u32) {
    let deadline = Instant::now() + PATIENCE;
    while !ended(pid) {
        assert!(
            Instant::now() < deadline,
            "pid {pid} still runs {PATIENCE:?} on"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asks until the answer comes from generation `g`; returns its pid.
fn wait_generation(addr: SocketAddr, g: u32) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(body) = get(addr) {
            let (pid, got) = who(&body);
            if got == g {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "generation {g} never answered");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Stops whichever process serves last, even when an assertion failed.
struct Last(u32);

impl Drop for Last {
    fn drop(&mut self) {
        if !ended(self.0) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

/// Ten upgrades in a row under load: every request answered, none
/// refused or reset, each successor serving after its upgrade and each
/// predecessor gone.
#[test]
fn ten_upgrades_under_load_refuse_no_connection() {
    let dir = TempDir::new("ten");
    let (spec, log, sock) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("web.sock"),
    );
    std::fs::write(
        &spec,
        format!(
            "local = 127.0.0.1 expose=local\nlocal.web = http:0\nfiles = unix\nfiles.web = http:{}\n",
            sock.display()
        ),
    )
    .unwrap();
    let first = start(&spec, &log, &[]);
    let addr = bound_addr(&log, "local.web", 0);
    let mut pid = wait_generation(addr, 0);
    let mut last = Last(pid);
    let load = Load::on(addr, 3);
    let unix_load = Load::on(Target::Unix(sock.clone()), 2);
    let mut took = Vec::new();
    for g in 1..=10 {
        let stale = notify_folders_of(pid);
        let asked = Instant::now();
        signal(pid, "-HUP");
        let next = wait_generation(addr, g);
        // Both stopped if an assertion below fails: the successor serves,
        // and the predecessor may not have ended.
        last.0 = next;
        let _predecessor = Last(pid);
        took.push(asked.elapsed());
        wait_ended(pid);
        assert_eq!(notify_folders_of(pid), stale);
        assert_ne!(next, pid);
        pid = next;
        // Requests reach each generation before the next upgrade.
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, failures) = load.end();
    let (unix_ok, unix_failures) = unix_load.end();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("upgraded: successor pid").count(),
        10,
        "{text}"
    );
    assert!(
        unix_failures.is_empty(),
        "over the Unix socket, {} failed of {}: {:?}",
        unix_failures.len(),
        unix_ok + unix_failures.len(),
        &unix_failures[..unix_failures.len().min(5)]
    );
    assert!(
        unix_ok > 100,
        "only {unix_ok} requests over the Unix socket"
    );
    assert_eq!(who(&get(Target::Unix(sock.clone())).unwrap()), (pid, 10));
    assert!(
        failures.is_empty(),
        "{} failed of {}: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(ok > 100, "only {ok} requests");
    let ready: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(" ready after ").map(|(_, t)| t))
        .collect();
    eprintln!(
        "handoff: {ok} requests over TCP and {unix_ok} over a Unix socket, {} failures, over 10 upgrades; signal to the successor answering: {took:?}; successor ready after: {ready:?}",
        failures.len()
    );
    stop(pid);
    assert!(!sock.exists(), "the last successor removed the socket file");
    drop(first);
}

/// Upgrades under `wrk`, whose keep-alive connections each send the next
/// request the moment the last is answered: none fails. A graceful
/// shutdown alone closed each idle connection under wrk's next request, a
/// read error for every connection at every upgrade; the server answers
/// `Connection: close` once stopped, and wrk reconnects to the successor.
#[test]
fn upgrades_under_wrk_keep_alive_load_fail_no_request() {
    let test = "upgrades_under_wrk_keep_alive_load_fail_no_request";
    if Command::new("wrk").arg("--version").output().is_err() {
        let why = "wrk is not installed (Debian package wrk)";
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run {test}: {why}"
        );
        eprintln!("SKIP {test}: {why}");
        return;
    }
    let dir = TempDir::new("wrk");
    let (spec, log) = (dir.join("listen.spec"), dir.join("out.log"));
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    let first = start(&spec, &log, &[]);
    let addr = bound_addr(&log, "local.web", 0);
    let mut pid = wait_generation(addr, 0);
    let mut last = Last(pid);
    let wrk = Command::new("wrk")
        .args(["-t1", "-c8", "-d6s", &format!("http://{addr}/")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for g in 1..=3 {
        signal(pid, "-HUP");
        pid = wait_generation(addr, g);
        last.0 = pid;
        // The predecessor's moment of `Connection: close`, then its end.
        std::thread::sleep(Duration::from_millis(1300));
    }
    let out = wrk.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let upgrades = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        upgrades.matches("upgraded: successor pid").count(),
        3,
        "{upgrades}"
    );
    let requests: u64 = report
        .split_once(" requests in ")
        .and_then(|(before, _)| before.split_whitespace().last()?.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {report}"));
    assert!(requests > 1000, "{report}");
    assert!(!report.contains("Socket errors"), "{report}");
    assert!(!report.contains("Non-2xx"), "{report}");
    eprintln!("handoff under wrk: {requests} requests over 3 upgrades, none failed");
    stop(pid);
    drop(first);
}

/// A successor that exits before it is ready, or never says it is, is
/// stopped, and the server it was to replace serves on, refusing nothing;
/// a later upgrade still works.
#[test]
fn a_successor_that_fails_or_hangs_leaves_the_old_one_serving() {
    let dir = TempDir::new("fail");
    let (spec, log, fail) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("fail"),
    );
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    std::fs::write(&fail, "exit").unwrap();
    let first = start(
        &spec,
        &log,
        &[
            ("UPGRADE_FAIL_FILE", fail.to_str().unwrap()),
            ("UPGRADE_READY_WITHIN_MS", "1000"),
        ],
    );
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    let _last = Last(pid);
    let load = Load::on(addr, 2);
    let stale = notify_folders_of(pid);
    signal(pid, "-HUP");
    let refused = wait_for_log(&log, "the exit refused", |t| {
        t.lines()
            .find(|l| l.contains("upgrade refused"))
            .map(str::to_owned)
    });
    assert!(
        refused.contains("exited before it was ready (exit status: 3)"),
        "{refused}"
    );
    assert_eq!(who(&get(addr).unwrap()), (pid, 0), "the old one serves on");

    std::fs::write(&fail, "hang").unwrap();
    signal(pid, "-HUP");
    let refused = wait_for_log(&log, "the hang refused", |t| {
        t.lines()
            .filter(|l| l.contains("upgrade refused"))
            .nth(1)
            .map(str::to_owned)
    });
    assert!(
        refused.contains("did not say it was ready within 1s, and was killed"),
        "{refused}"
    );
    let hung: u32 = refused
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    wait_ended(hung);
    assert_eq!(who(&get(addr).unwrap()), (pid, 0));
    assert_eq!(notify_folders_of(pid), stale);

    // A successor that takes a while to be ready is waited for.
    std::fs::write(&fail, "slow").unwrap();
    signal(pid, "-HUP");
    let next = wait_generation(addr, 1);
    wait_ended(pid);
    let (ok, failures) = load.end();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(ok > 0);
    stop(next);
    drop(first);
}

/// A predecessor killed while its successor gets ready leaves the
/// successor serving: the `READY=1` it sends then finds no one listening,
/// which `notify_ready` says is `Ok(false)`, and the successor's
/// `notify_ready()?` goes on to serve the sockets it took. (It failed with
/// ECONNREFUSED, and the successor exited: nothing served.)
#[test]
fn a_predecessor_killed_during_the_upgrade_leaves_the_successor_serving() {
    let dir = TempDir::new("killed");
    let (spec, log, fail) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("fail"),
    );
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    // The successor takes half a second between binding and ready.
    std::fs::write(&fail, "slow").unwrap();
    let first = start(
        &spec,
        &log,
        &[("UPGRADE_FAIL_FILE", fail.to_str().unwrap())],
    );
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    signal(pid, "-HUP");
    // The successor's table: it holds the sockets and is not ready yet.
    assert_eq!(bound_addr(&log, "local.web", 1), addr);
    signal(pid, "-KILL");
    remove_notify_folder_of(pid);
    let next = wait_generation(addr, 1);
    let _last = Last(next);
    assert_ne!(next, pid);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("Connection refused"), "{text}");
    stop(next);
    drop(first);
}

/// A predecessor killed before its successor has read its environment:
/// the successor takes every socket all the same, a Unix socket with its
/// file, which it removes when it ends. The handoff names the successor,
/// not its parent, which is gone by then. (The successor took the Unix
/// socket for an activated one of another name, and refused it.)
#[test]
fn a_predecessor_killed_before_its_successor_starts_leaves_it_every_socket() {
    let dir = TempDir::new("orphan");
    let (spec, log, fail, sock) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("fail"),
        dir.join("web.sock"),
    );
    std::fs::write(&spec, tcp_and_unix(&sock, "")).unwrap();
    std::fs::write(&fail, "late").unwrap();
    let first = start(
        &spec,
        &log,
        &[("UPGRADE_FAIL_FILE", fail.to_str().unwrap())],
    );
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    signal(pid, "-HUP");
    let successor = wait_for_child(pid);
    let _last = Last(successor);
    signal(pid, "-KILL");
    wait_ended(pid);
    remove_notify_folder_of(pid);
    assert_eq!(bound_addr(&log, "local.web", 1), addr);
    assert_eq!(wait_generation(addr, 1), successor);
    let unix = get(Target::Unix(sock.clone())).unwrap();
    assert_eq!(who(&unix), (successor, 1));
    stop(successor);
    assert!(!sock.exists(), "the successor removed the file it took");
    drop(first);
}

/// A successor whose spec now says `keep-file` leaves the socket file it
/// took over when it ends, as it would one it made. (It removed it, as
/// the predecessor's spec, without `keep-file`, would have.)
#[test]
fn a_socket_file_taken_over_is_kept_as_the_new_spec_says() {
    let dir = TempDir::new("keep");
    let (spec, log, sock) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("web.sock"),
    );
    std::fs::write(&spec, tcp_and_unix(&sock, "")).unwrap();
    let first = start(&spec, &log, &[]);
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    let _first_last = Last(pid);
    use std::os::unix::fs::MetadataExt;
    let made = std::fs::metadata(&sock).unwrap().ino();
    std::fs::write(&spec, tcp_and_unix(&sock, " keep-file")).unwrap();
    signal(pid, "-HUP");
    let next = wait_generation(addr, 1);
    let _last = Last(next);
    wait_ended(pid);
    assert_eq!(who(&get(Target::Unix(sock.clone())).unwrap()), (next, 1));
    stop(next);
    let kept = std::fs::symlink_metadata(&sock).expect("the file is kept");
    assert_eq!(kept.ino(), made, "the same file");
    drop(first);
}

/// A spec of an endpoint on 127.0.0.1 and one on the Unix socket `sock`,
/// with `options` after its path.
fn tcp_and_unix(sock: &Path, options: &str) -> String {
    format!(
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n\
         sock = unix\nsock.web = http:{}{options}\n",
        sock.display()
    )
}

/// Asks the server `pid` to upgrade, and waits for it to say the upgrade
/// was refused: the log's text then.
fn refused_upgrade(pid: u32, log: &Path) -> String {
    signal(pid, "-HUP");
    wait_for_log(log, "the refusal", |t| {
        t.contains("upgrade refused").then_some(())
    });
    std::fs::read_to_string(log).unwrap()
}

/// The first child process of `pid` to appear, from /proc.
fn wait_for_child(pid: u32) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        // Any of its threads may have started it: each task's list.
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
        let child = tasks.flatten().find_map(|task| {
            let list = std::fs::read_to_string(task.path().join("children")).ok()?;
            list.split_whitespace().next()?.parse().ok()
        });
        if let Some(child) = child {
            return child;
        }
        assert!(Instant::now() < deadline, "{pid} started no successor");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A new spec that binds a port or path the predecessor keeps in another
/// way (a TCP socket now pinned to a device, a Unix socket file now of
/// another mode): the handed socket does not fit and is closed, the new
/// one finds the predecessor's copy there, and the error says so and to
/// restart, where it blamed "another process" (or "another instance") and
/// said to stop it. A port and a path another process holds are still
/// said to be another's. The predecessor serves on.
#[test]
fn a_changed_binding_on_a_kept_port_names_the_predecessor_and_says_to_restart() {
    let dir = TempDir::new("rebind");
    let (spec, log, sock) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("web.sock"),
    );
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    let other_sock = dir.join("other.sock");
    let _other_unix = std::os::unix::net::UnixListener::bind(&other_sock).unwrap();
    std::fs::write(
        &spec,
        format!(
            "local = 127.0.0.1 expose=local\nlocal.web = http:0\n\
             files = unix\nfiles.web = http:{} mode=660\n",
            sock.display()
        ),
    )
    .unwrap();
    let first = start(&spec, &log, &[]);
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    let _last = Last(pid);
    std::fs::write(
        &spec,
        format!(
            "local = 127.0.0.1 expose=local\nlocal.web = http:{} device\nlocal.other = http:{other_port}\n\
             files = unix\nfiles.web = http:{} mode=600\nfiles.other = http:{}\n",
            addr.port(),
            sock.display(),
            other_sock.display()
        ),
    )
    .unwrap();
    let text = refused_upgrade(pid, &log);
    assert!(
        text.contains(&format!(
            "Address already in use (os error 98): the process upgrading to this one (pid {pid}) holds it"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "the process upgrading to this one (pid {pid}) serves on {} with the socket it made for its own spec",
            sock.display()
        )),
        "{text}"
    );
    assert_eq!(
        text.matches(&format!(
            "restart instead (stop pid {pid}, then start this server)"
        ))
        .count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("another process holds it").count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches("another instance is running").count(),
        1,
        "{text}"
    );
    assert_eq!(who(&get(addr).unwrap()), (pid, 0), "the old one serves on");
    stop(pid);
    drop(first);
}

/// A new spec that drops `mode=666`, or `group=` (in a directory of that
/// group that passes it on to no file: not set-group-ID), from a Unix
/// endpoint: the file the predecessor made gives more than this spec's
/// own bind would, so it is not taken as it is (users the new spec keeps
/// out could connect); the upgrade is refused, says to restart, and the
/// predecessor serves on.
#[test]
fn an_upgrade_that_drops_a_wider_mode_or_group_keeps_no_wider_file() {
    use std::os::unix::fs::MetadataExt;
    let test = "handoff::an_upgrade_that_drops_a_wider_mode_or_group_keeps_no_wider_file";
    let root = crate::unix::needs_root(test);
    // A fresh bind's file is 0777 less the umask, which the server
    // inherits: 022 clears the write bits mode=666 gives group and others.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(
        status.lines().any(|l| l == "Umask:\t0022"),
        "run the tests with umask 022"
    );
    for (options, group) in [(" mode=666", false), (" mode=640 group=nogroup", true)] {
        if group && !root {
            continue;
        }
        let dir = TempDir::new("narrowed");
        let (spec, log, sock) = (
            dir.join("listen.spec"),
            dir.join("out.log"),
            dir.join("web.sock"),
        );
        if group {
            // nogroup's id, as the upgrade example resolves `group=nogroup`.
            std::os::unix::fs::chown(&dir.0, None, Some(65534)).unwrap();
        }
        std::fs::write(&spec, tcp_and_unix(&sock, options)).unwrap();
        let first = start(&spec, &log, &[]);
        let addr = bound_addr(&log, "local.web", 0);
        let pid = wait_generation(addr, 0);
        let _last = Last(pid);
        let file = || {
            let m = std::fs::metadata(&sock).unwrap();
            (m.mode() & 0o777, m.gid())
        };
        let made = file();
        std::fs::write(&spec, tcp_and_unix(&sock, "")).unwrap();
        let text = refused_upgrade(pid, &log);
        assert!(
            text.contains(&format!(
                "the process upgrading to this one (pid {pid}) serves on {} with the socket it made for its own spec",
                sock.display()
            )),
            "{options}: {text}"
        );
        assert_eq!(file(), made, "the predecessor's file, untouched");
        assert_eq!(who(&get(addr).unwrap()), (pid, 0), "the old one serves on");
        stop(pid);
        drop(first);
    }
}

/// `Successor::this_program()` upgrades to the binary a package manager
/// put in place by renaming it over the running one: Linux then names the
/// running binary `PATH (deleted)`, which was started, and failed.
#[test]
fn an_upgrade_starts_the_binary_renamed_over_the_running_one() {
    let dir = TempDir::new("replaced");
    let (spec, log, bin) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("server"),
    );
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    std::fs::copy(example("upgrade_server"), &bin).unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let first = Running(
        Command::new(&bin)
            .arg("--listen-file")
            .arg(&spec)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    );
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    let _last = Last(pid);
    // What `install` and package managers do: a new file, renamed over.
    let new = dir.join("server.new");
    std::fs::copy(example("upgrade_server"), &new).unwrap();
    std::fs::rename(&new, &bin).unwrap();
    signal(pid, "-HUP");
    let next = wait_generation(addr, 1);
    let _last = Last(next);
    wait_ended(pid);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("(deleted)"), "{text}");
    stop(next);
    drop(first);
}

/// An upgrade to a changed spec: the endpoint both specs have is never
/// unbound (its clients see no refusal), the one only the new spec has is
/// bound, the one it dropped is closed; the Unix socket file goes with its
/// socket and the successor removes it when it ends. A new spec whose
/// plan widens exposure is refused, and the old server serves on.
#[test]
fn an_upgrade_to_a_changed_spec_keeps_opens_and_closes() {
    let dir = TempDir::new("changed");
    let (spec, log, sock) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("api.sock"),
    );
    let gram = dir.join("log.sock");
    let with = |extra: &str| {
        format!(
            "local = 127.0.0.1 expose=local\nlocal.kept = http:0\nlocal.dns = udp:0\n{extra}\nfiles = unix\nfiles.api = http:{}\nfiles.log = unixgram:{}\n",
            sock.display(),
            gram.display()
        )
    };
    // A Unix endpoint the next spec drops: its file stays while the
    // predecessor serves on it, and goes once the successor is ready.
    let old = dir.join("old.sock");
    std::fs::write(
        &spec,
        with(&format!(
            "local.gone = http:0\nfiles.old = http:{}",
            old.display()
        )),
    )
    .unwrap();
    let first = start(&spec, &log, &[]);
    let kept = bound_addr(&log, "local.kept", 0);
    let gone = bound_addr(&log, "local.gone", 0);
    let pid = wait_generation(kept, 0);
    let _last = Last(pid);
    let load = Load::on(kept, 2);

    // Widened: a wildcard on a network that may only be local.
    std::fs::write(
        &spec,
        format!(
            "local = * expose=local\nlocal.kept = http:0\nfiles = unix\nfiles.api = http:{}\n",
            sock.display()
        ),
    )
    .unwrap();
    signal(pid, "-HUP");
    let refused = wait_for_log(&log, "the widened spec refused", |t| {
        t.lines()
            .find(|l| l.contains("upgrade refused"))
            .map(str::to_owned)
    });
    assert!(refused.contains("exited before it was ready"), "{refused}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("expose=local forbids a wildcard"), "{text}");
    assert_eq!(who(&get(kept).unwrap()), (pid, 0));
    assert_eq!(who(&get(gone).unwrap()), (pid, 0));

    std::fs::write(&spec, with("local.new = http:0")).unwrap();
    signal(pid, "-HUP");
    let next = wait_generation(kept, 1);
    let _last = Last(next);
    wait_ended(pid);
    assert!(
        !old.exists(),
        "the file of a Unix endpoint the new spec dropped is gone"
    );
    let (ok, failures) = load.end();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(ok > 0);
    // The successor's table is the second start-up's (the refused one
    // printed none: its plan failed).
    let new = bound_addr(&log, "local.new", 1);
    assert_eq!(bound_addr(&log, "local.kept", 1), kept, "the same socket");
    // UDP and Unix datagram sockets are handed over too.
    assert_eq!(
        bound_addr(&log, "local.dns", 1),
        bound_addr(&log, "local.dns", 0)
    );
    // The table is written a line at a time: waited for whole.
    wait_for_log(
        &log,
        "the successor's table, each socket inherited",
        |text| {
            let second = text.split("ENDPOINT").nth(2)?;
            ["local.kept", "local.dns", "files.api", "files.log"]
                .iter()
                .all(|name| second.contains(&format!("inherited {name}")))
                .then_some(())
        },
    );
    assert_eq!(who(&get(new).unwrap()), (next, 1));
    let err = get(gone).unwrap_err();
    assert!(err.contains("Connection refused"), "{err}");
    let curl = Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(&sock)
        .arg("http://localhost/")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        format!("hello from pid {next} generation 1\n")
    );
    assert!(
        sock.exists(),
        "the predecessor left the file to its successor"
    );
    stop(next);
    assert!(
        !sock.exists(),
        "the successor removed the file it was handed"
    );
    assert!(!gram.exists(), "and the datagram socket's");
    drop(first);
}

/// One datagram and the descriptors it carried (`SCM_RIGHTS`), as systemd
/// receives a notification: recvmsg(2).
#[allow(unsafe_code)] // no safe std API for ancillary data yet
fn recv_with_fds(socket: &std::os::unix::net::UnixDatagram) -> (String, Vec<std::os::fd::OwnedFd>) {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    let mut buf = [0u8; 4096];
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty one; the fields are set next.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` is live for the call.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `control` up to `msg_controllen`; the CMSG
    // macros walk the headers inside it.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&msg);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<RawFd>();
                let count = ((*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                    / std::mem::size_of::<RawFd>();
                for k in 0..count {
                    fds.push(OwnedFd::from_raw_fd(data.add(k).read_unaligned()));
                }
            }
            header = libc::CMSG_NXTHDR(&msg, header);
        }
    }
    (
        String::from_utf8_lossy(&buf[..n.unsigned_abs()]).into_owned(),
        fds,
    )
}

/// Systemd's file descriptor store, with a real datagram socket standing
/// in for systemd: the server stores its sockets under their endpoint
/// names, and started again with them (as `systemctl restart` does) takes
/// them by name; a client that connected while no process ran is
/// answered by the new one.
#[test]
#[allow(unsafe_code)] // dup2 in the child, as a service manager does
fn store_fds_hands_the_sockets_to_the_service_manager_and_back() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("fdstore");
    let (spec, log, notify) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("notify"),
    );
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    let systemd = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let first = Running(
        Command::new(example("upgrade_server"))
            .args(["--store-fds", "--listen-file"])
            .arg(&spec)
            .env("NOTIFY_SOCKET", &notify)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    );
    let (stored, fds) = recv_with_fds(&systemd);
    assert_eq!(stored, "FDSTORE=1\nFDNAME=local.web\n");
    assert_eq!(fds.len(), 1);
    wait_for_log(&log, "the count stored", |t| {
        t.contains("stored 1 sockets with the service manager")
            .then_some(())
    });
    let (ready, none) = recv_with_fds(&systemd);
    assert_eq!((ready.as_str(), none.len()), ("READY=1\n", 0));
    let addr = bound_addr(&log, "local.web", 0);
    let pid = first.0.id();
    stop(pid);
    drop(first);

    // No process serves now, but the stored socket still listens: a
    // client is queued, not refused.
    let mut waiting = TcpStream::connect(addr).unwrap();
    waiting
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();

    let fd = fds[0].as_raw_fd();
    let out = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut again = Command::new("sh");
    again
        .args(["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\""])
        .arg(example("upgrade_server"))
        .arg("--listen-file")
        .arg(&spec)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "local.web")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null());
    // SAFETY: dup2 and fcntl are async-signal-safe, and `fd` stays open in
    // the parent until the child is spawned.
    unsafe {
        again.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: clear it instead.
            let placed = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if placed < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let second = Running(again.spawn().unwrap());
    let _last = Last(second.0.id());
    drop(fds);
    assert_eq!(bound_addr(&log, "local.web", 1), addr, "the same socket");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("inherited local.web"), "{text}");
    let mut response = String::new();
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    waiting.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with(&format!("hello from pid {} generation 0\n", second.0.id())),
        "{response}"
    );
}

/// The doctor says what an upgrade from the running spec would do with
/// the sockets it hands over: what stays bound, what opens, what closes.
#[test]
fn the_doctor_previews_an_upgrade() {
    let dir = TempDir::new("doctor");
    let (old, new) = (dir.join("old.spec"), dir.join("new.spec"));
    std::fs::write(
        &old,
        "local = 127.0.0.1 expose=local\nlocal.kept = http:8080\nlocal.gone = http:8081\n",
    )
    .unwrap();
    std::fs::write(
        &new,
        "local = 127.0.0.1 expose=local\nlocal.kept = http:8080\nlocal.new = udp:8082\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_listenspec"))
        .args(["doctor", "--spec"])
        .arg(&new)
        .arg("--upgrade-from")
        .arg(&old)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tail = stdout
        .split_once("\nan upgrade from ")
        .map(|(_, t)| t)
        .unwrap_or_default();
    assert_eq!(
        tail,
        format!(
            "{}: 1 socket kept (never closed), 1 opened, 1 closed\n+ local.new udp 127.0.0.1:8082\n- local.gone tcp 127.0.0.1:8081\n",
            old.display()
        ),
        "{stdout}"
    );
}

/// The role of a child run of
/// [`another_user_can_neither_stop_nor_fake_an_upgrade`]: `PID:DIR`, the
/// server's pid and its temporary directory.
const ATTACKER: &str = "LISTENSPEC_HANDOFF_ATTACKER";

/// Another local user, in the temporary directory the server shares with
/// everyone, loops while the server upgrades: it makes directories at the
/// names a server could be expected to use (its pid and a count), and
/// says `READY=1` to every notify socket it can find there. A successor
/// that never says it is ready is still refused, the next honest upgrade
/// still goes through, and no datagram of the attacker's lands.
#[test]
fn another_user_can_neither_stop_nor_fake_an_upgrade() {
    if let Some(role) = std::env::var_os(ATTACKER) {
        return attack(&role.to_string_lossy());
    }
    let name = "handoff::another_user_can_neither_stop_nor_fake_an_upgrade";
    if !crate::unix::needs_root(name) {
        return;
    }
    let dir = TempDir::new("attack");
    let (spec, log, fail, tmp) = (
        dir.join("listen.spec"),
        dir.join("out.log"),
        dir.join("fail"),
        dir.join("tmp"),
    );
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    std::fs::write(&fail, "hang").unwrap();
    let first = start(
        &spec,
        &log,
        &[
            ("TMPDIR", tmp.to_str().unwrap()),
            ("UPGRADE_FAIL_FILE", fail.to_str().unwrap()),
            ("UPGRADE_READY_WITHIN_MS", "2000"),
        ],
    );
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    let mut last = Last(pid);

    let target = format!("{pid}:{}", tmp.display());
    let (mut attacker, mut out) =
        crate::unix::attacker(name, &[(ATTACKER, target.as_ref())], "attacking");

    signal(pid, "-HUP");
    let refused = wait_for_log(&log, "the hang refused", |t| {
        t.lines()
            .find(|l| l.contains("upgrade refused"))
            .map(str::to_owned)
    });
    assert!(
        refused.contains("did not say it was ready within 2s, and was killed"),
        "{refused}"
    );
    assert_eq!(who(&get(addr).unwrap()), (pid, 0), "the old one serves on");

    std::fs::write(&fail, "").unwrap();
    signal(pid, "-HUP");
    let next = wait_generation(addr, 1);
    last.0 = next;
    wait_ended(pid);

    std::fs::write(tmp.join("stop"), "").unwrap();
    let mut attacks = String::new();
    out.read_to_string(&mut attacks).unwrap();
    assert!(attacker.wait().unwrap().success(), "attacker: {attacks}");
    assert!(!attacks.contains("reached"), "{attacks}");
    let tried = attacks
        .split_once("tried ")
        .and_then(|(_, n)| n.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("the attacker's count: {attacks}"));
    assert!(
        tried > 0,
        "the attacker found no notify socket to try: {attacks}"
    );
    // The server's notify socket was there to find, in a directory closed
    // to others.
    let denied = attacks
        .split_once("denied ")
        .and_then(|(_, n)| n.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("the attacker's count: {attacks}"));
    assert!(
        denied > 0,
        "the server's directory was never found: {attacks}"
    );
    eprintln!("handoff attacker: {}", attacks.trim());
    stop(next);
    drop(first);
}

/// The attacker's side, as nobody: loops until told to stop, 30 s at most.
fn attack(role: &str) {
    let (pid, tmp) = role.split_once(':').unwrap();
    let tmp = Path::new(tmp);
    println!("attacking");
    let start = Instant::now();
    let (mut made, mut tried, mut denied) = (0u64, 0u64, 0u64);
    while start.elapsed() < Duration::from_secs(30) && !tmp.join("stop").exists() {
        for n in 0..16 {
            if std::fs::create_dir(tmp.join(format!("listenspec-handoff-{pid}-{n}"))).is_ok() {
                made += 1;
            }
        }
        for entry in std::fs::read_dir(tmp).unwrap().flatten() {
            if !entry
                .file_name()
                .to_string_lossy()
                .starts_with("listenspec-handoff-")
            {
                continue;
            }
            let notify = entry.path().join("notify");
            tried += 1;
            let client = std::os::unix::net::UnixDatagram::unbound().unwrap();
            match client.send_to(b"READY=1\n", &notify) {
                Ok(_) => println!("reached {}", notify.display()),
                // Only the server's own directory keeps nobody out.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => denied += 1,
                Err(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("made {made} tried {tried} denied {denied}");
}

/// An upgrade whose notify socket cannot be made (the temporary directory
/// is missing) is refused at once, saying why, and the server serves on.
#[test]
fn an_upgrade_without_a_temporary_directory_says_why() {
    let dir = TempDir::new("notmp");
    let (spec, log) = (dir.join("listen.spec"), dir.join("out.log"));
    std::fs::write(
        &spec,
        "local = 127.0.0.1 expose=local\nlocal.web = http:0\n",
    )
    .unwrap();
    let missing = dir.join("missing");
    let first = start(&spec, &log, &[("TMPDIR", missing.to_str().unwrap())]);
    let addr = bound_addr(&log, "local.web", 0);
    let pid = wait_generation(addr, 0);
    let _last = Last(pid);
    signal(pid, "-HUP");
    let refused = wait_for_log(&log, "the upgrade refused", |t| {
        t.lines()
            .find(|l| l.contains("upgrade refused"))
            .map(str::to_owned)
    });
    assert!(
        refused.contains("could not be prepared: No such file or directory"),
        "{refused}"
    );
    assert_eq!(who(&get(addr).unwrap()), (pid, 0), "the old one serves on");
    stop(pid);
    drop(first);
}

#[test]
fn the_successor_gets_its_variables_last_value_and_never_shadows_the_handoffs() {
    use listenspec::handoff::{HandoffError, Successor, Upgrader, VariableError};
    let dir = TempDir::new("env");
    let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local\nlocal.web = tcp:0\n"
        .parse()
        .unwrap();
    let bound = listenspec::bind_all(&spec).unwrap();
    let upgrader = Upgrader::new(&bound).unwrap();
    let out = dir.join("env.txt");
    // A successor that writes what it was given and ends, never ready.
    let shell = |extra: Successor| {
        extra.arg("-c").arg(format!(
            "printf '%s %s %s' \"$A\" \"$LISTEN_FDS\" \"$LISTEN_FDNAMES\" > {}; exit 3",
            out.display()
        ))
    };
    let successor = shell(Successor::new("/bin/sh").env("A", "1").env("A", "2"));
    // A wait no `Instant` holds is no panic: the successor's end ends it.
    let err = upgrader.upgrade(&successor, Duration::MAX).unwrap_err();
    assert!(matches!(err, HandoffError::Exited { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "2 1 local.web");

    std::fs::remove_file(&out).unwrap();
    for (name, value, reason) in [
        ("LISTEN_FDS", "7", VariableError::Reserved),
        ("LISTEN_FDNAMES", "x", VariableError::Reserved),
        ("NOTIFY_SOCKET", "/tmp/x", VariableError::Reserved),
        ("LISTEN_PID", "1", VariableError::Reserved),
        ("A=B", "1", VariableError::Malformed),
        ("", "1", VariableError::Malformed),
        ("A", "1\0", VariableError::Malformed),
        ("A\0B", "1", VariableError::Malformed),
    ] {
        let successor = shell(Successor::new("/bin/sh").env(name, value));
        let err = upgrader
            .upgrade(&successor, Duration::from_secs(10))
            .unwrap_err();
        assert!(
            matches!(&err, HandoffError::Variable { name: n, reason: r } if n == name && *r == reason),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("Successor::env"), "{err}");
        assert!(!out.exists(), "{name}: no successor is started");
    }
}

/// Set in a successor's child that only says `READY=1`.
const SAY_READY: &str = "LISTENSPEC_TEST_SAY_READY";

/// A `READY=1` from a process the successor started (one that inherited
/// `NOTIFY_SOCKET`) is not the successor being ready: the upgrade waits
/// for the successor's own, refuses it in the end, and names the process
/// it heard instead. The same child run with `exec`, so it is the
/// successor, is heard.
#[cfg(any(target_os = "linux", target_os = "android"))] // the sender's id
#[test]
fn only_the_successors_own_ready_is_heeded() {
    use listenspec::handoff::{HandoffError, Successor, Upgrader};
    let name = "handoff::only_the_successors_own_ready_is_heeded";
    if std::env::var_os(SAY_READY).is_some() {
        assert!(listenspec::handoff::notify_ready().unwrap(), "heard");
        return;
    }
    let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local\nlocal.web = tcp:0\n"
        .parse()
        .unwrap();
    let bound = listenspec::bind_all(&spec).unwrap();
    let upgrader = Upgrader::new(&bound).unwrap();
    let exe = std::env::current_exe().unwrap();
    let successor = |before: &str, after: &str| {
        Successor::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "{before}\"$0\" --exact {name} --quiet > /dev/null{after}"
            ))
            .arg(&exe)
            .env(SAY_READY, "1")
    };

    let err = upgrader
        .upgrade(&successor("", "; exec sleep 30"), Duration::from_secs(2))
        .unwrap_err();
    let HandoffError::NotReady {
        pid,
        heard_from: Some(child),
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_ne!(child, pid);
    assert!(
        err.to_string()
            .contains(&format!("READY=1 came from pid {child} instead"))
            && err.to_string().contains("`exec`"),
        "{err}"
    );

    let upgraded = upgrader
        .upgrade(&successor("exec ", ""), Duration::from_secs(10))
        .unwrap();
    assert!(upgraded.took < Duration::from_secs(10));
}

/// Where a successor writes what it saw, and the file whose appearance
/// tells it to go on.
#[cfg(any(target_os = "linux", target_os = "android"))]
const LATER: &str = "LISTENSPEC_TEST_LATER";

/// Once the predecessor heard `READY=1` it removes its socket's directory,
/// and anyone may make that path again in the temporary folder: the
/// successor's later `notify_ready` and `store_fds` send nothing there (an
/// attacker listening at it took the successor's listening socket).
#[cfg(any(target_os = "linux", target_os = "android"))] // only the successor's own READY counts
#[test]
fn a_successor_sends_nothing_more_to_its_predecessors_notify_socket() {
    use listenspec::handoff::{Successor, Upgrader};
    let name = "handoff::a_successor_sends_nothing_more_to_its_predecessors_notify_socket";
    let spec: listenspec::ListenSpec = "local = 127.0.0.1 expose=local\nlocal.web = tcp:0\n"
        .parse()
        .unwrap();
    if let Some(dir) = std::env::var_os(LATER) {
        let dir = PathBuf::from(dir);
        let bound = listenspec::bind_all(&spec).unwrap();
        let first = listenspec::handoff::notify_ready().unwrap();
        let notify = std::env::var("NOTIFY_SOCKET").unwrap();
        std::fs::write(dir.join("notify"), &notify).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !dir.join("go").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let again = listenspec::handoff::notify_ready().unwrap();
        let stored = Upgrader::new(&bound).unwrap().store_fds().unwrap();
        std::fs::write(dir.join("said"), format!("{first} {again} {stored}")).unwrap();
        return;
    }
    let dir = TempDir::new("later");
    let bound = listenspec::bind_all(&spec).unwrap();
    let upgrader = Upgrader::new(&bound).unwrap();
    let successor = Successor::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--quiet"])
        .env(LATER, dir.0.as_os_str());
    upgrader
        .upgrade(&successor, Duration::from_secs(10))
        .unwrap();
    // The predecessor's directory is gone; the path made again, as an
    // attacker would.
    let deadline = Instant::now() + Duration::from_secs(10);
    let notify = loop {
        if let Ok(path) = std::fs::read_to_string(dir.join("notify"))
            && !path.is_empty()
        {
            break PathBuf::from(path);
        }
        assert!(
            Instant::now() < deadline,
            "the successor said no NOTIFY_SOCKET"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        !notify.exists(),
        "the predecessor removed its notify socket"
    );
    std::fs::create_dir_all(notify.parent().unwrap()).unwrap();
    let squatter = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    squatter.set_nonblocking(true).unwrap();
    std::fs::write(dir.join("go"), "").unwrap();
    let said = loop {
        if let Ok(said) = std::fs::read_to_string(dir.join("said"))
            && !said.is_empty()
        {
            break said;
        }
        assert!(Instant::now() < deadline, "the successor said nothing more");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(said, "true false 0", "READY heard once; nothing stored");
    let mut buf = [0; 256];
    let got = squatter.recv(&mut buf);
    assert!(
        got.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "the path made again heard {got:?}"
    );
    std::fs::remove_dir_all(notify.parent().unwrap()).unwrap();
}

/// Set in the child of the test below: it says `READY=1` once and prints
/// what `notify_ready` returned.
const SAY_READY_ONCE: &str = "LISTENSPEC_TEST_SAY_READY_ONCE";

/// A `NOTIFY_SOCKET` whose listener never reads (a local user's, its queue
/// filled first): `notify_ready` gives up with an error instead of
/// holding the server's start-up for good.
#[test]
fn a_full_notify_socket_holds_notify_ready_no_longer_than_its_bound() {
    let name = "handoff::a_full_notify_socket_holds_notify_ready_no_longer_than_its_bound";
    if std::env::var_os(SAY_READY_ONCE).is_some() {
        println!(
            "notify: {:?}",
            listenspec::handoff::notify_ready().map_err(|e| e.kind())
        );
        return;
    }
    let dir = TempDir::new("full-notify");
    let path = dir.join("notify");
    let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let filler = std::os::unix::net::UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    while filler.send_to(b"x", &path).is_ok() {}
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(SAY_READY_ONCE, "1")
        .env("NOTIFY_SOCKET", &path)
        .env_remove("LISTENSPEC_HANDOFF")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("notify_ready still waits after 30 s on a full queue");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        out.contains("notify: Err(WouldBlock)") || out.contains("notify: Err(TimedOut)"),
        "{out}"
    );
    drop(listener);
}
