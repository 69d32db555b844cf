//! Claiming positions: the compare-and-swap on a cursor that makes slots one operation's own,
//! the stamp stores that hand them on, and the exact Full, Empty and Closed answers.

use crate::mutant;
use crate::sync::{AtomicUsize, Backoff, Ordering, crash_point, fence};

use super::shape::{Readiness, Shape};
use super::claimer::Side;
use super::{Claim, Claimer, Refusal, Ring, Slot, Values};

/// How many times in a row a claim on a ring that other processes can write (a shared one)
/// retries before it answers [`Refusal::Corrupted`].
///
/// In the protocol every retry follows another operation's claim of a position made during
/// this one's attempt (a failed compare-and-swap, a stale cursor, a stamp that changed while we
/// looked), so a claim that loses this many races in a row is either starved by 65,536 claims
/// of others that each completed inside one of its own attempts, or facing a process that
/// writes the cursors or stamps outside the protocol, faster than we can read them. Either way
/// it returns, instead of spinning for as long as that process likes. Each retry takes well
/// under a microsecond, so the bound is reached within milliseconds. A ring only this process
/// can write (on the heap) has no bound: there, a retry always means another call progressed.
pub(crate) const SHARED_RETRY_LIMIT: u32 = 1 << 16;

/// `position`, a cursor's value that a stamp was just found ready for, as a value the
/// compiler cannot tell equal to that stamp.
///
/// Having compared them, the compiler may use the loaded stamp where the claim's
/// compare-and-swap needs the position (`stamp == head + 1` makes them interchangeable), and
/// then the compare-and-swap waits for the stamp's cache line to arrive from the other
/// thread's core before it can start, where the cursor's value was in a register all along:
/// measured between two threads, that halved the throughput. An empty `asm!` that passes the
/// register through hides the equality and emits no instruction.
#[inline(always)]
fn unrelated(position: usize) -> usize {
    #[cfg(all(not(loom), any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let mut position = position;
        // SAFETY: the template is empty: no instruction runs, no memory or flag is touched,
        // and the register holds the same value afterwards; only the compiler's knowledge of
        // it is gone.
        unsafe {
            core::arch::asm!(
                "/* {0} */",
                inout(reg) position,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        position
    }
    #[cfg(not(all(not(loom), any(target_arch = "x86_64", target_arch = "aarch64"))))]
    {
        position
    }
}

/// The retries of one claim.
#[derive(Default)]
struct Retries(u32);

impl Retries {
    /// Counts one retry; `Corrupted` once a claim on untrusted storage has made
    /// [`SHARED_RETRY_LIMIT`] of them.
    #[inline(always)]
    fn count<'a, T, V: Values<'a, T>>(&mut self) -> Result<(), Refusal> {
        if V::TRUSTED || mutant::TRUSTS_SHARED_MEMORY {
            return Ok(());
        }
        self.0 += 1;
        if self.0 < SHARED_RETRY_LIMIT {
            Ok(())
        } else {
            Err(Refusal::Corrupted)
        }
    }
}

/// How many consecutive positions a claim takes, from the cursor.
#[derive(Clone, Copy, Debug)]
pub(super) enum Want {
    /// As many as are ready, up to this many (at least 1): single calls and batches.
    UpTo(usize),
    /// All of this many (at most the capacity), or none: a message's span (see `spans`).
    All(usize),
}

impl<'a, T, V: Values<'a, T>, C: Claimer> Ring<'a, T, V, C> {
    /// Claims up to `wanted >= 1` consecutive positions for pushes, starting at `tail`: as many
    /// as have free slots, with one compare-and-swap. The claim stays announced until the
    /// caller finishes it (see `claimer`); a refusal is announced as nothing.
    #[inline(always)]
    pub(super) fn claim_for_push(&self, wanted: usize) -> Result<Claim, Refusal> {
        self.claim_pushes(Want::UpTo(wanted))
    }

    /// Claims up to `wanted >= 1` consecutive positions for pops, as
    /// [`claim_for_push`](Self::claim_for_push) does for pushes: as many as hold published
    /// values, passing over the slots of dead pushes.
    #[inline(always)]
    pub(super) fn claim_for_pop(&self, wanted: usize) -> Result<Claim, Refusal> {
        self.claim_pops(|_| Want::UpTo(wanted))
    }

    /// Claims positions for pushes as `want` says (see [`claim_for_push`](Self::claim_for_push)).
    #[inline(always)]
    pub(super) fn claim_pushes(&self, want: Want) -> Result<Claim, Refusal> {
        if let Some(refusal) = self.claimer.refusal() {
            return Err(refusal);
        }
        let claimed = self.try_claim_for_push(want);
        if claimed.is_err() {
            self.claimer.finish();
        }
        claimed
    }

    /// Claims positions for pops as `want` says, given the index of the first slot once it
    /// holds a published value (see [`claim_for_pop`](Self::claim_for_pop)). A claim of
    /// [`Want::All`] counts slots passed over as ready (a message torn by a dead push, which
    /// its pop frees whole: see `spans`).
    #[inline(always)]
    pub(super) fn claim_pops(&self, want: impl Fn(usize) -> Want) -> Result<Claim, Refusal> {
        if let Some(refusal) = self.claimer.refusal() {
            return Err(refusal);
        }
        let claimed = self.try_claim_for_pop(want);
        if claimed.is_err() {
            self.claimer.finish();
        }
        claimed
    }

    #[inline(always)]
    fn try_claim_for_push(&self, want: Want) -> Result<Claim, Refusal> {
        let backoff = Backoff::new();
        let mut retries = Retries::default();
        // ORDERING: Acquire pairs with the Release CASes on `tail` (every one of them, as each
        // CAS continues the release sequence): we then see every stamp that a push before
        // `tail` read, so the stamps below are at least one lap behind `tail`, never older (a
        // stamp two laps behind would read as ahead, and the reload below as corruption: the
        // `laps` models fail with this load Relaxed).
        let mut tail = self.checked(self.cursors.tail.load(Ordering::Acquire))?;
        loop {
            if self.shape.is_closed(tail) {
                return Err(Refusal::Closed);
            }
            let first = self.slot(tail);
            // ORDERING: Acquire pairs with the Release stamp store at the end of
            // `take_and_release`, so the pop's read of the old value happens-before our write.
            let stamp = first.stamp.load(Ordering::Acquire);
            // The position whose slot is not free yet, if that is what stops the claim.
            let blocked = match self.shape.classify_for_push(stamp, tail) {
                Readiness::Ready => {
                    let from = unrelated(tail);
                    match self.ready_for_push(from, want) {
                        Ok((count, end)) => {
                            self.claimer.announce(Side::Push, from, count);
                            match self.cursors.tail.compare_exchange(
                                from,
                                end,
                                // ORDERING: Release on success pairs with the Acquire loads
                                // of `tail` (here and in `len`); Acquire on failure, for the
                                // same reason as the load above, since the current value
                                // becomes our new `tail`. A marked (closed) `tail` never
                                // equals the unmarked one we expect.
                                Ordering::Release,
                                Ordering::Acquire,
                            ) {
                                Ok(_) => {
                                    crash_point();
                                    return Ok(Claim { first: from, count });
                                }
                                Err(current) => tail = self.checked(current)?,
                            }
                            None
                        }
                        Err(position) => Some(position),
                    }
                }
                Readiness::NotYet => Some(tail),
                // Only pops pass over a skipped slot: `classify_for_push` never says so.
                Readiness::Stale | Readiness::Skipped => {
                    // ORDERING: Acquire, as above. The stamp we read was stored by an operation
                    // after the push at `tail` claimed it, so this load sees a newer `tail`:
                    // the same one again means the stamp was written outside the protocol.
                    // Acquire for the stamps read at the new `tail`, which may be laps ahead of
                    // that stamp's writer: as the first load, it keeps them at most one lap
                    // behind. Beyond the models: the `laps` models fail with the first load
                    // Relaxed but, within their bound (3 preemptions tried), never reload two
                    // laps ahead of a stale stamp's writer.
                    tail = self.advanced(tail, self.cursors.tail.load(Ordering::Acquire))?;
                    None
                }
            };
            // A slot not yet free at `position`, `count < capacity` positions after `tail`:
            // its value of the last lap is still there, so the ring holds at least
            // `capacity - count` values, however far `tail` has moved since: Full for a claim
            // of more than `count`, unless a recovery frees the slot. A later slot (of a claim
            // of all of a span) whose stamp is ahead of its position says instead that `tail`
            // moved past it since we read `tail`: the look was stale.
            if let Some(position) = blocked {
                let slot = self.slot(position);
                if self.recheck(slot, position, position) {
                    // A first slot was just found not yet free at `tail`: the answer is decided
                    // there. A later one (of a claim of all of a span) is looked at again.
                    let later = (position != tail).then(|| {
                        // ORDERING: Acquire, as the claim's other stamp loads, and so that a
                        // stamp found ahead (stale) makes the reload below see `tail` moved:
                        // its writer saw it move, and on shared memory the same `tail` again
                        // reads as corruption. Beyond the models: only a claim of all of a span
                        // reads a later slot here, and no span model finds one ahead of what
                        // its writer had seen.
                        let stamp = slot.stamp.load(Ordering::Acquire);
                        self.shape.classify_for_push(stamp, position)
                    });
                    match later {
                        Some(Readiness::Stale | Readiness::Skipped) => {
                            // ORDERING: Acquire, as the reload of a stale first slot's `tail`
                            // above, and beyond the models as it is.
                            let now = self.cursors.tail.load(Ordering::Acquire);
                            tail = self.advanced(tail, now)?;
                        }
                        // Freed since the re-check: look again.
                        Some(Readiness::Ready) => {}
                        Some(Readiness::NotYet) | None => {
                            if !(C::RECOVERS && self.recover(slot)) {
                                return Err(self.full_or_disconnected());
                            }
                        }
                    }
                }
            }
            retries.count::<T, V>()?;
            backoff.spin();
        }
    }

    #[inline(always)]
    fn try_claim_for_pop(&self, want: impl Fn(usize) -> Want) -> Result<Claim, Refusal> {
        let backoff = Backoff::new();
        let mut retries = Retries::default();
        // ORDERING: Acquire pairs with the Release CASes on `head` (see `claim_for_push`), so
        // the stamps below are at least those of the pops one lap before `head` (as for
        // `tail`: the `laps` models fail with this load Relaxed).
        let mut head = self.checked(self.cursors.pops.head.load(Ordering::Acquire))?;
        loop {
            let first = self.slot(head);
            // ORDERING: Acquire pairs with the Release stamp store in `write_and_publish`, so
            // the push's write happens-before our read.
            let stamp = first.stamp.load(Ordering::Acquire);
            // The position whose slot is not published yet, if that is what stops the claim,
            // and whether the claim read its size from the first slot (see below).
            let blocked = match self.shape.classify_for_pop(stamp, head) {
                Readiness::Ready => {
                    let want = want(first.index);
                    let from = unrelated(head);
                    match self.ready_for_pop(from, want) {
                        Ok((count, end)) => {
                            self.claimer.announce(Side::Pop, from, count);
                            match self.cursors.pops.head.compare_exchange(
                                from,
                                end,
                                // ORDERING: as in `claim_for_push`.
                                Ordering::Release,
                                Ordering::Acquire,
                            ) {
                                Ok(_) => {
                                    crash_point();
                                    return Ok(Claim { first: from, count });
                                }
                                Err(current) => head = self.checked(current)?,
                            }
                            None
                        }
                        Err(position) => Some((position, matches!(want, Want::All(_)))),
                    }
                }
                Readiness::NotYet => Some((head, false)),
                Readiness::Skipped => {
                    // A dead push's slot, given up by a recovery: claim it alone, free it for
                    // the next lap, and look at the next position.
                    self.claimer.announce(Side::Pop, head, 1);
                    let next = self.shape.next(head);
                    // ORDERING: as for the claim of a ready slot: Release so that a recoverer
                    // whose cursor load sees this claim reads its announcement, Acquire on
                    // failure for the stamps read at the `head` handed back. Beyond the models:
                    // a dead push's slot is passed over only after a recovery, so killing them
                    // needs a second victim (this pop dying, or a lapping thread) beside the
                    // dead push, and each crash model has one victim; the same orderings of the
                    // ready slot's claim are killed by the `laps` and crash models.
                    match self.cursors.pops.head.compare_exchange(
                        head,
                        next,
                        Ordering::Release,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            crash_point();
                            self.release(first.stamp, head);
                            head = next;
                        }
                        Err(current) => head = self.checked(current)?,
                    }
                    None
                }
                Readiness::Stale => {
                    // ORDERING: Acquire, as above; the stamp we read proves `head` moved on,
                    // unless it was written outside the protocol. Beyond the models, as the
                    // reload of a stale `tail` in `claim_for_push`.
                    head = self.advanced(head, self.cursors.pops.head.load(Ordering::Acquire))?;
                    None
                }
            };
            if let Some((position, sized_by_first)) = blocked {
                let slot = self.slot(position);
                if self.recheck(slot, position + 1, self.shape.skipped(position)) {
                    // ORDERING: Acquire, as above. A claim that took its size from the first
                    // slot (a message's length, see `spans`) read it before claiming: only if
                    // `head` has not moved since was it the size of the message at `head`
                    // (nobody could have taken it), whose push has not published `position`
                    // yet; if it has moved, the look was stale. Beyond the models, as the
                    // reload of a stale `tail` in `claim_for_push`.
                    let moved = sized_by_first && {
                        // ORDERING: Acquire, as said above (beyond the models).
                        let now = self.checked(self.cursors.pops.head.load(Ordering::Acquire))?;
                        let moved = now != head;
                        head = now;
                        moved
                    };
                    if !(moved || C::RECOVERS && self.recover(slot)) {
                        return Err(self.empty_or_closed(head));
                    }
                }
            }
            retries.count::<T, V>()?;
            backoff.spin();
        }
    }

    /// The positions a push at `tail`, whose slot is free, claims as `want` says (how many,
    /// and the position after them); or the position whose slot, not yet free, stops it.
    #[inline(always)]
    fn ready_for_push(&self, tail: usize, want: Want) -> Result<(usize, usize), usize> {
        match want {
            Want::UpTo(most) => Ok(self.count_ready(tail, most, Shape::classify_for_push)),
            Want::All(all) => match self.count_ready(tail, all, Shape::classify_for_push) {
                (count, end) if count == all => Ok((count, end)),
                (count, _) => Err(self.shape.advance(tail, count)),
            },
        }
    }

    /// The positions a pop at `head`, whose slot holds a value, claims as `want` says (how
    /// many, and the position after them); or the position whose slot, not yet published,
    /// stops it. All of a span counts a slot passed over as there (see `spans`).
    #[inline(always)]
    fn ready_for_pop(&self, head: usize, want: Want) -> Result<(usize, usize), usize> {
        match want {
            Want::UpTo(most) => Ok(self.count_ready(head, most, Shape::classify_for_pop)),
            Want::All(all) => {
                let needed = if mutant::TAKES_UNFINISHED_SPANS { 1 } else { all };
                match self.count_ready(head, needed, Shape::classify_part_for_pop) {
                    (count, _) if count == needed => Ok((all, self.shape.advance(head, all))),
                    (count, _) => Err(self.shape.advance(head, count)),
                }
            }
        }
    }

    /// `position`, read from a cursor, if it indexes a slot (it always does in the protocol:
    /// cursors only advance through `Shape::next` and `advance`); `Corrupted` otherwise. On
    /// trusted storage the check is compiled out: only the protocol writes there, and the
    /// smaller claim is inlined where the larger one was not.
    #[inline(always)]
    fn checked(&self, position: usize) -> Result<usize, Refusal> {
        if V::TRUSTED || self.shape.index(position) < self.shape.capacity {
            Ok(position)
        } else {
            Err(Refusal::Corrupted)
        }
    }

    /// The cursor `reloaded` after a stamp said it had moved on from `stale`: `Corrupted` if
    /// it had not, or if it indexes no slot (on untrusted storage, as for `checked`).
    #[inline(always)]
    fn advanced(&self, stale: usize, reloaded: usize) -> Result<usize, Refusal> {
        if !V::TRUSTED && reloaded == stale && !mutant::TRUSTS_SHARED_MEMORY {
            Err(Refusal::Corrupted)
        } else {
            self.checked(reloaded)
        }
    }

    /// Publishes the value just written into the slot of `position` (whose stamp is `stamp`)
    /// to the pop at `position`.
    #[inline(always)]
    pub(super) fn publish(stamp: &AtomicUsize, position: usize) {
        // ORDERING: Release publishes the value written before; pairs with the Acquire stamp
        // loads in `claim_for_pop` and `count_ready`.
        stamp.store(position + 1, mutant::publish_ordering(Ordering::Release));
        crash_point();
    }

    /// Frees the slot of `position` (whose stamp is `stamp`), whose value was just read, for
    /// the push one lap later.
    #[inline(always)]
    pub(super) fn release(&self, stamp: &AtomicUsize, position: usize) {
        // ORDERING: Release pairs with the Acquire stamp loads in `claim_for_push` and
        // `count_ready`: the read of the value happens-before the next lap's write.
        stamp.store(position.wrapping_add(self.shape.one_lap), Ordering::Release);
        crash_point();
    }

    /// Decides a Full or Empty answer: after a `SeqCst` fence, reads `slot`'s stamp again and
    /// returns `true` (answer Full or Empty) unless it now equals `ready` or `also_ready`
    /// (for a pop, the stamp of a slot a recovery has just skipped: it is there to take).
    ///
    /// The fence is what makes the answer exact for threads that both write and then take
    /// this path: of two such fences, the later one's re-read sees every stamp and cursor the
    /// other thread wrote before its own fence (the store-buffering pattern). Without it, two
    /// threads that each push and then pop could both answer Empty (the `no_empty_fence`
    /// mutant shows loom finding that). (The blocking layer orders its sleepers with a
    /// barrier pair of its own, before it calls the ring again: see `wait`.)
    fn recheck(&self, slot: Slot<'a>, ready: usize, also_ready: usize) -> bool {
        if mutant::FENCES_FULL_AND_EMPTY {
            // ORDERING: SeqCst fence, paired with the same fence in every other call that
            // answers Full or Empty, and with the fences of the blocking layer (see above).
            fence(Ordering::SeqCst);
        }
        // Relaxed: this load only decides between an answer and a retry. If it shows `ready`,
        // the retry reads the stamp again with the claim's Acquire load before it touches the
        // slot; the exactness of Full and Empty comes from the fence above, which orders a
        // Relaxed load as well (two SeqCst fences order the accesses around them).
        let stamp = slot.stamp.load(Ordering::Relaxed);
        stamp != ready && stamp != also_ready
    }

    /// The answer of a push that found its slot full: `Disconnected` on a shared ring whose
    /// every consumer has left or died.
    fn full_or_disconnected(&self) -> Refusal {
        if C::RECOVERS && (mutant::DISCONNECTS_LIVE_CONSUMERS || self.claimer.peers_gone(Side::Pop)) {
            Refusal::Disconnected
        } else {
            Refusal::FullOrEmpty
        }
    }

    /// The answer of a pop at `head` that found its slot empty, when the ring is open:
    /// `Disconnected` on a shared ring whose every producer has left or died and no push
    /// claimed `head`, so no value will ever come (until a producer joins).
    fn empty_or_disconnected(&self, head: usize) -> Refusal {
        if !(C::RECOVERS && self.claimer.peers_gone(Side::Push)) {
            return Refusal::FullOrEmpty;
        }
        // Relaxed, after the Acquire reads that found the producers gone: their pushes' claims
        // on `tail` happen-before this load, so it reads them or later values whatever its
        // ordering, and `tail == head` means none is left to take (a claim a dead producer
        // left unfinished is recovered first, by a later look). Nothing is read through it.
        let tail = self.cursors.tail.load(Ordering::Relaxed);
        if self.shape.without_mark(tail) == head || mutant::DISCONNECTS_UNDRAINED {
            Refusal::Disconnected
        } else {
            Refusal::FullOrEmpty
        }
    }

    /// The answer of a pop at `head` that found its slot empty: `Closed` if the ring is
    /// closed and no push claimed `head`, so no value will ever come.
    fn empty_or_closed(&self, head: usize) -> Refusal {
        // Relaxed, after the `SeqCst` fence in `recheck`: `close` stores the flag (`SeqCst`)
        // before it marks `tail` (`SeqCst`), so if this load misses the flag, that fence came
        // before the flag's store in the single total order of `SeqCst` operations, and so
        // before the mark: the ring was still open when we found the slot empty. (The flag
        // only decides whether to read `tail`; that read is what orders the answer.)
        if self.cursors.pops.closing.load(Ordering::Relaxed) == 0 {
            return self.empty_or_disconnected(head);
        }
        // ORDERING: Acquire, after the fence in `recheck`: the close is an RMW on `tail`, later
        // in `tail`'s modification order than every successful push's CAS, so a marked `tail`
        // equal to `head` proves that every value ever pushed was claimed by a pop before us;
        // Acquire pairs with the mark's Release, so a pop told Closed sees what the closer did
        // before it closed (the model `a_closed_pop_shows_what_the_closer_did_before` fails
        // with Relaxed).
        let tail = self.cursors.tail.load(Ordering::Acquire);
        if self.shape.is_closed(tail) && self.shape.without_mark(tail) == head {
            Refusal::Closed
        } else {
            self.empty_or_disconnected(head)
        }
    }
}
