//! The harness of the latency benches: two forked processes bounce a u64 back and forth, the
//! timed one reading the clock around every round trip; a one-way latency is half a round
//! trip. Each sample is `round_trips` of them (after [`WARMUP`] untimed ones), summarised by
//! its median, 99th and 99.9th percentiles, and a case's samples by their median and range.

use std::fs::File;
use std::io::{Read, Write};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use queue_core::{BlockingQueue, Queue, Shared};

use crate::processes::two_processes;

/// The queues' capacity: a ping-pong never has more than one value in a direction.
const CAPACITY: usize = 1024;

/// The floor: a one-value mailbox per direction.
pub(crate) const CACHE_LINE: Case = ("cache line (the floor)", || {
    Box::new((Mailbox::new(), Mailbox::new()))
});

/// Shared `Queue`s, their calls retried at once while full or empty.
pub(crate) const SPINNING_QUEUE: Case = ("Queue, try_push/try_pop spinning", || {
    let queue = || Queue::<u64, Shared>::create(CAPACITY).expect("a shared queue");
    Box::new((queue(), queue()))
});

/// Shared `BlockingQueue`s, with their blocking calls.
pub(crate) const BLOCKING_QUEUE: Case = ("BlockingQueue, push/pop", || {
    let queue = || BlockingQueue::<u64, Shared>::create(CAPACITY).expect("a shared queue");
    Box::new((queue(), queue()))
});

/// Untimed round trips before a sample's timed ones: both processes running, their lines in
/// place.
pub(crate) const WARMUP: usize = 1_000;

/// A ping-pong's two directions as one process holds them.
pub(crate) trait Ends {
    fn send(&mut self, value: u64);
    fn receive(&mut self) -> u64;
}

/// What the parent makes before the fork; each child opens its ends from it.
pub(crate) trait Pair {
    /// The echo's ends: receives on the first direction, sends on the second.
    fn echo_ends(&self) -> Box<dyn Ends + '_>;
    /// The timed side's ends: sends on the first direction, receives on the second.
    fn timed_ends(&self) -> Box<dyn Ends + '_>;
}

/// One direction that both forked processes use as the parent made it (a value in shared
/// memory).
pub(crate) trait Link {
    fn send(&self, value: u64);
    fn receive(&self) -> u64;
}

/// The two directions of a ping-pong over links made before the fork.
impl<L: Link> Pair for (L, L) {
    fn echo_ends(&self) -> Box<dyn Ends + '_> {
        Box::new(Crossed {
            out: &self.1,
            into: &self.0,
        })
    }
    fn timed_ends(&self) -> Box<dyn Ends + '_> {
        Box::new(Crossed {
            out: &self.0,
            into: &self.1,
        })
    }
}

/// A process's ends over two links: it sends on `out` and receives from `into`.
struct Crossed<'a, L> {
    out: &'a L,
    into: &'a L,
}

impl<L: Link> Ends for Crossed<'_, L> {
    fn send(&mut self, value: u64) {
        self.out.send(value);
    }
    fn receive(&mut self) -> u64 {
        self.into.receive()
    }
}

/// A one-value mailbox in a shared mapping: the floor of any hand-over between two processes.
pub(crate) struct Mailbox(Mapped<CachePadded<AtomicU64>>);

impl Mailbox {
    /// An empty mailbox (0 when empty, else the value plus one).
    pub(crate) fn new() -> Self {
        Self(Mapped::new(CachePadded::new(AtomicU64::new(0))))
    }
}

impl Link for Mailbox {
    fn send(&self, value: u64) {
        // ORDERING: Acquire pairs with the receiver's Release swap that emptied the box.
        while self.0.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
        // ORDERING: Release pairs with the receiver's Acquire swap.
        self.0.store(value + 1, Ordering::Release);
    }
    fn receive(&self) -> u64 {
        loop {
            // ORDERING: AcqRel: Acquire pairs with the sender's Release store, Release with
            // its Acquire load of the emptied box.
            match self.0.swap(0, Ordering::AcqRel) {
                0 => std::hint::spin_loop(),
                full => return full - 1,
            }
        }
    }
}

impl Link for Queue<u64, Shared> {
    fn send(&self, value: u64) {
        while self.try_push(value).is_err() {
            std::hint::spin_loop();
        }
    }
    fn receive(&self) -> u64 {
        loop {
            match self.try_pop() {
                Ok(value) => return value,
                Err(_) => std::hint::spin_loop(),
            }
        }
    }
}

impl Link for BlockingQueue<u64, Shared> {
    fn send(&self, value: u64) {
        self.push(value).expect("the queue stays open");
    }
    fn receive(&self) -> u64 {
        self.pop().expect("the queue stays open")
    }
}

/// A value in a new `MAP_SHARED` anonymous mapping, shared with the processes forked while
/// this handle lives; unmapped (not dropped: only atomics live here) with it.
pub(crate) struct Mapped<T>(NonNull<T>);

impl<T> Mapped<T> {
    pub(crate) fn new(value: T) -> Self {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
        // SAFETY: a new mapping that overlaps no Rust object; unmapped by `drop`.
        let mapping = unsafe {
            mmap_anonymous(
                None,
                std::num::NonZeroUsize::new(size_of::<T>()).expect("not a ZST"),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .expect("mmap")
        .cast::<T>();
        // SAFETY: page-aligned and large enough for a `T`; written before any read.
        unsafe { mapping.write(value) };
        Self(mapping)
    }
}

impl<T> std::ops::Deref for Mapped<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: written in `new`, unmapped only by `drop`.
        unsafe { self.0.as_ref() }
    }
}

