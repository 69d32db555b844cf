//! The chapter's `Queue_Iftry_Put` and `Queue_Iftry_Get`: Python checks `full()` and `empty()`
//! before `put_nowait` and `get_nowait` "to save on performance as opposed to catching the
//! exception". Here there is no exception to avoid, and checking first is a race (another
//! thread may fill or empty the queue in between), so each helper is one call: a push that
//! does not fit hands its value back, and a pop of an empty queue says so.
//!
//! Run: `cargo run -p queue-core --example try_helpers`.

use queue_core::{Queue, TryPushError};

/// `Queue_Iftry_Put(queue, value)`: whether `value` went in. The value is never lost: a push
/// into a full queue hands it back inside the error, here returned to the caller.
fn iftry_put<T>(queue: &Queue<T>, value: T) -> Result<(), T> {
    queue.try_push(value).map_err(TryPushError::into_inner)
}

/// `Queue_Iftry_Get(queue, default=..., func=...)`: the oldest value through `func`, or
/// `default` when the queue is empty.
fn iftry_get<T, R>(queue: &Queue<T>, default: R, func: impl FnOnce(T) -> R) -> R {
    queue.try_pop().map(func).unwrap_or(default)
}

fn main() {
    let queue = Queue::new(4).expect("a capacity of 4 fits");
    let mut refused = Vec::new();
    for value in 0..6 {
        match iftry_put(&queue, value) {
            Ok(()) => println!("put {value}"),
            Err(back) => {
                println!("full: {back} handed back");
                refused.push(back);
            }
        }
    }
    assert_eq!(refused, [4, 5], "the queue holds 4; the last two came back");

    let got: Vec<i64> = (0..6).map(|_| iftry_get(&queue, -1, |v| v * v)).collect();
    for value in &got {
        println!("got {value}");
    }
    assert_eq!(
        got,
        [0, 1, 4, 9, -1, -1],
        "squares in order, then the default"
    );
}
