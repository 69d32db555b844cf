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
//! - `Barriers`: the pair of barriers that orders a sleeper's registration against a waker's
//!   ring change (see `wait`): a `SeqCst` fence on each side, or, where the kernel offers it,
//!   an asymmetric pair (`membarrier(2)` on the rare sleeper side, a compiler fence on every
//!   waker). Under loom both halves are `SeqCst` fences: the models check the protocol given
//!   the pair's guarantee, not the kernel's implementation of it;
//! - `Backoff`: the retry policy of every retry loop (spins, then yields the thread; under
//!   loom, every step yields to the model's scheduler, and a call that retries more often than
//!   any model's operations could explain fails the model: lock-freedom, checked). Its
//!   `snooze`/`is_completed` pair bounds the spinning before a blocking call sleeps; under loom
//!   the spinning phase is empty and every blocking call goes straight to the sleep protocol.

#[cfg(not(loom))]
mod primitive {
    pub(crate) use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};

    pub(crate) use crossbeam_utils::Backoff;

    pub(crate) use super::barriers::Barriers;
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

    pub(crate) use super::loom_barriers::Barriers;
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

#[cfg(not(loom))]
mod barriers {
    use std::sync::OnceLock;
    use std::sync::atomic::{Ordering, compiler_fence, fence};

    use nix::libc;

    /// The pair of barriers that a wait list's sleepers and wakers issue (see `wait`): the
    /// two halves together order a store before each half against a load after the other, as
    /// two `SeqCst` fences do.
    ///
    /// With `membarrier(2)`, the half that runs on every successful operation costs nothing
    /// at run time (a compiler fence), and the half that runs before a caller sleeps makes
    /// the kernel run a full memory barrier on every CPU that is running a thread of the
    /// processes concerned (a thread not running has passed through one when it was switched
    /// out). So whichever way a waker's store-then-load falls around that moment, the pair
    /// behaves as two `SeqCst` fences.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Barriers {
        /// A `SeqCst` fence on both sides: where `membarrier` is missing or refused.
        Symmetric,
        /// `MEMBARRIER_CMD_PRIVATE_EXPEDITED` and a compiler fence: threads of this process.
        WithinProcess,
        /// `MEMBARRIER_CMD_GLOBAL_EXPEDITED` and a compiler fence: every process that
        /// registered, which each process using a shared queue does before it touches it.
        AcrossProcesses,
    }

    /// `linux/membarrier.h`; the `libc` crate has the syscall number but not the commands.
    const CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
    const CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;
    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    fn membarrier(command: libc::c_int) -> std::io::Result<()> {
        // SAFETY: `membarrier` takes two integers and touches no memory of ours.
        let result = unsafe { libc::syscall(libc::SYS_membarrier, command, 0, 0) };
        if result == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Registers this process for `command` once. A registration is inherited by `fork` and
    /// dropped by `exec`, as is this cache: the two always agree.
    fn register_once(
        registered: &'static OnceLock<Result<(), i32>>,
        command: libc::c_int,
    ) -> std::io::Result<()> {
        let errno = |error: std::io::Error| error.raw_os_error().unwrap_or(libc::ENOSYS);
        (*registered.get_or_init(|| membarrier(command).map_err(errno)))
            .map_err(std::io::Error::from_raw_os_error)
    }

    impl Barriers {
        /// The barriers for a queue within this process: `WithinProcess` if the kernel
        /// accepts this process's registration, else `Symmetric`.
        pub(crate) fn within_process() -> Self {
            static REGISTERED: OnceLock<Result<(), i32>> = OnceLock::new();
            match register_once(&REGISTERED, CMD_REGISTER_PRIVATE_EXPEDITED) {
                Ok(()) => Self::WithinProcess,
                Err(_) => Self::Symmetric,
            }
        }

        /// Registers this process for `AcrossProcesses` barriers (once): a process must do
        /// so before it uses a shared queue made with them, or its wakers' half would not be
        /// covered by the sleepers' half.
        pub(crate) fn join_across_processes() -> std::io::Result<()> {
            static REGISTERED: OnceLock<Result<(), i32>> = OnceLock::new();
            register_once(&REGISTERED, CMD_REGISTER_GLOBAL_EXPEDITED)
        }

        /// The barriers for a new shared queue: `AcrossProcesses` if this process could
        /// register, else `Symmetric`.
        pub(crate) fn across_processes() -> Self {
            match Self::join_across_processes() {
                Ok(()) => Self::AcrossProcesses,
                Err(_) => Self::Symmetric,
            }
        }

        /// The half every waker issues, after its ring change and before it reads the
        /// sleeper count.
        #[inline(always)]
        pub(crate) fn light(self) {
            match self {
                // ORDERING: SeqCst fence, paired with the one in `heavy`.
                Self::Symmetric => fence(Ordering::SeqCst),
                // ORDERING: the kernel's barrier in `heavy` stands in for a fence here; the
                // compiler fence keeps our store before our load in the machine code, so that
                // barrier falls before the store, between the two, or after the load.
                Self::WithinProcess | Self::AcrossProcesses => compiler_fence(Ordering::SeqCst),
            }
        }

        /// The half a caller issues after counting itself as a sleeper and before its last
        /// check. Returns `false` if the kernel refused the barrier (it cannot, once the
        /// registration was accepted; the caller then must not sleep, and retries instead).
        #[must_use]
        pub(crate) fn heavy(self) -> bool {
            let command = match self {
                Self::Symmetric => {
                    // ORDERING: SeqCst fence, paired with the one in `light`.
                    fence(Ordering::SeqCst);
                    return true;
                }
                Self::WithinProcess => CMD_PRIVATE_EXPEDITED,
                Self::AcrossProcesses => CMD_GLOBAL_EXPEDITED,
            };
            // ORDERING: SeqCst fences around the call order our own accesses before and
            // after it; the call runs a full barrier on every CPU running a registered
            // thread, which is what pairs with `light`.
            fence(Ordering::SeqCst);
            let issued = membarrier(command).is_ok();
            fence(Ordering::SeqCst);
            issued
        }
    }
}

#[cfg(loom)]
mod loom_barriers {
    use loom::sync::atomic::{Ordering, fence};

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

        pub(crate) fn light(self) {
            // ORDERING: SeqCst fence, paired with `heavy`.
            fence(Ordering::SeqCst);
        }

        pub(crate) fn heavy(self) -> bool {
            // ORDERING: SeqCst fence, paired with `light`.
            fence(Ordering::SeqCst);
            true
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
