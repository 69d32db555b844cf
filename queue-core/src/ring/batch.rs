//! Batches: runs of consecutive slots, claimed with one compare-and-swap and copied as
//! contiguous slices.

use core::ops::Range;

use crate::sync::{AtomicUsize, Ordering};

use super::shape::{Readiness, Shape};
use super::{Claim, Claimer, Refusal, Ring, Values};

/// Consecutive slots of the ring, from the slot of position `first`.
pub(super) struct Run {
    pub(super) first: usize,
    /// The indices of the run's slots, below the ring's capacity.
    pub(super) indices: Range<usize>,
}

impl Run {
    /// How many slots the run has.
    fn len(&self) -> usize {
        self.indices.len()
    }
}

impl<'a, T, V: Values<'a, T>, C: Claimer> Ring<'a, T, V, C> {
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
            let (these, rest) = values.split_at(run.len());
            for (index, &value) in run.indices.clone().zip(these) {
                // SAFETY: the index is in bounds (`runs`), and each of the `claim.count`
                // positions from `claim.first` (these are some of them) is claimed by this
                // push and not yet published; the stamp stores below publish them.
                unsafe { self.values.write(index, value) };
            }
            for (stamp, position) in self.stamps(&run).zip(run.first..) {
                Self::publish(stamp, position);
            }
            values = rest;
        }
        self.claimer.finish();
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
            let (these, rest) = buffer.split_at_mut(run.len());
            for (index, value) in run.indices.clone().zip(these) {
                // The index is in bounds (`runs`), and each of the `claim.count` positions
                // from `claim.first` (these are some of them) is claimed by this pop, its
                // stamp, read with Acquire while claiming, having said the value was
                // published. The stamp stores below free the slots.
                // SAFETY: so `read_into`'s contract holds.
                unsafe { self.values.read_into(index, value) };
            }
            for (stamp, position) in self.stamps(&run).zip(run.first..) {
                self.release(stamp, position);
            }
            buffer = rest;
        }
        self.claimer.finish();
        Ok(claim.count)
    }

    /// How many consecutive positions from `first` (whose slot is ready) are ready, up to
    /// `wanted`, and the position after the last of them.
    ///
    /// A slot counted here stays ready until its position is claimed, and claiming any of
    /// them moves the cursor past `first`, so the caller's compare-and-swap from `first` fails
    /// unless every counted slot is still ready.
    #[inline(always)]
    pub(super) fn count_ready(
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
            for (stamp, position) in self.stamps(&run).zip(run.first..) {
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
    pub(super) fn runs(&self, claim: Claim) -> [Run; 2] {
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
        // `count <= capacity`, so the rest fits before `index`.
        let rest = (count - first_len).min(index);
        [
            Run {
                first,
                indices: index..index + first_len,
            },
            Run {
                first: self.shape.advance(first, first_len),
                indices: 0..rest,
            },
        ]
    }

    /// The stamps of `run`'s slots, in order.
    #[inline(always)]
    pub(super) fn stamps(&self, run: &Run) -> impl Iterator<Item = &'a AtomicUsize> + use<'a, T, V, C> {
        let values = self.values;
        // SAFETY: a run's indices are below the capacity (see `runs`), and `Ring::new`
        // requires `values.len() >= capacity`.
        run.indices.clone().map(move |index| unsafe { values.stamp(index) })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::ring::{
        AnyBytes, Cursors, Extent, HeapSlot, Shape, SharedValues, empty_stamps, stamp_spacing,
    };

    /// A ring of `capacity` slots whose cursors start at `lap`'s first position.
    fn storage<T>(capacity: usize, lap: usize) -> Storage<T> {
        let shape = Shape::new(capacity).unwrap();
        let start = shape.lap_start(lap);
        Storage {
            cursors: Cursors::new(start),
            slots: (0..capacity).map(|index| HeapSlot::empty(start + index)).collect(),
            shape,
        }
    }

    struct Storage<T> {
        cursors: Cursors,
        slots: Vec<HeapSlot<T>>,
        shape: Shape,
    }

    impl<T> Storage<T> {
        fn ring(&self) -> Ring<'_, T> {
            // SAFETY: the storage was made from one start position, for this shape.
            unsafe { Ring::new(&self.cursors, &self.slots[..], self.shape) }
        }
    }

    #[test]
    fn a_claim_across_the_end_of_the_ring_is_two_runs() {
        let storage = storage::<u64>(4, 0);
        let ring = storage.ring();
        let [run, wrapped] = ring.runs(Claim { first: 3, count: 3 });
        assert_eq!((run.first, ring.stamps(&run).count(), run.indices.clone()), (3, 1, 3..4));
        let next_lap = storage.shape.lap_start(1);
        assert_eq!(
            (wrapped.first, ring.stamps(&wrapped).count(), wrapped.indices.clone()),
            (next_lap, 2, 0..2)
        );
        let [whole, none] = ring.runs(Claim { first: 0, count: 4 });
        assert_eq!((whole.len(), none.len()), (4, 0));
    }

    #[test]
    fn a_claim_of_wide_shared_values_finds_each_slot_s_spaced_stamp() {
        type Wide = [u64; 8];
        let shape = Shape::new(4).unwrap();
        let cursors = Cursors::new(0);
        let stamps: Vec<AtomicUsize> = empty_stamps(0, 4, stamp_spacing::<Wide>()).collect();
        let words: Vec<AtomicUsize> = (0..4 * 8).map(|_| AtomicUsize::new(0)).collect();
        let values = SharedValues::new(&stamps, &words, AnyBytes::<Wide>::proven(Extent::Whole));
        // SAFETY: stamps and cursors from one start position, every slot empty.
        let ring: Ring<'_, Wide, _> = unsafe { Ring::new(&cursors, values, shape) };
        let [run, wrapped] = ring.runs(Claim { first: 2, count: 3 });
        let found: Vec<_> = ring.stamps(&run).chain(ring.stamps(&wrapped)).collect();
        for (stamp, index) in found.into_iter().zip([2, 3, 0]) {
            assert!(core::ptr::eq(stamp, &stamps[index * 8]));
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
