//! loom models of `spsc::channel`: every interleaving and weak-memory outcome loom can produce,
//! exhaustively unless the name gives a bound.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p queue-core --test loom_spsc`.
//!
//! # Verification
//!
//! - Checker: loom
//! - Primitive: spsc (the split ring: one producer, one consumer, each caching the other's cursor)
//! - Proves: every history of pushes and pops, Full and Empty answers included, is strictly
//!   linearizable to a FIFO queue of the same capacity, across the wrap of positions too; every
//!   value is delivered exactly once and in order; a consumer whose producer dropped its end gets
//!   every value pushed before it is told Disconnected, and a producer whose consumer dropped its
//!   end is told once the queue is full; a Disconnected answer (`is_disconnected`) shows what
//!   the other side did before it left; every value left inside is dropped exactly once.
//! - Cannot prove: capacities 1-2, up to 4 operations a side; the Disconnected models with
//!   retry loops up to 3 preemptions; no load buffering.
#![cfg(loom)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::counted::Counted;
use common::history::{Answer, Call, Event, Message, ThreadLog, assert_popped_exactly_once};
use common::linearizability::{Spec, linearize};
use model_check::{Bound, Model, explore};
use queue_core::{TryPopError, TryPushError, spsc};

const STRICT: &str = "every history of pushes and pops, Full and Empty answers included, is \
                      strictly linearizable to a FIFO queue of this capacity; each value is \
                      delivered exactly once, in order";

/// A producer pushes `ids`, a consumer pops `pops` times (each answer recorded, Full and Empty
/// included), on a channel of `capacity` whose positions start at lap `lap`; then the main
/// thread drains what is left and the history is checked.
fn run_scenario(capacity: usize, lap: usize, ids: &'static [u32], pops: usize) {
    let (mut producer, mut consumer) =
        spsc::channel_starting_at_lap::<Message>(capacity, lap).unwrap();
    let mut main = ThreadLog::main();
    let mut producer_log = main.fork(1);
    let mut consumer_log = main.fork(2);
    let pushing = loom::thread::spawn(move || {
        for &id in ids {
            producer_log.record(Call::Push(id), |message| {
                match producer.try_push(message.expect("a push carries a message")) {
                    Ok(()) => (Answer::Pushed, None),
                    Err(full) => {
                        assert!(full.is_full(), "only Full while the consumer lives");
                        assert_eq!(full.into_inner().id, id, "a Full push hands back its value");
                        (Answer::Full, None)
                    }
                }
            });
        }
        producer_log
    });
    let popping = loom::thread::spawn(move || {
        for _ in 0..pops {
            consumer_log.record(Call::Pop, |_| pop(&mut consumer));
        }
        (consumer_log, consumer)
    });
    let mut events = main.join(pushing.join().unwrap());
    let (consumer_log, mut consumer) = popping.join().unwrap();
    events.extend(main.join(consumer_log));
    while main.record(Call::Pop, |_| pop(&mut consumer)) != Answer::Empty {}
    events.extend(main.events.iter().copied());
    check_history(capacity, &events);
}

/// One recorded pop: the value's id and the clock it carried, or Empty.
fn pop(consumer: &mut spsc::Consumer<Message>) -> (Answer, Option<common::history::Clock>) {
    match consumer.try_pop() {
        Ok(message) => (Answer::Popped(message.id), Some(message.clock)),
        Err(TryPopError::Empty) => (Answer::Empty, None),
        // The producer's end is dropped after its last push: the drain may see it gone.
        Err(TryPopError::Disconnected) => (Answer::Empty, None),
        Err(other) => panic!("unexpected answer {other:?}"),
    }
}

fn check_history(capacity: usize, events: &[Event]) {
    assert_popped_exactly_once(events);
    if let Err(explanation) = linearize(capacity, Spec::Strict, events) {
        panic!("{explanation}");
    }
}

/// Positions start this many laps before `usize` wraps, so the models cross the wrap.
fn lap_before_wrap(capacity: usize, laps: usize) -> usize {
    let one_lap = 2 * (capacity + 1).next_power_of_two();
    (usize::MAX / one_lap).wrapping_sub(laps - 1)
}

