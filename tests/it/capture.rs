//! `capture` against real interfaces (this host, and throw-away network
//! namespaces) and a real DNS server on 127.0.0.1.

#[cfg(target_os = "linux")]
use std::collections::{BTreeMap, BTreeSet};
#[cfg(target_os = "linux")]
use std::net::IpAddr;
use std::time::Duration;

#[cfg(target_os = "linux")]
use ipnet::IpNet;
#[cfg(target_os = "linux")]
use listenspec::Host;
use listenspec::capture::{CaptureOptions, capture_with};
use listenspec::{ListenSpec, capture};

use crate::dns_server::{DnsServer, Reply};

fn spec(text: &str) -> ListenSpec {
    text.parse()
        .unwrap_or_else(|e| panic!("spec {text:?}: {e}"))
}

/// Options pointing at the test server only, short enough that a silent
/// server does not stall the suite.
fn opts(server: &DnsServer) -> CaptureOptions {
    CaptureOptions::default()
        .nameservers([server.addr()])
        .timeout(Duration::from_millis(200))
        .attempts(1)
}

#[test]
fn this_host_has_an_up_loopback_with_127_0_0_1() {
    let host = capture(&spec("local = loopback\nlocal.x = tcp:1")).unwrap();
    let lo = host
        .interface("lo")
        .unwrap_or_else(|| panic!("no lo in\n{host}"));
    assert!(lo.is_up(), "lo is down in\n{host}");
    assert!(
        lo.addrs().contains(&"127.0.0.1/8".parse().unwrap()),
        "lo lacks 127.0.0.1/8 in\n{host}"
    );
    assert!(host.dns_answers().is_empty());
}

#[test]
#[cfg(target_os = "linux")]
fn namespace_snapshot_lists_exactly_its_interfaces() {
    use crate::netns::two_netns_or_skip;

    let Some((ns, peer)) = two_netns_or_skip("namespace_snapshot_lists_exactly_its_interfaces")
    else {
        return;
    };
    ns.veth("pub0", &peer, "pub1");
    // The kernel's own fe80:: would appear at a time of its choosing; a fixed
    // one makes the expected list exact.
    ns.no_auto_link_local("pub0");
    ns.addr("pub0", "203.0.113.1/24");
    ns.addr("pub0", "2001:db8:1::1/64");
    ns.addr("pub0", "fe80::1/64");
    ns.up("pub0");
    peer.up("pub1");
    ns.wait_running("pub0");

    // ops1 stays down: ops0 is administratively up without carrier, and ops1
    // has no address, which getifaddrs alone would leave out.
    ns.quiet_veth_pair("ops0", "ops1");
    ns.addr("ops0", "198.51.100.1/24");
    ns.up("ops0");
    // A running pair without any address: it is listed, and up.
    ns.quiet_veth_pair("bare0", "bare1");
    ns.up("bare0");
    ns.up("bare1");
    ns.wait_running("bare0");

    // Capture reads every interface, with an address or not, whatever the
    // spec names.
    let host = ns
        .run(|| capture(&spec("ops = if:ops0\nops.x = tcp:1")))
        .unwrap();

    let pub0 = ns.index("pub0");
    let ops0 = ns.index("ops0");
    let ops1 = ns.index("ops1");
    let bare0 = ns.index("bare0");
    let bare1 = ns.index("bare1");
    let expected: BTreeMap<&str, (u32, bool, BTreeSet<IpNet>)> = [
        ("lo", (1, true, nets(&["127.0.0.1/8", "::1/128"]))),
        (
            "pub0",
            (
                pub0,
                true,
                nets(&["203.0.113.1/24", "2001:db8:1::1/64", "fe80::1/64"]),
            ),
        ),
        ("ops0", (ops0, false, nets(&["198.51.100.1/24"]))),
        ("ops1", (ops1, false, nets(&[]))),
        ("bare0", (bare0, true, nets(&[]))),
        ("bare1", (bare1, true, nets(&[]))),
    ]
    .into_iter()
    .collect();
    assert_eq!(snapshot(&host), expected, "captured:\n{host}");

    // The same, as iproute2 sees it, so the fixed list above cannot drift
    // from what the kernel holds.
    assert_eq!(
        snapshot(&host)
            .into_iter()
            .map(|(name, (index, _, addrs))| (name.to_owned(), (index, addrs)))
            .collect::<BTreeMap<_, _>>(),
        ip_addr_view(&ns.ip(&["-j", "addr", "show"])),
        "captured:\n{host}"
    );

    // A link-local address is only meaningful with its interface index.
    let ll: IpAddr = "fe80::1".parse().unwrap();
    assert_eq!(
        host.owner_of(ll, Some(pub0)).map(|i| i.name()),
        Some("pub0")
    );
    assert!(host.owner_of(ll, Some(ops0)).is_none());

    // In `ip link` order, and a spec naming an interface without an address
    // is told exactly that.
    let indexes: Vec<u32> = host.interfaces().iter().map(|i| i.index()).collect();
    assert!(indexes.is_sorted(), "{indexes:?}");
    let err = listenspec::plan(&spec("ops = if:bare0\nops.x = tcp:1"), &host).unwrap_err();
    assert!(
        err.to_string().contains("because bare0 has no address"),
        "{err}"
    );
}

