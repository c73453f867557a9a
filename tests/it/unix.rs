//! Unix domain sockets with real parts: files in a temporary directory,
//! the real `stat`, `curl --unix-socket`, `setpriv` for a user the mode
//! excludes, `systemd-socket-activate` with a Unix `--listen` path, and
//! the doctor's `--check`.

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use listenspec::bind::{BindError, BindTarget, Cause, FileKind, Inherited, UnixError};
use listenspec::probe::Outcome;
use listenspec::spec::UnixPath;
use listenspec::{ListenSpec, Plan};

use crate::TempDir;
use crate::examples::{Running, example};
use listenspec::bind::WithFile;
use listenspec::serve::AnyListener;
use listenspec::serve::UnixEndpointListener;

fn spec(lines: &[String]) -> ListenSpec {
    let mut text = String::from("local = unix\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text.parse().unwrap()
}

/// The plan of `lines` on a host with only loopback.
fn plan(lines: &[String]) -> Plan {
    let host = crate::loopback_host();
    spec(lines).plan(&host).unwrap()
}

fn bind(lines: &[String]) -> Result<listenspec::Bound, BindError> {
    plan(lines).bind_inherited(Vec::new())
}

/// Binds a socket of this kind at `path` and closes it, leaving its file
/// stale, and waits until no process holds it: a socket closed here lives
/// on for a moment in any child another test forks before it execs, and
/// a socket open anywhere is live to the code under test, rightly.
fn leave_stale(path: &Path, stream: bool) {
    if stream {
        drop(UnixListener::bind(path).unwrap());
    } else {
        drop(UnixDatagram::bind(path).unwrap());
    }
    closed_everywhere(path);
}

/// Waits, ten seconds at most, until connecting to `path` is refused as
/// it is when no process holds the socket bound to it.
fn closed_everywhere(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = UnixDatagram::unbound().unwrap();
        match probe.connect(path) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("{} still open after 10 s: {other:?}", path.display()),
        }
    }
}

fn unix_error(err: &BindError) -> &UnixError {
    match err.failures()[0].cause() {
        Cause::Unix(e) => e,
        other => panic!("not a Unix failure: {other:?}"),
    }
}

/// `stat -c FORMAT PATH`, the real command.
fn stat(format: &str, path: &Path) -> String {
    let out = Command::new("stat")
        .args(["-c", format])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "stat {}: {out:?}", path.display());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn is_root() -> bool {
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Skips a test that needs root when not root: allowed off CI only.
pub(crate) fn needs_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    let why = "it needs root (setpriv to another user, chown)";
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: {why}"
    );
    eprintln!("SKIP {test}: {why}");
    false
}

fn exchange(path: &Path, listener: &UnixListener) {
    let mut client = UnixStream::connect(path).unwrap();
    client.write_all(b"ping").unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0; 4];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new("stale");
    let path = dir.join("app.sock");
    // std never removes its socket file: dropped, it leaves a stale one.
    leave_stale(&path, true);
    let refused = UnixStream::connect(&path).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    let mut bound = bind(&[format!("local.api = unix:{}", path.display())]).unwrap();
    let listener = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "api")
        .unwrap();
    exchange(&path, &listener);
}

#[test]
fn a_stale_socket_file_is_refused_with_stale_refuse() {
    let dir = TempDir::new("refuse");
    let path = dir.join("app.sock");
    leave_stale(&path, false);
    let old = std::fs::symlink_metadata(&path).unwrap().ino();
    let err = bind(&[format!("local.api = unix:{} stale=refuse", path.display())]).unwrap_err();
    assert!(
        matches!(unix_error(&err), UnixError::Stale { path: p } if *p == path),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains(&format!("rm {}", path.display())), "{text}");
    assert_eq!(std::fs::symlink_metadata(&path).unwrap().ino(), old, "kept");
}

#[test]
fn a_live_socket_is_refused_naming_it() {
    let dir = TempDir::new("live");
    let path = dir.join("app.sock");
    let other = UnixListener::bind(&path).unwrap();
    for proto in ["unix", "http", "unixgram"] {
        let err = bind(&[format!("local.api = {proto}:{}", path.display())]).unwrap_err();
        let f = &err.failures()[0];
        assert_eq!(
            f.target(),
            Some(&BindTarget::Unix(UnixPath::File(path.clone())))
        );
        assert!(matches!(unix_error(&err), UnixError::Live { .. }), "{err}");
        let text = err.to_string();
        let named = format!(
            "another instance is running on {}: a stream socket is bound to it",
            path.display()
        );
        assert!(text.contains(&named), "{proto}: {text}");
        // The other server still has its file, still answers, and was
        // not handed a connection by the check.
        other.set_nonblocking(true).unwrap();
        assert!(other.accept().is_err(), "{proto}: the check connected");
        other.set_nonblocking(false).unwrap();
        exchange(&path, &other);
    }
    let dgram_path = dir.join("log.sock");
    let _other = UnixDatagram::bind(&dgram_path).unwrap();
    let err = bind(&[format!("local.log = unixgram:{}", dgram_path.display())]).unwrap_err();
    let named = format!(
        "another instance is running on {}: a datagram socket is bound to it",
        dgram_path.display()
    );
    assert!(err.to_string().contains(&named), "{err}");
}

/// A failed step of making a Unix socket is named, with what to do about
/// its error there.
#[test]
fn a_failed_step_is_named_with_its_fix() {
    use listenspec::bind::Step;
    let chown = Step::Chown {
        owner: Some(33),
        group: None,
    };
    let cases: Vec<(Step, i32, &str, &str)> = vec![
        (
            chown.clone(),
            libc::EPERM,
            "giving the socket file to owner 33 and group unchanged (fchownat)",
            "needs root or CAP_CHOWN",
        ),
        (
            Step::Chmod { mode: 0o660 },
            libc::EROFS,
            "setting the socket file's mode to 660 (fchmodat)",
            "the file system is read-only",
        ),
        (
            Step::Bind,
            libc::EINVAL,
            "binding the socket",
            "too long for a Unix socket address",
        ),
        (
            Step::Socket,
            libc::ENAMETOOLONG,
            "creating the socket",
            "too long for a Unix socket address",
        ),
        (
            Step::Bind,
            libc::EADDRINUSE,
            "binding the socket",
            "a file appeared at the path",
        ),
        (
            Step::Link,
            libc::EEXIST,
            "linking the socket file into place",
            "a file appeared at the path",
        ),
        (
            Step::Listen,
            libc::EADDRINUSE,
            "listening",
            "see the OS error above",
        ),
        (
            Step::Examine,
            libc::EACCES,
            "reading what is at the path (fstatat)",
            "see the OS error above",
        ),
        (
            Step::RemoveStale,
            libc::EACCES,
            "removing the stale socket file",
            "see the OS error above",
        ),
        (
            Step::PrivateDir {
                dir: "/run/app/.ls1".into(),
            },
            libc::ENOSPC,
            "creating the private directory /run/app/.ls1",
            "see the OS error above",
        ),
    ];
    for (step, errno, says, fix) in cases {
        let error = UnixError::Os {
            step,
            error: std::io::Error::from_raw_os_error(errno),
        };
        let text = error.to_string();
        assert!(text.starts_with(&format!("{says}: ")), "{text}");
        assert!(error.fix().contains(fix), "{text}: {}", error.fix());
        assert_eq!(error.os_error().and_then(|e| e.raw_os_error()), Some(errno));
    }
    let other = UnixError::Os {
        step: chown,
        error: std::io::Error::from_raw_os_error(libc::EINVAL),
    };
    assert!(
        other.fix().contains("see the OS error above"),
        "{}",
        other.fix()
    );
}

