//! The top floor (feature `serde`): messages of any serde type over the shared queues, and the
//! shared queues' handles as serde values, for a child process's argument. Built on the
//! queues; nothing below depends on it.

mod carried;
mod error;
mod queue;

pub use error::{ReceiveError, SendError};
pub use queue::{DEFAULT_FRAME, MessageQueue, Messages};
