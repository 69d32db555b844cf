//! [`Process`]: the builder that starts a child process running an entry point, and
//! [`ProcessHandle`]: the started child, to join, poll and signal.

use core::fmt;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::entry::Entry;
use crate::error::{EntryError, StartError};
use crate::exit_code;
use crate::children::{self, Child, SharedLifecycle};
use crate::descriptors_taken;
use crate::init::check_registered;
use crate::lifecycle::Lifecycle;
use crate::start::options::{ChildOptions, ReportPipe};
use crate::start::{self, StartMethod};
use crate::status::ExitStatus;

/// The settings every process has: Python's `name`, `daemon`, plus an orphan guard.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    pub(crate) name: Option<String>,
    pub(crate) daemon: bool,
    pub(crate) options: ChildOptions,
}

impl Settings {
    /// The name, or Python's default `Process-N`.
    fn name(self) -> String {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        self.name.unwrap_or_else(|| {
            // Relaxed: a counter for names; nothing is ordered by it.
            format!("Process-{}", STARTED.fetch_add(1, Ordering::Relaxed) + 1)
        })
    }
}

/// A child process to start that runs an [`Entry`]: Python's `Process(target=f, args=...)`.
///
/// Starting consumes the builder and returns the [`ProcessHandle`], so "start twice", "join
/// before start" and "terminate before start" do not compile:
///
/// ```compile_fail
/// # use spawn_core::{Entry, Process, entry};
/// # fn work(_: ()) {}
/// # const WORK: Entry<()> = entry!(work);
/// let process = Process::new(WORK, ());
/// let first = process.start();
/// let second = process.start(); // error: use of moved value: `process`
/// ```
///
/// # Examples
///
/// The chapter's two countdowns (call [`init`](crate::init) first in `main`):
///
/// ```no_run
/// use spawn_core::{Entry, Process, entry};
///
/// fn countdown(count: u32) {
///     for n in (1..=count).rev() {
///         println!("Count value {n}");
///     }
/// }
/// const COUNTDOWN: Entry<u32> = entry!(countdown);
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     spawn_core::init(&[&COUNTDOWN]);
///     let p1 = Process::new(COUNTDOWN, 10).start()?;
///     let p2 = Process::new(COUNTDOWN, 20).start()?;
///     assert_eq!(p1.join()?.exitcode(), Some(0));
///     assert_eq!(p2.join()?.exitcode(), Some(0));
///     Ok(())
/// }
/// ```
#[must_use = "a process does nothing until it is started"]
pub struct Process<A> {
    entry: Entry<A>,
    argument: A,
    method: StartMethod,
    settings: Settings,
}

impl<A: Serialize> Process<A> {
    /// A process that will run `entry` with `argument`, started with [`StartMethod::Spawn`].
    pub fn new(entry: Entry<A>, argument: A) -> Self {
        Self {
            entry,
            argument,
            method: StartMethod::default(),
            settings: Settings::default(),
        }
    }

    /// Its name (Python's default: `Process-N`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.settings.name = Some(name.into());
        self
    }

    /// Whether it is a daemon: dropping its handle while it runs terminates it, where a
    /// non-daemon is joined (see [`ProcessHandle`]).
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.settings.daemon = daemon;
        self
    }

    /// How it starts.
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = method;
        self
    }

    /// Whether it gets `SIGKILL` when this process dies, even by `SIGKILL`, so that no orphan
    /// outlives the parent (Linux's `PR_SET_PDEATHSIG`). Off by default, as in Python.
    ///
    /// Linux ties this to the *thread* that starts the child: start such children from a
    /// thread that lives as long as the program (the main thread), or they are killed when
    /// their starting thread exits. Under [`StartMethod::ForkServer`] the child dies with the
    /// fork server, which exits when this program does.
    pub fn die_with_parent(mut self, die: bool) -> Self {
        self.settings.options.die_with_parent = die;
        self
    }

    /// Starts it.
    ///
    /// Descriptors inside the argument (a shared queue's handle, or any value serialized with
    /// [`fd_carrier`]) reach this child alone: by inheritance under Spawn and Fork, by
    /// `SCM_RIGHTS` under the fork server; no sibling, later child or program the child runs
    /// gets them. When the argument carries any, `start` returns once the child's argument has
    /// taken them (or the child has ended), and only then drops the parent's argument: what a
    /// handle stands for (one of a queue's producers, say) is never let go while in transit.
    ///
    /// # Errors
    ///
    /// [`StartError`]: the entry point is not registered (or [`init`](crate::init) was not
    /// called), the argument does not serialize, [`StartMethod::Fork`] in a parent running
    /// several threads, or the operating system refused. Nothing is left running.
    pub fn start(self) -> Result<ProcessHandle, StartError> {
        check_registered(self.entry.name())?;
        let argument = self
            .entry
            .encode(&self.argument)
            .map_err(StartError::Arguments)?;
        let options = self.settings.options;
        let report = ReportPipe::new()?;
        let carries_descriptors = !argument.fds.is_empty();
        let child = start::start_child(self.method, self.entry, argument, options, &report.write)?;
        // This process's duplicates of the carried descriptors are closed by now (under Fork,
        // with the closure in this process): only the child keeps them.
        drop(report.write);
        let report_start = if carries_descriptors {
            descriptors_taken::wait_until_taken(&child, &report.read)?
        } else {
            Vec::new()
        };
        // Only now, with the child holding its own, may the parent's argument go.
        drop(self.argument);
        Ok(ProcessHandle::new(
            child,
            (report.read, report_start),
            self.settings,
            self.method,
        ))
    }
}

