//! Throughput of `queue_core::Queue` beside its peers, in one run and one harness:
//! `crossbeam_queue::ArrayQueue`, `crossbeam_channel::bounded` (try_send/try_recv),
//! `std::sync::mpsc::sync_channel` (its receiver behind a `Mutex`, as it cannot be shared) and
//! `Mutex<VecDeque>`.
//!
//! Groups: `uncontended` (push then pop on one thread), `spsc` and `mpmc_2x2` (threads moving
//! `MESSAGES` u64s per iteration through capacity 64 and 1024), and `spsc_pinned` (producer
//! and consumer pinned to different cores: unpinned pairs on a 2-core machine flip between
//! cross-core and time-sliced runs). `blocking_spsc` and `blocking_mpmc_2x2` compare blocking
//! calls, which sleep instead of spinning: `BlockingQueue::push`/`pop` beside
//! `crossbeam_channel::bounded` and `std::sync::mpsc::sync_channel` `send`/`recv`.
//!
//! Run: `cargo bench -p queue-core --bench throughput`; ratios: see the crate README.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Messages moved per iteration of the threaded benches.
const MESSAGES: u64 = 20_000;

/// The operations every contender offers, non-blocking.
trait Contender: Send + Sync {
    const NAME: &'static str;
    fn with_capacity(capacity: usize) -> Self;
    fn push(&self, value: u64) -> bool;
    fn pop(&self) -> Option<u64>;
}

impl Contender for queue_core::Queue<u64> {
    const NAME: &'static str = "queue_core";
    fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity).unwrap()
    }
    fn push(&self, value: u64) -> bool {
        self.try_push(value).is_ok()
    }
    fn pop(&self) -> Option<u64> {
        self.try_pop().ok()
    }
}

impl Contender for crossbeam_queue::ArrayQueue<u64> {
    const NAME: &'static str = "crossbeam_ArrayQueue";
    fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity)
    }
    fn push(&self, value: u64) -> bool {
        crossbeam_queue::ArrayQueue::push(self, value).is_ok()
    }
    fn pop(&self) -> Option<u64> {
        crossbeam_queue::ArrayQueue::pop(self)
    }
}

struct CrossbeamChannel(
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
);

impl Contender for CrossbeamChannel {
    const NAME: &'static str = "crossbeam_channel";
    fn with_capacity(capacity: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        Self(tx, rx)
    }
    fn push(&self, value: u64) -> bool {
        self.0.try_send(value).is_ok()
    }
    fn pop(&self) -> Option<u64> {
        self.1.try_recv().ok()
    }
}

struct StdSyncChannel(mpsc::SyncSender<u64>, Mutex<mpsc::Receiver<u64>>);

impl Contender for StdSyncChannel {
    const NAME: &'static str = "std_sync_channel";
    fn with_capacity(capacity: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel(capacity);
        Self(tx, Mutex::new(rx))
    }
    fn push(&self, value: u64) -> bool {
        self.0.try_send(value).is_ok()
    }
    fn pop(&self) -> Option<u64> {
        self.1.lock().unwrap().try_recv().ok()
    }
}

struct MutexVecDeque(Mutex<VecDeque<u64>>, usize);

impl Contender for MutexVecDeque {
    const NAME: &'static str = "Mutex_VecDeque";
    fn with_capacity(capacity: usize) -> Self {
        Self(Mutex::new(VecDeque::with_capacity(capacity)), capacity)
    }
    fn push(&self, value: u64) -> bool {
        let mut queue = self.0.lock().unwrap();
        if queue.len() == self.1 {
            return false;
        }
        queue.push_back(value);
        true
    }
    fn pop(&self) -> Option<u64> {
        self.0.lock().unwrap().pop_front()
    }
}

