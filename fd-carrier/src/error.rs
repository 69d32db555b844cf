//! [`Error`]: why a descriptor could not be carried.

use core::fmt;
use std::io;

/// Why a descriptor could not be carried or received.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A descriptor was serialized outside [`collect`](crate::collect): nothing would carry it.
    NotCollecting,
    /// A descriptor was deserialized outside [`deliver`](crate::deliver): none was received.
    NotDelivering,
    /// The bytes name a descriptor past the end of the list received with them.
    Missing {
        /// The index the bytes name.
        index: u32,
        /// How many descriptors were received.
        received: usize,
    },
    /// The bytes name a descriptor that an earlier part of the value already took.
    AlreadyTaken {
        /// The index the bytes name.
        index: u32,
    },
    /// The descriptor could not be duplicated into the list (the process has too many open).
    Duplicate(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotCollecting => f.write_str(
                "a file descriptor serializes only inside fd_carrier::collect, whose caller carries it",
            ),
            Self::NotDelivering => f.write_str(
                "a file descriptor deserializes only inside fd_carrier::deliver, with the descriptors received",
            ),
            Self::Missing { index, received } => write!(
                f,
                "the bytes name carried descriptor {index}, and {received} were received"
            ),
            Self::AlreadyTaken { index } => {
                write!(f, "carried descriptor {index} was already taken")
            }
            Self::Duplicate(error) => write!(f, "a descriptor could not be duplicated: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Duplicate(error) => Some(error),
            _ => None,
        }
    }
}
