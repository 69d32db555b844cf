//! The message queue through every path a message takes: sizes from nothing to the whole
//! queue, wrapping round the ring, refusals, other types, hostile bytes and other codecs.

use serde::{Deserialize, Serialize};

use super::MessageQueue;
use super::super::slots::{SLOT_BYTES, Slot};
use crate::{BlockingQueue, Consumer, PopError, Producer, Shared};
use crate::{ReceiveError, SendError, TryPopError};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Circle { radius: f64 },
    Named(String),
    Nothing,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Job {
    name: String,
    inputs: Vec<u32>,
    urgent: bool,
    deadline: Option<u64>,
    shape: Shape,
}

fn job(n: u32) -> Job {
    Job {
        name: format!("job {n}"),
        inputs: (0..n).collect(),
        urgent: n % 2 == 0,
        deadline: (n > 1).then_some(u64::from(n) * 1000),
        shape: [Shape::Circle { radius: 1.5 }, Shape::Named("x".into()), Shape::Nothing]
            [n as usize % 3]
            .clone(),
    }
}

/// A queue of `slots` slots.
fn queue_of<M>(slots: usize) -> MessageQueue<M> {
    MessageQueue::create(slots * SLOT_BYTES).unwrap()
}

/// The raw slots of `queue`'s mapping, as a peer that writes anything sees them.
fn raw_slots<M>(queue: &MessageQueue<M>) -> BlockingQueue<Slot, Shared> {
    BlockingQueue::attach(queue.fd().try_clone_to_owned().unwrap()).unwrap()
}

#[test]
fn any_serde_message_crosses_in_order() {
    let queue = queue_of::<Job>(8);
    for n in 0..8 {
        queue.try_push(job(n)).unwrap();
    }
    assert!(queue.try_push(job(9)).unwrap_err().queue_error().unwrap().is_full());
    assert_eq!(queue.len(), queue.capacity());
    for n in 0..8 {
        assert_eq!(queue.try_pop(), Ok(job(n)));
    }
    assert_eq!(queue.try_pop(), Err(ReceiveError::Queue(TryPopError::Empty)));
}

#[test]
fn messages_of_every_size_wrap_round_the_ring_in_order() {
    let queue = queue_of::<Vec<u8>>(7);
    let max = queue.max_message();
    assert_eq!(max, 7 * SLOT_BYTES - 12);
    // Sizes around the slot's edges and up to the whole queue, pushed and popped so that
    // the spans start at every slot and wrap round the ring's end.
    let sizes = [0, 1, 239, 240, 241, 243, 244, 245, 500, 1000, 1023, 1024, 1500];
    let mut pushed = std::collections::VecDeque::new();
    let mut next = 0u8;
    for round in 0..200 {
        let size = sizes[round % sizes.len()];
        let message: Vec<u8> = (0..size).map(|i| next.wrapping_add(i as u8)).collect();
        next = next.wrapping_add(1);
        loop {
            match queue.try_push(message.clone()) {
                Ok(()) => break,
                Err(error) => {
                    assert!(error.queue_error().is_some_and(|error| error.is_full()), "{error:?}");
                    assert_eq!(queue.try_pop().unwrap(), pushed.pop_front().unwrap());
                }
            }
        }
        pushed.push_back(message);
        if round % 3 == 0 {
            assert_eq!(queue.try_pop().unwrap(), pushed.pop_front().unwrap());
        }
    }
    while let Some(message) = pushed.pop_front() {
        assert_eq!(queue.try_pop().unwrap(), message);
    }
    assert!(queue.is_empty());
    // The largest message takes the whole queue (postcard writes a `Vec`'s length first).
    let largest = vec![9u8; max - 2];
    queue.push(largest.clone()).unwrap();
    assert_eq!(queue.len(), queue.capacity());
    assert_eq!(queue.pop().unwrap(), largest);
}

