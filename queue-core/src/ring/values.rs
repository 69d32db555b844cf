//! Where a ring keeps its values, and how the owner of a claimed slot copies a value in or
//! out: the one thing that differs between a ring only this process can reach and one that
//! other processes map too.

use core::marker::PhantomData;
use core::mem::{MaybeUninit, size_of};

use zerocopy::{FromBytes, IntoBytes};

use crate::sync::{AtomicUsize, Ordering, crash_point};

use super::ValueCell;
use super::shape::{CACHE_LINE, stamp_spacing};

/// The slots of a ring, borrowed for `'a`: `len()` of them, each a stamp and room for a value,
/// written by the push that claimed it and read by the pop that claimed it (see the `ring`
/// module docs). Where each stamp lies beside its value is the storage's choice: on the heap
/// in one array of both; in a shared mapping the same for small values, in two arrays for
/// large ones (see [`SharedValues`]).
pub(crate) trait Values<'a, T>: Copy {
    /// Whether every writer of this storage runs the ring's protocol. On the heap it does
    /// (only this process's queue code reaches the storage), so a claim may retry for as long
    /// as other claims keep succeeding. In a shared mapping another process may write
    /// anything at any time, so a claim gives up after a bounded number of retries (see
    /// `claim`).
    const TRUSTED: bool;

    /// How many slots.
    fn len(self) -> usize;

    /// The stamp of slot `index`.
    ///
    /// # Safety
    ///
    /// `index < len()`.
    unsafe fn stamp(self, index: usize) -> &'a AtomicUsize;

    /// Writes `value` into slot `index`.
    ///
    /// # Safety
    ///
    /// `index < len()`, and the caller's push has claimed the slot and not yet published it.
    unsafe fn write(self, index: usize, value: T);

    /// Reads the value out of slot `index`; the slot counts as uninitialised afterwards.
    ///
    /// # Safety
    ///
    /// `index < len()`, and the caller's pop has claimed the slot and found its value
    /// published (with the Acquire load of the slot's stamp).
    unsafe fn read(self, index: usize) -> T;

    /// Reads the value out of slot `index` into `out`, as [`read`](Self::read) does: the batch
    /// pops' way, which lets a shared ring copy straight into the caller's buffer.
    ///
    /// # Safety
    ///
    /// As for [`read`](Self::read).
    #[inline(always)]
    unsafe fn read_into(self, index: usize, out: &mut T)
    where
        T: Copy,
    {
        // SAFETY: the caller's contract is `read`'s.
        *out = unsafe { self.read(index) };
    }
}

/// A slot of a ring on the heap: its stamp beside its value, so that a pop that finds the
/// stamp ready finds the value on the same cache line (for values up to 56 bytes), and a push
/// writes both with one line. (Two arrays would cost a second line transfer between the
/// threads per slot, measured at up to half the throughput.)
pub(crate) struct HeapSlot<T> {
    stamp: AtomicUsize,
    value: ValueCell<T>,
}

impl<T> HeapSlot<T> {
    /// An empty slot whose stamp is `stamp`.
    pub(crate) fn empty(stamp: usize) -> Self {
        Self {
            stamp: AtomicUsize::new(stamp),
            value: super::empty_value(),
        }
    }
}

/// The heap's slots: cells that, by the protocol, only the claimer of a slot touches.
impl<'a, T> Values<'a, T> for &'a [HeapSlot<T>] {
    const TRUSTED: bool = true;

    #[inline(always)]
    fn len(self) -> usize {
        <[HeapSlot<T>]>::len(self)
    }

    #[inline(always)]
    unsafe fn stamp(self, index: usize) -> &'a AtomicUsize {
        // SAFETY: `index < len()` (the caller's contract).
        unsafe { &self.get_unchecked(index).stamp }
    }

    #[inline(always)]
    unsafe fn write(self, index: usize, value: T) {
        // SAFETY: `index < len()` (the caller's contract).
        let cell = unsafe { &self.get_unchecked(index).value };
        cell.with_mut(|value_ptr| {
            // SAFETY: the claim made this push the cell's only writer until it publishes, and
            // no pop reads the cell before that.
            unsafe { value_ptr.write(MaybeUninit::new(value)) }
        });
    }

    #[inline(always)]
    unsafe fn read(self, index: usize) -> T {
        // SAFETY: `index < len()` (the caller's contract).
        let cell = unsafe { &self.get_unchecked(index).value };
        cell.with(|value_ptr| {
            // SAFETY: the published stamp says the push initialised the cell (Release/Acquire
            // on the stamp), and the claim makes us its only reader; the caller's release of
            // the slot marks it uninitialised again.
            unsafe { value_ptr.read().assume_init() }
        })
    }
}