/// Pins the calling thread to `core`, if the machine has it.
fn pin_to(core: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(core).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// Moves `iterations * MESSAGES` values from `producers` to `consumers` threads and returns
/// the time from the start barrier to the last value taken.
fn transfer<Q: Contender>(
    capacity: usize,
    producers: usize,
    consumers: usize,
    pinned: bool,
    iterations: u64,
) -> Duration {
    let queue = Q::with_capacity(capacity);
    let total = iterations * MESSAGES;
    let per_producer = total / producers as u64;
    let expected = per_producer * producers as u64;
    let taken = AtomicUsize::new(0);
    let start = Barrier::new(producers + consumers + 1);
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    thread::scope(|s| {
        for p in 0..producers {
            let (queue, start) = (&queue, &start);
            s.spawn(move || {
                if pinned {
                    pin_to(p % cores);
                }
                start.wait();
                for n in 0..per_producer {
                    while !queue.push(n) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        for c in 0..consumers {
            let (queue, start, taken) = (&queue, &start, &taken);
            s.spawn(move || {
                if pinned {
                    pin_to((producers + c) % cores);
                }
                start.wait();
                while (taken.load(Ordering::Relaxed) as u64) < expected {
                    match queue.pop() {
                        Some(value) => {
                            black_box(value);
                            taken.fetch_add(1, Ordering::Relaxed);
                        }
                        None => std::hint::spin_loop(),
                    }
                }
            });
        }
        start.wait();
        let began = Instant::now();
        // The scope joins every thread before returning.
        began
    })
    .elapsed()
}

fn threaded<Q: Contender>(
    c: &mut Criterion,
    group: &str,
    producers: usize,
    consumers: usize,
    pinned: bool,
) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(MESSAGES));
    for capacity in [64, 1024] {
        g.bench_with_input(
            BenchmarkId::new(Q::NAME, capacity),
            &capacity,
            |b, &capacity| {
                b.iter_custom(|iterations| {
                    transfer::<Q>(capacity, producers, consumers, pinned, iterations)
                });
            },
        );
    }
    g.finish();
}

fn uncontended<Q: Contender>(c: &mut Criterion) {
    let queue = Q::with_capacity(64);
    let mut g = c.benchmark_group("uncontended");
    g.throughput(Throughput::Elements(1));
    g.bench_function(Q::NAME, |b| {
        b.iter(|| {
            assert!(queue.push(black_box(7)));
            black_box(queue.pop())
        });
    });
    g.finish();
}

fn all<Q: Contender>(c: &mut Criterion) {
    uncontended::<Q>(c);
    threaded::<Q>(c, "spsc", 1, 1, false);
    threaded::<Q>(c, "spsc_pinned", 1, 1, true);
    threaded::<Q>(c, "mpmc_2x2", 2, 2, false);
}

/// The blocking operations every blocking contender offers; `close` ends the consumers.
trait BlockingContender: Send + Sync {
    const NAME: &'static str;
    fn with_capacity(capacity: usize) -> Self;
    fn push(&self, value: u64);
    fn pop(&self) -> Option<u64>;
}

impl BlockingContender for queue_core::BlockingQueue<u64> {
    const NAME: &'static str = "queue_core_BlockingQueue";
    fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity).unwrap()
    }
    fn push(&self, value: u64) {
        queue_core::BlockingQueue::push(self, value).unwrap();
    }
    fn pop(&self) -> Option<u64> {
        queue_core::BlockingQueue::pop(self).ok()
    }
}

impl BlockingContender for CrossbeamChannel {
    const NAME: &'static str = "crossbeam_channel";
    fn with_capacity(capacity: usize) -> Self {
        <Self as Contender>::with_capacity(capacity)
    }
    fn push(&self, value: u64) {
        self.0.send(value).unwrap();
    }
    fn pop(&self) -> Option<u64> {
        self.1.recv().ok()
    }
}

impl BlockingContender for StdSyncChannel {
    const NAME: &'static str = "std_sync_channel";
    fn with_capacity(capacity: usize) -> Self {
        <Self as Contender>::with_capacity(capacity)
    }
    fn push(&self, value: u64) {
        self.0.send(value).unwrap();
    }
    fn pop(&self) -> Option<u64> {
        self.1.lock().unwrap().recv().ok()
    }
}

/// Moves `iterations * MESSAGES` values through blocking calls; consumers take exactly their
/// share, so no close is needed. Returns the time from the start barrier to the last value.
fn blocking_transfer<Q: BlockingContender>(
    capacity: usize,
    producers: usize,
    consumers: usize,
    iterations: u64,
) -> Duration {
    let queue = Q::with_capacity(capacity);
    let total = iterations * MESSAGES;
    let (per_producer, per_consumer) = (total / producers as u64, total / consumers as u64);
    let start = Barrier::new(producers + consumers + 1);
    thread::scope(|s| {
        for _ in 0..producers {
            let (queue, start) = (&queue, &start);
            s.spawn(move || {
                start.wait();
                for n in 0..per_producer {
                    queue.push(n);
                }
            });
        }
        for _ in 0..consumers {
            let (queue, start) = (&queue, &start);
            s.spawn(move || {
                start.wait();
                for _ in 0..per_consumer {
                    black_box(queue.pop().expect("a value for every pop"));
                }
            });
        }
        start.wait();
        Instant::now()
    })
    .elapsed()
}

fn blocking<Q: BlockingContender>(c: &mut Criterion, group: &str, threads_per_side: usize) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(MESSAGES));
    for capacity in [64, 1024] {
        g.bench_with_input(
            BenchmarkId::new(Q::NAME, capacity),
            &capacity,
            |b, &capacity| {
                b.iter_custom(|iterations| {
                    blocking_transfer::<Q>(capacity, threads_per_side, threads_per_side, iterations)
                });
            },
        );
    }
    g.finish();
}

fn all_blocking<Q: BlockingContender>(c: &mut Criterion) {
    blocking::<Q>(c, "blocking_spsc", 1);
    blocking::<Q>(c, "blocking_mpmc_2x2", 2);
}

fn contenders(c: &mut Criterion) {
    all::<queue_core::Queue<u64>>(c);
    all::<crossbeam_queue::ArrayQueue<u64>>(c);
    all::<CrossbeamChannel>(c);
    all::<StdSyncChannel>(c);
    all::<MutexVecDeque>(c);
    all_blocking::<queue_core::BlockingQueue<u64>>(c);
    all_blocking::<CrossbeamChannel>(c);
    all_blocking::<StdSyncChannel>(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = contenders
}
criterion_main!(benches);
