//! Deliberately broken variants of the lifecycle ("mutants"), used to show that the loom
//! models can fail.
//!
//! A mutant is compiled in only when the crate is built with `SPAWN_CORE_MUTANT=NAME` in the
//! environment (the build script turns it into `--cfg spawn_mutant="NAME"`); in every other
//! build each knob below is a constant that leaves the lifecycle exactly as written. The knobs
//! are named here, once, so that the lifecycle carries no `cfg` attributes of its own.
//!
//! The mutants are registered, with the models that must catch each, in the one registry,
//! `verification/src/mutants.rs`; `cargo test-all` runs them all.

/// Whether every joiner reaps the child itself (`reap_twice`); `false` in every normal build.
pub(crate) const EVERY_JOINER_REAPS: bool = cfg!(spawn_mutant = "reap_twice");

/// Whether the published flag is set before the status is written (`flag_before_status`);
/// `false` in every normal build.
pub(crate) const PUBLISHES_FLAG_FIRST: bool = cfg!(spawn_mutant = "flag_before_status");
