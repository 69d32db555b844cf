//! The ring of one producer and one consumer ([`spsc`](crate::spsc)): the same positions and
//! value cells as [`Ring`](super::Ring), without stamps, because no claim is ever contended.
//!
//! Each side owns its cursor (the producer `tail`, the consumer `head`): it alone writes it,
//! and keeps its own copy of it beside a copy of the other side's cursor as last read (a
//! [`Cursor`], held by the handle). A push writes the value into the slot of `tail` and then
//! publishes it by storing the next position to `tail` (Release); a pop reads the slot of
//! `head` and then frees it by storing the next position to `head` (Release). A side reads the
//! other's cursor (Acquire) only when its copy says the ring is full (for a push) or empty
//! (for a pop): while values flow, each side touches the other's cache line once per lap of
//! the other side's progress, not once per call.
//!
//! Positions are the ring's (`position = lap + index`, see [`Shape`]): the ring is empty when
//! `head == tail` and full when they index the same slot one lap apart. A side that leaves
//! (its handle dropped) sets the close mark in its own cursor: the other side answers
//! `Disconnected` once it has taken every value (a pop) or finds the ring full (a push).
//!
//! Every call is wait-free: a handful of instructions, no loop.

use crossbeam_utils::CachePadded;

use crate::error::{CapacityError, Refusal};
use crate::forked::Owner;
use crate::mutant;
use crate::sync::{AtomicUsize, Ordering, fence};

use super::{Shape, ValueCell, empty_value};
use core::mem::MaybeUninit;

/// One side's view: its own cursor, and the other side's as it last read it.
#[derive(Debug)]
pub(crate) struct Cursor {
    /// This side's position: the next push's (`tail`) or the next pop's (`head`).
    own: usize,
    /// The other side's position when this side last read it (without the close mark). A
    /// producer's copy of `head` is at most as far as the real one (the consumer only moves it
    /// forward), so its count of free slots is never too high; a consumer's copy of `tail`
    /// likewise never counts a value not yet published.
    other: usize,
}

/// The storage of the ring, shared by the two handles.
pub(crate) struct SplitRing<T> {
    /// The consumer's cursor: the position of the next pop; the close mark once the consumer
    /// has left.
    head: CachePadded<AtomicUsize>,
    /// The producer's cursor: the position of the next push; the close mark once the
    /// producer has left.
    tail: CachePadded<AtomicUsize>,
    values: Box<[ValueCell<T>]>,
    shape: Shape,
    /// The process the ring was made in; a copy made by fork claims nothing.
    owner: Owner,
}

// SAFETY: the ring moves values between its two threads (each written by the one push and
// read by the one pop of its position, ordered by the cursors' Release stores and Acquire
// loads); none is shared, so `T: Send` is enough for both.
unsafe impl<T: Send> Send for SplitRing<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SplitRing<T> {}

impl<T> SplitRing<T> {
    /// An empty ring of `capacity` slots whose cursors start at lap `lap`, and the cursor of
    /// each side.
    pub(crate) fn new(capacity: usize, lap: usize) -> Result<(Self, Cursor, Cursor), CapacityError> {
        let shape = Shape::new(capacity)?;
        let too_large = CapacityError::TooLarge { capacity };
        let owner = Owner::this_process().map_err(|_| too_large)?;
        let mut values = Vec::new();
        values.try_reserve_exact(capacity).map_err(|_| too_large)?;
        values.extend((0..capacity).map(|_| empty_value()));
        let start = shape.lap_start(lap);
        let ring = Self {
            head: CachePadded::new(AtomicUsize::new(start)),
            tail: CachePadded::new(AtomicUsize::new(start)),
            values: values.into_boxed_slice(),
            shape,
            owner,
        };
        let cursor = || Cursor { own: start, other: start };
        Ok((ring, cursor(), cursor()))
    }

    /// Writes `value` into the cell of slot `index`.
    ///
    /// # Safety
    ///
    /// `index < capacity`, and the cell is the producer's: empty, and not read before `tail`
    /// moves past it.
    #[inline(always)]
    unsafe fn write(&self, index: usize, value: T) {
        // SAFETY: `index < capacity == values.len()` (the caller's contract).
        let cell = unsafe { self.values.get_unchecked(index) };
        // SAFETY: the caller's contract makes the producer the cell's only user.
        cell.with_mut(|value_ptr| unsafe { value_ptr.write(MaybeUninit::new(value)) });
    }

