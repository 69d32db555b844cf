//! Property test of the ledger against simulated workers that do what real ones do, in any
//! order the pool could see: a worker says it is ready (or its initializer fails), takes the
//! chunks given to it one at a time in order, says it starts each, reports it before it takes
//! the next, exits when its queue is closed and drained, and may be killed at any of those
//! steps; the kernel's
//! word of a death comes at any later point (chunks may still be given to the dead worker
//! before it does); timeouts expire as the clock moves; tasks are cancelled; workers are
//! replaced, or fail to start.
//!
//! Every answer is checked against what the simulated workers did: a chunk gets at most one
//! outcome; `Done` only from the worker that ran it; a death fails only a chunk the dead
//! worker started, after `retries` + 1 deaths, and a timeout only the killed worker's started
//! chunk; a chunk is cancelled only while no worker holds it. At the end the workers
//! run until nothing moves: then every chunk submitted has exactly one outcome, and the
//! ledger holds none.
//!
//! Run: `cargo test -p process-pool --lib ledger::model` (`PROPTEST_CASES` overrides 512,
//! `PROPTEST_RNG_SEED` replays a run).
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: Pool (its ledger: which worker holds which chunk)
//! - Proves: over up to 120 events (submit, dispatch, a worker's step, a kill at any step, the
//!   kernel's late word of a death, a replacement that starts or fails, a failing initializer,
//!   the clock past a timeout, cancel, terminate) with 1 to 3 workers, prefetch 1 to 3, retries 0
//!   to 2, a task budget and a timeout or not: every chunk gets exactly one outcome, and the
//!   right one (its report, its dead worker's death after retries, its timeout, cancelled only
//!   while no worker holds it, a broken pool's error); none is lost or given twice.
//! - Cannot prove: sampled; the ledger alone (that the results queue delivers a dead worker's
//!   reports before its marker is the shared queue's property, and the real processes are the
//!   scenario and soak tests').

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use spawn_core::ExitStatus;

use super::{ChunkId, Death, Ledger, Lost, Policy};

/// One event.
#[derive(Clone, Debug)]
enum Event {
    /// A chunk of this many inputs.
    Submit(usize),
    Dispatch,
    /// The worker in this slot takes its next step.
    Step(usize),
    /// The worker in this slot is killed (`SIGKILL`).
    Kill(usize),
    /// The kernel's word that the worker in this slot has ended reaches the pool, and its
    /// marker comes out of the results queue.
    Notice(usize),
    /// The vacant slots get workers; `true`: their initializers fail; `false` then `true`:
    /// they could not be started at all.
    Restart { init_fails: bool, start_fails: bool },
    /// The clock moves on this many milliseconds, and expired chunks' workers are killed.
    Advance(u64),
    /// The `n`th chunk submitted (modulo) is cancelled.
    Cancel(usize),
    Terminate,
}

fn event(workers: usize) -> impl Strategy<Value = Event> {
    let slot = 0..workers;
    prop_oneof![
        40 => (1usize..4).prop_map(Event::Submit),
        40 => Just(Event::Dispatch),
        120 => slot.clone().prop_map(Event::Step),
        20 => slot.clone().prop_map(Event::Kill),
        30 => slot.prop_map(Event::Notice),
        20 => (prop::bool::weighted(0.3), prop::bool::weighted(0.1))
            .prop_map(|(init_fails, start_fails)| Event::Restart { init_fails, start_fails }),
        10 => (0u64..30).prop_map(Event::Advance),
        10 => any::<usize>().prop_map(Event::Cancel),
        1 => Just(Event::Terminate),
    ]
}

/// A simulated worker process.
#[derive(Debug)]
struct Worker {
    generation: u64,
    alive: bool,
    ready: bool,
    init_fails: bool,
    /// The chunks in its queue, not yet taken.
    queue: VecDeque<ChunkId>,
    /// The chunk it took, and whether it said it started it.
    running: Option<(ChunkId, bool)>,
    /// Its queue is closed: it exits once the queue is drained.
    closed: bool,
    /// How it ended, once it has.
    ended: Option<ExitStatus>,
    /// Whether its end reached the ledger.
    noticed: bool,
    /// The chunk it was killed for, past its deadline.
    killed_for: Option<ChunkId>,
}

