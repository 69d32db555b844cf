//! One value at a time: a push writes its claimed slot and publishes it; a pop reads its
//! claimed slot and frees it for the next lap.

use core::mem::MaybeUninit;

use super::{Refusal, Ring};

impl<T> Ring<'_, T> {
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
}
