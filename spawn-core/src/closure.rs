//! [`ClosureProcess`]: the builder that forks a child process running a closure.

use core::fmt;

use crate::children::Child;
use crate::error::StartError;
use crate::exit_code::{IntoExitCode, run_to_exit_code};
use crate::process::{ProcessHandle, Settings};
use crate::start::{StartMethod, refuse_if_multithreaded};
use crate::start::fork;
use crate::start::options::ReportPipe;

/// A child process to start by forking, that runs a closure: Python's `Process(target=...)`
/// under the fork start method, where the target may be anything in the parent's memory.
///
/// What the closure captures, it has as a copy of the parent's memory. A queue meant to carry
/// values between the two must live in shared memory (queue-core's `Shared` placement, whose
/// handles a forked child shares); queue-core's heap queues know when they are such a copy and
/// answer every call in the child with `Disconnected`, rather than act as a second queue.
///
/// # Examples
///
/// ```
/// use spawn_core::ClosureProcess;
///
/// let greeting = String::from("hello from the child");
/// let child = ClosureProcess::new(move || {
///     println!("{greeting}");
///     7 // the exit code
/// })
/// .start()?; // refused if this process runs several threads
/// assert_eq!(child.join()?.exitcode(), Some(7));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a process does nothing until it is started"]
pub struct ClosureProcess<F> {
    target: F,
    settings: Settings,
}

impl<F: FnOnce() -> R, R: IntoExitCode> ClosureProcess<F> {
    /// A process that will run `target` in a forked copy of this one.
    pub fn new(target: F) -> Self {
        Self {
            target,
            settings: Settings::default(),
        }
    }

    /// Its name (Python's default: `Process-N`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.settings.name = Some(name.into());
        self
    }

    /// Whether it is a daemon (see [`Process::daemon`](crate::Process::daemon)).
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.settings.daemon = daemon;
        self
    }

    /// Whether it dies with this process (see [`Process::die_with_parent`](crate::Process::die_with_parent)).
    pub fn die_with_parent(mut self, die: bool) -> Self {
        self.settings.options.die_with_parent = die;
        self
    }

    /// Forks and runs the target in the child. A panic in the target exits with code 1 (its
    /// message on the child's stderr); a return value becomes the exit code (see
    /// [`IntoExitCode`]).
    ///
    /// # Errors
    ///
    /// [`StartError::MultiThreaded`] if this process runs more than one thread: forking it
    /// would run arbitrary Rust code in a child where other threads' locks stay held forever.
    /// [`StartError::Os`] if the fork failed.
    pub fn start(self) -> Result<ProcessHandle, StartError> {
        refuse_if_multithreaded()?;
        // SAFETY: this process runs one thread, checked just above (only this thread could
        // have started another since).
        unsafe { self.start_unchecked() }
    }

    /// Forks without checking how many threads this process runs.
    ///
    /// # Safety
    ///
    /// This process runs only the calling thread, or the target calls only async-signal-safe
    /// functions (no allocation, no locks, no `println!`): in the child, every lock that
    /// another thread held at the fork stays locked forever.
    ///
    /// # Errors
    ///
    /// [`StartError::Os`] if the fork failed.
    pub unsafe fn start_unchecked(self) -> Result<ProcessHandle, StartError> {
        let target = self.target;
        let report = ReportPipe::new()?;
        let options = self.settings.options;
        // SAFETY: the caller's contract.
        let pidfd =
            unsafe { fork::fork(move || run_to_exit_code(target), options, &report.write)? };
        Ok(ProcessHandle::new(
            Child::Own(pidfd),
            (report.read, Vec::new()),
            self.settings,
            StartMethod::Fork,
        ))
    }
}

impl<F> fmt::Debug for ClosureProcess<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosureProcess")
            .field("name", &self.settings.name)
            .field("daemon", &self.settings.daemon)
            .finish_non_exhaustive()
    }
}
