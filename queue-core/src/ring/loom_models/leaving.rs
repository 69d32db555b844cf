//! loom models of participants that leave the ring while others wait on them: a consumer
//! that dies at each step of a blocking pop (asleep included); a producer that leaves or
//! dies, after which the consumer must be told `Disconnected`, never before it has every
//! value; and a consumer that leaves or dies, after which the producer must be told
//! `Disconnected`, never while the consumer still pops. The harness is the parent module's.

use super::{
    Bound, Shared, check_delivery, drain_and_refill, every_crash_point, number, spawn_as, value,
    victim,
};
use crate::ring::{Participant, Refusal, Side};
use crate::sync::{Barriers, Ordering};

const DEAD_SLEEPER: &str = "a consumer dies at each step of a blocking pop on an empty ring \
                            (its attempts, its registration as a sleeper, its barrier, just \
                            before the futex wait: a process killed in the wait is the same to \
                            the others) while a producer pushes a value and wakes it: a live \
                            sleeper is always woken (no lost wake-up with one bit per \
                            participant); the value is delivered exactly once, or at most \
                            once if the sleeper died; the dead sleeper's registration is \
                            taken out by the next wake that wakes nobody";

/// Participants: 0 the victim, popping (blocking), 1 a producer, 2 the main thread. loom has
/// no clock, so the victim sleeps until woken (the rechecks of a shared sleeper are the
/// fault-injection tests' to check).
fn dead_sleeper(crash_at: u32) {
    let shared = Shared::new(1, 3);
    let barriers = Barriers::within_process();
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            let ring = shared.ring(0);
            let popped = shared
                .not_empty
                .wait_for(barriers, None, ring.claimer(), || ring.try_pop());
            number(popped.expect("only a value ends the pop"))
        })
    });
    let producer = spawn_as(&shared, move |shared| {
        let ring = shared.ring(1);
        assert!(ring.try_push(value(7)).is_ok(), "an empty ring of 1 has room");
        shared.not_empty.wake(barriers, 1, ring.claimer());
    });
    producer.join().unwrap();
    let popped = victim_thread.join().unwrap();
    let mut delivered: Vec<usize> = popped.into_iter().collect();
    delivered.extend(drain_and_refill(&shared, 2));
    if popped.is_some() {
        assert_eq!(delivered, [7], "a live sleeper's value");
    }
    check_delivery(&delivered, &[], &[7]);
    // The victim is dead by now, or has left: one more wake, which wakes nobody, takes a
    // dead registration out.
    let ring = shared.ring(2);
    assert!(ring.try_push(value(8)).is_ok());
    shared.not_empty.wake(barriers, 1, ring.claimer());
    assert_eq!(
        shared.not_empty.sleepers(),
        0,
        "a dead sleeper is still registered: every later push pays a futex wake"
    );
}

#[test]
fn a_consumer_dies_at_any_step_of_a_sleep() {
    every_crash_point(
        "consumer_dies_asleep",
        DEAD_SLEEPER,
        "capacity 1, empty; the victim pops (blocking), a producer pushes 1 value and wakes; \
         the main thread drains and refills, pushes and wakes once more",
        Bound::Exhaustive,
        dead_sleeper,
    );
}

const GONE_PRODUCER: &str = "the only producer pushes 2 values and leaves (clears its bit, \
                             Release), or dies at each step of its pushes, while a consumer pops \
                             until it is told Disconnected: it gets every acknowledged value \
                             first, exactly once and in order (a dead producer's half-pushed \
                             value at most once), and is told Disconnected, never left waiting";

