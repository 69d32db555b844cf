//! Running a loom model and recording what it explored (under `--cfg loom` only).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::record::{Bound, Entry, Failure, ModelRecord};
use crate::{CHECKPOINTS_VAR, REPLAY_VAR, quick_bound};

/// A loom model: what it checks, on which scenario, under which bound.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    /// Its name, unique in the workspace.
    pub name: &'a str,
    /// What every execution checks, in one plain sentence.
    pub property: &'a str,
    /// The threads, the capacity and the operations.
    pub scenario: &'a str,
    /// How far loom explores it.
    pub bound: Bound,
}

/// Runs `body` as the loom model `model`, counts its executions, prints them, and records
/// them (see the crate docs). `LOOM_MAX_PREEMPTIONS`, `LOOM_MAX_DURATION` and
/// `LOOM_MAX_PERMUTATIONS` are ignored: the model's bound is the only limit, so that a record
/// saying "exhaustive" is true.
///
/// # Panics
///
/// When loom finds a failing execution (the model's assertion, a deadlock, a data race), as
/// `loom::model` does, after recording it; or if the record cannot be written.
pub fn explore(model: Model<'_>, body: impl Fn() + Sync + Send + 'static) {
    let bound = quick_bound(model.bound);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound.preemptions();
    builder.max_duration = None;
    builder.max_permutations = None;
    let checkpoint = Checkpoint::for_model(model.name);
    builder.checkpoint_file = checkpoint.as_ref().map(|c| c.path.clone());
    if let Some(checkpoint) = &checkpoint {
        if !checkpoint.replaying {
            // Kept before every execution: after a failure it holds the failing one.
            builder.checkpoint_interval = 1;
            checkpoint.remove();
        }
    }
    let executions = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&executions);
    let started = Instant::now();
    let progress = Progress::new(model.name, started);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _log = log_if_asked();
        builder.check(move || {
            // A std atomic: loom runs every model thread on this OS thread and does not see it.
            let done = counter.fetch_add(1, Ordering::Relaxed);
            progress.tick(done);
            body();
        });
    }));
    let failure = outcome.as_ref().err().map(|payload| Failure {
        execution: executions.load(Ordering::Relaxed),
        message: panic_message(payload.as_ref()),
        checkpoint: checkpoint.as_ref().map(|c| c.path.display().to_string()),
    });
    if let (None, Some(checkpoint)) = (&failure, &checkpoint) {
        if !checkpoint.replaying {
            checkpoint.remove();
        }
    }
    let record = ModelRecord {
        model: model.name.to_string(),
        test: test_name(model.name),
        property: model.property.to_string(),
        scenario: model.scenario.to_string(),
        executions: executions.load(Ordering::Relaxed),
        preemption_bound: bound.preemptions(),
        seconds: started.elapsed().as_secs_f64(),
        failure,
    };
    match &record.failure {
        None => println!(
            "loom model {}: {} executions, {}, {:.2} s",
            record.model,
            record.executions,
            bound.describe(),
            record.seconds
        ),
        Some(failure) => println!(
            "loom model {}: FAILED at execution {} ({}, {:.2} s): {}",
            record.model,
            failure.execution,
            bound.describe(),
            record.seconds,
            failure
                .message
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default()
        ),
    }
    Entry::Loom(record).append();
    if let Err(payload) = outcome {
        resume_unwind(payload);
    }
}

/// How often a long model says how far it has got.
const PROGRESS_EVERY_SECONDS: u64 = 10;

/// Prints `loom model NAME: N executions so far, T s` on stderr every
/// [`PROGRESS_EVERY_SECONDS`], so that a model that runs for minutes shows it is moving.
struct Progress {
    name: String,
    started: Instant,
    /// The elapsed second of the last line printed.
    printed_at: AtomicU64,
}

impl Progress {
    fn new(name: &str, started: Instant) -> Self {
        Self {
            name: name.to_string(),
            started,
            printed_at: AtomicU64::new(0),
        }
    }

    /// Called before each execution, with the number of executions done.
    fn tick(&self, done: u64) {
        // Reading the clock costs little next to an execution, but not nothing: look every
        // 256 executions.
        if done % 256 != 0 {
            return;
        }
        let elapsed = self.started.elapsed().as_secs();
        // Relaxed: a counter read and written on this one OS thread (see `explore`).
        if elapsed >= self.printed_at.load(Ordering::Relaxed) + PROGRESS_EVERY_SECONDS {
            self.printed_at.store(elapsed, Ordering::Relaxed);
            eprintln!(
                "loom model {}: {done} executions so far, {elapsed} s",
                self.name
            );
        }
    }
}

/// Where a model's checkpoint goes, when [`CHECKPOINTS_VAR`] names a directory.
struct Checkpoint {
    path: PathBuf,
    /// [`REPLAY_VAR`] is set: start from the checkpoint (loom loads it if it exists).
    replaying: bool,
}

impl Checkpoint {
    fn for_model(name: &str) -> Option<Self> {
        let dir = PathBuf::from(std::env::var_os(CHECKPOINTS_VAR)?);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("{CHECKPOINTS_VAR}={}: {error}", dir.display()));
        Some(Self {
            path: dir.join(format!("{name}.json")),
            replaying: std::env::var_os(REPLAY_VAR).is_some(),
        })
    }

    fn remove(&self) {
        // Absent already is fine: nothing to remove.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// With `LOOM_LOG` set, prints loom's trace of each execution (as `loom::model` does), until
/// the returned guard drops.
fn log_if_asked() -> Option<impl Drop> {
    use tracing_subscriber::util::SubscriberInitExt as _;
    std::env::var_os("LOOM_LOG")?;
    let subscriber = tracing_subscriber::fmt::Subscriber::builder()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("LOOM_LOG"))
        .with_test_writer()
        .without_time()
        .finish();
    Some(subscriber.set_default())
}

/// libtest names each test's thread after the test; on another thread, the model's name.
fn test_name(model: &str) -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => model.to_string(),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else {
        "(a panic without a message)".to_string()
    }
}
