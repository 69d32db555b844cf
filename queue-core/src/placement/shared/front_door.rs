//! A shared handle's front door, written once for every kind of queue: `create`, `attach`,
//! `fd`, `try_clone`, `try_clone_as`, their docs, and (feature `serde`) the handle as a serde
//! value.
//!
//! A kind of queue says how its handles are made ([`FrontDoor`], four short functions beside
//! the kind), then calls [`shared_front_door!`] once; a new kind does the same, and a change to
//! what every handle offers is made here.

use std::os::fd::{BorrowedFd, OwnedFd};

use super::MappingError;
use crate::placement::Role;

/// How the handles of one kind of shared queue are made: what [`shared_front_door!`] calls.
pub(crate) trait FrontDoor: Sized {
    /// The same kind of handle, of role `R2`.
    type As<R2: Role>;

    /// A new queue of `capacity` in a memory file of its own, and its first handle.
    fn create_queue(capacity: usize) -> Result<Self, MappingError>;

    /// A new handle to the queue whose memory file `fd` is.
    fn attach_queue(fd: OwnedFd) -> Result<Self, MappingError>;

    /// The queue's memory file.
    fn queue_fd(&self) -> BorrowedFd<'_>;

    /// Another handle to the same queue, of role `R2`.
    fn clone_queue<R2: Role>(&self) -> Result<Self::As<R2>, MappingError>;
}

