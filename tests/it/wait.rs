//! Waiting for the host at start-up, on real interfaces in namespaces: an
//! address that comes later, an interface with only its link-local address
//! until a global one comes, an IPv6 address through duplicate address
//! detection, an address that flaps, a veth whose peer comes up late, the
//! deadline, and an error time cannot fix.
//!
//! Each test changes the namespace from a second thread of the namespace
//! while the waiting bind runs, so the bind can only succeed by seeing the
//! change.

#![cfg(target_os = "linux")]

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use listenspec::plan::{ProblemKind, Unmatched};
use listenspec::{Error, ListenSpec};

use crate::netns::{Netns, netns_or_skip};

/// A deadline no passing test comes near: only a bound on a hang.
const LONG: Duration = Duration::from_secs(30);

/// How long the namespace stays unready before the test fixes it.
const LATE: Duration = Duration::from_millis(300);

fn spec(text: &str) -> ListenSpec {
    text.parse()
        .unwrap_or_else(|e| panic!("spec {text:?}: {e}"))
}

/// A veth pair with both ends here and no automatic link-local addresses,
/// `a` up; `b` up too when `peer_up`, so `a` has carrier.
fn pair(ns: &Netns, a: &str, b: &str, peer_up: bool) {
    ns.quiet_veth_pair(a, b);
    ns.up(a);
    if peer_up {
        ns.up(b);
        ns.wait_running(a);
    }
}

/// The CPU time this thread has used: the first field of its
/// `/proc/thread-self/schedstat`, in nanoseconds.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    let ns = stat.split_whitespace().next().and_then(|n| n.parse().ok());
    Duration::from_nanos(ns.unwrap_or_else(|| panic!("schedstat: {stat:?}")))
}

/// The one socket address of `network.name`.
fn only_addr(bound: &listenspec::Bound, network: &str, name: &str) -> SocketAddr {
    let addrs = bound.endpoint(network, name).unwrap().local_addrs();
    let [addr] = addrs[..] else {
        panic!("expected one socket: {addrs:?}")
    };
    addr
}

#[test]
fn a_waiting_bind_takes_an_address_added_after_it_started() {
    let Some(ns) = netns_or_skip("a_waiting_bind_takes_an_address_added_after_it_started") else {
        return;
    };
    pair(&ns, "wa0", "wa1", true);
    let svc = spec("svc = if:wa0; svc.web = http:0");
    ns.run(|| {
        // Without waiting it fails: the interface has no address yet.
        let err = listenspec::bind_all(&svc).unwrap_err();
        assert!(matches!(err, Error::Plan(_)), "{err}");
        let bound = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(LATE);
                ns.addr("wa0", "198.51.100.7/24");
            });
            listenspec::bind_all_waiting(&svc, LONG).unwrap_or_else(|e| panic!("{e}"))
        });
        let addr = only_addr(&bound, "svc", "web");
        assert_eq!(addr.ip().to_string(), "198.51.100.7");
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    });
}

/// How long DHCP or a router advertisement takes to give an interface
/// its address in the link-local-only test: a second, as on a real link.
const ADDRESS_LATE: Duration = Duration::from_secs(1);

/// A deadline that the tests below must beat, and by far.
const DEADLINE: Duration = Duration::from_secs(10);

#[test]
fn a_waiting_bind_takes_an_interface_that_had_only_its_link_local_address() {
    let Some(ns) =
        netns_or_skip("a_waiting_bind_takes_an_interface_that_had_only_its_link_local_address")
    else {
        return;
    };
    // The kernel's own fe80:: address, without duplicate address
    // detection so that it is there (and not tentative) once the link is.
    ns.veth_pair("wl0", "wl1");
    ns.exec(&[
        "sh",
        "-c",
        "echo 0 > /proc/sys/net/ipv6/conf/wl0/accept_dad",
    ]);
    ns.up("wl0");
    ns.up("wl1");
    ns.wait_running("wl0");
    let svc = spec("svc = if:wl0; svc.web = http:0");
    ns.run(|| {
        let link_local_only = |host: &listenspec::Host| {
            let addrs = host.interface("wl0").map_or(&[][..], |i| i.addrs());
            !addrs.is_empty() && addrs.iter().all(|a| a.addr().to_string().starts_with("fe80:"))
        };
        // The address comes with the link, a moment after it.
        let since = Instant::now();
        let host = loop {
            let host = listenspec::capture(&svc).unwrap();
            if link_local_only(&host) {
                break host;
            }
            assert!(since.elapsed() < DEADLINE, "no fe80:: address on wl0: {host}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = listenspec::plan(&svc, &host).unwrap_err();
        assert!(
            matches!(
                err.errors(),
                [p] if matches!(p.kind(), ProblemKind::NoMatch { why: Some(Unmatched::LinkLocalOnly), .. })
            ),
            "{err}"
        );
        let start = Instant::now();
        let bound = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(ADDRESS_LATE);
                ns.addr("wl0", "2001:db8:6::1/64");
            });
            listenspec::bind_all_waiting(&svc, DEADLINE).unwrap_or_else(|e| panic!("{e}"))
        });
        let took = start.elapsed();
        assert!(took >= ADDRESS_LATE && took < DEADLINE, "{took:?}");
        // The address that came, and not the link-local one, which `if:`
        // never takes.
        let addr = only_addr(&bound, "svc", "web");
        assert_eq!(addr.ip().to_string(), "2001:db8:6::1");
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    });
}

