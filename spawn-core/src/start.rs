//! How a child process is created: the start methods' system calls.
//!
//! - [`spawn`]: re-executes this program, which [`init`](crate::init) dispatches to the entry
//!   point named in its environment, with its arguments in an inherited memory file.
//! - [`fork`]: a copy of this process runs the target and ends with `_exit`.
//!
//! Either way the child is held by a pidfd from the moment it exists (see `pidfd`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::fcntl::OFlag;
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, getpid, getppid};

use crate::error::StartError;
use crate::exit_code::report_panics_to;
use crate::handoff::{ARGS_FD_VAR, ENTRY_VAR, REPORT_FD_VAR};
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

/// Starts this program again as a child that runs the entry point `name` with `arguments`.
pub(crate) fn spawn(
    name: &'static str,
    arguments: &[u8],
    options: ChildOptions,
    report: &OwnedFd,
) -> Result<Pidfd, StartError> {
    // The arguments go in a memory file: any size, never blocks, gone with the last close.
    let file = std::fs::File::from(memfd_create(
        c"spawn-core-arguments",
        MFdFlags::MFD_CLOEXEC,
    )?);
    file.write_all_at(arguments, 0)?;
    let fd = file.as_raw_fd();
    let report = report.as_raw_fd();
    let parent = getpid();
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env(ENTRY_VAR, name)
        .env(ARGS_FD_VAR, fd.to_string())
        .env(REPORT_FD_VAR, report.to_string());
    // SAFETY: the hook runs in the forked child before exec, where only async-signal-safe
    // functions may be called: `fcntl`, `prctl` and `getppid` are system calls that allocate
    // nothing and take no lock.
    unsafe {
        command.pre_exec(move || {
            // Keep the arguments' and the report's descriptors open across exec, in this
            // child only.
            for fd in [fd, report] {
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

/// How many threads this process runs, from `/proc/self/task`.
pub(crate) fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
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
