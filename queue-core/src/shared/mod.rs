//! The shared placement: a ring and its wait lists in a memory mapping that several
//! processes map at once.
//!
//! # The mapping
//!
//! ```text
//! offset 0            Header: magic, layout version, capacity, element type, offsets, length,
//!                     barrier pair (`SeqCst` fences, or `membarrier` with compiler fences)
//! cursors_offset      Cursors (head and the close flag; tail), each on its own cache line
//! signals_offset      Signals (two wait lists: futex words and sleeper counts)
//! stamps_offset       capacity x stamp_spacing::<T>() x AtomicUsize: the slots' stamps,
//!                     from a cache line (see `ring::stamp_spacing`)
//! values_offset       capacity x T: the slots' values, from a cache line
//! ```
//!
//! The creator writes everything before the descriptor can reach another process, the magic
//! number last. An attacher maps the whole file, copies the header out with a volatile read,
//! and checks every field (and that both cursors index a slot) before it touches the ring.
//!
//! # Soundness across processes
//!
//! Another process writing a byte is, to this process, the same as another thread writing it.
//! So the only references made into the mapping are to [`Cursors`], [`Signals`], the stamps
//! and the value cells, whose every byte that anyone writes sits inside an atomic or an
//! `UnsafeCell`:
//! the same access rules as between threads. The header is never referenced, only copied.
//! Values are written and read through raw pointers by the ring's claim protocol, and are
//! [`Plain`]: whatever bytes another process left in a slot make a valid `T`.
//!
//! Every process that maps a queue runs this crate's protocol. The header and cursors are
//! checked when attaching; a process that later writes the mapping outside the protocol can
//! lose or garble messages (as with any shared memory), but a garbled value is still a valid
//! `T`.
//!
//! loom does not model this placement (its atomics are handles into a simulated execution,
//! not memory): the algorithm is checked on the heap placement, and this one by the
//! cross-process tests.

mod error;
mod plain;

use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::num::NonZeroUsize;
use core::ptr::NonNull;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FallocateFlags, fallocate};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
use nix::sys::stat::fstat;

pub use error::{ElementType, MappingError};
pub use plain::{Frame, Plain};

use crate::error::CapacityError;
use crate::ring::{
    CACHE_LINE, Cursors, Ring, Shape, ValueCell, empty_stamps, stamp_spacing, stamps_len,
};
use crate::sync::AtomicUsize;
use crate::sync::Barriers;
use crate::wait::Signals;

/// The first eight bytes of every shared queue.
const MAGIC: u64 = u64::from_le_bytes(*b"qcore:SQ");

/// The version of the layout described in the module docs; bumped on any change to it.
pub(crate) const LAYOUT_VERSION: u32 = 4;

/// The largest alignment the mapping can give (mappings start on a page).
const PAGE: usize = 4096;

/// The header at offset 0; every field is an integer, valid for any bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct Header {
    magic: u64,
    version: u32,
    header_len: u32,
    capacity: u64,
    element_size: u64,
    element_align: u64,
    element_name_hash: u64,
    /// The size of a stamp (a `usize` in the process that made the queue).
    stamp_size: u64,
    cursors_offset: u64,
    signals_offset: u64,
    stamps_offset: u64,
    values_offset: u64,
    mapping_len: u64,
    /// The barrier pair every process must use with this queue: [`BARRIERS_SYMMETRIC`] or
    /// [`BARRIERS_MEMBARRIER`].
    barriers: u32,
    /// Zero.
    reserved: u32,
}

/// `Header::barriers`: `SeqCst` fences on both sides.
const BARRIERS_SYMMETRIC: u32 = 1;
/// `Header::barriers`: `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` and compiler fences; every
/// process registers before touching the queue.
const BARRIERS_MEMBARRIER: u32 = 2;

/// Where each part of the mapping of a `capacity`-slot queue of `T` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    cursors: usize,
    signals: usize,
    stamps: usize,
    values: usize,
    len: usize,
}

