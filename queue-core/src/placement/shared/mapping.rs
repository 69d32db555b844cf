//! The shared storage: a whole-file mapping of a memory file, and the ring (and, for a
//! blocking queue, the wait lists) inside it.

use core::mem::{align_of, size_of};
use core::num::NonZeroUsize;
use core::ptr::NonNull;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

use super::error::MappingError;
use super::file::{create_sealed, sealed_len};
use super::layout::{
    BARRIERS_MEMBARRIER, BARRIERS_NONE, BARRIERS_SYMMETRIC, Header, Layout, check_header,
};
use super::liveness::{Peers, Suspicion, Watch};
use super::membership::{Membership, Table};
use super::participants::{MAX_PARTICIPANTS, Participants, Roles};
use crate::ring::Plain;
use super::presence::Presence;
use crate::error::CapacityError;
use crate::mutant;
use crate::ring::{
    AnyBytes, Announced, Announcement, Cursors, Participant, Ring, SharedValues, Shape, Side,
    empty_stamps, side_gone_by, stamp_beside_value, stamps_len, words_per_value,
};
use crate::placement::storage::{RingOf, RingStorage, WaitingStorage};
use crate::sync::{AtomicUsize, Barriers};
use crate::wait::WaitLists;

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
        self.at_many::<U>(offset, 1)
    }

    /// A pointer to `offset` bytes into the mapping, as the first of `count` `U`s. With
    /// `count` 0 (the values of a zero-sized `T`) `offset` may be the mapping's end.
    fn at_many<U>(&self, offset: usize, count: usize) -> *mut U {
        debug_assert!(offset + count * size_of::<U>() <= self.len.get());
        debug_assert_eq!(offset % align_of::<U>(), 0);
        // SAFETY: callers pass offsets from a `Layout` checked against `len`, so the result
        // stays inside the mapping, or one past its end for no `U` at all.
        unsafe { self.base.as_ptr().add(offset).cast() }
    }
}

// SAFETY: a `RawMapping` is a shared mapping whose bytes are only ever reached as atomics (or
// copied out of, as values), which any number of threads (and processes) may do at once; it
// owns the mapping, unmapped once, by whichever thread drops it.
unsafe impl Send for RawMapping {}
// SAFETY: as for `Send`: `&RawMapping` only hands out pointers that are used as atomics.
unsafe impl Sync for RawMapping {}

impl Drop for RawMapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what `mmap` returned, and nothing borrowed from the
        // mapping outlives `self`. An error here could only mean a bad address; ignore it.
        let _ = unsafe { munmap(self.base.cast(), self.len.get()) };
    }
}

/// A mapped queue with its shape and layout: what every handle to it in this process shares.
struct Region {
    raw: RawMapping,
    fd: OwnedFd,
    shape: Shape,
    layout: Layout,
    /// The barrier pair of the wait lists (for a queue that has them, at
    /// `layout.wait_lists`): this process has registered for it.
    barriers: Barriers,
    /// What this process knows of the participants' processes.
    watch: Watch,
}

