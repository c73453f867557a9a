//! Racing a socket file with a real attacker: a second process, running
//! as `nobody`, in a directory it may write, loops for a bounded time
//! against the server's socket paths while the server binds and drops its
//! sockets a few hundred times. It connects to the sockets, renames
//! symbolic links over their names, leaves stale sockets of its own there
//! for the server to clear, and flips the directory on their path to a
//! link of its own to a directory of root's victims and back.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::TempDir;
use crate::unix::{attacker, needs_root};

/// The role of a child run of [`a_socket_file_holds_against_an_attacker`],
/// and the directory it works in.
const ROLE: &str = "LISTENSPEC_RACE_ROLE";
const DIR: &str = "LISTENSPEC_RACE_DIR";

/// How many times the server binds and drops, and the most time it takes
/// to get there (the attacker makes many binds fail).
const ROUNDS: usize = 300;
const SERVE_FOR: Duration = Duration::from_secs(30);
/// The most the attacker loops, whatever the server does.
const ATTACK_FOR: Duration = Duration::from_secs(60);

/// The names of the server's sockets and of root's victims, which the
/// symbolic links point at.
const SOCKETS: [&str; 2] = ["api.sock", "log.sock"];
const VICTIM: &str = "victim";
/// The file the test makes when the server is done, to stop the attacker.
const STOP: &str = "stop";

/// What a test sees of a file: type, mode, owner, group and inode.
fn look(path: &Path) -> Option<(u32, u32, u32, u64)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.mode(), m.uid(), m.gid(), m.ino()))
}

/// Under attack, the server's sockets are never reachable by a user their
/// mode excludes (not even between bind and chmod), and no file outside
/// the socket's directory changes mode, owner or existence: not through a
/// symbolic link renamed over the socket's name (chmod, chown), nor through
/// a directory on the path swapped for the attacker's link (removal on
/// drop, rollback and stale-file clearing): the bind does not follow that
/// link, which the plan never saw.
#[test]
fn a_socket_file_holds_against_an_attacker() {
    match std::env::var(ROLE).as_deref() {
        Ok("server") => return serve(&PathBuf::from(std::env::var(DIR).unwrap())),
        Ok("attacker") => return attack(&PathBuf::from(std::env::var(DIR).unwrap())),
        _ => {}
    }
    if !needs_root("a_socket_file_holds_against_an_attacker") {
        return;
    }
    let top = TempDir::new("race");
    let chmod = |p: &Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    // The attacker may write the working directory and the socket
    // directory in it; root's victims are elsewhere, where it may not.
    let work = top.join("work");
    let real = work.join("p");
    let victims = top.join("victims");
    for d in [&work, &real] {
        std::fs::create_dir(d).unwrap();
        chmod(d, 0o777);
    }
    std::fs::create_dir(&victims).unwrap();
    chmod(&victims, 0o755);
    // Root's file, and root's stale sockets of the names the server
    // binds: a bind led there would clear them as its own path's.
    let p = victims.join(VICTIM);
    std::fs::write(&p, "root's").unwrap();
    chmod(&p, 0o640);
    for name in SOCKETS {
        drop(UnixListener::bind(victims.join(name)).unwrap());
    }
    let before: Vec<_> = std::fs::read_dir(&victims)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.clone(), look(&p))
        })
        .collect();

    // The server: root, with a umask that would leave a socket open to
    // everyone if its mode were set late.
    let mut server = Command::new("/bin/sh");
    server
        .args(["-c", "umask 000; exec \"$@\"", "sh"])
        .arg(std::env::current_exe().unwrap());
    let (attacks, served) = race(
        "unix_race::a_socket_file_holds_against_an_attacker",
        ROLE,
        &top.0,
        server,
    );

    // The attack ran, and so did the server, often enough to mean something.
    let bound = served
        .lines()
        .find_map(|l| l.split_once("server: bound ").map(|(_, n)| n))
        .and_then(|n| n.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("server: {served}"));
    assert_eq!(bound, ROUNDS, "{served}");
    let count = |what: &str| {
        attacks
            .lines()
            .find_map(|l| l.split_once(what).map(|(_, n)| n))
            .and_then(|n| n.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("attacker: {attacks}"))
    };
    assert!(count("flips ") > 0, "attacker: {attacks}");
    // The server removed stale sockets while the directory flipped: the
    // removal went through the directory it looked in.
    assert!(count("cleared ") > 0, "attacker: {attacks}");
    // The line of a child's output that `key` starts, past the harness's
    // words before it.
    let said = |out: &str, key: &str| {
        let rest = out.lines().find_map(|l| l.split_once(key).map(|(_, r)| r));
        format!("{key}{}", rest.unwrap_or_default())
    };
    eprintln!(
        "unix race: attacker {}; {}",
        said(&attacks, "flips "),
        said(&served, "bound ")
    );
    let reached: Vec<&str> = attacks
        .lines()
        .filter(|l| l.starts_with("reached"))
        .collect();
    assert!(
        reached.is_empty(),
        "nobody reached a mode=600 socket: {reached:?}"
    );
    let after: Vec<_> = before.iter().map(|(p, _)| (p.clone(), look(p))).collect();
    assert_eq!(before, after, "a victim changed");
    let names = std::fs::read_dir(&victims).unwrap().count();
    assert_eq!(names, before.len(), "a file appeared among the victims");
}

