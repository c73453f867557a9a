//! Checking that advertised addresses reach this process, on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::time::Duration;

#[cfg(unix)]
use listenspec::bind::Listener;
use listenspec::probe::{Outcome, Reach};
use listenspec::{Bound, Host, ListenSpec};
#[cfg(feature = "dns-hickory")]
use {
    crate::dns_server::{DnsServer, Reply},
    listenspec::capture::CaptureOptions,
    std::time::Instant,
};

fn bind(spec: &str) -> Bound {
    let host = crate::loopback_host();
    let spec: ListenSpec = spec.parse().unwrap();
    listenspec::plan(&spec, &host)
        .unwrap()
        .bind_inherited(Vec::new())
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn a_derived_address_reaches_every_protocol() {
    let bound = bind(
        "local = 127.0.0.1
         local.web = http:0
         local.raw = tcp:0
         local.snmp = udp:0",
    );
    let reach = bound.check_advertised(WAIT);
    assert_eq!(reach.len(), 3);
    // A timeout no `Instant` holds is no panic: the answers end the check.
    let unbounded = bound.check_advertised(Duration::MAX);
    assert!(unbounded.iter().all(Reach::reached), "{unbounded:?}");
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
    // The sockets are blocking again afterwards (a Windows socket has no
    // flags to read that from).
    #[cfg(unix)]
    #[allow(unsafe_code)] // descriptor flags, which the crate has no API to read
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

#[cfg(feature = "dns-hickory")]
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

#[cfg(feature = "dns-hickory")]
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
/// passes upstream's answer back to the client, and returns what the client
/// sent and what upstream answered.
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
        // Passed back on the client's connection, as a proxy does.
        let _ = client.write_all(&answer);
        (String::from_utf8_lossy(&request[..n]).into_owned(), answer)
    })
}

/// Through a proxy, the probe gets its answer on its own connection: a
/// well-formed HTTP response for an HTTP endpoint (a proxy waiting for one
/// would otherwise log an error or retry), a bare line for a raw TCP one.
#[test]
fn through_a_proxy_the_probe_is_answered_in_its_protocol() {
    for (protocol, head) in [
        ("http", "HTTP/1.0 200 OK\r\n"),
        ("tcp", "listenspec-answer "),
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
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with(head), "{got}");
        assert!(got.contains("listenspec-answer "), "{got}");
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
#[cfg(feature = "dns-hickory")]
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

/// A name answering a wildcard or another address of 0.0.0.0/8 reaches no
/// server: a connection to 0.0.0.0 goes to the connecting host, so from
/// here the probe would arrive and pass, and from anywhere else reach
/// the client itself. It is reported, not probed.
#[cfg(feature = "dns-hickory")]
#[test]
fn an_advertised_name_answering_a_wildcard_reaches_no_server() {
    for answer in ["0.0.0.0", "::", "::ffff:0.0.0.0", "0.0.0.7"] {
        let server = DnsServer::start([("zero.test", Reply::Addrs(vec![answer.parse().unwrap()]))]);
        let bound = bind(
            "local = 127.0.0.1
             local.raw = tcp:0 advertise zero.test:9",
        );
        let dns = CaptureOptions::default().nameservers([server.addr()]);
        let reach = bound.check_advertised_with(WAIT, &dns);
        assert_eq!(reach.len(), 1);
        assert!(
            matches!(reach[0].outcome(), Outcome::NoServer),
            "{answer}: {}",
            reach[0]
        );
        assert!(!reach[0].reached());
        assert!(
            reach[0].to_string().contains(
                "the name answers an address that is no server's (a wildcard, or 0.0.0.0/8)"
            ),
            "{}",
            reach[0]
        );
    }
}

/// A client of the endpoint that sends a byte every 200 ms while the check
/// runs cannot hold it past its timeout: every read is within the one
/// deadline. (Each read used to wait up to the time left, 4096 times.)
#[test]
fn a_client_dribbling_bytes_cannot_hold_the_check_past_its_timeout() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;
    // Advertised elsewhere, so the probe never arrives and the check runs
    // to its deadline.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = elsewhere.local_addr().unwrap().port();
    let bound = bind(&format!(
        "local = 127.0.0.1; local.raw = tcp:0 advertise 127.0.0.1:{port}"
    ));
    let endpoint = bound.endpoint("local", "raw").unwrap().local_addrs()[0];
    let stop = Arc::new(AtomicBool::new(false));
    let dribbler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut conn = TcpStream::connect(endpoint).unwrap();
            // At most 30 s, so a check that waits for it still ends.
            for _ in 0..150 {
                if stop.load(Ordering::Relaxed) || conn.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let reach = bound.check_advertised(timeout);
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    dribbler.join().unwrap();
    // A promise, not a speed test: generous slack for a loaded machine.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        matches!(reach[0].outcome(), Outcome::Elsewhere),
        "{}",
        reach[0]
    );
}