impl<A> fmt::Debug for Process<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("entry", &self.entry)
            .field("method", &self.method)
            .field("name", &self.settings.name)
            .field("daemon", &self.settings.daemon)
            .finish_non_exhaustive()
    }
}

/// A started child process: Python's `Process` after `start()`.
///
/// Every method takes `&self`, so a handle shared by several threads (in an `Arc`) can be
/// joined, polled and signalled from all of them at once: the child is reaped exactly once,
/// every caller sees the same [`ExitStatus`], and no signal is sent once it has been reaped.
/// Waits sleep on a pidfd (no busy-waiting), and a pidfd names this process alone, so a
/// recycled pid is never signalled.
///
/// # Dropping
///
/// Dropping the handle of a child that is still running
/// - joins it, for a non-daemon (as Python's interpreter joins non-daemon children at exit);
/// - terminates it (`SIGTERM`), gives it a second, kills it (`SIGKILL`) and reaps it, for a
///   daemon.
///
/// Either way the library never leaves a zombie behind.
#[must_use = "dropping the handle joins the child (or terminates a daemon) at once"]
pub struct ProcessHandle {
    lifecycle: SharedLifecycle,
    /// The read end of the pipe on which the child reports its target's panic message.
    panic_report: Mutex<PanicReport>,
    name: String,
    daemon: bool,
    method: StartMethod,
}

impl ProcessHandle {
    /// `report`: the report pipe's read end, and what was already read from it.
    pub(crate) fn new(
        child: Child,
        report: (OwnedFd, Vec<u8>),
        settings: Settings,
        method: StartMethod,
    ) -> Self {
        let daemon = settings.daemon;
        let lifecycle = SharedLifecycle::new(Lifecycle::new(child));
        let name = settings.name();
        children::register(&lifecycle, &name);
        Self {
            lifecycle,
            panic_report: Mutex::new(PanicReport::Unread(report.0, report.1)),
            name,
            daemon,
            method,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.lifecycle.os().pid()
    }

    /// A descriptor that turns readable when the child has ended and its status can be had
    /// at once (Python's `sentinel`), to `poll` beside descriptors of your own (as
    /// [`wait`](crate::wait) polls several children): our own child's pidfd, or a fork
    /// server's worker's status socket. It is the handle's: read nothing from it.
    pub fn sentinel(&self) -> std::os::fd::BorrowedFd<'_> {
        self.lifecycle.os().sentinel()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is a daemon.
    pub fn is_daemon(&self) -> bool {
        self.daemon
    }

    /// How it was started.
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// Waits for the child to end and returns how it ended. Calling it again, or from several
    /// threads, returns the same status.
    ///
    /// # Errors
    ///
    /// Only if the kernel refuses to poll the pidfd (out of memory).
    #[doc(alias = "wait")]
    pub fn join(&self) -> io::Result<ExitStatus> {
        self.lifecycle
            .join(None)?
            .ok_or_else(|| io::Error::other("an untimed wait ended before the child"))
    }

    /// Waits at most `timeout` (in all) for the child to end: `Ok(None)` if it still runs.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    #[doc(alias = "join")]
    pub fn join_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.lifecycle.join(Some(timeout))
    }

