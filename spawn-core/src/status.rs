//! [`ExitStatus`]: how a child process ended, and Python's `exitcode` view of it.

use core::fmt;

/// How a process ended.
///
/// Python folds this into one integer, [`exitcode`](Self::exitcode): `n` for an exit with code
/// `n`, `-s` for a death by signal `s`.
///
/// # Examples
///
/// ```
/// use spawn_core::ExitStatus;
///
/// assert_eq!(ExitStatus::Exited(3).exitcode(), Some(3));
/// assert_eq!(ExitStatus::Signaled(15).exitcode(), Some(-15)); // SIGTERM
/// assert!(ExitStatus::Exited(0).success());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitStatus {
    /// It exited with this code (0 to 255): returned from its target (0), failed or panicked
    /// (1), or called `exit(n)`.
    Exited(i32),
    /// It was killed by this signal number.
    Signaled(i32),
    /// It ended, but its status could not be had. Someone else reaped it (the kernel itself,
    /// when this process ignores `SIGCHLD`; another part of the program, with `waitpid(-1)`;
    /// the new parent of a fork-server worker that outlived its server), and the kernel
    /// keeps no record of it: it does from Linux 6.15 on, and the status is then read from the
    /// pidfd. A worker that outlived its server is `Lost` too if its new parent does not reap
    /// it within 100 ms (some containers' init never reaps), unless this process reaps it
    /// itself as a child subreaper (`PR_SET_CHILD_SUBREAPER`). Python's `Process` reports
    /// such a child as alive forever; here it is reported as ended, with no code.
    Lost,
}

impl ExitStatus {
    /// Python's `Process.exitcode` for an ended process: the exit code, or minus the signal
    /// number; `None` when the status was [lost](Self::Lost).
    pub fn exitcode(self) -> Option<i32> {
        match self {
            Self::Exited(code) => Some(code),
            Self::Signaled(signal) => Some(-signal),
            Self::Lost => None,
        }
    }

    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exited with code {code}"),
            Self::Signaled(signal) => write!(f, "killed by signal {signal}"),
            Self::Lost => f.write_str("ended; its status was reaped elsewhere"),
        }
    }
}
