//! [`MessageQueue`]: a shared blocking queue of any serde message, each one encoded by its
//! codec (postcard by default) into one frame.

use core::fmt;
use core::marker::PhantomData;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use message_codec::{Codec, EncodeError, Postcard};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{ReceiveError, SendError};
use crate::error::{PopError, PopTimeoutError, PushError, PushTimeoutError, TryPopError, TryPushError};
use crate::placement::shared::{FrontDoor, shared_front_door};
use crate::{BlockingQueue, Both, Frame, MappingError, Pops, Pushes, Role, Shared, type_tag};

/// A frame's size when the type does not name one: a 256-byte slot.
pub const DEFAULT_FRAME: usize = 252;

/// The bytes of a frame that say which message type sent it.
const FINGERPRINT: usize = 8;

/// A bounded queue of messages of any serde type `M` between processes: Python's
/// `multiprocessing.Queue`, which carries any picklable object.
///
/// Each message is encoded by the codec `C` ([postcard](https://docs.rs/postcard) unless the
/// type names another [`Codec`]) into one [`Frame<N>`](Frame) of a shared [`BlockingQueue`],
/// so every promise of the shared queue holds (bounded, FIFO per producer, crash tolerant,
/// [trust](Shared#trust), [disconnection](Shared#disconnection)), and so do its roles: `R` is
/// [`Both`], [`Producer`](crate::Producer) or [`Consumer`](crate::Consumer).
///
/// - A message takes one frame: one whose encoding is larger than `N - 8` bytes is refused
///   when sent ([`SendError::TooLarge`], the message handed back), never split. Choose `N`
///   (a multiple of 4) for the largest message; the default is 252.
/// - Every frame starts with a fingerprint of `M`'s type name, so a handle of another message
///   type receives [`ReceiveError::WrongType`] instead of misreading it, and bytes that do
///   not decode are [`ReceiveError::Undecodable`] with the frame's bytes: nothing is lost.
/// - With spawn-core, a handle is an argument like any other: `Process::new(WORKER, queue)`
///   gives the child a handle of its own to the same queue.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use queue_core::{Consumer, MessageQueue, Producer};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Result {
///     worker: String,
///     input: u32,
///     square: u64,
/// }
///
/// let results = MessageQueue::<Result, Consumer>::create(16)?;
/// let worker = results.try_clone_as::<Producer>()?; // in a child process, typically
/// worker.push(Result { worker: "w1".into(), input: 3, square: 9 })?;
/// drop(worker); // the last producer: the consumer's loop ends once it has drained the queue
/// for result in &results {
///     assert_eq!(result.square, 9);
/// }
/// # Ok(()) }
/// ```
pub struct MessageQueue<M, R: Role = Both, const N: usize = DEFAULT_FRAME, C: Codec = Postcard> {
    frames: BlockingQueue<Frame<N>, Shared<R>>,
    /// `M`'s fingerprint, written first in every frame sent and checked in every one received.
    fingerprint: [u8; FINGERPRINT],
    /// Messages are encoded in and decoded out, never stored: a handle is `Send` and `Sync`
    /// as its queue is, whatever `M` is.
    message: PhantomData<fn(M) -> M>,
    /// How messages become bytes and back.
    codec: C,
}

/// `M`'s fingerprint: the type tag of its name, as this build of the program spells it (a
/// program built otherwise that spells it differently is told `WrongType`, never misreads).
fn fingerprint<M>() -> [u8; FINGERPRINT] {
    type_tag(core::any::type_name::<M>()).to_le_bytes()
}

impl<M, R: Role, const N: usize, C: Codec> MessageQueue<M, R, N, C> {
    /// The largest message, encoded, that a frame holds.
    pub const MAX_MESSAGE: usize = N - FINGERPRINT;

    fn wrap(frames: BlockingQueue<Frame<N>, Shared<R>>) -> Self {
        // Every handle is made here, so a frame too small for the fingerprint does not build.
        const {
            assert!(
                N >= FINGERPRINT,
                "a MessageQueue's frames need room for the fingerprint's 8 bytes"
            )
        };
        Self {
            frames,
            fingerprint: fingerprint::<M>(),
            message: PhantomData,
            codec: C::default(),
        }
    }

    /// The queue of frames underneath, for its batch calls and everything else it offers.
    pub fn frames(&self) -> &BlockingQueue<Frame<N>, Shared<R>> {
        &self.frames
    }

