//! loom models of the blocking layer (the wait/wake protocol over the futex stand-in, and
//! close) and of batch claims racing single operations.
//!
//! Under loom the futex is a mutex and condition variable with the kernel's contract (see the
//! crate's `sync` facade): an untimed sleep that is never woken leaves its thread blocked, and
//! loom fails the model with "deadlock" when every thread is blocked. A timed sleep models its
//! timer firing as early as it can. So in every execution below: no wake-up is lost, no
//! sleeper is left behind, and every value is delivered exactly once.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p queue-core --test loom_blocking`.
//!
//! # Verification
//!
//! - Checker: loom
//! - Primitive: BlockingQueue (wait lists, close, batches)
//! - Proves: no lost wake-up and no sleeper left behind (a sleeper never woken fails the model as a
//!   deadlock); close wakes every sleeper, drains, then refuses; a timeout racing a wake loses
//!   nothing; a batch's values are claimed in one step, adjacent, in order, once each.
//! - Cannot prove: the futex is a mutex and condition variable with its contract (no real kernel);
//!   a timed wait's timer fires as early as it can; close's two SeqCst accesses (the flag, then the
//!   mark) are modelled as AcqRel, which allows more executions, never fewer; the shared-memory
//!   placement is not modelled (loom's atomics are not memory), see the cross-process suite.
#![cfg(loom)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use loom::thread;
use model_check::{Bound, Model, explore};
use queue_core::{BlockingQueue, PopError, PopTimeoutError, Queue, TryPopError};

/// Long enough never to expire in real time; the loom stand-in fires it at once anyway.
const TIMEOUT: Duration = Duration::from_secs(3600);

// 1. A getter sleeping on an empty queue is woken by a putter.

#[test]
fn getter_sleeping_on_empty_is_woken_by_a_put_exhaustive() {
    explore(
        Model {
            name: "getter_sleeping_on_empty_is_woken_by_a_put",
            property: "a getter asleep on an empty queue is woken by the put and gets its value (a sleeper never woken fails the model as a deadlock)",
            scenario: "1 thread pops (blocking) while the main thread pushes 1 value; capacity 1",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(BlockingQueue::new(1).unwrap());
            let getter = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.pop())
            };
            queue.push(7).unwrap();
            assert_eq!(getter.join().unwrap(), Ok(7));
        },
    );
}

#[test]
fn two_getters_sleeping_on_empty_are_woken_by_two_puts_bound_4() {
    explore(
        Model {
            name: "two_getters_sleeping_on_empty_are_woken_by_two_puts",
            property: "two getters asleep on an empty queue are both woken by two puts, and each gets one of the values",
            scenario: "2 threads pop (blocking) while the main thread pushes 2 values; capacity 1",
            bound: Bound::Preemptions(4),
        },
        || {
            let queue = Arc::new(BlockingQueue::new(1).unwrap());
            let getters: Vec<_> = (0..2)
                .map(|_| {
                    let queue = Arc::clone(&queue);
                    thread::spawn(move || queue.pop().unwrap())
                })
                .collect();
            queue.push(1).unwrap();
            queue.push(2).unwrap();
            let mut got: Vec<u32> = getters.into_iter().map(|g| g.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        },
    );
}

// 2. A putter sleeping on a full queue is woken by a getter.

#[test]
fn putter_sleeping_on_full_is_woken_by_a_get_exhaustive() {
    explore(
        Model {
            name: "putter_sleeping_on_full_is_woken_by_a_get",
            property: "a putter asleep on a full queue is woken by the get that makes room, and its value goes in after the one before",
            scenario: "1 thread pushes (blocking) into a full queue while the main thread pops; capacity 1",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(BlockingQueue::new(1).unwrap());
            queue.push(1).unwrap();
            let putter = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.push(2))
            };
            assert_eq!(queue.pop(), Ok(1));
            putter.join().unwrap().unwrap();
            assert_eq!(queue.try_pop(), Ok(2));
        },
    );
}

// 3. Close while callers sleep: every sleeper wakes; values pushed before the close drain.

