//! `listenspec fleet` and `listenspec::fleet`: one spec against a folder of
//! recorded snapshots, grouped by outcome and by cause.

use std::path::Path;
use std::process::{Command, Output};

use listenspec::fleet::{Fleet, Outcome};
use listenspec::{ListenSpec, PlanOptions};

use crate::TempDir;

const SPEC: &str = "public = * advertise https://svc.example.com\nops = if:eth2\npublic.http = http:8080\nops.metrics = http:9100 device\n";

/// A folder of snapshots, removed when dropped (a failing test too).
struct Folder(TempDir);

impl Folder {
    fn new(tag: &str) -> Folder {
        Folder(TempDir::new(&format!("fleet-{tag}")))
    }
    fn write(&self, name: &str, text: &str) -> &Folder {
        std::fs::write(self.0.join(name), text).unwrap();
        self
    }
    fn path(&self) -> &Path {
        &self.0.0
    }
}

/// A host with loopback, a public eth0, and eth2 (the ops network) when asked.
fn host(n: u8, eth2: bool) -> String {
    let ops = if eth2 {
        format!(r#", {{"name": "eth2", "index": 3, "up": true, "addrs": ["198.51.100.{n}/24"]}}"#)
    } else {
        String::new()
    };
    format!(
        r#"{{"interfaces": [{{"name": "lo", "index": 1, "up": true, "addrs": ["127.0.0.1/8"]}}, {{"name": "eth0", "index": 2, "up": true, "addrs": ["203.0.113.{n}/24"]}}{ops}]}}"#
    )
}

/// A fleet of five good hosts, two without eth2, one corrupt snapshot, and
/// files that are not snapshots.
fn mixed_fleet(tag: &str) -> Folder {
    let f = Folder::new(tag);
    for n in 1..=5 {
        f.write(&format!("web-{n}.json"), &host(n, true));
    }
    f.write("db-1.json", &host(11, false))
        .write("db-2.json", &host(12, false))
        .write("broken.json", "{\"interfaces\": [")
        .write("README.txt", "not a snapshot");
    std::fs::create_dir(f.path().join("old.json")).unwrap();
    f
}

fn fleet_command(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_listenspec"))
        .arg("fleet")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn fleet_groups_hosts_by_cause_and_keeps_going_past_a_corrupt_snapshot() {
    let f = mixed_fleet("grouped");
    let dir = f.path().to_str().unwrap();
    let out = fleet_command(&["--listen", SPEC, dir]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with(
            "8 hosts: 5 plans cleanly, 2 fails, 1 unreadable\n\nerrors, by cause:\n  2 hosts: network ops (--listen #1 line 2): no interface matches \"eth2\""
        ),
        "{stdout}"
    );
    assert!(stdout.contains("\n    fix: "), "{stdout}");
    // The first host's interfaces, since the message refers to them.
    assert!(
        stdout.contains("\n    on db-1.json db-2.json\n    db-1.json: this host has: lo, eth0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unreadable snapshots:\n  broken.json is not a host snapshot"),
        "{stdout}"
    );
    assert!(!stdout.contains("README"), "{stdout}");
    assert!(!stdout.contains("old.json"), "{stdout}");
}

#[test]
fn fleet_json_has_the_counts_the_causes_and_every_host() {
    let f = mixed_fleet("json");
    let out = fleet_command(&["--listen", SPEC, "--json", f.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hosts"], 8);
    assert_eq!(
        (json["clean"].as_u64(), json["failed"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(json["unreadable"], 1);
    let cause = &json["causes"][0];
    assert_eq!(cause["network"], "ops");
    assert_eq!(cause["severity"], "error");
    assert_eq!(
        cause["hosts"],
        serde_json::json!(["db-1.json", "db-2.json"])
    );
    assert!(cause["fix"].as_str().is_some_and(|f| !f.is_empty()));
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(results[0]["file"], "broken.json");
    assert_eq!(results[0]["outcome"], "unreadable");
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .contains("not a host snapshot")
    );
    assert_eq!(results[1]["outcome"], "failed");
    assert_eq!(results[7]["outcome"], "clean");
}

#[test]
fn a_fleet_that_plans_everywhere_exits_zero_unless_strict_and_warned() {
    let f = Folder::new("clean");
    for n in 1..=3 {
        f.write(&format!("web-{n}.json"), &host(n, true));
    }
    let dir = f.path().to_str().unwrap();
    let out = fleet_command(&["--listen", SPEC, dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        "3 hosts: 3 plans cleanly, 0 fails, 0 unreadable\n"
    );

    // A network without endpoints is a warning: fine, unless --strict.
    let warned = format!("{SPEC}spare = loopback expose=local\n");
    let out = fleet_command(&["--listen", &warned, dir]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("3 hosts: 3 plans cleanly (3 with warnings), 0 fails"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warnings, by cause:\n  3 hosts: network spare: "),
        "{stdout}"
    );
    let out = fleet_command(&["--listen", &warned, "--json", dir]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["results"][0]["outcome"], "warnings", "{json}");
    let out = fleet_command(&["--listen", SPEC, "--json", dir]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["results"][0]["outcome"], "clean", "{json}");
    let out = fleet_command(&["--listen", &warned, "--strict", dir]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
}

#[test]
fn fleet_output_stays_bounded_however_many_hosts_share_a_cause() {
    let f = Folder::new("many");
    for n in 0..100 {
        f.write(&format!("db-{n:03}.json"), &host(n, false));
    }
    f.write("zz-broken-a.json", "[]");
    let out = fleet_command(&["--listen", SPEC, f.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n    on db-000.json db-001.json db-002.json db-003.json db-004.json db-005.json db-006.json db-007.json and 92 more"),
        "{stdout}"
    );
    assert!(stdout.lines().count() < 20, "{stdout}");
}

#[test]
fn fleet_without_a_folder_or_a_spec_says_what_is_wrong() {
    let out = fleet_command(&["--listen", SPEC, "/nonexistent/listenspec-fleet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the folder /nonexistent/listenspec-fleet"));
    let out = fleet_command(&["/tmp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nothing to plan"));
    let out = fleet_command(&["--listen", "ops = if:", "/tmp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("if:"), "{}", text(&out.stderr));
}

#[test]
fn a_cause_counts_each_host_once_and_errors_come_before_warnings() {
    // Two endpoints on the missing eth2 network: one cause per endpoint,
    // and the network's own error once per host.
    let f = Folder::new("lib");
    f.write("a.json", &host(1, false))
        .write("b.json", &host(2, false))
        .write("c.json", &host(3, true));
    let spec: ListenSpec =
        format!("{SPEC}ops.snmp = udp:161 device\nspare = loopback expose=local")
            .parse()
            .unwrap();
    let fleet = Fleet::check_dir(&spec, f.path(), PlanOptions::default()).unwrap();
    let files: Vec<_> = fleet.hosts().iter().map(|h| h.file().to_owned()).collect();
    assert_eq!(
        files,
        [
            Path::new("a.json"),
            Path::new("b.json"),
            Path::new("c.json")
        ]
    );
    assert!(
        matches!(fleet.hosts()[2].outcome(), Outcome::Planned { warnings } if warnings.len() == 1)
    );
    let causes = fleet.causes();
    let last_error = causes
        .iter()
        .rposition(|c| !c.example().is_warning())
        .unwrap();
    let first_warning = causes
        .iter()
        .position(|c| c.example().is_warning())
        .unwrap();
    assert!(last_error < first_warning, "{fleet}");
    for c in &causes {
        let mut hosts = c.hosts().to_vec();
        hosts.dedup();
        assert_eq!(hosts.len(), c.hosts().len(), "{fleet}");
    }
    let spare = causes.iter().find(|c| c.example().is_warning()).unwrap();
    assert_eq!(spare.hosts().len(), 3, "every host warns about spare");
}

/// Eight hosts of a cause, and eight unreadable files, are listed whole; a
/// ninth of each becomes "and 1 more".
#[test]
fn fleet_lists_eight_of_each_then_counts_the_rest() {
    let spec: ListenSpec = SPEC.parse().unwrap();
    for (n, more) in [(8, false), (9, true)] {
        let f = Folder::new(&format!("shown-{n}"));
        for i in 0..n {
            f.write(&format!("db-{i}.json"), &host(i, false));
            f.write(&format!("zz-{i}.json"), "[]");
        }
        let fleet = Fleet::check_dir(&spec, f.path(), PlanOptions::default()).unwrap();
        let text = fleet.to_string();
        assert_eq!(
            text.matches("and 1 more").count(),
            usize::from(more) * 2,
            "{text}"
        );
        let cause = format!("db-{}.json", n - 1);
        let broken = format!("zz-{}.json", n - 1);
        assert_eq!(text.contains(&cause), !more, "{text}");
        assert_eq!(text.contains(&broken), !more, "{text}");
        assert_eq!(
            text.matches(" more").count(),
            if more { 2 } else { 0 },
            "{text}"
        );
    }
}

/// A snapshot of exactly 64 MiB is read (and here refused as no JSON); one
/// byte more is refused unread.
#[test]
fn a_snapshot_may_be_64_mib_and_no_more() {
    use listenspec::fleet::{SnapshotError, read_snapshot};
    let f = Folder::new("limit");
    let file = f.path().join("big.json");
    for (len, too_large) in [(64 << 20, false), ((64 << 20) + 1, true)] {
        let mut out = std::fs::File::create(&file).unwrap();
        std::io::Write::write_all(&mut out, b"x").unwrap();
        out.set_len(len).unwrap();
        let err = read_snapshot(&file).unwrap_err();
        assert_eq!(
            matches!(err, SnapshotError::TooLarge),
            too_large,
            "{len} bytes: {err}"
        );
    }
}

/// `listenspec fleet` with a bound on its run: a hang fails the test after
/// 30 s instead of holding CI.
#[cfg(unix)]
fn fleet_within_30_s(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_listenspec"))
        .arg("fleet")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("listenspec fleet still runs after 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A FIFO, a socket and a device named `*.json` are reported as not
/// snapshots, at once: opening the FIFO for reading would otherwise wait
/// for a writer forever. A symbolic link to a regular snapshot is read (a
/// ConfigMap mounted as a folder is links), one to `/dev/null` is not.
#[cfg(unix)]
#[test]
fn a_fifo_a_socket_or_a_device_named_json_is_no_snapshot_and_does_not_hang() {
    let f = Folder::new("special");
    f.write("web-1.json", &host(1, true));
    crate::mkfifo(&f.path().join("x.json"));
    let _socket = std::os::unix::net::UnixListener::bind(f.path().join("s.json")).unwrap();
    std::os::unix::fs::symlink("/dev/null", f.path().join("null.json")).unwrap();
    std::os::unix::fs::symlink("web-1.json", f.path().join("latest.json")).unwrap();
    let out = fleet_within_30_s(&["--listen", SPEC, f.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("5 hosts: 2 plans cleanly, 0 fails, 3 unreadable"),
        "{stdout}"
    );
    for line in [
        "\n  null.json is a character device, not a host snapshot: only regular files are read",
        "\n  s.json is a socket, not a host snapshot",
        "\n  x.json is a FIFO (named pipe), not a host snapshot",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    let out = fleet_within_30_s(&["--listen", SPEC, "--json", f.path().to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let x = &json["results"].as_array().unwrap()[4];
    assert_eq!(
        (&x["file"], &x["outcome"]),
        (&"x.json".into(), &"unreadable".into())
    );
}

/// The file of each host in the fleet's JSON, in order.
#[cfg(unix)]
fn json_files(f: &Folder) -> Vec<String> {
    let out = fleet_within_30_s(&["--listen", SPEC, "--json", f.path().to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_owned())
        .collect()
}

/// A file name is printed escaped in the text, where a newline or an
/// escape sequence in it would forge a line or repaint the terminal, and
/// exactly in the JSON, whose strings escape it themselves.
#[cfg(unix)]
#[test]
fn a_snapshot_name_is_escaped_in_the_text_and_exact_in_the_json() {
    let f = Folder::new("names");
    let forged = "a.json\n\n3 hosts: 3 plans cleanly\n\x1b[31mb.json";
    f.write(forged, "[]")
        .write("c d.json", "[]")
        .write("plain.json", "[]");
    let out = fleet_within_30_s(&["--listen", SPEC, f.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert_eq!(
        lines[..3],
        [
            "3 hosts: 0 plans cleanly, 0 fails, 3 unreadable",
            "",
            "unreadable snapshots:"
        ]
    );
    for (line, name) in lines[3..].iter().zip([
        r#""a.json\n\n3 hosts: 3 plans cleanly\n\u{1b}[31mb.json""#,
        r#""c d.json""#,
        "plain.json",
    ]) {
        assert!(
            line.starts_with(&format!("  {name} is not a host snapshot")),
            "{name} in {stdout}"
        );
    }
    assert!(!stdout.contains('\x1b'), "{stdout}");
    assert_eq!(json_files(&f), [forged, "c d.json", "plain.json"]);

    // Names that are not UTF-8 stay apart in the JSON, and apart from the
    // name U+FFFD a lossy conversion would make of either.
    use std::os::unix::ffi::OsStrExt;
    let g = Folder::new("bytes");
    for name in [&b"\xff.json"[..], b"\xfe.json", "\u{FFFD}.json".as_bytes()] {
        std::fs::write(g.path().join(std::ffi::OsStr::from_bytes(name)), "[]").unwrap();
    }
    // In file-name order: U+FFFD is 0xEF 0xBF 0xBD.
    assert_eq!(
        json_files(&g),
        ["\u{FFFD}.json", r#""\xFE.json""#, r#""\xFF.json""#]
    );
}

/// A link in the folder out of it to a file of another owner is not
/// followed: whoever may write the folder (here `nobody`, owning the link)
/// would otherwise have the check, run as root, read a file only root may
/// and quote it in its errors. A link out of the folder to a file of its
/// own owner is followed, as is a link inside it.
#[cfg(target_os = "linux")]
#[test]
fn a_link_out_of_the_folder_to_another_owners_file_is_not_followed() {
    let test = "a_link_out_of_the_folder_to_another_owners_file_is_not_followed";
    if !crate::unix::needs_root(test) {
        return;
    }
    let f = Folder::new("links");
    let outside = Folder::new("links-outside");
    // Root's, mode 600: JSON whose error would quote the token.
    let secret = outside.path().join("secret.json");
    std::fs::write(&secret, r#"["ghp_SuperSecretToken1234567890"]"#).unwrap();
    let mine = outside.path().join("web-9.json");
    std::fs::write(&mine, host(9, true)).unwrap();
    f.write("web-1.json", &host(1, true));
    let leak = f.path().join("leak.json");
    std::os::unix::fs::symlink(&secret, &leak).unwrap();
    std::os::unix::fs::lchown(&leak, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::symlink(&mine, f.path().join("web-9.json")).unwrap();
    std::os::unix::fs::symlink("web-1.json", f.path().join("latest.json")).unwrap();
    let out = fleet_within_30_s(&["--listen", SPEC, f.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("4 hosts: 3 plans cleanly, 0 fails, 1 unreadable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  leak.json is a symbolic link out of the folder to a file of another owner than the link's, and is not followed"),
        "{stdout}"
    );
    assert!(!stdout.contains("ghp_"), "{stdout}");
}

/// What Windows writes: a snapshot saved with a UTF-8 byte order mark is
/// read, one saved as UTF-16 (Windows PowerShell 5.1's `>`) is named as
/// such with how to write it, where both were "not a host snapshot ...
/// write one with --dump-host", which is what the user did.
#[cfg(unix)] // the bounded run is Unix's (timeout(1))
#[test]
fn a_snapshot_with_a_byte_order_mark_is_read_and_one_in_utf16_is_named() {
    let f = Folder::new("bom");
    let json = host(1, true);
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(json.as_bytes());
    std::fs::write(f.path().join("bom.json"), bom).unwrap();
    let utf16: Vec<u8> = [0xfeff_u16]
        .into_iter()
        .chain(json.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    std::fs::write(f.path().join("wide.json"), utf16).unwrap();
    let out = fleet_within_30_s(&["--listen", SPEC, f.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("2 hosts: 1 plans cleanly, 0 fails, 1 unreadable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  wide.json is UTF-16 (as Windows PowerShell 5.1 writes `>`), and a snapshot is UTF-8 JSON"),
        "{stdout}"
    );
}

/// The child run of [`a_link_flipped_to_roots_file_while_checked_is_never_read`]
/// that attacks: the folder it flips links in.
#[cfg(target_os = "linux")]
const RACE_DIR: &str = "LISTENSPEC_FLEET_RACE_DIR";

/// Racing the fleet check with a real attacker: `nobody`, who may write the
/// folder, flips `web-2.json` between a snapshot of its own out of the
/// folder, a file of its own in it, and a link to root's secret (JSON
/// whose parse error would quote it), as fast as it can, while root
/// checks the folder a few hundred times. A link is judged by its
/// target's owner, and the file opened must be the one judged, link or
/// not: the secret is never read into a report (it was, through a link
/// put where a file had just been looked at), and web-2 is always the
/// attacker's snapshot or refused.
#[cfg(target_os = "linux")]
#[test]
fn a_link_flipped_to_roots_file_while_checked_is_never_read() {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    if let Ok(dir) = std::env::var(RACE_DIR) {
        return flip_links(Path::new(&dir));
    }
    let test = "fleet::a_link_flipped_to_roots_file_while_checked_is_never_read";
    if !crate::unix::needs_root(test) {
        return;
    }
    let top = Folder::new("race");
    let chmod = |p: &Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod(top.path(), 0o755);
    // The folder nobody may write; its own snapshot, out of the folder.
    let folder = top.path().join("fleet");
    let theirs = top.path().join("theirs");
    for d in [&folder, &theirs] {
        std::fs::create_dir(d).unwrap();
        std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
    }
    std::fs::write(folder.join("web-1.json"), host(1, true)).unwrap();
    let mine = theirs.join("web-2.json");
    std::fs::write(&mine, host(2, true)).unwrap();
    std::os::unix::fs::chown(&mine, Some(65534), Some(65534)).unwrap();
    // Root's, where nobody may not look.
    let secret = top.path().join("secret.json");
    std::fs::write(&secret, r#"["ghp_SuperSecretToken1234567890"]"#).unwrap();
    chmod(&secret, 0o600);

    let (mut attacker, mut out) =
        crate::unix::attacker(test, &[(RACE_DIR, top.path().as_os_str())], "flipping");

    let spec: ListenSpec = SPEC.parse().unwrap();
    let (mut read, mut refused) = (0, 0);
    let start = Instant::now();
    for _ in 0..300 {
        if start.elapsed() > Duration::from_secs(30) {
            break;
        }
        let fleet = Fleet::check_dir(&spec, &folder, PlanOptions::default()).unwrap();
        let report = format!("{fleet}\n{fleet:?}");
        assert!(!report.contains("ghp_"), "{report}");
        for h in fleet.hosts() {
            match h.outcome() {
                // Refused as a link out of the folder, or as a name
                // changed between the look and the open: never an error
                // of the OS's (a link opened as none, say).
                Outcome::Unreadable(
                    listenspec::fleet::SnapshotError::LinkOutside
                    | listenspec::fleet::SnapshotError::Replaced,
                ) => refused += 1,
                Outcome::Unreadable(other) => panic!("{}: {other}", h.file().display()),
                _ if h.file().ends_with("web-2.json") => read += 1,
                _ => {}
            }
        }
    }
    std::fs::write(top.path().join("stop"), "").unwrap();
    let mut said = String::new();
    out.read_to_string(&mut said).unwrap();
    assert!(attacker.wait().unwrap().success(), "attacker: {said}");
    let flips: u64 = said
        .lines()
        .find_map(|l| l.strip_prefix("flips "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("attacker: {said}"));
    // The attack ran while the checks did, and the link was both read
    // (the attacker's own file) and refused along the way.
    assert!(flips > 100, "{flips} flips");
    assert!(read > 0 && refused > 0, "read {read}, refused {refused}");
}

/// The attacker: flips the link, renamed over the name at once, until told
/// to stop or for a minute at most; then says how often.
#[cfg(target_os = "linux")]
fn flip_links(top: &Path) {
    use std::io::Write;
    let folder = top.join("fleet");
    let targets = [top.join("theirs/web-2.json"), top.join("secret.json")];
    let tmp = folder.join(".web-2.lnk");
    let file = folder.join(".web-2.tmp");
    let own = std::fs::read(&targets[0]).unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "flipping").unwrap();
    let start = std::time::Instant::now();
    let mut flips = 0u64;
    while start.elapsed() < std::time::Duration::from_secs(60) && !top.join("stop").exists() {
        for target in &targets {
            let _ = std::fs::remove_file(&tmp);
            if std::os::unix::fs::symlink(target, &tmp).is_ok()
                && std::fs::rename(&tmp, folder.join("web-2.json")).is_ok()
            {
                flips += 1;
            }
            // A file of its own between the links: looked at as one, it
            // may be a link to the secret by the time it is opened.
            if std::fs::write(&file, &own).is_ok()
                && std::fs::rename(&file, folder.join("web-2.json")).is_ok()
            {
                flips += 1;
            }
        }
    }
    writeln!(out, "flips {flips}").unwrap();
}
