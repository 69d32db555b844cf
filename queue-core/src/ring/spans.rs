//! Spans: a message of any length in consecutive slots of a shared ring, claimed whole with
//! one compare-and-swap.
//!
//! # Layout
//!
//! A message is written as one stream of bytes, its length (a little-endian `u32`) and then
//! its bytes, into the words of consecutive slots from the span's first slot (after the
//! ring's last slot, the stream goes on in slot 0): as many slots as the stream fills
//! ([`slots_for`]), one for a message that fits in one. Only the words the stream
//! fills are written and read. A one-slot span is laid out as a [`Frame`](super::Frame) of
//! the slot's size.
//!
//! # Claims
//!
//! The claims are the single and batch calls' own (`claim`), asked for all of a span
//! (`Want::All`). A push claims all of its span's slots with one compare-and-swap on `tail`,
//! once each is free, or answers Full: never part of a message. It writes the stream, then publishes the
//! slots in order, first to last.
//!
//! A pop looks at the slot at `head`. Once its stamp says published, it reads the length
//! from the slot's first word (a peek before the claim: if `head` has not moved by the claim,
//! nobody could have changed the word, and if it has, the claim fails), and claims the
//! span's slots with one compare-and-swap on `head` once each is published or passed over.
//! It copies the stream out, then frees the slots. A pop never takes part of a message, and
//! the values of two messages never mix.
//!
//! # Dead claimers
//!
//! A push that dies leaves a published prefix of its span and an unpublished rest, since it
//! publishes in order; a recovery passes over each unpublished slot, as for any dead push
//! (see `recovery`):
//! - none published: every slot of the span is passed over, one by one; no trace is left;
//! - some published, the rest passed over: the message is torn, and the pop that claims the
//!   span (it knows its length from the first slot) frees every slot of it and takes the next
//!   message. Nothing torn is delivered, and the space comes back.
//!
//! A pop that dies after its claim loses that message (it may have copied it); a recovery
//! frees the slots it had not freed. A peer that writes the mapping outside the protocol can
//! make a length say anything: a span longer than the ring is read as the one slot it starts
//! in, and the stream's bytes, whatever they are, are handed to the caller to decode.

use crate::sync::{AtomicUsize, Ordering, crash_point};

use super::bulk;
use super::claim::{SHARED_RETRY_LIMIT, Want};
use super::values::{SharedValues, WORD, words_per_value};
use super::{Claim, Claimer, Refusal, Ring};

/// The bytes of a span's length, before the message's bytes.
const LENGTH: usize = 4;

/// What a pop of a span found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Taken {
    /// The message, copied out whole.
    Whole,
    /// A dead push's message, torn: passed over, its slots freed.
    Torn,
}

