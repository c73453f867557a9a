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

use std::hint::black_box;
use std::time::Duration;

use common::{floor, getifaddrs, spec};

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
    verdict(&capture, 1.2);
    for n in [1, 3, 10, 100, 1000] {
        let spec = spec(n, 0);
        let (bind, floor_us) = ratio(
            BINDS_PER_ROUND / n,
            || floor(n, 0),
            || listenspec::bind_all(&spec).unwrap(),
        );
        println!("bind_all / floor, N = {n:<4}    {bind}   (floor {floor_us:.1} µs)");
        verdict(&bind, 1.2);
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
    verdict(&bind, 4.0);
}

/// The goal beside the figure, met or missed by the median.
fn verdict(figure: &Spread, goal: f64) {
    let met = if figure.median <= goal {
        "met"
    } else {
        "MISSED"
    };
    println!("    goal at most {goal:.1}x: {met}");
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

/// The median of a figure's rounds, and the middle half around it.
struct Spread {
    low: f64,
    median: f64,
    high: f64,
}

impl Spread {
    fn of(mut xs: Vec<f64>) -> Spread {
        xs.sort_by(f64::total_cmp);
        let at = |q: usize| xs[(xs.len() - 1) * q / 4];
        Spread {
            low: at(1),
            median: at(2),
            high: at(3),
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Spread { low, median, high } = self;
        write!(f, "{median:.3}  (middle half {low:.3} to {high:.3})")
    }
}

/// Runs `f` `calls` times and returns the CPU time this thread took.
fn cpu_time_of<T>(calls: usize, mut f: impl FnMut() -> T) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..calls {
        black_box(f());
    }
    thread_cpu_time() - start
}

/// This thread's CPU time.
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
