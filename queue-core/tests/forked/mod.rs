//! Forked children for the tests that run real processes (`harness = false`: a fork is only
//! sound in a single-threaded parent, and these binaries run their tests on the main thread).
//! No child is waited for without a deadline, and a failed test leaves no process behind.
#![allow(dead_code, unreachable_pub)]

use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, AtomicU64};
use std::time::{Duration, Instant};

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// Every child is given this long to finish before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed(Signal),
}

/// The children a test forked; any still running when it is dropped (a failed test) are
/// killed and reaped.
#[derive(Debug, Default)]
pub struct Children {
    running: Vec<Pid>,
}

impl Children {
    /// Forks a child that runs `body` and exits 0, or 101 if it panics.
    pub fn fork(&mut self, body: impl FnOnce()) -> Pid {
        // Flush what the parent printed so the child does not print it again.
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: the test binary runs its tests on the main thread and starts no other, so
        // the parent is single-threaded and the child may run any code.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Parent { child } => {
                self.running.push(child);
                child
            }
            ForkResult::Child => {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
                let _ = std::io::stdout().flush();
                // SAFETY: `_exit` ends the child without running the parent's exit handlers
                // or destructors a second time; it is always safe to call.
                unsafe { nix::libc::_exit(if outcome.is_ok() { 0 } else { 101 }) }
            }
        }
    }

    /// Waits for `child` until [`DEADLINE`] (failing the test past it) and reaps it.
    pub fn wait(&mut self, child: Pid, what: &str) -> Ended {
        self.wait_within(child, DEADLINE)
            .unwrap_or_else(|| panic!("the {what} process still runs after {DEADLINE:?}"))
    }

    /// Waits for `child` for at most `bound`, and reaps it if it ended; `None` if it still
    /// runs.
    pub fn wait_within(&mut self, child: Pid, bound: Duration) -> Option<Ended> {
        let deadline = Instant::now() + bound;
        let ended = loop {
            match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => break Ended::Exited(code),
                Ok(WaitStatus::Signaled(_, signal, _)) => break Ended::Killed(signal),
                Ok(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(200));
                }
                Ok(_) => return None,
                Err(nix::errno::Errno::EINTR) => {}
                Err(error) => panic!("waitpid({child}): {error}"),
            }
        };
        self.running.retain(|&pid| pid != child);
        Some(ended)
    }

    /// Waits for `child` as [`wait`](Self::wait) does and asserts that it exited with status 0.
    pub fn assert_exits_cleanly(&mut self, child: Pid, what: &str) {
        match self.wait(child, what) {
            Ended::Exited(code) => {
                assert_eq!(code, 0, "the {what} process failed (see its stderr)");
            }
            Ended::Killed(signal) => panic!("the {what} process was killed by {signal}"),
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for &child in &self.running {
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
        }
    }
}

/// A zero-filled `MAP_SHARED` anonymous mapping of `len` bytes, shared with every child forked
/// after it was made, seen as atomic bytes or words: how children report what they did.
#[derive(Debug)]
pub struct SharedMemory {
    base: NonNull<u8>,
    len: usize,
}

impl SharedMemory {
    pub fn new(len: usize) -> Self {
        let size = NonZeroUsize::new(len).expect("a non-empty mapping");
        // SAFETY: a new anonymous mapping at an address the kernel picks overlaps no Rust
        // object; it is unmapped only in `drop`.
        let base = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .expect("mmap");
        Self {
            base: base.cast(),
            len,
        }
    }

    /// The mapping as `len` atomic bytes.
    pub fn flags(&self) -> &[AtomicU8] {
        // SAFETY: `len` zeroed bytes, page-aligned, alive while `self` is; every byte is only
        // ever accessed through atomics, in this process or a forked one.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().cast(), self.len) }
    }

    /// The mapping as `len / 8` atomic words (a test uses it as bytes or as words, not both).
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: as for `flags`; the base is page-aligned, so aligned for an `AtomicU64`.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().cast(), self.len / 8) }
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `new`; no reference into it outlives `self`.
        let _ = unsafe { munmap(self.base.cast(), self.len) };
    }
}
