//! Shared queues as arguments of child processes, under each start method: the child gets a
//! working handle to the same queue (and only the descriptor it needs), several queues travel
//! in one argument and inside a struct of the user's, a child passes a handle on to a
//! grandchild, and a forked closure shares the shared queues it captures (a heap queue it
//! captures is a copy, and says so).
//!
//! `harness = false`: the fork start method needs a single-threaded parent.
//!
//! Run: `cargo test -p demos --test queue_arguments`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: BlockingQueue<T, Shared<R>> as a Process argument
//! - Proves: under every start method a child given a queue handle pushes into the parent's queue
//!   while it pops, and the parent is told Disconnected only once every child is done (never about
//!   a handle in transit); a spawned or fork-served child holds exactly two descriptors more than a
//!   child given none; two queues inside a user's struct work (a fork-method child gives up the
//!   handles it inherited); a child passes a handle on to a grandchild, all nine start-method
//!   pairs; a producer moved into a forked closure is never taken for gone (100 rounds, and 4
//!   producers of 20,000 values).
//! - Cannot prove: fixed scenarios.
fn main() {
    cases::main();
}
mod cases {
    use std::time::Duration;

    use queue_core::{
        BlockingQueue, Consumer, PopTimeoutError, Producer, PushError, Shared, TryPopError,
    };
    use serde::{Deserialize, Serialize};
    use spawn_core::{
        ClosureProcess, Entry, ExitStatus, Process, ProcessHandle, StartMethod, entry,
    };

    /// Every wait gives up after this long: a hang is a failure.
    const PATIENCE: Duration = Duration::from_secs(30);

    type Results = BlockingQueue<u64, Shared<Producer>>;
    type Tasks = BlockingQueue<u64, Shared<Consumer>>;

    fn open_descriptors() -> usize {
        // The directory's own descriptor is among them while it is read.
        std::fs::read_dir("/proc/self/fd").unwrap().count() - 1
    }

    /// Pushes `first..first + count`; exits with the number of descriptors it held.
    fn produce((results, first, count): (Results, u64, u64)) -> i32 {
        let held = open_descriptors();
        for value in first..first + count {
            results.push(value).unwrap();
        }
        i32::try_from(held).unwrap()
    }

    /// Exits with the number of descriptors it holds.
    fn count_descriptors(_: ()) -> i32 {
        i32::try_from(open_descriptors()).unwrap()
    }

    /// Work for a child: a struct of the user's with two queues in it.
    #[derive(Serialize, Deserialize)]
    struct Job {
        label: String,
        tasks: Tasks,
        results: Results,
    }

    /// Squares every task until the tasks are disconnected (the parent is done giving them).
    fn square(job: Job) -> Result<(), String> {
        loop {
            match job.tasks.pop_timeout(PATIENCE) {
                Ok(task) => job.results.push(task * task).map_err(|e| e.to_string())?,
                Err(PopTimeoutError::Disconnected) => return Ok(()),
                Err(other) => return Err(format!("{}: {other}", job.label)),
            }
        }
    }

    /// Passes a handle of its own on to a grandchild started with `StartMethod::ALL[method]`, which
    /// pushes 100; then pushes 200 itself.
    fn pass_on((results, method): (Results, usize)) -> Result<(), String> {
        let handle = results.try_clone().map_err(|e| e.to_string())?;
        let grandchild = Process::new(PRODUCE, (handle, 100, 1))
            .start_method(StartMethod::ALL[method])
            .start()
            .map_err(|e| e.to_string())?;
        match grandchild
            .join_timeout(PATIENCE)
            .map_err(|e| e.to_string())?
        {
            Some(ExitStatus::Exited(_)) => {}
            other => return Err(format!("the grandchild: {other:?}")),
        }
        results.push(200).map_err(|e| e.to_string())
    }

    const PRODUCE: Entry<(Results, u64, u64)> = entry!(produce);
    const COUNT_DESCRIPTORS: Entry<()> = entry!(count_descriptors);
    const SQUARE: Entry<Job> = entry!(square);
    const PASS_ON: Entry<(Results, usize)> = entry!(pass_on);

    fn finish(child: &ProcessHandle) -> ExitStatus {
        match child.join_timeout(PATIENCE).expect("join") {
            Some(status) => status,
            None => {
                let _ = child.kill();
                panic!("{} still running after {PATIENCE:?}", child.name());
            }
        }
    }

