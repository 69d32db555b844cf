//! Throughput of the queues in one process beside their peers, as an outside driver sees it:
//! every queue behind the handles its users hold, driven by the same loop, in one run.
//!
//! - Non-blocking calls: `Queue` (the heap placement, shared through an `Arc`), `Queue<_,
//!   Shared>` (the shared placement, a handle per thread), the floor ring (the same algorithm
//!   with nothing else: `support/floor_ring.rs`), crossbeam's `ArrayQueue`, and rtrb (single
//!   producer and consumer only). A call answered Full or Empty is retried after
//!   `crossbeam_utils::Backoff::snooze` (spins, then yields), as a user's retry loop would.
//! - Blocking calls: `BlockingQueue` beside crossbeam-channel, kanal and
//!   `std::sync::mpsc::sync_channel` (single consumer only: its receiver cannot be shared).
//!
//! Each case moves `MESSAGES` u64s from its producers to its consumers (each consumer takes
//! its share; the sum of what they took is checked), with 1 or 2 threads on each side,
//! capacity 64 and 1024, the threads left to the scheduler or pinned (producer `i` to core
//! `i`, consumer `j` to core `j + 1`, modulo the cores). "alone" is one thread pushing and
//! popping in turn: the cost of a call with nobody else on the lines. The samples of every
//! contender of a case are interleaved, so that a drift of the machine (its two CPUs change
//! distance within minutes) touches them all alike; the tables give the median and range of
//! the samples, and each peer's ratio to ours.
//!
//! Run: `cargo bench -p queue-core --bench throughput` (`-- WORDS` keeps the cases whose name
//! contains WORDS: a name is its table, `try` or `blocking`, and its shape, as `try spsc cap 64`). Without `--bench` (as in `cargo test --benches`) each case moves 20,000
//! messages once, to show the bench works.

#[path = "support/contenders.rs"]
mod contenders;
#[path = "support/floor_ring.rs"]
// Each bench uses its part of the shared support.
#[allow(dead_code)]
mod floor_ring;

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::Backoff;
use queue_core::{BlockingQueue, Queue, Shared};

use contenders::{
    Consumer, Contender, CrossbeamChannel, Kanal, Producer, Rtrb, Spsc, StdSyncChannel,
};
use contenders::{TryConsumer, TryProducer};
use floor_ring::FloorRing;

/// Messages per sample under `cargo bench` (`QUEUE_CORE_BENCH_MESSAGES` overrides it).
const MESSAGES: u64 = 1_000_000;
/// Samples per contender and case under `cargo bench` (`QUEUE_CORE_BENCH_SAMPLES`).
const SAMPLES: usize = 10;
/// Messages per case in a quick run.
const QUICK_MESSAGES: u64 = 20_000;

/// A shape of the bench. No producers means "alone": one thread pushes and pops in turn.
#[derive(Clone, Copy)]
struct Case {
    producers: usize,
    consumers: usize,
    capacity: usize,
    pinned: bool,
}

impl Case {
    fn name(self) -> String {
        let threads = match (self.producers, self.consumers) {
            (0, _) => "alone".to_string(),
            (1, 1) => "spsc".to_string(),
            (p, c) => format!("{p}p{c}c"),
        };
        let placed = match (self.producers, self.pinned) {
            (0, _) => "",
            (_, true) => " pinned",
            (_, false) => " unpinned",
        };
        format!("{threads} cap {}{placed}", self.capacity)
    }
}

/// The cases, alone first.
fn cases() -> Vec<Case> {
    let mut cases = vec![Case {
        producers: 0,
        consumers: 0,
        capacity: 64,
        pinned: false,
    }];
    for (producers, consumers) in [(1, 1), (2, 2)] {
        for capacity in [64, 1024] {
            for pinned in [false, true] {
                cases.push(Case {
                    producers,
                    consumers,
                    capacity,
                    pinned,
                });
            }
        }
    }
    cases
}

/// One contender: its name, whether it takes several threads a side, and one sample of a
/// case (its time to move the messages).
struct Entry {
    name: &'static str,
    mpmc: bool,
    sample: fn(Case, u64) -> Duration,
}

impl Entry {
    fn runs(&self, case: Case) -> bool {
        self.mpmc || case.producers <= 1 && case.consumers <= 1
    }
}

