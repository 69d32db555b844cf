#![doc = include_str!("../README.md")]

#[cfg(not(target_os = "linux"))]
compile_error!("process-pool runs on Linux only: it is built on pidfds, memfd_create and futex");

/// Compiles the items only on Linux, so that another target sees the one error above, not a
/// cascade of missing system calls.
macro_rules! on_linux {
    ($($item:item)*) => { $( #[cfg(target_os = "linux")] $item )* };
}

on_linux! {
    mod builder;
    mod calls;
    mod crash;
    mod error;
    mod ledger;
    mod manager;
    mod mutant;
    mod pool;
    mod state;
    mod task;
    mod wire;
    mod worker;

    pub use calls::TaskHandle;
    #[doc(hidden)]
    pub use crash::CrashStep;
    pub use error::{BuildError, MapError, TaskError};
    pub use builder::Builder;
    pub use pool::{Chunked, Imap, ImapUnordered, Pool};
    pub use state::PoolStats;
    pub use task::{Never, Task};
    #[doc(hidden)]
    pub use task::__private;
    pub use wire::WorkerStart;
    pub use worker::WORKER;
    pub use spawn_core::{ExitStatus, StartMethod};
}
