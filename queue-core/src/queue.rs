//! [`Queue`]: the ring with non-blocking calls, on the heap for any `T: Send`, or shared
//! between processes for plain data.

use core::fmt;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::error::{CapacityError, PopError, PushSliceError, TryPopError, TryPushError};
use crate::placement::heap::HeapRing;
use crate::placement::{Heap, Placement, Pops, Pushes, Role, Shared, sealed};
use crate::placement::shared::{FrontDoor, Mapping, MappingError, shared_front_door};
use crate::ring::Plain;
use crate::placement::storage::{RingOf, RingStorage};

/// A bounded multi-producer multi-consumer FIFO queue.
///
/// Python's `multiprocessing.Queue` and `queue.Queue` for Rust threads, but always bounded: it
/// holds at most [`capacity`](Self::capacity) values, allocated once in [`new`](Self::new), and
/// never allocates again. Share it between threads with an [`Arc`](std::sync::Arc) or a scoped
/// thread's borrow.
///
/// `P` is where the ring lives: [`Heap`] (the default: `Queue<T>`, for any `T: Send`) or
/// [`Shared`] (`Queue<T, Shared>`, a memory mapping shared with other processes, for
/// [`Plain`] values; see [`create`](Queue::create)). Every operation is the same for both.
/// For calls that wait, see [`BlockingQueue`](crate::BlockingQueue).
///
/// # Guarantees
///
/// - **FIFO, exactly once.** Every pushed value is popped at most once, values are popped in the
///   order their pushes took effect, and so each producer's values come out in the order it
///   pushed them. Values still inside when the queue is dropped are dropped, once each.
/// - **Happens-before.** A successful push happens-before the pop that returns its value: all
///   the producer did before the push is visible to the consumer after the pop.
/// - **Linearizable, with one stated exception for failures.** Every completed operation takes
///   effect at one instant between its call and its return (a push at the instant it claims its
///   slot), and its answer is that of a plain FIFO queue of the same capacity at that instant,
///   except in the window where another thread is mid-operation on the slot needed:
///   - [`try_pop`](Self::try_pop) answers `Empty` only if, at some instant during the call, the
///     queue was empty, or the push of its oldest value had claimed its slot but not yet
///     returned;
///   - [`try_push`](Self::try_push) answers `Full` only if, at some instant during the call,
///     the queue was full, or the pop that took the value last held in the slot needed had not
///     yet returned.
///
///   Histories are ordered by happens-before, so the exception never applies to operations
///   that returned before the call started (in happens-before): once a push has returned, and
///   so has every push that claimed its slot before it, a pop that starts after them (in
///   happens-before) finds that value or an older one. (A push that returned while an older
///   one is still unfinished is not enough: pops answer `Empty` until the older one
///   publishes, since its value must come out first.) The loom suite checks exactly this
///   specification on every execution it explores.
/// - **Progress: no call ever waits for another thread.** A call retries only when another
///   call claimed a slot during its attempt (its compare-and-swap lost, the cursor it read was
///   stale, or a slot became ready while it looked); the compare-and-swap is the strong one,
///   which never fails spuriously. So among running calls one always completes its claim
///   (the claims are lock-free), and each `try_` call returns after as many retries as other
///   calls' claims cause during it; on a [`Shared`] queue, at most 65,536 (see its
///   [trust section](Shared#trust)).
///
///   The queue is not lock-free with respect to a stalled claimer, and does not claim to be:
///   a thread stalled between claiming a slot and finishing with it makes the calls that need
///   that slot answer `Empty`/`Full` until it resumes (FIFO forbids overtaking it). It blocks
///   no call and loses nothing.
///
/// - **A dead participant costs nothing lasting** (on a [`Shared`] queue). A process killed
///   between claiming a slot and finishing with it never resumes, so its claims are finished
///   for it. Each handle announces a claim in its entry of the queue's table of
///   [participants](Shared#participants) before it makes it. A call that finds a slot claimed
///   and unfinished asks the kernel whether the processes whose announcements cover the slot
///   have exited (a pidfd: no heartbeat, no timeout; a process started after the pid was
///   recorded is another process), and only if every one of them has does it finish the slot
///   for them: a dead push's slot is skipped, its value (written or half-written) never
///   delivered; a dead pop's slot is freed, its value (taken or not) not delivered again, so
///   the one value a consumer may have taken when it died is delivered at most once. Every
///   other acknowledged value is delivered exactly once, and the full capacity comes back.
///   A live claimer, however slow (stopped, descheduled), is never robbed, and a process in
///   another pid namespace is never judged dead. A claim normally finishes within a
///   microsecond, so a handle asks about a slot only once it has seen it held for 50 µs (and
///   then at most once per 50 µs): until then a `try_` call answers `Empty` or `Full` there,
///   as it does for a live claimer. A blocking call that needs the slot finds the death
///   within about 100 µs of its call (or of the death, if later: it looks again at least
///   every 10 ms while it sleeps, so it needs nobody else to notice). A process killed
///   while asleep in a blocking call leaves its registration as a sleeper (one bit per
///   participant): the first call on the other side whose wake woke nobody, and has seen
///   that registration for 50 µs, asks whether its process has exited and takes it out, so
///   the wakes it costs stop within a fraction of a millisecond.
///
/// - **Thread safety.** `Queue<T>` is `Send` and `Sync` exactly when `T: Send` (values move
///   between threads; none is ever shared), so a queue of `Rc`s cannot cross threads:
///
/// ```compile_fail
/// fn shareable<T: Sync>(_: &T) {}
/// let queue = queue_core::Queue::<std::rc::Rc<u8>>::new(1).unwrap();
/// shareable(&queue); // error: `Rc<u8>` cannot be sent between threads safely
/// ```
///
/// # Model checking
///
/// Built with `RUSTFLAGS="--cfg loom"`, the queue's atomics and cells are
/// [loom](https://docs.rs/loom)'s, so a downstream crate's own loom models explore our queue's
/// interleavings too, with no feature flag.
///
/// # Examples
///
/// One producer and one consumer thread: the producer retries a full queue with the value it
/// was handed back, and the consumer sees the producer's order.
///
/// ```
/// use queue_core::Queue;
/// use std::thread;
///
/// let queue = Queue::new(64).unwrap();
/// thread::scope(|s| {
///     s.spawn(|| {
///         for n in 0..1000 {
///             let mut value = n;
///             // Retry until there is room; the value is never lost.
///             while let Err(full) = queue.try_push(value) {
///                 value = full.into_inner();
///                 thread::yield_now();
///             }
///         }
///     });
///     s.spawn(|| {
///         let mut expected = 0;
///         while expected < 1000 {
///             if let Ok(n) = queue.try_pop() {
///                 assert_eq!(n, expected); // one producer: its order is kept
///                 expected += 1;
///             }
///         }
///     });
/// });
/// ```
///
/// The chapter's `Queue_Iftry_Put` and `Queue_Iftry_Get` are plain `Result` combinators:
///
/// ```
/// # fn main() {
/// use queue_core::Queue;
/// use std::sync::Arc;
/// use std::thread;
///
/// let queue = Arc::new(Queue::new(8).unwrap());
///
/// let producer = {
///     let queue = Arc::clone(&queue);
///     thread::spawn(move || {
///         for n in 0..8 {
///             // `Queue_Iftry_Put`: true if the value went in.
///             let put = queue.try_push(n).is_ok();
///             assert!(put);
///         }
///     })
/// };
/// producer.join().unwrap();
///
/// // `Queue_Iftry_Get` with a default when empty:
/// assert_eq!(queue.try_pop().unwrap_or(-1), 0);
/// // ... with a function applied to the value:
/// assert_eq!(queue.try_pop().map(|n| n * 10).ok(), Some(10));
/// // `Queue_Iftry_Put` returning False on a full queue, losing nothing:
/// let small = Queue::new(1).unwrap();
/// small.try_push('a').unwrap();
/// assert_eq!(small.try_push('b').map_err(|e| e.into_inner()), Err('b'));
/// # }
/// ```
pub struct Queue<T, P: Placement = Heap> {
    storage: <P as sealed::Placement>::Ring<T>,
}

