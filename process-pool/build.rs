//! Switches a mutant on (see `src/mutant.rs`): `PROCESS_POOL_MUTANT=NAME` becomes
//! `--cfg pool_mutant="NAME"`. An environment variable, not `RUSTFLAGS`: cargo rebuilds every
//! dependency when `RUSTFLAGS` changes, and only this crate when a variable its build script
//! reads does, so each mutant costs one crate's build.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PROCESS_POOL_MUTANT");
    if let Some(name) = std::env::var_os("PROCESS_POOL_MUTANT") {
        println!("cargo::rustc-cfg=pool_mutant={:?}", name.to_string_lossy());
    }
}
