//! A worker killed at each step of its loop, under each start method: every task still gets
//! exactly one outcome, and the right one.
//!
//! The fault-injection build gives the worker crash points (`src/crash.rs`): a pool built with
//! `crash_first_workers_at(step)` has its first worker raise `SIGKILL` at that step (its
//! replacements run on). Each case maps 4 inputs one per chunk on one worker, and checks:
//!
//! - killed before it says it started a chunk (in its initializer, once ready, once it took
//!   the chunk from its queue): nothing ran, so every task gets its value, the first on the
//!   replacement;
//! - killed once it said so (before the task ran, or after, before its report): that one task
//!   gets `WorkerDied` with the worker's pid and `SIGKILL`, the others their values;
//! - killed after its report, or while retiring (`max_tasks_per_child`): every value;
//!
//! and that the pool saw one worker lost and no stray outcome. `harness = false` (a forked
//! pool is built in a single-threaded process). Every other build has no crash points and this
//! binary runs nothing; `cargo test-all` runs it in the fault-injection build:
//! `QUEUE_CORE_FAULTS=1 cargo test --release -p process-pool --test crash_points`.
//!
//! # Verification
//!
//! - Checker: fault injection
//! - Primitive: Pool (a worker killed at each step of its loop)
//! - Proves: under every start method, a worker SIGKILLed at each of its 7 steps (initializer,
//!   ready, chunk taken, chunk started, task ran, report sent, retiring) leaves every task exactly
//!   one outcome: a value for every task that had not started or had been reported, WorkerDied
//!   (with the pid and SIGKILL) for the one that had started; one worker lost, no stray outcome.
//! - Cannot prove: one death at a time, at the steps between calls (a death inside a push or pop
//!   is queue-core's crash points').

#[cfg(pool_faults)]
fn main() {
    cases::main();
}

#[cfg(not(pool_faults))]
fn main() {}

#[cfg(pool_faults)]
mod cases {
    use process_pool::{
        CrashStep, ExitStatus, Pool, StartMethod, Task, TaskError, WORKER, fallible_task, task,
    };

    fn square(n: u64) -> u64 {
        n * n
    }
    const SQUARE: Task<u64, u64> = task!(square);

    fn prepare(_: ()) -> Result<(), String> {
        Ok(())
    }
    const PREPARE: Task<(), (), String> = fallible_task!(prepare);

    const STEPS: [(CrashStep, bool); 7] = [
        (CrashStep::Initializing, false),
        (CrashStep::Ready, false),
        (CrashStep::Taken, false),
        (CrashStep::Started, true),
        (CrashStep::Ran, true),
        (CrashStep::Reported, false),
        (CrashStep::Retiring, false),
    ];

    fn killed_at(method: StartMethod, step: CrashStep, ran: bool) {
        let mut builder = Pool::builder()
            .workers(1)
            .start_method(method)
            .crash_first_workers_at(step);
        builder = match step {
            CrashStep::Initializing => builder.initializer(PREPARE, ()),
            CrashStep::Retiring => builder.max_tasks_per_child(2),
            _ => builder,
        };
        let pool = builder.build().unwrap();
        // Read before the map: a worker killed only once it runs a chunk is alive now (one
        // killed earlier in its loop may already be gone, and is not asked for).
        let first = pool.worker_pids()[0];
        let outcomes = pool.chunked(1).map_outcomes(SQUARE, 0..4);
        for (n, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Err(TaskError::WorkerDied {
                    pid,
                    status,
                    attempts: 1,
                }) if ran && n == 0 => {
                    assert_eq!((Some(*pid), *status), (first, ExitStatus::Signaled(9)));
                }
                Ok(square) if !(ran && n == 0) => assert_eq!(*square, (n * n) as u64),
                other => panic!("{method:?}, killed at {step:?}: task {n}: {other:?}"),
            }
        }
        // The retiring worker dies after the map; wait for the pool to see it.
        let started = std::time::Instant::now();
        while pool.stats().workers_lost < 1 {
            assert!(
                started.elapsed().as_secs() < 10,
                "{method:?} {step:?}: {:?}",
                pool.stats()
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let stats = pool.stats();
        assert_eq!(
            (stats.workers_lost, stats.stray_outcomes),
            (1, 0),
            "{method:?} {step:?}"
        );
        pool.join();
    }

    pub(super) fn main() {
        spawn_core::init(&[&WORKER, &SQUARE, &PREPARE]);
        let mut tests: Vec<(String, Box<dyn Fn()>)> = Vec::new();
        for method in StartMethod::ALL {
            for (step, ran) in STEPS {
                tests.push((
                    format!("{method:?}_killed_at_{step:?}"),
                    Box::new(move || killed_at(method, step, ran)),
                ));
            }
        }
        let started = std::time::Instant::now();
        let mut failed = 0;
        println!();
        for (name, test) in &tests {
            nix::unistd::alarm::set(60);
            let passed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)).is_ok();
            nix::unistd::alarm::cancel();
            println!("test {name} ... {}", if passed { "ok" } else { "FAILED" });
            failed += usize::from(!passed);
        }
        let verdict = if failed == 0 { "ok" } else { "FAILED" };
        println!(
            "\ntest result: {verdict}. {} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
            tests.len() - failed,
            started.elapsed().as_secs_f64()
        );
        std::process::exit(i32::from(failed > 0));
    }
}
