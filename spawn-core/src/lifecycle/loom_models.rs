//! loom models of the lifecycle: threads stand in for the operating system (a fake child that
//! "exits" when a thread says so, and checks how it is reaped and signalled), and several
//! threads join, poll and signal one handle at once.
//!
//! In every execution explored: the child is reaped exactly once; every observer sees the one
//! status the reaper published; no signal is sent once reaping has started, and every signal
//! sent happens-before the reap (the fake kernel's record of signals is a plain cell, outside
//! its lock); nobody waits forever. The fake's assertions are the properties; loom reports any execution that breaks
//! one, and any data race on the status cell.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release -p spawn-core --lib`.
//!
//! # Verification
//!
//! - Checker: loom
//! - Primitive: ProcessHandle (the lifecycle)
//! - Proves: a child joined, polled and signalled from several threads at once is reaped exactly
//!   once, every observer sees the one published status, no signal is sent once reaping has begun,
//!   every signal sent happens-before the reap, and no waiter waits forever.
//! - Cannot prove: the kernel is a fake child driven by a model thread; pidfd semantics are tested
//!   with real processes, not modelled.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use loom::cell::UnsafeCell;
use loom::sync::{Condvar, Mutex};
use loom::thread;
use model_check::{Bound, Model, explore};

use super::{ChildOs, Lifecycle};
use crate::status::ExitStatus;

/// The status the fake child exits with.
const STATUS: ExitStatus = ExitStatus::Exited(7);

/// What the fake kernel knows of its child.
#[derive(Debug, Default)]
struct Kernel {
    exited: bool,
    reaped: bool,
    signals: usize,
}

/// A child whose exit is a model thread's step, and whose kernel checks every call.
#[derive(Debug, Default)]
struct FakeChild {
    kernel: Mutex<Kernel>,
    changed: Condvar,
    /// The signals sent, as the reap reads them: a plain cell, outside the kernel's lock, so
    /// that nothing but the lifecycle's own orderings puts a signal before the reap (loom
    /// reports a race otherwise). The real kernel has locks of its own, which the lifecycle's
    /// argument does not lean on.
    delivered: UnsafeCell<usize>,
}

impl FakeChild {
    /// The child exits (as if its last thread returned).
    fn exit(&self) {
        self.kernel.lock().unwrap().exited = true;
        self.changed.notify_all();
    }
}

impl ChildOs for FakeChild {
    /// An untimed wait sleeps until the exit; a timed one models its timer firing at once.
    fn wait_exited(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let mut kernel = self.kernel.lock().unwrap();
        if timeout.is_none() {
            while !kernel.exited {
                kernel = self.changed.wait(kernel).unwrap();
            }
        }
        Ok(kernel.exited)
    }

    fn reap(&self) -> ExitStatus {
        let mut kernel = self.kernel.lock().unwrap();
        assert!(kernel.exited, "reaped a child that has not exited");
        assert!(!kernel.reaped, "the child was reaped twice");
        kernel.reaped = true;
        // SAFETY: a read loom checks: it races with a signaller's write unless that write
        // happens-before the reap (a model's child has at most one signaller in flight).
        let delivered = self.delivered.with(|count| unsafe { *count });
        assert_eq!(delivered, kernel.signals, "a signal the reap did not see");
        STATUS
    }

    fn send_signal(&self, _signal: i32) -> io::Result<()> {
        let mut kernel = self.kernel.lock().unwrap();
        assert!(
            !kernel.reaped,
            "a signal was sent after the child was reaped"
        );
        kernel.signals += 1;
        drop(kernel);
        // SAFETY: a write loom checks: each model has at most one signaller in flight, and
        // the reap reads the cell only once every signal in flight has finished.
        self.delivered.with_mut(|count| unsafe { *count += 1 });
        Ok(())
    }
}

/// A handle shared by the model's threads (std's `Arc`: loom would make every clone a
/// scheduling point without touching the lifecycle).
fn started_child() -> Arc<Lifecycle<FakeChild>> {
    Arc::new(Lifecycle::new(FakeChild::default()))
}

