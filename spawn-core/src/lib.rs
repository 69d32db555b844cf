#![doc = include_str!("../README.md")]

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
    pub use init::{init, registered};
    pub use closure::ClosureProcess;
    pub use process::{Process, ProcessHandle};
    pub use context::Context;
    pub use start::StartMethod;
    pub use status::ExitStatus;
    pub use thread::{Panicked, Thread, ThreadHandle, join_non_daemon_threads};
    pub use wait::wait;
}