#[test]
fn a_file_that_is_not_a_socket_is_never_deleted() {
    let dir = TempDir::new("notsock");
    let file = dir.join("file.sock");
    std::fs::write(&file, "precious").unwrap();
    let sub = dir.join("dir.sock");
    std::fs::create_dir(&sub).unwrap();
    let fifo = dir.join("fifo.sock");
    crate::mkfifo(&fifo);
    // A link to a live-looking stale socket: never followed.
    let target = dir.join("target.sock");
    leave_stale(&target, true);
    let link = dir.join("link.sock");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for (path, kind) in [
        (&file, FileKind::RegularFile),
        (&sub, FileKind::Directory),
        (&fifo, FileKind::Pipe),
        (&link, FileKind::Symlink),
    ] {
        for proto in ["unix", "unixgram mode=600"] {
            let (proto, opts) = proto.split_once(' ').unwrap_or((proto, ""));
            let err =
                bind(&[format!("local.api = {proto}:{} {opts}", path.display())]).unwrap_err();
            assert!(
                matches!(unix_error(&err), UnixError::NotASocket { path: p, kind: k } if p == path && *k == kind),
                "{err}"
            );
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(
                text.contains("never deletes a file that is not a socket"),
                "{text}"
            );
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    assert!(sub.is_dir());
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    assert!(
        std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_socket()
    );
}

#[test]
fn a_missing_directory_says_how_to_make_it() {
    let dir = TempDir::new("nodir");
    let path = dir.join("missing/app.sock");
    for proto in ["unix", "unixgram", "unixgram mode=600"] {
        let (proto, opts) = proto.split_once(' ').unwrap_or((proto, ""));
        let err = bind(&[format!("local.api = {proto}:{} {opts}", path.display())]).unwrap_err();
        assert!(
            matches!(unix_error(&err), UnixError::NoDirectory { dir: d } if *d == dir.join("missing")),
            "{err}"
        );
        // Found by looking, not by a failed call: there is no OS error.
        assert!(err.failures()[0].os_error().is_none(), "{err}");
        let hint = err.failures()[0].hint();
        assert!(
            hint.contains(&format!("mkdir -p {}", dir.join("missing").display())),
            "{hint}"
        );
        assert!(hint.contains("RuntimeDirectory="), "{hint}");
    }
}

/// A directory the user may not write to: the doctor run as nobody.
#[test]
fn a_directory_without_permission_says_so() {
    if !needs_root("a_directory_without_permission_says_so") {
        return;
    }
    let dir = TempDir::new("denied");
    let path = dir.join("app.sock");
    // A datagram socket with a mode is made in a private directory first,
    // and that mkdir is what is refused.
    for endpoint in [
        format!("local.api = unix:{}", path.display()),
        format!("local.api = unixgram:{} mode=620", path.display()),
    ] {
        let out = doctor_as_nobody(&["--bind"], &endpoint);
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{endpoint}: {text}");
        assert!(
            text.contains(&format!(
                "may not create a socket file in {}",
                dir.0.display()
            )),
            "{endpoint}: {text}"
        );
        assert!(text.contains("RuntimeDirectory=NAME with User="), "{text}");
        assert!(!path.exists());
    }
    // Planned only, the host's capture already saw it: a warning.
    let out = doctor_as_nobody(&[], &format!("local.api = unix:{}", path.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let warning = format!(
        "warning: local.api: the process that captured the host may not create files in {}",
        dir.0.display()
    );
    assert!(text.contains(&warning), "{text}");
}

/// What a user sees where it may not touch another's socket file: a
/// stale one it may not remove is reported as that, not as a file that
/// appeared; and one it may not even probe is left alone, live or not, in
/// a directory where it could delete it.
#[test]
fn another_users_socket_file_is_reported_and_left() {
    if !needs_root("another_users_socket_file_is_reported_and_left") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("others");
    let doctor_bind = |path: &Path| {
        let out = doctor_as_nobody(&["--bind"], &format!("local.api = unix:{}", path.display()));
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let chmod = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };

    // Sticky, as /tmp is: only its owner may remove a file.
    let sticky = dir.join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    chmod(&sticky, 0o1777);
    let stale = sticky.join("app.sock");
    leave_stale(&stale, true);
    chmod(&stale, 0o666);
    let text = doctor_bind(&stale);
    assert!(
        text.contains(&format!(
            "a stale socket file of user id 0 is at {}, in a sticky directory, where only its owner may remove it",
            stale.display()
        )),
        "{text}"
    );
    assert!(stale.exists());
    // Root may remove anyone's file there, but a stale socket of another
    // user in a sticky directory is theirs all the same.
    std::os::unix::fs::lchown(&stale, Some(65534), Some(65534)).unwrap();
    let err = bind(&[format!("local.api = unix:{}", stale.display())]).unwrap_err();
    assert!(
        matches!(unix_error(&err), UnixError::OthersStale { path, owner: 65534 } if *path == stale),
        "{err}"
    );
    assert!(err.to_string().contains("getent passwd 65534"), "{err}");
    assert_eq!(stat("%u %F", &stale), "65534 socket");
    // Outside a sticky directory the directory's owner decides, and a
    // stale socket of another user there is replaced like any other.
    let plain = dir.join("plain");
    std::fs::create_dir(&plain).unwrap();
    let theirs = plain.join("app.sock");
    leave_stale(&theirs, true);
    std::os::unix::fs::lchown(&theirs, Some(65534), Some(65534)).unwrap();
    let bound = bind(&[format!("local.api = unix:{}", theirs.display())]).unwrap();
    assert_eq!(stat("%u %F", &theirs), "0 socket");
    drop(bound);

    // Anyone may remove files here, but nobody may connect to root's.
    let open = dir.join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let live = open.join("app.sock");
    let _server = UnixListener::bind(&live).unwrap();
    chmod(&live, 0o600);
    let text = doctor_bind(&live);
    assert!(
        text.contains(&format!(
            "cannot tell whether the socket file at {} is in use, so it was left as it is",
            live.display()
        )),
        "{text}"
    );
    assert!(
        live.exists(),
        "a socket that could not be probed was removed"
    );
}

/// A path that cannot even be looked at (a file where its directory
/// should be) fails at that look, named as such, before any bind.
#[test]
fn a_path_that_cannot_be_examined_fails_there() {
    use listenspec::bind::Step;
    let dir = TempDir::new("examine");
    let file = dir.join("file");
    std::fs::write(&file, "").unwrap();
    let path = file.join("app.sock");
    let err = bind(&[format!("local.api = unix:{}", path.display())]).unwrap_err();
    assert!(
        matches!(unix_error(&err), UnixError::Os { step: Step::Examine, error } if error.raw_os_error() == Some(libc::ENOTDIR)),
        "{err}"
    );
}

/// Set in the child run of [`a_leftover_private_directory_is_stepped_over`]:
/// the directory to bind in.
const CHILD_DIR: &str = "LISTENSPEC_TEST_PRIVATE_DIR";

/// Directories made in advance at every name a process could be expected
/// to use for its private directory (its pid and a counter, as the names
/// once were) do not stop the bind: in a sticky `/tmp` another user could
/// make them, and in a container a killed pid 1 leaves its own. The shell
/// makes them under its own pid, which exec keeps; they are left alone.
#[test]
fn directories_made_at_guessable_names_do_not_stop_the_bind() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let path = Path::new(&dir).join("log.sock");
        match bind(&[format!("local.log = unixgram:{} mode=620", path.display())]) {
            Ok(_) => println!("child: bound"),
            Err(e) => println!("child: error {}", e.to_string().replace('\n', " / ")),
        }
        return;
    }
    let dir = TempDir::new("leftover");
    // Under the pid, and under 0 and 1 for a "random" number that is not.
    let script = r#"for r in $(printf %x $$) 0 1; do for n in $(seq 0 255); do mkdir "$LISTENSPEC_TEST_PRIVATE_DIR/.ls$r.$(printf %x $n)"; done; done; exec "$@""#;
    let out = Command::new("/bin/sh")
        .args(["-c", script, "sh"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unix::directories_made_at_guessable_names_do_not_stop_the_bind",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &dir.0)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("child: bound"), "{text}");
    // The others' are not this process's to remove; its own is gone.
    let private = dir
        .listing()
        .into_iter()
        .filter(|n| n.starts_with(".ls"))
        .count();
    assert_eq!(private, 3 * 256);
}

/// `listenspec doctor ARGS` run as nobody, on a Unix network with the one
/// endpoint line `endpoint`.
fn doctor_as_nobody(args: &[&str], endpoint: &str) -> Output {
    as_nobody(env!("CARGO_BIN_EXE_listenspec"))
        .arg("doctor")
        .args(args)
        .args(["--listen", "local = unix", "--listen", endpoint])
        .output()
        .unwrap()
}

/// `setpriv` to uid and gid 65534 (nobody), without root's groups.
pub(crate) fn as_nobody(program: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    c
}

/// This test binary run again as `nobody`, for `test` alone, with `envs`
/// set: a racing attacker. Returned once it has printed a line ending in
/// `ready`, with the rest of its output to read.
pub(crate) fn attacker(
    test: &str,
    envs: &[(&str, &std::ffi::OsStr)],
    ready: &str,
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::BufRead;
    let exe = std::env::current_exe().unwrap();
    let mut child = as_nobody(exe.to_str().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    // Past the test harness's own words, which end without a newline.
    let mut line = String::new();
    while !line.trim_end().ends_with(ready) {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the attacker did not start");
    }
    (child, out)
}

#[test]
fn the_mode_is_set_before_anything_connects() {
    let dir = TempDir::new("mode");
    let stream = dir.join("api.sock");
    let dgram = dir.join("log.sock");
    let mut bound = bind(&[
        format!("local.api = http:{} mode=600", stream.display()),
        format!("local.log = unixgram:{} mode=620", dgram.display()),
    ])
    .unwrap();
    assert_eq!(stat("%a", &stream), "600");
    assert_eq!(stat("%a", &dgram), "620");
    // The table a server prints at start-up says so, as the plan's does.
    let table = bound.to_string();
    assert!(table.contains("unix socket, mode 600"), "{table}");
    assert!(table.contains("unix socket, mode 620"), "{table}");
    // The datagram socket was set up in a private directory, now gone.
    assert_eq!(dir.listing(), ["api.sock", "log.sock"]);
    let log = bound
        .take::<WithFile<std::os::unix::net::UnixDatagram>>("local", "log")
        .unwrap();
    UnixDatagram::unbound()
        .unwrap()
        .send_to(b"hi", &dgram)
        .unwrap();
    let mut buf = [0; 2];
    assert_eq!(log.recv(&mut buf).unwrap(), 2);
}

/// A connection of an `AnyListener` is the stream under it, over TCP and
/// over a Unix socket alike: what is written reaches the client whole, and
/// a shutdown ends the client's read while the server still holds the
/// connection.
#[tokio::test]
async fn an_any_listener_connection_writes_and_shuts_down_as_its_stream() {
    use tokio::io::{AsyncWrite, AsyncWriteExt};
    let dir = TempDir::new("any");
    let path = dir.join("api.sock");
    let text = spec(&[
        format!("local.api = unix:{}", path.display()),
        "ip = 127.0.0.1".to_owned(),
        "ip.web = tcp:0".to_owned(),
    ]);
    let mut bound = listenspec::bind_all_async(&text).await.unwrap();
    let web = bound.endpoint("ip", "web").unwrap().local_addrs()[0];
    let timeout = Some(Duration::from_secs(5));
    let unix_client = UnixStream::connect(&path).unwrap();
    unix_client.set_read_timeout(timeout).unwrap();
    let tcp_client = std::net::TcpStream::connect(web).unwrap();
    tcp_client.set_read_timeout(timeout).unwrap();
    let clients: [(&str, &str, Box<dyn Read + Send>); 2] = [
        ("local", "api", Box::new(unix_client)),
        ("ip", "web", Box::new(tcp_client)),
    ];
    for (network, name, mut client) in clients {
        let mut listener = bound.take::<AnyListener>(network, name).unwrap();
        let (mut conn, _peer) = listener.accept().await.unwrap();
        // As its stream, it takes vectored writes, which hyper then uses.
        assert!(conn.is_write_vectored(), "{network}.{name}");
        conn.write_all(b"hello, ").await.unwrap();
        let n = conn
            .write_vectored(&[std::io::IoSlice::new(b"world")])
            .await
            .unwrap();
        assert_eq!(n, 5, "{network}.{name}");
        conn.shutdown().await.unwrap();
        let got = tokio::task::spawn_blocking(move || {
            let mut got = Vec::new();
            client.read_to_end(&mut got).map(|_| got)
        })
        .await
        .unwrap();
        let got = got.unwrap_or_else(|e| panic!("{network}.{name}: {e}"));
        assert_eq!(got, b"hello, world", "{network}.{name}");
        drop(conn);
    }
}

/// A Unix listener is the stream of connections tonic's
/// `serve_with_incoming` takes: each item is the next client's stream, and
/// the stream does not end.
#[tokio::test]
async fn a_unix_listener_is_a_stream_of_its_connections() {
    use futures_core::Stream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = TempDir::new("stream");
    let path = dir.join("api.sock");
    let text = spec(&[format!("local.api = unix:{}", path.display())]);
    let mut bound = listenspec::bind_all_async(&text).await.unwrap();
    let mut listener = bound.take::<UnixEndpointListener>("local", "api").unwrap();
    for greeting in [b"one", b"two"] {
        let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
        let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut listener).poll_next(cx));
        let mut conn = next.await.expect("the stream never ends").unwrap();
        client.write_all(greeting).await.unwrap();
        let mut got = [0; 3];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, greeting);
    }
}

/// The real test of the mode: curl run as nobody is refused where root
/// gets the page, and gets it too once the mode lets everyone in.
#[tokio::test]
async fn a_user_the_mode_excludes_cannot_connect() {
    if !needs_root("a_user_the_mode_excludes_cannot_connect") {
        return;
    }
    let dir = TempDir::new("nobody");
    let closed = dir.join("closed.sock");
    let open = dir.join("open.sock");
    let text = spec(&[
        format!("local.closed = http:{} mode=600", closed.display()),
        format!("local.open = http:{} mode=666", open.display()),
    ]);
    let mut bound = listenspec::bind_all_async(&text).await.unwrap();
    for name in ["closed", "open"] {
        let listener = bound.take::<UnixEndpointListener>("local", name).unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    let curl = |path: PathBuf, nobody: bool| {
        tokio::task::spawn_blocking(move || {
            let mut c = if nobody {
                as_nobody("curl")
            } else {
                Command::new("curl")
            };
            c.args(["-sS", "--max-time", "5", "--unix-socket"])
                .arg(&path)
                .arg("http://localhost/")
                .output()
                .unwrap()
        })
    };
    let root = curl(closed.clone(), false).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&root.stdout), "hello", "{root:?}");
    let refused = curl(closed.clone(), true).await.unwrap();
    assert!(!refused.status.success(), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("Permission denied") || err.contains("Couldn't connect"),
        "{err}"
    );
    let allowed = curl(open.clone(), true).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&allowed.stdout),
        "hello",
        "{allowed:?}"
    );
}

