//! The ring: Dmitry Vyukov's bounded MPMC algorithm, written once over borrowed storage.
//!
//! [`Ring`] is a view (three words) of a [`Cursors`] pair and a slice of [`Slot`]s that live
//! somewhere else: in a heap allocation for [`Queue`](crate::Queue), and in a shared mapping for
//! a cross-process queue. The algorithm never allocates and never names where its storage is.
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
//! Between claiming and publishing, a slot belongs to its claimer alone (a later version may
//! record the claimer's identity there, to recover from a process killed in that window).
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
//! Full or Empty; if its cursor was stale, or its compare-and-swap failed, another operation has
//! just succeeded and it retries. So every retry means system-wide progress: the ring is
//! lock-free.
//!
//! The price is FIFO's: a push that has claimed its slot and not yet published it (a thread
//! preempted in that window) makes pops answer Empty until it publishes, even if later pushes
//! have completed, since their values cannot overtake it. Symmetrically, a pop that has claimed
//! a value and not yet released its slot makes the push that needs that slot answer Full.

use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::mutant;
use crate::sync::{AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// Room for one slot's value: initialised exactly when the slot's stamp is `p + 1` for the
/// position `p` whose push wrote it.
pub(crate) type ValueCell<T> = UnsafeCell<MaybeUninit<T>>;

/// An empty value cell.
pub(crate) fn empty_value<T>() -> ValueCell<T> {
    UnsafeCell::new(MaybeUninit::uninit())
}

/// The bytes of a cache line, as far as the layout of stamps and values is concerned.
pub(crate) const CACHE_LINE: usize = 64;

/// How many `AtomicUsize`s apart the stamps of two consecutive slots are: as far apart as their
/// values (rounded up to whole words), up to a cache line. Two slots' stamps then share a cache
/// line only if their values do too (or both lines hold more slots than a line of stamps can):
/// a producer writing one slot's stamp does not disturb the consumer of another slot's value.
pub(crate) const fn stamp_spacing<T>() -> usize {
    let words = size_of::<T>().div_ceil(size_of::<usize>());
    let most = CACHE_LINE / size_of::<usize>();
    if words == 0 {
        1
    } else if words > most {
        most
    } else {
        words
    }
}

/// How many `AtomicUsize`s the stamps of `capacity` slots of `T` take, if that fits a `usize`.
pub(crate) fn stamps_len<T>(capacity: usize) -> Option<usize> {
    capacity.checked_mul(stamp_spacing::<T>())
}

/// The stamps of `capacity` empty slots of `T` (`stamps_len::<T>(capacity)` atomics, which the
/// caller has checked fits a `usize`), the first free for the push at `start`; the unused words
/// between stamps hold 0.
pub(crate) fn empty_stamps<T>(start: usize, capacity: usize) -> impl Iterator<Item = AtomicUsize> {
    let spacing = stamp_spacing::<T>();
    (0..capacity * spacing).map(move |word| {
        AtomicUsize::new(if word % spacing == 0 {
            start + word / spacing
        } else {
            0
        })
    })
}

/// One slot of the ring: its stamp (see the module docs) and its value cell, which live in
/// two arrays (see [`Ring`]).
#[derive(Clone, Copy)]
struct Slot<'a, T> {
    stamp: &'a AtomicUsize,
    value: &'a ValueCell<T>,
}

/// Consecutive slots of the ring, from the slot of position `first`.
struct Run<'a, T> {
    first: usize,
    /// The run's stamps, with the unused words between them (see [`stamp_spacing`]).
    stamps: &'a [AtomicUsize],
    values: &'a [ValueCell<T>],
}

impl<'a, T> Run<'a, T> {
    /// The run's stamps, one per slot.
    fn stamps(&self) -> impl Iterator<Item = &'a AtomicUsize> + use<'a, T> {
        self.stamps.iter().step_by(stamp_spacing::<T>())
    }
}

