//! [`MessageQueue`]: a shared blocking queue of any serde message, each one encoded by its
//! codec (postcard by default) into as many slots as it needs.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use message_codec::{Codec, EncodeError, Postcard};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{ReceiveError, SendError};
use super::slots::{SLOT_BYTES, Slot};
use crate::error::{
    PopError, PopTimeoutError, PushError, PushTimeoutError, TryPopError, TryPushError,
};
use crate::placement::shared::{FrontDoor, shared_front_door};
use crate::{BlockingQueue, Both, MappingError, Pops, Pushes, Role, Shared, type_tag};

/// The bytes of a message that say which message type sent it.
const FINGERPRINT: usize = 8;

/// The most a message that fits in one slot takes encoded, with its fingerprint: what a push
/// encodes on its stack before it reaches for the heap.
const ONE_SLOT: usize = SLOT_BYTES - 4;

/// The largest buffer a handle keeps between calls for the messages it copies in and out; a
/// larger one (for a larger message) is freed after its call. Large enough that a stream of
/// large messages does not pay the kernel for fresh pages at every call.
const KEPT_BUFFER: usize = 64 << 20;

/// A bounded queue of messages of any serde type `M` and any size between processes: Python's
/// `multiprocessing.Queue`, which carries any picklable object.
///
/// Each message is encoded by the codec `C` ([postcard](https://docs.rs/postcard) unless the
/// type names another [`Codec`]) into the slots of a shared [`BlockingQueue`], so every
/// promise of the shared queue holds (bounded, FIFO per producer, crash tolerant,
/// [trust](Shared#trust), [disconnection](Shared#disconnection)), and so do its roles: `R` is
/// [`Both`], [`Producer`](crate::Producer) or [`Consumer`](crate::Consumer).
///
/// - **Any size.** The queue's room is counted in bytes ([`create`](Self::create)), in slots
///   of 256 bytes: a message whose encoding (and 12 bytes of its own) fits in one takes one, a
///   larger one takes as many consecutive slots as it fills, claimed whole with one atomic
///   step, so messages of every size keep their order and never mix. The largest message is
///   the whole queue's room ([`max_message`](Self::max_message)); a larger one is refused
///   when sent ([`SendError::TooLarge`], the message handed back).
/// - **Whole or not at all**, even when a process dies: a pop takes a message only once every
///   slot of it is written; a producer killed half-way through a large message leaves
///   nothing that is delivered, and its slots come back; a consumer killed half-way through
///   one loses that message only.
/// - Every message starts with a fingerprint of `M`'s type name, so a handle of another
///   message type receives [`ReceiveError::WrongType`] instead of misreading it, and bytes
///   that do not decode are [`ReceiveError::Undecodable`] with the message's bytes: nothing is
///   lost.
/// - With spawn-core, a handle is an argument like any other: `Process::new(WORKER, queue)`
///   gives the child a handle of its own to the same queue.
///
/// Large byte payloads belong in fields marked `#[serde(with = "serde_bytes")]` (the
/// `serde_bytes` crate): serde otherwise encodes a `Vec<u8>` one byte at a time, which the
/// crate's message-size bench measures at a fifth to a tenth of the speed from 4 KiB up.
///
/// A pop copies the message's bytes out of the shared memory once (with word loads: another
/// process may write that memory while we read it, so no reference to it is ever handed to
/// a decoder) into a buffer the handle keeps, and decodes them from there.
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
///     inputs: Vec<u32>,
///     sum: u64,
/// }
///
/// let results = MessageQueue::<Result, Consumer>::create(64 * 1024)?; // 64 KiB of messages
/// let worker = results.try_clone_as::<Producer>()?; // in a child process, typically
/// let inputs: Vec<u32> = (0..1000).collect(); // about 2 KiB encoded: several slots
/// worker.push(Result { worker: "w1".into(), sum: 499_500, inputs })?;
/// drop(worker); // the last producer: the consumer's loop ends once it has drained the queue
/// for result in &results {
///     assert_eq!(result.inputs.iter().map(|&n| u64::from(n)).sum::<u64>(), result.sum);
/// }
/// # Ok(()) }
/// ```
pub struct MessageQueue<M, R: Role = Both, C: Codec = Postcard> {
    slots: BlockingQueue<Slot, Shared<R>>,
    /// `M`'s fingerprint, written first in every message sent and checked in every one
    /// received.
    fingerprint: [u8; FINGERPRINT],
    /// The buffer that messages too large for the stack are encoded into, and that popped
    /// messages are copied into: kept between calls (up to [`KEPT_BUFFER`]).
    buffer: Cell<Vec<u8>>,
    /// Messages are encoded in and decoded out, never stored: a handle is `Send` as its queue
    /// is, whatever `M` is.
    message: PhantomData<fn(M) -> M>,
    /// How messages become bytes and back.
    codec: C,
}

