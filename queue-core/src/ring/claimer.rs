//! Who claims: what a claim tells the other participants of a ring about itself, so that a
//! slot whose claimer died can be told from one whose claimer is only slow.
//!
//! A ring in one process ([`Unannounced`]) tells nobody: its claimers are threads, which die
//! only with the whole process. A ring in shared memory has participants, processes that may be
//! killed at any instruction, and each participant keeps an [`Announcement`] in a table beside
//! the ring ([`Announced`]):
//!
//! 1. before the compare-and-swap that may claim positions, it announces the claim: the side
//!    (push or pop), the first position and how many it wants (the claim covers at most that
//!    many, from that first one);
//! 2. once it has published (or released) every slot it claimed, or the claim failed, it
//!    announces nothing again.
//!
//! A slot held by a claim (a position the cursor has passed, whose slot's stamp says it is not
//! finished) was claimed by a participant whose announcement covers the position: the
//! announcement was stored (Release) before its successful compare-and-swap (Release) and is
//! kept until the slot is finished, so a recoverer that read the cursor (Acquire) after that
//! compare-and-swap reads it. The claim is recovered only when every participant whose
//! announcement covers the position is dead (`Participant::is_dead`): then the holder, one of them, is
//! dead too, and can never touch the slot again. A live one, even stalled for ever, is never
//! robbed. (A live participant whose last claim *failed* also covers the position until it
//! announces again, a few instructions later: stalled exactly there, it delays the recovery
//! until it runs.)

use super::Shape;
use crate::forked::Owner;
use crate::error::Refusal;
use crate::mutant;

/// The side of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// A claim on `tail`: slots to write values into.
    Push,
    /// A claim on `head`: slots to take values from.
    Pop,
}

/// Who makes a ring's claims, as the other participants can tell it apart (for instance among
/// a wait list's sleepers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claimant {
    /// One of any number of threads of one process: nobody tells them apart.
    Thread,
    /// Participant `index` (below `usize::BITS`) of a shared ring's table, used by one
    /// thread at a time, in one call at a time.
    Participant(usize),
    /// A caller of a shared ring that has no entry in its table.
    Unlisted,
}

/// What a claimer does besides claiming: the heap's [`Unannounced`], or [`Announced`].
pub(crate) trait Claimer: Copy {
    /// Whether claims are announced and the slots of dead claimers recovered. On the heap
    /// they are not, and every call below compiles to nothing.
    const RECOVERS: bool;

    /// Announces a claim of up to `wanted` positions from `first` on `side`, before the
    /// compare-and-swap that may make it.
    fn announce(self, side: Side, first: usize, wanted: usize);

    /// Announces nothing: the claim failed, or every slot it held is finished.
    fn finish(self);

    /// Whether the slot of `position`, found held by an unfinished claim on `side`, is worth
    /// asking about: a claim normally finishes within a microsecond, so a recoverer that asks
    /// at first sight would pay for it on nearly every `Empty` or `Full` answer.
    fn suspects(self, side: Side, position: usize) -> bool;

    /// Whether every participant whose announcement covers `position` on `side` is dead, so
    /// that the claim holding that position's slot (made by one of them) may be recovered.
    fn holders_are_dead(self, side: Side, position: usize, shape: Shape) -> bool;

    /// Called after a recovery finished a dead claimer's slot: wakes whoever sleeps on the
    /// ring, for whom it changed.
    fn recovered(self);

    /// Whether every participant that claims on `side` has left or died, one at least
    /// having joined: asked by a push that found the ring full (about the pops' side) and a
    /// pop that found it empty (about the pushes'), to answer `Disconnected`.
    fn peers_gone(self, side: Side) -> bool;

    /// Why this claimer may not claim at all in this process, if it may not: a heap ring
    /// copied into a forked child, whose claims would reach nobody (`ForkedCopy`), or a
    /// shared handle with no entry to announce its claims under (`TooManyParticipants`).
    fn refusal(self) -> Option<Refusal>;

    /// Who makes the claims.
    fn claimant(self) -> Claimant;

    /// The participants among `registered` (a wait list's mask of sleeping participants,
    /// none of whom a wake just woke) that are dead, as a mask: those whose registration
    /// may be taken out. Asked at most once per look-stuck period, like `suspects`; none
    /// when not asked.
    fn dead_sleepers(self, registered: usize) -> usize;
}

/// The claimer of a ring that only this process's threads reach: announces nothing, recovers
/// nothing.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Unannounced;

impl Claimer for Unannounced {
    const RECOVERS: bool = false;

    #[inline(always)]
    fn announce(self, _: Side, _: usize, _: usize) {}

    #[inline(always)]
    fn finish(self) {}

    #[inline(always)]
    fn suspects(self, _: Side, _: usize) -> bool {
        false
    }

    #[inline(always)]
    fn holders_are_dead(self, _: Side, _: usize, _: Shape) -> bool {
        false
    }

    #[inline(always)]
    fn recovered(self) {}

    #[inline(always)]
    fn peers_gone(self, _: Side) -> bool {
        false
    }

    #[inline(always)]
    fn refusal(self) -> Option<Refusal> {
        None
    }

    #[inline(always)]
    fn claimant(self) -> Claimant {
        Claimant::Thread
    }

    #[inline(always)]
    fn dead_sleepers(self, _: usize) -> usize {
        0
    }
}

/// The claimer of a heap ring: [`Unannounced`], in the process that made the ring only.
///
/// A child made by fork has a copy of its parent's memory, heap queues included (a closure
/// started by fork may capture one): pushes into the copy would reach nobody and pops would
/// take values the parent still has. So a ring's copy claims nothing, and answers
/// `Disconnected`: the queue's other side is in another process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Local(Owner);

impl Local {
    /// The claimer of a ring made in `owner`.
    pub(crate) fn new(owner: Owner) -> Self {
        Self(owner)
    }
}

impl Claimer for Local {
    const RECOVERS: bool = false;

    #[inline(always)]
    fn announce(self, side: Side, first: usize, wanted: usize) {
        Unannounced.announce(side, first, wanted);
    }

    #[inline(always)]
    fn finish(self) {
        Unannounced.finish();
    }

    #[inline(always)]
    fn suspects(self, side: Side, position: usize) -> bool {
        Unannounced.suspects(side, position)
    }

    #[inline(always)]
    fn holders_are_dead(self, side: Side, position: usize, shape: Shape) -> bool {
        Unannounced.holders_are_dead(side, position, shape)
    }

    #[inline(always)]
    fn recovered(self) {
        Unannounced.recovered();
    }

    #[inline(always)]
    fn peers_gone(self, side: Side) -> bool {
        Unannounced.peers_gone(side)
    }

    #[inline(always)]
    fn refusal(self) -> Option<Refusal> {
        (!mutant::USES_FORK_COPIES && self.0.is_forked_copy()).then_some(Refusal::ForkedCopy)
    }

    #[inline(always)]
    fn claimant(self) -> Claimant {
        Unannounced.claimant()
    }

    #[inline(always)]
    fn dead_sleepers(self, registered: usize) -> usize {
        Unannounced.dead_sleepers(registered)
    }
}

