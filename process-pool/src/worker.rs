//! [`WORKER`]: the program of a pool's worker process. It runs its initializer, then the
//! chunks sent to it, in order, one at a time, and reports each on the results queue.

use spawn_core::{Entry, entry};

use crate::crash::{self, CrashStep};
use crate::task::{self, TaskCodec};
use crate::wire::{Call, Report, WorkerStart, ring};
use message_codec::Codec;

/// The entry point of the pool's worker processes. Register it with `spawn_core::init`,
/// beside the tasks the pool runs:
///
/// ```no_run
/// use process_pool::{Task, WORKER, task};
///
/// fn square(n: u64) -> u64 { n * n }
/// const SQUARE: Task<u64, u64> = task!(square);
///
/// fn main() {
///     spawn_core::init(&[&WORKER, &SQUARE]);
///     // ...
/// }
/// ```
pub const WORKER: Entry<WorkerStart> = entry!(serve);

/// The exit code of a worker whose initializer failed.
pub(crate) const INIT_FAILED: i32 = 3;

/// A worker's life: its initializer, then chunks until its queue is closed and drained (or
/// the pool is gone).
fn serve(start: WorkerStart) -> i32 {
    // A task's panic is its outcome, sent to the pool; it is not printed here.
    std::panic::set_hook(Box::new(|_| {}));
    let WorkerStart {
        chunks,
        reports,
        doorbell,
        worker,
        initializer,
        crash_at,
    } = start;
    let crash = |step| crash::crash_at(crash_at, worker.generation, step);
    let send = |report: Report| {
        let sent = reports.push(report);
        ring(&doorbell);
        sent
    };
    if let Some(initializer) = initializer {
        crash(CrashStep::Initializing);
        if let Err(outcome) = initialize(&initializer) {
            let _ = send(Report::InitFailed { worker, outcome });
            return INIT_FAILED;
        }
    }
    if send(Report::Ready(worker)).is_err() {
        return 0;
    }
    crash(CrashStep::Ready);
    let mut outcomes = Vec::new();
    // A pop fails once the queue is closed and drained (the pool retires this worker, or
    // closes), or the pool is gone: either way, this worker is done.
    while let Ok(chunk) = chunks.pop() {
        crash(CrashStep::Taken);
        // Said before a line of the task runs: a chunk the pool never hears of as started
        // never ran, and runs elsewhere if this worker dies.
        if reports.push(Report::Started { chunk: chunk.id }).is_err() {
            return 0;
        }
        crash(CrashStep::Started);
        let report = match task::find(&chunk.task) {
            None => Report::Refused {
                chunk: chunk.id,
                reason: format!(
                    "`{}` is not registered in the worker: list it in spawn_core::init",
                    chunk.task
                ),
            },
            Some(task) => match (task.run_chunk)(&chunk.inputs, &mut outcomes) {
                Ok(_) => Report::Done {
                    chunk: chunk.id,
                    outcomes: core::mem::take(&mut outcomes),
                },
                Err(reason) => Report::Refused {
                    chunk: chunk.id,
                    reason,
                },
            },
        };
        crash(CrashStep::Ran);
        match send(report) {
            Ok(()) => crash(CrashStep::Reported),
            Err(unsent) if unsent.is_too_large() => {
                let reason = unsent.to_string();
                let chunk = match unsent.into_inner() {
                    Report::Done { chunk, .. } => chunk,
                    _ => unreachable!("only a chunk's outcomes can be too large"),
                };
                if send(Report::Refused { chunk, reason }).is_err() {
                    return 0;
                }
            }
            Err(_) => return 0,
        }
    }
    crash(CrashStep::Retiring);
    0
}

/// Runs the initializer; its outcome's bytes if it failed.
fn initialize(initializer: &Call) -> Result<(), Vec<u8>> {
    let mut outcome = Vec::new();
    let failed = match task::find(&initializer.task) {
        Some(task) => (task.run_chunk)(&initializer.inputs, &mut outcome),
        None => Err(format!(
            "`{}` is not registered in the worker: list it in spawn_core::init",
            initializer.task
        )),
    };
    match failed {
        Ok(0) => Ok(()),
        Ok(_) => Err(outcome),
        Err(reason) => {
            let panicked = task::Outcomes::<(), task::Never>::Each(vec![
                task::ItemOutcome::Panicked(reason),
            ]);
            // Encoding a vector of one string into a vector cannot fail; were it to, the pool
            // would be told the initializer failed with outcomes it cannot read, which it says.
            let _ = TaskCodec::default().encode_to_vec(&panicked, &mut outcome);
            Err(outcome)
        }
    }
}
