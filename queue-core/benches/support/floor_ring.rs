//! The floor of the ring's design: Dmitry Vyukov's bounded MPMC algorithm as plainly as it
//! can be written, with none of the queue's guarantees beyond it (no close, no exact
//! Full/Empty, no fork check, no batches, no shared placement). What `Queue` costs above this
//! ring is the price of those guarantees; the benches show it side by side.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::{Backoff, CachePadded};

/// A slot: the position it is ready for (its stamp) beside its value.
struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded MPMC ring of a power-of-two capacity.
pub(crate) struct FloorRing<T> {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// `capacity - 1`: a position's slot is `position & mask`.
    mask: usize,
}

// SAFETY: values move between threads through the ring (each written by one push and read by
// one pop, ordered by the stamp's Release store and Acquire load); none is shared.
unsafe impl<T: Send> Sync for FloorRing<T> {}
// SAFETY: as above: sending the ring sends the values inside it.
unsafe impl<T: Send> Send for FloorRing<T> {}

impl<T> FloorRing<T> {
    /// An empty ring of `capacity` slots, a power of two.
    pub(crate) fn new(capacity: usize) -> Self {
        assert!(
            capacity.is_power_of_two(),
            "the floor ring's capacity is a power of two"
        );
        let slots = (0..capacity)
            .map(|position| Slot {
                stamp: AtomicUsize::new(position),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            mask: capacity - 1,
        }
    }

    fn slot(&self, position: usize) -> &Slot<T> {
        // SAFETY: `position & mask < capacity == slots.len()`.
        unsafe { self.slots.get_unchecked(position & self.mask) }
    }

    /// Pushes `value`, or hands it back when the slot at `tail` still holds last lap's value.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let backoff = Backoff::new();
        // Relaxed: the slot's stamp, loaded with Acquire below, is what orders the accesses;
        // the cursor only picks the slot to look at.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(tail);
            // ORDERING: Acquire pairs with the pop's Release store of the stamp: its read of
            // the old value happens-before our write.
            let lag = slot.stamp.load(Ordering::Acquire).wrapping_sub(tail) as isize;
            if lag == 0 {
                let next = tail.wrapping_add(1);
                match self.tail.compare_exchange_weak(
                    tail,
                    next,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the CAS made the slot ours until the stamp store below.
                        unsafe { (*slot.value.get()).write(value) };
                        // ORDERING: Release publishes the value to the pop's Acquire load.
                        slot.stamp.store(next, Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => tail = current,
                }
            } else if lag < 0 {
                return Err(value);
            } else {
                // Relaxed: as the first load.
                tail = self.tail.load(Ordering::Relaxed);
            }
            backoff.spin();
        }
    }

    /// Pops the oldest value, or `None` when the slot at `head` is not published yet.
    pub(crate) fn pop(&self) -> Option<T> {
        let backoff = Backoff::new();
        // Relaxed: as in `push`.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            let next = head.wrapping_add(1);
            // ORDERING: Acquire pairs with the push's Release store of the stamp.
            let lag = slot.stamp.load(Ordering::Acquire).wrapping_sub(next) as isize;
            if lag == 0 {
                match self.head.compare_exchange_weak(
                    head,
                    next,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the CAS made the published slot ours until the store below.
                        let value = unsafe { (*slot.value.get()).assume_init_read() };
                        // ORDERING: Release: our read happens-before next lap's push.
                        slot.stamp
                            .store(head.wrapping_add(self.mask + 1), Ordering::Release);
                        return Some(value);
                    }
                    Err(current) => head = current,
                }
            } else if lag < 0 {
                return None;
            } else {
                // Relaxed: as the first load.
                head = self.head.load(Ordering::Relaxed);
            }
            backoff.spin();
        }
    }
}

impl<T> Drop for FloorRing<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}
