//! The errors of the queue: each one says what went wrong and hands back what it could not keep.

use core::fmt;

mod blocking;
mod define;

pub use blocking::{PopTimeoutError, PushError, PushTimeoutError};
pub(crate) use blocking::GaveUp;
use define::queue_error;

/// Why a ring operation claimed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Full (for a push) or empty (for a pop) when it looked; see [`Queue`]'s guarantees.
    ///
    /// [`Queue`]: crate::Queue
    FullOrEmpty,
    /// The ring is closed: no push can succeed, and (for a pop) no value is left.
    Closed,
    /// A cursor or stamp holds a value the protocol can never produce (another process wrote
    /// the shared memory outside it), or, on a shared ring, the claim lost
    /// `SHARED_RETRY_LIMIT` races in a row.
    Corrupted,
    /// The shared ring is full (for a push) or drained (for a pop), and every participant
    /// of the other side has left or died: see [`Shared`](crate::Shared#disconnection).
    Disconnected,
    /// The heap ring is a copy made by fork, which claims nothing.
    ForkedCopy,
    /// The shared handle is a copy made by fork that found the table of participants full:
    /// it has no entry to announce its claims under, so it claims nothing.
    TooManyParticipants,
}

/// The queue could not be created with the requested capacity.
///
/// # Examples
///
/// ```
/// # fn main() {
/// use queue_core::{CapacityError, Queue};
///
/// assert_eq!(Queue::<u64>::new(0).unwrap_err(), CapacityError::Zero);
/// assert!(matches!(Queue::<u64>::new(usize::MAX), Err(CapacityError::TooLarge { .. })));
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CapacityError {
    /// A queue must hold at least one value.
    Zero,
    /// The ring for this many values does not fit in the address space, or could not be
    /// allocated.
    TooLarge {
        /// The capacity that was asked for.
        capacity: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero => f.write_str("a queue's capacity must be at least 1"),
            Self::TooLarge { capacity } => {
                write!(f, "a queue of capacity {capacity} does not fit in memory")
            }
        }
    }
}

impl std::error::Error for CapacityError {}

/// What every error's `Corrupted` variant says, for `Display`.
pub(crate) const CORRUPTED: &str = "the shared queue is corrupted: another process wrote its memory outside \
                         the queue's protocol";

/// What every error's `Disconnected` variant says, for `Display`.
pub(crate) const DISCONNECTED: &str = "the other side of the shared queue is gone: each of its participants left or died";

/// What every error's `ForkedCopy` variant says, for `Display`.
pub(crate) const FORKED_COPY: &str = "this queue is a copy that fork made of a queue on the heap: it is not \
                           shared with the process that made the queue, and refuses every call";

/// What every error's `TooManyParticipants` variant says, for `Display`.
pub(crate) const TOO_MANY_PARTICIPANTS: &str = "this handle, copied into a child by fork, has no entry in the \
                                     shared queue's table of participants (all taken): it cannot \
                                     claim until a participant leaves";

/// The error that `refusal` is, as one of `[closed, corrupted, disconnected, forked_copy,
/// too_many]`, for a call that gives up on every refusal but `FullOrEmpty` (which it never
/// gives up on: answered, unreachably, as `closed`).
pub(crate) fn refused_as<E>(
    refusal: Refusal,
    [closed, corrupted, disconnected, forked_copy, too_many]: [E; 5],
) -> E {
    match refusal {
        Refusal::FullOrEmpty | Refusal::Closed => closed,
        Refusal::Corrupted => corrupted,
        Refusal::Disconnected => disconnected,
        Refusal::ForkedCopy => forked_copy,
        Refusal::TooManyParticipants => too_many,
    }
}


queue_error! {
    /// A value could not be pushed without waiting; the value is handed back.
    ///
    /// Returned by [`Queue::try_push`](crate::Queue::try_push) and
    /// [`BlockingQueue::try_push`](crate::BlockingQueue::try_push). More variants may be added, so
    /// match with a wildcard arm or use [`into_inner`](Self::into_inner).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::{Queue, TryPushError};
    ///
    /// let queue = Queue::new(1).unwrap();
    /// queue.try_push("first").unwrap();
    /// let err = queue.try_push("second").unwrap_err();
    /// assert!(err.is_full());
    /// assert_eq!(err.into_inner(), "second"); // nothing is lost
    /// # }
    /// ```
    pub enum TryPushError<T>, a push error, makes [refused] {
        /// The queue was closed: no push will ever succeed.
        Closed => "pushing into a closed queue";
        /// The queue held `capacity` values when the push looked.
        Full => "pushing into a full queue", is_full;
    }
}

queue_error! {
    /// No value could be popped without waiting.
    ///
    /// Returned by [`Queue::try_pop`](crate::Queue::try_pop) and
    /// [`BlockingQueue::try_pop`](crate::BlockingQueue::try_pop). More variants may be added, so
    /// match with a wildcard arm.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::{Queue, TryPopError};
    ///
    /// let queue = Queue::<u32>::new(4).unwrap();
    /// assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
    /// # }
    /// ```
    pub enum TryPopError, a pop error, makes [refused] {
        /// The queue was closed and held no value: no pop will ever succeed.
        Closed => "popping from a closed and empty queue";
        /// The queue held no value when the pop looked.
        Empty => "popping from an empty queue", is_empty;
    }
}

queue_error! {
    /// A pop can never succeed: the queue is closed and drained, or corrupted.
    ///
    /// Returned by [`BlockingQueue::pop`](crate::BlockingQueue::pop) and by the batch pops. More
    /// variants may be added, so match with a wildcard arm.
    pub enum PopError, a pop error, makes [batch_answer, gave_up] {
        /// The queue is closed and drained.
        Closed => "popping from a closed and empty queue";
    }
}

queue_error! {
    /// A batch push can never succeed: the queue is closed, or corrupted. Nothing was pushed, and
    /// the values are still the caller's (the batch calls borrow them).
    ///
    /// Returned by the batch pushes. More variants may be added, so match with a wildcard arm.
    pub enum PushSliceError, a push error, makes [batch_answer, gave_up] {
        /// The queue is closed.
        Closed => "pushing into a closed queue";
    }
}
