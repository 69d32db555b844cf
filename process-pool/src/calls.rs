//! How a call's inputs become chunks and its chunks' outcomes become each input's outcome:
//! [`Stream`], which every map and imap runs on, and [`TaskHandle`], one task's.

use core::fmt;
use core::marker::PhantomData;
use std::collections::VecDeque;
use std::iter::Fuse;
use std::time::{Duration, Instant};

use message_codec::Codec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::TaskError;
use crate::ledger::ChunkId;
use crate::state::{ChunkOutcome, Shared};
use crate::task::{ItemOutcome, Outcomes, Task, TaskCodec};

/// One input's outcome.
pub(crate) type Outcome<R, E> = Result<R, TaskError<E>>;

/// What a call needs of its pool: the shared state, and the timeout its errors name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolRef<'p> {
    pub(crate) shared: &'p Shared,
    pub(crate) timeout: Option<Duration>,
}

/// Encodes `inputs` and submits them as one chunk of `task`; its number.
fn submit_chunk<A: Serialize, R, E>(pool: PoolRef<'_>, task: Task<A, R, E>, inputs: &[A]) -> ChunkId {
    // Room for the inputs as they are in memory: most encode smaller (varints), so the vector
    // rarely grows while it is written.
    let mut bytes = Vec::with_capacity(core::mem::size_of_val(inputs) + 16);
    match TaskCodec::default().encode_to_vec(inputs, &mut bytes) {
        Ok(()) => pool.shared.submit(task.name(), bytes, inputs.len()),
        Err(error) => pool.shared.refuse(format!("its inputs did not encode: {error}")),
    }
}

/// The outcomes of a chunk's inputs, in input order: its values alone when every task
/// returned (the common case, taken whole by a map), or each input's outcome.
#[derive(Debug)]
pub(crate) enum ChunkOutcomes<R, E> {
    Returned(Vec<R>),
    Each(Vec<Outcome<R, E>>),
}

impl<R, E> ChunkOutcomes<R, E> {
    fn len(&self) -> usize {
        match self {
            Self::Returned(values) => values.len(),
            Self::Each(outcomes) => outcomes.len(),
        }
    }

    /// One by one.
    fn into_items(self) -> Items<R, E> {
        match self {
            Self::Returned(values) => Items::Returned(values.into_iter()),
            Self::Each(outcomes) => Items::Each(outcomes.into_iter()),
        }
    }
}

/// A chunk's outcomes, one by one.
#[derive(Debug)]
enum Items<R, E> {
    Returned(std::vec::IntoIter<R>),
    Each(std::vec::IntoIter<Outcome<R, E>>),
}

impl<R, E> Iterator for Items<R, E> {
    type Item = Outcome<R, E>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Returned(values) => values.next().map(Ok),
            Self::Each(outcomes) => outcomes.next(),
        }
    }
}

/// The outcomes of a chunk of `count` inputs.
fn outcomes<R: DeserializeOwned, E: DeserializeOwned>(
    outcome: ChunkOutcome,
    count: usize,
    timeout: Option<Duration>,
) -> ChunkOutcomes<R, E> {
    let every = |error: &dyn Fn() -> TaskError<E>| {
        ChunkOutcomes::Each((0..count).map(|_| Err(error())).collect())
    };
    let decoded = match outcome {
        ChunkOutcome::Done(bytes) => match TaskCodec::default().decode::<Outcomes<R, E>>(&bytes) {
            Ok(Outcomes::Returned(values)) => ChunkOutcomes::Returned(values),
            Ok(Outcomes::Each(items)) => ChunkOutcomes::Each(
                items
                    .into_iter()
                    .map(|item| match item {
                        ItemOutcome::Returned(value) => Ok(value),
                        ItemOutcome::Failed(error) => Err(TaskError::Failed(error)),
                        ItemOutcome::Panicked(message) => Err(TaskError::Panicked(message)),
                    })
                    .collect(),
            ),
            Err(error) => return every(&|| TaskError::Undecodable(error.to_string())),
        },
        ChunkOutcome::Refused(why) => return every(&|| TaskError::Refused(why.clone())),
        ChunkOutcome::Lost(lost) => return every(&|| TaskError::lost(&lost, timeout)),
    };
    if decoded.len() == count {
        decoded
    } else {
        let came = decoded.len();
        every(&|| TaskError::Undecodable(format!("{came} outcomes came back for {count} inputs")))
    }
}

