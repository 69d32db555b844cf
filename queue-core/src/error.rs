//! The errors of the queue: each one says what went wrong and hands back what it could not keep.

use core::fmt;

/// Why a ring operation claimed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Full (for a push) or empty (for a pop) when it looked; see [`Queue`]'s guarantees.
    ///
    /// [`Queue`]: crate::Queue
    FullOrEmpty,
    /// The ring is closed: no push can succeed, and (for a pop) no value is left.
    Closed,
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
}

impl<T> TryPushError<T> {
    /// The error of a push the ring refused, holding its value.
    pub(crate) fn refused((value, refusal): (T, Refusal)) -> Self {
        match refusal {
            Refusal::FullOrEmpty => Self::Full(value),
            Refusal::Closed => Self::Closed(value),
        }
    }

    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(value) | Self::Closed(value) => value,
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
}

impl<T> fmt::Debug for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.pad("Full(..)"),
            Self::Closed(_) => f.pad("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.pad("pushing into a full queue"),
            Self::Closed(_) => f.pad("pushing into a closed queue"),
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
}

impl TryPopError {
    /// The error of a pop the ring refused.
    pub(crate) fn refused(refusal: Refusal) -> Self {
        match refusal {
            Refusal::FullOrEmpty => Self::Empty,
            Refusal::Closed => Self::Closed,
        }
    }

    /// Whether the pop failed because the queue was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the pop failed because the queue was closed and drained.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for TryPopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.pad("popping from an empty queue"),
            Self::Closed => f.pad("popping from a closed and empty queue"),
        }
    }
}

impl std::error::Error for TryPopError {}

/// A blocking push found the queue closed; the value is handed back.
///
/// Returned by [`BlockingQueue::push`](crate::BlockingQueue::push).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PushError<T>(pub T);

impl<T> PushError<T> {
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("PushError(..)")
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("pushing into a closed queue")
    }
}

impl<T> std::error::Error for PushError<T> {}

/// The queue is closed (and, for pops, drained): the operation can never succeed.
///
/// Returned by the blocking pops and by the slice operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClosedError;

impl ClosedError {
    /// The answer of a non-blocking batch: how many values moved (0 when the ring was full or
    /// empty), or closed.
    pub(crate) fn batch_answer(result: Result<usize, Refusal>) -> Result<usize, Self> {
        match result {
            Ok(count) => Ok(count),
            Err(Refusal::FullOrEmpty) => Ok(0),
            Err(Refusal::Closed) => Err(Self),
        }
    }
}

impl fmt::Display for ClosedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("the queue is closed")
    }
}

impl std::error::Error for ClosedError {}

/// A timed push did not go in before its timeout, or found the queue closed; the value is
/// handed back.
///
/// Returned by [`BlockingQueue::push_timeout`](crate::BlockingQueue::push_timeout).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushTimeoutError<T> {
    /// The queue stayed full until the timeout.
    Timeout(T),
    /// The queue was closed.
    Closed(T),
}

impl<T> PushTimeoutError<T> {
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(value) | Self::Closed(value) => value,
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
}

impl<T> fmt::Debug for PushTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.pad("Timeout(..)"),
            Self::Closed(_) => f.pad("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for PushTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.pad("timed out pushing into a full queue"),
            Self::Closed(_) => f.pad("pushing into a closed queue"),
        }
    }
}

impl<T> std::error::Error for PushTimeoutError<T> {}

/// A timed pop got no value before its timeout, or found the queue closed and drained.
///
/// Returned by [`BlockingQueue::pop_timeout`](crate::BlockingQueue::pop_timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PopTimeoutError {
    /// The queue stayed empty until the timeout.
    Timeout,
    /// The queue was closed and drained.
    Closed,
}

impl PopTimeoutError {
    /// Whether the pop timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// Whether the pop failed because the queue was closed and drained.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for PopTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.pad("timed out popping from an empty queue"),
            Self::Closed => f.pad("popping from a closed and empty queue"),
        }
    }
}

impl std::error::Error for PopTimeoutError {}
