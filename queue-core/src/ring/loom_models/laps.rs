//! loom models of a claim that reads a cursor laps ahead of the stamps it has seen: one
//! participant goes twice round a ring of one slot (push, pop, push, pop) while another makes
//! one call. Whatever cursor the late call reads (the one it started with, the one a failed
//! compare-and-swap hands back, the one it reloads after a stamp said it was stale), the
//! stamp it then reads must be at most one lap behind it: a stamp two laps behind looks
//! "ahead" (`Readiness::Stale`), the reload finds the same cursor, and on shared memory that
//! reads as a peer writing outside the protocol (`Corrupted`). These models are what each
//! Acquire load of a cursor in `claim` answers to.

use super::{
    Bound, Model, Shared, check_delivery, drain_and_refill, explore, number, spawn_as, value,
};
use crate::ring::Refusal;

const LATE_CALL: &str = "a participant that has seen nothing of another's two laps round the \
                         ring makes one call: it succeeds or answers Full/Empty (never \
                         Corrupted), and every acknowledged value is delivered exactly once";

/// Participant 0 goes twice round a ring of capacity 1: a push, acknowledged or refused Full
/// (the late pusher's value may hold the slot), then a pop, which finds a value unless the
/// late popper took it; participant 1 makes `late_call` once; the main thread (participant 2)
/// drains and refills. Returns the values acknowledged and the values delivered.
fn two_laps_beside(late_call: fn(&Shared) -> Option<usize>) -> (Vec<usize>, Vec<usize>) {
    let shared = Shared::new(1, 3);
    let lapper = spawn_as(&shared, |shared| {
        let ring = shared.ring(0);
        let mut pushed = Vec::new();
        let mut popped = Vec::new();
        for n in [10, 11] {
            match ring.try_push(value(n)) {
                Ok(()) => pushed.push(n),
                Err((_, Refusal::FullOrEmpty)) => {}
                Err((_, other)) => panic!("the lapper's push: {other:?}"),
            }
            match ring.try_pop() {
                Ok(taken) => popped.push(number(taken)),
                Err(Refusal::FullOrEmpty) => {}
                Err(other) => panic!("the lapper's pop: {other:?}"),
            }
        }
        (pushed, popped)
    });
    let late = spawn_as(&shared, late_call);
    let (mut pushed, mut delivered) = lapper.join().unwrap();
    if let Some(late_answer) = late.join().unwrap() {
        match late_answer {
            20 => pushed.push(20),
            popped => delivered.push(popped),
        }
    }
    delivered.extend(drain_and_refill(&shared, 2));
    (pushed, delivered)
}

/// The late call is a push of 20: it answers `Some(20)` if acknowledged.
fn late_push(shared: &Shared) -> Option<usize> {
    match shared.ring(1).try_push(value(20)) {
        Ok(()) => Some(20),
        Err((_, Refusal::FullOrEmpty)) => None,
        Err((_, other)) => panic!("a late push was refused: {other:?}"),
    }
}

/// The late call is a pop: it answers the value it took.
fn late_pop(shared: &Shared) -> Option<usize> {
    match shared.ring(1).try_pop() {
        Ok(popped) => Some(number(popped)),
        Err(Refusal::FullOrEmpty) => None,
        Err(other) => panic!("a late pop was refused: {other:?}"),
    }
}

/// Explores a late call of `late_call` beside the two laps, to 2 preemptions.
fn late_call_model(name: &str, described: &str, late_call: fn(&Shared) -> Option<usize>) {
    explore(
        Model {
            name,
            property: LATE_CALL,
            scenario: described,
            bound: Bound::Preemptions(2),
        },
        move || {
            let (pushed, delivered) = two_laps_beside(late_call);
            check_delivery(&delivered, &pushed, &[]);
        },
    );
}

#[test]
fn a_push_two_laps_late_is_never_told_corrupted_bound_2() {
    late_call_model(
        "a_push_two_laps_late_is_never_told_corrupted",
        "capacity 1; one participant pushes and pops twice (two laps), another pushes once; \
         the main thread drains and refills",
        late_push,
    );
}

#[test]
fn a_pop_two_laps_late_is_never_told_corrupted_bound_2() {
    late_call_model(
        "a_pop_two_laps_late_is_never_told_corrupted",
        "capacity 1; one participant pushes and pops twice (two laps), another pops once; \
         the main thread drains and refills",
        late_pop,
    );
}