#[test]
fn owner_and_group_are_applied() {
    if !needs_root("owner_and_group_are_applied") {
        return;
    }
    let dir = TempDir::new("owner");
    let stream = dir.join("api.sock");
    let dgram = dir.join("log.sock");
    let _bound = bind(&[
        format!(
            "local.api = unix:{} owner=65534 group=65534 mode=660",
            stream.display()
        ),
        format!("local.log = unixgram:{} group=65534", dgram.display()),
    ])
    .unwrap();
    assert_eq!(stat("%u %g %a", &stream), "65534 65534 660");
    assert_eq!(stat("%u %g", &dgram), "0 65534");
    assert_eq!(dir.listing(), ["api.sock", "log.sock"]);
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_sockets_bind_and_accept() {
    use std::os::linux::net::SocketAddrExt;

    let name = format!("listenspec-it-{}", std::process::id());
    let mut bound = bind(&[
        format!("local.api = unix:@{name}"),
        format!("local.log = unixgram:@{name}-log"),
    ])
    .unwrap();
    assert!(bound.to_string().contains(&format!("@{name}")), "{bound}");
    let listener = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "api")
        .unwrap();
    assert!(listener.file().is_none(), "no file to guard");
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let mut client = UnixStream::connect_addr(&addr).unwrap();
    client.write_all(b"ping").unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0; 4];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    // A name in use is another instance running, as a live socket's file
    // is: an abstract name has no file to be stale.
    let err = bind(&[format!("local.again = unix:@{name}")]).unwrap_err();
    assert!(
        matches!(unix_error(&err), UnixError::AbstractTaken { name: n } if *n == name),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("another instance is running on @{name}")),
        "{shown}"
    );
    assert!(!shown.contains("a file appeared"), "{shown}");
    let log = bound
        .take::<WithFile<std::os::unix::net::UnixDatagram>>("local", "log")
        .unwrap();
    let to = std::os::unix::net::SocketAddr::from_abstract_name(format!("{name}-log")).unwrap();
    UnixDatagram::unbound()
        .unwrap()
        .send_to_addr(b"hi", &to)
        .unwrap();
    assert_eq!(log.recv(&mut buf).unwrap(), 2);
}

