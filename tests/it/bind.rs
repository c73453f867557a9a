//! Binding real sockets on loopback through the public API.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
#[cfg(unix)]
use std::os::fd::AsRawFd;

#[cfg(unix)]
use crate::TempDir;
use listenspec::bind::BoundEndpoint;
use listenspec::bind::Cause;
use listenspec::bind::FromEndpoint;
#[cfg(unix)]
use listenspec::bind::Listener;
#[cfg(unix)]
use listenspec::bind::{Disagreement, Inherited};
use listenspec::spec::Transport;
use listenspec::{Bound, Host, ListenSpec, Plan};
#[cfg(unix)]
use socket2::{Domain, Socket, Type};
#[cfg(unix)]
use std::os::unix::net::UnixListener;

fn lo_host() -> Host {
    Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .build()
        .unwrap()
}

fn plan_on(host: &Host, spec: &str) -> Plan {
    let spec: ListenSpec = spec.parse().unwrap();
    listenspec::plan(&spec, host).unwrap_or_else(|e| panic!("{e}"))
}

fn bind(spec: &str) -> Result<Bound, listenspec::BindError> {
    plan_on(&lo_host(), spec).bind_inherited(Vec::new())
}

/// A port that was free a moment ago.
/// A port free now, from below the kernel's ephemeral range (32768 on
/// by default), which no port-0 bind is ever given: a port-0 port let go
/// here could be handed to another test's socket before this test binds
/// it again. Each call starts after the last one's port.
fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    // Apart from other test processes' picks, as far as the process id
    // spreads them.
    let start = 20_000 + (std::process::id() % 8_000) as u16;
    let span = low.saturating_sub(start).max(1);
    (0..span)
        .map(|_| start + NEXT.fetch_add(3, std::sync::atomic::Ordering::Relaxed) % span)
        .find(|&p| {
            TcpListener::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("::1", p)).is_ok()
        })
        .expect("a free port below the ephemeral range")
}

#[cfg(unix)]
#[allow(unsafe_code)] // descriptor flags, which the crate has no API to read
fn fd_flags(fd: i32, cmd: i32) -> i32 {
    // SAFETY: F_GETFD/F_GETFL only read the descriptor's flags.
    unsafe { libc::fcntl(fd, cmd) }
}

#[test]
fn every_protocol_on_port_0_gets_one_real_port_on_both_families() {
    let mut bound = bind(
        "local = loopback
         local.raw = tcp:0
         local.web = http:0
         local.snmp = udp:0",
    )
    .unwrap();
    for name in ["raw", "web", "snmp"] {
        let ep = bound.endpoint("local", name).unwrap();
        let addrs = ep.local_addrs();
        assert_eq!(addrs.len(), 2, "{name}");
        assert_eq!(addrs[0].ip().to_string(), "127.0.0.1");
        assert_eq!(addrs[1].ip().to_string(), "::1");
        assert_ne!(addrs[0].port(), 0);
        assert_eq!(
            addrs[0].port(),
            addrs[1].port(),
            "{name}: same port on both"
        );
        let url = ep.advertised().unwrap().to_string();
        assert!(url.contains(&format!(":{}", addrs[0].port())), "{url}");
    }
    assert_eq!(
        bound
            .endpoint("local", "web")
            .unwrap()
            .advertised()
            .unwrap()
            .scheme(),
        "http"
    );

    let web = bound.take::<Vec<TcpListener>>("local", "web").unwrap();
    let port = web[0].local_addr().unwrap().port();
    for (listener, target) in web
        .iter()
        .zip([format!("127.0.0.1:{port}"), format!("[::1]:{port}")])
    {
        let mut c = TcpStream::connect(&target).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        c.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }

    let err = bound.take::<Vec<TcpListener>>("local", "snmp").unwrap_err();
    assert_eq!(err.to_string(), "endpoint local.snmp is udp, not tcp");
    // Refused, it stays, to take as what it is.
    let snmp = bound.take::<Vec<UdpSocket>>("local", "snmp").unwrap();
    let target = snmp[0].local_addr().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(b"get", target).unwrap();
    let mut buf = [0; 8];
    let (n, _) = snmp[0].recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"get");
}

#[cfg(unix)] // fcntl flags; a Windows socket has none to read
#[test]
fn sockets_are_blocking_and_close_on_exec() {
    let bound = bind("local = loopback; local.a = tcp:0; local.b = udp:0").unwrap();
    for ep in bound.endpoints() {
        for s in ep.sockets() {
            let fd = match s.listener() {
                Listener::Tcp(l) => l.as_raw_fd(),
                Listener::Udp(u) => u.as_raw_fd(),
                other => panic!("not an IP socket: {other:?}"),
            };
            assert_ne!(fd_flags(fd, libc::F_GETFD) & libc::FD_CLOEXEC, 0);
            assert_eq!(fd_flags(fd, libc::F_GETFL) & libc::O_NONBLOCK, 0);
        }
    }
}

#[test]
fn a_taken_port_fails_names_the_cause_and_leaves_nothing_bound() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let other = free_port();
    let err = bind(&format!(
        "local = 127.0.0.1
         local.first = tcp:{other}
         local.second = tcp:{busy_port}"
    ))
    .unwrap_err();
    assert_eq!(err.failures().len(), 1, "{err}");
    let f = &err.failures()[0];
    assert_eq!(
        f.endpoint().map(ToString::to_string).as_deref(),
        Some("local.second")
    );
    assert_eq!(
        f.addr(),
        Some(SocketAddr::from(([127, 0, 0, 1], busy_port)))
    );
    assert_eq!(f.transport(), Some(Transport::Tcp));
    assert_eq!(f.os_error().unwrap().kind(), std::io::ErrorKind::AddrInUse);
    assert!(
        f.hint().contains("another process holds it"),
        "{}",
        f.hint()
    );
    assert!(err.to_string().contains("so none were"), "{err}");
    // local.first was bound and then closed: its port is free again. (A
    // port below the ephemeral range may still be another process's a
    // moment later, as a CI run met once: the rollback is checked on a
    // few ports before that counts.)
    let rolled_back = TcpListener::bind(("127.0.0.1", other)).is_ok()
        || (0..3).any(|_| {
            let other = free_port();
            let spec = format!(
                "local = 127.0.0.1\nlocal.first = tcp:{other}\nlocal.second = tcp:{busy_port}"
            );
            bind(&spec).is_err() && TcpListener::bind(("127.0.0.1", other)).is_ok()
        });
    assert!(
        rolled_back,
        "local.first's port stayed bound after the failure"
    );
}

#[test]
fn every_failure_is_reported_not_just_the_first() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (pa, pb) = (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    );
    let err = bind(&format!(
        "local = 127.0.0.1; local.a = tcp:{pa}; local.b = udp:{pb}; local.ok = tcp:0"
    ))
    .unwrap_err();
    let who: Vec<_> = err
        .failures()
        .iter()
        .map(|f| f.endpoint().unwrap().to_string())
        .collect();
    assert_eq!(who, ["local.a", "local.b"]);
    let tool = if cfg!(windows) {
        "Get-NetUDPEndpoint -LocalPort"
    } else {
        "ss -ulnp"
    };
    assert!(err.failures()[1].hint().contains(tool), "{err}");
}

