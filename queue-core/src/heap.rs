//! [`HeapRing`]: a ring's storage in one heap allocation, for queues within one process.

use crate::error::CapacityError;
use crate::ring::{Cursors, Ring, Shape, ValueCell, empty_stamps, empty_value, stamps_len};
use crate::sync::AtomicUsize;

/// The cursors, stamps and values of a ring, owned on the heap; drops the values left inside.
pub(crate) struct HeapRing<T> {
    cursors: Cursors,
    stamps: Box<[AtomicUsize]>,
    values: Box<[ValueCell<T>]>,
    shape: Shape,
}

impl<T> HeapRing<T> {
    /// An empty ring of `capacity` slots whose cursors start at lap `lap` (0 for a new queue;
    /// tests start near the wrap of positions at `usize::MAX`).
    ///
    /// Neither panics nor aborts when the allocation fails.
    pub(crate) fn new(capacity: usize, lap: usize) -> Result<Self, CapacityError> {
        let too_large = CapacityError::TooLarge { capacity };
        let shape = Shape::new(capacity).ok_or(if capacity == 0 {
            CapacityError::Zero
        } else {
            too_large
        })?;
        let (mut stamps, mut values) = (Vec::new(), Vec::new());
        let stamps_len = stamps_len::<T>(capacity).ok_or(too_large)?;
        stamps
            .try_reserve_exact(stamps_len)
            .map_err(|_| too_large)?;
        values.try_reserve_exact(capacity).map_err(|_| too_large)?;
        let start = shape.lap_start(lap);
        stamps.extend(empty_stamps::<T>(start, capacity));
        values.extend((0..capacity).map(|_| empty_value()));
        Ok(Self {
            cursors: Cursors::new(start),
            stamps: stamps.into_boxed_slice(),
            values: values.into_boxed_slice(),
            shape,
        })
    }

    /// The ring over this storage.
    #[inline(always)]
    pub(crate) fn ring(&self) -> Ring<'_, T> {
        // SAFETY: `values` has `shape.capacity` elements and `stamps` as many as
        // `stamps_len` says, made with the cursors from one start position in `new` (every
        // slot empty), and this storage is reached only through rings of this shape.
        unsafe { Ring::new(&self.cursors, &self.stamps, &self.values, self.shape) }
    }

    /// How many slots the ring has.
    pub(crate) fn capacity(&self) -> usize {
        self.shape.capacity
    }
}

impl<T> Drop for HeapRing<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self` is exclusive access: every operation on the ring has returned
        // and happens-before the drop.
        unsafe { self.ring().drop_values() }
    }
}
