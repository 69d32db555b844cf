//! The shared placement: a ring (and, for a blocking queue, its wait lists) in a memory
//! mapping that several processes map at once.
//!
//! # The mapping
//!
//! ```text
//! offset 0            Header: magic, layout version, capacity, element type, offsets, length,
//!                     barrier pair (`SeqCst` fences, or `membarrier` with compiler fences);
//!                     two offsets reserved (0) for a table of participating processes and a
//!                     record of who claimed each slot
//! cursors_offset      Cursors (head and the close flag; tail), each on its own cache line
//! wait_lists_offset   WaitLists (futex words and sleeper counts), for a blocking queue only;
//!                     0 in the header of a non-blocking one
//! stamps_offset       capacity x stamp_spacing::<T>() x AtomicUsize: the slots' stamps,
//!                     from a cache line (see `ring::stamp_spacing`)
//! values_offset       capacity x T: the slots' values, from a cache line
//! ```
//!
//! The creator writes everything before the descriptor can reach another process, the magic
//! number last. An attacher maps the whole file, copies the header out with a volatile read,
//! and checks every field (and that both cursors index a slot) before it touches the ring.
//!
//! # Soundness across processes
//!
//! Another process writing a byte is, to this process, the same as another thread writing it.
//! So the only references made into the mapping are to the cursors, the wait lists, the stamps
//! and the value cells, whose every byte that anyone writes sits inside an atomic or an
//! `UnsafeCell`:
//! the same access rules as between threads. The header is never referenced, only copied.
//! Values are written and read through raw pointers by the ring's claim protocol, and are
//! [`Plain`]: whatever bytes another process left in a slot make a valid `T`.
//!
//! Every process that maps a queue runs this crate's protocol. The header and cursors are
//! checked when attaching; a process that later writes the mapping outside the protocol can
//! lose or garble messages (as with any shared memory), but a garbled value is still a valid
//! `T`.
//!
//! loom does not model this placement (its atomics are handles into a simulated execution,
//! not memory): the algorithm is checked on the heap placement, and this one by the
//! cross-process tests.

mod error;
mod file;
mod layout;
mod mapping;
mod plain;

pub use error::{ElementType, FileKind, MappingError};
pub(crate) use mapping::{Mapping, WaitingMapping};
pub use plain::{Frame, Plain, type_tag};