/// `M`'s fingerprint: the type tag of its name, as this build of the program spells it (a
/// program built otherwise that spells it differently is told `WrongType`, never misreads).
fn fingerprint<M>() -> [u8; FINGERPRINT] {
    type_tag(core::any::type_name::<M>()).to_le_bytes()
}

impl<M, R: Role, C: Codec> MessageQueue<M, R, C> {
    /// The bytes of a slot, the unit of a queue's room: a message of up to `SLOT - 12` bytes
    /// encoded takes one, so `create(n * SLOT)` holds `n` small messages at least.
    pub const SLOT: usize = SLOT_BYTES;

    fn wrap(slots: BlockingQueue<Slot, Shared<R>>) -> Self {
        Self {
            slots,
            fingerprint: fingerprint::<M>(),
            buffer: Cell::new(Vec::new()),
            message: PhantomData,
            codec: C::default(),
        }
    }

    /// The largest message this queue carries, in bytes encoded: its whole room, but 12
    /// bytes (the message's length and its type's fingerprint).
    pub fn max_message(&self) -> usize {
        self.slots.max_message() - FINGERPRINT
    }

    /// Closes the queue (see [`BlockingQueue::close`]); whether this call closed it.
    pub fn close(&self) -> bool {
        self.slots.close()
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.slots.is_closed()
    }

    /// How many bytes of its room the messages in it take, in whole slots of 256 bytes.
    pub fn len(&self) -> usize {
        self.slots.len() * SLOT_BYTES
    }

    /// Whether it holds no message.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Its room in bytes: the capacity it was made with, rounded up to whole slots of 256
    /// bytes.
    pub fn capacity(&self) -> usize {
        self.slots.capacity() * SLOT_BYTES
    }

    /// Runs `with` on the handle's buffer, which it gets back afterwards unless it grew past
    /// [`KEPT_BUFFER`].
    fn with_buffer<T>(&self, with: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        let mut buffer = self.buffer.take();
        let answer = with(&mut buffer);
        if buffer.capacity() <= KEPT_BUFFER {
            self.buffer.set(buffer);
        }
        answer
    }
}

impl<M: Serialize, R: Role, C: Codec> MessageQueue<M, R, C>
where
    Shared<R>: Pushes,
{
    /// Encodes `message` after its fingerprint (on the stack if it fits a slot, else in the
    /// handle's buffer) and sends the bytes with `send`; or hands the message back with why
    /// it did not go.
    fn send<F, E>(
        &self,
        message: M,
        send: impl FnOnce(&[u8]) -> Result<(), F>,
        error: impl FnOnce((M, F)) -> E,
    ) -> Result<(), SendError<M, E>> {
        let mut small = [0u8; ONE_SLOT];
        small[..FINGERPRINT].copy_from_slice(&self.fingerprint);
        let sent = match self.codec.encode_into(&message, &mut small[FINGERPRINT..]) {
            Ok(encoded) => self.send_bytes(&small[..FINGERPRINT + encoded], send),
            Err(EncodeError::BufferFull) => self.with_buffer(|buffer| {
                buffer.clear();
                buffer.extend_from_slice(&self.fingerprint);
                match self.codec.encode_to_vec(&message, buffer) {
                    Ok(()) => self.send_bytes(buffer, send),
                    Err(error) => Err(Unsent::Unencodable(error.to_string())),
                }
            }),
            Err(error) => Err(Unsent::Unencodable(error.to_string())),
        };
        match sent {
            Ok(()) => Ok(()),
            Err(Unsent::TooLarge(encoded)) => Err(SendError::TooLarge {
                message,
                encoded,
                limit: self.max_message(),
            }),
            Err(Unsent::Unencodable(reason)) => Err(SendError::Unencodable { message, reason }),
            Err(Unsent::Refused(failure)) => Err(SendError::Queue(error((message, failure)))),
        }
    }

    /// Sends `bytes` (a fingerprint and an encoding) with `send`, if the queue can hold them.
    fn send_bytes<F>(
        &self,
        bytes: &[u8],
        send: impl FnOnce(&[u8]) -> Result<(), F>,
    ) -> Result<(), Unsent<F>> {
        if bytes.len() > self.slots.max_message() {
            return Err(Unsent::TooLarge(bytes.len() - FINGERPRINT));
        }
        send(bytes).map_err(Unsent::Refused)
    }

    /// Pushes `message` if there is room for all of it, without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`], the message handed back: too large, not encodable, or the queue's
    /// [`TryPushError`].
    pub fn try_push(&self, message: M) -> Result<(), SendError<M, TryPushError<M>>> {
        self.send(
            message,
            |bytes| self.slots.try_push_message(bytes),
            TryPushError::refused,
        )
    }

    /// Pushes `message`, sleeping while there is no room for all of it.
    ///
    /// # Errors
    ///
    /// [`SendError`], the message handed back: too large, not encodable, or the queue's
    /// [`PushError`].
    pub fn push(&self, message: M) -> Result<(), SendError<M, PushError<M>>> {
        self.send(
            message,
            |bytes| self.slots.push_message(bytes, None),
            PushError::gave_up,
        )
    }

    /// Pushes `message`, sleeping while there is no room for all of it, for at most
    /// `timeout`.
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
        let deadline = Instant::now().checked_add(timeout);
        self.send(
            message,
            |bytes| self.slots.push_message(bytes, deadline),
            PushTimeoutError::gave_up,
        )
    }
}

