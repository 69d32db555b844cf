//! The pool's manager: one thread that owns the worker processes and their queues. It sleeps
//! in one `poll` on the doorbell (rung by every report, submission and request) and on the
//! workers' pidfds, and at each wake-up turns what happened into the ledger's events: the
//! kernel's word that a worker ended becomes an `Ended` marker in the results queue, the
//! reports are drained, expired chunks' workers are killed, pending chunks are sent, vacant
//! places get new workers. It never waits for anything else, so nothing a worker does (or
//! fails to do) can stop it.

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use queue_core::{Consumer, MessageQueue, Producer};
use spawn_core::{ExitStatus, Process, ProcessHandle, StartMethod};

use crate::error::BuildError;
use crate::ledger::{ChunkId, Death, Lost};
use crate::state::{ChunkOutcome, Shared, State};
use crate::wire::{Call, Chunk, ChunksIn, Report, ReportsIn, WorkerStart, WorkerTag};
use crate::worker::WORKER;

/// What the manager needs to start a worker.
#[derive(Debug)]
pub(crate) struct Recipe {
    pub(crate) method: StartMethod,
    pub(crate) name: String,
    pub(crate) initializer: Option<Call>,
    /// Describes an initializer's failed outcome (its error or panic), typed by the builder.
    pub(crate) describe_init_failure: fn(&[u8]) -> String,
    /// The room of each worker's chunk queue, in bytes.
    pub(crate) chunk_room: usize,
    /// Where the first workers kill themselves (the fault-injection build's tests).
    pub(crate) crash_at: Option<crate::crash::CrashStep>,
}

/// A running worker, as the manager holds it.
#[derive(Debug)]
pub(crate) struct Worker {
    handle: ProcessHandle,
    chunks: ChunksIn,
    /// Chunks given to it that its queue had no room for yet, oldest first.
    outbox: VecDeque<Chunk>,
    /// Its queue is to be closed once the outbox is sent: it was given its last chunk.
    retiring: bool,
    /// The kernel said it has ended.
    ended: bool,
    /// Its `Ended` marker is in the results queue.
    marked: bool,
    tag: WorkerTag,
}

/// Starts a worker in `slot` (its `generation`th), by `method`.
pub(crate) fn start_worker(
    recipe: &Recipe,
    reports: &ReportsIn,
    shared: &Shared,
    tag: WorkerTag,
    method: StartMethod,
) -> Result<Worker, BuildError> {
    let chunks = MessageQueue::<Chunk, Producer>::create(recipe.chunk_room)?;
    let start = WorkerStart {
        chunks: chunks.try_clone_as::<Consumer>()?,
        reports: reports.try_clone_as::<Producer>()?,
        doorbell: shared.doorbell.as_fd().try_clone_to_owned()?,
        worker: tag,
        initializer: recipe.initializer.clone(),
        crash_at: recipe.crash_at,
    };
    let handle = Process::new(WORKER, start)
        .start_method(method)
        .name(format!("{}-{}", recipe.name, tag.slot + 1))
        .daemon(true)
        .die_with_parent(true)
        .start()?;
    Ok(Worker {
        handle,
        chunks,
        outbox: VecDeque::new(),
        retiring: false,
        ended: false,
        marked: false,
        tag,
    })
}

impl Worker {
    /// Its process id.
    pub(crate) fn pid(&self) -> i32 {
        self.handle.pid()
    }
}

/// The manager thread's state.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) shared: Arc<Shared>,
    pub(crate) recipe: Recipe,
    pub(crate) reports: ReportsIn,
    pub(crate) workers: Vec<Option<Worker>>,
    /// `Ended` markers pushed and not yet taken out of the results queue.
    pub(crate) markers_out: usize,
    /// When to try again to start the workers that could not be started.
    pub(crate) start_again: Option<Instant>,
}

/// How soon the manager looks at the results queue again while a marker is in it: the
/// reports before the marker may wait behind a slot its dead worker claimed and never wrote,
/// which the queue passes over only once it has looked stuck for a while (tens of
/// microseconds), and no one rings the doorbell for that.
const MARKER_RECHECK: Duration = Duration::from_millis(1);

/// How long the manager waits before it tries again to start a worker that could not be
/// started (the system refused a process, say).
const START_AGAIN_AFTER: Duration = Duration::from_millis(100);

