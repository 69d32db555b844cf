//! Test support shared by the workspace's crates (a dev-dependency, never published), so that
//! the verification report reads one kind of record from every crate:
//!
//! - `explore` (under `--cfg loom`) runs a loom `Model`, counts the executions it explored,
//!   and records them with the model's property, scenario and bound, or with the execution at
//!   which it failed and loom's message. Each model prints
//!   `loom model NAME: N executions, BOUND, T s`.
//! - [`property_config`] makes a proptest configuration whose case count and seed are known
//!   (the seed is fixed, chosen here unless `PROPTEST_RNG_SEED` gives it), prints them, and
//!   records them with the property.
//! - [`run_on_main_thread`] runs the tests of a `harness = false` test binary (one that forks,
//!   so it must stay single-threaded) and prints libtest's verdict lines.
//!
//! When the environment variable [`RESULTS_VAR`] names a file, every record is appended to it
//! as one JSON line ([`Entry`]).
//!
//! # Replaying a loom failure
//!
//! With [`CHECKPOINTS_VAR`] naming a directory, each model writes loom's checkpoint of the
//! execution it is about to run to `DIR/MODEL.json` before every execution (slow: meant for
//! runs expected to fail, such as mutants) and removes it if the model passes; after a
//! failure the file holds the failing execution. Run the same test again with
//! [`REPLAY_VAR`] set as well, and loom starts from that execution, so it fails at once; add
//! `LOOM_LOG=trace LOOM_LOCATION=1` to print its interleaving, step by step.

mod property;
mod record;
mod runner;

#[cfg(loom)]
mod explore;

#[cfg(loom)]
pub use explore::{Model, explore};
pub use property::{property_config, proptest_seed};
pub use record::{Bound, Entry, Failure, ModelRecord, PropertyRecord, parse_entries};
pub use runner::run_on_main_thread;

/// Names the file that every record is appended to, one JSON line each.
pub const RESULTS_VAR: &str = "MODEL_CHECK_RESULTS";

/// When set, every model runs to at most [`QUICK_BOUND`] preemptions (the verification's
/// `--quick` mode), and its record says so.
pub const QUICK_VAR: &str = "MODEL_CHECK_QUICK";

/// The preemption bound of quick mode.
pub const QUICK_BOUND: usize = 2;

/// Names a directory for loom checkpoints: see [Replaying a loom failure](crate#replaying-a-loom-failure).
pub const CHECKPOINTS_VAR: &str = "MODEL_CHECK_CHECKPOINTS";

/// When set (with [`CHECKPOINTS_VAR`]), each model starts from its checkpoint, if it has one.
pub const REPLAY_VAR: &str = "MODEL_CHECK_REPLAY";

/// `bound`, capped at [`QUICK_BOUND`] when [`QUICK_VAR`] is set.
pub fn quick_bound(bound: Bound) -> Bound {
    if std::env::var_os(QUICK_VAR).is_none() {
        return bound;
    }
    match bound {
        Bound::Preemptions(n) if n <= QUICK_BOUND => bound,
        _ => Bound::Preemptions(QUICK_BOUND),
    }
}
