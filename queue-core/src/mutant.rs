//! Deliberately broken variants of the ring ("mutants"), used to show that the model checks and
//! property suites can fail.
//!
//! A mutant is compiled in only when the crate is built with `QUEUE_CORE_MUTANT=NAME` in the
//! environment (the build script turns it into `--cfg queue_mutant="NAME"`); in every other
//! build each knob below is a constant that leaves the algorithm exactly as written, and the
//! optimiser removes it. The knobs are named here, once, so that the algorithm carries no
//! `cfg` attributes of its own.
//!
//! The mutants are registered, with the models that must catch each, in the one registry,
//! `verification/src/mutants.rs`; `cargo test-all` runs them all.

use crate::sync::Ordering;

/// The ordering of the stamp store that publishes a pushed value: `correct` unless the
/// `relaxed_publish` mutant is on.
pub(crate) const fn publish_ordering(correct: Ordering) -> Ordering {
    if cfg!(queue_mutant = "relaxed_publish") {
        Ordering::Relaxed
    } else {
        correct
    }
}

/// Whether a push takes a slot that still holds the value pushed one lap ago (the
/// `full_off_by_one` mutant); `false` in every normal build.
pub(crate) const TAKES_OCCUPIED_SLOT: bool = cfg!(queue_mutant = "full_off_by_one");

/// Whether the Full/Empty paths issue their `SeqCst` fence; `true` in every normal build.
pub(crate) const FENCES_FULL_AND_EMPTY: bool = !cfg!(queue_mutant = "no_empty_fence");

/// Whether a blocking call reads the futex word before its last check of the ring (`true` in
/// every normal build); the `check_then_sleep` mutant reads it afterwards.
pub(crate) const READS_EPOCH_BEFORE_CHECK: bool = !cfg!(queue_mutant = "check_then_sleep");

/// Whether a waker issues its half of the barrier pair before it reads the sleeper count
/// (`true` in every normal build); the `waker_without_barrier` mutant leaves it out.
pub(crate) const WAKER_ISSUES_BARRIER: bool = !cfg!(queue_mutant = "waker_without_barrier");

/// Whether a claim on a shared ring trusts it as it trusts the heap: no check that a stale
/// stamp's cursor moved on, no bound on retries (`false` in every normal build); the
/// `trusts_shared_memory` mutant spins for ever on a damaged stamp.
pub(crate) const TRUSTS_SHARED_MEMORY: bool = cfg!(queue_mutant = "trusts_shared_memory");

/// Whether a recovery takes a slot from its holders without asking whether they are dead
/// (`false` in every normal build); the `robs_live_claimers` mutant finishes a slow live
/// claimer's slot, which it then writes into.
pub(crate) const ROBS_LIVE_CLAIMERS: bool = cfg!(queue_mutant = "robs_live_claimers");

/// Whether the shared queue's liveness check never finds a participant dead (`false` in every
/// normal build); the `misses_the_dead` mutant leaves a killed process's claims unrecovered.
pub(crate) const MISSES_THE_DEAD: bool = cfg!(queue_mutant = "misses_the_dead");

/// Whether a sleeper on a ring that recovers the dead's claims looks again every
/// `DEATH_RECHECK` (`true` in every normal build); the `sleeps_through_deaths` mutant sleeps
/// until woken, so a death nobody else notices leaves it asleep.
pub(crate) const RECHECKS_FOR_THE_DEAD: bool = !cfg!(queue_mutant = "sleeps_through_deaths");

/// Whether a waker that woke nobody takes the registrations of dead sleepers out (`true` in
/// every normal build); the `forgets_dead_sleepers` mutant leaves them, so every later waker
/// pays a futex wake for a process that died asleep.
pub(crate) const HEALS_DEAD_SLEEPERS: bool = !cfg!(queue_mutant = "forgets_dead_sleepers");

/// Whether a pop that finds every producer gone answers `Disconnected` without checking that
/// no push claimed a position past it (`false` in every normal build); the
/// `disconnects_undrained` mutant drops the values a producer pushed before it left, when a
/// pop saw its slot empty just before they were published.
pub(crate) const DISCONNECTS_UNDRAINED: bool = cfg!(queue_mutant = "disconnects_undrained");

/// Whether a push that finds a shared ring full answers `Disconnected` without asking whether
/// any consumer is left (`false` in every normal build); the `disconnects_live_consumers`
/// mutant tells a producer its consumers are gone while one still pops.
pub(crate) const DISCONNECTS_LIVE_CONSUMERS: bool =
    cfg!(queue_mutant = "disconnects_live_consumers");

/// Whether a heap ring (and an `spsc` channel) claims in a child made by fork as in the
/// process that made it (`false` in every normal build); the `uses_fork_copies` mutant lets a
/// forked child push into and pop from its silent copy of the parent's queue.
pub(crate) const USES_FORK_COPIES: bool = cfg!(queue_mutant = "uses_fork_copies");

/// Whether a blocking call takes every wake at its word (`false` in every normal build); the
/// `trusts_every_wake` mutant goes round at system-call speed for a peer that keeps bumping
/// its futex word.
pub(crate) const TRUSTS_EVERY_WAKE: bool = cfg!(queue_mutant = "trusts_every_wake");

/// Whether a shared handle takes the other side for gone as soon as no entry of it is left,
/// without asking the kernel whether a handle of it exists (`false` in every normal build);
/// the `counts_entries_not_handles` mutant tells a consumer `Disconnected` while a producer
/// handle, copied into a forked child, has yet to make its first call.
pub(crate) const COUNTS_ENTRIES_NOT_HANDLES: bool =
    cfg!(queue_mutant = "counts_entries_not_handles");

/// Whether a shared handle with no entry in the table claims all the same, unannounced
/// (`false` in every normal build); the `claims_without_an_entry` mutant lets a forked child
/// that found the table full make claims nobody could recover.
pub(crate) const CLAIMS_WITHOUT_AN_ENTRY: bool = cfg!(queue_mutant = "claims_without_an_entry");

/// Whether a participant's process is told from a later one with its pid by the start time
/// alone, even where the pidfd's inode tells (`false` in every normal build); the
/// `knows_pids_by_start_time` mutant takes a process that reused a dead one's pid within its
/// clock tick for the dead one.
pub(crate) const KNOWS_PIDS_BY_START_TIME: bool = cfg!(queue_mutant = "knows_pids_by_start_time");

/// Whether a pop claims a message's span once its first slot is published, without waiting
/// for the others (the `takes_unfinished_spans` mutant); `false` in every normal build.
pub(crate) const TAKES_UNFINISHED_SPANS: bool = cfg!(queue_mutant = "takes_unfinished_spans");

/// Whether the producer of an `spsc` channel counts the ring full one value too late (the
/// `spsc_full_off_by_one` mutant), writing over the oldest value not yet popped; `false` in
/// every normal build.
pub(crate) const SPSC_FULL_OFF_BY_ONE: bool = cfg!(queue_mutant = "spsc_full_off_by_one");
