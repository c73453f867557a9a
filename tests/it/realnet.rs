//! listenspec on real interfaces: veth links between throw-away network
//! namespaces, with real routes, real duplicate address detection and real
//! NAT. Each test builds its own small network (the functions at the end),
//! so the test bodies read as the behaviour a server sees.
//!
//! Addresses are 203.0.113.0/24 and 2001:db8:1::/64 for the public network,
//! 198.51.100.0/24 and 2001:db8:2::/64 for the ops network; nothing here
//! touches the root namespace.

#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use listenspec::plan::ProblemKind;
use listenspec::{Host, ListenSpec, Plan};

use crate::netns::{Netns, netns_or_skip, two_netns_or_skip};
use listenspec::bind::BoundEndpoint;
use listenspec::bind::FromEndpoint;

/// The longest any connect or accept here may take. Every one of them is
/// between namespaces on one machine, so this is only a bound on a hang.
const PATIENCE: Duration = Duration::from_secs(5);

fn spec(text: &str) -> ListenSpec {
    text.parse()
        .unwrap_or_else(|e| panic!("spec {text:?}: {e}"))
}

fn addrs(list: &[&str]) -> BTreeSet<SocketAddr> {
    list.iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The addresses as a set, refusing duplicates (a set would hide them).
fn as_set(list: &[SocketAddr]) -> BTreeSet<SocketAddr> {
    let set: BTreeSet<SocketAddr> = list.iter().copied().collect();
    assert_eq!(set.len(), list.len(), "an address twice in {list:?}");
    set
}

// ---------------------------------------------------------------------------
// 1. Selectors bind exactly the expected addresses on real interfaces.

#[test]
fn selectors_bind_exactly_their_addresses_on_real_interfaces() {
    let Some(site) = site("selectors_bind_exactly_their_addresses_on_real_interfaces") else {
        return;
    };
    let spec = spec(
        "public      = if:pub0 expose=public
         ops         = 198.51.100.0/24, 2001:db8:2::/64
         public.http = http:8080
         ops.metrics = http:9100 device
         ops.snmp    = udp:1161 device",
    );
    // bind_all reads the interfaces of the namespace it runs in.
    let bound = site
        .server
        .run(|| listenspec::bind_all(&spec))
        .unwrap_or_else(|e| panic!("{e}"));

    let endpoint = |net: &str, name: &str| {
        as_set(
            &bound
                .endpoint(net, name)
                .unwrap_or_else(|| panic!("no {net}.{name}"))
                .local_addrs(),
        )
    };
    let http = addrs(&["203.0.113.1:8080", "[2001:db8:1::1]:8080"]);
    let metrics = addrs(&["198.51.100.1:9100", "[2001:db8:2::1]:9100"]);
    let snmp = addrs(&["198.51.100.1:1161", "[2001:db8:2::1]:1161"]);
    assert_eq!(endpoint("public", "http"), http);
    assert_eq!(endpoint("ops", "metrics"), metrics);
    assert_eq!(endpoint("ops", "snmp"), snmp);

    // The kernel agrees: these sockets and no others, the ops ones pinned to
    // ops0 (SO_BINDTODEVICE, which ss shows as `%ops0`), none on a wildcard.
    let mut expected = BTreeSet::new();
    for a in http {
        expected.insert(Socket::new("tcp", a, None));
    }
    for a in metrics {
        expected.insert(Socket::new("tcp", a, Some("ops0")));
    }
    for a in snmp {
        expected.insert(Socket::new("udp", a, Some("ops0")));
    }
    let seen = sockets_in(&site.server);
    let wildcards: Vec<&Socket> = seen
        .iter()
        .filter(|s| s.addr.ip().is_unspecified())
        .collect();
    assert!(wildcards.is_empty(), "wildcard sockets: {wildcards:?}");
    assert_eq!(seen, expected);

    // Closing the endpoints closes the sockets.
    drop(bound);
    assert_no_sockets(&site.server);
}

#[test]
fn interface_globs_and_excludes_pick_by_name_and_block() {
    let Some(site) = site("interface_globs_and_excludes_pick_by_name_and_block") else {
        return;
    };
    // A third interface whose name the glob must not match.
    site.server.veth_pair("lab7", "lab8");
    site.server.addr("lab7", "2001:db8:9::1/64");
    site.server.up("lab7");
    site.server.up("lab8");
    site.server.wait_running("lab7");

    let spec = spec(
        "edge       = if:*0, !if:ops0 expose=public
         inner      = if:*0, !if:pub0, !2001:db8::/32
         edge.web   = tcp:8443
         inner.snmp = udp:1161",
    );
    let bound = site
        .server
        .run(|| listenspec::bind_all(&spec))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        as_set(&bound.endpoint("edge", "web").unwrap().local_addrs()),
        addrs(&["203.0.113.1:8443", "[2001:db8:1::1]:8443"]),
        "if:*0 takes pub0 and ops0 (not lab7, not lo), !if:ops0 drops ops0"
    );
    assert_eq!(
        as_set(&bound.endpoint("inner", "snmp").unwrap().local_addrs()),
        addrs(&["198.51.100.1:1161"]),
        "!if:pub0 drops pub0, !2001:db8::/32 drops every IPv6 address left"
    );
    let expected: BTreeSet<Socket> = [
        Socket::new("tcp", sock("203.0.113.1:8443"), None),
        Socket::new("tcp", sock("[2001:db8:1::1]:8443"), None),
        Socket::new("udp", sock("198.51.100.1:1161"), None),
    ]
    .into();
    assert_eq!(sockets_in(&site.server), expected);
}

