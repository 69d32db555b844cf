//! [`Task`]: a function the pool's workers run by name, made with [`task!`](crate::task) or
//! [`fallible_task!`](crate::fallible_task), and how a worker runs a chunk of its inputs.

use core::fmt;
use core::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::panic::{AssertUnwindSafe, catch_unwind};

use message_codec::{Codec, Postcard};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How tasks' inputs and outcomes become bytes: the codec seam that queue-core's message
/// queue and spawn-core's arguments share.
pub(crate) type TaskCodec = Postcard;

/// A function that the pool's worker processes run by name, with inputs of type `A`, and
/// that returns `R` or fails with `E`: what Python's `pool.map(f, ...)` is given as `f`.
///
/// Make one with [`task!`](crate::task) (a function `fn(A) -> R`) or
/// [`fallible_task!`](crate::fallible_task) (`fn(A) -> Result<R, E>`), as a `const`, and
/// register it with `spawn_core::init` beside [`WORKER`](crate::WORKER), so that a worker
/// (this program run again, under the spawn and fork-server start methods) finds it by
/// name. `A`, `R` and `E` are any serde types, of any size.
///
/// # Examples
///
/// ```
/// use process_pool::{Never, Task, task};
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
/// const SQUARE: Task<u64, u64> = task!(square);
/// assert!(SQUARE.name().ends_with("::square"));
/// let _: Task<u64, u64, Never> = SQUARE; // a `task!` never fails with an error of its own
/// ```
pub struct Task<A, R, E = Never> {
    erased: ErasedTask,
    _types: PhantomData<fn(A) -> Result<R, E>>,
}

/// What a worker knows of a task: its name, and how to run a chunk of its inputs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErasedTask {
    pub(crate) name: &'static str,
    /// Decodes a chunk's inputs (a `Vec<A>`), runs the function on each, and encodes their
    /// outcomes (an `Outcomes<R, E>`) into the vector; returns how many failed, or why
    /// the inputs did not decode.
    pub(crate) run_chunk: fn(&[u8], &mut Vec<u8>) -> Result<usize, String>,
}

impl<A, R, E> Task<A, R, E> {
    /// A task called `name` that runs chunks with `run_chunk`. Use [`task!`](crate::task)
    /// or [`fallible_task!`](crate::fallible_task) rather than calling this.
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        run_chunk: fn(&[u8], &mut Vec<u8>) -> Result<usize, String>,
    ) -> Self {
        Self {
            erased: ErasedTask { name, run_chunk },
            _types: PhantomData,
        }
    }

    /// The name it is registered under: its module path and function name, after `task `.
    pub const fn name(&self) -> &'static str {
        self.erased.name
    }
}

impl<A, R, E> Clone for Task<A, R, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, R, E> Copy for Task<A, R, E> {}

impl<A, R, E> fmt::Debug for Task<A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("name", &self.erased.name).finish()
    }
}

impl<A, R, E> spawn_core::Registered for Task<A, R, E> {
    fn name(&self) -> &'static str {
        self.erased.name
    }

    /// A task is not a process's entry point: a child started for it says so and exits
    /// with code 2. Workers run [`WORKER`](crate::WORKER) and find tasks by name.
    fn run_serialized(&self, _arguments: &[u8], _fds: Vec<OwnedFd>) -> i32 {
        eprintln!(
            "process-pool: `{}` is a task, run by the pool's workers; it is not an entry point",
            self.erased.name
        );
        2
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(&self.erased)
    }
}

/// The task registered (with `spawn_core::init`) under `name`, in this process.
pub(crate) fn find(name: &str) -> Option<ErasedTask> {
    spawn_core::registered(name)?
        .as_any()?
        .downcast_ref::<ErasedTask>()
        .copied()
}

/// The error type of a task made with [`task!`](crate::task), which never returns one: a type
/// with no values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Never {}

impl fmt::Display for Never {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Never {}

/// How a chunk's inputs went, as a worker sends them.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Outcomes<R, E> {
    /// Every task returned: the values, in input order.
    Returned(Vec<R>),
    /// Some did not: each input's outcome, in input order.
    Each(Vec<ItemOutcome<R, E>>),
}

/// How one input of a chunk went, as a worker sends it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ItemOutcome<R, E> {
    /// The function returned this.
    Returned(R),
    /// The function returned this error.
    Failed(E),
    /// The function panicked with this message.
    Panicked(String),
}

