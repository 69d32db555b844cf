//! Randomized schedules of `Queue` with shuttle, for the scenarios loom cannot finish: 4 to 8
//! threads, capacities 3 to 8, about two hundred operations per execution, each history checked
//! by the same linearizability checker as the loom models.
//!
//! Run with `RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle cargo test --release -p
//! queue-core --test shuttle_queue -- --nocapture`.
//!
//! shuttle runs one thread at a time and switches only at the crate's atomics, waits and
//! yields, so its executions are interleavings: each operation's interval is taken in that
//! real-time order (a thread learns, as it calls, every operation that returned before), which
//! is stricter than the loom models' happens-before order. It explores schedules at random and
//! with PCT (probabilistic concurrency testing), which finds any bug of depth `d` (one that
//! needs `d` ordering constraints between threads) with a probability per schedule of at least
//! 1 / (threads * steps^(d-1)).
//!
//! # Verification
//!
//! - Checker: shuttle
//! - Primitive: Queue (the ring)
//! - Proves: in every schedule explored (random and PCT to depth 3, a fixed number of each), a
//!   history of about two hundred pushes and pops by 4 to 8 threads on a queue of capacity 3 to
//!   8, Full and Empty answers included, is linearizable in real-time order to a FIFO queue of
//!   the same capacity (with the queue's documented exemption for answers given while the
//!   operation that would change them is in flight); every value is delivered exactly once, in
//!   each producer's order; no call retries for ever (the step limit). With blocking calls
//!   (`BlockingQueue`, 8 threads, capacity 3), every value is delivered exactly once and in
//!   each producer's order, no sleeper is left unwoken (shuttle reports a deadlock), and
//!   `close` ends every consumer.
//! - Cannot prove: only the schedules sampled (a bug may hide in others); shuttle runs every
//!   atomic as `SeqCst`, so no weak-memory outcome is explored (loom's models cover those); the
//!   heap queue only (a shared queue's file cannot live under shuttle).
#![cfg(shuttle)]

mod common;

use std::sync::{Arc, Mutex};

use common::history::{
    Answer, Call, Clock, Event, MAX_THREADS, Message, Recorded, ThreadLog,
    assert_in_each_producers_order, assert_popped_exactly_once, join,
};
use common::linearizability::{Spec, linearize};
use queue_core::{BlockingQueue, Queue};
use shuttle::scheduler::{PctScheduler, RandomScheduler, Scheduler};
use shuttle::{Config, MaxSteps, Runner};

/// Schedules explored per scheduler and scenario.
const SCHEDULES: usize = 1000;
/// The depth PCT aims at.
const PCT_DEPTH: usize = 3;
/// Steps after which an execution fails: a call that retries for ever.
const MAX_STEPS: usize = 1_000_000;

/// One scenario: a queue of `capacity` and one script per thread.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    capacity: usize,
    /// Per thread: how many operations, and whether it pushes, pops or alternates.
    threads: &'static [(usize, Role)],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Pushes,
    Pops,
    /// Pushes, then pops, and so on.
    Alternates,
}

impl Scenario {
    fn operations(&self) -> usize {
        self.threads.iter().map(|&(count, _)| count).sum()
    }

    /// The specification: strict with one producer and one consumer, otherwise with the
    /// queue's exemption for answers given while another thread is mid-operation.
    fn spec(&self) -> Spec {
        let single = |role| self.threads.iter().filter(|&&(_, r)| r == role).count() <= 1;
        let only_single_roles = self.threads.iter().all(|&(_, r)| r != Role::Alternates);
        if only_single_roles && single(Role::Pushes) && single(Role::Pops) {
            Spec::Strict
        } else {
            Spec::InFlightExempt
        }
    }
}

/// A thread's log that learns, as each call begins, every call that returned before it (the
/// real-time order of shuttle's one-thread-at-a-time executions), and publishes its own.
struct TimedLog {
    log: ThreadLog,
    now: Arc<Mutex<Clock>>,
}

impl TimedLog {
    fn call(&mut self, queue: &Queue<Message>, call: Call) {
        join(&mut self.log.clock, &self.now.lock().unwrap());
        match call {
            Call::Push(id) => self.log.push(queue, id),
            Call::Pop => self.log.pop(queue),
        };
        join(&mut self.now.lock().unwrap(), &self.log.clock);
    }
}

/// One execution of `scenario`: the threads run their scripts, the main thread joins them,
/// drains the queue, and checks the history.
fn execute(scenario: Scenario) {
    assert!(scenario.threads.len() < MAX_THREADS);
    let queue = Arc::new(Queue::<Message>::new(scenario.capacity).unwrap());
    let now = Arc::new(Mutex::new(Clock::default()));
    let main = ThreadLog::main();
    let handles: Vec<_> = scenario
        .threads
        .iter()
        .enumerate()
        .map(|(index, &(count, role))| {
            let mut timed = TimedLog {
                log: main.fork(index + 1),
                now: Arc::clone(&now),
            };
            let queue = Arc::clone(&queue);
            shuttle::thread::spawn(move || {
                for n in 0..count {
                    let push = match role {
                        Role::Pushes => true,
                        Role::Pops => false,
                        Role::Alternates => n % 2 == 0,
                    };
                    let id = 1000 * (index as u32 + 1) + n as u32;
                    timed.call(&queue, if push { Call::Push(id) } else { Call::Pop });
                }
                timed.log
            })
        })
        .collect();
    let mut main = TimedLog { log: main, now };
    let mut events: Vec<Event> = Vec::new();
    for handle in handles {
        events.extend(main.log.join(handle.join().unwrap()));
    }
    loop {
        main.call(&queue, Call::Pop);
        if main.log.events.last().map(|e| e.answer) == Some(Answer::Empty) {
            break;
        }
    }
    events.extend(main.log.events.iter().copied());
    assert_popped_exactly_once(&events);
    assert_in_each_producers_order(&events, 1000);
    if let Err(explanation) = linearize(scenario.capacity, scenario.spec(), &events) {
        panic!("{explanation}");
    }
}