impl<'a, T, C: Claimer> Ring<'a, T, SharedValues<'a, T>, C> {
    /// The bytes of one slot.
    const SLOT_BYTES: usize = words_per_value::<T>() * WORD;

    /// The longest message the ring holds: its length and its bytes in every slot.
    pub(crate) fn max_message(&self) -> usize {
        let all = self.shape.capacity.saturating_mul(Self::SLOT_BYTES) - LENGTH;
        all.min(u32::MAX as usize)
    }

    /// Pushes `message` in one span, or refuses it whole.
    ///
    /// The caller checks first that it fits: `message.len() <= max_message()`.
    pub(crate) fn try_push_message(&self, message: &[u8]) -> Result<(), Refusal> {
        debug_assert!(message.len() <= self.max_message());
        let claim = self.claim_pushes(Want::All(slots_for::<T>(message.len())))?;
        let [run, wrapped] = self.runs(claim);
        let words = [self.run_words(run.indices), self.run_words(wrapped.indices)];
        write_stream::<T>(words, message);
        for run in self.runs(claim) {
            for (stamp, position) in self.stamps(&run).zip(run.first..) {
                Self::publish(stamp, position);
            }
        }
        self.claimer.finish();
        Ok(())
    }

    /// Pops the oldest message into `out` (which it clears first), passing over the torn
    /// messages of dead pushes: at most [`SHARED_RETRY_LIMIT`] of them in one call (each dead
    /// producer leaves one at most), after which a peer making them without end is answered
    /// `Corrupted`.
    pub(crate) fn try_pop_message(&self, out: &mut Vec<u8>) -> Result<(), Refusal> {
        for _ in 0..SHARED_RETRY_LIMIT {
            let claim = self.claim_pops(|index| Want::All(self.span_at(index)))?;
            let taken = self.copy_span(claim, out);
            for run in self.runs(claim) {
                for (stamp, position) in self.stamps(&run).zip(run.first..) {
                    self.release(stamp, position);
                }
            }
            if taken == Taken::Whole {
                self.claimer.finish();
                return Ok(());
            }
        }
        self.claimer.finish();
        Err(Refusal::Corrupted)
    }

    /// The words of the slots `indices` (below the capacity: see `runs`).
    fn run_words(&self, indices: core::ops::Range<usize>) -> &'a [AtomicUsize] {
        let per_slot = words_per_value::<T>();
        &self.values.words()[indices.start * per_slot..indices.end * per_slot]
    }

    /// How many slots the message in the slot at `index` (published, for the caller's pop)
    /// spans, read from its first word: between 1 and the capacity, whatever the word says.
    fn span_at(&self, index: usize) -> usize {
        let first = self.values.words()[index * words_per_value::<T>()]
            // Relaxed: the caller's Acquire load of the slot's stamp, which said published,
            // pairs with the push's Release store of it, made after this word's store.
            .load(Ordering::Relaxed);
        let slots = slots_for::<T>(stream_length(first));
        if slots <= self.shape.capacity {
            slots
        } else {
            1
        }
    }

    /// Copies the message in `claim`'s slots, claimed by this pop, into `out`; or finds it
    /// torn (a slot of it passed over), and copies nothing.
    fn copy_span(&self, claim: Claim, out: &mut Vec<u8>) -> Taken {
        out.clear();
        for run in self.runs(claim) {
            for (stamp, position) in self.stamps(&run).zip(run.first..) {
                // Relaxed: the claim's own Acquire loads of these stamps saw each published or
                // passed over, and nobody changes a claimed slot's stamp but its claimer.
                if stamp.load(Ordering::Relaxed) == self.shape.skipped(position) {
                    return Taken::Torn;
                }
            }
        }
        let [run, wrapped] = self.runs(claim);
        let words = [self.run_words(run.indices), self.run_words(wrapped.indices)];
        // A length past the claimed slots (written outside the protocol) is cut to them.
        let room = claim.count * Self::SLOT_BYTES - LENGTH;
        read_stream(words, room, out);
        Taken::Whole
    }
}

/// How many slots of `T` a message of `len` bytes takes: its length and its bytes, in whole
/// slots.
pub(crate) const fn slots_for<T>(len: usize) -> usize {
    let slot_bytes = words_per_value::<T>() * WORD;
    assert!(slot_bytes > 0, "a span's slots hold words");
    let slots = len.saturating_add(LENGTH).div_ceil(slot_bytes);
    if slots == 0 { 1 } else { slots }
}

/// The length a span's first word says its message has.
fn stream_length(first_word: usize) -> usize {
    let bytes = first_word.to_ne_bytes();
    let mut length = [0; LENGTH];
    let known = LENGTH.min(WORD);
    length[..known].copy_from_slice(&bytes[..known]);
    usize::try_from(u32::from_le_bytes(length)).unwrap_or(usize::MAX)
}

/// How many of a message's bytes share the span's first word with its length.
const IN_FIRST_WORD: usize = WORD.saturating_sub(LENGTH);