    /// Closes the queue (see [`BlockingQueue::close`]); whether this call closed it.
    pub fn close(&self) -> bool {
        self.frames.close()
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.frames.is_closed()
    }

    /// How many messages it holds.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// How many messages it holds at most.
    pub fn capacity(&self) -> usize {
        self.frames.capacity()
    }
}

impl<M: Serialize, R: Role, const N: usize, C: Codec> MessageQueue<M, R, N, C>
where
    Shared<R>: Pushes,
{
    /// `message` in a frame, or the message back with why it does not go in one.
    fn encode<E>(&self, message: M) -> Result<(Frame<N>, M), SendError<M, E>> {
        // Encoded straight into the frame that is pushed: no buffer to zero and copy.
        let mut frame = Frame::<N>::default();
        let room = frame.room();
        room[..FINGERPRINT].copy_from_slice(&self.fingerprint);
        let encoded = match self.codec.encode_into(&message, &mut room[FINGERPRINT..]) {
            Ok(encoded) => encoded,
            Err(EncodeError::BufferFull) => {
                let encoded = self.codec.encoded_len(&message).unwrap_or(N);
                return Err(SendError::TooLarge {
                    message,
                    encoded,
                    limit: Self::MAX_MESSAGE,
                });
            }
            Err(error) => {
                return Err(SendError::Unencodable {
                    message,
                    reason: error.to_string(),
                });
            }
        };
        frame
            .set_len(FINGERPRINT + encoded)
            .expect("the codec wrote no more than the room it was given");
        Ok((frame, message))
    }

    /// Pushes `message` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`], the message handed back: too large, not encodable, or the queue's
    /// [`TryPushError`].
    pub fn try_push(&self, message: M) -> Result<(), SendError<M, TryPushError<M>>> {
        let (frame, message) = self.encode(message)?;
        self.frames
            .try_push(frame)
            .map_err(|error| SendError::Queue(error.map(|_| message)))
    }

    /// Pushes `message`, sleeping while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`], the message handed back: too large, not encodable, or the queue's
    /// [`PushError`].
    pub fn push(&self, message: M) -> Result<(), SendError<M, PushError<M>>> {
        let (frame, message) = self.encode(message)?;
        self.frames
            .push(frame)
            .map_err(|error| SendError::Queue(error.map(|_| message)))
    }

    /// Pushes `message`, sleeping while the queue is full, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendError`], the message handed back: too large, not encodable, or the queue's
    /// [`PushTimeoutError`].
    pub fn push_timeout(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<(), SendError<M, PushTimeoutError<M>>> {
        let (frame, message) = self.encode(message)?;
        self.frames
            .push_timeout(frame, timeout)
            .map_err(|error| SendError::Queue(error.map(|_| message)))
    }
}

impl<M: DeserializeOwned, R: Role, const N: usize, C: Codec> MessageQueue<M, R, N, C>
where
    Shared<R>: Pops,
{
    /// The message in `frame`, or the frame's bytes with why it is not one.
    fn decode<E>(&self, frame: &Frame<N>) -> Result<M, ReceiveError<E>> {
        let bytes = frame.as_bytes();
        let Some(encoded) = bytes.strip_prefix(&self.fingerprint[..]) else {
            return Err(ReceiveError::WrongType {
                frame: bytes.to_vec(),
            });
        };
        self.codec
            .decode(encoded)
            .map_err(|error| ReceiveError::Undecodable {
                frame: bytes.to_vec(),
                reason: error.to_string(),
            })
    }

    /// Pops the oldest message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`]: a frame that is not a message of this type, or the queue's
    /// [`TryPopError`].
    pub fn try_pop(&self) -> Result<M, ReceiveError<TryPopError>> {
        let frame = self.frames.try_pop().map_err(ReceiveError::Queue)?;
        self.decode(&frame)
    }

    /// Pops the oldest message, sleeping while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`]: a frame that is not a message of this type, or the queue's
    /// [`PopError`].
    pub fn pop(&self) -> Result<M, ReceiveError<PopError>> {
        let frame = self.frames.pop().map_err(ReceiveError::Queue)?;
        self.decode(&frame)
    }

    /// Pops the oldest message, sleeping while the queue is empty, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`]: a frame that is not a message of this type, or the queue's
    /// [`PopTimeoutError`].
    pub fn pop_timeout(&self, timeout: Duration) -> Result<M, ReceiveError<PopTimeoutError>> {
        let frame = self.frames.pop_timeout(timeout).map_err(ReceiveError::Queue)?;
        self.decode(&frame)
    }

    /// Iterates over the messages popped one by one until a pop answers an error: the queue
    /// closed (or every producer gone) and drained, or a frame that is not a message of this
    /// type; [`Messages::ended_by`] says which.
    pub fn iter(&self) -> Messages<'_, M, R, N, C> {
        Messages {
            queue: self,
            ended_by: None,
        }
    }
}

