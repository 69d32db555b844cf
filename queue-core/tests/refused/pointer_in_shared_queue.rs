// A `String` is a pointer to this process's heap: it means nothing in another process.
use queue_core::{BlockingQueue, Shared};

fn main() {
    let _queue = BlockingQueue::<String, Shared>::create(4);
}
