//! loom models of spans: messages of one slot and of several, pushed and popped whole, with a
//! producer or a consumer that dies at each step of a span (see the parent module for what
//! every execution checks).

use model_check::{Bound, Model, explore};

use super::{
    Refusal, Shared, check_delivery, check_in_order, check_lost_at_most, every_crash_point,
    spawn_as, victim,
};

/// The bytes of a slot of the models' rings: two words.
const SLOT: usize = 2 * size_of::<usize>();

/// Message `n`, taking `slots` slots: its number, its length, then bytes made of both, so
/// that a message torn, mixed with another or cut short is told apart.
fn message(n: usize, slots: usize) -> Vec<u8> {
    let len = slots * SLOT - 4 - 1;
    let mut bytes = vec![n as u8, len as u8];
    bytes.extend((2..len).map(|i| (n as u8) ^ (i as u8).wrapping_mul(31)));
    bytes
}

/// The number of a whole message; panics on a torn one.
fn number(bytes: &[u8]) -> usize {
    let n = usize::from(bytes[0]);
    assert!(
        bytes.len() > 2 && usize::from(bytes[1]) == bytes.len(),
        "a torn message was delivered: {bytes:?}"
    );
    let whole = (2..bytes.len()).all(|i| bytes[i] == (n as u8) ^ (i as u8).wrapping_mul(31));
    assert!(whole, "a torn message was delivered: {bytes:?}");
    n
}

/// What a survivor's call answered: done, or Full/Empty (try again once another participant
/// has made progress); any other answer (`Corrupted` above all) fails the model.
fn done_or_refused<R>(answer: Result<R, Refusal>, call: &str) -> Option<R> {
    match answer {
        Ok(done) => Some(done),
        Err(Refusal::FullOrEmpty) => None,
        Err(other) => panic!("{call} answered {other:?}"),
    }
}

impl Shared {
    /// Pushes message `n` of `slots` slots as participant `me`, once there is room.
    fn push_message(&self, me: usize, n: usize, slots: usize) {
        self.until(|| {
            done_or_refused(self.ring(me).try_push_message(&message(n, slots)), "a push")
        });
    }

    /// Pops a message as participant `me`, once there is one, and returns its number.
    fn pop_message(&self, me: usize) -> usize {
        let mut out = Vec::new();
        self.until(|| {
            done_or_refused(self.ring(me).try_pop_message(&mut out), "a pop").map(|()| number(&out))
        })
    }
}

/// The main thread's end of every model: drains the ring's messages as participant `me`,
/// then checks that the whole capacity is back with one message that takes all of it.
fn drain_and_refill_spans(shared: &Shared, me: usize) -> Vec<usize> {
    let ring = shared.ring(me);
    let mut drained = Vec::new();
    let mut out = Vec::new();
    loop {
        match ring.try_pop_message(&mut out) {
            Ok(()) => drained.push(number(&out)),
            Err(Refusal::FullOrEmpty) => break,
            Err(other) => panic!("drain: {other:?}"),
        }
    }
    let capacity = shared.shape.capacity;
    let whole = message(99, capacity);
    assert_eq!(ring.try_push_message(&whole), Ok(()), "capacity lost");
    assert_eq!(ring.try_pop_message(&mut out), Ok(()));
    assert_eq!(number(&out), 99, "the refill came back");
    drained
}

const TWO_PRODUCERS: &str = "two producers push messages of one and two slots while a \
                             consumer pops: every message is delivered exactly once, whole, \
                             never mixed with another, in each producer's order";

#[test]
fn spans_of_two_producers_never_mix() {
    explore(
        Model {
            name: "spans_of_two_producers_never_mix",
            property: TWO_PRODUCERS,
            scenario: "capacity 3; producer A pushes a message of 2 slots then one of 1, \
                       producer B one of 2 slots, a consumer pops 3 messages",
            bound: Bound::Preemptions(2),
        },
        || {
            let shared = Shared::new(3, 3);
            let first = spawn_as(&shared, |shared| {
                shared.push_message(0, 10, 2);
                shared.push_message(0, 11, 1);
            });
            let second = spawn_as(&shared, |shared| shared.push_message(1, 20, 2));
            let consumer = spawn_as(&shared, |shared| {
                (0..3).map(|_| shared.pop_message(2)).collect::<Vec<_>>()
            });
            first.join().unwrap();
            second.join().unwrap();
            let delivered = consumer.join().unwrap();
            check_delivery(&delivered, &[10, 11, 20], &[]);
            let position = |n| delivered.iter().position(|&d| d == n);
            assert!(position(10) < position(11), "FIFO: {delivered:?}");
            assert!(drain_and_refill_spans(&shared, 2).is_empty());
        },
    );
}

