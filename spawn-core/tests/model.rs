//! Property test: arbitrary sequences of lifecycle operations on real processes, against a
//! reference model of Python's `Process` semantics.
//!
//! A proptest-state-machine test starts up to three children (with any start method, and
//! targets that return, exit with a code, panic, run "forever", ignore SIGTERM, or leave a
//! grandchild behind),
//! then applies `join`, `join_timeout`, `is_alive`, `exitcode`, `terminate` and `kill` to them
//! in any order. Timing makes some answers open (is a child that returns at once still alive?),
//! so the model says which answers are allowed: the set of statuses each child may end with,
//! and whether it can still be running. The test checks each answer against that and against
//! what it saw before (an ended child stays ended, with one status). Failures shrink to a
//! minimal sequence.
//!
//! `harness = false`: the fork start method needs a single-threaded parent, and spawned
//! children are this binary run again, dispatched by `spawn_core::init`.
//!
//! Run: `cargo test -p spawn-core --test model` (`PROPTEST_CASES` overrides 256).
//!
//! # Verification
//!
//! - Checker: proptest
//! - Primitive: Process, ProcessHandle
//! - Proves: arbitrary sequences of start, join, join_timeout, is_alive, exitcode, terminate and
//!   kill on real processes (all start methods) answer as the reference model of Python's semantics
//!   allows.
//! - Cannot prove: sampled; timing-dependent answers are checked against the set the model allows.
fn main() {
    semantics::main();
}
mod semantics {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use proptest::prelude::*;
    use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
    use spawn_core::{Entry, ExitStatus, Process, ProcessHandle, StartMethod, entry};

