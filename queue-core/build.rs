//! Passes `--cfg loom` on to rustdoc when the crate is built with it, and switches a mutant on.
//!
//! Cargo gives `RUSTFLAGS` to rustc only, so under `RUSTFLAGS="--cfg loom"` the doc examples
//! would be compiled without `cfg(loom)` against a library whose atomics are loom's, and would
//! panic outside a loom model. A cfg emitted here reaches rustdoc as well, so each example can
//! gate itself off under loom (where it has no meaning), as the test files do.
//!
//! A mutant (see `src/mutant.rs`) is switched on by `QUEUE_CORE_MUTANT=NAME`, which this
//! script turns into `--cfg queue_mutant="NAME"`. An environment variable, not `RUSTFLAGS`:
//! cargo rebuilds every dependency when `RUSTFLAGS` changes, and only this crate when a
//! variable its build script reads does, so each mutant costs one crate's build.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(loom)");
    if std::env::var_os("CARGO_CFG_LOOM").is_some() {
        println!("cargo::rustc-cfg=loom");
    }
    println!("cargo::rerun-if-env-changed=QUEUE_CORE_MUTANT");
    if let Some(name) = std::env::var_os("QUEUE_CORE_MUTANT") {
        println!("cargo::rustc-cfg=queue_mutant={:?}", name.to_string_lossy());
    }
}