impl Layout {
    fn new<T>(capacity: usize) -> Option<Self> {
        let values_align = align_of::<ValueCell<T>>().max(CACHE_LINE);
        if values_align > PAGE {
            return None;
        }
        let cursors = size_of::<Header>().next_multiple_of(align_of::<Cursors>());
        let signals = (cursors + size_of::<Cursors>()).next_multiple_of(align_of::<Signals>());
        // The stamps and the values each start on a cache line of their own.
        let stamps = (signals + size_of::<Signals>()).next_multiple_of(CACHE_LINE);
        let stamps_size = size_of::<AtomicUsize>().checked_mul(stamps_len::<T>(capacity)?)?;
        let stamps_end = stamps.checked_add(stamps_size)?;
        let values = stamps_end.checked_next_multiple_of(values_align)?;
        let len = values.checked_add(size_of::<ValueCell<T>>().checked_mul(capacity)?)?;
        // The mapping length must fit in an `off_t` for `fallocate`.
        i64::try_from(len).ok()?;
        Some(Self {
            cursors,
            signals,
            stamps,
            values,
            len,
        })
    }
}

/// The element type of `T`, as a header records it.
fn element_type<T>() -> ElementType {
    ElementType {
        size: size_of::<T>() as u64,
        align: align_of::<T>() as u64,
        name_hash: fnv1a(core::any::type_name::<T>().as_bytes()),
    }
}

/// The 64-bit FNV-1a hash: stable, and good enough to tell type names apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Sets the length of the memory file `fd` to `len` bytes and has the kernel allocate every
/// page of it now: a machine short of memory fails here, with an error, rather than at the
/// first touch of a page in some later push (`SIGBUS` or the out-of-memory killer, in the
/// middle of the ring's protocol), and no call on the queue spends its time allocating pages.
fn allocate(fd: &OwnedFd, len: i64) -> nix::Result<()> {
    loop {
        match fallocate(fd, FallocateFlags::empty(), 0, len) {
            // A signal can interrupt the allocation of a large file (the kernel does not
            // restart it): start again.
            Err(Errno::EINTR) => continue,
            done => return done,
        }
    }
}

/// A whole-file `MAP_SHARED` mapping, unmapped on drop.
struct RawMapping {
    base: NonNull<u8>,
    len: NonZeroUsize,
}

impl RawMapping {
    fn map(fd: &OwnedFd, len: NonZeroUsize) -> Result<Self, MappingError> {
        // SAFETY: a new mapping at an address the kernel picks overlaps no Rust object; it is
        // unmapped only by `drop`, after every reference into it (tied to `&self`) is gone.
        let base = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }?;
        Ok(Self {
            base: base.cast(),
            len,
        })
    }

    /// A pointer to `offset` bytes into the mapping, as a `U`.
    fn at<U>(&self, offset: usize) -> *mut U {
        debug_assert!(offset + size_of::<U>() <= self.len.get());
        debug_assert_eq!(offset % align_of::<U>(), 0);
        // SAFETY: callers pass offsets from a `Layout` checked against `len`, so the result
        // stays inside the mapping.
        unsafe { self.base.as_ptr().add(offset).cast() }
    }
}

impl Drop for RawMapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what `mmap` returned, and nothing borrowed from the
        // mapping outlives `self`. An error here could only mean a bad address; ignore it.
        let _ = unsafe { munmap(self.base.cast(), self.len.get()) };
    }
}

/// A shared queue's mapping, with the ring's shape and where its parts are.
pub(crate) struct Mapping<T> {
    raw: RawMapping,
    fd: OwnedFd,
    shape: Shape,
    layout: Layout,
    /// The barrier pair the header names; this process has registered for it.
    barriers: Barriers,
    _values: PhantomData<T>,
}