fn model(name: &'static str, scenario: &'static str, run: impl Fn() + Sync + Send + 'static) {
    explore(
        Model {
            name,
            property: STRICT,
            scenario,
            bound: Bound::Exhaustive,
        },
        run,
    );
}

#[test]
fn spsc_channel_capacity_1_three_items_exhaustive() {
    model(
        "spsc_channel_capacity_1_three_items",
        "1 producer pushes 3 values, 1 consumer pops 3 times; capacity 1",
        || run_scenario(1, 0, &[101, 102, 103], 3),
    );
}

#[test]
fn spsc_channel_capacity_2_three_items_exhaustive() {
    model(
        "spsc_channel_capacity_2_three_items",
        "1 producer pushes 3 values, 1 consumer pops 3 times; capacity 2",
        || run_scenario(2, 0, &[101, 102, 103], 3),
    );
}

#[test]
fn spsc_channel_capacity_1_across_usize_wrap_exhaustive() {
    model(
        "spsc_channel_capacity_1_across_usize_wrap",
        "1 producer pushes 3 values, 1 consumer pops 3 times; capacity 1, positions from 2 laps before usize wraps",
        || run_scenario(1, lap_before_wrap(1, 2), &[101, 102, 103], 3),
    );
}

#[test]
fn spsc_channel_capacity_2_across_usize_wrap_exhaustive() {
    model(
        "spsc_channel_capacity_2_across_usize_wrap",
        "1 producer pushes 3 values, 1 consumer pops 2 times; capacity 2, positions from 1 lap before usize wraps",
        || run_scenario(2, lap_before_wrap(2, 1), &[101, 102, 103], 2),
    );
}

#[test]
fn spsc_channel_producer_leaves_bound_3() {
    explore(
        Model {
            name: "spsc_channel_producer_leaves",
            property: "a consumer whose producer dropped its end gets every value pushed before \
                       it, in order, then Disconnected",
            scenario: "1 producer pushes 2 values and drops its end; 1 consumer pops until \
                       Disconnected; capacity 1 (the producer retries Full)",
            bound: Bound::Preemptions(3),
        },
        || {
            let (mut producer, mut consumer) = spsc::channel::<u32>(1).unwrap();
            let pushing = loom::thread::spawn(move || {
                for n in [1, 2] {
                    let mut value = n;
                    while let Err(full) = producer.try_push(value) {
                        assert!(full.is_full(), "the consumer is still there");
                        value = full.into_inner();
                        loom::thread::yield_now();
                    }
                }
            });
            let mut taken = Vec::new();
            loop {
                match consumer.try_pop() {
                    Ok(n) => taken.push(n),
                    Err(TryPopError::Empty) => loom::thread::yield_now(),
                    Err(TryPopError::Disconnected) => break,
                    Err(other) => panic!("unexpected answer {other:?}"),
                }
            }
            assert_eq!(taken, [1, 2], "every value before Disconnected");
            pushing.join().unwrap();
        },
    );
}

#[test]
fn spsc_channel_consumer_leaves_bound_3() {
    explore(
        Model {
            name: "spsc_channel_consumer_leaves",
            property: "a producer whose consumer dropped its end is told Disconnected once the \
                       queue is full, never before the consumer left, and gets its value back",
            scenario: "1 consumer pops 1 value and drops its end; 1 producer pushes until \
                       Disconnected; capacity 1",
            bound: Bound::Preemptions(3),
        },
        || {
            let (mut producer, mut consumer) = spsc::channel::<u32>(1).unwrap();
            let left = Arc::new(AtomicUsize::new(0));
            let popping = {
                let left = Arc::clone(&left);
                loom::thread::spawn(move || {
                    let first = loop {
                        match consumer.try_pop() {
                            Ok(n) => break n,
                            Err(_) => loom::thread::yield_now(),
                        }
                    };
                    left.store(1, Ordering::Relaxed);
                    drop(consumer);
                    first
                })
            };
            let mut n = 1;
            loop {
                match producer.try_push(n) {
                    Ok(()) => n += 1,
                    Err(TryPushError::Full(value)) => {
                        assert_eq!(value, n);
                        loom::thread::yield_now();
                    }
                    Err(TryPushError::Disconnected(value)) => {
                        assert_eq!(value, n, "the value is handed back");
                        // A std atomic, which loom leaves alone: its value is the one the
                        // execution so far stored, so this says the consumer had left.
                        assert_eq!(
                            left.load(Ordering::Relaxed),
                            1,
                            "Disconnected before the consumer left"
                        );
                        break;
                    }
                    Err(other) => panic!("unexpected answer {other:?}"),
                }
            }
            assert_eq!(popping.join().unwrap(), 1, "the first value is popped");
            assert_eq!(
                n, 3,
                "one value popped, one left inside (capacity 1), the third refused"
            );
        },
    );
}

