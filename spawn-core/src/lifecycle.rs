//! The lifecycle of one started child, apart from the operating system: who reaps it (exactly
//! once), how its exit status reaches every observer, and when a signal may still be sent.
//!
//! The OS side is the [`ChildOs`] trait: the real one is a pidfd (see `pidfd`); the loom
//! models use threads standing in for the kernel. Every thread that holds a handle may join,
//! poll and signal it at once; this module makes that safe.
//!
//! # The state word
//!
//! | bits | meaning |
//! |---|---|
//! | `REAPING` (bit 31) | a thread has won the right to reap; no signal may start any more |
//! | `PUBLISHED` (bit 30) | the status cell holds the status; set once, after the write |
//! | bits 0-29 | how many signals are being sent right now |
//!
//! 1. A signaller increments the count with a compare-and-swap that fails once `REAPING` is
//!    set, sends its signal, and decrements the count.
//! 2. A thread that saw the child exit sets `REAPING` with a compare-and-swap; exactly one
//!    succeeds. It waits for the count to drop to zero (signals in flight finish their system
//!    call), reaps, writes the status, and sets `PUBLISHED`.
//! 3. Everyone else who needs the status waits for `PUBLISHED` (a short wait: the reaper's
//!    remaining work is one non-blocking system call), then reads the status.
//!
//! The two waits sleep on a mutex and condition variable (`Parking`), not in a spin loop: a
//! spinning waiter could keep the thread it waits for off the processor, and loom rightly
//! finds executions where two spinners starve the reaper forever.
//!
//! So the child is reaped exactly once, no signal is sent once reaping has started (for a
//! plain pid, that is what rules out signalling a recycled pid; a pidfd rules it out too, but
//! the protocol does not rely on it), and every observer sees the one published status.

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

use crate::mutant;
use crate::status::ExitStatus;
use crate::sync::{AtomicU32, Condvar, Mutex, MutexGuard, Ordering, UnsafeCell};

/// Set once a thread has won the right to reap.
const REAPING: u32 = 1 << 31;
/// Set once the status cell holds the status.
const PUBLISHED: u32 = 1 << 30;
/// The count of signals in flight.
const SIGNALLERS: u32 = PUBLISHED - 1;

/// The operating system's side of one started child.
pub(crate) trait ChildOs {
    /// Blocks until the child has exited or `timeout` has passed (`None`: no limit), without
    /// reaping it. Returns whether it has exited.
    fn wait_exited(&self, timeout: Option<Duration>) -> io::Result<bool>;

    /// Reaps the exited child and returns its status. Called at most once, after
    /// `wait_exited` returned `true`.
    fn reap(&self) -> ExitStatus;

    /// Sends signal number `signal` to the child. Never called once `reap` may have started.
    fn send_signal(&self, signal: i32) -> io::Result<()>;
}

/// One child's lifecycle: its OS side, the state word, and the published status.
pub(crate) struct Lifecycle<C> {
    os: C,
    /// See the table in the module docs.
    state: AtomicU32,
    /// Written once by the reaper before it sets `PUBLISHED`; read only after `PUBLISHED`.
    status: UnsafeCell<MaybeUninit<ExitStatus>>,
    /// Where the reaper waits for signals in flight, and others wait for the status.
    parking: Parking,
}

// SAFETY: the status cell is written by one thread (the reaper, chosen by the CAS that sets
// `REAPING`) before the Release that sets `PUBLISHED`, and read only after an Acquire that sees
// it; `C` is shared as `&C` only.
unsafe impl<C: Sync> Sync for Lifecycle<C> {}

impl<C: ChildOs> Lifecycle<C> {
    /// The lifecycle of a running child.
    pub(crate) fn new(os: C) -> Self {
        Self {
            os,
            state: AtomicU32::new(0),
            status: UnsafeCell::new(MaybeUninit::uninit()),
            parking: Parking::default(),
        }
    }

    /// The OS side.
    pub(crate) fn os(&self) -> &C {
        &self.os
    }