/// Writes the front door of a kind of shared handle, from its [`FrontDoor`] impl:
///
/// - `impl [generics] Handle` names the handle type, with `R: Role` among the generics;
/// - `as [R2] HandleAs` names the same type of role `R2`;
/// - `example: "Type<u64, ...>"` names the type the doc examples use, with `push` and `pop`
///   the calls they make, `uses` the import they need, and `refused` a type whose `attach`
///   refuses the example's queue;
/// - `create_notes` and `attach_notes` are that kind's own paragraphs of docs.
macro_rules! shared_front_door {
    (
        impl [$($generics:tt)*] $Handle:ty,
        as [$R2:ident] $HandleAs:ty,
        example: $example:literal, push: $push:literal, pop: $pop:literal, uses: $uses:literal,
        refused: $refused:literal,
        create_notes: [$(#[doc = $create_notes:literal])*],
        attach_notes: [$(#[doc = $attach_notes:literal])*] $(,)?
    ) => {
        impl<$($generics)*> $Handle {
            /// Creates an empty queue of `capacity` in a new shared memory mapping, for
            /// processes to share: a child made by `fork` after this call shares it as it is,
            /// another process given the descriptor ([`fd`](Self::fd)) maps it with
            /// [`attach`](Self::attach), and a handle in a spawn-core `Process` argument
            /// (feature `serde`) reaches its child under every start method. This handle is
            /// the queue's first [participant](crate::Shared#participants).
            ///
            $(#[doc = $create_notes])*
            ///
            /// # Errors
            ///
            /// [`MappingError::Capacity`](crate::MappingError::Capacity) for a capacity of 0
            /// or one whose mapping would not fit;
            /// [`MappingError::Os`](crate::MappingError::Os) if the kernel refused the memory.
            ///
            /// # Examples
            ///
            /// ```
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = $uses]
            ///
            #[doc = concat!("let queue = ", $example, "::create(8)?;")]
            #[doc = concat!("queue.", $push, "(7).unwrap();")]
            /// // Another mapping of the same memory, as a process given the descriptor makes:
            #[doc = concat!("let attached = ", $example, "::attach(queue.fd().try_clone_to_owned()?)?;")]
            #[doc = concat!("assert_eq!(attached.", $pop, "(), Ok(7));")]
            /// // A handle of another element type is refused:
            /// let fd = queue.fd().try_clone_to_owned()?;
            #[doc = concat!("assert!(", $refused, "::attach(fd).is_err());")]
            /// # Ok(())
            /// # }
            /// ```
            pub fn create(capacity: usize) -> Result<Self, $crate::MappingError> {
                <Self as $crate::placement::shared::FrontDoor>::create_queue(capacity)
            }

            /// Maps the shared queue behind `fd`, made by [`create`](Self::create) in this or
            /// another process, after checking all of it: a new participant of this handle's
            /// role.
            ///
            /// # Errors
            ///
            /// A typed [`MappingError`](crate::MappingError), never undefined behaviour, when
            /// the descriptor is not a sealed memory file, or the file is not a queue, is
            /// another kind of queue, was made by another layout version, holds another
            /// element type, or is resized or damaged (see the [trust section](crate::Shared#trust)).
            $(#[doc = $attach_notes])*
            pub fn attach(fd: std::os::fd::OwnedFd) -> Result<Self, $crate::MappingError> {
                <Self as $crate::placement::shared::FrontDoor>::attach_queue(fd)
            }

            /// The descriptor of the queue's memory file, for handing to another process
            /// (which calls [`attach`](Self::attach) with a duplicate of it).
            pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
                <Self as $crate::placement::shared::FrontDoor>::queue_fd(self)
            }

            /// Another handle to the same shared queue, for another thread: a shared handle is
            /// `Send` but not `Sync`, since each handle is one participant of the queue (an
            /// entry in its table, whose claims are recovered if its process dies). A child
            /// made by `fork` that uses a handle it inherited takes an entry of its own at its
            /// first call.
            ///
            /// # Errors
            ///
            /// [`MappingError::TooManyParticipants`](crate::MappingError::TooManyParticipants)
            /// when the queue already has [`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS) live
            /// handles, in all processes together.
            ///
            /// # Examples
            ///
            /// ```
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = $uses]
            ///
            #[doc = concat!("let queue = ", $example, "::create(8)?;")]
            /// let producer = queue.try_clone()?;
            #[doc = concat!("std::thread::spawn(move || producer.", $push, "(1).unwrap()).join().unwrap();")]
            #[doc = concat!("assert_eq!(queue.", $pop, "(), Ok(1));")]
            /// # Ok(())
            /// # }
            /// ```
            ///
            /// A handle cannot be shared between threads by reference: it is one participant.
            ///
            /// ```compile_fail
            #[doc = $uses]
            ///
            /// fn shared_by_threads<T: Sync>(_: &T) {}
            #[doc = concat!("let queue = ", $example, "::create(8).unwrap();")]
            #[doc = concat!("shared_by_threads(&queue); // error: `", $example, "` is not `Sync`")]
            /// ```
            pub fn try_clone(&self) -> Result<Self, $crate::MappingError> {
                <Self as $crate::placement::shared::FrontDoor>::clone_queue(self)
            }

            /// Another handle to the same shared queue, of role `R2` (see
            /// [roles](crate::Shared#roles)): a [`Producer`](crate::Producer) to hand to a
            /// process that only pushes, say.
            ///
            /// # Errors
            ///
            /// As [`try_clone`](Self::try_clone).
            pub fn try_clone_as<$R2: $crate::Role>(&self) -> Result<$HandleAs, $crate::MappingError> {
                <Self as $crate::placement::shared::FrontDoor>::clone_queue::<$R2>(self)
            }
        }

        /// Serializes the handle for a child process: only inside `fd_carrier::collect`, which
        /// spawn-core's `Process::start` sets up (anywhere else it is an error: a handle
        /// written to a file would name nothing).
        #[cfg(feature = "serde")]
        #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
        impl<$($generics)*> serde::Serialize for $Handle {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::placement::shared::carried::serialize_descriptor(self.fd(), serializer)
            }
        }

        /// Attaches the queue whose descriptor was received beside the bytes (inside
        /// `fd_carrier::deliver`, which spawn-core's entry points set up): a new handle of
        /// this type's role.
        #[cfg(feature = "serde")]
        #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
        impl<'de, $($generics)*> serde::Deserialize<'de> for $Handle {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let fd = $crate::placement::shared::carried::deserialize_descriptor(deserializer)?;
                Self::attach(fd).map_err($crate::placement::shared::carried::not_attached)
            }
        }
    };
}

pub(crate) use shared_front_door;
