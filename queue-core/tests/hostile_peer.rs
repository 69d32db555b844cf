//! A shared queue against a faulty or hostile peer: the memory file mapped a second time, and
//! written outside the protocol, once (each corruption on its own) or all the time (a peer
//! scribbling while we use the queue). Every call must return, with a value, an answer or a
//! typed error, within its bound; nothing may panic, spin or fault.
//!
//! Run in debug builds by `cargo test` and in release builds by `cargo test-all`, since the
//! two differ in what an overflow or a `debug_assert!` does.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Queue, BlockingQueue, MessageQueue in shared memory
//! - Proves: a second mapping writing garbage into cursors, stamps, values, header and wait lists,
//!   once (a damaged stamp, a huge stamp, cursors one and two laps ahead, head at usize::MAX, an
//!   index past the capacity) or all the time, never makes a call panic, fault or spin: each
//!   returns a value, an answer or Corrupted within its bound, and len() stays within the capacity;
//!   the same with messages of one to four slots, their lengths scribbled too: each call returns
//!   a message, an answer or a typed error promptly, a refused message handed back whole;
//!   a peer bumping a sleeper's futex word without end leaves it under 5% of a core.
//! - Cannot prove: the peer is a thread with its own mapping, not a process; its scribbling is
//!   random, not exhaustive (here in release; `cargo test` runs it in debug too).

mod common;

use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::cpu::thread_cpu_time;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
use queue_core::{
    BlockingQueue, MessageQueue, PopError, PopTimeoutError, PushSliceError, PushTimeoutError,
    Queue, ReceiveError, Shared, TryPopError, TryPushError,
};

/// Capacity 4: positions have 3 index bits, the close mark is 8, and one lap is 16.
const CAPACITY: usize = 4;
const ONE_LAP: u64 = 16;

/// Byte offsets of the header fields this test reads.
const CURSORS_OFFSET_FIELD: usize = 56;
const STAMPS_OFFSET_FIELD: usize = 72;
const VALUES_OFFSET_FIELD: usize = 80;
/// `tail` is on the cache line after `head`'s (the cursors are cache-padded to 128 bytes on
/// x86_64 and aarch64); `Peer::new` checks it.
const TAIL_AFTER_HEAD: usize = 128;

/// How long a call that must not wait may take, at the very most: far above the time of a
/// bounded number of retries, far below "for ever".
const PROMPTLY: Duration = Duration::from_secs(2);

/// A second mapping of a queue's memory file: the peer.
struct Peer {
    base: NonNull<u8>,
    len: usize,
    head: usize,
    tail: usize,
    stamps: usize,
    values: usize,
}

// SAFETY: the mapping is process-wide memory that `Peer` only touches through atomics.
unsafe impl Send for Peer {}
// SAFETY: as above.
unsafe impl Sync for Peer {}

