//! Running one weakening: a scratch copy of the workspace with the one site edited, its
//! crate's loom targets built, and every test of them run by a pool of one worker per core,
//! the likeliest killers first, until one fails (the weakening is killed) or all pass (it
//! survived).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::checks::Build;
use crate::loom_pool;

/// The loom build of the scratch copy: its own target directory (its sources lie elsewhere),
/// under the workspace's `target`.
pub(super) const SWEEP_BUILD: Build = Build {
    rustflags: "--cfg loom",
    variable: None,
    target_dir: "target/verification/orderings/target",
};

/// How long one test may run before the weakening's verdict is "timed out" for it (a model
/// that loops stays within its bound: this only stops a build that went wrong).
const TEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A copy of the workspace's tracked files, where one site at a time is weakened.
pub(super) struct Scratch {
    /// The workspace the copy is made from.
    root: PathBuf,
    /// The copy's root.
    pub(super) copy: PathBuf,
}

impl Scratch {
    /// Makes (or brings up to date) the copy of every file git tracks under `root`,
    /// rewriting only the files that differ, so that cargo rebuilds no more than it must.
    pub(super) fn new(root: &Path) -> std::io::Result<Self> {
        let copy = root.join("target/verification/orderings/workspace");
        let listed = Command::new("git")
            .current_dir(root)
            .args(["ls-files", "-z"])
            .output()?;
        if !listed.status.success() {
            return Err(std::io::Error::other("git ls-files failed"));
        }
        for file in String::from_utf8_lossy(&listed.stdout).split('\0') {
            if file.is_empty() {
                continue;
            }
            let source = root.join(file);
            // A tracked file deleted in the working tree is not part of it.
            let Ok(bytes) = std::fs::read(&source) else {
                continue;
            };
            write_if_changed(&copy.join(file), &bytes)?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            copy,
        })
    }

    /// Puts `file` (relative to the workspace) in the copy as `text`.
    pub(super) fn put(&self, file: &str, text: &str) -> std::io::Result<()> {
        write_if_changed(&self.copy.join(file), text.as_bytes())
    }

    /// Puts `file` back as it is in the workspace.
    pub(super) fn restore(&self, file: &str) -> std::io::Result<()> {
        let bytes = std::fs::read(self.root.join(file))?;
        write_if_changed(&self.copy.join(file), &bytes)
    }
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
}

/// The loom targets of `krate` (a directory of the workspace): its unit tests and its
/// `tests/loom_*.rs`, as `cargo test` arguments.
pub(super) fn loom_targets(root: &Path, krate: &str) -> Vec<String> {
    let mut targets = vec!["-p".to_owned(), krate.to_owned(), "--lib".to_owned()];
    let mut tests: Vec<String> = std::fs::read_dir(root.join(krate).join("tests"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_suffix(".rs")?.to_owned()))
        .filter(|name| name.starts_with("loom_"))
        .collect();
    tests.sort();
    for test in tests {
        targets.push("--test".to_owned());
        targets.push(test);
    }
    targets
}

/// What the tests said of one weakening.
pub(super) enum Outcome {
    /// A test failed: its name and the first line of its failure.
    Failed { test: String, message: String },
    /// Every test passed.
    Passed { tests: usize },
    /// No test failed, and these ran out of time.
    TimedOut(Vec<String>),
}

/// One test of a built binary.
#[derive(Clone, Debug)]
pub(super) struct Test {
    binary: PathBuf,
    dir: PathBuf,
    pub(super) name: String,
}

/// A test binary of a build, with a digest of its bytes: a binary that a weakening leaves
/// byte for byte as it was runs as it ran, so only the changed ones need running.
#[derive(Clone, Debug)]
pub(super) struct Binary {
    pub(super) path: PathBuf,
    pub(super) digest: u64,
    pub(super) tests: Vec<Test>,
}

/// Builds `targets` in the scratch copy and lists each binary's tests; `Err` with the first
/// error if the build failed.
pub(super) fn build(scratch: &Scratch, targets: &[String]) -> Result<Vec<Binary>, String> {
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let built = loom_pool::build_in(&scratch.copy, &targets, SWEEP_BUILD, &scratch.root)?;
    let mut binaries = Vec::new();
    for loom_pool::Built {
        binary: path, dir, ..
    } in built
    {
        let bytes = code_of(&path)?;
        let tests = loom_pool::list(&path)
            .unwrap_or_default()
            .into_iter()
            .map(|name| Test {
                binary: path.clone(),
                dir: dir.clone(),
                name,
            })
            .collect();
        binaries.push(Binary {
            path,
            digest: digest(&bytes),
            tests,
        });
    }
    Ok(binaries)
}

