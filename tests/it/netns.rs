//! Throw-away network namespaces for tests that need real interfaces.
//!
//! Every namespace is made here and deleted on drop, so a panicking test
//! still cleans up. Nothing in this module touches the root namespace's
//! interfaces or addresses: veth pairs are created inside a test namespace
//! (`ip -n NS link add ... peer ... netns OTHER`) and never in the root one.
//! Addresses are limited to the documentation ranges 198.51.100.0/24,
//! 203.0.113.0/24 and 2001:db8::/32 (plus link-local fe80::/10), which this
//! host does not use.
//!
//! Tests run on parallel threads of one process, and a thread's network
//! namespace is its own: only [`Netns::run`] switches namespace, on a fresh
//! thread that ends with the closure, so no other test ever sees it.

#![cfg(target_os = "linux")]
#![allow(dead_code)] // a toolbox: each test module uses a different part of it

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipnet::IpNet;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace of our own, deleted on drop.
#[derive(Debug)]
pub(crate) struct Netns {
    name: String,
}

/// A namespace for `test`, or `None` after printing `SKIP test: why` when this
/// machine cannot make one. With `CI` set it panics instead: CI runs as root
/// with iproute2 installed, so a skip there means the tests silently stopped
/// running.
pub(crate) fn netns_or_skip(test: &str) -> Option<Netns> {
    match Netns::new() {
        Ok(ns) => Some(ns),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: CI must run network namespace tests, but: {why}")
        }
        Err(why) => {
            eprintln!("SKIP {test}: {why}");
            None
        }
    }
}

/// Two namespaces, or `None` as for [`netns_or_skip`].
pub(crate) fn two_netns_or_skip(test: &str) -> Option<(Netns, Netns)> {
    let a = netns_or_skip(test)?;
    let b = netns_or_skip(test)?;
    Some((a, b))
}

