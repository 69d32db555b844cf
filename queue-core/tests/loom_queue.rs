//! loom models of `Queue`: every interleaving and every weak-memory outcome loom can produce,
//! exhaustively where the name says so and up to the stated preemption bound otherwise.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p queue-core --test loom_queue`, or
//! every model of the workspace with `--workspace --lib --test 'loom_*'`.
//!
//! Every model checks, in every execution:
//! - the history of completed operations (Full and Empty answers included) is linearizable
//!   with respect to happens-before, against the sequential reference model;
//! - every value pushed is popped exactly once (the main thread drains the queue at the end),
//!   and each producer's values come out in its order;
//! - a value handed back by a `Full` push is the value that was pushed.
//!
//! and one model checks that `len` answers a count the queue held during the call.
//!
//! Each model prints the number of executions loom explored; with `MODEL_CHECK_RESULTS`
//! naming a file, it also appends one JSON line per model there.
//!
//! # Verification
//!
//! - Checker: loom
//! - Primitive: Queue (the ring)
//! - Proves: every history of pushes and pops, Full and Empty answers included, is linearizable
//!   (with respect to happens-before) to a FIFO queue of the same capacity; every value is
//!   delivered exactly once, in each producer's order; no call retries more often than the other
//!   calls' claims explain (no livelock).
//! - Cannot prove: capacities 1-2, up to 4 threads and 12 operations; SeqCst accesses modelled as
//!   AcqRel (the ring's are in close, which these models do not call; its SeqCst fences are
//!   modelled); no load buffering.
#![cfg(loom)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::counted::Counted;
use common::history::{
    Answer, Call, Event, Message, Recorded, ThreadLog, assert_in_each_producers_order,
    assert_popped_exactly_once,
};
use common::linearizability::{Spec, linearize};
use model_check::{Bound, Model, explore};
use queue_core::Queue;

/// The property of the models with one producer and one consumer.
const STRICT: &str = "every history of pushes and pops, Full and Empty answers included, is \
                      strictly linearizable to a FIFO queue of this capacity; each value is \
                      delivered exactly once, in order; no call retries without another \
                      completing";

/// The property of the other models: the queue's documented exemption applies.
const EXEMPT: &str = "every history, Full and Empty answers included, is linearizable (with \
                      respect to happens-before) to a FIFO queue of this capacity, except that \
                      Full or Empty may be answered while the operation that would change it \
                      is in flight; each value is delivered exactly once, in its producer's \
                      order; no call retries without another completing";

/// The property of the drop model.
const DROPS: &str = "every value still inside when the queue is dropped is dropped exactly once, \
                     and no popped value is dropped by the queue";

const fn push(id: u32) -> Call {
    Call::Push(id)
}
const POP: Call = Call::Pop;

/// Shared state is behind a `std::sync::Arc`, not loom's: loom would make every clone and
/// drop of its reference count a scheduling point, multiplying the executions to explore
/// without touching the queue. The main thread holds the last reference, after the joins.
///
/// A scenario: a queue of `capacity` whose cursors start at `start_lap`, and one thread per
/// script. The main thread (thread 0) spawns them, joins them, drains the queue, and checks
/// the whole history.
fn run_scenario(capacity: usize, start_lap: usize, scripts: &[&[Call]]) {
    run_on(
        Queue::starting_at_lap(capacity, start_lap).unwrap(),
        &[],
        scripts,
    );
}

/// As [`run_scenario`], with the main thread pushing `prefill` before it spawns the others.
fn run_scenario_prefilled(capacity: usize, prefill: &[u32], scripts: &[&[Call]]) {
    run_on(Queue::new(capacity).unwrap(), prefill, scripts);
}

fn run_on(queue: Queue<Message>, prefill: &[u32], scripts: &[&[Call]]) {
    let capacity = queue.capacity();
    let queue = Arc::new(queue);
    let mut main = ThreadLog::main();
    for &id in prefill {
        assert_eq!(main.push(&queue, id), Answer::Pushed);
    }
    let handles: Vec<_> = scripts
        .iter()
        .enumerate()
        .map(|(i, script)| {
            let queue = Arc::clone(&queue);
            let mut log = main.fork(i + 1);
            let script = script.to_vec();
            loom::thread::spawn(move || {
                for call in script {
                    run_call(&mut log, &queue, call);
                }
                log
            })
        })
        .collect();
    let mut events: Vec<Event> = std::mem::take(&mut main.events);
    for handle in handles {
        events.extend(main.join(handle.join().unwrap()));
    }
    while main.pop(&queue) != Answer::Empty {}
    events.extend(main.events.iter().copied());
    check_history(capacity, spec_for(scripts), &events);
}

