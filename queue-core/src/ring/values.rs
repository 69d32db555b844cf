//! Where a ring keeps its values, and how the owner of a claimed slot copies a value in or
//! out: the one thing that differs between a ring only this process can reach and one that
//! other processes map too.

use core::marker::PhantomData;
use core::mem::{MaybeUninit, size_of};

use crate::sync::{AtomicUsize, Ordering};

use super::ValueCell;

/// The value storage of a ring: `len()` slots, each written by the push that claimed it and
/// read by the pop that claimed it (see the `ring` module docs).
pub(crate) trait Values<T>: Copy {
    /// Whether every writer of this storage runs the ring's protocol. On the heap it does
    /// (only this process's queue code reaches the storage), so a claim may retry for as long
    /// as other claims keep succeeding. In a shared mapping another process may write
    /// anything at any time, so a claim gives up after a bounded number of retries (see
    /// `claim`).
    const TRUSTED: bool;

    /// How many slots.
    fn len(self) -> usize;

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
}

/// The heap's values: cells that, by the protocol, only the claimer of a slot touches.
impl<T> Values<T> for &[ValueCell<T>] {
    const TRUSTED: bool = true;

    #[inline(always)]
    fn len(self) -> usize {
        <[ValueCell<T>]>::len(self)
    }

    #[inline(always)]
    unsafe fn write(self, index: usize, value: T) {
        // SAFETY: `index < len()` (the caller's contract).
        let cell = unsafe { self.get_unchecked(index) };
        cell.with_mut(|value_ptr| {
            // SAFETY: the claim made this push the cell's only writer until it publishes, and
            // no pop reads the cell before that.
            unsafe { value_ptr.write(MaybeUninit::new(value)) }
        });
    }

    #[inline(always)]
    unsafe fn read(self, index: usize) -> T {
        // SAFETY: `index < len()` (the caller's contract).
        let cell = unsafe { self.get_unchecked(index) };
        cell.with(|value_ptr| {
            // SAFETY: the published stamp says the push initialised the cell (Release/Acquire
            // on the stamp), and the claim makes us its only reader; the caller's release of
            // the slot marks it uninitialised again.
            unsafe { value_ptr.read().assume_init() }
        })
    }
}

/// The bytes of a machine word, the unit in which shared values are copied.
const WORD: usize = size_of::<usize>();

/// How many words a value of `T` takes in a shared mapping.
pub(crate) const fn words_per_value<T>() -> usize {
    size_of::<T>().div_ceil(WORD)
}

/// The values of a ring in shared memory: [`words_per_value`] words per slot, copied one
/// relaxed atomic word at a time.
///
/// Another process may write a slot's words while we copy them (a faulty or hostile one, out
/// of the protocol). Between threads that would be a data race, undefined behaviour, if the
/// copy were a plain `memcpy`; with atomic words it is a defined, possibly torn, read, and
/// the bytes are a valid `T` whatever they are (see [`SharedValues::new`]). The cost is that
/// the compiler cannot merge the copy into wider vector moves: a 64-byte value is eight word
/// stores instead of four 16-byte ones.
pub(crate) struct SharedValues<'a, T> {
    words: &'a [AtomicUsize],
    _values: PhantomData<fn(T) -> T>,
}

impl<T> Clone for SharedValues<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedValues<'_, T> {}

impl<'a, T> SharedValues<'a, T> {
    /// The values stored in `words`, `words_per_value::<T>()` words per slot.
    ///
    /// # Safety
    ///
    /// Every bit pattern of `size_of::<T>()` bytes is a valid `T`, and `T` has no padding
    /// bytes, so that each of its bytes can be read as part of a word (both are what
    /// [`Plain`](crate::Plain) promises), and `T` needs no drop.
    pub(crate) unsafe fn new(words: &'a [AtomicUsize]) -> Self {
        Self {
            words,
            _values: PhantomData,
        }
    }

    /// The words of slot `index`.
    ///
    /// # Safety
    ///
    /// `index < len()`.
    #[inline(always)]
    unsafe fn slot(self, index: usize) -> &'a [AtomicUsize] {
        let words = words_per_value::<T>();
        // SAFETY: `index < len()`, so the slot's words are inside `self.words`.
        unsafe { self.words.get_unchecked(index * words..(index + 1) * words) }
    }
}

