//! Crash points: where the models make a participant stop for ever, as a process killed at
//! that instruction would.
//!
//! The algorithm calls [`crash_point`] between the steps that other participants can see (an
//! announcement, a compare-and-swap, each word of a value, a publication). Outside the models
//! it is an empty inline function. Under loom, a model arms a thread with
//! [`crash_after`]`(n)`: the thread runs until its `n`-th crash point, where it unwinds with a
//! [`Crashed`] payload that the model catches; everything the thread wrote stays as it was,
//! and nothing it would have written next is written, as after a `SIGKILL`.

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

/// Outside the models: nothing.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn crash_point() {}