/// The specification a scenario is checked against: strict linearizability with one producer
/// and one consumer (no third thread can be mid-operation on a slot), otherwise the queue's
/// documented exemption for answers given while another thread is mid-operation.
fn spec_for(scripts: &[&[Call]]) -> Spec {
    let pushers = scripts
        .iter()
        .filter(|s| s.iter().any(|c| matches!(c, Call::Push(_))))
        .count();
    let poppers = scripts.iter().filter(|s| s.contains(&Call::Pop)).count();
    let single_role = scripts
        .iter()
        .all(|s| s.iter().all(|c| matches!(c, Call::Push(_))) || s.iter().all(|c| *c == Call::Pop));
    if pushers <= 1 && poppers <= 1 && single_role {
        Spec::Strict
    } else {
        Spec::InFlightExempt
    }
}

fn run_call(log: &mut ThreadLog, queue: &Queue<Message>, call: Call) {
    match call {
        Call::Push(id) => {
            log.push(queue, id);
        }
        Call::Pop => {
            log.pop(queue);
        }
    }
}

fn check_history(capacity: usize, spec: Spec, events: &[Event]) {
    // Exactly once: every pushed id is popped once (the drain empties the queue), no other id.
    assert_popped_exactly_once(events);
    // Each producer's order, as each consumer sees it: ids are `producer * 100 + n`. (Across
    // consumers, the linearizability check below covers it.)
    assert_in_each_producers_order(events, 100);
    if let Err(explanation) = linearize(capacity, spec, events) {
        panic!("{explanation}");
    }
}

/// Positions start this many laps before `usize` wraps, so the models cross the wrap.
fn lap_before_wrap(capacity: usize, laps: usize) -> usize {
    let one_lap = 2 * (capacity + 1).next_power_of_two();
    (usize::MAX / one_lap).wrapping_sub(laps - 1)
}

// 1. One producer, one consumer, three items: FIFO, nothing lost or duplicated.

#[test]
fn spsc_capacity_1_three_items_exhaustive() {
    explore(
        Model {
            name: "spsc_capacity_1_three_items",
            property: STRICT,
            scenario: "1 producer pushes 3 values, 1 consumer pops 3 times; capacity 1",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario(
                1,
                0,
                &[&[push(101), push(102), push(103)], &[POP, POP, POP]],
            );
        },
    );
}

#[test]
fn spsc_capacity_2_three_items_exhaustive() {
    explore(
        Model {
            name: "spsc_capacity_2_three_items",
            property: STRICT,
            scenario: "1 producer pushes 3 values, 1 consumer pops 3 times; capacity 2",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario(
                2,
                0,
                &[&[push(101), push(102), push(103)], &[POP, POP, POP]],
            );
        },
    );
}

// 2. Two producers / one consumer and one producer / two consumers, capacity 2.

#[test]
fn two_producers_one_consumer_capacity_2_bound_4() {
    explore(
        Model {
            name: "two_producers_one_consumer_capacity_2",
            property: EXEMPT,
            scenario: "2 producers push 2 values each, 1 consumer pops 3 times; capacity 2",
            bound: Bound::Preemptions(4),
        },
        || {
            run_scenario(
                2,
                0,
                &[
                    &[push(101), push(102)],
                    &[push(201), push(202)],
                    &[POP, POP, POP],
                ],
            );
        },
    );
}

#[test]
fn two_producers_one_consumer_capacity_2_small_exhaustive() {
    explore(
        Model {
            name: "two_producers_one_consumer_capacity_2_small",
            property: EXEMPT,
            scenario: "2 producers push 1 value each, 1 consumer pops twice; capacity 2",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario(2, 0, &[&[push(101)], &[push(201)], &[POP, POP]]);
        },
    );
}

#[test]
fn one_producer_two_consumers_capacity_2_bound_4() {
    explore(
        Model {
            name: "one_producer_two_consumers_capacity_2",
            property: EXEMPT,
            scenario: "1 producer pushes 3 values, 2 consumers pop twice each; capacity 2",
            bound: Bound::Preemptions(4),
        },
        || {
            run_scenario(
                2,
                0,
                &[&[push(101), push(102), push(103)], &[POP, POP], &[POP, POP]],
            );
        },
    );
}

