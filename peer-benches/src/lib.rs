//! Benches of the workspace's queue beside peers that a fresh machine cannot build by default.
//!
//! `cargo bench -p peer-benches --features iceoryx2` measures the one-way latency of
//! iceoryx2's publish-subscribe across two processes, beside a cache line and the shared
//! `Queue` and `BlockingQueue` in the same run (the harness of `queue-core`'s latency bench).
//! iceoryx2's bindings need libclang (`apt install libclang-dev`), hence the feature; without
//! it the bench runs the workspace's own cases and says that iceoryx2 was left out.
//!
//! The library itself is empty: the crate exists for its bench.
