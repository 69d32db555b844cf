//! One-way latency across processes: two forked processes bounce a u64 back and forth through
//! two links, one per direction, and the timed side reads the clock around every round trip
//! (`support/ping_pong.rs`). Each sample is 200,000 round trips, summarised by its median,
//! 99th and 99.9th percentiles of half a round trip.
//!
//! The links, each the same ping-pong:
//! - a cache line: a one-value mailbox per direction, the floor of any hand-over between two
//!   processes on this machine;
//! - the floor ring (`support/floor_ring.rs`, Vyukov's ring in a shared mapping);
//! - `Queue<u64, Shared>` with `try_push`/`try_pop`, spinning while full or empty;
//! - `BlockingQueue<u64, Shared>` with `push`/`pop`, which spin for a while and then sleep.
//!
//! Every case runs with the two processes pinned to CPUs 0 and 1, and unpinned; the samples of
//! all cases are interleaved (5 rounds, `QUEUE_CORE_BENCH_SAMPLES` overrides it), and the table
//! gives the median of the samples' figures with their range, then the ratios the crate's
//! goals are stated in. (iceoryx2 beside these: `cargo bench -p peer-benches --features
//! iceoryx2`.)
//!
//! `harness = false`: forking needs a single-threaded parent. Run:
//! `cargo bench -p queue-core --bench latency` (a word after `--` keeps the cases whose name
//! contains it). Without `--bench` (as in `cargo test --benches`) it makes 2,000 round trips
//! per sample, to show the bench still works.
fn main() {
    bench::main();
}
#[path = "support/floor_ring.rs"]
// Each bench uses its part of the shared support.
#[allow(dead_code)]
mod floor_ring;
#[path = "support/ping_pong.rs"]
mod ping_pong;
#[path = "support/processes.rs"]
// Each bench uses its part of the shared support.
#[allow(dead_code)]
mod processes;

mod bench {
    use crate::floor_ring::{FloorRing, SharedFloorRing};
    use crate::ping_pong::{BLOCKING_QUEUE, CACHE_LINE, Case, Link, SPINNING_QUEUE, find, run};

    const CASES: [Case; 4] = [
        CACHE_LINE,
        ("floor ring (hand-written Vyukov)", || {
            Box::new((
                FloorRing::in_shared_mapping(1024),
                FloorRing::in_shared_mapping(1024),
            ))
        }),
        SPINNING_QUEUE,
        BLOCKING_QUEUE,
    ];

    impl Link for SharedFloorRing<u64> {
        fn send(&self, value: u64) {
            while self.push(value).is_err() {
                std::hint::spin_loop();
            }
        }
        fn receive(&self) -> u64 {
            loop {
                match self.pop() {
                    Some(value) => return value,
                    None => std::hint::spin_loop(),
                }
            }
        }
    }

    pub(super) fn main() {
        let measured = run(&CASES);
        println!();
        for pinning in ["pinned", "unpinned"] {
            let floor = find(&measured, "floor ring", pinning);
            let spinning = find(&measured, "Queue,", pinning);
            let blocking = find(&measured, "BlockingQueue", pinning);
            if let (Some(floor), Some(spinning)) = (floor, spinning) {
                println!(
                    "{pinning}: Queue ÷ floor ring, median {:.2}",
                    spinning.median / floor.median
                );
            }
            if let (Some(spinning), Some(blocking)) = (spinning, blocking) {
                println!(
                    "{pinning}: BlockingQueue ÷ Queue, median {:.2}, p99 {:.2}",
                    blocking.median / spinning.median,
                    blocking.p99 / spinning.p99
                );
            }
        }
    }
}
