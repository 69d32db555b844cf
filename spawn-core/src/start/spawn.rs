//! The spawn start method: this program run again, which [`init`](crate::init) dispatches to
//! the entry point named on its command line, with its arguments in an inherited memory file
//! and the descriptors they carry inherited too (in that child only).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::unistd::{Pid, getpid};

use super::child::become_orphan_proof;
use super::command_line::spawned_arguments;
use super::hold;
use super::options::{ChildOptions, arguments_file};
use crate::entry::SerializedArgument;
use crate::error::StartError;
use crate::pidfd::Pidfd;

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
