//! The errors of the queue: each one says what went wrong and hands back what it could not keep.

use core::fmt;

mod blocking;

pub use blocking::{PopTimeoutError, PushError, PushTimeoutError};
pub(crate) use blocking::GaveUp;

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
/// # #[cfg(not(loom))] fn main() {
/// use queue_core::{CapacityError, Queue};
///
/// assert_eq!(Queue::<u64>::new(0).unwrap_err(), CapacityError::Zero);
/// assert!(matches!(Queue::<u64>::new(usize::MAX), Err(CapacityError::TooLarge { .. })));
/// # }
/// # #[cfg(loom)] fn main() {}
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

/// The answer of a non-blocking batch: the count, 0 for a full or empty ring, or the error
/// (one of `errors`, as [`refused_as`] picks) for a ring no batch will ever move.
fn batch_answer<E>(result: Result<usize, Refusal>, errors: [E; 5]) -> Result<usize, E> {
    match result {
        Ok(count) => Ok(count),
        Err(Refusal::FullOrEmpty) => Ok(0),
        Err(refusal) => Err(refused_as(refusal, errors)),
    }
}

/// A value could not be pushed without waiting; the value is handed back.
///
/// Returned by [`Queue::try_push`](crate::Queue::try_push) and
/// [`BlockingQueue::try_push`](crate::BlockingQueue::try_push). More variants may be added, so
/// match with a wildcard arm or use [`into_inner`](Self::into_inner).
///
/// # Examples
///
/// ```
/// # #[cfg(not(loom))] fn main() {
/// use queue_core::{Queue, TryPushError};
///
/// let queue = Queue::new(1).unwrap();
/// queue.try_push("first").unwrap();
/// let err = queue.try_push("second").unwrap_err();
/// assert!(err.is_full());
/// assert_eq!(err.into_inner(), "second"); // nothing is lost
/// # }
/// # #[cfg(loom)] fn main() {}
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TryPushError<T> {
    /// The queue held `capacity` values when the push looked.
    Full(T),
    /// The queue was closed: no push will ever succeed.
    Closed(T),
    /// The shared memory holds what no process running the queue's protocol writes: see
    /// [the trust model](crate::Shared#trust). Never answered by a queue on the heap.
    Corrupted(T),
    /// Every consumer of the shared queue has left or died, and the queue is full: see
    /// [disconnection](crate::Shared#disconnection). Never answered by a queue on the heap.
    Disconnected(T),
    /// This is a queue on the heap, copied into a child by fork: the copy shares nothing with
    /// the parent's queue, and every call on it answers this. Never answered by a shared queue.
    ForkedCopy(T),
    /// This shared handle was copied into a child by fork, and the queue's table of participants
    /// was full ([`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS)) when the child first used it:
    /// without an entry it cannot claim safely. Each call tries again to take one.
    TooManyParticipants(T),
}

impl<T> TryPushError<T> {
    /// The same error, holding `f` of its value (a value put in another form to be pushed,
    /// turned back into the caller's).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> TryPushError<U> {
        match self {
            Self::Full(value) => TryPushError::Full(f(value)),
            Self::Closed(value) => TryPushError::Closed(f(value)),
            Self::Corrupted(value) => TryPushError::Corrupted(f(value)),
            Self::Disconnected(value) => TryPushError::Disconnected(f(value)),
            Self::ForkedCopy(value) => TryPushError::ForkedCopy(f(value)),
            Self::TooManyParticipants(value) => TryPushError::TooManyParticipants(f(value)),
        }
    }
    /// The error of a push the ring refused, holding its value.
    pub(crate) fn refused((value, refusal): (T, Refusal)) -> Self {
        if refusal == Refusal::FullOrEmpty {
            return Self::Full(value);
        }
        let error: fn(T) -> Self = refused_as(
            refusal,
            [
                Self::Closed,
                Self::Corrupted,
                Self::Disconnected,
                Self::ForkedCopy,
                Self::TooManyParticipants,
            ],
        );
        error(value)
    }

    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(value)
            | Self::Closed(value)
            | Self::Corrupted(value)
            | Self::Disconnected(value)
            | Self::ForkedCopy(value)
            | Self::TooManyParticipants(value) => value,
        }
    }

    /// Whether the push failed because the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the push failed because the queue was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// Whether the push failed because the shared queue is corrupted.
    pub fn is_corrupted(&self) -> bool {
        matches!(self, Self::Corrupted(_))
    }

    /// Whether the call failed because the other side of the shared queue is gone.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Self::Disconnected(_))
    }
}

