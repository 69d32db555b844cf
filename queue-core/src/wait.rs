//! Sleeping until the ring changes: one wait list per direction, each an event count on a
//! futex word.
//!
//! # The protocol
//!
//! A caller that found the ring full (or empty) and wants to sleep:
//! 1. reads the list's `epoch` (the futex word),
//! 2. adds itself to `sleepers`, then issues the sleeper half of a barrier pair,
//! 3. tries its operation once more,
//! 4. and only if that fails too, sleeps on `epoch` while it still holds the value from step 1.
//!
//! A caller whose operation made room (or a value) for the other side issues the waker half,
//! then reads `sleepers`; if it is not zero, it bumps `epoch` and wakes a sleeper.
//!
//! # Dead sleepers
//!
//! On the heap, `sleepers` counts the sleeping threads. On a shared ring, whose participants
//! are processes that may be killed while registered, it is a mask with one bit per
//! participant ([`Sleeper`]): a count a dead process never took itself out of would make
//! every later waker pay a futex wake, for good. A waker whose wake woke nobody while bits
//! were set, and saw the same bits set for a while (`Claimer::dead_sleepers`), asks whether
//! their participants are dead and clears the dead ones' bits; a participant that takes a
//! dead one's entry clears its bits too. A death then costs the wakers a futex wake each for
//! tens of microseconds, not for ever.
//!
//! The pair ([`Barriers`]) acts as two `SeqCst` fences. Where the kernel has `membarrier(2)`,
//! the waker half is only a compiler fence and the sleeper half a system call that runs a
//! barrier on every CPU running one of the queue's threads (processes, for a shared queue):
//! the cost moves from every operation to the rare caller about to sleep. Elsewhere both
//! halves are `SeqCst` fences.
//!
//! No wake-up is lost. The barrier pair orders the sleeper's step 2 and the waker's publication
//! (store-buffering): either the retry in step 3 sees the room or value, or the waker sees the
//! sleeper and bumps `epoch`. The bump comes after the epoch read of step 1 (it is a Release
//! RMW after the waker read `sleepers`, which the sleeper wrote after step 1's Acquire load),
//! so the futex compares `epoch` with an older value and either refuses to sleep or is woken
//! by the wake that follows the bump. Reading the epoch *after* step 3 instead (the
//! `check_then_sleep` mutant) lets a wake fall between the check and the sleep: loom finds
//! that execution and reports the sleeper that never wakes.
//!
//! When nobody sleeps, a waker pays one load (and, without `membarrier`, one fence); the
//! futex syscall only happens when `sleepers` is not zero.

use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::error::GaveUp;
use crate::mutant;
use crate::ring::{Claimant, Claimer, Refusal};
use crate::sync::{
    AtomicUsize, Backoff, Barriers, FutexWord, HAS_CLOCK, Ordering, Spinning, crash_point,
};

/// How long a call asleep on a ring that recovers dead participants' claims (a shared one)
/// sleeps before it looks again, woken or not. A participant that dies holding the slot a
/// sleeper waits for, or after publishing but before waking, wakes nobody: the sleeper finds
/// the death (the kernel tells, through a pidfd) and finishes the claim at its next look. So
/// this bounds the time from a death to a sleeper's progress. An idle sleeper looks 100 times
/// a second. On the CI machine's virtual CPUs a look costs about 70 µs of CPU (a timed futex
/// wait that expires is 40 µs of it; bare metal takes a few µs): 0.7% of a core for an idle
/// sleeper, where a 2 ms period cost 2%.
pub(crate) const DEATH_RECHECK: Duration = Duration::from_millis(10);

/// A sleeper's first look, sooner: a claim is asked about only once it has looked stuck for
/// a while (`shared::liveness::STUCK_AFTER`, 50 µs), which the spinning before the sleep may
/// not have lasted, so a slot a death left held just before the call is found here rather
/// than [`DEATH_RECHECK`] later. A sleeper woken before it pays nothing for it.
const FIRST_RECHECK: Duration = Duration::from_micros(100);

/// How many wakes in a row one blocking call takes at their word: a wake after which the
/// call's attempt still finds the ring full (or empty). A live waker's wake brings a change
/// (another sleeper may take it first, now and then); a peer that bumps the futex word
/// outside the protocol brings none, and would keep the call going round at system-call
/// speed. Past this many, the call stops sleeping on the word and sleeps by the clock.
const FUTILE_WAKES_TRUSTED: u32 = 8;

/// The first clock sleep of a call past [`FUTILE_WAKES_TRUSTED`]; each next one is twice as
/// long, up to [`DEATH_RECHECK`], so that such a call looks about 100 times a second at
/// most: what an idle sleeper costs.
const FIRST_DISTRUSTED_SLEEP: Duration = Duration::from_micros(100);

