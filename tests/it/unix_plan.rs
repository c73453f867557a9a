//! Planning Unix sockets with what capture records about their paths: the
//! facts of a real temporary directory, the JSON form of those facts (old
//! snapshots without them still load), and the doctor's table.

use std::path::Path;

#[cfg(unix)]
use listenspec::host::LinkFacts;
use listenspec::host::{DirFacts, Lookup, NameLookup, PathFacts, PathKind};
#[cfg(unix)]
use listenspec::plan::ProblemKind;
use listenspec::{Host, ListenSpec};
use proptest::prelude::*;

#[cfg(unix)]
use crate::TempDir;

fn spec(text: &str) -> ListenSpec {
    text.parse()
        .unwrap_or_else(|e| panic!("spec {text:?}: {e}"))
}

/// The owner and mode of `real` and of each directory above it, nearest
/// first, as `lstat` tells them here.
#[cfg(unix)]
fn dirs_of(real: &Path) -> Vec<DirFacts> {
    use std::os::unix::fs::MetadataExt;
    real.ancestors()
        .map(|d| {
            let m = std::fs::symlink_metadata(d).unwrap();
            DirFacts::new(d, m.uid(), m.mode())
        })
        .collect()
}

/// Capture looks at each socket path of the spec, and only those: what is
/// at the path (not following a link) and at its directory (following
/// one), the directory's real path with the owner and mode of it and every
/// directory above, and whether this process may create files there.
#[test]
#[cfg(unix)]
fn capture_records_what_is_at_each_socket_path() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::net::UnixListener;

    let t = TempDir::new("facts");
    let d = |rel: &str| t.join(rel);
    std::fs::create_dir(d("run")).unwrap();
    std::fs::write(d("run/notes.txt"), "keep me").unwrap();
    std::fs::create_dir(d("run/data")).unwrap();
    let live = UnixListener::bind(d("run/live.sock")).unwrap();
    std::os::unix::fs::symlink(d("run/live.sock"), d("run/link.sock")).unwrap();
    std::os::unix::fs::symlink(d("run"), d("via")).unwrap();
    std::fs::create_dir(d("locked")).unwrap();
    std::fs::set_permissions(d("locked"), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root may write anywhere its file system allows; anyone else may not
    // write a directory of mode 555.
    let root = std::fs::metadata(d("run/notes.txt")).unwrap().uid() == 0;

    let paths = [
        "run/api.sock",
        "run/notes.txt",
        "run/data",
        "run/live.sock",
        "run/link.sock",
        "gone/api.sock",
        "run/notes.txt/api.sock",
        "via/api.sock",
        "locked/api.sock",
    ];
    let mut text = "local = unix\n".to_owned();
    for (n, p) in paths.iter().enumerate() {
        text.push_str(&format!("local.e{n} = unix:{}\n", d(p).display()));
    }
    let host = listenspec::capture(&spec(&text)).unwrap();
    drop(live);

    let real = std::fs::canonicalize(d("run")).unwrap();
    let in_run = || {
        PathFacts::free()
            .parent_realpath(&real)
            .writable(true)
            .with_dirs(dirs_of(&real))
    };
    let facts = |p: &str| {
        host.unix_path(&d(p))
            .unwrap_or_else(|| panic!("no facts for {p} in {:?}", host.unix_paths()))
            .clone()
    };
    assert_eq!(facts("run/api.sock"), in_run());
    assert_eq!(facts("run/notes.txt"), in_run().taken_by(PathKind::Regular));
    assert_eq!(facts("run/data"), in_run().taken_by(PathKind::Directory));
    assert_eq!(facts("run/live.sock"), in_run().taken_by(PathKind::Socket));
    assert_eq!(facts("run/link.sock"), in_run().taken_by(PathKind::Symlink));
    assert_eq!(facts("gone/api.sock"), PathFacts::no_parent());
    let under_file = facts("run/notes.txt/api.sock");
    assert_eq!(under_file.parent(), &Lookup::Found(PathKind::Regular));
    assert!(
        matches!(under_file.file(), Lookup::Failed { error } if error.contains("Not a directory")),
        "{under_file:?}"
    );
    // Through the link the directory is the same one, so the file is too;
    // the link is recorded with its owner.
    let me = std::fs::symlink_metadata(d("via")).unwrap().uid();
    assert_eq!(
        facts("via/api.sock"),
        in_run().with_links(vec![LinkFacts::new(d("via"), me)])
    );
    let locked = facts("locked/api.sock");
    assert_eq!(locked.is_writable(), Some(root), "{locked:?}");
    assert_eq!(host.unix_paths().len(), paths.len());
    // Nothing relative, so the working directory is not recorded.
    assert_eq!(host.cwd(), None);
    // Capture looked, and left every file as it was.
    assert_eq!(
        std::fs::read_to_string(d("run/notes.txt")).unwrap(),
        "keep me"
    );

    // The captured facts plan offline: each finding at its endpoint.
    let err = spec(&text).plan(&host).unwrap_err();
    let kinds: Vec<(String, String)> = err
        .errors()
        .iter()
        .map(|p| {
            let name = p.endpoint_name().unwrap().to_string();
            (name, crate::variant_name(p.kind()))
        })
        .collect();
    let want = [
        ("e1", "UnixPathTaken"),
        ("e2", "UnixPathTaken"),
        ("e4", "UnixPathTaken"),
        ("e5", "UnixNoDirectory"),
        ("e6", "UnixNotDirectory"),
        ("e7", "UnixConflict"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(e, k)| (e.to_string(), k.to_string()))
        .collect();
    assert_eq!(kinds, want, "{err}");
    let warned = err
        .warnings()
        .iter()
        .any(|w| matches!(w.kind(), ProblemKind::UnixNotWritable { .. }));
    assert_eq!(warned, !root, "{err}");
}

/// A socket's directory that another user may write without the sticky
/// bit is a warning, from the facts capture records; sticky or not
/// writable by others it is not. A snapshot written to JSON and read back
/// warns the same.
#[test]
#[cfg(unix)]
fn a_directory_others_may_write_is_a_warning_captured_and_replayed() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let t = TempDir::new("dirs");
    let real = std::fs::canonicalize(&t.0).unwrap();
    let text = format!(
        "local = unix\nlocal.api = unix:{}",
        t.join("a.sock").display()
    );
    let spec = spec(&text);
    let capture_as = |mode: u32| {
        std::fs::set_permissions(&t.0, std::fs::Permissions::from_mode(mode)).unwrap();
        listenspec::capture(&spec).unwrap()
    };
    // The warnings about this directory (the ones above it are the
    // machine's, and not this test's to judge).
    let unsafe_here = |host: &Host| -> Vec<String> {
        let plan = spec.plan(host).unwrap();
        plan.warnings()
            .iter()
            .filter(|w| matches!(w.kind(), ProblemKind::UnixDirUnsafe { dir, .. } if *dir == real))
            .map(|w| w.to_string())
            .collect()
    };

    let open = capture_as(0o777);
    let me = std::fs::metadata(&t.0).unwrap().uid();
    assert_eq!(open.euid(), Some(me));
    let warned = unsafe_here(&open);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("is world-writable without the sticky bit"),
        "{}",
        warned[0]
    );

    // Replayed from JSON, the same warning.
    let json = serde_json::to_string(&open).unwrap();
    assert!(
        json.contains(r#""mode":"777""#) && json.contains(r#""euid":"#),
        "{json}"
    );
    let replayed: Host = serde_json::from_str(&json).unwrap();
    assert_eq!(replayed, open);
    assert_eq!(unsafe_here(&replayed), warned);

    for mode in [0o1777, 0o755] {
        let host = capture_as(mode);
        assert_eq!(unsafe_here(&host), Vec::<String>::new(), "mode {mode:o}");
    }

    // Root may give the directory away: then its owner may chmod it.
    if me == 0 {
        std::os::unix::fs::chown(&t.0, Some(54321), None).unwrap();
        let given = capture_as(0o755);
        let warned = unsafe_here(&given);
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("belongs to uid 54321"), "{}", warned[0]);
    }
}

