//! What travels between the pool and its workers: the start of a worker, the chunks of
//! inputs sent to it, and the reports that come back on the one results queue.

use std::os::fd::{AsFd, OwnedFd};

use queue_core::{Both, Consumer, MessageQueue, Producer};
use serde::{Deserialize, Serialize};

/// Which worker: its place in the pool, and which of the workers that held that place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct WorkerTag {
    pub(crate) slot: u32,
    pub(crate) generation: u64,
}

/// A chunk of inputs of one task, sent to one worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Chunk {
    pub(crate) id: u64,
    pub(crate) task: String,
    /// The inputs, a `Vec<A>` encoded.
    #[serde(with = "serde_bytes")]
    pub(crate) inputs: Vec<u8>,
}

/// What the results queue carries to the pool: a worker's reports, and the pool's own
/// marker that a worker's process has ended.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Report {
    /// The worker ran its initializer (if any) and takes chunks from now on.
    Ready(WorkerTag),
    /// The worker's initializer failed; the worker exits. The outcome, an `Outcomes<(), E>`
    /// of one, encoded.
    InitFailed {
        worker: WorkerTag,
        #[serde(with = "serde_bytes")]
        outcome: Vec<u8>,
    },
    /// The worker is about to run a chunk (sent without waking the pool: it matters only if
    /// the worker dies before the chunk's report).
    Started { chunk: u64 },
    /// A chunk ran: its outcomes, an `Outcomes<R, E>` encoded.
    Done {
        chunk: u64,
        #[serde(with = "serde_bytes")]
        outcomes: Vec<u8>,
    },
    /// A chunk could not run, or its outcomes could not be sent: why.
    Refused { chunk: u64, reason: String },
    /// Pushed by the pool once the worker's process has ended: every report the worker sent
    /// whole comes before this one (it claimed its place in the queue before it died).
    Ended(WorkerTag),
}

/// The queue of chunks, as the pool holds it and as a worker does.
pub(crate) type ChunksIn = MessageQueue<Chunk, Producer>;
pub(crate) type ChunksOut = MessageQueue<Chunk, Consumer>;
/// The queue of reports, as the pool holds it (it pushes the `Ended` markers) and as a worker
/// does.
pub(crate) type ReportsIn = MessageQueue<Report, Both>;
pub(crate) type ReportsOut = MessageQueue<Report, Producer>;

/// A call of a task with one input: the initializer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Call {
    pub(crate) task: String,
    /// A `Vec<A>` of one, encoded.
    #[serde(with = "serde_bytes")]
    pub(crate) inputs: Vec<u8>,
}

/// The argument of a pool's worker process: its queues, the pool's doorbell and who it is.
/// Made by the pool; only [`WORKER`](crate::WORKER) reads it.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerStart {
    pub(crate) chunks: ChunksOut,
    pub(crate) reports: ReportsOut,
    /// An eventfd the worker writes to after each report, to wake the pool.
    #[serde(with = "fd_carrier::owned")]
    pub(crate) doorbell: OwnedFd,
    pub(crate) worker: WorkerTag,
    pub(crate) initializer: Option<Call>,
    /// The step at which a worker of the first generation kills itself (the fault-injection
    /// build's tests); `None` otherwise.
    pub(crate) crash_at: Option<crate::crash::CrashStep>,
}

/// Adds one to the eventfd `doorbell`, waking whoever polls it.
pub(crate) fn ring(doorbell: impl AsFd) {
    // An eventfd's counter only saturates after 2^64 - 2 rings; a failed ring (never seen)
    // costs the pool only the wake-up, which its next poll's timeout makes good.
    let _ = nix::unistd::write(doorbell, &1u64.to_ne_bytes());
}