#[test]
fn a_range_takes_the_first_port_free_on_every_address() {
    // Find three consecutive free ports, then occupy the first on IPv6 only:
    // the range must skip it because it is not free on *every* address.
    // Other tests bind ports at the same time: a port found free may be
    // taken before it is held, so look again until it is held.
    let (base, _v6_only_taken) = loop {
        let p = free_port();
        if p < 65000
            && (1..3).all(|i| TcpListener::bind(("127.0.0.1", p + i)).is_ok())
            && let Ok(held) = TcpListener::bind(("::1", p))
        {
            break (p, held);
        }
    };
    let bound = bind(&format!(
        "local = loopback; local.grpc = tcp:{base}-{}",
        base + 2
    ))
    .unwrap();
    let ep = bound.endpoint("local", "grpc").unwrap();
    assert_eq!(ep.port(), Some(base + 1));
    assert_eq!(
        ep.advertised().unwrap().to_string(),
        format!("tcp://127.0.0.1:{}", base + 1)
    );
}

/// Every port of a range is tried, not only its first few.
#[test]
fn a_range_is_tried_to_its_end() {
    // The range's first three ports held here: one another test held a
    // moment would be free again to the bind below.
    let (base, _taken) = loop {
        let base = free_port();
        let taken: Vec<TcpListener> = (0..3)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if taken.len() == 3 {
            break (base, taken);
        }
    };
    let bound = bind(&format!(
        "local = 127.0.0.1; local.r = tcp:{base}-{}",
        base + 9
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let port = bound.endpoint("local", "r").unwrap().port().unwrap();
    assert!((base + 3..=base + 9).contains(&port), "{port}");
}

#[test]
fn a_range_with_no_free_port_says_so() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = a.local_addr().unwrap().port();
    let _b = TcpListener::bind(("127.0.0.1", p + 1));
    let err = bind(&format!("local = 127.0.0.1; local.r = tcp:{p}-{}", p + 1));
    // The neighbour may have been taken by someone else already; either way
    // both ports are busy now.
    let err = err.unwrap_err();
    assert!(
        matches!(err.failures()[0].cause(), Cause::NoFreePort { .. }),
        "{err}"
    );
}

#[test]
fn star_is_one_socket_per_family_and_v6only_by_default() {
    let host = lo_host();
    // A port free on loopback may be another test's on another address,
    // which `*` takes too: a few ports are tried (a CI run met one).
    let (port, bound) = (0..5)
        .find_map(|_| {
            let port = free_port();
            plan_on(&host, &format!("public = *; public.http = http:{port}"))
                .bind_inherited(Vec::new())
                .ok()
                .map(|bound| (port, bound))
        })
        .expect("one of five ports binds on every address");
    let addrs = bound.endpoint("public", "http").unwrap().local_addrs();
    assert_eq!(
        addrs,
        [
            SocketAddr::from(([0, 0, 0, 0], port)),
            SocketAddr::from(([0u16; 8], port))
        ]
    );
}

#[test]
fn an_ipv6_wildcard_with_v6only_false_takes_ipv4_too() {
    let host = lo_host();
    let mut bound = plan_on(&host, "public = ::; public.http = tcp:0 v6only=false")
        .bind_inherited(Vec::new())
        .unwrap();
    let l = bound
        .take::<Vec<TcpListener>>("public", "http")
        .unwrap()
        .remove(0);
    let port = l.local_addr().unwrap().port();
    TcpStream::connect(("127.0.0.1", port)).expect("dual-stack socket takes IPv4");

    let mut bound = plan_on(&host, "public = ::; public.http = tcp:0")
        .bind_inherited(Vec::new())
        .unwrap();
    let l = bound
        .take::<Vec<TcpListener>>("public", "http")
        .unwrap()
        .remove(0);
    let port = l.local_addr().unwrap().port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "v6only");
}

/// The host snapshot says 203.0.113.99 is on lo, the kernel does not:
/// binding fails with EADDRNOTAVAIL and a hint, and `freebind` makes it work.
#[cfg(unix)] // device and freebind are Linux's; Windows' hint: windows.rs
#[test]
fn an_address_not_on_the_host_fails_unless_freebind() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "203.0.113.99/32"])
        .build()
        .unwrap();
    let err = plan_on(&host, "x = 203.0.113.99; x.a = tcp:0 device")
        .bind_inherited(Vec::new())
        .unwrap_err();
    let f = &err.failures()[0];
    assert_eq!(
        f.os_error().unwrap().kind(),
        std::io::ErrorKind::AddrNotAvailable
    );
    assert!(f.hint().contains("freebind"), "{}", f.hint());

    let bound = plan_on(&host, "x = 203.0.113.99; x.a = tcp:0 freebind")
        .bind_inherited(Vec::new())
        .unwrap();
    let addr = bound.endpoint("x", "a").unwrap().local_addrs()[0];
    assert_eq!(addr.ip().to_string(), "203.0.113.99");
}

#[cfg(unix)] // device (SO_BINDTODEVICE) is Linux's
#[test]
fn a_missing_device_fails_with_enodev_and_names_it() {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .interface("ghost0", 99, ["127.0.0.2/8"])
        .build()
        .unwrap();
    let err = plan_on(&host, "x = if:ghost0; x.a = tcp:0 device")
        .bind_inherited(Vec::new())
        .unwrap_err();
    let f = &err.failures()[0];
    assert_eq!(f.os_error().unwrap().raw_os_error(), Some(libc::ENODEV));
    assert!(
        f.hint().contains("device ghost0 does not exist"),
        "{}",
        f.hint()
    );
}

/// A permission error is blamed on what needs the privilege: a port below
/// 1024 (port 0 is not one), else `device`, else nothing in particular.
#[cfg(unix)] // Linux's errno and hints; Windows' are in windows.rs
#[test]
fn hints_for_permission_errors() {
    let cases: &[(u16, Option<&str>, &str)] = &[
        (80, None, "CAP_NET_BIND_SERVICE"),
        (1023, None, "CAP_NET_BIND_SERVICE"),
        (80, Some("eth0"), "CAP_NET_BIND_SERVICE"),
        (1024, None, "see the OS error above"),
        (0, None, "see the OS error above"),
        (1024, Some("eth0"), "SO_BINDTODEVICE needs CAP_NET_RAW"),
        (0, Some("eth0"), "SO_BINDTODEVICE needs CAP_NET_RAW"),
    ];
    for &(port, device, want) in cases {
        let cause = Cause::Os {
            error: std::io::Error::from_raw_os_error(libc::EACCES),
            holder: None,
            own: None,
            device: device.map(str::to_owned),
        };
        let addr = SocketAddr::from(([0, 0, 0, 0], port));
        let hint = cause.hint(Transport::Tcp, addr);
        assert!(
            hint.contains(want),
            "port {port}, device {device:?}: {hint}"
        );
    }
}

#[cfg(unix)]
fn inherited(name: &str, l: TcpListener) -> Inherited {
    Inherited::new(name, socket2::Socket::from(l))
}

/// An endpoint on a range takes the port of the socket it inherits, and
/// its other addresses are bound on that port too, not on the range's first.
#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn an_inherited_socket_sets_the_port_of_its_range() {
    let first = free_port();
    let l = TcpListener::bind(("127.0.0.1", first + 5)).unwrap();
    let plan = plan_on(
        &lo_host(),
        &format!(
            "local = 127.0.0.1, ::1; local.r = tcp:{first}-{}",
            first + 9
        ),
    );
    let bound = plan
        .bind_inherited(vec![inherited("local.r", l)])
        .unwrap_or_else(|e| panic!("{e}"));
    let ports: Vec<u16> = bound.endpoints()[0]
        .local_addrs()
        .iter()
        .map(SocketAddr::port)
        .collect();
    assert_eq!(ports, [first + 5, first + 5]);
}

