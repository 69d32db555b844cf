//! What can become of a task besides its value ([`TaskError`]), of a whole map ([`MapError`]),
//! and of a pool's start ([`BuildError`]).

use core::fmt;
use std::time::Duration;

use spawn_core::{ExitStatus, StartError};

use crate::ledger::{Broken, Lost};

/// Why a task has no value: exactly one of these is each task's outcome when it is not
/// `Ok`. More variants may be added, so match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError<E> {
    /// The task returned this error (a [`fallible_task!`](crate::fallible_task)).
    Failed(E),
    /// The task panicked with this message; its worker carried on.
    Panicked(String),
    /// The worker running it died (killed by a signal, out of memory, `exit` in the task...),
    /// `attempts` times in all: once, unless the pool's
    /// [`retries`](crate::Builder::retries) ran it again. A replacement worker took its place.
    WorkerDied {
        /// The last dead worker's process id.
        pid: i32,
        /// How it ended.
        status: ExitStatus,
        /// How many workers died running it.
        attempts: u32,
    },
    /// It ran longer than the pool's [`task_timeout`](crate::Builder::task_timeout) (per
    /// input of its chunk): its worker was killed, and replaced.
    TimedOut {
        /// The killed worker's process id.
        pid: i32,
        /// The timeout per input.
        timeout: Duration,
    },
    /// It was cancelled before a worker was given it.
    Cancelled,
    /// The pool was terminated before it finished.
    Terminated,
    /// It was submitted after the pool was closed.
    Closed,
    /// The pool's initializer failed in several workers in a row, so the pool stopped
    /// starting them: why the last one failed.
    InitializerFailed(String),
    /// Several workers in a row could not be started, so the pool stopped trying: the last
    /// error.
    WorkersFailedToStart(String),
    /// Its chunk's inputs take `bytes` encoded, more than a worker's queue carries (`limit`;
    /// see [`Builder::message_room`](crate::Builder::message_room)).
    TooLarge {
        /// The chunk's size, encoded.
        bytes: usize,
        /// The most a worker's queue carries.
        limit: usize,
    },
    /// The worker could not run it, and said why: the task is not registered in the worker,
    /// its inputs did not decode there, or its outcomes were too large to send back.
    Refused(String),
    /// Its outcome came back, but did not decode as the task's types.
    Undecodable(String),
}

impl<E> TaskError<E> {
    /// The error of a task that no worker reported on, from the ledger's account.
    pub(crate) fn lost(lost: &Lost, timeout: Option<Duration>) -> Self {
        match lost {
            Lost::Died { death, attempts } => Self::WorkerDied {
                pid: death.pid,
                status: death.status,
                attempts: *attempts,
            },
            Lost::TimedOut { pid } => Self::TimedOut {
                pid: *pid,
                timeout: timeout.unwrap_or_default(),
            },
            Lost::Cancelled => Self::Cancelled,
            Lost::Terminated => Self::Terminated,
            Lost::Closed => Self::Closed,
            Lost::TooLarge { bytes, limit } => Self::TooLarge {
                bytes: *bytes,
                limit: *limit,
            },
            Lost::Broken(Broken::Initializer(why)) => Self::InitializerFailed(why.clone()),
            Lost::Broken(Broken::Start(why)) => Self::WorkersFailedToStart(why.clone()),
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(error) => write!(f, "the task failed: {error}"),
            Self::Panicked(message) => write!(f, "the task panicked: {message}"),
            Self::WorkerDied {
                pid,
                status,
                attempts,
            } => write!(
                f,
                "the worker running the task (pid {pid}) {status}; workers died running it {attempts} time(s)"
            ),
            Self::TimedOut { pid, timeout } => write!(
                f,
                "the task ran past its timeout ({timeout:?} per input): its worker (pid {pid}) was killed"
            ),
            Self::Cancelled => f.write_str("the task was cancelled"),
            Self::Terminated => f.write_str("the pool was terminated before the task finished"),
            Self::Closed => f.write_str("the task was submitted to a closed pool"),
            Self::InitializerFailed(why) => {
                write!(f, "the pool's initializer failed, so it stopped starting workers: {why}")
            }
            Self::WorkersFailedToStart(why) => {
                write!(f, "the pool's workers could not be started: {why}")
            }
            Self::TooLarge { bytes, limit } => write!(
                f,
                "the task's inputs take {bytes} bytes encoded, more than a worker's queue carries ({limit})"
            ),
            Self::Refused(why) => write!(f, "the worker could not run the task: {why}"),
            Self::Undecodable(why) => write!(f, "the task's outcome did not decode: {why}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskError<E> {}

/// The first task of a map (in input order) that has no value: its index in the inputs, and
/// why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapError<E> {
    /// The task's index in the inputs.
    pub index: usize,
    /// Why it has no value.
    pub error: TaskError<E>,
}

impl<E: fmt::Display> fmt::Display for MapError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} of the map: {}", self.index, self.error)
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for MapError<E> {}

/// Why a pool could not be built. Nothing is left running.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A worker could not be started ([`WORKER`](crate::WORKER) not registered, fork refused
    /// in a multithreaded process, the system refused...).
    Start(StartError),
    /// A queue could not be made.
    Queue(queue_core::MappingError),
    /// The system refused something else (the pool's thread, its eventfd).
    Os(std::io::Error),
    /// A setting that cannot work (no workers, a message room too small for any chunk).
    Invalid(&'static str),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start(error) => write!(f, "a worker could not be started: {error}"),
            Self::Queue(error) => write!(f, "a queue could not be made: {error}"),
            Self::Os(error) => write!(f, "the system refused: {error}"),
            Self::Invalid(why) => write!(f, "invalid pool settings: {why}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Start(error) => Some(error),
            Self::Queue(error) => Some(error),
            Self::Os(error) => Some(error),
            Self::Invalid(_) => None,
        }
    }
}

impl From<StartError> for BuildError {
    fn from(error: StartError) -> Self {
        Self::Start(error)
    }
}

impl From<queue_core::MappingError> for BuildError {
    fn from(error: queue_core::MappingError) -> Self {
        Self::Queue(error)
    }
}

impl From<std::io::Error> for BuildError {
    fn from(error: std::io::Error) -> Self {
        Self::Os(error)
    }
}
