//! Runs every model check, property suite, process scenario and mutant of the workspace.
//!
//! - `cargo run --release -p verification` (the README's main command) runs each suite with
//!   its records kept, and writes the verification report: `target/verification/report.md`
//!   and `report.json`. It took 11 minutes on 2 cores on 2026-12-07 (the report says how long
//!   it took); `-- --quick` caps loom at 2 preemptions and proptest at 16 cases, and says so in
//!   the report.
//! - `-- test` (`cargo test-all`, the one command that runs every test) runs `cargo test
//!   --workspace`, every crate's examples, the crash-recovery tests in the fault-injection
//!   build, every loom model, every mutant and each bench once, with their output passed
//!   through.
//! - `-- mutants [NAME...]` runs only the mutants (every one, or those named).
//! - `-- orderings [--full] [FILE...]` weakens each atomic ordering of the cores one step at
//!   a time and runs the loom models on it (see `orderings`); long, so run on its own.
//!
//! Each exits with 1 if any check fails or any mutant survives.
//!
//! Every suite runs with `MODEL_CHECK_RESULTS` naming its records file (loom models and
//! proptest properties write one JSON line each, through `model-check`) and with one
//! `PROPTEST_RNG_SEED` for the whole run; each mutant also with `MODEL_CHECK_CHECKPOINTS`, so
//! that the report can name the execution that killed it and replay it.

mod checks;
mod command;
mod doc_paths;
mod examples;
mod imports;
mod loom_pool;
mod loom_suites;
mod msrv;
mod mutants;
mod orderings;
mod outcome;
mod report;
mod suites;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use checks::{Checker, FAULTS_BUILD, LOOM_BUILD, SHUTTLE_BUILD};
use mutants::{MUTANTS, Mutant};
use report::{Header, MutantResult, Report, SuiteResult};
use suites::Suite;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passed = match args.first().map(String::as_str) {
        Some("test") => test_all(&workspace_root()),
        Some("mutants") => run_mutants(&workspace_root(), &args[1..]),
        Some("orderings") => orderings::run(&workspace_root(), &args[1..]),
        _ => write_report(args.iter().any(|arg| arg == "--quick")),
    };
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One step of [`test_all`]: runs, and says whether it passed.
type Step<'a> = Box<dyn FnOnce() -> bool + 'a>;

/// Every test of the workspace, output passed through: what `.ci/run` runs.
fn test_all(root: &Path) -> bool {
    let started = Instant::now();
    let cargo = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO"));
        command.current_dir(root).args(args);
        command
    };
    let mut tests = cargo(&["test", "--workspace"]);
    // Debug and release builds differ in what an overflow or a `debug_assert!` does: the
    // hostile-peer tests run in both.
    let mut hostile = cargo(&[
        "test",
        "--release",
        "-p",
        "queue-core",
        "--test",
        "hostile_peer",
    ]);
    let mut faults = cargo(&[
        "test",
        "--release",
        "-p",
        "queue-core",
        "-p",
        "process-pool",
        "--test",
        "crash_recovery",
        "--test",
        "crash_points",
    ]);
    FAULTS_BUILD.apply(&mut faults, root);
    let mut shuttle = cargo(&[
        "test",
        "--release",
        "-p",
        "queue-core",
        "--test",
        "shuttle_queue",
    ]);
    SHUTTLE_BUILD.apply(&mut shuttle, root);
    let mut benches = cargo(&["test", "--workspace", "--benches"]);
    let steps: [(&str, Step<'_>); 8] = [
        (
            "unit, behaviour, property and doc tests",
            Box::new(move || command::run_through(&mut tests)),
        ),
        (
            "the examples run, each to its end",
            Box::new(|| examples::run_all(root)),
        ),
        (
            "the hostile-peer tests again, in a release build",
            Box::new(move || command::run_through(&mut hostile)),
        ),
        (
            "processes killed at every crash point: the queue's and the pool workers' (the fault-injection build)",
            Box::new(move || command::run_through(&mut faults)),
        ),
        (
            "loom models (release, their own target directory, one job per model on every core)",
            Box::new(|| loom_pool::run_all(root)),
        ),
        (
            "randomized schedules with shuttle (release, target/shuttle): scenarios too large for loom",
            Box::new(move || command::run_through(&mut shuttle)),
        ),
        (
            "mutants: each must be caught",
            Box::new(|| run_mutants(root, &[])),
        ),
        (
            "benches compile and run once",
            Box::new(move || command::run_through(&mut benches)),
        ),
    ];
    let mut failed = Vec::new();
    for (what, step) in steps {
        println!(
            "\n== {what} ({:.0} s elapsed)",
            started.elapsed().as_secs_f64()
        );
        if !step() {
            failed.push(what);
        }
    }
    println!("\n== {:.0} s in all", started.elapsed().as_secs_f64());
    if failed.is_empty() {
        println!("every test passed and every mutant was caught");
        true
    } else {
        println!("FAILED: {}", failed.join("; "));
        false
    }
}