/// The messages of a [`MessageQueue`], popped one by one (see [`MessageQueue::iter`]).
pub struct Messages<'a, M, R: Role, const N: usize, C: Codec = Postcard> {
    queue: &'a MessageQueue<M, R, N, C>,
    ended_by: Option<ReceiveError<PopError>>,
}

impl<M, R: Role, const N: usize, C: Codec> Messages<'_, M, R, N, C> {
    /// The error that ended the iteration, once it has ended.
    pub fn ended_by(&self) -> Option<&ReceiveError<PopError>> {
        self.ended_by.as_ref()
    }
}

impl<M: DeserializeOwned, R: Role, const N: usize, C: Codec> Iterator for Messages<'_, M, R, N, C>
where
    Shared<R>: Pops,
{
    type Item = M;

    fn next(&mut self) -> Option<M> {
        crate::iter::pop_until_error(&mut self.ended_by, || self.queue.pop())
    }
}

impl<'a, M: DeserializeOwned, R: Role, const N: usize, C: Codec> IntoIterator
    for &'a MessageQueue<M, R, N, C>
where
    Shared<R>: Pops,
{
    type Item = M;
    type IntoIter = Messages<'a, M, R, N, C>;

    fn into_iter(self) -> Messages<'a, M, R, N, C> {
        self.iter()
    }
}

impl<M, R: Role, const N: usize, C: Codec> fmt::Debug for MessageQueue<M, R, N, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageQueue")
            .field("message", &core::any::type_name::<M>())
            .field("codec", &self.codec)
            .field("frames", &self.frames)
            .finish()
    }
}

impl<M, R: Role, const N: usize, C: Codec> fmt::Debug for Messages<'_, M, R, N, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messages")
            .field("ended_by", &self.ended_by)
            .finish_non_exhaustive()
    }
}

impl<M, R: Role, const N: usize, C: Codec> FrontDoor for MessageQueue<M, R, N, C> {
    type As<R2: Role> = MessageQueue<M, R2, N, C>;

    fn create_queue(capacity: usize) -> Result<Self, MappingError> {
        BlockingQueue::create(capacity).map(Self::wrap)
    }

    fn attach_queue(fd: OwnedFd) -> Result<Self, MappingError> {
        BlockingQueue::attach(fd).map(Self::wrap)
    }

    fn queue_fd(&self) -> BorrowedFd<'_> {
        self.frames.fd()
    }

    fn clone_queue<R2: Role>(&self) -> Result<MessageQueue<M, R2, N, C>, MappingError> {
        self.frames.try_clone_as().map(MessageQueue::wrap)
    }
}

shared_front_door! {
    impl [M, R: Role, const N: usize, C: Codec] MessageQueue<M, R, N, C>,
    as [R2] MessageQueue<M, R2, N, C>,
    example: "MessageQueue::<u64>", push: "push", pop: "pop",
    uses: "use queue_core::MessageQueue;",
    refused: "MessageQueue::<u64, queue_core::Both, 60>",
    create_notes: [
        /// `capacity` counts messages: each takes one frame of `N` bytes.
    ],
    attach_notes: [
        /// Among others, a queue of frames of another size.
    ],
}

