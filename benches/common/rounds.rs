//! What the benchmarks that measure in rounds share: a figure's median and
//! middle half, this thread's CPU time, and the verdict beside a goal.

use std::hint::black_box;
use std::time::Duration;

/// The median of a figure's rounds, and the middle half around it.
pub(crate) struct Spread {
    pub(crate) low: f64,
    pub(crate) median: f64,
    pub(crate) high: f64,
}

impl Spread {
    pub(crate) fn of(mut xs: Vec<f64>) -> Spread {
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

/// The goal beside a ratio that should stay at most `goal`: met or missed
/// by its median.
pub(crate) fn verdict(figure: &Spread, goal: f64) -> String {
    let met = if figure.median <= goal {
        "met"
    } else {
        "MISSED"
    };
    format!("goal at most {goal:.1}x: {met}")
}

/// Runs `f` `calls` times and returns the CPU time this thread took.
pub(crate) fn cpu_time_of<T>(calls: usize, mut f: impl FnMut() -> T) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..calls {
        black_box(f());
    }
    thread_cpu_time() - start
}

/// This thread's CPU time: other processes on the machine do not count.
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
