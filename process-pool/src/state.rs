//! What the pool's callers and its manager thread share: the ledger, the inputs of the chunks
//! in flight, and the outcomes not yet taken, under one lock, with a condition variable that
//! the manager signals when outcomes arrive.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;

use crate::ledger::{ChunkId, Ledger, Lost};
use crate::wire::ring;

/// A chunk's outcome, as the pool holds it until its caller takes it.
#[derive(Debug)]
pub(crate) enum ChunkOutcome {
    /// The worker ran it: its outcomes, an `Outcomes<R, E>` encoded.
    Done(Vec<u8>),
    /// The worker could not run it: why.
    Refused(String),
    /// No worker reported it: what became of it.
    Lost(Lost),
}

/// A chunk waiting for a worker, or running.
#[derive(Debug)]
pub(crate) struct Inflight {
    pub(crate) task: &'static str,
    pub(crate) inputs: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) ledger: Ledger,
    pub(crate) inflight: HashMap<ChunkId, Inflight>,
    outcomes: HashMap<ChunkId, ChunkOutcome>,
    /// Chunks whose caller is gone: their outcome is dropped when it comes.
    abandoned: HashSet<ChunkId>,
    next_chunk: ChunkId,
    /// No new chunks (`close`).
    pub(crate) closed: bool,
    /// Every chunk to fail, every worker to be killed (`terminate`).
    pub(crate) terminating: bool,
    /// The manager has stopped: every chunk has its outcome, and no worker runs.
    pub(crate) stopped: bool,
    /// The process id of each slot's worker, while it has one.
    pub(crate) pids: Vec<Option<i32>>,
    pub(crate) stats: PoolStats,
}

impl State {
    /// Records `outcome` for `chunk`, which was in flight, for its caller (if it still wants
    /// it). An outcome for a chunk not in flight (it has one already) is counted, and dropped.
    pub(crate) fn deliver(&mut self, chunk: ChunkId, outcome: ChunkOutcome) {
        if self.inflight.remove(&chunk).is_none() {
            self.stats.stray_outcomes += 1;
            return;
        }
        self.stats.outcomes += 1;
        if !self.abandoned.remove(&chunk) {
            self.outcomes.insert(chunk, outcome);
        }
    }

    /// Records the outcome of a chunk that was never in flight (refused at once).
    fn answer(&mut self, chunk: ChunkId, outcome: ChunkOutcome) {
        self.stats.outcomes += 1;
        self.outcomes.insert(chunk, outcome);
    }
}

/// What a pool has done since it was built: [`Pool::stats`](crate::Pool::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Workers started, the first ones included.
    pub workers_started: u64,
    /// Workers that ended with anything but exit code 0 (killed, crashed, timed out, their
    /// initializer failed); those retired by `max_tasks_per_child` or the pool's close exit
    /// with 0.
    pub workers_lost: u64,
    /// Chunks that got their outcome (a chunk is a map's unit of work; a `submit` is one).
    pub outcomes: u64,
    /// Chunks run again after their worker died running them ([`retries`](crate::Builder::retries)).
    pub retried: u64,
    /// Chunks given to a worker that died before it started them, given to another.
    pub reassigned: u64,
    /// Outcomes for chunks that had one already, or reports of chunks not in flight: none
    /// ever, unless the pool's bookkeeping is wrong (the tests check that it stays 0).
    pub stray_outcomes: u64,
}

/// The pool's shared state, and how its manager is woken.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// An eventfd the manager polls: written after a submission, a report, or a request.
    pub(crate) doorbell: EventFd,
    /// The largest chunk (its inputs and task name, encoded) a worker's queue carries.
    pub(crate) chunk_limit: usize,
}

/// Room for a chunk's number and the lengths postcard writes before its name and inputs.
const CHUNK_OVERHEAD: usize = 32;

