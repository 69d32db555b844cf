//! loom models of recovery: a participant stops for ever at each of its crash points in
//! turn (see `sync::crash`), and the survivors must finish.
//!
//! Each model runs once per crash point of its victim, named `..._crash_at_K` (K counted from
//! 0 along the victim's execution), until the victim passes every point without crashing
//! (the last model of the series, `..._no_crash`: a victim that is only slow, which the
//! survivors look at in every state of its claim and must not rob). In every execution:
//! - every value whose push returned `Ok` is popped exactly once, whole, and each producer's
//!   values in its order; a dead producer's value at most once, whole; a dead consumer's
//!   value may be lost (it may have taken it), no other;
//! - no survivor waits on the dead: a refused survivor waits for some other participant's
//!   progress, so a ring the dead wedged leaves every survivor waiting, which loom reports
//!   as a deadlock;
//! - the ring gets its whole capacity back: after the threads, the main thread drains it and
//!   pushes and pops `capacity` values.
//!
//! The death is "observable" (the kernel's pidfd, here a flag) only after the victim has
//! stopped, as for a process, whose writes the kernel has made visible by then.
//!
//! # Verification
//!
//! - Checker: loom
//! - Primitive: the ring's recovery of a dead participant's claims
//! - Proves: a participant that stops for ever at each of its crash points in turn (mid-push,
//!   mid-pop, mid-batch, mid-close, at each step of a message of several slots), and one that
//!   only stalls, beside surviving producers and consumers: every acknowledged value is delivered exactly once, whole and in order, a dead
//!   producer's at most once, only a dead consumer's claimed values may be lost; no survivor waits
//!   on the dead (a wedge is a deadlock); the whole capacity comes back; a slow claimer is never
//!   robbed; a consumer that dies at each step of a blocking pop (asleep included) is never a lost
//!   wake-up for the others, and its registration as a sleeper is taken out by the next wake that
//!   wakes nobody; a consumer whose only producer leaves, or dies at each step of its pushes, gets
//!   every acknowledged value before it is told Disconnected, and is told.
//! - Cannot prove: capacity 1-2, 2-3 participants, one victim per model, up to 2 preemptions (close
//!   and the sleeper: exhaustive; disconnection: 4); death is a flag set after the victim stops
//!   (the kernel's pidfd is not modelled); loom has no clock, so a shared sleeper's looks every 10
//!   ms are checked by the fault-injection tests, not here; Disconnected is modelled for pops only
//!   (a mask of producers and the death flags stand for the table and its pidfds), up to 4
//!   preemptions.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::cell::Cell;

use loom::sync::atomic::AtomicBool;
use loom::sync::{Condvar, Mutex};
use loom::thread;
use model_check::{Bound, Model, explore};

use super::{
    AnyBytes, Announced, Extent, Announcement, Cursors, Participant, Refusal, Ring, SharedValues, Shape, Side,
    empty_stamps, side_gone_by, stamp_spacing,
};
use crate::sync::crash::{Crashed, crash_after, disarm};
use crate::sync::{AtomicUsize, Ordering};
use crate::wait::WaitList;

mod laps;
mod leaving;
mod spans;

/// A value of two words: a push that dies between them leaves half a value behind.
type Value = [usize; 2];

fn value(n: usize) -> Value {
    [n, !n]
}

/// The number of a whole value; panics on a torn one.
fn number(value: Value) -> usize {
    assert_eq!(value[1], !value[0], "a torn value was delivered: {value:?}");
    value[0]
}

