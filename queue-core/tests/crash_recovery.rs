//! A shared queue survives a participant process SIGKILLed at every crash point of each
//! operation: real processes, deterministic kill points.
//!
//! The build with `--cfg queue_faults` gives the queue a hook that makes a process raise
//! `SIGKILL` at its `n`-th crash point (the points between the steps other participants can
//! see: an announcement, a claim, each word of a value, a publication, a release). For each
//! operation, a forked child is armed for point 0, 1, 2, ... and runs it; the loop ends at the
//! first `n` the child survives (it ran past the operation's last point). After each death the
//! parent, the survivor, checks what the issue promises:
//!
//! - every value whose push returned Ok is delivered exactly once, except one a dead consumer
//!   had already taken (at most once); a dead producer's half-written value is never delivered,
//!   and no value is torn;
//! - the slots the dead held come back: the queue holds its full capacity again, in order.
//!
//! It prints, per operation, the kill points, what the survivor found, and the time from the
//! death being reaped to the full capacity being back, less the time the survivor spends
//! making sure the queue stays empty (median and maximum).
//!
//! `harness = false`, like `cross_process.rs`: each test forks. Every other build has no hook
//! and this binary runs nothing; `cargo test-all` runs it in the fault-injection build:
//! `QUEUE_CORE_FAULTS=1 cargo test --release -p queue-core --test crash_recovery` (queue-core's
//! build script then sets `--cfg queue_faults`).
//!
//! # Verification
//!
//! - Checker: fault injection
//! - Primitive: BlockingQueue and MessageQueue in shared memory
//! - Proves: a producer or consumer process SIGKILLed at each crash point of a push (of 8 and of 64
//!   bytes), a pop, a batch push, a batch pop, and a push and a pop of a message of 3 slots, in
//!   turn: the survivor gets every acknowledged
//!   value exactly once (a dead consumer's taken value at most once), never a dead producer's
//!   half-written or torn value, and the full capacity back, in order; a producer asleep on a full
//!   queue gets the slot of a consumer killed mid-pop; a consumer killed at each point of a
//!   blocking pop (asleep included) leaves no registration behind once a producer goes on. It
//!   prints the recovery times.
//! - Cannot prove: one death at a time (the random-time kills are the soak's).

#[cfg(queue_faults)]
mod forked;

#[cfg(queue_faults)]
fn main() {
    tests::main();
}

#[cfg(not(queue_faults))]
fn main() {}

#[cfg(queue_faults)]
mod tests {
    use std::thread::sleep;
    use std::time::{Duration, Instant};

    use nix::sys::signal::Signal;
    use queue_core::faults::{disarm, kill_at_crash_point, registered_sleepers};
    use queue_core::{
        BlockingQueue, Consumer, MessageQueue, Plain, Producer, Shared, TryPushError,
    };

    use super::forked::{Children, Ended};

    /// The queues' capacity.
    const CAPACITY: usize = 4;
    /// No operation has anywhere near this many crash points: a loop that reaches it is broken.
    const MOST_POINTS: u32 = 10_000;
    /// How long the survivor waits for a value it is owed: far past any recovery.
    const PATIENCE: Duration = Duration::from_secs(5);
    /// How long a queue must stay empty to count as drained: past any recovery.
    const SETTLED: Duration = Duration::from_millis(30);

    pub(super) fn main() {
        let tests: [(&str, fn()); 9] = [
            (
                "a_producer_killed_at_any_point_of_a_push_loses_nothing_acknowledged",
                killed_in_push,
            ),
            (
                "a_producer_killed_at_any_point_of_a_wide_push_never_delivers_a_torn_value",
                killed_in_wide_push,
            ),
            (
                "a_consumer_killed_at_any_point_of_a_pop_loses_at_most_its_value",
                killed_in_pop,
            ),
            (
                "a_producer_killed_at_any_point_of_a_batch_push_loses_nothing_acknowledged",
                killed_in_push_slice,
            ),
            (
                "a_consumer_killed_at_any_point_of_a_batch_pop_loses_at_most_its_values",
                killed_in_pop_slice,
            ),
            (
                "a_consumer_killed_at_any_point_of_a_blocking_pop_leaves_no_sleeper_behind",
                killed_asleep,
            ),
            (
                "a_producer_asleep_on_a_full_queue_gets_the_slot_of_a_consumer_killed_mid_pop",
                sleeper_outlives_a_consumer_killed_mid_pop,
            ),
            (
                "a_producer_killed_at_any_point_of_a_message_of_3_slots_never_delivers_it_torn",
                killed_in_message_push,
            ),
            (
                "a_consumer_killed_at_any_point_of_a_message_of_3_slots_loses_at_most_it",
                killed_in_message_pop,
            ),
        ];
        model_check::run_on_main_thread(&tests);
    }