impl Region {
    /// The participants, as this process judges them.
    #[inline(always)]
    fn peers(&self) -> Peers<'_> {
        // SAFETY: the layout (made here or checked against the header and the file's sealed
        // length) puts the table in bounds at its alignment; it is all atomics, valid for any
        // bytes (the memory file's zeros are an empty table), sound to share across processes.
        let participants = unsafe { &*self.raw.at::<Participants>(self.layout.participants) };
        Peers {
            participants,
            watch: &self.watch,
        }
    }

    /// The participants' announcements, one per entry.
    #[inline(always)]
    fn announcements(&self) -> &[Announcement] {
        // SAFETY: as for `peers`: `MAX_PARTICIPANTS` announcements in bounds at their
        // alignment, all atomics.
        unsafe {
            core::slice::from_raw_parts(
                self.raw
                    .at_many::<Announcement>(self.layout.announcements, MAX_PARTICIPANTS),
                MAX_PARTICIPANTS,
            )
        }
    }

    /// The wait lists at `offset` (which is `layout.wait_lists`).
    #[inline(always)]
    fn wait_lists_at(&self, offset: usize) -> &WaitLists {
        debug_assert_eq!(Some(offset), self.layout.wait_lists);
        // SAFETY: in bounds, aligned and initialised (the layout, as for `peers`, has wait
        // lists at this offset); all atomics, sound to share across processes.
        unsafe { &*self.raw.at::<WaitLists>(offset) }
    }

    /// The ring, as a caller that announces nothing sees it.
    #[inline(always)]
    fn unannounced_ring<T>(&self, element: AnyBytes<T>) -> Ring<'_, T, SharedValues<'_, T>> {
        // The layout (made here or checked against the header and the file's sealed length)
        // puts the cursors, `capacity` slots' stamps and `capacity` values' words in bounds at
        // their alignment, initialised by `create` (the values as the memory file's zeros);
        // references to atomics are sound across processes (see the module docs), whatever
        // another process writes into them. A region is only ever made by `create` or
        // `attach` of a `Mapping<T>`, and this `T` is that one (`element` proves it may be
        // copied through words whatever they hold).
        // SAFETY: so the references below are in bounds and valid, and `Ring::new`'s
        // contract holds: the ring checks every position it reads from the cursors, and
        // never trusts a stamp or a value further than its contract.
        unsafe {
            let cursors = &*self.raw.at::<Cursors>(self.layout.cursors);
            let slice = |offset, count| {
                core::slice::from_raw_parts(self.raw.at_many::<AtomicUsize>(offset, count), count)
            };
            // `stamps_len` fits: the layout was made with it.
            let stamp_count = stamps_len::<T>(self.shape.capacity).unwrap_or_default();
            let stamps = slice(self.layout.stamps, stamp_count);
            let values = if stamp_beside_value::<T>() {
                SharedValues::beside(stamps, element)
            } else {
                let words = slice(self.layout.values, self.shape.capacity * words_per_value::<T>());
                SharedValues::new(stamps, words, element)
            };
            Ring::new(cursors, values, self.shape)
        }
    }

    /// Whether the claim `announcement` (of a dead participant) holds no slot any more,
    /// after recovering what it can (see `Ring::settle`), as a caller that is no participant.
    fn settle<T>(&self, announcement: &Announcement, element: AnyBytes<T>) -> bool {
        self.unannounced_ring(element)
            .claiming_as(Announced::new(self))
            .settle(announcement)
    }

    /// Takes the presence and an entry in the table for a new handle of `roles`.
    fn join<T>(&self, roles: Roles, element: AnyBytes<T>) -> Result<Membership, MappingError> {
        Membership::join(&TableOf::new(self, element), self.fd.as_fd(), roles)
    }

    /// The wait lists, for a queue that has them.
    fn wait_lists(&self) -> Option<&WaitLists> {
        self.layout
            .wait_lists
            .map(|offset| self.wait_lists_at(offset))
    }
}

/// The table of a region of `T`s, as a joining handle sees it.
struct TableOf<'a, T> {
    region: &'a Region,
    element: AnyBytes<T>,
}

impl<'a, T> TableOf<'a, T> {
    fn new(region: &'a Region, element: AnyBytes<T>) -> Self {
        Self { region, element }
    }
}

impl<T> Table for TableOf<'_, T> {
    fn peers(&self) -> Peers<'_> {
        self.region.peers()
    }

    fn announcements(&self) -> &[Announcement] {
        self.region.announcements()
    }

    fn settle(&self, announcement: &Announcement) -> bool {
        self.region.settle(announcement, self.element)
    }

    fn taken(&self, index: usize) {
        if let Some(wait_lists) = self.region.wait_lists() {
            wait_lists.forget(index);
        }
    }
}

/// The region, as a caller that is no participant claims on it: to settle a dead entry's
/// claim, whose holder is known dead, so every held slot is asked about at once.
impl Participant for &Region {
    #[inline(always)]
    fn table(&self) -> &[Announcement] {
        self.announcements()
    }

    #[inline(always)]
    fn me(&self) -> Option<usize> {
        None
    }

    fn is_dead(&self, index: usize) -> bool {
        self.peers().is_dead(index)
    }

