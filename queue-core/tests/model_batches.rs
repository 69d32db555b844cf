//! Property test against the sequential reference model, extended with batches and close,
//! over every placement: `Queue`, `BlockingQueue` on the heap, and `BlockingQueue` in a
//! shared mapping (the same ring over storage in a `memfd`).
//!
//! A proptest-state-machine test applies arbitrary sequences of single and batch pushes and
//! pops, zero-timeout blocking calls, and close, and compares every answer, `len` and
//! `is_closed` with `ReferenceQueue`; failures shrink to a minimal sequence. Capacities
//! 1..=16 and batches of 0..=20 values, so batches often wrap around the ring and overflow it.
//!
//! Run: `cargo test -p queue-core --test model_batches` (`PROPTEST_CASES` overrides 512).
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::reference::{ReferenceQueue, Refused};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use queue_core::{
    BlockingQueue, ClosedError, PopTimeoutError, PushTimeoutError, Queue, TryPopError, TryPushError,
};

/// Where the ring under test lives.
#[derive(Clone, Copy, Debug)]
enum Placement {
    Queue,
    BlockingHeap,
    BlockingShared,
}

/// One operation of the state machine.
#[derive(Clone, Debug)]
enum Operation {
    Push(u32),
    Pop,
    PushSlice(Vec<u32>),
    PopSlice(usize),
    /// `push_timeout` with a zero timeout (`try_push` for `Queue`).
    PushNoWait(u32),
    /// `pop_timeout` with a zero timeout (`try_pop` for `Queue`).
    PopNoWait,
    Close,
}

/// An answer, as both the model and the system under test give it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Pushed,
    Popped(u32),
    /// Refused, with the value handed back for a single push.
    Refused(Refused, Option<u32>),
    PushedSlice(usize),
    PoppedSlice(Vec<u32>),
    Closed(bool),
}

#[derive(Clone, Debug)]
struct Reference {
    queue: ReferenceQueue<u32>,
    placement: Placement,
    last_answer: Option<Answer>,
}

impl ReferenceStateMachine for Reference {
    type State = Self;
    type Transition = Operation;

    fn init_state() -> BoxedStrategy<Self> {
        let placement = prop_oneof![
            Just(Placement::Queue),
            Just(Placement::BlockingHeap),
            Just(Placement::BlockingShared),
        ];
        (1usize..=16, placement)
            .prop_map(|(capacity, placement)| Reference {
                queue: ReferenceQueue::new(capacity),
                placement,
                last_answer: None,
            })
            .boxed()
    }

    fn transitions(_: &Self) -> BoxedStrategy<Operation> {
        prop_oneof![
            4 => any::<u32>().prop_map(Operation::Push),
            4 => Just(Operation::Pop),
            3 => prop::collection::vec(any::<u32>(), 0..=20).prop_map(Operation::PushSlice),
            3 => (0usize..=20).prop_map(Operation::PopSlice),
            1 => any::<u32>().prop_map(Operation::PushNoWait),
            1 => Just(Operation::PopNoWait),
            1 => Just(Operation::Close),
        ]
        .boxed()
    }

    fn apply(mut state: Self, operation: &Operation) -> Self {
        let queue = &mut state.queue;
        state.last_answer = Some(match operation {
            Operation::Push(value) | Operation::PushNoWait(value) => {
                match queue.push_or_refuse(*value) {
                    Ok(()) => Answer::Pushed,
                    Err((value, refused)) => Answer::Refused(refused, Some(value)),
                }
            }
            Operation::Pop | Operation::PopNoWait => match queue.pop_or_refuse() {
                Ok(value) => Answer::Popped(value),
                Err(refused) => Answer::Refused(refused, None),
            },
            Operation::PushSlice(values) => match queue.push_slice(values) {
                Ok(count) => Answer::PushedSlice(count),
                Err(refused) => Answer::Refused(refused, None),
            },
            Operation::PopSlice(max) => match queue.pop_slice(*max) {
                Ok(values) => Answer::PoppedSlice(values),
                Err(refused) => Answer::Refused(refused, None),
            },
            Operation::Close => Answer::Closed(queue.close()),
        });
        state
    }
}

/// The queue under test, in its placement.
enum System {
    Queue(Box<Queue<u32>>),
    Blocking(Box<BlockingQueue<u32>>),
}

fn refused_push(refused: Refused, value: u32) -> Answer {
    Answer::Refused(refused, Some(value))
}

fn refused(refused: Refused) -> Answer {
    Answer::Refused(refused, None)
}

