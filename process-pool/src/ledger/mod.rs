//! The pool's bookkeeping, apart from every process and queue: which worker holds which
//! chunk, and what a report, a death, a timeout or a retry does to them. The manager feeds it
//! events and carries out what it answers; its property suite (`model.rs`) feeds it random
//! events from simulated workers and checks every answer against what they did.
//!
//! # Why a dead worker's chunks are known exactly
//!
//! Each worker has a queue of its own, into which the pool puts the chunks it gives that
//! worker, and the worker takes them in order, one at a time. Before it runs a chunk it puts
//! `Started` in the results queue, and after, the chunk's report; it takes the next chunk only
//! once that report is in, whole. The pool learns of a worker's end from the kernel (a pidfd),
//! and then pushes an `Ended` marker into the same results queue: everything the worker put
//! there whole was claimed before it died, so comes out before the marker. At the marker,
//! then, of the chunks the worker was given and did not report:
//! - one that `Started` ran, all or in part: it fails with the worker's death (or runs again,
//!   if the policy retries);
//! - every other one never ran a line of the task (the worker may have taken it from its queue,
//!   but died before it said so, and says so before it runs it): it goes back to the front of
//!   the pending chunks, to run on another worker as if nothing had happened.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use spawn_core::ExitStatus;

use crate::mutant;

#[cfg(test)]
mod model;

const SIGKILL: i32 = nix::libc::SIGKILL;

/// A chunk's number, unique in a pool.
pub(crate) type ChunkId = u64;

/// How many workers in a row may fail to start (their initializer failed, or the system
/// refused the process) before the pool stops starting them and fails its tasks instead.
pub(crate) const FAILED_STARTS_BEFORE_GIVING_UP: u32 = 3;

/// What the ledger is told of a worker's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Death {
    pub(crate) pid: i32,
    pub(crate) status: ExitStatus,
}

/// Why the pool stopped starting workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    /// The initializer failed in this many workers in a row; the last one's failure.
    Initializer(String),
    /// This many workers in a row could not be started; the last error.
    Start(String),
}

/// What became of a chunk that no worker reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lost {
    /// The worker that was running it died, `attempts` times in all (retries included).
    Died { death: Death, attempts: u32 },
    /// It ran past its deadline: its worker was killed (and replaced).
    TimedOut { pid: i32 },
    /// It was cancelled before it was given to a worker.
    Cancelled,
    /// The pool was terminated before it finished.
    Terminated,
    /// It was submitted after the pool was closed.
    Closed,
    /// Its inputs take `bytes` encoded, more than a worker's queue carries (`limit`).
    TooLarge { bytes: usize, limit: usize },
    /// The pool stopped starting workers.
    Broken(Broken),
}

/// A worker's place in the pool, and what the pool knows of the worker that holds it.
#[derive(Debug)]
struct Slot {
    generation: u64,
    state: SlotState,
    /// The chunks given to this worker that it has not reported, oldest first: the worker
    /// takes them in this order.
    assigned: VecDeque<ChunkId>,
    /// Since when the first of `assigned` is known to be running (the worker was ready and
    /// had reported the one before), for its timeout.
    head_since: Option<Instant>,
    /// How many chunks this worker was given, for `max_tasks_per_child`.
    given: u32,
    /// The chunk it was killed for, past its deadline.
    timed_out: Option<ChunkId>,
    /// Its process has ended (or is being killed): it is given nothing more.
    ending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// Started; not yet said it is ready.
    Starting,
    /// Ready, taking chunks.
    Ready,
    /// Its initializer failed: it takes nothing, and exits.
    InitFailed,
    /// No worker: to be started (or, once the pool is done, left empty).
    Vacant,
}

/// How the pool runs chunks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// How many chunks a worker is given before it reports the first: one running, the others
    /// waiting in its queue, so that it never waits for the pool between two.
    pub(crate) prefetch: usize,
    /// After how many chunks a worker is retired and replaced (Python's `maxtasksperchild`).
    pub(crate) max_tasks: Option<u32>,
    /// How many times a chunk whose worker died is run again before it fails.
    pub(crate) retries: u32,
    /// How long one input may run: a chunk's deadline is this times its inputs.
    pub(crate) timeout: Option<Duration>,
}