// ---------------------------------------------------------------------------
// 2. freebind: bind an address before the host has it.

#[test]
fn freebind_binds_an_address_before_the_host_has_it() {
    let Some((server, peer)) =
        two_netns_or_skip("freebind_binds_an_address_before_the_host_has_it")
    else {
        return;
    };
    link(
        (&server, "pub0", &["203.0.113.1/24", "2001:db8:1::1/64"]),
        (&peer, "pub1", &["203.0.113.2/24", "2001:db8:1::2/64"]),
    );
    // A floating address (a VIP that keepalived moves here later). The
    // snapshot claims it so that the planner accepts it; the kernel has not
    // got it.
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .interface(
            "pub0",
            server.index("pub0"),
            [
                "203.0.113.1/24",
                "203.0.113.200/24",
                "2001:db8:1::1/64",
                "2001:db8:1::200/64",
            ],
        )
        .build()
        .unwrap();
    let vip = ["203.0.113.200:8080", "[2001:db8:1::200]:8080"].map(sock);
    let plain = plan_on(
        &host,
        "vip = 203.0.113.200, 2001:db8:1::200; vip.http = http:8080",
    );
    let free = plan_on(
        &host,
        "vip = 203.0.113.200, 2001:db8:1::200; vip.http = http:8080 freebind",
    );

    let err = server.run(|| plain.bind_inherited(Vec::new())).unwrap_err();
    let failed: Vec<Option<SocketAddr>> = err.failures().iter().map(|f| f.addr()).collect();
    assert_eq!(failed, vip.map(Some), "both families fail: {err}");
    for f in err.failures() {
        assert_eq!(
            f.os_error().map(io::Error::kind),
            Some(ErrorKind::AddrNotAvailable),
            "{f}"
        );
        assert!(f.hint().contains("freebind"), "{}", f.hint());
    }
    assert_no_sockets(&server);

    let mut bound = server
        .run(|| free.bind_inherited(Vec::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bound.endpoint("vip", "http").unwrap().local_addrs(), vip);
    let listeners = bound.take::<Vec<TcpListener>>("vip", "http").unwrap();

    // The address arrives, and the sockets bound before it serve it.
    server.addr("pub0", "203.0.113.200/24");
    server.addr("pub0", "2001:db8:1::200/64");
    for (listener, target) in listeners.iter().zip(vip) {
        let client = connect_from(&peer, target)
            .unwrap_or_else(|e| panic!("connect to {target} from the peer: {e}"));
        assert_reaches(listener, &client);
    }
}

// ---------------------------------------------------------------------------
// 3. A fresh IPv6 address is tentative until duplicate address detection ends.

#[test]
fn a_tentative_ipv6_address_fails_with_a_hint_and_freebind_binds_it() {
    let Some((server, peer)) =
        two_netns_or_skip("a_tentative_ipv6_address_fails_with_a_hint_and_freebind_binds_it")
    else {
        return;
    };
    link((&server, "pub0", &[]), (&peer, "pub1", &[]));
    // 50 probes one second apart: the address stays tentative for 50 s, far
    // longer than this test, whatever the machine's speed.
    server.exec(&[
        "sh",
        "-c",
        "echo 50 > /proc/sys/net/ipv6/conf/pub0/dad_transmits",
    ]);
    // Without `nodad`, on a link with carrier: DAD starts now.
    server.ip(&["addr", "add", "2001:db8:3::1/64", "dev", "pub0"]);
    assert!(is_tentative(&server, "pub0", "2001:db8:3::1"));

    let plain = spec("api = 2001:db8:3::1; api.grpc = tcp:9000");
    let free = spec("api = 2001:db8:3::1; api.grpc = tcp:9000 freebind");
    let (host, warnings, err) = server.run(|| {
        let host = listenspec::capture(&plain).unwrap();
        let plan = listenspec::plan(&plain, &host).unwrap_or_else(|e| panic!("{e}\n{host}"));
        let warnings: Vec<String> = plan.warnings().iter().map(ToString::to_string).collect();
        let err = plan.bind_inherited(Vec::new()).unwrap_err();
        (host, warnings, err)
    });
    // The snapshot records the address as tentative, and the plan warns
    // of exactly the failure that follows.
    let pub0 = host.interface("pub0").unwrap();
    assert!(
        pub0.addr_flags("2001:db8:3::1".parse().unwrap())
            .is_tentative(),
        "{host}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("2001:db8:3::1 on pub0 is tentative")
                && w.contains("EADDRNOTAVAIL")
                && w.contains("freebind")),
        "{warnings:?}"
    );
    let [f] = err.failures() else {
        panic!("expected one failure: {err}")
    };
    assert_eq!(f.addr(), Some(sock("[2001:db8:3::1]:9000")));
    assert_eq!(
        f.os_error().map(io::Error::kind),
        Some(ErrorKind::AddrNotAvailable),
        "{f}"
    );
    let hint = f.hint();
    assert!(hint.contains("tentative"), "{hint}");
    assert!(hint.contains("freebind"), "{hint}");
    // Still tentative: that, not a missing address, is why it failed.
    assert!(is_tentative(&server, "pub0", "2001:db8:3::1"));

    let bound = server
        .run(|| {
            let host = listenspec::capture(&free)?;
            Ok::<_, listenspec::Error>(listenspec::plan(&free, &host)?.bind_inherited(Vec::new())?)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bound.endpoint("api", "grpc").unwrap().local_addrs(),
        [sock("[2001:db8:3::1]:9000")]
    );
    assert!(is_tentative(&server, "pub0", "2001:db8:3::1"));
}

// ---------------------------------------------------------------------------
// 4. Isolation between networks: by address alone it does not hold.

#[test]
fn without_device_a_public_peer_reaches_the_ops_address_as_the_plan_warns() {
    let Some(site) = site("without_device_a_public_peer_reaches_the_ops_address_as_the_plan_warns")
    else {
        return;
    };
    let (plan, admin) = start_admin(&site.server, "ops = if:ops0; ops.admin = tcp:9000");
    let warned: Vec<String> = plan
        .warnings()
        .iter()
        .filter(|p| format!("{:?}", p.kind()).starts_with("AddressOnlyIsolation"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(warned.len(), 1, "warnings: {:?}", plan.warnings());
    assert!(warned[0].starts_with("ops.admin: "), "{}", warned[0]);
    assert!(warned[0].contains("198.51.100.1"), "{}", warned[0]);
    assert!(warned[0].contains("fix: add `device`"), "{}", warned[0]);

    // The public peer only has to route the ops block via the server's
    // public address (weak host model: any local address on any interface).
    site.public
        .route("198.51.100.0/24", &["via", "203.0.113.1"]);
    let client = connect_from(&site.public, ADMIN)
        .unwrap_or_else(|e| panic!("the warning says this connects, but: {e}"));
    assert_eq!(client.local_addr().unwrap().ip(), ip("203.0.113.2"));
    assert_reaches(&admin, &client);
}

#[test]
fn with_device_the_public_peer_is_refused_and_ops_and_the_host_connect() {
    let Some(site) = site("with_device_the_public_peer_is_refused_and_ops_and_the_host_connect")
    else {
        return;
    };
    let (plan, admin) = start_admin(&site.server, "ops = if:ops0; ops.admin = tcp:9000 device");
    assert_eq!(
        plan.endpoint("ops", "admin").unwrap().binds()[0].device(),
        Some("ops0")
    );
    let warned: Vec<_> = plan
        .warnings()
        .iter()
        .filter(|p| format!("{:?}", p.kind()).starts_with("AddressOnlyIsolation"))
        .collect();
    assert!(warned.is_empty(), "{warned:?}");

    site.public
        .route("198.51.100.0/24", &["via", "203.0.113.1"]);
    // A control socket on the same address without `device`: the route is
    // good, so only SO_BINDTODEVICE can refuse the peer below.
    let control = site
        .server
        .run(|| TcpListener::bind("198.51.100.1:9001"))
        .unwrap();
    let probe = connect_from(&site.public, sock("198.51.100.1:9001"))
        .unwrap_or_else(|e| panic!("the public peer's route to the ops block: {e}"));
    assert_reaches(&control, &probe);

    let refused = connect_from(&site.public, ADMIN);
    assert_eq!(
        refused.as_ref().map_err(io::Error::kind).err(),
        Some(ErrorKind::ConnectionRefused),
        "{refused:?}"
    );

    let from_ops = connect_from(&site.ops, ADMIN).unwrap_or_else(|e| panic!("the ops peer: {e}"));
    assert_eq!(from_ops.local_addr().unwrap().ip(), ip("198.51.100.2"));
    assert_reaches(&admin, &from_ops);

    // A client on the server itself (over lo) still gets in: local traffic
    // to an address counts as arriving on the interface holding it.
    let from_host = connect_from(&site.server, ADMIN)
        .unwrap_or_else(|e| panic!("a client on the server host: {e}"));
    assert_reaches(&admin, &from_host);
}

/// The ops address the isolation tests listen on.
const ADMIN: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1)), 9000);