/// A ring in "shared" storage (values as words), with a table of participants.
struct Shared {
    cursors: Cursors,
    stamps: Vec<AtomicUsize>,
    words: Vec<AtomicUsize>,
    shape: Shape,
    table: Vec<Announcement>,
    dead: Vec<AtomicBool>,
    /// Pops asleep on the empty ring, for the models of a dead sleeper.
    not_empty: WaitList,
    /// The producers that have not left (bit `i`: participant `i`), as the table's mask, in
    /// the models of disconnection.
    producers: AtomicUsize,
    /// The consumers that have not left, likewise.
    consumers: AtomicUsize,
    /// The producers and the consumers the ring was made with, who never change role: a side
    /// with none never joined (and so is never gone).
    first_producers: usize,
    first_consumers: usize,
    /// How many calls of the survivors have succeeded, plus 1 once the victim has stopped.
    progress: Mutex<u64>,
    /// Notified when `progress` grows.
    progress_made: Condvar,
}

/// Participant `me` of a [`Shared`] ring.
#[derive(Clone, Copy)]
struct Member<'a> {
    shared: &'a Shared,
    me: usize,
}

impl Participant for Member<'_> {
    fn table(&self) -> &[Announcement] {
        &self.shared.table
    }

    fn me(&self) -> Option<usize> {
        Some(self.me)
    }

    fn is_dead(&self, index: usize) -> bool {
        // ORDERING: Acquire pairs with the Release store in `stop`, made after the crash:
        // everything the dead participant wrote is visible, as after a process's death.
        self.shared.dead[index].load(Ordering::Acquire)
    }

    /// A recovery changed the ring: progress, as far as the other survivors are concerned
    /// (it wakes sleepers in a blocking queue).
    fn wake_all(&self) {
        self.shared.progressed();
    }

    /// As a shared handle's `peers_gone` decides (by the same rule, `side_gone_by`), with the
    /// kernel's count of presences played by the table: every producer's presence has ended,
    /// because it left (its bit cleared) or died. The kernel ends a presence after the
    /// process's last access, and tests it under the same lock: the Release and Acquire pairs
    /// below stand for that. The models have no clock: a look is always due.
    fn peers_gone(&self, side: Side) -> bool {
        let shared = self.shared;
        let (members, first) = match side {
            Side::Push => (&shared.producers, shared.first_producers),
            Side::Pop => (&shared.consumers, shared.first_consumers),
        };
        side_gone_by(
            first & (1 << self.me) != 0,
            first != 0,
            // ORDERING: Acquire pairs with the Release `fetch_and` of a member leaving, as
            // the kernel's lock test does with the release of a presence.
            || members.load(Ordering::Acquire),
            || true,
            |mut left| {
                while left != 0 {
                    let index = left.trailing_zeros() as usize;
                    left &= left - 1;
                    if !self.is_dead(index) {
                        return false;
                    }
                }
                true
            },
        )
    }
}

impl Shared {
    fn new(capacity: usize, participants: usize) -> Arc<Self> {
        Self::with_producers(capacity, participants, 0)
    }

    /// A ring whose participants in the mask `producers` are its producers, for the models
    /// of disconnection (the others have no producers, and are never disconnected).
    fn with_producers(capacity: usize, participants: usize, producers: usize) -> Arc<Self> {
        Self::with_roles(capacity, participants, producers, 0)
    }

    /// A ring whose participants in the masks `producers` and `consumers` are its producers
    /// and its consumers (a side with none is never disconnected).
    fn with_roles(
        capacity: usize,
        participants: usize,
        producers: usize,
        consumers: usize,
    ) -> Arc<Self> {
        let shape = Shape::new(capacity).unwrap();
        Arc::new(Self {
            cursors: Cursors::new(0),
            stamps: empty_stamps(0, capacity, stamp_spacing::<Value>()).collect(),
            words: (0..2 * capacity).map(|_| AtomicUsize::new(0)).collect(),
            shape,
            table: (0..participants).map(|_| Announcement::new()).collect(),
            dead: (0..participants).map(|_| AtomicBool::new(false)).collect(),
            not_empty: WaitList::default(),
            producers: AtomicUsize::new(producers),
            consumers: AtomicUsize::new(consumers),
            first_producers: producers,
            first_consumers: consumers,
            progress: Mutex::new(0),
            progress_made: Condvar::new(),
        })
    }