impl<T> fmt::Debug for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.pad("Full(..)"),
            Self::Closed(_) => f.pad("Closed(..)"),
            Self::Corrupted(_) => f.pad("Corrupted(..)"),
            Self::Disconnected(_) => f.pad("Disconnected(..)"),
            Self::ForkedCopy(_) => f.pad("ForkedCopy(..)"),
            Self::TooManyParticipants(_) => f.pad("TooManyParticipants(..)"),
        }
    }
}

impl<T> fmt::Display for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.pad("pushing into a full queue"),
            Self::Closed(_) => f.pad("pushing into a closed queue"),
            Self::Corrupted(_) => f.pad(CORRUPTED),
            Self::Disconnected(_) => f.pad(DISCONNECTED),
            Self::ForkedCopy(_) => f.pad(FORKED_COPY),
            Self::TooManyParticipants(_) => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl<T> std::error::Error for TryPushError<T> {}

/// No value could be popped without waiting.
///
/// Returned by [`Queue::try_pop`](crate::Queue::try_pop) and
/// [`BlockingQueue::try_pop`](crate::BlockingQueue::try_pop). More variants may be added, so
/// match with a wildcard arm.
///
/// # Examples
///
/// ```
/// # #[cfg(not(loom))] fn main() {
/// use queue_core::{Queue, TryPopError};
///
/// let queue = Queue::<u32>::new(4).unwrap();
/// assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
/// # }
/// # #[cfg(loom)] fn main() {}
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TryPopError {
    /// The queue held no value when the pop looked.
    Empty,
    /// The queue was closed and held no value: no pop will ever succeed.
    Closed,
    /// The shared memory holds what no process running the queue's protocol writes: see
    /// [the trust model](crate::Shared#trust). Never answered by a queue on the heap.
    Corrupted,
    /// Every producer of the shared queue has left or died, and the queue is drained: see
    /// [disconnection](crate::Shared#disconnection). Never answered by a queue on the heap.
    Disconnected,
    /// This is a queue on the heap, copied into a child by fork: the copy shares nothing with
    /// the parent's queue, and every call on it answers this. Never answered by a shared queue.
    ForkedCopy,
    /// This shared handle was copied into a child by fork, and the queue's table of participants
    /// was full ([`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS)) when the child first used it:
    /// without an entry it cannot claim safely. Each call tries again to take one.
    TooManyParticipants,
}

impl TryPopError {
    /// The error of a pop the ring refused.
    pub(crate) fn refused(refusal: Refusal) -> Self {
        if refusal == Refusal::FullOrEmpty {
            return Self::Empty;
        }
        refused_as(refusal, Self::GIVEN_UP)
    }

    /// The answers of a pop that gives up, as [`refused_as`] takes them.
    const GIVEN_UP: [Self; 5] = [
        Self::Closed,
        Self::Corrupted,
        Self::Disconnected,
        Self::ForkedCopy,
        Self::TooManyParticipants,
    ];

    /// Whether the pop failed because the queue was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the pop failed because the queue was closed and drained.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }

    /// Whether the pop failed because the shared queue is corrupted.
    pub fn is_corrupted(&self) -> bool {
        matches!(self, Self::Corrupted)
    }

    /// Whether the call failed because the other side of the shared queue is gone.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Self::Disconnected)
    }
}

impl fmt::Display for TryPopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.pad("popping from an empty queue"),
            Self::Closed => f.pad("popping from a closed and empty queue"),
            Self::Corrupted => f.pad(CORRUPTED),
            Self::Disconnected => f.pad(DISCONNECTED),
            Self::ForkedCopy => f.pad(FORKED_COPY),
            Self::TooManyParticipants => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl std::error::Error for TryPopError {}

