//! [`Builder`]: a pool's settings, and how a pool starts: its queues, its first workers,
//! and its manager thread.

use core::fmt;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use message_codec::Codec;
use nix::sys::eventfd::{EfdFlags, EventFd};
use queue_core::{Both, MessageQueue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use spawn_core::StartMethod;

use crate::error::BuildError;
use crate::ledger::{Ledger, Policy};
use crate::manager::{Manager, Recipe, Worker, start_worker};
use crate::pool::{PREFETCH, Pool};
use crate::state::Shared;
use crate::task::{ItemOutcome, Outcomes, Task, TaskCodec};
use crate::wire::{Call, Chunk, Report, WorkerTag};

/// Describes an initializer's failed outcome (its error or panic), typed by the builder.
type DescribeFailure = fn(&[u8]) -> String;

/// A pool's settings: [`Pool::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    workers: Option<usize>,
    method: StartMethod,
    name: String,
    initializer: Option<(Call, DescribeFailure)>,
    max_tasks_per_child: Option<u32>,
    timeout: Option<Duration>,
    retries: u32,
    message_room: usize,
    crash_at: Option<crate::crash::CrashStep>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            workers: None,
            method: StartMethod::default(),
            name: "PoolWorker".into(),
            initializer: None,
            max_tasks_per_child: None,
            timeout: None,
            retries: 0,
            message_room: 1 << 20,
            crash_at: None,
        }
    }
}

impl Builder {
    /// How many workers (Python's `processes`): by default, as many as the CPUs this
    /// process may run on.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// How the workers start (Python's context). Under [`StartMethod::Fork`] the first
    /// workers are forks of this process (which must then run one thread: the pool is built
    /// before any other thread starts); their replacements come from the fork server, since
    /// the pool's own thread then runs.
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = method;
        self
    }

    /// The workers' names: `NAME-1`, `NAME-2`... (`PoolWorker-1` by default).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// A task each worker runs once with `argument`, before it takes any chunk (Python's
    /// `initializer` and `initargs`). A worker whose initializer fails (returns an error,
    /// panics) exits and is replaced; after 3 failures in a row the pool stops starting
    /// workers and every task not run gets [`TaskError::InitializerFailed`](crate::TaskError::InitializerFailed), rather than
    /// respawn for ever.
    pub fn initializer<A: Serialize, E: DeserializeOwned + fmt::Debug>(
        mut self,
        task: Task<A, (), E>,
        argument: A,
    ) -> Self {
        let mut inputs = Vec::new();
        // An argument that does not encode is sent as nothing: the worker's initializer then
        // fails to decode it, and says so.
        let _ = TaskCodec::default().encode_to_vec(core::slice::from_ref(&argument), &mut inputs);
        let call = Call {
            task: task.name().to_owned(),
            inputs,
        };
        self.initializer = Some((call, describe_init_failure::<E>));
        self
    }

    /// After how many chunks a worker exits and is replaced (Python's `maxtasksperchild`):
    /// to give back what a leaky task holds.
    pub fn max_tasks_per_child(mut self, chunks: u32) -> Self {
        self.max_tasks_per_child = Some(chunks.max(1));
        self
    }

    /// How long a task may run: a chunk of `n` inputs, `n` times that. A task past its
    /// deadline gets [`TaskError::TimedOut`](crate::TaskError::TimedOut), and its worker is killed and replaced.
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times a task whose worker died is run again on another worker before it
    /// fails with [`TaskError::WorkerDied`](crate::TaskError::WorkerDied): 0 by default, since a task may not be safe to
    /// run twice (it may have done part of its work before the death).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The room of each worker's queue of chunks, in bytes (1 MiB by default): the largest
    /// chunk of inputs, encoded. The results queue, which all workers share, has twice this
    /// room, and the largest chunk of outcomes is that.
    pub fn message_room(mut self, bytes: usize) -> Self {
        self.message_room = bytes;
        self
    }

    /// Makes each first worker (not its replacements) kill itself at `step` of its loop: for
    /// the fault-injection tests. Exists only in a build with `--cfg pool_faults`; not part of
    /// the API.
    #[cfg(pool_faults)]
    #[doc(hidden)]
    pub fn crash_first_workers_at(mut self, step: crate::crash::CrashStep) -> Self {
        self.crash_at = Some(step);
        self
    }

    /// Starts the workers and the pool's thread.
    ///
    /// # Errors
    ///
    /// [`BuildError`]: a worker could not start ([`WORKER`](crate::WORKER) not registered with
    /// `spawn_core::init`, fork refused in a multithreaded process...), a queue could not be
    /// made, or the settings cannot work. Nothing is left running.
    pub fn build(self) -> Result<Pool, BuildError> {
        let workers = match self.workers {
            Some(0) => return Err(BuildError::Invalid("a pool needs at least one worker")),
            Some(workers) => workers,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        if self.message_room < 2 * MessageQueue::<Chunk>::SLOT {
            return Err(BuildError::Invalid("the message room is less than two slots"));
        }
        let policy = Policy {
            prefetch: PREFETCH,
            max_tasks: self.max_tasks_per_child,
            retries: self.retries,
            timeout: self.timeout,
        };
        let doorbell = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(std::io::Error::from)?;
        let reports = MessageQueue::<Report, Both>::create(2 * self.message_room)?;
        let chunk_limit = self.message_room.div_ceil(MessageQueue::<Chunk>::SLOT)
            * MessageQueue::<Chunk>::SLOT
            - 12;
        let shared = Arc::new(Shared::new(
            Ledger::new(workers, policy),
            doorbell,
            chunk_limit,
        ));
        let (initializer, describe_init_failure) = match self.initializer {
            Some((call, describe)) => (Some(call), describe as DescribeFailure),
            None => (None, describe_init_failure::<crate::Never> as DescribeFailure),
        };
        let recipe = Recipe {
            method: self.method,
            name: self.name,
            initializer,
            describe_init_failure,
            chunk_room: self.message_room,
            crash_at: self.crash_at,
        };
        // A forked worker must be forked while this process runs one thread: before the
        // pool's thread starts. The others start on the pool's thread, so that their
        // parent-death signal is tied to a thread that lives as long as the pool.
        let forked = if self.method == StartMethod::Fork {
            Some(start_all(&recipe, &reports, &shared, workers)?)
        } else {
            None
        };
        let (started_tx, started_rx) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let manager = std::thread::Builder::new()
            .name("process-pool".into())
            .spawn(move || {
                let started = match forked {
                    Some(workers) => Ok(workers),
                    None => start_all(&recipe, &reports, &thread_shared, workers),
                };
                match started {
                    Ok(workers) => {
                        let mut state = thread_shared.lock();
                        state.pids = workers.iter().map(|worker| Some(worker.pid())).collect();
                        state.stats.workers_started = workers.len() as u64;
                        drop(state);
                        let _ = started_tx.send(Ok(()));
                        Manager {
                            shared: thread_shared,
                            recipe,
                            reports,
                            workers: workers.into_iter().map(Some).collect(),
                            markers_out: 0,
                            start_again: None,
                        }
                        .run();
                    }
                    Err(error) => {
                        let _ = started_tx.send(Err(error));
                    }
                }
            })?;
        match started_rx.recv() {
            Ok(Ok(())) => Ok(Pool::started(shared, self.timeout, workers, manager)),
            Ok(Err(error)) => {
                let _ = manager.join();
                Err(error)
            }
            Err(_) => {
                let _ = manager.join();
                Err(BuildError::Invalid("the pool's thread ended before it started the workers"))
            }
        }
    }
}