    /// What one operation's kill points showed.
    #[derive(Default)]
    struct Tally {
        /// Deaths, one per crash point.
        kills: u32,
        /// Deaths after which the survivor found the dead's value(s) delivered.
        delivered: u32,
        /// Time from each death being reaped to the full capacity being back, less the
        /// waits that found the queue empty (see [`drain`]).
        recoveries: Vec<Duration>,
    }

    impl Tally {
        fn print(mut self, operation: &str) {
            self.recoveries.sort_unstable();
            let median = self.recoveries[self.recoveries.len() / 2];
            let max = self.recoveries[self.recoveries.len() - 1];
            println!(
                "figure: {operation}: killed at each of {} crash points; the dead's values delivered \
                 after {} of them; recovery median {:.1} µs, max {:.1} µs",
                self.kills,
                self.delivered,
                median.as_secs_f64() * 1e6,
                max.as_secs_f64() * 1e6,
            );
        }
    }

    /// Runs `doomed` in a child armed to die at each crash point in turn, on a fresh queue
    /// that `prepare` fills first; after each death, `survive` checks the queue (returning
    /// whether the dead's values were delivered) and the full capacity is checked to be back.
    /// Returns the tally of the deaths.
    fn at_every_crash_point<T: Plain + PartialEq + std::fmt::Debug>(
        prepare: impl Fn(&BlockingQueue<T, Shared>),
        doomed: impl Fn(&BlockingQueue<T, Shared>),
        survive: impl Fn(&BlockingQueue<T, Shared>) -> bool,
        fill: impl Fn(usize) -> T,
    ) -> Tally {
        let mut tally = Tally::default();
        for point in 0..MOST_POINTS {
            let queue = BlockingQueue::<T, Shared>::create(CAPACITY).unwrap();
            prepare(&queue);
            // The child's first call takes its own entry in the table: do it before arming,
            // so that the points counted are the operation's own.
            if !dies_at(point, || assert!(!queue.is_closed()), || doomed(&queue)) {
                assert!(tally.kills > 0, "the operation has no crash point");
                return tally;
            }
            let reaped = Instant::now();
            IDLE.set(Duration::ZERO);
            tally.kills += 1;
            if survive(&queue) {
                tally.delivered += 1;
            }
            full_capacity_is_back(&queue, &fill);
            tally.recoveries.push(reaped.elapsed() - IDLE.get());
        }
        panic!("a child armed for crash point {MOST_POINTS} still died");
    }

    /// Runs `before`, then `doomed` armed to die at crash point `point`, in a child; whether
    /// it died there (`false`: it ran past the operation's last point).
    fn dies_at(point: u32, before: impl FnOnce(), doomed: impl FnOnce()) -> bool {
        let mut children = Children::default();
        let child = children.fork(|| {
            before();
            kill_at_crash_point(point);
            doomed();
            assert!(disarm(), "the child must still be armed if it survived");
        });
        match children.wait(child, "doomed") {
            Ended::Killed(Signal::SIGKILL) => true,
            Ended::Exited(0) => false,
            other => panic!("the doomed child at crash point {point} ended {other:?}"),
        }
    }

    /// The queue is empty and takes `CAPACITY` values again, then gives them back in order.
    fn full_capacity_is_back<T: Plain + PartialEq + std::fmt::Debug>(
        queue: &BlockingQueue<T, Shared>,
        fill: &impl Fn(usize) -> T,
    ) {
        assert_eq!(queue.len(), 0, "the survivor drained the queue");
        for n in 0..CAPACITY {
            assert!(
                queue.push_timeout(fill(n), PATIENCE).is_ok(),
                "slot {n} of {CAPACITY} did not come back"
            );
        }
        assert!(matches!(
            queue.try_push(fill(CAPACITY)),
            Err(TryPushError::Full(_))
        ));
        for n in 0..CAPACITY {
            assert_eq!(queue.pop_timeout(PATIENCE), Ok(fill(n)));
        }
    }