/// Capture against the kernel's own view, as `ip -j addr` prints it: an
/// interface without any address, one up without carrier, one down, and
/// IPv6 addresses tentative (DAD cannot finish without carrier), deprecated
/// (`preferred_lft 0`) and dadfailed (the peer namespace already holds it).
#[test]
#[cfg(target_os = "linux")]
fn capture_sees_link_states_and_address_flags_as_ip_does() {
    use std::time::{Duration, Instant};

    use listenspec::plan::ProblemKind;

    use crate::netns::two_netns_or_skip;

    let Some((ns, peer)) =
        two_netns_or_skip("capture_sees_link_states_and_address_flags_as_ip_does")
    else {
        return;
    };
    ns.veth("pub0", &peer, "pub1");
    ns.no_auto_link_local("pub0");
    peer.no_auto_link_local("pub1");
    ns.up("pub0");
    peer.up("pub1");
    ns.wait_running("pub0");
    // The peer holds 2001:db8:5::1 first (nodad), so when this namespace
    // adds it, DAD hears the peer defend it.
    peer.addr("pub1", "2001:db8:5::1/64");
    ns.addr_with("pub0", "2001:db8:5::1/64", &[]);
    ns.addr_with("pub0", "2001:db8:4::1/64", &["nodad", "preferred_lft", "0"]);
    // ops0 is up, its peer ops1 down: no carrier, so DAD of 2001:db8:6::1
    // never starts and it stays tentative for as long as the test runs.
    ns.quiet_veth_pair("ops0", "ops1");
    ns.up("ops0");
    ns.addr_with("ops0", "2001:db8:6::1/64", &[]);
    ns.addr("ops0", "198.51.100.1/24");

    // DAD sends its first probe after a random delay of up to a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ip_flags(&ns.ip(&["-j", "addr", "show"]))["pub0"]
        .1
        .get(&"2001:db8:5::1".parse::<IpAddr>().unwrap())
        .is_some_and(|f| f.contains(&"dadfailed"))
    {
        assert!(
            Instant::now() < deadline,
            "DAD never failed: {}",
            ns.ip(&["addr"])
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let spec = spec(
        "tent = 2001:db8:6::1 expose=public\ntent.a = tcp:1\n\
         dup = 2001:db8:5::1 expose=public\ndup.a = tcp:1\n\
         ops = if:ops0 expose=public\nops.a = tcp:2",
    );
    let host = ns.run(|| capture(&spec)).unwrap();
    let kernel = ip_flags(&ns.ip(&["-j", "addr", "show"]));

    // Every interface, with or without an address, and its link flags.
    let ours: BTreeMap<String, (bool, bool, bool)> = host
        .interfaces()
        .iter()
        .map(|i| {
            (
                i.name().to_owned(),
                (i.is_admin_up(), i.has_carrier(), i.is_loopback()),
            )
        })
        .collect();
    let theirs: BTreeMap<String, (bool, bool, bool)> = kernel
        .iter()
        .map(|(name, (link, _))| {
            let has = |f: &str| link.contains(&f);
            (name.clone(), (has("UP"), has("LOWER_UP"), has("LOOPBACK")))
        })
        .collect();
    assert_eq!(ours, theirs, "captured:\n{host}");
    assert_eq!(
        ours["ops0"],
        (true, false, false),
        "up without carrier:\n{host}"
    );
    assert_eq!(ours["ops1"], (false, false, false), "{host}");
    assert_eq!(ours["lo"], (true, true, true), "{host}");
    assert!(host.interface("ops1").unwrap().addrs().is_empty());

    // Every address's flags, as ip names them.
    for i in host.interfaces() {
        for a in i.addrs() {
            let flags: Vec<&str> = i.addr_flags(a.addr()).names().collect();
            let want: Vec<&str> = kernel[i.name()].1[&a.addr()]
                .iter()
                .copied()
                .filter(|f| listenspec::host::AddrFlags::from_name(f).is_some())
                .collect();
            assert_eq!(flags, want, "{} {a}:\n{host}", i.name());
        }
    }
    let flags = |iface: &str, ip: &str| {
        host.interface(iface)
            .unwrap()
            .addr_flags(ip.parse().unwrap())
    };
    assert!(flags("ops0", "2001:db8:6::1").is_tentative(), "{host}");
    assert!(flags("pub0", "2001:db8:5::1").is_dadfailed(), "{host}");
    assert!(flags("pub0", "2001:db8:4::1").is_deprecated(), "{host}");
    assert!(flags("ops0", "198.51.100.1").is_empty(), "{host}");

    // And the planner says what each means.
    let err = listenspec::plan(&spec, &host).unwrap_err();
    let kinds: Vec<String> = err
        .errors()
        .iter()
        .chain(err.warnings())
        .map(|p| crate::variant_name(p.kind()))
        .collect();
    // Without carrier, that is what tent is told first; realnet.rs plans a
    // tentative address on a running link.
    assert_eq!(kinds, ["NoCarrier", "DadFailed", "NoCarrier"], "{err}");
    assert!(
        err.errors().iter().any(
            |p| matches!(p.kind(), ProblemKind::NoCarrier { interface } if interface == "ops0")
        ),
        "{err}"
    );
}

/// An interface's link flags, and each address's flags, as `ip` names them.
#[cfg(target_os = "linux")]
type IpFlags = (Vec<&'static str>, BTreeMap<IpAddr, Vec<&'static str>>);

/// `ip -j addr show` as name -> (link flags, address -> the flags ip
/// prints as `"tentative": true` and the like).
#[cfg(target_os = "linux")]
fn ip_flags(json: &str) -> BTreeMap<String, IpFlags> {
    const LINK: [&str; 3] = ["UP", "LOWER_UP", "LOOPBACK"];
    const ADDR: [&str; 6] = [
        "tentative",
        "dadfailed",
        "deprecated",
        "optimistic",
        "nodad",
        "home",
    ];
    let links: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut view = BTreeMap::new();
    for link in links.as_array().unwrap() {
        let flags = link["flags"].as_array().unwrap();
        let link_flags = LINK
            .into_iter()
            .filter(|f| flags.iter().any(|g| g == f))
            .collect();
        let addrs = link["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let ip: IpAddr = a["local"].as_str().unwrap().parse().unwrap();
                let set = ADDR.into_iter().filter(|f| a[*f] == true).collect();
                (ip, set)
            })
            .collect();
        view.insert(
            link["ifname"].as_str().unwrap().to_owned(),
            (link_flags, addrs),
        );
    }
    view
}

/// Kernel notifications: nothing happening times out, an address added
/// and a link brought up each wake the waiter once, and what queued is
/// drained.
#[test]
#[cfg(target_os = "linux")]
fn host_changes_wake_on_addresses_and_links_and_time_out_otherwise() {
    use std::time::{Duration, Instant};

    use listenspec::capture::HostChanges;

    use crate::netns::netns_or_skip;

    let Some(ns) = netns_or_skip("host_changes_wake_on_addresses_and_links_and_time_out_otherwise")
    else {
        return;
    };
    ns.quiet_veth_pair("ch0", "ch1");
    ns.run(|| {
        let mut changes = HostChanges::subscribe()
            .unwrap()
            .expect("Linux has notifications");
        let start = Instant::now();
        assert!(!changes.wait(Duration::from_millis(200)).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(200));

        ns.addr("ch0", "198.51.100.9/24");
        assert!(
            changes.wait(Duration::from_secs(5)).unwrap(),
            "no wake on an address"
        );
        assert!(
            !changes.wait(Duration::from_millis(100)).unwrap(),
            "not drained"
        );

        ns.up("ch1");
        assert!(
            changes.wait(Duration::from_secs(5)).unwrap(),
            "no wake on a link"
        );
        // A zero timeout only looks.
        let start = Instant::now();
        while changes.wait(Duration::ZERO).unwrap() {
            // ch1 coming up brings more link messages as carrier settles.
            assert!(start.elapsed() < Duration::from_secs(5));
        }
    });
}

/// More notifications than the socket can queue (`ENOBUFS`): still a
/// change, never an error, and the next wait is for later ones.
#[test]
#[cfg(target_os = "linux")]
fn host_changes_that_overflow_the_queue_still_count_as_a_change() {
    use std::time::Duration;

    use listenspec::capture::HostChanges;

    use crate::netns::netns_or_skip;

    let Some(ns) = netns_or_skip("host_changes_that_overflow_the_queue_still_count_as_a_change")
    else {
        return;
    };
    ns.quiet_veth_pair("ov0", "ov1");
    // IPv4, because the kernel announces an IPv4 address while it adds it,
    // so every announcement is sent by the time `ip` exits. It announces a
    // `nodad` IPv6 one later, from its address-detection work, and under
    // load one could arrive after the drain and look like a missed change.
    // The default receive buffer holds about 256 announcements; this is
    // twice that.
    let batch = std::env::temp_dir().join(format!("listenspec-overflow-{}", std::process::id()));
    let commands: String = ["198.51.100", "203.0.113"]
        .iter()
        .flat_map(|net| (1..=254).map(move |n| format!("addr add {net}.{n}/32 dev ov0\n")))
        .collect();
    std::fs::write(&batch, commands).unwrap();
    ns.run(|| {
        let mut changes = HostChanges::subscribe()
            .unwrap()
            .expect("Linux has notifications");
        // Unread until every one is in.
        ns.exec(&["ip", "-batch", batch.to_str().unwrap()]);
        assert!(changes.wait(Duration::from_secs(5)).unwrap());
        assert!(
            !changes.wait(Duration::from_millis(100)).unwrap(),
            "not drained"
        );
        ns.addr("ov1", "198.51.100.1/24");
        assert!(
            changes.wait(Duration::from_secs(5)).unwrap(),
            "no wake after an overflow"
        );
    });
    let _ = std::fs::remove_file(&batch);
}

/// A signal landing in the wait does not end it: it waits out its time.
#[test]
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // a signal handler, and pthread_kill to deliver it
fn a_signal_does_not_cut_a_wait_for_host_changes_short() {
    use std::time::{Duration, Instant};

    use listenspec::capture::HostChanges;

    use crate::netns::netns_or_skip;

    extern "C" fn ignore(_: libc::c_int) {}

    let Some(ns) = netns_or_skip("a_signal_does_not_cut_a_wait_for_host_changes_short") else {
        return;
    };
    // SAFETY: a zeroed sigaction is a valid one (no flags, an empty mask);
    // the handler does nothing, so it is async-signal-safe. Without
    // SA_RESTART, poll(2) fails with EINTR when the signal lands in it.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    ns.run(|| {
        let mut changes = HostChanges::subscribe()
            .unwrap()
            .expect("Linux has notifications");
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                // SAFETY: `me` is the thread below, alive until the scope
                // ends, and SIGUSR1 has a handler.
                unsafe { libc::pthread_kill(me, libc::SIGUSR1) };
            });
            let start = Instant::now();
            let changed = changes.wait(Duration::from_millis(400));
            assert!(matches!(changed, Ok(false)), "{changed:?}");
            assert!(start.elapsed() >= Duration::from_millis(400));
        });
    });
}

