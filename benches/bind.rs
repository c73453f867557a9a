//! `bind_all` against a plain socket2 loop binding the same sockets, in the
//! same run: the crate's whole overhead (capture, plan, bookkeeping) over the
//! binds a server would make anyway.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use listenspec::ListenSpec;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

fn spec(n: usize) -> ListenSpec {
    let mut text = String::from("local = 127.0.0.1\n");
    for i in 0..n {
        text.push_str(&format!("local.e{i} = tcp:0\n"));
    }
    text.parse().expect("the benchmark spec parses")
}

/// What a server would write by hand: socket, SO_REUSEADDR, bind, listen.
fn plain(n: usize) -> Vec<Socket> {
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

fn bind(c: &mut Criterion) {
    let mut g = c.benchmark_group("bind");
    for n in [1usize, 10, 100] {
        let spec = spec(n);
        g.bench_with_input(BenchmarkId::new("plain_socket2", n), &n, |b, &n| {
            b.iter(|| black_box(plain(n)))
        });
        g.bench_with_input(BenchmarkId::new("bind_all", n), &spec, |b, spec| {
            b.iter(|| black_box(listenspec::bind_all(spec).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bind);
criterion_main!(benches);