#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn inherited_sockets_are_used_by_name_and_checked_against_the_plan() {
    let host = lo_host();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let plan = plan_on(
        &host,
        &format!("local = 127.0.0.1; local.http = http:{}", addr.port()),
    );
    let bound = plan
        .bind_inherited(vec![inherited("local.http", l)])
        .unwrap();
    let s = &bound.endpoint("local", "http").unwrap().sockets()[0];
    assert_eq!(s.inherited(), Some("local.http"));
    assert_eq!(s.local_addr(), addr);

    // The short name works too, when it is unambiguous.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let plan = plan_on(&host, "local = 127.0.0.1; local.http = http:0");
    let bound = plan.bind_inherited(vec![inherited("http", l)]).unwrap();
    assert!(
        bound.endpoint("local", "http").unwrap().sockets()[0]
            .inherited()
            .is_some()
    );
}

#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn an_inherited_socket_that_disagrees_names_both_sides() {
    let host = lo_host();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let got = l.local_addr().unwrap();
    let plan = plan_on(&host, "local = 127.0.0.1; local.http = http:1");
    let err = plan
        .bind_inherited(vec![inherited("local.http", l)])
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("is tcp {got}")), "{text}");
    assert!(text.contains("the plan has tcp 127.0.0.1:1"), "{text}");

    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = u.local_addr().unwrap().port();
    let plan = plan_on(
        &host,
        &format!("local = 127.0.0.1; local.http = http:{port}"),
    );
    let err = plan
        .bind_inherited(vec![Inherited::new("local.http", u.into())])
        .unwrap_err();
    assert!(err.to_string().contains("is udp"), "{err}");
}

#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn an_unmatched_inherited_socket_is_reported() {
    let host = lo_host();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let plan = plan_on(&host, "local = 127.0.0.1; local.http = http:0");
    let err = plan
        .bind_inherited(vec![inherited("metrics", l)])
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("\"metrics\""), "{text}");
    assert!(text.contains("endpoints: local.http"), "{text}");
    assert!(text.contains("FileDescriptorName="), "{text}");
}

#[test]
fn bind_all_works_inside_a_running_tokio_runtime() {
    for rt in [
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    ] {
        rt.unwrap().block_on(async {
            let spec: ListenSpec = "local = 127.0.0.1; local.http = http:0".parse().unwrap();
            let mut bound = listenspec::bind_all(&spec).unwrap();
            let ep = bound.take::<BoundEndpoint>("local", "http").unwrap();
            let port = ep.port().unwrap();
            let listeners = Vec::<tokio::net::TcpListener>::from_endpoint(ep).unwrap();
            let accept = listeners[0].accept();
            let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
            let (accepted, connected) = tokio::join!(accept, connect);
            accepted.unwrap();
            connected.unwrap();

            let mut bound = listenspec::bind_all_async(&spec).await.unwrap();
            bound.take::<BoundEndpoint>("local", "http").unwrap();
        });
    }
}

