//! Random-time SIGKILLs of a pool's workers during maps of 10,000 tasks, under every start
//! method: the pool never hangs, every task gets exactly one outcome, the right one, and a
//! replacement worker takes the dead one's place.
//!
//! Each trial runs `map_outcomes` of 10,000 tasks (a square, with a little work so that a map
//! lasts a few milliseconds) with Python's default chunking on a pool of 2 workers, while a
//! thread kills one of the workers, chosen at random, at a random time within the map's usual
//! length. Each task returns its value, the pid that ran it and when it started. The trial
//! counts, and requires zero of each:
//!
//! - hangs: a map still running after 60 seconds (the binary is killed by an alarm);
//! - lost tasks: inputs without an outcome; duplicate outcomes (the pool's `stray_outcomes`);
//! - wrong outcomes: a value that is not the square, a `WorkerDied` for a pid that was not
//!   killed, or for tasks other than one whole chunk that the killed worker ran.
//!
//! and it measures the time from each kill to the first task a replacement worker starts
//! (when the map still had tasks left for it), median and maximum. `harness = false` (the fork
//! start method needs a single-threaded process to build its pool). CI runs 200 trials per
//! start method; the soak runs as many as `PROCESS_POOL_SOAK_TRIALS` says:
//! `PROCESS_POOL_SOAK_TRIALS=1000 cargo test --release -p process-pool --test worker_kills`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Pool (workers SIGKILLed at random times)
//! - Proves: 200 trials per start method of a 10,000-task map with one worker SIGKILLed at a
//!   random time: no hang, no task lost or given two outcomes, no wrong outcome (each death fails
//!   exactly the one chunk its worker had started, with its pid and signal); it prints the counts
//!   and the time from a kill to a replacement worker starting a task.
//! - Cannot prove: random times, not every instruction (the ledger's property suite covers every
//!   step of a worker); one kill per trial.
fn main() {
    soak::main();
}

