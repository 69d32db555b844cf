//! The floor of the ring's design: Dmitry Vyukov's bounded MPMC algorithm as plainly as it
//! can be written, with none of the queue's guarantees beyond it (no close, no exact
//! Full/Empty, no fork check, no batches, no shared placement). What `Queue` costs above this
//! ring is the price of those guarantees; the benches show it side by side.
//!
//! The ring lives on the heap ([`FloorRing::new`]) or, for the cross-process benches, in a
//! `MAP_SHARED` mapping that forked children inherit at the same address
//! ([`FloorRing::in_shared_mapping`]).

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
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
    /// `capacity` slots: a leaked box (owned by this ring) or the rest of the shared mapping
    /// that holds the ring itself.
    slots: NonNull<Slot<T>>,
    /// `capacity - 1`: a position's slot is `position & mask`.
    mask: usize,
    /// Whether `slots` is a box this ring frees.
    boxed: bool,
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
        let slots: Box<[Slot<T>]> = (0..capacity).map(Slot::ready_for).collect();
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: NonNull::new(Box::into_raw(slots).cast()).expect("a box is not null"),
            mask: capacity - 1,
            boxed: true,
        }
    }

    /// An empty ring of `capacity` slots (a power of two) in a new `MAP_SHARED` anonymous
    /// mapping, the slots right after the ring: the processes forked while the returned
    /// handle lives share it.
    pub(crate) fn in_shared_mapping(capacity: usize) -> SharedFloorRing<T>
    where
        T: Copy,
    {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
        assert!(capacity.is_power_of_two());
        let header = size_of::<Self>().next_multiple_of(align_of::<Slot<T>>());
        let len = header + capacity * size_of::<Slot<T>>();
        // SAFETY: a new mapping that overlaps no Rust object; unmapped by the handle's drop.
        let mapping = unsafe {
            mmap_anonymous(
                None,
                std::num::NonZeroUsize::new(len).expect("a ring is not empty"),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .expect("mmap");
        let ring = mapping.cast::<Self>();
        // SAFETY: page-aligned (more than any of these types needs) and `len` bytes long: the
        // ring at the start, `capacity` slots from `header` on, each written once here before
        // any reference to it exists.
        unsafe {
            let slots = mapping.byte_add(header).cast::<Slot<T>>();
            for position in 0..capacity {
                slots.add(position).write(Slot::ready_for(position));
            }
            ring.write(Self {
                head: CachePadded::new(AtomicUsize::new(0)),
                tail: CachePadded::new(AtomicUsize::new(0)),
                slots,
                mask: capacity - 1,
                boxed: false,
            });
        }
        SharedFloorRing { ring, len }
    }

    fn slot(&self, position: usize) -> &Slot<T> {
        // SAFETY: `position & mask < capacity`, the number of slots at `slots`.
        unsafe { self.slots.add(position & self.mask).as_ref() }
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
        if self.boxed {
            let slots = std::ptr::slice_from_raw_parts_mut(self.slots.as_ptr(), self.mask + 1);
            // SAFETY: the box leaked in `new`, of `mask + 1` slots; freed once, here.
            drop(unsafe { Box::from_raw(slots) });
        }
    }
}

impl<T> Slot<T> {
    /// An empty slot, ready for the push at `position`.
    fn ready_for(position: usize) -> Self {
        Self {
            stamp: AtomicUsize::new(position),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// A [`FloorRing`] of `Copy` values in a shared mapping: dereferences to the ring, unmaps it
/// when dropped (values left in it need no drop).
pub(crate) struct SharedFloorRing<T> {
    ring: NonNull<FloorRing<T>>,
    len: usize,
}

impl<T> std::ops::Deref for SharedFloorRing<T> {
    type Target = FloorRing<T>;
    fn deref(&self) -> &FloorRing<T> {
        // SAFETY: written in `in_shared_mapping`, unmapped only by this handle's drop.
        unsafe { self.ring.as_ref() }
    }
}

impl<T> Drop for SharedFloorRing<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `in_shared_mapping`, `len` bytes; no reference to the
        // ring outlives this handle.
        unsafe { nix::sys::mman::munmap(self.ring.cast(), self.len) }.expect("munmap");
    }
}