/// The listen backlog as the kernel holds it: `ss` shows it as Send-Q of a
/// listening socket.
#[cfg(unix)]
fn backlog_of(port: u16) -> u32 {
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no listener on {port}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[cfg(unix)] // ss (iproute2) reads the backlog
#[test]
fn backlog_is_applied_and_defaults_to_1024() {
    let bound = bind("local = 127.0.0.1; local.a = tcp:0 backlog=77; local.b = tcp:0").unwrap();
    let a = bound.endpoint("local", "a").unwrap().port().unwrap();
    let b = bound.endpoint("local", "b").unwrap().port().unwrap();
    assert_eq!(backlog_of(a), 77);
    assert_eq!(backlog_of(b), listenspec::bind::DEFAULT_BACKLOG);
}

#[cfg(unix)] // Windows has no SO_REUSEPORT: windows.rs
#[test]
fn reuseport_lets_two_processes_share_a_port_and_its_absence_does_not() {
    // The port stays held from first to last, so no other test can take it
    // in between and turn the refusal into a race.
    let first = bind("local = 127.0.0.1; local.a = tcp:0 reuseport").unwrap();
    let port = first.endpoint("local", "a").unwrap().port().unwrap();
    let second = bind(&format!(
        "local = 127.0.0.1; local.a = tcp:{port} reuseport"
    ))
    .expect("SO_REUSEPORT on both sockets");

    let err = bind(&format!("local = 127.0.0.1; local.a = tcp:{port}")).unwrap_err();
    assert_eq!(
        err.failures()[0].os_error().unwrap().kind(),
        std::io::ErrorKind::AddrInUse
    );
    drop((first, second));
}

/// SO_REUSEADDR on TCP is what lets a restarted server bind its port while
/// connections of its previous run sit in TIME_WAIT.
#[cfg(unix)] // ss shows TIME_WAIT; Windows' case is in windows.rs
#[test]
fn a_restarted_tcp_server_binds_while_old_connections_sit_in_time_wait() {
    let mut first = bind("local = 127.0.0.1; local.a = tcp:0").unwrap();
    let listener = first
        .take::<Vec<TcpListener>>("local", "a")
        .unwrap()
        .remove(0);
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (conn, _) = listener.accept().unwrap();
    // The server closes first, so its side of the connection waits.
    drop(conn);
    assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
    drop((client, listener));
    let ss = std::process::Command::new("ss")
        .args(["-tanH", "state", "time-wait", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    assert!(
        !String::from_utf8_lossy(&ss.stdout).trim().is_empty(),
        "no TIME_WAIT connection on {port}, so the case tests nothing"
    );
    bind(&format!("local = 127.0.0.1; local.a = tcp:{port}"))
        .unwrap_or_else(|e| panic!("rebinding over TIME_WAIT: {e}"));
}

/// Not on UDP, where SO_REUSEADDR would let any later socket that asks for
/// it share the port and take a part of its datagrams.
#[cfg(unix)] // Windows may share it: README, "What Wine does not prove"
#[test]
fn a_udp_port_is_not_shared_with_a_socket_that_asks_to_reuse_it() {
    let bound = bind("local = 127.0.0.1; local.a = udp:0").unwrap();
    let port = bound.endpoint("local", "a").unwrap().port().unwrap();
    let other = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    other.set_reuse_address(true).unwrap();
    let err = other
        .bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

/// A TCP or UDP socket bound to `addr` by hand, before any option the
/// crate would set, so a case can give it the one the plan disagrees with.
#[cfg(unix)]
fn raw_socket(addr: &str, udp: bool, v6only: Option<bool>, device: Option<&str>) -> Socket {
    let addr: SocketAddr = addr.parse().unwrap();
    let ty = if udp { Type::DGRAM } else { Type::STREAM };
    let s = Socket::new(Domain::for_address(addr), ty, None).unwrap();
    if let Some(v) = v6only {
        s.set_only_v6(v).unwrap();
    }
    if let Some(d) = device {
        s.bind_device(Some(d.as_bytes())).unwrap();
    }
    s.bind(&addr.into()).unwrap();
    if !udp {
        s.listen(8).unwrap();
    }
    s
}

#[cfg(unix)]
fn port_of(s: &Socket) -> u16 {
    s.local_addr().unwrap().as_socket().unwrap().port()
}

/// What the kernel says about an inherited socket is held against the
/// plan: a connection where a listener belongs, a dual-stack socket for a
/// v6-only `[::]` (and the reverse), a socket pinned to no device for a
/// `device` endpoint, and a non-IP socket, which is named for what it is.
#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn an_inherited_socket_is_checked_where_the_kernel_can_say() {
    let host = lo_host();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    let (accepted, _) = server.accept().unwrap();
    let conn_port = server.local_addr().unwrap().port();
    let dir = TempDir::new("unix");
    let sock_path = dir.join("x.sock");
    let _ = std::fs::remove_file(&sock_path);
    let unix = UnixListener::bind(&sock_path).unwrap();

    let dual = raw_socket("[::]:0", false, Some(false), None);
    let v6only = raw_socket("[::]:0", false, Some(true), None);
    let v6only_port = port_of(&v6only);
    let dual_udp = raw_socket("[::]:0", true, Some(false), None);
    let unpinned = raw_socket("127.0.0.1:0", false, None, None);
    let pinned = raw_socket("127.0.0.1:0", false, None, Some("lo"));
    let v6_loop = raw_socket("[::1]:0", false, Some(true), None);

    type Check = Box<dyn Fn(&Cause) -> bool>;
    let disagrees = |want: Disagreement| -> Option<Check> {
        Some(Box::new(
            move |c: &Cause| matches!(c, Cause::InheritedDisagrees { why, .. } if why == std::slice::from_ref(&want)),
        ))
    };
    let cases: Vec<(&str, Socket, String, Option<Check>)> = vec![
        (
            "a connected, non-listening TCP socket",
            Socket::from(accepted),
            format!("l = 127.0.0.1; l.web = http:{conn_port}"),
            disagrees(Disagreement::NotListening {
                peer: Some(client.local_addr().unwrap()),
            }),
        ),
        (
            "a dual-stack socket for a v6-only [::]",
            dual.try_clone().unwrap(),
            format!("any = :: expose=public; any.web = http:{}", port_of(&dual)),
            disagrees(Disagreement::V6Only {
                expected: true,
                beside_ipv4: false,
            }),
        ),
        (
            "a dual-stack socket for the [::] of `*`",
            dual.try_clone().unwrap(),
            format!("any = * expose=public; any.web = http:{}", port_of(&dual)),
            disagrees(Disagreement::V6Only {
                expected: true,
                beside_ipv4: true,
            }),
        ),
        (
            "a dual-stack socket for `::` with v6only=false, the fix for `*`",
            dual.try_clone().unwrap(),
            format!(
                "any = :: expose=public; any.web = http:{} v6only=false",
                port_of(&dual)
            ),
            None,
        ),
        (
            "a dual-stack UDP socket for a v6-only [::]",
            dual_udp.try_clone().unwrap(),
            format!(
                "any = :: expose=public; any.web = udp:{}",
                port_of(&dual_udp)
            ),
            disagrees(Disagreement::V6Only {
                expected: true,
                beside_ipv4: false,
            }),
        ),
        (
            "a v6-only socket for [::] with v6only=false",
            v6only.try_clone().unwrap(),
            format!("any = :: expose=public; any.web = http:{v6only_port} v6only=false"),
            disagrees(Disagreement::V6Only {
                expected: false,
                beside_ipv4: false,
            }),
        ),
        (
            "a v6-only socket for a v6-only [::]",
            v6only,
            format!("any = :: expose=public; any.web = http:{v6only_port}"),
            None,
        ),
        (
            "a socket pinned to no device for a device endpoint",
            unpinned.try_clone().unwrap(),
            format!("l = 127.0.0.1; l.web = http:{} device", port_of(&unpinned)),
            disagrees(Disagreement::Device {
                expected: Some("lo".to_owned()),
                found: None,
            }),
        ),
        (
            "a socket pinned to a device for an endpoint without one",
            pinned.try_clone().unwrap(),
            format!("l = 127.0.0.1; l.web = http:{}", port_of(&pinned)),
            disagrees(Disagreement::Device {
                expected: None,
                found: Some("lo".to_owned()),
            }),
        ),
        (
            "a socket pinned to the endpoint's device",
            pinned.try_clone().unwrap(),
            format!("l = 127.0.0.1; l.web = http:{} device", port_of(&pinned)),
            None,
        ),
        (
            "an IPv6 socket for an IPv4 endpoint",
            v6_loop.try_clone().unwrap(),
            format!("l = 127.0.0.1; l.web = http:{}", port_of(&v6_loop)),
            Some(Box::new(
                |c: &Cause| matches!(c, Cause::InheritedMismatch { found, .. } if found.starts_with("tcp [::1]:")),
            )),
        ),
        (
            "a unix socket",
            Socket::from(unix),
            "l = 127.0.0.1; l.web = http:0".to_owned(),
            Some(Box::new(move |c: &Cause| {
                matches!(c, Cause::InheritedMismatch { found, .. }
                    if *found == format!("unix socket {} (stream)", sock_path.display()))
            })),
        ),
    ];
    for (what, socket, spec, want) in cases {
        let result = plan_on(&host, &spec).bind_inherited(vec![Inherited::new("web", socket)]);
        match (result, want) {
            (Ok(bound), None) => {
                let s = &bound.endpoints()[0].sockets()[0];
                assert_eq!(s.inherited(), Some("web"), "{what}");
            }
            (Err(err), Some(want)) => {
                assert_eq!(err.failures().len(), 1, "{what}: {err}");
                let f = &err.failures()[0];
                assert!(want(f.cause()), "{what}: {f}");
                // The spec's side of the fix too, for a socket it could plan.
                if what == "an IPv6 socket for an IPv4 endpoint" {
                    assert!(
                        f.to_string().contains("or the spec with the socket: `l = ::1` (or a selector that matches it) and l.web on port"),
                        "{what}: {f}"
                    );
                }
                if what == "a unix socket" {
                    assert!(
                        !f.to_string().contains("or the spec with the socket"),
                        "{what}: {f}"
                    );
                }
                if what.contains("`*`") {
                    assert!(
                        f.to_string().contains(
                            "write the network as `::` alone and add v6only=false to the endpoint"
                        ),
                        "{what}: {f}"
                    );
                }
                let text = f.to_string();
                assert!(!text.contains("is tcp socket"), "{what}: {text}");
                assert!(text.contains("fix: "), "{what}: {text}");
            }
            (Ok(_), Some(_)) => panic!("{what}: taken, but it disagrees with the plan"),
            (Err(err), None) => panic!("{what}: refused, but it agrees: {err}"),
        }
    }
}

/// Linux pins a socket bound to a link-local address to the interface of
/// its scope, as SO_BINDTODEVICE would: an inherited one that agrees with
/// the plan in all else is taken, not refused as pinned by
/// `BindToDevice=`.
#[cfg(target_os = "linux")]
#[test]
fn an_inherited_link_local_socket_pinned_to_its_own_interface_is_taken() {
    use std::net::SocketAddrV6;
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128", "fe80::7/64"])
        .interface("eth0", 2, ["203.0.113.5/24"])
        .build()
        .unwrap();
    let link_local = |device: Option<&str>| {
        let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        // The address is the fake host's, not this machine's.
        s.set_freebind_v6(true).unwrap();
        if let Some(d) = device {
            s.bind_device(Some(d.as_bytes())).unwrap();
        }
        let addr = SocketAddrV6::new("fe80::7".parse().unwrap(), 0, 0, 1);
        s.bind(&addr.into()).unwrap();
        s.listen(8).unwrap();
        s
    };
    let s = link_local(None);
    let port = port_of(&s);
    let spec = format!("ops = fe80::7%lo\nops.m = tcp:{port}");
    let bound = plan_on(&host, &spec)
        .bind_inherited(vec![Inherited::new("ops.m", s)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bound.endpoints()[0].sockets()[0].inherited(), Some("ops.m"));

    // Pinned by `device` on the endpoint: the same, asked for.
    let s = link_local(Some("lo"));
    let port = port_of(&s);
    let spec = format!("ops = fe80::7%lo\nops.m = tcp:{port} device");
    plan_on(&host, &spec)
        .bind_inherited(vec![Inherited::new("ops.m", s)])
        .unwrap_or_else(|e| panic!("{e}"));
}

#[cfg(unix)] // socket activation (Inherited::new) is Unix's
#[test]
fn a_disagreeing_inherited_socket_names_its_fd_and_the_fix() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let _client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    let (accepted, _) = server.accept().unwrap();
    let fd = accepted.as_raw_fd();
    let port = server.local_addr().unwrap().port();
    let err = plan_on(&lo_host(), &format!("l = 127.0.0.1; l.web = http:{port}"))
        .bind_inherited(vec![Inherited::new("l.web", accepted.into())])
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "inherited socket \"l.web\" (fd {fd}, tcp 127.0.0.1:{port}) is not listening"
        )),
        "{text}"
    );
    assert!(text.contains("Accept=no"), "{text}");
}

