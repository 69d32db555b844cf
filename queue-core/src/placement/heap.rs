//! The heap placement: a ring's storage in one heap allocation, for queues within one process.

use crate::error::CapacityError;
use crate::forked::Owner;
use crate::ring::{Cursors, HeapSlot, Local, Ring, Shape};
use crate::placement::storage::{RingOf, RingStorage, WaitingStorage};
use crate::sync::Barriers;
use crate::wait::WaitLists;

/// The cursors and slots of a ring, owned on the heap; drops the values left inside.
pub struct HeapRing<T> {
    cursors: Cursors,
    slots: Box<[HeapSlot<T>]>,
    shape: Shape,
    /// The process the ring was made in, the only one its claims are made in.
    owner: Owner,
}

impl<T> core::fmt::Debug for HeapRing<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeapRing")
            .field("capacity", &self.ring().capacity())
            .finish_non_exhaustive()
    }
}

impl<T> HeapRing<T> {
    /// An empty ring of `capacity` slots whose cursors start at lap `lap` (0 for a new queue;
    /// tests start near the wrap of positions at `usize::MAX`).
    ///
    /// Neither panics nor aborts when the allocation fails.
    pub(crate) fn new(capacity: usize, lap: usize) -> Result<Self, CapacityError> {
        let shape = Shape::new(capacity)?;
        let too_large = CapacityError::TooLarge { capacity };
        // Registering the fork handler fails only when libc has no memory for it: memory
        // that could not be allocated.
        let owner = Owner::this_process().map_err(|_| too_large)?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| too_large)?;
        let start = shape.lap_start(lap);
        slots.extend((0..capacity).map(|index| HeapSlot::empty(start + index)));
        Ok(Self {
            cursors: Cursors::new(start),
            slots: slots.into_boxed_slice(),
            shape,
            owner,
        })
    }
}

impl<T> RingStorage<T> for HeapRing<T> {
    type Values<'a>
        = &'a [HeapSlot<T>]
    where
        T: 'a;
    type Claimer<'a>
        = Local
    where
        T: 'a;

    #[inline(always)]
    fn ring(&self) -> RingOf<'_, Self, T> {
        // SAFETY: `new` made `shape.capacity` empty slots (slot `i` stamped start + `i`) with
        // the cursors at the start; this storage is reached only through rings of this shape.
        unsafe { Ring::new(&self.cursors, &self.slots[..], self.shape) }
            .claiming_as(Local::new(self.owner))
    }
}

impl<T> Drop for HeapRing<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self` is exclusive access: every operation on the ring has returned
        // and happens-before the drop.
        unsafe { self.ring().drop_values() }
    }
}

/// A heap ring with its wait lists, and the barrier pair this process uses for them.
pub struct HeapWaiting<T> {
    ring: HeapRing<T>,
    wait_lists: WaitLists,
    barriers: Barriers,
}

impl<T> core::fmt::Debug for HeapWaiting<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeapWaiting")
            .field("capacity", &self.ring().capacity())
            .finish_non_exhaustive()
    }
}

impl<T> HeapWaiting<T> {
    /// An empty ring of `capacity` slots from lap `lap` (see [`HeapRing::new`]), nobody
    /// waiting.
    pub(crate) fn new(capacity: usize, lap: usize) -> Result<Self, CapacityError> {
        Ok(Self {
            ring: HeapRing::new(capacity, lap)?,
            wait_lists: WaitLists::default(),
            barriers: Barriers::within_process(),
        })
    }
}

impl<T> RingStorage<T> for HeapWaiting<T> {
    type Values<'a>
        = &'a [HeapSlot<T>]
    where
        T: 'a;
    type Claimer<'a>
        = Local
    where
        T: 'a;

    #[inline(always)]
    fn ring(&self) -> RingOf<'_, Self, T> {
        self.ring.ring()
    }
}

impl<T> WaitingStorage<T> for HeapWaiting<T> {
    #[inline(always)]
    fn wait_lists(&self) -> &WaitLists {
        &self.wait_lists
    }

    #[inline(always)]
    fn barriers(&self) -> Barriers {
        self.barriers
    }
}