/// The bytes of a machine word, the unit in which shared values are copied.
pub(super) const WORD: usize = size_of::<usize>();

/// How many words a value of `T` takes in a shared mapping.
pub(crate) const fn words_per_value<T>() -> usize {
    size_of::<T>().div_ceil(WORD)
}

/// Whether a shared mapping keeps each slot's stamp beside its value: when both fit in a cache
/// line (values of up to 56 bytes), so that a value crosses between processes with its stamp,
/// one line transfer where two arrays cost two (measured between two processes, Vyukov's ring
/// with its stamps and values in two arrays moved 0.6 times the messages per second of the
/// same ring with each stamp beside its value). Larger values keep their stamps in an array
/// of their own, [`stamp_spacing`] words apart, and their words contiguous, as spans need: a
/// message queue's 256-byte slots hold the parts of a message as one run of words.
pub(crate) const fn stamp_beside_value<T>() -> bool {
    words_per_value::<T>() < CACHE_LINE / size_of::<usize>()
}

/// How many `AtomicUsize`s the stamps of `capacity` slots of `T` take in a shared mapping
/// (with their values, where each is beside its stamp), if that fits a `usize`.
pub(crate) fn stamps_len<T>(capacity: usize) -> Option<usize> {
    let per_slot = if stamp_beside_value::<T>() {
        1 + words_per_value::<T>()
    } else {
        stamp_spacing::<T>()
    };
    capacity.checked_mul(per_slot)
}

/// The values of a ring in shared memory: [`words_per_value`] words per slot, copied one
/// relaxed atomic word at a time; each slot's stamp beside its value ([`beside`]), or the
/// stamps in an array of their own ([`new`]).
///
/// [`beside`]: Self::beside
/// [`new`]: Self::new
///
/// Another process may write a slot's words while we copy them (a faulty or hostile one, out
/// of the protocol). Between threads that would be a data race, undefined behaviour, if the
/// copy were a plain `memcpy`; with atomic words it is a defined, possibly torn, read, and
/// the bytes are a valid `T` whatever they are (see [`AnyBytes`]). The cost is that
/// the compiler cannot merge the copy into wider vector moves: a 64-byte value is eight word
/// stores instead of four 16-byte ones.
pub(crate) struct SharedValues<'a, T> {
    /// The stamps, `stamp_stride` words apart.
    stamps: &'a [AtomicUsize],
    stamp_stride: usize,
    /// The values, `value_stride` words apart.
    words: &'a [AtomicUsize],
    value_stride: usize,
    extent: Extent,
    _values: PhantomData<fn(T) -> T>,
}

impl<T> Clone for SharedValues<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedValues<'_, T> {}

/// How much of a value a copy through shared words moves. Not part of the API: every type
/// outside the crate copies whole (its type cannot be named there, so no other impl sets it).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// Every byte.
    Whole,
    /// A message with its length first, as a little-endian `u32` (a `Frame`): the length's 4
    /// bytes and the message's, in whole words (at most the value's size). A pop zeroes the
    /// rest of its copy, so a short message in a large frame moves one cache line, not the
    /// frame's four.
    LengthPrefixed,
}

/// The compiler's proof that any bytes make a valid `T` and that `T` has no padding: what
/// copying `T`s in and out of memory that another process may write needs; and how much of a
/// `T` a copy moves.
///
/// It is made only where `T: FromBytes + IntoBytes` holds (both derived and checked by
/// zerocopy, never promised by hand), and carried by storage whose element type is not
/// bounded by them, such as a shared mapping reached through a placement.
pub(crate) struct AnyBytes<T> {
    extent: Extent,
    _values: PhantomData<T>,
}