/// What the simulated workers did with a chunk.
#[derive(Debug, Default)]
struct Truth {
    /// How many of its workers died after they said they started it.
    deaths: u32,
    outcome: Option<Given>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Given {
    Reported,
    Lost(Lost),
}

struct World {
    ledger: Ledger,
    policy: Policy,
    workers: Vec<Option<Worker>>,
    chunks: Vec<Truth>,
    now: Instant,
    terminated: bool,
    /// How many events changed something.
    moves: u64,
}

/// A failed check: the message says which promise broke.
type Checked = Result<(), TestCaseError>;

impl World {
    fn new(workers: usize, policy: Policy) -> Self {
        Self {
            ledger: Ledger::new(workers, policy),
            policy,
            workers: (0..workers).map(|_| Some(Worker::new(0, false))).collect(),
            chunks: Vec::new(),
            now: Instant::now(),
            terminated: false,
            moves: 0,
        }
    }

    fn give(&mut self, chunk: ChunkId, given: Given) -> Checked {
        let truth = &mut self.chunks[chunk as usize];
        prop_assert!(
            truth.outcome.is_none(),
            "chunk {chunk} has two outcomes: {:?}, then {given:?}",
            truth.outcome
        );
        truth.outcome = Some(given);
        Ok(())
    }

    fn give_lost(&mut self, lost: Vec<(ChunkId, Lost)>) -> Checked {
        for (chunk, lost) in lost {
            if let Lost::Died { attempts, .. } = &lost {
                let deaths = self.chunks[chunk as usize].deaths;
                prop_assert_eq!(*attempts, deaths, "chunk {} died {} times", chunk, deaths);
                prop_assert!(
                    deaths > self.policy.retries,
                    "chunk {chunk} failed after {deaths} deaths, with {} retries",
                    self.policy.retries
                );
            }
            self.give(chunk, Given::Lost(lost))?;
        }
        Ok(())
    }

    fn apply(&mut self, event: &Event) -> Checked {
        if self.terminated {
            return Ok(());
        }
        match *event {
            Event::Submit(inputs) => {
                let chunk = self.chunks.len() as ChunkId;
                self.chunks.push(Truth::default());
                if let Some(lost) = self.ledger.submit(chunk, inputs) {
                    prop_assert!(matches!(lost, Lost::Broken(_)), "{lost:?}");
                    self.give(chunk, Given::Lost(lost))?;
                }
            }
            Event::Dispatch => self.dispatch(),
            Event::Step(slot) => self.step(slot)?,
            Event::Kill(slot) => self.kill(slot, None),
            Event::Notice(slot) => self.notice(slot)?,
            Event::Restart {
                init_fails,
                start_fails,
            } => self.restart(init_fails, start_fails)?,
            Event::Advance(millis) => {
                self.now += Duration::from_millis(millis);
                for slot in self.ledger.expired(self.now) {
                    let started = self.started_by(slot);
                    self.kill(slot, started);
                }
            }
            Event::Cancel(n) => {
                if !self.chunks.is_empty() {
                    let chunk = (n % self.chunks.len()) as ChunkId;
                    if self.ledger.cancel(chunk) {
                        prop_assert!(
                            !self.held(chunk),
                            "chunk {chunk} was cancelled while a worker holds it"
                        );
                        self.give(chunk, Given::Lost(Lost::Cancelled))?;
                    }
                }
            }
            Event::Terminate => {
                // The pool kills every worker and hears nothing more from them.
                let lost = self.ledger.terminate();
                self.give_lost(lost)?;
                self.terminated = true;
            }
        }
        Ok(())
    }