/// A chunk submitted for a stream: its number, its first input's index, how many inputs.
#[derive(Debug)]
struct Submitted {
    chunk: ChunkId,
    first: usize,
    count: usize,
}

/// A call's inputs, read lazily and sent in chunks, at most `window` chunks ahead of the
/// outcomes taken; and the outcomes, in input order or as they come.
pub(crate) struct Stream<'p, A, R, E, I: Iterator<Item = A>> {
    pool: PoolRef<'p>,
    task: Task<A, R, E>,
    inputs: Fuse<I>,
    chunksize: usize,
    window: usize,
    next_index: usize,
    submitted: VecDeque<Submitted>,
    /// The chunk being handed out one input at a time: the next one's index, and the rest.
    current: Option<(usize, Items<R, E>)>,
}

impl<'p, A, R, E, I> Stream<'p, A, R, E, I>
where
    A: Serialize,
    R: DeserializeOwned,
    E: DeserializeOwned,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(
        pool: PoolRef<'p>,
        task: Task<A, R, E>,
        inputs: I,
        chunksize: usize,
        window: usize,
    ) -> Self {
        Self {
            pool,
            task,
            inputs: inputs.fuse(),
            chunksize: chunksize.max(1),
            window: window.max(1),
            next_index: 0,
            submitted: VecDeque::new(),
            current: None,
        }
    }

    /// Submits chunks until `window` are out or the inputs end.
    fn top_up(&mut self) {
        while self.submitted.len() < self.window {
            let chunk: Vec<A> = self.inputs.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                return;
            }
            let id = submit_chunk(self.pool, self.task, &chunk);
            self.submitted.push_back(Submitted {
                chunk: id,
                first: self.next_index,
                count: chunk.len(),
            });
            self.next_index += chunk.len();
        }
    }

    /// Waits for a submitted chunk's outcome (the oldest's if `in_order`, else whichever
    /// comes first) and takes it: its first input's index, and its outcomes.
    pub(crate) fn next_chunk(&mut self, in_order: bool) -> Option<(usize, ChunkOutcomes<R, E>)> {
        self.top_up();
        let chunks: Vec<ChunkId> = if in_order {
            vec![self.submitted.front()?.chunk]
        } else {
            self.submitted.iter().map(|s| s.chunk).collect()
        };
        if chunks.is_empty() {
            return None;
        }
        let (chunk, outcome) = self.pool.shared.take_any(&chunks, None)?;
        let at = self.submitted.iter().position(|s| s.chunk == chunk)?;
        let submitted = self.submitted.remove(at)?;
        self.top_up();
        Some((
            submitted.first,
            outcomes(outcome, submitted.count, self.pool.timeout),
        ))
    }

    /// The next input's outcome with its index: in input order, or as they come.
    pub(crate) fn next_item(&mut self, in_order: bool) -> Option<(usize, Outcome<R, E>)> {
        loop {
            if let Some((index, items)) = &mut self.current {
                if let Some(outcome) = items.next() {
                    *index += 1;
                    return Some((*index - 1, outcome));
                }
            }
            let (first, outcomes) = self.next_chunk(in_order)?;
            self.current = Some((first, outcomes.into_items()));
        }
    }

    /// How many inputs have been read but have no outcome taken yet, at most.
    pub(crate) fn in_flight(&self) -> usize {
        let current = self.current.as_ref().map_or(0, |(_, items)| match items {
            Items::Returned(values) => values.len(),
            Items::Each(outcomes) => outcomes.len(),
        });
        self.submitted.iter().map(|s| s.count).sum::<usize>() + current
    }
}

