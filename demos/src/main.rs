//! The chapter's examples, rerun on `queue-core` and `spawn-core`.
//!
//! No demo exists yet; this program says so and exits with status 2.

fn main() {
    eprintln!("demos: no demo is implemented yet");
    std::process::exit(2);
}
