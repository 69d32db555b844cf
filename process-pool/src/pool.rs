//! [`Pool`]: Python's `multiprocessing.Pool` and `ProcessPoolExecutor`, and its maps.

use core::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::calls::{ChunkOutcomes, Outcome, PoolRef, Stream, TaskHandle};
use crate::error::MapError;
use crate::state::{PoolStats, Shared};
use crate::task::Task;

/// How many chunks a worker is given before it reports the first.
pub(crate) const PREFETCH: usize = 2;

/// How many chunks an `imap` keeps out per worker: enough that no worker waits for the
/// caller, few enough that the inputs read ahead stay bounded.
const IMAP_CHUNKS_PER_WORKER: usize = 2 * PREFETCH;

/// A pool of worker processes that run [`Task`]s: Python's `multiprocessing.Pool` and
/// `concurrent.futures.ProcessPoolExecutor`, where any worker may die at any instruction.
///
/// A worker that dies (killed, out of memory, crashed) never blocks the pool or its callers:
/// the pool learns of the death from the kernel (a pidfd), the task it was running gets
/// [`TaskError::WorkerDied`](crate::TaskError::WorkerDied) (or runs again, if [`Builder::retries`](crate::Builder::retries) says so), the tasks it
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

impl Pool {
    /// The pool whose workers and manager thread have started.
    pub(crate) fn started(
        shared: Arc<Shared>,
        timeout: Option<Duration>,
        workers: usize,
        manager: JoinHandle<()>,
    ) -> Self {
        Self {
            shared,
            timeout,
            workers,
            manager: Mutex::new(Some(manager)),
        }
    }

    /// What its calls need of it.
    fn as_ref(&self) -> PoolRef<'_> {
        PoolRef {
            shared: &self.shared,
            timeout: self.timeout,
        }
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
        TaskHandle::submit(self.as_ref(), task, input)
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
        let mut stream = Stream::new(self.pool.as_ref(), task, inputs, self.chunksize, usize::MAX);
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
        let mut stream = Stream::new(self.pool.as_ref(), task, inputs, self.chunksize, usize::MAX);
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
            stream: Stream::new(self.pool.as_ref(), task, inputs.into_iter(), self.chunksize, self.window()),
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
            stream: Stream::new(self.pool.as_ref(), task, inputs.into_iter(), self.chunksize, self.window()),
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
