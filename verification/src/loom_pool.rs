//! The loom step of `cargo test-all`: every loom model of the workspace run as one job each, by
//! a pool of one worker per core, the longest first.
//!
//! `cargo test` runs test binaries one after another, each with libtest's threads: while a
//! binary's longest model finished, a core stood idle and the next binary waited. Here every
//! test of every binary is a job of one pool, so both cores stay busy to the end. The order:
//! the jobs whose time the committed report does not tell first (a test that explores a
//! series of models, unit tests), then the others by the time their model took there, the
//! longest first, so that no long model starts last. Each test runs exactly as `cargo test`
//! would run it: the same binary, its package's directory, `--exact NAME`, one test thread.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use crate::checks::{Build, LOOM_BUILD};
use crate::command;

/// One job: a test of a test binary, or a binary run whole.
#[derive(Debug)]
struct Job {
    /// How long its model took in the committed report, in seconds, or infinity if the report
    /// does not tell: the pool's order, the largest first.
    hint: f64,
    what: JobKind,
}

#[derive(Debug)]
enum JobKind {
    /// Test `name` of the binary `binary`, run in `dir` (its package's directory).
    Model {
        binary: PathBuf,
        dir: PathBuf,
        name: String,
    },
    /// A test binary without libtest's harness (it lists no tests): run whole.
    Whole { binary: PathBuf, dir: PathBuf },
}

/// What the loom build compiles: every crate's unit tests (the models of its insides, and
/// the unit tests that run the same under loom) and every `tests/loom_*.rs`. The other test
/// files and the doc examples run real processes and threads, which loom's atomics cannot
/// serve outside a model: the loom run leaves them out as a whole, so none needs a gate.
pub(crate) const LOOM_TARGETS: [&str; 4] = ["--workspace", "--lib", "--test", "loom_*"];

/// Builds the loom targets in the loom build and runs every model; whether all passed.
pub(crate) fn run_all(root: &Path) -> bool {
    let started = Instant::now();
    let Some(binaries) = build(root) else {
        return false;
    };
    let hints = report_times(root);
    let mut jobs = Vec::new();
    for (binary, dir) in binaries {
        match list(&binary) {
            Some(names) => jobs.extend(names.into_iter().map(|name| Job {
                hint: hint(&hints, &name),
                what: JobKind::Model {
                    binary: binary.clone(),
                    dir: dir.clone(),
                    name,
                },
            })),
            None => jobs.push(Job {
                hint: f64::INFINITY,
                what: JobKind::Whole { binary, dir },
            }),
        }
    }
    // Stable: the jobs the report does not know keep the order cargo built them in.
    jobs.sort_by(|a, b| b.hint.total_cmp(&a.hint));
    let count = jobs.len();
    let failed = Mutex::new(Vec::new());
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    println!("{count} loom jobs on {workers} workers, the longest first");
    pool(jobs, |job| {
        if let Err(what) = run(&job) {
            failed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(what);
        }
    });
    let failed = failed
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    println!(
        "loom: {} passed, {} failed ({:.0} s)",
        count - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    for what in &failed {
        println!("  FAILED: {what}");
    }
    failed.is_empty()
}

/// A test binary a build made.
#[derive(Clone, Debug)]
pub(crate) struct Built {
    pub(crate) binary: PathBuf,
    /// Its package's directory, where `cargo test` runs it.
    pub(crate) dir: PathBuf,
    /// Its package's name.
    pub(crate) package: String,
    /// Its target's name: the crate's, for the unit tests (`lib`), or the test file's.
    pub(crate) target: String,
    pub(crate) lib: bool,
}

/// Runs `work` on each of `jobs`, in their order, on one worker thread per core.
pub(crate) fn pool<J: Send>(jobs: Vec<J>, work: impl Fn(J) + Sync) {
    let queue = Mutex::new(VecDeque::from(jobs));
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    // A worker that panicked while it held the lock left a queue still whole.
                    let next = queue
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .pop_front();
                    let Some(job) = next else { break };
                    work(job);
                }
            });
        }
    });
}

/// `cargo test --release --no-run` in the loom build; the test binaries it made, each with
/// its package's directory, or `None` if the build failed.
fn build(root: &Path) -> Option<Vec<(PathBuf, PathBuf)>> {
    let built = build_in(root, &LOOM_TARGETS, LOOM_BUILD, root).ok()?;
    Some(built.into_iter().map(|b| (b.binary, b.dir)).collect())
}

