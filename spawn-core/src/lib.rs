//! The spawn/join lifecycle of processes and threads, with the observable semantics of Python's
//! `multiprocessing.Process` and `threading.Thread`, and none of their traps.
//!
//! | Python | Rust |
//! |---|---|
//! | `Process(target=f, args=(a,))` | [`Process::new`]`(F, a)`, with `const F: Entry<A> = entry!(f)` |
//! | `Process(target=lambda: ...)` under fork | [`ClosureProcess::new`] |
//! | `p.start()` | [`Process::start`] → [`ProcessHandle`] (start twice does not compile) |
//! | `p.join()`, `p.join(timeout)` | [`ProcessHandle::join`], [`ProcessHandle::join_timeout`] |
//! | `p.is_alive()`, `p.exitcode`, `p.pid` | [`ProcessHandle::is_alive`], [`ProcessHandle::exitcode`], [`ProcessHandle::pid`] |
//! | `p.terminate()`, `p.kill()` | [`ProcessHandle::terminate`], [`ProcessHandle::kill`] |
//! | `set_start_method("fork")`, `get_context("spawn")`, `"forkserver"` | [`Process::start_method`], [`Context`], [`StartMethod`] |
//! | `threading.Thread(target=f)`, `t.join(timeout)` | [`Thread::new`], [`ThreadHandle::join_timeout`] |
//!
//! # Guarantees
//!
//! - **Misuse does not compile, or is a typed error.** Starting consumes the builder; a handle
//!   exists only for a started child. Forking a multithreaded parent is refused with
//!   [`StartError::MultiThreaded`] (or `unsafe`, with its contract stated).
//! - **Exactly-once reaping, one status for all.** A [`ProcessHandle`] may be joined, polled and
//!   signalled from many threads at once; the child is reaped once, every caller sees the same
//!   [`ExitStatus`], and no signal is sent once reaping has begun. This protocol is
//!   model-checked with loom (`src/lifecycle/loom_models.rs`), OS calls replaced by threads.
//! - **No pid reuse, no busy-waiting.** A child is held by a pidfd: waits sleep in `poll`, and
//!   signals go through `pidfd_send_signal`, which cannot reach a recycled pid.
//! - **Right where Python is fooled.** A grandchild that keeps a pipe open does not delay the
//!   join; a parent that ignores `SIGCHLD` still sees its children end, with their status
//!   (from the pidfd, Linux 6.15 and later; [`ExitStatus::Lost`] before).
//! - **No zombies.** Dropping a running handle joins a non-daemon child, and terminates,
//!   kills and reaps a daemon.
//!
//! # Platform
//!
//! Linux only (pidfds, `memfd_create`, `prctl`): on another target the crate stops with one
//! compile error that says so. The library builds with Rust 1.85.
//!
//! # Spawned children need `init`
//!
//! A spawned child runs this program again; [`init`], called first in `main`, dispatches it to
//! its entry point. See [`init`]. In a test binary, whose `main` is the harness's, one line at
//! module level does the same before `main`: [`init_before_main!`].

#[cfg(not(target_os = "linux"))]
compile_error!("spawn-core runs on Linux only: it is built on pidfds, memfd_create and prctl");

/// Compiles the items only on Linux, so that another target sees the one error above, not a
/// cascade of missing system calls.
macro_rules! on_linux {
    ($($item:item)*) => { $( #[cfg(target_os = "linux")] $item )* };
}

on_linux! {
    mod before_main;
    mod children;
    mod closure;
    mod context;
    mod entry;
    mod error;
    mod exit_code;
    mod descriptors_taken;
    mod init;
    mod lifecycle;
    mod mutant;
    mod pidfd;
    mod process;
    mod start;
    mod status;
    mod sync;
    mod thread;
    mod wait;

    pub use children::{ActiveChild, active_children};
    #[doc(hidden)]
    pub use entry::__private;
    pub use entry::{Entry, Registered};
    pub use error::{EntryError, StartError};
    pub use exit_code::IntoExitCode;
    pub use init::init;
    pub use closure::ClosureProcess;
    pub use process::{Process, ProcessHandle};
    pub use context::Context;
    pub use start::StartMethod;
    pub use status::ExitStatus;
    pub use thread::{Panicked, Thread, ThreadHandle, join_non_daemon_threads};
    pub use wait::wait;
}
