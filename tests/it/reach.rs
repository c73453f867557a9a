//! Checking that advertised addresses reach this process, on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
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

/// A proxy in front of an endpoint, as a load balancer would be: it takes
/// one connection, sends `first` upstream and then what the client sent,
/// and returns what the client sent and what upstream answered.
fn proxy(
    front: TcpListener,
    upstream: std::net::SocketAddr,
    first: Vec<u8>,
) -> std::thread::JoinHandle<(String, Vec<u8>)> {
    std::thread::spawn(move || {
        let (mut client, _) = front.accept().unwrap();
        let mut request = [0; 512];
        let n = client.read(&mut request).unwrap();
        let mut up = TcpStream::connect(upstream).unwrap();
        // One write, so the endpoint reads it in whole chunks.
        up.write_all(&[&first[..], &request[..n]].concat()).unwrap();
        up.set_read_timeout(Some(WAIT)).unwrap();
        let mut answer = Vec::new();
        let _ = up.read_to_end(&mut answer);
        (String::from_utf8_lossy(&request[..n]).into_owned(), answer)
    })
}

/// Through a proxy, an HTTP endpoint's probe gets a well-formed answer (a
/// proxy waiting for one would otherwise log an error or retry); a raw TCP
/// endpoint's gets nothing, as its protocol is not known.
#[test]
fn through_a_proxy_an_http_probe_is_answered_and_a_raw_one_is_not() {
    for (protocol, answer) in [
        ("http", &b"HTTP/1.0 204 No Content\r\n\r\n"[..]),
        ("tcp", b""),
    ] {
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = front.local_addr().unwrap().port();
        let bound = bind(&format!(
            "local = 127.0.0.1; local.e = {protocol}:0 advertise 127.0.0.1:{port}"
        ));
        let ep = bound.endpoint("local", "e").unwrap();
        let relay = proxy(front, ep.local_addrs()[0], Vec::new());
        let reach = bound.check_advertised(WAIT);
        assert_eq!(reach.len(), 1);
        assert!(reach[0].reached(), "{}", reach[0]);
        assert_eq!(reach[0].url(), ep.advertised());
        let (_, got) = relay.join().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(answer)
        );
    }
}

/// The probe reads at most 4 KiB of a connection it accepts: a peer that
/// talks first, before forwarding the probe, is not read to its end.
#[test]
fn a_peer_that_sends_4_kib_before_the_probe_is_not_read_further() {
    for (junk, reached) in [(4096 - 512, true), (4096, false)] {
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = front.local_addr().unwrap().port();
        let bound = bind(&format!(
            "local = 127.0.0.1; local.raw = tcp:0 advertise 127.0.0.1:{port}"
        ));
        let upstream = bound.endpoint("local", "raw").unwrap().local_addrs()[0];
        let relay = proxy(front, upstream, vec![b'x'; junk]);
        let reach = bound.check_advertised(Duration::from_millis(500));
        assert_eq!(
            reach[0].reached(),
            reached,
            "{junk} bytes first: {}",
            reach[0]
        );
        drop(bound);
        let (seen, _) = relay.join().unwrap();
        assert!(seen.starts_with("listenspec-probe "), "{seen}");
    }
}

/// Each check sends a nonce of its own, so a connection left over from an
/// earlier check (queued at a proxy, replayed) never counts for a later one.
#[test]
fn each_check_sends_a_fresh_nonce() {
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = elsewhere.local_addr().unwrap().port();
    let bound = bind(&format!(
        "local = 127.0.0.1; local.raw = tcp:0 advertise 127.0.0.1:{port}"
    ));
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let reach = bound.check_advertised(Duration::from_millis(100));
        assert!(
            matches!(reach[0].outcome(), Outcome::Elsewhere),
            "{}",
            reach[0]
        );
        let (mut conn, _) = elsewhere.accept().unwrap();
        let mut line = String::new();
        conn.read_to_string(&mut line).unwrap();
        let nonce = line
            .strip_prefix("listenspec-probe ")
            .and_then(|n| n.strip_suffix("\r\n"))
            .unwrap_or_else(|| panic!("{line:?}"))
            .to_owned();
        assert!(
            nonce.len() == 16 && nonce.bytes().all(|b| b.is_ascii_hexdigit()),
            "{nonce}"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
}

/// An IPv6 literal is probed as it is, never handed to a resolver (whose
/// answer for `[::1]` would be an error).
#[test]
fn an_ipv6_literal_is_probed_without_a_lookup() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .build()
        .unwrap();
    let spec: ListenSpec = "local = ::1; local.raw = tcp:0".parse().unwrap();
    let bound = listenspec::plan(&spec, &host)
        .unwrap()
        .bind_inherited(Vec::new())
        .unwrap();
    let reach = bound.check_advertised(WAIT);
    assert_eq!(reach.len(), 1);
    assert!(reach[0].reached(), "{}", reach[0]);
    assert_eq!(
        reach[0].target(),
        Some(bound.endpoints()[0].local_addrs()[0])
    );
}

/// A name that resolves to no address is unresolved, and says so; it is
/// not silently left out of the check.
#[cfg(feature = "dns")]
#[test]
fn an_advertised_name_without_addresses_is_unresolved() {
    let server = DnsServer::start([("empty.test", Reply::Addrs(Vec::new()))]);
    let bound = bind(
        "local = 127.0.0.1
         local.raw = tcp:0 advertise empty.test:9",
    );
    let dns = CaptureOptions::default().nameservers([server.addr()]);
    let reach = bound.check_advertised_with(WAIT, &dns);
    assert_eq!(reach.len(), 1);
    assert!(
        matches!(reach[0].outcome(), Outcome::Unresolved(_)),
        "{}",
        reach[0]
    );
}
