//! The deliberately broken variant of the pool's bookkeeping (a "mutant"), used to show that
//! its checks can fail.
//!
//! It is compiled in only when the crate is built with `PROCESS_POOL_MUTANT=NAME` in the
//! environment (the build script turns it into `--cfg pool_mutant="NAME"`); in every other
//! build the knob below is a constant that leaves the ledger exactly as written. It is
//! registered, with the checks that must catch it, in the one registry,
//! `verification/src/mutants.rs`.

/// Whether a dead worker's running chunk is forgotten, neither failed nor retried
/// (`forgets_dead_workers_chunk`); `false` in every normal build.
pub(crate) const FORGETS_THE_DEAD_WORKERS_CHUNK: bool =
    cfg!(pool_mutant = "forgets_dead_workers_chunk");