// 3. Two producers / two consumers at capacity 1: full and empty races and wrap-around.

#[test]
fn two_producers_two_consumers_capacity_1_bound_3() {
    explore(
        Model {
            name: "two_producers_two_consumers_capacity_1",
            property: EXEMPT,
            scenario: "2 producers push 2 and 1 values, 2 consumers pop 2 and 1 times; capacity 1",
            bound: Bound::Preemptions(3),
        },
        || {
            run_scenario(
                1,
                0,
                &[&[push(101), push(102)], &[push(201)], &[POP, POP], &[POP]],
            );
        },
    );
}

// 4. At least three laps of the ring, crossing the wrap of positions at `usize::MAX`.

#[test]
fn spsc_capacity_1_four_laps_across_usize_wrap_exhaustive() {
    explore(
        Model {
            name: "spsc_capacity_1_four_laps_across_usize_wrap",
            property: STRICT,
            scenario: "1 producer pushes 4 values, 1 consumer pops 4 times; capacity 1, cursors starting 2 laps before positions wrap around usize",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario(
                1,
                lap_before_wrap(1, 2),
                &[
                    &[push(101), push(102), push(103), push(104)],
                    &[POP, POP, POP, POP],
                ],
            );
        },
    );
}

#[test]
fn spsc_capacity_2_three_laps_across_usize_wrap_exhaustive() {
    explore(
        Model {
            name: "spsc_capacity_2_three_laps_across_usize_wrap",
            property: STRICT,
            scenario: "1 producer pushes 6 values, 1 consumer pops 6 times; capacity 2, cursors starting 2 laps before positions wrap around usize",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario(
                2,
                lap_before_wrap(2, 2),
                &[
                    &[
                        push(101),
                        push(102),
                        push(103),
                        push(104),
                        push(105),
                        push(106),
                    ],
                    &[POP, POP, POP, POP, POP, POP],
                ],
            );
        },
    );
}

// 6. The Full/Empty answers of threads that both write and then read the other cursor: the
//    store-buffering pattern the SeqCst fence is there for.

#[test]
fn push_then_pop_on_two_threads_exhaustive() {
    explore(
        Model {
            name: "push_then_pop_on_two_threads",
            property: EXEMPT,
            scenario: "2 threads each push a value, then pop; capacity 2",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario(2, 0, &[&[push(101), POP], &[push(201), POP]]);
        },
    );
}

#[test]
fn pop_then_push_on_two_threads_of_a_full_queue_exhaustive() {
    explore(
        Model {
            name: "pop_then_push_on_two_threads_of_a_full_queue",
            property: EXEMPT,
            scenario: "2 threads each pop, then push, on a queue filled to its capacity of 2",
            bound: Bound::Exhaustive,
        },
        || {
            run_scenario_prefilled(2, &[1, 2], &[&[POP, push(101)], &[POP, push(201)]]);
        },
    );
}

// 5. Values left inside are dropped exactly once when the queue goes.

#[test]
fn drops_each_value_exactly_once_exhaustive() {
    explore(
        Model {
            name: "drops_each_value_exactly_once",
            property: DROPS,
            scenario: "1 producer pushes 3 counted values, 1 consumer pops once, then the queue is dropped; capacity 2",
            bound: Bound::Exhaustive,
        },
        || {
            drop_scenario();
        },
    );
}

/// A producer pushes three values into a queue of 2 while a consumer pops one; then the queue
/// is dropped. Every value, popped, handed back or left inside, is dropped exactly once.
fn drop_scenario() {
    let drops: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
    let queue = Arc::new(Queue::new(2).unwrap());
    let producer = {
        let queue = Arc::clone(&queue);
        let drops = Arc::clone(&drops);
        loom::thread::spawn(move || {
            for id in 0..3 {
                let value = Counted {
                    id,
                    drops: Arc::clone(&drops),
                };
                if let Err(full) = queue.try_push(value) {
                    assert_eq!(
                        full.into_inner().id,
                        id,
                        "a Full push hands back its own value"
                    );
                }
            }
        })
    };
    let consumer = {
        let queue = Arc::clone(&queue);
        loom::thread::spawn(move || drop(queue.try_pop()))
    };
    producer.join().unwrap();
    consumer.join().unwrap();
    drop(queue);
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), 1, "value {id} dropped once");
    }
}