impl<T: Plain> Mapping<T> {
    /// A new queue of `capacity` slots in a new memory file.
    pub(crate) fn create(capacity: usize) -> Result<Self, MappingError> {
        let too_large = CapacityError::TooLarge { capacity };
        let shape = Shape::new(capacity).ok_or(if capacity == 0 {
            CapacityError::Zero
        } else {
            too_large
        })?;
        let layout = Layout::new::<T>(capacity).ok_or(too_large)?;
        let fd = memfd_create(c"queue-core", MFdFlags::MFD_CLOEXEC)?;
        // `Layout::new` checked that the length fits an `off_t`.
        allocate(&fd, layout.len as i64)?;
        let len = NonZeroUsize::new(layout.len).ok_or(too_large)?;
        let raw = RawMapping::map(&fd, len)?;
        let barriers = Barriers::across_processes();
        let start = shape.lap_start(0);
        // SAFETY: the mapping is new, `len` bytes long, page-aligned, and no other process
        // can reach it yet (the descriptor has not left this call); the layout puts each part
        // in bounds at its alignment.
        unsafe {
            raw.at::<Cursors>(layout.cursors).write(Cursors::new(start));
            raw.at::<Signals>(layout.signals).write(Signals::default());
            // The value cells need no initialisation: a new memory file reads as zeros,
            // valid bytes for a `T: Plain`, and every stamp says "empty".
            let stamps = raw.at::<AtomicUsize>(layout.stamps);
            for (word, stamp) in empty_stamps::<T>(start, capacity).enumerate() {
                stamps.add(word).write(stamp);
            }
            raw.at::<Header>(0).write_volatile(Header {
                magic: MAGIC,
                version: LAYOUT_VERSION,
                header_len: size_of::<Header>() as u32,
                capacity: capacity as u64,
                element_size: element_type::<T>().size,
                element_align: element_type::<T>().align,
                element_name_hash: element_type::<T>().name_hash,
                stamp_size: size_of::<AtomicUsize>() as u64,
                cursors_offset: layout.cursors as u64,
                signals_offset: layout.signals as u64,
                stamps_offset: layout.stamps as u64,
                values_offset: layout.values as u64,
                mapping_len: layout.len as u64,
                barriers: match barriers {
                    Barriers::AcrossProcesses => BARRIERS_MEMBARRIER,
                    _ => BARRIERS_SYMMETRIC,
                },
                reserved: 0,
            });
        }
        Ok(Self {
            raw,
            fd,
            shape,
            layout,
            barriers,
            _values: PhantomData,
        })
    }

    /// The queue in the memory file `fd`, after checking its header and cursors.
    pub(crate) fn attach(fd: OwnedFd) -> Result<Self, MappingError> {
        let file_len = u64::try_from(fstat(&fd)?.st_size).unwrap_or(0);
        let header_len = size_of::<Header>() as u64;
        if file_len < header_len {
            return Err(MappingError::Truncated {
                len: file_len,
                needed: header_len,
            });
        }
        let len = usize::try_from(file_len)
            .ok()
            .and_then(NonZeroUsize::new)
            .ok_or(MappingError::Corrupted {
                field: "file length",
            })?;
        let raw = RawMapping::map(&fd, len)?;
        // SAFETY: the mapping holds at least a header's bytes (checked above), page-aligned;
        // every bit pattern is a valid `Header`, and we copy it out rather than borrow it.
        let header = unsafe { raw.at::<Header>(0).read_volatile() };
        let (shape, layout) = check_header::<T>(&header, file_len)?;
        let barriers = if header.barriers == BARRIERS_MEMBARRIER {
            Barriers::join_across_processes().map_err(MappingError::Os)?;
            Barriers::AcrossProcesses
        } else {
            Barriers::Symmetric
        };
        let mapping = Self {
            raw,
            fd,
            shape,
            layout,
            barriers,
            _values: PhantomData,
        };
        if !mapping.ring().cursors_in_bounds() {
            return Err(MappingError::Corrupted { field: "cursors" });
        }
        Ok(mapping)
    }
}