#[test]
fn close_wakes_a_sleeping_getter_and_a_sleeping_putter_exhaustive() {
    explore(
        Model {
            name: "close_wakes_a_sleeping_getter_and_a_sleeping_putter",
            property: "close wakes a getter asleep on an empty queue and a putter asleep on a full one; the putter gets its value back, and the value pushed before the close drains before the queue answers closed",
            scenario: "1 thread pops an empty queue, 1 thread pushes into a full queue, the main thread closes both; capacity 1 each",
            bound: Bound::Exhaustive,
        },
        || {
            // Two queues of capacity 1, one empty and one full, closed by one thread: a
            // getter sleeps on the first while a putter sleeps on the second.
            let empty = Arc::new(BlockingQueue::<u32>::new(1).unwrap());
            let full = Arc::new(BlockingQueue::new(1).unwrap());
            full.push(1).unwrap();
            let getter = {
                let empty = Arc::clone(&empty);
                thread::spawn(move || empty.pop())
            };
            let putter = {
                let full = Arc::clone(&full);
                thread::spawn(move || full.push(2))
            };
            empty.close();
            full.close();
            assert_eq!(getter.join().unwrap(), Err(PopError::Closed));
            assert_eq!(putter.join().unwrap().unwrap_err().into_inner(), 2);
            assert_eq!(
                full.pop(),
                Ok(1),
                "the value pushed before the close drains"
            );
            assert_eq!(full.pop(), Err(PopError::Closed));
        },
    );
}

#[test]
fn close_racing_a_put_and_a_sleeping_get_bound_6() {
    explore(
        Model {
            name: "close_racing_a_put_and_a_sleeping_get",
            property: "a put racing close either goes in (and its value is got or drained) or fails, a sleeping get is never left asleep, and the closed queue ends empty",
            scenario: "1 thread pops (blocking), 1 thread pushes, the main thread closes; capacity 1",
            bound: Bound::Preemptions(6),
        },
        || {
            let queue = Arc::new(BlockingQueue::new(1).unwrap());
            let getter = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.pop())
            };
            let putter = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.push(5).is_ok())
            };
            queue.close();
            let pushed = putter.join().unwrap();
            let got = getter.join().unwrap();
            let drained = queue.try_pop().ok();
            // The push went in before the close (and its value is got or drained) or failed.
            if pushed {
                assert!(got == Ok(5) || drained == Some(5), "{got:?} {drained:?}");
            } else {
                assert_eq!(got, Err(PopError::Closed));
            }
            assert_eq!(queue.try_pop(), Err(TryPopError::Closed));
        },
    );
}

// 4. A timeout racing a wake: the getter gets the value or times out, and then the value is
//    still in the queue; nothing is lost and nobody is left asleep.

#[test]
fn timeout_racing_a_wake_exhaustive() {
    explore(
        Model {
            name: "timeout_racing_a_wake",
            property: "a getter whose timeout races a put gets the value or times out with the value still queued, and a later sleeper is still woken",
            scenario: "1 thread pops with a timeout while the main thread pushes, then a second thread pops (blocking) and the main thread pushes again; capacity 1",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(BlockingQueue::new(1).unwrap());
            let getter = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.pop_timeout(TIMEOUT))
            };
            queue.push(3).unwrap();
            match getter.join().unwrap() {
                Ok(value) => assert_eq!(value, 3),
                Err(PopTimeoutError::Timeout) => assert_eq!(queue.try_pop(), Ok(3)),
                Err(other) => panic!("unexpected {other:?}"),
            }
            // The timed-out getter left: a later sleeper is still woken.
            let second = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.pop())
            };
            queue.push(4).unwrap();
            assert_eq!(second.join().unwrap(), Ok(4));
        },
    );
}

// 5. A batch racing single operations: each value exactly once, a batch's values adjacent
//    and in order (one claim), each producer's order kept.