    /// The ring, as participant `me` claims on it.
    fn ring(&self, me: usize) -> Ring<'_, Value, SharedValues<'_, Value>, Announced<Member<'_>>> {
        // SAFETY: the stamps and words were made for `shape` from start position 0, and every
        // access goes through a ring of this shape.
        unsafe {
            Ring::new(
                &self.cursors,
                SharedValues::new(&self.stamps, &self.words, AnyBytes::proven(Extent::Whole)),
                self.shape,
            )
        }
        .claiming_as(Announced::new(Member { shared: self, me }))
    }

    /// Retries `attempt` until it succeeds. A refused survivor waits until another
    /// participant has made progress since it tried (a survivor's call succeeded, or the
    /// victim stopped), then tries again: if the dead victim wedged the ring, every survivor
    /// ends up waiting, and loom reports the deadlock. Waiting, not spinning, also keeps loom
    /// from exploring schedules that only ever run the refused threads.
    fn until<R>(&self, mut attempt: impl FnMut() -> Option<R>) -> R {
        loop {
            let seen = *self.progress.lock().unwrap();
            if let Some(done) = attempt() {
                self.progressed();
                return done;
            }
            let mut progress = self.progress.lock().unwrap();
            while *progress == seen {
                progress = self.progress_made.wait(progress).unwrap();
            }
        }
    }

    /// Counts one participant's progress, and wakes the survivors waiting for some.
    fn progressed(&self) {
        *self.progress.lock().unwrap() += 1;
        self.progress_made.notify_all();
    }
}

