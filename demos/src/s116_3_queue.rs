//! Section 116.3, "Passing data between multiprocessing processes": a queue shared by two
//! processes, with the chapter's `Queue_Iftry_Put` and `Queue_Iftry_Get` helpers.
//!
//! The chapter warns that `multiprocessing.Queue()` is unbounded and "can be dangerous"; ours
//! is always bounded (here 4 values). Its helpers check `full()`/`empty()` first "to save on
//! performance as opposed to catching the exception": in Rust there is no exception to avoid,
//! and checking first is a race (another process can fill or empty the queue in between), so
//! the helpers are one call each:
//!
//! - `Queue_Iftry_Put(q, v)` is `q.try_push(v).is_ok()`: `false` when full, and the value is
//!   handed back inside the error, not lost;
//! - `Queue_Iftry_Get(q, default, func)` is `q.try_pop().map(func).unwrap_or(default)`.
//!
//! The parent puts 0..6 into a queue of 4 (the last two puts answer `false`), then a child
//! process gets six times, squaring each value, with -1 as the default once it is empty.

use queue_core::{Queue, Shared};
use spawn_core::ClosureProcess;

/// `Queue_Iftry_Put`: whether `value` went in.
fn iftry_put(queue: &Queue<i64, Shared>, value: i64) -> bool {
    queue.try_push(value).is_ok()
}

/// `Queue_Iftry_Get`: the oldest value through `func`, or `default` when there is none.
fn iftry_get(queue: &Queue<i64, Shared>, default: i64, func: impl FnOnce(i64) -> i64) -> i64 {
    queue.try_pop().map(func).unwrap_or(default)
}

pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    let queue = Queue::<i64, Shared>::create(4)?;
    for value in 0..6 {
        println!("put {value}: {}", iftry_put(&queue, value));
    }
    // The child is forked after the puts, so it shares the mapping: no pickling, no feeder
    // thread, and `empty()` is never wrong about a value that was put before.
    let consumer = ClosureProcess::new(|| {
        for _ in 0..6 {
            println!("got {}", iftry_get(&queue, -1, |v| v * v));
        }
    })
    .start()?;
    let status = consumer.join()?;
    println!("consumer exit code {}", status.exitcode().unwrap_or(-1));
    Ok(())
}