impl Shared {
    pub(crate) fn new(ledger: Ledger, doorbell: EventFd, chunk_limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                ledger,
                inflight: HashMap::new(),
                outcomes: HashMap::new(),
                abandoned: HashSet::new(),
                next_chunk: 0,
                closed: false,
                terminating: false,
                stopped: false,
                pids: Vec::new(),
                stats: PoolStats::default(),
            }),
            changed: Condvar::new(),
            doorbell,
            chunk_limit,
        }
    }

    /// The state, locked. A panic while it was held (none is expected: nothing in it panics)
    /// leaves it consistent: every change to it is a single step.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the callers waiting for outcomes.
    pub(crate) fn notify(&self) {
        self.changed.notify_all();
    }

    /// Wakes the manager.
    pub(crate) fn ring(&self) {
        ring(&self.doorbell);
    }

    /// Submits a chunk of `count` inputs of `task`, encoded as `inputs`: its number.
    pub(crate) fn submit(&self, task: &'static str, inputs: Vec<u8>, count: usize) -> ChunkId {
        let mut state = self.lock();
        let chunk = state.next_chunk;
        state.next_chunk += 1;
        let bytes = inputs.len() + task.len() + CHUNK_OVERHEAD;
        let refused = if state.closed || state.terminating || state.stopped {
            Some(Lost::Closed)
        } else if bytes > self.chunk_limit {
            Some(Lost::TooLarge {
                bytes,
                limit: self.chunk_limit,
            })
        } else {
            state.ledger.submit(chunk, count)
        };
        match refused {
            Some(lost) => state.answer(chunk, ChunkOutcome::Lost(lost)),
            None => {
                state.inflight.insert(chunk, Inflight { task, inputs });
                drop(state);
                self.ring();
            }
        }
        chunk
    }

    /// A chunk that cannot be sent (`why`), with its outcome at once: its number.
    pub(crate) fn refuse(&self, why: String) -> ChunkId {
        let mut state = self.lock();
        let chunk = state.next_chunk;
        state.next_chunk += 1;
        state.answer(chunk, ChunkOutcome::Refused(why));
        chunk
    }

    /// Waits until one of `chunks` has its outcome, until `deadline` at most (`None`: no
    /// limit), and takes it.
    pub(crate) fn take_any(
        &self,
        chunks: &[ChunkId],
        deadline: Option<Instant>,
    ) -> Option<(ChunkId, ChunkOutcome)> {
        if chunks.is_empty() {
            return None;
        }
        let mut state = self.lock();
        loop {
            if let Some(&chunk) = chunks.iter().find(|c| state.outcomes.contains_key(c)) {
                let outcome = state.outcomes.remove(&chunk)?;
                return Some((chunk, outcome));
            }
            state = match deadline {
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left == Duration::ZERO {
                        return None;
                    }
                    self.changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Whether `chunk`'s outcome is here.
    pub(crate) fn has_outcome(&self, chunk: ChunkId) -> bool {
        self.lock().outcomes.contains_key(&chunk)
    }

    /// Cancels `chunk` if no worker was given it: whether it was.
    pub(crate) fn cancel(&self, chunk: ChunkId) -> bool {
        let mut state = self.lock();
        let cancelled = state.ledger.cancel(chunk);
        if cancelled {
            state.deliver(chunk, ChunkOutcome::Lost(Lost::Cancelled));
        }
        drop(state);
        if cancelled {
            self.notify();
        }
        cancelled
    }

    /// The caller of `chunks` is gone: the waiting ones are cancelled, and the outcomes of the
    /// others are dropped, now or when they come.
    pub(crate) fn abandon(&self, chunks: impl IntoIterator<Item = ChunkId>) {
        let mut state = self.lock();
        for chunk in chunks {
            if state.ledger.cancel(chunk) {
                // Never given to a worker: no outcome will come.
                state.inflight.remove(&chunk);
            } else if state.outcomes.remove(&chunk).is_none() && state.inflight.contains_key(&chunk) {
                // Running: its outcome is dropped when it comes.
                state.abandoned.insert(chunk);
            }
        }
    }
}