#[derive(Debug)]
struct ChunkBook {
    inputs: usize,
    /// Its worker said it started it.
    started: bool,
    /// How many of its workers died while it may have been running.
    deaths: u32,
    /// The slot it was given to, while it is.
    slot: Option<usize>,
}

/// The pool's bookkeeping: see the module's documentation.
#[derive(Debug)]
pub(crate) struct Ledger {
    policy: Policy,
    slots: Vec<Slot>,
    pending: VecDeque<ChunkId>,
    chunks: HashMap<ChunkId, ChunkBook>,
    failed_starts: u32,
    broken: Option<Broken>,
    /// Chunks run again after their worker died running them.
    retried: u64,
    /// Chunks given to a worker that died before it started them, given out again.
    reassigned: u64,
}

impl Ledger {
    /// A ledger of `workers` slots, each with a worker starting.
    pub(crate) fn new(workers: usize, policy: Policy) -> Self {
        let slots = (0..workers)
            .map(|_| Slot {
                generation: 0,
                state: SlotState::Starting,
                assigned: VecDeque::new(),
                head_since: None,
                given: 0,
                timed_out: None,
                ending: false,
            })
            .collect();
        Self {
            policy,
            slots,
            pending: VecDeque::new(),
            chunks: HashMap::new(),
            failed_starts: 0,
            broken: None,
            retried: 0,
            reassigned: 0,
        }
    }


    /// How many chunks were retried, and how many given out again unstarted.
    pub(crate) fn moved(&self) -> (u64, u64) {
        (self.retried, self.reassigned)
    }

    /// Why the pool stopped starting workers, if it has.
    pub(crate) fn broken(&self) -> Option<&Broken> {
        self.broken.as_ref()
    }

    /// Whether every chunk has its outcome.
    pub(crate) fn is_idle(&self) -> bool {
        self.chunks.is_empty()
    }

    /// A new chunk of `inputs` inputs, to run; or its outcome at once if the pool is broken.
    pub(crate) fn submit(&mut self, chunk: ChunkId, inputs: usize) -> Option<Lost> {
        if let Some(broken) = &self.broken {
            return Some(Lost::Broken(broken.clone()));
        }
        self.chunks.insert(
            chunk,
            ChunkBook {
                inputs,
                started: false,
                deaths: 0,
                slot: None,
            },
        );
        self.pending.push_back(chunk);
        None
    }

    /// Cancels `chunk` if no worker was given it: whether it was.
    pub(crate) fn cancel(&mut self, chunk: ChunkId) -> bool {
        let Some(at) = self.pending.iter().position(|&pending| pending == chunk) else {
            return false;
        };
        self.pending.remove(at);
        self.chunks.remove(&chunk);
        true
    }

