//! Spawned children inside ordinary `#[test]`s: the harness owns `main`, and
//! `init_before_main!` registers the entry points before it runs.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: init_before_main!, Process under the test harness
//! - Proves: with one line at module level, children started by Spawn and ForkServer from a
//!   libtest `#[test]` run their entry points, with their exit codes and panic messages; Fork
//!   there is refused with a typed MultiThreaded error.
//! - Cannot prove: fixed scenarios, one test binary.

use spawn_core::{Entry, ExitStatus, Process, StartError, StartMethod, entry};

fn square_is(expected: (u64, u64)) -> i32 {
    let (n, square) = expected;
    i32::from(n * n != square)
}
const SQUARE_IS: Entry<(u64, u64)> = entry!(square_is);

fn fails(message: String) {
    panic!("{message}");
}
const FAILS: Entry<String> = entry!(fails);

spawn_core::init_before_main!(SQUARE_IS, FAILS);

#[test]
fn a_spawned_child_and_a_fork_server_worker_run_their_entry_points() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let right = Process::new(SQUARE_IS, (7, 49))
            .start_method(method)
            .start()
            .unwrap();
        let wrong = Process::new(SQUARE_IS, (7, 48))
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(right.join().unwrap(), ExitStatus::Exited(0), "{method:?}");
        assert_eq!(wrong.join().unwrap(), ExitStatus::Exited(1), "{method:?}");
    }
}

#[test]
fn a_childs_panic_reaches_the_test() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let child = Process::new(FAILS, "no luck".to_string())
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(child.join().unwrap(), ExitStatus::Exited(1), "{method:?}");
        assert_eq!(
            child.panic_message().as_deref(),
            Some("no luck"),
            "{method:?}"
        );
    }
}

#[test]
fn fork_is_refused_on_the_harness_thread_with_a_typed_error() {
    let refused = Process::new(SQUARE_IS, (1, 1))
        .start_method(StartMethod::Fork)
        .start();
    assert!(
        matches!(refused, Err(StartError::MultiThreaded { threads }) if threads >= 2),
        "{refused:?}"
    );
}
