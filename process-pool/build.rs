//! Switches a mutant or the fault-injection hook on.
//!
//! A mutant (see `src/mutant.rs`) is switched on by `PROCESS_POOL_MUTANT=NAME`, which this
//! script turns into `--cfg pool_mutant="NAME"`, and the workers' crash points (see
//! `src/crash.rs`) by `QUEUE_CORE_FAULTS=1` (`--cfg pool_faults`), the variable that switches
//! queue-core's on, so that one fault-injection build serves both. Environment variables, not
//! `RUSTFLAGS`: cargo rebuilds every dependency when `RUSTFLAGS` changes, and only the crates
//! whose build scripts read a variable when it does.

/// Whether the crash points are compiled in: `QUEUE_CORE_FAULTS=1` (for the tests that kill
/// workers at each step of their loop; never in a build of yours).
const FAULTS_VAR: &str = "QUEUE_CORE_FAULTS";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed={FAULTS_VAR}");
    if std::env::var_os(FAULTS_VAR).is_some_and(|value| value == "1") {
        println!("cargo::rustc-cfg=pool_faults");
    }
    println!("cargo::rerun-if-env-changed=PROCESS_POOL_MUTANT");
    if let Some(name) = std::env::var_os("PROCESS_POOL_MUTANT") {
        println!("cargo::rustc-cfg=pool_mutant={:?}", name.to_string_lossy());
    }
}
