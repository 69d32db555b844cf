//! What a placement stores, as the queues see it: a ring, and for a blocking queue its wait
//! lists. Implemented by the heap storage (`heap`) and the shared one (`shared`).

use crate::ring::{Claimer, Ring, Values};
use crate::sync::Barriers;
use crate::wait::WaitLists;

/// The ring over a storage `S` of `T`s, borrowed for `'a`.
pub(crate) type RingOf<'a, S, T> =
    Ring<'a, T, <S as RingStorage<T>>::Values<'a>, <S as RingStorage<T>>::Claimer<'a>>;

/// The storage of a ring: what every queue needs.
pub(crate) trait RingStorage<T> {
    /// Where the ring's values are, and how they are copied.
    type Values<'a>: Values<'a, T>
    where
        Self: 'a;
    /// What the ring's claims tell other participants (see `ring::claimer`).
    type Claimer<'a>: Claimer
    where
        Self: 'a;

    /// The ring over this storage.
    fn ring(&self) -> RingOf<'_, Self, T>;
}

/// The storage of a ring with its two wait lists: what a blocking queue needs.
pub(crate) trait WaitingStorage<T>: RingStorage<T> {
    /// The wait lists of the ring.
    fn wait_lists(&self) -> &WaitLists;
    /// The barrier pair of the wait lists, for this process.
    fn barriers(&self) -> Barriers;
}
