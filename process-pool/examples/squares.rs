//! The README's first example: squares with `map` and a lazy `imap`, each outcome matched.
//!
//! Run: `cargo run -p process-pool --example squares`.

use process_pool::{Pool, Task, TaskError, WORKER, task};

fn square(n: u64) -> u64 {
    n * n
}
const SQUARE: Task<u64, u64> = task!(square);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spawn_core::init(&[&WORKER, &SQUARE]); // in a worker, runs the worker and exits
    let pool = Pool::builder().workers(4).build()?;
    assert_eq!(pool.map(SQUARE, 0..5)?, [0, 1, 4, 9, 16]);
    for outcome in pool.imap(SQUARE, 0u64..).take(1000) {
        match outcome {
            Ok(square) => assert!(square < 1_000_000),
            Err(TaskError::WorkerDied { pid, status, .. }) => eprintln!("worker {pid} {status}"),
            Err(other) => return Err(other.into()),
        }
    }
    pool.join(); // close, then wait for every task and worker
    Ok(())
}