impl<T> Drop for Mapped<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping of `new`; no reference outlives this handle.
        unsafe { nix::sys::mman::munmap(self.0.cast(), size_of::<T>()) }.expect("munmap");
    }
}

/// One sample's one-way latencies, in nanoseconds.
#[derive(Clone, Copy)]
pub(crate) struct Latency {
    pub(crate) median: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
}

impl Latency {
    /// The percentiles of `round_trips` (ns), each halved.
    fn of(mut round_trips: Vec<u64>) -> Self {
        round_trips.sort_unstable();
        let at = |quantile: f64| {
            let index = ((round_trips.len() - 1) as f64 * quantile).round() as usize;
            round_trips[index] as f64 / 2.0
        };
        Self {
            median: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
        }
    }
}

/// Pins the calling process to `cpu`, if the machine has it.
fn pin_to(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// One sample: `round_trips` timed round trips through `pair`, the processes pinned to CPUs 0
/// and 1 or not. The timed process sends its three figures back through a pipe.
pub(crate) fn sample(pair: &dyn Pair, round_trips: usize, pinned: bool) -> Latency {
    let (read_end, write_end) = nix::unistd::pipe().expect("pipe");
    let (mut results, report) = (File::from(read_end), File::from(write_end));
    two_processes(
        // The echo: sends each value back.
        || {
            if pinned {
                pin_to(1);
            }
            let mut ends = pair.echo_ends();
            for _ in 0..WARMUP + round_trips {
                let value = ends.receive();
                ends.send(value);
            }
        },
        // The timed side.
        || {
            if pinned {
                pin_to(0);
            }
            let mut ends = pair.timed_ends();
            let mut took = Vec::with_capacity(round_trips);
            for n in 0..(WARMUP + round_trips) as u64 {
                let started = Instant::now();
                ends.send(n);
                assert_eq!(ends.receive(), n, "the value that came back");
                if n >= WARMUP as u64 {
                    took.push(started.elapsed().as_nanos() as u64);
                }
            }
            let latency = Latency::of(took);
            let mut bytes = Vec::new();
            for figure in [latency.median, latency.p99, latency.p999] {
                bytes.extend_from_slice(&figure.to_le_bytes());
            }
            (&report)
                .write_all(&bytes)
                .expect("the parent reads the figures");
        },
    );
    drop(report);
    let mut bytes = [0u8; 24];
    results
        .read_exact(&mut bytes)
        .expect("the timed process sent its figures");
    let figure = |i: usize| f64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
    Latency {
        median: figure(0),
        p99: figure(1),
        p999: figure(2),
    }
}

/// What makes a sample's pair.
pub(crate) type MakePair = fn() -> Box<dyn Pair>;

/// A case: its name and what makes a sample's pair.
pub(crate) type Case = (&'static str, MakePair);

/// The figures of one case over its samples: medians of the samples' median and p99.
pub(crate) struct Measured {
    pub(crate) name: String,
    pub(crate) median: f64,
    pub(crate) p99: f64,
}

/// Runs every case of `cases` pinned and unpinned (those whose name, with ", pinned" or
/// ", unpinned", contains the command line's filter word), `samples` rounds of all of them
/// interleaved, prints the table and returns each case's medians.
pub(crate) fn run(cases: &[Case]) -> Vec<Measured> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let round_trips = if full { 200_000 } else { 2_000 };
    let samples = std::env::var("QUEUE_CORE_BENCH_SAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 5 } else { 1 });
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let chosen: Vec<(String, bool, MakePair)> = [true, false]
        .into_iter()
        .flat_map(|pinned| {
            cases.iter().map(move |&(name, make)| {
                let pinning = if pinned { "pinned" } else { "unpinned" };
                (format!("{name}, {pinning}"), pinned, make)
            })
        })
        .filter(|(name, ..)| filter.as_ref().is_none_or(|word| name.contains(word)))
        .collect();
    println!(
        "one-way latency across two processes (half a round trip), {round_trips} round trips per \
         sample, {samples} samples per case, interleaved; ns: median of the samples (min-max)"
    );
    let mut figures = vec![Vec::new(); chosen.len()];
    for _ in 0..samples {
        for ((_, pinned, make), figures) in chosen.iter().zip(&mut figures) {
            figures.push(sample(&*make(), round_trips, *pinned));
        }
    }
    println!("\n| link | median | p99 | p99.9 | p99 ÷ median |");
    println!("|---|---|---|---|---|");
    let mut measured = Vec::new();
    for ((name, ..), figures) in chosen.iter().zip(&figures) {
        let pick = |figure: fn(&Latency) -> f64| figures.iter().map(figure).collect::<Vec<_>>();
        let (median, median_text) = summary(&mut pick(|l| l.median));
        let (p99, p99_text) = summary(&mut pick(|l| l.p99));
        let (_, p999_text) = summary(&mut pick(|l| l.p999));
        println!(
            "| {name} | {median_text} | {p99_text} | {p999_text} | {:.2} |",
            p99 / median
        );
        measured.push(Measured {
            name: name.clone(),
            median,
            p99,
        });
    }
    measured
}

/// The median of `values` and the text "median (min-max)".
fn summary(values: &mut [f64]) -> (f64, String) {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    let text = format!(
        "{median:.0} ({:.0}-{:.0})",
        values[0],
        values[values.len() - 1]
    );
    (median, text)
}

/// The case whose name starts with `prefix` and ends with `pinning`, if it ran.
pub(crate) fn find<'a>(
    measured: &'a [Measured],
    prefix: &str,
    pinning: &str,
) -> Option<&'a Measured> {
    measured
        .iter()
        .find(|m| m.name.starts_with(prefix) && m.name.ends_with(&format!(", {pinning}")))
}
