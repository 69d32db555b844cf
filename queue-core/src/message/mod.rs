//! The top floor (feature `serde`): messages of any serde type over the shared queues, each
//! encoded by a [`Codec`](message_codec::Codec). Built on the queues; nothing below depends
//! on it.

mod error;
mod queue;
mod slots;

pub use error::{ReceiveError, SendError};
pub use queue::{MessageQueue, Messages};
