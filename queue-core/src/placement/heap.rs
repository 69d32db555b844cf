//! The heap placement: a ring's storage in one heap allocation, for queues within one process.

use crate::error::CapacityError;
use crate::forked::Owner;
use crate::ring::{
    Cursors, Local, Ring, Shape, ValueCell, empty_stamps, empty_value, stamps_len,
};
use crate::placement::storage::{RingOf, RingStorage, WaitingStorage};
use crate::sync::{AtomicUsize, Barriers};
use crate::wait::WaitLists;

/// The cursors, stamps and values of a ring, owned on the heap; drops the values left inside.
pub struct HeapRing<T> {
    cursors: Cursors,
    stamps: Box<[AtomicUsize]>,
    values: Box<[ValueCell<T>]>,
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
            owner,
        })
    }
}

impl<T> RingStorage<T> for HeapRing<T> {
    type Values<'a>
        = &'a [ValueCell<T>]
    where
        T: 'a;
    type Claimer<'a>
        = Local
    where
        T: 'a;

    #[inline(always)]
    fn ring(&self) -> RingOf<'_, Self, T> {
        // SAFETY: `values` has `shape.capacity` elements and `stamps` as many as
        // `stamps_len` says, made with the cursors from one start position in `new` (every
        // slot empty), and this storage is reached only through rings of this shape.
        unsafe { Ring::new(&self.cursors, &self.stamps, &self.values[..], self.shape) }
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
        = &'a [ValueCell<T>]
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
