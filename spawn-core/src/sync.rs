//! The one switch between `std` and `loom`.
//!
//! The lifecycle's state word, its status cell and its waits are imported from here, so the
//! lifecycle reads the same under both and never names `loom` itself. The crate's own unit
//! tests built with `RUSTFLAGS="--cfg loom"` run the lifecycle on loom's simulated memory
//! model, with threads standing in for the operating system (`lifecycle/loom_models.rs`).
//!
//! Only those unit tests switch to loom (`cfg(all(loom, test))`): every other build, a
//! downstream crate's loom build and this crate's doc tests included, uses `std`, because the
//! lifecycle runs real processes that no loom model could drive.
//!
//! Both alternatives expose:
//! - `AtomicU32`, `Ordering`: the state word;
//! - `UnsafeCell`: with loom's `with`/`with_mut` shape, so loom tracks every access to the
//!   published status;
//! - `Mutex`, `MutexGuard`, `Condvar`: where the lifecycle's short waits on another thread
//!   sleep (loom models them, and reports a wait that is never woken as a deadlock).

#[cfg(not(all(loom, test)))]
mod primitive {
    pub(crate) use std::sync::atomic::{AtomicU32, Ordering};
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

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

#[cfg(all(loom, test))]
mod primitive {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
}

pub(crate) use primitive::*;
