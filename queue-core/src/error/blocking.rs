//! The errors of the calls that wait: a blocking push, and the timed calls. (The blocking
//! pop and batch calls answer the non-blocking batches' `PopError` and `PushSliceError`.)

use super::{Refusal, queue_error};

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

queue_error! {
    /// A blocking push can never succeed; the value is handed back.
    ///
    /// Returned by [`BlockingQueue::push`](crate::BlockingQueue::push). More variants may be
    /// added, so match with a wildcard arm or use [`into_inner`](Self::into_inner).
    pub enum PushError<T>, a push error, makes [gave_up] {
        /// The queue is closed.
        Closed => "pushing into a closed queue";
    }
}

queue_error! {
    /// A timed push did not go in before its timeout, or can never succeed; the value is handed
    /// back.
    ///
    /// Returned by [`BlockingQueue::push_timeout`](crate::BlockingQueue::push_timeout).
    pub enum PushTimeoutError<T>, a push error, makes [gave_up] {
        /// The queue was closed.
        Closed => "pushing into a closed queue";
        /// The queue stayed full until the timeout.
        Timeout => "timed out pushing into a full queue", is_timeout;
    }
}

queue_error! {
    /// A timed pop got no value before its timeout, or can never succeed.
    ///
    /// Returned by [`BlockingQueue::pop_timeout`](crate::BlockingQueue::pop_timeout).
    pub enum PopTimeoutError, a pop error, makes [gave_up] {
        /// The queue was closed and drained.
        Closed => "popping from a closed and empty queue";
        /// The queue stayed empty until the timeout.
        Timeout => "timed out popping from an empty queue", is_timeout;
    }
}
