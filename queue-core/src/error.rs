//! The errors of the queue: each one says what went wrong and hands back what it could not keep.

use core::fmt;

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
/// Returned by [`Queue::try_push`](crate::Queue::try_push). More variants may be added (a closed
/// queue, for one), so match with a wildcard arm or use [`into_inner`](Self::into_inner).
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
}

impl<T> TryPushError<T> {
    /// Returns the value that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(value) => value,
        }
    }

    /// Whether the push failed because the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }
}

impl<T> fmt::Debug for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.pad("Full(..)"),
        }
    }
}

impl<T> fmt::Display for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.pad("pushing into a full queue"),
        }
    }
}

impl<T> std::error::Error for TryPushError<T> {}

/// No value could be popped without waiting.
///
/// Returned by [`Queue::try_pop`](crate::Queue::try_pop). More variants may be added (a closed
/// and drained queue, for one), so match with a wildcard arm.
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
}

impl TryPopError {
    /// Whether the pop failed because the queue was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl fmt::Display for TryPopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.pad("popping from an empty queue"),
        }
    }
}

impl std::error::Error for TryPopError {}
