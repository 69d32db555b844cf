//! Where a queue's ring lives, as a type: [`Heap`] (this process) or [`Shared`] (a memory
//! mapping that several processes map).
//!
//! [`Queue`](crate::Queue) and [`BlockingQueue`](crate::BlockingQueue) take the placement as
//! their second type parameter, `Heap` by default, so each operation is written once for
//! both placements, and only a shared queue has a descriptor to hand to another process.
//! The trait is sealed: the storage behind each placement is this crate's own.

pub(crate) mod heap;
pub(crate) mod shared;
pub(crate) mod storage;

/// Where a queue's ring lives: [`Heap`] or [`Shared`]. Sealed: no other placement exists.
pub trait Placement: sealed::Placement {}

/// A placement whose handles push: [`Heap`], and [`Shared`] handles of the roles [`Both`] and
/// [`Producer`]. Sealed.
pub trait Pushes: Placement {}

/// A placement whose handles pop: [`Heap`], and [`Shared`] handles of the roles [`Both`] and
/// [`Consumer`]. Sealed.
pub trait Pops: Placement {}

/// What a handle of a shared queue does: [`Both`], [`Producer`] or [`Consumer`], the
/// parameter of [`Shared`]. Each handle's role is recorded in the queue's table of
/// participants, so the queue knows who produces and who consumes. Sealed.
pub trait Role: sealed::Role {}

/// The role of a handle that pushes and pops: the default, `Shared` is `Shared<Both>`.
#[derive(Debug)]
pub enum Both {}

/// The role of a handle that only pushes: a `BlockingQueue<T, Shared<Producer>>` has no `pop`.
///
/// ```compile_fail
/// use queue_core::{BlockingQueue, Producer, Shared};
///
/// let queue = BlockingQueue::<u64, Shared<Producer>>::create(8).unwrap();
/// queue.pop(); // error: `pop` needs a placement that `Pops`
/// ```
#[derive(Debug)]
pub enum Producer {}

/// The role of a handle that only pops: a `Queue<T, Shared<Consumer>>` has no `try_push`.
///
/// ```compile_fail
/// use queue_core::{Consumer, Queue, Shared};
///
/// let queue = Queue::<u64, Shared<Consumer>>::create(8).unwrap();
/// queue.try_push(1); // error: `try_push` needs a placement that `Pushes`
/// ```
#[derive(Debug)]
pub enum Consumer {}

impl Role for Both {}
impl Role for Producer {}
impl Role for Consumer {}

/// The placement of a queue within one process: one heap allocation, any `T: Send`.
///
/// The default placement: `Queue<T>` is `Queue<T, Heap>`.
///
/// A child made by fork (a closure started by fork, say) has a copy of the parent's memory,
/// and so a copy of every heap queue the parent had. A copy reaches nobody: pushed values
/// would stay in the child, popped ones are still in the parent's queue. So in the child
/// every push and pop on such a copy answers `ForkedCopy` (handing a pushed value back),
/// at once, never sleeping; a queue the child makes itself works. To share a queue with a
/// child process, make it [`Shared`].
#[derive(Debug)]
pub enum Heap {}

