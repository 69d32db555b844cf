//! The reference model: what the queue means, with no concurrency at all.

use std::collections::VecDeque;

/// A plain FIFO queue with a capacity: the sequential specification of `queue_core::Queue`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReferenceQueue<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> ReferenceQueue<T> {
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "the reference model has no zero capacity either"
        );
        Self {
            items: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Pushes at the back, or hands `value` back when `capacity` values are inside.
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        if self.items.len() == self.capacity {
            return Err(value);
        }
        self.items.push_back(value);
        Ok(())
    }

    /// Pops from the front, or `None` when empty.
    pub fn try_pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.items.len() == self.capacity
    }
}

impl<T> ReferenceQueue<T> {
    /// The value the next pop returns.
    pub fn front(&self) -> Option<&T> {
        self.items.front()
    }
}