    /// Whether a worker (alive, or dead and not yet noticed) holds `chunk`: in its queue, or
    /// taken.
    fn held(&self, chunk: ChunkId) -> bool {
        self.workers.iter().flatten().any(|worker| {
            worker.queue.contains(&chunk) || worker.running.is_some_and(|(held, _)| held == chunk)
        })
    }

    /// The chunk the worker in `slot` has started, if any.
    fn started_by(&self, slot: usize) -> Option<ChunkId> {
        match self.workers[slot].as_ref()?.running {
            Some((chunk, true)) => Some(chunk),
            _ => None,
        }
    }

    fn dispatch(&mut self) {
        let (sent, retiring) = self.ledger.dispatch(self.now);
        self.moves += (sent.len() + retiring.len()) as u64;
        for (slot, chunk) in sent {
            if let Some(worker) = &mut self.workers[slot] {
                worker.queue.push_back(chunk);
            }
        }
        for slot in retiring {
            if let Some(worker) = &mut self.workers[slot] {
                worker.closed = true;
            }
        }
    }

    fn step(&mut self, slot: usize) -> Checked {
        let Some(worker) = &mut self.workers[slot] else {
            return Ok(());
        };
        if !worker.alive {
            return Ok(());
        }
        let generation = worker.generation;
        self.moves += 1;
        if !worker.ready {
            if worker.init_fails {
                let lost = self.ledger.init_failed(slot, generation, "failed".into());
                self.give_lost(lost)?;
                self.end(slot, ExitStatus::Exited(3));
            } else {
                worker.ready = true;
                self.ledger.ready(slot, generation, self.now);
            }
        } else if let Some((chunk, false)) = worker.running {
            worker.running = Some((chunk, true));
            self.ledger.started(chunk);
        } else if let Some((chunk, true)) = worker.running.take() {
            prop_assert!(
                self.ledger.reported(chunk, self.now),
                "the report of chunk {chunk}, run by worker {slot}, was refused"
            );
            self.give(chunk, Given::Reported)?;
        } else if let Some(chunk) = worker.queue.pop_front() {
            worker.running = Some((chunk, false));
        } else if worker.closed {
            self.end(slot, ExitStatus::Exited(0));
        } else {
            // An idle worker waits: nothing moved.
            self.moves -= 1;
        }
        Ok(())
    }

    fn end(&mut self, slot: usize, status: ExitStatus) {
        if let Some(worker) = &mut self.workers[slot] {
            if worker.alive {
                worker.alive = false;
                worker.ended = Some(status);
                if let Some((chunk, true)) = worker.running {
                    self.chunks[chunk as usize].deaths += 1;
                }
            }
        }
    }

    fn kill(&mut self, slot: usize, for_timeout: Option<ChunkId>) {
        if let Some(worker) = &mut self.workers[slot] {
            if for_timeout.is_some() {
                // Asked of a worker that may have died already (of a `SIGKILL` the pool
                // cannot tell from its own): the pool then says it timed out.
                worker.killed_for = for_timeout;
            }
        }
        self.end(slot, ExitStatus::Signaled(9));
    }

    /// The kernel's word of the end of the worker in `slot`, and its marker.
    fn notice(&mut self, slot: usize) -> Checked {
        let Some(worker) = &mut self.workers[slot] else {
            return Ok(());
        };
        let (Some(status), false) = (worker.ended, worker.noticed) else {
            return Ok(());
        };
        worker.noticed = true;
        self.moves += 1;
        let generation = worker.generation;
        let started = match worker.running {
            Some((chunk, true)) => Some(chunk),
            _ => None,
        };
        let killed_for = worker.killed_for;
        self.ledger.ending(slot);
        let lost = self.ledger.ended(slot, generation, Death { pid: 1, status });
        for (chunk, lost) in &lost {
            match lost {
                Lost::Died { .. } => prop_assert!(
                    Some(*chunk) == started,
                    "chunk {chunk} failed with worker {slot}, which had started {started:?}"
                ),
                Lost::TimedOut { .. } => prop_assert!(
                    Some(*chunk) == killed_for
                        && Some(*chunk) == started
                        && status == ExitStatus::Signaled(9),
                    "chunk {chunk} timed out; worker {slot} was killed for {killed_for:?} \
                     and ended as {status:?}"
                ),
                Lost::Broken(_) => {}
                other => prop_assert!(false, "a death answered {other:?}"),
            }
        }
        self.give_lost(lost)?;
        self.workers[slot] = None;
        Ok(())
    }