/// How long a call that has had `futile` wakes in a row sleeps by the clock before its next
/// look; zero while it still trusts wakes.
fn distrusted_sleep(futile: u32) -> Duration {
    let Some(past) = futile.checked_sub(FUTILE_WAKES_TRUSTED) else {
        return Duration::ZERO;
    };
    if mutant::TRUSTS_EVERY_WAKE {
        return Duration::ZERO;
    }
    FIRST_DISTRUSTED_SLEEP
        .saturating_mul(1 << past.min(16))
        .min(DEATH_RECHECK)
}

/// What registering `claimant` adds to `sleepers` (see [`Claimant`]): 1 to the count of a
/// thread, its own bit of the mask for a participant, nothing for a handle with no entry (no
/// waker knows it sleeps: it finds what changed at its next look, within
/// [`DEATH_RECHECK`]).
fn mark(claimant: Claimant) -> usize {
    match claimant {
        Claimant::Thread => 1,
        Claimant::Participant(index) => 1 << (index % usize::BITS as usize),
        Claimant::Unlisted => 0,
    }
}

/// Callers sleeping until the ring changes in one direction.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct WaitList {
    /// Bumped before every wake; a sleeper sleeps only while it holds the value it read before
    /// its last check.
    epoch: FutexWord,
    /// The callers between registering (step 2) and leaving: a count of threads, or a mask
    /// of participants (see [`mark`]); wakers skip the wake while it is zero.
    sleepers: AtomicUsize,
}

/// The two wait lists of a ring: getters wait for `not_empty`, putters for `not_full`.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct WaitLists {
    /// Sleeping pops; woken by pushes and by `close`.
    pub(crate) not_empty: CachePadded<WaitList>,
    /// Sleeping pushes; woken by pops and by `close`.
    pub(crate) not_full: CachePadded<WaitList>,
}

impl WaitLists {
    /// Wakes every sleeper on both lists (after the ring was closed, or a dead participant's
    /// claim finished).
    pub(crate) fn wake_all(&self, barriers: Barriers) {
        for list in [&self.not_empty, &self.not_full] {
            if list.registered(barriers) != 0 {
                list.bump_and_wake(u32::MAX);
            }
        }
    }

    /// Takes participant `index`'s registrations out of both lists: for the new owner of a
    /// dead participant's entry, before it can sleep itself.
    pub(crate) fn forget(&self, index: usize) {
        let mark = mark(Claimant::Participant(index));
        for list in [&self.not_empty, &self.not_full] {
            // Relaxed: as in `heal`.
            list.sleepers.fetch_and(!mark, Ordering::Relaxed);
        }
    }
}

impl WaitList {
    /// Wakes up to `count` sleepers, after the caller's operation (through `claimer`) changed
    /// the ring for them. Costs one load when nobody sleeps (and a `SeqCst` fence, where
    /// `membarrier` is missing).
    #[inline]
    pub(crate) fn wake<C: Claimer>(&self, barriers: Barriers, count: u32, claimer: C) {
        let registered = self.registered(barriers);
        if registered != 0 {
            let woken = self.bump_and_wake(count);
            if C::RECOVERS && woken == 0 {
                self.heal(registered, claimer);
            }
        }
    }

    /// The sleepers registered, as a waker reads them after its ring change.
    #[inline(always)]
    fn registered(&self, barriers: Barriers) -> usize {
        // ORDERING: the waker half of the barrier pair, paired with the sleeper half in
        // `wait_for` (step 2): the ring change we made before it, or the sleeper's
        // registration, is seen by the other side.
        if mutant::WAKER_ISSUES_BARRIER {
            barriers.waker_half();
        }
        // Relaxed: the barrier pair orders this load (see the module docs).
        self.sleepers.load(Ordering::Relaxed)
    }

    /// Bumps the epoch and wakes up to `count` sleepers; returns how many woke (as far as
    /// the kernel knows).
    fn bump_and_wake(&self, count: u32) -> u32 {
        // ORDERING: Release pairs with the Acquire epoch read of a sleeper (step 1), so a
        // sleeper that read this bump also sees our ring change. Beyond the models: their
        // futex is a mutex and a condition variable, whose lock orders every access to the
        // word by itself, and the barrier pair already decides whether a sleeper sees the
        // change or the waker sees the sleeper; so no model fails without it. The real futex
        // promises no ordering of its own between a waker's bump and a sleeper's read.
        self.epoch.fetch_add(1, Ordering::Release);
        self.epoch.wake(count)
    }