    /// Whether the child is still running (reaping it if it has just ended).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub fn is_alive(&self) -> io::Result<bool> {
        self.lifecycle.is_alive()
    }

    /// How it ended, or `None` while it runs (reaping it if it has just ended).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.join_timeout(Duration::ZERO).ok().flatten()
    }

    /// Python's `exitcode`: `None` while it runs, the exit code, or minus the signal that
    /// killed it (`None` too if its status was [lost](ExitStatus::Lost)).
    ///
    /// So `None` does not mean "still running" on its own: [`exit_status`](Self::exit_status)
    /// tells the two apart (`None` while it runs, `Some(ExitStatus::Lost)` for a child that
    /// ended with its status unknown), as does [`is_alive`](Self::is_alive).
    pub fn exitcode(&self) -> Option<i32> {
        self.exit_status().and_then(ExitStatus::exitcode)
    }

    /// The message of the panic that ended the child's target (its exit code is then 1), once
    /// the child has ended; `None` while it runs, or if its target did not panic. The message
    /// is also on the child's stderr, as Python prints the traceback there; at most 4 KiB of
    /// it is carried.
    pub fn panic_message(&self) -> Option<String> {
        self.report(exit_code::PANICKED)
    }

    /// Why the child could not run its entry point, once it has ended (its exit code is then
    /// 2): the entry point was not registered in the child, its argument could not be read, or
    /// it does not decode as the entry point's argument type (sent for another type, or by
    /// another build of the program). `None` while it runs, or if the entry point ran.
    pub fn entry_error(&self) -> Option<EntryError> {
        self.report(exit_code::ENTRY_FAILED).map(EntryError)
    }

    /// The text of the child's report of `kind`, once it has ended.
    fn report(&self, kind: u8) -> Option<String> {
        self.exit_status()?;
        let mut report = self
            .panic_report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let PanicReport::Unread(fd, already) = &mut *report {
            // The child wrote its report, if any, before it exited: it is all in the pipe.
            let mut bytes = std::mem::take(already);
            let _ = std::fs::File::from(fd.try_clone().ok()?).read_to_end(&mut bytes);
            *report = PanicReport::Read(bytes);
        }
        match &*report {
            PanicReport::Read(bytes) if bytes.first() == Some(&kind) => {
                Some(String::from_utf8_lossy(&bytes[1..]).into_owned())
            }
            _ => None,
        }
    }

    /// Sends `SIGTERM` (Python's `terminate()`). Does nothing if the child has ended.
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal.
    pub fn terminate(&self) -> io::Result<()> {
        self.signal(nix::libc::SIGTERM)
    }

    /// Sends `SIGKILL` (Python's `kill()`). Does nothing if the child has ended.
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal.
    pub fn kill(&self) -> io::Result<()> {
        self.signal(nix::libc::SIGKILL)
    }

    /// Sends `SIGINT` (Python's `KeyboardInterrupt` in the child). Does nothing if the child
    /// has ended, and nothing to a child that ignores `SIGINT`: children inherit an ignored
    /// `SIGINT`, as every process started by a shell's background job has.
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal.
    pub fn interrupt(&self) -> io::Result<()> {
        self.signal(nix::libc::SIGINT)
    }

    /// Sends signal number `signal`, unless the child has ended (and is being reaped).
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal (an invalid number, for instance).
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        children::signal(&self.lifecycle, signal)
    }

    /// Terminates the child, waits up to `grace` for it to end, then kills it; returns how it
    /// ended.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join) and [`terminate`](Self::terminate).
    pub fn terminate_then_kill(&self, grace: Duration) -> io::Result<ExitStatus> {
        let deadline = Instant::now() + grace;
        self.terminate()?;
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(status) = self.join_timeout(left)? {
            return Ok(status);
        }
        self.kill()?;
        self.join()
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessHandle")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .field("daemon", &self.daemon)
            .field("method", &self.method)
            .field("status", &self.lifecycle.status())
            .finish()
    }
}

/// The report pipe's read end (with what was read from it while the child started), until it
/// has been read; then what the child reported, if anything: its first byte says what
/// (`exit_code::PANICKED` or `ENTRY_FAILED`).
#[derive(Debug)]
enum PanicReport {
    Unread(OwnedFd, Vec<u8>),
    Read(Vec<u8>),
}

/// How long a daemon is given to end after `SIGTERM` when its handle is dropped.
const DAEMON_GRACE: Duration = Duration::from_secs(1);

impl Drop for ProcessHandle {
    fn drop(&mut self) {
        if self.lifecycle.status().is_some() {
            return;
        }
        if self.daemon {
            let _ = self.terminate_then_kill(DAEMON_GRACE);
        } else {
            let _ = self.join();
        }
    }
}
