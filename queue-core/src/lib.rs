#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(target_os = "linux"))]
compile_error!("queue-core runs on Linux only: it is built on memfd_create, futex and membarrier");

/// Compiles the items only on Linux, so that another target sees the one error above, not a
/// cascade of missing system calls.
macro_rules! on_linux {
    ($($item:item)*) => { $( #[cfg(target_os = "linux")] $item )* };
}

on_linux! {
    mod blocking;
    mod error;
    mod forked;
    mod iter;
    #[cfg(feature = "serde")]
    mod message;
    mod mutant;
    mod placement;
    mod queue;
    mod ring;
    pub mod spsc;
    mod sync;
    mod wait;

    pub use blocking::BlockingQueue;
    pub use error::{
        CapacityError, PopError, PopTimeoutError, PushError, PushSliceError, PushTimeoutError,
        TryPopError, TryPushError,
    };
    pub use iter::Iter;
    pub use placement::{Both, Consumer, Heap, Placement, Pops, Producer, Pushes, Role, Shared};
    pub use queue::Queue;

    /// Test-only: makes this process kill itself at a chosen crash point of the algorithm,
    /// for the fault-injection tests. Exists only in a build with `--cfg queue_faults`; not
    /// part of the API.
    #[cfg(all(queue_faults, not(loom)))]
    #[doc(hidden)]
    pub mod faults {
        pub use crate::sync::crash::{disarm, kill_at_crash_point};

        /// The sleepers registered on either wait list of `queue` (a mask of participants),
        /// for the tests of a process killed asleep.
        pub fn registered_sleepers<T, P: crate::Placement>(
            queue: &crate::BlockingQueue<T, P>,
        ) -> usize {
            queue.registered_sleepers()
        }
    }
    pub use placement::shared::{ElementType, FileKind, MAX_PARTICIPANTS, MappingError};
    pub use ring::{Frame, Plain, type_tag};
    #[cfg(feature = "serde")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    pub use message::{MessageQueue, Messages, ReceiveError, SendError};
    /// How a [`MessageQueue`]'s messages become bytes: the [`Codec`](codec::Codec) trait and
    /// its default, [`Postcard`](codec::Postcard) (the `message-codec` crate).
    #[cfg(feature = "serde")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    pub use message_codec as codec;
}
