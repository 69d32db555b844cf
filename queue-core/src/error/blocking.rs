//! The errors of the calls that wait: a blocking push, and the timed calls. (The blocking
//! pop and batch calls answer the non-blocking batches' `PopError` and `PushSliceError`.)

use core::fmt;

use super::{
    CORRUPTED, DISCONNECTED, FORKED_COPY, Refusal, TOO_MANY_PARTICIPANTS, refused_as,
};

/// Why a blocking call gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The deadline passed first.
    TimedOut,
    /// The ring refused for good (never `FullOrEmpty`): closed, corrupted, disconnected, a
    /// copy made by fork, or a handle without an entry.
    Refused(Refusal),
}

impl GaveUp {
    /// Why a call gives up on the ring's refusal, or `None` (FullOrEmpty: wait on).
    pub(crate) fn on(refusal: Refusal) -> Option<Self> {
        (refusal != Refusal::FullOrEmpty).then_some(Self::Refused(refusal))
    }
}

/// A blocking push can never succeed; the value is handed back.
///
/// Returned by [`BlockingQueue::push`](crate::BlockingQueue::push). More variants may be
/// added, so match with a wildcard arm or use [`into_inner`](Self::into_inner).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushError<T> {
    /// The queue is closed.
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

impl<T> PushError<T> {
    /// The error of a blocking push that gave up, holding its value.
    pub(crate) fn gave_up((value, gave_up): (T, GaveUp)) -> Self {
        let error: fn(T) -> Self = match gave_up {
            // Unreachable: the call has no deadline.
            GaveUp::TimedOut => Self::Closed,
            GaveUp::Refused(refusal) => refused_as(
                refusal,
                [
                    Self::Closed,
                    Self::Corrupted,
                    Self::Disconnected,
                    Self::ForkedCopy,
                    Self::TooManyParticipants,
                ],
            ),
        };
        error(value)
    }

    /// The same error, holding `f` of its value (a value put in another form to be pushed,
    /// turned back into the caller's).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> PushError<U> {
        match self {
            Self::Closed(value) => PushError::Closed(f(value)),
            Self::Corrupted(value) => PushError::Corrupted(f(value)),
            Self::Disconnected(value) => PushError::Disconnected(f(value)),
            Self::ForkedCopy(value) => PushError::ForkedCopy(f(value)),
            Self::TooManyParticipants(value) => PushError::TooManyParticipants(f(value)),
        }
    }
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Closed(value)
            | Self::Corrupted(value)
            | Self::Disconnected(value)
            | Self::ForkedCopy(value)
            | Self::TooManyParticipants(value) => value,
        }
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

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed(_) => f.pad("Closed(..)"),
            Self::Corrupted(_) => f.pad("Corrupted(..)"),
            Self::Disconnected(_) => f.pad("Disconnected(..)"),
            Self::ForkedCopy(_) => f.pad("ForkedCopy(..)"),
            Self::TooManyParticipants(_) => f.pad("TooManyParticipants(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed(_) => f.pad("pushing into a closed queue"),
            Self::Corrupted(_) => f.pad(CORRUPTED),
            Self::Disconnected(_) => f.pad(DISCONNECTED),
            Self::ForkedCopy(_) => f.pad(FORKED_COPY),
            Self::TooManyParticipants(_) => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl<T> std::error::Error for PushError<T> {}

/// A timed push did not go in before its timeout, or can never succeed; the value is handed
/// back.
///
/// Returned by [`BlockingQueue::push_timeout`](crate::BlockingQueue::push_timeout).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushTimeoutError<T> {
    /// The queue stayed full until the timeout.
    Timeout(T),
    /// The queue was closed.
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

impl<T> PushTimeoutError<T> {
    /// The error of a timed push that gave up, holding its value.
    pub(crate) fn gave_up((value, gave_up): (T, GaveUp)) -> Self {
        let error: fn(T) -> Self = match gave_up {
            GaveUp::TimedOut => Self::Timeout,
            GaveUp::Refused(refusal) => refused_as(
                refusal,
                [
                    Self::Closed,
                    Self::Corrupted,
                    Self::Disconnected,
                    Self::ForkedCopy,
                    Self::TooManyParticipants,
                ],
            ),
        };
        error(value)
    }

    /// The same error, holding `f` of its value (a value put in another form to be pushed,
    /// turned back into the caller's).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> PushTimeoutError<U> {
        match self {
            Self::Timeout(value) => PushTimeoutError::Timeout(f(value)),
            Self::Closed(value) => PushTimeoutError::Closed(f(value)),
            Self::Corrupted(value) => PushTimeoutError::Corrupted(f(value)),
            Self::Disconnected(value) => PushTimeoutError::Disconnected(f(value)),
            Self::ForkedCopy(value) => PushTimeoutError::ForkedCopy(f(value)),
            Self::TooManyParticipants(value) => PushTimeoutError::TooManyParticipants(f(value)),
        }
    }
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(value)
            | Self::Closed(value)
            | Self::Corrupted(value)
            | Self::Disconnected(value)
            | Self::ForkedCopy(value)
            | Self::TooManyParticipants(value) => value,
        }
    }

    /// Whether the push timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
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

impl<T> fmt::Debug for PushTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.pad("Timeout(..)"),
            Self::Closed(_) => f.pad("Closed(..)"),
            Self::Corrupted(_) => f.pad("Corrupted(..)"),
            Self::Disconnected(_) => f.pad("Disconnected(..)"),
            Self::ForkedCopy(_) => f.pad("ForkedCopy(..)"),
            Self::TooManyParticipants(_) => f.pad("TooManyParticipants(..)"),
        }
    }
}

impl<T> fmt::Display for PushTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.pad("timed out pushing into a full queue"),
            Self::Closed(_) => f.pad("pushing into a closed queue"),
            Self::Corrupted(_) => f.pad(CORRUPTED),
            Self::Disconnected(_) => f.pad(DISCONNECTED),
            Self::ForkedCopy(_) => f.pad(FORKED_COPY),
            Self::TooManyParticipants(_) => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl<T> std::error::Error for PushTimeoutError<T> {}

/// A timed pop got no value before its timeout, or can never succeed.
///
/// Returned by [`BlockingQueue::pop_timeout`](crate::BlockingQueue::pop_timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PopTimeoutError {
    /// The queue stayed empty until the timeout.
    Timeout,
    /// The queue was closed and drained.
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

impl PopTimeoutError {
    /// The error of a timed pop that gave up.
    pub(crate) fn gave_up(gave_up: GaveUp) -> Self {
        match gave_up {
            GaveUp::TimedOut => Self::Timeout,
            GaveUp::Refused(refusal) => refused_as(
                refusal,
                [
                    Self::Closed,
                    Self::Corrupted,
                    Self::Disconnected,
                    Self::ForkedCopy,
                    Self::TooManyParticipants,
                ],
            ),
        }
    }

    /// Whether the pop timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
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

impl fmt::Display for PopTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.pad("timed out popping from an empty queue"),
            Self::Closed => f.pad("popping from a closed and empty queue"),
            Self::Corrupted => f.pad(CORRUPTED),
            Self::Disconnected => f.pad(DISCONNECTED),
            Self::ForkedCopy => f.pad(FORKED_COPY),
            Self::TooManyParticipants => f.pad(TOO_MANY_PARTICIPANTS),
        }
    }
}

impl std::error::Error for PopTimeoutError {}
