//! Recovery: finishing, on behalf of a dead claimer, a slot its claim left unfinished.
//!
//! A claim holds its slots from its compare-and-swap on a cursor until it has published
//! (push) or released (pop) each of them. A claimer that dies in between leaves the slot
//! unfinished for good, and FIFO order stops every call that needs it. When a call is about to
//! answer Full or Empty because of such a slot, it asks its [`Claimer`] whether every
//! participant that may hold the slot is dead; if so, it finishes the slot with one
//! compare-and-swap on its stamp, from exactly the unfinished stamp it saw:
//!
//! | stamp seen | held by | finished as |
//! |---|---|---|
//! | `q`, with `tail` past `q` | the push of `q` (its value unpublished) | `skipped(q)`: pops pass over it, no value |
//! | `q + 1` or `skipped(q)`, with `head` past `q` | the pop of `q` (not released) | `q + one_lap`: free for the next lap's push |
//!
//! A dead push's value, whole or half written, is never delivered; a dead pop's value was
//! taken (the pop may have copied it before it died), and is not delivered again. Either way
//! the slot serves again, so the ring gets its full capacity back. The compare-and-swap fails
//! if the slot moved on since it was read, and then nothing is changed: the holder was dead,
//! so another recoverer finished it.

use crate::sync::Ordering;

use super::announced::Announcement;
use super::claimer::{Claimer, Side};
use super::{Ring, Slot, Values};

impl<'a, T, V: Values<'a, T>, C: Claimer> Ring<'a, T, V, C> {
    /// If the slot `slot` (of some position the caller's claim found it unready for) is held
    /// by an unfinished claim whose every possible holder is dead, finishes it and returns
    /// `true`: the caller looks at the slot again.
    pub(super) fn recover(&self, slot: Slot<'_>) -> bool {
        // ORDERING: Relaxed: nothing read here depends on what the stamp's writer published.
        // A finished or ready stamp sends the caller back to its claim, whose own load
        // (Acquire) reads the slot again; an unfinished one is only the expected value of the
        // compare-and-swap below, which acquires what it replaces; and the cursor and the
        // announcements are read with their own orderings (a stale cursor only makes this look
        // find nothing to recover, and a later look does).
        let stamp = slot.stamp.load(Ordering::Relaxed);
        let unmarked = self.shape.without_mark(stamp);
        let (side, position, finished) = if stamp == unmarked
            && self.shape.index(stamp) == slot.index
        {
            (Side::Push, stamp, self.shape.skipped(stamp))
        } else if self.shape.index(unmarked) == slot.index + 1
            && (stamp == unmarked || stamp == self.shape.skipped(unmarked - 1))
        {
            let position = unmarked - 1;
            (Side::Pop, position, position.wrapping_add(self.shape.one_lap))
        } else {
            // Ready, or finished since the caller looked, or not a stamp of the protocol.
            return false;
        };
        if !self.claimer.suspects(side, position) {
            return false;
        }
        // ORDERING: Acquire pairs with the Release compare-and-swap that moved the cursor past
        // `position`: the claimer's announcement, stored before it, is visible to
        // `holders_are_dead` (see `claimer`).
        let cursor = match side {
            Side::Push => self
                .shape
                .without_mark(self.cursors.tail.load(Ordering::Acquire)),
            Side::Pop => self.cursors.pops.head.load(Ordering::Acquire),
        };
        let passed = self.shape.steps_between(position, cursor);
        if passed == 0 || passed > self.shape.capacity {
            // Not claimed yet: the ring is empty (or full) there, with nothing to recover.
            return false;
        }
        if !self.claimer.holders_are_dead(side, position, self.shape) {
            return false;
        }
        // ORDERING: AcqRel. Release, because this store finishes the slot as its holder's
        // would have: for a push's, the pop that claims the skipped slot next (Acquire) sees
        // nothing of its value and needs nothing; for a pop's, the next lap's push (Acquire)
        // overwrites a value nobody reads any more. Acquire, so that what the dead holder
        // wrote before the stamp we replace happens before the slot's next use. Relaxed on
        // failure: the slot moved on, and the caller's claim reads it again (Acquire).
        let recovered = slot
            .stamp
            .compare_exchange(stamp, finished, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if recovered {
            self.claimer.recovered();
        }
        recovered
    }

    /// Whether the claim that `announcement` announces holds no slot any more, after
    /// recovering each slot it holds whose every possible holder is dead. Once true for an
    /// announcement of a dead participant, it stays true (the dead claim nothing again, and a
    /// finished slot never goes back to the position it was finished for), and the entry may
    /// serve a new participant.
    pub(crate) fn settle(&self, announcement: &Announcement) -> bool {
        let Some((side, first, wanted)) = announcement.claim() else {
            return true;
        };
        if self.shape.index(first) >= self.shape.capacity {
            // Not a position: no claim of the protocol announced it, so it holds nothing.
            return true;
        }
        let mut position = first;
        for _ in 0..wanted.min(self.shape.capacity) {
            let slot = self.slot(position);
            if self.holds(slot, side, position) {
                self.recover(slot);
                if self.holds(slot, side, position) {
                    return false;
                }
            }
            position = self.shape.next(position);
        }
        true
    }

    /// Whether a claim on `side` still holds `slot`, the slot of `position`: its cursor has
    /// passed `position`, and the slot is not finished.
    fn holds(&self, slot: Slot<'_>, side: Side, position: usize) -> bool {
        // ORDERING: Acquire, here and on the cursors below. Beyond the models: no loom model
        // runs `settle` (it needs a mapping's table of participants; the crash tests with real
        // processes run it), so no model can show what these orderings do. By the argument of
        // `recover` they are stronger than needed: the claim is a dead participant's, whose
        // every store (its compare-and-swap on the cursor included) is visible once its death
        // is known, and a stale stamp only sends `settle` to `recover`, whose compare-and-swap
        // decides. Kept Acquire, as every other load of a stamp or cursor whose value decides
        // what is done next, until a model can check the weaker one.
        let stamp = slot.stamp.load(Ordering::Acquire);
        let (unfinished, cursor) = match side {
            Side::Push => (
                stamp == position,
                // ORDERING: Acquire, beyond the models: as the stamp's load above.
                self.shape
                    .without_mark(self.cursors.tail.load(Ordering::Acquire)),
            ),
            Side::Pop => (
                stamp == position + 1 || stamp == self.shape.skipped(position),
                // ORDERING: Acquire, beyond the models: as the stamp's load above.
                self.cursors.pops.head.load(Ordering::Acquire),
            ),
        };
        let passed = self.shape.steps_between(position, cursor);
        unfinished && passed != 0 && passed <= self.shape.capacity
    }
}