    /// After a wake that woke nobody while `registered` sleepers were registered on a shared
    /// ring: takes the registrations of the dead among them out (see the module docs).
    #[cold]
    #[inline(never)]
    fn heal<C: Claimer>(&self, registered: usize, claimer: C) {
        let dead = claimer.dead_sleepers(registered);
        if dead != 0 && mutant::HEALS_DEAD_SLEEPERS {
            // Relaxed: a registration orders nothing by itself (the barrier pair does); the
            // bits cleared are of participants that will never run again. (The new owner of
            // a dead one's entry clears them too, before it sleeps: see `WaitLists::forget`.)
            self.sleepers.fetch_and(!dead, Ordering::Relaxed);
        }
    }

    /// Step 2: registers `sleeper`.
    fn register(&self, sleeper: Claimant) {
        // Relaxed: the barrier after it orders it (see the module docs).
        match sleeper {
            Claimant::Thread => self.sleepers.fetch_add(1, Ordering::Relaxed),
            Claimant::Participant(_) => self.sleepers.fetch_or(mark(sleeper), Ordering::Relaxed),
            Claimant::Unlisted => 0,
        };
        crash_point();
    }

    /// Takes `sleeper`'s registration out, as it leaves.
    fn unregister(&self, sleeper: Claimant) {
        // Relaxed: a stale registration only costs a waker a needless wake.
        match sleeper {
            Claimant::Thread => self.sleepers.fetch_sub(1, Ordering::Relaxed),
            Claimant::Participant(_) => {
                self.sleepers.fetch_and(!mark(sleeper), Ordering::Relaxed)
            }
            Claimant::Unlisted => 0,
        };
    }

    /// The sleepers registered now: for tests of a dead sleeper's registration.
    #[cfg(any(all(test, loom), all(queue_faults, not(loom))))]
    pub(crate) fn sleepers(&self) -> usize {
        // Relaxed: a snapshot for a test that has stopped every other participant.
        self.sleepers.load(Ordering::Relaxed)
    }

    /// Runs `attempt` (whose claims `claimer` makes) until it succeeds or the ring is closed,
    /// spinning briefly and then sleeping until woken, or until `deadline`; on a ring that
    /// recovers the claims of dead participants, never sleeping longer than
    /// [`DEATH_RECHECK`] between attempts.
    ///
    /// The first attempt is made here, inline, with none of the waiting machinery: a call
    /// that need not wait costs what the non-blocking call does.
    #[inline(always)]
    pub(crate) fn wait_for<R, C: Claimer>(
        &self,
        barriers: Barriers,
        deadline: Option<Instant>,
        claimer: C,
        mut attempt: impl FnMut() -> Result<R, Refusal>,
    ) -> Result<R, GaveUp> {
        match attempt() {
            Ok(done) => Ok(done),
            Err(refusal) => match GaveUp::on(refusal) {
                Some(gave_up) => Err(gave_up),
                None => self.wait_after_refusal(barriers, deadline, claimer, attempt),
            },
        }
    }

