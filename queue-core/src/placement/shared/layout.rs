//! The header and layout of a shared queue's memory file, and the checks an attacher makes
//! before it touches anything else in it.

use core::mem::{align_of, size_of};

use super::error::{ElementType, MappingError};
use crate::ring::Plain;
use super::participants::{MAX_PARTICIPANTS, Participants};
use crate::ring::{
    Announcement, CACHE_LINE, Cursors, Shape, stamp_beside_value, stamps_len, words_per_value,
};
use crate::sync::AtomicUsize;
use crate::wait::WaitLists;

/// The first eight bytes of every shared queue.
pub(super) const MAGIC: u64 = u64::from_le_bytes(*b"qcore:SQ");

/// The version of the layout described in the module docs; bumped on any change to it.
pub(super) const LAYOUT_VERSION: u32 = 9;

/// The header at offset 0; every field is an integer, valid for any bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(super) struct Header {
    pub(super) magic: u64,
    pub(super) version: u32,
    pub(super) header_len: u32,
    pub(super) capacity: u64,
    pub(super) element_size: u64,
    pub(super) element_align: u64,
    /// The element type's [`Plain::TYPE_TAG`].
    pub(super) element_tag: u64,
    /// The size of a stamp (a `usize` in the process that made the queue).
    pub(super) stamp_size: u64,
    pub(super) cursors_offset: u64,
    /// 0 for a queue without wait lists (a non-blocking [`Queue`](crate::Queue)).
    pub(super) wait_lists_offset: u64,
    pub(super) stamps_offset: u64,
    pub(super) values_offset: u64,
    pub(super) mapping_len: u64,
    /// The barrier pair every process must use with this queue's wait lists:
    /// [`BARRIERS_SYMMETRIC`] or [`BARRIERS_MEMBARRIER`]; [`BARRIERS_NONE`] without wait lists.
    pub(super) barriers: u32,
    /// Zero.
    pub(super) reserved: u32,
    /// The table of the participants that use the queue (`participants::Participants`).
    pub(super) participants_offset: u64,
    /// The participants' announcements, one per entry (`ring::Announcement`).
    pub(super) announcements_offset: u64,
}

/// `Header::barriers`: no wait lists, no barriers.
pub(super) const BARRIERS_NONE: u32 = 0;
/// `Header::barriers`: `SeqCst` fences on both sides.
pub(super) const BARRIERS_SYMMETRIC: u32 = 1;
/// `Header::barriers`: `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` and compiler fences; every
/// process registers before touching the queue.
pub(super) const BARRIERS_MEMBARRIER: u32 = 2;

/// Where each part of the mapping of a `capacity`-slot queue of `T` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub(super) cursors: usize,
    /// `None` for a queue without wait lists.
    pub(super) wait_lists: Option<usize>,
    pub(super) participants: usize,
    pub(super) announcements: usize,
    pub(super) stamps: usize,
    pub(super) values: usize,
    pub(super) len: usize,
}

impl Layout {
    /// The layout of a queue of `capacity` slots of `T`, with wait lists if `waiting`; `None`
    /// if it does not fit in memory.
    pub(super) fn new<T>(capacity: usize, waiting: bool) -> Option<Self> {
        let cursors = size_of::<Header>().next_multiple_of(align_of::<Cursors>());
        let mut end = cursors + size_of::<Cursors>();
        let wait_lists = waiting.then(|| {
            let offset = end.next_multiple_of(align_of::<WaitLists>());
            end = offset + size_of::<WaitLists>();
            offset
        });
        let participants = end.next_multiple_of(align_of::<Participants>());
        let announcements = (participants + size_of::<Participants>())
            .next_multiple_of(align_of::<Announcement>());
        end = announcements + MAX_PARTICIPANTS * size_of::<Announcement>();
        // The stamps start on a cache line. A small value follows its stamp (the values
        // offset is then the first slot's value, one word on); a large one is in an array of
        // values from a cache line of its own (see `ring::stamp_beside_value`). Values are
        // stored as whole words (see `ring::SharedValues`), so a value's alignment never
        // matters here: it is never referenced in the mapping, only copied out of it.
        let word = size_of::<AtomicUsize>();
        let stamps = end.next_multiple_of(CACHE_LINE);
        let stamps_size = word.checked_mul(stamps_len::<T>(capacity)?)?;
        let stamps_end = stamps.checked_add(stamps_size)?;
        let (values, len) = if stamp_beside_value::<T>() {
            (stamps + word, stamps_end)
        } else {
            let values = stamps_end.checked_next_multiple_of(CACHE_LINE)?;
            let values_size = word.checked_mul(words_per_value::<T>())?.checked_mul(capacity)?;
            (values, values.checked_add(values_size)?)
        };
        // The mapping length must fit in an `off_t` for `fallocate`.
        i64::try_from(len).ok()?;
        Some(Self {
            cursors,
            wait_lists,
            participants,
            announcements,
            stamps,
            values,
            len,
        })
    }