    /// Gives pending chunks to the ready workers with room for them: the (slot, chunk) pairs
    /// to send, and the slots whose worker has now been given its last chunk (its queue is to
    /// be closed, so that it exits once it has reported them).
    pub(crate) fn dispatch(&mut self, now: Instant) -> (Vec<(usize, ChunkId)>, Vec<usize>) {
        let mut sent = Vec::new();
        let mut retiring = Vec::new();
        let budget = self.policy.max_tasks.unwrap_or(u32::MAX);
        // Breadth first, ready workers before starting ones: every idle worker gets a chunk
        // before any gets a second, so that a map of two chunks runs on two workers.
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|&index| {
                let slot = &self.slots[index];
                matches!(slot.state, SlotState::Ready | SlotState::Starting)
                    && !slot.ending
                    && slot.timed_out.is_none()
            })
            .collect();
        order.sort_by_key(|&index| self.slots[index].state != SlotState::Ready);
        for depth in 1..=self.policy.prefetch {
            for &index in &order {
                let slot = &mut self.slots[index];
                if slot.assigned.len() >= depth || slot.given >= budget {
                    continue;
                }
                let Some(chunk) = self.pending.pop_front() else {
                    return (sent, retiring);
                };
                if slot.assigned.is_empty() && slot.state == SlotState::Ready {
                    slot.head_since = Some(now);
                }
                slot.assigned.push_back(chunk);
                slot.given += 1;
                if let Some(book) = self.chunks.get_mut(&chunk) {
                    book.slot = Some(index);
                }
                sent.push((index, chunk));
                if slot.given == budget {
                    retiring.push(index);
                }
            }
        }
        (sent, retiring)
    }

    /// The worker in `slot` is ready.
    pub(crate) fn ready(&mut self, slot: usize, generation: u64, now: Instant) {
        let Some(slot) = self.live_slot(slot, generation) else {
            return;
        };
        if slot.state == SlotState::Starting {
            slot.state = SlotState::Ready;
            slot.head_since = (!slot.assigned.is_empty()).then_some(now);
        }
        self.failed_starts = 0;
    }

    /// The worker in `slot`'s initializer failed (`why`); it exits.
    pub(crate) fn init_failed(
        &mut self,
        slot: usize,
        generation: u64,
        why: String,
    ) -> Vec<(ChunkId, Lost)> {
        let Some(slot) = self.live_slot(slot, generation) else {
            return Vec::new();
        };
        slot.state = SlotState::InitFailed;
        self.failed_start(Broken::Initializer(why));
        self.fail_if_broken()
    }

    /// A worker could not be started in `slot` (`why`): it stays vacant.
    pub(crate) fn start_failed(&mut self, slot: usize, why: String) -> Vec<(ChunkId, Lost)> {
        self.slots[slot].state = SlotState::Vacant;
        self.failed_start(Broken::Start(why));
        self.fail_if_broken()
    }

    fn failed_start(&mut self, why: Broken) {
        self.failed_starts += 1;
        if self.failed_starts >= FAILED_STARTS_BEFORE_GIVING_UP {
            self.broken.get_or_insert(why);
        }
    }

    /// The slot of a worker that has not ended, if `generation` is its.
    fn live_slot(&mut self, slot: usize, generation: u64) -> Option<&mut Slot> {
        let slot = self.slots.get_mut(slot)?;
        (slot.generation == generation && slot.state != SlotState::Vacant).then_some(slot)
    }

    /// A worker said it starts `chunk`.
    pub(crate) fn started(&mut self, chunk: ChunkId) {
        if let Some(book) = self.chunks.get_mut(&chunk) {
            book.started = book.slot.is_some();
        }
    }

    /// A worker reported `chunk` (its outcomes, or why it could not run it): whether the
    /// chunk was in flight (a report of anything else is ignored).
    pub(crate) fn reported(&mut self, chunk: ChunkId, now: Instant) -> bool {
        let Some(book) = self.chunks.get(&chunk) else {
            return false;
        };
        let Some(index) = book.slot else {
            return false;
        };
        let slot = &mut self.slots[index];
        // A worker reports its chunks in the order it was given them.
        if slot.assigned.front() != Some(&chunk) {
            return false;
        }
        slot.assigned.pop_front();
        slot.head_since = (!slot.assigned.is_empty()).then_some(now);
        if slot.timed_out == Some(chunk) {
            // It finished before the kill: its outcome stands; the kill still replaces it.
            slot.timed_out = None;
            slot.ending = true;
        }
        self.chunks.remove(&chunk);
        true
    }

    /// The kernel says the worker in `slot` has ended: it takes nothing more.
    pub(crate) fn ending(&mut self, slot: usize) {
        self.slots[slot].ending = true;
    }

    /// The `Ended` marker of the worker in `slot` (which ended as `death`) came out of the
    /// results queue: what became of its chunks (see the module's documentation). Its slot is
    /// vacant afterwards.
    pub(crate) fn ended(&mut self, slot: usize, generation: u64, death: Death) -> Vec<(ChunkId, Lost)> {
        let retries = self.policy.retries;
        let Some(worker) = self.live_slot(slot, generation) else {
            return Vec::new();
        };
        // A worker that died before it was ready, other than by `SIGKILL` from outside (which
        // says nothing of its start), failed to start: its initializer crashed, say.
        if worker.state == SlotState::Starting && death.status != ExitStatus::Signaled(SIGKILL) {
            self.failed_starts += 1;
        }
        let worker = &mut self.slots[slot];
        let mut assigned = core::mem::take(&mut worker.assigned);
        let timed_out = worker.timed_out.take();
        worker.state = SlotState::Vacant;
        worker.head_since = None;
        let mut lost = Vec::new();
        // Only the first can have started: the worker takes the next once this one's report
        // is in.
        let started = assigned
            .front()
            .and_then(|chunk| self.chunks.get(chunk))
            .is_some_and(|book| book.started);
        if started {
            let running = assigned.pop_front().unwrap_or_default();
            if mutant::FORGETS_THE_DEAD_WORKERS_CHUNK {
                // The mutant: the chunk vanishes from every list, without an outcome.
            } else if let Some(book) = self.chunks.get_mut(&running) {
                book.slot = None;
                book.started = false;
                book.deaths += 1;
                // Killed by us past its deadline; a worker that had died by itself first ended
                // otherwise (a `SIGKILL` from elsewhere just before ours cannot be told apart).
                if timed_out == Some(running) && death.status == ExitStatus::Signaled(SIGKILL) {
                    self.chunks.remove(&running);
                    lost.push((running, Lost::TimedOut { pid: death.pid }));
                } else if book.deaths <= retries {
                    self.retried += 1;
                    self.pending.push_front(running);
                } else {
                    let attempts = book.deaths;
                    self.chunks.remove(&running);
                    lost.push((running, Lost::Died { death, attempts }));
                }
            }
        }
        // Never taken: back to the front, in their order, before a retried one.
        for chunk in assigned.into_iter().rev() {
            if let Some(book) = self.chunks.get_mut(&chunk) {
                book.slot = None;
                book.started = false;
                self.reassigned += 1;
                self.pending.push_front(chunk);
            }
        }
        if self.failed_starts >= FAILED_STARTS_BEFORE_GIVING_UP && self.broken.is_none() {
            self.broken = Some(Broken::Initializer(format!(
                "{FAILED_STARTS_BEFORE_GIVING_UP} workers in a row ended before they were ready; the last {}",
                death.status
            )));
        }
        lost.extend(self.fail_if_broken());
        lost
    }

    /// A worker is starting in the vacant `slot`: its generation.
    pub(crate) fn restart(&mut self, slot: usize) -> u64 {
        let worker = &mut self.slots[slot];
        worker.generation += 1;
        worker.state = SlotState::Starting;
        worker.given = 0;
        worker.ending = false;
        worker.generation
    }

    /// The vacant slots.
    pub(crate) fn vacant(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&slot| self.slots[slot].state == SlotState::Vacant)
            .collect()
    }

    /// Whether any slot's worker is still running (or its marker is on its way).
    pub(crate) fn any_worker(&self) -> bool {
        self.slots.iter().any(|slot| slot.state != SlotState::Vacant)
    }

    /// Once the pool is broken, every pending chunk fails.
    fn fail_if_broken(&mut self) -> Vec<(ChunkId, Lost)> {
        let Some(broken) = &self.broken else {
            return Vec::new();
        };
        let lost: Vec<_> = self
            .pending
            .drain(..)
            .map(|chunk| (chunk, Lost::Broken(broken.clone())))
            .collect();
        for (chunk, _) in &lost {
            self.chunks.remove(chunk);
        }
        lost
    }

    /// The earliest deadline of a running chunk, for the manager's sleep.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let timeout = self.policy.timeout?;
        self.slots
            .iter()
            .filter(|slot| slot.timed_out.is_none())
            .filter_map(|slot| Some(slot.head_since? + self.deadline_of(*slot.assigned.front()?, timeout)))
            .min()
    }

    fn deadline_of(&self, chunk: ChunkId, timeout: Duration) -> Duration {
        let inputs = self.chunks.get(&chunk).map_or(1, |book| book.inputs);
        timeout.saturating_mul(u32::try_from(inputs).unwrap_or(u32::MAX))
    }

    /// The slots whose running chunk is past its deadline at `now`: their workers are to be
    /// killed (each once).
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<usize> {
        let Some(timeout) = self.policy.timeout else {
            return Vec::new();
        };
        let mut expired = Vec::new();
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            let (Some(since), Some(&head), None) =
                (slot.head_since, slot.assigned.front(), slot.timed_out)
            else {
                continue;
            };
            if now >= since + self.deadline_of(head, timeout) {
                self.slots[index].timed_out = Some(head);
                expired.push(index);
            }
        }
        expired
    }

    /// Terminates the pool: every chunk without an outcome fails with
    /// [`Lost::Terminated`].
    pub(crate) fn terminate(&mut self) -> Vec<(ChunkId, Lost)> {
        self.pending.clear();
        for slot in &mut self.slots {
            slot.assigned.clear();
        }
        self.chunks
            .drain()
            .map(|(chunk, _)| (chunk, Lost::Terminated))
            .collect()
    }

}
