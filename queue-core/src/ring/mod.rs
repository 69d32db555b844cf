//! The ring: Dmitry Vyukov's bounded MPMC algorithm, written once over borrowed storage.
//!
//! [`Ring`] is a view (three words) of a [`Cursors`] pair and a slice of [`Slot`]s that live
//! somewhere else: in a heap allocation for [`Queue`](crate::Queue), and in a shared mapping for
//! a cross-process queue. The algorithm never allocates and never names where its storage is.
//!
//! The split ring (`split`, behind `spsc`) uses the same positions for one producer and one
//! consumer, without stamps: each side owns a cursor, and that is enough.
//!
//! # Positions and stamps
//!
//! A *position* packs a lap and an index: `position = lap + index`, where `lap` is a multiple of
//! `one_lap` and `index < capacity`. `one_lap = 2 * mark`, with `mark = (capacity +
//! 1).next_power_of_two()`: the bit between the index and the lap is the *close mark*, set in
//! `tail` (and nowhere else) when the ring is closed. Advancing a position moves to `index + 1`,
//! or to index 0 of the next lap after the last slot. Laps wrap around `usize` with wrapping
//! arithmetic; every comparison is an equality, never an ordering, so the wrap is harmless.
//!
//! Each slot carries a stamp, the one position it is ready for:
//!
//! | slot's stamp | meaning |
//! |---|---|
//! | `p` | empty, free for the push at position `p` |
//! | `p + 1` | holds the value of the push at `p`, ready for the pop at `p` |
//! | `p + one_lap` | popped, free for the push one lap later |
//!
//! Because `index + 1 < mark < one_lap`, "ready for the pop at `p`" (`p + 1`) never equals
//! "free for the push at the next lap" (`p + one_lap`), even at capacity 1, and no stamp ever
//! carries the close mark.
//!
//! # Claims
//!
//! A push claims positions by moving `tail` forward with one compare-and-swap, then writes a
//! value into each claimed slot and publishes it with a store to the slot's stamp; a pop does
//! the same with `head`. A claim covers one position or, for the batch operations, every
//! consecutive position whose slot was ready when it looked: one atomic step for the batch.
//! Between claiming and publishing, a slot belongs to its claimer alone.
//!
//! # Dead claimers
//!
//! On storage that processes share, a claimer may be killed between its claim and its last
//! publication or release, and FIFO order would then stop every call that needs its slot.
//! There each claim is announced first ([`Claimer`], `announced`), and a call about to answer
//! Full or Empty because of an unfinished slot finishes it on the dead claimer's behalf, if
//! every participant that may hold it is dead (`recovery`): a dead push's slot is passed
//! over (`Shape::skipped`), a dead pop's is freed. On the heap none of this is compiled in.
//!
//! # Closing
//!
//! [`Ring::close`] sets the mark in `tail` with one atomic read-modify-write. Every push's
//! compare-and-swap on `tail` expects an unmarked value, so no push can claim after the close:
//! the pushes that succeeded are exactly those ordered before it on `tail`. A pop that finds its
//! slot empty and `tail` marked at its own position knows that no value will ever come.
//! Before the mark, the close sets a flag on the pops' own cache line, and a pop that finds
//! its slot empty reads `tail` only once that flag is set: waiting consumers never pull the
//! producers' line (see `PopLine`).
//!
//! # Progress
//!
//! No operation ever waits for another: if the slot at its position is not ready, it answers
//! Full or Empty; if its compare-and-swap failed (the strong one: never spuriously), its
//! cursor was stale, or the slot became ready while it looked, another operation claimed a
//! position during its attempt and it retries. So the claims are lock-free: every retry means
//! some claim succeeded. On storage other processes can write (`Values::TRUSTED` is false),
//! each position read from a cursor is checked, a stale stamp whose cursor did not move is
//! answered `Corrupted`, and a claim gives up after `claim::SHARED_RETRY_LIMIT` retries; on
//! the heap, where only the protocol writes, none of that is compiled in.
//!
//! The price is FIFO's, and it is why the ring as a whole is not lock-free with respect to a
//! stalled claimer: a push that has claimed its slot and not yet published it (a thread
//! preempted in that window) makes pops answer Empty until it publishes, even if later pushes
//! have completed, since their values cannot overtake it. Symmetrically, a pop that has claimed
//! a value and not yet released its slot makes the push that needs that slot answer Full.

mod announced;
mod batch;
mod bulk;
mod claim;
mod claimer;
#[cfg(all(test, loom))]
mod loom_models;
mod cursors;
mod plain;
mod recovery;
mod shape;
mod single;
mod split;
#[cfg_attr(
    not(feature = "serde"),
    allow(dead_code, reason = "the message queue (feature serde) and the loom models use it")
)]
mod spans;
mod values;

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::sync::{AtomicUsize, Ordering, UnsafeCell, crash_point};