/// The two cursors of the ring, each on its own cache line so that producers and consumers do
/// not invalidate each other's line.
#[repr(C)]
pub(crate) struct Cursors {
    /// The pops' line: the position of the next pop, and the close flag.
    pops: CachePadded<PopLine>,
    /// The position of the next push, with the close mark once the ring is closed.
    tail: CachePadded<AtomicUsize>,
}

/// The cache line that only pops write (and [`Ring::close`], once).
#[repr(C)]
struct PopLine {
    /// The position of the next pop.
    head: AtomicUsize,
    /// Not zero once [`Ring::close`] has begun. A pop that finds its slot empty reads this word,
    /// on the line it just read `head` from, and reads `tail`, the producers' line, only once
    /// it is set: a consumer waiting on an empty ring then never pulls that line away from the
    /// producer, whose next compare-and-swap on `tail` would have to fetch it back.
    closing: AtomicUsize,
}

/// The shape of a ring of a given capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// How many slots the ring has.
    pub(crate) capacity: usize,
    /// The close mark: `(capacity + 1).next_power_of_two()`.
    mark: usize,
    /// The distance between two laps: `2 * mark`.
    one_lap: usize,
}

impl Shape {
    /// The shape for `capacity` slots, or `None` if `capacity` is 0 or its laps do not fit in a
    /// `usize`.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let mark = capacity.checked_add(1)?.checked_next_power_of_two()?;
        let one_lap = mark.checked_mul(2)?;
        Some(Self {
            capacity,
            mark,
            one_lap,
        })
    }

    /// The first position of lap number `lap` (wrapping).
    pub(crate) fn lap_start(self, lap: usize) -> usize {
        lap.wrapping_mul(self.one_lap)
    }

    /// The slot index of `position` (the close mark, if any, is ignored).
    pub(crate) fn index(self, position: usize) -> usize {
        position & (self.mark - 1)
    }

    /// The position after `position`.
    fn next(self, position: usize) -> usize {
        if self.index(position) + 1 < self.capacity {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// The position `count <= capacity` positions after `position`.
    fn advance(self, position: usize, count: usize) -> usize {
        debug_assert!(count <= self.capacity);
        let index = self.index(position);
        if index + count < self.capacity {
            position + count
        } else {
            (position & !(self.one_lap - 1))
                .wrapping_add(self.one_lap)
                .wrapping_add(index + count - self.capacity)
        }
    }

    fn is_closed(self, tail: usize) -> bool {
        tail & self.mark != 0
    }

    fn without_mark(self, tail: usize) -> usize {
        tail & !self.mark
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
            pops: CachePadded::new(PopLine {
                head: AtomicUsize::new(start),
                closing: AtomicUsize::new(0),
            }),
            tail: CachePadded::new(AtomicUsize::new(start)),
        }
    }
}

/// Why a ring operation claimed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Full (for a push) or empty (for a pop) when it looked; see [`Queue`]'s guarantees.
    ///
    /// [`Queue`]: crate::Queue
    NotReady,
    /// The ring is closed: no push can succeed, and (for a pop) no value is left.
    Closed,
}

/// Consecutive positions that one operation has claimed: `count >= 1` positions from `first`.
#[derive(Clone, Copy, Debug)]
struct Claim {
    first: usize,
    count: usize,
}

/// The algorithm, over storage borrowed for `'a`.
///
/// A slot is a stamp and a value cell, kept in two arrays, `stamps` and `values`, rather than
/// side by side: a value then never shares its cache line with a stamp, so the lines holding
/// values are written by producers only, and a batch of values is one contiguous copy. Slot
/// `i`'s stamp is `stamps[i * stamp_spacing::<T>()]` (see [`stamp_spacing`]).
///
/// # Invariants
///
/// The creator of a `Ring` (see [`Ring::new`]) guarantees that `values.len() ==
/// shape.capacity`, `stamps.len() == stamps_len::<T>(shape.capacity)`, and that the cursors
/// and stamps follow the protocol in the module docs; every method keeps it so.
pub(crate) struct Ring<'a, T> {
    cursors: &'a Cursors,
    stamps: &'a [AtomicUsize],
    values: &'a [ValueCell<T>],
    shape: Shape,
}