    /// [`wait_for`](Self::wait_for) after its first attempt found the ring not ready.
    pub(crate) fn wait_after_refusal<R, C: Claimer>(
        &self,
        barriers: Barriers,
        deadline: Option<Instant>,
        claimer: C,
        mut attempt: impl FnMut() -> Result<R, Refusal>,
    ) -> Result<R, GaveUp> {
        let (recovers, sleeper) = (C::RECOVERS, claimer.claimant());
        // Spin: retries at a short interval for a while (see `Spinning`). Under loom there is
        // no spinning: a refused call goes straight to the sleep protocol, as the models need
        // (retrying there would yield to the other threads first, and the executions in which
        // this call sleeps would mostly not be explored).
        let mut spinning = Spinning::new();
        while spinning.before_retry() {
            match attempt() {
                Ok(done) => return Ok(done),
                Err(refusal) => {
                    if let Some(gave_up) = GaveUp::on(refusal) {
                        return Err(gave_up);
                    }
                }
            }
        }
        let backoff = Backoff::new();
        let mut futile_wakes = 0;
        loop {
            // Wakes that changed nothing: sleep by the clock (bounded by the deadline), so no
            // peer can make this call burn a core. Loom has no clock, and no such peer.
            let distrusted = distrusted_sleep(futile_wakes);
            if HAS_CLOCK && !distrusted.is_zero() {
                match TimeLeft::until(deadline) {
                    TimeLeft::Expired => {}
                    TimeLeft::Some(left) => std::thread::sleep(distrusted.min(left)),
                    TimeLeft::Unbounded => std::thread::sleep(distrusted),
                }
            }
            // Step 1. ORDERING: Acquire pairs with the Release bump in `wake`; beyond the
            // models, as that bump.
            let early_epoch = self.epoch.load(Ordering::Acquire);
            // Step 2.
            self.register(sleeper);
            // ORDERING: the sleeper half of the barrier pair, paired with the waker half in
            // `wake`. If the kernel refused it, we must not sleep this round.
            let may_sleep = barriers.sleeper_half();
            crash_point();
            // Step 3.
            let checked = attempt();
            let epoch = if mutant::READS_EPOCH_BEFORE_CHECK {
                early_epoch
            } else {
                // ORDERING: as in step 1, beyond the models (this is the broken variant).
                self.epoch.load(Ordering::Acquire)
            };
            let outcome = match checked.map_err(GaveUp::on) {
                Ok(done) => Some(Ok(done)),
                Err(Some(gave_up)) => Some(Err(gave_up)),
                Err(None) => match TimeLeft::until(deadline) {
                    TimeLeft::Expired => Some(Err(GaveUp::TimedOut)),
                    // No barrier, no sleep: yield the thread and go round again.
                    TimeLeft::Unbounded | TimeLeft::Some(_) if !may_sleep => {
                        backoff.snooze();
                        None
                    }
                    // Step 4.
                    left => self.sleep(epoch, left, deadline, recovers, &mut attempt),
                },
            };
            self.unregister(sleeper);
            if let Some(outcome) = outcome {
                return outcome;
            }
            // Woken (or refused a barrier), and the next round's attempt comes first: if it
            // fails, this wake was futile.
            futile_wakes = futile_wakes.saturating_add(1);
        }
    }

    /// Step 4: sleeps while `epoch` is unchanged, with `left` of the call's time; `None` when
    /// woken (the caller goes round again), or the call's outcome. On a ring that `recovers`
    /// the dead's claims, wakes every [`DEATH_RECHECK`] to look again: the registration and
    /// barrier of this round still stand (a change after them bumps `epoch`), so a look needs
    /// neither again, and an idle sleeper's looks cost a few loads each.
    fn sleep<R>(
        &self,
        epoch: u32,
        mut left: TimeLeft,
        deadline: Option<Instant>,
        recovers: bool,
        attempt: &mut impl FnMut() -> Result<R, Refusal>,
    ) -> Option<Result<R, GaveUp>> {
        let mut recheck = FIRST_RECHECK;
        loop {
            let rechecks = recovers && mutant::RECHECKS_FOR_THE_DEAD && HAS_CLOCK;
            let (timeout, until_deadline) = left.sleep(rechecks, recheck);
            recheck = DEATH_RECHECK;
            crash_point();
            if self.epoch.wait(epoch, timeout) {
                return None;
            }
            let looked = attempt();
            if until_deadline {
                // Timed out: one last try, so a value or room that arrived with the timer is
                // not left behind.
                return Some(looked.map_err(|refusal| {
                    GaveUp::on(refusal).unwrap_or(GaveUp::TimedOut)
                }));
            }
            match looked.map_err(GaveUp::on) {
                Ok(done) => return Some(Ok(done)),
                Err(Some(gave_up)) => return Some(Err(gave_up)),
                Err(None) => {}
            }
            left = match TimeLeft::until(deadline) {
                TimeLeft::Expired => return Some(Err(GaveUp::TimedOut)),
                left => left,
            };
        }
    }
}

/// The time a blocking call has left before its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeLeft {
    /// No deadline.
    Unbounded,
    /// This long.
    Some(Duration),
    /// The deadline has passed.
    Expired,
}

impl TimeLeft {
    /// The time left until `deadline` (`None`: no deadline).
    fn until(deadline: Option<Instant>) -> Self {
        let Some(deadline) = deadline else {
            return Self::Unbounded;
        };
        match deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Self::Some(left),
            _ => Self::Expired,
        }
    }

    /// The futex's timeout (`None`: sleep until woken) for a sleeper on a ring that
    /// `recovers` or not, looking again after `recheck`, and whether it is the call's
    /// deadline (not `recheck`).
    fn sleep(self, recovers: bool, recheck: Duration) -> (Option<Duration>, bool) {
        match (self, recovers) {
            (Self::Some(left), false) => (Some(left), true),
            (Self::Some(left), true) if left <= recheck => (Some(left), true),
            (Self::Some(_) | Self::Unbounded, true) => (Some(recheck), false),
            // Unbounded on a ring that does not recover; an expired call never sleeps.
            (Self::Unbounded | Self::Expired, _) => (None, false),
        }
    }
}
