//! Capture against its floor, one bare getifaddrs(3) + freeifaddrs (what
//! any program that lists interfaces pays), and `bind_all` against that
//! floor plus the binds a server makes by hand; the goal is at most
//! 1.2x of each.

use std::hint::black_box;
use std::net::SocketAddr;

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

fn spec(n: usize) -> ListenSpec {
    let mut text = String::from("local = 127.0.0.1\n");
    for i in 0..n {
        text.push_str(&format!("local.e{i} = tcp:0\n"));
    }
    text.parse().expect("the benchmark spec parses")
}

/// The floor of `bind_all`: the host read once, and the sockets a server
/// would open by hand (socket, SO_REUSEADDR, bind, listen).
fn floor(n: usize) -> Vec<Socket> {
    getifaddrs();
    let addr = SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0)));
    (0..n)
        .map(|_| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
            s.set_reuse_address(true).unwrap();
            s.bind(&addr).unwrap();
            s.listen(1024).unwrap();
            s
        })
        .collect()
}

fn capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");
    let one = spec(1);
    g.bench_function("getifaddrs", |b| b.iter(getifaddrs));
    g.bench_function("capture", |b| {
        b.iter(|| black_box(listenspec::capture(&one).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("bind_floor");
    for n in [1usize, 3, 10, 100] {
        let spec = spec(n);
        g.bench_with_input(BenchmarkId::new("getifaddrs_and_binds", n), &n, |b, &n| {
            b.iter(|| black_box(floor(n)))
        });
        g.bench_with_input(BenchmarkId::new("bind_all", n), &spec, |b, spec| {
            b.iter(|| black_box(listenspec::bind_all(spec).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, capture);
criterion_main!(benches);