/// Counting descriptors needs a process where no other test opens any:
/// this test runs the next one alone, in a process of its own.
#[test]
fn rollback_leaves_no_file_and_no_descriptor() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unix::rollback_in_a_quiet_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "the test ran: {text}");
}

#[test]
#[ignore = "run alone in its own process by rollback_leaves_no_file_and_no_descriptor"]
fn rollback_in_a_quiet_process() {
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let dir = TempDir::new("rollback");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_fd = 1;
    let port = busy.local_addr().unwrap().port();
    let host = crate::loopback_host();
    let text: ListenSpec = format!(
        "local = unix\nlo = 127.0.0.1\nlocal.api = unix:{}\nlocal.log = unixgram:{} mode=600\nlocal.keep = unix:{} keep-file\nlo.ok = tcp:0\nlo.web = http:{port}",
        dir.join("api.sock").display(),
        dir.join("log.sock").display(),
        dir.join("keep.sock").display(),
    )
    .parse()
    .unwrap();
    let plan = text.plan(&host).unwrap();
    let before = fds();
    let err = plan.bind_inherited(Vec::new()).unwrap_err();
    assert_eq!(err.failures().len(), 1, "{err}");
    assert_eq!(err.failures()[0].endpoint().unwrap().to_string(), "lo.web");
    assert_eq!(fds(), before, "every descriptor closed");
    assert!(dir.listing().is_empty(), "files left: {:?}", dir.listing());
    // And the same plan binds once the port is free.
    drop(busy);
    let bound = plan.bind_inherited(Vec::new()).unwrap();
    assert_eq!(dir.listing(), ["api.sock", "keep.sock", "log.sock"]);
    drop(bound);
    assert_eq!(dir.listing(), ["keep.sock"], "kept by keep-file");
    assert_eq!(fds(), before - busy_fd);
}

