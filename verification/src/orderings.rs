//! `cargo run --release -p verification -- orderings [--full] [FILE...]`: weakens each
//! non-`Relaxed` atomic ordering of the cores' sources one step (see `sites`), one at a time,
//! and runs the loom models of its crate on it: a weakening some model fails on is *killed*;
//! one they all pass *survived*, and the ordering is either stronger than the algorithm needs
//! or guarding something no model exercises. Each survivor's `// ORDERING:` comment says which
//! ("beyond the models: ..."), or the report counts it unexplained.
//!
//! By default every model runs to at most 2 preemptions (`MODEL_CHECK_QUICK`), as a sweep
//! of this size must; `--full` runs each to its own bound. It sweeps the FILEs named (paths
//! from the workspace's root), or every source file of the cores with orderings, and records
//! each file's verdicts, commit and date in `verification/orderings.json` (the ledger the
//! verification report shows), replacing that file's earlier sweep. A sweep builds the
//! crate's loom targets once per site and runs only the binaries the weakening changed, the
//! last killers first; still, a file takes minutes and the cores an hour or more, so
//! `cargo test-all` does not run it.

mod ledger;
mod sites;
mod sweep;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::loom_pool;
pub(crate) use ledger::View;
use ledger::{FileSweep, Ledger, Swept, Verdict};
use sites::Site;
use sweep::{Outcome, Scratch};

/// The crates whose orderings are swept: the two cores.
const CORES: [&str; 2] = ["queue-core", "spawn-core"];

/// The ledger of the sweeps, from the workspace's root.
pub(crate) const LEDGER: &str = "verification/orderings.json";

/// One site to weaken: its crate, its file (from the workspace's root) and the file's text.
struct Planned {
    krate: &'static str,
    file: String,
    text: String,
    site: Site,
    /// The preemption bound the models run to (`None`: each its own).
    bound: Option<usize>,
}