#[cfg(all(test, not(loom)))]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::MessageQueue;
    use crate::{BlockingQueue, Consumer, Frame, PopError, Producer, Shared};
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

    #[test]
    fn any_serde_message_crosses_in_order() {
        let queue = MessageQueue::<Job>::create(8).unwrap();
        for n in 0..8 {
            queue.try_push(job(n)).unwrap();
        }
        assert!(queue.try_push(job(9)).unwrap_err().queue_error().unwrap().is_full());
        for n in 0..8 {
            assert_eq!(queue.try_pop(), Ok(job(n)));
        }
        assert_eq!(queue.try_pop(), Err(ReceiveError::Queue(TryPopError::Empty)));
    }

    #[test]
    fn a_message_larger_than_a_frame_is_handed_back() {
        let queue = MessageQueue::<Vec<u8>, crate::Both, 32>::create(4).unwrap();
        let fits = vec![7u8; MessageQueue::<Vec<u8>, crate::Both, 32>::MAX_MESSAGE - 1];
        queue.push(fits.clone()).unwrap();
        let large = vec![1u8; 100];
        let error = queue.push(large.clone()).unwrap_err();
        assert!(
            matches!(error, SendError::TooLarge { encoded: 101, limit: 24, .. }),
            "{error:?}"
        );
        assert_eq!(error.into_inner(), large, "the message comes back");
        assert_eq!(queue.len(), 1, "nothing was pushed");
        assert_eq!(queue.pop(), Ok(fits));
    }

    #[test]
    fn a_frame_of_another_type_or_undecodable_is_an_error_with_its_bytes() {
        let strings = MessageQueue::<String>::create(4).unwrap();
        let numbers = MessageQueue::<u64>::attach(strings.fd().try_clone_to_owned().unwrap())
            .unwrap();
        numbers.push(5).unwrap();
        let Err(ReceiveError::WrongType { frame }) = strings.pop() else {
            panic!("a u64 received as a String");
        };
        assert_eq!(&frame[8..], [5], "the frame's bytes are handed over");

        // A hostile peer writes the right fingerprint and bytes that do not decode.
        let raw = BlockingQueue::<Frame<252>, Shared>::attach(
            strings.fd().try_clone_to_owned().unwrap(),
        )
        .unwrap();
        let mut bytes = super::fingerprint::<String>().to_vec();
        bytes.extend([200, 1, 0xff]); // a length of 200, then too few bytes
        raw.push(Frame::new(&bytes).unwrap()).unwrap();
        strings.push("next".into()).unwrap();
        assert!(matches!(strings.pop(), Err(ReceiveError::Undecodable { frame, .. }) if frame == bytes));
        assert_eq!(strings.pop().unwrap(), "next", "the queue goes on");
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
        let queue = MessageQueue::<Job, crate::Both, 252, LengthFirst>::create(4).unwrap();
        queue.push(job(4)).unwrap();
        let raw = BlockingQueue::<Frame<252>, Shared>::attach(
            queue.fd().try_clone_to_owned().unwrap(),
        )
        .unwrap();
        let frame = raw.pop().unwrap();
        let mut expected = super::fingerprint::<Job>().to_vec();
        LengthFirst.encode_to_vec(&job(4), &mut expected).unwrap();
        assert_eq!(frame.as_bytes(), expected, "the fingerprint, then the codec's bytes");
        raw.push(frame).unwrap();
        assert_eq!(queue.pop(), Ok(job(4)));
        let too_large = Job { inputs: (0..300).collect(), ..job(1) };
        let Err(SendError::TooLarge { encoded, .. }) = queue.push(too_large.clone()) else {
            panic!("a message larger than the frame was taken");
        };
        assert_eq!(encoded, LengthFirst.encoded_len(&too_large).unwrap());
    }

    #[test]
    fn iterating_a_consumer_ends_when_its_producers_have_gone() {
        let consumer = MessageQueue::<Job, Consumer>::create(4).unwrap();
        let producer = consumer.try_clone_as::<Producer>().unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                for n in 0..20 {
                    producer.push(job(n)).unwrap();
                }
            });
            let mut messages = consumer.iter();
            let received: Vec<Job> = messages.by_ref().collect();
            assert_eq!(received, (0..20).map(job).collect::<Vec<_>>());
            assert_eq!(
                messages.ended_by(),
                Some(&ReceiveError::Queue(PopError::Disconnected))
            );
        });
    }

    #[test]
    fn a_handle_crosses_a_carrier() {
        let consumer = MessageQueue::<Job, Consumer>::create(4).unwrap();
        let producer = consumer.try_clone_as::<Producer>().unwrap();
        let (bytes, fds) = fd_carrier::collect(|| postcard::to_allocvec(&producer));
        drop(producer);
        let received: MessageQueue<Job, Producer> =
            fd_carrier::deliver(fds, || postcard::from_bytes(&bytes.unwrap())).unwrap();
        received.push(job(3)).unwrap();
        assert_eq!(consumer.pop(), Ok(job(3)));
    }
}
