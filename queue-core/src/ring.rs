//! The ring: Dmitry Vyukov's bounded MPMC algorithm, written once over borrowed storage.
//!
//! [`Ring`] is a view (three words) of a [`Cursors`] pair and a slice of [`Slot`]s that live
//! somewhere else: in a heap allocation for [`Queue`](crate::Queue), and in a shared mapping for
//! a cross-process queue. The algorithm never allocates and never names where its storage is.
//!
//! # Positions and stamps
//!
//! A *position* packs a lap and an index: `position = lap + index`, where `lap` is a multiple of
//! `one_lap = (capacity + 1).next_power_of_two()` and `index < capacity`. Advancing a position
//! moves to `index + 1`, or to index 0 of the next lap after the last slot. Laps wrap around
//! `usize` with wrapping arithmetic; every comparison is an equality, never an ordering, so the
//! wrap is harmless.
//!
//! Each slot carries a stamp, the one position it is ready for:
//!
//! | slot's stamp | meaning |
//! |---|---|
//! | `p` | empty, free for the push at position `p` |
//! | `p + 1` | holds the value of the push at `p`, ready for the pop at `p` |
//! | `p + one_lap` | popped, free for the push one lap later |
//!
//! Because `index + 1 < one_lap`, "ready for the pop at `p`" (`p + 1`) never equals "free for the
//! push at the next lap" (`p + one_lap`), even at capacity 1. Plain `p`/`p + 1` stamps without a
//! separate lap would collide there and hang.
//!
//! # Progress
//!
//! A push claims a position with one compare-and-swap on `tail` and then publishes its value
//! with a store to the slot's stamp; a pop does the same with `head`. No operation ever waits
//! for another: if the slot at its position is not ready, it answers Full or Empty; if its
//! cursor was stale, or its compare-and-swap failed, another operation has just succeeded and
//! it retries. So every retry means system-wide progress: the ring is lock-free.
//!
//! The price is FIFO's: a push that has claimed its slot and not yet published it (a thread
//! preempted in that window) makes pops answer Empty until it publishes, even if later pushes
//! have completed, since their values cannot overtake it. Symmetrically, a pop that has claimed
//! a value and not yet released its slot makes the push that needs that slot answer Full.

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::mutant;
use crate::sync::{AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// One cell of the ring: a stamp (see the module docs) and room for one value.
#[repr(C)]
pub(crate) struct Slot<T> {
    /// The position this slot is ready for; see the table in the module docs.
    stamp: AtomicUsize,
    /// Initialised exactly when `stamp == p + 1` for the position `p` whose push wrote it.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The two cursors of the ring, each on its own cache line so that producers and consumers do
/// not invalidate each other's line.
#[repr(C)]
pub(crate) struct Cursors {
    /// The position of the next pop.
    head: CachePadded<AtomicUsize>,
    /// The position of the next push.
    tail: CachePadded<AtomicUsize>,
}

/// The shape of a ring of a given capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// How many slots the ring has.
    pub(crate) capacity: usize,
    /// The distance between two laps: `(capacity + 1).next_power_of_two()`.
    pub(crate) one_lap: usize,
}

impl Shape {
    /// The shape for `capacity` slots, or `None` if `capacity` is 0 or its laps do not fit in a
    /// `usize`.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let one_lap = capacity.checked_add(1)?.checked_next_power_of_two()?;
        Some(Self { capacity, one_lap })
    }

    /// The first position of lap number `lap` (wrapping).
    pub(crate) fn lap_start(self, lap: usize) -> usize {
        lap.wrapping_mul(self.one_lap)
    }

    fn index(self, position: usize) -> usize {
        position & (self.one_lap - 1)
    }

    /// The position after `position`.
    fn next(self, position: usize) -> usize {
        if self.index(position) + 1 < self.capacity {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }
}

/// What a slot's stamp says to an operation at some position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Readiness {
    /// The slot is ready for this operation: claim the position.
    Ready,
    /// The slot is behind: the queue is full (for a push) or empty (for a pop) at this
    /// position, or the operation one lap or one step behind has claimed it and not finished.
    NotYet,
    /// The slot is ahead: another operation took this position; read the cursor again.
    Stale,
}

impl Shape {
    /// For a push at `tail`: stamp `tail` is free; `tail - one_lap` (last lap's push has not
    /// published) and `tail - one_lap + 1` (last lap's value, not yet popped or its pop not
    /// finished) are not yet free; anything else is ahead.
    fn classify_for_push(self, stamp: usize, tail: usize) -> Readiness {
        let last_lap = tail.wrapping_sub(self.one_lap);
        if stamp == tail || (mutant::TAKES_OCCUPIED_SLOT && stamp == last_lap + 1) {
            Readiness::Ready
        } else if stamp == last_lap || stamp == last_lap + 1 {
            Readiness::NotYet
        } else {
            Readiness::Stale
        }
    }