/// The placement of a queue between processes: a memory file (`memfd`) mapped by each process
/// that shares it, for [`Plain`](crate::Plain) values only.
///
/// Made with [`Queue::create`](crate::Queue::create) or
/// [`BlockingQueue::create`](crate::BlockingQueue::create), and mapped again from its
/// descriptor with `attach`.
///
/// # Roles
///
/// `R` says what a handle does: [`Both`] (the default) pushes and pops, a
/// [`Producer`] only pushes and a [`Consumer`] only pops; calling the other side's methods
/// does not compile. Each of `create`, `attach`, `try_clone` and `try_clone_as` makes a
/// handle of the role its type names, so one process can create a queue, keep a consumer
/// and hand producers out:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use queue_core::{BlockingQueue, Consumer, Producer, Shared};
///
/// let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(8)?;
/// let producer = consumer.try_clone_as::<Producer>()?;
/// std::thread::spawn(move || producer.push(1)).join().unwrap()?;
/// assert_eq!(consumer.pop(), Ok(1));
/// # Ok(())
/// # }
/// ```
///
/// # Disconnection
///
/// A shared queue knows who produces and who consumes, so it can say what Python's
/// `multiprocessing.Queue` cannot: that the other side has gone. Once every handle that
/// pushes (a [`Producer`] or a [`Both`]) has been dropped or has died with its process, and at
/// least one ever joined, a pop that finds the queue drained answers `Disconnected` instead of
/// `Empty`, and a blocking one stops waiting. Symmetrically, once every handle that pops is
/// gone, a push that finds the queue full answers `Disconnected` and hands its value back (a
/// push with room still succeeds: a consumer may attach later). Every value pushed before the
/// last producer left is popped first. A handle that leaves wakes the other side's sleepers;
/// a process's death is found by the next call that looks (one lock test, at most once per
/// 50 µs per handle), and by a sleeper within 10 ms.
///
/// The kernel counts the handles: each holds a shared lock, one byte per role, on an open file
/// description of the queue's memory file of its own (one descriptor per handle, beside the
/// memory file's one per process). The lock ends when the handle is dropped, and when its
/// process exits or calls `exec`, however it dies. A copy made by `fork` shares it, so a handle
/// is never taken for gone while it exists in any process, in transit included:
///
/// - **A closure started by fork, or your own `fork()`**: a handle the child inherited counts
///   from the fork on (the parent may drop its copy at once), until the child drops it, exits
///   or calls `exec`. So does every other handle the parent held at the fork, used in the
///   child or not: a worker forked this way that waits for `Disconnected` must not inherit
///   the handle whose drop it waits for (end the stream with [`close`](crate::Queue::close),
///   or pass the worker its queues as a spawn-core `Process` argument).
/// - **A `Process` argument** (feature `serde`): the child attaches a handle of its own before
///   `start` returns, under every start method; under spawn-core's fork start method the child
///   gives up the handles it merely inherited ([`fd_presence::give_up_inherited`]).
/// - **`attach` with a descriptor from [`fd`](crate::Queue::fd)**: a descriptor is not a
///   handle. The attacher counts from its `attach` on; until then, keep a handle of that role.
///
/// `Disconnected` describes now, not for ever: a producer that joins later (`attach`, or
/// `try_clone_as` on a consumer) connects the queue again. A [`Both`] handle is on both
/// sides, so while one lives neither side is disconnected: give the consumer a
/// [`Consumer`] handle of its own to be told when the producers are done.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use queue_core::{BlockingQueue, Consumer, PopError, Producer, Shared};
///
/// let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(8)?;
/// let producer = consumer.try_clone_as::<Producer>()?;
/// std::thread::spawn(move || producer.push_slice(&[1, 2])).join().unwrap()?;
/// assert_eq!(consumer.pop(), Ok(1));
/// assert_eq!(consumer.pop(), Ok(2));
/// assert_eq!(consumer.pop(), Err(PopError::Disconnected)); // the producer was dropped
/// # Ok(())
/// # }
/// ```
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
pub struct Shared<R: Role = Both> {
    /// No value of a placement is ever made: it is only a type.
    _never: core::convert::Infallible,
    _role: core::marker::PhantomData<R>,
}

impl Placement for Heap {}
impl<R: Role> Placement for Shared<R> {}
impl Pushes for Heap {}
impl Pushes for Shared<Both> {}
impl Pushes for Shared<Producer> {}
impl Pops for Heap {}
impl Pops for Shared<Both> {}
impl Pops for Shared<Consumer> {}

pub(crate) mod sealed {
    /// What each placement stores.
    pub trait Placement: 'static {
        /// The storage of a non-blocking queue of `T`.
        #[allow(private_bounds, reason = "sealed: the storage is this crate's own")]
        type Ring<T>: crate::placement::storage::RingStorage<T>;
        /// The storage of a blocking queue of `T`.
        #[allow(private_bounds, reason = "sealed: the storage is this crate's own")]
        type Waiting<T>: crate::placement::storage::WaitingStorage<T>;
        /// The placement's name, for `Debug`.
        const NAME: &'static str;
    }

    impl Placement for super::Heap {
        type Ring<T> = crate::placement::heap::HeapRing<T>;
        type Waiting<T> = crate::placement::heap::HeapWaiting<T>;
        const NAME: &'static str = "heap";
    }

    impl<R: super::Role> Placement for super::Shared<R> {
        type Ring<T> = crate::placement::shared::Mapping<T>;
        type Waiting<T> = crate::placement::shared::WaitingMapping<T>;
        const NAME: &'static str = "shared";
    }

    /// What each role does, as the table of participants records it.
    pub trait Role: 'static {
        /// The roles recorded for a handle of this role.
        #[allow(private_interfaces, reason = "sealed: the table is this crate's own")]
        const ROLES: crate::placement::shared::Roles;
    }

    impl Role for super::Both {
        #[allow(private_interfaces, reason = "sealed: the table is this crate's own")]
        const ROLES: crate::placement::shared::Roles = crate::placement::shared::Roles::BOTH;
    }

    impl Role for super::Producer {
        #[allow(private_interfaces, reason = "sealed: the table is this crate's own")]
        const ROLES: crate::placement::shared::Roles = crate::placement::shared::Roles::PRODUCER;
    }

    impl Role for super::Consumer {
        #[allow(private_interfaces, reason = "sealed: the table is this crate's own")]
        const ROLES: crate::placement::shared::Roles = crate::placement::shared::Roles::CONSUMER;
    }
}
