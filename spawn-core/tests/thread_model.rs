//! Property test: arbitrary sequences of thread lifecycle operations, against a reference
//! model of Python's `threading.Thread` semantics (plus Rust's: `join` returns the value, or
//! the panic as an error value).
//!
//! Threads return a value, panic, or wait at a gate that the test opens later, so whether a
//! thread still runs is known: a gated thread runs until its gate opens. `join_timeout` on a
//! gated thread must time out and hand the handle back; `join` of a finished or released
//! thread must give its value or its panic; `is_alive` must be true while gated.
//!
//! Run: `cargo test -p spawn-core --test thread_model` (`PROPTEST_CASES` overrides 128).
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: Thread, ThreadHandle
//! - Proves: arbitrary sequences of start, is_alive, join_timeout and join on threads that return,
//!   panic or wait at a gate answer as the reference model says: a value or the panic's message, a
//!   timeout while gated.
//! - Cannot prove: sampled.

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use spawn_core::{Thread, ThreadHandle};

/// What a thread does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Return(u32),
    Panic,
    /// Waits until its gate opens, then returns this value.
    Gated(u32),
}

#[derive(Clone, Debug)]
enum Operation {
    Start(Target),
    Open(usize),
    IsAlive(usize),
    JoinTimeout(usize),
    Join(usize),
}

/// The model of one thread.
#[derive(Clone, Debug)]
struct Modelled {
    target: Target,
    open: bool,
    joined: bool,
}

impl Modelled {
    /// Whether it surely still runs: gated, gate closed.
    fn surely_running(&self) -> bool {
        matches!(self.target, Target::Gated(_)) && !self.open
    }
}

#[derive(Clone, Debug, Default)]
struct Model {
    threads: Vec<Modelled>,
}

const MAX_THREADS: usize = 4;

impl ReferenceStateMachine for Model {
    type State = Self;
    type Transition = Operation;

    fn init_state() -> BoxedStrategy<Self> {
        Just(Model::default()).boxed()
    }

    fn transitions(state: &Self) -> BoxedStrategy<Operation> {
        let target = prop_oneof![
            any::<u32>().prop_map(Target::Return),
            Just(Target::Panic),
            any::<u32>().prop_map(Target::Gated),
        ];
        let start = target.prop_map(Operation::Start);
        if state.threads.is_empty() {
            return start.boxed();
        }
        let thread = 0..MAX_THREADS;
        prop_oneof![
            1 => start,
            1 => thread.clone().prop_map(Operation::Open),
            2 => thread.clone().prop_map(Operation::IsAlive),
            2 => thread.clone().prop_map(Operation::JoinTimeout),
            2 => thread.prop_map(Operation::Join),
        ]
        .boxed()
    }

    fn preconditions(state: &Self, operation: &Operation) -> bool {
        let count = state.threads.len();
        let pick = |i: usize| &state.threads[i % count];
        match *operation {
            Operation::Start(_) => count < MAX_THREADS,
            Operation::Open(_) | Operation::IsAlive(_) | Operation::JoinTimeout(_) => count > 0,
            // A join would wait for a gate that nobody opens.
            Operation::Join(i) => count > 0 && !pick(i).joined && !pick(i).surely_running(),
        }
    }

    fn apply(mut state: Self, operation: &Operation) -> Self {
        let count = state.threads.len();
        match *operation {
            Operation::Start(target) => state.threads.push(Modelled {
                target,
                open: false,
                joined: false,
            }),
            Operation::Open(i) => state.threads[i % count].open = true,
            Operation::Join(i) => state.threads[i % count].joined = true,
            Operation::IsAlive(_) | Operation::JoinTimeout(_) => {}
        }
        state
    }
}

/// What a join gave: the value, or the panic's message.
type Joined = Result<u32, Option<String>>;

/// A started thread, its gate, and its handle until a join (timed or not) took its result.
struct Started {
    handle: Option<ThreadHandle<u32>>,
    joined: Option<Joined>,
    gate: mpsc::Sender<()>,
}

impl Started {
    /// Joins (or takes the result a timed join already got).
    fn join(&mut self) -> Joined {
        if let Some(joined) = self.joined.take() {
            return joined;
        }
        let handle = self.handle.take().expect("joined once");
        handle
            .join()
            .map_err(|panicked| panicked.message().map(String::from))
    }
}

struct ThreadsMatchModel;

impl StateMachineTest for ThreadsMatchModel {
    type SystemUnderTest = Vec<Started>;
    type Reference = Model;

    fn init_test(_: &Model) -> Vec<Started> {
        Vec::new()
    }

    fn apply(mut threads: Vec<Started>, model: &Model, operation: Operation) -> Vec<Started> {
        let count = threads.len().max(1);
        match operation {
            Operation::Start(target) => {
                let (gate, opened) = mpsc::channel::<()>();
                let handle = Thread::new(move || match target {
                    Target::Return(value) => value,
                    Target::Panic => std::panic::panic_any("the target panicked"),
                    Target::Gated(value) => {
                        // A closed channel (the test ended) opens the gate too.
                        let _ = opened.recv();
                        value
                    }
                })
                .daemon(true)
                .start()
                .expect("start");
                threads.push(Started {
                    handle: Some(handle),
                    joined: None,
                    gate,
                });
            }
            Operation::Open(i) => {
                let _ = threads[i % count].gate.send(());
            }
            Operation::IsAlive(i) => {
                let started = &threads[i % count];
                let alive = started.handle.as_ref().is_some_and(ThreadHandle::is_alive);
                if model.threads[i % count].surely_running() {
                    assert!(alive, "a thread waiting at its closed gate is not alive");
                }
                if started.handle.is_none() {
                    assert!(!alive, "a joined thread is alive");
                }
            }
            Operation::JoinTimeout(i) => {
                let started = &mut threads[i % count];
                let modelled = &model.threads[i % count];
                if let Some(handle) = started.handle.take() {
                    match handle.join_timeout(Duration::from_millis(10)) {
                        Ok(result) => {
                            assert!(!modelled.surely_running(), "a gated thread was joined");
                            let joined = result.map_err(|p| p.message().map(String::from));
                            check_result(modelled.target, &joined);
                            started.joined = Some(joined);
                        }
                        Err(handle) => {
                            assert!(handle.is_alive() || !modelled.surely_running());
                            started.handle = Some(handle);
                        }
                    }
                }
            }
            Operation::Join(i) => {
                let joined = threads[i % count].join();
                check_result(model.threads[i % count].target, &joined);
            }
        }
        threads
    }

    fn teardown(threads: Vec<Started>, _: Model) {
        for mut started in threads {
            let _ = started.gate.send(());
            if started.handle.is_some() {
                let _ = started.join();
            }
        }
    }
}

/// A join's result must be the target's value, or its panic with its message.
fn check_result(target: Target, joined: &Joined) {
    match (target, joined) {
        (Target::Return(expected) | Target::Gated(expected), Ok(value)) => {
            assert_eq!(*value, expected);
        }
        (Target::Panic, Err(message)) => {
            assert_eq!(message.as_deref(), Some("the target panicked"));
        }
        (target, joined) => panic!("{target:?} gave {joined:?}"),
    }
}

prop_state_machine! {
    #![proptest_config(model_check::property_config(
        "spawn-core thread_model::threads_match_the_model",
        "every answer of a sequence of 1 to 29 starts, is_alive, timed joins and joins on \
         threads that return, panic or wait at a gate is the one the reference model gives",
        128,
    ))]

    #[test]
    fn threads_match_the_model(sequential 1..30 => ThreadsMatchModel);
}