impl System {
    fn new(placement: Placement, capacity: usize) -> Self {
        match placement {
            Placement::Queue => Self::Queue(Box::new(Queue::new(capacity).unwrap())),
            Placement::BlockingHeap => {
                Self::Blocking(Box::new(BlockingQueue::new(capacity).unwrap()))
            }
            Placement::BlockingShared => {
                Self::Blocking(Box::new(BlockingQueue::shared(capacity).unwrap()))
            }
        }
    }

    fn try_push(&self, value: u32) -> Answer {
        let result = match self {
            Self::Queue(queue) => queue.try_push(value),
            Self::Blocking(queue) => queue.try_push(value),
        };
        match result {
            Ok(()) => Answer::Pushed,
            Err(TryPushError::Full(value)) => refused_push(Refused::NotReady, value),
            Err(TryPushError::Closed(value)) => refused_push(Refused::Closed, value),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn try_pop(&self) -> Answer {
        let result = match self {
            Self::Queue(queue) => queue.try_pop(),
            Self::Blocking(queue) => queue.try_pop(),
        };
        match result {
            Ok(value) => Answer::Popped(value),
            Err(TryPopError::Empty) => refused(Refused::NotReady),
            Err(TryPopError::Closed) => refused(Refused::Closed),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn push_slice(&self, values: &[u32]) -> Answer {
        let result = match self {
            Self::Queue(queue) => queue.try_push_slice(values),
            Self::Blocking(queue) => queue.try_push_slice(values),
        };
        result.map_or(refused(Refused::Closed), Answer::PushedSlice)
    }

    fn pop_slice(&self, max: usize) -> Answer {
        let mut buffer = vec![0; max];
        let result = match self {
            Self::Queue(queue) => queue.try_pop_slice(&mut buffer),
            Self::Blocking(queue) => queue.try_pop_slice(&mut buffer),
        };
        match result {
            Ok(count) => Answer::PoppedSlice(buffer[..count].to_vec()),
            Err(ClosedError) => refused(Refused::Closed),
        }
    }

    fn push_no_wait(&self, value: u32) -> Answer {
        let Self::Blocking(queue) = self else {
            return self.try_push(value);
        };
        match queue.push_timeout(value, Duration::ZERO) {
            Ok(()) => Answer::Pushed,
            Err(PushTimeoutError::Timeout(value)) => refused_push(Refused::NotReady, value),
            Err(PushTimeoutError::Closed(value)) => refused_push(Refused::Closed, value),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn pop_no_wait(&self) -> Answer {
        let Self::Blocking(queue) = self else {
            return self.try_pop();
        };
        match queue.pop_timeout(Duration::ZERO) {
            Ok(value) => Answer::Popped(value),
            Err(PopTimeoutError::Timeout) => refused(Refused::NotReady),
            Err(PopTimeoutError::Closed) => refused(Refused::Closed),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn close(&self) -> Answer {
        Answer::Closed(match self {
            Self::Queue(queue) => queue.close(),
            Self::Blocking(queue) => queue.close(),
        })
    }

    fn len_and_closed(&self) -> (usize, bool) {
        match self {
            Self::Queue(queue) => (queue.len(), queue.is_closed()),
            Self::Blocking(queue) => (queue.len(), queue.is_closed()),
        }
    }
}

struct EveryPlacementMatchesReference;

impl StateMachineTest for EveryPlacementMatchesReference {
    type SystemUnderTest = System;
    type Reference = Reference;

    fn init_test(reference: &Reference) -> System {
        System::new(reference.placement, reference.queue.capacity())
    }

    fn apply(system: System, reference: &Reference, operation: Operation) -> System {
        let answer = match operation {
            Operation::Push(value) => system.try_push(value),
            Operation::Pop => system.try_pop(),
            Operation::PushSlice(values) => system.push_slice(&values),
            Operation::PopSlice(max) => system.pop_slice(max),
            Operation::PushNoWait(value) => system.push_no_wait(value),
            Operation::PopNoWait => system.pop_no_wait(),
            Operation::Close => system.close(),
        };
        assert_eq!(Some(answer), reference.last_answer);
        system
    }

    fn check_invariants(system: &System, reference: &Reference) {
        assert_eq!(
            system.len_and_closed(),
            (reference.queue.len(), reference.queue.is_closed())
        );
    }
}

prop_state_machine! {
    #![proptest_config(model_check::property_config(
        "queue-core model_batches::every_placement_matches_the_reference_model_with_batches_and_close",
        "every answer of a sequence of 1 to 199 single and batch pushes and pops, zero-timeout \
         blocking calls and closes, on Queue and on BlockingQueue on the heap and in shared \
         memory, and len and closed after each, equal the reference model's",
        512,
    ))]

    #[test]
    fn every_placement_matches_the_reference_model_with_batches_and_close(
        sequential 1..200 => EveryPlacementMatchesReference
    );
}