/// Participants: 0 the victim, the only producer; 1 the consumer.
fn gone_producer(crash_at: u32) {
    let shared = Shared::with_producers(2, 2, 1);
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            let ring = shared.ring(0);
            let pushed: Vec<usize> = [10, 11]
                .into_iter()
                .take_while(|&n| ring.try_push(value(n)).is_ok())
                .collect();
            // ORDERING: Release, as `Participants::leave`: the pushes before it are seen by
            // a consumer that sees the bit cleared.
            shared.producers.fetch_and(!1, Ordering::Release);
            pushed
        })
    });
    let consumer = spawn_as(&shared, move |shared| {
        let ring = shared.ring(1);
        let mut got = Vec::new();
        while let Some(n) = shared.until(|| match ring.try_pop() {
            Ok(popped) => Some(Some(number(popped))),
            Err(Refusal::Disconnected) => Some(None),
            Err(Refusal::FullOrEmpty) => None,
            Err(other) => panic!("pop: {other:?}"),
        }) {
            got.push(n);
        }
        got
    });
    let pushed = victim_thread.join().unwrap();
    let got = consumer.join().unwrap();
    match pushed {
        Some(pushed) => assert_eq!(got, pushed, "a producer that left"),
        None => check_delivery(&got, &[], &[10, 11]),
    }
    assert!(got.windows(2).all(|pair| pair[0] < pair[1]), "out of order: {got:?}");
    let member = super::Member {
        shared: &shared,
        me: 1,
    };
    assert!(member.peers_gone(Side::Push), "the producer is gone");
}

#[test]
fn a_consumer_is_told_disconnected_only_after_every_value() {
    every_crash_point(
        "producer_leaves_or_dies",
        GONE_PRODUCER,
        "capacity 2; the victim, the only producer, pushes 2 values and leaves; a consumer \
         pops until Disconnected",
        Bound::Preemptions(4),
        gone_producer,
    );
}

const GONE_CONSUMER: &str = "the only consumer pops 2 values and leaves (clears its bit, \
                             Release), or dies at each step of its pops, while a producer \
                             pushes until it is told Disconnected: the producer is told so only \
                             once the consumer is gone (never while it still wants a value: it \
                             would wait forever), and then it is told so, never left waiting; \
                             the consumer's values come in order, and every value pushed is \
                             delivered at most once (exactly once if the consumer lived)";

/// Participants: 0 the victim, the only consumer; 1 the producer; 2 the main thread.
fn gone_consumer(crash_at: u32) {
    let shared = Shared::with_roles(1, 3, 0b010, 0b001);
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            let ring = shared.ring(0);
            let got: Vec<usize> = (0..2)
                .map(|_| {
                    shared.until(|| match ring.try_pop() {
                        Ok(popped) => Some(number(popped)),
                        Err(Refusal::FullOrEmpty) => None,
                        Err(other) => panic!("pop: {other:?}"),
                    })
                })
                .collect();
            // ORDERING: Release, as `Participants::leave`: the pops before it are seen by a
            // producer that sees the bit cleared.
            shared.consumers.fetch_and(!1, Ordering::Release);
            got
        })
    });
    let producer = spawn_as(&shared, move |shared| {
        let ring = shared.ring(1);
        let mut pushed = Vec::new();
        for n in 10.. {
            let disconnected = shared.until(|| match ring.try_push(value(n)) {
                Ok(()) => Some(false),
                Err((_, Refusal::Disconnected)) => Some(true),
                Err((_, Refusal::FullOrEmpty)) => None,
                Err((_, other)) => panic!("push: {other:?}"),
            });
            if disconnected {
                break;
            }
            pushed.push(n);
        }
        pushed
    });
    let got = victim_thread.join().unwrap();
    let pushed = producer.join().unwrap();
    let mut delivered = got.clone().unwrap_or_default();
    delivered.extend(drain_and_refill(&shared, 2));
    match got {
        Some(got) => {
            assert_eq!(got, [10, 11], "a consumer that lived takes the first two values");
            assert_eq!(delivered, pushed, "a consumer that left");
        }
        None => check_delivery(&delivered, &[], &pushed),
    }
    assert!(
        delivered.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {delivered:?}"
    );
}

#[test]
fn a_producer_is_told_disconnected_only_once_every_consumer_is_gone() {
    every_crash_point(
        "consumer_leaves_or_dies",
        GONE_CONSUMER,
        "capacity 1; the victim, the only consumer, pops 2 values and leaves; a producer \
         pushes until Disconnected; the main thread drains and refills",
        Bound::Preemptions(4),
        gone_consumer,
    );
}
