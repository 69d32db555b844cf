//! The queue's API contract, one behaviour per test.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Queue
//! - Proves: the API contract, one behaviour per test: capacity errors, Full hands the value back,
//!   capacity 1 over many laps, positions wrapping around usize, zero-sized values, values left
//!   inside dropped once, Send and Sync exactly when T is Send, errors that display without T:
//!   Debug.
//! - Cannot prove: fixed single-threaded cases; the state machines and loom cover the rest.

use std::cell::Cell;
use std::rc::Rc;

use queue_core::{CapacityError, Queue, TryPopError, TryPushError};

#[test]
fn capacity_zero_is_a_typed_error() {
    assert_eq!(Queue::<u8>::new(0).unwrap_err(), CapacityError::Zero);
}

#[test]
fn capacities_that_cannot_be_laid_out_are_typed_errors() {
    for capacity in [usize::MAX, usize::MAX / 2, isize::MAX as usize, 1 << 60] {
        assert_eq!(
            Queue::<u64>::new(capacity).unwrap_err(),
            CapacityError::TooLarge { capacity },
            "capacity {capacity}"
        );
    }
}

#[test]
fn errors_display_and_debug_without_t_debug() {
    struct Opaque;
    let err: TryPushError<Opaque> = TryPushError::Full(Opaque);
    assert_eq!(format!("{err:?}"), "Full(..)");
    assert_eq!(err.to_string(), "pushing into a full queue");
    assert_eq!(
        TryPopError::Empty.to_string(),
        "popping from an empty queue"
    );
    assert_eq!(
        CapacityError::Zero.to_string(),
        "a queue's capacity must be at least 1"
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(TryPushError::Full(7u8));
    assert!(boxed.to_string().contains("full"));
}

#[test]
fn full_hands_the_value_back() {
    let queue = Queue::new(1).unwrap();
    queue.try_push(String::from("kept")).unwrap();
    let err = queue.try_push(String::from("returned")).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), "returned");
    assert_eq!(queue.try_pop().unwrap(), "kept");
    assert!(queue.try_pop().unwrap_err().is_empty());
}

#[test]
fn capacity_one_survives_many_laps() {
    let queue = Queue::new(1).unwrap();
    for n in 0..10_000 {
        queue.try_push(n).unwrap();
        assert!(queue.is_full());
        assert_eq!(queue.try_push(-1).unwrap_err().into_inner(), -1);
        assert_eq!(queue.try_pop(), Ok(n));
        assert!(queue.is_empty());
    }
}

#[test]
fn positions_wrap_around_usize_for_every_small_capacity() {
    for capacity in 1usize..=9 {
        let one_lap = 2 * (capacity + 1).next_power_of_two();
        for laps_before_wrap in 1..=3 {
            let queue =
                Queue::starting_at_lap(capacity, usize::MAX / one_lap - (laps_before_wrap - 1))
                    .unwrap();
            let mut next_out = 0;
            for n in 0..(4 * capacity * laps_before_wrap) {
                while queue.try_push(n).is_err() {
                    assert_eq!(queue.len(), capacity);
                    assert_eq!(queue.try_pop(), Ok(next_out));
                    next_out += 1;
                }
            }
            while let Ok(value) = queue.try_pop() {
                assert_eq!(value, next_out);
                next_out += 1;
            }
            assert_eq!(next_out, 4 * capacity * laps_before_wrap);
        }
    }
}

#[test]
fn zero_sized_values_work() {
    let queue = Queue::new(3).unwrap();
    for _ in 0..3 {
        queue.try_push(()).unwrap();
    }
    assert!(queue.try_push(()).is_err());
    assert_eq!(queue.len(), 3);
    for _ in 0..3 {
        assert_eq!(queue.try_pop(), Ok(()));
    }
    assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
}

/// Counts its drops in a shared cell.
struct DropCounter(Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn dropping_the_queue_drops_what_is_inside_exactly_once() {
    let drops = Rc::new(Cell::new(0));
    let queue = Queue::new(4).unwrap();
    for _ in 0..6 {
        // Two of these are handed back (and dropped) as the queue is full.
        let _ = queue.try_push(DropCounter(Rc::clone(&drops)));
    }
    drop(queue.try_pop());
    assert_eq!(drops.get(), 3, "one popped, two handed back and dropped");
    queue.try_push(DropCounter(Rc::clone(&drops))).ok().unwrap();
    assert!(queue.try_push(DropCounter(Rc::clone(&drops))).is_err());
    assert_eq!(drops.get(), 4);
    drop(queue);
    assert_eq!(drops.get(), 8, "the four inside, once each");
}

#[test]
fn send_and_sync_exactly_when_t_is_send() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Queue<u64>>();
    assert_send_sync::<Queue<Cell<u64>>>(); // Send but not Sync: values move, never shared.
}

#[test]
fn debug_shows_placement_len_capacity_and_closed() {
    let queue = Queue::new(2).unwrap();
    queue.try_push(1).unwrap();
    assert_eq!(
        format!("{queue:?}"),
        "Queue { placement: \"heap\", len: 1, capacity: 2, closed: false, .. }"
    );
}