    /// For a pop at `head`: stamp `head + 1` is ready; `head` (no push has published there)
    /// and `head - one_lap + 1` (last lap's pop has not finished) are not yet ready; anything
    /// else is ahead.
    fn classify_for_pop(self, stamp: usize, head: usize) -> Readiness {
        if stamp == head + 1 {
            Readiness::Ready
        } else if stamp == head || stamp == head.wrapping_sub(self.one_lap) + 1 {
            Readiness::NotYet
        } else {
            Readiness::Stale
        }
    }
}

impl Cursors {
    /// Both cursors at `start`, the first position of a lap.
    pub(crate) fn new(start: usize) -> Self {
        Self {
            head: CachePadded::new(AtomicUsize::new(start)),
            tail: CachePadded::new(AtomicUsize::new(start)),
        }
    }
}

impl<T> Slot<T> {
    /// An empty slot, free for the push at `position`.
    pub(crate) fn new(position: usize) -> Self {
        Self {
            stamp: AtomicUsize::new(position),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// The algorithm, over storage borrowed for `'a`.
///
/// # Invariants
///
/// The creator of a `Ring` (see [`Ring::new`]) guarantees that `slots.len() == shape.capacity`
/// and that the cursors and stamps follow the protocol in the module docs; every method keeps
/// it so.
pub(crate) struct Ring<'a, T> {
    cursors: &'a Cursors,
    slots: &'a [Slot<T>],
    shape: Shape,
}

impl<'a, T> Ring<'a, T> {
    /// A view of `cursors` and `slots` as a ring of `shape`.
    ///
    /// # Safety
    ///
    /// `slots.len() == shape.capacity`, and the cursors and every stamp hold values that the
    /// protocol in the module docs can reach (for instance as made by [`Cursors::new`] and
    /// [`Slot::new`] from the same start position), with a slot's value initialised exactly
    /// when its stamp says so. Every access to this storage goes through a `Ring` of the same
    /// shape.
    pub(crate) unsafe fn new(cursors: &'a Cursors, slots: &'a [Slot<T>], shape: Shape) -> Self {
        debug_assert_eq!(slots.len(), shape.capacity);
        Self {
            cursors,
            slots,
            shape,
        }
    }

    /// The slot of `position`.
    #[inline(always)]
    fn slot(&self, position: usize) -> &'a Slot<T> {
        let index = self.shape.index(position);
        debug_assert!(index < self.slots.len());
        // Positions are read from the cursors (loads and CAS results) or made by `Shape::next`;
        // cursors start at a lap's first position and only advance through `Shape::next`.
        // SAFETY: so `index < capacity == slots.len()` (the invariant of `Ring::new`).
        unsafe { self.slots.get_unchecked(index) }
    }

    /// Pushes `value`, or hands it back if the slot it needs is not free (see [`Queue`]'s
    /// guarantees for exactly when that is).
    ///
    /// [`Queue`]: crate::Queue
    pub(crate) fn try_push(&self, value: T) -> Result<(), T> {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release CASes on `tail` (every one of them, as each
        // CAS continues the release sequence): we then see every stamp that a push before
        // `tail` read, so the stamp below is at least one lap behind `tail`, never older.
        let mut tail = self.cursors.tail.load(Ordering::Acquire);
        loop {
            let slot = self.slot(tail);
            // ORDERING: Acquire pairs with the Release stamp store at the end of `try_pop`, so
            // the pop's read of the old value happens-before our write of the new one.
            let stamp = slot.stamp.load(Ordering::Acquire);
            match self.shape.classify_for_push(stamp, tail) {
                Readiness::Ready => match self.cursors.tail.compare_exchange_weak(
                    tail,
                    self.shape.next(tail),
                    // ORDERING: Release on success pairs with the Acquire loads of `tail`
                    // (here and in `len`); Acquire on failure, for the same reason as the load
                    // above, since the current value becomes our new `tail`.
                    Ordering::Release,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        slot.value.with_mut(|value_ptr| {
                            // SAFETY: winning the CAS from `tail` while the stamp said "free for
                            // `tail`" makes this push the slot's only writer until it stores
                            // the stamp below, and no pop reads the slot before that store.
                            unsafe { value_ptr.write(MaybeUninit::new(value)) }
                        });
                        // ORDERING: Release publishes the value written above; pairs with the
                        // Acquire stamp load in `try_pop`.
                        let publish = mutant::publish_ordering(Ordering::Release);
                        slot.stamp.store(tail + 1, publish);
                        return Ok(());
                    }
                    Err(current) => tail = current,
                },
                Readiness::NotYet if self.recheck(slot, tail) => return Err(value),
                Readiness::NotYet => {}
                Readiness::Stale => {
                    // ORDERING: Acquire, as above. The stamp we read was stored by an operation
                    // after the push at `tail` claimed it, so this load sees a newer `tail`.
                    tail = self.cursors.tail.load(Ordering::Acquire);
                }
            }
            backoff.spin();
        }
    }

    /// Pops the oldest value, or `None` if it is not there to take (see [`Queue`]'s
    /// guarantees for exactly when that is).
    ///
    /// [`Queue`]: crate::Queue
    pub(crate) fn try_pop(&self) -> Option<T> {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release CASes on `head` (see `try_push`), so the
        // stamp below is at least that of the pop one lap before `head`.
        let mut head = self.cursors.head.load(Ordering::Acquire);
        loop {
            let slot = self.slot(head);
            // ORDERING: Acquire pairs with the Release stamp store that publishes a value in
            // `try_push`, so the push's write happens-before our read.
            let stamp = slot.stamp.load(Ordering::Acquire);
            match self.shape.classify_for_pop(stamp, head) {
                Readiness::Ready => match self.cursors.head.compare_exchange_weak(
                    head,
                    self.shape.next(head),
                    // ORDERING: as in `try_push`.
                    Ordering::Release,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        let value = slot.value.with(|value_ptr| {
                            // The stamp store below marks the value uninitialised again.
                            // SAFETY: stamp `head + 1` says the push at `head` initialised it
                            // (Release/Acquire on the stamp); winning the CAS makes us its only reader.
                            unsafe { value_ptr.read().assume_init() }
                        });
                        // ORDERING: Release pairs with the Acquire stamp load in `try_push`: our
                        // read happens-before the next lap's write.
                        slot.stamp
                            .store(head.wrapping_add(self.shape.one_lap), Ordering::Release);
                        return Some(value);
                    }
                    Err(current) => head = current,
                },
                Readiness::NotYet if self.recheck(slot, head + 1) => return None,
                Readiness::NotYet => {}
                Readiness::Stale => {
                    // ORDERING: Acquire, as above; the stamp we read proves `head` moved on.
                    head = self.cursors.head.load(Ordering::Acquire);
                }
            }
            backoff.spin();
        }
    }

