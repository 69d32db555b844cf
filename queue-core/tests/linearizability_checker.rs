//! The linearizability checker of `common`, tested on hand-made histories: it must accept the
//! histories a FIFO queue can produce and reject the ones it cannot.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: the linearizability checker the loom models use
//! - Proves: the checker accepts hand-made histories a FIFO queue of the same capacity can
//!   produce (concurrent calls in either order, Empty behind a push still in flight) and
//!   rejects the ones it cannot (a FIFO violation, a lost or duplicated value, Full below the
//!   capacity, both pops Empty under store buffering, an order happens-before rules out): the
//!   loom models' checker is seen to fail.
//! - Cannot prove: fixed hand-made histories, not every history.

mod common;

use common::history::{Answer, Call, Clock, Event, ThreadLog};
use common::linearizability::{Spec, linearize};

/// Records `call -> answer` on `log`, joining `learned` (a popped message's clock).
fn op(log: &mut ThreadLog, call: Call, answer: Answer, learned: Option<Clock>) {
    log.record(call, |_| (answer, learned));
}

fn events(logs: Vec<ThreadLog>) -> Vec<Event> {
    logs.into_iter().flat_map(|log| log.events).collect()
}

#[test]
fn accepts_a_sequential_fifo_history() {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Push(2), Answer::Pushed, None);
    op(&mut main, Call::Push(3), Answer::Full, None);
    op(&mut main, Call::Pop, Answer::Popped(1), None);
    op(&mut main, Call::Pop, Answer::Popped(2), None);
    op(&mut main, Call::Pop, Answer::Empty, None);
    assert_eq!(
        linearize(2, Spec::Strict, &events(vec![main])),
        Ok(vec![0, 1, 2, 3, 4, 5])
    );
}

#[test]
fn rejects_a_fifo_violation_within_one_thread() {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Push(2), Answer::Pushed, None);
    op(&mut main, Call::Pop, Answer::Popped(2), None);
    assert!(linearize(2, Spec::Strict, &events(vec![main])).is_err());
}

#[test]
fn rejects_a_lost_value_and_a_duplicate() {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Pop, Answer::Empty, None);
    assert!(
        linearize(1, Spec::Strict, &events(vec![main])).is_err(),
        "lost"
    );

    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Pop, Answer::Popped(1), None);
    op(&mut main, Call::Pop, Answer::Popped(1), None);
    assert!(
        linearize(1, Spec::Strict, &events(vec![main])).is_err(),
        "duplicated"
    );
}

#[test]
fn rejects_full_below_capacity_and_pushed_above_it() {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Full, None);
    assert!(linearize(1, Spec::Strict, &events(vec![main])).is_err());

    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Push(2), Answer::Pushed, None);
    assert!(linearize(1, Spec::Strict, &events(vec![main])).is_err());
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    // Thread 1 pushes while thread 2 pops Empty: the pop can be ordered first.
    let main = ThreadLog::main();
    let mut producer = main.fork(1);
    let mut consumer = main.fork(2);
    op(&mut producer, Call::Push(7), Answer::Pushed, None);
    op(&mut consumer, Call::Pop, Answer::Empty, None);
    assert!(linearize(1, Spec::Strict, &events(vec![main, producer, consumer])).is_ok());
}

#[test]
fn rejects_store_buffering_both_empty() {
    // Each thread pushes, then pops Empty. Whichever push takes effect first, the other
    // thread's pop comes after it, so both answers cannot be Empty.
    let main = ThreadLog::main();
    let mut first = main.fork(1);
    let mut second = main.fork(2);
    op(&mut first, Call::Push(1), Answer::Pushed, None);
    op(&mut first, Call::Pop, Answer::Empty, None);
    op(&mut second, Call::Push(2), Answer::Pushed, None);
    op(&mut second, Call::Pop, Answer::Empty, None);
    // Pops that steal each other's value are fine in the model, Empty twice is not.
    assert!(linearize(4, Spec::Strict, &events(vec![main, first, second])).is_err());
}

#[test]
fn a_popped_message_carries_its_producers_clock() {
    // The pop of a message learns what its producer had completed before pushing it, and no
    // more: the push itself is still concurrent with the pop.
    let main = ThreadLog::main();
    let mut producer = main.fork(1);
    let mut consumer = main.fork(2);
    op(&mut producer, Call::Push(0), Answer::Pushed, None);
    let at_second_push = producer.clock;
    op(&mut producer, Call::Push(1), Answer::Pushed, None);
    op(
        &mut consumer,
        Call::Pop,
        Answer::Popped(0),
        Some(at_second_push),
    );
    let (first_push, second_push, pop) =
        (producer.events[0], producer.events[1], consumer.events[0]);
    assert!(first_push.precedes(&second_push));
    assert!(
        !first_push.precedes(&pop),
        "the pop learns only when its thread's next op starts"
    );
    op(&mut consumer, Call::Pop, Answer::Popped(1), None);
    assert!(first_push.precedes(&consumer.events[1]));
    assert!(!second_push.precedes(&consumer.events[1]));
}

