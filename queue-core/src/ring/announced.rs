//! [`Announced`]: the claimer of a ring whose participants are processes, each with an
//! [`Announcement`] in a table beside the ring (see `claimer` for what a claim announces and
//! why that tells a dead holder from a slow one).

use core::fmt;

use crate::mutant;
use crate::sync::{AtomicUsize, Ordering, crash_point};

use super::claimer::{Claimant, Claimer, Side};
use crate::error::Refusal;
use super::{Ring, Shape, Values};

/// The bit of [`Announcement::wanted`] that says the claim is a pop's.
const POP_BIT: usize = 1 << (usize::BITS - 1);

/// One participant's announcement: the claim it may be making or holding. Written only by
/// its participant, read by any recoverer. On a cache line of its own in the table, so that
/// announcing costs a store to a line nobody else writes.
#[repr(C, align(64))]
pub(crate) struct Announcement {
    /// The first position of the claim.
    first: AtomicUsize,
    /// How many positions from `first` the claim may cover (0: no claim), with [`POP_BIT`]
    /// set for a pop's.
    wanted: AtomicUsize,
}

impl fmt::Debug for Announcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display only.
        f.debug_struct("Announcement")
            .field("first", &self.first.load(Ordering::Relaxed))
            .field("wanted", &self.wanted.load(Ordering::Relaxed))
            .finish()
    }
}

impl Announcement {
    /// An announcement of no claim.
    #[cfg(all(test, loom))]
    pub(crate) fn new() -> Self {
        Self {
            first: AtomicUsize::new(0),
            wanted: AtomicUsize::new(0),
        }
    }

    /// The claim announced, as its side, first position and how many positions it may
    /// cover; `None` for no claim.
    pub(crate) fn claim(&self) -> Option<(Side, usize, usize)> {
        // ORDERING: Relaxed: only `settle` reads a claim, and only once its participant is
        // known dead: learning that (the kernel's lock test, or the Acquire load of the death
        // in the models) already makes every store the dead participant made visible, these
        // two included. (No loom model runs `settle`; the crash tests with real processes do.)
        let wanted = self.wanted.load(Ordering::Relaxed);
        let first = self.first.load(Ordering::Relaxed);
        let side = if wanted & POP_BIT != 0 {
            Side::Pop
        } else {
            Side::Push
        };
        let count = wanted & !POP_BIT;
        (count != 0).then_some((side, first, count))
    }

    /// Announces nothing: for a participant that is not running (a new one, or the new
    /// owner of a dead one's entry, once that claim is settled).
    pub(crate) fn clear(&self) {
        // ORDERING: Relaxed, as in `finish`: nothing is published by it.
        self.wanted.store(0, Ordering::Relaxed);
    }

    /// Whether this announcement covers `position` on `side`.
    fn covers(&self, side: Side, position: usize, shape: Shape) -> bool {
        // ORDERING: Relaxed. A recoverer asks only about a position its cursor load (Acquire,
        // in `recover`) saw claimed: that load synchronizes with the claim's compare-and-swap
        // (Release), after which the claimer announced nothing it had not announced before,
        // so both loads here see the claim's announcement, or a later one of the same
        // participant, made after it finished that claim. A later one can only make the
        // recoverer leave the slot alone, or try its compare-and-swap on the stamp, which
        // fails: the stamp moved on when the claim finished. A live claimer is therefore
        // never robbed. The sweep of the orderings showed it: every model still passes with
        // each of these loads Relaxed, and fails with the cursor's load Relaxed.
        let wanted = self.wanted.load(Ordering::Relaxed);
        let first = self.first.load(Ordering::Relaxed);
        let on_side = (wanted & POP_BIT != 0) == (side == Side::Pop);
        on_side && shape.steps_between(first, position) < wanted & !POP_BIT
    }
}

/// A participant of a ring whose participants are processes, as its claims see the table:
/// which announcement is its own, and whether the others are dead (the kernel's answer for
/// processes, a flag in the models). Implemented by a reference (or a pair of words), so that
/// the claimer of every call is as small as that: a claimer built anew for each call, and
/// passed along by value, must not cost the call the copies of a larger struct.
pub(crate) trait Participant: Copy {
    /// The announcements, one per entry of the table.
    fn table(&self) -> &[Announcement];

    /// This participant's entry (`< table().len()`), or `None` for a caller that is no
    /// participant: its claims are announced nowhere and so are never recovered (nor ever
    /// taken for a dead one's: see `holders_are_dead`).
    fn me(&self) -> Option<usize>;

    /// Whether participant `index` of the table is dead (and so will never run again). Never
    /// asked about the caller itself.
    fn is_dead(&self, index: usize) -> bool;

    /// The participants that may hold an announcement, as a bit mask (bit `i`: entry `i`):
    /// the others' announcements are not read. Every one, by default.
    fn announcers(&self, side: Side) -> usize {
        let _ = side;
        usize::MAX
    }

    /// Whether the slot of `position`, held by an unfinished claim on `side`, has looked
    /// stuck long enough to ask about its holders (see `Claimer::suspects`). At once, by
    /// default (the models have no clock).
    fn suspects(&self, side: Side, position: usize) -> bool {
        let _ = (side, position);
        true
    }

    /// Wakes every sleeper of the ring, after a recovery.
    fn wake_all(&self) {}

    /// Whether every participant that claims on `side` (the other side's, for the caller)
    /// has left or died, one at least having joined (see `Claimer::peers_gone`). Never, by
    /// default.
    fn peers_gone(&self, side: Side) -> bool {
        let _ = side;
        false
    }

