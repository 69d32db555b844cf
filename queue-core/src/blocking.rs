//! [`BlockingQueue`]: the ring plus two wait lists, so that calls can sleep until they can go
//! on, in one process or across processes.

use core::fmt;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::error::{
    CapacityError, GaveUp, PopError, PopTimeoutError, PushError, PushSliceError,
    PushTimeoutError, Refusal, TryPopError, TryPushError,
};
use crate::placement::heap::HeapWaiting;
use crate::placement::{Heap, Placement, Pops, Pushes, Role, Shared, sealed};
use crate::placement::shared::{FrontDoor, MappingError, WaitingMapping, shared_front_door};
use crate::ring::Plain;
use crate::placement::storage::{RingOf, RingStorage, WaitingStorage};
use crate::sync::Barriers;
use crate::wait::WaitLists;

/// A bounded multi-producer multi-consumer FIFO queue whose calls can wait: Python's
/// `multiprocessing.Queue`, within one process or shared between processes.
///
/// It is [`Queue`](crate::Queue)'s ring, with the same guarantees for its `try_` calls, plus:
///
/// - **Blocking calls that sleep.** [`push`](Self::push) waits while the queue is full and
///   [`pop`](Self::pop) while it is empty: they spin, then sleep on a futex until woken.
///   The spin retries every few tens of nanoseconds for 20 µs, yielding the thread every few
///   microseconds: while values flow, the next one is taken within a retry of its arrival
///   (about the latency of a spinning `Queue`), and a caller left waiting longer sleeps and
///   uses no CPU. The `_timeout` variants give up after their timeout, which bounds the whole call.
/// - **No lost wake-up.** A push into an empty queue wakes a sleeping pop, and a pop from a full
///   queue wakes a sleeping push, every time; the loom suite checks the protocol (see the
///   `wait` module's docs). When nobody sleeps, waking costs one load.
/// - **Close.** [`close`](Self::close) makes every later push fail, handing its value back,
///   lets pops drain what is left and then fail, and wakes every sleeper at once.
/// - **Across processes.** `BlockingQueue<T, Shared>` ([`create`](Self::create)) places the
///   ring and its wait lists in a shared memory mapping
///   (`memfd_create`, freed by the kernel when the last process unmaps it; nothing is left in
///   `/dev/shm` after a crash). Forked children use the queue as it is; a child started by
///   `exec` gets the file descriptor and calls [`attach`](Self::attach). Only plain data
///   crosses: `T` must implement [`Plain`].
///
/// Every successful call looks for sleepers to wake. Where the kernel has `membarrier(2)`
/// (Linux 4.16 and later, unless a sandbox refuses it), that look is one load, and the
/// ordering it needs is paid by the caller about to sleep: one `membarrier` system call (a
/// fraction of a microsecond) each time it goes to sleep. Elsewhere every successful call
/// pays a `SeqCst` fence instead. Each process using a shared queue registers with the kernel
/// for these barriers when it makes or attaches the queue (a forked child inherits the
/// registration); [`attach`](Self::attach) fails if the kernel refuses a queue made with them.
///
/// # Examples
///
/// Python's `put` and `get`, across threads:
///
/// ```
/// # fn main() {
/// use queue_core::BlockingQueue;
/// use std::thread;
///
/// let queue = BlockingQueue::new(4).unwrap();
/// thread::scope(|s| {
///     s.spawn(|| {
///         for n in 0..100 {
///             queue.push(n).unwrap(); // sleeps while the queue is full
///         }
///         queue.close();
///     });
///     let mut sum = 0;
///     while let Ok(n) = queue.pop() {
///         // sleeps while empty; fails once closed and drained
///         sum += n;
///     }
///     assert_eq!(sum, 4950);
/// });
/// # }
/// ```
///
/// Across processes, see [`create`](Self::create). Where a queue lives is part of its
/// type: only a shared queue has a descriptor to hand to another process.
///
/// ```compile_fail
/// let queue = queue_core::BlockingQueue::<u64>::new(4).unwrap();
/// let fd = queue.fd(); // error: no method `fd` on a queue on the heap
/// ```
pub struct BlockingQueue<T, P: Placement = Heap> {
    storage: <P as sealed::Placement>::Waiting<T>,
}

