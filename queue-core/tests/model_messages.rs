//! Property test of `MessageQueue` against a sequential reference: messages of random sizes,
//! from nothing to the whole queue, through random sequences of every call.
//!
//! The reference is a FIFO of messages with the queue's room counted in slots: a message
//! takes `ceil((12 + encoded) / 256)` of them, a push goes in exactly when that many are
//! free (else Full, the message handed back), a message larger than the whole queue is
//! `TooLarge`, a pop takes the oldest. Each case makes a queue of 1 to 12 slots and runs up to
//! 80 calls (`try_` and zero-timeout blocking pushes and pops, through a producer handle and a
//! consumer handle of the same queue, and close), comparing every answer, `len` and
//! `is_empty`.
//!
//! Run: `cargo test -p queue-core --test model_messages` (`PROPTEST_CASES` overrides 256,
//! `PROPTEST_RNG_SEED` replays a run).
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: MessageQueue (shared, messages of any size)
//! - Proves: messages of 0 bytes to several slots, pushed and popped with every call and
//!   closed, answer as the reference FIFO with room counted in slots: whole, in order, Full
//!   exactly when the message's slots are not all free, TooLarge past the queue's room.
//! - Cannot prove: sampled; single-threaded (concurrency and crashes are the loom models' and
//!   the fault tests' part).

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;
use queue_core::{
    Consumer, MessageQueue, PopTimeoutError, Producer, PushTimeoutError, ReceiveError, SendError,
    TryPopError, TryPushError,
};

/// The bytes of a slot, and what a message adds to its encoding: its length (4) and its
/// type's fingerprint (8).
const SLOT: usize = MessageQueue::<Vec<u8>>::SLOT;
const OVERHEAD: usize = 12;

/// One call.
#[derive(Clone, Debug)]
enum Call {
    /// `try_push` of a message of this many bytes (before encoding).
    TryPush(usize),
    /// `push_timeout` with a zero timeout.
    PushNow(usize),
    TryPop,
    /// `pop_timeout` with a zero timeout.
    PopNow,
    Close,
}

fn call() -> impl Strategy<Value = Call> {
    // Sizes around one slot, around two and a half, and up to twelve slots (some larger than
    // the queue), most of them small.
    let size = prop_oneof![
        4 => 0usize..40,
        3 => 200usize..300,
        2 => 400usize..800,
        1 => 0usize..3200,
    ];
    prop_oneof![
        4 => size.clone().prop_map(Call::TryPush),
        2 => size.prop_map(Call::PushNow),
        4 => Just(Call::TryPop),
        2 => Just(Call::PopNow),
        1 => Just(Call::Close),
    ]
}

/// What the reference says a push does.
#[derive(Debug, PartialEq)]
enum Pushed {
    Ok,
    Full,
    Closed,
    TooLarge,
}

/// What the reference says a pop does.
#[derive(Debug, PartialEq)]
enum Popped {
    Message(Vec<u8>),
    Empty,
    Closed,
}

/// The sequential reference: a FIFO of messages, its room counted in slots.
struct Reference {
    slots: usize,
    messages: VecDeque<(Vec<u8>, usize)>,
    closed: bool,
}

impl Reference {
    fn used(&self) -> usize {
        self.messages.iter().map(|(_, slots)| slots).sum()
    }

    fn push(&mut self, message: Vec<u8>) -> Pushed {
        let encoded = postcard::to_allocvec(&message).unwrap().len();
        let slots = (OVERHEAD + encoded).div_ceil(SLOT);
        if slots > self.slots {
            Pushed::TooLarge
        } else if self.closed {
            Pushed::Closed
        } else if self.used() + slots > self.slots {
            Pushed::Full
        } else {
            self.messages.push_back((message, slots));
            Pushed::Ok
        }
    }

    fn pop(&mut self) -> Popped {
        match self.messages.pop_front() {
            Some((message, _)) => Popped::Message(message),
            None if self.closed => Popped::Closed,
            None => Popped::Empty,
        }
    }
}

/// A message of `size` bytes, different for each `seed`.
fn message(size: usize, seed: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + seed * 13) as u8).collect()
}