/// Plans `spec_text` against the server namespace's own interfaces and binds
/// it there, as a server would at start-up; the plan and the IPv4 listener
/// of `ops.admin` (the one on [`ADMIN`]).
fn start_admin(server: &Netns, spec_text: &str) -> (Plan, TcpListener) {
    let spec = spec(spec_text);
    let (plan, listeners) = server.run(|| {
        let host = listenspec::capture(&spec).unwrap();
        let plan = listenspec::plan(&spec, &host).unwrap_or_else(|e| panic!("{e}\n{host}"));
        let mut bound = plan
            .bind_inherited(Vec::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let admin = bound
            .take::<Vec<TcpListener>>("ops", "admin")
            .expect("ops.admin is TCP");
        (plan, admin)
    });
    let local: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    assert_eq!(
        as_set(&local),
        addrs(&["198.51.100.1:9000", "[2001:db8:2::1]:9000"]),
        "if:ops0 takes both of ops0's addresses"
    );
    let admin = listeners
        .into_iter()
        .find(|l| l.local_addr().is_ok_and(|a| a == ADMIN))
        .unwrap();
    (plan, admin)
}

// ---------------------------------------------------------------------------
// 5. NAT: clients use an address the server cannot bind.

#[test]
fn behind_nat_clients_use_the_advertised_address_the_server_cannot_bind() {
    const TEST: &str = "behind_nat_clients_use_the_advertised_address_the_server_cannot_bind";
    if !tool_or_skip(TEST, "nft") {
        return;
    }
    let Some((server, client)) = two_netns_or_skip(TEST) else {
        return;
    };
    link(
        (&server, "ops0", &["198.51.100.1/24"]),
        (&client, "ops1", &["198.51.100.2/24"]),
    );
    // The client's side of the world: 203.0.113.80:80 is the service's
    // public address, which a NAT maps to the server's 198.51.100.1:8080.
    // (The route makes 203.0.113.80 routable before the NAT rewrites it.)
    client.route("203.0.113.80/32", &["via", "198.51.100.1"]);
    for cmd in [
        "add table ip ls_nat",
        "add chain ip ls_nat output { type nat hook output priority -100; policy accept; }",
        "add rule ip ls_nat output ip daddr 203.0.113.80 tcp dport 80 dnat to 198.51.100.1:8080",
    ] {
        client.exec(&["nft", cmd]);
    }

    let nat = spec(
        "public      = if:ops0 expose=public advertise http://203.0.113.80
         public.http = http:8080",
    );
    let mut bound = server
        .run(|| listenspec::bind_all(&nat))
        .unwrap_or_else(|e| panic!("{e}"));
    let http = bound.endpoint("public", "http").unwrap();
    assert_eq!(http.local_addrs(), [sock("198.51.100.1:8080")]);
    let url = http.advertised().expect("advertised").clone();
    assert_eq!(url.as_str(), "http://203.0.113.80/");
    let listener = bound
        .take::<Vec<TcpListener>>("public", "http")
        .unwrap()
        .remove(0);

    // The client knows only the URL.
    let url = url::Url::parse(url.as_str()).unwrap();
    let target = SocketAddr::new(
        ip(url.host_str().unwrap()),
        url.port_or_known_default().unwrap(),
    );
    assert_eq!(target, sock("203.0.113.80:80"));
    let stream = connect_from(&client, target)
        .unwrap_or_else(|e| panic!("the advertised {url} from the client: {e}"));
    assert_eq!(
        stream.peer_addr().unwrap(),
        target,
        "the client sees the public address"
    );
    let accepted = assert_reaches(&listener, &stream);
    assert_eq!(accepted.local_addr().unwrap(), sock("198.51.100.1:8080"));

    // Binding the public address itself is refused before any socket, with
    // the reason.
    let wrong = spec(
        "public      = 203.0.113.80 expose=public
         public.http = http:8080",
    );
    let err = server.run(|| listenspec::bind_all(&wrong)).unwrap_err();
    let listenspec::Error::Plan(err) = err else {
        panic!("expected a plan error, got {err}")
    };
    let [p] = err.errors() else {
        panic!("expected one error: {err}")
    };
    assert!(matches!(p.kind(), ProblemKind::NotLocal { .. }), "{p}");
    let text = p.to_string();
    assert!(
        text.contains("203.0.113.80 is not an address of this host"),
        "{text}"
    );
    // The host is listed once, under all the errors, not in each problem.
    let whole = err.to_string();
    assert!(
        whole.contains("198.51.100.1"),
        "lists the host's addresses: {whole}"
    );
    assert!(p.fix().contains("NAT"), "{}", p.fix());
}

// ---------------------------------------------------------------------------
// Topologies and probes.

// ---------------------------------------------------------------------------
// Link-local IPv6: bound with its scope id, reachable on its own link.

#[test]
fn a_link_local_address_binds_with_its_scope_and_takes_connections_on_its_link() {
    let test = "a_link_local_address_binds_with_its_scope_and_takes_connections_on_its_link";
    let Some((server, peer)) = two_netns_or_skip(test) else {
        return;
    };
    link(
        (&server, "ll0", &["fe80::1/64"]),
        (&peer, "ll1", &["fe80::2/64"]),
    );
    let spec = spec("ops = fe80::1%ll0\nops.m = tcp:0 device");
    let mut bound = server
        .run(|| listenspec::bind_all(&spec))
        .unwrap_or_else(|e| panic!("{e}"));
    let ep = bound.take::<BoundEndpoint>("ops", "m").unwrap();
    let SocketAddr::V6(local) = ep.local_addrs()[0] else {
        panic!("not IPv6: {:?}", ep.local_addrs())
    };
    assert_eq!(local.ip().to_string(), "fe80::1");
    assert_eq!(
        local.scope_id(),
        server.index("ll0"),
        "bound with its scope id"
    );
    let listener = Vec::<TcpListener>::from_endpoint(ep).unwrap().remove(0);
    // From the peer, fe80::1 exists only through the peer's own link.
    let target = std::net::SocketAddrV6::new(*local.ip(), local.port(), 0, peer.index("ll1"));
    let client = connect_from(&peer, target.into()).expect("the peer reaches it on its link");
    assert_reaches(&listener, &client);
}

// ---------------------------------------------------------------------------
// 7. The IPv4 wildcard in IPv6 spelling, held by a real interface.

#[test]
fn an_interface_holding_the_mapped_wildcard_never_gets_it_bound() {
    let test = "an_interface_holding_the_mapped_wildcard_never_gets_it_bound";
    let Some((server, peer)) = two_netns_or_skip(test) else {
        return;
    };
    link(
        (&server, "pub0", &["203.0.113.1/24"]),
        (&peer, "pub1", &["203.0.113.2/24"]),
    );
    // The kernel takes it; no documentation range is involved, since it is
    // no address of any other host.
    server.ip(&[
        "-6",
        "addr",
        "add",
        "::ffff:0.0.0.0/96",
        "dev",
        "pub0",
        "nodad",
    ]);

    // What makes it dangerous, shown on the real kernel: a dual-stack socket
    // bound to it takes IPv4 connections to the host's own addresses.
    let raw = server.run(|| {
        let s = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        s.set_only_v6(false).unwrap();
        s.bind(&sock("[::ffff:0.0.0.0]:0").into()).unwrap();
        s.listen(8).unwrap();
        TcpListener::from(s)
    });
    let port = raw.local_addr().unwrap().port();
    let client = connect_from(&peer, SocketAddr::new(ip("203.0.113.1"), port))
        .expect("the mapped wildcard takes IPv4 connections to 203.0.113.1");
    drop(client);
    drop(raw);
    assert_no_sockets(&server);

    // Every way a private network could reach it is refused before a socket
    // is opened, with the interface named.
    for selectors in ["if:pub0", "::/0", "::fffe:0:0/95"] {
        let text = format!("ops = {selectors}\nops.admin = tcp:8080 v6only=false device");
        let spec = spec(&text);
        let host = server.run(|| listenspec::capture(&spec)).unwrap();
        assert!(
            host.interface("pub0")
                .unwrap()
                .addrs()
                .iter()
                .any(|n| n.to_string() == "::ffff:0.0.0.0/96"),
            "the capture sees the mapped address: {host}"
        );
        let err = server.run(|| listenspec::bind_all(&spec)).expect_err(&text);
        let listenspec::Error::Plan(plan) = &err else {
            panic!("{text}: refused by the plan, not by a bind: {err}");
        };
        assert!(
            plan.errors().iter().any(|p| matches!(
                p.kind(),
                ProblemKind::Unlistenable { interface, .. } if interface == "pub0"
            )),
            "{text}: {err}"
        );
        assert_no_sockets(&server);
    }
}

/// A server with a link to a public network and one to an ops network, and
/// one peer namespace on each.
struct Site {
    /// pub0: 203.0.113.1/24, 2001:db8:1::1/64; ops0: 198.51.100.1/24,
    /// 2001:db8:2::1/64.
    server: Netns,
    /// pub1: 203.0.113.2/24, 2001:db8:1::2/64.
    public: Netns,
    /// ops1: 198.51.100.2/24, 2001:db8:2::2/64.
    ops: Netns,
}

fn site(test: &str) -> Option<Site> {
    let (server, public) = two_netns_or_skip(test)?;
    let ops = netns_or_skip(test)?;
    link(
        (&server, "pub0", &["203.0.113.1/24", "2001:db8:1::1/64"]),
        (&public, "pub1", &["203.0.113.2/24", "2001:db8:1::2/64"]),
    );
    link(
        (&server, "ops0", &["198.51.100.1/24", "2001:db8:2::1/64"]),
        (&ops, "ops1", &["198.51.100.2/24", "2001:db8:2::2/64"]),
    );
    Some(Site {
        server,
        public,
        ops,
    })
}

/// One end of a link: namespace, interface name, addresses (IPv6 without DAD).
type End<'a> = (&'a Netns, &'a str, &'a [&'a str]);

/// A veth between two namespaces with the addresses given, both ends up and
/// running (carrier), so a capture sees them up.
fn link(a: End<'_>, b: End<'_>) {
    let ((ns_a, if_a, addrs_a), (ns_b, if_b, addrs_b)) = (a, b);
    ns_a.veth(if_a, ns_b, if_b);
    for (ns, ifname, addrs) in [(ns_a, if_a, addrs_a), (ns_b, if_b, addrs_b)] {
        for a in addrs {
            ns.addr(ifname, a);
        }
        ns.up(ifname);
    }
    ns_a.wait_running(if_a);
    ns_b.wait_running(if_b);
}

fn plan_on(host: &Host, text: &str) -> Plan {
    listenspec::plan(&spec(text), host).unwrap_or_else(|e| panic!("{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Connects to `to` from inside `from`, giving up after [`PATIENCE`].
fn connect_from(from: &Netns, to: SocketAddr) -> io::Result<TcpStream> {
    from.run(|| TcpStream::connect_timeout(&to, PATIENCE))
}

/// Accepts `client`'s connection on `listener` (waiting at most
/// [`PATIENCE`]) and passes a message over it: the connection reached this
/// very socket, not merely some socket. Returns the server's side.
fn assert_reaches(listener: &TcpListener, client: &TcpStream) -> TcpStream {
    let deadline = Instant::now() + PATIENCE;
    listener.set_nonblocking(true).unwrap();
    let (mut server, peer) = loop {
        match listener.accept() {
            Ok(pair) => break pair,
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!(
                "{:?} accepted nothing from {:?}: {e}",
                listener.local_addr(),
                client.local_addr()
            ),
        }
    };
    listener.set_nonblocking(false).unwrap();
    assert_eq!(peer, client.local_addr().unwrap(), "accepted someone else");
    let mut client = client;
    client.write_all(b"ping").unwrap();
    server.set_nonblocking(false).unwrap();
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0; 4];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    server
}

/// Whether `ifname` in `ns` holds `addr` and it is still tentative (DAD).
fn is_tentative(ns: &Netns, ifname: &str, addr: &str) -> bool {
    let out = ns.ip(&["-j", "addr", "show", "dev", ifname]);
    let links: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j addr: {e}: {out}"));
    let entry = links[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["local"] == addr)
        .unwrap_or_else(|| panic!("{addr} is not on {ifname}: {out}"));
    entry["tentative"] == true
}

/// A socket as `ss` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Socket {
    /// `tcp` or `udp`.
    transport: String,
    addr: SocketAddr,
    /// The SO_BINDTODEVICE interface.
    device: Option<String>,
}

impl Socket {
    fn new(transport: &str, addr: SocketAddr, device: Option<&str>) -> Socket {
        Socket {
            transport: transport.to_owned(),
            addr,
            device: device.map(str::to_owned),
        }
    }
}

/// Every listening TCP and bound UDP socket in `ns`, as `ss -ltnuH` lists
/// them: `tcp LISTEN 0 1024 [2001:db8:2::1]%ops0:9100 [::]:*`.
fn sockets_in(ns: &Netns) -> BTreeSet<Socket> {
    let out = ns.exec(&["ss", "-ltnuH"]);
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (transport, local) = match fields.as_slice() {
                [t, _state, _recv, _send, local, _peer] => (*t, *local),
                _ => panic!("unexpected ss line {line:?}"),
            };
            let (host, port) = local
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("no port in {line:?}"));
            let (host, device) = match host.split_once('%') {
                Some((h, d)) => (h, Some(d)),
                None => (host, None),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            // ss writes a dual-stack wildcard as `*`.
            let ip: IpAddr = if host == "*" {
                IpAddr::from([0u16; 8])
            } else {
                host.parse()
                    .unwrap_or_else(|e| panic!("{host:?} in {line:?}: {e}"))
            };
            let port: u16 = port
                .parse()
                .unwrap_or_else(|e| panic!("{port:?} in {line:?}: {e}"));
            Socket::new(transport, SocketAddr::new(ip, port), device)
        })
        .collect()
}

/// Waits (at most [`PATIENCE`]) until `ns` has no sockets left. Not at once:
/// a process that another test thread is starting holds a copy of every
/// descriptor of this process, close-on-exec ones too, until its `exec`, so
/// a socket closed here can outlive its `close` by that long.
fn assert_no_sockets(ns: &Netns) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = sockets_in(ns);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "sockets still open: {left:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `tool` runs; if not, prints `SKIP test: why`, or panics under
/// `CI`, which installs every tool the tests use (as [`netns_or_skip`]).
fn tool_or_skip(test: &str, tool: &str) -> bool {
    let why = match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "`{tool} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("cannot run `{tool}` (install it): {e}"),
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI must run this test, but: {why}");
    }
    eprintln!("SKIP {test}: {why}");
    false
}