impl<T: FromBytes + IntoBytes> AnyBytes<T> {
    /// The proof, for a `T` that has it, copied to `extent`.
    pub(crate) const fn proven(extent: Extent) -> Self {
        Self {
            extent,
            _values: PhantomData,
        }
    }
}

impl<T> Clone for AnyBytes<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for AnyBytes<T> {}

impl<'a, T> SharedValues<'a, T> {
    /// The values stored in `words`, `words_per_value::<T>()` words per slot.
    ///
    /// `AnyBytes<T>` is the whole argument that copying words in and out is sound whatever
    /// another process does to them: whatever bytes we read (torn, stale or hostile) make a
    /// valid `T`, and every byte of a value we write is initialised, so it can be read as
    /// part of a word. (Zeros, which a pop puts past a length-prefixed message, are bytes too.)
    ///
    /// The stamps are in `stamps`, [`stamp_spacing`] words apart: as far apart as the values
    /// (up to a cache line), so that two slots' stamps share a line only if their values do.
    pub(crate) fn new(stamps: &'a [AtomicUsize], words: &'a [AtomicUsize], element: AnyBytes<T>) -> Self {
        Self {
            stamps,
            stamp_stride: stamp_spacing::<T>(),
            words,
            value_stride: words_per_value::<T>(),
            extent: element.extent,
            _values: PhantomData,
        }
    }

    /// The values stored in `cells`, each slot its stamp and then its value's
    /// [`words_per_value`] words (the layout of a shared mapping where
    /// `stamp_beside_value::<T>()`), with the same argument for soundness as [`new`](Self::new).
    pub(crate) fn beside(cells: &'a [AtomicUsize], element: AnyBytes<T>) -> Self {
        let stride = 1 + words_per_value::<T>();
        Self {
            stamps: cells,
            stamp_stride: stride,
            words: cells.get(1..).unwrap_or_default(),
            value_stride: stride,
            extent: element.extent,
            _values: PhantomData,
        }
    }

    /// How many bytes of a value a copy moves, given the value's first 4 bytes (which only a
    /// length-prefixed value reads): a length-prefixed message's length and bytes rounded up
    /// to whole words, never past the value, whatever the length says.
    #[inline(always)]
    fn moved_bytes(self, prefix: impl FnOnce() -> [u8; 4]) -> usize {
        match self.extent {
            // A value too small to hold the length is copied whole.
            Extent::LengthPrefixed if size_of::<T>() >= 4 => {
                let len = usize::try_from(u32::from_le_bytes(prefix())).unwrap_or(usize::MAX);
                len.saturating_add(4 + WORD - 1) / WORD * WORD
            }
            _ => size_of::<T>(),
        }
        .min(size_of::<T>())
    }

    /// Every slot's words, [`words_per_value`] per slot: only for values made by
    /// [`new`](Self::new), whose words are contiguous (spans copy runs of slots as one).
    #[inline(always)]
    pub(super) fn words(self) -> &'a [AtomicUsize] {
        debug_assert_eq!(self.value_stride, words_per_value::<T>());
        self.words
    }

    /// The first word of slot `index`; the slot's [`words_per_value`] words follow it.
    ///
    /// # Safety
    ///
    /// `index < len()`.
    #[inline(always)]
    unsafe fn slot(self, index: usize) -> *const AtomicUsize {
        // SAFETY: `index < len()`, so the slot's words are inside `self.words`.
        unsafe { self.words.as_ptr().add(index * self.value_stride) }
    }
}