/// A socket path through a symbolic link another user owns (`nobody`'s
/// link in a sticky `/tmp`, pointing into root's own directory) is an
/// error: its owner may point it anywhere, and the socket would be made,
/// and a stale socket removed, where they choose; capture records the
/// link with its owner, and the snapshot replays it. A link of the
/// server's own user, or root's, is not.
#[test]
#[cfg(unix)]
fn a_path_through_another_users_link_is_an_error_captured_and_replayed() {
    let test = "a_path_through_another_users_link_is_an_error_captured_and_replayed";
    if !crate::unix::needs_root(test) {
        return;
    }
    let t = TempDir::new("links");
    std::fs::create_dir(t.join("victim")).unwrap();
    let link = t.join("app");
    std::os::unix::fs::symlink(t.join("victim"), &link).unwrap();
    let text = format!("local = unix\nlocal.api = unix:{}/api.sock", link.display());
    let spec = spec(&text);

    let host = listenspec::capture(&spec).unwrap();
    spec.plan(&host).unwrap();

    std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    let host = listenspec::capture(&spec).unwrap();
    let facts = host.unix_path(&link.join("api.sock")).unwrap();
    assert_eq!(facts.links(), [LinkFacts::new(&link, 65534)]);
    let err = spec.plan(&host).unwrap_err();
    assert_eq!(err.errors().len(), 1, "{err}");
    let shown = err.errors()[0].to_string();
    assert!(
        shown.contains(&format!(
            "goes through the symbolic link {}, which belongs to uid 65534, neither the server's user nor root",
            link.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("chown -h root"), "{shown}");
    let replayed: Host = serde_json::from_str(&serde_json::to_string(&host).unwrap()).unwrap();
    assert_eq!(replayed, host);
    assert!(spec.plan(&replayed).is_err());

    // Root's link to nobody's link: the second is met resolving the
    // first, and its owner chooses the directory as much. Bound anyway
    // (from a plan that never saw it), the link is not followed and root's
    // stale socket where it leads stays.
    let root_link = t.join("rl");
    std::os::unix::fs::symlink(&link, &root_link).unwrap();
    let stale = t.join("victim/api.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let before = std::os::unix::fs::MetadataExt::ino(&std::fs::symlink_metadata(&stale).unwrap());
    let chained = self::spec(&format!(
        "local = unix\nlocal.api = unix:{}/api.sock",
        root_link.display()
    ));
    let host = listenspec::capture(&chained).unwrap();
    let facts = host.unix_path(&root_link.join("api.sock")).unwrap();
    assert_eq!(
        facts.links(),
        [LinkFacts::new(&root_link, 0), LinkFacts::new(&link, 65534)]
    );
    let err = chained.plan(&host).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "goes through the symbolic link {}",
            link.display()
        )),
        "{err}"
    );
    let unseen = crate::loopback_host();
    let err = chained.plan(&unseen).unwrap().bind().unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(
            "is reached through the symbolic link {}, which belongs to uid 65534",
            link.display()
        )),
        "{shown}"
    );
    let after = std::os::unix::fs::MetadataExt::ino(&std::fs::symlink_metadata(&stale).unwrap());
    assert_eq!(after, before, "root's stale socket stays");
}

