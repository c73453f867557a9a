//! Rollback through the failure seam: whichever socket fails, every socket
//! opened before it is closed and the error names the failing one.

use std::io;
#[cfg(unix)]
use std::os::fd::AsRawFd;

use socket2::Socket;

use super::socket::{Open, System};
#[cfg(unix)]
use super::unix::SocketFile;
use super::{BoundEndpoint, bind_with, dual_stack, takes, who_holds};
#[cfg(unix)]
use super::{Cause, Step, ToOpen, UnixError, open_planned};
#[cfg(unix)]
use crate::plan::UnixBind;
use crate::plan::{Bind, PlannedEndpoint};
use crate::spec::Transport;
use crate::{Host, ListenSpec, Plan};

/// Opens real sockets but fails the `k`-th call, and remembers the inode of
/// every socket it opened so the test can check they were all closed.
///
/// It and its tests are Unix-only: Windows has no `/proc/self/fd` to list
/// a process's open sockets by.
#[cfg(unix)]
struct FailAt {
    k: usize,
    calls: usize,
    inodes: Vec<String>,
}

#[cfg(unix)]
impl Open for FailAt {
    fn open(&mut self, ep: &PlannedEndpoint, bind: &Bind, port: u16) -> io::Result<Socket> {
        let n = self.calls;
        self.calls += 1;
        if n == self.k {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        let s = System.open(ep, bind, port)?;
        self.record(&s);
        Ok(s)
    }

    fn open_unix(
        &mut self,
        ep: &PlannedEndpoint,
        unix: &UnixBind,
    ) -> Result<(Socket, Option<SocketFile>), UnixError> {
        let n = self.calls;
        self.calls += 1;
        if n == self.k {
            return Err(UnixError::Os {
                step: Step::Bind,
                error: io::Error::from_raw_os_error(libc::EACCES),
            });
        }
        let (s, file) = super::unix::open(ep, unix)?;
        self.record(&s);
        Ok((s, file))
    }
}

#[cfg(unix)]
impl FailAt {
    fn record(&mut self, s: &Socket) {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", s.as_raw_fd())).unwrap();
        self.inodes.push(link.to_string_lossy().into_owned());
    }
}

/// Sockets of this process, by their `socket:[inode]` link: unique while
/// open, so the check holds while other tests open descriptors in parallel.
#[cfg(unix)]
fn open_sockets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|l| l.to_string_lossy().into_owned())
                .filter(|l| l.starts_with("socket:"))
                .collect()
        })
        .unwrap_or_default()
}

fn loopback_plan(spec: &str) -> Plan {
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8", "::1/128"])
        .build()
        .unwrap();
    let spec: ListenSpec = spec.parse().unwrap();
    crate::plan(&spec, &host).unwrap()
}

#[cfg(unix)] // FailAt: /proc/self/fd
#[test]
fn a_failure_at_any_socket_closes_every_other() {
    let plan = loopback_plan(
        "local = loopback
         local.a = tcp:0
         local.b = udp:0
         local.c = http:0",
    );
    let total = plan
        .endpoints()
        .iter()
        .map(|e| e.binds().len())
        .sum::<usize>();
    assert_eq!(total, 6);
    for k in 0..total {
        let mut seam = FailAt {
            k,
            calls: 0,
            inodes: Vec::new(),
        };
        let err = bind_with(&plan, Vec::new(), &mut seam).unwrap_err();
        // Every socket is attempted, so exactly the k-th fails and the rest opened.
        assert_eq!(seam.calls, total, "k={k}");
        assert_eq!(seam.inodes.len(), total - 1, "k={k}");
        assert_eq!(err.failures().len(), 1, "k={k}: {err}");
        let f = &err.failures()[0];
        assert!(
            matches!(f.cause(), Cause::Os { .. }) && f.hint().contains("see the OS error"),
            "k={k}: {f}"
        );
        let still_open = open_sockets();
        let leaked: Vec<&String> = seam
            .inodes
            .iter()
            .filter(|i| still_open.contains(i))
            .collect();
        assert!(leaked.is_empty(), "k={k}: sockets left open: {leaked:?}");
    }
}