/// Runs `test` of this binary twice at once in `top`: as the attacker (as
/// nobody), and as the server by `server` (this binary, or a shell that
/// starts it). Told to stop when the server is done, the attacker says how
/// often it attacked and ends; it ends by itself after `ATTACK_FOR` in any
/// case. What each printed, both having succeeded.
fn race(test: &str, role: &str, top: &Path, mut server: Command) -> (String, String) {
    let (mut attacker, mut attacker_out) = attacker(
        test,
        &[(role, "attacker".as_ref()), (DIR, top.as_os_str())],
        "attacking",
    );
    let server = server
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(role, "server")
        .env(DIR, top)
        .output()
        .unwrap();
    std::fs::write(top.join(STOP), "").unwrap();
    let mut attacks = String::new();
    attacker_out.read_to_string(&mut attacks).unwrap();
    assert!(attacker.wait().unwrap().success(), "attacker: {attacks}");
    let served = String::from_utf8_lossy(&server.stdout).into_owned();
    assert!(server.status.success(), "server: {served}");
    (attacks, served)
}

/// The server's side: bind both sockets and drop them until `ROUNDS`
/// binds succeeded or `SERVE_FOR` passed, then say how many bound.
fn serve(top: &Path) {
    let dir = top.join("work/p");
    let spec: listenspec::ListenSpec = format!(
        "local = unix\n\
         local.api = unix:{0}/api.sock mode=600 group=nogroup\n\
         local.log = unixgram:{0}/log.sock mode=600 group=nogroup",
        dir.display()
    )
    .parse()
    .unwrap();
    // Planned once, on a made-up host: what is raced is the bind, and a
    // capture would mostly see the attacker's files and stop at the plan.
    let host = listenspec::Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .group("nogroup", 65534)
        .build()
        .unwrap();
    let plan = spec.plan(&host).unwrap();
    let mut bound = 0;
    let mut errors = std::collections::BTreeMap::new();
    let start = Instant::now();
    while bound < ROUNDS && start.elapsed() < SERVE_FOR {
        match plan.bind_inherited(Vec::new()) {
            Ok(b) => {
                bound += 1;
                // Long enough for the attacker to try the live sockets.
                std::thread::sleep(Duration::from_micros(200));
                drop(b);
            }
            Err(e) => {
                *errors.entry(cause_name(&e)).or_insert(0) += 1;
                // Mostly the attacker's link or root's file at the path:
                // let it move on.
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
    println!("server: bound {bound} of {ROUNDS}; failures: {errors:?}");
}

/// The attacker's side, as nobody: loops until killed or `ATTACK_FOR`.
/// Says "reached PATH" for every connection or datagram a socket took.
fn attack(top: &Path) {
    let work = top.join("work");
    let real = work.join("p");
    let victims = top.join("victims");
    let mut out = std::io::stdout();
    writeln!(out, "attacking").unwrap();
    let start = Instant::now();
    let (mut flips, mut cleared) = (0u64, 0u64);
    // The stale socket last left at each name, to see whether the server
    // removed it.
    let mut left: [Option<u64>; 2] = [None, None];
    let stop = top.join(STOP);
    while start.elapsed() < ATTACK_FOR && !stop.exists() {
        for (name, left) in SOCKETS.into_iter().zip(&mut left) {
            let path = work.join("p").join(name);
            let here = std::fs::symlink_metadata(real.join(name)).ok();
            if left.is_some_and(|ino| here.is_none_or(|m| m.ino() != ino)) {
                cleared += 1;
            }
            if UnixStream::connect(&path).is_ok() {
                writeln!(out, "reached {}", path.display()).unwrap();
            }
            let client = UnixDatagram::unbound().unwrap();
            if client.send_to(b"x", &path).is_ok() {
                writeln!(out, "reached {} (datagram)", path.display()).unwrap();
            }
            // A link to root's victim renamed over the socket's name: a
            // chmod or chown by path after bind would land on the victim.
            let tmp = real.join(format!(".{name}.lnk"));
            let _ = std::fs::remove_file(&tmp);
            if symlink(victims.join(VICTIM), &tmp).is_ok() {
                let _ = std::fs::rename(&tmp, real.join(name));
            }
            std::thread::yield_now();
            // Gone again, or the server would only ever find the link;
            // in its place a stale socket, nobody's, which the server
            // removes (the directory is not sticky): a removal by path
            // after a flip would remove root's file of that name.
            let _ = std::fs::remove_file(real.join(name));
            *left = UnixListener::bind(real.join(name))
                .ok()
                .and_then(|_| std::fs::symlink_metadata(real.join(name)).ok())
                .map(|m| m.ino());
        }
        // The directory on the path moved aside, and in its place a link
        // of nobody's to root's victims, then the directory back: a
        // removal or chmod by path meanwhile would land on root's file of
        // the same name there.
        if flip_once(&real, &victims) {
            flips += 1;
        }
        std::thread::yield_now();
    }
    writeln!(out, "flips {flips} cleared {cleared}").unwrap();
}

/// The role of a child run of
/// [`a_live_socket_with_a_long_name_is_never_taken_for_stale`].
const LONG_ROLE: &str = "LISTENSPEC_RACE_LONG_ROLE";

/// How many binds the server tries against the live socket, at most.
const LONG_ROUNDS: usize = 2000;

/// A socket name too long for the probe to go through the directory's
/// descriptor (`/proc/self/fd/N/NAME` is past `sun_path`): a live socket's
/// file there is never taken for stale, while nobody flips the directory
/// on its path to a link of theirs to a dead socket of that name.
#[test]
fn a_live_socket_with_a_long_name_is_never_taken_for_stale() {
    let name = format!("{}.sock", "l".repeat(87));
    match std::env::var(LONG_ROLE).as_deref() {
        Ok("server") => return serve_long(&PathBuf::from(std::env::var(DIR).unwrap()), &name),
        Ok("attacker") => return flip(&PathBuf::from(std::env::var(DIR).unwrap())),
        _ => {}
    }
    if !needs_root("a_live_socket_with_a_long_name_is_never_taken_for_stale") {
        return;
    }
    // Short, so that the whole path fits `sun_path` though the name is long.
    let top = PathBuf::from(format!("/tmp/lr{}", std::process::id() % 1000));
    let _ = std::fs::remove_dir_all(&top);
    let (work, real, dead) = (top.join("w"), top.join("w/p"), top.join("d"));
    for d in [&top, &work, &real, &dead] {
        std::fs::create_dir(d).unwrap();
    }
    for d in [&work, &real] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let live = UnixListener::bind(real.join(&name)).unwrap();
    let live_ino = look(&real.join(&name)).unwrap().3;
    drop(UnixListener::bind(dead.join(&name)).unwrap());
    let (attacks, served) = race(
        "unix_race::a_live_socket_with_a_long_name_is_never_taken_for_stale",
        LONG_ROLE,
        &top,
        Command::new(std::env::current_exe().unwrap()),
    );
    eprintln!(
        "unix race, long name: {}",
        served.lines().find(|l| l.contains("server:")).unwrap_or("")
    );
    assert!(served.contains("server: bound 0 of"), "{served}");
    assert!(!attacks.contains("flips 0"), "attacker: {attacks}");
    assert_eq!(
        look(&real.join(&name)).map(|l| l.3),
        Some(live_ino),
        "the live socket's file"
    );
    // Its socket gone, the file is stale, and the probe through the link
    // made to it says so: the bind replaces it.
    drop(live);
    let spec: listenspec::ListenSpec = format!(
        "local = unix\nlocal.api = unix:{}",
        real.join(&name).display()
    )
    .parse()
    .unwrap();
    drop(listenspec::bind_all(&spec).unwrap());
    std::fs::remove_dir_all(&top).unwrap();
}

/// The server's side: tries to bind the long name until `LONG_ROUNDS` or
/// `SERVE_FOR`; every try should find the live socket.
fn serve_long(top: &Path, name: &str) {
    let spec: listenspec::ListenSpec = format!(
        "local = unix\nlocal.api = unix:{}",
        top.join("w/p").join(name).display()
    )
    .parse()
    .unwrap();
    let host = crate::loopback_host();
    let plan = spec.plan(&host).unwrap();
    let (mut bound, mut tries) = (0, 0);
    let mut errors = std::collections::BTreeMap::new();
    let start = Instant::now();
    while tries < LONG_ROUNDS && start.elapsed() < SERVE_FOR {
        tries += 1;
        match plan.bind_inherited(Vec::new()) {
            Ok(_) => bound += 1,
            Err(e) => *errors.entry(cause_name(&e)).or_insert(0) += 1,
        }
    }
    println!("server: bound {bound} of {tries}; failures: {errors:?}");
}

/// The attacker's side, as nobody: the socket's directory moved aside and
/// a link of nobody's to the dead socket's directory put in its place,
/// then the directory back, until told to stop or `ATTACK_FOR`.
fn flip(top: &Path) {
    let mut out = std::io::stdout();
    writeln!(out, "attacking").unwrap();
    let (start, stop) = (Instant::now(), top.join(STOP));
    let mut flips = 0u64;
    while start.elapsed() < ATTACK_FOR && !stop.exists() {
        if flip_once(&top.join("w/p"), &top.join("d")) {
            flips += 1;
        }
        std::thread::yield_now();
    }
    writeln!(out, "flips {flips}").unwrap();
}

/// The directory `dir` moved aside and a link of this user's to `target`
/// put in its place for a moment, then the directory back; whether the
/// link was in place.
fn flip_once(dir: &Path, target: &Path) -> bool {
    let (tmp, aside) = (dir.with_extension("lnk"), dir.with_extension("aside"));
    let _ = std::fs::remove_file(&tmp);
    if symlink(target, &tmp).is_err() || std::fs::rename(dir, &aside).is_err() {
        return false;
    }
    let flipped = std::fs::rename(&tmp, dir).is_ok();
    std::thread::yield_now();
    let _ = std::fs::remove_file(dir);
    std::fs::rename(&aside, dir).unwrap();
    flipped
}

/// A failed bind's first cause, by its variant's name (a Unix socket's
/// error by its own).
fn cause_name(e: &listenspec::bind::BindError) -> String {
    match e.failures()[0].cause() {
        listenspec::bind::Cause::Unix(u) => crate::variant_name(u),
        other => crate::variant_name(other),
    }
}