impl<'a, T> Ring<'a, T> {
    /// A view of `cursors`, `stamps` and `values` as a ring of `shape`.
    ///
    /// # Safety
    ///
    /// `values.len() == shape.capacity`, `Some(stamps.len()) == stamps_len::<T>(capacity)`,
    /// and the cursors and every stamp hold values that the protocol in the module docs can
    /// reach (for instance as made by [`Cursors::new`] and [`empty_stamps`] from the same start
    /// position), with a slot's value initialised exactly when its stamp says so. Every access
    /// to this storage goes through a `Ring` of the same shape.
    pub(crate) unsafe fn new(
        cursors: &'a Cursors,
        stamps: &'a [AtomicUsize],
        values: &'a [ValueCell<T>],
        shape: Shape,
    ) -> Self {
        debug_assert_eq!(Some(stamps.len()), stamps_len::<T>(shape.capacity));
        debug_assert_eq!(values.len(), shape.capacity);
        Self {
            cursors,
            stamps,
            values,
            shape,
        }
    }

    /// The index of `position`'s slot, always in bounds.
    #[inline(always)]
    fn index(&self, position: usize) -> usize {
        // Positions are read from the cursors (loads and CAS results, close mark ignored by
        // `Shape::index`) or made by `Shape::next`; cursors start at a lap's first position and
        // only advance through `Shape::next`, so the index is below `capacity`. A shared
        // mapping's cursors can still be overwritten by a faulty peer process: such an index
        // is sent to slot 0 (messages garbled, never a read out of bounds). The select
        // compiles to a conditional move, not a branch.
        let index = self.shape.index(position);
        debug_assert!(index < self.shape.capacity);
        if index < self.shape.capacity {
            index
        } else {
            0
        }
    }

