//! Linux's `futex(2)` on a 32-bit word: the sleep and wake of the wait lists.

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
        !(result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
    }

    /// Wakes up to `count` callers sleeping in [`wait`](Self::wait) on this word; returns
    /// how many it woke (`u32::MAX` if the kernel refused to say).
    pub(crate) fn wake(&self, count: u32) -> u32 {
        let count = libc::c_int::try_from(count).unwrap_or(libc::c_int::MAX);
        // SAFETY: FUTEX_WAKE only uses the word's address as a key; it reads and writes no
        // memory.
        let woken =
            unsafe { libc::syscall(libc::SYS_futex, self.0.as_ptr(), libc::FUTEX_WAKE, count) };
        u32::try_from(woken).unwrap_or(u32::MAX)
    }
}