// A `Queue<T, P>` moves its values between threads (and, shared, between processes, for
// `T: Plain` only) and nothing else: each value is written by one push and read out by one
// pop (see `Ring`); no `&T` is ever handed out. A shared queue is not `Sync`: each handle is
// one participant of the queue, with one announcement, which two threads' claims would
// overwrite (see `try_clone`).
// SAFETY: sharing the queue only sends `T`s between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for Queue<T, Heap> {}

// SAFETY: sending the queue sends the `T`s inside it, which `T: Send` allows; a mapping is
// process-wide, so any thread may use and unmap it.
unsafe impl<T: Send, P: Placement> Send for Queue<T, P> {}

impl<T> Queue<T> {
    /// Creates an empty queue that holds at most `capacity` values.
    ///
    /// Allocates the whole ring here; no later operation allocates.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for a capacity of 0, and [`CapacityError::TooLarge`] when the ring
    /// for `capacity` values does not fit in the address space or cannot be allocated. Neither
    /// panics nor aborts.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), queue_core::CapacityError> {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::<String>::new(16)?;
    /// assert_eq!(queue.capacity(), 16);
    /// assert!(queue.is_empty());
    /// # Ok::<(), queue_core::CapacityError>(())
    /// # }
    /// ```
    #[doc(alias = "Queue(maxsize)")]
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        Self::starting_at_lap(capacity, 0)
    }

    /// Like [`new`](Self::new), but with both cursors starting at lap `lap` instead of 0, so
    /// that tests reach the wrap-around of positions at `usize::MAX` within a few operations.
    /// Behaves exactly like a new queue otherwise. Not part of the stable API.
    #[doc(hidden)]
    pub fn starting_at_lap(capacity: usize, lap: usize) -> Result<Self, CapacityError> {
        Ok(Self {
            storage: HeapRing::new(capacity, lap)?,
        })
    }
}