/// Why an encoded message was not sent: `F` is the queue's failure.
enum Unsent<F> {
    /// Its encoding takes this many bytes, more than the queue holds.
    TooLarge(usize),
    /// The codec could not encode it.
    Unencodable(String),
    /// The queue refused it.
    Refused(F),
}

impl<M: DeserializeOwned, R: Role, C: Codec> MessageQueue<M, R, C>
where
    Shared<R>: Pops,
{
    /// Receives a message with `receive` into the handle's buffer and decodes it, or hands
    /// over its bytes with why it is not one.
    fn receive<E>(
        &self,
        receive: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<M, ReceiveError<E>> {
        self.with_buffer(|buffer| {
            receive(buffer).map_err(ReceiveError::Queue)?;
            self.decode(buffer)
        })
    }

    /// Pops the oldest message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`]: bytes that are not a message of this type, or the queue's
    /// [`TryPopError`].
    pub fn try_pop(&self) -> Result<M, ReceiveError<TryPopError>> {
        self.receive(|buffer| {
            self.slots
                .try_pop_message(buffer)
                .map_err(TryPopError::refused)
        })
    }

    /// Pops the oldest message, sleeping while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`]: bytes that are not a message of this type, or the queue's
    /// [`PopError`].
    pub fn pop(&self) -> Result<M, ReceiveError<PopError>> {
        self.receive(|buffer| {
            self.slots
                .pop_message(buffer, None)
                .map_err(PopError::gave_up)
        })
    }

    /// Pops the oldest message, sleeping while the queue is empty, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`]: bytes that are not a message of this type, or the queue's
    /// [`PopTimeoutError`].
    pub fn pop_timeout(&self, timeout: Duration) -> Result<M, ReceiveError<PopTimeoutError>> {
        let deadline = Instant::now().checked_add(timeout);
        self.receive(|buffer| {
            self.slots
                .pop_message(buffer, deadline)
                .map_err(PopTimeoutError::gave_up)
        })
    }

    /// Iterates over the messages popped one by one until a pop answers an error: the queue
    /// closed (or every producer gone) and drained, or bytes that are not a message of this
    /// type; [`Messages::ended_by`] says which.
    pub fn iter(&self) -> Messages<'_, M, R, C> {
        Messages {
            queue: self,
            ended_by: None,
        }
    }
}

