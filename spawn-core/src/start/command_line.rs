//! The start-up hand-off: how a parent tells a program it starts by `exec` what to be (a
//! spawned child, and which entry point it runs, where its arguments are and where to report
//! a panic; or the fork server, and where its control socket is). The parent's side is in
//! `start` and `forkserver`, the child's in `init`.
//!
//! The information travels on the new program's command line, after a flag of this crate's
//! (as Python's `--multiprocessing-fork`), never in its environment: a process's environment
//! is inherited by every child it starts and every program it runs, so a variable meant for
//! one child would reach its grandchildren, and a program that runs itself again would take
//! itself for a spawned child. A command line reaches exactly the one program it is given to.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The first argument of a program started by the spawn start method; the entry point's
/// name, the descriptor of its arguments, that of its panic report and those its argument
/// carries (comma-separated, maybe none) follow.
pub(crate) const SPAWNED_FLAG: &str = "--spawn-core-spawned";

/// The first argument of the fork server; the descriptor of its control socket follows.
pub(crate) const SERVER_FLAG: &str = "--spawn-core-fork-server";

/// What this program was started as, from its command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A program of its own: `init` returns.
    Program,
    /// A child started by the spawn start method.
    Spawned {
        /// The name of its entry point.
        entry: String,
        /// The descriptor its arguments are read from.
        arguments: RawFd,
        /// The descriptor its target's panic message is reported on.
        report: RawFd,
        /// The descriptors its argument carries, in the order of their indices.
        carried: Vec<RawFd>,
    },
    /// The fork server, with the descriptor of its end of the control socket.
    ForkServer { control: RawFd },
    /// The flag of one of the above, with arguments that do not fit it.
    Malformed,
}

impl Role {
    /// The role that `arguments` (the command line after the program's name) give.
    pub(crate) fn from_arguments(mut arguments: impl Iterator<Item = OsString>) -> Self {
        fn fd(argument: Option<OsString>) -> Option<RawFd> {
            argument?.to_str()?.parse().ok()
        }
        let flag = match arguments.next() {
            Some(flag) => flag,
            None => return Self::Program,
        };
        if flag == SERVER_FLAG {
            fd(arguments.next()).map_or(Self::Malformed, |control| Self::ForkServer { control })
        } else if flag == SPAWNED_FLAG {
            let Some(entry) = arguments.next().and_then(|name| name.into_string().ok()) else {
                return Self::Malformed;
            };
            let carried = |list: Option<OsString>| -> Option<Vec<RawFd>> {
                let list = list?.into_string().ok()?;
                list.split(',')
                    .filter(|number| !number.is_empty())
                    .map(|number| number.parse().ok())
                    .collect()
            };
            match (
                fd(arguments.next()),
                fd(arguments.next()),
                carried(arguments.next()),
            ) {
                (Some(arguments), Some(report), Some(carried)) => Self::Spawned {
                    entry,
                    arguments,
                    report,
                    carried,
                },
                _ => Self::Malformed,
            }
        } else {
            Self::Program
        }
    }

    /// This process's role.
    pub(crate) fn of_this_process() -> Self {
        Self::from_arguments(std::env::args_os().skip(1))
    }
}

/// The command-line arguments that make a new program the spawned child that runs `entry`,
/// reading its arguments from `arguments`, reporting on `report`, and given the descriptors
/// `carried` that its argument names.
pub(crate) fn spawned_arguments(
    entry: &str,
    arguments: RawFd,
    report: RawFd,
    carried: &[RawFd],
) -> [String; 5] {
    let carried: Vec<String> = carried.iter().map(RawFd::to_string).collect();
    [
        SPAWNED_FLAG.to_string(),
        entry.to_string(),
        arguments.to_string(),
        report.to_string(),
        carried.join(","),
    ]
}

/// Marks `fd` close-on-exec, so that a program this process runs does not inherit it: for the
/// descriptors a child was started with, which the start cleared the mark of.
pub(crate) fn keep_from_programs(fd: RawFd) {
    // SAFETY: F_SETFD sets a number's flags, or fails with EBADF; it touches no memory. It
    // cannot fail on an open descriptor; if it did, the only cost is that a program this
    // process runs inherits the descriptor.
    let _ = unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, nix::libc::FD_CLOEXEC) };
}

/// In a spawned child: takes ownership of the descriptors the parent's spawn left open for us,
/// and marks them close-on-exec again, so that a program this child runs does not inherit them.
///
/// # Safety
///
/// `carried` are descriptors the parent's spawn passed on the command line, open, and owned by
/// nothing else in this program.
pub(crate) unsafe fn take_carried(carried: &[RawFd]) -> Vec<OwnedFd> {
    carried
        .iter()
        .map(|&fd| {
            keep_from_programs(fd);
            // SAFETY: the caller's contract.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect()
}

/// In a spawned child: reads the serialized arguments from `fd`, left open for us.
///
/// # Safety
///
/// `fd` is the descriptor the parent's spawn passed on the command line, open, and owned by
/// nothing else in this program.
pub(crate) unsafe fn read_arguments(fd: RawFd) -> std::io::Result<Vec<u8>> {
    // SAFETY: the caller's contract.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut arguments = Vec::new();
    file.read_to_end(&mut arguments)?;
    Ok(arguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(arguments: &[&str]) -> Role {
        Role::from_arguments(arguments.iter().map(OsString::from))
    }

    #[test]
    fn the_command_line_says_what_a_program_was_started_as() {
        assert_eq!(role(&[]), Role::Program);
        assert_eq!(role(&["--verbose", "input"]), Role::Program);
        assert_eq!(
            role(&spawned_arguments("demo::work", 5, 6, &[]).each_ref().map(String::as_str)),
            Role::Spawned {
                entry: "demo::work".to_string(),
                arguments: 5,
                report: 6,
                carried: Vec::new(),
            }
        );
        assert_eq!(
            role(&spawned_arguments("demo::work", 5, 6, &[9, 12]).each_ref().map(String::as_str)),
            Role::Spawned {
                entry: "demo::work".to_string(),
                arguments: 5,
                report: 6,
                carried: vec![9, 12],
            }
        );
        assert_eq!(role(&[SPAWNED_FLAG, "demo::work", "5", "6"]), Role::Malformed);
        assert_eq!(role(&[SPAWNED_FLAG, "demo::work", "5", "6", "9,x"]), Role::Malformed);
        assert_eq!(role(&[SERVER_FLAG, "7"]), Role::ForkServer { control: 7 });
        assert_eq!(role(&[SERVER_FLAG]), Role::Malformed);
        assert_eq!(role(&[SPAWNED_FLAG, "demo::work", "x", "6"]), Role::Malformed);
        assert_eq!(role(&["input", SPAWNED_FLAG]), Role::Program, "only the first argument");
    }
}
