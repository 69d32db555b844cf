//! Crash points: where the models make a participant stop for ever, as a process killed at
//! that instruction would.
//!
//! The algorithm calls [`crash_point`] between the steps that other participants can see (an
//! announcement, a compare-and-swap, each word of a value, a publication). Outside the models
//! it is an empty inline function. Under loom, a model arms a thread with
//! [`crash_after`]`(n)`: the thread runs until its `n`-th crash point, where it unwinds with a
//! [`Crashed`] payload that the model catches; everything the thread wrote stays as it was,
//! and nothing it would have written next is written, as after a `SIGKILL`.
//!
//! Built with `--cfg queue_faults` (and not loom), the same points can kill the real process:
//! [`kill_at_crash_point`]`(n)` makes this process raise `SIGKILL` at its `n`-th crash point.
//! That build is for the fault-injection tests only; every other build has no hook at all.

#[cfg(loom)]
mod modelled {
    use std::cell::Cell;

    loom::thread_local! {
        /// How many crash points the thread passes before it crashes; `None`: never.
        static COUNTDOWN: Cell<Option<u32>> = Cell::new(None);
    }

    /// The payload of a modelled crash.
    #[derive(Debug)]
    pub(crate) struct Crashed;

    /// Arms this thread to crash at its crash point number `points` (0: the next one).
    #[cfg_attr(not(test), expect(dead_code, reason = "only the crash models crash"))]
    pub(crate) fn crash_after(points: u32) {
        COUNTDOWN.with(|countdown| countdown.set(Some(points)));
    }

    /// Disarms this thread; returns whether it was still armed (it did not crash).
    #[cfg_attr(not(test), expect(dead_code, reason = "only the crash models crash"))]
    pub(crate) fn disarm() -> bool {
        COUNTDOWN.with(|countdown| countdown.replace(None).is_some())
    }

    /// Crashes here if this thread's countdown ran out.
    pub(crate) fn crash_point() {
        let crash = COUNTDOWN.with(|countdown| match countdown.get() {
            Some(0) => {
                countdown.set(None);
                true
            }
            Some(left) => {
                countdown.set(Some(left - 1));
                false
            }
            None => false,
        });
        if crash {
            std::panic::panic_any(Crashed);
        }
    }
}

#[cfg(loom)]
pub(crate) use modelled::crash_point;
#[cfg(all(test, loom))]
pub(crate) use modelled::{Crashed, crash_after, disarm};

#[cfg(all(queue_faults, not(loom)))]
mod injected {
    use core::sync::atomic::{AtomicU32, Ordering};

    /// Disarmed.
    const NEVER: u32 = u32::MAX;

    /// How many crash points this process passes before it kills itself.
    static COUNTDOWN: AtomicU32 = AtomicU32::new(NEVER);

    /// Arms this process to raise `SIGKILL` at its crash point number `points` (0: the next
    /// one), counting the crash points of all its threads.
    pub fn kill_at_crash_point(points: u32) {
        // Relaxed: the countdown orders nothing; a test arms it on the thread that then calls.
        COUNTDOWN.store(points.min(NEVER - 1), Ordering::Relaxed);
    }

    /// Disarms this process; returns whether it was still armed (it passed fewer crash points
    /// than it was armed for).
    pub fn disarm() -> bool {
        COUNTDOWN.swap(NEVER, Ordering::Relaxed) != NEVER
    }

    /// Kills this process here if its countdown ran out.
    #[inline(always)]
    pub(crate) fn crash_point() {
        match COUNTDOWN.load(Ordering::Relaxed) {
            NEVER => {}
            0 => {
                // SAFETY: `raise` has no memory-safety preconditions; SIGKILL cannot be
                // caught, so the process ends here, with the shared memory as it is now.
                unsafe { nix::libc::raise(nix::libc::SIGKILL) };
            }
            left => COUNTDOWN.store(left - 1, Ordering::Relaxed),
        }
    }
}

#[cfg(all(queue_faults, not(loom)))]
pub(crate) use injected::crash_point;
#[cfg(all(queue_faults, not(loom)))]
pub use injected::{disarm, kill_at_crash_point};

/// Outside the models and the fault-injection build: nothing.
#[cfg(not(any(loom, queue_faults)))]
#[inline(always)]
pub(crate) fn crash_point() {}
