//! The shared placement: a ring (and, for a blocking queue, its wait lists) in a memory
//! mapping that several processes map at once.
//!
//! # The mapping
//!
//! ```text
//! offset 0            Header: magic, layout version, capacity, element size, alignment and
//!                     tag, offsets, length,
//!                     barrier pair (`SeqCst` fences, or `membarrier` with compiler fences)
//! cursors_offset      Cursors (head and the close flag; tail), each on its own cache line
//! wait_lists_offset   WaitLists (futex words and masks of sleeping participants), for a
//!                     blocking queue only;
//!                     0 in the header of a non-blocking one
//! participants_offset Participants: the role masks, then one entry per participant (state,
//!                     start time, pid namespace, pidfd inode), each on its own cache line
//! announcements_offset
//!                     MAX_PARTICIPANTS x Announcement: the claim each participant may be
//!                     making, each on its own cache line
//! stamps_offset       a value of up to 56 bytes: capacity x (1 + words_per_value::<T>()) words,
//!                     each slot's stamp, then its value as whole words, from a cache line
//!                     (see `ring::stamp_beside_value`); values_offset is one word on.
//!                     A larger value: capacity x stamp_spacing::<T>() x AtomicUsize, the
//!                     slots' stamps, from a cache line (see `ring::stamp_spacing`), then
//! values_offset       capacity x words_per_value::<T>() x usize: the slots' values, as whole
//!                     words, from a cache line
//! ```
//!
//! The creator sizes and seals the memory file and writes everything before the descriptor
//! can reach another process. An attacher checks the file (`file`), maps it whole, copies the
//! header out with a volatile read, and checks every field and both cursors (`layout`) before
//! it touches the ring.
//!
//! # Soundness across processes
//!
//! Another process writing a byte is, to this process, the same as another thread writing it,
//! with no protocol to rely on: the promises are stated once, on [`Shared`](crate::Shared)'s
//! trust section. Here is how they are kept. The only references made into the mapping are to
//! atomics: the cursors, the wait lists, the stamps and the values' words
//! (`ring::SharedValues`); the header is never referenced, only copied. The ring checks every
//! position it reads from a cursor, and bounds its retries on this placement (`ring::claim`).
//! Values are [`Plain`]: zerocopy's derives have checked that whatever bytes another process
//! left in a slot make a valid `T`, and the mapping carries that proof to the word copies
//! (`ring::AnyBytes`).
//!
//! loom does not model this placement (its atomics are handles into a simulated execution,
//! not memory): the algorithm is checked on the heap placement, and this one by the
//! cross-process tests.

#[cfg(feature = "serde")]
pub(crate) mod carried;
mod error;
mod file;
mod front_door;
mod layout;
mod liveness;
mod mapping;
mod membership;
mod participants;
mod presence;

pub use error::{ElementType, FileKind, MappingError};
pub(crate) use front_door::{FrontDoor, shared_front_door};
pub use participants::MAX_PARTICIPANTS;
pub(crate) use participants::Roles;
pub(crate) use mapping::{Mapping, WaitingMapping};
