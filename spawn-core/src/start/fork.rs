//! The fork start method: a copy of this process runs the target and ends with `_exit`; and
//! what makes it safe: the count of this process's threads.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::unistd::{ForkResult, getpid};

use super::child::{become_orphan_proof, flush_standard_streams};
use super::hold;
use super::options::ChildOptions;
use crate::error::StartError;
use crate::exit_code::report_panics_to;
use crate::pidfd::Pidfd;

/// Forks; the child runs `body`, flushes the standard streams and ends with `_exit(code)`.
///
/// # Safety
///
/// This process runs one thread (the caller's), or `body` calls only async-signal-safe
/// functions: the child has only the forking thread, and a lock another thread held at the
/// fork (the allocator's, stdout's) stays locked in it forever.
pub(crate) unsafe fn fork(
    body: impl FnOnce() -> i32,
    options: ChildOptions,
    report: &OwnedFd,
) -> Result<Pidfd, StartError> {
    flush_standard_streams();
    let parent = getpid();
    // SAFETY: the caller's contract.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Parent { child } => hold(child),
        ForkResult::Child => {
            super::forkserver::close_inherited_connection();
            crate::thread::forget_inherited_threads();
            report_panics_to(report.as_raw_fd());
            let code = if options.die_with_parent && become_orphan_proof(parent).is_err() {
                1
            } else {
                body()
            };
            flush_standard_streams();
            // SAFETY: `_exit` ends the child without running the parent's `atexit` handlers
            // or flushing its copies of buffers a second time; always safe to call.
            unsafe { nix::libc::_exit(code) }
        }
    }
}

/// How many threads this process runs, from `/proc/self/task`: every task but those already
/// on their way out.
///
/// A thread that has been joined is no longer running any code of ours, but the kernel lists
/// it in `/proc/self/task` for a moment after the join returned (the join wakes when the
/// kernel clears the thread's id, before it removes the task). Such a task has the kernel's
/// `PF_EXITING` flag, set as its exit begins, before the join can return: it does not count.
pub(crate) fn thread_count() -> io::Result<usize> {
    let mut running = 0;
    for task in std::fs::read_dir("/proc/self/task")? {
        let stat = match std::fs::read_to_string(task?.path().join("stat")) {
            Ok(stat) => stat,
            // The task is gone since the directory was read: its entry no longer exists
            // (ENOENT), or it does but the task has been released (ESRCH).
            Err(error)
                if error.kind() == io::ErrorKind::NotFound
                    || error.raw_os_error() == Some(nix::libc::ESRCH) =>
            {
                continue;
            }
            Err(error) => return Err(error),
        };
        if !task_is_exiting(&stat) {
            running += 1;
        }
    }
    Ok(running)
}

/// The kernel's flag of a task whose exit has begun (`include/linux/sched.h`).
const PF_EXITING: u64 = 0x4;

/// Whether the task whose `/proc/.../stat` line is `stat` has begun to exit. The command name
/// (the second field) is in parentheses and may hold anything, so the fields are counted from
/// the last `)`: state, ppid, pgrp, session, tty, tpgid, then the flags.
fn task_is_exiting(stat: &str) -> bool {
    let after_name = stat.rfind(')').map_or("", |end| &stat[end + 1..]);
    after_name
        .split_ascii_whitespace()
        .nth(6)
        .and_then(|flags| flags.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_EXITING != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread that ends while it is counted is not an error: the kernel answers ENOENT or
    /// ESRCH for its `stat` once it is gone, depending on how far its exit has got.
    #[test]
    fn a_thread_ending_while_counted_is_not_an_error() {
        let mut failed = Vec::new();
        for _ in 0..100_000 {
            std::thread::spawn(|| {}).join().unwrap();
            if let Err(error) = thread_count() {
                failed.push(error.to_string());
            }
        }
        assert!(failed.is_empty(), "{} counts failed: {:?}", failed.len(), failed.first());
    }

    #[test]
    fn an_exiting_task_is_told_by_its_flags() {
        let running = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 153 0 0 0";
        let exiting = "4243 (worker) R 1 4242 4242 0 -1 4194628 153 0 0 0";
        assert!(!task_is_exiting(running), "0x400100 has no PF_EXITING");
        assert!(task_is_exiting(exiting), "0x400144 has PF_EXITING");
        assert!(!task_is_exiting("garbage"));
    }
}