std::thread_local! {
    /// Set when some execution of the current model crashed its victim. Per OS thread: loom
    /// runs a model's threads as coroutines on the thread that explores it, and libtest runs
    /// other models beside it on other threads, whose crashes are no news of this one's.
    static CRASHED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` as the victim, participant `me`, crashing at its crash point `crash_at`;
/// returns what it returned, or `None` if it crashed (it is dead from then on).
fn victim<R>(shared: &Shared, me: usize, crash_at: u32, work: impl FnOnce() -> R) -> Option<R> {
    crash_after(crash_at);
    let outcome = catch_unwind(AssertUnwindSafe(work));
    let result = match outcome {
        Ok(result) => {
            disarm();
            Some(result)
        }
        Err(payload) if payload.is::<Crashed>() => {
            CRASHED.set(true);
            // ORDERING: Release, as the kernel's record of a death, after every write.
            shared.dead[me].store(true, Ordering::Release);
            None
        }
        Err(payload) => resume_unwind(payload),
    };
    shared.progressed();
    result
}

/// Runs `work` on a new model thread, with its own reference to `shared`.
fn spawn_as<R: 'static>(
    shared: &Arc<Shared>,
    work: impl FnOnce(&Shared) -> R + 'static,
) -> thread::JoinHandle<R> {
    let shared = Arc::clone(shared);
    thread::spawn(move || work(&shared))
}

/// Silences the panic message of a modelled crash (the models make thousands), not others.
fn quiet_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Crashed>() {
                default(info);
            }
        }));
    });
}

/// Explores `scenario` once per crash point of its victim, then with a victim that does not
/// crash (only slow); `scenario` gets the crash point, `u32::MAX` for none.
fn every_crash_point(name: &str, property: &str, described: &str, bound: Bound, scenario: fn(u32)) {
    quiet_crashes();
    let mut crash_at = 0;
    loop {
        CRASHED.set(false);
        let model_name = format!("{name}_crash_at_{crash_at}");
        explore(
            Model {
                name: &model_name,
                property,
                scenario: described,
                bound,
            },
            move || scenario(crash_at),
        );
        if !CRASHED.get() {
            break;
        }
        crash_at += 1;
    }
    explore(
        Model {
            name: &format!("{name}_no_crash"),
            property,
            scenario: described,
            bound,
        },
        move || scenario(u32::MAX),
    );
}

/// The main thread's end of every model: drains the ring as participant `me`, then checks
/// the whole capacity is back by pushing and popping it.
fn drain_and_refill(shared: &Shared, me: usize) -> Vec<usize> {
    let ring = shared.ring(me);
    let mut drained = Vec::new();
    loop {
        match ring.try_pop() {
            Ok(value) => drained.push(number(value)),
            Err(Refusal::FullOrEmpty) => break,
            Err(other) => panic!("drain: {other:?}"),
        }
    }
    for n in 0..shared.shape.capacity {
        assert!(ring.try_push(value(900 + n)).is_ok(), "capacity lost: slot {n}");
    }
    for n in 0..shared.shape.capacity {
        assert_eq!(ring.try_pop().map(number).ok(), Some(900 + n), "refilled slot {n}");
    }
    drained
}

/// Asserts that `delivered` holds each of `acknowledged` once, each of `maybe` at most once,
/// and nothing else.
fn check_delivery(delivered: &[usize], acknowledged: &[usize], maybe: &[usize]) {
    for n in acknowledged {
        let times = delivered.iter().filter(|&d| d == n).count();
        assert_eq!(times, 1, "acknowledged value {n} delivered {times} times: {delivered:?}");
    }
    for n in maybe {
        let times = delivered.iter().filter(|&d| d == n).count();
        assert!(times <= 1, "value {n} delivered {times} times: {delivered:?}");
    }
    for d in delivered {
        assert!(
            acknowledged.contains(d) || maybe.contains(d),
            "value {d} was never pushed"
        );
    }
}

/// Asserts that one consumer, then the drain, saw the values in the order they were pushed
/// (every model pushes its values in increasing order, from one producer at a time).
fn check_in_order(delivered: &[usize]) {
    assert!(
        delivered.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {delivered:?}"
    );
}

/// Asserts that `delivered` holds each of `all` at most once and nothing else, and misses at
/// most `lost` of them.
fn check_lost_at_most(delivered: &[usize], all: &[usize], lost: usize) {
    check_delivery(delivered, &[], all);
    let missing = all.iter().filter(|n| !delivered.contains(n)).count();
    assert!(missing <= lost, "{missing} values lost: {delivered:?}");
}

const DEAD_PRODUCER: &str = "a producer dies at each step of a push (announcing, claiming, \
                             half its value written, publishing); every acknowledged value is \
                             delivered exactly once, whole, in its producer's order, the dead \
                             one's at most once; no survivor waits on the dead; the whole \
                             capacity comes back";

/// Participants: 0 the victim producer, 1 a producer, 2 a consumer (and then the main
/// thread, in its place: fewer participants, fewer loads for loom to interleave).
fn dead_producer(crash_at: u32) {
    let shared = Shared::new(2, 3);
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || shared.ring(0).try_push(value(10)))
    });
    let producer = spawn_as(&shared, move |shared| {
        for n in [20, 21] {
            shared.until(|| shared.ring(1).try_push(value(n)).ok());
        }
    });
    let consumer = spawn_as(&shared, move |shared| {
        let mut got = Vec::new();
        while !got.contains(&21) {
            got.push(shared.until(|| shared.ring(2).try_pop().ok().map(number)));
        }
        got
    });
    let pushed = victim_thread.join().unwrap();
    producer.join().unwrap();
    let mut delivered = consumer.join().unwrap();
    delivered.extend(drain_and_refill(&shared, 2));
    let position = |n| delivered.iter().position(|&d| d == n);
    assert!(position(20) < position(21), "FIFO: {delivered:?}");
    match pushed {
        Some(Ok(())) => check_delivery(&delivered, &[10, 20, 21], &[]),
        _ => check_delivery(&delivered, &[20, 21], &[10]),
    }
}

#[test]
fn a_producer_dies_at_any_step_of_a_push() {
    every_crash_point(
        "producer_dies_mid_push",
        DEAD_PRODUCER,
        "capacity 2; the victim pushes 1 value, a producer pushes 2, a consumer pops until it \
         has the producer's; the main thread drains and refills",
        Bound::Preemptions(2),
        dead_producer,
    );
}

const DEAD_CONSUMER: &str = "a consumer dies at each step of a pop (announcing, claiming, \
                             taking the value, releasing); every acknowledged value but the \
                             one the dead consumer claimed is delivered exactly once, whole, in \
                             order, and that one at most once; no survivor waits on the dead; \
                             the whole capacity comes back";

/// Participants: 0 the victim consumer, 1 a producer, 2 a consumer (and the main thread,
/// which fills the ring first and drains it last, in its place). The victim pops once, one
/// value (`try_pop`) or a batch of up to `batch` (`try_pop_slice`); it takes at most `batch`
/// of the three values, so the consumer pops the others.
fn consumer_dies(crash_at: u32, batch: usize) {
    let shared = Shared::new(2, 3);
    for n in [10, 11] {
        shared.ring(2).try_push(value(n)).unwrap();
    }
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            let ring = shared.ring(0);
            if batch == 1 {
                return ring.try_pop().map(|value| vec![number(value)]);
            }
            let mut buffer = [value(0); 2];
            let count = ring.try_pop_slice(&mut buffer[..batch])?;
            Ok(buffer[..count].iter().copied().map(number).collect())
        })
    });
    let producer = spawn_as(&shared, move |shared| {
        shared.until(|| shared.ring(1).try_push(value(20)).ok());
    });
    let consumer = spawn_as(&shared, move |shared| {
        (batch..3)
            .map(|_| shared.until(|| shared.ring(2).try_pop().ok().map(number)))
            .collect::<Vec<_>>()
    });
    let taken = victim_thread.join().unwrap();
    producer.join().unwrap();
    let mut delivered = consumer.join().unwrap();
    delivered.extend(drain_and_refill(&shared, 2));
    check_in_order(&delivered);
    let all = [10, 11, 20];
    match taken {
        Some(Ok(taken)) => {
            delivered.extend(taken);
            check_delivery(&delivered, &all, &[]);
        }
        Some(Err(_)) => check_delivery(&delivered, &all, &[]),
        // Dead, it may have taken the values it claimed, whichever those were: lost, never
        // delivered twice, and no other lost.
        None => check_lost_at_most(&delivered, &all, batch),
    }
}

#[test]
fn a_consumer_dies_at_any_step_of_a_pop() {
    every_crash_point(
        "consumer_dies_mid_pop",
        DEAD_CONSUMER,
        "capacity 2, full; the victim pops once, a producer pushes 1 value, a consumer pops 2; \
         the main thread drains and refills",
        Bound::Preemptions(2),
        |crash_at| consumer_dies(crash_at, 1),
    );
}

const DEAD_BATCH_PRODUCER: &str = "a producer dies at each step of a batch push of 2 values \
                                   (the claim of both, each value, each publication); each of \
                                   its values is delivered at most once, whole and in order; \
                                   the survivors' values exactly once; the whole capacity comes \
                                   back";

/// Participants: 0 the victim, pushing a batch, 1 a producer, 2 a consumer (then the main
/// thread).
fn dead_batch_producer(crash_at: u32) {
    let shared = Shared::new(2, 3);
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || {
            shared.ring(0).try_push_slice(&[value(10), value(11)])
        })
    });
    let producer = spawn_as(&shared, move |shared| {
        shared.until(|| shared.ring(1).try_push(value(20)).ok());
    });
    let consumer = spawn_as(&shared, move |shared| {
        let mut buffer = [value(0); 2];
        let mut got = Vec::new();
        while !got.contains(&20) {
            let count = shared.until(|| shared.ring(2).try_pop_slice(&mut buffer).ok());
            got.extend(buffer[..count].iter().copied().map(number));
        }
        got
    });
    let pushed = victim_thread.join().unwrap();
    producer.join().unwrap();
    let mut delivered = consumer.join().unwrap();
    delivered.extend(drain_and_refill(&shared, 2));
    let position = |n| delivered.iter().position(|&d| d == n);
    if position(10).is_some() && position(11).is_some() {
        assert!(position(10) < position(11), "FIFO: {delivered:?}");
    }
    match pushed {
        Some(Ok(2)) => check_delivery(&delivered, &[10, 11, 20], &[]),
        Some(Ok(1)) => check_delivery(&delivered, &[10, 20], &[]),
        _ => check_delivery(&delivered, &[20], &[10, 11]),
    }
}

#[test]
fn a_producer_dies_at_any_step_of_a_batch_push() {
    every_crash_point(
        "producer_dies_mid_batch_push",
        DEAD_BATCH_PRODUCER,
        "capacity 2; the victim pushes a batch of 2, a producer pushes 1 value, a consumer \
         pops batches until it has it; the main thread drains and refills",
        Bound::Preemptions(2),
        dead_batch_producer,
    );
}

const DEAD_BATCH_CONSUMER: &str = "a consumer dies at each step of a batch pop of 2 values \
                                   (the claim of both, each release); the values it claimed \
                                   are lost, never delivered twice, every other is delivered \
                                   once, whole and in order; no survivor waits on the dead; \
                                   the whole capacity comes back";

#[test]
fn a_consumer_dies_at_any_step_of_a_batch_pop() {
    every_crash_point(
        "consumer_dies_mid_batch_pop",
        DEAD_BATCH_CONSUMER,
        "capacity 2, full; the victim pops a batch of 2, a producer pushes 1 value, a consumer \
         pops 1; the main thread drains and refills",
        Bound::Preemptions(2),
        |crash_at| consumer_dies(crash_at, 2),
    );
}

const DEAD_CLOSER: &str = "a participant dies at each step of close (the flag, the mark); \
                           every acknowledged value is delivered exactly once, and pops end \
                           with Closed if the close took effect, never before the values";

/// Participants: 0 the victim, closing, 1 a producer, 2 a consumer (then the main thread).
fn dead_closer(crash_at: u32) {
    let shared = Shared::new(2, 3);
    let victim_thread = spawn_as(&shared, move |shared| {
        victim(shared, 0, crash_at, || shared.ring(0).close())
    });
    let producer = spawn_as(&shared, move |shared| shared.ring(1).try_push(value(20)).is_ok());
    let consumer = spawn_as(&shared, move |shared| shared.ring(2).try_pop().ok().map(number));
    let closed = victim_thread.join().unwrap();
    let pushed = producer.join().unwrap();
    let mut delivered: Vec<usize> = consumer.join().unwrap().into_iter().collect();
    let ring = shared.ring(2);
    loop {
        match ring.try_pop() {
            Ok(value) => delivered.push(number(value)),
            Err(Refusal::Closed) => {
                assert_ne!(closed, Some(false), "Closed, yet nobody closed");
                break;
            }
            Err(Refusal::FullOrEmpty) => {
                assert_ne!(closed, Some(true), "closed, yet pops go on");
                break;
            }
            Err(other) => panic!("drain: {other:?}"),
        }
    }
    let acknowledged: &[usize] = if pushed { &[20] } else { &[] };
    check_delivery(&delivered, acknowledged, &[]);
}

#[test]
fn a_participant_dies_at_any_step_of_close() {
    every_crash_point(
        "closer_dies_mid_close",
        DEAD_CLOSER,
        "capacity 2; the victim closes, a producer pushes once, a consumer pops once; the \
         main thread drains",
        Bound::Exhaustive,
        dead_closer,
    );
}