#[test]
fn a_waiting_bind_outlasts_an_address_that_flaps() {
    let Some(ns) = netns_or_skip("a_waiting_bind_outlasts_an_address_that_flaps") else {
        return;
    };
    pair(&ns, "wf0", "wf1", true);
    ns.addr("wf0", "198.51.100.20/24");
    // The moment a flap leaves between reading the host and binding, held
    // open: the interface lists the address, but without its local route
    // the kernel no longer takes it as this host's, and bind(2) refuses it
    // with EADDRNOTAVAIL, as it does once the address is gone.
    let no_local_route = [
        "route",
        "del",
        "local",
        "198.51.100.20",
        "dev",
        "wf0",
        "table",
        "local",
    ];
    ns.ip(&no_local_route);
    let svc = spec("svc = 198.51.100.20; svc.web = http:0");
    let refused = |e: &Error| {
        let Error::Bind(b) = e else { return false };
        b.failures().iter().all(|f| {
            f.os_error().map(std::io::Error::kind) == Some(std::io::ErrorKind::AddrNotAvailable)
                && f.addr().map(|a| a.ip().to_string()).as_deref() == Some("198.51.100.20")
        })
    };
    ns.run(|| {
        // Without waiting: the capture has the address, the bind is refused.
        let err = listenspec::bind_all(&svc).unwrap_err();
        assert!(refused(&err), "{err}");

        // Waiting, it is tried again until the deadline, and the error says
        // for which address.
        let short = Duration::from_millis(300);
        let err = listenspec::bind_all_waiting(&svc, short).unwrap_err();
        let Error::Deadline(gave_up) = &err else {
            panic!("{err}")
        };
        assert!(
            matches!(
                gave_up.waiting_for(),
                [p] if matches!(p.kind(), ProblemKind::NotLocal { remote, .. } if remote[..] == ["198.51.100.20".parse::<std::net::IpAddr>().unwrap()])
            ),
            "{err}"
        );
        assert!(refused(gave_up.last()), "{err}");

        // The address goes and comes back a few times while the bind
        // waits; each time it is back, with its route, it binds. A plan
        // made while it is gone waits too: it was there a moment ago.
        let flap = Duration::from_millis(50);
        let start = Instant::now();
        let bound = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(LATE);
                for _ in 0..3 {
                    ns.ip(&["addr", "del", "198.51.100.20/24", "dev", "wf0"]);
                    std::thread::sleep(flap);
                    ns.addr("wf0", "198.51.100.20/24");
                    std::thread::sleep(flap);
                }
            });
            listenspec::bind_all_waiting(&svc, DEADLINE).unwrap_or_else(|e| panic!("{e}"))
        });
        let took = start.elapsed();
        assert!(took >= LATE && took < DEADLINE, "{took:?}");
        // The flapping is over and the address back: the socket bound in
        // the middle of it answers.
        let addr = only_addr(&bound, "svc", "web");
        assert_eq!(addr.ip().to_string(), "198.51.100.20");
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    });
}

