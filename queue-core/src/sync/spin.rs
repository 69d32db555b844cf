//! How a blocking call spins before it sleeps: retries at a short, even interval for a fixed
//! time, the thread yielded every few microseconds, then the sleep.
//!
//! The spin exists for latency: a futex sleep and wake cost the sleeper tens of microseconds
//! on a virtual machine, a retry a few tens of nanoseconds. While messages flow, the next one
//! comes within [`SPIN_FOR`] and is taken at a retry's delay; an idle call sleeps after it,
//! and from then on costs no CPU. The interval between retries is even, not growing: a growing
//! backoff puts its longest pauses where a waiting call spends most of its time, and the
//! value that arrives then waits for the pause to end. Measured across two processes on the CI
//! machine (`benches/latency.rs`), against a growing backoff that slept after about 4 µs: a
//! blocking ping-pong's one-way median fell from about 290 to 140 ns, its 99th percentile
//! from 0.6-5 µs to 0.25 µs and its 99.9th from about 55 µs (a futex wake) to 0.5 µs.

use std::time::{Duration, Instant};

/// How long a blocking call retries before it sleeps: the cost in CPU time of a call that
/// ends up sleeping, and the gap between messages below which a flowing stream is never
/// slept through. On the CI machine's virtual CPUs more than 1% of a ping-pong's round trips
/// (normally 0.3 µs) wait over 5 µs for the other process: with 5 µs or 2 µs here, the
/// blocking ping-pong's 99th percentile went from 0.2 µs to 30-50 µs (a futex wake).
const SPIN_FOR: Duration = Duration::from_micros(20);

/// Spin-loop hints before the first retry: a retry reads the stamp of the slot that the
/// other side is about to write, pulling that line away from the writer, so the first one
/// waits a little for the other side to get ahead. (A hint takes about 28 ns on the CI
/// machine's CPUs, 1 to 40 ns on others.) 15 hints, then 4 between retries, made no
/// difference to blocking throughput in the crate's benches, in one process or across two,
/// but cost 130 ns of median latency.
const HINTS_BEFORE_FIRST_RETRY: u32 = 4;

/// Spin-loop hints between later retries.
const HINTS_BETWEEN_RETRIES: u32 = 1;

/// Retries between two looks at the clock (a look costs about what a retry does).
const RETRIES_PER_CLOCK_LOOK: u32 = 8;

/// Retries between two yields of the thread (a multiple of [`RETRIES_PER_CLOCK_LOOK`]): a
/// few microseconds apart. On a machine with more runnable threads than CPUs, the side this
/// call waits for may be waiting for this CPU; spinning through the whole [`SPIN_FOR`]
/// without a yield halved blocking throughput with two producers and two consumers on two
/// CPUs, unpinned.
const RETRIES_PER_YIELD: u32 = 32;

/// The spinning of one blocking call.
#[derive(Debug)]
pub(crate) struct Spinning {
    started: Instant,
    retries: u32,
}

impl Spinning {
    /// The spinning of a call that has just been refused.
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            retries: 0,
        }
    }

    /// Waits before the call's next retry; `false` once the spinning is spent, and the call
    /// should sleep instead.
    #[inline]
    pub(crate) fn before_retry(&mut self) -> bool {
        self.retries += 1;
        if self.retries % RETRIES_PER_CLOCK_LOOK == 0 {
            if self.started.elapsed() >= SPIN_FOR {
                return false;
            }
            if self.retries % RETRIES_PER_YIELD == 0 {
                std::thread::yield_now();
                return true;
            }
        }
        let hints = if self.retries == 1 {
            HINTS_BEFORE_FIRST_RETRY
        } else {
            HINTS_BETWEEN_RETRIES
        };
        for _ in 0..hints {
            std::hint::spin_loop();
        }
        true
    }
}