    fn announcers(&self, side: Side) -> usize {
        self.peers().announcers(side)
    }

    fn wake_all(&self) {
        if let Some(wait_lists) = self.wait_lists() {
            wait_lists.wake_all(self.barriers);
        }
    }
}

/// A handle to a shared queue's mapping: the storage of a non-blocking shared
/// [`Queue`](crate::Queue), and the inside of a [`WaitingMapping`]. Each handle is one
/// participant of the queue, with its own entry in the table.
pub struct Mapping<T> {
    region: Arc<Region>,
    membership: Membership,
    /// The slot this handle last found held (see `Suspicion`).
    suspicion: Suspicion,
    /// Made by `create` and `attach`, which need `T: Plain`.
    element: AnyBytes<T>,
}

impl<T> core::fmt::Debug for Mapping<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mapping")
            .field("capacity", &self.region.shape.capacity)
            .finish_non_exhaustive()
    }
}

/// A shared queue's mapping that holds wait lists: the storage of a shared
/// [`BlockingQueue`](crate::BlockingQueue).
pub struct WaitingMapping<T> {
    mapping: Mapping<T>,
    /// Where the wait lists are (`layout.wait_lists` of the region, which is `Some` here).
    wait_lists: usize,
}

impl<T> core::fmt::Debug for WaitingMapping<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WaitingMapping")
            .field("capacity", &self.mapping.region.shape.capacity)
            .finish_non_exhaustive()
    }
}

/// `UnderLoom` in a build with `--cfg loom` (or `--cfg shuttle`): a downstream crate's loom
/// model that made a shared queue would otherwise run loom's atomics over a memory file, and
/// fail far from the cause ("Model exceeded maximum number of branches", or worse).
fn refuse_under_loom() -> Result<(), MappingError> {
    if cfg!(any(loom, shuttle)) {
        Err(MappingError::UnderLoom)
    } else {
        Ok(())
    }
}

impl<T: Plain> Mapping<T> {
    /// A new queue of `capacity` slots in a new memory file, with wait lists if `barriers`
    /// names their barrier pair, and its first handle, of `roles`.
    fn create(
        capacity: usize,
        barriers: Option<Barriers>,
        roles: Roles,
    ) -> Result<Self, MappingError> {
        refuse_under_loom()?;
        let shape = Shape::new(capacity)?;
        let layout = Layout::new::<T>(capacity, barriers.is_some())
            .ok_or(CapacityError::TooLarge { capacity })?;
        // `Layout::new` checked that the length fits an `off_t`.
        let fd = create_sealed(layout.len as i64)?;
        let len = NonZeroUsize::new(layout.len).ok_or(CapacityError::TooLarge { capacity })?;
        let raw = RawMapping::map(&fd, len)?;
        let start = shape.lap_start(0);
        let header_barriers = match barriers {
            None => BARRIERS_NONE,
            Some(Barriers::AcrossProcesses) => BARRIERS_MEMBARRIER,
            Some(_) => BARRIERS_SYMMETRIC,
        };
        // SAFETY: the mapping is new, `len` bytes long, page-aligned, and no other process
        // can reach it yet (the descriptor has not left this call); the layout puts each part
        // in bounds at its alignment.
        unsafe {
            raw.at::<Cursors>(layout.cursors).write(Cursors::new(start));
            if let Some(offset) = layout.wait_lists {
                raw.at::<WaitLists>(offset).write(WaitLists::default());
            }
            // The value cells need no initialisation: a new memory file reads as zeros,
            // valid bytes for a `T: Plain`, and every stamp says "empty". Zeros are also an
            // empty table of participants, and announcements of no claim.
            // The layout was made with `stamps_len`, so these fit.
            let count = stamps_len::<T>(capacity).unwrap_or_default();
            let stamps = raw.at_many::<AtomicUsize>(layout.stamps, count);
            let stride = stamps_len::<T>(1).unwrap_or_default();
            for (word, stamp) in empty_stamps(start, capacity, stride).enumerate() {
                stamps.add(word).write(stamp);
            }
            raw.at::<Header>(0)
                .write_volatile(layout.header::<T>(shape, header_barriers));
        }
        let region = Region {
            raw,
            fd,
            shape,
            layout,
            // Without wait lists, no barrier is ever used.
            barriers: barriers.unwrap_or(Barriers::Symmetric),
            watch: Watch::default(),
        };
        Self::joining(region, roles)
    }