/// A pop can never succeed: the queue is closed and drained, or corrupted.
///
/// Returned by [`BlockingQueue::pop`](crate::BlockingQueue::pop) and by the batch pops. More
/// variants may be added, so match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PopError {
    /// The queue is closed and drained.
    Closed,
    /// The shared memory holds what no process running the queue's protocol writes: see
    /// [the trust model](crate::Shared#trust). Never answered by a queue on the heap.
    Corrupted,
    /// Every producer of the shared queue has left or died, and the queue is drained: see
    /// [disconnection](crate::Shared#disconnection). Never answered by a queue on the heap.
    Disconnected,
    /// This is a queue on the heap, copied into a child by fork: the copy shares nothing with
    /// the parent's queue, and every call on it answers this. Never answered by a shared queue.
    ForkedCopy,
    /// This shared handle was copied into a child by fork, and the queue's table of participants
    /// was full ([`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS)) when the child first used it:
    /// without an entry it cannot claim safely. Each call tries again to take one.
    TooManyParticipants,
}

impl PopError {
    /// The answer of a non-blocking batch: how many values moved (0 when the ring was
    /// empty), or why none ever will.
    pub(crate) fn batch_answer(result: Result<usize, Refusal>) -> Result<usize, Self> {
        batch_answer(result, Self::GIVEN_UP)
    }

    /// The error of a blocking call that gave up.
    pub(crate) fn gave_up(gave_up: GaveUp) -> Self {
        match gave_up {
            // Unreachable: the call has no deadline.
            GaveUp::TimedOut => Self::Closed,
            GaveUp::Refused(refusal) => refused_as(refusal, Self::GIVEN_UP),
        }
    }

    /// The answers of a call that gives up, as [`refused_as`] takes them.
    const GIVEN_UP: [Self; 5] = [
        Self::Closed,
        Self::Corrupted,
        Self::Disconnected,
        Self::ForkedCopy,
        Self::TooManyParticipants,
    ];
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.pad("popping from a closed and empty queue"),
            Self::Corrupted => f.pad(CORRUPTED),
            Self::Disconnected => f.pad(DISCONNECTED),
            Self::ForkedCopy => f.pad(FORKED_COPY),
            Self::TooManyParticipants => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl std::error::Error for PopError {}

/// A batch push can never succeed: the queue is closed, or corrupted. Nothing was pushed, and
/// the values are still the caller's (the batch calls borrow them).
///
/// Returned by the batch pushes. More variants may be added, so match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushSliceError {
    /// The queue is closed.
    Closed,
    /// The shared memory holds what no process running the queue's protocol writes: see
    /// [the trust model](crate::Shared#trust). Never answered by a queue on the heap.
    Corrupted,
    /// Every consumer of the shared queue has left or died, and the queue is full: see
    /// [disconnection](crate::Shared#disconnection). Never answered by a queue on the heap.
    Disconnected,
    /// This is a queue on the heap, copied into a child by fork: the copy shares nothing with
    /// the parent's queue, and every call on it answers this. Never answered by a shared queue.
    ForkedCopy,
    /// This shared handle was copied into a child by fork, and the queue's table of participants
    /// was full ([`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS)) when the child first used it:
    /// without an entry it cannot claim safely. Each call tries again to take one.
    TooManyParticipants,
}

impl PushSliceError {
    /// The answer of a non-blocking batch: how many values moved (0 when the ring was
    /// full), or why none ever will.
    pub(crate) fn batch_answer(result: Result<usize, Refusal>) -> Result<usize, Self> {
        batch_answer(result, Self::GIVEN_UP)
    }

    /// The error of a blocking call that gave up.
    pub(crate) fn gave_up(gave_up: GaveUp) -> Self {
        match gave_up {
            // Unreachable: the call has no deadline.
            GaveUp::TimedOut => Self::Closed,
            GaveUp::Refused(refusal) => refused_as(refusal, Self::GIVEN_UP),
        }
    }

    /// The answers of a call that gives up, as [`refused_as`] takes them.
    const GIVEN_UP: [Self; 5] = [
        Self::Closed,
        Self::Corrupted,
        Self::Disconnected,
        Self::ForkedCopy,
        Self::TooManyParticipants,
    ];
}

impl fmt::Display for PushSliceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.pad("pushing into a closed queue"),
            Self::Corrupted => f.pad(CORRUPTED),
            Self::Disconnected => f.pad(DISCONNECTED),
            Self::ForkedCopy => f.pad(FORKED_COPY),
            Self::TooManyParticipants => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl std::error::Error for PushSliceError {}

