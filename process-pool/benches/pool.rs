//! The pool beside CPython's `multiprocessing.Pool`, per start method, in one run:
//! - `map` of 100,000 trivial tasks (a square), Python's default chunking (about four chunks
//!   per worker) and chunks of 100: the cost per task, and the ratio;
//! - `map` of 1,000 tasks of 1 ms of CPU each on 2 workers: the share of the ideal 2x;
//! - start-up: from the build to every worker having answered a task.
//!
//! Each case runs `REPEATS` times and keeps the best (the least disturbed by this noisy
//! machine); CPython's side runs `benches/python_pool.py` with `python3`. `harness = false`:
//! a forked pool is built in a single-threaded process, and spawned workers are this binary
//! run again, dispatched by `spawn_core::init`. Run: `cargo bench -p process-pool --bench
//! pool`. Without `--bench` (as in `cargo test --benches`) every case runs once, small, to show
//! the bench still works.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::time::{ClockId, clock_gettime};
use process_pool::{Pool, StartMethod, Task, WORKER, task};

fn square(n: u64) -> u64 {
    n * n
}
const SQUARE: Task<u64, u64> = task!(square);

/// Burns `millis` ms of this thread's CPU time.
fn burn(millis: u64) -> u64 {
    let cpu = || {
        let now = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
        Duration::new(now.tv_sec() as u64, now.tv_nsec() as u32)
    };
    let end = cpu() + Duration::from_millis(millis);
    while cpu() < end {
        std::hint::spin_loop();
    }
    millis
}
const BURN: Task<u64, u64> = task!(burn);

fn pid(_: u64) -> u32 {
    std::process::id()
}
const PID: Task<u64, u32> = task!(pid);

/// The sizes of a full run, and of the quick one (`cargo test --benches`).
struct Sizes {
    tasks: u64,
    cpu_tasks: u64,
    repeats: u32,
}

const FULL: Sizes = Sizes {
    tasks: 100_000,
    cpu_tasks: 1_000,
    repeats: 5,
};
const QUICK: Sizes = Sizes {
    tasks: 1_000,
    cpu_tasks: 10,
    repeats: 1,
};

fn python_name(method: StartMethod) -> &'static str {
    match method {
        StartMethod::Fork => "fork",
        StartMethod::ForkServer => "forkserver",
        _ => "spawn",
    }
}

/// Runs `python_pool.py` with `args`; its one line of output as a number.
fn python(args: &[String]) -> f64 {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_pool.py");
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("the bench needs python3 on the PATH");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn best(repeats: u32, mut run: impl FnMut() -> Duration) -> Duration {
    (0..repeats).map(|_| run()).min().unwrap_or_default()
}

fn pool(method: StartMethod) -> Pool {
    Pool::builder()
        .workers(2)
        .start_method(method)
        .build()
        .unwrap()
}

fn main() {
    spawn_core::init(&[&WORKER, &SQUARE, &BURN, &PID]);
    let full = std::env::args().any(|arg| arg == "--bench");
    let sizes = if full { FULL } else { QUICK };
    println!(
        "process-pool beside CPython's multiprocessing.Pool, 2 workers, best of {}",
        sizes.repeats
    );
    println!(
        "| start method | case | process-pool | CPython Pool | ratio |\n|---|---|---|---|---|"
    );
    for method in StartMethod::ALL {
        let name = python_name(method);
        let pool = pool(method);
        pool.map(SQUARE, 0..100).unwrap();
        for (chunks, chunksize) in [("default chunks", 0), ("chunks of 100", 100)] {
            let ours = best(sizes.repeats, || {
                let started = Instant::now();
                let squares = if chunksize == 0 {
                    pool.map(SQUARE, 0..sizes.tasks)
                } else {
                    pool.chunked(chunksize).map(SQUARE, 0..sizes.tasks)
                };
                let took = started.elapsed();
                assert_eq!(squares.unwrap().len() as u64, sizes.tasks);
                took
            });
            let ours_micros = ours.as_secs_f64() * 1e6 / sizes.tasks as f64;
            let theirs_micros = python(&[
                "map".into(),
                name.into(),
                sizes.tasks.to_string(),
                chunksize.to_string(),
                sizes.repeats.to_string(),
            ]);
            println!(
                "| {name} | map of {} squares, {chunks} | {ours_micros:.4} µs/task | {theirs_micros:.4} µs/task | {:.1}x |",
                sizes.tasks,
                theirs_micros / ours_micros
            );
        }
        let ideal = Duration::from_millis(sizes.cpu_tasks) / 2;
        let ours = best(sizes.repeats.min(3), || {
            let started = Instant::now();
            pool.map(BURN, (0..sizes.cpu_tasks).map(|_| 1)).unwrap();
            started.elapsed()
        });
        let theirs = python(&[
            "cpu".into(),
            name.into(),
            sizes.cpu_tasks.to_string(),
            "1".into(),
        ]);
        println!(
            "| {name} | map of {} tasks of 1 ms CPU (ideal {:.3} s) | {:.3} s, {:.0}% of ideal | {theirs:.3} s, {:.0}% of ideal | {:.2}x |",
            sizes.cpu_tasks,
            ideal.as_secs_f64(),
            ours.as_secs_f64(),
            100.0 * ideal.as_secs_f64() / ours.as_secs_f64(),
            100.0 * ideal.as_secs_f64() / theirs,
            theirs / ours.as_secs_f64()
        );
        pool.join();
        let ours = best(sizes.repeats, || {
            let started = Instant::now();
            let pool = self::pool(method);
            let mut seen = HashSet::new();
            while seen.len() < 2 {
                seen.extend(pool.chunked(1).map(PID, 0..2).unwrap());
            }
            let took = started.elapsed();
            pool.join();
            took
        });
        let theirs = python(&[
            "startup".into(),
            name.into(),
            "2".into(),
            sizes.repeats.to_string(),
        ]);
        println!(
            "| {name} | start-up, until both workers answered | {:.2} ms | {theirs:.2} ms | {:.1}x |",
            ours.as_secs_f64() * 1e3,
            theirs / (ours.as_secs_f64() * 1e3)
        );
    }
}