fn on_thread<R: 'static>(
    child: &Arc<Lifecycle<FakeChild>>,
    f: impl FnOnce(&Lifecycle<FakeChild>) -> R + 'static,
) -> thread::JoinHandle<R> {
    let child = Arc::clone(child);
    thread::spawn(move || f(&child))
}

#[test]
fn two_joiners_reap_once_and_see_one_status_exhaustive() {
    explore(
        Model {
            name: "lifecycle_two_joiners_reap_once_and_see_one_status",
            property: "two threads joining one child reap it exactly once, and both see the one published exit status",
            scenario: "2 threads join (untimed) while the fake kernel's child exits",
            bound: Bound::Exhaustive,
        },
        || {
            let child = started_child();
            let joiners: Vec<_> = (0..2)
                .map(|_| on_thread(&child, |child| child.join(None).unwrap()))
                .collect();
            child.os().exit();
            for joiner in joiners {
                assert_eq!(joiner.join().unwrap(), Some(STATUS));
            }
            assert_eq!(child.status(), Some(STATUS));
        },
    );
}

#[test]
fn join_poll_and_timed_join_race_the_exit_exhaustive() {
    explore(
        Model {
            name: "lifecycle_join_poll_and_timed_join_race_the_exit",
            property: "a poller sees alive with no status or the one status, never a mix; a timed join answers the status or nothing; the untimed join gets the status",
            scenario: "1 thread polls is_alive and status, then joins with a timeout; the main thread lets the child exit and joins",
            bound: Bound::Exhaustive,
        },
        || {
            let child = started_child();
            let poller = on_thread(&child, |child| {
                let alive = child.is_alive().unwrap();
                let status = child.status();
                // Alive and no status yet, or ended with the one status.
                assert!(alive == status.is_none(), "{alive} {status:?}");
                child.join(Some(Duration::from_secs(1))).unwrap()
            });
            child.os().exit();
            assert_eq!(child.join(None).unwrap(), Some(STATUS));
            let timed = poller.join().unwrap();
            assert!(timed.is_none() || timed == Some(STATUS), "{timed:?}");
        },
    );
}

#[test]
fn signals_racing_the_reap_are_never_sent_after_it_exhaustive() {
    explore(
        Model {
            name: "lifecycle_signals_racing_the_reap_are_never_sent_after_it",
            property: "a signal racing the reap is sent only while the child is unreaped, and a signal after the reap reports that nothing was sent",
            scenario: "1 thread signals while the main thread lets the child exit, joins, then signals again",
            bound: Bound::Exhaustive,
        },
        || {
            let child = started_child();
            let signaller = on_thread(&child, |child| child.send_signal(15).unwrap());
            child.os().exit();
            assert_eq!(child.join(None).unwrap(), Some(STATUS));
            let sent = signaller.join().unwrap();
            // Once reaped, a signal reports that nothing was sent.
            assert!(!child.send_signal(9).unwrap());
            let signals = child.os().kernel.lock().unwrap().signals;
            assert_eq!(signals, usize::from(sent));
        },
    );
}

#[test]
fn joiner_poller_and_signaller_at_once_bound_3() {
    explore(
        Model {
            name: "lifecycle_joiner_poller_and_signaller_at_once",
            property: "a joiner, a poller-and-signaller and a second joiner all see the one exit status, and the child is reaped once",
            scenario: "1 thread joins, 1 thread polls and signals, the main thread lets the child exit and joins",
            bound: Bound::Preemptions(3),
        },
        || {
            let child = started_child();
            let joiner = on_thread(&child, |child| child.join(None).unwrap());
            let poller = on_thread(&child, |child| {
                child.is_alive().unwrap();
                child.send_signal(2).unwrap();
                child.status()
            });
            child.os().exit();
            assert_eq!(child.join(None).unwrap(), Some(STATUS));
            assert_eq!(joiner.join().unwrap(), Some(STATUS));
            let seen = poller.join().unwrap();
            assert!(seen.is_none() || seen == Some(STATUS));
        },
    );
}