impl<'a, T> Values<'a, T> for SharedValues<'a, T> {
    const TRUSTED: bool = false;

    #[inline(always)]
    fn len(self) -> usize {
        let stamped = self.stamps.len() / self.stamp_stride;
        match words_per_value::<T>() {
            // A zero-sized `T`: every slot is empty space; the stamps say how many there are.
            0 => stamped,
            // The slots whose last word is inside `words`: slot `i`'s words end at
            // `i * value_stride + words`.
            words => stamped.min((self.words.len() + self.value_stride - words) / self.value_stride),
        }
    }

    #[inline(always)]
    unsafe fn stamp(self, index: usize) -> &'a AtomicUsize {
        // SAFETY: `index < len()` (the caller's contract), and `len()` counts only slots whose
        // stamp is inside `stamps`.
        unsafe { self.stamps.get_unchecked(index * self.stamp_stride) }
    }

    #[inline(always)]
    unsafe fn write(self, index: usize, value: T) {
        // SAFETY: `index < len()` (the caller's contract).
        let slot = unsafe { self.slot(index) };
        let value = MaybeUninit::new(value);
        let bytes = value.as_ptr().cast::<u8>();
        // SAFETY: `moved_bytes` asks for the first 4 bytes only of a value that has them,
        // initialised (no padding: [`AnyBytes`]).
        let moved = self.moved_bytes(|| unsafe { bytes.cast::<[u8; 4]>().read_unaligned() });
        let (whole, rest) = (moved / WORD, moved % WORD);
        // A loop over raw pointers, of a constant count for a value copied whole, which the
        // compiler unrolls into plain word stores (an x86 relaxed store is a `mov`).
        for word in 0..whole {
            // SAFETY: word `word` of the value (`(word + 1) * WORD <= moved <= size_of::<T>()`),
            // every byte of which is initialised (no padding: [`AnyBytes`]), read unaligned;
            // and word `word` of the slot, inside `self.words` (`slot`).
            unsafe {
                let bits = bytes.add(word * WORD).cast::<usize>().read_unaligned();
                // Relaxed: the claim makes us the slot's only writer in the protocol, and the
                // Release store of the slot's stamp that publishes it orders this store before
                // the popper's Acquire load of the stamp and so before its loads of the words.
                (*slot.add(word)).store(bits, Ordering::Relaxed);
            }
            crash_point();
        }
        if rest != 0 {
            let mut last = [0u8; WORD];
            // SAFETY: the last `rest` bytes of the `moved`, initialised, into a local array;
            // and the slot's word `whole`, inside `self.words` (`moved <= size_of::<T>()`).
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.add(whole * WORD), last.as_mut_ptr(), rest);
                // Relaxed: as above.
                (*slot.add(whole)).store(usize::from_ne_bytes(last), Ordering::Relaxed);
            }
        }
    }

    #[inline(always)]
    unsafe fn read(self, index: usize) -> T {
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: the caller's contract; `value` has room for a `T`.
        unsafe {
            self.copy_out(index, value.as_mut_ptr());
            // Every byte of `value` was written, and any bytes make a valid `T` ([`AnyBytes`]),
            // whoever wrote the words.
            value.assume_init()
        }
    }

    #[inline(always)]
    unsafe fn read_into(self, index: usize, out: &mut T)
    where
        T: Copy,
    {
        // SAFETY: the caller's contract; `out` is a `T` (`Copy`: overwriting it drops
        // nothing), and any bytes make a valid one ([`AnyBytes`]).
        unsafe { self.copy_out(index, out) };
    }
}

impl<T> SharedValues<'_, T> {
    /// Copies the words of slot `index` into the `size_of::<T>()` bytes at `out`: the bytes a
    /// push moved, and zeros after them.
    ///
    /// # Safety
    ///
    /// `index < len()`, and `out` is valid for writes of a `T`.
    #[inline(always)]
    unsafe fn copy_out(self, index: usize, out: *mut T) {
        // SAFETY: `index < len()` (the caller's contract).
        let slot = unsafe { self.slot(index) };
        let bytes = out.cast::<u8>();
        let moved = self.moved_bytes(|| {
            // SAFETY: asked only of a value of at least 4 bytes, so the slot has a first word.
            // Relaxed: as for the copy below. A peer may change the word before the copy
            // reads it again: any length is clamped to the value, and any bytes are a `T`.
            let first = unsafe { (*slot).load(Ordering::Relaxed) }.to_ne_bytes();
            [first[0], first[1], first[2], first[3]]
        });
        let (whole, rest) = (moved / WORD, moved % WORD);
        let mut word = 0;
        while word + 2 <= whole {
            // SAFETY: words `word` and `word + 1` of the slot, inside `self.words` (`slot`),
            // and the 16 bytes of `out` from byte `word * WORD`, inside the value.
            unsafe {
                // Relaxed: the Acquire load of the slot's stamp that found the value published
                // pairs with the pusher's Release store of it, which follows its word stores.
                let low = (*slot.add(word)).load(Ordering::Relaxed);
                let high = (*slot.add(word + 1)).load(Ordering::Relaxed);
                store_pair(bytes.add(word * WORD), low, high);
            }
            word += 2;
        }
        if word < whole {
            // SAFETY: the slot's word `word`, inside `self.words`, and of `out`, unaligned.
            unsafe {
                // Relaxed: as above.
                let bits = (*slot.add(word)).load(Ordering::Relaxed);
                bytes.add(word * WORD).cast::<usize>().write_unaligned(bits);
            }
        }
        if rest != 0 {
            // SAFETY: the slot's last word, inside `self.words`; and the last `rest` bytes
            // of `out`, from a local array.
            unsafe {
                // Relaxed: as above.
                let last = (*slot.add(whole)).load(Ordering::Relaxed).to_ne_bytes();
                core::ptr::copy_nonoverlapping(last.as_ptr(), bytes.add(whole * WORD), rest);
            }
        }
        if moved < size_of::<T>() {
            // SAFETY: the bytes of `out` after the `moved` (`moved < size_of::<T>()`).
            unsafe { bytes.add(moved).write_bytes(0, size_of::<T>() - moved) };
        }
    }
}

