//! The floor under [`MessageQueue`](super::MessageQueue): a shared blocking queue of
//! [`Slot`]s that carries byte messages of any length, each in consecutive slots claimed
//! whole (see the ring's `spans`), with the queue's own waiting and waking.

use std::time::Instant;

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::blocking::wake_count;
use crate::error::{GaveUp, Refusal};
use crate::placement::shared::Mapping;
use crate::ring::{Announced, Plain, Ring, SharedValues, type_tag};
use crate::sync::Barriers;
use crate::wait::WaitLists;
use crate::{BlockingQueue, Pops, Pushes, Role, Shared};

/// The bytes of a slot: a message of up to `SLOT_BYTES - 4` bytes takes one, and a longer one
/// as many as its bytes and their 4-byte length fill. A quarter of a kibibyte keeps a short
/// message's copy to the words it fills (one cache line for most) and the stamps' share of a
/// long message's traffic to a fifth.
pub(crate) const SLOT_BYTES: usize = 256;

/// One slot of a message queue's ring: words, which the spans fill with a message's bytes.
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
pub(crate) struct Slot(pub(crate) [u64; SLOT_BYTES / 8]);

impl Plain for Slot {
    // A queue of slots is a queue of byte messages: an attacher of any other element type
    // (a `Frame` of the same size included) is refused.
    const TYPE_TAG: u64 = type_tag("queue_core::MessageQueue slot of 256 bytes");
}

/// The ring of a message queue's slots, in its mapping.
type SlotRing<'a> = Ring<'a, Slot, SharedValues<'a, Slot>, Announced<&'a Mapping<Slot>>>;

impl<R: Role> BlockingQueue<Slot, Shared<R>> {
    /// The ring, its wait lists and their barrier pair, named here (where no bound on `R`
    /// keeps the compiler from seeing the ring's concrete type).
    fn slot_parts(&self) -> (SlotRing<'_>, &WaitLists, Barriers) {
        self.parts()
    }

    /// The longest message the queue carries: every slot's bytes, but the length's 4.
    pub(crate) fn max_message(&self) -> usize {
        self.slot_parts().0.max_message()
    }

    /// How many slots a message of `len` bytes takes.
    pub(crate) fn slots_for(len: usize) -> usize {
        crate::ring::slots_for::<Slot>(len)
    }

    /// Pushes `message` (at most [`max_message`](Self::max_message) bytes) if there is room
    /// for all of it, without waiting.
    pub(crate) fn try_push_message(&self, message: &[u8]) -> Result<(), Refusal>
    where
        Shared<R>: Pushes,
    {
        let (ring, wait_lists, barriers) = self.slot_parts();
        ring.try_push_message(message)?;
        wait_lists.not_empty.wake(barriers, 1, ring.claimer());
        Ok(())
    }

    /// Pushes `message` (at most [`max_message`](Self::max_message) bytes), sleeping while
    /// there is no room for all of it, until `deadline` if there is one.
    pub(crate) fn push_message(
        &self,
        message: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(), GaveUp>
    where
        Shared<R>: Pushes,
    {
        let (ring, wait_lists, barriers) = self.slot_parts();
        wait_lists
            .not_full
            .wait_for(barriers, deadline, ring.claimer(), || {
                ring.try_push_message(message)
            })?;
        wait_lists.not_empty.wake(barriers, 1, ring.claimer());
        Ok(())
    }

    /// Pops the oldest message into `out`, without waiting.
    pub(crate) fn try_pop_message(&self, out: &mut Vec<u8>) -> Result<(), Refusal>
    where
        Shared<R>: Pops,
    {
        let (ring, wait_lists, barriers) = self.slot_parts();
        ring.try_pop_message(out)?;
        // Its slots are free: as many pushes as there are may fit now.
        let freed = Self::slots_for(out.len());
        wait_lists.not_full.wake(barriers, wake_count(freed), ring.claimer());
        Ok(())
    }

    /// Pops the oldest message into `out`, sleeping while there is none, until `deadline` if
    /// there is one.
    pub(crate) fn pop_message(&self, out: &mut Vec<u8>, deadline: Option<Instant>) -> Result<(), GaveUp>
    where
        Shared<R>: Pops,
    {
        let (ring, wait_lists, barriers) = self.slot_parts();
        wait_lists
            .not_empty
            .wait_for(barriers, deadline, ring.claimer(), || ring.try_pop_message(out))?;
        let freed = Self::slots_for(out.len());
        wait_lists.not_full.wake(barriers, wake_count(freed), ring.claimer());
        Ok(())
    }
}
