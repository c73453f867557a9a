//! Capture against its floor, one bare getifaddrs(3) + freeifaddrs (what
//! any program that lists interfaces pays), and `bind_all` against that
//! floor plus the binds a server makes by hand; the goal is at most
//! 1.2x of each.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use listenspec::ListenSpec;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// One getifaddrs and freeifaddrs, nothing read: the floor.
#[allow(unsafe_code)] // the bare libc call is what is measured
fn getifaddrs() {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is live and writable for the call to fill.
    let rc = unsafe { libc::getifaddrs(&mut head) };
    assert_eq!(rc, 0, "getifaddrs: {}", std::io::Error::last_os_error());
    black_box(head);
    // SAFETY: `head` came from the successful call above, freed once.
    unsafe { libc::freeifaddrs(head) };
}

/// `n` TCP endpoints on 127.0.0.1: on ports `first..first + n`, or all on
/// port 0 when `first` is 0.
fn spec(n: usize, first: u16) -> ListenSpec {
    let mut text = String::from("local = 127.0.0.1\n");
    for (i, port) in ports(n, first).enumerate() {
        text.push_str(&format!("local.e{i} = tcp:{port}\n"));
    }
    text.parse().expect("the benchmark spec parses")
}

fn ports(n: usize, first: u16) -> impl Iterator<Item = u16> {
    (0..n).map(move |i| if first == 0 { 0 } else { first + i as u16 })
}

/// The floor of `bind_all`: the host read once, and the sockets a server
/// would open by hand (socket, SO_REUSEADDR, bind, listen), on the same
/// ports. On port 0 a server must then ask which port it got, to tell
/// anyone; `bind_all` does, and so does this.
fn floor(n: usize, first: u16) -> Vec<Socket> {
    getifaddrs();
    ports(n, first)
        .map(|port| {
            let addr = SockAddr::from(SocketAddr::from(([127, 0, 0, 1], port)));
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
            s.set_reuse_address(true).unwrap();
            s.bind(&addr).unwrap();
            s.listen(1024).unwrap();
            if port == 0 {
                black_box(s.local_addr().unwrap());
            }
            s
        })
        .collect()
}

/// This thread's CPU time. On a shared machine wall time also counts the
/// time other processes ran, which moved these ratios by up to half; both
/// sides only make calls that do not block.
#[allow(unsafe_code)] // clock_gettime has no safe std wrapper
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is live and writable for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the CPU time it took.
fn cpu_time_of<T>(iters: u64, mut f: impl FnMut() -> T) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        black_box(f());
    }
    thread_cpu_time() - start
}

/// The first of 100 ports free on 127.0.0.1 now, for the fixed-port runs.
fn free_ports() -> u16 {
    (20_000..60_000)
        .step_by(100)
        .find(|&first| {
            ports(100, first).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        })
        .expect("100 free ports in a row on 127.0.0.1")
}

fn capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");
    let one = spec(1, 0);
    g.bench_function("getifaddrs", |b| b.iter(getifaddrs));
    g.bench_function("capture", |b| {
        b.iter(|| black_box(listenspec::capture(&one).unwrap()))
    });
    g.finish();

    // Servers in production bind fixed ports; tests and sidecars port 0.
    for (group, first) in [("bind_floor", free_ports()), ("bind_floor_port0", 0)] {
        let mut g = c.benchmark_group(group);
        for n in [1usize, 3, 10, 100] {
            let spec = spec(n, first);
            g.bench_with_input(BenchmarkId::new("getifaddrs_and_binds", n), &n, |b, &n| {
                b.iter(|| black_box(floor(n, first)))
            });
            g.bench_with_input(BenchmarkId::new("bind_all", n), &spec, |b, spec| {
                b.iter(|| black_box(listenspec::bind_all(spec).unwrap()))
            });
        }
        g.finish();
    }

    // The same on port 0, timed in this thread's CPU time.
    let mut g = c.benchmark_group("bind_floor_cpu");
    for n in [1usize, 3, 10, 100] {
        let spec = spec(n, 0);
        g.bench_with_input(BenchmarkId::new("getifaddrs_and_binds", n), &n, |b, &n| {
            b.iter_custom(|iters| cpu_time_of(iters, || floor(n, 0)))
        });
        g.bench_with_input(BenchmarkId::new("bind_all", n), &spec, |b, spec| {
            b.iter_custom(|iters| cpu_time_of(iters, || listenspec::bind_all(spec).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, capture);
criterion_main!(benches);