/// Checks a header copied out of a file of `file_len` bytes against the layout of a queue of
/// `T`, and returns the ring's shape and layout.
fn check_header<T>(header: &Header, file_len: u64) -> Result<(Shape, Layout), MappingError> {
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
        name_hash: header.element_name_hash,
    };
    if found != element_type::<T>() {
        return Err(MappingError::WrongType {
            expected: element_type::<T>(),
            found,
        });
    }
    let corrupted = |field| MappingError::Corrupted { field };
    if u64::from(header.header_len) != size_of::<Header>() as u64 {
        return Err(corrupted("header length"));
    }
    let capacity = usize::try_from(header.capacity).map_err(|_| corrupted("capacity"))?;
    let shape = Shape::new(capacity).ok_or(corrupted("capacity"))?;
    let layout = Layout::new::<T>(capacity).ok_or(corrupted("capacity"))?;
    if header.stamp_size != size_of::<AtomicUsize>() as u64 {
        return Err(corrupted("stamp size"));
    }
    let recorded = (
        header.cursors_offset,
        header.signals_offset,
        header.stamps_offset,
        header.values_offset,
        header.mapping_len,
    );
    let expected = (
        layout.cursors as u64,
        layout.signals as u64,
        layout.stamps as u64,
        layout.values as u64,
        layout.len as u64,
    );
    if recorded != expected {
        return Err(corrupted("layout"));
    }
    if ![BARRIERS_SYMMETRIC, BARRIERS_MEMBARRIER].contains(&header.barriers) || header.reserved != 0
    {
        return Err(corrupted("barriers"));
    }
    if file_len < header.mapping_len {
        return Err(MappingError::Truncated {
            len: file_len,
            needed: header.mapping_len,
        });
    }
    Ok((shape, layout))
}

impl<T> Mapping<T> {
    /// The ring in the mapping.
    #[inline(always)]
    pub(crate) fn ring(&self) -> Ring<'_, T> {
        // The layout (made here or checked against the header) puts the cursors, `capacity`
        // stamps and `capacity` value cells in bounds at their alignment, initialised by
        // `create` (the value cells as the memory file's zeros); references to them are sound
        // across processes (see the module docs). Every process reaches the ring through a
        // `Ring` of this shape. The cursors index slots (checked by `create`'s construction or
        // `attach`), and a value cell's bytes are always initialised memory holding a valid
        // `T` (`T: Plain` for every mapping made or attached).
        // SAFETY: so the references below are in bounds and valid, and `Ring::new`'s contract
        // holds.
        unsafe {
            let cursors = &*self.raw.at::<Cursors>(self.layout.cursors);
            let stamps = core::slice::from_raw_parts(
                self.raw.at::<AtomicUsize>(self.layout.stamps),
                self.shape.capacity * stamp_spacing::<T>(),
            );
            let values = core::slice::from_raw_parts(
                self.raw.at::<ValueCell<T>>(self.layout.values),
                self.shape.capacity,
            );
            Ring::new(cursors, stamps, values, self.shape)
        }
    }

    /// The wait lists in the mapping.
    #[inline(always)]
    pub(crate) fn signals(&self) -> &Signals {
        // SAFETY: in bounds, aligned and initialised (as for `ring`); all atomics.
        unsafe { &*self.raw.at::<Signals>(self.layout.signals) }
    }

    /// The barrier pair of this queue's wait lists, for this process.
    pub(crate) fn barriers(&self) -> Barriers {
        self.barriers
    }

    /// The memory file's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// How many slots the ring has.
    pub(crate) fn capacity(&self) -> usize {
        self.shape.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_parts_apart_and_aligned() {
        let layout = Layout::new::<[u8; 64]>(8).unwrap();
        assert!(layout.cursors >= size_of::<Header>());
        assert!(layout.signals >= layout.cursors + size_of::<Cursors>());
        assert!(layout.stamps >= layout.signals + size_of::<Signals>());
        assert_eq!(layout.stamps % CACHE_LINE, 0);
        assert!(layout.values >= layout.stamps + 8 * 8 * size_of::<AtomicUsize>());
        assert_eq!(layout.values % CACHE_LINE, 0);
        assert_eq!(
            layout.len,
            layout.values + 8 * size_of::<ValueCell<[u8; 64]>>()
        );
        assert_eq!(Layout::new::<u64>(usize::MAX), None);
    }

    #[cfg(not(loom))]
    #[test]
    fn create_allocates_every_page_of_the_mapping() {
        let mapping = Mapping::<[u8; 64]>::create(4096).unwrap();
        let stat = fstat(mapping.fd()).unwrap();
        assert_eq!(stat.st_size as usize, mapping.layout.len);
        // The values (half the mapping) are never written here: only an allocation at
        // creation accounts for their blocks.
        assert!(stat.st_blocks as usize * 512 >= mapping.layout.len);
    }

    #[test]
    fn element_types_differ_by_name_even_with_one_layout() {
        assert_ne!(element_type::<u64>(), element_type::<i64>());
        assert_eq!(element_type::<u64>(), element_type::<u64>());
    }
}