/// Writes the stream of `message` (its length, then its bytes) into the words of a span: the
/// first run's, then the wrapped run's, which together have room for it (see `bulk` for how).
fn write_stream<T>(words: [&[AtomicUsize]; 2], message: &[u8]) {
    let length = u32::try_from(message.len()).expect("a span's message has a u32 length");
    let (head, rest) = message.split_at(message.len().min(IN_FIRST_WORD));
    let mut first = [0; WORD];
    first[..LENGTH.min(WORD)].copy_from_slice(&length.to_le_bytes()[..LENGTH.min(WORD)]);
    first[LENGTH.min(WORD)..][..head.len()].copy_from_slice(head);
    // Relaxed, as every store of a claimed slot's words: the Release store of the slot's
    // stamp that publishes it orders them before the pop's Acquire load of the stamp.
    words[0][0].store(usize::from_ne_bytes(first), Ordering::Relaxed);
    let whole = rest.len() / WORD;
    let mut bytes = &rest[..whole * WORD];
    let mut written = 1;
    for segment in [&words[0][1..], words[1]] {
        let count = segment.len().min(bytes.len() / WORD);
        let (these, left) = bytes.split_at(count * WORD);
        copy_in_slot_by_slot::<T>(&segment[..count], these, written);
        (bytes, written) = (left, written + count);
    }
    let tail = &rest[whole * WORD..];
    if !tail.is_empty() {
        let mut last = [0; WORD];
        last[..tail.len()].copy_from_slice(tail);
        // Relaxed: as above.
        word_of(words, written).store(usize::from_ne_bytes(last), Ordering::Relaxed);
    }
    if written % words_per_value::<T>() != 0 || !tail.is_empty() {
        crash_point();
    }
}

/// Word `index` of a span's two runs of words.
fn word_of(words: [&[AtomicUsize]; 2], index: usize) -> &AtomicUsize {
    match words[0].get(index) {
        Some(word) => word,
        None => &words[1][index - words[0].len()],
    }
}

/// Copies `bytes` into `segment`, whose first word is word `first_word` of its span: at once,
/// or, in the builds that stop a participant at its crash points (loom's and the fault
/// tests'), slot by slot with a crash point after each slot's words.
fn copy_in_slot_by_slot<T>(segment: &[AtomicUsize], bytes: &[u8], first_word: usize) {
    if !cfg!(any(loom, queue_faults)) {
        bulk::copy_in(segment, bytes);
        return;
    }
    let per_slot = words_per_value::<T>();
    let mut start = 0;
    while start < segment.len() {
        let end = (start + per_slot - (first_word + start) % per_slot).min(segment.len());
        bulk::copy_in(&segment[start..end], &bytes[start * WORD..end * WORD]);
        if (first_word + end) % per_slot == 0 {
            crash_point();
        }
        start = end;
    }
}

/// Reads the message of a span's stream out of its words (the first run's, then the wrapped
/// run's) into `out`, whatever they hold: a length past `room` is cut to it, and words a peer
/// changed are read as they are.
fn read_stream(words: [&[AtomicUsize]; 2], room: usize, out: &mut Vec<u8>) {
    // Relaxed, as every load of a claimed slot's words: the claim's Acquire loads of the
    // slots' stamps pair with the push's Release stores, made after its stores of the words.
    let load = |word: &AtomicUsize| word.load(Ordering::Relaxed).to_ne_bytes();
    let first = load(&words[0][0]);
    let len = stream_length(usize::from_ne_bytes(first)).min(room);
    out.reserve_exact(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    let head = len.min(IN_FIRST_WORD);
    let (head_bytes, rest) = spare.split_at_mut(head);
    for (to, &from) in head_bytes.iter_mut().zip(&first[LENGTH.min(WORD)..]) {
        to.write(from);
    }
    let whole = rest.len() / WORD;
    let (mut middle, tail) = rest.split_at_mut(whole * WORD);
    let mut read = 1;
    for segment in [&words[0][1..], words[1]] {
        let count = segment.len().min(middle.len() / WORD);
        let (these, left) = middle.split_at_mut(count * WORD);
        bulk::copy_out(&segment[..count], these);
        (middle, read) = (left, read + count);
    }
    if !tail.is_empty() {
        let last = load(word_of(words, read));
        for (to, &from) in tail.iter_mut().zip(&last) {
            to.write(from);
        }
    }
    // SAFETY: each of the first `len` bytes of the spare capacity was written above: the head
    // from the first word, the middle by the bulk copies (the claimed words have room for
    // `len <= room` bytes, so the segments cover it), and the tail from the word after them.
    unsafe { out.set_len(len) };
}
