//! The harness of the cross-process benches: two forked children started together, timed
//! from the start until the consumer is done, and the cache-line round trip that says how far
//! apart this machine's two CPUs are at the moment.

use std::io::Write;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

/// Where the parent and its two children meet, in a `MAP_SHARED` anonymous mapping: the
/// children say they are ready and wait for the start; the consumer stamps the end.
#[repr(C)]
pub(crate) struct Control {
    ready: AtomicU32,
    go: AtomicU32,
    /// `CLOCK_MONOTONIC` (system-wide, so comparable across processes) in nanoseconds.
    finished_at: AtomicU64,
    /// The line that [`round_trip`] bounces between the two processes.
    ball: CachePadded<AtomicU64>,
}

/// Round trips of a cache line between the two processes, to characterise the machine:
/// how far apart its two CPUs are (siblings sharing a core's caches, or separate cores).
pub(crate) const ROUND_TRIPS: u64 = 20_000;

/// The time a cache line takes to go from one process to the other and back: the
/// producer writes odd numbers, the consumer answers each with the next even one.
pub(crate) fn round_trip_nanos() -> f64 {
    let bounce = |control: &Control, parity: u64| {
        for n in 0..ROUND_TRIPS {
            // ORDERING: Acquire/Release pair the two processes' stores and loads (nothing
            // else is published; the bounce itself is what is timed).
            while control.ball.load(Ordering::Acquire) != 2 * n + parity {
                std::hint::spin_loop();
            }
            control.ball.store(2 * n + parity + 1, Ordering::Release);
        }
    };
    let took = two_processes_with(|control| bounce(control, 0), |control| bounce(control, 1));
    took.as_nanos() as f64 / ROUND_TRIPS as f64
}

/// Forks `consumer` and `producer`, starts them together once both are running, and
/// returns the time from the start until the consumer took the last message. Process
/// creation and teardown stay outside the measurement. Panics if either child fails.
pub(crate) fn two_processes(producer: impl FnOnce(), consumer: impl FnOnce()) -> Duration {
    two_processes_with(|_| producer(), |_| consumer())
}

/// [`two_processes`], with the shared [`Control`] handed to both children.
pub(crate) fn two_processes_with(
    producer: impl FnOnce(&Control),
    consumer: impl FnOnce(&Control),
) -> Duration {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
    let len = std::num::NonZeroUsize::new(size_of::<Control>()).unwrap();
    // SAFETY: a new zero-filled mapping that overlaps no Rust object, unmapped below
    // after both children are reaped and the last reference is gone.
    let mapping = unsafe {
        mmap_anonymous(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }
    .expect("mmap");
    // SAFETY: page-aligned, zeroed (all-zero atomics are valid), shared with the children
    // and accessed only through atomics.
    let control = unsafe { mapping.cast::<Control>().as_ref() };
    let wait_for_start = || {
        // Relaxed: a counter; the start below is what orders the work.
        control.ready.fetch_add(1, Ordering::Relaxed);
        // ORDERING: Acquire pairs with the parent's Release store of `go`.
        while control.go.load(Ordering::Acquire) == 0 {
            std::hint::spin_loop();
        }
    };
    let consumer = fork_running(|| {
        wait_for_start();
        consumer(control);
        // Relaxed: read by the parent after reaping this process.
        control
            .finished_at
            .store(monotonic_nanos(), Ordering::Relaxed);
    });
    let producer = fork_running(|| {
        wait_for_start();
        producer(control);
    });
    while control.ready.load(Ordering::Relaxed) < 2 {
        std::thread::yield_now();
    }
    let started_at = monotonic_nanos();
    // ORDERING: Release pairs with the children's Acquire loads in `wait_for_start`.
    control.go.store(1, Ordering::Release);
    for (child, what) in [(producer, "producer"), (consumer, "consumer")] {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => {}
            other => panic!("the {what} process failed: {other:?}"),
        }
    }
    // Relaxed: the consumer stored it before exiting, and we reaped it.
    let took = control.finished_at.load(Ordering::Relaxed) - started_at;
    // SAFETY: the mapping made above; `control` is not used after this.
    unsafe { munmap(mapping, len.get()) }.expect("munmap");
    Duration::from_nanos(took)
}

/// `CLOCK_MONOTONIC` in nanoseconds: the same clock in every process.
pub(crate) fn monotonic_nanos() -> u64 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64
}

/// Forks a child that runs `body`, then exits 0 (101 if it panicked).
pub(crate) fn fork_running(body: impl FnOnce()) -> nix::unistd::Pid {
    let _ = std::io::stdout().flush();
    // SAFETY: the bench runs on its main thread only, so the parent is single-threaded
    // and the child may run any code.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { nix::libc::_exit(if outcome.is_ok() { 0 } else { 101 }) }
        }
    }
}
