//! A bounded multi-producer multi-consumer queue whose calls never wait for one another (see
//! [Progress](Queue#guarantees)), in one process or in memory shared between processes that
//! need not trust each other (see [Trust](Shared#trust)), model-checked with
//! [loom](https://docs.rs/loom) and property-tested against a sequential reference model.
//!
//! This is the Rust counterpart of the queue in Python's `multiprocessing` chapter, with one
//! deliberate difference: it is always **bounded**. `multiprocessing.Queue()` grows without limit
//! (the chapter warns that this "can be dangerous"); [`Queue::new`] takes a capacity, allocates
//! once, and [`Queue::try_push`] hands the value back when the queue is full.
//!
//! | Python | Rust |
//! |---|---|
//! | `Queue(maxsize)` | [`Queue::new`] (`maxsize <= 0` is [`CapacityError::Zero`] here) |
//! | `q.put_nowait(v)`, raising `queue.Full` | [`Queue::try_push`], `Err(TryPushError::Full(v))` |
//! | `q.get_nowait()`, raising `queue.Empty` | [`Queue::try_pop`], `Err(TryPopError::Empty)` |
//! | `q.qsize()`, `q.empty()`, `q.full()` | [`Queue::len`], [`Queue::is_empty`], [`Queue::is_full`] |
//! | `q.put(v)`, `q.get()`, with `timeout=` | [`BlockingQueue::push`], [`BlockingQueue::pop`], [`BlockingQueue::push_timeout`], [`BlockingQueue::pop_timeout`] |
//! | `multiprocessing.Queue(maxsize)` between processes | `MessageQueue::<M>::create` (feature `serde`) passed in a child's argument, or [`BlockingQueue::<T, Shared>::create`](BlockingQueue::create) for plain values |
//! | `for item in iter(q.get, None)` | `for item in &queue` (ends when closed or disconnected) |
//!
//! # Where the ring lives
//!
//! Both queues take the placement as a type parameter: [`Heap`] (the default; `Queue<T>` is
//! `Queue<T, Heap>`), for any `T: Send` within one process, or [`Shared`], a memory mapping
//! that several processes map, for [`Plain`] values. Every operation is the same for both;
//! only a shared queue has `create`, `attach` and a descriptor.
//!
//! # Between processes
//!
//! With the `serde` feature, a shared handle is part of a child process's argument under every
//! start method of [spawn-core](https://docs.rs/spawn-core) (the child attaches a handle of
//! its own; the descriptor reaches that child alone), and `MessageQueue` carries any serde
//! message, as `multiprocessing.Queue` carries any picklable object:
//!
//! ```no_run
//! # #[cfg(feature = "serde")]
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     use queue_core::{Consumer, MessageQueue, Producer};
//!     use serde::{Deserialize, Serialize};
//!     use spawn_core::{Entry, Process, entry};
//!
//!     #[derive(Serialize, Deserialize)]
//!     struct Squared { worker: String, n: u32, square: u64 }
//!
//!     fn work((results, worker): (MessageQueue<Squared, Producer>, String)) {
//!         for n in 1..=5 {
//!             let square = u64::from(n * n);
//!             results.push(Squared { worker: worker.clone(), n, square }).unwrap();
//!         }
//!     }
//!     const WORK: Entry<(MessageQueue<Squared, Producer>, String)> = entry!(work);
//!
//!     spawn_core::init(&[&WORK]); // first in `main`: a spawned child runs `work` here
//!     let results = MessageQueue::<Squared, Consumer>::create(4)?;
//!     let mut workers = Vec::new();
//!     for name in ["w1", "w2"] {
//!         let handle = results.try_clone_as::<Producer>()?;
//!         workers.push(Process::new(WORK, (handle, name.to_string())).start()?);
//!     }
//!     for Squared { worker, n, square } in &results { // ends once both workers are done
//!         println!("{worker}: {n} squared is {square}");
//!     }
//!     for worker in workers {
//!         assert!(worker.join()?.success());
//!     }
//!     Ok(())
//! }
//! # #[cfg(not(feature = "serde"))] fn main() {}
//! ```
//!
//! # Platform
//!
//! Linux only (`memfd_create`, `futex`, `membarrier`): on another target the crate stops with
//! one compile error that says so. The library builds with Rust 1.85.
//!
//! The guarantees (FIFO, exactly once, happens-before, linearizability of every answer
//! including `Full` and `Empty`, and the exact progress promise) are stated on [`Queue`].
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), queue_core::CapacityError> {
//! use queue_core::Queue;
//! use std::thread;
//!
//! let queue = Queue::new(64)?;
//! thread::scope(|s| {
//!     s.spawn(|| {
//!         for n in 0..1000 {
//!             let mut value = n;
//!             // Retry until there is room; the value is never lost.
//!             while let Err(full) = queue.try_push(value) {
//!                 value = full.into_inner();
//!                 thread::yield_now();
//!             }
//!         }
//!     });
//!     s.spawn(|| {
//!         let mut expected = 0;
//!         while expected < 1000 {
//!             if let Ok(n) = queue.try_pop() {
//!                 assert_eq!(n, expected); // one producer: its order is kept
//!                 expected += 1;
//!             }
//!         }
//!     });
//! });
//! # Ok::<(), queue_core::CapacityError>(())
//! # }
//! ```

#[cfg(not(target_os = "linux"))]
compile_error!("queue-core runs on Linux only: it is built on memfd_create, futex and membarrier");

/// Compiles the items only on Linux, so that another target sees the one error above, not a
/// cascade of missing system calls.
macro_rules! on_linux {
    ($($item:item)*) => { $( #[cfg(target_os = "linux")] $item )* };
}

on_linux! {
    mod blocking;
    mod error;
    mod forked;
    mod iter;
    #[cfg(feature = "serde")]
    mod message;
    mod mutant;
    mod placement;
    mod queue;
    mod ring;
    mod sync;
    mod wait;

    pub use blocking::BlockingQueue;
    pub use error::{
        CapacityError, PopError, PopTimeoutError, PushError, PushSliceError, PushTimeoutError,
        TryPopError, TryPushError,
    };
    pub use iter::Iter;
    pub use placement::{Both, Consumer, Heap, Placement, Pops, Producer, Pushes, Role, Shared};
    pub use queue::Queue;

    /// Test-only: makes this process kill itself at a chosen crash point of the algorithm,
    /// for the fault-injection tests. Exists only in a build with `--cfg queue_faults`; not
    /// part of the API.
    #[cfg(all(queue_faults, not(loom)))]
    #[doc(hidden)]
    pub mod faults {
        pub use crate::sync::crash::{disarm, kill_at_crash_point};

        /// The sleepers registered on either wait list of `queue` (a mask of participants),
        /// for the tests of a process killed asleep.
        pub fn registered_sleepers<T, P: crate::Placement>(
            queue: &crate::BlockingQueue<T, P>,
        ) -> usize {
            queue.registered_sleepers()
        }
    }
    pub use placement::shared::{ElementType, FileKind, MAX_PARTICIPANTS, MappingError};
    pub use ring::{Frame, Plain, type_tag};
    #[cfg(feature = "serde")]
    pub use message::{DEFAULT_FRAME, MessageQueue, Messages, ReceiveError, SendError};
    /// How a [`MessageQueue`]'s messages become bytes: the [`Codec`](codec::Codec) trait and
    /// its default, [`Postcard`](codec::Postcard) (the `message-codec` crate).
    #[cfg(feature = "serde")]
    pub use message_codec as codec;
}