/// Writes the words `low` and `high` to the 16 bytes at `to`, in that order.
///
/// On x86_64 as one 16-byte store: the copy of a value out of the ring is word loads (atomic
/// ones, which the compiler cannot widen), and whatever reads the copied value next (a move
/// of the returned value, a comparison) reads it 16 bytes at a time; a 16-byte load of bytes
/// that two 8-byte stores just wrote cannot be forwarded from the store buffer, and stalls.
/// Measured on the blocking push and pop of a 64-byte value in one process: 27 ns a pair
/// with 8-byte stores, 21 ns with these (and 21 ns with the plain copies the atomic words
/// replaced). The destination is this process's own memory, never the mapping.
///
/// # Safety
///
/// `to` is valid for writes of 16 bytes (any alignment).
#[inline(always)]
unsafe fn store_pair(to: *mut u8, low: usize, high: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86_64; `to` is valid for 16 bytes, and `storeu` takes any
    // alignment.
    unsafe {
        use core::arch::x86_64::{_mm_set_epi64x, _mm_storeu_si128};
        _mm_storeu_si128(to.cast(), _mm_set_epi64x(high as i64, low as i64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: `to` is valid for 16 bytes, written unaligned.
    unsafe {
        to.cast::<usize>().write_unaligned(low);
        to.add(WORD).cast::<usize>().write_unaligned(high);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn words(count: usize) -> Vec<AtomicUsize> {
        (0..count).map(|_| AtomicUsize::new(0)).collect()
    }

    /// The stamps of `slots` slots of `T`.
    fn stamps<T>(slots: usize) -> Vec<AtomicUsize> {
        words(slots * stamp_spacing::<T>())
    }

    /// Writes and reads back three values of `N` bytes through words, in two arrays and, for a
    /// value small enough, each beside its stamp.
    fn round_trip<const N: usize>() {
        let storage = words(3 * words_per_value::<[u8; N]>());
        let stamps = stamps::<[u8; N]>(3);
        let element = AnyBytes::proven(Extent::Whole);
        round_trip_through(SharedValues::<[u8; N]>::new(&stamps, &storage, element));
        if stamp_beside_value::<[u8; N]>() {
            let cells = words(3 * (1 + words_per_value::<[u8; N]>()));
            let beside = SharedValues::<[u8; N]>::beside(&cells, element);
            round_trip_through(beside);
            for index in 0..3 {
                // SAFETY: in bounds.
                let stamp = unsafe { beside.stamp(index) };
                assert_eq!(stamp.load(Ordering::Relaxed), 0, "{N} bytes, slot {index}'s stamp");
                stamp.store(usize::MAX, Ordering::Relaxed);
            }
            // Each stamp is the first of its slot's cells, and the values kept theirs.
            let stamped = cells.iter().map(|cell| cell.load(Ordering::Relaxed) == usize::MAX);
            let every = 1 + words_per_value::<[u8; N]>();
            assert!(stamped.enumerate().all(|(cell, is)| is == (cell % every == 0)));
            round_trip_through(beside);
        }
    }

    fn round_trip_through<const N: usize>(values: SharedValues<'_, [u8; N]>) {
        assert_eq!(values.len(), 3);
        for index in 0..3 {
            let value = core::array::from_fn(|byte| (index * N + byte) as u8 | 1);
            let mut copied = [0; N];
            // SAFETY: in bounds, and this test is the storage's only user.
            let back = unsafe {
                values.write(index, value);
                values.read_into(index, &mut copied);
                values.read(index)
            };
            assert_eq!((back, copied), (value, value), "{N} bytes, slot {index}");
        }
    }

    /// A message with its length first, as a `Frame` lays it out.
    #[derive(zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable)]
    #[derive(Clone, Copy, PartialEq, Debug)]
    #[repr(C)]
    struct Prefixed {
        len: [u8; 4],
        bytes: [u8; 60],
    }

    impl Prefixed {
        fn new(message: &[u8]) -> Self {
            let mut bytes = [0; 60];
            bytes[..message.len()].copy_from_slice(message);
            let len = (message.len() as u32).to_le_bytes();
            Self { len, bytes }
        }
    }

    #[test]
    fn a_length_prefixed_value_moves_only_its_words_and_pops_with_zeros_after() {
        const STALE: usize = usize::MAX;
        let storage: Vec<_> = (0..2 * 8).map(|_| AtomicUsize::new(STALE)).collect();
        let stamps = stamps::<Prefixed>(2);
        let values = SharedValues::<Prefixed>::new(&stamps, &storage, AnyBytes::proven(Extent::LengthPrefixed));
        let short = Prefixed::new(b"spam"); // 4 + 4 bytes: one word
        let long = Prefixed::new(&[7; 60]); // 64 bytes: every word
        // SAFETY: in bounds, and this test is the storage's only user.
        let (short_back, long_back) = unsafe {
            values.write(0, short);
            values.write(1, long);
            (values.read(0), values.read(1))
        };
        assert_eq!((short_back, long_back), (short, long));
        let untouched = storage[1..8].iter().map(|word| word.load(Ordering::Relaxed));
        assert!(untouched.into_iter().all(|word| word == STALE), "a short push moved one word");
        // A peer's length past the value: the whole value is copied, nothing beyond it.
        storage[0].store(u32::MAX as usize, Ordering::Relaxed);
        let mut copied = short;
        // SAFETY: as above.
        unsafe { values.read_into(0, &mut copied) };
        assert_eq!(copied.len, u32::MAX.to_le_bytes());
        assert_eq!(copied.bytes[4..], [0xff; 56], "the stale words, read as they are");
    }

    #[test]
    fn a_shared_mapping_keeps_a_small_value_beside_its_stamp() {
        assert!(stamp_beside_value::<u64>());
        assert!(stamp_beside_value::<[u8; 56]>());
        assert!(!stamp_beside_value::<[u8; 57]>());
        assert!(!stamp_beside_value::<[u8; 64]>());
        // A stamp and a value's words per slot, beside; the stamps alone, apart.
        assert_eq!(stamps_len::<u64>(3), Some(6));
        assert_eq!(stamps_len::<[u8; 56]>(2), Some(16));
        assert_eq!(stamps_len::<[u8; 64]>(3), Some(24));
        assert_eq!(stamps_len::<[u8; 64]>(usize::MAX), None);
    }

    #[test]
    fn values_of_every_width_go_through_words_and_come_back() {
        round_trip::<1>();
        round_trip::<8>();
        round_trip::<13>(); // a word and 5 bytes
        round_trip::<16>(); // a pair of words
        round_trip::<40>(); // two pairs and a word
        round_trip::<45>(); // two pairs, a word and 5 bytes
        round_trip::<64>();
        let storage = words(2 * words_per_value::<u128>());
        let stamps = stamps::<u128>(2);
        let wide = SharedValues::<u128>::new(&stamps, &storage, AnyBytes::proven(Extent::Whole));
        // SAFETY: in bounds, and this test is the storage's only user.
        let (written, untouched) = unsafe {
            wide.write(1, u128::MAX - 5);
            (wide.read(1), wide.read(0))
        };
        assert_eq!((written, untouched), (u128::MAX - 5, 0));
        assert_eq!(words_per_value::<()>(), 0);
        assert_eq!(words_per_value::<[u8; 64]>(), 64 / WORD);
    }
}