fn non_blocking<Q: Contender>() -> Entry
where
    Q::Producer: TryProducer,
    Q::Consumer: TryConsumer,
{
    Entry {
        name: Q::NAME,
        mpmc: Q::MPMC,
        sample: |case, messages| {
            let (producers, consumers) =
                Q::handles(case.capacity, case.producers.max(1), case.consumers.max(1));
            if case.producers == 0 {
                let (mut producer, mut consumer) = (one(producers), one(consumers));
                let began = Instant::now();
                for value in 0..messages {
                    assert!(producer.try_push(black_box(value)).is_ok());
                    assert_eq!(consumer.try_pop(), Some(value));
                }
                return began.elapsed();
            }
            let push = |producer: &mut Q::Producer, value: u64| {
                let (mut value, backoff) = (value, Backoff::new());
                while let Err(back) = producer.try_push(value) {
                    value = back;
                    backoff.snooze();
                }
            };
            let pop = |consumer: &mut Q::Consumer| {
                let backoff = Backoff::new();
                loop {
                    match consumer.try_pop() {
                        Some(value) => return value,
                        None => backoff.snooze(),
                    }
                }
            };
            transfer(case, messages, producers, consumers, push, pop)
        },
    }
}

fn blocking<Q: Contender>() -> Entry
where
    Q::Producer: Producer,
    Q::Consumer: Consumer,
{
    Entry {
        name: Q::NAME,
        mpmc: Q::MPMC,
        sample: |case, messages| {
            let (producers, consumers) = Q::handles(case.capacity, case.producers, case.consumers);
            transfer(
                case,
                messages,
                producers,
                consumers,
                |p: &mut Q::Producer, value| p.push(value),
                |c: &mut Q::Consumer| c.pop(),
            )
        },
    }
}

fn one<T>(handles: Vec<T>) -> T {
    handles.into_iter().next().expect("one handle")
}