/// Starts the first worker of every slot; if one cannot start, the others started are
/// dropped (killed and reaped, as daemons).
fn start_all(
    recipe: &Recipe,
    reports: &MessageQueue<Report, Both>,
    shared: &Shared,
    workers: usize,
) -> Result<Vec<Worker>, BuildError> {
    (0..workers)
        .map(|slot| {
            let tag = WorkerTag {
                slot: slot as u32,
                generation: 0,
            };
            start_worker(recipe, reports, shared, tag, recipe.method)
        })
        .collect()
}

/// An initializer's failed outcome, described.
fn describe_init_failure<E: DeserializeOwned + fmt::Debug>(outcome: &[u8]) -> String {
    match TaskCodec::default().decode::<Outcomes<(), E>>(outcome) {
        Ok(Outcomes::Each(outcomes)) => match outcomes.into_iter().next() {
            Some(ItemOutcome::Failed(error)) => format!("the initializer returned {error:?}"),
            Some(ItemOutcome::Panicked(message)) => format!("the initializer panicked: {message}"),
            _ => "the initializer failed".into(),
        },
        Ok(Outcomes::Returned(_)) => "the initializer failed".into(),
        Err(error) => format!("the initializer failed, and its outcome did not decode: {error}"),
    }
}

impl Pool {
    /// A builder, with Python's defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A pool of `workers` workers started with [`StartMethod::Spawn`].
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new(workers: usize) -> Result<Self, BuildError> {
        Self::builder().workers(workers).build()
    }
}
