//! Where a queue's ring lives, as a type: [`Heap`] (this process) or [`Shared`] (a memory
//! mapping that several processes map).
//!
//! [`Queue`](crate::Queue) and [`BlockingQueue`](crate::BlockingQueue) take the placement as
//! their second type parameter, `Heap` by default, so each operation is written once for
//! both placements, and only a shared queue has a descriptor to hand to another process.
//! The trait is sealed: the storage behind each placement is this crate's own.

/// Where a queue's ring lives: [`Heap`] or [`Shared`]. Sealed: no other placement exists.
pub trait Placement: sealed::Placement {}

/// The placement of a queue within one process: one heap allocation, any `T: Send`.
///
/// The default placement: `Queue<T>` is `Queue<T, Heap>`.
#[derive(Debug)]
pub enum Heap {}

/// The placement of a queue between processes: a memory file (`memfd`) mapped by each process
/// that shares it, for [`Plain`](crate::Plain) values only.
///
/// Made with [`Queue::create`](crate::Queue::create) or
/// [`BlockingQueue::create`](crate::BlockingQueue::create), and mapped again from its
/// descriptor with `attach`.
#[derive(Debug)]
pub enum Shared {}

impl Placement for Heap {}
impl Placement for Shared {}

pub(crate) mod sealed {
    /// What each placement stores.
    pub trait Placement: 'static {
        /// The storage of a non-blocking queue of `T`.
        #[allow(private_bounds, reason = "sealed: the storage is this crate's own")]
        type Ring<T>: crate::storage::RingStorage<T>;
        /// The storage of a blocking queue of `T`.
        #[allow(private_bounds, reason = "sealed: the storage is this crate's own")]
        type Waiting<T>: crate::storage::WaitingStorage<T>;
        /// The placement's name, for `Debug`.
        const NAME: &'static str;
    }

    impl Placement for super::Heap {
        type Ring<T> = crate::heap::HeapRing<T>;
        type Waiting<T> = crate::heap::HeapWaiting<T>;
        const NAME: &'static str = "heap";
    }

    impl Placement for super::Shared {
        type Ring<T> = crate::shared::Mapping<T>;
        type Waiting<T> = crate::shared::WaitingMapping<T>;
        const NAME: &'static str = "shared";
    }
}