#[test]
fn spsc_channel_drops_each_value_exactly_once_exhaustive() {
    explore(
        Model {
            name: "spsc_channel_drops_each_value_exactly_once",
            property: "every value still inside when both ends are dropped is dropped exactly \
                       once, and no popped value is dropped by the queue",
            scenario: "1 producer pushes 3 counted values and drops its end, 1 consumer pops \
                       once and drops its end; capacity 2",
            bound: Bound::Exhaustive,
        },
        || {
            let drops: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
            let (mut producer, mut consumer) = spsc::channel::<Counted>(2).unwrap();
            let pushing = {
                let drops = Arc::clone(&drops);
                loom::thread::spawn(move || {
                    for id in 0..3 {
                        let value = Counted {
                            id,
                            drops: Arc::clone(&drops),
                        };
                        if let Err(full) = producer.try_push(value) {
                            assert_eq!(
                                full.into_inner().id,
                                id,
                                "a Full push hands back its own value"
                            );
                        }
                    }
                })
            };
            let popping = loom::thread::spawn(move || drop(consumer.try_pop()));
            pushing.join().unwrap();
            popping.join().unwrap();
            for (id, count) in drops.iter().enumerate() {
                // Relaxed: the joins order every drop before this read.
                assert_eq!(count.load(Ordering::Relaxed), 1, "value {id} dropped once");
            }
        },
    );
}

#[test]
fn spsc_channel_a_disconnected_answer_shows_what_the_other_side_did_before_exhaustive() {
    explore(
        Model {
            name: "spsc_channel_a_disconnected_answer_shows_what_the_other_side_did_before",
            property: "a handle whose is_disconnected() answers true sees every store the other \
                       side's thread made before it dropped its end",
            scenario: "capacity 1; the producer's thread stores 7 (Relaxed) into a note and \
                       drops its end, while the consumer asks is_disconnected and, if true, \
                       reads the note; then the same with the sides swapped",
            bound: Bound::Exhaustive,
        },
        || {
            sees_what_the_leaver_did_before(true);
            sees_what_the_leaver_did_before(false);
        },
    );
}

/// One side's thread stores 7 (Relaxed) into a note and drops its end (the producer's if
/// `producer_leaves`, else the consumer's), while the other end asks `is_disconnected` and,
/// if told true, must read 7.
fn sees_what_the_leaver_did_before(producer_leaves: bool) {
    let (producer, consumer) = spsc::channel::<u32>(1).unwrap();
    let note = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
    let leaver_note = Arc::clone(&note);
    let (leaving, staying): (Box<dyn Send>, Box<dyn Fn() -> bool>) = if producer_leaves {
        (
            Box::new(producer),
            Box::new(move || consumer.is_disconnected()),
        )
    } else {
        (
            Box::new(consumer),
            Box::new(move || producer.is_disconnected()),
        )
    };
    let leaver = loom::thread::spawn(move || {
        leaver_note.store(7, Ordering::Relaxed);
        drop(leaving);
    });
    if staying() {
        assert_eq!(
            note.load(Ordering::Relaxed),
            7,
            "the leaver's earlier store"
        );
    }
    leaver.join().unwrap();
}