    /// The header of a new queue of this layout, with `shape`, elements of `T` and the
    /// barrier pair `barriers`.
    pub(super) fn header<T: Plain>(&self, shape: Shape, barriers: u32) -> Header {
        let element = element_type::<T>();
        Header {
            magic: MAGIC,
            version: LAYOUT_VERSION,
            header_len: size_of::<Header>() as u32,
            capacity: shape.capacity as u64,
            element_size: element.size,
            element_align: element.align,
            element_tag: element.tag,
            stamp_size: size_of::<AtomicUsize>() as u64,
            cursors_offset: self.cursors as u64,
            wait_lists_offset: self.wait_lists.unwrap_or(0) as u64,
            stamps_offset: self.stamps as u64,
            values_offset: self.values as u64,
            participants_offset: self.participants as u64,
            announcements_offset: self.announcements as u64,
            mapping_len: self.len as u64,
            barriers,
            reserved: 0,
        }
    }
}

/// The element type of `T`, as a header records it.
pub(super) fn element_type<T: Plain>() -> ElementType {
    ElementType {
        size: size_of::<T>() as u64,
        align: align_of::<T>() as u64,
        tag: T::TYPE_TAG,
    }
}

/// Checks a header copied out of a file of `file_len` bytes against the layout of a queue of
/// `T`, with wait lists if `waiting`, and returns the ring's shape and layout.
pub(super) fn check_header<T: Plain>(
    header: &Header,
    file_len: u64,
    waiting: bool,
) -> Result<(Shape, Layout), MappingError> {
    if header.magic != MAGIC {
        return Err(MappingError::NotAQueue);
    }
    if header.version != LAYOUT_VERSION {
        return Err(MappingError::UnsupportedVersion {
            found: header.version,
            supported: LAYOUT_VERSION,
        });
    }
    let found = ElementType {
        size: header.element_size,
        align: header.element_align,
        tag: header.element_tag,
    };
    if found != element_type::<T>() {
        return Err(MappingError::WrongType {
            expected: element_type::<T>(),
            found,
        });
    }
    let found_waiting = header.wait_lists_offset != 0;
    if found_waiting != waiting {
        return Err(MappingError::WrongKind {
            blocking: found_waiting,
        });
    }
    let corrupted = |field| MappingError::Corrupted { field };
    if u64::from(header.header_len) != size_of::<Header>() as u64 {
        return Err(corrupted("header length"));
    }
    let capacity = usize::try_from(header.capacity).map_err(|_| corrupted("capacity"))?;
    let shape = Shape::new(capacity).map_err(|_| corrupted("capacity"))?;
    let layout = Layout::new::<T>(capacity, waiting).ok_or(corrupted("capacity"))?;
    if header.stamp_size != size_of::<AtomicUsize>() as u64 {
        return Err(corrupted("stamp size"));
    }
    let expected = layout.header::<T>(shape, header.barriers);
    let offsets = |h: &Header| {
        (
            h.cursors_offset,
            h.wait_lists_offset,
            h.stamps_offset,
            h.values_offset,
            h.participants_offset,
            h.announcements_offset,
            h.mapping_len,
        )
    };
    if offsets(header) != offsets(&expected) {
        return Err(corrupted("layout"));
    }
    let barriers_known = if waiting {
        [BARRIERS_SYMMETRIC, BARRIERS_MEMBARRIER].contains(&header.barriers)
    } else {
        header.barriers == BARRIERS_NONE
    };
    if !barriers_known || header.reserved != 0 {
        return Err(corrupted("barriers"));
    }
    if file_len != header.mapping_len {
        return Err(MappingError::WrongLength {
            len: file_len,
            expected: header.mapping_len,
        });
    }
    Ok((shape, layout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_parts_apart_and_aligned() {
        let layout = Layout::new::<[u8; 64]>(8, true).unwrap();
        let wait_lists = layout.wait_lists.unwrap();
        assert!(layout.cursors >= size_of::<Header>());
        assert!(wait_lists >= layout.cursors + size_of::<Cursors>());
        assert!(layout.participants >= wait_lists + size_of::<WaitLists>());
        assert!(layout.announcements >= layout.participants + size_of::<Participants>());
        assert_eq!(layout.announcements % CACHE_LINE, 0);
        assert!(layout.stamps >= layout.announcements + 64 * size_of::<Announcement>());
        assert_eq!(layout.stamps % CACHE_LINE, 0);
        assert!(layout.values >= layout.stamps + 8 * 8 * size_of::<AtomicUsize>());
        assert_eq!(layout.values % CACHE_LINE, 0);
        assert_eq!(layout.len, layout.values + 8 * 64);
        let odd = Layout::new::<[u8; 13]>(3, false).unwrap();
        // Each small value beside its stamp: a stamp word and two value words per slot.
        assert_eq!(odd.stamps % CACHE_LINE, 0);
        assert_eq!(odd.values, odd.stamps + size_of::<AtomicUsize>());
        assert_eq!(odd.len, odd.stamps + 3 * 24, "values take whole words");
        assert_eq!(Layout::new::<u64>(usize::MAX, true), None);
    }

    #[test]
    fn a_queue_without_wait_lists_leaves_them_out() {
        let waiting = Layout::new::<u64>(8, true).unwrap();
        let plain = Layout::new::<u64>(8, false).unwrap();
        assert_eq!(plain.wait_lists, None);
        assert!(plain.stamps >= plain.cursors + size_of::<Cursors>());
        assert!(plain.len < waiting.len);
    }

    #[test]
    fn element_types_differ_by_tag_even_with_one_layout() {
        assert_ne!(element_type::<u64>(), element_type::<i64>());
        assert_ne!(element_type::<[u8; 8]>(), element_type::<u64>());
        assert_eq!(element_type::<u64>(), element_type::<u64>());
    }
}