    /// Pops until the queue stays empty for [`SETTLED`]; everything it held. (A call finishes
    /// a dead claim only once the slot has looked stuck for a while, so a single `try_pop`
    /// may still answer `Empty` at a dead producer's slot.)
    fn drain<T: Plain>(queue: &BlockingQueue<T, Shared>) -> Vec<T> {
        let mut found = Vec::new();
        loop {
            let started = Instant::now();
            match queue.pop_timeout(SETTLED) {
                Ok(value) => found.push(value),
                Err(_) => {
                    IDLE.set(IDLE.get() + started.elapsed());
                    return found;
                }
            }
        }
    }

    std::thread_local! {
        /// The time [`drain`] spent on its last, empty wait, since the trial's death.
        static IDLE: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
    }

    fn value(n: usize) -> u64 {
        n as u64 + 100
    }

    fn killed_in_push() {
        let tally = at_every_crash_point(
            |_| {},
            |queue| {
                // A handle that only pushes: its claims are recovered as a producer's.
                let producer = queue.try_clone_as::<Producer>().unwrap();
                producer.push(1).unwrap();
                producer.push(2).unwrap_or_else(|_| panic!("push"));
            },
            |queue| {
                // Armed after nothing: push(1) may die too, so the child's pushes must come
                // out as a prefix of [1, 2].
                let found = drain(queue);
                assert!(
                    [&[][..], &[1], &[1, 2]].contains(&found.as_slice()),
                    "found {found:?}"
                );
                found.len() == 2
            },
            value,
        );
        tally.print("push");
    }

    fn killed_in_wide_push() {
        let wide = |n: usize| [n as u64 + 1; 8];
        let tally = at_every_crash_point(
            |queue| queue.push(wide(0)).unwrap(),
            |queue| queue.push(wide(1)).unwrap_or_else(|_| panic!("push")),
            |queue| {
                assert_eq!(
                    queue.pop_timeout(PATIENCE),
                    Ok(wide(0)),
                    "the value pushed before the death"
                );
                let found = drain(queue);
                assert!(
                    found.is_empty() || found == [wide(1)],
                    "a torn or foreign value: {found:?}"
                );
                !found.is_empty()
            },
            |n| [n as u64 + 100; 8],
        );
        tally.print("push of 64 bytes");
    }

    fn killed_in_pop() {
        let tally = at_every_crash_point(
            |queue| {
                queue.push(1).unwrap();
                queue.push(2).unwrap();
            },
            // A handle that only pops: its claims are recovered as a consumer's.
            |queue| assert_eq!(queue.try_clone_as::<Consumer>().unwrap().pop(), Ok(1)),
            |queue| {
                let found = drain(queue);
                assert!(
                    found == [1, 2] || found == [2],
                    "acknowledged values lost or duplicated: {found:?}"
                );
                // "Delivered" here: the dead consumer had taken its value.
                found == [2]
            },
            value,
        );
        tally.print("pop");
    }

    fn killed_in_push_slice() {
        let tally = at_every_crash_point(
            |queue| queue.push(1).unwrap(),
            |queue| assert_eq!(queue.push_slice(&[2, 3, 4]), Ok(3)),
            |queue| {
                assert_eq!(queue.pop_timeout(PATIENCE), Ok(1));
                let found = drain(queue);
                assert!(
                    [&[][..], &[2], &[2, 3], &[2, 3, 4]].contains(&found.as_slice()),
                    "found {found:?}"
                );
                found.len() == 3
            },
            value,
        );
        tally.print("push_slice of 3");
    }

    fn killed_in_pop_slice() {
        let tally = at_every_crash_point(
            |queue| assert_eq!(queue.push_slice(&[1, 2, 3, 4]), Ok(4)),
            |queue| {
                let mut taken = [0; 3];
                assert_eq!(queue.pop_slice(&mut taken), Ok(3));
                assert_eq!(taken, [1, 2, 3]);
            },
            |queue| {
                let found = drain(queue);
                let mut left = found.clone();
                left.dedup();
                assert_eq!(left, found, "a duplicate");
                assert!(
                    found.is_sorted() && found.last() == Some(&4),
                    "the value the dead did not claim, or the order, was lost: {found:?}"
                );
                found == [4]
            },
            value,
        );
        tally.print("pop_slice of 3");
    }