/// A downstream crate's own loom model, as its author would write it: a shared queue is
/// refused with `UnderLoom` (it cannot be modelled: its memory is a file other processes map),
/// and the heap queue its message points to works there.
#[test]
fn a_downstream_model_gets_the_heap_queue_and_a_clear_refusal_exhaustive() {
    explore(
        Model {
            name: "a_downstream_model_gets_the_heap_queue_and_a_clear_refusal",
            property: "inside a loom model a shared queue's create answers UnderLoom, whose \
                       message names the heap queue to model instead; a heap queue used there \
                       delivers a value from one thread to another",
            scenario: "capacity 2; create a shared queue, then one thread pushes 1 value into a \
                       heap queue while another pops until it has it",
            bound: Bound::Exhaustive,
        },
        || {
            match Queue::<u64, queue_core::Shared>::create(2) {
                Err(error @ queue_core::MappingError::UnderLoom) => {
                    assert!(error.to_string().contains("heap Queue"), "{error}");
                }
                other => panic!("a shared queue under loom: {other:?}"),
            }
            let queue = Arc::new(Queue::<u64>::new(2).unwrap());
            let producer = {
                let queue = Arc::clone(&queue);
                loom::thread::spawn(move || queue.try_push(7).unwrap())
            };
            let got = loop {
                match queue.try_pop() {
                    Ok(value) => break value,
                    Err(_) => loom::thread::yield_now(),
                }
            };
            producer.join().unwrap();
            assert_eq!(got, 7);
        },
    );
}

/// `is_closed` answering true happens after the close: what the closing thread did before it
/// is visible to the thread that saw it closed (as for a channel's disconnection).
#[test]
fn a_closed_answer_shows_what_the_closer_did_before_exhaustive() {
    explore(
        Model {
            name: "a_closed_answer_shows_what_the_closer_did_before",
            property: "a thread that sees is_closed() answer true sees every store the closing \
                       thread made before close()",
            scenario: "capacity 1; one thread stores 7 (Relaxed) into a flag of its own and \
                       closes; another asks is_closed and, if true, reads the flag",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(Queue::<u64>::new(1).unwrap());
            let note = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let closer = {
                let (queue, note) = (Arc::clone(&queue), Arc::clone(&note));
                loom::thread::spawn(move || {
                    note.store(7, Ordering::Relaxed);
                    queue.close();
                })
            };
            if queue.is_closed() {
                assert_eq!(
                    note.load(Ordering::Relaxed),
                    7,
                    "is_closed said true before the closer's earlier store was visible"
                );
            }
            closer.join().unwrap();
        },
    );
}

// 7. `len` answers a count the queue held at one instant during the call.

#[test]
fn len_answers_a_count_the_queue_held_exhaustive() {
    explore(
        Model {
            name: "len_answers_a_count_the_queue_held",
            property: "len() answers a number of values the queue held at one instant during \
                       the call: here never more than 1, as the queue never holds more",
            scenario: "capacity 4; one thread pushes and pops twice (it never holds more than \
                       one value); another asks len",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(Queue::<u64>::new(4).unwrap());
            let asker = {
                let queue = Arc::clone(&queue);
                loom::thread::spawn(move || queue.len())
            };
            for n in 0..2 {
                queue.try_push(n).unwrap();
                assert_eq!(queue.try_pop().ok(), Some(n));
            }
            let len = asker.join().unwrap();
            assert!(
                len <= 1,
                "len answered {len}: the queue never held more than 1"
            );
        },
    );
}

#[test]
fn a_closed_pop_shows_what_the_closer_did_before_exhaustive() {
    explore(
        Model {
            name: "a_closed_pop_shows_what_the_closer_did_before",
            property: "a pop answered Closed sees every store the closing thread made before \
                       close()",
            scenario: "capacity 1; one thread stores 7 (Relaxed) into a flag of its own and \
                       closes; another pops and, if told Closed, reads the flag",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(Queue::<u64>::new(1).unwrap());
            let note = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let popper = {
                let (queue, note) = (Arc::clone(&queue), Arc::clone(&note));
                loom::thread::spawn(move || {
                    if queue.try_pop() == Err(queue_core::TryPopError::Closed) {
                        assert_eq!(
                            note.load(Ordering::Relaxed),
                            7,
                            "a pop was told Closed before the closer's earlier store was visible"
                        );
                    }
                })
            };
            note.store(7, Ordering::Relaxed);
            queue.close();
            popper.join().unwrap();
        },
    );
}
