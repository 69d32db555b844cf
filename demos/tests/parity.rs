//! Each demo against the chapter's listing run by CPython (`demos/python/`): the same lines,
//! each worker's lines in the same order, the same exit statuses.
//!
//! Where two workers print at once, the interleaving may differ from run to run and between
//! the two languages; those demos are compared as a multiset of lines, and each output must
//! split into each worker's countdown in order. Deterministic demos are compared line by
//! line. Process ids are replaced by `N`. A missing `python3` fails the test (it never skips).
//!
//! Run: `cargo test -p demos --test parity`. Not under `--cfg loom`: the demos run real
//! processes, which loom's atomics cannot serve outside a model.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: the chapter's listings
//! - Proves: each demo prints the same lines as the chapter's listing under CPython, each worker's
//!   lines in order, with the same exit codes; the pool demo's squares match under every start
//!   method, and where a worker is killed mid-map CPython's Pool hangs (its twin times out) while
//!   ours reports that task's dead worker and returns the nine other squares.
//! - Cannot prove: needs python3; interleavings compared per worker.

use std::collections::BTreeMap;
use std::process::Command;

/// Runs a program and returns its stdout lines, after checking that it exited with 0.
fn lines_of(mut command: Command, what: &str) -> Vec<String> {
    let output = command.output().unwrap_or_else(|error| {
        panic!("{what} could not be run ({error}); the parity tests need python3 on the PATH")
    });
    assert!(
        output.status.success(),
        "{what} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(normalise)
        .collect()
}

/// Replaces the number after `pid ` by `N`.
fn normalise(line: &str) -> String {
    match line.split_once("pid ") {
        Some((before, after)) => {
            let rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{before}pid N{rest}")
        }
        None => line.to_string(),
    }
}

fn rust_demo(name: &str) -> Vec<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demos"));
    command.arg(name);
    lines_of(command, &format!("the Rust demo {name}"))
}

fn python_listing(script: &str) -> Vec<String> {
    let mut command = Command::new("python3");
    command.arg(format!("{}/python/{script}", env!("CARGO_MANIFEST_DIR")));
    lines_of(command, &format!("python3 {script}"))
}

fn multiset(lines: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Checks that the `Count value` lines split into countdowns from each of `starts`, each in
/// order: every line continues one of the countdowns under way.
fn assert_countdowns_in_order(lines: &[String], starts: &[u32], who: &str) {
    let mut next: Vec<u32> = starts.to_vec();
    for line in lines {
        let Some(value) = line.strip_prefix("Count value ") else {
            continue;
        };
        let value: u32 = value.parse().expect("a count");
        let worker = next.iter().position(|&n| n == value).unwrap_or_else(|| {
            panic!("{who}: `{line}` continues no countdown (next expected: {next:?})")
        });
        next[worker] -= 1;
    }
    assert!(
        next.iter().all(|&n| n == 0),
        "{who}: unfinished countdowns {next:?}"
    );
}

fn assert_same_lines_and_order(demo: &str, script: &str, starts: &[u32]) {
    let (rust, python) = (rust_demo(demo), python_listing(script));
    assert_eq!(
        multiset(&rust),
        multiset(&python),
        "{demo}: the lines differ from CPython's"
    );
    assert_countdowns_in_order(&rust, starts, &format!("Rust {demo}"));
    assert_countdowns_in_order(&python, starts, &format!("CPython {script}"));
}

#[test]
fn processes_116_1_match_cpython() {
    assert_same_lines_and_order("processes", "s116_1_processes.py", &[10, 20]);
    assert_eq!(
        rust_demo("processes").last().map(String::as_str),
        Some("exit codes: 0 0")
    );
}

#[test]
fn start_methods_116_1_match_cpython() {
    assert_eq!(
        rust_demo("start-methods"),
        python_listing("s116_1_start_methods.py")
    );
}

#[test]
fn threads_116_2_match_cpython() {
    assert_same_lines_and_order("threads", "s116_2_threads.py", &[10, 20]);
}

/// Checks that each start method's `got` lines split into each worker's results in order
/// (1 to 5), and that both workers' exit codes follow them.
fn assert_results_in_order(lines: &[String], who: &str) {
    for method in ["spawn", "forkserver", "fork"] {
        let prefix = format!("{method}: ");
        let of_method: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect();
        for worker in ["worker-1", "worker-2"] {
            let got: Vec<u32> = of_method
                .iter()
                .filter_map(|line| line.strip_prefix(&format!("got {worker} ")))
                .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(got, [1, 2, 3, 4, 5], "{who}: {method} {worker}'s results");
        }
        assert_eq!(
            of_method[10..],
            ["worker-1 exit code 0", "worker-2 exit code 0"],
            "{who}: {method}"
        );
    }
}

#[test]
fn queue_116_3_matches_cpython() {
    let (rust, python) = (rust_demo("queue"), python_listing("s116_3_queue.py"));
    // Part 1, the helpers, is deterministic: line by line.
    assert_eq!(rust[..13], python[..13]);
    assert_eq!(
        rust[4], "put 4: false",
        "a full bounded queue refuses the put"
    );
    assert_eq!(rust[10], "got -1", "an empty queue gives the default");
    // Part 2, two workers per start method, interleaves: the same lines, each worker in order.
    assert_eq!(
        multiset(&rust),
        multiset(&python),
        "queue: the lines differ from CPython's"
    );
    assert_eq!(rust.len(), 13 + 3 * 12);
    assert_results_in_order(&rust[13..], "Rust queue");
    assert_results_in_order(&python[13..], "CPython s116_3_queue.py");
}

#[test]
fn pool_matches_cpython_until_a_worker_dies_where_cpython_hangs() {
    let (rust, python) = (rust_demo("pool"), python_listing("pool.py"));
    assert_eq!((rust.len(), python.len()), (9, 6), "{rust:?} {python:?}");
    for (at, method) in ["spawn", "forkserver", "fork"].into_iter().enumerate() {
        let squares = format!("{method}: squares [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
        assert_eq!((&rust[3 * at], &python[2 * at]), (&squares, &squares));
        // CPython's pool loses the dead worker's task and waits for it: its twin times out.
        assert_eq!(
            python[2 * at + 1],
            format!(
                "{method}: no answer after 2 s: the pool waits for the dead worker's task for ever"
            )
        );
        // Ours reports that task, and finishes the rest.
        assert_eq!(
            rust[3 * at + 1..3 * at + 3],
            [
                format!("{method}: task 5: its worker (pid N) killed by signal 9"),
                format!("{method}: the other squares [0, 1, 4, 9, 16, 36, 49, 64, 81]"),
            ]
        );
    }
}

#[test]
fn no_name_lists_the_demos_and_an_unknown_name_fails() {
    let listing = lines_of(Command::new(env!("CARGO_BIN_EXE_demos")), "the demo list");
    assert!(
        listing.iter().any(|line| line.contains("processes")),
        "{listing:?}"
    );
    let status = Command::new(env!("CARGO_BIN_EXE_demos"))
        .arg("nonsense")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn the_order_check_catches_a_broken_countdown() {
    let broken: Vec<String> = ["Count value 2", "Count value 2"]
        .map(String::from)
        .to_vec();
    let caught = std::panic::catch_unwind(|| assert_countdowns_in_order(&broken, &[2], "broken"));
    assert!(
        caught.is_err(),
        "two 2s from one countdown must fail the check"
    );
}