#[test]
fn a_refused_bind_is_tried_again_without_a_notification() {
    let Some(ns) = netns_or_skip("a_refused_bind_is_tried_again_without_a_notification") else {
        return;
    };
    pair(&ns, "wn0", "wn1", true);
    ns.addr("wn0", "198.51.100.21/24");
    // Listed but not local: bind(2) refuses it (EADDRNOTAVAIL).
    ns.ip(&[
        "route",
        "del",
        "local",
        "198.51.100.21",
        "dev",
        "wn0",
        "table",
        "local",
    ]);
    let svc = spec("svc = 198.51.100.21; svc.web = http:0");
    ns.run(|| {
        let start = Instant::now();
        let bound = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(LATE);
                // Only the local route comes back, as Linux adds it just
                // after announcing a new IPv4 address: no link or address
                // notification follows, so only trying again soon binds.
                ns.ip(&[
                    "route",
                    "add",
                    "local",
                    "198.51.100.21",
                    "dev",
                    "wn0",
                    "table",
                    "local",
                    "proto",
                    "kernel",
                    "scope",
                    "host",
                    "src",
                    "198.51.100.21",
                ]);
            });
            listenspec::bind_all_waiting(&svc, DEADLINE).unwrap_or_else(|e| panic!("{e}"))
        });
        let took = start.elapsed();
        // Within a poll or two of the route, not at a notification that
        // never comes.
        assert!(
            took >= LATE && took < LATE + Duration::from_secs(2),
            "{took:?}"
        );
        let addr = only_addr(&bound, "svc", "web");
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    });
}

#[test]
fn an_async_waiting_bind_leaves_the_runtime_free_while_it_waits() {
    let Some(ns) = netns_or_skip("an_async_waiting_bind_leaves_the_runtime_free_while_it_waits")
    else {
        return;
    };
    pair(&ns, "wr0", "wr1", true);
    let svc = spec("svc = if:wr0; svc.web = http:0");
    ns.run(|| {
        // One thread for the runtime: the future that adds the address runs
        // only if the waiting bind does not hold that thread.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let bound = rt.block_on(async {
            let adder = async {
                // Past the bind's first attempt, into its wait.
                tokio::time::sleep(LATE).await;
                ns.addr("wr0", "198.51.100.8/24");
            };
            let waiting = listenspec::bind_all_async_waiting(&svc, Duration::from_secs(10));
            tokio::join!(adder, waiting)
                .1
                .unwrap_or_else(|e| panic!("{e}"))
        });
        assert_eq!(
            only_addr(&bound, "svc", "web").ip().to_string(),
            "198.51.100.8"
        );
    });
}

#[test]
fn a_tentative_address_is_waited_for_until_detection_ends() {
    let Some(ns) = netns_or_skip("a_tentative_address_is_waited_for_until_detection_ends") else {
        return;
    };
    pair(&ns, "wd0", "wd1", true);
    // Two probes a second apart: tentative for two seconds or more after
    // it is added, on a link with carrier, with nothing else to wait for.
    ns.exec(&[
        "sh",
        "-c",
        "echo 2 > /proc/sys/net/ipv6/conf/wd0/dad_transmits",
    ]);
    ns.addr_with("wd0", "2001:db8:5::1/64", &[]);
    let svc = spec("svc = 2001:db8:5::1; svc.web = http:0");
    ns.run(|| {
        // A deadline inside detection: the bind was refused (EADDRNOTAVAIL)
        // and retried, and the error says it waited for the tentative address.
        let err = listenspec::bind_all_waiting(&svc, Duration::from_millis(200)).unwrap_err();
        let Error::Deadline(gave_up) = &err else {
            panic!("{err}")
        };
        assert!(
            matches!(
                gave_up.waiting_for(),
                [p] if matches!(p.kind(), ProblemKind::Tentative { interface, .. } if interface == "wd0")
            ),
            "{err}"
        );
        let Error::Bind(last) = gave_up.last() else {
            panic!("{err}")
        };
        assert_eq!(
            last.failures()[0].os_error().map(std::io::Error::kind),
            Some(std::io::ErrorKind::AddrNotAvailable),
            "{err}"
        );
        assert!(err.to_string().contains("2001:db8:5::1 on wd0 is tentative"), "{err}");

        let bound = listenspec::bind_all_waiting(&svc, LONG).unwrap_or_else(|e| panic!("{e}"));
        let addr = only_addr(&bound, "svc", "web");
        assert_eq!(addr.ip().to_string(), "2001:db8:5::1");
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    });
}