/// Set in the child run of an activation test: the test binary runs that
/// one test again, with `LISTEN_*` set from its start and the descriptors
/// in place, as a service manager starts a service. Setting the variables
/// in this multi-threaded process instead would be unsound.
#[cfg(unix)]
const CHILD_SPEC: &str = "LISTENSPEC_TEST_ACTIVATION_SPEC";
/// Set, the child opens a socket of its own before it binds.
#[cfg(unix)]
const CHILD_OWN_SOCKET: &str = "LISTENSPEC_TEST_OWN_SOCKET";
/// Set: the child says it is ready, as a successor does once it serves
/// (`handoff::notify_ready`), before it closes what it bound.
#[cfg(unix)]
const CHILD_READY: &str = "LISTENSPEC_TEST_READY";

/// In the child: each socket bound, and what it was inherited as.
#[cfg(unix)]
fn print_bound(bound: &Bound) {
    for s in bound.endpoints().iter().flat_map(|e| e.sockets()) {
        println!("child: bound {} {:?}", s.local_addr(), s.inherited());
    }
}

/// Runs `test` as the activated child with one socket, named `l.web`, for
/// the spec `l = 127.0.0.1; l.web = http:PORT`: the socket's address and
/// what the child printed.
#[cfg(unix)]
fn activated_with_one_socket(test: &str) -> (SocketAddr, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let out = activated_child(
        test,
        &format!("l = 127.0.0.1; l.web = http:{}", addr.port()),
        &[listener.as_raw_fd()],
        &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "l.web")],
    );
    (addr, out)
}