pub(crate) use crate::error::Refusal;
pub(crate) use announced::{Announced, Announcement, Participant, side_gone_by};
pub(crate) use claimer::{Claimant, Claimer, Local, Side, Unannounced};
pub(crate) use cursors::Cursors;
pub(crate) use split::{Cursor, SplitRing};
#[cfg(test)]
pub(crate) use shape::stamp_spacing;
pub(crate) use shape::{CACHE_LINE, Shape, empty_stamps};
#[allow(unreachable_pub, reason = "sealed: `Plain`'s hidden const names it; no path outside reaches it")]
pub use plain::{Frame, Plain, type_tag};
#[allow(unreachable_pub, reason = "named in `Plain::EXTENT`, a hidden item of a public trait")]
pub use values::Extent;
#[cfg(feature = "serde")]
pub(crate) use spans::slots_for;
pub(crate) use values::{
    AnyBytes, HeapSlot, SharedValues, Values, stamp_beside_value, stamps_len, words_per_value,
};

/// Room for one slot's value: initialised exactly when the slot's stamp is `p + 1` for the
/// position `p` whose push wrote it.
pub(crate) type ValueCell<T> = UnsafeCell<MaybeUninit<T>>;

/// How many snapshots of the cursors `len` takes, at most, on a ring other processes can
/// write.
const LEN_TRIES: u32 = 64;

/// An empty value cell.
pub(crate) fn empty_value<T>() -> ValueCell<T> {
    UnsafeCell::new(MaybeUninit::uninit())
}

/// One slot of the ring: its stamp (see the module docs) and the index of its value, where
/// the storage keeps them (see [`Values`]).
#[derive(Clone, Copy)]
struct Slot<'a> {
    stamp: &'a AtomicUsize,
    index: usize,
}

/// Consecutive positions that one operation has claimed: `count >= 1` positions from `first`.
#[derive(Clone, Copy, Debug)]
struct Claim {
    first: usize,
    count: usize,
}

/// The algorithm, over storage borrowed for `'a`, with its slots (stamps and values) kept in
/// `V` (stamps beside heap cells, or words of a shared mapping: see [`Values`]).
///
/// # Invariants
///
/// The creator of a `Ring` (see [`Ring::new`]) guarantees that `values.len() ==
/// shape.capacity` and that the cursors and stamps follow the protocol in the module docs;
/// every method keeps it so.
pub(crate) struct Ring<'a, T, V = &'a [HeapSlot<T>], C = Unannounced> {
    cursors: &'a Cursors,
    values: V,
    shape: Shape,
    /// What the calls through this view tell other participants of their claims.
    claimer: C,
    _values: PhantomData<fn(T) -> T>,
}

impl<'a, T, V: Values<'a, T>> Ring<'a, T, V> {
    /// A view of `cursors` and the slots `values` as a ring of `shape`.
    ///
    /// # Safety
    ///
    /// `values.len() >= shape.capacity`, and the cursors and every stamp hold values that the
    /// protocol in the module docs can reach (for instance as made by [`Cursors::new`] and
    /// stamps from the same start position: see [`empty_stamps`]), with a slot's value
    /// initialised exactly when its stamp says so. Every access to this storage goes through
    /// a `Ring` of the same shape.
    pub(crate) unsafe fn new(cursors: &'a Cursors, values: V, shape: Shape) -> Self {
        debug_assert!(values.len() >= shape.capacity);
        Self {
            cursors,
            values,
            shape,
            claimer: Unannounced,
            _values: PhantomData,
        }
    }
}

