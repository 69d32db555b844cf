//! Property tests against the sequential reference model.
//!
//! - `matches_the_reference_model`: a state machine (proptest-state-machine) applies arbitrary
//!   sequences of every operation to a `Queue` and to `ReferenceQueue`, over capacities 1..=64
//!   and cursors starting at lap 0 or just before positions wrap around `usize`, and compares
//!   every answer; failures shrink to a minimal sequence.
//! - `threads_deliver_every_value_exactly_once`: random thread counts, capacities and loads;
//!   every value is delivered exactly once, each consumer sees each producer's values in order,
//!   and every value is dropped exactly once.
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: Queue
//! - Proves: sequences of pushes and pops answer as the reference model (capacities 1-64, cursors
//!   near the usize wrap), and threads deliver every value exactly once.
//! - Cannot prove: sampled: random cases, not every sequence.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::thread;

use common::reference::ReferenceQueue;
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use queue_core::{Queue, TryPopError};

/// One operation of the state machine.
#[derive(Clone, Debug)]
enum Operation {
    Push(u32),
    Pop,
}

/// What the reference model answered to the last operation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Pushed,
    Full(u32),
    Popped(u32),
    Empty,
}

#[derive(Clone, Debug)]
struct Reference {
    queue: ReferenceQueue<u32>,
    start_lap: usize,
    last_answer: Option<Answer>,
}

impl ReferenceStateMachine for Reference {
    type State = Self;
    type Transition = Operation;

    fn init_state() -> BoxedStrategy<Self> {
        (1usize..=64, prop_oneof![Just(0usize), 0usize..3])
            .prop_map(|(capacity, laps_before_wrap)| {
                let start_lap = if laps_before_wrap == 0 {
                    0
                } else {
                    let one_lap = 2 * (capacity + 1).next_power_of_two();
                    usize::MAX / one_lap - (laps_before_wrap - 1)
                };
                Reference {
                    queue: ReferenceQueue::new(capacity),
                    start_lap,
                    last_answer: None,
                }
            })
            .boxed()
    }

    fn transitions(_: &Self) -> BoxedStrategy<Operation> {
        prop_oneof![any::<u32>().prop_map(Operation::Push), Just(Operation::Pop)].boxed()
    }

    fn apply(mut state: Self, operation: &Operation) -> Self {
        state.last_answer = Some(match *operation {
            Operation::Push(value) => match state.queue.try_push(value) {
                Ok(()) => Answer::Pushed,
                Err(value) => Answer::Full(value),
            },
            Operation::Pop => state.queue.try_pop().map_or(Answer::Empty, Answer::Popped),
        });
        state
    }
}

/// The queue under test, holding values that count how many of them are alive.
struct System {
    queue: Queue<Tracked>,
    alive: Arc<AtomicIsize>,
}

/// A value that counts itself alive while it exists.
#[derive(Debug)]
struct Tracked {
    value: u32,
    alive: Arc<AtomicIsize>,
}

impl Tracked {
    fn new(value: u32, alive: &Arc<AtomicIsize>) -> Self {
        alive.fetch_add(1, Ordering::Relaxed);
        Self {
            value,
            alive: Arc::clone(alive),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::Relaxed);
    }
}

struct QueueMatchesReference;

impl StateMachineTest for QueueMatchesReference {
    type SystemUnderTest = System;
    type Reference = Reference;

    fn init_test(reference: &Reference) -> System {
        System {
            queue: Queue::starting_at_lap(reference.queue.capacity(), reference.start_lap).unwrap(),
            alive: Arc::new(AtomicIsize::new(0)),
        }
    }

    fn apply(system: System, reference: &Reference, operation: Operation) -> System {
        let answer = match operation {
            Operation::Push(value) => {
                match system.queue.try_push(Tracked::new(value, &system.alive)) {
                    Ok(()) => Answer::Pushed,
                    Err(full) => {
                        assert!(full.is_full());
                        Answer::Full(full.into_inner().value)
                    }
                }
            }
            Operation::Pop => match system.queue.try_pop() {
                Ok(tracked) => Answer::Popped(tracked.value),
                Err(TryPopError::Empty) => Answer::Empty,
                Err(other) => panic!("unexpected {other:?}"),
            },
        };
        assert_eq!(Some(answer), reference.last_answer);
        system
    }

