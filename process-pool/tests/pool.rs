//! The pool through its public API, under each start method: Python's `Pool` and
//! `ProcessPoolExecutor` calls, and what each task's outcome is when it returns, fails,
//! panics, kills its worker, runs too long, is cancelled, or meets a closed or terminated pool.
//!
//! `harness = false`: the fork start method refuses (rightly) a parent with several threads,
//! and libtest runs tests on worker threads. Every test runs under an `alarm`: a hang kills
//! the binary instead of stalling CI (a watchdog thread would make the process multithreaded).
//!
//! Run: `cargo test -p process-pool --test pool`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Pool, TaskHandle, Imap
//! - Proves: under every start method, map, map_outcomes, imap (lazy: an endless input with a
//!   bounded number read ahead), imap_unordered, apply, submit/get/get_timeout/ready/cancel
//!   give each task exactly its outcome: its value, its typed error, its panic message, its dead
//!   worker's pid and signal (the rest of the map runs on), a retry's success, a timeout (its
//!   worker killed and replaced), Cancelled, Closed, Terminated, TooLarge, Refused; the
//!   initializer runs in every worker, and one that always fails ends in InitializerFailed
//!   instead of respawning; max_tasks_per_child replaces workers; 4 MiB inputs and outcomes
//!   travel; dropping a busy pool returns at once; a killed parent's workers end.
//! - Cannot prove: fixed scenarios (the random kills are the soak's).
fn main() {
    cases::main();
}

mod cases {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use process_pool::{
        ExitStatus, Pool, StartMethod, Task, TaskError, WORKER, fallible_task, task,
    };
    use spawn_core::{Entry, Process, entry};

    /// A test that has not ended after this long is killed (by `SIGALRM`).
    const PATIENCE_SECONDS: u32 = 120;

    fn square(n: u64) -> u64 {
        n * n
    }
    const SQUARE: Task<u64, u64> = task!(square);

    fn parse(text: String) -> Result<u64, String> {
        text.parse().map_err(|_| format!("not a number: {text}"))
    }
    const PARSE: Task<String, u64, String> = fallible_task!(parse);

    fn panic_at_three(n: u64) -> u64 {
        assert!(n != 3, "three is not allowed");
        n
    }
    const PANIC_AT_THREE: Task<u64, u64> = task!(panic_at_three);

    /// Kills its own worker (`SIGKILL`) on input 5.
    fn die_at_five(n: u64) -> u64 {
        if n == 5 {
            kill_self();
        }
        n
    }
    const DIE_AT_FIVE: Task<u64, u64> = task!(die_at_five);

    fn kill_self() {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }

    /// Kills its worker the first time it sees `path` missing (creating it first): a task
    /// that succeeds when run again.
    fn die_once(path: String) -> u64 {
        if std::fs::metadata(&path).is_err() {
            std::fs::write(&path, b"ran").unwrap();
            kill_self();
        }
        7
    }
    const DIE_ONCE: Task<String, u64> = task!(die_once);

    fn sleep_millis(millis: u64) -> u64 {
        std::thread::sleep(Duration::from_millis(millis));
        millis
    }
    const SLEEP_MILLIS: Task<u64, u64> = task!(sleep_millis);

    fn pid(_: u64) -> u32 {
        std::process::id()
    }
    const PID: Task<u64, u32> = task!(pid);

    static OFFSET: AtomicU64 = AtomicU64::new(0);

    fn set_offset(offset: u64) -> Result<(), String> {
        if offset == 0 {
            return Err("the offset must not be 0".into());
        }
        OFFSET.store(offset, Ordering::Relaxed);
        Ok(())
    }
    const SET_OFFSET: Task<u64, (), String> = fallible_task!(set_offset);

    fn add_offset(n: u64) -> u64 {
        n + OFFSET.load(Ordering::Relaxed)
    }
    const ADD_OFFSET: Task<u64, u64> = task!(add_offset);

