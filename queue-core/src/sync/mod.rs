//! The one switch between `std` and `loom`.
//!
//! Every atomic, cell and wait that the queue's algorithm uses is imported from here, so the
//! algorithm reads the same under both and never names `loom` itself. Build with
//! `RUSTFLAGS="--cfg loom"` and the whole crate runs on loom's simulated memory model; with
//! `RUSTFLAGS="--cfg shuttle"` its atomics, waits and yields are shuttle's (the loom stand-ins
//! below, on shuttle's mutex and scheduler; cells are `std`'s), for the randomized schedules
//! of `tests/shuttle_queue.rs`.
//!
//! Both alternatives expose the same items:
//! - `AtomicU64`, `AtomicUsize`, `Ordering`, `fence`: the atomics;
//! - `FutexWord`: a 32-bit atomic that threads (and processes, for a word in a shared mapping)
//!   can sleep on until it changes: Linux's `futex` (`futex.rs`), and under loom a mutex and
//!   condition variable with the same contract;
//! - `UnsafeCell`: with loom's closure-based `with`/`with_mut` shape (`cell.rs`), so that loom
//!   can track every access to a slot's value;
//! - `Barriers`: the pair of barriers that orders a sleeper's registration against a waker's
//!   ring change (see `wait`): a `SeqCst` fence on each side, or, where the kernel offers it,
//!   an asymmetric pair (`barriers.rs`: `membarrier(2)` in the sleeper's half, a compiler
//!   fence in every waker's). Under loom both halves are `SeqCst` fences: the models check the
//!   protocol given the pair's guarantee, not the kernel's implementation of it;
//! - `Backoff`: the retry policy of every retry loop (spins, then yields the thread; under
//!   loom, every step yields to the model's scheduler, and a call that retries more often than
//!   any model's operations could explain fails the model);
//! - `Spinning`: how long a blocking call retries before it sleeps (`spin.rs`); under loom
//!   it does not, and every blocking call goes straight to the sleep protocol.
//!
//! - `crash_point`: where a model may make a participant stop for ever (`crash.rs`), and a
//!   `--cfg queue_faults` build may kill its process; nothing in any other build.
//!
//! The loom (and shuttle) stand-ins are in `mocked.rs`.

pub(crate) mod crash;

#[cfg(not(any(loom, shuttle)))]
mod barriers;
#[cfg(not(loom))]
mod cell;
#[cfg(not(any(loom, shuttle)))]
mod futex;
#[cfg(not(any(loom, shuttle)))]
mod spin;
#[cfg(any(loom, shuttle))]
mod mocked;

#[cfg(not(any(loom, shuttle)))]
pub(crate) use self::{barriers::Barriers, futex::FutexWord, spin::Spinning};
#[cfg(not(any(loom, shuttle)))]
pub(crate) use crossbeam_utils::Backoff;
#[cfg(not(any(loom, shuttle)))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use self::cell::UnsafeCell;
// The `spsc` handles share their ring through it: loom's models the release of the last
// reference, which orders both handles' last stores before the ring's drop.
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

pub(crate) use self::crash::crash_point;

/// Whether time passes: the model checkers have no clock (a timed wait there times out at
/// once), so a wait that only exists to look again after a while is left out of the models.
pub(crate) const HAS_CLOCK: bool = !cfg!(any(loom, shuttle));
#[cfg(any(loom, shuttle))]
pub(crate) use self::mocked::{Backoff, Barriers, FutexWord, Spinning};
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
// shuttle's schedulers run every atomic as `SeqCst`: they explore interleavings, not weak
// memory (loom does that).
#[cfg(all(shuttle, not(loom)))]
pub(crate) use shuttle::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