#[test]
fn the_file_goes_with_the_listener_unless_kept_or_replaced() {
    let dir = TempDir::new("drop");
    let gone = dir.join("gone.sock");
    let kept = dir.join("kept.sock");
    let swapped = dir.join("swapped.sock");
    let by_hand = dir.join("byhand.sock");
    let mut bound = bind(&[
        format!("local.gone = unix:{}", gone.display()),
        format!("local.kept = unixgram:{} keep-file", kept.display()),
        format!("local.swapped = unix:{}", swapped.display()),
        format!("local.byhand = unix:{}", by_hand.display()),
    ])
    .unwrap();
    let g = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "gone")
        .unwrap();
    assert_eq!(g.file().unwrap().path(), gone);
    assert!(!g.file().unwrap().is_kept());
    assert!(g.file().unwrap().is_ours());
    drop(g);
    assert!(!gone.exists(), "removed on drop");

    let k = bound
        .take::<WithFile<std::os::unix::net::UnixDatagram>>("local", "kept")
        .unwrap();
    assert!(k.file().unwrap().is_kept());
    drop(k);
    closed_everywhere(&kept);
    assert!(
        std::fs::symlink_metadata(&kept)
            .unwrap()
            .file_type()
            .is_socket()
    );
    // Kept, it is stale now, and the next start replaces it.
    drop(bind(&[format!("local.kept = unixgram:{}", kept.display())]).unwrap());
    assert!(!kept.exists());

    // Someone else's file at the path by the time of the drop stays.
    let s = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "swapped")
        .unwrap();
    std::fs::remove_file(&swapped).unwrap();
    std::fs::write(&swapped, "someone else's").unwrap();
    assert!(!s.file().unwrap().is_ours());
    drop(s);
    assert_eq!(std::fs::read_to_string(&swapped).unwrap(), "someone else's");

    let b = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "byhand")
        .unwrap();
    let std_listener = b.into_inner_keeping_file();
    drop(std_listener);
    assert!(by_hand.exists(), "the socket alone keeps its file");

    // Another socket at the path is not ours either, nor removed; and a
    // file can be kept after binding, as `keep-file` keeps it.
    let again = dir.join("again.sock");
    let late = dir.join("late.sock");
    let mut bound = bind(&[
        format!("local.again = unix:{}", again.display()),
        format!("local.late = unix:{}", late.display()),
    ])
    .unwrap();
    let u = bound.endpoint("local", "again").unwrap().unix().unwrap();
    assert_eq!(u.to_string(), again.display().to_string());
    assert_eq!(u.socket().file().map(|f| f.path()), Some(again.as_path()));
    let a = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "again")
        .unwrap();
    std::fs::remove_file(&again).unwrap();
    let _other = UnixListener::bind(&again).unwrap();
    assert!(!a.file().unwrap().is_ours());
    drop(a);
    assert!(again.exists(), "the other socket's file stays");
    let mut l = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "late")
        .unwrap();
    l.keep_file();
    assert!(l.file().unwrap().is_kept());
    drop(l);
    assert!(late.exists(), "kept by keep_file");
}

