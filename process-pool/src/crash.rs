//! The workers' crash points, for the tests that kill a worker at each step of its loop: a
//! worker of the first generation (not its replacements) raises `SIGKILL` at the step its
//! pool was built to crash at. Compiled in only with `--cfg pool_faults` (see `build.rs`); in
//! every other build a worker has no such step, and `crash_at` does nothing.

use serde::{Deserialize, Serialize};

/// A step of a worker's loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[doc(hidden)]
pub enum CrashStep {
    /// In its initializer, before it runs.
    Initializing,
    /// Just after it said it is ready.
    Ready,
    /// Just after it took its first chunk from its queue, before it said it started it.
    Taken,
    /// Just after it said it started its first chunk, before the task runs.
    Started,
    /// After its first chunk ran, before its report.
    Ran,
    /// Just after its first chunk's report.
    Reported,
    /// After it reported its last chunk and found its queue closed (retired by
    /// `max_tasks_per_child`), before it exits.
    Retiring,
}

/// Dies here if this worker was told to crash at `step` and is of the first generation.
#[cfg(pool_faults)]
pub(crate) fn crash_at(told: Option<CrashStep>, generation: u64, step: CrashStep) {
    if told == Some(step) && generation == 0 {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// Nothing: this build has no crash points.
#[cfg(not(pool_faults))]
pub(crate) fn crash_at(_: Option<CrashStep>, _: u64, _: CrashStep) {}