    /// What a child does.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Target {
        /// Returns at once: exit code 0.
        Return,
        /// Exits at once with this code.
        ExitCode(i32),
        /// Panics at once: exit code 1.
        Panic,
        /// Sleeps a minute: ends only by a signal within a test case.
        Forever,
        /// Ignores SIGTERM, then sleeps a minute: only SIGKILL surely ends it (a SIGTERM that
        /// arrives before it ignores the signal still kills it).
        IgnoreSigterm,
        /// Starts a grandchild that sleeps, then returns at once.
        Grandchild,
    }

    fn run(target: Target) -> i32 {
        match target {
            Target::Return => 0,
            Target::ExitCode(code) => code,
            Target::Panic => {
                // Keep the test's output readable: the hook would print the message.
                std::panic::set_hook(Box::new(|_| {}));
                panic!("the target panicked")
            }
            Target::Forever => {
                std::thread::sleep(Duration::from_secs(60));
                0
            }
            Target::IgnoreSigterm => {
                // SAFETY: setting a signal's disposition to "ignore" runs no handler code.
                unsafe {
                    nix::sys::signal::signal(
                        nix::sys::signal::SIGTERM,
                        nix::sys::signal::SigHandler::SigIgn,
                    )
                }
                .expect("ignore SIGTERM");
                std::thread::sleep(Duration::from_secs(60));
                0
            }
            Target::Grandchild => {
                let grandchild = std::process::Command::new("sleep").arg("2").spawn();
                i32::from(grandchild.is_err())
            }
        }
    }

    fn run_entry(target: (u8, i32)) -> i32 {
        run(decode(target))
    }

    fn encode(target: Target) -> (u8, i32) {
        match target {
            Target::Return => (0, 0),
            Target::ExitCode(code) => (1, code),
            Target::Panic => (2, 0),
            Target::Forever => (3, 0),
            Target::Grandchild => (4, 0),
            Target::IgnoreSigterm => (5, 0),
        }
    }

    fn decode((kind, code): (u8, i32)) -> Target {
        match kind {
            0 => Target::Return,
            1 => Target::ExitCode(code),
            2 => Target::Panic,
            3 => Target::Forever,
            5 => Target::IgnoreSigterm,
            _ => Target::Grandchild,
        }
    }

    const RUN: Entry<(u8, i32)> = entry!(run_entry);

    /// One operation; `usize` picks a started child (modulo how many there are).
    #[derive(Clone, Debug)]
    pub(super) enum Operation {
        Start(Target, StartMethod),
        Join(usize),
        JoinTimeout(usize),
        IsAlive(usize),
        Exitcode(usize),
        Terminate(usize),
        Kill(usize),
    }

    /// What the model allows of one child.
    #[derive(Clone, Debug)]
    pub(super) struct Allowed {
        target: Target,
        /// The statuses it may end with.
        statuses: BTreeSet<Status>,
        /// Whether it must still be running (a `Forever` or `IgnoreSigterm` child not yet
        /// signalled).
        surely_running: bool,
        /// Whether it may still run for a minute, so that a join could take that long.
        may_run_on: bool,
    }

    /// `ExitStatus` made orderable for the model's sets.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub(super) enum Status {
        Exited(i32),
        Signaled(i32),
    }

    impl From<ExitStatus> for Status {
        fn from(status: ExitStatus) -> Self {
            match status {
                ExitStatus::Exited(code) => Self::Exited(code),
                ExitStatus::Signaled(signal) => Self::Signaled(signal),
                other => panic!("the model has no status {other:?}"),
            }
        }
    }

    impl Allowed {
        fn new(target: Target) -> Self {
            let status = match target {
                Target::Return | Target::Grandchild => Some(Status::Exited(0)),
                Target::ExitCode(code) => Some(Status::Exited(code)),
                Target::Panic => Some(Status::Exited(1)),
                Target::Forever | Target::IgnoreSigterm => None,
            };
            let long = matches!(target, Target::Forever | Target::IgnoreSigterm);
            Self {
                target,
                statuses: status.into_iter().collect(),
                surely_running: long,
                may_run_on: long,
            }
        }

        /// Signal `signal` is sent. Any signal sent before the child was seen to end may be
        /// the one that ends it (a SIGKILL can overtake a pending SIGTERM), except a SIGTERM
        /// that an `IgnoreSigterm` child ignores, which may leave it running on.
        fn signalled(&mut self, signal: i32) {
            if self.surely_running {
                // It was running, so a signal ends it: no other status remains possible.
                self.statuses.clear();
            }
            self.statuses.insert(Status::Signaled(signal));
            self.surely_running = false;
            if !(self.target == Target::IgnoreSigterm && signal == 15) {
                self.may_run_on = false;
            }
        }
    }

    #[derive(Clone, Debug, Default)]
    pub(super) struct Model {
        children: Vec<Allowed>,
    }

    const MAX_CHILDREN: usize = 3;

    impl ReferenceStateMachine for Model {
        type State = Self;
        type Transition = Operation;

        fn init_state() -> BoxedStrategy<Self> {
            Just(Model::default()).boxed()
        }

        fn transitions(state: &Self) -> BoxedStrategy<Operation> {
            let target = prop_oneof![
                Just(Target::Return),
                (0i32..=255).prop_map(Target::ExitCode),
                Just(Target::Panic),
                Just(Target::Forever),
                Just(Target::IgnoreSigterm),
                Just(Target::Grandchild),
            ];
            let method = prop_oneof![
                Just(StartMethod::Fork),
                Just(StartMethod::Spawn),
                Just(StartMethod::ForkServer),
            ];
            let start = (target, method).prop_map(|(t, m)| Operation::Start(t, m));
            if state.children.is_empty() {
                return start.boxed();
            }
            let child = 0..MAX_CHILDREN;
            prop_oneof![
                1 => start,
                2 => child.clone().prop_map(Operation::Join),
                2 => child.clone().prop_map(Operation::JoinTimeout),
                2 => child.clone().prop_map(Operation::IsAlive),
                2 => child.clone().prop_map(Operation::Exitcode),
                1 => child.clone().prop_map(Operation::Terminate),
                1 => child.prop_map(Operation::Kill),
            ]
            .boxed()
        }

        fn preconditions(state: &Self, operation: &Operation) -> bool {
            let count = state.children.len();
            match *operation {
                Operation::Start(..) => count < MAX_CHILDREN,
                // An untimed join of a child that may run on would take a minute.
                Operation::Join(i) => count > 0 && !state.children[i % count].may_run_on,
                _ => count > 0,
            }
        }

        fn apply(mut state: Self, operation: &Operation) -> Self {
            let count = state.children.len();
            match *operation {
                Operation::Start(target, _) => state.children.push(Allowed::new(target)),
                Operation::Terminate(i) => state.children[i % count].signalled(15),
                Operation::Kill(i) => state.children[i % count].signalled(9),
                // Observations: what they may answer is checked against the model, and what
                // they did answer is remembered by the test (`Seen`).
                Operation::Join(_)
                | Operation::JoinTimeout(_)
                | Operation::IsAlive(_)
                | Operation::Exitcode(_) => {}
            }
            state
        }
    }

    /// What the test has seen of one child.
    struct Seen {
        handle: ProcessHandle,
        /// Whether it was seen ended (`is_alive` false or a status).
        ended: bool,
        /// The status it was seen to end with.
        status: Option<Status>,
    }

    impl Seen {
        /// Records a status answer, which must be allowed and the same as any seen before.
        fn ended_with(&mut self, status: Status, allowed: &Allowed) {
            assert!(
                allowed.statuses.contains(&status),
                "{status:?} is not among the allowed {:?}",
                allowed.statuses
            );
            assert!(
                self.status.is_none_or(|seen| seen == status),
                "ended with {status:?} after {:?}",
                self.status
            );
            self.status = Some(status);
            self.ended = true;
        }

        /// Records a "still running" answer, which must be possible.
        fn running(&self) {
            assert!(!self.ended, "seen running after it ended");
        }
    }

    struct ProcessesMatchModel;

    impl StateMachineTest for ProcessesMatchModel {
        type SystemUnderTest = Vec<Seen>;
        type Reference = Model;

        fn init_test(_: &Model) -> Vec<Seen> {
            Vec::new()
        }

        fn apply(mut children: Vec<Seen>, model: &Model, operation: Operation) -> Vec<Seen> {
            let count = children.len().max(1);
            match operation {
                Operation::Start(target, method) => {
                    let handle = Process::new(RUN, encode(target))
                        .start_method(method)
                        .daemon(true)
                        .start()
                        .expect("start");
                    children.push(Seen {
                        handle,
                        ended: false,
                        status: None,
                    });
                }
                Operation::Join(i) => {
                    let (seen, allowed) = (&mut children[i % count], &model.children[i % count]);
                    assert!(
                        !allowed.surely_running,
                        "the model never joins a child that runs forever"
                    );
                    let status = seen.handle.join().expect("join");
                    seen.ended_with(status.into(), allowed);
                }
                Operation::JoinTimeout(i) => {
                    let (seen, allowed) = (&mut children[i % count], &model.children[i % count]);
                    match seen
                        .handle
                        .join_timeout(Duration::from_millis(20))
                        .expect("join")
                    {
                        Some(status) => seen.ended_with(status.into(), allowed),
                        None => seen.running(),
                    }
                }
                Operation::IsAlive(i) => {
                    let (seen, allowed) = (&mut children[i % count], &model.children[i % count]);
                    if seen.handle.is_alive().expect("is_alive") {
                        seen.running();
                    } else {
                        assert!(
                            !allowed.surely_running,
                            "a child that runs forever was not alive"
                        );
                        let status = seen.handle.exit_status().expect("ended, so a status");
                        seen.ended_with(status.into(), allowed);
                    }
                }
                Operation::Exitcode(i) => {
                    let (seen, allowed) = (&mut children[i % count], &model.children[i % count]);
                    match seen.handle.exitcode() {
                        Some(code) => {
                            let status = seen.handle.exit_status().expect("a code, so a status");
                            assert_eq!(status.exitcode(), Some(code));
                            seen.ended_with(status.into(), allowed);
                        }
                        None => {
                            seen.running();
                            assert!(
                                seen.handle.is_alive().expect("is_alive")
                                    || seen.handle.exit_status().is_some()
                            );
                        }
                    }
                }
                Operation::Terminate(i) => {
                    children[i % count].handle.terminate().expect("terminate")
                }
                Operation::Kill(i) => children[i % count].handle.kill().expect("kill"),
            }
            children
        }

        fn check_invariants(children: &Vec<Seen>, model: &Model) {
            for (seen, allowed) in children.iter().zip(&model.children) {
                if allowed.surely_running {
                    assert!(!seen.ended, "a child that runs forever ended unsignalled");
                }
            }
        }

        fn teardown(children: Vec<Seen>, _: Model) {
            // Kill what still runs (a child ignoring SIGTERM would make the daemon drop wait
            // its grace period); dropping each handle then reaps it.
            for seen in &children {
                seen.handle.kill().expect("kill");
            }
            drop(children);
        }
    }

    prop_state_machine! {
        #![proptest_config(model_check::property_config(
            "spawn-core model::processes_match_the_model",
            "every answer of a sequence of 1 to 23 starts, joins, timed joins, is_alive, \
             exitcode, terminate and kill calls on real processes, under every start method, \
             is one the reference model of Python's semantics allows",
            256,
        ))]

        fn processes_match_the_model(sequential 1..24 => ProcessesMatchModel);
    }

    pub(super) fn main() {
        spawn_core::init(&[&RUN]);
        model_check::run_on_main_thread(&[(
            "processes_match_the_model",
            processes_match_the_model,
        )]);
    }
}
