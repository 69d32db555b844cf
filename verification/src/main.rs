//! Runs every model check, property suite, process scenario and mutant of the workspace, and
//! writes the verification report: `target/verification/report.md` and `report.json`.
//!
//! `cargo run --release -p verification` (the README's main command) takes about 15 minutes
//! on 2 cores; `-- --quick` caps loom at 2 preemptions and proptest at 16 cases, and says so in
//! the report. Exits with 1 if any check fails or any mutant survives.

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
    let steps = SUITES.len() + MUTANTS.len();
    let mut suites = Vec::new();
    for (index, suite) in SUITES.iter().enumerate() {
        progress(index + 1, steps, suite.name, started);
        suites.push(run_suite(&root, &out_dir, suite, quick));
    }
    let mut mutants = Vec::new();
    for (index, &(name, broken)) in MUTANTS.iter().enumerate() {
        progress(
            SUITES.len() + index + 1,
            steps,
            &format!("mutant {name}"),
            started,
        );
        mutants.push(run_mutant(&root, name, broken));
    }
    let report = Report {
        header: header(&root, quick, started.elapsed().as_secs_f64()),
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

/// Runs one suite's `cargo test` and reads its verdicts and (for loom) its records.
fn run_suite(root: &Path, out_dir: &Path, suite: &Suite, quick: bool) -> SuiteResult {
    let records = out_dir.join(format!("{}.jsonl", suite.name.replace(' ', "-")));
    let _ = std::fs::remove_file(&records);
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(root)
        .args(["test", "--release"])
        .args(suite.args)
        .args(["--", "--nocapture", "--test-threads", "2"]);
    let mut shown = format!(
        "cargo test --release {} -- --nocapture",
        suite.args.join(" ")
    );
    if suite.checker == Checker::Loom {
        command
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", root.join("target/loom"))
            .env("MODEL_CHECK_RESULTS", &records);
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
    if suite.checker == Checker::Loom {
        match std::fs::read_to_string(&records).map(|t| outcome::parse_records(&t)) {
            Ok(Ok(models)) => result.models = models,
            Ok(Err(error)) => eprintln!("  {error}"),
            Err(_) => eprintln!("  no loom records were written"),
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
    if !result.passed && result.tests.is_empty() {
        // A build error, most likely: show its end.
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        for line in tail.into_iter().rev() {
            eprintln!("  | {line}");
        }
    }
    result
}

/// Runs `.ci/mutants NAME`, which must report the mutant killed.
fn run_mutant(root: &Path, name: &str, broken: &str) -> MutantResult {
    let output = Command::new(root.join(".ci/mutants"))
        .current_dir(root)
        .arg(name)
        .output();
    let killed_by = output
        .ok()
        .and_then(|o| outcome::parse_mutant_line(&String::from_utf8_lossy(&o.stdout)));
    println!(
        "  {}",
        killed_by
            .as_deref()
            .map_or("SURVIVED".to_string(), |how| format!("killed by {how}"))
    );
    MutantResult {
        name: name.to_string(),
        broken: broken.to_string(),
        killed_by,
    }
}

/// The report's header: commit, date, toolchain, versions, cores.
fn header(root: &Path, quick: bool, total_seconds: f64) -> Header {
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
        total_seconds,
    }
}