impl<A, R, E, I: Iterator<Item = A>> Drop for Stream<'_, A, R, E, I> {
    fn drop(&mut self) {
        // Whatever was not taken: cancelled if no worker has it, its outcome dropped if one
        // does.
        self.pool
            .shared
            .abandon(self.submitted.iter().map(|submitted| submitted.chunk));
    }
}

impl<A, R, E, I: Iterator<Item = A>> fmt::Debug for Stream<'_, A, R, E, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("task", &self.task)
            .field("chunksize", &self.chunksize)
            .field("window", &self.window)
            .field("read", &self.next_index)
            .field("chunks_out", &self.submitted.len())
            .finish_non_exhaustive()
    }
}

/// One task submitted with [`Pool::submit`](crate::Pool::submit): Python's `AsyncResult` (from `apply_async`) and
/// `Future` (from `ProcessPoolExecutor.submit`).
///
/// Dropping it without taking the outcome cancels the task if no worker has it yet; a
/// running task runs to its end, and its outcome is dropped.
#[must_use = "a task's outcome is dropped with its handle"]
pub struct TaskHandle<'p, R, E> {
    pool: PoolRef<'p>,
    chunk: ChunkId,
    taken: bool,
    _outcome: PhantomData<fn() -> Outcome<R, E>>,
}

impl<'p, R: DeserializeOwned, E: DeserializeOwned> TaskHandle<'p, R, E> {
    pub(crate) fn submit<A: Serialize>(pool: PoolRef<'p>, task: Task<A, R, E>, input: A) -> Self {
        Self {
            pool,
            chunk: submit_chunk(pool, task, core::slice::from_ref(&input)),
            taken: false,
            _outcome: PhantomData,
        }
    }

    /// Waits for the task's outcome.
    ///
    /// # Errors
    ///
    /// [`TaskError`](crate::TaskError): why the task has no value.
    pub fn get(mut self) -> Outcome<R, E> {
        self.wait(None)
            .unwrap_or_else(|| Err(TaskError::Undecodable("the pool is gone".into())))
    }

    /// Waits at most `timeout` for the task's outcome; the handle back if it is not there by
    /// then (the task runs on).
    ///
    /// # Errors
    ///
    /// The handle, if the outcome did not come in time.
    pub fn get_timeout(mut self, timeout: Duration) -> Result<Outcome<R, E>, Self> {
        let deadline = Instant::now().checked_add(timeout);
        match self.wait(Some(deadline.unwrap_or_else(far_future))) {
            Some(outcome) => Ok(outcome),
            None => Err(self),
        }
    }

    fn wait(&mut self, deadline: Option<Instant>) -> Option<Outcome<R, E>> {
        let (_, outcome) = self.pool.shared.take_any(&[self.chunk], deadline)?;
        self.taken = true;
        outcomes(outcome, 1, self.pool.timeout).into_items().next()
    }

    /// Whether its outcome is there (Python's `ready()`, `done()`).
    #[doc(alias = "done")]
    pub fn ready(&self) -> bool {
        self.pool.shared.has_outcome(self.chunk)
    }

    /// Cancels the task if no worker has been given it: whether it was (its outcome is then
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled)). A running task is not stopped.
    pub fn cancel(&self) -> bool {
        self.pool.shared.cancel(self.chunk)
    }
}

/// A deadline so far away that no wait reaches it: for a timeout too large to add to now.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

impl<R, E> Drop for TaskHandle<'_, R, E> {
    fn drop(&mut self) {
        if !self.taken {
            self.pool.shared.abandon([self.chunk]);
        }
    }
}

impl<R, E> fmt::Debug for TaskHandle<'_, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("chunk", &self.chunk)
            .field("taken", &self.taken)
            .finish_non_exhaustive()
    }
}