    /// A consumer process killed at each crash point of a blocking pop of an empty queue: its
    /// attempts, its registration as a sleeper, and its looks while asleep (a child armed for
    /// a later point sleeps until the parent's push wakes it, then pops). After a death, the
    /// parent pushes and pops, as a producer would go on, until no sleeper is registered: a
    /// registration the dead left would make every push pay a futex wake, for good.
    fn killed_asleep() {
        let mut healed: Vec<Duration> = Vec::new();
        for point in 0..MOST_POINTS {
            let queue = BlockingQueue::<u64, Shared>::create(CAPACITY).unwrap();
            let mut children = Children::default();
            let doomed = children.fork(|| {
                kill_at_crash_point(point);
                let popped = queue.pop_timeout(PATIENCE);
                assert!(disarm(), "the child must still be armed if it survived");
                assert_eq!(popped, Ok(7));
            });
            // Let it fall asleep (and look again once or twice).
            let ended = children
                .wait_within(doomed, Duration::from_millis(25))
                .unwrap_or_else(|| {
                    assert_eq!(queue.push(7), Ok(()));
                    children.wait(doomed, "doomed")
                });
            match ended {
                Ended::Killed(Signal::SIGKILL) => {}
                Ended::Exited(0) => {
                    assert_eq!(registered_sleepers(&queue), 0, "a live sleeper left");
                    assert!(!healed.is_empty(), "no child died registered");
                    healed.sort_unstable();
                    println!(
                        "figure: a consumer killed at each of {point} crash points of a \
                         blocking pop: after the {} deaths that left it registered as a \
                         sleeper, a producer going on took the registration out within \
                         {:.2} ms (median) to {:.2} ms (max) of the death being reaped",
                        healed.len(),
                        healed[healed.len() / 2].as_secs_f64() * 1e3,
                        healed[healed.len() - 1].as_secs_f64() * 1e3,
                    );
                    return;
                }
                other => panic!("the child at crash point {point} ended {other:?}"),
            }
            let reaped = Instant::now();
            if registered_sleepers(&queue) == 0 {
                continue;
            }
            while registered_sleepers(&queue) != 0 {
                assert!(
                    reaped.elapsed() < PATIENCE,
                    "the dead sleeper is still registered after {PATIENCE:?} of pushes"
                );
                assert_eq!(queue.push(9), Ok(()));
                assert!(queue.try_pop().is_ok());
                sleep(Duration::from_micros(20));
            }
            healed.push(reaped.elapsed());
        }
        panic!("a child armed for crash point {MOST_POINTS} still died");
    }

    /// A producer process asleep in `push` on a full queue, and a consumer process killed at
    /// each crash point of its pop: nobody else touches the queue, so only the sleeper's own
    /// looks (see `DEATH_RECHECK` in `wait.rs`) can find the death and free the slot.
    fn sleeper_outlives_a_consumer_killed_mid_pop() {
        let mut recoveries: Vec<Duration> = Vec::new();
        for point in 0..MOST_POINTS {
            let queue = BlockingQueue::<u64, Shared>::create(CAPACITY).unwrap();
            assert_eq!(queue.push_slice(&[1, 2, 3, 4]), Ok(4));
            let mut children = Children::default();
            let sleeper = children.fork(|| {
                assert_eq!(
                    queue.push_timeout(5, PATIENCE),
                    Ok(()),
                    "the sleeper's push"
                );
            });
            // Let it fall asleep (if it has not, the test is only easier).
            sleep(Duration::from_millis(20));
            let doomed = children.fork(|| {
                assert!(!queue.is_closed());
                kill_at_crash_point(point);
                assert_eq!(queue.pop(), Ok(1));
                assert!(disarm(), "the child must still be armed if it survived");
            });
            let died = match children.wait(doomed, "doomed") {
                Ended::Killed(Signal::SIGKILL) => true,
                Ended::Exited(0) => false,
                other => panic!("the doomed child at crash point {point} ended {other:?}"),
            };
            let reaped = Instant::now();
            // A consumer killed before its claim left the queue full: the sleeper rightly
            // sleeps on, until the parent makes room.
            let mut woken_by_the_parent = false;
            let ended = children
                .wait_within(sleeper, Duration::from_millis(500))
                .unwrap_or_else(|| {
                    assert_eq!(queue.len(), CAPACITY, "the sleeper sleeps with room free");
                    assert_eq!(queue.pop(), Ok(1));
                    woken_by_the_parent = true;
                    children.wait(sleeper, "sleeping producer")
                });
            assert_eq!(ended, Ended::Exited(0), "the sleeping producer failed");
            if !died {
                assert!(!recoveries.is_empty(), "no death left a claim to recover");
                recoveries.sort_unstable();
                println!(
                    "figure: a producer asleep on a full queue, its consumer killed at each of \
                     {point} crash points of a pop: after the {} deaths that left a claim, it \
                     pushed within {:.2} ms (median) to {:.2} ms (max) of the death being reaped",
                    recoveries.len(),
                    recoveries[recoveries.len() / 2].as_secs_f64() * 1e3,
                    recoveries[recoveries.len() - 1].as_secs_f64() * 1e3,
                );
                return;
            }
            if !woken_by_the_parent {
                recoveries.push(reaped.elapsed());
            }
            let found = drain(&queue);
            assert!(
                found == [1, 2, 3, 4, 5] || found == [2, 3, 4, 5],
                "found {found:?}"
            );
        }
        panic!("a child armed for crash point {MOST_POINTS} still died");
    }

