//! Positions, laps and stamps: the arithmetic of the ring, and what a stamp says to an
//! operation (see the `ring` module docs for the encoding).

use crate::error::CapacityError;
use crate::mutant;
use crate::sync::AtomicUsize;

/// The bytes of a cache line, as far as the layout of stamps and values is concerned.
pub(crate) const CACHE_LINE: usize = 64;

/// How many `AtomicUsize`s apart the stamps of two consecutive slots are: as far apart as their
/// values (rounded up to whole words), up to a cache line. Two slots' stamps then share a cache
/// line only if their values do too (or both lines hold more slots than a line of stamps can):
/// a producer writing one slot's stamp does not disturb the consumer of another slot's value.
pub(crate) const fn stamp_spacing<T>() -> usize {
    let words = size_of::<T>().div_ceil(size_of::<usize>());
    let most = CACHE_LINE / size_of::<usize>();
    if words == 0 {
        1
    } else if words > most {
        most
    } else {
        words
    }
}

/// The stamps of `capacity` empty slots, `stride` words apart (`capacity * stride` atomics,
/// which the caller has checked fits a `usize`), the first free for the push at `start`; the
/// words between stamps (unused, or a value's) hold 0.
pub(crate) fn empty_stamps(
    start: usize,
    capacity: usize,
    stride: usize,
) -> impl Iterator<Item = AtomicUsize> {
    (0..capacity * stride).map(move |word| {
        AtomicUsize::new(if word % stride == 0 {
            start + word / stride
        } else {
            0
        })
    })
}

/// The shape of a ring of a given capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// How many slots the ring has.
    pub(crate) capacity: usize,
    /// The close mark: `(capacity + 1).next_power_of_two()`.
    pub(super) mark: usize,
    /// The distance between two laps: `2 * mark`.
    pub(super) one_lap: usize,
}

impl Shape {
    /// The shape for `capacity` slots: the one place where a capacity is validated, for
    /// every placement.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for 0, [`CapacityError::TooLarge`] if its laps do not fit in a
    /// `usize`.
    pub(crate) fn new(capacity: usize) -> Result<Self, CapacityError> {
        let too_large = CapacityError::TooLarge { capacity };
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let mark = capacity
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .ok_or(too_large)?;
        let one_lap = mark.checked_mul(2).ok_or(too_large)?;
        Ok(Self {
            capacity,
            mark,
            one_lap,
        })
    }

    /// The first position of lap number `lap` (wrapping).
    pub(crate) fn lap_start(self, lap: usize) -> usize {
        lap.wrapping_mul(self.one_lap)
    }

    /// The slot index of `position` (the close mark, if any, is ignored).
    pub(crate) fn index(self, position: usize) -> usize {
        position & (self.mark - 1)
    }

    /// The position after `position`.
    pub(super) fn next(self, position: usize) -> usize {
        if self.index(position) + 1 < self.capacity {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// The position `count <= capacity` positions after `position`.
    pub(super) fn advance(self, position: usize, count: usize) -> usize {
        debug_assert!(count <= self.capacity);
        let index = self.index(position);
        if index + count < self.capacity {
            position + count
        } else {
            (position & !(self.one_lap - 1))
                .wrapping_add(self.one_lap)
                .wrapping_add(index + count - self.capacity)
        }
    }

    pub(super) fn is_closed(self, tail: usize) -> bool {
        tail & self.mark != 0
    }

    pub(super) fn without_mark(self, tail: usize) -> usize {
        tail & !self.mark
    }

    /// How many [`next`](Self::next) steps lead from position `from` to position `to`: a
    /// number below the capacity for two positions of one lap, and a huge one (wrapped) when
    /// `to` comes before `from`.
    pub(super) fn steps_between(self, from: usize, to: usize) -> usize {
        let lap = !(self.one_lap - 1);
        // Both are multiples of `one_lap`, a power of two: so is their wrapped difference.
        let laps = ((to & lap).wrapping_sub(from & lap)) / self.one_lap;
        laps.wrapping_mul(self.capacity)
            .wrapping_add(self.index(to))
            .wrapping_sub(self.index(from))
    }

    /// The stamp of the slot of `position` once a recovery has given up the value of a dead
    /// push there: "ready for the pop at `position`, with no value". It is `position + 1`
    /// with the close mark, which no other stamp carries.
    pub(super) fn skipped(self, position: usize) -> usize {
        (position + 1) | self.mark
    }
}

/// What a slot's stamp says to an operation at some position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Readiness {
    /// The slot is ready for this operation: claim the position.
    Ready,
    /// The slot is behind: the queue is full (for a push) or empty (for a pop) at this
    /// position, or the operation one lap or one step behind has claimed it and not finished.
    NotYet,
    /// The slot is ahead: another operation took this position; read the cursor again.
    Stale,
    /// For a pop: the slot's push died, and a recovery gave it up (see
    /// [`Shape::skipped`]): claim the position, free the slot, and take the next one.
    Skipped,
}

impl Shape {
    /// For a push at `tail`: stamp `tail` is free; `tail - one_lap` (last lap's push has not
    /// published) and `tail - one_lap + 1` (last lap's value, not yet popped or its pop not
    /// finished) are not yet free; anything else is ahead.
    pub(super) fn classify_for_push(self, stamp: usize, tail: usize) -> Readiness {
        let last_lap = tail.wrapping_sub(self.one_lap);
        if stamp == tail || (mutant::TAKES_OCCUPIED_SLOT && stamp == last_lap + 1) {
            Readiness::Ready
        } else if stamp == last_lap || stamp == last_lap + 1 || stamp == self.skipped(last_lap) {
            Readiness::NotYet
        } else {
            Readiness::Stale
        }
    }