    /// The slot of `position`.
    #[inline(always)]
    fn slot(&self, position: usize) -> Slot<'a, T> {
        let index = self.index(position);
        // SAFETY: `index < capacity` (see `index`), and `Ring::new` requires `capacity` values
        // and `capacity * stamp_spacing::<T>()` stamps.
        unsafe {
            Slot {
                stamp: self.stamps.get_unchecked(index * stamp_spacing::<T>()),
                value: self.values.get_unchecked(index),
            }
        }
    }

    /// Pushes `value`, or hands it back with the reason (see [`Queue`]'s guarantees for exactly
    /// when the ring counts as full).
    ///
    /// [`Queue`]: crate::Queue
    #[inline]
    pub(crate) fn try_push(&self, value: T) -> Result<(), (T, Refusal)> {
        match self.claim_for_push(1) {
            Ok(claim) => {
                // SAFETY: `claim.first` is claimed by this push and not yet published.
                unsafe { self.write_and_publish(claim.first, value) };
                Ok(())
            }
            Err(refusal) => Err((value, refusal)),
        }
    }

    /// Pops the oldest value, or says why there is none to take (see [`Queue`]'s guarantees
    /// for exactly when the ring counts as empty).
    ///
    /// [`Queue`]: crate::Queue
    #[inline]
    pub(crate) fn try_pop(&self) -> Result<T, Refusal> {
        let claim = self.claim_for_pop(1)?;
        // SAFETY: `claim.first` is claimed by this pop and holds a published value.
        Ok(unsafe { self.take_and_release(claim.first) })
    }

    /// Pushes as many values from the front of `values` as there are free slots, claiming them
    /// all with one atomic step, and returns how many went in (at least 1).
    pub(crate) fn try_push_slice(&self, values: &[T]) -> Result<usize, Refusal>
    where
        T: Copy,
    {
        if values.is_empty() {
            return Ok(0);
        }
        let claim = self.claim_for_push(values.len())?;
        let mut values = &values[..claim.count];
        for run in self.runs(claim) {
            let (these, rest) = values.split_at(run.values.len());
            for (cell, &value) in run.values.iter().zip(these) {
                // Each of the `claim.count` positions from `claim.first` (these are some of
                // them) is claimed by this push and not yet published.
                cell.with_mut(|value_ptr| {
                    // SAFETY: so this push is the cell's only writer, and no pop reads it
                    // before the stamp store below.
                    unsafe { value_ptr.write(MaybeUninit::new(value)) }
                });
            }
            for (stamp, position) in run.stamps().zip(run.first..) {
                Self::publish(stamp, position);
            }
            values = rest;
        }
        Ok(claim.count)
    }

    /// Pops as many values as are ready into the front of `buffer`, claiming them all with one
    /// atomic step, and returns how many (at least 1).
    pub(crate) fn try_pop_slice(&self, buffer: &mut [T]) -> Result<usize, Refusal>
    where
        T: Copy,
    {
        if buffer.is_empty() {
            return Ok(0);
        }
        let claim = self.claim_for_pop(buffer.len())?;
        let mut buffer = &mut buffer[..claim.count];
        for run in self.runs(claim) {
            let (these, rest) = buffer.split_at_mut(run.values.len());
            for (cell, value) in run.values.iter().zip(these) {
                // Each of the `claim.count` positions from `claim.first` (these are some of
                // them) is claimed by this pop, and its stamp, read while claiming, said the
                // value was published. The stamp stores below mark it uninitialised again.
                *value = cell.with(|value_ptr| {
                    // SAFETY: so the push's write happens-before this read (Release/Acquire
                    // on the stamp), and the claim makes us the value's only reader.
                    unsafe { value_ptr.read().assume_init() }
                });
            }
            for (stamp, position) in run.stamps().zip(run.first..) {
                self.release(stamp, position);
            }
            buffer = rest;
        }
        Ok(claim.count)
    }

    /// Claims up to `wanted >= 1` consecutive positions for pushes, starting at `tail`: as many
    /// as have free slots, with one compare-and-swap.
    #[inline(always)]
    fn claim_for_push(&self, wanted: usize) -> Result<Claim, Refusal> {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release CASes on `tail` (every one of them, as each
        // CAS continues the release sequence): we then see every stamp that a push before
        // `tail` read, so the stamps below are at least one lap behind `tail`, never older.
        let mut tail = self.cursors.tail.load(Ordering::Acquire);
        loop {
            if self.shape.is_closed(tail) {
                return Err(Refusal::Closed);
            }
            let first = self.slot(tail);
            // ORDERING: Acquire pairs with the Release stamp store at the end of
            // `take_and_release`, so the pop's read of the old value happens-before our write.
            let stamp = first.stamp.load(Ordering::Acquire);
            match self.shape.classify_for_push(stamp, tail) {
                Readiness::Ready => {
                    let (count, end) = self.count_ready(tail, wanted, Shape::classify_for_push);
                    match self.cursors.tail.compare_exchange_weak(
                        tail,
                        end,
                        // ORDERING: Release on success pairs with the Acquire loads of `tail`
                        // (here and in `len`); Acquire on failure, for the same reason as the
                        // load above, since the current value becomes our new `tail`. A marked
                        // (closed) `tail` never equals the unmarked one we expect.
                        Ordering::Release,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return Ok(Claim { first: tail, count }),
                        Err(current) => tail = current,
                    }
                }
                Readiness::NotYet if self.recheck(first, tail) => return Err(Refusal::NotReady),
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

    /// Claims up to `wanted >= 1` consecutive positions for pops, starting at `head`: as many
    /// as hold published values, with one compare-and-swap.
    #[inline(always)]
    fn claim_for_pop(&self, wanted: usize) -> Result<Claim, Refusal> {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release CASes on `head` (see `claim_for_push`), so
        // the stamps below are at least those of the pops one lap before `head`.
        let mut head = self.cursors.pops.head.load(Ordering::Acquire);
        loop {
            let first = self.slot(head);
            // ORDERING: Acquire pairs with the Release stamp store in `write_and_publish`, so
            // the push's write happens-before our read.
            let stamp = first.stamp.load(Ordering::Acquire);
            match self.shape.classify_for_pop(stamp, head) {
                Readiness::Ready => {
                    let (count, end) = self.count_ready(head, wanted, Shape::classify_for_pop);
                    match self.cursors.pops.head.compare_exchange_weak(
                        head,
                        end,
                        // ORDERING: as in `claim_for_push`.
                        Ordering::Release,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return Ok(Claim { first: head, count }),
                        Err(current) => head = current,
                    }
                }
                Readiness::NotYet if self.recheck(first, head + 1) => {
                    return Err(self.empty_or_closed(head));
                }
                Readiness::NotYet => {}
                Readiness::Stale => {
                    // ORDERING: Acquire, as above; the stamp we read proves `head` moved on.
                    head = self.cursors.pops.head.load(Ordering::Acquire);
                }
            }
            backoff.spin();
        }
    }

    /// How many consecutive positions from `first` (whose slot is ready) are ready, up to
    /// `wanted`, and the position after the last of them.
    ///
    /// A slot counted here stays ready until its position is claimed, and claiming any of
    /// them moves the cursor past `first`, so the caller's compare-and-swap from `first` fails
    /// unless every counted slot is still ready.
    #[inline(always)]
    fn count_ready(
        &self,
        first: usize,
        wanted: usize,
        classify: fn(Shape, usize, usize) -> Readiness,
    ) -> (usize, usize) {
        if wanted <= 1 {
            // A single operation (`wanted` is the constant 1 there): nothing more to look at.
            return (1, self.shape.next(first));
        }
        let wanted = wanted.min(self.shape.capacity);
        let mut count = 1;
        let after_first = self.shape.advance(first, 1);
        'runs: for run in self.runs(Claim {
            first: after_first,
            count: wanted - 1,
        }) {
            for (stamp, position) in run.stamps().zip(run.first..) {
                // ORDERING: Acquire, as for the first slot's stamp (the pairing is the same).
                let stamp = stamp.load(Ordering::Acquire);
                if classify(self.shape, stamp, position) != Readiness::Ready {
                    break 'runs;
                }
                count += 1;
            }
        }
        (count, self.shape.advance(first, count))
    }

    /// The slots of `claim`'s positions, as at most two runs of consecutive slots: from the
    /// claim's first slot towards the end of the ring, then (if the claim wraps) from slot 0
    /// on the next lap. `claim.count <= capacity`.
    #[inline(always)]
    fn runs(&self, claim: Claim) -> [Run<'a, T>; 2] {
        debug_assert!(claim.count <= self.shape.capacity);
        let capacity = self.shape.capacity;
        let count = claim.count.min(capacity);
        // As in `index`: an index out of bounds (a damaged shared cursor) is sent to slot 0.
        let index = self.shape.index(claim.first);
        let (index, first) = if index < capacity {
            (index, claim.first)
        } else {
            (0, claim.first.wrapping_sub(index))
        };
        let first_len = count.min(capacity - index);
        let spacing = stamp_spacing::<T>();
        // `count <= capacity`, so the rest fits before `index`.
        let rest = (count - first_len).min(index);
        [
            Run {
                first,
                stamps: &self.stamps[index * spacing..(index + first_len) * spacing],
                values: &self.values[index..index + first_len],
            },
            Run {
                first: self.shape.advance(first, first_len),
                stamps: &self.stamps[..rest * spacing],
                values: &self.values[..rest],
            },
        ]
    }

    /// Writes `value` into the slot of `position` and publishes it to the pop at `position`.
    ///
    /// # Safety
    ///
    /// `position` is claimed by the caller's push, which has not published it yet.
    #[inline(always)]
    unsafe fn write_and_publish(&self, position: usize, value: T) {
        let slot = self.slot(position);
        slot.value.with_mut(|value_ptr| {
            // SAFETY: the claim made this push the slot's only writer until the stamp store
            // below (the caller's contract), and no pop reads the slot before that store.
            unsafe { value_ptr.write(MaybeUninit::new(value)) }
        });
        Self::publish(slot.stamp, position);
    }

    /// Reads the value out of the slot of `position` and frees the slot for the push one lap
    /// later.
    ///
    /// # Safety
    ///
    /// `position` is claimed by the caller's pop, and its value was published.
    #[inline(always)]
    unsafe fn take_and_release(&self, position: usize) -> T {
        let slot = self.slot(position);
        let value = slot.value.with(|value_ptr| {
            // The stamp store below marks the value uninitialised again.
            // SAFETY: stamp `position + 1` said the push at `position` initialised it
            // (Release/Acquire on the stamp); the claim makes us its only reader.
            unsafe { value_ptr.read().assume_init() }
        });
        self.release(slot.stamp, position);
        value
    }

    /// Publishes the value just written into the slot of `position` (whose stamp is `stamp`)
    /// to the pop at `position`.
    #[inline(always)]
    fn publish(stamp: &AtomicUsize, position: usize) {
        // ORDERING: Release publishes the value written before; pairs with the Acquire stamp
        // loads in `claim_for_pop` and `count_ready`.
        stamp.store(position + 1, mutant::publish_ordering(Ordering::Release));
    }

    /// Frees the slot of `position` (whose stamp is `stamp`), whose value was just read, for
    /// the push one lap later.
    #[inline(always)]
    fn release(&self, stamp: &AtomicUsize, position: usize) {
        // ORDERING: Release pairs with the Acquire stamp loads in `claim_for_push` and
        // `count_ready`: the read of the value happens-before the next lap's write.
        stamp.store(position.wrapping_add(self.shape.one_lap), Ordering::Release);
    }

    /// Decides a Full or Empty answer: after a `SeqCst` fence, reads `slot`'s stamp again and
    /// returns `true` (answer Full or Empty) unless it now equals `ready`.
    ///
    /// The fence is what makes the answer exact for threads that both write and then take
    /// this path: of two such fences, the later one's re-read sees every stamp and cursor the
    /// other thread wrote before its own fence (the store-buffering pattern). Without it, two
    /// threads that each push and then pop could both answer Empty (the `no_empty_fence`
    /// mutant shows loom finding that). (The blocking layer orders its sleepers with a
    /// barrier pair of its own, before it calls the ring again: see `wait`.)
    fn recheck(&self, slot: Slot<'a, T>, ready: usize) -> bool {
        if mutant::FENCES_FULL_AND_EMPTY {
            // ORDERING: SeqCst fence, paired with the same fence in every other call that
            // answers Full or Empty, and with the fences of the blocking layer (see above).
            fence(Ordering::SeqCst);
        }
        // ORDERING: Acquire, as for the first stamp load: if it shows `ready`, the caller's
        // retry reads the slot's value or overwrites it after this load.
        slot.stamp.load(Ordering::Acquire) != ready
    }

    /// The answer of a pop at `head` that found its slot empty: `Closed` if the ring is
    /// closed and no push claimed `head`, so no value will ever come.
    fn empty_or_closed(&self, head: usize) -> Refusal {
        // Relaxed, after the `SeqCst` fence in `recheck`: `close` stores the flag (`SeqCst`)
        // before it marks `tail` (`SeqCst`), so if this load misses the flag, that fence came
        // before the flag's store in the single total order of `SeqCst` operations, and so
        // before the mark: the ring was still open when we found the slot empty. (The flag
        // only decides whether to read `tail`; that read is what orders the answer.)
        if self.cursors.pops.closing.load(Ordering::Relaxed) == 0 {
            return Refusal::NotReady;
        }
        // ORDERING: Acquire, after the fence in `recheck`: the close is an RMW on `tail`, later
        // in `tail`'s modification order than every successful push's CAS, so a marked `tail`
        // equal to `head` proves that every value ever pushed was claimed by a pop before us.
        let tail = self.cursors.tail.load(Ordering::Acquire);
        if self.shape.is_closed(tail) && self.shape.without_mark(tail) == head {
            Refusal::Closed
        } else {
            Refusal::NotReady
        }
    }

    /// Closes the ring: from now on every push is refused with [`Refusal::Closed`], and pops
    /// take what is left, then get [`Refusal::Closed`]. Returns `false` if it was closed
    /// already.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: SeqCst, before the mark below (also SeqCst): see `empty_or_closed`, the
        // only reader that needs the two in one total order with the fence in `recheck`.
        self.cursors.pops.closing.store(1, Ordering::SeqCst);
        // ORDERING: SeqCst, which includes AcqRel: Release so that a pop that sees the mark
        // also sees every push before it (the RMW continues their release sequence); Acquire
        // to read the latest `tail`. Blocking callers then wake every sleeper (see `wait`).
        let tail = self
            .cursors
            .tail
            .fetch_or(self.shape.mark, Ordering::SeqCst);
        !self.shape.is_closed(tail)
    }

    /// Whether [`close`](Self::close) has been called.
    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the AcqRel `close`; a `true` answer is final.
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

    /// How many values the ring held at one moment during the call.
    pub(crate) fn len(&self) -> usize {
        loop {
            // ORDERING: the Acquire loads pair with the Release CASes on the cursors. A head
            // we read was moved by a pop that had seen its value published, so the tail we
            // read after it is at least past that value; a tail we read was moved by a push
            // that had seen its slot emptied, so the head we read again after it is at most
            // one lap behind. Reading the same head twice makes the pair one snapshot.
            let head = self.cursors.pops.head.load(Ordering::Acquire);
            let tail = self
                .shape
                .without_mark(self.cursors.tail.load(Ordering::Acquire));
            if self.cursors.pops.head.load(Ordering::Acquire) == head {
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
        let tail = self
            .shape
            .without_mark(self.cursors.tail.load(Ordering::Relaxed));
        let mut position = self.cursors.pops.head.load(Ordering::Relaxed);
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A ring of `capacity` slots whose cursors start at `lap`'s first position.
    fn storage<T>(capacity: usize, lap: usize) -> Storage<T> {
        let shape = Shape::new(capacity).unwrap();
        let start = shape.lap_start(lap);
        Storage {
            cursors: Cursors::new(start),
            stamps: empty_stamps::<T>(start, capacity).collect(),
            values: (0..capacity).map(|_| empty_value()).collect(),
            shape,
        }
    }

    struct Storage<T> {
        cursors: Cursors,
        stamps: Vec<AtomicUsize>,
        values: Vec<ValueCell<T>>,
        shape: Shape,
    }

    impl<T> Storage<T> {
        fn ring(&self) -> Ring<'_, T> {
            // SAFETY: the storage was made from one start position, for this shape.
            unsafe { Ring::new(&self.cursors, &self.stamps, &self.values, self.shape) }
        }
    }

    #[test]
    fn advancing_crosses_into_the_next_lap_at_the_last_slot() {
        let shape = Shape::new(3).unwrap();
        let one_lap = shape.lap_start(1);
        assert_eq!(shape.advance(0, 2), 2);
        assert_eq!(shape.advance(0, 3), one_lap);
        assert_eq!(shape.advance(2, 2), one_lap + 1);
        assert_eq!(
            shape.advance(usize::MAX - one_lap + 1 + 2, 1),
            0,
            "wraps usize"
        );
        for position in [0, 1, 2, one_lap, one_lap + 2] {
            let mut stepped = position;
            for count in 0..=3 {
                assert_eq!(shape.advance(position, count), stepped);
                stepped = shape.next(stepped);
            }
        }
    }

    #[test]
    fn a_claim_across_the_end_of_the_ring_is_two_runs() {
        let storage = storage::<u64>(4, 0);
        let ring = storage.ring();
        let [run, wrapped] = ring.runs(Claim { first: 3, count: 3 });
        assert_eq!(
            (run.first, run.stamps().count(), run.values.len()),
            (3, 1, 1)
        );
        let next_lap = storage.shape.lap_start(1);
        assert_eq!(
            (
                wrapped.first,
                wrapped.stamps().count(),
                wrapped.values.len()
            ),
            (next_lap, 2, 2)
        );
        assert!(core::ptr::eq(&run.stamps[0], &storage.stamps[3]));
        assert!(core::ptr::eq(&run.values[0], &storage.values[3]));
        assert!(core::ptr::eq(&wrapped.stamps[0], &storage.stamps[0]));
        assert!(core::ptr::eq(&wrapped.values[0], &storage.values[0]));
        let [whole, none] = ring.runs(Claim { first: 0, count: 4 });
        assert_eq!((whole.values.len(), none.values.len()), (4, 0));
    }

    #[test]
    fn stamps_are_as_far_apart_as_values_up_to_a_cache_line() {
        assert_eq!(stamp_spacing::<()>(), 1);
        assert_eq!(stamp_spacing::<u8>(), 1);
        assert_eq!(stamp_spacing::<u64>(), 1);
        assert_eq!(stamp_spacing::<[u8; 9]>(), 2);
        assert_eq!(stamp_spacing::<[u64; 3]>(), 3);
        assert_eq!(stamp_spacing::<[u8; 64]>(), 8);
        assert_eq!(stamp_spacing::<[u8; 4096]>(), 8);
        assert_eq!(stamps_len::<[u8; 64]>(3), Some(24));
        assert_eq!(stamps_len::<[u8; 64]>(usize::MAX), None);
        let stamps: Vec<usize> = empty_stamps::<[u64; 3]>(6, 2)
            .map(AtomicUsize::into_inner)
            .collect();
        assert_eq!(stamps, [6, 0, 0, 7, 0, 0]);
    }

    #[test]
    fn a_claim_of_wide_values_finds_each_slot_s_spaced_stamp() {
        let storage = storage::<[u64; 8]>(4, 0);
        let ring = storage.ring();
        let [run, wrapped] = ring.runs(Claim { first: 2, count: 3 });
        let stamps: Vec<_> = run.stamps().chain(wrapped.stamps()).collect();
        for (stamp, index) in stamps.into_iter().zip([2, 3, 0]) {
            assert!(core::ptr::eq(stamp, &storage.stamps[index * 8]));
        }
    }

    /// Pushes and pops batches of varied sizes, many times around a ring of 5 slots of `T`
    /// (made from a number by `make`), and checks that every value comes out once, in order.
    fn batches_wrap_around_the_ring_in_order<T: Copy + PartialEq + core::fmt::Debug>(
        make: impl Fn(u64) -> T,
    ) {
        let storage = storage::<T>(5, 0);
        let ring = storage.ring();
        let mut next = 0u64;
        let mut expected = 0u64;
        let mut buffer = [make(0); 4];
        for round in 0..50 {
            let values: Vec<T> = (next..next + 1 + round % 4).map(&make).collect();
            let pushed = ring.try_push_slice(&values).unwrap_or(0);
            next += pushed as u64;
            let popped = ring
                .try_pop_slice(&mut buffer[..1 + round as usize % 3])
                .unwrap_or(0);
            for &value in &buffer[..popped] {
                assert_eq!(value, make(expected));
                expected += 1;
            }
            if round % 5 == 0 {
                // Single operations find the same stamps as the batches.
                if ring.try_push(make(next)).is_ok() {
                    next += 1;
                }
                if let Ok(value) = ring.try_pop() {
                    assert_eq!(value, make(expected));
                    expected += 1;
                }
            }
        }
        assert!(expected > 40, "the batches went round the ring many times");
    }

    #[test]
    fn batches_of_narrow_values_wrap_around_the_ring_in_order() {
        batches_wrap_around_the_ring_in_order(|n| n);
    }

    #[test]
    fn batches_of_wide_values_wrap_around_the_ring_in_order() {
        batches_wrap_around_the_ring_in_order(|n| [n, !n, n ^ 0x5555, n.rotate_left(7)]);
        batches_wrap_around_the_ring_in_order(|n| [n as u8; 64]);
    }
}