/// Pins the calling thread to `core`, if the machine has it.
fn pin_to(core: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(core).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// Moves `messages` values (a share of `0..messages` per producer) with one thread per handle,
/// and returns the time from the start line until every thread is done. Panics unless the
/// consumers took exactly the values pushed.
fn transfer<P: Send, C: Send>(
    case: Case,
    messages: u64,
    producers: Vec<P>,
    consumers: Vec<C>,
    push: impl Fn(&mut P, u64) + Sync,
    pop: impl Fn(&mut C) -> u64 + Sync,
) -> Duration {
    let producers_count = producers.len() as u64;
    let (per_producer, per_consumer) = (
        messages / producers_count,
        messages / consumers.len() as u64,
    );
    assert_eq!(
        per_producer * producers.len() as u64,
        per_consumer * consumers.len() as u64
    );
    let start = Barrier::new(producers.len() + consumers.len() + 1);
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let (push, pop, start) = (&push, &pop, &start);
    // Each thread reads the clock itself, after the start line and when done: the main
    // thread, which only waits, may be scheduled late, after the transfer is under way.
    let (began, ended, taken) = thread::scope(|s| {
        let producers: Vec<_> = producers
            .into_iter()
            .enumerate()
            .map(|(i, mut producer)| {
                s.spawn(move || {
                    if case.pinned {
                        pin_to(i % cores);
                    }
                    start.wait();
                    let began = Instant::now();
                    for value in i as u64 * per_producer..(i as u64 + 1) * per_producer {
                        push(&mut producer, value);
                    }
                    (began, Instant::now(), 0)
                })
            })
            .collect();
        let consumers: Vec<_> = consumers
            .into_iter()
            .enumerate()
            .map(|(j, mut consumer)| {
                s.spawn(move || {
                    if case.pinned {
                        pin_to((j + 1) % cores);
                    }
                    start.wait();
                    let began = Instant::now();
                    let taken = (0..per_consumer).map(|_| pop(&mut consumer)).sum::<u64>();
                    (began, Instant::now(), taken)
                })
            })
            .collect();
        start.wait();
        let threads = producers
            .into_iter()
            .chain(consumers)
            .map(|thread| thread.join().unwrap());
        threads
            .fold(
                None,
                |span: Option<(Instant, Instant, u64)>, (began, ended, taken)| {
                    Some(match span {
                        None => (began, ended, taken),
                        Some((b, e, t)) => (b.min(began), e.max(ended), t + taken),
                    })
                },
            )
            .expect("at least one thread")
    });
    let took = ended - began;
    let expected: u64 = (0..per_producer * producers_count).sum();
    assert_eq!(
        taken, expected,
        "the consumers took other values than were pushed"
    );
    took
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let setting = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (messages, samples) = if full {
        (
            setting("QUEUE_CORE_BENCH_MESSAGES", MESSAGES),
            setting("QUEUE_CORE_BENCH_SAMPLES", SAMPLES as u64) as usize,
        )
    } else {
        (QUICK_MESSAGES, 1)
    };
    // A case is named by its table ("try" or "blocking") and its shape: `-- "try spsc cap 64"`.
    let kept = |table: &str| -> Vec<Case> {
        cases()
            .into_iter()
            .filter(|case| table != "blocking" || case.producers > 0)
            .filter(|case| {
                let name = format!("{table} {}", case.name());
                filter
                    .as_ref()
                    .is_none_or(|word| name.contains(word.as_str()))
            })
            .collect()
    };
    let non_blocking_entries = [
        non_blocking::<Queue<u64>>(),
        non_blocking::<Queue<u64, Shared>>(),
        non_blocking::<FloorRing<u64>>(),
        non_blocking::<ArrayQueue<u64>>(),
        non_blocking::<Spsc>(),
        non_blocking::<Rtrb>(),
    ];
    let blocking_entries = [
        blocking::<BlockingQueue<u64>>(),
        blocking::<CrossbeamChannel>(),
        blocking::<Kanal>(),
        blocking::<StdSyncChannel>(),
    ];
    println!(
        "{messages} u64 messages per sample, median (min-max) of {samples} samples, million messages/s"
    );
    let title = "Non-blocking calls, retried with `Backoff::snooze`";
    table(
        title,
        &kept("try"),
        &non_blocking_entries,
        messages,
        samples,
    );
    table(
        "Blocking calls",
        &kept("blocking"),
        &blocking_entries,
        messages,
        samples,
    );
}

/// Runs every entry on every case, samples interleaved, and prints the rates and the ratios of
/// the first entry (ours) to each other one.
fn table(title: &str, cases: &[Case], entries: &[Entry], messages: u64, samples: usize) {
    if cases.is_empty() {
        return;
    }
    let names: Vec<&str> = entries.iter().map(|entry| entry.name).collect();
    println!(
        "\n{title}\n\n| case | {} |\n|---|{}",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    let mut ratios = Vec::new();
    for &case in cases {
        let mut rates = vec![Vec::new(); entries.len()];
        for _ in 0..samples {
            for (entry, rates) in entries.iter().zip(&mut rates) {
                if entry.runs(case) {
                    let took = (entry.sample)(case, messages);
                    rates.push(messages as f64 / took.as_secs_f64() / 1e6);
                }
            }
        }
        let medians: Vec<Option<f64>> = rates.iter_mut().map(|rates| median(rates)).collect();
        let cells: Vec<String> = rates
            .iter()
            .zip(&medians)
            .map(|(rates, median)| match median {
                Some(median) => format!(
                    "{} ({}-{})",
                    figure(*median),
                    figure(rates[0]),
                    figure(rates[rates.len() - 1])
                ),
                None => String::new(),
            })
            .collect();
        println!("| {} | {} |", case.name(), cells.join(" | "));
        let ours = medians[0];
        ratios.push((
            case,
            medians
                .iter()
                .map(|peer| Some(ours? / (*peer)?))
                .collect::<Vec<_>>(),
        ));
    }
    println!(
        "\n{} ÷ each (medians)\n\n| case | {} |\n|---|{}",
        names[0],
        names.join(" | "),
        "---|".repeat(names.len())
    );
    for (case, ratios) in ratios {
        let cells: Vec<String> = ratios
            .iter()
            .map(|r| r.map_or(String::new(), |r| format!("{r:.2}")))
            .collect();
        println!("| {} | {} |", case.name(), cells.join(" | "));
    }
}

/// The median of `rates`, sorted in place; `None` for none.
fn median(rates: &mut [f64]) -> Option<f64> {
    rates.sort_by(f64::total_cmp);
    match rates.len() {
        0 => None,
        n if n % 2 == 1 => Some(rates[n / 2]),
        n => Some((rates[n / 2 - 1] + rates[n / 2]) / 2.0),
    }
}

/// Three significant figures, as the READMEs print rates.
fn figure(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{rate:.0}")
    } else if rate >= 10.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.2}")
    }
}
