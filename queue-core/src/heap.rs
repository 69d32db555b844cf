//! [`HeapRing`]: a ring's storage in one heap allocation, for queues within one process.

use crate::error::CapacityError;
use crate::ring::{Cursors, Ring, Shape, Slot};

/// The cursors and slots of a ring, owned on the heap; drops the values left inside.
pub(crate) struct HeapRing<T> {
    cursors: Cursors,
    slots: Box<[Slot<T>]>,
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
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| too_large)?;
        let start = shape.lap_start(lap);
        slots.extend((0..capacity).map(|index| Slot::new(start + index)));
        Ok(Self {
            cursors: Cursors::new(start),
            slots: slots.into_boxed_slice(),
            shape,
        })
    }

    /// The ring over this storage.
    #[inline(always)]
    pub(crate) fn ring(&self) -> Ring<'_, T> {
        // SAFETY: `slots` has `shape.capacity` slots, made with the cursors from one start
        // position in `new`, and this storage is reached only through rings of this shape.
        unsafe { Ring::new(&self.cursors, &self.slots, self.shape) }
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