#[cfg(target_os = "linux")]
fn nets(list: &[&str]) -> BTreeSet<IpNet> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[cfg(target_os = "linux")]
fn snapshot(host: &Host) -> BTreeMap<&str, (u32, bool, BTreeSet<IpNet>)> {
    host.interfaces()
        .iter()
        .map(|i| {
            let addrs: BTreeSet<IpNet> = i.addrs().iter().copied().collect();
            assert_eq!(addrs.len(), i.addrs().len(), "duplicate address in {i:?}");
            (i.name(), (i.index(), i.is_up(), addrs))
        })
        .collect()
}

/// `ip -j addr show` as name -> (index, addresses).
#[cfg(target_os = "linux")]
fn ip_addr_view(json: &str) -> BTreeMap<String, (u32, BTreeSet<IpNet>)> {
    let links: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut view = BTreeMap::new();
    for link in links.as_array().unwrap() {
        let addrs: BTreeSet<IpNet> = link["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let ip: IpAddr = a["local"].as_str().unwrap().parse().unwrap();
                let prefix = u8::try_from(a["prefixlen"].as_u64().unwrap()).unwrap();
                IpNet::new(ip, prefix).unwrap()
            })
            .collect();
        let index = u32::try_from(link["ifindex"].as_u64().unwrap()).unwrap();
        view.insert(link["ifname"].as_str().unwrap().to_owned(), (index, addrs));
    }
    view
}