    /// Pops until every producer has gone; fails on anything but values and Disconnected.
    fn drain(consumer: &BlockingQueue<u64, Shared<Consumer>>) -> Vec<u64> {
        let mut values = Vec::new();
        loop {
            match consumer.pop_timeout(PATIENCE) {
                Ok(value) => values.push(value),
                Err(PopTimeoutError::Disconnected) => return values,
                Err(other) => panic!("a pop answered {other}"),
            }
        }
    }

    /// Two children per method push into the parent's queue while it pops: every value
    /// arrives, the parent is told Disconnected only when both are done (never about a handle
    /// in transit), the parent keeps no duplicate of what it passed (so no later child can
    /// inherit it), and a spawned or fork-served child holds one descriptor more than a child
    /// given no queue: the queue's two, nothing of its sibling's. (A forked child holds, as in
    /// Python, every descriptor its parent held at the fork.)
    fn a_queue_is_an_argument_under_every_method() {
        for method in StartMethod::ALL {
            let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
            let producer = consumer.try_clone_as::<Producer>().unwrap();
            let given_none = Process::new(COUNT_DESCRIPTORS, ())
                .start_method(method)
                .start()
                .unwrap();
            let ExitStatus::Exited(given_none) = finish(&given_none) else {
                panic!("{method:?}: the child given no queue failed");
            };
            let children: Vec<ProcessHandle> = [0, 10]
                .into_iter()
                .map(|first| {
                    let before = open_descriptors();
                    let handle = producer.try_clone().unwrap();
                    // A daemon: a failed assertion ends it rather than waiting on it.
                    let child = Process::new(PRODUCE, (handle, first, 10))
                        .daemon(true)
                        .start_method(method)
                        .start()
                        .unwrap();
                    // The child's pidfd and report pipe (and, from the fork server, the
                    // worker's status socket): nothing of the argument's.
                    let handle_descriptors = if method == StartMethod::ForkServer {
                        3
                    } else {
                        2
                    };
                    assert_eq!(
                        open_descriptors(),
                        before + handle_descriptors,
                        "{method:?}: kept in the parent"
                    );
                    child
                })
                .collect();
            drop(producer);
            let mut values = drain(&consumer);
            values.sort_unstable();
            assert_eq!(values, (0..20).collect::<Vec<_>>(), "{method:?}");
            for child in &children {
                let status = finish(child);
                if method != StartMethod::Fork {
                    // The queue's memory file and the handle's presence (see queue-core's
                    // `Shared`).
                    assert_eq!(status, ExitStatus::Exited(given_none + 2), "{method:?}");
                } else {
                    assert!(
                        matches!(status, ExitStatus::Exited(held) if held > given_none),
                        "{method:?}: {status:?}"
                    );
                }
            }
        }
    }

    /// A struct of the user's holding two queues: the child pops tasks from one and pushes
    /// results to the other, and stops when the parent drops its task producer.
    fn queues_inside_a_struct_of_the_users() {
        for method in StartMethod::ALL {
            let results = BlockingQueue::<u64, Shared<Consumer>>::create(8).unwrap();
            let tasks = BlockingQueue::<u64, Shared<Producer>>::create(8).unwrap();
            let job = Job {
                label: format!("{method:?}"),
                tasks: tasks.try_clone_as::<Consumer>().unwrap(),
                results: results.try_clone_as::<Producer>().unwrap(),
            };
            let child = Process::new(SQUARE, job)
                .daemon(true)
                .start_method(method)
                .start()
                .unwrap();
            for task in 1..=5 {
                tasks.push(task).unwrap();
            }
            drop(tasks);
            assert_eq!(drain(&results), [1, 4, 9, 16, 25], "{method:?}");
            assert_eq!(finish(&child), ExitStatus::Exited(0), "{method:?}");
        }
    }