/// Runs `test` of this binary as the child, with `fds` at 3, 4, … and
/// LISTEN_PID its own pid: `sh` exports its pid and execs the binary, so the
/// pid stays the same. Returns what the child printed.
#[cfg(unix)]
fn activated_child(test: &str, spec: &str, fds: &[i32], env: &[(&str, &str)]) -> String {
    child_with_fds(r#"export LISTEN_PID=$$; exec "$@""#, test, spec, fds, env)
}

/// [`activated_child`], the child started by the shell `script`.
#[cfg(unix)]
#[allow(unsafe_code)] // plays the service manager: descriptors placed before exec
fn child_with_fds(
    script: &str,
    test: &str,
    spec: &str,
    fds: &[i32],
    env: &[(&str, &str)],
) -> String {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", script, "sh"])
        .env_remove("LISTEN_PID")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env_remove("LISTEN_FDNAMES")
        .env(CHILD_SPEC, spec)
        .envs(env.iter().copied());
    let fds = fds.to_vec();
    let mut high = vec![0; fds.len()];
    // SAFETY: between fork and exec the closure only calls fcntl, dup2 and close,
    // which are async-signal-safe, and allocates nothing: `fds` and `high`
    // were allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first (close-on-exec), so placing one at its
            // number never overwrites another still to be placed.
            for (h, &fd) in high.iter_mut().zip(&fds) {
                *h = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
                if *h < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (to, &h) in (3..).zip(&high) {
                // dup2 leaves the new number without close-on-exec.
                if libc::dup2(h, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // What the test runner itself inherited (a jobserver pipe under
            // cargo-mutants or make) must not look like a passed descriptor.
            for fd in (3..).skip(high.len()).take_while(|&fd| fd < 100) {
                libc::close(fd);
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The child's side: bind the spec through the environment, as a service
/// does, take again, and say what became of descriptors 3 and 4.
#[cfg(unix)]
#[allow(unsafe_code)] // borrows the application's own log descriptor
fn activation_child(spec: &str) {
    // The application's own socket (a log's, a database's), opened before
    // it binds: the lowest free number, the one after the passed socket.
    let _own = std::env::var_os(CHILD_OWN_SOCKET).map(|_| {
        let own = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(own.as_raw_fd(), 4, "the application's socket is fd 4");
        own
    });
    let plan = plan_on(&lo_host(), spec);
    match plan.bind() {
        Ok(bound) => {
            print_bound(&bound);
            println!(
                "child: fd 3 cloexec {}",
                fd_flags(3, libc::F_GETFD) & libc::FD_CLOEXEC != 0
            );
            if std::env::var_os(CHILD_READY).is_some() {
                println!(
                    "child: ready {:?}",
                    listenspec::handoff::notify_ready().is_ok()
                );
            }
            // Closing them before the second take: it must not look at
            // fd 3 again, which is no longer open.
            drop(bound);
        }
        Err(e) => println!("child: error {}", e.to_string().replace('\n', " / ")),
    }
    match listenspec::bind::take_from_env() {
        Ok(again) => println!("child: again {}", again.len()),
        Err(e) => println!("child: again error {e}"),
    }
    for fd in [3, 4] {
        let open = fd_flags(fd, libc::F_GETFD) >= 0;
        println!("child: fd {fd} {}", if open { "open" } else { "closed" });
    }
    // The application's own use of its log file, after the library had its go.
    if std::fs::read_link("/proc/self/fd/4")
        .is_ok_and(|p| p.extension().is_some_and(|e| e == "log"))
    {
        // SAFETY: fd 4 is open (it has a /proc link), and it is only
        // borrowed: ManuallyDrop never closes it.
        let mut log = std::mem::ManuallyDrop::new(unsafe {
            <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(4)
        });
        println!(
            "child: write {:?}",
            log.write_all(b"still mine\n").map_err(|e| e.kind())
        );
    }
}

/// `LISTEN_FDS=2` with one real socket: the descriptor after it is the
/// application's own (a log file, a pipe, a device, a directory) or not
/// open at all. It is named in the error for what it is, nothing is taken,
/// and every descriptor, the socket too, stays open.
#[cfg(unix)] // socket activation passes descriptors by number, a Unix thing
#[test]
fn a_descriptor_that_is_not_a_socket_is_reported_and_left_open() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_descriptor_that_is_not_a_socket_is_reported_and_left_open";
    let dir = TempDir::new("fds");
    let log_path = dir.join("app.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (_reader, writer) = std::io::pipe().unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    let dir_fd = std::fs::File::open(&dir).unwrap();
    // A name that would forge a line of the error and clear the screen.
    let evil_path = dir.join("evil\n- fake: all good\x1b[2J");
    let evil = std::fs::File::create(&evil_path).unwrap();
    let cases: Vec<(Option<i32>, String)> = vec![
        (
            Some(evil.as_raw_fd()),
            format!(
                "is a regular file ({}/evil\\n- fake: all good\\u{{1b}}[2J), not a socket",
                dir.0.display()
            ),
        ),
        (
            Some(log.as_raw_fd()),
            format!("is a regular file ({}), not a socket", log_path.display()),
        ),
        (
            Some(writer.as_raw_fd()),
            "is a pipe or FIFO (pipe:[".to_owned(),
        ),
        (
            Some(null.as_raw_fd()),
            "is a character device (/dev/null), not a socket".to_owned(),
        ),
        (
            Some(dir_fd.as_raw_fd()),
            format!("is a directory ({}), not a socket", dir.0.display()),
        ),
        (None, "is not open".to_owned()),
    ];
    for (second, what) in cases {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fds: Vec<i32> = [listener.as_raw_fd()].into_iter().chain(second).collect();
        let out = activated_child(
            name,
            &format!("l = 127.0.0.1; l.web = http:{port}"),
            &fds,
            &[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "l.web:app")],
        );
        let want = format!("LISTEN_FDS=2 announces fds 3 to 4, but fd 4 (\"app\") {what}");
        assert!(out.contains(&want), "want {want:?} in:\n{out}");
        assert!(out.contains("none was taken or closed"), "{out}");
        assert!(
            out.contains("fix: LISTEN_FDS must count only sockets"),
            "{out}"
        );
        assert!(out.contains("child: fd 3 open"), "{out}");
        if second.is_some() {
            assert!(out.contains("child: fd 4 open"), "{out}");
        }
    }
    assert!(
        std::fs::read_to_string(&log_path).unwrap() == "still mine\n",
        "the application's write to its log file failed"
    );
    // Every descriptor that is not a socket is named, up to the first that
    // is not open; the numbers after it say nothing more.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = activated_child(
        name,
        &format!("l = 127.0.0.1; l.web = http:{port}"),
        &[listener.as_raw_fd(), log.as_raw_fd()],
        &[("LISTEN_FDS", "4")],
    );
    let want = format!(
        "LISTEN_FDS=4 announces fds 3 to 6, but fd 4 (\"unknown\") is a regular file ({}), \
         not a socket; fd 5 (\"unknown\") is not open; none was taken",
        log_path.display()
    );
    assert!(out.contains(&want), "want {want:?} in:\n{out}");
    // Many are named eight at a time, then counted.
    let fds: Vec<i32> = [listener.as_raw_fd()]
        .into_iter()
        .chain([log.as_raw_fd(); 10])
        .collect();
    let out = activated_child(
        name,
        &format!("l = 127.0.0.1; l.web = http:{port}"),
        &fds,
        &[("LISTEN_FDS", "11")],
    );
    let want = format!(
        "fd 11 (\"unknown\") is a regular file ({}), not a socket and 2 more; none was taken",
        log_path.display()
    );
    assert!(out.contains(&want), "want {want:?} in:\n{out}");
}

/// A successor that ends before it says it is ready, its bind failed
/// (another process took its new TCP port) or not, leaves the socket file
/// its predecessor handed over: the predecessor serves on there. It removed
/// the file, so clients of the server still running found no socket.
#[cfg(unix)]
#[test]
fn a_successor_never_ready_leaves_the_socket_file_its_predecessor_serves_on() {
    use std::os::unix::fs::MetadataExt;
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_successor_never_ready_leaves_the_socket_file_its_predecessor_serves_on";
    let dir = TempDir::new("handed");
    let path = dir.join("api.sock");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let unix = format!("u = unix; u.api = unix:{}", path.display());
    for (spec, bound) in [
        (format!("{unix}; l = 127.0.0.1; l.web = http:{port}"), false),
        (unix.clone(), true),
    ] {
        let _ = std::fs::remove_file(&path);
        let serving = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let file = std::fs::metadata(&path).unwrap();
        // The handoff's variable ends in the successor's id, as
        // `LISTEN_PID` is.
        let out = child_with_fds(
            r#"export LISTEN_PID=$$ LISTENSPEC_HANDOFF="$LISTENSPEC_HANDOFF$$"; exec "$@""#,
            name,
            &spec,
            &[serving.as_raw_fd()],
            &[
                ("LISTEN_FDS", "1"),
                ("LISTEN_FDNAMES", "u.api"),
                (
                    "LISTENSPEC_HANDOFF",
                    &format!("0:{}:{};", file.dev(), file.ino()),
                ),
            ],
        );
        assert_eq!(out.contains("child: error"), !bound, "{out}");
        let after = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("the handed-over file is gone ({e}):\n{out}"));
        assert_eq!(
            (after.dev(), after.ino()),
            (file.dev(), file.ino()),
            "{out}"
        );
    }
}

/// The child started as a successor (test `name`) with a forged handoff
/// that names `victim`'s file beside `passed`, a socket for an endpoint
/// its spec lacks, told to say it is ready: the victim's file stays, the
/// same file, and `serving` still takes its clients.
#[cfg(target_os = "linux")]
fn forged_handoff_leaves(
    name: &str,
    victim: &std::path::Path,
    serving: &std::os::unix::net::UnixListener,
    passed: &std::os::unix::net::UnixListener,
) {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::metadata(victim).unwrap();
    let hex: String = victim
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = child_with_fds(
        r#"export LISTEN_PID=$$ LISTENSPEC_HANDOFF="$LISTENSPEC_HANDOFF$$"; exec "$@""#,
        name,
        "l = 127.0.0.1 expose=local; l.web = http:0",
        &[passed.as_raw_fd()],
        &[
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "gone.z"),
            (
                "LISTENSPEC_HANDOFF",
                &format!("0:{}:{}:{hex};", file.dev(), file.ino()),
            ),
            (CHILD_READY, "1"),
        ],
    );
    assert!(out.contains("child: ready true"), "{out}");
    let after = std::fs::metadata(victim)
        .unwrap_or_else(|e| panic!("the live socket's file is gone ({e}):\n{out}"));
    assert_eq!(
        (after.dev(), after.ino()),
        (file.dev(), file.ino()),
        "{out}"
    );
    std::os::unix::net::UnixStream::connect(victim).unwrap();
    assert!(serving.accept().is_ok());
}

/// A forged handoff naming another process's live socket file, with any
/// Unix socket of the attacker's passed beside it for an endpoint the spec
/// does not have: the file is not that socket's (the kernel says which
/// file a socket made), so it is never taken for a dropped endpoint's,
/// and the successor, ready, leaves it and its server serving.
#[cfg(target_os = "linux")]
#[test]
fn a_forged_handoff_never_removes_another_process_s_live_socket_file() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_forged_handoff_never_removes_another_process_s_live_socket_file";
    let dir = TempDir::new("forged");
    let (victim, mine) = (dir.join("victim.sock"), dir.join("mine.sock"));
    let serving = std::os::unix::net::UnixListener::bind(&victim).unwrap();
    let passed = std::os::unix::net::UnixListener::bind(&mine).unwrap();
    forged_handoff_leaves(name, &victim, &serving, &passed);
}

/// The same forgery with a socket of another file system whose file has
/// the victim's inode number (fresh tmpfs mounts number alike): the
/// kernel names the device too, and the victim's file stays.
#[cfg(target_os = "linux")]
#[test]
fn a_forged_handoff_with_the_same_inode_on_another_file_system_removes_nothing() {
    use std::os::unix::fs::MetadataExt;
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_forged_handoff_with_the_same_inode_on_another_file_system_removes_nothing";
    if !crate::unix::needs_root(name) {
        return;
    }
    /// A fresh tmpfs, unmounted when dropped, even when the test fails.
    struct Tmpfs(std::path::PathBuf);
    impl Tmpfs {
        fn at(dir: std::path::PathBuf) -> Tmpfs {
            std::fs::create_dir_all(&dir).unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "tmpfs"])
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "mount -t tmpfs {}", dir.display());
            Tmpfs(dir)
        }
    }
    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let dir = TempDir::new("same-ino");
    let (a, b) = (Tmpfs::at(dir.join("a")), Tmpfs::at(dir.join("b")));
    let victim = a.0.join("victim.sock");
    let serving = std::os::unix::net::UnixListener::bind(&victim).unwrap();
    let file = std::fs::metadata(&victim).unwrap();
    // Bound and unlinked until one gets the victim's number.
    let passed = (0..1000)
        .find_map(|i| {
            let path = b.0.join(format!("s{i}.sock"));
            let socket = std::os::unix::net::UnixListener::bind(&path).unwrap();
            let ino = std::fs::metadata(&path).unwrap().ino();
            std::fs::remove_file(&path).unwrap();
            (ino == file.ino()).then_some(socket)
        })
        .expect("a socket file with the victim's inode number on the other tmpfs");
    forged_handoff_leaves(name, &victim, &serving, &passed);
    drop(serving);
    drop((a, b));
}