mod soak {
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};
    use nix::time::{ClockId, clock_gettime};
    use nix::unistd::Pid;
    use process_pool::{ExitStatus, Pool, StartMethod, Task, TaskError, WORKER, task};

    /// Trials per start method when `PROCESS_POOL_SOAK_TRIALS` is not set.
    const CI_TRIALS: u64 = 200;
    const TASKS: u64 = 10_000;
    /// A trial still running after this long is a hang: the binary is killed.
    const PATIENCE_SECONDS: u32 = 60;

    /// Now on the monotonic clock, in nanoseconds: the same clock in every process.
    fn now_nanos() -> u64 {
        let now = clock_gettime(ClockId::CLOCK_MONOTONIC).unwrap();
        now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64
    }

    /// The square of `n`, after a little work; the pid that ran it, and when it started.
    fn spin_square(n: u64) -> (u64, u32, u64) {
        let started = now_nanos();
        let mut x = n;
        for _ in 0..200 {
            x = std::hint::black_box(x.rotate_left(7) ^ n);
        }
        std::hint::black_box(x);
        (n * n, std::process::id(), started)
    }
    const SPIN_SQUARE: Task<u64, (u64, u32, u64)> = task!(spin_square);

    /// What the trials of one start method found.
    #[derive(Default)]
    struct Counts {
        trials: u64,
        kills_landed: u64,
        tasks_failed_by_deaths: u64,
        lost: u64,
        duplicates: u64,
        wrong: u64,
        replacement_nanos: Vec<u64>,
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn run_method(method: StartMethod, trials: u64, seed: u64) -> Counts {
        let pool = Pool::builder()
            .workers(2)
            .start_method(method)
            .build()
            .unwrap();
        // The usual length of a map, for the kills' times.
        let warm = Instant::now();
        assert!(
            pool.map_outcomes(SPIN_SQUARE, 0..TASKS)
                .iter()
                .all(Result::is_ok)
        );
        let usual = warm.elapsed();
        let mut rng = seed | 1;
        let mut counts = Counts::default();
        for _ in 0..trials {
            nix::unistd::alarm::set(PATIENCE_SECONDS);
            let delay = Duration::from_nanos(xorshift(&mut rng) % (usual.as_nanos() as u64 + 1));
            let victim_slot = (xorshift(&mut rng) % 2) as usize;
            let before = pool.stats();
            let (outcomes, (workers, victim, killed_at, ended_at)) = std::thread::scope(|scope| {
                let killer = scope.spawn(|| {
                    std::thread::sleep(delay);
                    let workers = pool.worker_pids();
                    let victim = workers[victim_slot];
                    let killed_at = now_nanos();
                    if let Some(pid) = victim {
                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                    (workers, victim, killed_at)
                });
                let outcomes = pool.map_outcomes(SPIN_SQUARE, 0..TASKS);
                let ended_at = now_nanos();
                let (workers, victim, killed_at) = killer.join().unwrap();
                (outcomes, (workers, victim, killed_at, ended_at))
            });
            nix::unistd::alarm::cancel();
            counts.trials += 1;
            let after = pool.stats();
            counts.duplicates += after.stray_outcomes - before.stray_outcomes;
            counts.lost += TASKS.saturating_sub(outcomes.len() as u64);
            let landed = killed_at < ended_at;
            counts.kills_landed += u64::from(landed);
            let mut failed = Vec::new();
            // The workers at the kill: a task started by another pid after it ran on the
            // replacement.
            let old: HashSet<u32> = workers.iter().flatten().map(|&pid| pid as u32).collect();
            let mut first_new_task = None;
            for (n, outcome) in outcomes.iter().enumerate() {
                match outcome {
                    Ok((square, pid, started)) => {
                        counts.wrong += u64::from(*square != (n as u64) * (n as u64));
                        if *started > killed_at && !old.contains(pid) {
                            first_new_task =
                                Some(first_new_task.map_or(*started, |t: u64| t.min(*started)));
                        }
                    }
                    Err(TaskError::WorkerDied {
                        pid,
                        status,
                        attempts: 1,
                    }) if Some(*pid) == victim && *status == ExitStatus::Signaled(9) => {
                        failed.push(n);
                    }
                    Err(other) => {
                        eprintln!("{method:?}: task {n}: {other:?}");
                        counts.wrong += 1;
                    }
                }
            }
            // A death fails one whole chunk (contiguous inputs), or nothing (the worker was
            // between chunks, or the kill came after the map).
            let chunk = TASKS.div_ceil(2 * 4) as usize;
            if !failed.is_empty() {
                let whole = failed.len() == chunk.min(TASKS as usize - failed[0])
                    && failed.windows(2).all(|w| w[1] == w[0] + 1)
                    && failed[0] % chunk == 0;
                if !whole {
                    eprintln!(
                        "{method:?}: a death failed inputs {:?}..{:?} ({})",
                        failed.first(),
                        failed.last(),
                        failed.len()
                    );
                    counts.wrong += 1;
                }
            }
            counts.tasks_failed_by_deaths += failed.len() as u64;
            if let Some(first) = first_new_task {
                counts.replacement_nanos.push(first - killed_at);
            }
        }
        pool.join();
        counts
    }

    pub(super) fn main() {
        spawn_core::init(&[&WORKER, &SPIN_SQUARE]);
        let trials = std::env::var("PROCESS_POOL_SOAK_TRIALS")
            .ok()
            .and_then(|trials| trials.parse().ok())
            .unwrap_or(CI_TRIALS);
        let seed = model_check::proptest_seed();
        let mut failed = false;
        println!();
        for method in StartMethod::ALL {
            let started = Instant::now();
            let mut counts = run_method(method, trials, seed);
            counts.replacement_nanos.sort_unstable();
            let millis = |nanos: u64| nanos as f64 / 1e6;
            let median = counts
                .replacement_nanos
                .get(counts.replacement_nanos.len() / 2)
                .copied();
            let most = counts.replacement_nanos.last().copied();
            println!(
                "figure: {method:?}: {} trials of a {TASKS}-task map with a worker SIGKILLed at a \
                 random time (seed {seed}, {:.1} s): kills during the map {}, tasks failed by \
                 those deaths {}; hangs 0, lost {}, duplicated {}, wrong {}; kill to a \
                 replacement starting a task: median {}, max {} ms ({} replacements)",
                counts.trials,
                started.elapsed().as_secs_f64(),
                counts.kills_landed,
                counts.tasks_failed_by_deaths,
                counts.lost,
                counts.duplicates,
                counts.wrong,
                median.map_or("-".into(), |m| format!("{:.2}", millis(m))),
                most.map_or("-".into(), |m| format!("{:.2}", millis(m))),
                counts.replacement_nanos.len(),
            );
            let bad = counts.lost + counts.duplicates + counts.wrong > 0;
            println!(
                "test {method:?}_workers_killed_at_random_times ... {}",
                if bad { "FAILED" } else { "ok" }
            );
            failed |= bad;
        }
        if failed {
            println!("test result: FAILED. a trial lost, duplicated or misreported a task");
            std::process::exit(1);
        }
        println!("test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    }
}