// A `BlockingQueue<T, P>` moves its values between threads (and, shared, between processes,
// for `T: Plain` only) and nothing else: each value is written by one push and read by one
// pop. A shared queue is not `Sync`: each handle is one participant of the queue, with one
// announcement, which two threads' claims would overwrite (see `try_clone`).
// SAFETY: sharing the queue only sends `T`s between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for BlockingQueue<T, Heap> {}

// SAFETY: sending the queue sends the `T`s inside it, which `T: Send` allows; a mapping is
// process-wide, so any thread may use and unmap it.
unsafe impl<T: Send, P: Placement> Send for BlockingQueue<T, P> {}

impl<T> BlockingQueue<T> {
    /// Creates an empty queue of `capacity` values on this process's heap.
    ///
    /// # Errors
    ///
    /// As [`Queue::new`](crate::Queue::new).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// let queue = queue_core::BlockingQueue::<String>::new(16).unwrap();
    /// assert_eq!(queue.capacity(), 16);
    /// # }
    /// ```
    #[doc(alias = "Queue(maxsize)")]
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        Self::starting_at_lap(capacity, 0)
    }

    /// Like [`new`](Self::new), with the cursors starting at lap `lap` (see
    /// [`Queue::starting_at_lap`](crate::Queue::starting_at_lap)). Not part of the stable API.
    #[doc(hidden)]
    pub fn starting_at_lap(capacity: usize, lap: usize) -> Result<Self, CapacityError> {
        Ok(Self {
            storage: HeapWaiting::new(capacity, lap)?,
        })
    }
}

impl<T: Plain, R: Role> FrontDoor for BlockingQueue<T, Shared<R>> {
    type As<R2: Role> = BlockingQueue<T, Shared<R2>>;

    fn create_queue(capacity: usize) -> Result<Self, MappingError> {
        let storage = WaitingMapping::create(capacity, R::ROLES)?;
        Ok(Self { storage })
    }

    fn attach_queue(fd: OwnedFd) -> Result<Self, MappingError> {
        let storage = WaitingMapping::attach(fd, R::ROLES)?;
        Ok(Self { storage })
    }

    fn queue_fd(&self) -> BorrowedFd<'_> {
        self.storage.fd()
    }

    fn clone_queue<R2: Role>(&self) -> Result<BlockingQueue<T, Shared<R2>>, MappingError> {
        let storage = self.storage.try_clone(R2::ROLES)?;
        Ok(BlockingQueue { storage })
    }
}

shared_front_door! {
    impl [T: Plain, R: Role] BlockingQueue<T, Shared<R>>,
    as [R2] BlockingQueue<T, Shared<R2>>,
    example: "BlockingQueue::<u64, Shared>", push: "push", pop: "pop",
    uses: "use queue_core::{BlockingQueue, Shared};",
    refused: "BlockingQueue::<u32, Shared>",
    create_notes: [
        /// The mapping holds, besides a header of a few cache lines, each slot's value and its
        /// stamp (a stamp takes as many bytes as its value, from 8 up to a cache line): 16 MiB
        /// for a million u64. For a stream between processes on cores that share no cache, a
        /// ring several times larger than a core's L2 cache was much faster on the crate's test
        /// machine than one that fits in it (the crate's cross-process bench measures it); a
        /// small ring keeps less memory and fewer messages in flight.
        ///
        /// The kernel allocates every page of the mapping here (`fallocate`), not when a push
        /// first touches it: the memory is committed once, a machine short of it fails this call
        /// rather than a later push's first touch of a page (which the kernel answers with
        /// `SIGBUS` or its out-of-memory killer), and no call on the queue waits for a page to be
        /// allocated. It costs a few milliseconds for a large ring (about 3 ms more for 32 MiB on
        /// the crate's test machine).
    ],
    attach_notes: [
        /// [`MappingError::Os`] also if the queue uses `membarrier` and the kernel refuses this
        /// process's registration.
    ],
}