    /// The first handle of `region`, of `roles`.
    fn joining(region: Region, roles: Roles) -> Result<Self, MappingError> {
        let element = AnyBytes::proven(T::EXTENT);
        let membership = region.join(roles, element)?;
        Ok(Self {
            region: Arc::new(region),
            membership,
            suspicion: Suspicion::default(),
            element,
        })
    }

    /// A new queue of `capacity` slots without wait lists, and its first handle, of `roles`.
    pub(crate) fn create_plain(capacity: usize, roles: Roles) -> Result<Self, MappingError> {
        Self::create(capacity, None, roles)
    }

    /// The queue in the memory file `fd`, with wait lists if `waiting`, after checking its
    /// header and cursors (and registering this process for the wait lists' barrier pair),
    /// as a handle of `roles`.
    fn attach(fd: OwnedFd, waiting: bool, roles: Roles) -> Result<Self, MappingError> {
        refuse_under_loom()?;
        // The seals fix the length: nothing in the mapping can fault later.
        let file_len = sealed_len(&fd)?;
        let header_len = size_of::<Header>() as u64;
        if file_len < header_len {
            return Err(MappingError::WrongLength {
                len: file_len,
                expected: header_len,
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
        let (shape, layout) = check_header::<T>(&header, file_len, waiting)?;
        let mut region = Region {
            raw,
            fd,
            shape,
            layout,
            barriers: Barriers::Symmetric,
            watch: Watch::default(),
        };
        if !region.unannounced_ring::<T>(AnyBytes::proven(T::EXTENT)).cursors_in_bounds() {
            return Err(MappingError::Corrupted { field: "cursors" });
        }
        // `check_header` accepted only the barrier pairs of a queue with wait lists here.
        if waiting && header.barriers == BARRIERS_MEMBARRIER {
            Barriers::join_across_processes().map_err(MappingError::Os)?;
            region.barriers = Barriers::AcrossProcesses;
        }
        Self::joining(region, roles)
    }

    /// The queue without wait lists in the memory file `fd`, as a handle of `roles`.
    pub(crate) fn attach_plain(fd: OwnedFd, roles: Roles) -> Result<Self, MappingError> {
        Self::attach(fd, false, roles)
    }

    /// Another handle to the same mapping, of `roles`, with an entry of its own.
    pub(crate) fn try_clone(&self, roles: Roles) -> Result<Self, MappingError> {
        Ok(Self {
            region: Arc::clone(&self.region),
            membership: self.region.join(roles, self.element)?,
            suspicion: Suspicion::default(),
            element: self.element,
        })
    }
}

impl<T> Mapping<T> {
    /// The memory file's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.region.fd.as_fd()
    }

    /// The ring, as this handle claims on it.
    #[inline(always)]
    fn announced_ring(&self) -> Ring<'_, T, SharedValues<'_, T>, Announced<&Self>> {
        let region = &*self.region;
        self.membership
            .rejoin_if_forked(&TableOf::new(region, self.element), region.fd.as_fd());
        region
            .unannounced_ring(self.element)
            .claiming_as(Announced::new(self))
    }
}

/// A handle, as it claims: its own entry, and the slot it last found held.
impl<T> Participant for &Mapping<T> {
    #[inline(always)]
    fn table(&self) -> &[Announcement] {
        self.region.announcements()
    }

    #[inline(always)]
    fn me(&self) -> Option<usize> {
        self.membership.index()
    }

    fn is_dead(&self, index: usize) -> bool {
        self.region.peers().is_dead(index)
    }

    fn announcers(&self, side: Side) -> usize {
        self.region.peers().announcers(side)
    }

    fn suspects(&self, side: Side, position: usize) -> bool {
        self.suspicion.is_stuck(side, position)
    }

    fn suspects_sleepers(&self, registered: usize) -> bool {
        self.suspicion.sleepers_are_stuck(registered)
    }

    fn peers_gone(&self, side: Side) -> bool {
        let peers = self.region.peers();
        // The kernel's answer costs a system call: asked at once when no entry of that side
        // is left (the last handle just left, or the others are copies a fork made), and
        // otherwise at most once per look-stuck period, to find the dead.
        side_gone_by(
            self.membership.has(side),
            peers.side_joined(side),
            || peers.announcers(side),
            || self.suspicion.may_look_for_the_gone(),
            |announcers| {
                mutant::COUNTS_ENTRIES_NOT_HANDLES && announcers == 0
                    || Presence::side_gone(self.region.fd.as_fd(), side)
            },
        )
    }

    fn wake_all(&self) {
        (&*self.region).wake_all();
    }
}

impl<T> Drop for Mapping<T> {
    fn drop(&mut self) {
        // Between calls: this handle holds no claim.
        self.membership.leave(self.region.peers());
        // The last of a side to leave disconnects the other: its sleepers look again.
        (&*self.region).wake_all();
    }
}

impl<T> RingStorage<T> for Mapping<T> {
    type Values<'a>
        = SharedValues<'a, T>
    where
        T: 'a;
    type Claimer<'a>
        = Announced<&'a Self>
    where
        T: 'a;

    #[inline(always)]
    fn ring(&self) -> RingOf<'_, Self, T> {
        self.announced_ring()
    }
}

impl<T: Plain> WaitingMapping<T> {
    /// A new queue of `capacity` slots with wait lists, in a new memory file, and its first
    /// handle, of `roles`.
    pub(crate) fn create(capacity: usize, roles: Roles) -> Result<Self, MappingError> {
        let mapping = Mapping::create(capacity, Some(Barriers::across_processes()), roles)?;
        Ok(Self::waiting(mapping))
    }