/// `cargo test --release --no-run TARGETS` in the workspace at `dir`, in `build` (its target
/// directory under `root`); the test binaries it made, each with its package's directory, or
/// the build's first error.
pub(crate) fn build_in(
    dir: &Path,
    targets: &[&str],
    build: Build,
    root: &Path,
) -> Result<Vec<Built>, String> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(dir)
        .args([
            "test",
            "--release",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(targets)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    build.apply(&mut cargo, root);
    let output = cargo.output().map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprint!("{stderr}");
        let first_error = stderr
            .lines()
            .find(|line| line.starts_with("error"))
            .unwrap_or("the build failed");
        return Err(first_error.to_owned());
    }
    let binaries = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["profile"]["test"] == true
        })
        .filter_map(|artifact| {
            let binary = PathBuf::from(artifact["executable"].as_str()?);
            let manifest = Path::new(artifact["manifest_path"].as_str()?);
            let target = &artifact["target"];
            // Every member's directory is named after its package (`suites` passes a
            // member's directory to `-p` on the same rule), so the manifest's directory
            // names it.
            let dir = manifest.parent()?.to_path_buf();
            Some(Built {
                binary,
                package: dir.file_name()?.to_str()?.to_owned(),
                dir,
                target: target["name"].as_str()?.to_owned(),
                lib: target["kind"]
                    .as_array()?
                    .iter()
                    .any(|kind| kind == "lib" || kind == "rlib"),
            })
        })
        .collect();
    Ok(binaries)
}

/// The tests `binary` holds, as libtest lists them; `None` for a binary without libtest's
/// harness (it prints no count).
pub(crate) fn list(binary: &Path) -> Option<Vec<String>> {
    let output = Command::new(binary).arg("--list").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !text.lines().any(|line| line.ends_with(" benchmarks")) {
        return None;
    }
    Some(
        text.lines()
            .filter_map(|line| line.strip_suffix(": test"))
            .map(str::to_owned)
            .collect(),
    )
}

/// The report's time of the model that test `test` explores: a model test is named after its
/// model, with its coverage after (`..._exhaustive`, `..._bound_4`). Infinity if none.
pub(crate) fn hint(times: &HashMap<String, f64>, test: &str) -> f64 {
    let short = test.rsplit("::").next().unwrap_or(test);
    times
        .iter()
        .filter(|(model, _)| {
            short
                .strip_prefix(model.as_str())
                .is_some_and(|rest| rest.starts_with('_'))
        })
        .max_by_key(|(model, _)| model.len())
        .map_or(f64::INFINITY, |(_, &seconds)| seconds)
}

/// Each model's time in the committed report (`verification/REPORT.md`), by name.
pub(crate) fn report_times(root: &Path) -> HashMap<String, f64> {
    let report = std::fs::read_to_string(root.join("verification/REPORT.md")).unwrap_or_default();
    report
        .lines()
        .filter_map(|line| {
            // | `name` | scenario | coverage | executions | 12.34 s | verdict |
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            let seconds = cells.get(cells.len().checked_sub(2)?)?.strip_suffix(" s")?;
            Some((name.to_owned(), seconds.parse().ok()?))
        })
        .collect()
}

/// Runs `job` with its progress shown as it comes; `Err` names it if it failed.
fn run(job: &Job) -> Result<(), String> {
    let started = Instant::now();
    let (mut command, what) = match &job.what {
        JobKind::Model { binary, dir, name } => {
            let mut command = Command::new(binary);
            command
                .current_dir(dir)
                .args(["--exact", name, "--nocapture", "--test-threads", "1"]);
            (command, name.clone())
        }
        JobKind::Whole { binary, dir } => {
            let mut command = Command::new(binary);
            command.current_dir(dir);
            (command, binary.display().to_string())
        }
    };
    let output = command::run_captured(&mut command).map_err(|error| format!("{what}: {error}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let results: Vec<&str> = output
        .text
        .lines()
        .filter(|line| line.starts_with("test result:"))
        .collect();
    if output.success {
        println!("{what}: ok ({seconds:.1} s)");
        for result in results {
            println!("{result}");
        }
        Ok(())
    } else {
        println!("{what}: FAILED ({seconds:.1} s)\n{}", output.text);
        Err(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_test_is_timed_by_its_model_in_the_report() {
        let times: HashMap<String, f64> = [
            ("two_producers_one_consumer_capacity_2", 627.0),
            ("two_producers_one_consumer_capacity_2_small", 13.4),
        ]
        .into_iter()
        .map(|(model, seconds)| (model.to_owned(), seconds))
        .collect();
        assert_eq!(
            hint(&times, "two_producers_one_consumer_capacity_2_bound_4"),
            627.0
        );
        assert_eq!(
            hint(
                &times,
                "tests::two_producers_one_consumer_capacity_2_small_exhaustive"
            ),
            13.4
        );
        assert_eq!(
            hint(&times, "a_participant_dies_at_any_step_of_close"),
            f64::INFINITY
        );
    }

    #[test]
    fn the_report_gives_each_model_its_time() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let times = report_times(&root);
        assert!(
            times.len() > 50,
            "{} models read from the report",
            times.len()
        );
        assert!(
            times
                .values()
                .all(|seconds| seconds.is_finite() && *seconds >= 0.0)
        );
    }
}
