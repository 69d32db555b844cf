//! The errors of a [`MessageQueue`](crate::MessageQueue): a message that cannot be sent (handed
//! back), and bytes that cannot be received as a message (handed over).

use core::fmt;

/// A message that was not sent, handed back: it is larger than the queue, serde could not
/// encode it, or the queue refused it (`E`: the queue's own error, holding the message).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError<M, E> {
    /// Encoded, it takes `encoded` bytes, and the queue carries at most `limit` (see
    /// [`MessageQueue::max_message`](crate::MessageQueue::max_message)).
    TooLarge {
        /// The message.
        message: M,
        /// Its size, encoded.
        encoded: usize,
        /// The largest message the queue carries, encoded.
        limit: usize,
    },
    /// serde could not encode it (a sequence of unknown length, a custom `Serialize` that
    /// failed, ...).
    Unencodable {
        /// The message.
        message: M,
        /// What the encoder said.
        reason: String,
    },
    /// The queue refused it: full, closed, disconnected or corrupted, as the error says.
    Queue(E),
}

impl<M, E> SendError<M, E> {
    /// Whether the message is larger than the queue carries.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge { .. })
    }

    /// The queue's own error, if the queue is what refused the message.
    pub fn queue_error(&self) -> Option<&E> {
        match self {
            Self::Queue(error) => Some(error),
            _ => None,
        }
    }
}

macro_rules! into_inner {
    ($($error:ident),*) => {$(
        impl<M> SendError<M, crate::$error<M>> {
            /// Returns the message that was not sent.
            pub fn into_inner(self) -> M {
                match self {
                    Self::TooLarge { message, .. } | Self::Unencodable { message, .. } => message,
                    Self::Queue(error) => error.into_inner(),
                }
            }
        }
    )*};
}
into_inner!(TryPushError, PushError, PushTimeoutError);

impl<M, E: fmt::Debug> fmt::Debug for SendError<M, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { encoded, limit, .. } => f
                .debug_struct("TooLarge")
                .field("encoded", encoded)
                .field("limit", limit)
                .finish_non_exhaustive(),
            Self::Unencodable { reason, .. } => f
                .debug_struct("Unencodable")
                .field("reason", reason)
                .finish_non_exhaustive(),
            Self::Queue(error) => f.debug_tuple("Queue").field(error).finish(),
        }
    }
}

impl<M, E: fmt::Display> fmt::Display for SendError<M, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { encoded, limit, .. } => write!(
                f,
                "the message takes {encoded} bytes encoded, and the queue carries at most {limit}"
            ),
            Self::Unencodable { reason, .. } => write!(f, "the message does not encode: {reason}"),
            Self::Queue(error) => error.fmt(f),
        }
    }
}

impl<M, E: fmt::Debug + fmt::Display> std::error::Error for SendError<M, E> {}

/// Bytes that could not be received as a message (they have left the queue: they are here), or the queue's own error `E` (empty, closed, disconnected, timed out, corrupted).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiveError<E> {
    /// The message was sent as a message of another type (by a handle that names another
    /// `M`), so it is not decoded at all.
    WrongType {
        /// The message's bytes, as sent: its type's fingerprint, then its encoding.
        bytes: Vec<u8>,
    },
    /// The bytes do not decode as a message of this type (a hostile or broken sender).
    Undecodable {
        /// The message's bytes, as sent: its type's fingerprint, then its encoding.
        bytes: Vec<u8>,
        /// What the decoder said.
        reason: String,
    },
    /// The queue's own answer.
    Queue(E),
}

impl<E> ReceiveError<E> {
    /// The queue's own error, if the queue is what answered.
    pub fn queue_error(&self) -> Option<&E> {
        match self {
            Self::Queue(error) => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for ReceiveError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongType { .. } => f.pad("a message of another type"),
            Self::Undecodable { reason, .. } => write!(f, "a message that does not decode: {reason}"),
            Self::Queue(error) => error.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ReceiveError<E> {}