/// `LISTEN_FDS=2` with one socket passed, where the application opened a
/// socket of its own before binding (it got fd 4): that socket is its own,
/// close-on-exec as every descriptor std opens, so it is named for what it
/// is, nothing is taken, and both stay open.
#[cfg(unix)]
#[test]
fn a_socket_the_application_opened_is_never_taken_for_a_passed_one() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_socket_the_application_opened_is_never_taken_for_a_passed_one";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = activated_child(
        name,
        &format!("l = 127.0.0.1; l.web = http:{port}"),
        &[listener.as_raw_fd()],
        &[
            ("LISTEN_FDS", "2"),
            ("LISTEN_FDNAMES", "l.web:app"),
            (CHILD_OWN_SOCKET, "1"),
        ],
    );
    let want = "LISTEN_FDS=2 announces fds 3 to 4, but fd 4 (\"app\") is a socket this process opened itself (close-on-exec)";
    assert!(out.contains(want), "want {want:?} in:\n{out}");
    assert!(out.contains("not one passed to it"), "{out}");
    assert!(out.contains("none was taken or closed"), "{out}");
    assert!(out.contains("child: fd 3 open"), "{out}");
    assert!(out.contains("child: fd 4 open"), "{out}");
}

/// `LISTEN_FDNAMES` with a byte that is not UTF-8: a name no endpoint
/// has (shown escaped), an error, never the socket taken as unnamed by
/// its address as if the variable were not set.
#[cfg(unix)]
#[test]
fn a_listen_fdnames_not_utf8_is_a_name_no_endpoint_has() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_listen_fdnames_not_utf8_is_a_name_no_endpoint_has";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = child_with_fds(
        r#"export LISTEN_PID=$$ LISTEN_FDNAMES="$(printf 'l.web\377')"; exec "$@""#,
        name,
        &format!("l = 127.0.0.1; l.web = http:{port}"),
        &[listener.as_raw_fd()],
        &[("LISTEN_FDS", "1")],
    );
    assert!(out.contains("child: error"), "{out}");
    assert!(
        out.contains("matches no endpoint (did you mean l.web?)"),
        "{out}"
    );
    assert!(out.contains("\"l.web\u{fffd}\""), "{out}");
}

/// Hostile counts through the real environment: a bind error, no panic,
/// no abort, and quickly.
#[cfg(unix)] // socket activation passes descriptors by number, a Unix thing
#[test]
fn a_hostile_listen_fds_fails_the_bind_and_nothing_else() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_hostile_listen_fds_fails_the_bind_and_nothing_else";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cases = [
        (
            "18446744073709551615",
            "announces more descriptors than this process can have",
        ),
        (
            "4294967296",
            "announces more descriptors than this process can have",
        ),
        (
            "50000000",
            "announces more descriptors than this process can have",
        ),
        ("-1", "is negative"),
        ("two", "is not a count of descriptors"),
    ];
    let huge = "9".repeat(100_000);
    for (count, why) in cases {
        let started = std::time::Instant::now();
        let out = activated_child(
            name,
            &format!("l = 127.0.0.1; l.web = http:{port}"),
            &[listener.as_raw_fd()],
            &[("LISTEN_FDS", count)],
        );
        let want = format!("socket activation: LISTEN_FDS={count:?} {why}");
        assert!(out.contains(&want), "want {want:?} in:\n{out}");
        assert!(out.contains("child: fd 3 open"), "{out}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "LISTEN_FDS={count} took {:?}",
            started.elapsed()
        );
    }
    // A value of any length is quoted by its start (256 characters, the
    // opening quote one of them): the message stays short.
    let out = activated_child(
        name,
        &format!("l = 127.0.0.1; l.web = http:{port}"),
        &[listener.as_raw_fd()],
        &[("LISTEN_FDS", &huge)],
    );
    let want = format!(
        "socket activation: LISTEN_FDS=\"{}… (99746 more bytes) announces more descriptors",
        &huge[..255]
    );
    assert!(out.contains(&want), "want {want:?} in:\n{out}");
    assert!(out.len() < 4096, "{} bytes of output", out.len());
}

/// The sockets really passed are taken, close-on-exec, and only once: a
/// second take, after the application closed them, gets none and no error,
/// so the crate never owns a descriptor twice.
#[cfg(unix)] // socket activation passes descriptors by number, a Unix thing
#[test]
fn activated_sockets_are_taken_once() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let (addr, out) = activated_with_one_socket("bind::activated_sockets_are_taken_once");
    assert!(
        out.contains(&format!("child: bound {addr} Some(\"l.web\")")),
        "{out}"
    );
    assert!(out.contains("child: fd 3 cloexec true"), "{out}");
    assert!(out.contains("child: again 0"), "{out}");
}

/// A waiting async bind takes the service manager's socket as the plain
/// bind does, although it plans again at every attempt.
#[cfg(unix)] // socket activation passes descriptors by number, a Unix thing
#[test]
fn a_waiting_async_bind_takes_the_activated_socket() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        let spec: ListenSpec = spec.parse().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let waiting = listenspec::bind_all_async_waiting(&spec, std::time::Duration::from_secs(10));
        match rt.block_on(waiting) {
            Ok(bound) => print_bound(&bound),
            Err(e) => println!("child: error {}", e.to_string().replace('\n', " / ")),
        }
        return;
    }
    let (addr, out) =
        activated_with_one_socket("bind::a_waiting_async_bind_takes_the_activated_socket");
    assert!(
        out.contains(&format!("child: bound {addr} Some(\"l.web\")")),
        "{out}"
    );
}

/// `LISTEN_FDS` without `LISTEN_PID` (left by a parent that was itself
/// activated, say) is not this process's: nothing is taken, the endpoint
/// binds its own socket, and fd 3 stays the application's.
#[cfg(unix)] // socket activation passes descriptors by number, a Unix thing
#[test]
fn listen_fds_without_listen_pid_takes_nothing() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let out = child_with_fds(
        r#"exec "$@""#,
        "bind::listen_fds_without_listen_pid_takes_nothing",
        "l = 127.0.0.1; l.web = http:0",
        &[listener.as_raw_fd()],
        &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "l.web")],
    );
    assert!(out.contains("child: bound 127.0.0.1:"), "{out}");
    assert!(out.contains(" None\n"), "{out}");
    assert!(out.contains("child: fd 3 open"), "{out}");
}

