//! The listings of a book chapter on Python's `multiprocessing` (its section 116; the Python,
//! as CPython runs it, is in `demos/python/`), rerun on `queue-core` and `spawn-core`: one
//! module per listing, named after its section; and `pool`, Python's `Pool.map` on
//! `process-pool`, beyond the chapter.
//!
//! `cargo run -p demos -- NAME` runs one; with no name, it lists them. See `demos/README.md`
//! for the map from each Python listing to its Rust file.

mod countdown;
mod pool;
mod s116_1_processes;
mod s116_1_start_methods;
mod s116_2_threads;
mod s116_3_queue;

use std::process::ExitCode;

type Demo = fn() -> Result<(), Box<dyn std::error::Error>>;

/// Every demo: its name, its section, and what it shows.
const DEMOS: [(&str, &str, &str, Demo); 5] = [
    (
        "processes",
        "116.1",
        "two processes counting down from 10 and 20",
        s116_1_processes::run,
    ),
    (
        "start-methods",
        "116.1",
        "the countdown under fork, spawn and forkserver",
        s116_1_start_methods::run,
    ),
    (
        "threads",
        "116.2",
        "two threads counting down, interleaved",
        s116_2_threads::run,
    ),
    (
        "queue",
        "116.3",
        "a queue passed to child processes: the Iftry helpers, then two workers per start method",
        s116_3_queue::run,
    ),
    (
        "pool",
        "beyond",
        "Pool.map under each start method, then the same map with a worker killed mid-way",
        pool::run,
    ),
];

fn main() -> ExitCode {
    // Spawned children are this program run again: dispatch them first.
    spawn_core::init(&[
        &s116_1_processes::COUNTDOWN,
        &s116_3_queue::CONSUME,
        &s116_3_queue::WORK,
        &process_pool::WORKER,
        &pool::SQUARE,
        &pool::SQUARE_OR_DIE,
    ]);
    let Some(name) = std::env::args().nth(1) else {
        println!("The chapter's demos; run one with `cargo run -p demos -- NAME`:");
        for (name, section, what, _) in DEMOS {
            println!("  {name:<14} {section}  {what}");
        }
        return ExitCode::SUCCESS;
    };
    let Some((_, _, _, demo)) = DEMOS.iter().find(|(n, ..)| *n == name) else {
        eprintln!("no demo called {name:?}; run without a name to list them");
        return ExitCode::from(2);
    };
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo {name} failed: {error}");
            ExitCode::FAILURE
        }
    }
}
