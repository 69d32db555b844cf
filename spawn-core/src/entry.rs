//! Entry points: functions a child process can run by name, with serialized arguments, and
//! [`init`], which registers them and dispatches a spawned child to its entry point.

use core::fmt;
use core::marker::PhantomData;
use std::io::Read;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Names the entry point a spawned child runs.
pub(crate) const ENTRY_VAR: &str = "SPAWN_CORE_ENTRY";
/// Names the descriptor a spawned child reads its arguments from.
pub(crate) const ARGS_FD_VAR: &str = "SPAWN_CORE_ARGS_FD";
/// Names the descriptor a spawned child reports its target's panic message on.
pub(crate) const REPORT_FD_VAR: &str = "SPAWN_CORE_REPORT_FD";
/// Exit code of a child whose entry point or arguments could not be found or read.
pub(crate) const DISPATCH_FAILED: i32 = 2;

/// A function that a child process can run: Python's `Process(target=f, args=...)` for the
/// start methods that run a fresh program (spawn) or a server's fork (forkserver), which can
/// only find a function by its name.
///
/// Make one with [`entry!`](crate::entry), register it with [`init`], and start it with
/// [`Process::new`](crate::Process::new). `A` is the argument, sent to the child serialized
/// (any `serde` type; use a tuple for several).
pub struct Entry<A> {
    name: &'static str,
    run: fn(&[u8]) -> i32,
    _argument: PhantomData<fn(A)>,
}

impl<A> Entry<A> {
    /// An entry point called `name` whose `run` decodes the argument bytes and calls the
    /// target. Use [`entry!`](crate::entry) rather than calling this.
    #[doc(hidden)]
    pub const fn new(name: &'static str, run: fn(&[u8]) -> i32) -> Self {
        Self {
            name,
            run,
            _argument: PhantomData,
        }
    }

    /// The name it is registered under.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The argument, serialized for the child.
    pub(crate) fn encode(&self, argument: &A) -> Result<Vec<u8>, String>
    where
        A: Serialize,
    {
        postcard::to_allocvec(argument).map_err(|error| error.to_string())
    }

    /// Runs the target in this process with serialized `arguments`; returns the exit code.
    pub(crate) fn run(&self, arguments: &[u8]) -> i32 {
        (self.run)(arguments)
    }
}

impl<A> Clone for Entry<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for Entry<A> {}

impl<A> fmt::Debug for Entry<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

/// An entry point of any argument type, as [`init`] registers it.
pub trait Registered: Sync {
    /// The name it is registered under.
    fn name(&self) -> &'static str;
    /// Runs it with serialized arguments; returns the exit code.
    fn run_serialized(&self, arguments: &[u8]) -> i32;
}

impl<A> Registered for Entry<A> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run_serialized(&self, arguments: &[u8]) -> i32 {
        self.run(arguments)
    }
}

/// Makes an [`Entry`] of a function `fn(A) -> R`, named after its path, where `A` is
/// deserializable and `R` is `()`, an exit code (`i32`) or a `Result` (see [`IntoExitCode`]).
///
/// # Examples
///
/// ```
/// use spawn_core::{Entry, entry};
///
/// fn countdown(count: u32) {
///     for n in (1..=count).rev() {
///         println!("Count value {n}");
///     }
/// }
///
/// const COUNTDOWN: Entry<u32> = entry!(countdown);
/// assert_eq!(COUNTDOWN.name(), "countdown");
/// ```
#[macro_export]
macro_rules! entry {
    ($target:path) => {
        $crate::Entry::new(stringify!($target), |arguments| {
            $crate::__private::run_target(arguments, $target)
        })
    };
}

/// What a target's return value means as an exit code (Python: returning is 0, an uncaught
/// exception is 1, `sys.exit(n)` is `n`).
pub trait IntoExitCode {
    /// The exit code.
    fn into_exit_code(self) -> i32;
}

impl IntoExitCode for () {
    fn into_exit_code(self) -> i32 {
        0
    }
}

impl IntoExitCode for i32 {
    fn into_exit_code(self) -> i32 {
        self
    }
}

/// `Ok` is 0; `Err` prints `Error: {err:?}` on stderr (as `main` does) and is 1.
impl<T: IntoExitCode, E: fmt::Debug> IntoExitCode for Result<T, E> {
    fn into_exit_code(self) -> i32 {
        match self {
            Ok(value) => value.into_exit_code(),
            Err(error) => {
                eprintln!("Error: {error:?}");
                1
            }
        }
    }
}

/// Runs `target` and turns its return, or its panic, into an exit code: a panic is 1, with its
/// message already printed on stderr by the panic hook (Python prints the traceback), and
/// also written to the parent's report pipe, if this process is a child that has one.
pub(crate) fn run_to_exit_code<R: IntoExitCode>(target: impl FnOnce() -> R) -> i32 {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(target)) {
        Ok(returned) => returned.into_exit_code(),
        Err(payload) => {
            report_panic(payload.as_ref());
            1
        }
    }
}