/// Taking an endpoint as a type of another transport is refused and
/// leaves it there, for every type: it is then taken as what it is.
#[cfg(unix)] // Unix sockets
#[test]
fn a_refused_take_leaves_the_endpoint_for_every_type() {
    use listenspec::bind::WithFile;
    use std::os::unix::net::{UnixDatagram, UnixListener};
    let dir = TempDir::new("take");
    let text = format!(
        "local = 127.0.0.1\nlocal.web = tcp:0\nlocal.dns = udp:0\nfiles = unix\nfiles.api = unix:{}\nfiles.log = unixgram:{}\n",
        dir.join("api.sock").display(),
        dir.join("log.sock").display()
    );
    let mut bound = listenspec::bind_all(&text.parse().unwrap()).unwrap();
    let wrong = |e: listenspec::bind::TakeError| {
        assert!(
            matches!(e, listenspec::bind::TakeError::WrongTransport { .. }),
            "{e:?}"
        );
    };
    wrong(bound.take::<Vec<UdpSocket>>("local", "web").unwrap_err());
    wrong(
        bound
            .take::<WithFile<UnixListener>>("local", "web")
            .unwrap_err(),
    );
    wrong(bound.take::<Vec<TcpListener>>("local", "dns").unwrap_err());
    wrong(
        bound
            .take::<WithFile<UnixDatagram>>("files", "api")
            .unwrap_err(),
    );
    wrong(
        bound
            .take::<WithFile<UnixListener>>("files", "log")
            .unwrap_err(),
    );
    wrong(bound.take::<Vec<UdpSocket>>("files", "log").unwrap_err());
    let _: Vec<TcpListener> = bound.take("local", "web").unwrap();
    let _: Vec<UdpSocket> = bound.take("local", "dns").unwrap();
    let _: WithFile<UnixListener> = bound.take("files", "api").unwrap();
    let _: WithFile<UnixDatagram> = bound.take("files", "log").unwrap();
    bound.check_all_taken().unwrap();
}

/// A one-address `--listen` over a config adds an endpoint the server
/// does not know; the check after taking names it, and what to write to
/// move the config's endpoint instead.
#[test]
fn an_endpoint_the_server_never_took_fails_the_check_with_what_to_write() {
    use listenspec::spec::Layers;
    let spec = Layers::new()
        .text(
            "config.toml [listen]",
            "public = 127.0.0.1\npublic.http = http:0",
        )
        .text("--listen #1", "127.0.0.2:0")
        .build()
        .unwrap();
    let mut bound = listenspec::bind_all(&spec).unwrap();
    let _: Vec<TcpListener> = bound.take("public", "http").unwrap();
    let err = bound.check_all_taken().unwrap_err();
    assert!(
        matches!(&err, listenspec::bind::TakeError::NotTaken { endpoints, .. } if endpoints.len() == 1),
        "{err:?}"
    );
    let said = err.to_string();
    assert!(
        said.starts_with(
            "listen.tcp bound, but this server serves no such endpoint (it serves public.http)"
        ),
        "{said}"
    );
    assert!(
        said.contains("give its statement (--listen 'public.http = http:8282'; so too in $LISTEN)"),
        "{said}"
    );
    // Its sockets are there until the server takes or drops them.
    let extra: Vec<TcpListener> = bound.take("listen", "tcp").unwrap();
    assert_eq!(extra.len(), 1);
    bound.check_all_taken().unwrap();

    // A path given so is told how the endpoint moves to a Unix socket.
    #[cfg(unix)]
    {
        let dir = TempDir::new("moved");
        let spec = Layers::new()
            .text(
                "config.toml [listen]",
                "public = 127.0.0.1\npublic.http = http:0",
            )
            .text("--listen #1", dir.join("g.sock").to_str().unwrap())
            .build()
            .unwrap();
        let mut bound = listenspec::bind_all(&spec).unwrap();
        let _: Vec<TcpListener> = bound.take("public", "http").unwrap();
        let said = bound.check_all_taken().unwrap_err().to_string();
        assert!(
            said.contains(
                "or to a Unix socket --listen 'public = unix; public.http = http:/PATH/TO.sock'; so too in $LISTEN)"
            ),
            "{said}"
        );
        drop(bound);
    }
}

/// The handoff's variable counts only in the process it names: set empty,
/// forged, naming another process (its parent, as older versions did), or
/// left over from another process's upgrade, it does not turn
/// socket activation's checks into the handoff's silent close (a socket
/// that disagrees with the plan is refused, naming how).
#[cfg(target_os = "linux")]
#[test]
fn a_stray_handoff_variable_leaves_activation_checks_as_they_are() {
    if let Ok(spec) = std::env::var(CHILD_SPEC) {
        return activation_child(&spec);
    }
    let name = "bind::a_stray_handoff_variable_leaves_activation_checks_as_they_are";
    let parent = std::process::id().to_string();
    let named_parent = format!("0:1:2;{parent}");
    let older = format!("{parent};0:1:2");
    for value in [
        "",
        "1;",
        ";1",
        "0:1:2",
        "1;0:1:2",
        "0:1:2;1",
        &named_parent,
        &older,
    ] {
        let pinned = raw_socket("127.0.0.1:0", false, None, Some("lo"));
        let port = port_of(&pinned);
        let out = activated_child(
            name,
            &format!("l = 127.0.0.1; l.web = http:{port}"),
            &[pinned.as_raw_fd()],
            &[
                ("LISTEN_FDS", "1"),
                ("LISTEN_FDNAMES", "l.web"),
                ("LISTENSPEC_HANDOFF", value),
            ],
        );
        assert!(
            out.contains("is pinned to lo, but the plan pins it to no device (SO_BINDTODEVICE)"),
            "{value:?}: {out}"
        );
    }
}

/// A passed socket the plan does not have is told the spec that would plan
/// it, written so that it parses: a link-local address with its zone, a
/// wildcard on a network that may have one (and `v6only=false` for a
/// dual-stack `[::]`); an IPv4-mapped address, which no plan opens, only
/// the unit's side.
#[test]
fn a_mismatched_passed_socket_is_told_a_spec_that_would_plan_it() {
    use listenspec::spec::{Name, QualifiedName};
    let endpoint = QualifiedName::new("l".parse::<Name>().unwrap(), "web".parse().unwrap());
    let hint = |addr: &str| {
        let addr: SocketAddr = addr.parse().unwrap();
        Cause::InheritedMismatch {
            name: "l.web".to_owned(),
            found: format!("tcp {addr}"),
            expected: vec!["tcp 127.0.0.1:80".to_owned()],
            endpoint: endpoint.clone(),
            addr: Some(addr),
        }
        .hint(Transport::Tcp, "127.0.0.1:80".parse().unwrap())
    };
    for (addr, network) in [
        ("[fe80::1%3]:80", "l = fe80::1%3"),
        ("0.0.0.0:80", "l = 0.0.0.0 expose=public"),
        ("[::]:80", "l = :: expose=public"),
        ("10.1.2.3:8443", "l = 10.1.2.3"),
    ] {
        let text = hint(addr);
        assert!(text.contains(&format!("`{network}`")), "{addr}: {text}");
        let port = addr.rsplit_once(':').unwrap().1;
        let spec = format!("{network}\nl.web = tcp:{port}");
        spec.parse::<ListenSpec>()
            .unwrap_or_else(|e| panic!("{addr}: {spec}: {e}"));
    }
    assert!(hint("[::]:80").contains("with v6only=false if the socket takes IPv4 too"));
    let mapped = hint("[::ffff:127.0.0.1]:80");
    assert!(!mapped.contains("or the spec with the socket"), "{mapped}");
}
