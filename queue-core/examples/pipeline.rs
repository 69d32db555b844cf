//! A pipeline of worker processes with typed messages, as Python's
//! `Process(target=work, args=(tasks, results))` with two `multiprocessing.Queue`s: the parent
//! sends tasks (a struct with a `String` and a `Vec`), spawned workers square the numbers and
//! send results back, and each side knows when the other is done without counting: the
//! workers stop once the parent has sent its last task and dropped its producer, and the
//! parent's loop ends once every worker has dropped its producer of results (`Disconnected`).
//!
//! Run: `cargo run -p queue-core --features serde --example pipeline`.

use queue_core::{Consumer, MessageQueue, Producer};
use serde::{Deserialize, Serialize};
use spawn_core::{Entry, Process, entry};

#[derive(Serialize, Deserialize, Debug)]
struct Task {
    name: String,
    numbers: Vec<u32>,
}

#[derive(Serialize, Deserialize, Debug)]
struct Done {
    task: String,
    worker: u32,
    sum_of_squares: u64,
}

type Tasks = MessageQueue<Task, Consumer>;
type Results = MessageQueue<Done, Producer>;

/// A worker: takes tasks until the parent is done sending, and sends each one's result.
fn work((tasks, results, worker): (Tasks, Results, u32)) {
    for Task { name, numbers } in &tasks {
        let sum_of_squares = numbers.iter().map(|&n| u64::from(n) * u64::from(n)).sum();
        results
            .push(Done {
                task: name,
                worker,
                sum_of_squares,
            })
            .expect("the parent keeps its consumer until every result is in");
    }
}
const WORK: Entry<(Tasks, Results, u32)> = entry!(work);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spawn_core::init(&[&WORK]); // in a spawned worker: runs `work`, then exits
    let tasks = MessageQueue::<Task, Producer>::create(64 * 1024)?; // 64 KiB of messages
    let results = MessageQueue::<Done, Consumer>::create(64 * 1024)?;
    let workers = (1..=3)
        .map(|worker| {
            let argument = (tasks.try_clone_as()?, results.try_clone_as()?, worker);
            Ok(Process::new(WORK, argument).start()?)
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;

    let sent = 20u32;
    std::thread::scope(|s| {
        s.spawn(|| {
            for t in 0..sent {
                // Up to 1,901 numbers: a message of several 256-byte slots.
                let task = Task {
                    name: format!("task {t}"),
                    numbers: (0..=t * 100).collect(),
                };
                tasks.push(task).expect("the workers hold consumers");
            }
            drop(tasks); // the last producer of tasks: each worker's loop ends when it is drained
        });
        let mut received = 0;
        for Done {
            task,
            worker,
            sum_of_squares,
        } in &results
        {
            println!("{task}: {sum_of_squares} (worker {worker})");
            received += 1;
        }
        assert_eq!(
            received, sent,
            "every task's result, and the loop ended by itself"
        );
    });
    for worker in workers {
        assert!(worker.join()?.success());
    }
    Ok(())
}