impl<T, P: Placement> BlockingQueue<T, P> {
    /// The sleepers registered on either list, for the fault-injection tests.
    #[cfg(all(queue_faults, not(loom)))]
    pub(crate) fn registered_sleepers(&self) -> usize {
        let wait_lists = self.storage.wait_lists();
        wait_lists.not_empty.sleepers() | wait_lists.not_full.sleepers()
    }

    /// The ring, its wait lists, and their barrier pair.
    #[inline(always)]
    pub(crate) fn parts(
        &self,
    ) -> (
        RingOf<'_, <P as sealed::Placement>::Waiting<T>, T>,
        &WaitLists,
        Barriers,
    ) {
        (
            self.storage.ring(),
            self.storage.wait_lists(),
            self.storage.barriers(),
        )
    }

    /// Pushes `value` if there is room, without waiting; see [`Queue::try_push`].
    ///
    /// # Errors
    ///
    /// [`TryPushError::Full`] or [`TryPushError::Closed`], holding `value`.
    ///
    /// [`Queue::try_push`]: crate::Queue::try_push
    #[doc(alias = "put_nowait")]
    #[inline]
    pub fn try_push(&self, value: T) -> Result<(), TryPushError<T>>
    where
        P: Pushes,
    {
        let (ring, wait_lists, barriers) = self.parts();
        ring.try_push(value).map_err(TryPushError::refused)?;
        wait_lists.not_empty.wake(barriers, 1, ring.claimer());
        Ok(())
    }

    /// Pops the oldest value if there is one, without waiting; see [`Queue::try_pop`].
    ///
    /// # Errors
    ///
    /// [`TryPopError::Empty`], or [`TryPopError::Closed`] once closed and drained.
    ///
    /// [`Queue::try_pop`]: crate::Queue::try_pop
    #[doc(alias = "get_nowait")]
    #[inline]
    pub fn try_pop(&self) -> Result<T, TryPopError>
    where
        P: Pops,
    {
        let (ring, wait_lists, barriers) = self.parts();
        let value = ring.try_pop().map_err(TryPopError::refused)?;
        wait_lists.not_full.wake(barriers, 1, ring.claimer());
        Ok(value)
    }

    /// Pushes `value`, sleeping while the queue is full.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], holding `value`, if the queue is or becomes closed first;
    /// [`PushError::Corrupted`] for a corrupted shared queue.
    #[doc(alias = "put")]
    pub fn push(&self, value: T) -> Result<(), PushError<T>>
    where
        P: Pushes,
    {
        self.push_until(value, None).map_err(PushError::gave_up)
    }

    /// Pushes `value`, sleeping while the queue is full, for at most `timeout` in all.
    ///
    /// # Errors
    ///
    /// [`PushTimeoutError::Timeout`], [`PushTimeoutError::Closed`] or
    /// [`PushTimeoutError::Corrupted`], holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::BlockingQueue;
    /// use std::time::Duration;
    ///
    /// let queue = BlockingQueue::new(1).unwrap();
    /// queue.push('a').unwrap();
    /// let err = queue.push_timeout('b', Duration::from_millis(10)).unwrap_err();
    /// assert!(err.is_timeout());
    /// assert_eq!(err.into_inner(), 'b');
    /// # }
    /// ```
    #[doc(alias = "put")]
    pub fn push_timeout(&self, value: T, timeout: Duration) -> Result<(), PushTimeoutError<T>>
    where
        P: Pushes,
    {
        self.push_until(value, deadline_after(timeout))
            .map_err(PushTimeoutError::gave_up)
    }

