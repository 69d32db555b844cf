//! One value at a time: a push writes its claimed slot and publishes it; a pop reads its
//! claimed slot and frees it for the next lap.

use super::{Claimer, Refusal, Ring, Values};

impl<'a, T, V: Values<'a, T>, C: Claimer> Ring<'a, T, V, C> {
    /// Pushes `value`, or hands it back with the reason (see [`Queue`]'s guarantees for exactly
    /// when the ring counts as full).
    ///
    /// [`Queue`]: crate::Queue
    // Always inlined, as the claim is: out of line, a wide `T` would be returned through
    // memory and copied once more (the cross-process bench lost a fifth of its 64-byte
    // throughput that way).
    #[inline(always)]
    pub(crate) fn try_push(&self, value: T) -> Result<(), (T, Refusal)> {
        match self.claim_for_push(1) {
            Ok(claim) => {
                // SAFETY: `claim.first` is claimed by this push and not yet published.
                unsafe { self.write_and_publish(claim.first, value) };
                self.claimer.finish();
                Ok(())
            }
            Err(refusal) => Err((value, refusal)),
        }
    }

    /// Pops the oldest value, or says why there is none to take (see [`Queue`]'s guarantees
    /// for exactly when the ring counts as empty).
    ///
    /// [`Queue`]: crate::Queue
    #[inline(always)]
    pub(crate) fn try_pop(&self) -> Result<T, Refusal> {
        let claim = self.claim_for_pop(1)?;
        // SAFETY: `claim.first` is claimed by this pop and holds a published value.
        let value = unsafe { self.take_and_release(claim.first) };
        self.claimer.finish();
        Ok(value)
    }

    /// Writes `value` into the slot of `position` and publishes it to the pop at `position`.
    ///
    /// # Safety
    ///
    /// `position` is claimed by the caller's push, which has not published it yet.
    #[inline(always)]
    unsafe fn write_and_publish(&self, position: usize, value: T) {
        let slot = self.slot(position);
        // SAFETY: the slot is in bounds (`slot`), claimed by this push and not yet published
        // (the caller's contract); the stamp store below publishes it.
        unsafe { self.values.write(slot.index, value) };
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
        // SAFETY: the slot is in bounds (`slot`), claimed by this pop, and stamp
        // `position + 1`, read with Acquire while claiming, said its value was published.
        let value = unsafe { self.values.read(slot.index) };
        self.release(slot.stamp, position);
        value
    }
}