    /// Reads the value out of the cell of slot `index`; the cell counts as empty afterwards.
    ///
    /// # Safety
    ///
    /// `index < capacity`, and the cell holds a value published to the consumer, whose alone
    /// it is until `head` moves past it.
    #[inline(always)]
    unsafe fn read(&self, index: usize) -> T {
        // SAFETY: `index < capacity == values.len()` (the caller's contract).
        let cell = unsafe { self.values.get_unchecked(index) };
        // SAFETY: the caller's contract: the cell holds an initialised value, ours to take.
        cell.with(|value_ptr| unsafe { value_ptr.read().assume_init() })
    }

    /// How many slots the ring has.
    pub(crate) fn capacity(&self) -> usize {
        self.shape.capacity
    }

    /// Whether `tail` and `head`, positions of one ring, say it is full.
    #[inline(always)]
    fn full(&self, tail: usize, head: usize) -> bool {
        if mutant::SPSC_FULL_OFF_BY_ONE {
            return self.shape.steps_between(head, tail) > self.shape.capacity;
        }
        tail != head && self.shape.index(tail) == self.shape.index(head)
    }

    /// The consumer's cursor as the producer reads it now (with the close mark, if any), kept
    /// in its copy (without).
    ///
    /// Read once when the copy says full, and once more after a `SeqCst` fence before the
    /// answer is Full: each side stores its own cursor and then, to answer Full or Empty,
    /// reads the other's (the store-buffering pattern), and without the fences both could
    /// read the other's old value, a producer answering Full and a consumer Empty at once,
    /// which no order of the calls explains (loom finds that history). Of two such fences,
    /// the later one's read sees the other side's store. Values that flow never take it.
    #[inline(always)]
    fn reload_head(&self, producer: &mut Cursor) -> usize {
        // ORDERING: Acquire pairs with the Release store of `head` in `try_pop`: the pop's
        // read of each value it freed happens-before our write over it.
        let head = self.head.load(Ordering::Acquire);
        producer.other = self.shape.without_mark(head);
        head
    }

    /// The producer's cursor as the consumer reads it now, kept in its copy; read as
    /// [`reload_head`](Self::reload_head) says.
    #[inline(always)]
    fn reload_tail(&self, consumer: &mut Cursor) -> usize {
        // ORDERING: Acquire pairs with the Release store of `tail` in `try_push`: the push's
        // write of each value it published happens-before our read.
        let tail = self.tail.load(Ordering::Acquire);
        consumer.other = self.shape.without_mark(tail);
        tail
    }

    /// Pushes `value`, or hands it back with the reason.
    ///
    /// # Safety
    ///
    /// `producer` is the producer's cursor from [`new`](Self::new), used by one call at a
    /// time, and no other call pushes.
    #[inline(always)]
    pub(crate) unsafe fn try_push(&self, producer: &mut Cursor, value: T) -> Result<(), (T, Refusal)> {
        if !mutant::USES_FORK_COPIES && self.owner.is_forked_copy() {
            return Err((value, Refusal::ForkedCopy));
        }
        let tail = producer.own;
        if self.full(tail, producer.other) && self.full(tail, self.shape.without_mark(self.reload_head(producer))) {
            // Full once more after the fence: the answer. (See `reload_head`.)
            fence(Ordering::SeqCst);
            let head = self.reload_head(producer);
            if self.full(tail, producer.other) {
                // The consumer left (the mark in the `head` that says full): nobody will ever
                // make room.
                let gone = self.shape.is_closed(head);
                return Err((value, if gone { Refusal::Disconnected } else { Refusal::FullOrEmpty }));
            }
        }
        // SAFETY: the slot of `tail` is in bounds (`index < capacity`: positions only move by
        // `Shape::next`), and ours: the consumer frees it (moves `head` past it) before we
        // see the ring not full, and reads it only once `tail` has moved past it.
        unsafe { self.write(self.shape.index(tail), value) };
        producer.own = self.shape.next(tail);
        // ORDERING: Release publishes the value to the consumer's Acquire load of `tail`.
        self.tail.store(producer.own, Ordering::Release);
        Ok(())
    }

