//! What a placement stores, as the queues see it: a ring, and for a blocking queue its wait
//! lists. Implemented by the heap storage (`heap`) and the shared one (`shared`).

use crate::ring::Ring;
use crate::sync::Barriers;
use crate::wait::WaitLists;

/// The storage of a ring: what every queue needs.
pub(crate) trait RingStorage<T> {
    /// The ring over this storage.
    fn ring(&self) -> Ring<'_, T>;
}

/// The storage of a ring with its two wait lists: what a blocking queue needs.
pub(crate) trait WaitingStorage<T>: RingStorage<T> {
    /// The wait lists of the ring.
    fn wait_lists(&self) -> &WaitLists;
    /// The barrier pair of the wait lists, for this process.
    fn barriers(&self) -> Barriers;
}
