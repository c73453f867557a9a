//! Checking that advertised addresses reach this process, on loopback.

use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use listenspec::bind::Listener;
use listenspec::probe::Outcome;
use listenspec::{Bound, Host, ListenSpec};
#[cfg(feature = "dns")]
use {
    crate::dns_server::{DnsServer, Reply},
    listenspec::capture::CaptureOptions,
    std::time::Instant,
};

fn bind(spec: &str) -> Bound {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .build()
        .unwrap();
    let spec: ListenSpec = spec.parse().unwrap();
    listenspec::plan(&spec, &host)
        .unwrap()
        .bind_inherited(Vec::new())
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(5);

#[test]
#[allow(unsafe_code)] // descriptor flags, which the crate has no API to read
fn a_derived_address_reaches_every_protocol() {
    let bound = bind(
        "local = 127.0.0.1
         local.web = http:0
         local.raw = tcp:0
         local.snmp = udp:0",
    );
    let reach = bound.check_advertised(WAIT);
    assert_eq!(reach.len(), 3);
    for r in &reach {
        assert!(r.reached(), "{r}");
        let ep = r.endpoint();
        let local = bound
            .endpoint(ep.network().as_str(), ep.endpoint().as_str())
            .unwrap()
            .local_addrs()[0];
        assert!(
            matches!(r.outcome(), Outcome::Reached { local: l } if *l == local),
            "{r}"
        );
        assert_eq!(r.target(), Some(local));
    }
    // The sockets are blocking again afterwards.
    for ep in bound.endpoints() {
        let fd = match ep.sockets()[0].listener() {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Udp(u) => u.as_raw_fd(),
            other => panic!("not an IP socket: {other:?}"),
        };
        // SAFETY: F_GETFL only reads the descriptor's flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "{}", ep.qualified());
    }
}

#[test]
fn another_process_at_the_advertised_address_is_found_out() {
    let impostor = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = impostor.local_addr().unwrap().port();
    let bound = bind(&format!(
        "local = 127.0.0.1 advertise 127.0.0.1:{port}
         local.web = http:0"
    ));
    let reach = bound.check_advertised(Duration::from_millis(300));
    assert!(
        matches!(reach[0].outcome(), Outcome::Elsewhere),
        "{}",
        reach[0]
    );
    assert!(reach[0].to_string().contains("but not this endpoint"));
}

#[test]
fn nothing_at_the_advertised_address_is_a_failure() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bound = bind(&format!(
        "local = 127.0.0.1 advertise 127.0.0.1:{closed}; local.raw = tcp:0"
    ));
    let reach = bound.check_advertised(WAIT);
    let Outcome::Failed(e) = reach[0].outcome() else {
        panic!("{}", reach[0])
    };
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_udp_probe_that_lands_elsewhere_is_lost() {
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port();
    let bound = bind(&format!(
        "local = 127.0.0.1 advertise 127.0.0.1:{port}; local.snmp = udp:0"
    ));
    let reach = bound.check_advertised(Duration::from_millis(300));
    assert!(matches!(reach[0].outcome(), Outcome::Lost), "{}", reach[0]);
    let mut buf = [0; 64];
    let (n, _) = other.recv_from(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("listenspec-probe "));
}

#[cfg(feature = "dns")]
#[test]
fn a_black_hole_resolver_cannot_hold_the_check_past_its_timeout() {
    let black_hole = DnsServer::start([("quiet.test", Reply::Silent)]);
    let bound = bind(
        "local = 127.0.0.1 advertise quiet.test:9
         local.raw = tcp:0",
    );
    // Ten attempts of the whole timeout each would take 3 s if the lookup
    // went unbounded.
    let timeout = Duration::from_millis(300);
    let dns = CaptureOptions::default()
        .nameservers([black_hole.addr()])
        .attempts(10);
    let started = Instant::now();
    let reach = bound.check_advertised_with(timeout, &dns);
    let took = started.elapsed();
    // A promise, not a speed test: the check returns by its timeout, with
    // slack for a loaded machine.
    assert!(
        took < timeout + Duration::from_millis(1200),
        "took {took:?}"
    );
    let Outcome::Unresolved(why) = reach[0].outcome() else {
        panic!("{}", reach[0])
    };
    assert!(why.contains("no answer within 300ms"), "{why}");
    assert!(
        black_hole.queries() > 0,
        "the lookup never reached the server"
    );
}

#[cfg(feature = "dns")]
#[test]
fn an_advertised_name_is_probed_at_every_address_it_resolves_to() {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let server = DnsServer::start([("svc.test", Reply::Addrs(vec!["127.0.0.1".parse().unwrap()]))]);
    let bound = bind(&format!(
        "local = 127.0.0.1
         local.raw = tcp:{port} advertise svc.test:{port}"
    ));
    let dns = CaptureOptions::default().nameservers([server.addr()]);
    let reach = bound.check_advertised_with(WAIT, &dns);
    assert_eq!(reach.len(), 1);
    assert!(reach[0].reached(), "{}", reach[0]);
    assert_eq!(reach[0].target(), Some(([127, 0, 0, 1], port).into()));
}

/// Without a resolver a name is reported unresolved, naming the feature,
/// and an address beside it is still probed.
#[cfg(not(feature = "dns"))]
#[test]
fn without_the_dns_feature_an_advertised_name_is_unresolved_and_says_why() {
    let bound = bind(
        "local = 127.0.0.1
         local.named = tcp:0 advertise svc.test:9
         local.literal = tcp:0",
    );
    let reach = bound.check_advertised(WAIT);
    let named = reach
        .iter()
        .find(|r| r.endpoint() == "local.named")
        .unwrap();
    let Outcome::Unresolved(why) = named.outcome() else {
        panic!("{named}")
    };
    assert!(why.contains("`dns` feature"), "{why}");
    let literal = reach
        .iter()
        .find(|r| r.endpoint() == "local.literal")
        .unwrap();
    assert!(literal.reached(), "{literal}");
}