/// The write end of the pipe on which this child reports its target's panic message to its
/// parent (-1: not a child, or no pipe).
static PANIC_REPORT: AtomicI32 = AtomicI32::new(-1);

/// Makes this process (a new child) report its target's panic message on `fd`.
pub(crate) fn report_panics_to(fd: RawFd) {
    // Relaxed: set by the child's only thread before it runs the target.
    PANIC_REPORT.store(fd, Ordering::Relaxed);
}

/// At most this much of a panic message is reported: one pipe write of at most `PIPE_BUF`
/// bytes is atomic and never blocks on an empty pipe.
const MAX_REPORT: usize = 4096;

fn report_panic(payload: &(dyn std::any::Any + Send)) {
    // Relaxed: see `report_panics_to`.
    let fd = PANIC_REPORT.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic with a non-string payload");
    let mut end = message.len().min(MAX_REPORT);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    // SAFETY: `fd` is the pipe's write end that this child holds open for its whole life (set
    // by `report_panics_to`); `write` reads `end` bytes of `message`, which are in bounds.
    let _ = unsafe { nix::libc::write(fd, message.as_ptr().cast(), end) };
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    /// Decodes the argument and runs the target; the body of every [`entry!`](crate::entry).
    pub fn run_target<A: DeserializeOwned, R: IntoExitCode>(
        arguments: &[u8],
        target: fn(A) -> R,
    ) -> i32 {
        match postcard::from_bytes::<A>(arguments) {
            Ok(argument) => run_to_exit_code(|| target(argument)),
            Err(error) => {
                eprintln!("spawn_core: the entry point's argument could not be decoded: {error}");
                DISPATCH_FAILED
            }
        }
    }
}

/// The entry points [`init`] registered, in this process.
static REGISTRY: OnceLock<&'static [&'static dyn Registered]> = OnceLock::new();

/// Registers the entry points that children may run, and, in a child started by the spawn
/// start method, runs the one it was started for and exits. Call it first in `main`, with the
/// same list in every run of the program:
///
/// ```no_run
/// use spawn_core::{Entry, entry};
///
/// fn countdown(count: u32) { /* ... */ }
/// const COUNTDOWN: Entry<u32> = entry!(countdown);
///
/// fn main() {
///     spawn_core::init(&[&COUNTDOWN]); // in a spawned child, runs countdown and exits
///     // ... the parent's program
/// }
/// ```
///
/// This is what Python does when a spawned child imports the main module and unpickles its
/// target. In the fork server (started by the first [`StartMethod::ForkServer`] start), it
/// runs the server's loop instead. Registering twice keeps the first list.
///
/// [`StartMethod::ForkServer`]: crate::StartMethod::ForkServer
pub fn init(entries: &'static [&'static dyn Registered]) {
    let _ = REGISTRY.set(entries);
    if let Ok(control) = std::env::var(crate::forkserver::SERVER_VAR) {
        crate::forkserver::serve(&control, entries);
    }
    let Some(name) = std::env::var_os(ENTRY_VAR) else {
        return;
    };
    if let Some(fd) = std::env::var(REPORT_FD_VAR)
        .ok()
        .and_then(|fd| fd.parse().ok())
    {
        report_panics_to(fd);
    }
    let code = dispatch(&name.to_string_lossy(), entries);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code);
}

/// Checks, in the parent, that the entry point called `name` is registered, so that a child
/// will find it.
pub(crate) fn check_registered(name: &'static str) -> Result<(), crate::StartError> {
    let entries = REGISTRY.get().ok_or(crate::StartError::NotInitialised)?;
    if entries.iter().any(|entry| entry.name() == name) {
        Ok(())
    } else {
        Err(crate::StartError::NotRegistered { name })
    }
}

/// In a spawned child: reads the arguments and runs the entry point `name`.
fn dispatch(name: &str, entries: &[&'static dyn Registered]) -> i32 {
    let Some(entry) = entries.iter().find(|entry| entry.name() == name) else {
        eprintln!("spawn_core: entry point `{name}` is not registered with spawn_core::init");
        return DISPATCH_FAILED;
    };
    match read_arguments() {
        Ok(arguments) => entry.run_serialized(&arguments),
        Err(error) => {
            eprintln!("spawn_core: the arguments of `{name}` could not be read: {error}");
            DISPATCH_FAILED
        }
    }
}

/// Reads the serialized arguments from the descriptor the parent left open for us.
fn read_arguments() -> std::io::Result<Vec<u8>> {
    let fd: i32 = std::env::var(ARGS_FD_VAR)
        .ok()
        .and_then(|fd| fd.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("{ARGS_FD_VAR} is not set")))?;
    // SAFETY: the parent's spawn passed this descriptor, open and ours alone (see
    // `spawn::command`); nothing else in this fresh program owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut arguments = Vec::new();
    file.read_to_end(&mut arguments)?;
    Ok(arguments)
}
