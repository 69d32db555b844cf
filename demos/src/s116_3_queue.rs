//! Section 116.3, "Passing data between multiprocessing processes": a queue passed to child
//! processes as their argument, as Python's `Process(target=f, args=(queue, ...))`.
//!
//! Two parts, each with its CPython twin in `python/s116_3_queue.py`:
//!
//! 1. The chapter's helpers on a bounded queue of 4: the parent puts 0..6 with
//!    `Queue_Iftry_Put` (the last two answer `false`), then a child given the queue gets six
//!    times with `Queue_Iftry_Get`, squaring each value, -1 once it is empty. The chapter checks
//!    `full()`/`empty()` first "to save on performance as opposed to catching the exception":
//!    in Rust there is no exception to avoid, and checking first is a race, so each helper is
//!    one call (`try_push(v).is_ok()`, the value handed back inside the error, never lost;
//!    `try_pop().map(func).unwrap_or(default)`).
//! 2. Python's real pattern, under each start method (spawn, our default, then forkserver and
//!    fork): the parent makes a bounded queue, starts two workers with it as their argument,
//!    each worker puts five results (a struct with a `String` and numbers) while the parent gets
//!    them concurrently, and the parent joins the workers. The parent's loop ends by itself
//!    when both workers are done (`Disconnected`), which `multiprocessing.Queue` cannot tell:
//!    the Python twin counts the results instead.

use queue_core::{Consumer, MessageQueue, PopError, Producer, ReceiveError};
use serde::{Deserialize, Serialize};
use spawn_core::{Entry, Process, StartMethod, entry};

/// The queue of part 1: both roles, so that the parent puts and the child gets.
type Numbers = MessageQueue<i64>;

/// `Queue_Iftry_Put`: whether `value` went in.
fn iftry_put(queue: &Numbers, value: i64) -> bool {
    queue.try_push(value).is_ok()
}

/// `Queue_Iftry_Get`: the oldest value through `func`, or `default` when there is none.
fn iftry_get(queue: &Numbers, default: i64, func: impl FnOnce(i64) -> i64) -> i64 {
    queue.try_pop().map(func).unwrap_or(default)
}

/// Part 1's child: gets six times.
fn consume(queue: Numbers) {
    for _ in 0..6 {
        println!("got {}", iftry_get(&queue, -1, |v| v * v));
    }
}

/// What a worker of part 2 puts: Python's dataclass `Squared(worker, n, square)`.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Squared {
    worker: String,
    n: u32,
    square: u64,
}

/// Part 2's worker: puts the squares of 1..=count, named after itself.
fn work((results, worker, count): (MessageQueue<Squared, Producer>, String, u32)) {
    for n in 1..=count {
        let square = u64::from(n) * u64::from(n);
        let squared = Squared {
            worker: worker.clone(),
            n,
            square,
        };
        results
            .push(squared)
            .expect("the parent gets until the workers are done");
    }
}

pub(crate) const CONSUME: Entry<Numbers> = entry!(consume);
pub(crate) const WORK: Entry<(MessageQueue<Squared, Producer>, String, u32)> = entry!(work);

/// The name Python gives a start method.
fn python_name(method: StartMethod) -> &'static str {
    match method {
        StartMethod::Fork => "fork",
        StartMethod::ForkServer => "forkserver",
        _ => "spawn",
    }
}

pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    let numbers = Numbers::create(4 * Numbers::SLOT)?; // room for four small messages: `Queue(4)`
    for value in 0..6 {
        println!("put {value}: {}", iftry_put(&numbers, value));
    }
    let consumer = Process::new(CONSUME, numbers).start()?;
    println!(
        "consumer exit code {}",
        consumer.join()?.exitcode().unwrap_or(-1)
    );

    for method in StartMethod::ALL {
        let method_name = python_name(method);
        let results = MessageQueue::<Squared, Consumer>::create(4 * MessageQueue::<Squared>::SLOT)?;
        let workers =
            ["worker-1", "worker-2"].map(|worker| -> Result<_, Box<dyn std::error::Error>> {
                let handle = results.try_clone_as::<Producer>()?;
                let argument = (handle, worker.to_string(), 5);
                Ok(Process::new(WORK, argument).start_method(method).start()?)
            });
        let workers = workers.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut received = results.iter();
        for Squared { worker, n, square } in received.by_ref() {
            println!("{method_name}: got {worker} {n} squared is {square}");
        }
        match received.ended_by() {
            Some(ReceiveError::Queue(PopError::Disconnected)) => {}
            other => return Err(format!("the results ended with {other:?}").into()),
        }
        for (index, worker) in workers.iter().enumerate() {
            let code = worker.join()?.exitcode().unwrap_or(-1);
            println!("{method_name}: worker-{} exit code {code}", index + 1);
        }
    }
    Ok(())
}