    /// The status, if it has been published.
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        // ORDERING: Acquire pairs with the Release `fetch_or(PUBLISHED)` in `reap_once`, so
        // the status write happens-before our read.
        let state = self.state.load(Ordering::Acquire);
        (state & PUBLISHED != 0).then(|| self.read_status())
    }

    /// Waits until the child has exited, or `timeout` passes, and reaps it (exactly once
    /// among all callers). `Ok(None)` if the timeout passed first.
    pub(crate) fn join(&self, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status() {
            return Ok(Some(status));
        }
        if self.os.wait_exited(timeout)? {
            Ok(Some(self.reap_once()))
        } else {
            Ok(None)
        }
    }

    /// Whether the child is still running; reaps it if it has exited.
    pub(crate) fn is_alive(&self) -> io::Result<bool> {
        self.join(Some(Duration::ZERO))
            .map(|status| status.is_none())
    }

    /// Sends signal number `signal` unless reaping has started. `Ok(false)`: the child has
    /// exited (and is being or has been reaped), so nothing was sent.
    pub(crate) fn send_signal(&self, signal: i32) -> io::Result<bool> {
        // Relaxed, here and in the compare-and-swap: nothing is read through this word before
        // the signal; what keeps the signal from a reaped child is that the increment and the
        // reaper's `REAPING` are read-modify-writes of one word, so one of them comes first
        // and the other sees it, whatever their orderings (a stale load only fails the CAS).
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & REAPING != 0 {
                return Ok(false);
            }
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => state = current,
            }
        }
        let sent = self.os.send_signal(signal);
        // ORDERING: Release pairs with the reaper's Acquire load while it waits for the count
        // to reach zero: our system call (the kernel's record of the signal) happens-before
        // its reap.
        let before = self.state.fetch_sub(1, Ordering::Release);
        if before & REAPING != 0 && before & SIGNALLERS == 1 {
            // The reaper may be waiting for us, the last signal in flight.
            self.parking.wake_all();
        }
        sent.map(|()| true)
    }

    /// Reaps the exited child if no other thread has, and returns the one published status.
    fn reap_once(&self) -> ExitStatus {
        if mutant::EVERY_JOINER_REAPS {
            return self.reap_and_publish();
        }
        // Relaxed, here and in the compare-and-swap: a reaper found here reads the status
        // only after its own Acquire load (`wait_for_status`), and the signallers' decrements
        // are acquired by the load that waits for them below (our compare-and-swap continues
        // their release sequences, so that load synchronizes with each of them even when it
        // reads the value we wrote).
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & REAPING != 0 {
                return self.wait_for_status();
            }
            match self.state.compare_exchange_weak(
                state,
                state | REAPING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => state = current,
            }
        }
        // ORDERING: Acquire pairs with each signaller's Release decrement: once the count is
        // zero, every signal sent happens-before the reap below.
        self.parking
            .wait_until(|| self.state.load(Ordering::Acquire) & SIGNALLERS == 0);
        self.reap_and_publish()
    }

    /// Reaps, writes the status, and publishes it.
    fn reap_and_publish(&self) -> ExitStatus {
        let status = self.os.reap();
        if mutant::PUBLISHES_FLAG_FIRST {
            // ORDERING: the broken variant: the flag before the status it announces. Beyond
            // the models as an ordering: this line is compiled only into the mutant, which the
            // models kill by its order, not by this Release.
            self.state.fetch_or(PUBLISHED, Ordering::Release);
        }
        self.status.with_mut(|cell| {
            // SAFETY: only the thread that set `REAPING` gets here (the CAS in `reap_once`),
            // once, and no reader reads the cell before `PUBLISHED` is set below.
            unsafe { cell.write(MaybeUninit::new(status)) };
        });
        // ORDERING: Release pairs with the Acquire loads that test `PUBLISHED` (`status`,
        // `wait_for_status`): the write above happens-before their read.
        self.state.fetch_or(PUBLISHED, Ordering::Release);
        self.parking.wake_all();
        status
    }

    /// Waits for the reaper (another thread) to publish the status, and reads it.
    fn wait_for_status(&self) -> ExitStatus {
        self.parking.wait_until(|| self.status().is_some());
        self.read_status()
    }

    /// Reads the published status.
    fn read_status(&self) -> ExitStatus {
        self.status.with(|cell| {
            // SAFETY: callers saw `PUBLISHED` with an Acquire load, so the reaper's write of the
            // cell happens-before this read, and the cell is never written again.
            unsafe { (*cell).assume_init() }
        })
    }
}

/// A mutex and condition variable for the lifecycle's two short waits on another thread.
///
/// A waiter tests its condition with the lock held; a waker changes the state word first,
/// then takes and drops the lock before notifying, so a waiter either sees the change or is
/// already asleep when the notification comes: no wake-up is lost.
#[derive(Debug, Default)]
struct Parking {
    lock: Mutex<()>,
    woken: Condvar,
}

impl Parking {
    /// Sleeps until `done()` holds.
    fn wait_until(&self, done: impl Fn() -> bool) {
        let mut guard = self.lock();
        while !done() {
            guard = self
                .woken
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Wakes every waiter, after the caller changed the state word.
    fn wake_all(&self) {
        drop(self.lock());
        self.woken.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The mutex guards nothing: a panic while holding it leaves nothing inconsistent.
        self.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(all(test, loom))]
mod loom_models;
