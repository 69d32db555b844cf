//! The errors of starting a process: each says what went wrong, and nothing was started.

use core::fmt;
use std::io;

/// A process could not be started. Nothing was left running.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// [`StartMethod::Fork`](crate::StartMethod::Fork) was asked of a parent that runs more
    /// than one thread: the child would inherit locks held by threads that do not exist in it,
    /// which is undefined behaviour for arbitrary Rust code. Use
    /// [`StartMethod::Spawn`](crate::StartMethod::Spawn), or
    /// [`ClosureProcess::start_unchecked`](crate::ClosureProcess::start_unchecked) if the
    /// target only calls async-signal-safe functions.
    MultiThreaded {
        /// How many threads the parent runs.
        threads: usize,
    },
    /// The entry point is not in the registry given to [`init`](crate::init), so a spawned
    /// child could not find it.
    NotRegistered {
        /// The entry point's name.
        name: &'static str,
    },
    /// [`init`](crate::init) was not called in this program, so it cannot start children that
    /// run entry points (call it first in `main`).
    NotInitialised,
    /// The target's arguments could not be serialized.
    Arguments(String),
    /// The operating system refused (fork, exec, pidfd_open, ...).
    Os(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MultiThreaded { threads } => write!(
                f,
                "refusing to fork a parent that runs {threads} threads: use the spawn start method"
            ),
            Self::NotRegistered { name } => {
                write!(
                    f,
                    "entry point `{name}` is not registered with spawn_core::init"
                )
            }
            Self::NotInitialised => f.write_str("spawn_core::init was not called first in main"),
            Self::Arguments(why) => write!(f, "the target's arguments cannot be serialized: {why}"),
            Self::Os(error) => write!(
                f,
                "the operating system refused to start the process: {error}"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Os(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for StartError {
    fn from(error: io::Error) -> Self {
        Self::Os(error)
    }
}

impl From<nix::errno::Errno> for StartError {
    fn from(errno: nix::errno::Errno) -> Self {
        Self::Os(errno.into())
    }
}

/// A child could not run its entry point: what went wrong, as the child reported it (see
/// [`ProcessHandle::entry_error`](crate::ProcessHandle::entry_error)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryError(pub(crate) String);

impl EntryError {
    /// What went wrong, in the child's words.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the child could not run its entry point: {}", self.0)
    }
}

impl std::error::Error for EntryError {}