impl Netns {
    /// Makes a namespace named `ls-<pid>-<n>` and brings its `lo` up first:
    /// until then Linux lets a socket bind any IPv4 address there, which
    /// would make "address not available" tests pass for the wrong reason.
    #[allow(unsafe_code)] // geteuid: only root can make namespaces
    pub(crate) fn new() -> Result<Netns, String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root, cannot create network namespaces".to_owned());
        }
        let pid = std::process::id();
        // A namespace left by a killed run of a process with the same pid
        // would clash; step past it rather than fail.
        for _ in 0..16 {
            let name = format!("ls-{pid}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
            match ip(&["netns", "add", &name]) {
                Ok(_) => {
                    // Made first so that Drop deletes it if lo fails.
                    let ns = Netns { name };
                    ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
                    return Ok(ns);
                }
                Err(e) if e.contains("File exists") => continue,
                Err(e) => return Err(e),
            }
        }
        Err("every candidate namespace name is taken".to_owned())
    }

    /// The namespace's name, as `ip netns` lists it.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS...`, returning stdout; panics with stderr on
    /// failure.
    pub(crate) fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        ip(&full).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A veth pair: `my_if` here, `other_if` in `other`, both down.
    pub(crate) fn veth(&self, my_if: &str, other: &Netns, other_if: &str) {
        self.ip(&[
            "link",
            "add",
            my_if,
            "type",
            "veth",
            "peer",
            "name",
            other_if,
            "netns",
            &other.name,
        ]);
    }

    /// A veth pair with both ends in this namespace, both down.
    pub(crate) fn veth_pair(&self, a: &str, b: &str) {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
    }

    /// [`veth_pair`](Netns::veth_pair) without automatic link-local
    /// addresses on either end, so only the addresses a test adds appear.
    pub(crate) fn quiet_veth_pair(&self, a: &str, b: &str) {
        self.veth_pair(a, b);
        self.no_auto_link_local(a);
        self.no_auto_link_local(b);
    }

    /// Adds an address; IPv6 ones with `nodad`, so they are usable at once
    /// instead of tentative.
    pub(crate) fn addr(&self, ifname: &str, cidr: &str) {
        let net: IpNet = cidr
            .parse()
            .unwrap_or_else(|e| panic!("{cidr:?} is not ADDRESS/PREFIX: {e}"));
        assert_test_range(net.addr());
        let mut args = vec!["addr", "add", cidr, "dev", ifname];
        if net.addr().is_ipv6() {
            args.push("nodad");
        }
        self.ip(&args);
    }

    /// Adds an address with `ip addr add` options of the test's own
    /// (`preferred_lft 0`, say), and without `nodad` unless it is among
    /// them, so an IPv6 address goes through duplicate address detection.
    pub(crate) fn addr_with(&self, ifname: &str, cidr: &str, opts: &[&str]) {
        let net: IpNet = cidr
            .parse()
            .unwrap_or_else(|e| panic!("{cidr:?} is not ADDRESS/PREFIX: {e}"));
        assert_test_range(net.addr());
        let mut args = vec!["addr", "add", cidr, "dev", ifname];
        args.extend_from_slice(opts);
        self.ip(&args);
    }

    /// Stops the kernel from adding its own link-local address to `ifname`,
    /// which it would do some time after the link comes up, so a test can
    /// list the addresses exactly.
    pub(crate) fn no_auto_link_local(&self, ifname: &str) {
        self.ip(&["link", "set", ifname, "addrgenmode", "none"]);
    }

    /// Brings an interface up.
    pub(crate) fn up(&self, ifname: &str) {
        self.ip(&["link", "set", ifname, "up"]);
    }

    /// Takes an interface down.
    pub(crate) fn down(&self, ifname: &str) {
        self.ip(&["link", "set", ifname, "down"]);
    }

    /// Waits until the kernel reports `ifname` operationally up. The RUNNING
    /// flag follows carrier through the kernel's link-watch work, which may
    /// lag `ip link set up` by up to a second.
    pub(crate) fn wait_running(&self, ifname: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.ip(&["-j", "link", "show", "dev", ifname]);
            let links: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j link: {e}: {out}"));
            if links[0]["operstate"] == "UP" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{ifname} in {} never came up: {out}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Adds a route: `route("198.51.100.0/24", &["via", "203.0.113.2"])`.
    pub(crate) fn route(&self, dest: &str, rest: &[&str]) {
        let mut args = vec!["route", "add", dest];
        args.extend_from_slice(rest);
        self.ip(&args);
    }

    /// The interface index of `ifname` in this namespace.
    pub(crate) fn index(&self, ifname: &str) -> u32 {
        let out = self.ip(&["-j", "link", "show", "dev", ifname]);
        let links: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j link: {e}: {out}"));
        links[0]["ifindex"]
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or_else(|| panic!("no ifindex for {ifname}: {out}"))
    }

    /// Runs a command inside the namespace (`ip netns exec NAME CMD...`),
    /// returning stdout; panics with stderr on failure.
    pub(crate) fn exec(&self, cmd: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(cmd);
        ip(&full).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `f` on a new thread that has entered this namespace, so sockets
    /// and interface lists in `f` (and threads it starts) are this
    /// namespace's. Panics in `f` propagate.
    #[allow(unsafe_code)] // setns: enters the namespace on this thread alone
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::thread::scope(|s| {
            let thread = s.spawn(move || {
                // SAFETY: the fd is open for the whole call; setns only
                // changes this thread's namespace, and this thread ends with f.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                drop(file);
                f()
            });
            match thread.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace also deletes the veths in it; a failure here
        // must not turn a test's panic into an abort, so it is only reported.
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("leaked network namespace {}: {e}", self.name);
        }
    }
}

/// Refuses addresses outside the ranges reserved for documentation, so a
/// typo cannot give a test namespace an address this host really uses.
fn assert_test_range(ip: IpAddr) {
    let allowed = [
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
        "fe80::/10",
    ];
    let ok = allowed
        .iter()
        .any(|n| n.parse::<IpNet>().is_ok_and(|n| n.contains(&ip)));
    assert!(ok, "{ip} is outside the test ranges {allowed:?}");
}

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (install iproute2): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