    /// The queue with wait lists in the memory file `fd`, after checking its header and
    /// cursors, and registering this process for its barrier pair, as a handle of `roles`.
    pub(crate) fn attach(fd: OwnedFd, roles: Roles) -> Result<Self, MappingError> {
        Ok(Self::waiting(Mapping::attach(fd, true, roles)?))
    }

    /// Another handle to the same mapping, of `roles`, with an entry of its own.
    pub(crate) fn try_clone(&self, roles: Roles) -> Result<Self, MappingError> {
        Ok(Self::waiting(self.mapping.try_clone(roles)?))
    }

    fn waiting(mapping: Mapping<T>) -> Self {
        // `create` and `attach` both made or checked a layout with wait lists.
        let wait_lists = mapping.region.layout.wait_lists.unwrap_or_default();
        Self {
            mapping,
            wait_lists,
        }
    }
}

impl<T> WaitingMapping<T> {
    /// The memory file's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.mapping.fd()
    }
}

impl<T> RingStorage<T> for WaitingMapping<T> {
    type Values<'a>
        = SharedValues<'a, T>
    where
        T: 'a;
    type Claimer<'a>
        = Announced<&'a Mapping<T>>
    where
        T: 'a;

    #[inline(always)]
    fn ring(&self) -> RingOf<'_, Self, T> {
        self.mapping.announced_ring()
    }
}

impl<T> WaitingStorage<T> for WaitingMapping<T> {
    #[inline(always)]
    fn wait_lists(&self) -> &WaitLists {
        self.mapping.region.wait_lists_at(self.wait_lists)
    }

    #[inline(always)]
    fn barriers(&self) -> Barriers {
        self.mapping.region.barriers
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn create_allocates_every_page_of_the_mapping() {
        let mapping = WaitingMapping::<[u8; 64]>::create(4096, Roles::BOTH)
            .unwrap()
            .mapping;
        let stat = nix::sys::stat::fstat(mapping.fd()).unwrap();
        let layout = mapping.region.layout;
        assert_eq!(stat.st_size as usize, layout.len);
        // The values (half the mapping) are never written here: only an allocation at
        // creation accounts for their blocks.
        assert!(stat.st_blocks as usize * 512 >= layout.len);
    }
}
