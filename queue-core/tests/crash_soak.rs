//! Random-time SIGKILLs of real producer and consumer processes on a shared queue: the
//! survivors lose nothing acknowledged, see nothing twice or torn, and never hang.
//!
//! Each trial forks two producers and a consumer on a fresh queue, and kills one of the three,
//! chosen at random, at a random time in its first few milliseconds of work (a killed consumer
//! is replaced by a new one). Two kinds of queue, each in its own series of trials:
//! - a capacity-8 `BlockingQueue` of 64-byte values;
//! - a 4 KiB `MessageQueue` of messages of 8 bytes to 1.6 KB (1 to 7 slots of 256 bytes), so
//!   that most kills land in the middle of a message of several slots, written or read.
//!
//! The producers record, in shared memory, how many pushes returned Ok; the consumers mark
//! each value they take. When the surviving producers are done, the queue is closed and
//! drained, and the trial checks, per producer:
//!
//! - every value whose push returned Ok was taken exactly once, except that a killed consumer
//!   may have taken one value it never got to mark (at most once, as the docs promise);
//! - the one value a killed producer was pushing was taken at most once; later ones never;
//! - no value was torn (every word of a value or message is its tag, and a message has the
//!   length its sequence number gives it);
//! - no call waited past its bound (a hang) or timed out with the queue able to move (a
//!   wedge).
//!
//! It prints the counts of each failure kind (all must be zero) and the time from each kill
//! to the queue being drained. `harness = false` (it forks). CI runs 200 trials; the soak
//! command runs as many as `QUEUE_CORE_SOAK_TRIALS` says:
//! `QUEUE_CORE_SOAK_TRIALS=10000 cargo test --release -p queue-core --test crash_soak`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: BlockingQueue and MessageQueue in shared memory
//! - Proves: 200 trials of 2 producer and 1 consumer processes on a capacity-8 queue of 64-byte
//!   values, and 200 on a 4 KiB queue of messages of 1 to 7 slots, one process SIGKILLed at a
//!   random time in each: no hang, no wedge, no acknowledged value or message lost (but the one a
//!   killed consumer may have taken), none duplicated, invented or torn; it prints the counts and
//!   the consumers' longest stall.
//! - Cannot prove: random times, not every instruction (crash_recovery and the crash models cover
//!   every step); one kill per trial.
mod forked;
fn main() {
    tests::main();
}
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};

    use queue_core::{BlockingQueue, MessageQueue, PopTimeoutError, ReceiveError, Shared};

    use super::forked::{Children, Ended, SharedMemory};

    /// Trials when `QUEUE_CORE_SOAK_TRIALS` is not set.
    const CI_TRIALS: u64 = 200;
    /// The most values or messages a producer pushes (see `Carrier::PER_PRODUCER`).
    const PER_PRODUCER: usize = 20_000;
    const PRODUCERS: usize = 2;
    /// How long any call may wait, and any trial's process may run: far past every recovery.
    const BOUND: Duration = Duration::from_secs(10);
    /// Exit statuses of a child that found a failure.
    const TIMED_OUT: i32 = 2;
    const TORN: i32 = 3;

    pub(super) fn main() {
        let tests: [(&str, fn()); 2] = [
            (
                "producers_and_consumers_killed_at_random_times_lose_nothing_acknowledged",
                random_kills::<BlockingQueue<Value, Shared>>,
            ),
            (
                "killed_mid_message_of_several_slots_they_lose_nothing_acknowledged",
                random_kills::<MessageQueue<Message>>,
            ),
        ];
        model_check::run_on_main_thread(&tests);
    }

    /// What a trial's queue carries, and how its children push and pop it.
    trait Carrier: Sized {
        /// What the figure calls the queue.
        const NAME: &'static str;
        /// How many values or messages each producer pushes.
        const PER_PRODUCER: usize;
        fn create() -> Self;
        /// Pushes item `sequence` of `producer`, waiting up to `BOUND`; `false` on a timeout.
        fn push(&self, producer: usize, sequence: usize) -> bool;
        /// Pops an item, waiting up to `BOUND`: `Ok(Some(tag))` for a whole item,
        /// `Ok(None)` for a torn one, `Err(true)` once closed and drained, `Err(false)` on a
        /// timeout.
        fn pop(&self) -> Result<Option<u64>, bool>;
        fn close(&self);
    }

    /// The values of the first series: 64 bytes, every word the value's tag.
    type Value = [u64; 8];

    impl Carrier for BlockingQueue<Value, Shared> {
        const NAME: &'static str = "a capacity-8 queue of 64-byte values";
        const PER_PRODUCER: usize = PER_PRODUCER;

        fn create() -> Self {
            // Small, so that producers often sleep on it full.
            Self::create(8).unwrap()
        }

        fn push(&self, producer: usize, sequence: usize) -> bool {
            self.push_timeout([tag(producer, sequence); 8], BOUND)
                .is_ok()
        }

        fn pop(&self) -> Result<Option<u64>, bool> {
            match self.pop_timeout(BOUND) {
                Ok(value) => Ok(value
                    .iter()
                    .all(|&word| word == value[0])
                    .then_some(value[0])),
                Err(PopTimeoutError::Closed) => Err(true),
                Err(_) => Err(false),
            }
        }

        fn close(&self) {
            BlockingQueue::close(self);
        }
    }

    /// The messages of the second series: every word the message's tag, as many words as
    /// [`message_words`] says.
    type Message = Vec<u64>;

    /// How many words message `sequence` has: 1 to 200 (8 bytes to 1.6 KB, encoded in up to
    /// 7 slots of 256 bytes), varying from one message to the next.
    fn message_words(sequence: usize) -> usize {
        1 + sequence * 37 % 200
    }

    impl Carrier for MessageQueue<Message> {
        const NAME: &'static str = "a 4 KiB queue of messages of 1 to 7 slots";
        const PER_PRODUCER: usize = 2_000;

        fn create() -> Self {
            Self::create(4096).unwrap()
        }

        fn push(&self, producer: usize, sequence: usize) -> bool {
            let message = vec![tag(producer, sequence); message_words(sequence)];
            self.push_timeout(message, BOUND).is_ok()
        }

        fn pop(&self) -> Result<Option<u64>, bool> {
            match self.pop_timeout(BOUND) {
                Ok(message) => {
                    let tag = message.first().copied().unwrap_or(u64::MAX);
                    let sequence = (tag as u32) as usize;
                    let whole = message.len() == message_words(sequence)
                        && message.iter().all(|&word| word == tag);
                    Ok(whole.then_some(tag))
                }
                Err(ReceiveError::Queue(PopTimeoutError::Closed)) => Err(true),
                Err(ReceiveError::Queue(_)) => Err(false),
                Err(_) => Ok(None),
            }
        }

        fn close(&self) {
            MessageQueue::close(self);
        }
    }

    /// A value's tag: its producer in the high 32 bits, its sequence number in the low ones.
    fn tag(producer: usize, sequence: usize) -> u64 {
        ((producer as u64) << 32) | sequence as u64
    }

    /// A small xorshift generator: the trials need spread, not quality.
    struct Random(u64);

    impl Random {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 32) % bound
        }
    }

    /// The failures of all trials, by kind.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Failures {
        hangs: u32,
        wedges: u32,
        lost: u32,
        duplicated: u32,
        /// Values taken whose push never started.
        invented: u32,
        torn: u32,
        /// Kills that came after their victim had finished (not failures).
        missed: u32,
    }

    /// What the children share: per producer, how many of its pushes returned Ok; the
    /// consumer's longest wait between two values (ns); then one word per value, how many
    /// times a consumer took it.
    struct Report {
        memory: SharedMemory,
    }

    /// Where `Report`'s per-value words start.
    const VALUES_AT: usize = PRODUCERS + 1;

    impl Report {
        fn new() -> Self {
            Self {
                memory: SharedMemory::new(8 * (VALUES_AT + PRODUCERS * PER_PRODUCER)),
            }
        }

        fn acknowledged(&self, producer: usize) -> &AtomicU64 {
            &self.memory.words()[producer]
        }

        fn longest_stall(&self) -> &AtomicU64 {
            &self.memory.words()[PRODUCERS]
        }

        fn taken(&self, producer: usize, sequence: usize) -> &AtomicU64 {
            &self.memory.words()[VALUES_AT + producer * PER_PRODUCER + sequence]
        }

        /// Marks the item tagged `tag` taken; `false` if it is not an item any producer
        /// pushes.
        fn take(&self, tag: u64) -> bool {
            let (producer, sequence) = ((tag >> 32) as usize, (tag as u32) as usize);
            if producer >= PRODUCERS || sequence >= PER_PRODUCER {
                return false;
            }
            // Relaxed: read by the parent after it reaped this process (a full barrier).
            self.taken(producer, sequence)
                .fetch_add(1, Ordering::Relaxed);
            true
        }
    }

    fn produce<C: Carrier>(queue: &C, report: &Report, producer: usize) {
        for sequence in 0..C::PER_PRODUCER {
            if !queue.push(producer, sequence) {
                // SAFETY: `_exit` ends the child at once; always safe.
                unsafe { nix::libc::_exit(TIMED_OUT) };
            }
            // Relaxed: as in `Report::take`.
            report
                .acknowledged(producer)
                .store(sequence as u64 + 1, Ordering::Relaxed);
        }
    }

    /// Takes items until the queue is closed and drained; exits with a failure status on a
    /// torn item or a timeout.
    fn consume<C: Carrier>(queue: &C, report: &Report) {
        let mut last = Instant::now();
        loop {
            let popped = queue.pop();
            let stall = last.elapsed().as_nanos() as u64;
            last = Instant::now();
            // Relaxed: as in `Report::take`.
            report.longest_stall().fetch_max(stall, Ordering::Relaxed);
            match popped {
                Ok(Some(tag)) if report.take(tag) => {}
                // SAFETY: `_exit` ends the child at once; always safe.
                Ok(_) => unsafe { nix::libc::_exit(TORN) },
                Err(true) => return,
                // SAFETY: as above.
                Err(_) => unsafe { nix::libc::_exit(TIMED_OUT) },
            }
        }
    }

    fn random_kills<C: Carrier>() {
        let trials = std::env::var("QUEUE_CORE_SOAK_TRIALS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CI_TRIALS);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64 | 1);
        let mut random = Random(seed);
        let mut failures = Failures::default();
        let mut killed = [0u32; PRODUCERS + 1];
        let mut stalls = Vec::new();
        for _ in 0..trials {
            let victim = random.below(PRODUCERS as u64 + 1) as usize;
            let delay = Duration::from_micros(random.below(3_000));
            let (stall, found) = trial::<C>(victim, delay);
            killed[victim] += 1;
            stalls.push(stall);
            for (total, more) in [
                (&mut failures.hangs, found.hangs),
                (&mut failures.wedges, found.wedges),
                (&mut failures.lost, found.lost),
                (&mut failures.duplicated, found.duplicated),
                (&mut failures.invented, found.invented),
                (&mut failures.torn, found.torn),
                (&mut failures.missed, found.missed),
            ] {
                *total += more;
            }
        }
        stalls.sort_unstable();
        println!(
            "figure: {trials} trials on {} with a random kill (seed {seed}): producers killed {} \
             times, consumers {} ({} kills came after the victim had finished); hangs {}, wedges {}, acknowledged values lost {}, \
             duplicated {}, invented {}, torn {}; the longest wait between two values a \
             consumer took, per trial (a bound on the recovery, with the scheduler's own \
             pauses): median {:.2} ms, max {:.2} ms",
            C::NAME,
            killed[0] + killed[1],
            killed[2],
            failures.missed,
            failures.hangs,
            failures.wedges,
            failures.lost,
            failures.duplicated,
            failures.invented,
            failures.torn,
            stalls[stalls.len() / 2].as_secs_f64() * 1e3,
            stalls[stalls.len() - 1].as_secs_f64() * 1e3,
        );
        failures.missed = 0;
        assert_eq!(failures, Failures::default(), "seed {seed}");
    }

    /// One trial: kills process `victim` (a producer's index, or `PRODUCERS` for the
    /// consumer, which is then replaced by a new one) `delay` after the three start; returns
    /// the longest wait between two values taken, and the failures found.
    fn trial<C: Carrier>(victim: usize, delay: Duration) -> (Duration, Failures) {
        let queue = C::create();
        let report = Report::new();
        let mut children = Children::default();
        let mut found = Failures::default();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| children.fork(|| produce(&queue, &report, producer)))
            .collect();
        let consumer = children.fork(|| consume(&queue, &report));
        std::thread::sleep(delay);
        let doomed = if victim < PRODUCERS {
            producers[victim]
        } else {
            consumer
        };
        let _ = kill(doomed, Signal::SIGKILL);
        let ended = children.wait_within(doomed, BOUND);
        found.missed += u32::from(ended != Some(Ended::Killed(Signal::SIGKILL)));
        verdict(ended, &mut found);
        // A killed consumer is replaced, as a pool of workers would replace it.
        let consumer = if victim == PRODUCERS {
            children.fork(|| consume(&queue, &report))
        } else {
            consumer
        };
        for (index, &producer) in producers.iter().enumerate() {
            if index != victim {
                verdict(children.wait_within(producer, BOUND), &mut found);
            }
        }
        queue.close();
        verdict(children.wait_within(consumer, BOUND), &mut found);
        // Relaxed: the consumers have been reaped.
        let stall = Duration::from_nanos(report.longest_stall().load(Ordering::Relaxed));
        let consumer_died = victim == PRODUCERS;
        let mut untaken_by_the_dead_consumer = 0;
        for producer in 0..PRODUCERS {
            // Relaxed: every writer has been reaped.
            let acknowledged = report.acknowledged(producer).load(Ordering::Relaxed) as usize;
            for sequence in 0..C::PER_PRODUCER {
                let taken = report.taken(producer, sequence).load(Ordering::Relaxed);
                let in_flight = producer == victim && sequence == acknowledged;
                match taken {
                    0 if sequence < acknowledged => untaken_by_the_dead_consumer += 1,
                    0 => {}
                    1 if sequence < acknowledged || in_flight => {}
                    // A value whose push never started cannot come out.
                    1 => found.invented += 1,
                    _ => found.duplicated += 1,
                }
            }
        }
        // A killed consumer may have taken one value it never marked.
        let allowed = u32::from(consumer_died);
        found.lost += (untaken_by_the_dead_consumer as u32).saturating_sub(allowed);
        (stall, found)
    }

    /// Counts a child's end as the failure it reports, if any.
    fn verdict(ended: Option<Ended>, found: &mut Failures) {
        match ended {
            None => found.hangs += 1,
            Some(Ended::Exited(0) | Ended::Killed(Signal::SIGKILL)) => {}
            Some(Ended::Exited(TORN)) => found.torn += 1,
            Some(_) => found.wedges += 1,
        }
    }
}