impl<T: Plain, R: Role> FrontDoor for Queue<T, Shared<R>> {
    type As<R2: Role> = Queue<T, Shared<R2>>;

    fn create_queue(capacity: usize) -> Result<Self, MappingError> {
        let storage = Mapping::create_plain(capacity, R::ROLES)?;
        Ok(Self { storage })
    }

    fn attach_queue(fd: OwnedFd) -> Result<Self, MappingError> {
        let storage = Mapping::attach_plain(fd, R::ROLES)?;
        Ok(Self { storage })
    }

    fn queue_fd(&self) -> BorrowedFd<'_> {
        self.storage.fd()
    }

    fn clone_queue<R2: Role>(&self) -> Result<Queue<T, Shared<R2>>, MappingError> {
        let storage = self.storage.try_clone(R2::ROLES)?;
        Ok(Queue { storage })
    }
}

shared_front_door! {
    impl [T: Plain, R: Role] Queue<T, Shared<R>>,
    as [R2] Queue<T, Shared<R2>>,
    example: "Queue::<u64, Shared>", push: "try_push", pop: "try_pop",
    uses: "use queue_core::{Queue, Shared};",
    refused: "Queue::<u32, Shared>",
    create_notes: [
        /// The mapping has no wait lists: its calls never wait, and cost what the heap queue's
        /// do. A queue whose calls can sleep is a
        /// [`BlockingQueue::create`](crate::BlockingQueue::create); the two kinds cannot attach
        /// each other's files ([`MappingError::WrongKind`]).
    ],
    attach_notes: [],
}