/// Runs the mutants named (every one if none is), each of which must be caught.
fn run_mutants(root: &Path, names: &[String]) -> bool {
    let unknown: Vec<&String> = names
        .iter()
        .filter(|name| !MUTANTS.iter().any(|m| m.name == name.as_str()))
        .collect();
    if !unknown.is_empty() {
        eprintln!("verification: no such mutant: {unknown:?}");
        return false;
    }
    let out_dir = root.join("target/verification");
    let _ = std::fs::create_dir_all(&out_dir);
    let mut survivors = 0;
    for mutant in MUTANTS
        .iter()
        .filter(|m| names.is_empty() || names.iter().any(|name| name == m.name))
    {
        println!("- mutant {}", mutant.name);
        let result = run_mutant(&out_dir, root, mutant, false);
        if result.killed_by.is_none() {
            survivors += 1;
        }
    }
    survivors == 0
}

/// The main job: every suite and mutant, with their records, and the report.
fn write_report(quick: bool) -> bool {
    let root = workspace_root();
    let out_dir = root.join("target/verification");
    if let Err(error) = std::fs::create_dir_all(&out_dir) {
        eprintln!("verification: cannot create {}: {error}", out_dir.display());
        return false;
    }
    let started = Instant::now();
    // One seed for every property of the run (`PROPTEST_RNG_SEED` repeats a run).
    let seed = model_check::proptest_seed();
    println!("proptest seed for this run: {seed} (PROPTEST_RNG_SEED)");
    let declared = match suites::discover(&root) {
        Ok(declared) => declared,
        Err(error) => {
            eprintln!("verification: a suite's declaration: {error}");
            return false;
        }
    };
    let steps = declared.len() + MUTANTS.len();
    // The loom suites first, their models pooled on every core; then the others in turn.
    let loom: Vec<&Suite> = declared
        .iter()
        .filter(|suite| suite.checker == Checker::Loom)
        .collect();
    progress(loom.len(), steps, "the loom suites, pooled", started);
    let records: Vec<PathBuf> = loom
        .iter()
        .map(|suite| fresh_records(&out_dir, suite))
        .collect();
    let shown: Vec<String> = loom
        .iter()
        .map(|suite| suite_command(suite, quick).1)
        .collect();
    let mut suites = loom_suites::run(&root, &loom, &records, &shown, quick, seed);
    for suite in &suites {
        print_verdict(suite);
    }
    for (index, suite) in declared.iter().enumerate() {
        if suite.checker == Checker::Loom {
            continue;
        }
        progress(index + 1, steps, &suite.name, started);
        suites.push(run_suite(&root, &out_dir, suite, quick, seed));
    }
    let mut mutants = Vec::new();
    for (index, mutant) in MUTANTS.iter().enumerate() {
        progress(
            declared.len() + index + 1,
            steps,
            &format!("mutant {}", mutant.name),
            started,
        );
        mutants.push(run_mutant(&out_dir, &root, mutant, true));
    }
    let report = Report {
        header: header(&root, quick, seed, started.elapsed().as_secs_f64()),
        suites,
        mutants,
        orderings: orderings::view(&root),
    };
    let written = std::fs::write(out_dir.join("report.md"), report.markdown()).and_then(|()| {
        let json = serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?;
        std::fs::write(out_dir.join("report.json"), json)
    });
    println!("\n{}", report.summary());
    match written {
        Ok(()) => println!("report: {}/report.md (and report.json)", out_dir.display()),
        Err(error) => {
            eprintln!("verification: cannot write the report: {error}");
            return false;
        }
    }
    report.passed()
}

/// The workspace's root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the verification crate sits in the workspace")
        .to_path_buf()
}

fn progress(step: usize, steps: usize, what: &str, started: Instant) {
    println!(
        "[{step}/{steps}] {what} ({:.0} s elapsed)",
        started.elapsed().as_secs_f64()
    );
}

/// The records file of `suite`, emptied.
fn fresh_records(out_dir: &Path, suite: &Suite) -> PathBuf {
    let records = out_dir.join(format!("{}.jsonl", suite.name.replace([' ', ':'], "-")));
    let _ = std::fs::remove_file(&records);
    records
}

/// `suite`'s `cargo test` command (with its build's variables, not yet its records' and
/// seed's), and the same as a reader types it.
fn suite_command(suite: &Suite, quick: bool) -> (Command, String) {
    let mut command = Command::new(env!("CARGO"));
    command.args(["test", "--release"]).args(&suite.args).args([
        "--",
        "--nocapture",
        "--test-threads",
        "2",
    ]);
    let mut shown = format!(
        "cargo test --release {} -- --nocapture",
        suite.args.join(" ")
    );
    let build = match suite.checker {
        Checker::Loom => Some(LOOM_BUILD),
        Checker::Shuttle => Some(SHUTTLE_BUILD),
        Checker::Faults => Some(FAULTS_BUILD),
        Checker::Proptest | Checker::Scenario => None,
    };
    if let Some(build) = build {
        build.apply(&mut command, &workspace_root());
        shown = format!("{} {shown}", build.shown()).trim_start().to_owned();
    }
    if quick {
        command
            .env("MODEL_CHECK_QUICK", "1")
            .env("PROPTEST_CASES", "16");
    }
    (command, shown)
}