/// A relative path is recorded as resolved against the working directory,
/// which is recorded with it.
#[test]
fn capture_resolves_relative_paths_against_the_working_directory() {
    let host = listenspec::capture(&spec(
        "local = unix\nlocal.dev = unix:./ls-capture-test-no-such-dir/dev.sock",
    ))
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(host.cwd(), Some(cwd.as_path()));
    let resolved = cwd.join("ls-capture-test-no-such-dir/dev.sock");
    assert_eq!(host.unix_path(&resolved), Some(&PathFacts::no_parent()));
    assert_eq!(host.unix_paths().len(), 1);
}

/// Owner and group names are looked up, a name the host lacks recorded as
/// unknown; only the names the spec uses.
#[test]
#[cfg(target_os = "linux")]
fn capture_resolves_owner_and_group_names() {
    let host = listenspec::capture(&spec(
        "local = unix\n\
         local.a = unix:/run/ls-a.sock owner=root group=root\n\
         local.b = unix:/run/ls-b.sock owner=0\n\
         local.c = unix:/run/ls-c.sock owner=ls-no-such-user group=ls-no-such-group",
    ))
    .unwrap();
    assert_eq!(host.user("root"), Some(NameLookup::Id(0)));
    assert_eq!(host.group("root"), Some(NameLookup::Id(0)));
    assert_eq!(host.user("ls-no-such-user"), Some(NameLookup::NoSuchName));
    assert_eq!(host.group("ls-no-such-group"), Some(NameLookup::NoSuchName));
    assert_eq!(host.users().len(), 2);
    assert_eq!(host.groups().len(), 2);
}

