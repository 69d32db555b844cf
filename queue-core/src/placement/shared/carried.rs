//! How a shared queue's handle travels as a serde value (feature `serde`), so that it can be
//! part of a child process's argument: it serializes as the index of its descriptor among
//! those [`fd_carrier`] carries beside the bytes, and deserializes by attaching the descriptor
//! received at that index, as a handle of its own (one more participant), of the role its type
//! names. The impls themselves are written by `shared_front_door!`.
//!
//! The element type travels in the queue's header, not in the bytes: attaching checks it
//! (size, alignment and tag), so a handle deserialized as a queue of another type is a
//! [`MappingError`](crate::MappingError), reported as the deserializer's error, never a
//! misread.

use std::os::fd::{BorrowedFd, OwnedFd};

use serde::{Deserialize, Deserializer, Serialize, Serializer};


/// What a handle serializes as: its descriptor's index in the list being carried.
#[derive(Serialize, Deserialize)]
#[serde(rename = "queue_core::SharedQueue")]
struct CarriedQueue(u32);

/// Writes a handle as the index of its descriptor among those being carried.
pub(crate) fn serialize_descriptor<S: Serializer>(
    fd: BorrowedFd<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let index = fd_carrier::carry(fd).map_err(serde::ser::Error::custom)?;
    CarriedQueue(index).serialize(serializer)
}

/// Reads a handle's index and takes the descriptor received there.
pub(crate) fn deserialize_descriptor<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<OwnedFd, D::Error> {
    let CarriedQueue(index) = CarriedQueue::deserialize(deserializer)?;
    fd_carrier::take(index).map_err(serde::de::Error::custom)
}

/// A descriptor that did not attach, as a deserializer's error.
pub(crate) fn not_attached<E: serde::de::Error>(error: crate::MappingError) -> E {
    E::custom(format_args!("the shared queue could not be attached: {error}"))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{BlockingQueue, Consumer, Producer, Queue, Shared};

    #[test]
    fn a_handle_crosses_a_carrier_as_a_new_participant_of_its_role() {
        let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
        let producer = consumer.try_clone_as::<Producer>().unwrap();
        let (bytes, fds) = fd_carrier::collect(|| postcard::to_allocvec(&(producer, 5u8)));
        let bytes = bytes.unwrap();
        assert_eq!(fds.len(), 1);
        let (received, five): (BlockingQueue<u64, Shared<Producer>>, u8) =
            fd_carrier::deliver(fds, || postcard::from_bytes(&bytes)).unwrap();
        assert_eq!(five, 5);
        received.push(42).unwrap();
        assert_eq!(consumer.pop(), Ok(42));
        drop(received);
        assert!(consumer.pop_timeout(std::time::Duration::from_secs(5)).unwrap_err().is_disconnected(),
            "the serialized producer was dropped with the tuple, the received one here");
    }

    #[test]
    fn a_handle_received_as_another_element_type_is_refused() {
        let queue = Queue::<u64, Shared>::create(4).unwrap();
        let (bytes, fds) = fd_carrier::collect(|| postcard::to_allocvec(&queue));
        let bytes = bytes.unwrap();
        let received: Result<Queue<u32, Shared>, _> =
            fd_carrier::deliver(fds, || postcard::from_bytes(&bytes));
        assert!(received.is_err());
        let (bytes, fds) = fd_carrier::collect(|| postcard::to_allocvec(&queue));
        let blocking: Result<BlockingQueue<u64, Shared>, _> =
            fd_carrier::deliver(fds, || postcard::from_bytes(&bytes.unwrap()));
        assert!(blocking.is_err(), "a non-blocking queue is not a blocking one");
    }

    #[test]
    fn a_handle_outside_a_carrier_is_an_error() {
        let queue = Queue::<u64, Shared>::create(4).unwrap();
        assert!(postcard::to_allocvec(&queue).is_err());
    }
}