/// The configuration of every run: a step limit, and a stack for the checker.
fn config() -> Config {
    let mut config = Config::new();
    config.max_steps = MaxSteps::FailAfter(MAX_STEPS);
    // The checker recurses once per event, on the execution's own stack.
    config.stack_size = 1 << 22;
    // The module docs say what running every atomic as `SeqCst` hides.
    config.silence_warnings = true;
    config
}

/// Runs `scenario` for [`SCHEDULES`] schedules under `scheduler`.
fn explore_with(scenario: Scenario, scheduler: impl Scheduler + 'static) {
    Runner::new(scheduler, config()).run(move || execute(scenario));
}

/// Explores `scenario` with the random scheduler and with PCT, and prints what ran.
fn explore(scenario: Scenario) {
    explore_with(scenario, RandomScheduler::new(SCHEDULES));
    explore_with(scenario, PctScheduler::new(PCT_DEPTH, SCHEDULES));
    println!(
        "figure: {}: {} operations on {} threads, capacity {}; {SCHEDULES} random schedules and \
         {SCHEDULES} PCT schedules at depth {PCT_DEPTH}, every history linearizable",
        scenario.name,
        scenario.operations(),
        scenario.threads.len(),
        scenario.capacity,
    );
}

#[test]
fn four_threads_pushing_and_popping_capacity_3() {
    explore(Scenario {
        name: "four_threads_pushing_and_popping_capacity_3",
        capacity: 3,
        threads: &[(48, Role::Alternates); 4],
    });
}

#[test]
fn four_producers_four_consumers_capacity_8() {
    explore(Scenario {
        name: "four_producers_four_consumers_capacity_8",
        capacity: 8,
        threads: &[
            (24, Role::Pushes),
            (24, Role::Pushes),
            (24, Role::Pushes),
            (24, Role::Pushes),
            (24, Role::Pops),
            (24, Role::Pops),
            (24, Role::Pops),
            (24, Role::Pops),
        ],
    });
}

#[test]
fn one_producer_one_consumer_capacity_4_strict() {
    explore(Scenario {
        name: "one_producer_one_consumer_capacity_4_strict",
        capacity: 4,
        threads: &[(100, Role::Pushes), (100, Role::Pops)],
    });
}

#[test]
fn three_producers_two_consumers_and_a_mixed_thread_capacity_5() {
    explore(Scenario {
        name: "three_producers_two_consumers_and_a_mixed_thread_capacity_5",
        capacity: 5,
        threads: &[
            (36, Role::Pushes),
            (36, Role::Pushes),
            (36, Role::Pushes),
            (36, Role::Pops),
            (36, Role::Pops),
            (36, Role::Alternates),
        ],
    });
}

/// Producers push (blocking) `per_producer` values each into a `BlockingQueue` of
/// `capacity`, consumers pop (blocking) until the queue is closed and drained; the main
/// thread closes it once every producer is done. A lost wake-up leaves a thread asleep for
/// ever, which shuttle reports as a deadlock.
fn blocking_execution(capacity: usize, producers: u32, consumers: usize, per_producer: u32) {
    let queue = Arc::new(BlockingQueue::<u32>::new(capacity).unwrap());
    let pushing: Vec<_> = (1..=producers)
        .map(|producer| {
            let queue = Arc::clone(&queue);
            shuttle::thread::spawn(move || {
                for n in 0..per_producer {
                    queue.push(1000 * producer + n).unwrap();
                }
            })
        })
        .collect();
    let popping: Vec<_> = (0..consumers)
        .map(|_| {
            let queue = Arc::clone(&queue);
            shuttle::thread::spawn(move || {
                let mut taken = Vec::new();
                while let Ok(value) = queue.pop() {
                    taken.push(value);
                }
                taken
            })
        })
        .collect();
    for handle in pushing {
        handle.join().unwrap();
    }
    queue.close();
    let mut delivered: Vec<u32> = Vec::new();
    for handle in popping {
        let taken = handle.join().unwrap();
        for producer in 1..=producers {
            let own: Vec<u32> = taken
                .iter()
                .copied()
                .filter(|v| v / 1000 == producer)
                .collect();
            assert!(own.windows(2).all(|w| w[0] < w[1]), "out of order: {own:?}");
        }
        delivered.extend(taken);
    }
    delivered.sort_unstable();
    let expected: Vec<u32> = (1..=producers)
        .flat_map(|producer| (0..per_producer).map(move |n| 1000 * producer + n))
        .collect();
    assert_eq!(delivered, expected, "every value exactly once");
}

#[test]
fn blocking_four_producers_four_consumers_capacity_3() {
    let run = || blocking_execution(3, 4, 4, 24);
    Runner::new(RandomScheduler::new(SCHEDULES), config()).run(run);
    Runner::new(PctScheduler::new(PCT_DEPTH, SCHEDULES), config()).run(run);
    println!(
        "figure: blocking_four_producers_four_consumers_capacity_3: 96 blocking pushes and \
         the pops that take them on 8 threads, then close; {SCHEDULES} random schedules and \
         {SCHEDULES} PCT schedules at depth {PCT_DEPTH}, no lost wake-up"
    );
}