impl Peer {
    fn new(fd: std::os::fd::BorrowedFd<'_>) -> Self {
        let len = nix::sys::stat::fstat(fd).unwrap().st_size as usize;
        // SAFETY: a new shared mapping of the whole file, at an address the kernel picks.
        let base = unsafe {
            mmap(
                None,
                NonZeroUsize::new(len).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }
        .unwrap()
        .cast();
        let mut peer = Self {
            base,
            len,
            head: 0,
            tail: 0,
            stamps: 0,
            values: 0,
        };
        peer.head = peer.read(CURSORS_OFFSET_FIELD) as usize;
        peer.tail = peer.head + TAIL_AFTER_HEAD;
        peer.stamps = peer.read(STAMPS_OFFSET_FIELD) as usize;
        peer.values = peer.read(VALUES_OFFSET_FIELD) as usize;
        peer
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset % 8 == 0 && offset + 8 <= self.len, "offset {offset}");
        // SAFETY: in bounds and aligned (checked above, the mapping starts on a page); the
        // queue accesses these words only through atomics too.
        unsafe { &*self.base.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    fn read(&self, offset: usize) -> u64 {
        self.word(offset).load(Ordering::Relaxed)
    }

    fn write(&self, offset: usize, value: u64) {
        self.word(offset).store(value, Ordering::Relaxed);
    }

    fn set_head(&self, position: u64) {
        self.write(self.head, position);
    }

    fn set_tail(&self, position: u64) {
        self.write(self.tail, position);
    }

    /// Slot `index`'s stamp (a `u64` slot is its stamp and then its value: 16 bytes).
    fn set_stamp(&self, index: usize, stamp: u64) {
        self.write(self.stamps + 16 * index, stamp);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping `new` made; nothing borrowed from it outlives `self`.
        unsafe { munmap(self.base.cast(), self.len) }.unwrap();
    }
}

/// Runs `call` on a thread of its own and returns its answer, failing the test if it takes
/// longer than `bound` (a spin never returns; the thread is left behind).
fn within<R: Send + 'static>(bound: Duration, call: impl FnOnce() -> R + Send + 'static) -> R {
    let (answer, answered) = mpsc::channel();
    thread::spawn(move || answer.send(call()));
    answered
        .recv_timeout(bound)
        .unwrap_or_else(|_| panic!("the call did not return within {bound:?}: it spins or waits"))
}

/// A non-blocking shared queue of capacity 4 and its peer mapping.
fn queue_and_peer() -> (Queue<u64, Shared>, Peer) {
    let queue = Queue::<u64, Shared>::create(CAPACITY).unwrap();
    let peer = Peer::new(queue.fd());
    queue.try_push(7).unwrap();
    assert_eq!(
        (peer.read(peer.head), peer.read(peer.tail)),
        (0, 1),
        "the peer finds the cursors where the layout puts them"
    );
    assert_eq!(queue.try_pop(), Ok(7));
    (queue, peer)
}

/// The answers of a push and a pop on `queue`, each within [`PROMPTLY`], and its length.
fn answers(
    queue: &Queue<u64, Shared>,
) -> (
    Result<(), TryPushError<u64>>,
    Result<u64, TryPopError>,
    usize,
) {
    let pushed = within(PROMPTLY, {
        let queue = queue.try_clone().unwrap();
        move || queue.try_push(99)
    });
    let popped = within(PROMPTLY, {
        let queue = queue.try_clone().unwrap();
        move || queue.try_pop()
    });
    let len = within(PROMPTLY, {
        let queue = queue.try_clone().unwrap();
        move || queue.len()
    });
    assert!(len <= CAPACITY, "len {len} is past the capacity");
    (pushed, popped, len)
}

#[test]
fn a_damaged_stamp_is_corrupted() {
    let (queue, peer) = queue_and_peer();
    // Both cursors are at position 1 now; slot 1's stamp should say 1.
    peer.set_stamp(1, 5);
    let (pushed, popped, _) = answers(&queue);
    assert_eq!(
        pushed,
        Err(TryPushError::Corrupted(99)),
        "the value is handed back"
    );
    assert_eq!(popped, Err(TryPopError::Corrupted));
}

#[test]
fn a_huge_stamp_is_corrupted() {
    let (queue, peer) = queue_and_peer();
    peer.set_stamp(1, u64::MAX);
    let (pushed, popped, _) = answers(&queue);
    assert!(pushed.unwrap_err().is_corrupted());
    assert_eq!(popped, Err(TryPopError::Corrupted));
}

#[test]
fn cursors_one_lap_ahead_are_corrupted_for_pops_and_full_for_pushes() {
    let (queue, peer) = queue_and_peer();
    // Stamps say "free for the push at 1"; the cursors say 17. To a push, the slot looks
    // claimed by the push one lap before, unfinished: the ring is full, which a live
    // producer stalled in its claim can make so. To a pop, it is a stamp no protocol leaves.
    peer.set_head(1 + ONE_LAP);
    peer.set_tail(1 + ONE_LAP);
    let (pushed, popped, len) = answers(&queue);
    assert_eq!(pushed, Err(TryPushError::Full(99)));
    assert_eq!(popped, Err(TryPopError::Corrupted));
    assert_eq!(len, 0);
}

#[test]
fn cursors_two_laps_ahead_are_corrupted() {
    let (queue, peer) = queue_and_peer();
    peer.set_head(1 + 2 * ONE_LAP);
    peer.set_tail(1 + 2 * ONE_LAP);
    let (pushed, popped, _) = answers(&queue);
    assert_eq!(pushed, Err(TryPushError::Corrupted(99)));
    assert_eq!(popped, Err(TryPopError::Corrupted));
}

#[test]
fn a_head_of_usize_max_is_corrupted_and_len_does_not_underflow() {
    let (queue, peer) = queue_and_peer();
    peer.set_head(u64::MAX);
    let (pushed, popped, len) = answers(&queue);
    assert_eq!(pushed, Ok(()), "pushes do not read the head");
    assert_eq!(popped, Err(TryPopError::Corrupted));
    assert!(len <= CAPACITY);
}

#[test]
fn an_index_past_the_capacity_is_corrupted() {
    let (queue, peer) = queue_and_peer();
    peer.set_tail(5); // index 5 of a 4-slot ring
    let (pushed, popped, _) = answers(&queue);
    assert_eq!(pushed, Err(TryPushError::Corrupted(99)));
    assert_eq!(
        popped,
        Err(TryPopError::Empty),
        "pops do not read an open ring's tail"
    );
    peer.set_head(6);
    let (_, popped, len) = answers(&queue);
    assert_eq!(popped, Err(TryPopError::Corrupted));
    assert!(len <= CAPACITY);
}

#[test]
fn batches_answer_corrupted_too() {
    let (queue, peer) = queue_and_peer();
    peer.set_stamp(1, 12345);
    assert_eq!(
        queue.try_push_slice(&[1, 2, 3]),
        Err(PushSliceError::Corrupted)
    );
    assert_eq!(queue.try_pop_slice(&mut [0; 3]), Err(PopError::Corrupted));
}

#[test]
fn timed_calls_answer_corrupted_long_before_their_timeout() {
    let queue = BlockingQueue::<u64, Shared>::create(CAPACITY).unwrap();
    let peer = Peer::new(queue.fd());
    peer.set_stamp(0, 3);
    let timeout = Duration::from_secs(30);
    let popped = within(PROMPTLY, {
        let queue = queue.try_clone().unwrap();
        move || queue.pop_timeout(timeout)
    });
    assert_eq!(popped, Err(PopTimeoutError::Corrupted));
    let pushed = within(PROMPTLY, {
        let queue = queue.try_clone().unwrap();
        move || queue.push_timeout(5, timeout)
    });
    assert!(
        matches!(pushed, Err(PushTimeoutError::Corrupted(5))),
        "{pushed:?}"
    );
    let (popped, pushed) = within(PROMPTLY, {
        let queue = queue.try_clone().unwrap();
        move || (queue.pop(), queue.push(6))
    });
    assert_eq!(popped, Err(PopError::Corrupted));
    assert_eq!(pushed.unwrap_err().into_inner(), 6);
}

/// A small random-number generator (xorshift64*), so the scribbling needs no dependency.
struct Scribbles(u64);

impl Scribbles {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number a cursor or stamp might plausibly hold near `near`, or anything at all.
    fn plausible(&mut self, near: u64) -> u64 {
        match self.next() % 4 {
            0 => self.next(),
            1 => near.wrapping_add(self.next() % 4),
            2 => near.wrapping_add(ONE_LAP * (self.next() % 3)),
            _ => near.wrapping_sub(self.next() % (2 * ONE_LAP)),
        }
    }
}

/// A thread that writes plausible or random words into the cursors, the close flag, the
/// stamps (`stamp_stride` bytes apart), the values (`value_bytes` each, `value_stride` bytes
/// apart: their first words, which a message queue reads as lengths, most often), the header
/// and the wait lists, until `stop`; it returns how many words it wrote.
fn scribbling(
    peer: &Arc<Peer>,
    stop: &Arc<AtomicBool>,
    stamp_stride: usize,
    [value_stride, value_bytes]: [usize; 2],
) -> thread::JoinHandle<u64> {
    let (peer, stop) = (Arc::clone(peer), Arc::clone(stop));
    thread::spawn(move || {
        let mut scribbles = Scribbles(0x9e37_79b9_7f4a_7c15);
        let mut writes = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let near = peer.read(peer.tail);
            let index = (scribbles.next() % CAPACITY as u64) as usize;
            let (offset, value) = match scribbles.next() % 8 {
                0 => (peer.head, scribbles.plausible(near)),
                1 => (peer.tail, scribbles.plausible(near)),
                2 => (peer.head + 8, scribbles.next() % 2), // the close flag
                3 | 4 => (
                    peer.stamps + stamp_stride * index,
                    scribbles.plausible(near),
                ),
                5 => {
                    let word = match scribbles.next() % 3 {
                        0 => (scribbles.next() as usize % value_bytes) / 8,
                        _ => 0,
                    };
                    let value = match scribbles.next() % 3 {
                        0 => scribbles.next() % (4 * value_bytes as u64),
                        _ => scribbles.next(),
                    };
                    (peer.values + value_stride * index + 8 * word, value)
                }
                // The header and the wait lists: never read again after attaching, or
                // only futex words and counts.
                6 => (8 * (scribbles.next() as usize % 15), scribbles.next()),
                _ => (
                    peer.tail + 128 + 8 * (scribbles.next() as usize % 40),
                    scribbles.next(),
                ),
            };
            peer.write(offset, value);
            writes += 1;
            if writes % 64 == 0 {
                thread::yield_now();
            }
        }
        writes
    })
}