/// Runs the command; whether every site was weakened and judged (a survivor is a finding,
/// not a failure of the command).
pub(crate) fn run(root: &Path, args: &[String]) -> bool {
    let full_bounds = args.iter().any(|arg| arg == "--full");
    let named: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    let files = if named.is_empty() {
        core_sources(root)
    } else {
        named
    };
    let mut ledger = match Ledger::load(&root.join(LEDGER)) {
        Ok(ledger) => ledger,
        Err(error) => {
            eprintln!("orderings: {error}");
            return false;
        }
    };
    let bound = (!full_bounds).then_some(model_check::QUICK_BOUND);
    let started = Instant::now();
    let planned = match plan(root, &files, bound) {
        Ok(planned) => planned,
        Err(error) => {
            eprintln!("orderings: {error}");
            return false;
        }
    };
    let scratch = match Scratch::new(root) {
        Ok(scratch) => scratch,
        Err(error) => {
            eprintln!("orderings: cannot make the scratch copy: {error}");
            return false;
        }
    };
    println!(
        "{} ordering sites in {} files; models to {}",
        planned.len(),
        files.len(),
        bounds_text(bound)
    );
    // Each crate's binaries as they are: a weakening's changed binaries are the ones to run.
    let mut baseline = HashMap::new();
    for krate in CORES
        .iter()
        .filter(|k| planned.iter().any(|p| p.krate == **k))
    {
        println!("building {krate}'s loom targets as they are");
        match sweep::build(&scratch, &sweep::loom_targets(&scratch.copy, krate)) {
            Ok(binaries) => baseline.extend(binaries.into_iter().map(|b| (b.path, b.digest))),
            Err(error) => {
                eprintln!("orderings: {krate} does not build as it is: {error}");
                return false;
            }
        }
    }
    // `-dirty` when the sweep included changes not yet committed.
    let commit = output(
        root,
        "git",
        &["describe", "--always", "--dirty", "--abbrev=7"],
    );
    let date = output(root, "date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let times = loom_pool::report_times(root);
    let logs = root.join("target/verification/orderings/logs");
    let mut killers: Vec<String> = Vec::new();
    let mut judged_all = true;
    let mut this_file: Option<(String, Instant, Vec<Swept>)> = None;
    let count = planned.len();
    for (index, plan) in planned.into_iter().enumerate() {
        let site = &plan.site;
        print!(
            "[{}/{count}] {}:{} {} {} -> {}: ",
            index + 1,
            plan.file,
            site.line,
            site.call,
            site.ordering,
            site.weakened
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let file_started = Instant::now();
        let verdict = judge(&scratch, &plan, &baseline, &logs, &killers, &times);
        match &verdict {
            Verdict::Killed { by, .. } => {
                println!("killed by {by}");
                killers.retain(|k| k != by);
                killers.insert(0, by.clone());
            }
            Verdict::Survived { models } => println!("SURVIVED {models} tests"),
            Verdict::Unreached => println!("SURVIVED: no loom binary changed"),
            Verdict::BuildFailed { error } => println!("did not build: {error}"),
            Verdict::TimedOut { tests } => println!("timed out: {tests:?}"),
        }
        judged_all &= !matches!(
            verdict,
            Verdict::BuildFailed { .. } | Verdict::TimedOut { .. }
        );
        let swept = Swept::new(site, verdict);
        match &mut this_file {
            Some((file, _, sites)) if *file == plan.file => sites.push(swept),
            _ => {
                if let Some(done) = this_file.take() {
                    record(&mut ledger, done, &commit, &date, bound);
                }
                this_file = Some((plan.file.clone(), file_started, vec![swept]));
            }
        }
        // Each file's sweep goes into the ledger as soon as its last site is judged, so a
        // sweep stopped early keeps the files it finished.
        let last_of_file = this_file
            .as_ref()
            .is_some_and(|(file, _, sites)| ledger_count(root, file) == Some(sites.len()));
        if last_of_file {
            if let Some(done) = this_file.take() {
                record(&mut ledger, done, &commit, &date, bound);
                // A file whose orderings are all Relaxed now has nothing left to sweep.
                ledger
                    .files
                    .retain(|file, _| ledger_count(root, file).is_some_and(|n| n > 0));
                if let Err(error) = ledger.save(&root.join(LEDGER)) {
                    eprintln!("orderings: cannot write {LEDGER}: {error}");
                    return false;
                }
            }
        }
    }
    let view = ledger.view(root, &core_sources(root));
    println!("\n{}", view.summary());
    for row in view.unexplained() {
        println!("  unexplained survivor: {}:{}", row.file, row.line);
    }
    println!("ledger: {}", root.join(LEDGER).display());
    println!("{:.0} s in all", started.elapsed().as_secs_f64());
    judged_all
}

/// How many sites `file` has today.
fn ledger_count(root: &Path, file: &str) -> Option<usize> {
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    Some(sites::find(&text).ok()?.len())
}

/// Puts one file's finished sweep into the ledger.
fn record(
    ledger: &mut Ledger,
    (file, started, sites): (String, Instant, Vec<Swept>),
    commit: &str,
    date: &str,
    bound: Option<usize>,
) {
    ledger.files.insert(
        file,
        FileSweep {
            commit: commit.to_owned(),
            date: date.to_owned(),
            bounds: bounds_text(bound),
            seconds: started.elapsed().as_secs_f64(),
            sites,
        },
    );
}

fn bounds_text(bound: Option<usize>) -> String {
    bound.map_or("each model's own bound".to_owned(), |b| {
        format!("preemption bound {b}")
    })
}

/// Every site of `files`, each with its crate and its file's text.
fn plan(root: &Path, files: &[String], bound: Option<usize>) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::new();
    for file in files {
        let krate = CORES
            .into_iter()
            .find(|k| file.starts_with(&format!("{k}/")))
            .ok_or_else(|| format!("{file} is not a source of {CORES:?}"))?;
        let text = std::fs::read_to_string(root.join(file)).map_err(|e| format!("{file}: {e}"))?;
        for site in sites::find(&text).map_err(|e| format!("{file}: {e}"))? {
            planned.push(Planned {
                krate,
                file: file.clone(),
                text: text.clone(),
                site,
                bound,
            });
        }
    }
    Ok(planned)
}

/// Weakens `site` in the scratch copy, builds its crate's loom targets and runs the tests of
/// every binary the weakening changed (`baseline` holds each binary's digest unweakened),
/// the earlier sites' killers first, then the quickest.
fn judge(
    scratch: &Scratch,
    plan: &Planned,
    baseline: &HashMap<PathBuf, u64>,
    logs: &Path,
    killers: &[String],
    times: &HashMap<String, f64>,
) -> Verdict {
    let Planned {
        krate,
        file,
        text,
        site,
        bound,
        ..
    } = plan;
    if let Err(error) = scratch.put(file, &site.weaken(text)) {
        return Verdict::BuildFailed {
            error: error.to_string(),
        };
    }
    let built = sweep::build(scratch, &sweep::loom_targets(&scratch.copy, krate));
    let _ = scratch.restore(file);
    let binaries = match built {
        Ok(binaries) => binaries,
        Err(error) => return Verdict::BuildFailed { error },
    };
    let mut tests: Vec<sweep::Test> = binaries
        .into_iter()
        .filter(|binary| baseline.get(&binary.path) != Some(&binary.digest))
        .flat_map(|binary| binary.tests)
        .collect();
    if tests.is_empty() {
        return Verdict::Unreached;
    }
    tests.sort_by(|a, b| {
        let rank = |test: &sweep::Test| {
            killers
                .iter()
                .position(|k| *k == test.name)
                .unwrap_or(usize::MAX)
        };
        let time = |test: &sweep::Test| loom_pool::hint(times, &test.name);
        rank(a).cmp(&rank(b)).then(time(a).total_cmp(&time(b)))
    });
    match sweep::run(&tests, *bound, logs) {
        Outcome::Failed { test, message } => Verdict::Killed { by: test, message },
        Outcome::Passed { tests } => Verdict::Survived { models: tests },
        Outcome::TimedOut(tests) => Verdict::TimedOut { tests },
    }
}

/// Every `.rs` file under the cores' `src`, from the workspace's root, sorted.
fn core_sources(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for krate in CORES {
        collect_rs(&root.join(krate).join("src"), &mut files);
    }
    let mut files: Vec<String> = files
        .into_iter()
        .filter_map(|path| Some(path.strip_prefix(root).ok()?.to_str()?.to_owned()))
        // The loom models themselves are tests, not the algorithm.
        .filter(|file| !file.contains("/loom_models/"))
        .collect();
    files.sort();
    files
}

fn collect_rs(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// What `program ARGS` printed, trimmed, or "unknown".
fn output(root: &Path, program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .current_dir(root)
        .args(args)
        .output()
        .ok()
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        )
}

/// The ledger beside today's sources, for the report; `None` if it does not parse.
pub(crate) fn view(root: &Path) -> Option<View> {
    let ledger = Ledger::load(&root.join(LEDGER)).ok()?;
    Some(ledger.view(root, &core_sources(root)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_source_parses_into_sites() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let files = core_sources(&root);
        assert!(files.iter().any(|f| f == "queue-core/src/ring/claim.rs"));
        let mut count = 0;
        for file in &files {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            count += sites::find(&text)
                .unwrap_or_else(|e| panic!("{file}: {e}"))
                .len();
        }
        assert!(count > 50, "{count} sites");
    }
}