impl<T> Values<T> for SharedValues<'_, T> {
    const TRUSTED: bool = false;

    #[inline(always)]
    fn len(self) -> usize {
        match words_per_value::<T>() {
            // A zero-sized `T`: every slot is empty space; the stamps say how many there are.
            0 => usize::MAX,
            words => self.words.len() / words,
        }
    }

    #[inline(always)]
    unsafe fn write(self, index: usize, value: T) {
        // SAFETY: `index < len()` (the caller's contract).
        let slot = unsafe { self.slot(index) };
        let value = MaybeUninit::new(value);
        let bytes = value.as_ptr().cast::<u8>();
        let (whole, rest) = (size_of::<T>() / WORD, size_of::<T>() % WORD);
        for (word, at) in slot[..whole].iter().zip((0..).step_by(WORD)) {
            // SAFETY: `at + WORD <= size_of::<T>()`, inside `value`; every byte of a `T` is
            // initialised (no padding: `new`'s contract), and the read may be unaligned.
            let bits = unsafe { bytes.add(at).cast::<usize>().read_unaligned() };
            // Relaxed: the claim makes us the slot's only writer in the protocol, and the
            // Release store of the slot's stamp that publishes it orders this store before
            // the popper's Acquire load of the stamp and so before its loads of these words.
            word.store(bits, Ordering::Relaxed);
        }
        if rest != 0 {
            let mut last = [0u8; WORD];
            // SAFETY: the last `rest` bytes of `value`, initialised, into a local array.
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.add(whole * WORD), last.as_mut_ptr(), rest);
            }
            // Relaxed: as above.
            slot[whole].store(usize::from_ne_bytes(last), Ordering::Relaxed);
        }
    }

    #[inline(always)]
    unsafe fn read(self, index: usize) -> T {
        // SAFETY: `index < len()` (the caller's contract).
        let slot = unsafe { self.slot(index) };
        let mut value = MaybeUninit::<T>::uninit();
        let bytes = value.as_mut_ptr().cast::<u8>();
        let (whole, rest) = (size_of::<T>() / WORD, size_of::<T>() % WORD);
        for (word, at) in slot[..whole].iter().zip((0..).step_by(WORD)) {
            // Relaxed: the Acquire load of the slot's stamp that found the value published
            // pairs with the pusher's Release store of it, which follows its word stores.
            let bits = word.load(Ordering::Relaxed);
            // SAFETY: `at + WORD <= size_of::<T>()`, inside `value`; the write may be
            // unaligned.
            unsafe { bytes.add(at).cast::<usize>().write_unaligned(bits) };
        }
        if rest != 0 {
            // Relaxed: as above.
            let last = slot[whole].load(Ordering::Relaxed).to_ne_bytes();
            // SAFETY: the last `rest` bytes of `value`, from a local array.
            unsafe {
                core::ptr::copy_nonoverlapping(last.as_ptr(), bytes.add(whole * WORD), rest);
            }
        }
        // SAFETY: every byte of `value` was written above, and any bytes make a valid `T`
        // (`new`'s contract), whoever wrote the words.
        unsafe { value.assume_init() }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn words(count: usize) -> Vec<AtomicUsize> {
        (0..count).map(|_| AtomicUsize::new(0)).collect()
    }

    #[test]
    fn values_of_every_width_go_through_words_and_come_back() {
        let storage = words(3 * words_per_value::<[u8; 13]>());
        // SAFETY: byte arrays are valid for every bit pattern and have no padding.
        let values = unsafe { SharedValues::<[u8; 13]>::new(&storage) };
        assert_eq!(values.len(), 3);
        for index in 0..3 {
            let value = core::array::from_fn(|byte| (index * 13 + byte) as u8);
            // SAFETY: in bounds, and this test is the storage's only user.
            let back = unsafe {
                values.write(index, value);
                values.read(index)
            };
            assert_eq!(back, value);
        }
        let storage = words(2 * words_per_value::<u128>());
        // SAFETY: as above, for an integer.
        let wide = unsafe { SharedValues::<u128>::new(&storage) };
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
