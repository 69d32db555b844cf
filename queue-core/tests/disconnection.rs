//! A shared queue tells a consumer when every producer has gone, and a producer when every
//! consumer has: `Disconnected`, once the queue is drained (or full). Handles that leave, in
//! one process; a producer process killed, in `cross_process.rs`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Queue, BlockingQueue in shared memory: roles
//! - Proves: a consumer gets every value pushed before the last producer left, then Disconnected
//!   from every pop (a sleeping one is woken by the leave); a queue that never had a producer is
//!   only empty, and a producer joining later connects it again; a producer of a full queue whose
//!   consumers left gets Disconnected with its value back; a heap queue never answers it.
//! - Cannot prove: handles leaving within one process (a killed producer process: cross_process);
//!   not modelled with loom.

use std::thread;
use std::time::{Duration, Instant};

use queue_core::{
    BlockingQueue, Consumer, PopError, PopTimeoutError, Producer, PushError, PushSliceError, Queue,
    Shared, TryPopError, TryPushError,
};

/// Far past any wake-up: a call still blocked this long was never told.
const PATIENCE: Duration = Duration::from_secs(5);

#[test]
fn a_consumer_gets_the_values_then_disconnected_once_every_producer_has_left() {
    let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
    let first = consumer.try_clone_as::<Producer>().unwrap();
    let second = consumer.try_clone_as::<Producer>().unwrap();
    first.push(1).unwrap();
    drop(first);
    assert_eq!(consumer.try_pop(), Ok(1));
    assert_eq!(
        consumer.try_pop(),
        Err(TryPopError::Empty),
        "one producer is left"
    );
    second.push_slice(&[2, 3]).unwrap();
    drop(second);
    assert_eq!(
        consumer.pop(),
        Ok(2),
        "values pushed before the leave are not lost"
    );
    assert_eq!(consumer.pop(), Ok(3));
    assert_eq!(consumer.try_pop(), Err(TryPopError::Disconnected));
    assert_eq!(consumer.pop(), Err(PopError::Disconnected));
    assert_eq!(
        consumer.pop_timeout(PATIENCE),
        Err(PopTimeoutError::Disconnected)
    );
    let mut buffer = [0; 4];
    assert_eq!(consumer.pop_slice(&mut buffer), Err(PopError::Disconnected));
}

#[test]
fn a_queue_that_never_had_a_producer_is_empty_not_disconnected() {
    let consumer = Queue::<u64, Shared<Consumer>>::create(4).unwrap();
    assert_eq!(consumer.try_pop(), Err(TryPopError::Empty));
    // A producer that joins later is the first: the queue was waiting for it.
    let producer = consumer.try_clone_as::<Producer>().unwrap();
    producer.try_push(9).unwrap();
    drop(producer);
    assert_eq!(consumer.try_pop(), Ok(9));
    assert_eq!(consumer.try_pop(), Err(TryPopError::Disconnected));
    // And one that joins after a disconnection connects the queue again.
    let again = consumer.try_clone_as::<Producer>().unwrap();
    assert_eq!(consumer.try_pop(), Err(TryPopError::Empty));
    drop(again);
}

#[test]
fn a_handle_of_both_roles_keeps_both_sides_connected() {
    let both = BlockingQueue::<u64, Shared>::create(2).unwrap();
    let consumer = both.try_clone_as::<Consumer>().unwrap();
    assert_eq!(consumer.try_pop(), Err(TryPopError::Empty));
    drop(both);
    assert_eq!(consumer.try_pop(), Err(TryPopError::Disconnected));
}

#[test]
fn a_sleeping_consumer_is_woken_by_the_last_producer_leaving() {
    let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
    let producer = consumer.try_clone_as::<Producer>().unwrap();
    let leaver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        drop(producer);
        Instant::now()
    });
    let popped = consumer.pop_timeout(PATIENCE);
    let woken = Instant::now();
    let left = leaver.join().unwrap();
    assert_eq!(popped, Err(PopTimeoutError::Disconnected));
    assert!(
        woken.duration_since(left) < Duration::from_secs(1),
        "the leave woke the sleeper: {:?} after it",
        woken.duration_since(left)
    );
}

#[test]
fn a_producer_of_a_full_queue_gets_its_value_back_once_every_consumer_has_left() {
    let producer = BlockingQueue::<u64, Shared<Producer>>::create(2).unwrap();
    let consumer = producer.try_clone_as::<Consumer>().unwrap();
    producer.push_slice(&[1, 2]).unwrap();
    assert_eq!(producer.try_push(3), Err(TryPushError::Full(3)));
    let leaver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        drop(consumer);
    });
    let refused = producer.push(3).unwrap_err();
    leaver.join().unwrap();
    assert_eq!(refused, PushError::Disconnected(3));
    assert_eq!(refused.into_inner(), 3, "nothing is lost");
    assert_eq!(producer.try_push(4), Err(TryPushError::Disconnected(4)));
    assert_eq!(
        producer.try_push_slice(&[5]),
        Err(PushSliceError::Disconnected)
    );
}

#[test]
fn a_heap_queue_is_never_disconnected() {
    let queue = BlockingQueue::<u64>::new(1).unwrap();
    assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
    queue.push(1).unwrap();
    assert_eq!(queue.try_push(2), Err(TryPushError::Full(2)));
}