    fn restart(&mut self, init_fails: bool, start_fails: bool) -> Checked {
        if self.ledger.broken().is_some() {
            return Ok(());
        }
        for slot in self.ledger.vacant() {
            self.moves += 1;
            let generation = self.ledger.restart(slot);
            if start_fails {
                let lost = self.ledger.start_failed(slot, "refused".into());
                self.give_lost(lost)?;
            } else {
                self.workers[slot] = Some(Worker::new(generation, init_fails));
            }
        }
        Ok(())
    }

    /// Runs everything until nothing moves: then every chunk must have its outcome.
    fn settle(&mut self) -> Checked {
        let mut still = 0;
        let mut rounds = 0;
        while !self.terminated && still < 2 {
            rounds += 1;
            prop_assert!(rounds < 10_000, "the workers never settle: {:?}", self.ledger);
            let before = self.progress();
            for slot in 0..self.workers.len() {
                self.notice(slot)?;
            }
            self.restart(false, false)?;
            self.dispatch();
            for slot in 0..self.workers.len() {
                self.step(slot)?;
            }
            if self.progress() == before {
                // Only the clock can move things now (a chunk whose worker hangs), once.
                still += 1;
                self.apply(&Event::Advance(1_000))?;
            } else {
                still = 0;
            }
        }
        for (chunk, truth) in self.chunks.iter().enumerate() {
            prop_assert!(
                truth.outcome.is_some(),
                "chunk {chunk} has no outcome once every worker has settled: {truth:?}"
            );
        }
        prop_assert!(self.ledger.is_idle(), "the ledger still holds chunks: {:?}", self.ledger);
        Ok(())
    }

    /// A measure of what has happened, to tell when nothing moves any more.
    fn progress(&self) -> u64 {
        self.moves
    }
}

impl Worker {
    fn new(generation: u64, init_fails: bool) -> Self {
        Self {
            generation,
            alive: true,
            ready: false,
            init_fails,
            queue: VecDeque::new(),
            running: None,
            closed: false,
            ended: None,
            noticed: false,
            killed_for: None,
        }
    }
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        1usize..=3,
        prop::option::weighted(0.3, 1u32..4),
        0u32..=2,
        prop::option::weighted(0.3, (5u64..50).prop_map(Duration::from_millis)),
    )
        .prop_map(|(prefetch, max_tasks, retries, timeout)| Policy {
            prefetch,
            max_tasks,
            retries,
            timeout,
        })
}

fn case() -> impl Strategy<Value = (usize, Policy, Vec<Event>)> {
    (1usize..=3, policy()).prop_flat_map(|(workers, policy)| {
        (
            Just(workers),
            Just(policy),
            prop::collection::vec(event(workers), 0..120),
        )
    })
}

proptest! {
    #![proptest_config(model_check::property_config(
        "process-pool ledger::model::every_chunk_gets_exactly_its_outcome",
        "after up to 120 events of 1 to 3 simulated workers (steps, kills at any step, late \
         words of deaths, replacements, failing initializers and starts, timeouts, cancels, \
         terminate), and the workers run until nothing moves, every chunk has exactly one \
         outcome, and the right one",
        512,
    ))]

    #[test]
    fn every_chunk_gets_exactly_its_outcome((workers, policy, events) in case()) {
        let mut world = World::new(workers, policy);
        for event in &events {
            world.apply(event)?;
        }
        world.settle()?;
    }
}
