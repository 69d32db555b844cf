//! Property test against the sequential reference model, extended with batches and close,
//! over every placement: `Queue` and `BlockingQueue`, each on the heap and in a shared mapping
//! (the same ring over storage in a `memfd`).
//!
//! A proptest-state-machine test applies arbitrary sequences of single and batch pushes and
//! pops, zero-timeout blocking calls, and close, and compares every answer, `len` and
//! `is_closed` with `ReferenceQueue`; failures shrink to a minimal sequence. Capacities
//! 1..=16 and batches of 0..=20 values, so batches often wrap around the ring and overflow it.
//!
//! Every placement runs with 4-byte values and with 64-byte ones (a value per cache line, so
//! the ring spaces the slots' stamps a cache line apart as well).
//!
//! Run: `cargo test -p queue-core --test model_batches` (`PROPTEST_CASES` overrides 512).
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: Queue, BlockingQueue (heap and shared)
//! - Proves: single and batch operations, zero-timeout calls and close answer as the reference
//!   model, in every placement.
//! - Cannot prove: sampled; single-threaded (concurrency is the loom suites' part).

mod common;

use std::time::Duration;

use common::reference::{ReferenceQueue, Refused};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use queue_core::{
    BlockingQueue, Plain, PopError, PopTimeoutError, PushSliceError, PushTimeoutError, Queue,
    Shared, TryPopError, TryPushError,
};

/// Where the ring under test lives.
#[derive(Clone, Copy, Debug)]
enum Placement {
    Queue,
    QueueShared,
    BlockingHeap,
    BlockingShared,
}

/// The size of the values the ring under test holds.
#[derive(Clone, Copy, Debug)]
enum Width {
    /// `u32`: sixteen values to a cache line.
    Narrow,
    /// [`Wide`]: a value per cache line.
    Wide,
}

/// A 64-byte value made from a `u32`: the number, then the 15 numbers after it.
type Wide = [u32; 16];

/// A value the ring under test holds, made from the model's `u32`s and back.
trait Element: Plain + Copy + Default + std::fmt::Debug {
    fn from_u32(value: u32) -> Self;
    /// The `u32` this value was made from; panics if the value was garbled.
    fn to_u32(self) -> u32;
}

impl Element for u32 {
    fn from_u32(value: u32) -> Self {
        value
    }

    fn to_u32(self) -> u32 {
        self
    }
}

impl Element for Wide {
    fn from_u32(value: u32) -> Self {
        core::array::from_fn(|i| value.wrapping_add(i as u32))
    }

    fn to_u32(self) -> u32 {
        assert_eq!(self, Self::from_u32(self[0]), "a wide value was garbled");
        self[0]
    }
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
    width: Width,
    last_answer: Option<Answer>,
}

impl ReferenceStateMachine for Reference {
    type State = Self;
    type Transition = Operation;

