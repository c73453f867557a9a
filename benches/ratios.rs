//! The speed goals of binding as ratios, each against its floor measured
//! in the same run, in this thread's CPU time:
//!
//! - capture at most 1.2x one bare getifaddrs + freeifaddrs;
//! - `bind_all` of N endpoints on port 0 at most 1.2x of one getifaddrs
//!   plus N plain socket2 binds, each asked its port, at N = 1, 3, 10, 100
//!   and 1,000. Each endpoint has one socket, and `bind_all` asks the OS
//!   for the port (getsockname) once per port-0 endpoint, so the floor's
//!   one getsockname per socket is the same count, not a cost the library
//!   skips;
//! - a planned Unix stream endpoint, bound and dropped, at most 4x a plain
//!   `UnixListener::bind` of a fresh path and its `remove_file`, on tmpfs
//!   (`/dev/shm`, as `/run` is where sockets live): the private directory
//!   (mkdir, open, rmdir), the looks through the directory's descriptor
//!   and the publishing link and unlink are the price of a socket file no
//!   one can race, five directory operations where the plain bind has two.
//!   On a journaling disk file system each costs more (about 6x in `/tmp`
//!   on ext4 here); set `LISTENSPEC_BENCH_DIR` to measure another place.
//!
//! ```text
//! cargo bench --bench ratios
//! ```
//!
//! Not criterion: criterion times one side for seconds, then the other,
//! and on this shared machine the floor itself moved by half between two
//! such runs (20.6 µs, then 30.2 µs, at N=1), which swamps a 20% goal.
//! Here short rounds alternate the two sides, so a slow moment of the
//! machine falls on both, and the figure is the median of the rounds'
//! ratios. CPU time, not wall time: other processes' time does not count,
//! and neither side blocks. It takes about half a minute; every socket is
//! on 127.0.0.1.

mod common;
#[path = "common/rounds.rs"]
mod rounds;

use common::{floor, getifaddrs, spec};
use rounds::{Spread, cpu_time_of, verdict};

/// Rounds per figure; one more runs first, to warm caches and the
/// allocator, and is not counted.
const ROUNDS: usize = 31;
/// Sockets each side opens per round: about 30 ms of binding. At N =
/// 1,000 that is four calls a side.
const BINDS_PER_ROUND: usize = 4_000;

fn main() {
    let one = spec(1, 0);
    let (capture, floor_us) = ratio(BINDS_PER_ROUND, getifaddrs, || {
        listenspec::capture(&one).unwrap()
    });
    println!("capture / getifaddrs          {capture}   (floor {floor_us:.1} µs)");
    println!("    {}", verdict(&capture, 1.2));
    for n in [1, 3, 10, 100, 1000] {
        let spec = spec(n, 0);
        let (bind, floor_us) = ratio(
            BINDS_PER_ROUND / n,
            || floor(n, 0),
            || listenspec::bind_all(&spec).unwrap(),
        );
        println!("bind_all / floor, N = {n:<4}    {bind}   (floor {floor_us:.1} µs)");
        println!("    {}", verdict(&bind, 1.2));
    }
    let base = std::env::var_os("LISTENSPEC_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(std::path::PathBuf::from("/dev/shm")).filter(|d| d.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    let dir = TempDir(base.join(format!("ls-ratios-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("api.sock");
    let unix: listenspec::ListenSpec = format!("local = unix\nlocal.api = unix:{}", path.display())
        .parse()
        .unwrap();
    let plan = unix.plan(&listenspec::capture(&unix).unwrap()).unwrap();
    let plain = dir.0.join("plain.sock");
    let (bind, floor_us) = ratio(
        BINDS_PER_ROUND / 2,
        || {
            drop(std::os::unix::net::UnixListener::bind(&plain).unwrap());
            std::fs::remove_file(&plain).unwrap();
        },
        || drop(plan.bind_inherited(Vec::new()).unwrap()),
    );
    println!(
        "unix bind / UnixListener::bind {bind}   (floor {floor_us:.1} µs, in {})",
        base.display()
    );
    println!("    {}", verdict(&bind, 4.0));
}

/// A directory for the Unix sockets, removed at the end.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ratios of `measured` to `floor` over the rounds, each side called
/// `calls` times a round, and the floor's median time per call.
fn ratio<A, B>(
    calls: usize,
    mut floor: impl FnMut() -> A,
    mut measured: impl FnMut() -> B,
) -> (Spread, f64) {
    let mut ratios = Vec::with_capacity(ROUNDS);
    let mut floors = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        // Each side goes first in every other round, so neither always
        // finds the caches the other left.
        let (f, m) = if round % 2 == 0 {
            let f = cpu_time_of(calls, &mut floor);
            (f, cpu_time_of(calls, &mut measured))
        } else {
            let m = cpu_time_of(calls, &mut measured);
            (cpu_time_of(calls, &mut floor), m)
        };
        if round > 0 {
            ratios.push(m.as_secs_f64() / f.as_secs_f64());
            floors.push(f.as_secs_f64() * 1e6 / calls as f64);
        }
    }
    (Spread::of(ratios), Spread::of(floors).median)
}
