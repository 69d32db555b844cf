//! The ring's two cursors, `head` and `tail`, each on a cache line of its own.

use crossbeam_utils::CachePadded;

use crate::sync::AtomicUsize;

/// The two cursors of the ring, each on its own cache line so that producers and consumers do
/// not invalidate each other's line.
#[repr(C)]
pub(crate) struct Cursors {
    /// The pops' line: the position of the next pop, and the close flag.
    pub(super) pops: CachePadded<PopLine>,
    /// The position of the next push, with the close mark once the ring is closed.
    pub(super) tail: CachePadded<AtomicUsize>,
}

/// The cache line that only pops write (and [`Ring::close`], once).
#[repr(C)]
pub(super) struct PopLine {
    /// The position of the next pop.
    pub(super) head: AtomicUsize,
    /// Not zero once [`Ring::close`] has begun. A pop that finds its slot empty reads this word,
    /// on the line it just read `head` from, and reads `tail`, the producers' line, only once
    /// it is set: a consumer waiting on an empty ring then never pulls that line away from the
    /// producer, whose next compare-and-swap on `tail` would have to fetch it back.
    pub(super) closing: AtomicUsize,
}

impl Cursors {
    /// Both cursors at `start`, the first position of a lap.
    pub(crate) fn new(start: usize) -> Self {
        Self {
            pops: CachePadded::new(PopLine {
                head: AtomicUsize::new(start),
                closing: AtomicUsize::new(0),
            }),
            tail: CachePadded::new(AtomicUsize::new(start)),
        }
    }
}
