//! [`Thread`]: Python's `threading.Thread` over `std::thread`, with a `join_timeout` that
//! sleeps, `is_alive`, and the interpreter's "join every non-daemon thread at exit".

use core::fmt;
use std::any::Any;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A thread to start: Python's `threading.Thread(target=..., name=..., daemon=...)`.
///
/// Starting consumes the builder and returns a [`ThreadHandle`], so "start twice" and "join
/// before start" do not compile.
///
/// # Examples
///
/// The chapter's two counting threads, whose output interleaves:
///
/// ```
/// use spawn_core::Thread;
///
/// fn countdown(count: u32) {
///     for n in (1..=count).rev() {
///         println!("Count value {n}");
///     }
/// }
///
/// let t1 = Thread::new(|| countdown(10)).name("t1").start()?;
/// let t2 = Thread::new(|| countdown(20)).name("t2").start()?;
/// t1.join().unwrap();
/// t2.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a thread does nothing until it is started"]
pub struct Thread<F> {
    target: F,
    name: Option<String>,
    daemon: bool,
}

impl<F, T> Thread<F>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// A thread that will run `target`.
    pub fn new(target: F) -> Self {
        Self {
            target,
            name: None,
            daemon: false,
        }
    }

    /// Its name (shown in panic messages and debuggers).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether it is a daemon: [`join_non_daemon_threads`] does not wait for it.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    /// Starts it.
    ///
    /// # Errors
    ///
    /// If the operating system could not create the thread.
    pub fn start(self) -> io::Result<ThreadHandle<T>> {
        let done = Arc::new(Done::default());
        let mut builder = std::thread::Builder::new();
        if let Some(name) = self.name {
            builder = builder.name(name);
        }
        let target = self.target;
        let signal = Arc::clone(&done);
        let inner = builder.spawn(move || {
            // Set when the target returns or unwinds, so waiters wake either way.
            let _finished = FinishOnDrop(signal);
            target()
        })?;
        if !self.daemon {
            non_daemon_threads().push(Arc::clone(&done));
        }
        Ok(ThreadHandle {
            inner,
            done,
            daemon: self.daemon,
        })
    }
}

impl<F> fmt::Debug for Thread<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("name", &self.name)
            .field("daemon", &self.daemon)
            .finish_non_exhaustive()
    }
}

/// The target panicked; holds the panic's payload (its message, usually).
pub struct Panicked(pub Box<dyn Any + Send + 'static>);

impl Panicked {
    /// The panic message, if the payload is a string.
    pub fn message(&self) -> Option<&str> {
        self.0
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| self.0.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Debug for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panicked").field(&self.message()).finish()
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => write!(f, "the thread panicked: {message}"),
            None => f.write_str("the thread panicked"),
        }
    }
}

impl std::error::Error for Panicked {}

/// A started thread: Python's `Thread` after `start()`.
#[must_use = "dropping the handle detaches the thread; join it to get its result"]
pub struct ThreadHandle<T> {
    inner: JoinHandle<T>,
    done: Arc<Done>,
    daemon: bool,
}

impl<T> ThreadHandle<T> {
    /// Waits for the thread to finish and returns the target's value.
    ///
    /// # Errors
    ///
    /// [`Panicked`], with the panic's payload, if the target panicked.
    pub fn join(self) -> Result<T, Panicked> {
        self.inner.join().map_err(Panicked)
    }

    /// Waits at most `timeout` (in all, sleeping, not spinning) for the thread to finish;
    /// returns the handle back if it still runs.
    ///
    /// # Errors
    ///
    /// `Err(self)` if the thread still runs after `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spawn_core::Thread;
    /// use std::time::Duration;
    ///
    /// let handle = Thread::new(|| std::thread::sleep(Duration::from_millis(200))).start()?;
    /// let handle = handle.join_timeout(Duration::from_millis(1)).unwrap_err(); // still running
    /// assert!(handle.is_alive());
    /// assert!(handle.join_timeout(Duration::from_secs(10)).is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[allow(
        clippy::type_complexity,
        reason = "the thread's result, or the handle back"
    )]
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, Panicked>, Self> {
        if self.done.wait(Some(timeout)) {
            Ok(self.join())
        } else {
            Err(self)
        }
    }

    /// Whether the thread is still running its target.
    pub fn is_alive(&self) -> bool {
        !self.done.is_set()
    }

    /// Its name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.inner.thread().name()
    }

    /// Whether it is a daemon.
    pub fn is_daemon(&self) -> bool {
        self.daemon
    }
}

impl<T> fmt::Debug for ThreadHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadHandle")
            .field("name", &self.name())
            .field("daemon", &self.daemon)
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// Waits for every non-daemon thread started by [`Thread::start`] to finish, as Python's
/// interpreter does before it exits; call it at the end of `main`. Returns how many it waited
/// for (threads that had finished already included).
pub fn join_non_daemon_threads() -> usize {
    let waiting: Vec<Arc<Done>> = std::mem::take(&mut *non_daemon_threads());
    for done in &waiting {
        done.wait(None);
    }
    waiting.len()
}

/// The completion flags of the non-daemon threads not yet waited for.
static NON_DAEMON_THREADS: Mutex<Vec<Arc<Done>>> = Mutex::new(Vec::new());

/// The completion flags of the non-daemon threads not yet waited for, locked.
fn non_daemon_threads() -> MutexGuard<'static, Vec<Arc<Done>>> {
    // A panic while holding this lock cannot leave the list inconsistent.
    NON_DAEMON_THREADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// In a child just forked from this process: forgets the parent's non-daemon threads, which
/// do not exist in the child (a fork copies only the forking thread), so that the child's
/// exit does not wait for them. Skipped if another thread held the list at the fork (possible
/// only after `start_unchecked` in a multithreaded parent): its lock stays locked for good,
/// and the child's exit then waits for nothing either (see `join_threads_at_child_exit`).
pub(crate) fn forget_inherited_threads() {
    if let Ok(mut threads) = NON_DAEMON_THREADS.try_lock() {
        threads.clear();
    }
}

/// At a child's exit, after its target: waits for the non-daemon threads the target started,
/// as Python's interpreter does before a child process exits. A list whose lock was inherited
/// locked (see [`forget_inherited_threads`]) is left alone.
pub(crate) fn join_threads_at_child_exit() {
    let waiting = match NON_DAEMON_THREADS.try_lock() {
        Ok(mut threads) => std::mem::take(&mut *threads),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => std::mem::take(&mut *poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    for done in &waiting {
        done.wait(None);
    }
}

/// A flag set once, when a thread's target has finished, that others can sleep on.
#[derive(Debug, Default)]
struct Done {
    finished: Mutex<bool>,
    changed: Condvar,
}

impl Done {
    fn set(&self) {
        *self.lock() = true;
        self.changed.notify_all();
    }

    fn is_set(&self) -> bool {
        *self.lock()
    }

    /// Sleeps until set or `timeout` passes (`None`: no limit); returns whether it is set.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut finished = self.lock();
        while !*finished {
            finished = match deadline {
                None => self
                    .changed
                    .wait(finished)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.changed
                        .wait_timeout(finished, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        // Only a bool is guarded: a panic elsewhere cannot leave it inconsistent.
        self.finished.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sets its flag when dropped: at the end of the thread, returned or unwound.
struct FinishOnDrop(Arc<Done>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}
