//! The serde message rows of the cross-process bench (feature `serde`): a small struct (a short
//! `String` and two integers) through a `MessageQueue`, blocking `push`/`pop`, and through
//! `ipc-channel` (Servo's serde channel between processes, `send`/`recv`), as Python's queues
//! carry the tuple `("w1", n, n * n)`.

use std::time::Duration;

use queue_core::MessageQueue;
use serde::{Deserialize, Serialize};

use crate::bench::{CAPACITY, Row};
use crate::processes::two_processes;

/// The message column of these rows, and the kind `python_queue.py` is asked for.
pub(crate) const KIND: &str = "struct";

/// The message: what a worker of the chapter's 116.3 reports.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Squared {
    worker: String,
    n: u64,
    square: u64,
}

impl Squared {
    fn new(n: u64) -> Self {
        Self {
            worker: "w1".to_string(),
            n,
            square: n.wrapping_mul(n),
        }
    }
}

/// A case: its transport and the function that runs it.
type Case = (&'static str, fn(u64) -> Duration);

/// Each case.
pub(crate) fn cases() -> [Case; 2] {
    [
        (MESSAGE_QUEUE_ROW, message_queue),
        (IPC_CHANNEL_ROW, ipc_channel),
    ]
}

const MESSAGE_QUEUE_ROW: &str = "message queue, push/pop (blocking)";
const IPC_CHANNEL_ROW: &str = "ipc-channel, send/recv";

fn message_queue(messages: u64) -> Duration {
    // As many slots as the other rows' queues have values.
    let queue = MessageQueue::<Squared>::create(CAPACITY * MessageQueue::<Squared>::SLOT).unwrap();
    two_processes(
        || {
            for n in 0..messages {
                queue.push(Squared::new(n)).unwrap();
            }
        },
        || {
            for n in 0..messages {
                assert_eq!(queue.pop().unwrap(), Squared::new(n));
            }
        },
    )
}

/// The same messages through an `ipc-channel` channel made before the fork (its descriptors
/// are inherited by both children).
fn ipc_channel(messages: u64) -> Duration {
    let (sender, receiver) = ipc_channel::ipc::channel::<Squared>().unwrap();
    two_processes(
        || {
            for n in 0..messages {
                sender.send(Squared::new(n)).unwrap();
            }
        },
        || {
            for n in 0..messages {
                assert_eq!(receiver.recv().unwrap(), Squared::new(n));
            }
        },
    )
}

/// The message rows' ratios to the `Plain` u64 path and to Python's queue of tuples.
pub(crate) fn print_ratios(rows: &[Row]) {
    let rate = |transport: &str, message: &str| {
        rows.iter()
            .find(|row| row.transport == transport && row.message == message)
            .map(|row| row.per_second)
    };
    let plain = rate("queue, push/pop (blocking)", "u64");
    let python = rate("python multiprocessing.Queue", KIND);
    let ipc = rate(IPC_CHANNEL_ROW, KIND);
    println!();
    for row in [MESSAGE_QUEUE_ROW] {
        let Some(messages) = rate(row, KIND) else {
            continue;
        };
        let ratio = |peer: Option<f64>| {
            peer.map_or("n/a".to_string(), |peer| format!("{:.2}", messages / peer))
        };
        println!(
            "{row}: ÷ mp.Queue of tuples {}, ÷ ipc-channel {}, ÷ the Plain u64 queue (blocking) {}",
            ratio(python),
            ratio(ipc),
            ratio(plain)
        );
    }
}