const DEAD_SPAN_PRODUCER: &str = "a producer dies at each step of a push of a message of 2 \
                                  slots (announcing, claiming, each slot's words, each \
                                  publication): nothing torn is delivered, its message at most \
                                  once and whole, every acknowledged message exactly once, in \
                                  order; no survivor waits on the dead; the whole capacity \
                                  comes back";

/// Participants: 0 the victim, pushing a message of 2 slots, 1 a producer of two messages of
/// 1 slot, 2 a consumer (and then the main thread).
fn dead_span_producer(crash_at: u32) {
    let shared = Shared::new(3, 3);
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            shared.ring(0).try_push_message(&message(10, 2))
        })
    });
    let producer = spawn_as(&shared, |shared| {
        for n in [20, 21] {
            shared.push_message(1, n, 1);
        }
    });
    let consumer = spawn_as(&shared, |shared| {
        let mut got = Vec::new();
        while !got.contains(&21) {
            got.push(shared.pop_message(2));
        }
        got
    });
    let pushed = victim_thread.join().unwrap();
    producer.join().unwrap();
    let mut delivered = consumer.join().unwrap();
    delivered.extend(drain_and_refill_spans(&shared, 2));
    let position = |n| delivered.iter().position(|&d| d == n);
    assert!(position(20) < position(21), "FIFO: {delivered:?}");
    match pushed {
        Some(Ok(())) => check_delivery(&delivered, &[10, 20, 21], &[]),
        _ => check_delivery(&delivered, &[20, 21], &[10]),
    }
}

#[test]
fn a_producer_dies_at_any_step_of_a_span_push() {
    every_crash_point(
        "producer_dies_mid_span_push",
        DEAD_SPAN_PRODUCER,
        "capacity 3; the victim pushes a message of 2 slots, a producer 2 of 1 slot, a \
         consumer pops until it has the producer's; the main thread drains and refills",
        Bound::Preemptions(2),
        dead_span_producer,
    );
}

const DEAD_SPAN_CONSUMER: &str = "a consumer dies at each step of a pop of a message of 2 \
                                  slots (announcing, claiming, copying, each slot's release): \
                                  every message but the one it claimed is delivered exactly \
                                  once, whole, in order, that one at most once; no survivor \
                                  waits on the dead; the whole capacity comes back";

/// Participants: 0 the victim consumer, 1 a producer, 2 a consumer (and the main thread,
/// which fills the ring first and drains it last).
fn dead_span_consumer(crash_at: u32) {
    let shared = Shared::new(2, 3);
    shared.ring(2).try_push_message(&message(10, 2)).unwrap();
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            let mut out = Vec::new();
            shared.ring(0).try_pop_message(&mut out).map(|()| number(&out))
        })
    });
    let producer = spawn_as(&shared, |shared| shared.push_message(1, 20, 1));
    let consumer = spawn_as(&shared, |shared| shared.pop_message(2));
    let taken = victim_thread.join().unwrap();
    producer.join().unwrap();
    let mut delivered = vec![consumer.join().unwrap()];
    delivered.extend(drain_and_refill_spans(&shared, 2));
    check_in_order(&delivered);
    let all = [10, 20];
    match taken {
        Some(Ok(taken)) => {
            delivered.push(taken);
            check_delivery(&delivered, &all, &[]);
        }
        Some(Err(_)) => check_delivery(&delivered, &all, &[]),
        None => check_lost_at_most(&delivered, &all, 1),
    }
}

#[test]
fn a_consumer_dies_at_any_step_of_a_span_pop() {
    every_crash_point(
        "consumer_dies_mid_span_pop",
        DEAD_SPAN_CONSUMER,
        "capacity 2, full with a message of 2 slots; the victim pops once, a producer pushes \
         a message of 1 slot, a consumer pops 1; the main thread drains and refills",
        Bound::Preemptions(2),
        dead_span_consumer,
    );
}