    /// Pops the oldest value, or says why there is none.
    ///
    /// # Safety
    ///
    /// `consumer` is the consumer's cursor from [`new`](Self::new), used by one call at a
    /// time, and no other call pops.
    #[inline(always)]
    pub(crate) unsafe fn try_pop(&self, consumer: &mut Cursor) -> Result<T, Refusal> {
        if !mutant::USES_FORK_COPIES && self.owner.is_forked_copy() {
            return Err(Refusal::ForkedCopy);
        }
        let head = consumer.own;
        if head == consumer.other && head == self.shape.without_mark(self.reload_tail(consumer)) {
            // Empty once more after the fence: the answer. (See `reload_head`.)
            fence(Ordering::SeqCst);
            let tail = self.reload_tail(consumer);
            if head == consumer.other {
                // The producer left (the mark in the `tail` that says empty): every value it
                // pushed is taken, and none will come.
                let gone = self.shape.is_closed(tail);
                return Err(if gone { Refusal::Disconnected } else { Refusal::FullOrEmpty });
            }
        }
        // SAFETY: the slot of `head` is in bounds, published (`tail` has moved past it, read
        // with Acquire) and ours: the producer writes it again only after `head` moves on.
        let value = unsafe { self.read(self.shape.index(head)) };
        consumer.own = self.shape.next(head);
        // ORDERING: Release: our read happens-before the producer's next write to the slot,
        // through its Acquire load of `head`.
        self.head.store(consumer.own, Ordering::Release);
        Ok(value)
    }

    /// The producer leaves: the consumer answers `Disconnected` once it has taken every value.
    ///
    /// # Safety
    ///
    /// As for [`try_push`](Self::try_push); no push follows.
    pub(crate) unsafe fn producer_leaves(&self, producer: &Cursor) {
        // ORDERING: Release, as a push's store: the consumer that reads the mark has seen
        // every value before it.
        self.tail.store(producer.own | self.shape.mark, Ordering::Release);
    }

    /// The consumer leaves: the producer answers `Disconnected` once it finds the ring full.
    ///
    /// # Safety
    ///
    /// As for [`try_pop`](Self::try_pop); no pop follows.
    pub(crate) unsafe fn consumer_leaves(&self, consumer: &Cursor) {
        // ORDERING: Release, as a pop's store.
        self.head.store(consumer.own | self.shape.mark, Ordering::Release);
    }

    /// How many values the ring held when the producer of cursor `producer` asked: exact at
    /// the instant of its load of `head`, as only it moves `tail`.
    pub(crate) fn len_for_producer(&self, producer: &Cursor) -> usize {
        // Relaxed: nothing is read through the count, which is exact at this load whatever
        // its ordering; a push after it reads `head` again (Acquire) and, by coherence, finds
        // it no further back.
        let head = self.shape.without_mark(self.head.load(Ordering::Relaxed));
        self.shape.steps_between(head, producer.own)
    }

    /// How many values the ring held when the consumer of cursor `consumer` asked: exact at
    /// the instant of its load of `tail`, as only it moves `head`.
    pub(crate) fn len_for_consumer(&self, consumer: &Cursor) -> usize {
        // Relaxed, as in `len_for_producer`: a pop after it reads `tail` again (Acquire).
        let tail = self.shape.without_mark(self.tail.load(Ordering::Relaxed));
        self.shape.steps_between(consumer.own, tail)
    }

    /// Whether the producer (`true`) or the consumer (`false`) has left: its cursor carries
    /// the close mark.
    pub(crate) fn has_left(&self, producer: bool) -> bool {
        let cursor = if producer { &self.tail } else { &self.head };
        // ORDERING: Acquire pairs with the Release store of the leaving side: a `true` answer
        // shows everything that side's thread did before it left (its handle's docs promise
        // it; `loom_spsc` checks it).
        self.shape.is_closed(cursor.load(Ordering::Acquire))
    }
}

impl<T> Drop for SplitRing<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` is exclusive access; both handles' last stores happen-before
        // the drop (through the `Arc` that held the ring).
        let mut position = self.shape.without_mark(self.head.load(Ordering::Relaxed));
        let tail = self.shape.without_mark(self.tail.load(Ordering::Relaxed));
        while position != tail {
            // SAFETY: every value from `head` to `tail` was published and never popped; each
            // is read (and dropped) once.
            drop(unsafe { self.read(self.shape.index(position)) });
            position = self.shape.next(position);
        }
    }
}
