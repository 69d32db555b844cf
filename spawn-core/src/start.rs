//! How a child process is created: the start methods' system calls.
//!
//! - [`spawn`]: re-executes this program, which [`init`](crate::init) dispatches to the entry
//!   point named on its command line, with its arguments in an inherited memory file and the
//!   descriptors they carry inherited too (in that child only).
//! - [`fork`]: a copy of this process runs the target and ends with `_exit`.
//!
//! Either way the child is held by a pidfd from the moment it exists (see `pidfd`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::fcntl::OFlag;
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, getpid, getppid};

use crate::entry::SerializedArgument;
use crate::error::StartError;
use crate::exit_code::report_panics_to;
use crate::handoff::spawned_arguments;
use crate::pidfd::Pidfd;

/// Options that every start method honours.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ChildOptions {
    /// The child gets `SIGKILL` when this process dies (`PR_SET_PDEATHSIG`).
    pub(crate) die_with_parent: bool,
}

/// The pipe on which a child reports its target's panic message: the parent keeps the read
/// end (non-blocking, read once the child has ended), the child gets the write end.
pub(crate) struct ReportPipe {
    pub(crate) read: OwnedFd,
    pub(crate) write: OwnedFd,
}

impl ReportPipe {
    pub(crate) fn new() -> io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        Ok(Self { read, write })
    }
}

/// A memory file holding `arguments`, for a child started by exec or by the fork server: any
/// size, never blocks, gone with the last close.
pub(crate) fn arguments_file(arguments: &[u8]) -> io::Result<std::fs::File> {
    let file = std::fs::File::from(memfd_create(
        c"spawn-core-arguments",
        MFdFlags::MFD_CLOEXEC,
    )?);
    file.write_all_at(arguments, 0)?;
    Ok(file)
}

/// Starts this program again as a child that runs the entry point `name` with `argument`.
pub(crate) fn spawn(
    name: &'static str,
    argument: &SerializedArgument,
    options: ChildOptions,
    report: &OwnedFd,
) -> Result<Pidfd, StartError> {
    let file = arguments_file(&argument.bytes)?;
    let fd = file.as_raw_fd();
    let report = report.as_raw_fd();
    let carried: Vec<RawFd> = argument.fds.iter().map(AsRawFd::as_raw_fd).collect();
    let parent = getpid();
    let mut command = Command::new(std::env::current_exe()?);
    command.args(spawned_arguments(name, fd, report, &carried));
    // SAFETY: the hook runs in the forked child before exec, where only async-signal-safe
    // functions may be called: `fcntl`, `prctl` and `getppid` are system calls that allocate
    // nothing and take no lock, and iterating a slice allocates nothing.
    unsafe {
        command.pre_exec(move || {
            // Keep the arguments', the report's and the carried descriptors open across exec,
            // in this child only: the parent's copies stay close-on-exec, so no other child
            // and no program the parent runs gets them.
            for &fd in [fd, report].iter().chain(&carried) {
                if nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            if options.die_with_parent {
                become_orphan_proof(parent)?;
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    // `std::process::Child` neither waits nor kills on drop: the pidfd owns the child now.
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
    hold(pid)
}

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
            crate::forkserver::close_inherited_connection();
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

/// Takes hold of a new child with a pidfd; if that fails, kills and reaps it, so nothing is
/// left running.
fn hold(pid: Pid) -> Result<Pidfd, StartError> {
    Pidfd::open(pid).map_err(|error| {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        StartError::Os(error)
    })
}

/// In a new child: asks for `SIGKILL` when the parent dies, then checks the parent is still
/// `parent` (it may have died before the request).
pub(crate) fn become_orphan_proof(parent: Pid) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; it touches no memory of ours.
    if unsafe { nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if getppid() != parent {
        return Err(io::Error::other("the parent died before the child started"));
    }
    Ok(())
}

/// Flushes stdout and stderr, so that a fork does not print the parent's buffered output twice
/// and a child's output is not lost at `_exit`.
pub(crate) fn flush_standard_streams() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
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