#[test]
fn happens_before_rules_out_an_order_that_interleaving_alone_allows() {
    // Thread 1 pushes 5. Thread 2 pops 5 (learning thread 1's clock at the push's start: it
    // knows nothing of the push's end). So a second thread-1 push, 6, is concurrent with the
    // pop, and an Empty pop by thread 2 after it is fine...
    let main = ThreadLog::main();
    let mut producer = main.fork(1);
    let mut consumer = main.fork(2);
    let before_push = producer.clock;
    op(&mut producer, Call::Push(5), Answer::Pushed, None);
    op(&mut producer, Call::Push(6), Answer::Pushed, None);
    op(
        &mut consumer,
        Call::Pop,
        Answer::Popped(5),
        Some(before_push),
    );
    op(&mut consumer, Call::Pop, Answer::Empty, None);
    let history = events(vec![main.clone(), producer.clone(), consumer.clone()]);
    assert!(linearize(2, Spec::Strict, &history).is_ok());
    // ...but once the main thread has joined both, it must find 6.
    let mut main = main;
    let mut all = main.join(producer);
    all.extend(main.join(consumer));
    op(&mut main, Call::Pop, Answer::Empty, None);
    all.extend(main.events);
    assert!(linearize(2, Spec::Strict, &all).is_err());
}

/// Thread 1 pushes 1 (and is slow); thread 2 pushes 2, then pops Empty; then the main thread
/// joins both and drains 1 and 2.
fn empty_behind_an_in_flight_push() -> Vec<Event> {
    let mut main = ThreadLog::main();
    let mut slow = main.fork(1);
    let mut fast = main.fork(2);
    op(&mut slow, Call::Push(1), Answer::Pushed, None);
    op(&mut fast, Call::Push(2), Answer::Pushed, None);
    op(&mut fast, Call::Pop, Answer::Empty, None);
    let mut all = main.join(slow);
    all.extend(main.join(fast));
    op(&mut main, Call::Pop, Answer::Popped(1), None);
    op(&mut main, Call::Pop, Answer::Popped(2), None);
    all.extend(main.events);
    all
}

#[test]
fn empty_behind_an_in_flight_push_is_exempt_but_not_strict() {
    let history = empty_behind_an_in_flight_push();
    assert!(linearize(2, Spec::Strict, &history).is_err());
    assert!(linearize(2, Spec::InFlightExempt, &history).is_ok());
}

#[test]
fn empty_behind_a_returned_push_is_never_exempt() {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Pop, Answer::Empty, None);
    let history = main.events;
    assert!(linearize(2, Spec::InFlightExempt, &history).is_err());
}

/// A queue of 2 holds 1 and 2. Thread 1 pops 1 (and is slow); thread 2 pops 2, then pushes 3
/// and is answered Full, since the slot of 1 is not yet released.
fn full_before_an_in_flight_pop() -> Vec<Event> {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Push(2), Answer::Pushed, None);
    let mut slow = main.fork(1);
    let mut fast = main.fork(2);
    op(&mut slow, Call::Pop, Answer::Popped(1), None);
    op(&mut fast, Call::Pop, Answer::Popped(2), None);
    op(&mut fast, Call::Push(3), Answer::Full, None);
    let mut all = main.events.clone();
    all.extend(main.join(slow));
    all.extend(main.join(fast));
    all
}

#[test]
fn full_before_an_in_flight_pop_is_exempt_but_not_strict() {
    let history = full_before_an_in_flight_pop();
    assert!(linearize(2, Spec::Strict, &history).is_err());
    assert!(linearize(2, Spec::InFlightExempt, &history).is_ok());
}

#[test]
fn full_after_a_returned_pop_is_never_exempt() {
    let mut main = ThreadLog::main();
    op(&mut main, Call::Push(1), Answer::Pushed, None);
    op(&mut main, Call::Pop, Answer::Popped(1), None);
    op(&mut main, Call::Push(2), Answer::Full, None);
    assert!(linearize(1, Spec::InFlightExempt, &main.events).is_err());
}
