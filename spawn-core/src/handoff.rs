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
use std::os::fd::{FromRawFd, RawFd};

/// The first argument of a program started by the spawn start method; the entry point's
/// name, the descriptor of its arguments and that of its panic report follow.
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
            match (fd(arguments.next()), fd(arguments.next())) {
                (Some(arguments), Some(report)) => Self::Spawned {
                    entry,
                    arguments,
                    report,
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
/// reading its arguments from `arguments` and reporting on `report`.
pub(crate) fn spawned_arguments(entry: &str, arguments: RawFd, report: RawFd) -> [String; 4] {
    [
        SPAWNED_FLAG.to_string(),
        entry.to_string(),
        arguments.to_string(),
        report.to_string(),
    ]
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
            role(&spawned_arguments("demo::work", 5, 6).each_ref().map(String::as_str)),
            Role::Spawned {
                entry: "demo::work".to_string(),
                arguments: 5,
                report: 6
            }
        );
        assert_eq!(role(&[SERVER_FLAG, "7"]), Role::ForkServer { control: 7 });
        assert_eq!(role(&[SERVER_FLAG]), Role::Malformed);
        assert_eq!(role(&[SPAWNED_FLAG, "demo::work", "x", "6"]), Role::Malformed);
        assert_eq!(role(&["input", SPAWNED_FLAG]), Role::Program, "only the first argument");
    }
}