impl<T, P: Placement> Queue<T, P> {
    #[inline(always)]
    fn ring(&self) -> RingOf<'_, <P as sealed::Placement>::Ring<T>, T> {
        self.storage.ring()
    }

    /// Pushes `value` at the back of the queue if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPushError::Full`], holding `value`, if the queue was full, or the slot needed was
    /// still being emptied by another thread's pop (see the [guarantees](Self#guarantees));
    /// [`TryPushError::Closed`], holding `value`, once the queue is [closed](Self::close).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::new(2).unwrap();
    /// assert!(queue.try_push(1).is_ok());
    /// assert!(queue.try_push(2).is_ok());
    /// assert_eq!(queue.try_push(3).unwrap_err().into_inner(), 3);
    /// # }
    /// ```
    #[doc(alias = "put_nowait")]
    #[inline]
    pub fn try_push(&self, value: T) -> Result<(), TryPushError<T>>
    where
        P: Pushes,
    {
        self.ring().try_push(value).map_err(TryPushError::refused)
    }

    /// Pops the value at the front of the queue, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPopError::Empty`] if the queue was empty, or its oldest value was still being
    /// pushed by another thread (see the [guarantees](Self#guarantees));
    /// [`TryPopError::Closed`] if the queue was [closed](Self::close) and held no value (then,
    /// as for [`is_closed`](Self::is_closed), what the closing thread did before the close is
    /// visible to the caller).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::{Queue, TryPopError};
    ///
    /// let queue = Queue::new(2).unwrap();
    /// queue.try_push("a").unwrap();
    /// assert_eq!(queue.try_pop(), Ok("a"));
    /// assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
    /// # }
    /// ```
    #[doc(alias = "get_nowait")]
    #[inline]
    pub fn try_pop(&self) -> Result<T, TryPopError>
    where
        P: Pops,
    {
        self.ring().try_pop().map_err(TryPopError::refused)
    }

    /// Pushes as many values from the front of `values` as there is room for, claiming their
    /// slots with one atomic step, and returns how many went in (0 if the queue was full).
    ///
    /// The values that went in are a prefix of `values`, pushed in order, and they take effect
    /// at one instant: no other push's value lands between them.
    ///
    /// # Errors
    ///
    /// [`PushSliceError::Closed`] if the queue was [closed](Self::close), or
    /// [`PushSliceError::Corrupted`]; nothing was pushed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::new(4).unwrap();
    /// assert_eq!(queue.try_push_slice(&[1, 2, 3, 4, 5, 6]), Ok(4));
    /// assert_eq!(queue.try_push_slice(&[5, 6]), Ok(0));
    /// # }
    /// ```
    pub fn try_push_slice(&self, values: &[T]) -> Result<usize, PushSliceError>
    where
        T: Copy,
        P: Pushes,
    {
        PushSliceError::batch_answer(self.ring().try_push_slice(values))
    }

    /// Pops as many values as are ready, up to `buffer.len()`, into the front of `buffer`,
    /// claiming their slots with one atomic step, and returns how many (0 if the queue was
    /// empty).
    ///
    /// # Errors
    ///
    /// [`PopError::Closed`] if the queue was [closed](Self::close) and held no value, or
    /// [`PopError::Corrupted`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::new(4).unwrap();
    /// queue.try_push_slice(&[1, 2, 3]).unwrap();
    /// let mut buffer = [0; 8];
    /// assert_eq!(queue.try_pop_slice(&mut buffer), Ok(3));
    /// assert_eq!(buffer[..3], [1, 2, 3]);
    /// # }
    /// ```
    pub fn try_pop_slice(&self, buffer: &mut [T]) -> Result<usize, PopError>
    where
        T: Copy,
        P: Pops,
    {
        PopError::batch_answer(self.ring().try_pop_slice(buffer))
    }

    /// Closes the queue: every later push fails with [`TryPushError::Closed`] (handing its
    /// value back), and pops take the values still inside, then fail with
    /// [`TryPopError::Closed`]. Returns `false` if the queue was already closed.
    ///
    /// The close takes effect at one instant: every push either went in before it (and its
    /// value will be popped) or fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::{Queue, TryPopError};
    ///
    /// let queue = Queue::new(4).unwrap();
    /// queue.try_push(1).unwrap();
    /// assert!(queue.close());
    /// assert!(queue.try_push(2).unwrap_err().is_closed());
    /// assert_eq!(queue.try_pop(), Ok(1));
    /// assert_eq!(queue.try_pop(), Err(TryPopError::Closed));
    /// # }
    /// ```
    pub fn close(&self) -> bool {
        self.ring().close()
    }

    /// Whether the queue has been [closed](Self::close). A `true` answer happens after the
    /// close: what the closing thread did before [`close`](Self::close) is visible to the
    /// caller.
    pub fn is_closed(&self) -> bool {
        self.ring().is_closed()
    }

    /// How many values the queue held at one instant during the call.
    ///
    /// Other threads may push or pop before the answer is read: use it for monitoring, and
    /// [`try_push`](Self::try_push)/[`try_pop`](Self::try_pop) (never "check, then act") to move
    /// values.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::new(4).unwrap();
    /// queue.try_push(7).unwrap();
    /// assert_eq!(queue.len(), 1);
    /// # }
    /// ```
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        self.ring().len()
    }

    /// Whether the queue held no value at one instant during the call; see [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::<u8>::new(4).unwrap();
    /// assert!(queue.is_empty());
    /// # }
    /// ```
    #[doc(alias = "empty")]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue held `capacity` values at one instant during the call; see
    /// [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// let queue = Queue::new(1).unwrap();
    /// queue.try_push(()).unwrap();
    /// assert!(queue.is_full());
    /// # }
    /// ```
    #[doc(alias = "full")]
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// The most values the queue holds.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::Queue;
    ///
    /// assert_eq!(Queue::<u8>::new(3).unwrap().capacity(), 3);
    /// # }
    /// ```
    #[doc(alias = "maxsize")]
    pub fn capacity(&self) -> usize {
        self.ring().capacity()
    }
}

impl<T, P: Placement> fmt::Debug for Queue<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("placement", &<P as sealed::Placement>::NAME)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
