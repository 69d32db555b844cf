//! Switches a mutant or the fault-injection hook on.
//!
//! A mutant (see `src/mutant.rs`) is switched on by `QUEUE_CORE_MUTANT=NAME`, which this
//! script turns into `--cfg queue_mutant="NAME"`, and the fault-injection hook by
//! `QUEUE_CORE_FAULTS=1` (`--cfg queue_faults`). Environment variables, not `RUSTFLAGS`:
//! cargo rebuilds every dependency when `RUSTFLAGS` changes, and only this crate when a
//! variable its build script reads does, so each costs one crate's build.

/// Whether the fault-injection hook is compiled in: `QUEUE_CORE_FAULTS=1` (for the tests that
/// kill real processes at the crash points; never in a build of yours).
const FAULTS_VAR: &str = "QUEUE_CORE_FAULTS";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed={FAULTS_VAR}");
    if std::env::var_os(FAULTS_VAR).is_some_and(|value| value == "1") {
        println!("cargo::rustc-cfg=queue_faults");
    }
    println!("cargo::rerun-if-env-changed=QUEUE_CORE_MUTANT");
    if let Some(name) = std::env::var_os("QUEUE_CORE_MUTANT") {
        println!("cargo::rustc-cfg=queue_mutant={:?}", name.to_string_lossy());
    }
}
