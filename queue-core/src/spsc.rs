//! A queue of one producer and one consumer, as two handles the types keep apart.
//!
//! [`channel`] makes a bounded FIFO queue and returns its two ends: a [`Producer`], the only
//! handle that pushes, and a [`Consumer`], the only one that pops. Neither can be cloned, and
//! their calls take `&mut self`, so the compiler guarantees what [`Queue`](crate::Queue) has
//! to find out at run time: one push and one pop at a time. That makes every call wait-free
//! (no retry loop, no compare-and-swap) and cheaper than `Queue`'s: each side writes only its
//! own cursor and reads the other's only when its last reading says the queue is full (a
//! push) or empty (a pop).
//!
//! It is the same ring as `Queue`'s (positions in laps, value cells, the fork check), with
//! its own loom models; dropping a handle tells the other side, which then answers
//! `Disconnected`: a pop once every value pushed before is taken, a push once the queue is
//! full (until then it succeeds, and the queue drops the values when both ends are gone).
//!
//! # Guarantees
//!
//! - **FIFO, exactly once**: every value pushed is popped once, in push order, or dropped
//!   with the queue; **happens-before**: a push happens-before the pop that returns its value.
//! - **Linearizable, with no exception**: `Full` means the queue held `capacity` values at an
//!   instant during the call, `Empty` that it held none (with one producer and one consumer,
//!   no third call can be mid-operation).
//! - **Wait-free**: each call returns after a bounded number of its own steps, whatever the
//!   other thread does.
//! - A copy of a handle made by `fork` answers `ForkedCopy` to every call, as a heap `Queue`
//!   does.
//!
//! A second producer is a compile error, not a run-time one:
//!
//! ```compile_fail
//! let (producer, _consumer) = queue_core::spsc::channel::<u64>(8).unwrap();
//! let second = producer.clone(); // error: `spsc::Producer` is not `Clone`
//! ```
//!
//! # Examples
//!
//! ```
//! use queue_core::spsc;
//! use std::thread;
//!
//! let (mut producer, mut consumer) = spsc::channel(64).unwrap();
//! let sender = thread::spawn(move || {
//!     for n in 0..1000 {
//!         let mut value = n;
//!         // Retry until there is room; the value is never lost.
//!         while let Err(full) = producer.try_push(value) {
//!             value = full.into_inner();
//!             thread::yield_now();
//!         }
//!     }
//!     // `producer` is dropped here: the consumer hears of it once it has taken everything.
//! });
//! let mut expected = 0;
//! loop {
//!     match consumer.try_pop() {
//!         Ok(n) => {
//!             assert_eq!(n, expected);
//!             expected += 1;
//!         }
//!         Err(spsc_error) if spsc_error.is_empty() => thread::yield_now(),
//!         Err(_disconnected) => break,
//!     }
//! }
//! assert_eq!(expected, 1000);
//! sender.join().unwrap();
//! ```

use std::fmt;

use crate::error::{CapacityError, TryPopError, TryPushError};
use crate::ring::{Cursor, SplitRing};
use crate::sync::Arc;

/// Makes an empty queue that holds at most `capacity` values, and returns its two ends.
///
/// Allocates the whole ring here; no later call allocates.
///
/// # Errors
///
/// [`CapacityError::Zero`] for a capacity of 0, and [`CapacityError::TooLarge`] when the ring
/// does not fit in memory.
pub fn channel<T: Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    channel_starting_at_lap(capacity, 0)
}

/// As [`channel`], with both cursors at lap `lap`: for tests of positions that wrap around
/// `usize`. Not part of the API.
#[doc(hidden)]
pub fn channel_starting_at_lap<T: Send>(
    capacity: usize,
    lap: usize,
) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    let (ring, producer, consumer) = SplitRing::new(capacity, lap)?;
    let ring = Arc::new(ring);
    Ok((
        Producer { ring: Arc::clone(&ring), cursor: producer },
        Consumer { ring, cursor: consumer },
    ))
}

/// The end of an [`spsc`](self) queue that pushes. Dropping it tells the [`Consumer`].
pub struct Producer<T> {
    ring: Arc<SplitRing<T>>,
    cursor: Cursor,
}

/// The end of an [`spsc`](self) queue that pops. Dropping it tells the [`Producer`].
pub struct Consumer<T> {
    ring: Arc<SplitRing<T>>,
    cursor: Cursor,
}

impl<T> Producer<T> {
    /// Pushes `value` at the back of the queue, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPushError::Full`] if the queue held `capacity` values;
    /// [`TryPushError::Disconnected`] if it did and the consumer is gone (it can never have
    /// room again); [`TryPushError::ForkedCopy`] in a child made by fork. The value is handed
    /// back in each.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), TryPushError<T>> {
        // SAFETY: this handle holds the ring's only producer cursor (made once in `channel`,
        // never cloned), and `&mut self` makes its calls one at a time.
        unsafe { self.ring.try_push(&mut self.cursor, value) }.map_err(TryPushError::refused)
    }

    /// How many values the queue held at one instant during the call.
    pub fn len(&self) -> usize {
        self.ring.len_for_producer(&self.cursor)
    }

    /// Whether the queue held no value at one instant during the call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values the queue holds at most.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether the [`Consumer`] has been dropped: no value pushed from now on will be popped.
    /// A `true` answer also shows everything the consumer's thread did before the drop.
    pub fn is_disconnected(&self) -> bool {
        self.ring.has_left(false)
    }
}

impl<T> Consumer<T> {
    /// Pops the value at the front of the queue, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPopError::Empty`] if the queue held no value; [`TryPopError::Disconnected`] if it
    /// held none and the producer is gone (none will ever come); [`TryPopError::ForkedCopy`]
    /// in a child made by fork.
    #[inline]
    pub fn try_pop(&mut self) -> Result<T, TryPopError> {
        // SAFETY: this handle holds the ring's only consumer cursor, and `&mut self` makes
        // its calls one at a time.
        unsafe { self.ring.try_pop(&mut self.cursor) }.map_err(TryPopError::refused)
    }

    /// How many values the queue held at one instant during the call.
    pub fn len(&self) -> usize {
        self.ring.len_for_consumer(&self.cursor)
    }

    /// Whether the queue held no value at one instant during the call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values the queue holds at most.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether the [`Producer`] has been dropped: once the queue is empty, no value will come.
    /// A `true` answer also shows everything the producer's thread did before the drop.
    pub fn is_disconnected(&self) -> bool {
        self.ring.has_left(true)
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // SAFETY: the only producer cursor; no push follows its handle's drop.
        unsafe { self.ring.producer_leaves(&self.cursor) }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // SAFETY: the only consumer cursor; no pop follows its handle's drop.
        unsafe { self.ring.consumer_leaves(&self.cursor) }
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Producer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("spsc::Consumer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