    fn check_invariants(system: &System, reference: &Reference) {
        assert_eq!(system.queue.len(), reference.queue.len());
        assert_eq!(system.queue.is_empty(), reference.queue.is_empty());
        assert_eq!(system.queue.is_full(), reference.queue.is_full());
        assert_eq!(system.queue.capacity(), reference.queue.capacity());
        assert_eq!(
            system.alive.load(Ordering::Relaxed),
            reference.queue.len() as isize
        );
    }

    fn teardown(system: System, _: Reference) {
        let alive = Arc::clone(&system.alive);
        drop(system);
        assert_eq!(
            alive.load(Ordering::Relaxed),
            0,
            "every value left inside is dropped once"
        );
    }
}

prop_state_machine! {
    #![proptest_config(model_check::property_config(
        "queue-core model::matches_the_reference_model",
        "every answer of a sequence of 1 to 299 pushes and pops (capacities 1 to 64, cursors \
         at lap 0 or 2 laps before the usize wrap), and len, is_empty, is_full and the live \
         values after each, equal the reference model's",
        1024,
    ))]

    #[test]
    fn matches_the_reference_model(sequential 1..300 => QueueMatchesReference);
}

proptest! {
    #![proptest_config(model_check::property_config(
        "queue-core model::threads_deliver_every_value_exactly_once",
        "1 to 3 producer threads and 1 to 3 consumer threads (capacity 1 to 16, up to 2,000 \
         values a producer) deliver every value exactly once, in each producer's order, and \
         leave nothing alive",
        48,
    ))]

    #[test]
    fn threads_deliver_every_value_exactly_once(
        capacity in 1usize..=16,
        producers in 1usize..=3,
        consumers in 1usize..=3,
        per_producer in 1u32..=2000,
    ) {
        deliver_exactly_once(capacity, producers, consumers, per_producer);
    }
}

/// Producers push `producer << 32 | n` for n in 0..per_producer, retrying when full; consumers
/// pop until every value has been taken. Then: each value exactly once, each producer's
/// values in order as each consumer sees them, and nothing left alive.
fn deliver_exactly_once(capacity: usize, producers: usize, consumers: usize, per_producer: u32) {
    let queue = Queue::new(capacity).unwrap();
    let alive = Arc::new(AtomicIsize::new(0));
    let total = producers * per_producer as usize;
    let taken = AtomicUsize::new(0);
    let received: Vec<Vec<u64>> = thread::scope(|s| {
        for producer in 0..producers {
            let (queue, alive) = (&queue, &alive);
            s.spawn(move || {
                for n in 0..per_producer {
                    let mut value = Tracked::new(0, alive);
                    let tag = (producer as u64) << 32 | u64::from(n);
                    value.value = n;
                    let mut item = (tag, value);
                    while let Err(full) = queue.try_push(item) {
                        item = full.into_inner();
                        thread::yield_now();
                    }
                }
            });
        }
        let handles: Vec<_> = (0..consumers)
            .map(|_| {
                let (queue, taken) = (&queue, &taken);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while taken.load(Ordering::Relaxed) < total {
                        match queue.try_pop() {
                            Ok((tag, _value)) => {
                                taken.fetch_add(1, Ordering::Relaxed);
                                mine.push(tag);
                            }
                            Err(_) => thread::yield_now(),
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = received.iter().flatten().copied().collect();
    all.sort_unstable();
    let expected: Vec<u64> = (0..producers as u64)
        .flat_map(|p| (0..u64::from(per_producer)).map(move |n| p << 32 | n))
        .collect();
    assert_eq!(all, expected, "every value exactly once");
    for mine in &received {
        for producer in 0..producers as u64 {
            let from_producer: Vec<u64> = mine
                .iter()
                .copied()
                .filter(|t| t >> 32 == producer)
                .collect();
            assert!(
                from_producer.windows(2).all(|w| w[0] < w[1]),
                "producer {producer}'s order kept"
            );
        }
    }
    assert!(queue.is_empty());
    assert_eq!(
        alive.load(Ordering::Relaxed),
        0,
        "every value dropped exactly once"
    );
}
