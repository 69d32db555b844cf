//! Bulk copies between this process's bytes and words of shared memory, which another process
//! may write at the same time (a faulty or hostile one, out of the protocol).
//!
//! A plain `memcpy` there would be a data race, undefined behaviour; the safe way is a relaxed
//! atomic load or store per word (see `values`), which moves a large message at a fraction of
//! `memcpy`'s speed: the compiler cannot widen atomics, and each store to a line not yet owned
//! reads the line first. On x86_64 a long copy here is one `rep movsb` instead: an assembly
//! block is opaque to the compiler, which assumes only that it reads and writes the bytes it
//! is given, and the instruction reads and writes memory as the hardware does, so a peer
//! writing the same words gives torn bytes, as the atomic words do, never undefined
//! behaviour. (The processor's fast string copy also writes whole lines without reading them
//! first.) It starts slower than a few word moves, so copies shorter than [`STRING_COPY`]
//! stay atomic words; so do all copies elsewhere, and under loom (whose atomics are not
//! memory).

use core::mem::MaybeUninit;

use crate::sync::{AtomicUsize, Ordering};

use super::values::WORD;

/// The shortest copy made with `rep movsb`: below it, word moves are faster.
const STRING_COPY: usize = 512;

/// Whether this build copies with `rep movsb` at all.
const STRING_COPIES: bool = cfg!(all(target_arch = "x86_64", not(any(loom, shuttle))));

/// Copies `bytes` into `words` (`bytes.len() == words.len() * WORD`).
#[inline]
pub(super) fn copy_in(words: &[AtomicUsize], bytes: &[u8]) {
    assert_eq!(bytes.len(), words.len() * WORD, "a bulk copy moves whole words");
    if STRING_COPIES && bytes.len() >= STRING_COPY {
        // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes and `words` (atomics:
        // writable through `&`) for writes of as many (the assertion); they do not overlap
        // (the words are in the mapping, the bytes are this process's).
        unsafe { string_copy(bytes.as_ptr(), words.as_ptr().cast_mut().cast(), bytes.len()) };
        return;
    }
    for (word, chunk) in words.iter().zip(bytes.chunks_exact(WORD)) {
        // Relaxed: as every store of a claimed slot's words, ordered by the Release store
        // of the stamp that publishes the slot, after it.
        word.store(
            usize::from_ne_bytes(chunk.try_into().expect("a chunk is a word")),
            Ordering::Relaxed,
        );
    }
}

/// Copies `words` into `out` (`out.len() == words.len() * WORD`), which is then initialised.
#[inline]
pub(super) fn copy_out(words: &[AtomicUsize], out: &mut [MaybeUninit<u8>]) {
    assert_eq!(out.len(), words.len() * WORD, "a bulk copy moves whole words");
    if STRING_COPIES && out.len() >= STRING_COPY {
        // SAFETY: `words` is valid for reads of `out.len()` bytes and `out` for writes of as
        // many (the assertion); they do not overlap (the mapping, and this process's buffer).
        unsafe { string_copy(words.as_ptr().cast(), out.as_mut_ptr().cast(), out.len()) };
        return;
    }
    for (word, chunk) in words.iter().zip(out.chunks_exact_mut(WORD)) {
        // Relaxed: as every load of a claimed slot's words, ordered after the Acquire load of
        // the stamp that found the slot published.
        let bytes = word.load(Ordering::Relaxed).to_ne_bytes();
        for (to, from) in chunk.iter_mut().zip(bytes) {
            to.write(from);
        }
    }
}

/// Copies `len` bytes from `from` to `to` with `rep movsb` (never called where
/// [`STRING_COPIES`] is false).
///
/// # Safety
///
/// `from` is valid for reads and `to` for writes of `len` bytes, and the two do not overlap.
#[inline(always)]
unsafe fn string_copy(from: *const u8, to: *mut u8, len: usize) {
    #[cfg(all(target_arch = "x86_64", not(any(loom, shuttle))))]
    // SAFETY: the caller's contract; `rep movsb` copies upwards because the direction flag is
    // clear, as the ABI guarantees at every call, and it changes no flag.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rsi") from => _,
            inout("rdi") to => _,
            options(nostack, preserves_flags)
        );
    }
    #[cfg(not(all(target_arch = "x86_64", not(any(loom, shuttle)))))]
    {
        let _ = (from, to, len);
        unreachable!("string copies are made on x86_64 only");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Copies `words` words in and out, from slot 1 of a larger array.
    fn round_trip(words: usize) {
        let storage: Vec<AtomicUsize> = (0..words + 2).map(|_| AtomicUsize::new(usize::MAX)).collect();
        let bytes: Vec<u8> = (0..words * WORD).map(|i| (i * 7) as u8).collect();
        copy_in(&storage[1..=words], &bytes);
        assert_eq!(storage[0].load(Ordering::Relaxed), usize::MAX, "nothing before");
        assert_eq!(storage[words + 1].load(Ordering::Relaxed), usize::MAX, "nothing after");
        let expected = usize::from_ne_bytes(bytes[..WORD].try_into().unwrap());
        assert_eq!(storage[1].load(Ordering::Relaxed), expected);
        let mut out = vec![MaybeUninit::new(0u8); words * WORD];
        copy_out(&storage[1..=words], &mut out);
        // SAFETY: every byte of `out` was initialised when it was made.
        let out: Vec<u8> = out.into_iter().map(|byte| unsafe { byte.assume_init() }).collect();
        assert_eq!(out, bytes, "{words} words");
    }

    #[test]
    fn bytes_go_into_words_and_back_short_and_long() {
        round_trip(3);
        round_trip(STRING_COPY / WORD); // the first length copied as a string
        round_trip(5000);
    }
}
