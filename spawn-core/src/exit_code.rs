//! What a child's target ends with, as an exit code: its return value, or its panic, whose
//! message is also reported to the parent.

use core::fmt;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// Exit code of a child whose entry point or arguments could not be found or read.
pub(crate) const DISPATCH_FAILED: i32 = 2;

/// What a target's return value means as an exit code (Python: returning is 0, an uncaught
/// exception is 1, `sys.exit(n)` is `n`).
pub trait IntoExitCode {
    /// The exit code.
    fn into_exit_code(self) -> i32;
}

impl IntoExitCode for () {
    fn into_exit_code(self) -> i32 {
        0
    }
}

impl IntoExitCode for i32 {
    fn into_exit_code(self) -> i32 {
        self
    }
}

/// `Ok` is 0; `Err` prints `Error: {err:?}` on stderr (as `main` does) and is 1.
impl<T: IntoExitCode, E: fmt::Debug> IntoExitCode for Result<T, E> {
    fn into_exit_code(self) -> i32 {
        match self {
            Ok(value) => value.into_exit_code(),
            Err(error) => {
                eprintln!("Error: {error:?}");
                1
            }
        }
    }
}

/// Runs `target` and turns its return, or its panic, into an exit code: a panic is 1, with its
/// message already printed on stderr by the panic hook (Python prints the traceback), and
/// also written to the parent's report pipe, if this process is a child that has one.
///
/// Either way it then waits for the non-daemon [`Thread`](crate::Thread)s the target started,
/// as Python's interpreter does before a child process exits.
pub(crate) fn run_to_exit_code<R: IntoExitCode>(target: impl FnOnce() -> R) -> i32 {
    let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(target)) {
        Ok(returned) => returned.into_exit_code(),
        Err(payload) => {
            report_panic(payload.as_ref());
            1
        }
    };
    crate::thread::join_threads_at_child_exit();
    code
}

/// The write end of the pipe on which this child reports its target's panic message to its
/// parent (-1: not a child, or no pipe).
static PANIC_REPORT: AtomicI32 = AtomicI32::new(-1);

/// Makes this process (a new child) report its target's panic message on `fd`.
pub(crate) fn report_panics_to(fd: RawFd) {
    // Relaxed: set by the child's only thread before it runs the target.
    PANIC_REPORT.store(fd, Ordering::Relaxed);
}

/// At most this much of a report is carried: one pipe write of at most `PIPE_BUF` bytes is
/// atomic and never blocks on an empty pipe.
const MAX_REPORT: usize = 4096;

/// The first byte of a report of a panic: its message follows.
pub(crate) const PANICKED: u8 = b'P';
/// The first byte of a report of an entry point that could not run: what went wrong follows.
pub(crate) const ENTRY_FAILED: u8 = b'E';
/// The one byte a child writes first, alone, once its argument has taken the descriptors
/// carried beside it (see `handover`).
pub(crate) const TAKEN: u8 = b'T';

/// Tells the parent that the argument has taken the descriptors carried beside it.
pub(crate) fn report_taken() {
    report(TAKEN, "");
}

fn report_panic(payload: &(dyn std::any::Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic with a non-string payload");
    report(PANICKED, message);
}

/// In a child whose entry point cannot run: says why on stderr and to the parent (see
/// [`ProcessHandle::entry_error`](crate::ProcessHandle::entry_error)), and returns the exit
/// code to end with.
pub(crate) fn entry_failed(why: &str) -> i32 {
    eprintln!("spawn_core: {why}");
    report(ENTRY_FAILED, why);
    DISPATCH_FAILED
}

/// Writes the report `kind` with `text` (cut at [`MAX_REPORT`] bytes) to the parent's pipe,
/// if this process is a child that has one.
fn report(kind: u8, text: &str) {
    // Relaxed: see `report_panics_to`.
    let fd = PANIC_REPORT.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let mut end = text.len().min(MAX_REPORT - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut message = Vec::with_capacity(end + 1);
    message.push(kind);
    message.extend_from_slice(&text.as_bytes()[..end]);
    // SAFETY: `fd` is the pipe's write end that this child holds open for its whole life (set
    // by `report_panics_to`); `write` reads `message.len()` bytes of `message`.
    let _ = unsafe { nix::libc::write(fd, message.as_ptr().cast(), message.len()) };
}
