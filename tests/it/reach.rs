//! Checking that advertised addresses reach this process, on loopback.

use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use listenspec::bind::Outcome;
use listenspec::{Bound, Host, ListenSpec, Listener};

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
        let ep = r.endpoint().split_once('.').unwrap();
        let local = bound.endpoint(ep.0, ep.1).unwrap().local_addrs()[0];
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
