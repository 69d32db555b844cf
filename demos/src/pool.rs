//! Beyond the chapter: Python's `Pool.map`, the call most `multiprocessing` programs are
//! built on, and what happens when one of its workers is killed mid-way.
//!
//! Under each start method (spawn, forkserver, fork), with its CPython twin in
//! `python/pool.py`:
//!
//! 1. `pool.map(square, range(10))` on 2 workers: the ten squares, in order.
//! 2. The same map, one task at a time (`chunksize=1`), with a task that kills its own worker
//!    (`SIGKILL`) on input 5. CPython's `Pool` loses that task and waits for it for ever
//!    (cpython#96062): its twin gives up after 2 seconds and says so. Here the task gets its
//!    outcome, `TaskError::WorkerDied` with the worker's pid and signal, the nine others their
//!    squares, and a new worker takes the dead one's place.

use process_pool::{Pool, StartMethod, Task, TaskError, task};

fn square(n: u64) -> u64 {
    n * n
}
pub(crate) const SQUARE: Task<u64, u64> = task!(square);

/// The square of `n`, except that on 5 it kills the worker running it.
fn square_or_die(n: u64) -> u64 {
    if n == 5 {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    n * n
}
pub(crate) const SQUARE_OR_DIE: Task<u64, u64> = task!(square_or_die);

pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    for (name, method) in [
        ("spawn", StartMethod::Spawn),
        ("forkserver", StartMethod::ForkServer),
        ("fork", StartMethod::Fork),
    ] {
        let pool = Pool::builder().workers(2).start_method(method).build()?;
        println!("{name}: squares {:?}", pool.map(SQUARE, 0..10)?);
        let outcomes = pool.chunked(1).map_outcomes(SQUARE_OR_DIE, 0..10);
        let mut squares = Vec::new();
        for (n, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(square) => squares.push(square),
                Err(TaskError::WorkerDied { pid, status, .. }) => {
                    println!("{name}: task {n}: its worker (pid {pid}) {status}");
                }
                Err(other) => return Err(other.into()),
            }
        }
        println!("{name}: the other squares {squares:?}");
        pool.join();
    }
    Ok(())
}