#[test]
fn a_waiting_bind_takes_an_interface_once_its_peer_brings_carrier() {
    let Some(ns) = netns_or_skip("a_waiting_bind_takes_an_interface_once_its_peer_brings_carrier")
    else {
        return;
    };
    pair(&ns, "wc0", "wc1", false);
    ns.addr("wc0", "198.51.100.9/24");
    let svc = spec("svc = if:wc0; svc.web = http:0");
    ns.run(|| {
        let host = listenspec::capture(&svc).unwrap();
        let wc0 = host.interface("wc0").unwrap();
        assert!(wc0.is_admin_up() && !wc0.has_carrier(), "{host}");
        let err = listenspec::plan(&svc, &host).unwrap_err();
        assert!(
            err.errors().iter().any(
                |p| matches!(p.kind(), ProblemKind::NoCarrier { interface } if interface == "wc0")
            ),
            "{err}"
        );
        let bound = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(LATE);
                ns.up("wc1");
            });
            listenspec::bind_all_waiting(&svc, LONG).unwrap_or_else(|e| panic!("{e}"))
        });
        assert_eq!(
            only_addr(&bound, "svc", "web").ip().to_string(),
            "198.51.100.9"
        );
    });
}

#[test]
fn at_the_deadline_the_error_says_how_long_it_waited_and_for_what() {
    let Some(ns) = netns_or_skip("at_the_deadline_the_error_says_how_long_it_waited_and_for_what")
    else {
        return;
    };
    let svc = spec("svc = if:late0; svc.web = http:0");
    let deadline = Duration::from_millis(500);
    ns.run(|| {
        let start = Instant::now();
        let cpu_before = thread_cpu();
        // Half way, a change that fixes nothing wakes the wait: the attempt
        // after it still waits only for what is left of the deadline.
        let err = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(deadline / 2);
                pair(&ns, "wake0", "wake1", false);
            });
            listenspec::bind_all_waiting(&svc, deadline).unwrap_err()
        });
        let took = start.elapsed();
        assert!(took >= deadline, "gave up early: {took:?}");
        assert!(took < LONG, "waited far past the deadline: {took:?}");
        // Between attempts it sleeps: a server waiting at boot does not keep
        // a core busy recapturing the host.
        let cpu = thread_cpu() - cpu_before;
        assert!(cpu < deadline / 5, "{cpu:?} on the CPU in {took:?}");
        let Error::Deadline(gave_up) = &err else {
            panic!("{err}")
        };
        assert!(gave_up.waited() >= deadline);
        assert_eq!(gave_up.deadline(), deadline);
        assert!(
            matches!(
                gave_up.waiting_for(),
                [p] if matches!(p.kind(), ProblemKind::UnknownInterface { pattern } if pattern == "late0")
            ),
            "{err}"
        );
        assert!(matches!(gave_up.last(), Error::Plan(_)), "{err}");
        let text = err.to_string();
        assert!(text.starts_with("gave up waiting for the host after 0."), "{text}");
        assert!(text.contains("(the deadline was 0.5 s), with 1 problem still there:"), "{text}");
        // Each problem waited for, as its first line says it.
        let problem = gave_up.waiting_for()[0].to_string();
        let summary = problem.lines().next().unwrap();
        assert!(summary.contains("late0"), "{summary}");
        let (waited_for, _last) = text
            .split_once("\nif the host is still coming up")
            .expect("the last attempt follows");
        assert!(waited_for.ends_with(summary), "{text}");
        // The last attempt's own error, with its fix.
        assert!(text.contains("fix:"), "{text}");
    });
}

#[test]
fn an_error_time_cannot_fix_fails_without_waiting() {
    let Some(ns) = netns_or_skip("an_error_time_cannot_fix_fails_without_waiting") else {
        return;
    };
    pair(&ns, "wx0", "wx1", true);
    ns.addr("wx0", "203.0.113.4/24");
    // A wildcard on a local-only network is an exposure error; the missing
    // interface beside it could come, but the plan cannot stand anyway.
    let svc =
        spec("local = * expose=local; local.web = http:0\nops = if:late1; ops.metrics = http:0");
    let deadline = Duration::from_secs(60);
    ns.run(|| {
        let start = Instant::now();
        let err = listenspec::bind_all_waiting(&svc, deadline).unwrap_err();
        assert!(
            start.elapsed() < deadline / 2,
            "it waited: {:?}",
            start.elapsed()
        );
        let Error::Plan(plan) = &err else {
            panic!("{err}")
        };
        assert!(
            plan.errors()
                .iter()
                .any(|p| matches!(p.kind(), ProblemKind::Exposed { .. })),
            "{err}"
        );
        assert!(
            plan.errors()
                .iter()
                .any(|p| matches!(p.kind(), ProblemKind::UnknownInterface { .. })),
            "{err}"
        );
    });
}

