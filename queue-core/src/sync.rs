//! The one switch between `std` and `loom`.
//!
//! Every atomic, cell and wait that the queue's algorithm uses is imported from here, so the
//! algorithm reads the same under both and never names `loom` itself. Build with
//! `RUSTFLAGS="--cfg loom"` and the whole crate runs on loom's simulated memory model.
//!
//! Both alternatives expose the same items:
//! - `AtomicU32`, `AtomicUsize`, `Ordering`, `fence`: the atomics;
//! - `FutexWord`: a 32-bit atomic that threads (and processes, for a word in a shared mapping)
//!   can sleep on until it changes: Linux's `futex`, and under loom a mutex and condition
//!   variable with the same contract;
//! - `UnsafeCell`: with loom's closure-based `with`/`with_mut` shape, so that loom can track
//!   every access to a slot's value;
//! - `Backoff`: the retry policy of every retry loop (spins, then yields the thread; under
//!   loom, every step yields to the model's scheduler, and a call that retries more often than
//!   any model's operations could explain fails the model: lock-freedom, checked). Its
//!   `snooze`/`is_completed` pair bounds the spinning before a blocking call sleeps; under loom
//!   the spinning phase is empty and every blocking call goes straight to the sleep protocol.

#[cfg(not(loom))]
mod primitive {
    pub(crate) use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};

    pub(crate) use crossbeam_utils::Backoff;

    pub(crate) use super::futex::FutexWord;

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
    pub(crate) use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};

    pub(crate) use super::loom_futex::FutexWord;

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

        /// Under loom a blocking call does not spin before it sleeps: see `is_completed`.
        pub(crate) fn snooze(&self) {
            self.spin();
        }

        /// Always `true`: a blocking call goes straight to the sleep protocol, which is what
        /// the models are about (spinning first only adds executions).
        pub(crate) fn is_completed(&self) -> bool {
            true
        }
    }
}

#[cfg(not(loom))]
mod futex {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    use nix::libc;

    /// A 32-bit atomic that callers can sleep on until it changes: Linux's `futex(2)`.
    ///
    /// The operations are not `FUTEX_PRIVATE_FLAG`: a word in a `MAP_SHARED` mapping is keyed
    /// by the mapped file and offset, so waiters and wakers in different processes meet.
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct FutexWord(AtomicU32);

    impl std::ops::Deref for FutexWord {
        type Target = AtomicU32;

        fn deref(&self) -> &AtomicU32 {
            &self.0
        }
    }

    impl FutexWord {
        /// Sleeps while the word holds `expected`, until a [`wake`](Self::wake), the
        /// `timeout`, or a spurious wake-up. Returns `false` if the timeout expired.
        ///
        /// The kernel compares the word with `expected` and queues the caller atomically with
        /// respect to `wake`: a change made before the wake can never be slept through.
        pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) -> bool {
            let timespec = timeout.map(|timeout| libc::timespec {
                tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
                // Below one billion, so it fits every `c_long`.
                tv_nsec: timeout.subsec_nanos() as libc::c_long,
            });
            let timespec_ptr = timespec
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: FUTEX_WAIT reads the aligned 32-bit word behind `as_ptr` (alive for this
            // call, as `self` is borrowed) and the timespec (alive on this frame, or null for
            // no timeout); it writes no memory.
            let result = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.0.as_ptr(),
                    libc::FUTEX_WAIT,
                    expected,
                    timespec_ptr,
                )
            };
            !(result == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
        }

        /// Wakes up to `count` callers sleeping in [`wait`](Self::wait) on this word.
        pub(crate) fn wake(&self, count: u32) {
            let count = libc::c_int::try_from(count).unwrap_or(libc::c_int::MAX);
            // SAFETY: FUTEX_WAKE only uses the word's address as a key; it reads and writes no
            // memory.
            unsafe {
                libc::syscall(libc::SYS_futex, self.0.as_ptr(), libc::FUTEX_WAKE, count);
            }
        }
    }
}

#[cfg(loom)]
mod loom_futex {
    use std::time::Duration;

    use loom::sync::atomic::{AtomicU32, Ordering};
    use loom::sync::{Condvar, Mutex};

    /// The loom stand-in for the futex word: the word, plus a mutex and a condition variable
    /// that make "compare, then sleep" atomic with respect to `wake`, as the kernel does.
    ///
    /// A timed wait models its timer firing as early as it could: it returns "timed out"
    /// without sleeping unless the word already changed. (loom has no clock; the untimed wait
    /// is the one that sleeps, and loom reports a deadlock if it is never woken.)
    #[derive(Debug)]
    pub(crate) struct FutexWord {
        word: AtomicU32,
        lock: Mutex<()>,
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
                lock: Mutex::new(()),
                changed: Condvar::new(),
            }
        }

        pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) -> bool {
            let guard = self.lock.lock().unwrap();
            // ORDERING: Acquire, under the lock that `wake` takes after its caller changed the
            // word: either this load sees the change, or `wake` runs after we sleep.
            if self.word.load(Ordering::Acquire) != expected {
                return true;
            }
            if timeout.is_some() {
                return false;
            }
            drop(self.changed.wait(guard).unwrap());
            true
        }

        pub(crate) fn wake(&self, count: u32) {
            drop(self.lock.lock().unwrap());
            if count == 1 {
                self.changed.notify_one();
            } else {
                self.changed.notify_all();
            }
        }
    }
}

pub(crate) use primitive::*;
