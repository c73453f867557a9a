//! Binding a plan of one Unix stream endpoint (the look at the path, bind,
//! listen, and on drop the guard's look and unlink) against a plain std
//! `UnixListener::bind` of a fresh path and its `remove_file`, in the same
//! run; and the same bind when a stale socket file is there to replace.

use std::hint::black_box;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use listenspec::{Host, ListenSpec};

/// A fresh directory for the run's sockets, removed at the end.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unix_bind(c: &mut Criterion) {
    let dir = Dir(std::env::temp_dir().join(format!("ls-bench-unix-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("app.sock");
    let host = Host::builder()
        .interface("lo", 1, ["127.0.0.1/8"])
        .build()
        .unwrap();
    let spec: ListenSpec = format!("local = unix\nlocal.api = unix:{}", path.display())
        .parse()
        .unwrap();
    let plan = spec.plan(&host).unwrap();

    let mut g = c.benchmark_group("unix_bind");
    let mut n = 0u64;
    g.bench_function("plain_std", |b| {
        b.iter(|| {
            n += 1;
            let fresh = dir.0.join(format!("p{n}.sock"));
            drop(black_box(UnixListener::bind(&fresh).unwrap()));
            std::fs::remove_file(&fresh).unwrap();
        })
    });
    g.bench_function("plan_bind", |b| {
        b.iter(|| drop(black_box(plan.bind_inherited(Vec::new()).unwrap())))
    });
    g.bench_function("plan_bind_replacing_stale", |b| {
        b.iter_batched(
            || drop(UnixListener::bind(&path).unwrap()),
            |()| drop(black_box(plan.bind_inherited(Vec::new()).unwrap())),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, unix_bind);
criterion_main!(benches);
