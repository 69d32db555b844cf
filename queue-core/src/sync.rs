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
//! - `Backoff`: the retry policy of every wait loop (spins, then yields the thread; under loom,
//!   every step yields to the model's scheduler so that the exploration can make progress).

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
    /// scheduler, which tells the model checker that this thread waits for another one.
    #[derive(Debug, Default)]
    pub(crate) struct Backoff(());

    impl Backoff {
        pub(crate) fn new() -> Self {
            Self(())
        }

        pub(crate) fn spin(&self) {
            loom::thread::yield_now();
        }

        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }
    }
}

pub(crate) use primitive::*;