    /// A message of `slots` slots of a `MessageQueue` (its length, its fingerprint and
    /// postcard's 2-byte length of a `Vec` take 14 of their bytes), every byte `n`.
    fn message(n: u8, slots: usize) -> Vec<u8> {
        vec![n; slots * MessageQueue::<Vec<u8>>::SLOT - 14]
    }

    /// As [`at_every_crash_point`], on a `MessageQueue` of `CAPACITY` slots; after each
    /// death, the survivor checks the messages left with `survive`, then that one message can
    /// take the whole queue again, and `CAPACITY` small ones after it.
    fn at_every_crash_point_of_messages(
        prepare: impl Fn(&MessageQueue<Vec<u8>>),
        doomed: impl Fn(&MessageQueue<Vec<u8>>),
        survive: impl Fn(Vec<Vec<u8>>) -> bool,
    ) -> Tally {
        let mut tally = Tally::default();
        for point in 0..MOST_POINTS {
            let queue =
                MessageQueue::<Vec<u8>>::create(CAPACITY * MessageQueue::<Vec<u8>>::SLOT).unwrap();
            prepare(&queue);
            if !dies_at(point, || assert!(!queue.is_closed()), || doomed(&queue)) {
                assert!(tally.kills > 0, "the operation has no crash point");
                return tally;
            }
            let reaped = Instant::now();
            let mut found = Vec::new();
            let idle = loop {
                let started = Instant::now();
                match queue.pop_timeout(SETTLED) {
                    Ok(message) => found.push(message),
                    Err(_) => break started.elapsed(),
                }
            };
            tally.kills += 1;
            if survive(found) {
                tally.delivered += 1;
            }
            let whole = message(9, CAPACITY);
            assert_eq!(
                queue.push_timeout(whole.clone(), PATIENCE),
                Ok(()),
                "capacity lost"
            );
            assert_eq!(queue.try_pop(), Ok(whole));
            for n in 0..CAPACITY {
                assert_eq!(queue.try_push(vec![n as u8]), Ok(()), "slot {n} is back");
            }
            assert!(queue.try_push(vec![0]).is_err(), "the queue is full");
            tally.recoveries.push(reaped.elapsed() - idle);
        }
        panic!("a child armed for crash point {MOST_POINTS} still died");
    }

    fn killed_in_message_push() {
        let tally = at_every_crash_point_of_messages(
            |queue| queue.push(message(1, 1)).unwrap(),
            |queue| queue.push(message(2, 3)).unwrap_or_else(|_| panic!("push")),
            |found| {
                assert_eq!(
                    found[0],
                    message(1, 1),
                    "the message pushed before the death"
                );
                assert!(
                    found.len() == 1 || found[1..] == [message(2, 3)],
                    "a torn or foreign message: {found:?}"
                );
                found.len() == 2
            },
        );
        tally.print("push of a message of 3 slots");
    }

    fn killed_in_message_pop() {
        let tally = at_every_crash_point_of_messages(
            |queue| {
                queue.push(message(1, 3)).unwrap();
                queue.push(message(2, 1)).unwrap();
            },
            |queue| {
                let consumer = queue.try_clone_as::<Consumer>().unwrap();
                assert_eq!(consumer.pop(), Ok(message(1, 3)));
            },
            |found| {
                assert!(
                    found == [message(1, 3), message(2, 1)] || found == [message(2, 1)],
                    "acknowledged messages lost or duplicated: {found:?}"
                );
                found.len() == 1
            },
        );
        tally.print("pop of a message of 3 slots");
    }
}