#[test]
fn a_peer_scribbling_all_the_time_never_makes_a_call_spin_panic_or_fault() {
    let queue = BlockingQueue::<u64, Shared>::create(CAPACITY).unwrap();
    let peer = Arc::new(Peer::new(queue.fd()));
    let stop = Arc::new(AtomicBool::new(false));
    // A `u64` slot is its stamp and then its value: each 16 bytes from the last.
    let scribbler = scribbling(&peer, &stop, 16, [16, 8]);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut calls = 0u64;
    let mut slowest = Duration::ZERO;
    let mut answered = [0u64; 3]; // values or successes, Full/Empty/Timeout, Corrupted/Closed
    let mut buffer = [0u64; 3];
    while Instant::now() < deadline {
        let started = Instant::now();
        let class = match calls % 7 {
            0 => match queue.try_push(calls) {
                Ok(()) => 0,
                Err(error) if error.is_full() => 1,
                Err(error) => {
                    assert_eq!(error.into_inner(), calls, "the value is handed back");
                    2
                }
            },
            1 => match queue.try_pop() {
                Ok(_) => 0,
                Err(TryPopError::Empty) => 1,
                Err(_) => 2,
            },
            2 => match queue.push_timeout(calls, Duration::from_millis(5)) {
                Ok(()) => 0,
                Err(error) if error.is_timeout() => 1,
                Err(_) => 2,
            },
            3 => match queue.pop_timeout(Duration::from_millis(5)) {
                Ok(_) => 0,
                Err(PopTimeoutError::Timeout) => 1,
                Err(_) => 2,
            },
            4 => match queue.try_push_slice(&[1, 2, 3]) {
                Ok(0) => 1,
                Ok(_) => 0,
                Err(_) => 2,
            },
            5 => match queue.try_pop_slice(&mut buffer) {
                Ok(0) => 1,
                Ok(_) => 0,
                Err(_) => 2,
            },
            _ => {
                assert!(queue.len() <= CAPACITY);
                let _ = queue.is_closed();
                0
            }
        };
        answered[class] += 1;
        calls += 1;
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(took < PROMPTLY, "a call took {took:?}");
    }
    stop.store(true, Ordering::Relaxed);
    let writes = scribbler.join().unwrap();
    eprintln!(
        "{calls} calls against {writes} scribbled words: {answered:?} (done, refused, \
         corrupted or closed); slowest call {slowest:?}"
    );
    assert!(calls > 1000 && writes > 1000, "both sides ran");
    assert!(
        answered[2] > 0,
        "the scribbling was seen as corruption at least once"
    );
    let file = std::fs::File::from(queue.fd().try_clone_to_owned().unwrap());
    assert!(
        file.set_len(64).is_err(),
        "the peer cannot shrink the file under us"
    );
}

