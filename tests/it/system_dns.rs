//! Lookups through the system resolver (getaddrinfo): the `dns` feature
//! without `dns-hickory`. hickory's own are in `capture.rs` and `reach.rs`.
//!
//! getaddrinfo reads the host's `/etc/hosts`, `resolv.conf` and
//! `nsswitch.conf` and asks port 53, so the tests that need answers of
//! their own run in a process of their own, in fresh mount and network
//! namespaces (`unshare -m -n`) where those files are bind-mounted over
//! with the test's and a test DNS server listens on 127.0.0.1:53. Nothing
//! outside that process sees either. Addresses come from 198.51.100.0/24,
//! 203.0.113.0/24, 2001:db8::/32 and loopback only.

#![cfg(all(feature = "dns", not(feature = "dns-hickory")))]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use listenspec::capture::{CaptureOptions, capture_with};
use listenspec::host::DnsAnswer;
use listenspec::plan::ProblemKind;
use listenspec::probe::Outcome;
use listenspec::{CaptureError, Host, ListenSpec, capture};

fn spec(text: &str) -> ListenSpec {
    text.parse()
        .unwrap_or_else(|e| panic!("spec {text:?}: {e}"))
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn answer<'h>(host: &'h Host, name: &str) -> &'h DnsAnswer {
    host.dns(name)
        .unwrap_or_else(|| panic!("no answer recorded for {name}: {:?}", host.dns_answers()))
}

fn failure(host: &Host, name: &str) -> String {
    match answer(host, name) {
        DnsAnswer::Failed { error } => error.clone(),
        other => panic!("{name}: expected a failure, got {other:?}"),
    }
}

/// The kinds of the plan's errors, by variant name.
fn refused(spec: &ListenSpec, host: &Host) -> Vec<(String, String)> {
    let err = listenspec::plan(spec, host).unwrap_err();
    err.errors()
        .iter()
        .map(|p| (crate::variant_name(p.kind()), p.to_string()))
        .collect()
}

/// `localhost` is in every `/etc/hosts`; whatever else it lists, the
/// answer holds 127.0.0.1, sorted and without repeats.
#[test]
fn localhost_resolves_through_the_system_resolver() {
    let host = capture(&spec("local = dns:localhost\nlocal.x = tcp:1")).unwrap();
    let DnsAnswer::Addrs(addrs) = answer(&host, "localhost") else {
        panic!("{host}")
    };
    assert!(addrs.contains(&[127, 0, 0, 1].into()), "{addrs:?}");
    assert!(addrs.is_sorted(), "{addrs:?}");
    assert!(
        addrs.windows(2).all(|w| w[0] != w[1]),
        "repeated: {addrs:?}"
    );
}

/// getaddrinfo reads `0` as the IPv4 address 0.0.0.0 (inet_aton), so
/// `dns:0` answers the wildcard: the planner refuses it, as any wildcard
/// answer, rather than listen on every address.
#[test]
fn a_name_getaddrinfo_reads_as_0_0_0_0_is_refused_not_bound() {
    let text = spec("edge = dns:0\nedge.x = tcp:1");
    let host = capture(&text).unwrap();
    assert_eq!(answer(&host, "0"), &DnsAnswer::Addrs(ips(&["0.0.0.0"])));
    let errors = refused(&text, &host);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "DnsUnlistenable", "{errors:?}");
    assert!(
        errors[0]
            .1
            .contains("dns:0 answered 0.0.0.0, but it is a wildcard"),
        "{errors:?}"
    );
}

/// The system resolver asks only the system's nameservers: options that
/// name others are refused, saying which feature can, rather than ignored;
/// a spec without names does not care.
#[test]
fn nameservers_of_ones_own_are_refused_and_name_the_feature() {
    let opts = CaptureOptions::default().nameservers(["127.0.0.1:5353".parse().unwrap()]);
    let err = capture_with(&spec("edge = dns:localhost\nedge.x = tcp:1"), &opts).unwrap_err();
    assert!(
        matches!(&err, CaptureError::NameserversNeedHickory { nameservers } if nameservers == &["127.0.0.1:5353".parse().unwrap()]),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1:5353") && text.contains("`dns-hickory` feature"),
        "{text}"
    );
    capture_with(&spec("local = loopback\nlocal.x = tcp:1"), &opts).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn async_capture_waits_on_a_blocking_thread() {
    let text = spec("local = dns:localhost\nlocal.x = tcp:1");
    let opts = CaptureOptions::default();
    let capturing = listenspec::capture::capture_async(&text, &opts);
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&capturing);
    let host = capturing.await.unwrap();
    assert!(
        matches!(answer(&host, "localhost"), DnsAnswer::Addrs(a) if a.contains(&[127, 0, 0, 1].into()))
    );
}