/// With Unix endpoints among the IP ones: whichever socket fails, every
/// socket is closed and every socket file this call made is gone, the one
/// with `keep-file` too, and nothing else in the directory is touched.
#[cfg(unix)] // FailAt: /proc/self/fd
#[test]
fn a_failure_at_any_socket_removes_every_socket_file_made() {
    let dir = std::env::temp_dir().join(format!("ls-unit-rollback-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("other.txt"), "not ours").unwrap();
    let plan = loopback_plan(&format!(
        "local = loopback
         sock = unix
         sock.b = unix:{0}/b.sock mode=600
         local.a = tcp:0
         sock.c = unixgram:{0}/c.sock mode=600 keep-file
         sock.d = unixgram:{0}/d.sock",
        dir.display()
    ));
    let total = 5;
    for k in 0..total {
        let mut seam = FailAt {
            k,
            calls: 0,
            inodes: Vec::new(),
        };
        let err = bind_with(&plan, Vec::new(), &mut seam).unwrap_err();
        assert_eq!(seam.calls, total, "k={k}");
        assert_eq!(err.failures().len(), 1, "k={k}: {err}");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["other.txt"], "k={k}");
        let still_open = open_sockets();
        assert!(
            seam.inodes.iter().all(|i| !still_open.contains(i)),
            "k={k}: sockets left open"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)] // FailAt: /proc/self/fd
#[test]
fn without_failures_every_socket_stays_open_until_dropped() {
    let plan = loopback_plan("local = loopback; local.a = tcp:0; local.b = udp:0");
    let mut seam = FailAt {
        k: usize::MAX,
        calls: 0,
        inodes: Vec::new(),
    };
    let bound = bind_with(&plan, Vec::new(), &mut seam).unwrap();
    let open = open_sockets();
    assert!(seam.inodes.iter().all(|i| open.contains(i)));
    drop(bound);
    let open = open_sockets();
    assert!(seam.inodes.iter().all(|i| !open.contains(i)));
}

/// Port 0 on several addresses: when the port the OS gave the first address
/// is taken on another, the whole endpoint retries with a fresh port.
#[test]
fn ephemeral_retries_when_the_second_address_is_taken() {
    struct Busy {
        calls: usize,
    }
    impl Open for Busy {
        fn open(&mut self, ep: &PlannedEndpoint, bind: &Bind, port: u16) -> io::Result<Socket> {
            self.calls += 1;
            // The second address is "in use" on the first try only.
            if self.calls == 2 {
                return Err(io::Error::from(io::ErrorKind::AddrInUse));
            }
            System.open(ep, bind, port)
        }
    }
    let plan = loopback_plan("local = loopback; local.a = tcp:0");
    let mut seam = Busy { calls: 0 };
    let bound = bind_with(&plan, Vec::new(), &mut seam).unwrap();
    assert_eq!(seam.calls, 4);
    let addrs = bound.endpoints()[0].local_addrs();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0].port(), addrs[1].port());
}

/// Which held socket keeps which bind from succeeding, as a hint names it:
/// the same address, or a wildcard of the family, where a dual-stack `[::]`
/// is of both families.
#[test]
fn who_takes_a_port() {
    let a = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
    for (held, held_dual, want, want_dual, expect) in [
        ("127.0.0.1:80", false, "127.0.0.1:80", false, true),
        ("127.0.0.1:80", false, "127.0.0.1:81", false, false),
        ("127.0.0.1:80", false, "127.0.0.2:80", false, false),
        ("0.0.0.0:80", false, "127.0.0.2:80", false, true),
        ("127.0.0.2:80", false, "0.0.0.0:80", false, true),
        ("[::]:80", false, "0.0.0.0:80", false, false),
        ("[::]:80", true, "0.0.0.0:80", false, true),
        ("[::]:80", true, "127.0.0.1:80", false, true),
        ("0.0.0.0:80", false, "[::]:80", false, false),
        ("0.0.0.0:80", false, "[::]:80", true, true),
        ("127.0.0.1:80", false, "[::]:80", true, true),
        ("[::1]:80", false, "0.0.0.0:80", false, false),
        ("[::1]:80", false, "[::]:80", false, true),
    ] {
        assert_eq!(
            takes(a(held), held_dual, a(want), want_dual),
            expect,
            "{held} (dual {held_dual}) against {want} (dual {want_dual})"
        );
    }
}