    fn echo_bytes(bytes: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf {
        bytes
    }
    const ECHO_BYTES: Task<serde_bytes::ByteBuf, serde_bytes::ByteBuf> = task!(echo_bytes);

    /// Not registered with `spawn_core::init`.
    fn unregistered(n: u64) -> u64 {
        n
    }
    const UNREGISTERED: Task<u64, u64> = task!(unregistered);

    /// Builds a pool of 2 workers, writes their pids to `path`, and sleeps until killed.
    fn pool_parent((method, path): (u8, String)) -> i32 {
        let method = StartMethod::ALL[usize::from(method)];
        let pool = Pool::builder()
            .workers(2)
            .start_method(method)
            .build()
            .unwrap();
        let _ = pool.map(SQUARE, 0..4).unwrap();
        let pids: Vec<String> = pool
            .worker_pids()
            .into_iter()
            .map(|pid| pid.unwrap().to_string())
            .collect();
        std::fs::write(&path, pids.join(" ")).unwrap();
        std::thread::sleep(Duration::from_secs(600));
        0
    }
    const POOL_PARENT: Entry<(u8, String)> = entry!(pool_parent);

    fn pool(method: StartMethod, workers: usize) -> Pool {
        Pool::builder()
            .workers(workers)
            .start_method(method)
            .build()
            .unwrap()
    }

    fn for_each_method(test: impl Fn(StartMethod)) {
        for method in StartMethod::ALL {
            nix::unistd::alarm::set(PATIENCE_SECONDS);
            test(method);
            nix::unistd::alarm::cancel();
        }
    }

    fn maps_keep_input_order() {
        for_each_method(|method| {
            let pool = pool(method, 2);
            let expected: Vec<u64> = (0..1000).map(|n| n * n).collect();
            assert_eq!(pool.map(SQUARE, 0..1000).unwrap(), expected, "{method:?}");
            assert_eq!(pool.chunked(7).map(SQUARE, 0..1000).unwrap(), expected);
            let outcomes = pool.map_outcomes(SQUARE, 0..10);
            assert_eq!(outcomes, (0..10).map(|n| Ok(n * n)).collect::<Vec<_>>());
            assert_eq!(pool.map(SQUARE, []).unwrap(), Vec::<u64>::new());
            assert_eq!(pool.apply(SQUARE, 12), Ok(144));
            pool.join();
        });
    }

    fn errors_and_panics_reach_the_caller_typed() {
        for_each_method(|method| {
            let pool = pool(method, 2);
            let outcomes = pool.map_outcomes(PARSE, ["1".to_string(), "x".into(), "3".into()]);
            assert_eq!(
                outcomes,
                [
                    Ok(1),
                    Err(TaskError::Failed("not a number: x".into())),
                    Ok(3)
                ]
            );
            let error = pool.map(PARSE, ["1".to_string(), "x".into()]).unwrap_err();
            assert_eq!(
                (error.index, error.error),
                (1, TaskError::Failed("not a number: x".into()))
            );
            let before = pool.worker_pids();
            let outcomes = pool.chunked(1).map_outcomes(PANIC_AT_THREE, 0..6);
            assert_eq!(
                outcomes[3],
                Err(TaskError::Panicked("three is not allowed".into()))
            );
            assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 5);
            assert_eq!(
                pool.worker_pids(),
                before,
                "a panic does not end its worker"
            );
            pool.join();
        });
    }