/// Byte offset of the header field that locates the wait lists; the sleeping pops' futex
/// word is their first word.
const WAIT_LISTS_OFFSET_FIELD: usize = 64;

/// A peer that bumps the futex word of the sleeping pops and wakes them, as fast as it can,
/// while no value ever comes: a sleeping pop's thread uses under 5% of a core (CPU time, not
/// wall time), whether it has a timeout (which it meets) or not (it returns the value pushed
/// after a second). Prints the measurements.
#[test]
fn a_peer_bumping_a_sleepers_futex_word_cannot_make_it_burn_a_core() {
    let queue = BlockingQueue::<u64, Shared>::create(CAPACITY).unwrap();
    let peer = Arc::new(Peer::new(queue.fd()));
    let stop = Arc::new(AtomicBool::new(false));
    let bumper = thread::spawn({
        let (peer, stop) = (Arc::clone(&peer), Arc::clone(&stop));
        move || {
            let epoch = peer.read(WAIT_LISTS_OFFSET_FIELD) as usize;
            // SAFETY: the wait lists are in bounds and aligned (the header says where), and the
            // futex word is a `u32` used only through atomics by every process.
            let word = unsafe {
                &*peer
                    .base
                    .as_ptr()
                    .add(epoch)
                    .cast::<std::sync::atomic::AtomicU32>()
            };
            while !stop.load(Ordering::Relaxed) {
                word.fetch_add(1, Ordering::Relaxed);
                // SAFETY: FUTEX_WAKE on a mapped, aligned word only wakes its waiters.
                unsafe {
                    nix::libc::syscall(
                        nix::libc::SYS_futex,
                        word.as_ptr(),
                        nix::libc::FUTEX_WAKE,
                        i32::MAX,
                    )
                };
            }
        }
    });
    let measured = |what: &str, call: &dyn Fn() -> bool| {
        let (before, started) = (thread_cpu_time(), Instant::now());
        assert!(call(), "{what} answered wrongly");
        let (cpu, wall) = (thread_cpu_time() - before, started.elapsed());
        let share = cpu.as_secs_f64() / wall.as_secs_f64();
        println!(
            "{what} under a futex-bumping peer: {:.3} s, {:.2} ms of CPU, {:.2}% of a core",
            wall.as_secs_f64(),
            cpu.as_secs_f64() * 1e3,
            share * 100.0
        );
        assert!(share < 0.05, "{what} used {cpu:?} of CPU in {wall:?}");
    };
    let timeout = Duration::from_secs(1);
    measured("pop_timeout", &|| {
        let started = Instant::now();
        queue.pop_timeout(timeout) == Err(PopTimeoutError::Timeout)
            && started.elapsed() < timeout + PROMPTLY
    });
    let pusher = thread::spawn({
        let queue = queue.try_clone().unwrap();
        move || {
            thread::sleep(timeout);
            queue.push(7).unwrap();
        }
    });
    measured("pop", &|| queue.pop() == Ok(7));
    pusher.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    bumper.join().unwrap();
}