    /// Decides a Full or Empty answer: after a `SeqCst` fence, reads `slot`'s stamp again and
    /// returns `true` (answer Full or Empty) unless it now equals `ready`.
    ///
    /// The fence is what makes the answer exact for threads that both write and then take
    /// this path: of two such fences, the later one's re-read sees every stamp and cursor the
    /// other thread wrote before its own fence (the store-buffering pattern). Without it, two
    /// threads that each push and then pop could both answer Empty (the `no_empty_fence`
    /// mutant shows loom finding that).
    fn recheck(&self, slot: &Slot<T>, ready: usize) -> bool {
        if mutant::FENCES_FULL_AND_EMPTY {
            // ORDERING: SeqCst fence, paired with the same fence in every other call that
            // answers Full or Empty (see above).
            fence(Ordering::SeqCst);
        }
        // ORDERING: Acquire, as for the first stamp load: if it shows `ready`, the caller's
        // retry reads the slot's value or overwrites it after this load.
        slot.stamp.load(Ordering::Acquire) != ready
    }

    /// How many values the ring held at one moment during the call.
    pub(crate) fn len(&self) -> usize {
        loop {
            // ORDERING: the Acquire loads pair with the Release CASes on the cursors. A head
            // we read was moved by a pop that had seen its value published, so the tail we
            // read after it is at least past that value; a tail we read was moved by a push
            // that had seen its slot emptied, so the head we read again after it is at most
            // one lap behind. Reading the same head twice makes the pair one snapshot.
            let head = self.cursors.head.load(Ordering::Acquire);
            let tail = self.cursors.tail.load(Ordering::Acquire);
            if self.cursors.head.load(Ordering::Acquire) == head {
                let (head_index, tail_index) = (self.shape.index(head), self.shape.index(tail));
                return if head_index < tail_index {
                    tail_index - head_index
                } else if head_index > tail_index {
                    self.shape.capacity - head_index + tail_index
                } else if head == tail {
                    0
                } else {
                    self.shape.capacity
                };
            }
        }
    }

    /// Drops every value still in the ring, without touching the stamps.
    ///
    /// # Safety
    ///
    /// The caller has exclusive access to the storage: every operation on it has returned and
    /// happens-before this call, and no operation runs during or after it.
    pub(crate) unsafe fn drop_values(&self) {
        // Relaxed: the caller's exclusive access already orders every operation before us.
        let tail = self.cursors.tail.load(Ordering::Relaxed);
        let mut position = self.cursors.head.load(Ordering::Relaxed);
        while position != tail {
            let slot = self.slot(position);
            slot.value.with_mut(|value_ptr| {
                // SAFETY: every push returned, so each position from head to tail holds a
                // published value, and no pop took it; we drop each position's value once.
                unsafe { (*value_ptr).assume_init_drop() }
            });
            position = self.shape.next(position);
        }
    }
}