/// A port in use that this endpoint's own sockets do not hold is another
/// process's, and the hint says so, not that the endpoint holds it itself.
#[test]
fn a_port_in_use_elsewhere_is_not_blamed_on_the_endpoint() {
    struct InUseAt(usize, usize);
    impl Open for InUseAt {
        fn open(&mut self, ep: &PlannedEndpoint, bind: &Bind, port: u16) -> io::Result<Socket> {
            self.1 += 1;
            if self.1 == self.0 {
                return Err(io::Error::from(io::ErrorKind::AddrInUse));
            }
            System.open(ep, bind, port)
        }
    }
    let plan = loopback_plan("public = *\npublic.a = tcp:0");
    let err = bind_with(&plan, Vec::new(), &mut InUseAt(2, 0));
    // Port 0 tries again on another port, so the second try succeeds.
    assert!(err.is_ok(), "{:?}", err.err());
    let plan = loopback_plan("public = *\npublic.a = tcp:47391");
    let err = bind_with(&plan, Vec::new(), &mut InUseAt(2, 0)).unwrap_err();
    let hint = err.failures()[0].hint();
    assert!(hint.contains("another process holds it"), "{hint}");
    assert!(!hint.contains("own socket"), "{hint}");
}

/// A change of a watched host opens its new sockets all or none: whichever
/// fails, the others it opened are closed, and the first one asked on port
/// 0 gives its port to the rest.
#[cfg(unix)] // FailAt: /proc/self/fd
#[test]
fn a_failure_at_any_socket_of_a_change_closes_the_others_it_opened() {
    let plan = loopback_plan("local = 127.0.0.1, ::1; local.web = tcp:0; local.dns = udp:0");
    let wanted: Vec<ToOpen> = (0..2)
        .flat_map(|endpoint| {
            (0..2).map(move |bind| ToOpen {
                endpoint,
                bind,
                port: 0,
            })
        })
        .collect();
    let opened = open_planned(&plan, &wanted, &mut System).unwrap();
    assert_eq!(opened.len(), 4);
    for pair in opened.chunks(2) {
        assert_ne!(pair[0].1.local_addr().port(), 0);
        assert_eq!(pair[0].1.local_addr().port(), pair[1].1.local_addr().port());
    }
    drop(opened);
    for k in 0..wanted.len() {
        let mut seam = FailAt {
            k,
            calls: 0,
            inodes: Vec::new(),
        };
        let err = open_planned(&plan, &wanted, &mut seam).unwrap_err();
        assert_eq!(seam.calls, wanted.len(), "k={k}: every socket is tried");
        assert_eq!(err.failures().len(), 1, "k={k}: {err}");
        let still_open = open_sockets();
        let leaked: Vec<&String> = seam
            .inodes
            .iter()
            .filter(|i| still_open.contains(i))
            .collect();
        assert!(leaked.is_empty(), "k={k}: sockets left open: {leaked:?}");
    }
}

/// The hint's "endpoint X of this spec holds the port" names the endpoint
/// whose socket takes the address, of the same transport only; a
/// dual-stack `[::]` takes IPv4 addresses too.
#[test]
fn the_holder_of_a_port_is_an_endpoint_of_its_transport() {
    let a = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
    let plan = loopback_plan("local = 127.0.0.1\nlocal.web = tcp:0\nlocal.dns = udp:0");
    let bound = bind_with(&plan, Vec::new(), &mut System).unwrap();
    // The endpoints, as `bind_with` holds them while binding.
    let opened: Vec<Option<BoundEndpoint>> = bound.endpoints.into_iter().map(Some).collect();
    let port = |i: usize| opened[i].as_ref().unwrap().sockets[0].local_addr.port();
    let (web, dns) = (port(0), port(1));
    let on = |ip: &str, port: u16| std::net::SocketAddr::new(ip.parse().unwrap(), port);
    let holds = |t, addr| who_holds(plan.endpoints(), &opened, t, addr, false);
    assert_eq!(holds(Transport::Tcp, on("127.0.0.1", web)), Some(0));
    assert_eq!(holds(Transport::Tcp, on("0.0.0.0", web)), Some(0));
    assert_eq!(holds(Transport::Udp, on("127.0.0.1", dns)), Some(1));
    assert_eq!(holds(Transport::Tcp, on("127.0.0.2", web)), None);
    // TCP and UDP ports are apart: the OS may give both one number.
    if web != dns {
        assert_eq!(holds(Transport::Udp, on("127.0.0.1", web)), None);
        assert_eq!(holds(Transport::Tcp, on("127.0.0.1", dns)), None);
    }

    let plan = loopback_plan("public = ::\npublic.d = tcp:0 v6only=false\npublic.s = tcp:0");
    let [dual, single] = plan.endpoints() else {
        panic!("two endpoints")
    };
    assert!(dual_stack(dual, a("[::]:80")));
    assert!(!dual_stack(single, a("[::]:80")));
    assert!(!dual_stack(dual, a("[::1]:80")));
}