impl<M, R: Role, C: Codec> MessageQueue<M, R, C>
where
    Shared<R>: Pops,
{
    /// The message in `bytes` (a fingerprint, then an encoding) as a `V`, borrowing from
    /// `bytes` where `V` does; or the bytes with why they are not one.
    fn decode<'b, V: Deserialize<'b>, E>(&self, bytes: &'b [u8]) -> Result<V, ReceiveError<E>> {
        let Some(encoded) = bytes.strip_prefix(&self.fingerprint[..]) else {
            return Err(ReceiveError::WrongType {
                bytes: bytes.to_vec(),
            });
        };
        self.codec
            .decode(encoded)
            .map_err(|error| ReceiveError::Undecodable {
                bytes: bytes.to_vec(),
                reason: error.to_string(),
            })
    }

    /// Pops the oldest message, sleeping while the queue is empty, into `buffer`, and decodes
    /// it as a `V` that borrows from `buffer`: a view of `M` with `&str` or `&[u8]` where `M`
    /// owns a `String` or bytes (`#[serde(borrow)]`, and `serde_bytes` for bytes), so that a
    /// large payload is copied once, out of the shared memory into `buffer`, and never again.
    /// `V` must decode what `M` encodes; the message's fingerprint is `M`'s.
    ///
    /// # Errors
    ///
    /// As [`pop`](Self::pop).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use queue_core::MessageQueue;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize)]
    /// struct Page { url: String, body: Vec<u8> }
    ///
    /// #[derive(Deserialize)]
    /// struct PageView<'a> { url: &'a str, body: &'a [u8] }
    ///
    /// let pages = MessageQueue::<Page>::create(1 << 20)?;
    /// pages.push(Page { url: "a".into(), body: vec![7; 100_000] })?;
    /// let mut buffer = Vec::new();
    /// let page: PageView<'_> = pages.pop_borrowed(&mut buffer)?;
    /// assert_eq!((page.url, page.body.len()), ("a", 100_000));
    /// # Ok(()) }
    /// ```
    pub fn pop_borrowed<'b, V: Deserialize<'b>>(
        &self,
        buffer: &'b mut Vec<u8>,
    ) -> Result<V, ReceiveError<PopError>> {
        self.slots
            .pop_message(buffer, None)
            .map_err(|gave_up| ReceiveError::Queue(PopError::gave_up(gave_up)))?;
        self.decode(buffer)
    }
}

/// The messages of a [`MessageQueue`], popped one by one (see [`MessageQueue::iter`]).
pub struct Messages<'a, M, R: Role, C: Codec = Postcard> {
    queue: &'a MessageQueue<M, R, C>,
    ended_by: Option<ReceiveError<PopError>>,
}

impl<M, R: Role, C: Codec> Messages<'_, M, R, C> {
    /// The error that ended the iteration, once it has ended.
    pub fn ended_by(&self) -> Option<&ReceiveError<PopError>> {
        self.ended_by.as_ref()
    }
}

impl<M: DeserializeOwned, R: Role, C: Codec> Iterator for Messages<'_, M, R, C>
where
    Shared<R>: Pops,
{
    type Item = M;

    fn next(&mut self) -> Option<M> {
        crate::iter::pop_until_error(&mut self.ended_by, || self.queue.pop())
    }
}

impl<'a, M: DeserializeOwned, R: Role, C: Codec> IntoIterator for &'a MessageQueue<M, R, C>
where
    Shared<R>: Pops,
{
    type Item = M;
    type IntoIter = Messages<'a, M, R, C>;

    fn into_iter(self) -> Messages<'a, M, R, C> {
        self.iter()
    }
}

impl<M, R: Role, C: Codec> fmt::Debug for MessageQueue<M, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageQueue")
            .field("message", &core::any::type_name::<M>())
            .field("codec", &self.codec)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<M, R: Role, C: Codec> fmt::Debug for Messages<'_, M, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messages")
            .field("ended_by", &self.ended_by)
            .finish_non_exhaustive()
    }
}

impl<M, R: Role, C: Codec> FrontDoor for MessageQueue<M, R, C> {
    type As<R2: Role> = MessageQueue<M, R2, C>;

    fn create_queue(capacity: usize) -> Result<Self, MappingError> {
        BlockingQueue::create(capacity.div_ceil(SLOT_BYTES)).map(Self::wrap)
    }

    fn attach_queue(fd: OwnedFd) -> Result<Self, MappingError> {
        BlockingQueue::attach(fd).map(Self::wrap)
    }

    fn queue_fd(&self) -> BorrowedFd<'_> {
        self.slots.fd()
    }

    fn clone_queue<R2: Role>(&self) -> Result<MessageQueue<M, R2, C>, MappingError> {
        self.slots.try_clone_as().map(MessageQueue::wrap)
    }
}

shared_front_door! {
    impl [M, R: Role, C: Codec] MessageQueue<M, R, C>,
    as [R2] MessageQueue<M, R2, C>,
    example: "MessageQueue::<u64>", push: "push", pop: "pop",
    uses: "use queue_core::MessageQueue;",
    refused: "queue_core::BlockingQueue::<u64, queue_core::Shared>",
    create_notes: [
        /// `capacity` counts bytes: the room for the messages, encoded, rounded up to whole
        /// slots of 256 bytes. A message takes its encoding's bytes and 12 more, in whole
        /// slots: 256 bytes for one of up to 244 bytes encoded, and `capacity` bytes at most.
        /// The mapping holds, besides, a stamp of 64 bytes per slot.
    ],
    attach_notes: [
        /// Among others, a queue of plain values rather than messages.
    ],
}

#[cfg(all(test, not(loom)))]
#[path = "tests.rs"]
mod tests;