/// Makes a [`Task`] of a function `fn(A) -> R`: its workers run it by name.
///
/// The task is named after the module the macro is called in and the path it is given,
/// after `task ` (so that it never shares a name with an `entry!` of the same function).
///
/// # Examples
///
/// ```
/// use process_pool::{Task, task};
///
/// fn word_count(text: String) -> usize {
///     text.split_whitespace().count()
/// }
/// const WORD_COUNT: Task<String, usize> = task!(word_count);
/// assert_eq!(WORD_COUNT.name(), concat!("task ", module_path!(), "::word_count"));
/// ```
#[macro_export]
macro_rules! task {
    ($target:path) => {
        $crate::Task::new(
            concat!("task ", module_path!(), "::", stringify!($target)),
            |inputs, outcomes| $crate::__private::run_chunk(inputs, outcomes, $target),
        )
    };
}

/// Makes a [`Task`] of a function `fn(A) -> Result<R, E>`: an `Err(e)` reaches the caller as
/// [`TaskError::Failed(e)`](crate::TaskError::Failed), typed.
///
/// # Examples
///
/// ```
/// use process_pool::{Task, fallible_task};
///
/// fn parse(text: String) -> Result<u64, String> {
///     text.parse().map_err(|_| format!("not a number: {text}"))
/// }
/// const PARSE: Task<String, u64, String> = fallible_task!(parse);
/// # let _ = PARSE;
/// ```
#[macro_export]
macro_rules! fallible_task {
    ($target:path) => {
        $crate::Task::new(
            concat!("task ", module_path!(), "::", stringify!($target)),
            |inputs, outcomes| $crate::__private::run_fallible_chunk(inputs, outcomes, $target),
        )
    };
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    /// The body of every [`task!`](crate::task).
    pub fn run_chunk<A: DeserializeOwned, R: Serialize>(
        inputs: &[u8],
        outcomes: &mut Vec<u8>,
        target: fn(A) -> R,
    ) -> Result<usize, String> {
        run_each::<A, R, Never>(inputs, outcomes, |input| Ok(target(input)))
    }

    /// The body of every [`fallible_task!`](crate::fallible_task).
    pub fn run_fallible_chunk<A: DeserializeOwned, R: Serialize, E: Serialize>(
        inputs: &[u8],
        outcomes: &mut Vec<u8>,
        target: fn(A) -> Result<R, E>,
    ) -> Result<usize, String> {
        run_each(inputs, outcomes, target)
    }
}

/// Decodes `inputs` as a `Vec<A>`, runs `target` on each (a panic is caught and becomes that
/// input's outcome), and encodes the outcomes into `outcomes`; returns how many failed.
fn run_each<A: DeserializeOwned, R: Serialize, E: Serialize>(
    inputs: &[u8],
    outcomes: &mut Vec<u8>,
    target: impl Fn(A) -> Result<R, E>,
) -> Result<usize, String> {
    let codec = TaskCodec::default();
    let inputs: Vec<A> = codec
        .decode(inputs)
        .map_err(|error| format!("the inputs did not decode: {error}"))?;
    let count = inputs.len();
    // Values alone while every task returns (the common case, sent as one `Vec<R>`), each
    // outcome from the first failure on.
    let mut returned = Vec::with_capacity(count);
    let mut each = Vec::new();
    for input in inputs {
        let outcome = match catch_unwind(AssertUnwindSafe(|| target(input))) {
            Ok(Ok(value)) if each.is_empty() => {
                returned.push(value);
                continue;
            }
            Ok(Ok(value)) => ItemOutcome::Returned(value),
            Ok(Err(error)) => ItemOutcome::Failed(error),
            Err(payload) => ItemOutcome::Panicked(panic_message(payload.as_ref())),
        };
        if each.is_empty() {
            each.reserve(count);
            each.extend(returned.drain(..).map(ItemOutcome::Returned));
        }
        each.push(outcome);
    }
    let failed = each
        .iter()
        .filter(|outcome| !matches!(outcome, ItemOutcome::Returned(_)))
        .count();
    let encoded = if each.is_empty() {
        Outcomes::<R, E>::Returned(returned)
    } else {
        Outcomes::Each(each)
    };
    outcomes.clear();
    outcomes.reserve(core::mem::size_of::<R>() * count + 16);
    codec
        .encode_to_vec(&encoded, outcomes)
        .map_err(|error| format!("the outcomes did not encode: {error}"))?;
    Ok(failed)
}

/// The message a panic was raised with.
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a payload that is not a string".to_owned()
    }
}