/// The same peer scribbling over a queue of messages of every size (one slot to the whole
/// queue's four): its lengths too. Every call returns promptly, with a message, an answer or a
/// typed error; a message handed back on a refusal is the one sent.
#[test]
fn a_peer_scribbling_over_messages_of_several_slots_never_makes_a_call_spin_panic_or_fault() {
    let slot = MessageQueue::<Vec<u8>>::SLOT;
    let queue = MessageQueue::<Vec<u8>>::create(CAPACITY * slot).unwrap();
    let peer = Arc::new(Peer::new(queue.fd()));
    let stop = Arc::new(AtomicBool::new(false));
    // A slot's stamp takes a cache line of its own (see `stamp_spacing`).
    let scribbler = scribbling(&peer, &stop, 64, [slot, slot]);
    let deadline = Instant::now() + Duration::from_secs(2);
    let (mut calls, mut slowest) = (0u64, Duration::ZERO);
    let mut answered = [0u64; 3]; // messages or successes, Full/Empty/Timeout, errors
    while Instant::now() < deadline {
        let started = Instant::now();
        let message = vec![calls as u8; (calls as usize * 97) % (CAPACITY * slot)];
        let class = match calls % 5 {
            0 => match queue.try_push(message.clone()) {
                Ok(()) => 0,
                Err(error) => {
                    let full = error.queue_error().is_some_and(|error| error.is_full());
                    assert_eq!(error.into_inner(), message, "the message is handed back");
                    if full { 1 } else { 2 }
                }
            },
            1 | 3 => match queue.try_pop() {
                Ok(_) => 0,
                Err(ReceiveError::Queue(TryPopError::Empty)) => 1,
                Err(_) => 2,
            },
            2 => match queue.push_timeout(message, Duration::from_millis(5)) {
                Ok(()) => 0,
                Err(error) if error.queue_error().is_some_and(|error| error.is_timeout()) => 1,
                Err(_) => 2,
            },
            _ => match queue.pop_timeout(Duration::from_millis(5)) {
                Ok(_) => 0,
                Err(ReceiveError::Queue(PopTimeoutError::Timeout)) => 1,
                Err(_) => 2,
            },
        };
        assert!(queue.len() <= queue.capacity());
        answered[class] += 1;
        calls += 1;
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(took < PROMPTLY, "a call took {took:?}");
    }
    stop.store(true, Ordering::Relaxed);
    let writes = scribbler.join().unwrap();
    eprintln!(
        "{calls} calls of messages against {writes} scribbled words: {answered:?} (done, \
         refused, errors); slowest call {slowest:?}"
    );
    assert!(calls > 1000 && writes > 1000, "both sides ran");
    assert!(answered[2] > 0, "the scribbling was seen at least once");
}
