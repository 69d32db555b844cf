//! Switches a mutant on (see `src/mutant.rs`): `SPAWN_CORE_MUTANT=NAME` becomes
//! `--cfg spawn_mutant="NAME"`. An environment variable, not `RUSTFLAGS`: cargo rebuilds every
//! dependency when `RUSTFLAGS` changes, and only this crate when a variable its build script
//! reads does, so each mutant costs one crate's build.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=SPAWN_CORE_MUTANT");
    if let Some(name) = std::env::var_os("SPAWN_CORE_MUTANT") {
        println!("cargo::rustc-cfg=spawn_mutant={:?}", name.to_string_lossy());
    }
}
