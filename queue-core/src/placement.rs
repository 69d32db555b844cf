//! Where a queue's ring lives, as a type: [`Heap`] (this process) or [`Shared`] (a memory
//! mapping that several processes map).
//!
//! [`Queue`](crate::Queue) and [`BlockingQueue`](crate::BlockingQueue) take the placement as
//! their second type parameter, `Heap` by default, so each operation is written once for
//! both placements, and only a shared queue has a descriptor to hand to another process.
//! The trait is sealed: the storage behind each placement is this crate's own.

/// Where a queue's ring lives: [`Heap`] or [`Shared`]. Sealed: no other placement exists.
pub trait Placement: sealed::Placement {}

/// The placement of a queue within one process: one heap allocation, any `T: Send`.
///
/// The default placement: `Queue<T>` is `Queue<T, Heap>`.
#[derive(Debug)]
pub enum Heap {}

/// The placement of a queue between processes: a memory file (`memfd`) mapped by each process
/// that shares it, for [`Plain`](crate::Plain) values only.
///
/// Made with [`Queue::create`](crate::Queue::create) or
/// [`BlockingQueue::create`](crate::BlockingQueue::create), and mapped again from its
/// descriptor with `attach`.
///
/// # Participants
///
/// Each handle of a shared queue is one participant: `create`, `attach` and `try_clone` each
/// take an entry in the queue's table of participants (at most
/// [`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS), in all processes together; one more is
/// [`MappingError::TooManyParticipants`](crate::MappingError::TooManyParticipants)), and
/// dropping the handle gives it back. A handle is `Send` but not `Sync`: give each thread a
/// handle of its own (`try_clone`). A child made by `fork` that uses a handle it inherited
/// takes an entry of its own at its first call. The entry is what makes a dead process's
/// claims recoverable (see the progress promise on [`Queue`](crate::Queue)); the entries of
/// dead processes are taken back when the table is full.
///
/// # Trust
///
/// Every process that maps a shared queue can write every byte of it, at any time. The queue
/// trusts none of them: a faulty or hostile process can make this process's calls return an
/// error, never undefined behaviour, a panic, a fault, a spin, or a wait past the call's own
/// timeout.
///
/// - **Attaching checks everything first.** The descriptor must be a memory file
///   (`memfd_create`) sealed against any change of length (`F_SEAL_SHRINK`, `F_SEAL_GROW`,
///   `F_SEAL_SEAL`, which `create` sets): no process can then shrink it under a mapping, so no
///   access can fault with `SIGBUS`. Then the header (magic, layout version, element size,
///   alignment and [tag](crate::Plain#the-type-tag), kind of queue, capacity, offsets, barrier
///   pair), the file's length and the cursors. Each failure is a typed
///   [`MappingError`](crate::MappingError).
/// - **Every access is defined, whatever another process writes.** Cursors, stamps and wait
///   lists are atomics; values are copied in and out one machine word at a time with relaxed
///   atomic accesses (a plain copy racing another process's write would be a data race), and
///   any bytes make a valid [`Plain`](crate::Plain) value. Every position read from a cursor is
///   checked against the capacity before it indexes anything, and `len()` stays between 0
///   and the capacity.
/// - **No call spins on bad data.** A stamp or cursor that the protocol can never produce is
///   answered with `Corrupted` (every error type has that variant) at the first retry that
///   sees it; data that keeps changing, faster than a call can read it, is answered with
///   `Corrupted` after 65,536 retries in a row (a few milliseconds). In the protocol a
///   retry follows another call's claim made during this call's attempt, so a live queue does
///   not get there. `_timeout` calls keep their deadline. A heap queue never answers
///   `Corrupted`.
/// - **What a faulty process can still do** is what any writer of shared memory can: lose,
///   garble, duplicate or invent messages, and make the queue look full, empty or closed.
///   Damage that looks like a state the protocol reaches (every slot claimed by a push that
///   has not finished, say) is answered as that state: `Full` or `Empty`.
///
/// What the word copies cost: the compiler cannot merge atomic accesses into vector moves, so
/// a 64-byte value is eight word loads where a plain copy takes four 16-byte ones. In the
/// crate's cross-process benchmark, side by side with the plain copies they replaced,
/// 64-byte messages one at a time ran at 0.98 to 1.19 times the old rate and 64-byte batches
/// at 0.92; `u64` messages are one word either way.
#[derive(Debug)]
pub enum Shared {}

impl Placement for Heap {}
impl Placement for Shared {}

pub(crate) mod sealed {
    /// What each placement stores.
    pub trait Placement: 'static {
        /// The storage of a non-blocking queue of `T`.
        #[allow(private_bounds, reason = "sealed: the storage is this crate's own")]
        type Ring<T>: crate::storage::RingStorage<T>;
        /// The storage of a blocking queue of `T`.
        #[allow(private_bounds, reason = "sealed: the storage is this crate's own")]
        type Waiting<T>: crate::storage::WaitingStorage<T>;
        /// The placement's name, for `Debug`.
        const NAME: &'static str;
    }

    impl Placement for super::Heap {
        type Ring<T> = crate::heap::HeapRing<T>;
        type Waiting<T> = crate::heap::HeapWaiting<T>;
        const NAME: &'static str = "heap";
    }

    impl Placement for super::Shared {
        type Ring<T> = crate::shared::Mapping<T>;
        type Waiting<T> = crate::shared::WaitingMapping<T>;
        const NAME: &'static str = "shared";
    }
}
