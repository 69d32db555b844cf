//! The main job's loom suites, run as one pool of jobs (see `loom_pool`): built once, every
//! model of every suite a job of its own, the longest first, on one worker per core; then
//! each suite's verdicts and records gathered as if its own `cargo test` had run them.
//!
//! Run suite by suite (`cargo test` with two test threads per suite), the loom suites took 32
//! of the job's 38 minutes; pooled, each model in a process of its own, the whole job took
//! 11 (the same executions: one model of 2.2 million executions took 728 s beside another in
//! one process, and 131 s alone in its own).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use crate::checks::LOOM_BUILD;
use crate::command;
use crate::loom_pool::{self, Built, LOOM_TARGETS};
use crate::report::SuiteResult;
use crate::suites::Suite;

/// One model (a test) of a suite.
struct Job {
    suite: usize,
    binary: PathBuf,
    dir: PathBuf,
    name: String,
    hint: f64,
}

/// What a suite's jobs printed, and how long they took, summed.
#[derive(Default)]
struct Gathered {
    text: String,
    success: bool,
    seconds: f64,
}

/// Runs every model of the loom `suites` and returns each suite's result, in their order.
/// `records` names each suite's records file; `shown` its command as a reader types it.
pub(crate) fn run(
    root: &Path,
    suites: &[&Suite],
    records: &[PathBuf],
    shown: &[String],
    quick: bool,
    seed: u64,
) -> Vec<SuiteResult> {
    let started = Instant::now();
    let built = loom_pool::build_in(root, &LOOM_TARGETS, LOOM_BUILD, root);
    println!("  loom build: {:.0} s", started.elapsed().as_secs_f64());
    let built = built.unwrap_or_else(|error| {
        eprintln!("  the loom build failed: {error}");
        Vec::new()
    });
    let times = loom_pool::report_times(root);
    let mut jobs = Vec::new();
    let mut found = vec![false; suites.len()];
    for (index, suite) in suites.iter().enumerate() {
        let Some((binary, filter)) = binary_of(suite, &built) else {
            continue;
        };
        for name in loom_pool::list(&binary.binary).unwrap_or_default() {
            if filter
                .as_ref()
                .is_none_or(|prefix| name.starts_with(prefix))
            {
                found[index] = true;
                jobs.push(Job {
                    suite: index,
                    binary: binary.binary.clone(),
                    dir: binary.dir.clone(),
                    hint: loom_pool::hint(&times, &name),
                    name,
                });
            }
        }
    }
    jobs.sort_by(|a, b| b.hint.total_cmp(&a.hint));
    let gathered: Vec<Mutex<Gathered>> = suites
        .iter()
        .map(|_| {
            Mutex::new(Gathered {
                success: true,
                ..Gathered::default()
            })
        })
        .collect();
    println!(
        "  {} loom models of {} suites, pooled",
        jobs.len(),
        suites.len()
    );
    loom_pool::pool(jobs, |job| {
        let mut command = Command::new(&job.binary);
        command
            .current_dir(&job.dir)
            // Two test threads for one test: libtest then prints `test NAME ... ok` on one
            // line when the test ends, where one thread would split it around the model's
            // output; the verdicts are read from those lines.
            .args(["--exact", &job.name, "--nocapture", "--test-threads", "2"])
            .env("MODEL_CHECK_RESULTS", &records[job.suite])
            .env("PROPTEST_RNG_SEED", seed.to_string());
        if quick {
            command.env("MODEL_CHECK_QUICK", "1");
        }
        let job_started = Instant::now();
        let output = command::run_captured(&mut command);
        let mut gathered = gathered[job.suite]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        gathered.seconds += job_started.elapsed().as_secs_f64();
        match output {
            Ok(output) => {
                gathered.success &= output.success;
                gathered.text.push_str(&output.text);
            }
            Err(error) => {
                gathered.success = false;
                gathered.text.push_str(&format!("{}: {error}\n", job.name));
            }
        }
    });
    suites
        .iter()
        .zip(gathered)
        .enumerate()
        .map(|(index, (suite, gathered))| {
            let gathered = gathered
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut result = SuiteResult::new(suite, shown[index].clone());
            result.seconds = gathered.seconds;
            crate::finish_suite(
                &mut result,
                suite,
                &records[index],
                found[index] && gathered.success,
                &gathered.text,
            );
            result
        })
        .collect()
}

/// The binary that holds `suite`'s models, and the prefix of their names in it (a module's
/// suite in the crate's unit tests).
fn binary_of<'a>(suite: &Suite, built: &'a [Built]) -> Option<(&'a Built, Option<String>)> {
    match suite.args.as_slice() {
        [_, package, test, name] if test == "--test" => built
            .iter()
            .find(|b| !b.lib && b.package == *package && b.target == *name)
            .map(|b| (b, None)),
        [_, package, lib, module] if lib == "--lib" => built
            .iter()
            .find(|b| b.lib && b.package == *package)
            .map(|b| (b, Some(format!("{module}::")))),
        _ => None,
    }
}
