//! The reference model: what the queue means, with no concurrency at all.

use std::collections::VecDeque;

/// A plain FIFO queue with a capacity that can be closed: the sequential specification of
/// `queue_core::Queue` and `queue_core::BlockingQueue`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReferenceQueue<T> {
    items: VecDeque<T>,
    capacity: usize,
    closed: bool,
}

/// Why the reference model refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refused {
    /// Full (for a push) or empty (for a pop).
    FullOrEmpty,
    /// Closed (and, for a pop, empty).
    Closed,
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
            closed: false,
        }
    }

    /// Pushes at the back, or hands `value` back when `capacity` values are inside (or the
    /// queue is closed: see `push_or_refuse`).
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        self.push_or_refuse(value).map_err(|(value, _)| value)
    }

    /// Pops from the front, or `None` when empty.
    pub fn try_pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Pushes at the back, or hands `value` back with the reason: closed, or full.
    pub fn push_or_refuse(&mut self, value: T) -> Result<(), (T, Refused)> {
        if self.closed {
            return Err((value, Refused::Closed));
        }
        if self.items.len() == self.capacity {
            return Err((value, Refused::FullOrEmpty));
        }
        self.items.push_back(value);
        Ok(())
    }

    /// Pops from the front, or says why not: empty, or closed and empty.
    pub fn pop_or_refuse(&mut self) -> Result<T, Refused> {
        match self.items.pop_front() {
            Some(value) => Ok(value),
            None if self.closed => Err(Refused::Closed),
            None => Err(Refused::FullOrEmpty),
        }
    }

    /// Pushes as many values from the front of `values` as fit; refused only when closed
    /// (and `values` is not empty).
    pub fn push_slice(&mut self, values: &[T]) -> Result<usize, Refused>
    where
        T: Clone,
    {
        if values.is_empty() {
            return Ok(0);
        }
        if self.closed {
            return Err(Refused::Closed);
        }
        let count = values.len().min(self.capacity - self.items.len());
        self.items.extend(values[..count].iter().cloned());
        Ok(count)
    }

    /// Pops up to `max` values from the front; refused only when closed and empty (and
    /// `max > 0`).
    pub fn pop_slice(&mut self, max: usize) -> Result<Vec<T>, Refused> {
        if max == 0 {
            return Ok(Vec::new());
        }
        if self.items.is_empty() && self.closed {
            return Err(Refused::Closed);
        }
        let count = max.min(self.items.len());
        Ok(self.items.drain(..count).collect())
    }

    /// Closes the queue; `false` if it was closed already.
    pub fn close(&mut self) -> bool {
        !std::mem::replace(&mut self.closed, true)
    }

    pub fn is_closed(&self) -> bool {
        self.closed
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