    /// For a pop at `head`: stamp `head + 1` is ready, and `skipped(head)` is a dead push's
    /// slot to pass over; `head` (no push has published there) and `head - one_lap + 1` (last
    /// lap's pop has not finished, with a value or a skipped one) are not yet ready; anything
    /// else is ahead.
    pub(super) fn classify_for_pop(self, stamp: usize, head: usize) -> Readiness {
        let last_lap = head.wrapping_sub(self.one_lap);
        if stamp == head + 1 {
            Readiness::Ready
        } else if stamp == head || stamp == last_lap + 1 || stamp == self.skipped(last_lap) {
            Readiness::NotYet
        } else if stamp == self.skipped(head) {
            Readiness::Skipped
        } else {
            Readiness::Stale
        }
    }
}

impl Shape {
    /// For a pop of a message's span (see `spans`), what a stamp says of a later slot of it:
    /// as for a pop, but a slot passed over by a recovery is there to claim (its message is
    /// torn, and the pop claims it whole to free it).
    pub(super) fn classify_part_for_pop(self, stamp: usize, position: usize) -> Readiness {
        match self.classify_for_pop(stamp, position) {
            Readiness::Skipped => Readiness::Ready,
            readiness => readiness,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn advancing_crosses_into_the_next_lap_at_the_last_slot() {
        let shape = Shape::new(3).unwrap();
        let one_lap = shape.lap_start(1);
        assert_eq!(shape.advance(0, 2), 2);
        assert_eq!(shape.advance(0, 3), one_lap);
        assert_eq!(shape.advance(2, 2), one_lap + 1);
        assert_eq!(
            shape.advance(usize::MAX - one_lap + 1 + 2, 1),
            0,
            "wraps usize"
        );
        for position in [0, 1, 2, one_lap, one_lap + 2] {
            let mut stepped = position;
            for count in 0..=3 {
                assert_eq!(shape.advance(position, count), stepped);
                stepped = shape.next(stepped);
            }
        }
    }

    #[test]
    fn steps_between_counts_slots_across_laps_and_wraps_backwards() {
        let shape = Shape::new(3).unwrap();
        let one_lap = shape.lap_start(1);
        assert_eq!(shape.steps_between(1, 1), 0);
        assert_eq!(shape.steps_between(1, 2), 1);
        assert_eq!(shape.steps_between(2, one_lap), 1);
        assert_eq!(shape.steps_between(1, one_lap + 1), 3);
        assert!(shape.steps_between(2, 1) > 3, "backwards");
        let near_wrap = usize::MAX - one_lap + 1;
        assert_eq!(shape.steps_between(near_wrap + 2, 0), 1, "across the wrap");
        for position in [0, 2, one_lap + 1] {
            let mut stepped = position;
            for count in 0..=3 {
                assert_eq!(shape.steps_between(position, stepped), count);
                stepped = shape.next(stepped);
            }
        }
    }

    #[test]
    fn a_skipped_stamp_is_no_other_stamp() {
        let shape = Shape::new(3).unwrap();
        for position in [0, 1, 2, shape.lap_start(1) + 2] {
            let skipped = shape.skipped(position);
            assert_eq!(shape.classify_for_pop(skipped, position), Readiness::Skipped);
            let next_lap = position + shape.lap_start(1);
            assert_eq!(shape.classify_for_pop(skipped, next_lap), Readiness::NotYet);
            assert_eq!(shape.classify_for_push(skipped, next_lap), Readiness::NotYet);
            assert_ne!(shape.classify_for_push(skipped, position), Readiness::Ready);
        }
    }

    #[test]
    fn stamps_are_as_far_apart_as_values_up_to_a_cache_line() {
        assert_eq!(stamp_spacing::<()>(), 1);
        assert_eq!(stamp_spacing::<u8>(), 1);
        assert_eq!(stamp_spacing::<u64>(), 1);
        assert_eq!(stamp_spacing::<[u8; 9]>(), 2);
        assert_eq!(stamp_spacing::<[u64; 3]>(), 3);
        assert_eq!(stamp_spacing::<[u8; 64]>(), 8);
        assert_eq!(stamp_spacing::<[u8; 4096]>(), 8);
        let stamps: Vec<usize> = empty_stamps(6, 2, stamp_spacing::<[u64; 3]>())
            .map(AtomicUsize::into_inner)
            .collect();
        assert_eq!(stamps, [6, 0, 0, 7, 0, 0]);
    }
}
