//! The children this process started: how each is held ([`Child`]), and the list of those
//! still running, Python's [`active_children`].
//!
//! A [`ProcessHandle`](crate::ProcessHandle) is owned by the user, so the list cannot hold
//! handles: it holds a weak reference to each handle's lifecycle (the part that reaps and
//! signals), and [`ActiveChild`] shares that lifecycle with the handle while it is kept.

use core::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use nix::unistd::{Pid, getpid};

use crate::start::forkserver::ServedChild;
use crate::lifecycle::{ChildOs, Lifecycle};
use crate::pidfd::Pidfd;
use crate::status::ExitStatus;

/// A started child: our own (spawned or forked), or a fork server's worker.
#[derive(Debug)]
pub(crate) enum Child {
    Own(Pidfd),
    Served(ServedChild),
}

impl Child {
    pub(crate) fn pid(&self) -> i32 {
        match self {
            Self::Own(pidfd) => pidfd.pid().as_raw(),
            Self::Served(served) => served.pid().as_raw(),
        }
    }

    /// A descriptor that turns readable when the child has ended and its status can be had
    /// at once (Python's `sentinel`): our own child's pidfd, or a fork server's worker's
    /// status socket.
    pub(crate) fn sentinel(&self) -> BorrowedFd<'_> {
        match self {
            Self::Own(pidfd) => pidfd.fd(),
            Self::Served(served) => served.sentinel(),
        }
    }
}

impl ChildOs for Child {
    fn wait_exited(&self, timeout: Option<Duration>) -> io::Result<bool> {
        match self {
            Self::Own(pidfd) => pidfd.wait_exited(timeout),
            Self::Served(served) => served.wait_exited(timeout),
        }
    }

    fn reap(&self) -> ExitStatus {
        match self {
            Self::Own(pidfd) => pidfd.reap(),
            Self::Served(served) => served.reap(),
        }
    }

    fn send_signal(&self, signal: i32) -> io::Result<()> {
        match self {
            Self::Own(pidfd) => pidfd.send_signal(signal),
            Self::Served(served) => served.send_signal(signal),
        }
    }
}

/// A child's lifecycle, shared by its handle and any [`ActiveChild`] that names it.
pub(crate) type SharedLifecycle = Arc<Lifecycle<Child>>;

/// Sends `signal` to the child unless it has ended (and is being reaped).
pub(crate) fn signal(lifecycle: &Lifecycle<Child>, signal: i32) -> io::Result<()> {
    match lifecycle.send_signal(signal) {
        // ESRCH: it exited and nobody has reaped it yet: there was nothing to signal.
        Err(error) if error.raw_os_error() == Some(nix::libc::ESRCH) => Ok(()),
        other => other.map(drop),
    }
}

/// The children started by this process whose handles live, with the process they belong to:
/// a forked child inherits the list, of its siblings, and must not report them.
struct Started {
    owner: Pid,
    children: Vec<(Weak<Lifecycle<Child>>, String)>,
}

static STARTED: Mutex<Started> = Mutex::new(Started {
    owner: Pid::from_raw(0),
    children: Vec::new(),
});

/// The list, emptied first if it was inherited from the parent of this process, and pruned of
/// the children whose handles have been dropped.
fn started() -> std::sync::MutexGuard<'static, Started> {
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    let me = getpid();
    if started.owner != me {
        // Its entries name the parent's children; forgetting them frees nothing the parent
        // still uses (the weak references only count).
        started.owner = me;
        started.children.clear();
    }
    started
        .children
        .retain(|(lifecycle, _)| lifecycle.strong_count() > 0);
    started
}

/// Adds a child that has just been started to the list.
pub(crate) fn register(lifecycle: &SharedLifecycle, name: &str) {
    started()
        .children
        .push((Arc::downgrade(lifecycle), name.to_owned()));
}

/// The children this process started that are still running, in the order they were
/// started: Python's `multiprocessing.active_children()`. As in Python, a child that has
/// ended is reaped on the way (its handle then has its status at once), and is not listed.
///
/// Children whose handles were dropped are not listed: dropping a handle joins the child (or
/// ends a daemon). A forked child does not list its parent's children.
///
/// # Examples
///
/// ```no_run
/// use spawn_core::{Entry, Process, entry};
///
/// fn nap(millis: u64) {
///     std::thread::sleep(std::time::Duration::from_millis(millis));
/// }
/// const NAP: Entry<u64> = entry!(nap);
///
/// spawn_core::init(&[&NAP]);
/// let child = Process::new(NAP, 10_000).name("napper").start()?;
/// let active = spawn_core::active_children();
/// assert_eq!(active.len(), 1);
/// assert_eq!((active[0].pid(), active[0].name()), (child.pid(), "napper"));
/// for child in &active {
///     child.terminate()?; // Python's `for p in active_children(): p.terminate()`
/// }
/// assert_eq!(child.join()?.exitcode(), Some(-15));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn active_children() -> Vec<ActiveChild> {
    let listed: Vec<(SharedLifecycle, String)> = started()
        .children
        .iter()
        .filter_map(|(lifecycle, name)| Some((lifecycle.upgrade()?, name.clone())))
        .collect();
    // Asked outside the lock: reaping an ended child takes a system call or two.
    listed
        .into_iter()
        .filter(|(lifecycle, _)| lifecycle.is_alive().unwrap_or(true))
        .map(|(lifecycle, name)| ActiveChild { lifecycle, name })
        .collect()
}

/// A running child, as [`active_children`] lists it: its pid and name, and the signals of its
/// handle. It shares the handle's lifecycle, so a signal never reaches a process that reused
/// the pid, and none is sent once the child is being reaped.
pub struct ActiveChild {
    lifecycle: SharedLifecycle,
    name: String,
}

impl ActiveChild {
    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.lifecycle.os().pid()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is still running (reaping it if it has just ended).
    ///
    /// # Errors
    ///
    /// Only if the kernel refuses to poll its pidfd (out of memory).
    pub fn is_alive(&self) -> io::Result<bool> {
        self.lifecycle.is_alive()
    }

    /// Sends `SIGTERM`, as [`ProcessHandle::terminate`](crate::ProcessHandle::terminate).
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal.
    pub fn terminate(&self) -> io::Result<()> {
        signal(&self.lifecycle, nix::libc::SIGTERM)
    }

    /// Sends `SIGKILL`, as [`ProcessHandle::kill`](crate::ProcessHandle::kill).
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal.
    pub fn kill(&self) -> io::Result<()> {
        signal(&self.lifecycle, nix::libc::SIGKILL)
    }

    /// Sends signal number `signal`, as [`ProcessHandle::signal`](crate::ProcessHandle::signal).
    ///
    /// # Errors
    ///
    /// If the kernel refused the signal (an invalid number, for instance).
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        self::signal(&self.lifecycle, signal)
    }
}

impl fmt::Debug for ActiveChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveChild")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .finish()
    }
}
