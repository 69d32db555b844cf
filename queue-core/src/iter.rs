//! [`Iter`]: a consumer's `for value in &queue`, popping until the queue answers an error.

use core::fmt;

use crate::error::PopError;
use crate::{BlockingQueue, Pops};

/// The values of a [`BlockingQueue`], popped one by one, sleeping while it is empty, until a pop
/// answers an error: [`PopError::Closed`] once the queue is closed and drained, or, for a shared
/// queue, [`PopError::Disconnected`] once every producer has gone and it is drained (or
/// [`PopError::Corrupted`]). [`ended_by`](Self::ended_by) says which.
///
/// # Examples
///
/// ```
/// # fn main() {
/// use queue_core::BlockingQueue;
///
/// let queue = BlockingQueue::new(4).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         for n in 1..=10 {
///             queue.push(n).unwrap();
///         }
///         queue.close(); // ends the consumer's loop once it has drained the queue
///     });
///     let mut sum = 0;
///     for n in &queue {
///         sum += n;
///     }
///     assert_eq!(sum, 55);
/// });
/// # }
/// ```
pub struct Iter<'a, T, P: Pops> {
    queue: &'a BlockingQueue<T, P>,
    ended_by: Option<PopError>,
}

impl<T, P: Pops> Iter<'_, T, P> {
    /// The error that ended the iteration, once it has ended.
    pub fn ended_by(&self) -> Option<PopError> {
        self.ended_by
    }
}

impl<T, P: Pops> Iterator for Iter<'_, T, P> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        pop_until_error(&mut self.ended_by, || self.queue.pop())
    }
}

/// The next value `pop` gives, until it first answers an error, kept in `ended_by`: the body
/// of every iterator that pops until the queue says why it stops.
pub(crate) fn pop_until_error<T, E>(
    ended_by: &mut Option<E>,
    pop: impl FnOnce() -> Result<T, E>,
) -> Option<T> {
    if ended_by.is_some() {
        return None;
    }
    pop().map_err(|error| *ended_by = Some(error)).ok()
}

impl<T, P: Pops> core::iter::FusedIterator for Iter<'_, T, P> {}

impl<'a, T, P: Pops> IntoIterator for &'a BlockingQueue<T, P> {
    type Item = T;
    type IntoIter = Iter<'a, T, P>;

    fn into_iter(self) -> Iter<'a, T, P> {
        self.iter()
    }
}

impl<T, P: Pops> BlockingQueue<T, P> {
    /// Iterates over the values popped one by one until the queue is closed (or disconnected)
    /// and drained: `for value in &queue` (see [`Iter`]).
    pub fn iter(&self) -> Iter<'_, T, P> {
        Iter {
            queue: self,
            ended_by: None,
        }
    }
}

impl<T, P: Pops> fmt::Debug for Iter<'_, T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("ended_by", &self.ended_by)
            .finish_non_exhaustive()
    }
}