#[test]
fn the_doctor_waits_for_an_address_then_binds_it() {
    let Some(ns) = netns_or_skip("the_doctor_waits_for_an_address_then_binds_it") else {
        return;
    };
    pair(&ns, "wt0", "wt1", true);
    let doctor = env!("CARGO_BIN_EXE_listenspec");
    let listen = ["--listen", "svc = if:wt0; svc.web = http:0"];
    // Without --wait the doctor reports the missing address.
    let mut args = vec![doctor, "doctor", "--bind"];
    args.extend(listen);
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name()])
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    args.extend(["--wait", "30"]);
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name()])
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(LATE);
    ns.addr("wt0", "198.51.100.10/24");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("bound (and now released):"), "{stdout}");
    assert!(stdout.contains("198.51.100.10:"), "{stdout}");

    // A deadline reached: exit 2, and stderr says it gave up.
    let mut args = vec![
        doctor,
        "doctor",
        "--listen",
        "svc = if:late2; svc.web = http:0",
    ];
    args.extend(["--wait", "0.2"]);
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name()])
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("gave up waiting for the host after 0."),
        "{stderr}"
    );
}

#[test]
fn the_doctor_watches_an_address_come_and_go() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;

    let Some(ns) = netns_or_skip("the_doctor_watches_an_address_come_and_go") else {
        return;
    };
    pair(&ns, "ww0", "ww1", true);
    ns.addr("ww0", "198.51.100.12/24");
    let mut child = KillOnDrop(
        std::process::Command::new("ip")
            .args(["netns", "exec", ns.name()])
            .args([env!("CARGO_BIN_EXE_listenspec"), "doctor", "--watch"])
            .args(["--listen", "svc = if:ww0; svc.web = http:8080"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, lines) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Reads lines until one matches, or panics after LONG.
    let until = |want: &dyn Fn(&str) -> bool, what: &str| {
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(LONG) {
                Ok(line) if want(&line) => return seen,
                Ok(line) => seen.push(line),
                Err(e) => panic!("no {what} ({e}) after {seen:#?}"),
            }
        }
    };
    // The first plan, whole: its table has the address there at the start.
    until(&|l| l.contains("198.51.100.12:8080"), "first plan");

    ns.addr("ww0", "198.51.100.11/24");
    let before = until(
        &|l| l == "+ svc.web tcp 198.51.100.11:8080",
        "opened socket",
    );
    assert_eq!(
        before.last().map(String::as_str),
        Some("the host changed:"),
        "{before:?}"
    );

    ns.ip(&["addr", "del", "198.51.100.11/24", "dev", "ww0"]);
    let before = until(
        &|l| l == "- svc.web tcp 198.51.100.11:8080",
        "closed socket",
    );
    assert_eq!(
        before.last().map(String::as_str),
        Some("the host changed:"),
        "{before:?}"
    );
    // Only that socket changed: the one on .12 was neither opened nor closed.
    assert!(
        !before.iter().any(|l| l.contains("198.51.100.12")),
        "{before:?}"
    );

    // The last address goes: the plan fails, and says why.
    ns.ip(&["addr", "del", "198.51.100.12/24", "dev", "ww0"]);
    until(&|l| l.starts_with("the listen plan has"), "plan error");
    // A change the report does not show (the peer's MTU) repeats nothing;
    // given time to be seen on its own before the next one.
    ns.ip(&["link", "set", "ww1", "mtu", "1400"]);
    std::thread::sleep(Duration::from_millis(300));
    // Down as well, it fails for another reason, which is shown.
    ns.ip(&["link", "set", "ww0", "down"]);
    let before = until(
        &|l| l.contains("ww0") && l.contains("down"),
        "the interface down",
    );
    let headers = before
        .iter()
        .filter(|l| l.starts_with("the listen plan has"))
        .count();
    assert_eq!(headers, 1, "{before:#?}");

    // A read of the host that fails (an interface whose name holds a
    // control character) is reported, and the watch goes on: the next
    // change, the interface gone, plans again.
    ns.ip(&[
        "link", "add", "name", "bad\u{1}", "type", "veth", "peer", "name", "badpeer0",
    ]);
    until(
        &|l| l.starts_with("cannot read this host: interface name \"bad\\u{1}\""),
        "the failed read",
    );
    ns.ip(&["link", "del", "bad\u{1}"]);
    until(&|l| l.starts_with("the listen plan has"), "the plan again");
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the doctor stopped watching"
    );
}

/// Kills the watching doctor when the test ends, passing or not: it runs
/// until interrupted.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