/// Runs every test of [`inside`] in a process of its own, in new mount and
/// network namespaces, with `/etc/hosts`, `/etc/resolv.conf` and
/// `/etc/nsswitch.conf` bind-mounted over by the test's. Needs root and
/// `unshare` (util-linux); skips without them, except under CI.
#[cfg(target_os = "linux")]
#[test]
fn the_system_resolver_in_namespaces_of_its_own() {
    use std::process::Command;

    const TEST: &str = "system_dns::the_system_resolver_in_namespaces_of_its_own";
    #[allow(unsafe_code)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let can = if root {
        match Command::new("unshare").args(["-m", "-n", "true"]).status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("`unshare -m -n true` failed: {s}")),
            Err(e) => Err(format!("no unshare (util-linux): {e}")),
        }
    } else {
        Err("not root, cannot create mount and network namespaces".to_owned())
    };
    if let Err(why) = can {
        if std::env::var_os("CI").is_some() {
            panic!("{TEST}: CI must run namespace tests, but: {why}");
        }
        eprintln!("SKIP {TEST}: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("listenspec-system-dns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), inside::HOSTS).unwrap();
    std::fs::write(dir.join("resolv.conf"), inside::RESOLV_CONF).unwrap();
    std::fs::write(dir.join("nsswitch.conf"), "hosts: files dns\n").unwrap();
    // unshare makes every mount private to the new namespace, so the bind
    // mounts end with the process and nothing else ever sees them.
    let script = r#"set -e
