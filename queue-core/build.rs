//! Passes `--cfg loom` on to rustdoc when the crate is built with it.
//!
//! Cargo gives `RUSTFLAGS` to rustc only, so under `RUSTFLAGS="--cfg loom"` the doc examples
//! would be compiled without `cfg(loom)` against a library whose atomics are loom's, and would
//! panic outside a loom model. A cfg emitted here reaches rustdoc as well, so each example can
//! gate itself off under loom (where it has no meaning), as the test files do.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(loom)");
    if std::env::var_os("CARGO_CFG_LOOM").is_some() {
        println!("cargo::rustc-cfg=loom");
    }
}
