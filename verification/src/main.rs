//! Runs every model check, property suite, process scenario and mutant of the workspace, and
//! writes the verification report: `target/verification/report.md` and `report.json`.
//!
//! `cargo run --release -p verification` (the README's main command) takes 15 to 20 minutes
//! on 2 cores (895 s and 1,205 s in the last two committed reports); `-- --quick` caps loom
//! at 2 preemptions and proptest at 16 cases, and says so in the report. Exits with 1 if any
//! check fails or any mutant survives.
//!
//! Every suite runs with `MODEL_CHECK_RESULTS` naming its records file (loom models and
//! proptest properties write one JSON line each, through `model-check`) and with one
//! `PROPTEST_RNG_SEED` for the whole run; each mutant also with `MODEL_CHECK_CHECKPOINTS`, so
//! that the report can name the execution that killed it and replay it.

mod checks;
mod outcome;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use checks::{Checker, MUTANTS, SUITES, Suite};
use report::{Header, MutantResult, Report, SuiteResult};

fn main() -> ExitCode {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let root = workspace_root();
    let out_dir = root.join("target/verification");
    if let Err(error) = std::fs::create_dir_all(&out_dir) {
        eprintln!("verification: cannot create {}: {error}", out_dir.display());
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    // One seed for every property of the run (`PROPTEST_RNG_SEED` repeats a run).
    let seed = model_check::proptest_seed();
    println!("proptest seed for this run: {seed} (PROPTEST_RNG_SEED)");
    let steps = SUITES.len() + MUTANTS.len();
    let mut suites = Vec::new();
    for (index, suite) in SUITES.iter().enumerate() {
        progress(index + 1, steps, suite.name, started);
        suites.push(run_suite(&root, &out_dir, suite, quick, seed));
    }
    let mut mutants = Vec::new();
    for (index, &(name, broken)) in MUTANTS.iter().enumerate() {
        progress(
            SUITES.len() + index + 1,
            steps,
            &format!("mutant {name}"),
            started,
        );
        mutants.push(run_mutant(&root, &out_dir, name, broken));
    }
    let report = Report {
        header: header(&root, quick, seed, started.elapsed().as_secs_f64()),
        suites,
        mutants,
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
            return ExitCode::FAILURE;
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
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

/// Runs one suite's `cargo test` and reads its verdicts and records.
fn run_suite(root: &Path, out_dir: &Path, suite: &Suite, quick: bool, seed: u64) -> SuiteResult {
    let records = out_dir.join(format!("{}.jsonl", suite.name.replace(' ', "-")));
    let _ = std::fs::remove_file(&records);
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(root)
        .args(["test", "--release"])
        .args(suite.args)
        .args(["--", "--nocapture", "--test-threads", "2"])
        .env("MODEL_CHECK_RESULTS", &records)
        .env("PROPTEST_RNG_SEED", seed.to_string());
    let mut shown = format!(
        "cargo test --release {} -- --nocapture",
        suite.args.join(" ")
    );
    if suite.checker == Checker::Loom {
        command
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", root.join("target/loom"));
        shown = format!("RUSTFLAGS=\"--cfg loom\" CARGO_TARGET_DIR=target/loom {shown}");
    }
    if quick {
        command
            .env("MODEL_CHECK_QUICK", "1")
            .env("PROPTEST_CASES", "16");
    }
    let mut result = SuiteResult::new(suite, shown);
    let started = Instant::now();
    let output = command.output();
    result.seconds = started.elapsed().as_secs_f64();
    let Ok(output) = output else {
        eprintln!("  could not run cargo");
        return result;
    };
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    result.tests = outcome::parse_verdicts(&text);
    if suite.checker != Checker::Scenario {
        match std::fs::read_to_string(&records).map(|t| outcome::parse_records(&t)) {
            Ok(Ok(read)) => {
                result.models = read.models;
                result.properties = read.properties;
            }
            Ok(Err(error)) => eprintln!("  {error}"),
            Err(_) => eprintln!("  no records were written"),
        }
    }
    result.passed = output.status.success()
        && !result.tests.is_empty()
        && result.tests.iter().all(|t| t.passed);
    let failed = result.tests.iter().filter(|t| !t.passed).count();
    println!(
        "  {} tests, {failed} failed, {:.1} s{}",
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
    if !result.passed && result.tests.is_empty() {
        // A build error, most likely: show its end.
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        for line in tail.into_iter().rev() {
            eprintln!("  | {line}");
        }
    }
    result
}

/// Runs `.ci/mutants NAME`, which must report the mutant killed, with its models' records
/// and checkpoints kept for the kill matrix.
fn run_mutant(root: &Path, out_dir: &Path, name: &str, broken: &str) -> MutantResult {
    let records = out_dir.join(format!("mutant-{name}.jsonl"));
    let _ = std::fs::remove_file(&records);
    let checkpoints = out_dir.join("checkpoints").join(name);
    let output = Command::new(root.join(".ci/mutants"))
        .current_dir(root)
        .arg(name)
        .env("MODEL_CHECK_RESULTS", &records)
        .env("MODEL_CHECK_CHECKPOINTS", &checkpoints)
        .output();
    let stdout = output
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let killed_by = outcome::parse_mutant_line(&stdout);
    println!(
        "  {}",
        killed_by
            .as_deref()
            .map_or("SURVIVED".to_string(), |how| format!("killed by {how}"))
    );
    let models = std::fs::read_to_string(&records)
        .map_err(|error| error.to_string())
        .and_then(|text| outcome::parse_records(&text))
        .map(|read| read.models)
        .unwrap_or_else(|error| {
            eprintln!("  no model records: {error}");
            Vec::new()
        });
    MutantResult {
        name: name.to_string(),
        broken: broken.to_string(),
        killed_by,
        command: outcome::parse_mutant_command(&stdout),
        checkpoints: format!("\"$PWD\"/target/verification/checkpoints/{name}"),
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
        crate_versions: format!("queue-core, spawn-core {}", env!("CARGO_PKG_VERSION")),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        quick,
        proptest_seed,
        total_seconds,
    }
}