/// A relay at the advertised address that reads the probe and sends it to
/// the endpoint on a connection of its own, never passing the answer back:
/// the nonce arrives, but clients of that address are not served by this
/// process, so the check does not count it reached. A relay that forwards
/// the connection both ways does reach it.
#[test]
fn a_relay_that_resends_the_probe_is_not_reached_and_one_that_forwards_is() {
    for forwards in [false, true] {
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = front.local_addr().unwrap().port();
        let bound = bind(&format!(
            "local = 127.0.0.1; local.raw = tcp:0 advertise 127.0.0.1:{port}"
        ));
        let upstream = bound.endpoint("local", "raw").unwrap().local_addrs()[0];
        let relay = std::thread::spawn(move || {
            let (client, _) = front.accept().unwrap();
            let up = TcpStream::connect(upstream).unwrap();
            if forwards {
                copy_both_ways(client, up);
            } else {
                resend(client, up);
            }
        });
        let reach = bound.check_advertised(Duration::from_secs(1));
        drop(bound);
        relay.join().unwrap();
        assert_eq!(reach[0].reached(), forwards, "{}", reach[0]);
        if !forwards {
            assert!(
                matches!(reach[0].outcome(), Outcome::Unanswered),
                "{}",
                reach[0]
            );
            assert!(
                reach[0].to_string().contains("answer never came back"),
                "{}",
                reach[0]
            );
        }
    }
}

/// Reads the probe's line from `client` and sends it on `up`, a new
/// connection; reads and drops what comes back, and leaves the client
/// unanswered until the endpoint is gone.
fn resend(mut client: TcpStream, mut up: TcpStream) {
    let mut line = Vec::new();
    let mut byte = [0; 1];
    while !line.ends_with(b"\r\n") && client.read(&mut byte).unwrap() == 1 {
        line.push(byte[0]);
    }
    up.write_all(&line).unwrap();
    up.set_read_timeout(Some(WAIT)).unwrap();
    let _ = std::io::copy(&mut up, &mut std::io::sink());
    drop(client);
}

/// A TCP forwarder: bytes copied both ways on the same pair of
/// connections until both ends close.
fn copy_both_ways(client: TcpStream, up: TcpStream) {
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), up.try_clone().unwrap());
    let there = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (up, client);
    u_read.set_read_timeout(Some(WAIT)).unwrap();
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(std::net::Shutdown::Both);
    there.join().unwrap();
}

/// The UDP check is a round trip too: the endpoint answers the address the
/// probe came from. A relay that re-sends the datagram from a socket of its
/// own, and drops the answer, is not reached.
#[test]
fn a_udp_relay_that_resends_the_probe_is_not_reached() {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = front.local_addr().unwrap().port();
    let bound = bind(&format!(
        "local = 127.0.0.1; local.snmp = udp:0 advertise 127.0.0.1:{port}"
    ));
    let upstream = bound.endpoint("local", "snmp").unwrap().local_addrs()[0];
    let relay = std::thread::spawn(move || {
        let mut buf = [0; 512];
        front.set_read_timeout(Some(WAIT)).unwrap();
        let (n, _) = front.recv_from(&mut buf).unwrap();
        let own = UdpSocket::bind("127.0.0.1:0").unwrap();
        own.send_to(&buf[..n], upstream).unwrap();
        own.set_read_timeout(Some(WAIT)).unwrap();
        let (n, _) = own.recv_from(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let reach = bound.check_advertised(Duration::from_millis(500));
    let dropped = relay.join().unwrap();
    assert!(dropped.starts_with("listenspec-answer "), "{dropped}");
    assert!(
        matches!(reach[0].outcome(), Outcome::Unanswered),
        "{}",
        reach[0]
    );
}

/// An advertised loopback address reaches a wildcard endpoint from this
/// host alone: the probe arrives, but a client anywhere else would connect
/// to its own loopback. Debian's `/etc/hosts` maps the host's own name to
/// 127.0.1.1, so "the name reaches me" passed a check that no other host
/// would. On an endpoint that listens on loopback only, loopback is what
/// it means and is reached. Run in a namespace of its own, so the wildcard
/// is bound there and not on this machine's interfaces.
#[cfg(target_os = "linux")]
#[test]
fn an_advertised_loopback_address_reaches_a_wider_endpoint_from_this_host_only() {
    let Some(ns) = crate::netns::netns_or_skip(
        "an_advertised_loopback_address_reaches_a_wider_endpoint_from_this_host_only",
    ) else {
        return;
    };
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("eth0", 2, ["198.51.100.7/24"])
        .build()
        .unwrap();
    let spec: ListenSpec = "public = *, ipv4  advertise 127.0.1.1
         public.web = http:0
         local = 127.0.0.1 expose=local  advertise 127.0.0.1
         local.web = http:0"
        .parse()
        .unwrap();
    let plan = listenspec::plan(&spec, &host).unwrap();
    ns.run(move || {
        let bound = plan.bind_inherited(Vec::new()).unwrap();
        let reach = bound.check_advertised(WAIT);
        let public = reach.iter().find(|r| r.endpoint() == "public.web").unwrap();
        let Outcome::ThisHostOnly { local } = public.outcome() else {
            panic!("{public}")
        };
        assert!(local.ip().is_unspecified(), "{public}");
        assert!(!public.reached());
        assert!(
            public.to_string().contains(
                "but only from this host: the address is loopback, and a client on any other host connects to its own"
            ),
            "{public}"
        );
        let local = reach.iter().find(|r| r.endpoint() == "local.web").unwrap();
        assert!(local.reached(), "{local}");
    });
}
