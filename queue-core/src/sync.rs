//! The one switch between `std` and `loom`.
//!
//! Every atomic, cell and wait that the queue's algorithm uses is imported from here, so the
//! algorithm reads the same under both and never names `loom` itself. Build with
//! `RUSTFLAGS="--cfg loom"` and the whole crate runs on loom's simulated memory model.
//!
//! Both alternatives expose the same items:
//! - `AtomicUsize`, `Ordering`, `fence`: the atomics;
//! - `UnsafeCell`: with loom's closure-based `with`/`with_mut` shape, so that loom can track
//!   every access to a slot's value;
//! - `Backoff`: the retry policy of every retry loop (spins, then yields the thread; under
//!   loom, every step yields to the model's scheduler, and a call that retries more often than
//!   any model's operations could explain fails the model: lock-freedom, checked).

#[cfg(not(loom))]
mod primitive {
    pub(crate) use std::sync::atomic::{AtomicUsize, Ordering, fence};

    pub(crate) use crossbeam_utils::Backoff;

    /// `std::cell::UnsafeCell` with loom's `with`/`with_mut` shape.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod primitive {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering, fence};

    /// The loom stand-in for `crossbeam_utils::Backoff`: every step yields to loom's
    /// scheduler, and a call that retries more than [`RETRY_LIMIT`] times panics.
    ///
    /// The ring never waits for another thread: each retry follows another operation's
    /// success, so within a model (a few operations in all) one call can only retry a few
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
            assert!(
                retries <= RETRY_LIMIT,
                "an operation retried {RETRY_LIMIT} times with no other operation completing: \
                 the ring is not lock-free in this execution"
            );
            loom::thread::yield_now();
        }
    }
}

pub(crate) use primitive::*;