/// Inherited sockets as systemd passes them (`Inherited::new` over real
/// sockets): matched by name, checked for path and type, never unlinked.
#[test]
fn an_inherited_unix_socket_is_checked_and_not_unlinked() {
    let dir = TempDir::new("inherit");
    let path = dir.join("app.sock");
    let elsewhere = dir.join("else.sock");
    let plan = plan(&[format!("local.api = http:{}", path.display())]);
    let bind_with =
        |socket: socket2::Socket| plan.bind_inherited(vec![Inherited::new("local.api", socket)]);

    let wrong_path = UnixListener::bind(&elsewhere).unwrap();
    let err = bind_with(wrong_path.into()).unwrap_err();
    assert!(
        matches!(err.failures()[0].cause(), Cause::InheritedMismatch { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("but the plan has unix {}", path.display())),
        "{text}"
    );
    assert!(text.contains(&elsewhere.display().to_string()), "{text}");

    // One in the abstract namespace is named by its @name.
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("listenspec-inherit-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let abstract_socket = UnixListener::bind_addr(&addr).unwrap();
        let err = bind_with(abstract_socket.into()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("unix socket @{name} (stream)")),
            "{text}"
        );
    }

    // A datagram socket for a stream endpoint: not it. Held open here as
    // a service manager holds its sockets, so the endpoint's own bind
    // finds it live too.
    let dgram = UnixDatagram::bind(&path).unwrap();
    let err = bind_with(dgram.try_clone().unwrap().into()).unwrap_err();
    assert!(
        matches!(err.failures()[0].cause(), Cause::InheritedMismatch { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("unix socket {} (datagram)", path.display())),
        "{text}"
    );
    assert!(text.contains("another instance is running"), "{text}");
    drop(dgram);
    std::fs::remove_file(&path).unwrap();

    let unlistened =
        socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    unlistened
        .bind(&socket2::SockAddr::unix(&path).unwrap())
        .unwrap();
    let err = bind_with(unlistened).unwrap_err();
    assert!(
        matches!(err.failures()[0].cause(), Cause::InheritedDisagrees { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("is not listening"), "{err}");
    assert!(path.exists(), "an inherited socket's file is not ours");
    std::fs::remove_file(&path).unwrap();

    let given = UnixListener::bind(&path).unwrap();
    let mut bound = bind_with(given.into()).unwrap();
    let ep = bound.endpoint("local", "api").unwrap();
    assert_eq!(ep.unix().unwrap().inherited(), Some("local.api"));
    assert!(
        bound
            .to_string()
            .contains("unix socket, inherited local.api"),
        "{bound}"
    );
    let listener = bound
        .take::<WithFile<std::os::unix::net::UnixListener>>("local", "api")
        .unwrap();
    exchange(&path, &listener);
    drop(listener);
    assert!(path.exists(), "the unit's file is left to the unit");
}

/// An inherited socket is the planned one when its path reaches the same
/// file another way (a symlinked directory, as `/var/run` is for `/run`),
/// and not when it is another file, even with the planned path taken.
#[test]
fn an_inherited_unix_socket_reached_another_way_is_the_planned_one() {
    let dir = TempDir::new("samefile");
    let real = dir.join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let planned = link.join("app.sock");
    let plan = plan(&[format!("local.api = http:{}", planned.display())]);
    let bind_with =
        |socket: socket2::Socket| plan.bind_inherited(vec![Inherited::new("local.api", socket)]);

    let served = UnixListener::bind(real.join("app.sock")).unwrap();
    let bound = bind_with(served.try_clone().unwrap().into()).unwrap_or_else(|e| panic!("{e}"));
    let ep = bound.endpoint("local", "api").unwrap();
    assert_eq!(ep.unix().unwrap().inherited(), Some("local.api"));
    drop(bound);

    // The planned path is a live socket now (the one above): a socket
    // elsewhere on the same file system is still not it.
    let other = UnixListener::bind(dir.join("other.sock")).unwrap();
    let err = bind_with(other.into()).unwrap_err();
    assert!(
        matches!(err.failures()[0].cause(), Cause::InheritedMismatch { .. }),
        "{err}"
    );
    drop(served);
}

/// An inherited socket's file is checked against the endpoint's `mode=`,
/// `owner=` and `group=`: what a unit made (systemd's `SocketMode=` is
/// 0666 unless set) is refused when it differs, naming what the file has,
/// what the spec asks and the unit setting that fixes it; an option the
/// endpoint leaves out accepts anything; a file that is gone, a link in its
/// place or another socket's is no socket file clients reach, whether the
/// endpoint asks for any option or none.
#[test]
fn an_inherited_unix_socket_file_is_checked_for_mode_owner_and_group() {
    use listenspec::bind::Disagreement;
    use std::os::unix::fs::PermissionsExt;

    let dir = TempDir::new("inherit-mode");
    let path = dir.join("app.sock");
    let given = UnixListener::bind(&path).unwrap();
    let chmod =
        |mode: u32| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    let uid = std::fs::metadata(&path).unwrap().uid();
    let gid = std::fs::metadata(&path).unwrap().gid();
    let other = if uid == 65534 { 65533 } else { 65534 };
    let try_with = |options: &str| {
        let line = format!("local.api = http:{} {options}", path.display());
        plan(&[line]).bind_inherited(vec![Inherited::new(
            "local.api",
            given.try_clone().unwrap().into(),
        )])
    };
    let why = |err: &BindError| match err.failures()[0].cause() {
        Cause::InheritedDisagrees { why, .. } => why.clone(),
        other => panic!("not a disagreement: {other:?}"),
    };
    // What is at the path instead of the socket's file, when that is the
    // one disagreement.
    let instead = |err: &BindError| match &why(err)[..] {
        [Disagreement::NoSocketFile { found, .. }] => *found,
        other => panic!("not a missing socket file: {other:?}"),
    };

    chmod(0o644);
    let err = try_with("mode=600").unwrap_err();
    assert_eq!(
        why(&err),
        [Disagreement::FileMode {
            path: path.clone(),
            found: 0o644,
            expected: 0o600
        }]
    );
    let text = err.to_string();
    for part in [
        "local.api",
        "has mode 644",
        "the endpoint says mode=600",
        "SocketMode=0600",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
    assert!(path.exists(), "the unit's file is left to the unit");

    // The file agrees, or the endpoint does not ask: taken.
    for options in ["", &format!("owner={uid} group={gid}")] {
        let bound = try_with(options).unwrap_or_else(|e| panic!("{options}: {e}"));
        assert!(bound.to_string().contains("inherited local.api"), "{bound}");
    }
    chmod(0o600);
    let bound = try_with(&format!("mode=0600 owner={uid} group={gid}")).unwrap();
    assert!(bound.to_string().contains("inherited local.api"), "{bound}");
    drop(bound);

    // Owner and group are compared as ids, and each is named in the fix
    // as the spec wrote it.
    let err = try_with(&format!("mode=600 owner={other} group={other}")).unwrap_err();
    assert_eq!(why(&err).len(), 2, "{err}");
    let text = err.to_string();
    for part in [
        format!("owned by uid {uid}, but the endpoint says owner={other}"),
        format!("in group gid {gid}, but the endpoint says group={other}"),
        format!("SocketUser={other}"),
        format!("SocketGroup={other}"),
    ] {
        assert!(text.contains(&part), "{part:?} in {text}");
    }

    // Another socket's file at the path, with the mode asked: clients
    // reach that one, not the inherited socket (Linux tells them apart by
    // the inode the socket keeps). Put back, the file is taken again.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let first = dir.join("first.sock");
        std::fs::rename(&path, &first).unwrap();
        let squatter = UnixListener::bind(&path).unwrap();
        chmod(0o600);
        let err = try_with(&format!("mode=600 owner={uid} group={gid}")).unwrap_err();
        assert_eq!(instead(&err), Some(FileKind::AnotherSocket), "{err}");
        assert!(err.to_string().contains("another socket's file"), "{err}");
        let err = try_with("").unwrap_err();
        assert_eq!(instead(&err), Some(FileKind::AnotherSocket), "{err}");
        drop(squatter);
        std::fs::rename(&first, &path).unwrap();
        drop(try_with("mode=600").unwrap());
    }

    // No socket file at the path: nothing clients reach there.
    let moved = dir.join("moved.sock");
    std::fs::rename(&path, &moved).unwrap();
    for options in ["mode=600", ""] {
        let err = try_with(options).unwrap_err();
        assert_eq!(instead(&err), None, "{options}: {err}");
    }
    std::os::unix::fs::symlink(&moved, &path).unwrap();
    for options in ["mode=600", ""] {
        let err = try_with(options).unwrap_err();
        assert_eq!(instead(&err), Some(FileKind::Symlink), "{options}: {err}");
    }
    let err = try_with("mode=600").unwrap_err();
    assert!(err.to_string().contains("it is a symbolic link"), "{err}");

    // A path that cannot be looked at is named with the error, not taken
    // for a file that is gone: a regular file where its directory was.
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let inner = sub.join("app.sock");
    let held = UnixListener::bind(&inner).unwrap();
    std::fs::rename(&sub, dir.join("sub.moved")).unwrap();
    std::fs::write(&sub, b"").unwrap();
    let line = format!("local.api = http:{} mode=600", inner.display());
    let err = plan(&[line])
        .bind_inherited(vec![Inherited::new("local.api", held.into())])
        .unwrap_err();
    let unreadable = FileKind::Unreadable {
        errno: libc::ENOTDIR,
    };
    assert_eq!(instead(&err), Some(unreadable), "{err}");
}

/// Starts `unix_server` for the endpoint line `endpoint` (`{}` standing
/// for `dir/app.sock`) under the real `systemd-socket-activate` holding
/// that path as `local.api`, its stdout and stderr in `dir/out.txt` and
/// `dir/err.txt`, and waits until the tool has bound the path. The server
/// starts on the first connection. `None` when the tool is missing (off
/// CI only).
fn socket_activated(dir: &TempDir, endpoint: &str, test: &str) -> Option<Running> {
    let tool = "/usr/bin/systemd-socket-activate";
    if !Path::new(tool).exists() {
        let why = format!("{tool} is not installed (Debian package systemd)");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: {why}"
        );
        eprintln!("SKIP {test}: {why}");
        return None;
    }
    let path = dir.join("app.sock");
    let running = Running(
        Command::new(tool)
            .arg(format!("--listen={}", path.display()))
            .arg("--fdname=local.api")
            .arg("-E")
            .arg("RUST_BACKTRACE=1")
            .arg(example("unix_server"))
            .args(["--listen", "local = unix", "--listen"])
            .arg(endpoint.replace("{}", path.to_str().unwrap()))
            .stdout(std::fs::File::create(dir.join("out.txt")).unwrap())
            .stderr(std::fs::File::create(dir.join("err.txt")).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate never bound {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(running)
}

/// [`socket_activated`] for `local.api = http:PATH mode=600`, after giving
/// the file the tool made `mode` (as a unit's `SocketMode=` would).
/// Returns the server and its stdout and stderr files.
fn activate_with_mode(dir: &TempDir, mode: u32, test: &str) -> Option<(Running, PathBuf, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let running = socket_activated(dir, "local.api = http:{} mode=600", test)?;
    // The tool binds under its umask; what matters is that the file's
    // mode is not the spec's, as systemd's default 0666 is not.
    let path = dir.join("app.sock");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    Some((running, dir.join("out.txt"), dir.join("err.txt")))
}

/// Connects through `path`, which starts the activated server, and waits
/// until it has exited in failure; returns what it wrote to `err`.
fn refused_at_start(running: &mut Running, path: &Path, err: &Path) -> String {
    let _first = UnixStream::connect(path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server kept serving");
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(err).unwrap();
    assert!(!status.success(), "{text}");
    text
}

#[test]
fn a_socket_from_systemd_socket_activate_with_a_wider_mode_is_refused() {
    let test = "a_socket_from_systemd_socket_activate_with_a_wider_mode_is_refused";
    let dir = TempDir::new("activate-mode");
    let Some((mut running, _, err)) = activate_with_mode(&dir, 0o666, test) else {
        return;
    };
    let text = refused_at_start(&mut running, &dir.join("app.sock"), &err);
    for part in [
        "local.api",
        "inherited socket \"local.api\"",
        "has mode 666",
        "the endpoint says mode=600",
        "SocketMode=0600",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
}

/// Another user who may write the directory (`nobody`, by `setpriv`)
/// moves the socket file `systemd-socket-activate` made aside and binds a
/// socket of its own at the path, with the mode the spec asks: clients
/// reach the attacker there. The server, started through the moved file,
/// refuses the inherited socket: the file at its path is not its own. It
/// took it, its mode agreeing.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn a_socket_from_systemd_socket_activate_whose_file_another_user_replaced_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let test = "a_socket_from_systemd_socket_activate_whose_file_another_user_replaced_is_refused";
    if let Some(dir) = std::env::var_os("LISTENSPEC_SQUAT") {
        // The attacker: move the file aside, bind in its place, hold it.
        let dir = PathBuf::from(dir);
        std::fs::rename(dir.join("app.sock"), dir.join("moved.sock")).unwrap();
        let _held = UnixListener::bind(dir.join("app.sock")).unwrap();
        std::fs::set_permissions(dir.join("app.sock"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        println!("squatted ready");
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    if !needs_root(test) {
        return;
    }
    let dir = TempDir::new("activate-squat");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let Some((mut running, _, err)) = activate_with_mode(&dir, 0o600, test) else {
        return;
    };
    let squat = [("LISTENSPEC_SQUAT", dir.0.as_os_str())];
    let (mut squatter, _out) = attacker(&format!("unix::{test}"), &squat, "ready");
    // The first connection, through the moved file, starts the server.
    let text = refused_at_start(&mut running, &dir.join("moved.sock"), &err);
    let _ = squatter.kill();
    let _ = squatter.wait();
    for part in [
        "inherited socket \"local.api\"",
        "another socket's file",
        "nothing may remove or replace its file",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
}

#[test]
fn a_socket_from_systemd_socket_activate_with_the_spec_mode_is_taken() {
    let test = "a_socket_from_systemd_socket_activate_with_the_spec_mode_is_taken";
    let dir = TempDir::new("activate-same");
    let Some((mut running, out, err)) = activate_with_mode(&dir, 0o600, test) else {
        return;
    };
    let path = dir.join("app.sock");
    let reply = curl_unix(&path);
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout),
        format!("hello from {}\n", path.display()),
        "{reply:?} {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    let table = wait_for_table(&out, &path);
    assert!(
        table.contains("unix socket, inherited local.api"),
        "{table}"
    );
    interrupt(&mut running);
}

/// Reads the start-up table until it names `path`, or fails after 20 s.
fn wait_for_table(out: &Path, path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        if text.contains(&path.display().to_string()) {
            return text;
        }
        assert!(Instant::now() < deadline, "no table in 20 s: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn curl_unix(path: &Path) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10", "--unix-socket"])
        .arg(path)
        .arg("http://localhost/")
        .output()
        .expect("curl is installed")
}

fn interrupt(running: &mut Running) {
    let child = &mut running.0;
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "no exit 10 s after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_axum_server_answers_curl_over_its_unix_socket() {
    let dir = TempDir::new("axum");
    let path = dir.join("api.sock");
    let out = dir.join("out.txt");
    let mut running = Running(
        Command::new(example("unix_server"))
            .args(["--listen", "local = unix", "--listen"])
            .arg(format!("local.api = http:{} mode=660", path.display()))
            .stdout(std::fs::File::create(&out).unwrap())
            .spawn()
            .unwrap(),
    );
    let table = wait_for_table(&out, &path);
    assert!(table.contains("http+unix://"), "{table}");
    let reply = curl_unix(&path);
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout),
        format!("hello from {}\n", path.display()),
        "{reply:?}"
    );
    assert_eq!(stat("%a", &path), "660");
    interrupt(&mut running);
    assert!(!path.exists(), "removed when the server stopped");
}

#[test]
fn the_server_takes_its_unix_socket_from_systemd_socket_activate() {
    let test = "the_server_takes_its_unix_socket_from_systemd_socket_activate";
    let dir = TempDir::new("activate");
    // The tool binds the path itself and starts the server on the first
    // connection.
    let Some(mut running) = socket_activated(&dir, "local.api = http:{}", test) else {
        return;
    };
    let path = dir.join("app.sock");
    let out = dir.join("out.txt");
    let reply = curl_unix(&path);
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout),
        format!("hello from {}\n", path.display()),
        "{reply:?}"
    );
    let table = wait_for_table(&out, &path);
    assert!(
        table.contains("unix socket, inherited local.api"),
        "{table}"
    );
    interrupt(&mut running);
    assert!(
        path.exists(),
        "the inherited socket's file is not the server's to remove"
    );
}

#[test]
fn the_doctor_check_reaches_unix_sockets() {
    let dir = TempDir::new("doctor");
    let api = dir.join("api.sock");
    let log = dir.join("log.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_listenspec"))
        .args(["doctor", "--check", "--listen", "local = unix"])
        .arg("--listen")
        .arg(format!("local.api = http:{} mode=600", api.display()))
        .arg("--listen")
        .arg(format!("local.log = unixgram:{}", log.display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, path) in [("local.api", &api), ("local.log", &log)] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("ok   {name} ")))
            .unwrap_or_else(|| panic!("no ok line for {name}: {text}"));
        assert!(
            line.ends_with(&format!("reaches this process on {}", path.display())),
            "{line}"
        );
    }
    assert!(dir.listing().is_empty(), "released: {:?}", dir.listing());
}

/// A Unix endpoint's own URL is probed at its path, which the report names.
#[test]
fn the_check_probes_a_unix_url_at_its_path() {
    let dir = TempDir::new("reach");
    let api = dir.join("api.sock");
    let bound = bind(&[format!("local.api = unix:{}", api.display())]).unwrap();
    let reach = bound.check_advertised(Duration::from_secs(2));
    assert_eq!(reach.len(), 1);
    assert!(reach[0].reached(), "{}", reach[0]);
    assert_eq!(reach[0].unix_target(), Some(&UnixPath::File(api.clone())));
    assert_eq!(reach[0].target(), None);
    assert_eq!(
        reach[0].url().map(|u| u.as_str().to_owned()),
        Some(format!("unix:{}", api.display()))
    );
}

/// A path with `%` and `?` in it is advertised percent-encoded, so the
/// check (and the doctor's `--check`) reaches the socket there and not
/// the path the raw text would name (`?` starting a query); the URL given
/// back as a one-address spec names the same path.
#[test]
fn the_check_reaches_a_unix_socket_whose_path_has_percent_and_question_mark() {
    let dir = TempDir::new("escape");
    for (protocol, name) in [("unix", "a%41?b.sock"), ("http", "c%?d.sock")] {
        let path = dir.join(name);
        let bound = bind(&[format!("local.api = {protocol}:{}", path.display())]).unwrap();
        let reach = bound.check_advertised(Duration::from_secs(2));
        assert!(reach[0].reached(), "{}", reach[0]);
        assert_eq!(reach[0].unix_target(), Some(&UnixPath::File(path.clone())));
        let url = reach[0].url().unwrap().as_str().to_owned();
        assert!(url.contains("%25") && url.contains("%3F"), "{url}");
        let again: ListenSpec = url.parse().unwrap();
        let endpoint = &again.endpoints()[0];
        assert_eq!(
            endpoint.unix_path(),
            Some(&UnixPath::File(path.clone())),
            "{url}"
        );
    }
    drop(dir);

    let dir = TempDir::new("escape-doctor");
    let api = dir.join("a%3F?.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_listenspec"))
        .args(["doctor", "--check", "--listen", "local = unix", "--listen"])
        .arg(format!("local.api = unix:{}", api.display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("a%253F%3F.sock"), "{text}");
    assert!(
        text.contains(&format!("reaches this process on {}", api.display())),
        "{text}"
    );
}

/// A TCP proxy in front of the Unix socket, as the advertised URL says:
/// one that passes the probe through reaches the endpoint; one that
/// connects to the endpoint but sends something else does not, though the
/// endpoint got a connection.
#[test]
fn a_connection_without_the_nonce_is_not_reached() {
    let dir = TempDir::new("proxy");
    let api = dir.join("api.sock");
    for pass_through in [true, false] {
        let front = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = front.local_addr().unwrap().port();
        let bound = bind(&[format!(
            "local.api = http:{} advertise http://127.0.0.1:{port}/",
            api.display(),
        )])
        .unwrap();
        let upstream = api.clone();
        let proxy = std::thread::spawn(move || {
            let (mut conn, _) = front.accept().unwrap();
            let mut buf = [0; 512];
            let n = conn.read(&mut buf).unwrap();
            let mut up = UnixStream::connect(&upstream).unwrap();
            if pass_through {
                // A proxy passes the answer back too: the check is a round
                // trip on the probe's own connection.
                up.write_all(&buf[..n]).unwrap();
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                conn.write_all(&answer).unwrap();
            } else {
                up.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
                // Held until the check is done with it.
                let _ = up.read(&mut [0; 64]);
            }
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let reach = bound.check_advertised(Duration::from_millis(800));
        drop(bound);
        // Before joining: a check that never connected leaves the proxy
        // waiting in accept for good.
        assert_eq!(reach.len(), 1);
        assert_eq!(reach[0].target(), Some(([127, 0, 0, 1], port).into()));
        let seen = proxy.join().unwrap();
        assert!(
            seen.starts_with("GET /.well-known/listenspec-probe/"),
            "{seen}"
        );
        assert_eq!(reach[0].reached(), pass_through, "{}", reach[0]);
        assert_eq!(reach[0].unix_target(), None);
        if pass_through {
            assert!(
                matches!(reach[0].outcome(), Outcome::ReachedUnix { path } if *path == UnixPath::File(api.clone())),
                "{}",
                reach[0]
            );
        } else {
            assert!(
                matches!(reach[0].outcome(), Outcome::Elsewhere),
                "{}",
                reach[0]
            );
        }
    }
}

/// Plan and bind agree on every length: around Linux's `sun_path` limit,
/// a path the plan accepts binds, and one it refuses would not. The stream
/// and the datagram socket with a mode are both made in a private
/// directory first, whose path is longer than theirs; on Linux it is
/// reached through its descriptor, so only the socket's own path counts.
#[cfg(target_os = "linux")]
#[test]
fn plan_and_bind_agree_on_path_lengths() {
    let dir = TempDir::new("len");
    let deep = dir.join(&"d".repeat(95usize.saturating_sub(dir.0.as_os_str().len())));
    std::fs::create_dir(&deep).unwrap();
    let room = deep.as_os_str().len() + 1;
    for len in 100..=112 {
        let path = deep.join("s".repeat(len - room));
        assert_eq!(path.as_os_str().len(), len);
        for endpoint in ["unix:{}", "unixgram:{} mode=600"] {
            let line = format!(
                "local.api = {}",
                endpoint.replace("{}", path.to_str().unwrap())
            );
            let spec = spec(std::slice::from_ref(&line));
            let host = listenspec::capture::capture(&spec).unwrap();
            match spec.plan(&host) {
                Ok(plan) => {
                    assert!(len <= 107, "{len}: planned");
                    let bound = plan.bind_inherited(Vec::new());
                    assert!(bound.is_ok(), "{len} {line}: {}", bound.unwrap_err());
                }
                Err(e) => {
                    assert!(len > 107, "{len}: {e}");
                    assert!(
                        e.to_string().contains("so the socket cannot be bound"),
                        "{e}"
                    );
                }
            }
            assert!(!path.exists(), "{len}: the socket file outlived its socket");
        }
    }
}

/// axum is told the path clients use as the listener's address, not the
/// private one the kernel names the socket by (it was bound there before
/// being published).
#[tokio::test]
async fn a_unix_listener_reports_its_published_path() {
    let dir = TempDir::new("local-addr");
    let path = dir.join("api.sock");
    let spec = spec(&[format!("local.api = http:{}", path.display())]);
    let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
    let listener = bound.take::<UnixEndpointListener>("local", "api").unwrap();
    let addr = axum::serve::Listener::local_addr(&listener).unwrap();
    assert_eq!(addr.as_pathname(), Some(path.as_path()));
}

/// A stale socket whose name is long is still probed and replaced: the
/// probe goes through the directory's descriptor only when that path fits
/// a socket address (`/proc/self/fd/N/` and a name of 94 bytes does not),
/// else by the socket's own path, which fits when the directory's is short.
#[test]
fn a_stale_socket_with_a_long_name_is_replaced() {
    /// A directory with a short path, removed when dropped.
    struct Short(PathBuf);
    impl Drop for Short {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = Short(Path::new("/tmp").join(format!("l{:x}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let name = "s".repeat(107 - dir.0.as_os_str().len() - 1);
    let path = dir.0.join(&name);
    assert_eq!(path.as_os_str().len(), 107);
    assert!("/proc/self/fd/3/".len() + name.len() > 107);
    leave_stale(&path, true);
    let bound = bind(&[format!("local.api = unix:{}", path.display())]).unwrap();
    UnixStream::connect(&path).unwrap();
    drop(bound);
    assert!(!path.exists());
}