#[test]
fn batch_push_racing_a_single_push_and_a_batch_pop_exhaustive() {
    explore(
        Model {
            name: "batch_push_racing_a_single_push_and_a_batch_pop",
            property: "a batch push claims its values in one step: they come out once each, adjacent and in order, beside a racing single push and batch pop",
            scenario: "1 thread pushes a batch of 3, 1 thread pushes 1 value, the main thread pops a batch of up to 2, then drains; capacity 3",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(Queue::new(3).unwrap());
            let batch = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.try_push_slice(&[101, 102, 103]).unwrap())
            };
            let single = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.try_push(201).is_ok())
            };
            let mut popped = Vec::new();
            let mut buffer = [0; 2];
            let n = queue.try_pop_slice(&mut buffer).unwrap();
            popped.extend_from_slice(&buffer[..n]);
            let batched = batch.join().unwrap();
            let single_went_in = single.join().unwrap();
            while let Ok(value) = queue.try_pop() {
                popped.push(value);
            }
            let expected_batch = &[101, 102, 103][..batched];
            let batch_values: Vec<i32> = popped.iter().copied().filter(|v| *v < 200).collect();
            assert_eq!(
                batch_values, expected_batch,
                "a batch's values in order, once each"
            );
            assert_eq!(popped.contains(&201), single_went_in);
            assert_eq!(popped.len(), batched + usize::from(single_went_in));
            if let Some(start) = popped.iter().position(|v| *v == 101) {
                assert_eq!(&popped[start..start + batched], expected_batch, "adjacent");
            }
        },
    );
}

#[test]
fn batch_pop_racing_a_single_pop_exhaustive() {
    explore(
        Model {
            name: "batch_pop_racing_a_single_pop",
            property: "a batch pop racing a single pop takes consecutive values, and every value comes out exactly once",
            scenario: "the main thread pops a batch of up to 3 from a full queue while 1 thread pops 1 value; capacity 3",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(Queue::new(3).unwrap());
            queue.try_push_slice(&[1, 2, 3]).unwrap();
            let single = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.try_pop().ok())
            };
            let mut buffer = [0; 3];
            let n = queue.try_pop_slice(&mut buffer).unwrap();
            let batch = buffer[..n].to_vec();
            let other = single.join().unwrap();
            let mut all = batch.clone();
            all.extend(other);
            while let Ok(value) = queue.try_pop() {
                all.push(value);
            }
            all.sort_unstable();
            assert_eq!(all, [1, 2, 3], "each value exactly once");
            assert!(
                batch.windows(2).all(|w| w[1] == w[0] + 1),
                "a batch is consecutive: {batch:?}"
            );
        },
    );
}

// 6. Batches whose claims cross the end of the ring (two runs of slots, the second on the
//    next lap) racing each other.

#[test]
fn batches_across_the_end_of_the_ring_exhaustive() {
    explore(
        Model {
            name: "batches_across_the_end_of_the_ring",
            property: "a batch push and a batch pop whose claims wrap from the ring's last slot \
                       to its first (the next lap) move each value exactly once and in order",
            scenario: "cursors moved to the last slot first; 1 thread pushes a batch of 3, the \
                       main thread pops batches of up to 3 until it has them all; capacity 3",
            bound: Bound::Exhaustive,
        },
        || {
            let queue = Arc::new(Queue::new(3).unwrap());
            // Move both cursors to slot 2 (the last), so both batches wrap.
            queue.try_push_slice(&[0, 0]).unwrap();
            let mut buffer = [0; 3];
            assert_eq!(queue.try_pop_slice(&mut buffer), Ok(2));
            let pusher = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.try_push_slice(&[1, 2, 3]).unwrap())
            };
            let mut popped = Vec::new();
            let mut batches = 0;
            while popped.len() < 3 {
                let n = queue.try_pop_slice(&mut buffer).unwrap();
                if n > 0 {
                    batches += 1;
                }
                popped.extend_from_slice(&buffer[..n]);
                assert!(batches <= 3 && popped.len() <= 3);
                if n == 0 {
                    thread::yield_now();
                }
            }
            assert_eq!(
                pusher.join().unwrap(),
                3,
                "three free slots: one claim of 3"
            );
            assert_eq!(
                popped,
                [1, 2, 3],
                "each value once, in order, across the wrap"
            );
        },
    );
}