/// Runs one suite's `cargo test` and reads its verdicts and records.
fn run_suite(root: &Path, out_dir: &Path, suite: &Suite, quick: bool, seed: u64) -> SuiteResult {
    let records = fresh_records(out_dir, suite);
    let (mut command, shown) = suite_command(suite, quick);
    command
        .current_dir(root)
        .env("MODEL_CHECK_RESULTS", &records)
        .env("PROPTEST_RNG_SEED", seed.to_string());
    let mut result = SuiteResult::new(suite, shown);
    let started = Instant::now();
    let output = command::run_captured(&mut command);
    result.seconds = started.elapsed().as_secs_f64();
    let Ok(output) = output else {
        eprintln!("  could not run cargo");
        return result;
    };
    finish_suite(&mut result, suite, &records, output.success, &output.text);
    print_verdict(&result);
    result
}

/// Fills `result` from what the suite's tests printed (`text`) and its records file.
fn finish_suite(
    result: &mut SuiteResult,
    suite: &Suite,
    records: &Path,
    success: bool,
    text: &str,
) {
    result.tests = outcome::parse_verdicts(text);
    result.figures = outcome::parse_figures(text);
    if matches!(suite.checker, Checker::Loom | Checker::Proptest) {
        match std::fs::read_to_string(records).map(|t| outcome::parse_records(&t)) {
            Ok(Ok(read)) => {
                result.models = read.models;
                result.properties = read.properties;
            }
            Ok(Err(error)) => eprintln!("  {error}"),
            Err(_) => eprintln!("  no records were written"),
        }
    }
    result.passed = success && !result.tests.is_empty() && result.tests.iter().all(|t| t.passed);
    if !result.passed && result.tests.is_empty() {
        // A build error, most likely: show its end.
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        for line in tail.into_iter().rev() {
            eprintln!("  | {line}");
        }
    }
}

/// Prints a suite's verdict, and each failed test's message.
fn print_verdict(result: &SuiteResult) {
    let failed = result.tests.iter().filter(|t| !t.passed).count();
    println!(
        "  {}: {} tests, {failed} failed, {:.1} s{}",
        result.name,
        result.tests.len(),
        result.seconds,
        if result.passed { "" } else { ": FAILED" }
    );
    for test in result.tests.iter().filter(|t| !t.passed) {
        println!(
            "  - {} failed: {}",
            test.test,
            test.failure_summary().unwrap_or("(no message)")
        );
    }
}

/// Runs one mutant's models, which must catch it; with `checkpoints`, keeps loom's
/// checkpoints of the failing executions for the report's kill matrix. Prints the verdict.
fn run_mutant(out_dir: &Path, root: &Path, mutant: &Mutant, checkpoints: bool) -> MutantResult {
    let records = out_dir.join(format!("mutant-{}.jsonl", mutant.name));
    let _ = std::fs::remove_file(&records);
    let checkpoint_dir = out_dir.join("checkpoints").join(mutant.name);
    let mut command = mutant.command(root, &records);
    if checkpoints {
        command.env(model_check::CHECKPOINTS_VAR, &checkpoint_dir);
    }
    let mut text = String::new();
    let succeeded = match command::run_captured(&mut command) {
        Ok(output) => {
            if output.success || outcome::parse_verdicts(&output.text).is_empty() {
                // Survived, or never ran (a build error): show the end of its output.
                for line in output
                    .text
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    eprintln!("  | {line}");
                }
            }
            text = output.text;
            output.success
        }
        Err(error) => {
            eprintln!("  could not run cargo: {error}");
            true
        }
    };
    let models = if mutant.loom {
        std::fs::read_to_string(&records)
            .map_err(|error| error.to_string())
            .and_then(|text| outcome::parse_records(&text))
            .map(|read| read.models)
            .unwrap_or_else(|error| {
                eprintln!("  no model records: {error}");
                Vec::new()
            })
    } else {
        Vec::new()
    };
    let killed_by = mutant.verdict(succeeded, &models, &text);
    match &killed_by {
        Some(how) => println!("  killed by {how}\n  command: {}", mutant.command_line()),
        None => println!("  SURVIVED (or did not run): {}", mutant.command_line()),
    }
    MutantResult {
        name: mutant.name.to_string(),
        broken: mutant.broken.to_string(),
        killed_by,
        command: Some(mutant.command_line()),
        checkpoints: format!("\"$PWD\"/target/verification/checkpoints/{}", mutant.name),
        models,
    }
}

/// The report's header: commit, date, toolchain, versions, cores.
fn header(root: &Path, quick: bool, proptest_seed: u64, total_seconds: f64) -> Header {
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".to_string())
    };
    Header {
        commit: run("git", &["rev-parse", "--short", "HEAD"]),
        date: run("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        toolchain: run("rustc", &["--version"]),
        crate_versions: format!(
            "queue-core, spawn-core, process-pool {}",
            env!("CARGO_PKG_VERSION")
        ),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        quick,
        proptest_seed,
        total_seconds,
    }
}
