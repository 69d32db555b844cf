//! [`Pool`]: Python's `multiprocessing.Pool` and `ProcessPoolExecutor`, and its [`Builder`].

use core::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use message_codec::Codec;
use nix::sys::eventfd::{EfdFlags, EventFd};
use queue_core::{Both, MessageQueue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use spawn_core::StartMethod;

use crate::calls::{ChunkOutcomes, Outcome, Stream, TaskHandle};
use crate::error::{BuildError, MapError};
use crate::ledger::{Ledger, Policy};
use crate::manager::{Manager, Recipe, Worker, start_worker};
use crate::state::{PoolStats, Shared};
use crate::task::{ItemOutcome, Outcomes, Task, TaskCodec};
use crate::wire::{Call, Chunk, Report, WorkerTag};

/// How many chunks a worker is given before it reports the first.
const PREFETCH: usize = 2;

/// How many chunks an `imap` keeps out per worker: enough that no worker waits for the
/// caller, few enough that the inputs read ahead stay bounded.
const IMAP_CHUNKS_PER_WORKER: usize = 2 * PREFETCH;

/// A pool of worker processes that run [`Task`]s: Python's `multiprocessing.Pool` and
/// `concurrent.futures.ProcessPoolExecutor`, where any worker may die at any instruction.
///
/// A worker that dies (killed, out of memory, crashed) never blocks the pool or its callers:
/// the pool learns of the death from the kernel (a pidfd), the task it was running gets
/// [`TaskError::WorkerDied`](crate::TaskError::WorkerDied) (or runs again, if [`Builder::retries`] says so), the tasks it
/// had not started run on the other workers, and a new worker takes its place. Every task
/// submitted gets exactly one outcome.
///
/// Dropping the pool terminates it (as Python's `with Pool(...)` does): its workers are
/// killed and reaped, and it never waits for a task. [`join`](Self::join) waits for every
/// task first.
///
/// # Examples
///
/// ```no_run
/// use process_pool::{Pool, Task, WORKER, task};
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
/// const SQUARE: Task<u64, u64> = task!(square);
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     spawn_core::init(&[&WORKER, &SQUARE]); // a worker runs here, and exits
///     let pool = Pool::builder().workers(4).build()?;
///     let squares = pool.map(SQUARE, 0..10)?;
///     assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
///     Ok(())
/// }
/// ```
pub struct Pool {
    pub(crate) shared: Arc<Shared>,
    pub(crate) timeout: Option<Duration>,
    workers: usize,
    manager: Mutex<Option<JoinHandle<()>>>,
}

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
            Ok(Ok(())) => Ok(Pool {
                shared,
                timeout: self.timeout,
                workers,
                manager: Mutex::new(Some(manager)),
            }),
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

    /// How many workers it keeps running.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The process ids of the workers running now, by place (`None` for a place whose worker
    /// has ended and is being replaced).
    pub fn worker_pids(&self) -> Vec<Option<i32>> {
        self.shared.lock().pids.clone()
    }

    /// What the pool has done since it was built: workers started and lost, outcomes,
    /// retries.
    pub fn stats(&self) -> PoolStats {
        let state = self.shared.lock();
        let (retried, reassigned) = state.ledger.moved();
        PoolStats {
            retried,
            reassigned,
            ..state.stats
        }
    }

    /// Python's default chunk size for a map of `inputs` inputs: about four chunks per worker.
    fn default_chunksize(&self, inputs: usize) -> usize {
        inputs.div_ceil(self.workers * 4).max(1)
    }

    /// Runs `task` on every input, in chunks of Python's default size (about four per
    /// worker), and returns the values in input order, or the first task (in input order)
    /// without one. For a task of several arguments (Python's `starmap`), make its input a
    /// tuple.
    ///
    /// Returning early on an error cancels the chunks no worker has started.
    ///
    /// # Errors
    ///
    /// [`MapError`]: the first task without a value, with its index.
    #[doc(alias = "starmap")]
    pub fn map<A, R, E>(
        &self,
        task: Task<A, R, E>,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, MapError<E>>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
    {
        let inputs: Vec<A> = inputs.into_iter().collect();
        self.chunked(self.default_chunksize(inputs.len())).map(task, inputs)
    }

    /// Runs `task` on every input, as [`map`](Self::map), and returns every input's outcome,
    /// in input order.
    pub fn map_outcomes<A, R, E>(
        &self,
        task: Task<A, R, E>,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Outcome<R, E>>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
    {
        let inputs: Vec<A> = inputs.into_iter().collect();
        self.chunked(self.default_chunksize(inputs.len()))
            .map_outcomes(task, inputs)
    }

    /// Runs `task` on the inputs as they are read, one per chunk (Python's default), and
    /// yields their outcomes in input order: a bounded number of inputs is read ahead of the
    /// outcomes taken, so an endless iterator works in bounded memory.
    pub fn imap<A, R, E, I>(&self, task: Task<A, R, E>, inputs: I) -> Imap<'_, A, R, E, I::IntoIter>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
        I: IntoIterator<Item = A>,
    {
        self.chunked(1).imap(task, inputs)
    }

    /// As [`imap`](Self::imap), yielding each outcome as it comes, with its input's index.
    pub fn imap_unordered<A, R, E, I>(
        &self,
        task: Task<A, R, E>,
        inputs: I,
    ) -> ImapUnordered<'_, A, R, E, I::IntoIter>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
        I: IntoIterator<Item = A>,
    {
        self.chunked(1).imap_unordered(task, inputs)
    }

    /// The maps with chunks of `chunksize` inputs (Python's `chunksize` argument).
    pub fn chunked(&self, chunksize: usize) -> Chunked<'_> {
        Chunked {
            pool: self,
            chunksize: chunksize.max(1),
        }
    }

    /// Runs `task` on `input` and waits for its outcome (Python's `apply`).
    ///
    /// # Errors
    ///
    /// [`TaskError`](crate::TaskError): why it has no value.
    pub fn apply<A, R, E>(&self, task: Task<A, R, E>, input: A) -> Outcome<R, E>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
    {
        self.submit(task, input).get()
    }

    /// Submits `task` on `input`, and returns its handle (Python's `apply_async`, and
    /// `ProcessPoolExecutor.submit`).
    #[doc(alias = "apply_async")]
    pub fn submit<A, R, E>(&self, task: Task<A, R, E>, input: A) -> TaskHandle<'_, R, E>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
    {
        TaskHandle::submit(self, task, input)
    }

    /// Takes no new tasks (Python's `close`): a task submitted from now on gets
    /// [`TaskError::Closed`](crate::TaskError::Closed). The ones submitted run to their end.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.ring();
    }

    /// Closes the pool, waits for every task submitted to end and for the workers to exit
    /// (Python's `close` then `join`).
    pub fn join(self) {
        self.close();
        self.wait_for_manager();
    }

    /// Kills the workers at once (Python's `terminate`): every task without an outcome gets
    /// [`TaskError::Terminated`](crate::TaskError::Terminated). Dropping the pool does this too.
    pub fn terminate(&self) {
        self.shared.lock().terminating = true;
        self.shared.ring();
        self.wait_for_manager();
    }

    fn wait_for_manager(&self) {
        let manager = self
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(manager) = manager {
            let _ = manager.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A pool's maps with a chunk size of the caller's: [`Pool::chunked`].
#[derive(Clone, Copy, Debug)]
pub struct Chunked<'p> {
    pool: &'p Pool,
    chunksize: usize,
}

impl<'p> Chunked<'p> {
    /// As [`Pool::map`], in chunks of this size.
    ///
    /// # Errors
    ///
    /// As [`Pool::map`].
    pub fn map<A, R, E>(
        self,
        task: Task<A, R, E>,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, MapError<E>>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
    {
        let inputs = inputs.into_iter();
        let mut values = Vec::with_capacity(inputs.size_hint().0);
        let mut stream = Stream::new(self.pool, task, inputs, self.chunksize, usize::MAX);
        while let Some((first, outcomes)) = stream.next_chunk(true) {
            match outcomes {
                ChunkOutcomes::Returned(mut returned) => values.append(&mut returned),
                ChunkOutcomes::Each(outcomes) => {
                    for (index, outcome) in (first..).zip(outcomes) {
                        match outcome {
                            Ok(value) => values.push(value),
                            Err(error) => return Err(MapError { index, error }),
                        }
                    }
                }
            }
        }
        Ok(values)
    }

    /// As [`Pool::map_outcomes`], in chunks of this size.
    pub fn map_outcomes<A, R, E>(
        self,
        task: Task<A, R, E>,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Outcome<R, E>>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
    {
        let inputs = inputs.into_iter();
        let mut all = Vec::with_capacity(inputs.size_hint().0);
        let mut stream = Stream::new(self.pool, task, inputs, self.chunksize, usize::MAX);
        while let Some((_, outcomes)) = stream.next_chunk(true) {
            match outcomes {
                ChunkOutcomes::Returned(values) => all.extend(values.into_iter().map(Ok)),
                ChunkOutcomes::Each(mut outcomes) => all.append(&mut outcomes),
            }
        }
        all
    }

    /// As [`Pool::imap`], in chunks of this size.
    pub fn imap<A, R, E, I>(self, task: Task<A, R, E>, inputs: I) -> Imap<'p, A, R, E, I::IntoIter>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
        I: IntoIterator<Item = A>,
    {
        Imap {
            stream: Stream::new(self.pool, task, inputs.into_iter(), self.chunksize, self.window()),
        }
    }

    /// As [`Pool::imap_unordered`], in chunks of this size.
    pub fn imap_unordered<A, R, E, I>(
        self,
        task: Task<A, R, E>,
        inputs: I,
    ) -> ImapUnordered<'p, A, R, E, I::IntoIter>
    where
        A: Serialize,
        R: DeserializeOwned,
        E: DeserializeOwned,
        I: IntoIterator<Item = A>,
    {
        ImapUnordered {
            stream: Stream::new(self.pool, task, inputs.into_iter(), self.chunksize, self.window()),
        }
    }

    fn window(self) -> usize {
        self.pool.workers * IMAP_CHUNKS_PER_WORKER
    }
}

/// The outcomes of [`Pool::imap`], in input order.
#[derive(Debug)]
pub struct Imap<'p, A, R, E, I: Iterator<Item = A>> {
    stream: Stream<'p, A, R, E, I>,
}

impl<A, R, E, I> Imap<'_, A, R, E, I>
where
    A: Serialize,
    R: DeserializeOwned,
    E: DeserializeOwned,
    I: Iterator<Item = A>,
{
    /// How many inputs have been read whose outcomes have not been taken: at most the
    /// window (a few chunks per worker).
    pub fn in_flight(&self) -> usize {
        self.stream.in_flight()
    }
}

impl<A, R, E, I> Iterator for Imap<'_, A, R, E, I>
where
    A: Serialize,
    R: DeserializeOwned,
    E: DeserializeOwned,
    I: Iterator<Item = A>,
{
    type Item = Outcome<R, E>;

    fn next(&mut self) -> Option<Self::Item> {
        self.stream.next_item(true).map(|(_, outcome)| outcome)
    }
}

/// The outcomes of [`Pool::imap_unordered`], as they come, each with its input's index.
#[derive(Debug)]
pub struct ImapUnordered<'p, A, R, E, I: Iterator<Item = A>> {
    stream: Stream<'p, A, R, E, I>,
}

impl<A, R, E, I> Iterator for ImapUnordered<'_, A, R, E, I>
where
    A: Serialize,
    R: DeserializeOwned,
    E: DeserializeOwned,
    I: Iterator<Item = A>,
{
    type Item = (usize, Outcome<R, E>);

    fn next(&mut self) -> Option<Self::Item> {
        self.stream.next_item(false)
    }
}