impl Manager {
    /// Runs until the pool is terminated, or closed with every chunk done.
    pub(crate) fn run(mut self) {
        loop {
            let ended = self.sleep();
            let _ = self.shared.doorbell.read();
            let shared = Arc::clone(&self.shared);
            let mut state = shared.lock();
            let now = Instant::now();
            self.drain(&mut state, now);
            self.mark_ended(&mut state, &ended);
            self.drain(&mut state, now);
            for slot in state.ledger.expired(now) {
                if let Some(worker) = &self.workers[slot] {
                    let _ = worker.handle.kill();
                }
            }
            if state.terminating {
                self.terminate(&mut state);
                drop(state);
                shared.notify();
                return;
            }
            self.dispatch(&mut state, now);
            if state.closed && state.ledger.is_idle() {
                for worker in self.workers.iter_mut().flatten() {
                    worker.retiring = true;
                }
            }
            self.flush();
            let state = self.replace(&shared, state);
            let done = state.closed && state.ledger.is_idle() && !state.ledger.any_worker();
            drop(state);
            shared.notify();
            if done {
                shared.lock().stopped = true;
                shared.notify();
                return;
            }
        }
    }

    /// Sleeps until the doorbell rings, a worker ends, or the next chunk's deadline; returns
    /// the slots whose worker has ended.
    fn sleep(&self) -> Vec<usize> {
        let now = Instant::now();
        let deadline = [
            self.shared.lock().ledger.next_deadline(),
            (self.markers_out > 0).then(|| now + MARKER_RECHECK),
            self.start_again,
        ]
        .into_iter()
        .flatten()
        .min();
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // Rounded up, so that the wake-up comes after the deadline, not just before.
                let millis = left.as_millis().saturating_add(1);
                PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
            }
        };
        let watched: Vec<usize> = (0..self.workers.len())
            .filter(|&slot| self.workers[slot].as_ref().is_some_and(|w| !w.ended))
            .collect();
        let mut fds = vec![PollFd::new(self.shared.doorbell.as_fd(), PollFlags::POLLIN)];
        fds.extend(watched.iter().filter_map(|&slot| {
            let worker = self.workers[slot].as_ref()?;
            Some(PollFd::new(worker.handle.sentinel(), PollFlags::POLLIN))
        }));
        // EINTR, or any other failure, is a wake-up like another: the loop looks at everything.
        let _ = poll(&mut fds, timeout);
        watched
            .iter()
            .zip(&fds[1..])
            .filter(|(_, fd)| fd.revents().is_some_and(|events| !events.is_empty()))
            .map(|(&slot, _)| slot)
            .collect()
    }

    /// Pushes the `Ended` marker of each worker in `ended` whose marker is not in yet (a full
    /// queue leaves it for the next wake-up, once the drain has made room).
    fn mark_ended(&mut self, state: &mut State, ended: &[usize]) {
        for &slot in ended {
            state.ledger.ending(slot);
            if let Some(worker) = &mut self.workers[slot] {
                worker.ended = true;
            }
        }
        for worker in self.workers.iter_mut().flatten() {
            if worker.ended
                && !worker.marked
                && self.reports.try_push(Report::Ended(worker.tag)).is_ok()
            {
                worker.marked = true;
                self.markers_out += 1;
            }
        }
    }

    /// Takes every report in the results queue and turns it into the ledger's events.
    fn drain(&mut self, state: &mut State, now: Instant) {
        while let Ok(report) = self.reports.try_pop() {
            match report {
                Report::Ready(tag) => state.ledger.ready(tag.slot as usize, tag.generation, now),
                Report::InitFailed { worker, outcome } => {
                    let why = (self.recipe.describe_init_failure)(&outcome);
                    let lost = state
                        .ledger
                        .init_failed(worker.slot as usize, worker.generation, why);
                    deliver_lost(state, lost);
                }
                Report::Started { chunk } => state.ledger.started(chunk),
                Report::Done { chunk, outcomes } => {
                    self.reported(state, chunk, ChunkOutcome::Done(outcomes), now);
                }
                Report::Refused { chunk, reason } => {
                    self.reported(state, chunk, ChunkOutcome::Refused(reason), now);
                }
                Report::Ended(tag) => {
                    self.markers_out = self.markers_out.saturating_sub(1);
                    self.ended(state, tag);
                }
            }
        }
    }

    fn reported(&mut self, state: &mut State, chunk: ChunkId, outcome: ChunkOutcome, now: Instant) {
        if state.ledger.reported(chunk, now) {
            state.deliver(chunk, outcome);
        } else {
            state.stats.stray_outcomes += 1;
        }
    }

    /// A worker's marker: its process is reaped, and the ledger says what became of its
    /// chunks.
    fn ended(&mut self, state: &mut State, tag: WorkerTag) {
        let slot = tag.slot as usize;
        let Some(worker) = self.workers[slot].take_if(|worker| worker.tag == tag) else {
            return;
        };
        let status = worker.handle.join().unwrap_or(ExitStatus::Lost);
        state.pids[slot] = None;
        if !status.success() {
            state.stats.workers_lost += 1;
        }
        let death = Death {
            pid: worker.handle.pid(),
            status,
        };
        let lost = state.ledger.ended(slot, tag.generation, death);
        deliver_lost(state, lost);
    }

    /// Gives pending chunks to workers with room.
    fn dispatch(&mut self, state: &mut State, now: Instant) {
        let (sent, retiring) = state.ledger.dispatch(now);
        for (slot, chunk) in sent {
            let Some(inflight) = state.inflight.get(&chunk) else {
                continue;
            };
            if let Some(worker) = &mut self.workers[slot] {
                worker.outbox.push_back(Chunk {
                    id: chunk,
                    task: inflight.task.to_owned(),
                    inputs: inflight.inputs.clone(),
                });
            }
        }
        for slot in retiring {
            if let Some(worker) = &mut self.workers[slot] {
                worker.retiring = true;
            }
        }
    }

    /// Sends what each worker's queue has room for, and closes the queue of a worker whose
    /// last chunk is sent.
    fn flush(&mut self) {
        for worker in self.workers.iter_mut().flatten() {
            while let Some(chunk) = worker.outbox.pop_front() {
                if let Err(unsent) = worker.chunks.try_push(chunk) {
                    worker.outbox.push_front(unsent.into_inner());
                    break;
                }
            }
            if worker.retiring && worker.outbox.is_empty() {
                worker.chunks.close();
            }
        }
    }

    /// Starts workers in the vacant places, unless the pool is done with them; the lock is
    /// let go while they start.
    fn replace<'s>(&mut self, shared: &'s Shared, mut state: MutexGuard<'s, State>) -> MutexGuard<'s, State> {
        let wanted = !state.terminating
            && state.ledger.broken().is_none()
            && !(state.closed && state.ledger.is_idle());
        if !wanted {
            return state;
        }
        let vacant = state.ledger.vacant();
        if vacant.is_empty() || self.start_again.is_some_and(|at| Instant::now() < at) {
            return state;
        }
        self.start_again = None;
        let tags: Vec<WorkerTag> = vacant
            .iter()
            .map(|&slot| WorkerTag {
                slot: slot as u32,
                generation: state.ledger.restart(slot),
            })
            .collect();
        drop(state);
        // A process running this thread must not fork: a forked pool's replacements come
        // from the fork server, which forks from a single-threaded process of its own.
        let method = match self.recipe.method {
            StartMethod::Fork => StartMethod::ForkServer,
            method => method,
        };
        let started: Vec<_> = tags
            .iter()
            .map(|&tag| start_worker(&self.recipe, &self.reports, &self.shared, tag, method))
            .collect();
        let mut state = shared.lock();
        for (tag, worker) in tags.into_iter().zip(started) {
            match worker {
                Ok(worker) => {
                    state.stats.workers_started += 1;
                    state.pids[tag.slot as usize] = Some(worker.handle.pid());
                    self.workers[tag.slot as usize] = Some(worker);
                }
                Err(why) => {
                    self.start_again = Some(Instant::now() + START_AGAIN_AFTER);
                    let lost = state.ledger.start_failed(tag.slot as usize, why.to_string());
                    deliver_lost(&mut state, lost);
                }
            }
        }
        state
    }

    /// Kills every worker and fails every chunk without an outcome.
    fn terminate(&mut self, state: &mut State) {
        for worker in self.workers.iter().flatten() {
            let _ = worker.handle.kill();
        }
        for worker in self.workers.iter_mut().filter_map(Option::take) {
            let _ = worker.handle.join();
        }
        state.pids.iter_mut().for_each(|pid| *pid = None);
        let lost = state.ledger.terminate();
        deliver_lost(state, lost);
        state.stopped = true;
    }
}

fn deliver_lost(state: &mut State, lost: Vec<(ChunkId, Lost)>) {
    for (chunk, lost) in lost {
        state.deliver(chunk, ChunkOutcome::Lost(lost));
    }
}