    fn a_dead_workers_chunk_fails_and_the_rest_run() {
        for_each_method(|method| {
            let pool = pool(method, 2);
            let outcomes = pool.chunked(1).map_outcomes(DIE_AT_FIVE, 0..20);
            for (n, outcome) in outcomes.iter().enumerate() {
                match outcome {
                    Err(TaskError::WorkerDied {
                        status, attempts, ..
                    }) if n == 5 => {
                        assert_eq!((*status, *attempts), (ExitStatus::Signaled(9), 1));
                    }
                    Ok(value) => assert_eq!(*value, n as u64),
                    other => panic!("{method:?}: input {n}: {other:?}"),
                }
            }
            // A chunk is the unit a death fails: the chunk 5..10 fails whole, no other.
            let outcomes = pool.chunked(5).map_outcomes(DIE_AT_FIVE, 0..20);
            let died: Vec<usize> = (0..20).filter(|&n| outcomes[n].is_err()).collect();
            assert_eq!(died, [5, 6, 7, 8, 9], "{method:?}");
            let Err(TaskError::WorkerDied { pid: dead, .. }) = outcomes[5] else {
                unreachable!()
            };
            // A replacement takes the dead worker's place.
            let started = Instant::now();
            while pool
                .worker_pids()
                .iter()
                .any(|pid| pid.is_none_or(|pid| pid == dead))
            {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "{:?}",
                    pool.worker_pids()
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            pool.join();
        });
    }

    fn retries_run_a_dead_workers_task_again() {
        for_each_method(|method| {
            let dir = std::env::temp_dir().join(format!("pool-retries-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let marker = |n: u32| dir.join(format!("{method:?}-{n}")).display().to_string();
            let pool = Pool::builder()
                .workers(2)
                .start_method(method)
                .retries(1)
                .build()
                .unwrap();
            assert_eq!(pool.apply(DIE_ONCE, marker(1)), Ok(7));
            let outcome = pool.apply(DIE_AT_FIVE, 5);
            assert!(
                matches!(outcome, Err(TaskError::WorkerDied { attempts: 2, .. })),
                "{outcome:?}"
            );
            pool.join();
            let _ = std::fs::remove_dir_all(&dir);
        });
    }

    fn imap_reads_its_inputs_lazily() {
        for_each_method(|method| {
            let pool = pool(method, 2);
            let mut squares = pool.imap(SQUARE, 0u64..);
            let mut most_in_flight = 0;
            for n in 0..2000 {
                assert_eq!(squares.next(), Some(Ok(n * n)));
                most_in_flight = most_in_flight.max(squares.in_flight());
            }
            assert!(
                most_in_flight <= 2 * 4,
                "{most_in_flight} inputs read ahead"
            );
            drop(squares);
            let mut seen: Vec<usize> = pool
                .chunked(3)
                .imap_unordered(SQUARE, 0..500)
                .map(|(index, outcome)| {
                    assert_eq!(outcome, Ok((index * index) as u64));
                    index
                })
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..500).collect::<Vec<_>>());
            pool.join();
        });
    }

    fn handles_wait_poll_and_cancel() {
        for_each_method(|method| {
            let pool = pool(method, 1);
            let slow = pool.submit(SLEEP_MILLIS, 300);
            let next = pool.submit(SLEEP_MILLIS, 1);
            let queued = pool.submit(SLEEP_MILLIS, 2);
            let last = pool.submit(SQUARE, 3);
            assert!(!slow.ready());
            let slow = slow.get_timeout(Duration::from_millis(10)).unwrap_err();
            // One worker, two chunks given to it at a time: `last` waits in the pool.
            assert!(last.cancel(), "not yet given to a worker");
            assert!(!last.cancel(), "cancelled once");
            assert_eq!(last.get(), Err(TaskError::Cancelled));
            assert!(!slow.cancel(), "running: not cancelled");
            assert_eq!(slow.get(), Ok(300));
            assert_eq!(next.get(), Ok(1));
            let started = Instant::now();
            while !queued.ready() {
                assert!(started.elapsed() < Duration::from_secs(10));
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(queued.get_timeout(Duration::ZERO).ok(), Some(Ok(2)));
            pool.join();
        });
    }

    fn the_initializer_runs_in_every_worker() {
        for_each_method(|method| {
            let pool = Pool::builder()
                .workers(2)
                .start_method(method)
                .initializer(SET_OFFSET, 1000)
                .max_tasks_per_child(3)
                .build()
                .unwrap();
            let values = pool.chunked(1).map(ADD_OFFSET, 0..20).unwrap();
            assert_eq!(values, (1000..1020).collect::<Vec<_>>(), "{method:?}");
            pool.join();
        });
    }

    fn an_initializer_that_always_fails_stops_the_pool() {
        for_each_method(|method| {
            let started = Instant::now();
            let pool = Pool::builder()
                .workers(2)
                .start_method(method)
                .initializer(SET_OFFSET, 0)
                .build()
                .unwrap();
            let outcomes = pool.map_outcomes(ADD_OFFSET, 0..10);
            for outcome in outcomes {
                match outcome {
                    Err(TaskError::InitializerFailed(why)) => {
                        assert!(why.contains("the offset must not be 0"), "{why}");
                    }
                    other => panic!("{method:?}: {other:?}"),
                }
            }
            assert_eq!(
                pool.apply(SQUARE, 2),
                Err(TaskError::InitializerFailed(
                    "the initializer returned \"the offset must not be 0\"".into()
                ))
            );
            assert!(started.elapsed() < Duration::from_secs(30));
            pool.join();
        });
    }

    fn max_tasks_per_child_replaces_workers() {
        for_each_method(|method| {
            let pool = Pool::builder()
                .workers(1)
                .start_method(method)
                .max_tasks_per_child(2)
                .build()
                .unwrap();
            let mut pids = pool.chunked(1).map(PID, 0..10).unwrap();
            pids.dedup();
            assert_eq!(
                pids.len(),
                5,
                "{method:?}: a worker per two chunks: {pids:?}"
            );
            pool.join();
        });
    }

    fn a_task_past_its_timeout_is_killed_and_replaced() {
        for_each_method(|method| {
            let pool = Pool::builder()
                .workers(1)
                .start_method(method)
                .task_timeout(Duration::from_millis(200))
                .build()
                .unwrap();
            let first = pool.worker_pids()[0];
            let outcomes = pool.chunked(1).map_outcomes(SLEEP_MILLIS, [10_000, 1, 2]);
            assert!(
                matches!(outcomes[0], Err(TaskError::TimedOut { pid, .. }) if Some(pid) == first),
                "{outcomes:?}"
            );
            assert_eq!(outcomes[1..], [Ok(1), Ok(2)]);
            assert_ne!(pool.worker_pids()[0], first);
            pool.join();
        });
    }

    fn terminate_and_drop_never_wait_for_a_task() {
        for_each_method(|method| {
            let pool = pool(method, 1);
            let running = pool.submit(SLEEP_MILLIS, 60_000);
            let waiting = pool.submit(SQUARE, 2);
            let started = Instant::now();
            pool.terminate();
            assert_eq!(running.get(), Err(TaskError::Terminated));
            assert_eq!(waiting.get(), Err(TaskError::Terminated));
            assert_eq!(pool.apply(SQUARE, 2), Err(TaskError::Closed));
            assert!(started.elapsed() < Duration::from_secs(5));
            drop(pool);
            let pool = self::pool(method, 2);
            let pids = pool.worker_pids();
            drop(pool.submit(SLEEP_MILLIS, 60_000));
            let started = Instant::now();
            drop(pool);
            assert!(started.elapsed() < Duration::from_secs(5));
            for pid in pids.into_iter().flatten() {
                assert!(!alive(pid), "{method:?}: worker {pid} outlived its pool");
            }
        });
    }

    fn a_closed_pool_takes_no_task() {
        for_each_method(|method| {
            let pool = pool(method, 1);
            let running = pool.submit(SLEEP_MILLIS, 50);
            pool.close();
            assert_eq!(pool.apply(SQUARE, 2), Err(TaskError::Closed));
            assert_eq!(running.get(), Ok(50), "a task submitted before close runs");
            pool.join();
        });
    }

    fn large_inputs_and_outcomes_travel() {
        for_each_method(|method| {
            let pool = Pool::builder()
                .workers(2)
                .start_method(method)
                .message_room(8 << 20)
                .build()
                .unwrap();
            let big = serde_bytes::ByteBuf::from(vec![7u8; 4 << 20]);
            assert_eq!(pool.apply(ECHO_BYTES, big.clone()).unwrap(), big);
            // A forked pool is built in a single-threaded process: this one's thread ends
            // first.
            pool.join();
            let small = Pool::builder()
                .workers(1)
                .start_method(method)
                .message_room(4096)
                .build()
                .unwrap();
            let outcome = small.apply(ECHO_BYTES, big);
            assert!(
                matches!(outcome, Err(TaskError::TooLarge { .. })),
                "{outcome:?}"
            );
            let outcome = small.apply(UNREGISTERED, 1);
            assert!(
                matches!(&outcome, Err(TaskError::Refused(why)) if why.contains("not registered")),
                "{outcome:?}"
            );
            assert_eq!(small.apply(SQUARE, 3), Ok(9), "the worker carried on");
            small.join();
        });
    }

    fn a_killed_parents_workers_end() {
        for_each_method(|method| {
            let path =
                std::env::temp_dir().join(format!("pool-parent-{}-{method:?}", std::process::id()));
            let method_index = StartMethod::ALL.iter().position(|&m| m == method).unwrap() as u8;
            let parent = Process::new(POOL_PARENT, (method_index, path.display().to_string()))
                .start()
                .unwrap();
            let started = Instant::now();
            let pids = loop {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    if !text.is_empty() {
                        break text;
                    }
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the pool did not start"
                );
                std::thread::sleep(Duration::from_millis(5));
            };
            let pids: Vec<i32> = pids.split(' ').map(|pid| pid.parse().unwrap()).collect();
            parent.kill().unwrap();
            parent.join().unwrap();
            let killed = Instant::now();
            while pids.iter().any(|&pid| alive(pid)) {
                assert!(
                    killed.elapsed() < Duration::from_secs(10),
                    "{method:?}: workers outlived their parent"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = std::fs::remove_file(&path);
        });
    }

    /// Whether process `pid` runs (a zombie does not count).
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    pub(super) fn main() {
        spawn_core::init(&[
            &WORKER,
            &SQUARE,
            &PARSE,
            &PANIC_AT_THREE,
            &DIE_AT_FIVE,
            &DIE_ONCE,
            &SLEEP_MILLIS,
            &PID,
            &SET_OFFSET,
            &ADD_OFFSET,
            &ECHO_BYTES,
            &POOL_PARENT,
        ]);
        model_check::run_on_main_thread(&[
            ("maps_keep_input_order", maps_keep_input_order),
            (
                "errors_and_panics_reach_the_caller_typed",
                errors_and_panics_reach_the_caller_typed,
            ),
            (
                "a_dead_workers_chunk_fails_and_the_rest_run",
                a_dead_workers_chunk_fails_and_the_rest_run,
            ),
            (
                "retries_run_a_dead_workers_task_again",
                retries_run_a_dead_workers_task_again,
            ),
            ("imap_reads_its_inputs_lazily", imap_reads_its_inputs_lazily),
            ("handles_wait_poll_and_cancel", handles_wait_poll_and_cancel),
            (
                "the_initializer_runs_in_every_worker",
                the_initializer_runs_in_every_worker,
            ),
            (
                "an_initializer_that_always_fails_stops_the_pool",
                an_initializer_that_always_fails_stops_the_pool,
            ),
            (
                "max_tasks_per_child_replaces_workers",
                max_tasks_per_child_replaces_workers,
            ),
            (
                "a_task_past_its_timeout_is_killed_and_replaced",
                a_task_past_its_timeout_is_killed_and_replaced,
            ),
            (
                "terminate_and_drop_never_wait_for_a_task",
                terminate_and_drop_never_wait_for_a_task,
            ),
            ("a_closed_pool_takes_no_task", a_closed_pool_takes_no_task),
            (
                "large_inputs_and_outcomes_travel",
                large_inputs_and_outcomes_travel,
            ),
            ("a_killed_parents_workers_end", a_killed_parents_workers_end),
        ]);
    }
}