    fn push_until(&self, value: T, deadline: Option<Instant>) -> Result<(), (T, GaveUp)>
    where
        P: Pushes,
    {
        // The first attempt is a `try_push`, with the value passed straight to the ring: a push
        // that need not wait costs what a non-blocking one does. Only a refused push moves its
        // value into the `Option` that its retries take it from and put it back into.
        let (ring, wait_lists, barriers) = self.parts();
        let refused = match ring.try_push(value) {
            Ok(()) => {
                wait_lists.not_empty.wake(barriers, 1, ring.claimer());
                return Ok(());
            }
            Err((value, Refusal::FullOrEmpty)) => value,
            Err((value, refusal)) => return Err((value, GaveUp::Refused(refusal))),
        };
        let mut value = Some(refused);
        let pushed = wait_lists
            .not_full
            .wait_after_refusal(barriers, deadline, ring.claimer(), || {
                let attempt = value
                    .take()
                    .expect("the value is put back after each failed attempt");
                ring.try_push(attempt).map_err(|(attempt, refusal)| {
                    value = Some(attempt);
                    refusal
                })
            });
        match pushed {
            Ok(()) => {
                wait_lists.not_empty.wake(barriers, 1, ring.claimer());
                Ok(())
            }
            Err(gave_up) => Err((value.expect("a failed attempt put the value back"), gave_up)),
        }
    }

    /// Pops the oldest value, sleeping while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`PopError::Closed`] once the queue is closed and drained; [`PopError::Corrupted`]
    /// for a corrupted shared queue.
    #[doc(alias = "get")]
    pub fn pop(&self) -> Result<T, PopError>
    where
        P: Pops,
    {
        self.pop_until(None).map_err(PopError::gave_up)
    }

    /// Pops the oldest value, sleeping while the queue is empty, for at most `timeout` in all.
    ///
    /// # Errors
    ///
    /// [`PopTimeoutError::Timeout`], [`PopTimeoutError::Closed`] once closed and drained, or
    /// [`PopTimeoutError::Corrupted`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::{BlockingQueue, PopTimeoutError};
    /// use std::time::Duration;
    ///
    /// let queue = BlockingQueue::<u8>::new(1).unwrap();
    /// assert_eq!(queue.pop_timeout(Duration::from_millis(10)), Err(PopTimeoutError::Timeout));
    /// # }
    /// ```
    #[doc(alias = "get")]
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, PopTimeoutError>
    where
        P: Pops,
    {
        self.pop_until(deadline_after(timeout))
            .map_err(PopTimeoutError::gave_up)
    }

    fn pop_until(&self, deadline: Option<Instant>) -> Result<T, GaveUp>
    where
        P: Pops,
    {
        let (ring, wait_lists, barriers) = self.parts();
        let value = wait_lists
            .not_empty
            .wait_for(barriers, deadline, ring.claimer(), || ring.try_pop())?;
        wait_lists.not_full.wake(barriers, 1, ring.claimer());
        Ok(value)
    }

    /// Pushes as many values from the front of `values` as there is room for, claiming their
    /// slots with one atomic step, without waiting; see [`Queue::try_push_slice`].
    ///
    /// # Errors
    ///
    /// [`PushSliceError`] if the queue was closed or is corrupted; nothing was pushed.
    ///
    /// [`Queue::try_push_slice`]: crate::Queue::try_push_slice
    pub fn try_push_slice(&self, values: &[T]) -> Result<usize, PushSliceError>
    where
        T: Copy,
        P: Pushes,
    {
        let (ring, wait_lists, barriers) = self.parts();
        let pushed = PushSliceError::batch_answer(ring.try_push_slice(values))?;
        if pushed > 0 {
            wait_lists.not_empty.wake(barriers, wake_count(pushed), ring.claimer());
        }
        Ok(pushed)
    }

    /// Pops as many values as are ready into the front of `buffer`, claiming their slots with
    /// one atomic step, without waiting; see [`Queue::try_pop_slice`].
    ///
    /// # Errors
    ///
    /// [`PopError`] if the queue was closed and held no value, or is corrupted.
    ///
    /// [`Queue::try_pop_slice`]: crate::Queue::try_pop_slice
    pub fn try_pop_slice(&self, buffer: &mut [T]) -> Result<usize, PopError>
    where
        T: Copy,
        P: Pops,
    {
        let (ring, wait_lists, barriers) = self.parts();
        let popped = PopError::batch_answer(ring.try_pop_slice(buffer))?;
        if popped > 0 {
            wait_lists.not_full.wake(barriers, wake_count(popped), ring.claimer());
        }
        Ok(popped)
    }