/// The bytes of `binary` that decide what it does: the binary stripped of its symbols, its
/// debug information and its build id (which describe every function of the crate, the ones
/// the linker dropped too, so they change with any edit), or the whole binary where `strip`
/// cannot run.
fn code_of(binary: &Path) -> Result<Vec<u8>, String> {
    let stripped = binary.with_extension("stripped");
    let ran = Command::new("strip")
        .arg("--strip-all")
        // The build id is a hash of the whole linked file, debug information included.
        .arg("--remove-section=.note.gnu.build-id")
        .arg("-o")
        .arg(&stripped)
        .arg(binary)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let read = if ran.is_ok_and(|status| status.success()) {
        std::fs::read(&stripped)
    } else {
        std::fs::read(binary)
    };
    let _ = std::fs::remove_file(&stripped);
    read.map_err(|error| format!("{}: {error}", binary.display()))
}

/// A 64-bit FNV-1a digest: enough to tell a rebuilt binary from the one before it.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs `tests` (in that order) on one worker per core until one fails.
pub(super) fn run(tests: &[Test], bound: Option<usize>, logs: &Path) -> Outcome {
    let next = Mutex::new(0usize);
    let stop = AtomicBool::new(false);
    let failed = Mutex::new(None);
    let timed_out = Mutex::new(Vec::new());
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    let _ = std::fs::create_dir_all(logs);
    thread::scope(|scope| {
        for worker in 0..workers {
            let (next, stop, failed, timed_out) = (&next, &stop, &failed, &timed_out);
            let log = logs.join(format!("worker-{worker}.txt"));
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = {
                        let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                        *next += 1;
                        *next - 1
                    };
                    let Some(test) = tests.get(index) else { break };
                    match run_one(test, bound, &log, stop) {
                        TestRun::Passed | TestRun::Stopped => {}
                        TestRun::Failed(message) => {
                            stop.store(true, Ordering::Relaxed);
                            let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
                            failed.get_or_insert((test.name.clone(), message));
                        }
                        TestRun::TimedOut => timed_out
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(test.name.clone()),
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    let timed_out = timed_out.into_inner().unwrap_or_else(|p| p.into_inner());
    match failed {
        Some((test, message)) => Outcome::Failed { test, message },
        None if timed_out.is_empty() => Outcome::Passed { tests: tests.len() },
        None => Outcome::TimedOut(timed_out),
    }
}

enum TestRun {
    Passed,
    Failed(String),
    TimedOut,
    /// Another test failed first: this one was stopped.
    Stopped,
}

/// Runs one test, its output to `log`, until it ends, `stop` is set or it times out.
fn run_one(test: &Test, bound: Option<usize>, log: &Path, stop: &AtomicBool) -> TestRun {
    let spawned = (|| -> std::io::Result<Child> {
        let output = std::fs::File::create(log)?;
        let mut command = Command::new(&test.binary);
        command
            .current_dir(&test.dir)
            .args(["--exact", &test.name, "--nocapture", "--test-threads", "1"])
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output);
        if bound.is_some() {
            command.env(model_check::QUICK_VAR, "1");
        }
        command.spawn()
    })();
    let Ok(mut child) = spawned else {
        return TestRun::Failed("could not start the test binary".to_owned());
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return TestRun::Passed,
            Ok(Some(_)) => {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                return TestRun::Failed(failure_line(&text));
            }
            Ok(None) => {}
            Err(_) => return TestRun::Failed("could not wait for the test".to_owned()),
        }
        let over = started.elapsed() > TEST_TIMEOUT;
        if over || stop.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return if over {
                TestRun::TimedOut
            } else {
                TestRun::Stopped
            };
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The line of a failed test's output that says what failed: the model's verdict, or the
/// panic's message.
fn failure_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if let Some(line) = lines.iter().find(|l| l.contains(": FAILED at execution")) {
        return line.trim().to_owned();
    }
    if let Some(index) = lines.iter().position(|l| l.contains("panicked at")) {
        let message = lines.get(index + 1).copied().unwrap_or_default();
        return format!("{} {}", lines[index].trim(), message.trim());
    }
    lines
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or_else(String::new, |l| l.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_named_by_the_models_verdict_first() {
        let text = "running 1 test\nloom model m: FAILED at execution 7 (preemption bound 2, 0.1 s): Causality violation\n\
                    thread 'x' panicked at src/a.rs:1:2:\nCausality violation\n";
        assert!(failure_line(text).starts_with("loom model m: FAILED at execution 7"));
        let panic = "thread 'x' panicked at src/a.rs:1:2:\nexactly once\nnote: run with\n";
        assert_eq!(
            failure_line(panic),
            "thread 'x' panicked at src/a.rs:1:2: exactly once"
        );
    }

    #[test]
    fn a_crates_loom_targets_are_its_unit_tests_and_loom_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let targets = loom_targets(&root, "queue-core");
        assert_eq!(&targets[..3], ["-p", "queue-core", "--lib"]);
        assert!(
            targets
                .windows(2)
                .any(|pair| pair == ["--test", "loom_queue"])
        );
        assert_eq!(
            loom_targets(&root, "spawn-core"),
            ["-p", "spawn-core", "--lib"]
        );
    }
}