fn try_pushed(answer: Result<(), SendError<Vec<u8>, TryPushError<Vec<u8>>>>) -> Pushed {
    match answer {
        Ok(()) => Pushed::Ok,
        Err(SendError::TooLarge { .. }) => Pushed::TooLarge,
        Err(SendError::Queue(TryPushError::Full(_))) => Pushed::Full,
        Err(SendError::Queue(TryPushError::Closed(_))) => Pushed::Closed,
        Err(other) => panic!("unexpected: {other:?}"),
    }
}

fn pushed_now(answer: Result<(), SendError<Vec<u8>, PushTimeoutError<Vec<u8>>>>) -> Pushed {
    match answer {
        Ok(()) => Pushed::Ok,
        Err(SendError::TooLarge { .. }) => Pushed::TooLarge,
        Err(SendError::Queue(PushTimeoutError::Timeout(_))) => Pushed::Full,
        Err(SendError::Queue(PushTimeoutError::Closed(_))) => Pushed::Closed,
        Err(other) => panic!("unexpected: {other:?}"),
    }
}

fn try_popped(answer: Result<Vec<u8>, ReceiveError<TryPopError>>) -> Popped {
    match answer {
        Ok(message) => Popped::Message(message),
        Err(ReceiveError::Queue(TryPopError::Empty)) => Popped::Empty,
        Err(ReceiveError::Queue(TryPopError::Closed)) => Popped::Closed,
        Err(other) => panic!("unexpected: {other:?}"),
    }
}

fn popped_now(answer: Result<Vec<u8>, ReceiveError<PopTimeoutError>>) -> Popped {
    match answer {
        Ok(message) => Popped::Message(message),
        Err(ReceiveError::Queue(PopTimeoutError::Timeout)) => Popped::Empty,
        Err(ReceiveError::Queue(PopTimeoutError::Closed)) => Popped::Closed,
        Err(other) => panic!("unexpected: {other:?}"),
    }
}

fn run(slots: usize, calls: &[Call]) -> Result<(), TestCaseError> {
    let consumer = MessageQueue::<Vec<u8>, Consumer>::create(slots * SLOT).unwrap();
    let producer = consumer.try_clone_as::<Producer>().unwrap();
    prop_assert_eq!(consumer.capacity(), slots * SLOT);
    let mut reference = Reference {
        slots,
        messages: VecDeque::new(),
        closed: false,
    };
    for (seed, call) in calls.iter().enumerate() {
        match *call {
            Call::TryPush(size) => {
                let sent = message(size, seed);
                let expected = reference.push(sent.clone());
                prop_assert_eq!(try_pushed(producer.try_push(sent)), expected, "{:?}", call);
            }
            Call::PushNow(size) => {
                let sent = message(size, seed);
                let expected = reference.push(sent.clone());
                let answer = producer.push_timeout(sent, Duration::ZERO);
                prop_assert_eq!(pushed_now(answer), expected, "{:?}", call);
            }
            Call::TryPop => prop_assert_eq!(try_popped(consumer.try_pop()), reference.pop()),
            Call::PopNow => {
                let answer = consumer.pop_timeout(Duration::ZERO);
                prop_assert_eq!(popped_now(answer), reference.pop());
            }
            Call::Close => {
                prop_assert_eq!(consumer.close(), !reference.closed);
                reference.closed = true;
            }
        }
        prop_assert_eq!(consumer.len(), reference.used() * SLOT);
        prop_assert_eq!(producer.is_empty(), reference.messages.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(model_check::property_config(
        "queue-core model_messages::messages_of_any_size_answer_as_the_reference",
        "every answer of up to 79 try_ and zero-timeout pushes and pops of messages of 0 to \
         3,200 bytes and closes, through a producer and a consumer handle of a MessageQueue of \
         1 to 12 slots, and len and is_empty after each, equal a FIFO's with its room counted \
         in slots",
        256,
    ))]

    #[test]
    fn messages_of_any_size_answer_as_the_reference(
        slots in 1usize..=12,
        calls in proptest::collection::vec(call(), 0..80),
    ) {
        run(slots, &calls)?;
    }
}