    /// Pushes as many values from the front of `values` as there is room for, sleeping while
    /// the queue is full; returns how many went in (at least one, unless `values` is empty).
    ///
    /// # Errors
    ///
    /// [`PushSliceError`] if the queue is or becomes closed first, or is corrupted; nothing
    /// was pushed.
    pub fn push_slice(&self, values: &[T]) -> Result<usize, PushSliceError>
    where
        T: Copy,
        P: Pushes,
    {
        if values.is_empty() {
            return Ok(0);
        }
        let (ring, wait_lists, barriers) = self.parts();
        let pushed = wait_lists
            .not_full
            .wait_for(barriers, None, ring.claimer(), || ring.try_push_slice(values))
            .map_err(PushSliceError::gave_up)?;
        wait_lists.not_empty.wake(barriers, wake_count(pushed), ring.claimer());
        Ok(pushed)
    }

    /// Pops as many values as are ready into the front of `buffer`, sleeping while the queue
    /// is empty; returns how many (at least one, unless `buffer` is empty).
    ///
    /// # Errors
    ///
    /// [`PopError`] once the queue is closed and drained, or if it is corrupted.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() {
    /// use queue_core::BlockingQueue;
    ///
    /// let queue = BlockingQueue::new(8).unwrap();
    /// assert_eq!(queue.push_slice(&[1u64, 2, 3]), Ok(3));
    /// let mut buffer = [0u64; 512];
    /// assert_eq!(queue.pop_slice(&mut buffer), Ok(3));
    /// assert_eq!(buffer[..3], [1, 2, 3]);
    /// # }
    /// ```
    pub fn pop_slice(&self, buffer: &mut [T]) -> Result<usize, PopError>
    where
        T: Copy,
        P: Pops,
    {
        if buffer.is_empty() {
            return Ok(0);
        }
        let (ring, wait_lists, barriers) = self.parts();
        let popped = wait_lists
            .not_empty
            .wait_for(barriers, None, ring.claimer(), || ring.try_pop_slice(buffer))
            .map_err(PopError::gave_up)?;
        wait_lists.not_full.wake(barriers, wake_count(popped), ring.claimer());
        Ok(popped)
    }

    /// Closes the queue and wakes every sleeper: later pushes fail and hand their value back;
    /// pops drain what is left, then fail. Returns `false` if it was already closed.
    ///
    /// The close takes effect at one instant: every push either went in before it (and its
    /// value will be popped) or fails.
    pub fn close(&self) -> bool {
        let (ring, wait_lists, barriers) = self.parts();
        let closed_now = ring.close();
        wait_lists.wake_all(barriers);
        closed_now
    }

    /// Whether the queue has been [closed](Self::close). A `true` answer happens after the
    /// close: what the closing thread did before [`close`](Self::close) is visible to the
    /// caller.
    pub fn is_closed(&self) -> bool {
        self.parts().0.is_closed()
    }

    /// How many values the queue held at one instant during the call; see [`Queue::len`].
    ///
    /// [`Queue::len`]: crate::Queue::len
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        self.parts().0.len()
    }

    /// Whether the queue held no value at one instant during the call.
    #[doc(alias = "empty")]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue held `capacity` values at one instant during the call.
    #[doc(alias = "full")]
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// The most values the queue holds.
    #[doc(alias = "maxsize")]
    pub fn capacity(&self) -> usize {
        self.parts().0.capacity()
    }
}

/// The deadline `timeout` from now; a timeout too large to represent never expires.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// How many sleepers to wake after `count` values or slots became available.
pub(crate) fn wake_count(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

impl<T, P: Placement> fmt::Debug for BlockingQueue<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingQueue")
            .field("placement", &<P as sealed::Placement>::NAME)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