#[test]
fn a_message_larger_than_the_queue_is_handed_back() {
    let queue = queue_of::<Vec<u8>>(4);
    let large = vec![1u8; queue.max_message()];
    let error = queue.push(large.clone()).unwrap_err();
    let limit = 4 * SLOT_BYTES - 12;
    assert!(
        matches!(error, SendError::TooLarge { encoded, limit: l, .. } if encoded == limit + 2 && l == limit),
        "{error:?}"
    );
    assert_eq!(error.into_inner(), large, "the message comes back");
    assert!(queue.is_empty(), "nothing was pushed");
}

#[test]
fn a_large_message_waits_for_all_of_its_room() {
    let queue = queue_of::<Vec<u8>>(4);
    queue.push(vec![1; 10]).unwrap();
    let large = vec![2u8; 3 * SLOT_BYTES];
    let error = queue.try_push(large.clone()).unwrap_err();
    assert!(error.queue_error().unwrap().is_full(), "three slots are free, it needs four");
    let error = queue
        .push_timeout(large.clone(), std::time::Duration::from_millis(20))
        .unwrap_err();
    assert!(error.queue_error().unwrap().is_timeout());
    let producer = queue.try_clone().unwrap();
    std::thread::scope(|s| {
        let pusher = s.spawn(|| {
            let producer = producer;
            producer.push(large.clone())
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(queue.pop().unwrap(), vec![1; 10], "the pop wakes the pusher");
        pusher.join().unwrap().unwrap();
    });
    assert_eq!(queue.pop().unwrap(), large);
}

#[test]
fn a_message_of_another_type_or_undecodable_is_an_error_with_its_bytes() {
    let strings = queue_of::<String>(4);
    let numbers = MessageQueue::<u64>::attach(strings.fd().try_clone_to_owned().unwrap())
        .unwrap();
    numbers.push(5).unwrap();
    let Err(ReceiveError::WrongType { bytes }) = strings.pop() else {
        panic!("a u64 received as a String");
    };
    assert_eq!(&bytes[8..], [5], "the message's bytes are handed over");

    // A hostile peer writes the right fingerprint and bytes that do not decode.
    let raw = raw_slots(&strings);
    let mut bytes = super::fingerprint::<String>().to_vec();
    bytes.extend([200, 1, 0xff]); // a length of 200, then too few bytes
    raw.try_push_message(&bytes).unwrap();
    strings.push("next".into()).unwrap();
    assert!(matches!(strings.pop(), Err(ReceiveError::Undecodable { bytes: b, .. }) if b == bytes));
    assert_eq!(strings.pop().unwrap(), "next", "the queue goes on");
}

#[test]
fn a_length_longer_than_the_queue_is_read_as_one_slot() {
    let strings = queue_of::<String>(4);
    let raw = raw_slots(&strings);
    // A slot written as a value whose first word says a message of 4 GiB - 1 bytes.
    let mut words = [0x5555_5555_5555_5555u64; SLOT_BYTES / 8];
    words[0] = u64::from(u32::MAX) | 0x1111_1111_0000_0000;
    raw.try_push(Slot(words)).unwrap();
    strings.push("after".into()).unwrap();
    let Err(ReceiveError::WrongType { bytes }) = strings.pop() else {
        panic!("a hostile length was taken as a message");
    };
    assert_eq!(bytes.len(), SLOT_BYTES - 4, "the slot's bytes, and no more");
    assert_eq!(strings.pop().unwrap(), "after", "the queue goes on");
}

/// Another format: postcard after its length as 4 bytes, little-endian.
#[derive(Debug, Default)]
struct LengthFirst;

impl message_codec::Codec for LengthFirst {
    fn encode_into<M: Serialize + ?Sized>(
        &self,
        message: &M,
        buffer: &mut [u8],
    ) -> Result<usize, message_codec::EncodeError> {
        let (length, rest) = buffer
            .split_first_chunk_mut::<4>()
            .ok_or(message_codec::EncodeError::BufferFull)?;
        let encoded = message_codec::Postcard.encode_into(message, rest)?;
        *length = u32::try_from(encoded).unwrap().to_le_bytes();
        Ok(4 + encoded)
    }

    fn encode_to_vec<M: Serialize + ?Sized>(
        &self,
        message: &M,
        out: &mut Vec<u8>,
    ) -> Result<(), message_codec::EncodeError> {
        let length = self.encoded_len(message)? - 4;
        out.extend(u32::try_from(length).unwrap().to_le_bytes());
        message_codec::Postcard.encode_to_vec(message, out)
    }

    fn encoded_len<M: Serialize + ?Sized>(
        &self,
        message: &M,
    ) -> Result<usize, message_codec::EncodeError> {
        Ok(4 + message_codec::Postcard.encoded_len(message)?)
    }

    fn decode_prefix<'de, M: Deserialize<'de>>(
        &self,
        bytes: &'de [u8],
    ) -> Result<(M, &'de [u8]), message_codec::DecodeError> {
        let short = || message_codec::DecodeError::Undecodable("too short".into());
        let (length, rest) = bytes.split_first_chunk::<4>().ok_or_else(short)?;
        let length = u32::from_le_bytes(*length) as usize;
        let (message, rest) = (rest.get(..length).ok_or_else(short)?, &rest[length..]);
        Ok((message_codec::Postcard.decode(message)?, rest))
    }
}


#[test]
fn a_queue_encodes_through_the_codec_its_type_names() {
    use message_codec::Codec;
    let queue = MessageQueue::<Job, crate::Both, LengthFirst>::create(4 * SLOT_BYTES).unwrap();
    queue.push(job(4)).unwrap();
    let raw: BlockingQueue<Slot, Shared> =
        BlockingQueue::attach(queue.fd().try_clone_to_owned().unwrap()).unwrap();
    let mut bytes = Vec::new();
    raw.try_pop_message(&mut bytes).unwrap();
    let mut expected = super::fingerprint::<Job>().to_vec();
    LengthFirst.encode_to_vec(&job(4), &mut expected).unwrap();
    assert_eq!(bytes, expected, "the fingerprint, then the codec's bytes");
    raw.try_push_message(&bytes).unwrap();
    assert_eq!(queue.pop(), Ok(job(4)));
    let large = Job { inputs: (0..300).collect(), ..job(1) };
    queue.push(large.clone()).unwrap();
    assert_eq!(queue.pop(), Ok(large), "a message of several slots, through the codec");
    let too_large = Job { inputs: (0..2000).collect(), ..job(1) };
    let Err(SendError::TooLarge { encoded, .. }) = queue.push(too_large.clone()) else {
        panic!("a message larger than the queue was taken");
    };
    assert_eq!(encoded, LengthFirst.encoded_len(&too_large).unwrap());
}

#[test]
fn iterating_a_consumer_ends_when_its_producers_have_gone() {
    let consumer = MessageQueue::<Job, Consumer>::create(4 * SLOT_BYTES).unwrap();
    let producer = consumer.try_clone_as::<Producer>().unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            for n in 0..20 {
                producer.push(job(n * 20)).unwrap(); // up to 380 numbers: several slots
            }
        });
        let mut messages = consumer.iter();
        let received: Vec<Job> = messages.by_ref().collect();
        assert_eq!(received, (0..20).map(|n| job(n * 20)).collect::<Vec<_>>());
        assert_eq!(
            messages.ended_by(),
            Some(&ReceiveError::Queue(PopError::Disconnected))
        );
    });
}

#[test]
fn a_handle_crosses_a_carrier() {
    let consumer = MessageQueue::<Job, Consumer>::create(4 * SLOT_BYTES).unwrap();
    let producer = consumer.try_clone_as::<Producer>().unwrap();
    let (bytes, fds) = fd_carrier::collect(|| postcard::to_allocvec(&producer));
    drop(producer);
    let received: MessageQueue<Job, Producer> =
        fd_carrier::deliver(fds, || postcard::from_bytes(&bytes.unwrap())).unwrap();
    received.push(job(300)).unwrap(); // several slots
    assert_eq!(consumer.pop(), Ok(job(300)));
}