#[test]
fn dns_options_out_of_bounds_are_refused_before_any_query() {
    use listenspec::CaptureError;
    use listenspec::capture::CaptureOptionsError as Bad;

    let server = DnsServer::start([("quiet.test", Reply::Silent)]);
    let port_zero = "127.0.0.1:0".parse().unwrap();
    let cases = [
        (opts(&server).attempts(0), Bad::Attempts(0)),
        (opts(&server).attempts(11), Bad::Attempts(11)),
        (
            opts(&server).attempts(usize::MAX),
            Bad::Attempts(usize::MAX),
        ),
        (
            opts(&server).timeout(Duration::ZERO),
            Bad::Timeout(Duration::ZERO),
        ),
        (
            opts(&server).timeout(Duration::from_secs(61)),
            Bad::Timeout(Duration::from_secs(61)),
        ),
        (
            opts(&server).timeout(Duration::MAX),
            Bad::Timeout(Duration::MAX),
        ),
        (opts(&server).nameservers([]), Bad::NoNameservers),
        (
            opts(&server).nameservers([port_zero]),
            Bad::PortZero(port_zero),
        ),
    ];
    for (options, reason) in cases {
        match capture_with(&spec("edge = dns:quiet.test\nedge.x = tcp:1"), &options) {
            Err(CaptureError::Options(r)) => assert_eq!(r, reason, "{options:?}"),
            other => panic!("{options:?}: {other:?}"),
        }
    }
    assert_eq!(server.queries(), 0);
    // The bounds themselves are fine.
    let edges = [
        opts(&server).attempts(CaptureOptions::MAX_ATTEMPTS),
        opts(&server).timeout(CaptureOptions::MAX_TIMEOUT),
        opts(&server).timeout(Duration::from_nanos(1)),
    ];
    for options in edges {
        assert_eq!(options.validate(), Ok(()), "{options:?}");
    }
    let message = capture_with(
        &spec("edge = dns:quiet.test\nedge.x = tcp:1"),
        &opts(&server).nameservers([]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("the list of nameservers is empty"),
        "{message}"
    );
}

#[test]
fn a_spec_without_dns_names_asks_no_server() {
    let server = DnsServer::start([]);
    let host = capture_with(
        &spec("x = 203.0.113.0/24, loopback\nx.a = tcp:1"),
        &opts(&server),
    )
    .unwrap();
    assert!(host.dns_answers().is_empty());
    assert!(host.interface("lo").is_some());
    assert_eq!(server.queries(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn no_dns_names_inside_a_runtime() {
    let host = capture(&spec("local = loopback\nlocal.x = tcp:1")).unwrap();
    assert!(host.dns_answers().is_empty());
}

/// Lookups through hickory, against the test server: the `dns-hickory`
/// feature. The system resolver's are in `system_dns.rs`.
#[cfg(feature = "dns-hickory")]
mod dns {
    use std::net::IpAddr;
    use std::time::Duration;

    use listenspec::Host;
    use listenspec::capture::{CaptureOptions, capture_async, capture_with};
    use listenspec::host::DnsAnswer;

    use super::{opts, spec};
    use crate::dns_server::{DnsServer, Reply};

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
    #[test]
    fn dns_answers_are_sorted_ipv4_first_and_deduplicated() {
        let server = DnsServer::start([
            (
                "svc.test",
                Reply::Addrs(ips(&[
                    "2001:db8::2",
                    "203.0.113.9",
                    "2001:db8::1",
                    "203.0.113.5",
                    "203.0.113.9",
                    "2001:db8::2",
                ])),
            ),
            ("v4.test", Reply::Addrs(ips(&["198.51.100.7"]))),
        ]);
        let host = capture_with(
            // svc.test is named twice and must be asked for once.
            &spec("edge = dns:svc.test, dns:v4.test\nedge.x = tcp:1\nalt = dns:svc.test"),
            &opts(&server),
        )
        .unwrap();
        assert_eq!(
            answer(&host, "svc.test"),
            &DnsAnswer::Addrs(ips(&[
                "203.0.113.5",
                "203.0.113.9",
                "2001:db8::1",
                "2001:db8::2"
            ]))
        );
        // No AAAA records is not a failure when A records exist.
        assert_eq!(
            answer(&host, "v4.test"),
            &DnsAnswer::Addrs(ips(&["198.51.100.7"]))
        );
        assert_eq!(host.dns_answers().len(), 2);
    }

    /// Each failure in an operator's words, with the response code as
    /// `dig` prints it.
    #[test]
    fn nxdomain_servfail_and_no_records_are_recorded_not_raised() {
        let server = DnsServer::start([
            ("broken.test", Reply::ServFail),
            ("empty.test", Reply::Addrs(Vec::new())),
        ]);
        let host = capture_with(
            &spec("edge = dns:gone.test, dns:broken.test, dns:empty.test\nedge.x = tcp:1"),
            &opts(&server),
        )
        .unwrap();
        assert_eq!(failure(&host, "gone.test"), "no such name (NXDOMAIN)");
        let broken = failure(&host, "broken.test");
        assert!(
            broken.starts_with("the nameserver answered SERVFAIL: "),
            "{broken}"
        );
        let empty = failure(&host, "empty.test");
        assert!(
            empty.starts_with("no A or AAAA records (NOERROR: "),
            "{empty}"
        );
    }

    #[test]
    fn a_silent_server_ends_in_a_recorded_timeout_after_each_attempt() {
        for attempts in [1, 2] {
            let server = DnsServer::start([("quiet.test", Reply::Silent)]);
            let host = capture_with(
                &spec("edge = dns:quiet.test\nedge.x = tcp:1"),
                &opts(&server).attempts(attempts),
            )
            .unwrap();
            let error = failure(&host, "quiet.test");
            assert!(error.contains("timed out"), "{error}");
            // `attempts` counts queries sent, not retries (hickory's meaning):
            // one A and one AAAA query per attempt.
            assert_eq!(server.queries(), 2 * attempts, "attempts = {attempts}");
        }
    }

    /// hickory alone resends a UDP query every 333 ms within one attempt, so a
    /// timeout above 666 ms would show three sends per attempt if it were on.
    const RESEND_SHOWS: Duration = Duration::from_millis(700);

    #[test]
    fn a_silent_name_costs_one_query_of_each_type_per_attempt_and_nameserver() {
        let one = DnsServer::start([("quiet.test", Reply::Silent)]);
        let pair = [
            DnsServer::start([("quiet.test", Reply::Silent)]),
            DnsServer::start([("quiet.test", Reply::Silent)]),
        ];
        let quiet = spec("edge = dns:quiet.test\nedge.x = tcp:1");
        let with = |servers: &[&DnsServer]| {
            CaptureOptions::default()
                .nameservers(servers.iter().map(|s| s.addr()))
                .timeout(RESEND_SHOWS)
                .attempts(2)
        };
        // Both captures at once, so the test waits one capture's time.
        std::thread::scope(|s| {
            let single = s.spawn(|| capture_with(&quiet, &with(&[&one])).unwrap());
            let double = s.spawn(|| capture_with(&quiet, &with(&[&pair[0], &pair[1]])).unwrap());
            for host in [single.join().unwrap(), double.join().unwrap()] {
                assert!(failure(&host, "quiet.test").contains("timed out"));
            }
        });
        // A and AAAA, once per attempt, to each nameserver asked: the count the
        // capture module documents.
        assert_eq!(one.queries(), 2 * 2, "one nameserver");
        assert_eq!(pair[0].queries(), 2 * 2, "first of two nameservers");
        assert_eq!(pair[1].queries(), 2 * 2, "second of two nameservers");
    }
    #[test]
    fn a_truncated_udp_answer_is_retried_over_tcp() {
        let server = DnsServer::start([("big.test", Reply::TcpOnly(ips(&["203.0.113.20"])))]);
        let host =
            capture_with(&spec("edge = dns:big.test\nedge.x = tcp:1"), &opts(&server)).unwrap();
        assert_eq!(
            answer(&host, "big.test"),
            &DnsAnswer::Addrs(ips(&["203.0.113.20"]))
        );
    }

    #[test]
    fn localhost_resolves_to_both_loopbacks_without_a_server() {
        // hickory answers localhost itself (RFC 6761), so a silent server is
        // never asked, and ::1 comes back even where /etc/hosts lists only
        // 127.0.0.1.
        let server = DnsServer::start([]);
        let host = capture_with(
            &spec("local = dns:localhost\nlocal.x = tcp:1"),
            &opts(&server),
        )
        .unwrap();
        assert_eq!(
            answer(&host, "localhost"),
            &DnsAnswer::Addrs(ips(&["127.0.0.1", "::1"]))
        );
        assert_eq!(server.queries(), 0);
    }
    fn served_svc() -> DnsServer {
        DnsServer::start([(
            "svc.test",
            Reply::Addrs(ips(&["2001:db8::1", "203.0.113.5"])),
        )])
    }

    fn check_svc(host: &Host) {
        assert_eq!(
            answer(host, "svc.test"),
            &DnsAnswer::Addrs(ips(&["203.0.113.5", "2001:db8::1"]))
        );
    }

    const SVC_SPEC: &str = "edge = dns:svc.test\nedge.x = tcp:1";

    #[tokio::test(flavor = "current_thread")]
    async fn blocking_capture_inside_a_current_thread_runtime() {
        let server = served_svc();
        check_svc(&capture_with(&spec(SVC_SPEC), &opts(&server)).unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_capture_inside_a_multi_thread_runtime() {
        let server = served_svc();
        check_svc(&capture_with(&spec(SVC_SPEC), &opts(&server)).unwrap());
    }

    #[test]
    fn blocking_capture_inside_block_on() {
        let server = served_svc();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let host = rt.block_on(async { capture_with(&spec(SVC_SPEC), &opts(&server)) });
        check_svc(&host.unwrap());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_capture_on_the_callers_runtime() {
        let server = served_svc();
        let (spec, opts) = (spec(SVC_SPEC), opts(&server));
        let capturing = capture_async(&spec, &opts);
        // Callers will want to tokio::spawn it.
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&capturing);
        check_svc(&capturing.await.unwrap());
    }
}

/// Without the `dns` feature a spec with `dns:` names still parses and
/// plans against a snapshot that has their answers; only capture refuses it.
#[cfg(not(feature = "dns"))]
#[test]
fn without_the_dns_feature_capture_refuses_dns_names_and_says_which_feature() {
    let text = "edge = dns:svc.test, loopback\nedge.x = tcp:1";
    let parsed = spec(text);
    assert_eq!(spec(&parsed.to_string()), parsed);
    let err = capture(&parsed).unwrap_err();
    assert!(
        matches!(&err, listenspec::CaptureError::DnsDisabled { names } if names == &["svc.test"]),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("dns:svc.test") && text.contains("`dns` feature"),
        "{text}"
    );
    let recorded = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .dns("svc.test", ["127.0.0.1"])
        .build()
        .unwrap();
    let plan = parsed.plan(&recorded).unwrap();
    assert_eq!(
        plan.endpoint("edge", "x").unwrap().socket_addrs(),
        ["127.0.0.1:1".parse().unwrap()]
    );
}

/// Linux lets an interface's name hold an escape character (anything but
/// `/`, `:`, whitespace and NUL). Printed as it is, one named to rewrite
/// the terminal would: capture refuses it, naming it escaped, and the
/// doctor's output holds no control byte.
#[test]
#[cfg(target_os = "linux")]
fn an_interface_named_with_an_escape_sequence_is_refused_escaped() {
    let Some(ns) = crate::netns::netns_or_skip(
        "an_interface_named_with_an_escape_sequence_is_refused_escaped",
    ) else {
        return;
    };
    let evil = "e\u{1b}[2J\u{7}";
    ns.ip(&[
        "link", "add", "name", evil, "type", "veth", "peer", "name", "plain0",
    ]);
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), env!("CARGO_BIN_EXE_listenspec")])
        .args([
            "doctor",
            "--listen",
            "x = loopback",
            "--listen",
            "x.a = tcp:80",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(r#"cannot read this host: interface name "e\u{1b}[2J\u{7}" holds a control or invisible character, which could forge lines of the output it is printed in or pass for another name; rename it"#),
        "{text}"
    );
    assert!(
        !text.contains(|c: char| c.is_control() && c != '\n'),
        "{text:?}"
    );
}