/// A snapshot recorded before the Unix facts existed loads, with none of
/// them, and is written back without them.
#[test]
fn a_snapshot_without_the_unix_fields_still_loads() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/hosts/three-networks.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(!text.contains("unix_paths"));
    let host: Host = serde_json::from_str(&text).unwrap();
    assert_eq!(host.cwd(), None);
    assert!(host.unix_paths().is_empty() && host.users().is_empty() && host.groups().is_empty());
    let json = serde_json::to_string(&host).unwrap();
    assert_eq!(host.euid(), None);
    for field in ["cwd", "unix_paths", "users", "groups", "euid"] {
        assert!(!json.contains(field), "{json}");
    }
}

/// The new fields in the file's own terms.
#[test]
fn unix_facts_in_json_read_and_refuse_in_the_files_terms() {
    let host: Host = serde_json::from_str(
        r#"{"interfaces": [], "cwd": "/srv",
            "unix_paths": {"/run/a.sock": {"parent": "directory", "parent_realpath": "/run",
                                           "writable": false, "file": "socket"},
                           "/x/b.sock": {"parent": {"error": "Permission denied"}, "file": "absent"}},
            "users": {"www-data": 33, "ghost": null}, "groups": {"adm": 4}}"#,
    )
    .unwrap();
    // An old snapshot says nothing of directories or the process's user.
    assert!(
        host.unix_path(Path::new("/run/a.sock"))
            .unwrap()
            .dirs()
            .is_empty()
    );
    assert_eq!(host.euid(), None);
    assert_eq!(host.cwd(), Some(Path::new("/srv")));
    assert_eq!(
        host.unix_path(Path::new("/run/a.sock")),
        Some(
            &PathFacts::free()
                .taken_by(PathKind::Socket)
                .parent_realpath("/run")
                .writable(false)
        )
    );
    assert_eq!(
        host.unix_path(Path::new("/x/b.sock")).unwrap().parent(),
        &Lookup::Failed {
            error: "Permission denied".to_owned()
        }
    );
    assert_eq!(host.user("www-data"), Some(NameLookup::Id(33)));
    assert_eq!(host.user("ghost"), Some(NameLookup::NoSuchName));
    assert_eq!(host.user("adm"), None);
    assert_eq!(host.group("adm"), Some(NameLookup::Id(4)));

    let host: Host = serde_json::from_str(
        r#"{"interfaces": [], "euid": 33,
            "unix_paths": {"/tmp/x/a.sock": {"parent": "directory", "file": "absent",
                           "dirs": [{"path": "/tmp/x", "uid": 1000, "mode": "0777"},
                                    {"path": "/tmp", "uid": 0, "mode": "1777"}]}}}"#,
    )
    .unwrap();
    assert_eq!(host.euid(), Some(33));
    assert_eq!(
        host.unix_path(Path::new("/tmp/x/a.sock")).unwrap().dirs(),
        [
            DirFacts::new("/tmp/x", 1000, 0o777),
            DirFacts::new("/tmp", 0, 0o1777)
        ]
    );
    // Written back in octal as chmod writes it.
    let json = serde_json::to_value(&host).unwrap();
    assert_eq!(
        json["unix_paths"]["/tmp/x/a.sock"]["dirs"][1],
        serde_json::json!({"path": "/tmp", "uid": 0, "mode": "1777"})
    );

    let refused = |json: &str| serde_json::from_str::<Host>(json).unwrap_err().to_string();
    let dir = |d: &str| {
        format!(
            r#"{{"interfaces": [], "unix_paths": {{"/a/b": {{"parent": "directory", "file": "absent", "dirs": [{d}]}}}}}}"#
        )
    };
    let bad_modes = [
        (
            dir(r#"{"path": "/a", "uid": 0, "mode": "789"}"#),
            "directory mode \"789\" is not octal permission bits like \"755\"",
        ),
        (
            dir(r#"{"path": "/a", "uid": 0, "mode": "+755"}"#),
            "directory mode \"+755\"",
        ),
        (
            dir(r#"{"path": "/a", "uid": 0, "mode": "17777"}"#),
            "directory mode \"17777\"",
        ),
        (
            dir(r#"{"path": "/a", "uid": 0, "mode": ""}"#),
            "directory mode \"\"",
        ),
        (
            dir(r#"{"path": "/a", "uid": 0, "mode": 493}"#),
            "invalid type: integer `493`, expected a string",
        ),
        (
            dir(r#"{"path": "/a", "mode": "755"}"#),
            "missing field `uid`",
        ),
        (
            dir(r#"{"path": "/a", "uid": 0, "mode": "755", "gid": 0}"#),
            "unknown field `gid`",
        ),
        (dir(r#""/a""#), "expected a directory above a socket path"),
        (
            r#"{"interfaces": [], "euid": -1}"#.to_owned(),
            "invalid value: integer `-1`, expected u32",
        ),
    ];
    for (json, expected) in &bad_modes {
        let error = refused(json);
        assert!(
            error.contains(expected),
            "{json}:\n  {error}\n  lacks {expected}"
        );
        assert!(!error.contains("DirFacts"), "{json}: {error}");
    }

    let cases = [
        (
            r#"{"interfaces": [], "unix_paths": {"/a": {"parent": "dir", "file": "absent"}}}"#,
            "unknown variant `dir`, expected one of `absent`, `socket`, `regular`, `directory`, `symlink`, `other`",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/a": {"parent": "absent"}}}"#,
            "missing field `file`",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/a": {"parent": "absent", "file": "absent", "mode": 1}}}"#,
            "unknown field `mode`",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/a": {"parent": 3, "file": "absent"}}}"#,
            "expected what is at a path: \"absent\"",
        ),
        (
            r#"{"interfaces": [], "unix_paths": {"/a": {"parent": {"eror": "x"}, "file": "absent"}}}"#,
            "unknown field `eror`, expected `error`",
        ),
        (
            r#"{"interfaces": [], "users": {"www-data": "33"}}"#,
            "invalid type: string \"33\"",
        ),
        (
            r#"{"interfaces": [], "unix": {}}"#,
            "expected one of `interfaces`, `dns`, `container`, `os`, `cwd`, `unix_paths`, `users`, `groups`",
        ),
    ];
    for (json, expected) in cases {
        let error = refused(json);
        assert!(
            error.contains(expected),
            "{json}:\n  {error}\n  lacks {expected}"
        );
        for internal in ["HostRepr", "Lookup", "PathFacts", "NameLookup"] {
            assert!(!error.contains(internal), "{json}: {error}");
        }
    }
}

fn lookup() -> impl Strategy<Value = Lookup> {
    prop_oneof![
        Just(Lookup::Absent),
        prop_oneof![
            Just(PathKind::Socket),
            Just(PathKind::Regular),
            Just(PathKind::Directory),
            Just(PathKind::Symlink),
            Just(PathKind::Other),
        ]
        .prop_map(Lookup::Found),
        "[ -~]{0,16}".prop_map(|error| Lookup::Failed { error }),
    ]
}

fn path_facts() -> impl Strategy<Value = PathFacts> {
    (
        lookup(),
        lookup(),
        prop::option::of("/[a-z/]{0,12}"),
        prop::option::of(any::<bool>()),
        prop::collection::vec(("/[a-z/]{0,12}", any::<u32>(), 0..=0o1777u32), 0..3),
    )
        .prop_map(|(parent, file, real, writable, dirs)| {
            let dirs = dirs
                .into_iter()
                .map(|(path, uid, mode)| DirFacts::new(path, uid, mode))
                .collect();
            let facts = PathFacts::new(parent, file).with_dirs(dirs);
            let facts = match real {
                Some(r) => facts.parent_realpath(r),
                None => facts,
            };
            match writable {
                Some(w) => facts.writable(w),
                None => facts,
            }
        })
}

fn unix_host() -> impl Strategy<Value = Host> {
    (
        prop::option::of("/[a-z ]{0,12}"),
        prop::collection::vec(("/[a-z./]{1,16}", path_facts()), 0..4),
        prop::collection::vec(("[a-z_-]{1,8}", prop::option::of(any::<u32>())), 0..3),
        prop::collection::vec(("[a-z_-]{1,8}", prop::option::of(any::<u32>())), 0..3),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(cwd, paths, users, groups, euid)| {
            let mut b = Host::builder();
            if let Some(euid) = euid {
                b = b.euid(euid);
            }
            if let Some(cwd) = cwd {
                b = b.cwd(cwd);
            }
            for (p, f) in paths {
                b = b.unix_path(p, f);
            }
            for (name, id) in users {
                b = match id {
                    Some(id) => b.user(&name, id),
                    None => b.no_user(&name),
                };
            }
            for (name, id) in groups {
                b = match id {
                    Some(id) => b.group(&name, id),
                    None => b.no_group(&name),
                };
            }
            b.build().unwrap()
        })
}

proptest! {
    #![proptest_config(crate::props::config())]

    #[test]
    fn unix_facts_json_roundtrips(host in unix_host()) {
        let json = serde_json::to_string(&host).unwrap();
        prop_assert_eq!(serde_json::from_str::<Host>(&json).unwrap(), host);
    }
}

/// The doctor's table says what a Unix socket is, where a relative path
/// came from, and the file's mode and owners; the JSON has the ids.
#[test]
fn the_table_and_json_say_what_a_unix_socket_is() {
    let host = Host::builder()
        .cwd("/srv/app")
        .user("www-data", 33)
        .build()
        .unwrap();
    let plan = spec(
        "local = unix\n\
         local.api = http:./api.sock mode=660 owner=www-data group=44\n\
         local.admin = unix:@app-admin",
    )
    .plan(&host)
    .unwrap();
    assert_eq!(
        plan.to_string(),
        "ENDPOINT     PROTO  BIND               ADVERTISE                             WHY\n\
         local.api    http   /srv/app/api.sock  http+unix://%2Fsrv%2Fapp%2Fapi.sock/  unix socket, relative to /srv/app, mode 660, owner www-data (33), group 44\n\
         local.admin  unix   @app-admin         unix:@app-admin                       abstract unix socket\n\
         \n\
         warning: local.api: ./api.sock is relative: it is bound as /srv/app/api.sock, from the working directory\n  \
         fix: write /srv/app/api.sock if that is meant, so the socket does not move with the directory the server starts in"
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json["endpoints"][0]["unix"],
        serde_json::json!({"path": "/srv/app/api.sock", "owner": 33, "group": 44, "relative_to": "/srv/app"})
    );
    assert_eq!(
        json["endpoints"][1]["unix"],
        serde_json::json!({"path": "@app-admin", "owner": null, "group": null, "relative_to": null})
    );
    assert_eq!(json["endpoints"][1]["ports"], serde_json::Value::Null);
}

/// The role of a child run of
/// [`a_server_not_root_follows_roots_links_and_its_own_and_no_others`],
/// with the socket paths it binds.
#[cfg(unix)]
const LINKS_ROLE: &str = "LISTENSPEC_LINKS_ROLE";

/// A server that is not root follows root's links and its own user's to
/// its socket's directory, and no third user's: binding (from a plan that
/// never looked) names that link and makes nothing.
#[test]
#[cfg(unix)]
fn a_server_not_root_follows_roots_links_and_its_own_and_no_others() {
    let test = "unix_plan::a_server_not_root_follows_roots_links_and_its_own_and_no_others";
    if let Some(paths) = std::env::var_os(LINKS_ROLE) {
        // The server, as nobody: binds each path, says what became of it.
        let host = crate::loopback_host();
        for path in std::env::split_paths(&paths) {
            let line = format!("local = unix\nlocal.api = unix:{}", path.display());
            match spec(&line).plan(&host).unwrap().bind() {
                Ok(_) => println!("bound {}", path.display()),
                Err(e) => println!("refused {}: {e}", path.display()),
            }
        }
        return;
    }
    if !crate::unix::needs_root(test) {
        return;
    }
    let t = TempDir::new("others-links");
    let own = t.join("own");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(65534), Some(65534)).unwrap();
    let link = |name: &str, uid: u32| {
        let l = t.join(name);
        std::os::unix::fs::symlink(&own, &l).unwrap();
        std::os::unix::fs::lchown(&l, Some(uid), Some(uid)).unwrap();
        l.join("api.sock")
    };
    let paths = [
        link("roots", 0),
        link("nobodys", 65534),
        link("thirds", 54321),
    ];
    let out = crate::unix::as_nobody(std::env::current_exe().unwrap().to_str().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(LINKS_ROLE, std::env::join_paths(&paths).unwrap())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("bound {}", paths[0].display())),
        "{said}"
    );
    assert!(
        said.contains(&format!("bound {}", paths[1].display())),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "refused {}: 1 socket could not be bound, so none were",
            paths[2].display()
        )) && said.contains(&format!(
            "is reached through the symbolic link {}, which belongs to uid 54321",
            t.join("thirds").display()
        )),
        "{said}"
    );
    assert_eq!(std::fs::read_dir(&own).unwrap().count(), 0, "nothing left");
}

/// A link's target is walked as the kernel walks it: `..` in it is the
/// parent of the directory the link is in, and a loop of links ends in
/// an error, not a walk without end.
#[test]
#[cfg(unix)]
fn a_socket_path_through_links_resolves_as_the_kernel_does() {
    let t = TempDir::new("link-walk");
    for dir in ["a", "own"] {
        std::fs::create_dir(t.join(dir)).unwrap();
    }
    std::os::unix::fs::symlink("../own", t.join("a/up")).unwrap();
    std::os::unix::fs::symlink("loop2", t.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", t.join("loop2")).unwrap();
    let host = crate::loopback_host();
    let bind = |path: &Path| {
        spec(&format!(
            "local = unix\nlocal.api = unix:{}",
            path.display()
        ))
        .plan(&host)
        .unwrap()
        .bind()
    };
    let bound = bind(&t.join("a/up/api.sock")).unwrap();
    assert!(t.join("own/api.sock").exists(), "made in own, through ..");
    drop(bound);
    let err = bind(&t.join("loop1/api.sock")).unwrap_err().to_string();
    assert!(err.contains("symbolic links"), "{err}");
}
