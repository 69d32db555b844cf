//! Property tests of `spsc::channel` against the sequential reference model.
//!
//! - `matches_the_reference_model`: arbitrary sequences of pushes, pops, `len` and the
//!   producer's leaving, over capacities 1..=64 and positions starting at lap 0 or just before
//!   they wrap around `usize`, answer as `ReferenceQueue` (a producer that left is a closed
//!   queue: pops answer `Disconnected` once it is empty); failures shrink to a minimal sequence.
//! - `two_threads_deliver_every_value_exactly_once`: random capacities and loads; every value
//!   is popped once, in order, and every value is dropped exactly once, those left inside
//!   when both ends are dropped included.
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: spsc
//! - Proves: sequences of pushes, pops and leaving answer as the reference model (capacities
//!   1-64, positions near the usize wrap), and two threads deliver every value exactly once, in
//!   order.
//! - Cannot prove: sampled: random cases, not every sequence.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;

use common::reference::{ReferenceQueue, Refused};
use proptest::prelude::*;
use queue_core::{TryPopError, TryPushError, spsc};

/// One step of a sequence.
#[derive(Clone, Copy, Debug)]
enum Operation {
    Push(u32),
    Pop,
    Len,
    ProducerLeaves,
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        8 => any::<u32>().prop_map(Operation::Push),
        8 => Just(Operation::Pop),
        2 => Just(Operation::Len),
        1 => Just(Operation::ProducerLeaves),
    ]
}

/// The lap the positions start at: 0, or a few laps before they wrap around `usize`.
fn start_lap(capacity: usize, laps_before_wrap: usize) -> usize {
    let one_lap = 2 * (capacity + 1).next_power_of_two();
    (usize::MAX / one_lap).wrapping_sub(laps_before_wrap)
}

fn check_sequence(capacity: usize, laps_before_wrap: Option<usize>, operations: &[Operation]) {
    let lap = laps_before_wrap.map_or(0, |laps| start_lap(capacity, laps));
    let (producer, mut consumer) = spsc::channel_starting_at_lap::<u32>(capacity, lap).unwrap();
    let mut producer = Some(producer);
    let mut reference = ReferenceQueue::new(capacity);
    for (step, &operation) in operations.iter().enumerate() {
        match operation {
            Operation::Push(value) => {
                let Some(producer) = producer.as_mut() else {
                    continue;
                };
                match (producer.try_push(value), reference.try_push(value)) {
                    (Ok(()), Ok(())) => {}
                    (Err(TryPushError::Full(back)), Err(expected)) => assert_eq!(back, expected),
                    (answer, expected) => {
                        panic!("step {step}: push answered {answer:?}, the model {expected:?}")
                    }
                }
            }
            Operation::Pop => match (consumer.try_pop(), reference.pop_or_refuse()) {
                (Ok(value), Ok(expected)) => assert_eq!(value, expected, "step {step}"),
                (Err(TryPopError::Empty), Err(Refused::FullOrEmpty)) => {}
                (Err(TryPopError::Disconnected), Err(Refused::Closed)) => {}
                (answer, expected) => {
                    panic!("step {step}: pop answered {answer:?}, the model {expected:?}")
                }
            },
            Operation::Len => {
                assert_eq!(
                    consumer.len(),
                    reference.len(),
                    "step {step}: consumer's len"
                );
                if let Some(producer) = &producer {
                    assert_eq!(
                        producer.len(),
                        reference.len(),
                        "step {step}: producer's len"
                    );
                    assert!(!producer.is_disconnected());
                }
                assert_eq!(
                    consumer.is_disconnected(),
                    producer.is_none(),
                    "step {step}"
                );
            }
            Operation::ProducerLeaves => {
                if producer.take().is_some() {
                    reference.close();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_the_reference_model(
        capacity in 1usize..=64,
        laps_before_wrap in prop_oneof![Just(None), (0usize..3).prop_map(Some)],
        operations in prop::collection::vec(operation(), 1..300),
    ) {
        check_sequence(capacity, laps_before_wrap, &operations);
    }
}

/// A value that counts how many of its kind are alive.
struct Counted {
    value: u32,
    alive: Arc<AtomicIsize>,
}

impl Counted {
    fn new(value: u32, alive: &Arc<AtomicIsize>) -> Self {
        alive.fetch_add(1, Ordering::Relaxed);
        Self {
            value,
            alive: Arc::clone(alive),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::Relaxed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn two_threads_deliver_every_value_exactly_once(
        capacity in 1usize..=32,
        values in 0u32..2000,
        taken in 0u32..2000,
    ) {
        // At most `capacity` values are left inside, so the producer always finishes.
        let taken = taken.clamp(values.saturating_sub(capacity as u32), values);
        let alive = Arc::new(AtomicIsize::new(0));
        let (mut producer, mut consumer) = spsc::channel::<Counted>(capacity).unwrap();
        let pushing = {
            let alive = Arc::clone(&alive);
            thread::spawn(move || {
                for value in 0..values {
                    let mut counted = Counted::new(value, &alive);
                    while let Err(full) = producer.try_push(counted) {
                        counted = full.into_inner();
                        thread::yield_now();
                    }
                }
                // Leaves without waiting: what is left inside is the queue's to drop.
            })
        };
        for expected in 0..taken {
            let counted = loop {
                match consumer.try_pop() {
                    Ok(counted) => break counted,
                    Err(TryPopError::Empty) => thread::yield_now(),
                    Err(other) => panic!("unexpected answer {other:?} before value {expected}"),
                }
            };
            prop_assert_eq!(counted.value, expected);
        }
        pushing.join().unwrap();
        prop_assert_eq!(consumer.len() as u32, values - taken);
        drop(consumer);
        // Relaxed: the join and the drop on this thread order every count before this read.
        prop_assert_eq!(alive.load(Ordering::Relaxed), 0, "every value dropped exactly once");
    }
}