    fn init_state() -> BoxedStrategy<Self> {
        let placement = prop_oneof![
            Just(Placement::Queue),
            Just(Placement::QueueShared),
            Just(Placement::BlockingHeap),
            Just(Placement::BlockingShared),
        ];
        let width = prop_oneof![Just(Width::Narrow), Just(Width::Wide)];
        (1usize..=16, placement, width)
            .prop_map(|(capacity, placement, width)| Reference {
                queue: ReferenceQueue::new(capacity),
                placement,
                width,
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

/// The queue under test, in its placement, with values of its width.
enum System {
    Narrow(Placed<u32>),
    Wide(Placed<Wide>),
}

/// The queue under test, in its placement.
enum Placed<E> {
    Queue(Box<Queue<E>>),
    QueueShared(Box<Queue<E, Shared>>),
    Blocking(Box<BlockingQueue<E>>),
    BlockingShared(Box<BlockingQueue<E, Shared>>),
}

/// Evaluates `$call` with `$queue` bound to the queue under test, whatever its type.
macro_rules! on_queue {
    ($placed:expr, |$queue:ident| $call:expr) => {
        match $placed {
            Placed::Queue($queue) => $call,
            Placed::QueueShared($queue) => $call,
            Placed::Blocking($queue) => $call,
            Placed::BlockingShared($queue) => $call,
        }
    };
}

/// Evaluates `$call` with `$queue` bound to the blocking queue under test, or `$otherwise`.
macro_rules! on_blocking_queue {
    ($placed:expr, |$queue:ident| $call:expr, $otherwise:expr) => {
        match $placed {
            Placed::Blocking($queue) => $call,
            Placed::BlockingShared($queue) => $call,
            Placed::Queue(_) | Placed::QueueShared(_) => $otherwise,
        }
    };
}

fn refused_push(refused: Refused, value: u32) -> Answer {
    Answer::Refused(refused, Some(value))
}

fn refused(refused: Refused) -> Answer {
    Answer::Refused(refused, None)
}

impl System {
    fn new(placement: Placement, width: Width, capacity: usize) -> Self {
        match width {
            Width::Narrow => Self::Narrow(Placed::new(placement, capacity)),
            Width::Wide => Self::Wide(Placed::new(placement, capacity)),
        }
    }

    fn apply(&self, operation: Operation) -> Answer {
        match self {
            Self::Narrow(queue) => queue.apply(operation),
            Self::Wide(queue) => queue.apply(operation),
        }
    }

    fn len_and_closed(&self) -> (usize, bool) {
        match self {
            Self::Narrow(queue) => queue.len_and_closed(),
            Self::Wide(queue) => queue.len_and_closed(),
        }
    }
}

impl<E: Element> Placed<E> {
    fn new(placement: Placement, capacity: usize) -> Self {
        match placement {
            Placement::Queue => Self::Queue(Box::new(Queue::new(capacity).unwrap())),
            Placement::QueueShared => Self::QueueShared(Box::new(Queue::create(capacity).unwrap())),
            Placement::BlockingHeap => {
                Self::Blocking(Box::new(BlockingQueue::new(capacity).unwrap()))
            }
            Placement::BlockingShared => {
                Self::BlockingShared(Box::new(BlockingQueue::create(capacity).unwrap()))
            }
        }
    }

    fn apply(&self, operation: Operation) -> Answer {
        match operation {
            Operation::Push(value) => self.try_push(value),
            Operation::Pop => self.try_pop(),
            Operation::PushSlice(values) => self.push_slice(&values),
            Operation::PopSlice(max) => self.pop_slice(max),
            Operation::PushNoWait(value) => self.push_no_wait(value),
            Operation::PopNoWait => self.pop_no_wait(),
            Operation::Close => self.close(),
        }
    }

    fn try_push(&self, value: u32) -> Answer {
        let element = E::from_u32(value);
        let result = on_queue!(self, |queue| queue.try_push(element));
        match result {
            Ok(()) => Answer::Pushed,
            Err(TryPushError::Full(back)) => refused_push(Refused::FullOrEmpty, back.to_u32()),
            Err(TryPushError::Closed(back)) => refused_push(Refused::Closed, back.to_u32()),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn try_pop(&self) -> Answer {
        let result = on_queue!(self, |queue| queue.try_pop());
        match result {
            Ok(value) => Answer::Popped(value.to_u32()),
            Err(TryPopError::Empty) => refused(Refused::FullOrEmpty),
            Err(TryPopError::Closed) => refused(Refused::Closed),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn push_slice(&self, values: &[u32]) -> Answer {
        let elements: Vec<E> = values.iter().map(|&value| E::from_u32(value)).collect();
        let result = on_queue!(self, |queue| queue.try_push_slice(&elements));
        match result {
            Ok(count) => Answer::PushedSlice(count),
            Err(PushSliceError::Closed) => refused(Refused::Closed),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn pop_slice(&self, max: usize) -> Answer {
        let mut buffer = vec![E::default(); max];
        let result = on_queue!(self, |queue| queue.try_pop_slice(&mut buffer));
        match result {
            Ok(count) => Answer::PoppedSlice(buffer[..count].iter().map(|e| e.to_u32()).collect()),
            Err(PopError::Closed) => refused(Refused::Closed),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn push_no_wait(&self, value: u32) -> Answer {
        let result = on_blocking_queue!(
            self,
            |queue| queue.push_timeout(E::from_u32(value), Duration::ZERO),
            return self.try_push(value)
        );
        match result {
            Ok(()) => Answer::Pushed,
            Err(PushTimeoutError::Timeout(back)) => {
                refused_push(Refused::FullOrEmpty, back.to_u32())
            }
            Err(PushTimeoutError::Closed(back)) => refused_push(Refused::Closed, back.to_u32()),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn pop_no_wait(&self) -> Answer {
        let result = on_blocking_queue!(
            self,
            |queue| queue.pop_timeout(Duration::ZERO),
            return self.try_pop()
        );
        match result {
            Ok(value) => Answer::Popped(value.to_u32()),
            Err(PopTimeoutError::Timeout) => refused(Refused::FullOrEmpty),
            Err(PopTimeoutError::Closed) => refused(Refused::Closed),
            Err(other) => panic!("an answer the model does not know: {other:?}"),
        }
    }

    fn close(&self) -> Answer {
        Answer::Closed(on_queue!(self, |queue| queue.close()))
    }

    fn len_and_closed(&self) -> (usize, bool) {
        on_queue!(self, |queue| (queue.len(), queue.is_closed()))
    }
}

struct EveryPlacementMatchesReference;

impl StateMachineTest for EveryPlacementMatchesReference {
    type SystemUnderTest = System;
    type Reference = Reference;

    fn init_test(reference: &Reference) -> System {
        System::new(
            reference.placement,
            reference.width,
            reference.queue.capacity(),
        )
    }

    fn apply(system: System, reference: &Reference, operation: Operation) -> System {
        let answer = system.apply(operation);
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
         memory, with 4-byte and 64-byte values, and len and closed after each, equal the \
         reference model's",
        512,
    ))]

    #[test]
    fn every_placement_matches_the_reference_model_with_batches_and_close(
        sequential 1..200 => EveryPlacementMatchesReference
    );
}