ip link set lo up
mount --bind "$D/hosts" /etc/hosts
mount --bind "$D/resolv.conf" /etc/resolv.conf
if [ -e /etc/nsswitch.conf ]; then mount --bind "$D/nsswitch.conf" /etc/nsswitch.conf; fi
exec "$@""#;
    let out = Command::new("unshare")
        .args(["-m", "-n", "sh", "-c", script, "sh"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "system_dns::inside::",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("D", &dir)
        .env(inside::IN_NAMESPACE, "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!("{} passed", inside::COUNT);
    assert!(text.contains(&want), "want {want}: {text}");
}

/// The tests [`the_system_resolver_in_namespaces_of_its_own`] runs, one at
/// a time, in its namespaces; each refuses to run anywhere else.
#[cfg(target_os = "linux")]
mod inside {
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::dns_server::{DnsServer, Reply};

    /// Set by the runner; without it a test here would ask the host's own
    /// resolver.
    pub(super) const IN_NAMESPACE: &str = "LISTENSPEC_TEST_SYSTEM_DNS_NAMESPACE";

    /// How many tests the runner must see pass.
    pub(super) const COUNT: usize = 6;

    pub(super) const HOSTS: &str = "\
127.0.0.1 localhost
198.51.100.7 files.test
2001:db8::7 files.test
198.51.100.7 files.test
0.0.0.0 zero4.test
:: zero6.test
::ffff:0.0.0.0 mapped.test
127.0.0.1 near.test
";

    /// glibc's own wait is 2 s per query, longer than the deadlines below,
    /// so that what ends the wait is capture's deadline.
    pub(super) const RESOLV_CONF: &str = "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";

    fn in_namespace() {
        assert!(
            std::env::var_os(IN_NAMESPACE).is_some(),
            "run by system_dns::the_system_resolver_in_namespaces_of_its_own, in namespaces of its own"
        );
    }

    fn server() -> DnsServer {
        DnsServer::start_on_port_53([
            (
                "dns.test",
                Reply::Addrs(ips(&[
                    "2001:db8::5",
                    "203.0.113.5",
                    "203.0.113.9",
                    "2001:db8::5",
                ])),
            ),
            ("wild.test", Reply::Addrs(ips(&["0.0.0.0", "::"]))),
            ("quiet.test", Reply::Silent),
        ])
    }

    #[test]
    #[ignore = "run in namespaces of its own by the_system_resolver_in_namespaces_of_its_own"]
    fn names_from_hosts_and_from_dns_resolve_to_their_addresses() {
        in_namespace();
        let server = server();
        let host = capture(&spec(
            "edge = dns:files.test, dns:dns.test\nedge.x = tcp:1\nlocal = dns:localhost",
        ))
        .unwrap();
        assert_eq!(
            answer(&host, "files.test"),
            &DnsAnswer::Addrs(ips(&["198.51.100.7", "2001:db8::7"]))
        );
        assert_eq!(
            answer(&host, "dns.test"),
            &DnsAnswer::Addrs(ips(&["203.0.113.5", "203.0.113.9", "2001:db8::5"]))
        );
        // From the test's /etc/hosts, not the host's.
        assert_eq!(
            answer(&host, "localhost"),
            &DnsAnswer::Addrs(ips(&["127.0.0.1"]))
        );
        assert_eq!(host.dns_answers().len(), 3);
        assert!(server.queries() > 0, "dns.test was asked of the server");
    }

    /// A wildcard answer, from `/etc/hosts` or a nameserver, in any
    /// spelling, is refused by the planner: never bound, never widening
    /// what the spec exposes.
    #[test]
    #[ignore = "run in namespaces of its own by the_system_resolver_in_namespaces_of_its_own"]
    fn wildcard_answers_are_refused_not_bound() {
        in_namespace();
        let _server = server();
        for (name, want) in [
            ("zero4.test", &["0.0.0.0"][..]),
            ("zero6.test", &["::"]),
            ("mapped.test", &["::ffff:0.0.0.0"]),
            ("wild.test", &["0.0.0.0", "::"]),
        ] {
            let text = spec(&format!("edge = dns:{name}\nedge.x = tcp:1"));
            let host = capture(&text).unwrap();
            assert_eq!(answer(&host, name), &DnsAnswer::Addrs(ips(want)), "{name}");
            // One finding for the name, naming every answer.
            let errors = refused(&text, &host);
            assert_eq!(errors.len(), 1, "{name}: {errors:?}");
            let (kind, message) = &errors[0];
            assert_eq!(kind, "DnsUnlistenable", "{name}: {message}");
            let each = if want.len() == 1 { "" } else { "for each: " };
            assert!(
                message.contains(&format!(
                    "dns:{name} answered {}, but {each}it is a wildcard",
                    want.join(", ")
                )),
                "{message}"
            );
        }
    }

    /// A name nobody knows is recorded as failed, as with hickory, and the
    /// plan names the selector, the cause and the fix.
    #[test]
    #[ignore = "run in namespaces of its own by the_system_resolver_in_namespaces_of_its_own"]
    fn an_unknown_name_is_a_recorded_failure_the_plan_explains() {
        in_namespace();
        let _server = server();
        let text = spec("edge = dns:gone.test\nedge.x = tcp:1");
        let host = capture(&text).unwrap();
        let error = failure(&host, "gone.test");
        assert!(
            error.starts_with("the system resolver (getaddrinfo) failed: "),
            "{error}"
        );
        let errors = refused(&text, &host);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (kind, message) = &errors[0];
        assert_eq!(kind, "DnsFailed");
        assert!(
            message.contains(&format!("dns:gone.test could not be resolved: {error}"))
                && message.contains("getent ahosts gone.test"),
            "{message}"
        );
        let err = listenspec::plan(&text, &host).unwrap_err();
        assert!(
            matches!(err.errors()[0].kind(), ProblemKind::DnsFailed { name, .. } if name == "gone.test")
        );
    }

    /// A nameserver that never answers holds capture no longer than its
    /// deadline (timeout × attempts), and the check of advertised names no
    /// longer than its timeout, though glibc would wait 2 s.
    #[test]
    #[ignore = "run in namespaces of its own by the_system_resolver_in_namespaces_of_its_own"]
    fn a_silent_nameserver_is_bounded_by_the_deadline() {
        in_namespace();
        let server = server();
        let opts = CaptureOptions::default()
            .timeout(Duration::from_millis(150))
            .attempts(2);
        let started = Instant::now();
        let host = capture_with(
            &spec("edge = dns:quiet.test, dns:files.test\nedge.x = tcp:1"),
            &opts,
        )
        .unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        // A promise, not a speed test: slack for a loaded machine, and
        // still under glibc's own 2 s.
        assert!(took < Duration::from_millis(1500), "{took:?}");
        let error = failure(&host, "quiet.test");
        assert!(error.starts_with("no answer within 300ms"), "{error}");
        // The other name does not wait for it.
        assert_eq!(
            answer(&host, "files.test"),
            &DnsAnswer::Addrs(ips(&["198.51.100.7", "2001:db8::7"]))
        );
        assert!(server.queries() > 0, "the lookup never reached the server");

        let bound = listenspec::plan(
            &spec("local = 127.0.0.1 advertise quiet.test:9\nlocal.raw = tcp:0"),
            &crate::loopback_host(),
        )
        .unwrap()
        .bind_inherited(Vec::new())
        .unwrap();
        let timeout = Duration::from_millis(300);
        let started = Instant::now();
        let reach = bound.check_advertised(timeout);
        let took = started.elapsed();
        assert!(took < timeout + Duration::from_millis(1200), "{took:?}");
        let Outcome::Unresolved(why) = reach[0].outcome() else {
            panic!("{}", reach[0])
        };
        assert!(why.contains("no answer within 300ms"), "{why}");
    }

    /// An advertised name from `/etc/hosts` is probed where it points.
    #[test]
    #[ignore = "run in namespaces of its own by the_system_resolver_in_namespaces_of_its_own"]
    fn an_advertised_name_is_probed_where_the_system_resolver_points() {
        in_namespace();
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let bound = listenspec::plan(
            &spec(&format!(
                "local = 127.0.0.1\nlocal.raw = tcp:{port} advertise near.test:{port}"
            )),
            &crate::loopback_host(),
        )
        .unwrap()
        .bind_inherited(Vec::new())
        .unwrap();
        let reach = bound.check_advertised(Duration::from_secs(5));
        assert_eq!(reach.len(), 1);
        assert!(reach[0].reached(), "{}", reach[0]);
        assert_eq!(reach[0].target(), Some(([127, 0, 0, 1], port).into()));
    }

    /// A thousand names against a nameserver that reads every query and
    /// drops it: capture ends at its deadline with each name failed, and
    /// starts a handful of threads, not a thousand.
    #[test]
    #[ignore = "run in namespaces of its own by the_system_resolver_in_namespaces_of_its_own"]
    fn a_thousand_names_start_a_handful_of_threads() {
        in_namespace();
        let sink = UdpSocket::bind("127.0.0.1:53").unwrap();
        sink.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let dropping = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut buf = [0; 512];
                while !stop.load(Ordering::Relaxed) {
                    let _ = sink.recv_from(&mut buf);
                }
            })
        };
        let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
        let names: Vec<String> = (0..1000).map(|i| format!("dns:n{i}.quiet.test")).collect();
        let text = spec(&format!("edge = {}\nedge.x = tcp:1", names.join(", ")));
        let opts = CaptureOptions::default()
            .timeout(Duration::from_millis(200))
            .attempts(1);
        let before = threads();
        let most = std::thread::scope(|s| {
            let capturing = s.spawn(|| capture_with(&text, &opts));
            let mut most = 0;
            while !capturing.is_finished() {
                most = most.max(threads());
                std::thread::sleep(Duration::from_millis(10));
            }
            let host = capturing.join().unwrap().unwrap();
            assert_eq!(host.dns_answers().len(), 1000);
            for i in [0, 1, 500, 999] {
                let error = failure(&host, &format!("n{i}.quiet.test"));
                assert!(error.starts_with("no answer within 200ms"), "{error}");
            }
            most
        });
        // The capturing thread, and four lookup threads at most.
        assert!(most <= before + 1 + 4, "{most} threads, {before} before");
        stop.store(true, Ordering::Relaxed);
        dropping.join().unwrap();
    }
}