    /// Whether the same `registered` sleepers, whom a wake did not wake, have been seen long
    /// enough to ask whether they are dead (as `suspects`, for a wait list's registrations).
    fn suspects_sleepers(&self, registered: usize) -> bool {
        let _ = registered;
        true
    }
}

/// The rule by which a participant judges every participant of the other `side` gone: the
/// shared placement (`placement::shared::mapping`) and the crash models both decide by it,
/// each with its own source of each fact.
///
/// - `holds_side`: the caller is on `side` itself (a `Both` handle), so the side is not gone;
/// - `joined`: a participant of `side` has ever joined (a side never joined is not gone, only
///   not there yet);
/// - `announcers`: the participants of `side` that hold an entry, read only if it gets there;
/// - `look_now`: whether to ask now while entries remain (their processes may be dead): the
///   shared placement asks at most once per look-stuck period;
/// - `presences_ended`: whether every presence of `side` has ended, given the announcers (the
///   kernel's count of handles in the shared placement; left or dead, in the models).
pub(crate) fn side_gone_by(
    holds_side: bool,
    joined: bool,
    announcers: impl FnOnce() -> usize,
    look_now: impl FnOnce() -> bool,
    presences_ended: impl FnOnce(usize) -> bool,
) -> bool {
    if holds_side || !joined {
        return false;
    }
    let announcers = announcers();
    (announcers == 0 || look_now()) && presences_ended(announcers)
}

/// The claimer of a ring in shared memory: the claims of a [`Participant`].
#[derive(Clone, Copy)]
pub(crate) struct Announced<P> {
    participant: P,
}

impl<P: Participant> Announced<P> {
    /// The claims of `participant`.
    pub(crate) fn new(participant: P) -> Self {
        debug_assert!(
            participant
                .me()
                .is_none_or(|me| me < participant.table().len())
        );
        Self { participant }
    }

    #[inline(always)]
    fn mine(&self) -> Option<&Announcement> {
        // `me` is below the table's length: `get` never answers `None` for a participant.
        let participant = &self.participant;
        participant.table().get(participant.me()?)
    }
}

impl<P: Participant> Claimer for Announced<P> {
    const RECOVERS: bool = true;

    #[inline(always)]
    fn announce(self, side: Side, first: usize, wanted: usize) {
        if let Some(mine) = self.mine() {
            let side = if side == Side::Pop { POP_BIT } else { 0 };
            // ORDERING: Relaxed, both: the claim's compare-and-swap that follows (Release)
            // publishes them to every recoverer that sees the claim (see `covers`), and a
            // recoverer acts on nothing else this participant wrote before.
            mine.first.store(first, Ordering::Relaxed);
            mine.wanted.store(wanted | side, Ordering::Relaxed);
        }
        crash_point();
    }

    #[inline(always)]
    fn finish(self) {
        if let Some(mine) = self.mine() {
            // ORDERING: Relaxed: a recoverer that reads it leaves the slots alone, or tries a
            // compare-and-swap on a stamp that our own finishing store already moved on (see
            // `Announcement::covers`): it needs none of our earlier stores.
            mine.wanted.store(0, Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn refusal(self) -> Option<Refusal> {
        // A shared handle in a forked child joins again as a participant of its own (the
        // queue is the same memory, so it is no copy); one that found no free entry has
        // nowhere to announce a claim, and a claim nobody could recover must not be made.
        (self.participant.me().is_none() && !mutant::CLAIMS_WITHOUT_AN_ENTRY)
            .then_some(Refusal::TooManyParticipants)
    }

    #[inline(always)]
    fn suspects(self, side: Side, position: usize) -> bool {
        self.participant.suspects(side, position)
    }

    /// True when at least one participant's announcement covers the position and every such
    /// participant is dead. A claim that no announcement covers (a caller that is no
    /// participant, or an announcement another process overwrote) is never recovered: its
    /// holder may be alive.
    fn holders_are_dead(self, side: Side, position: usize, shape: Shape) -> bool {
        let participant = &self.participant;
        let (table, me) = (participant.table(), participant.me());
        let mut covered = false;
        let mut announcers = participant.announcers(side);
        while announcers != 0 {
            let index = announcers.trailing_zeros() as usize;
            announcers &= announcers - 1;
            let Some(announcement) = table.get(index) else {
                break;
            };
            if announcement.covers(side, position, shape) {
                let dead = Some(index) != me && participant.is_dead(index);
                if !(mutant::ROBS_LIVE_CLAIMERS || dead) {
                    return false;
                }
                covered = true;
            }
        }
        covered
    }

    fn recovered(self) {
        self.participant.wake_all();
    }

    fn peers_gone(self, side: Side) -> bool {
        self.participant.peers_gone(side)
    }

    fn claimant(self) -> Claimant {
        self.participant
            .me()
            .map_or(Claimant::Unlisted, Claimant::Participant)
    }

    fn dead_sleepers(self, registered: usize) -> usize {
        let participant = &self.participant;
        if !participant.suspects_sleepers(registered) {
            return 0;
        }
        let me = participant.me();
        let mut dead = 0;
        let mut left = registered;
        while left != 0 {
            let index = left.trailing_zeros() as usize;
            left &= left - 1;
            if Some(index) != me && participant.is_dead(index) {
                dead |= 1 << index;
            }
        }
        dead
    }
}

impl<'a, T, V: Values<'a, T>, C: Claimer> Ring<'a, T, V, C> {
    /// The same ring, with claims made through `claimer`.
    pub(crate) fn claiming_as<D: Claimer>(self, claimer: D) -> Ring<'a, T, V, D> {
        Ring {
            cursors: self.cursors,
            values: self.values,
            shape: self.shape,
            claimer,
            _values: core::marker::PhantomData,
        }
    }
}
