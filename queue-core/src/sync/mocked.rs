//! The loom stand-ins for what the kernel and `crossbeam-utils` give outside loom: the retry
//! policy ([`Backoff`]), the barrier pair ([`Barriers`]) and the futex word ([`FutexWord`]).
//! Under shuttle the same stand-ins run on shuttle's mutex, condition variable and scheduler.

use std::time::Duration;

/// The model checker whose mutex, condition variable, atomics and yield the stand-ins use:
/// loom, or shuttle (for the scenarios too large for loom, at random and with PCT).
#[cfg(loom)]
use loom as checker;
#[cfg(all(shuttle, not(loom)))]
use shuttle as checker;

use checker::sync::atomic::{AtomicU32, Ordering, fence};
use checker::sync::{Condvar, Mutex};

/// The loom stand-in for `crossbeam_utils::Backoff`: every step yields to loom's
/// scheduler, and a call that retries more than [`RETRY_LIMIT`] times panics.
///
/// The ring never waits for another thread: each retry follows another operation's
/// claim, so within a model (a few operations in all) one call can only retry a few
/// times. A call that retries past the limit is waiting for something that never comes
/// (a livelock, or a broken invariant such as a lost value), and loom reports the
/// execution that led there instead of exploring an endless loop.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    retries: std::cell::Cell<u32>,
}

/// More retries than every operation of any model could cause together.
pub(crate) const RETRY_LIMIT: u32 = 64;

impl Backoff {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn spin(&self) {
        let retries = self.retries.get() + 1;
        self.retries.set(retries);
        // Under shuttle, scenarios of hundreds of operations may legitimately make one call
        // retry more often: there a livelock is an execution past the test's step limit.
        assert!(
            retries <= RETRY_LIMIT || cfg!(not(loom)),
            "an operation retried {RETRY_LIMIT} times with no other operation completing: \
             the ring is not lock-free in this execution"
        );
        checker::thread::yield_now();
    }

    /// As `spin` (a blocking call's spinning before its sleep is `Spinning`, empty here).
    pub(crate) fn snooze(&self) {
        self.spin();
    }
}

/// The loom stand-in for a blocking call's spinning: none, so that a refused call goes
/// straight to the sleep protocol, which is what the models are about (retries before it
/// would only add executions in which the call does not sleep).
#[derive(Debug)]
pub(crate) struct Spinning;

impl Spinning {
    pub(crate) fn new() -> Self {
        Self
    }

    pub(crate) fn before_retry(&mut self) -> bool {
        false
    }
}

/// The loom stand-in for the barrier pair: both halves are `SeqCst` fences, the guarantee
/// the kernel's pair gives (see the non-loom `Barriers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Barriers {
    Symmetric,
    #[allow(dead_code, reason = "the same variants as the non-loom type")]
    WithinProcess,
    AcrossProcesses,
}

impl Barriers {
    pub(crate) fn within_process() -> Self {
        Self::Symmetric
    }

    pub(crate) fn join_across_processes() -> std::io::Result<()> {
        Ok(())
    }

    pub(crate) fn across_processes() -> Self {
        Self::Symmetric
    }

    pub(crate) fn waker_half(self) {
        // ORDERING: SeqCst fence, paired with `sleeper_half`.
        fence(Ordering::SeqCst);
    }

    pub(crate) fn sleeper_half(self) -> bool {
        // ORDERING: SeqCst fence, paired with `waker_half`.
        fence(Ordering::SeqCst);
        true
    }
}

/// The loom stand-in for the futex word: the word, plus a mutex and a condition variable
/// that make "compare, then sleep" atomic with respect to `wake`, as the kernel does.
///
/// A timed wait models its timer firing as early as it could: it returns "timed out"
/// without sleeping unless the word already changed. (loom has no clock; the untimed wait
/// is the one that sleeps, and loom reports a deadlock if it is never woken.)
#[derive(Debug)]
pub(crate) struct FutexWord {
    word: AtomicU32,
    /// How many callers sleep in `wait` (or were woken and have not run since).
    waiters: Mutex<u32>,
    changed: Condvar,
}

impl std::ops::Deref for FutexWord {
    type Target = AtomicU32;

    fn deref(&self) -> &AtomicU32 {
        &self.word
    }
}

impl Default for FutexWord {
    fn default() -> Self {
        Self::new(0)
    }
}

impl FutexWord {
    pub(crate) fn new(value: u32) -> Self {
        Self {
            word: AtomicU32::new(value),
            waiters: Mutex::new(0),
            changed: Condvar::new(),
        }
    }

    pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) -> bool {
        let mut waiters = self.waiters.lock().unwrap();
        // Relaxed, as the kernel's own read of the word: the lock that `wake` takes after its
        // caller changed the word orders the two, so either this load sees the change or
        // `wake` runs after we sleep. A futex promises nothing more, nor does this stand-in:
        // the callers' ordering is their barrier pair's (see `wait`).
        if self.word.load(Ordering::Relaxed) != expected {
            return true;
        }
        if timeout.is_some() {
            return false;
        }
        *waiters += 1;
        let mut waiters = self.changed.wait(waiters).unwrap();
        *waiters -= 1;
        true
    }

    /// Returns how many it may have woken: at least the number it did (a woken caller that
    /// has not run yet is counted again by a second wake), as a caller that acts on "none"
    /// needs.
    pub(crate) fn wake(&self, count: u32) -> u32 {
        let waiters = *self.waiters.lock().unwrap();
        if count == 1 {
            self.changed.notify_one();
        } else {
            self.changed.notify_all();
        }
        waiters.min(count)
    }
}