impl<'a, T, V: Values<'a, T>, C: Claimer> Ring<'a, T, V, C> {
    /// The index of `position`'s slot, always in bounds.
    #[inline(always)]
    fn index(&self, position: usize) -> usize {
        // Cursors advance only through `Shape::next`/`advance`, which keep the index below
        // `capacity`, and on shared storage the claims check every position they read from a
        // cursor (see `claim`). This select is the bounds check that rests on neither: an
        // index out of bounds (a shared cursor another process overwrote, read by `len`)
        // goes to slot 0, never outside the arrays. It compiles to a conditional move.
        let index = self.shape.index(position);
        if index < self.shape.capacity {
            index
        } else {
            0
        }
    }

    /// The slot of `position`.
    #[inline(always)]
    fn slot(&self, position: usize) -> Slot<'a> {
        let index = self.index(position);
        // SAFETY: `index < capacity` (see `index`), and `Ring::new` requires
        // `values.len() >= capacity`.
        let stamp = unsafe { self.values.stamp(index) };
        Slot { stamp, index }
    }

    /// Closes the ring: from now on every push is refused with [`Refusal::Closed`], and pops
    /// take what is left, then get [`Refusal::Closed`]. Returns `false` if it was closed
    /// already.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: SeqCst, before the mark below (also SeqCst): see `empty_or_closed`, the
        // only reader that needs the two in one total order with the fence in `recheck`.
        // Beyond the models: loom runs a SeqCst store as a Release one, so no model here can
        // show what the total order adds (a pop whose fence comes first in it and misses the
        // flag knows the mark came later still; with Release, a pop could miss the flag and
        // yet find the ring closed when it looks again, and answer Empty after the close).
        self.cursors.pops.closing.store(1, Ordering::SeqCst);
        crash_point();
        // ORDERING: SeqCst, which includes AcqRel: Release so that a pop that sees the mark
        // also sees every push before it (the RMW continues their release sequence); Acquire
        // to read the latest `tail`. Blocking callers then wake every sleeper (see `wait`).
        // Beyond the models: the SeqCst part puts the mark after the flag in the total order
        // `empty_or_closed` relies on, which loom (running SeqCst as AcqRel) cannot show.
        let tail = self
            .cursors
            .tail
            .fetch_or(self.shape.mark, Ordering::SeqCst);
        !self.shape.is_closed(tail)
    }

    /// The claimer of this view's calls.
    #[inline(always)]
    pub(crate) fn claimer(&self) -> C {
        self.claimer
    }

    /// How many slots the ring has.
    pub(crate) fn capacity(&self) -> usize {
        self.shape.capacity
    }

    /// Whether [`close`](Self::close) has been called.
    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the AcqRel `close`: a caller that sees `true` sees what
        // the closer did before it (the loom model `a_closed_answer_shows_what_the_closer_did_
        // before` fails without it); a `true` answer is final.
        self.shape
            .is_closed(self.cursors.tail.load(Ordering::Acquire))
    }

    /// Whether both cursors index a slot: true for every ring this crate made; checked when
    /// attaching to a mapping another process made, before any slot is touched.
    pub(crate) fn cursors_in_bounds(&self) -> bool {
        // Relaxed: a plausibility check of two numbers; nothing is read through them here.
        let head = self.cursors.pops.head.load(Ordering::Relaxed);
        let tail = self.cursors.tail.load(Ordering::Relaxed);
        self.shape.index(head) < self.shape.capacity && self.shape.index(tail) < self.shape.capacity
    }

    /// How many values the ring held at one moment during the call, between 0 and the
    /// capacity whatever the cursors hold.
    pub(crate) fn len(&self) -> usize {
        let mut tries = 0;
        loop {
            // ORDERING: the Acquire loads pair with the Release CASes on the cursors. A head
            // we read was moved by a pop that had seen its value published, so the tail we
            // read after it is at least past that value; a tail we read was moved by a push
            // that had seen its slot emptied, so the head we read again after it is at most
            // one lap behind. Reading the same head twice makes the pair one snapshot. With
            // either load Relaxed, `len` can count values the queue never held at once (the
            // model `len_answers_a_count_the_queue_held` finds 3 and 2 in a queue of one).
            let head = self.cursors.pops.head.load(Ordering::Acquire);
            let tail = self
                .shape
                .without_mark(self.cursors.tail.load(Ordering::Acquire));
            tries += 1;
            // A head that keeps changing means pops keep succeeding; on a ring other processes
            // can write it may also be garbage written in a loop, so there the answer after a
            // few tries is the last pair's, which is at least between 0 and the capacity.
            // Relaxed: this load only confirms that `head` has not moved since the first;
            // after the Acquire load of `tail` it cannot return a head older than the pops
            // that load showed (coherence), and nothing is read through it.
            if self.cursors.pops.head.load(Ordering::Relaxed) == head
                || (!V::TRUSTED && tries >= LEN_TRIES)
            {
                return self.distance(head, tail);
            }
        }
    }

    /// How many values lie from `head` to `tail`, in `0..=capacity` for any two numbers.
    fn distance(&self, head: usize, tail: usize) -> usize {
        // `index` keeps both below the capacity, even for positions no cursor can hold.
        let (head_index, tail_index) = (self.index(head), self.index(tail));
        if head_index < tail_index {
            tail_index - head_index
        } else if head_index > tail_index {
            self.shape.capacity - head_index + tail_index
        } else if head == tail {
            0
        } else {
            self.shape.capacity
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
        let tail = self
            .shape
            .without_mark(self.cursors.tail.load(Ordering::Relaxed));
        let mut position = self.cursors.pops.head.load(Ordering::Relaxed);
        while position != tail {
            let slot = self.slot(position);
            // SAFETY: every push returned, so each position from head to tail holds a
            // published value, and no pop took it; we take (and drop) each one once.
            drop(unsafe { self.values.read(slot.index) });
            position = self.shape.next(position);
        }
    }
}