    /// A child passes a handle on to a grandchild, for every pair of start methods.
    fn a_handle_passes_on_to_a_grandchild() {
        for child_method in StartMethod::ALL {
            for (index, grandchild_method) in StartMethod::ALL.iter().enumerate() {
                let results = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
                let handle = results.try_clone_as::<Producer>().unwrap();
                let child = Process::new(PASS_ON, (handle, index))
                    .daemon(true)
                    .start_method(child_method)
                    .start()
                    .unwrap();
                let pair = format!("{child_method:?} then {grandchild_method:?}");
                assert_eq!(drain(&results), [100, 200], "{pair}");
                assert_eq!(finish(&child), ExitStatus::Exited(0), "{pair}");
            }
        }
    }

    /// A forked closure shares a shared queue it captures, and is told that a heap queue it
    /// captures is a copy (`ForkedCopy`), never handed a second queue in silence.
    fn a_closure_shares_a_captured_shared_queue_and_refuses_a_heap_copy() {
        let shared = BlockingQueue::<u64, Shared>::create(4).unwrap();
        let heap = BlockingQueue::<u64>::new(4).unwrap();
        heap.push(1).unwrap();
        let child = ClosureProcess::new(|| -> Result<(), String> {
            shared.push(5).map_err(|e| format!("shared: {e}"))?;
            match (heap.push(2), heap.try_pop()) {
                (Err(PushError::ForkedCopy(2)), Err(TryPopError::ForkedCopy)) => Ok(()),
                other => Err(format!("the heap queue's copy answered {other:?}")),
            }
        })
        .start()
        .unwrap();
        assert_eq!(
            shared.pop_timeout(PATIENCE),
            Ok(5),
            "through the shared queue"
        );
        assert_eq!(
            finish(&child),
            ExitStatus::Exited(0),
            "{:?}",
            child.panic_message()
        );
        assert_eq!(
            heap.try_pop(),
            Ok(1),
            "the parent's heap queue is untouched"
        );
        assert_eq!(heap.try_pop(), Err(TryPopError::Empty));
    }

    /// A producer moved into a forked closure exists from the fork on: the parent, which let
    /// go of its copy as the closure started, is never told `Disconnected` before the child's
    /// value (in any of the rounds), and is told once the child is done. Four such producers
    /// of many values each, into a small queue, all arrive.
    fn a_producer_moved_into_a_closure_counts_from_the_fork() {
        for round in 0..100 {
            let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
            let producer = consumer.try_clone_as::<Producer>().unwrap();
            let child =
                ClosureProcess::new(move || producer.push(round).map_err(|e| e.to_string()))
                    .start()
                    .unwrap();
            assert_eq!(consumer.pop_timeout(PATIENCE), Ok(round), "round {round}");
            assert_eq!(
                consumer.pop_timeout(PATIENCE),
                Err(PopTimeoutError::Disconnected),
                "round {round}"
            );
            assert_eq!(finish(&child), ExitStatus::Exited(0), "round {round}");
        }
        let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(16).unwrap();
        let per_producer = 20_000;
        let children: Vec<_> = (0..4)
            .map(|first| {
                let producer = consumer.try_clone_as::<Producer>().unwrap();
                ClosureProcess::new(move || {
                    for value in 0..per_producer {
                        producer
                            .push(first * per_producer + value)
                            .map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                })
                .start()
                .unwrap()
            })
            .collect();
        let mut values = drain(&consumer);
        values.sort_unstable();
        assert_eq!(values, (0..4 * per_producer).collect::<Vec<_>>());
        for child in &children {
            assert_eq!(finish(child), ExitStatus::Exited(0));
        }
    }

    pub(super) fn main() {
        spawn_core::init(&[&PRODUCE, &COUNT_DESCRIPTORS, &SQUARE, &PASS_ON]);
        let tests: &[(&str, fn())] = &[
            (
                "a_queue_is_an_argument_under_every_method",
                a_queue_is_an_argument_under_every_method,
            ),
            (
                "queues_inside_a_struct_of_the_users",
                queues_inside_a_struct_of_the_users,
            ),
            (
                "a_handle_passes_on_to_a_grandchild",
                a_handle_passes_on_to_a_grandchild,
            ),
            (
                "a_closure_shares_a_captured_shared_queue_and_refuses_a_heap_copy",
                a_closure_shares_a_captured_shared_queue_and_refuses_a_heap_copy,
            ),
            (
                "a_producer_moved_into_a_closure_counts_from_the_fork",
                a_producer_moved_into_a_closure_counts_from_the_fork,
            ),
        ];
        model_check::run_on_main_thread(tests);
    }
}
