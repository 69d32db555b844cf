//! The report: what ran, what it proved and under which bounds, as Markdown and JSON.

use std::fmt::Write as _;

use model_check::{ModelRecord, PropertyRecord};
use serde::Serialize;

use crate::orderings::View;

use crate::checks::Checker;
use crate::suites::Suite;

mod section;

use crate::outcome::{TestVerdict, first_line};
use section::{cell, exploring, group, render_suite};

/// Where and when the run happened.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Header {
    pub(crate) commit: String,
    pub(crate) date: String,
    pub(crate) toolchain: String,
    pub(crate) crate_versions: String,
    pub(crate) cores: usize,
    pub(crate) quick: bool,
    /// The `PROPTEST_RNG_SEED` every property ran with.
    pub(crate) proptest_seed: u64,
    pub(crate) total_seconds: f64,
}

/// One suite's outcome.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SuiteResult {
    pub(crate) name: String,
    pub(crate) primitive: String,
    pub(crate) checker: String,
    pub(crate) property: String,
    pub(crate) gaps: String,
    /// The file that declares the suite, relative to the workspace root.
    pub(crate) declared_in: String,
    /// The command, as a reader would type it.
    pub(crate) command: String,
    pub(crate) seconds: f64,
    /// The command exited with 0 and every test passed.
    pub(crate) passed: bool,
    pub(crate) tests: Vec<TestVerdict>,
    /// For loom suites: each model's record.
    pub(crate) models: Vec<ModelRecord>,
    /// For proptest suites: each property's record (cases, seed).
    pub(crate) properties: Vec<PropertyRecord>,
    /// What a scenario measured, one line each (its `figure: ` lines).
    pub(crate) figures: Vec<String>,
}

impl SuiteResult {
    pub(crate) fn new(suite: &Suite, command: String) -> Self {
        Self {
            name: suite.name.to_string(),
            primitive: suite.primitive.to_string(),
            checker: suite.checker.name().to_string(),
            property: suite.property.to_string(),
            gaps: suite.gaps.to_string(),
            declared_in: suite.declared_in.display().to_string(),
            command,
            seconds: 0.0,
            passed: false,
            tests: Vec::new(),
            models: Vec::new(),
            properties: Vec::new(),
            figures: Vec::new(),
        }
    }

    fn is_loom(&self) -> bool {
        self.checker == Checker::Loom.name()
    }

    /// The suite's command narrowed to one test: `cargo test ... -- TEST --exact`.
    fn command_for(&self, test: &str) -> String {
        let base = self
            .command
            .strip_suffix(" -- --nocapture")
            .unwrap_or(&self.command);
        format!("{base} -- {test} --exact --nocapture")
    }
}

/// One mutant's outcome.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MutantResult {
    pub(crate) name: String,
    pub(crate) broken: String,
    /// `Some(how)`: killed, with the suite and the first line of the failure.
    pub(crate) killed_by: Option<String>,
    /// The `cargo test` command that runs its models.
    pub(crate) command: Option<String>,
    /// Where its models' checkpoints went.
    pub(crate) checkpoints: String,
    /// The records of the models it ran: each failure is a kill.
    pub(crate) models: Vec<ModelRecord>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) header: Header,
    pub(crate) suites: Vec<SuiteResult>,
    pub(crate) mutants: Vec<MutantResult>,
    /// The sweeps of the orderings (`-- orderings`), as committed, beside today's sources.
    pub(crate) orderings: Option<View>,
}

/// What loom cannot see, stated once in every report.
const LOOM_GAPS: &[&str] = &[
    "SeqCst loads and stores are modelled as AcqRel (SeqCst fences are modelled; the crates use only fences).",
    "compare_exchange_weak never fails spuriously in loom.",
    "No load buffering: a load never reads a store that comes later in its own thread's future.",
    "At most 5 threads per model (the largest models here use 5, the main thread included), and a bounded number of stores remembered per atomic location (the 7-store window).",
    "Memory shared between processes is not modelled: loom's atomics are not memory. The shared placement is checked by real processes.",
    "The kernel is a stand-in: the futex is a mutex and condition variable with its contract, a timed wait's timer fires as early as it can, and the membarrier barrier pair is modelled as two SeqCst fences.",
];

/// How a replay is asked for (see `model_check`'s docs).
pub(crate) const REPLAY_ENV: &str = "MODEL_CHECK_REPLAY=1 LOOM_LOG=trace LOOM_LOCATION=1";

/// Where the report asks a failing suite's checkpoints to go.
/// (`$PWD`: the tests run in their crate's directory, the command in the workspace's.)
pub(crate) const CHECKPOINTS_DIR: &str = "\"$PWD\"/target/verification/checkpoints";

impl Report {
    /// Whether every suite passed and every mutant was killed.
    pub(crate) fn passed(&self) -> bool {
        self.suites.iter().all(|s| s.passed) && self.mutants.iter().all(|m| m.killed_by.is_some())
    }

    fn executions(&self) -> u64 {
        self.suites
            .iter()
            .flat_map(|s| &s.models)
            .map(|m| m.executions)
            .sum()
    }

    /// The one-screen summary, printed at the end of the run and on top of the report.
    pub(crate) fn summary(&self) -> String {
        let suites_passed = self.suites.iter().filter(|s| s.passed).count();
        let tests: Vec<&TestVerdict> = self.suites.iter().flat_map(|s| &s.tests).collect();
        let tests_passed = tests.iter().filter(|t| t.passed).count();
        let models: Vec<&ModelRecord> = self.suites.iter().flat_map(|s| &s.models).collect();
        let exhaustive = models
            .iter()
            .filter(|m| m.preemption_bound.is_none())
            .count();
        let properties: Vec<&PropertyRecord> =
            self.suites.iter().flat_map(|s| &s.properties).collect();
        let cases: u64 = properties.iter().map(|p| u64::from(p.cases)).sum();
        let killed = self
            .mutants
            .iter()
            .filter(|m| m.killed_by.is_some())
            .count();
        let mut out = String::new();
        let verdict = if self.passed() { "PASSED" } else { "FAILED" };
        let _ = writeln!(
            out,
            "verification {verdict}{}",
            if self.header.quick {
                " (quick mode: smaller bounds and case counts)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "- suites passed: {suites_passed} of {}",
            self.suites.len()
        );
        let _ = writeln!(out, "- tests passed: {tests_passed} of {}", tests.len());
        let _ = writeln!(
            out,
            "- loom models: {} ({exhaustive} exhaustive, {} bounded), {} executions explored",
            models.len(),
            models.len() - exhaustive,
            group(self.executions())
        );
        let _ = writeln!(
            out,
            "- proptest properties: {}, {} cases, seed {}",
            properties.len(),
            group(cases),
            self.header.proptest_seed
        );
        let _ = writeln!(out, "- mutants killed: {killed} of {}", self.mutants.len());
        let _ = match &self.orderings {
            Some(view) => writeln!(out, "- orderings weakened one step: {}", view.summary()),
            None => writeln!(out, "- orderings: the ledger does not parse"),
        };
        let _ = writeln!(
            out,
            "- total time: {:.0} s on {} cores",
            self.header.total_seconds, self.header.cores
        );
        out
    }

    pub(crate) fn markdown(&self) -> String {
        let h = &self.header;
        let mut out = String::new();
        let _ = writeln!(out, "# Verification report\n");
        let _ = writeln!(
            out,
            "Commit `{}`, {}; {}; crates {}; {} cores; {:.0} s in all.{}\n",
            h.commit,
            h.date,
            h.toolchain,
            h.crate_versions,
            h.cores,
            h.total_seconds,
            if h.quick {
                " **Quick mode**: loom bounds capped at 2 preemptions, 16 proptest cases; not the full proof."
            } else {
                ""
            }
        );
        let _ = writeln!(out, "Regenerate: `cargo run --release -p verification`.\n");
        let _ = writeln!(out, "## Summary\n\n```text\n{}```\n", self.summary());
        let _ = writeln!(
            out,
            "\"Exhaustive\" means loom explored every execution with no preemption bound and no \
             duration or permutation limit, and returned; \"complete up to N preemptions\" means \
             every execution with at most N preemptions was explored. proptest properties are \
             sampled: the seed reruns the same cases.\n"
        );
        let _ = writeln!(out, "## Suites\n");
        for suite in &self.suites {
            render_suite(&mut out, suite, h.proptest_seed);
        }
        self.render_mutants(&mut out);
        let _ = writeln!(out, "## Orderings\n");
        let _ = writeln!(
            out,
            "`cargo run --release -p verification -- orderings [FILE...]` weakens each non-Relaxed \
             atomic ordering of the cores one step, one at a time, and runs its crate's loom \
             models on it: killed means a model failed; a survivor's comment says why it is kept \
             (\"beyond the models\") or it counts as unexplained. It runs on its own (it is \
             long) and records each file's sweep, with its commit and date, in `{}`.\n",
            crate::orderings::LEDGER
        );
        match &self.orderings {
            Some(view) => view.markdown(&mut out),
            None => out.push_str("The ledger does not parse.\n\n"),
        }
        let _ = writeln!(out, "## What loom cannot prove\n");
        for gap in LOOM_GAPS {
            let _ = writeln!(out, "- {gap}");
        }
        out
    }

    fn render_mutants(&self, out: &mut String) {
        let _ = writeln!(out, "## Mutants\n");
        let _ = writeln!(
            out,
            "Each is a deliberately broken variant of a core algorithm, compiled in only with its \
             `cfg`; `cargo run --release -p verification -- mutants NAME` runs the models (or tests) that must catch it. The kill matrix lists \
             every model each loom mutant ran: the execution (in loom's exploration order) at which it \
             failed, and loom's message.\n"
        );
        let _ = writeln!(out, "| mutant | what is broken | verdict |");
        let _ = writeln!(out, "|---|---|---|");
        for mutant in &self.mutants {
            let verdict = match &mutant.killed_by {
                Some(how) => format!("killed by {}", cell(how)),
                None => "**SURVIVED**".to_string(),
            };
            let _ = writeln!(out, "| `{}` | {} | {verdict} |", mutant.name, mutant.broken);
        }
        let _ = writeln!(out, "\n### Kill matrix\n");
        let _ = writeln!(
            out,
            "| mutant | model | scenario | died at execution | loom's message |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for mutant in &self.mutants {
            if mutant.models.is_empty() {
                let _ = writeln!(
                    out,
                    "| `{}` | (no model: caught by tests, or not run; see its verdict) | | | |",
                    mutant.name
                );
            }
            for model in &mutant.models {
                let (died, message) = match &model.failure {
                    Some(failure) => (
                        format!("{}, {}", group(failure.execution), exploring(model)),
                        cell(first_line(&failure.message).unwrap_or("(no message)")),
                    ),
                    None => (
                        "**passed**".to_string(),
                        format!("{} executions", group(model.executions)),
                    ),
                };
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} | {died} | {message} |",
                    mutant.name,
                    model.model,
                    cell(&model.scenario)
                );
            }
        }
        let _ = writeln!(
            out,
            "\nReplay a kill (loom starts from the checkpoint of the failing execution and prints \
             its interleaving):\n"
        );
        for mutant in &self.mutants {
            let (Some(command), Some(model)) = (
                &mutant.command,
                mutant.models.iter().find(|m| m.failure.is_some()),
            ) else {
                continue;
            };
            let _ = writeln!(
                out,
                "- `{}`: `MODEL_CHECK_CHECKPOINTS={} {REPLAY_ENV} {command} -- {} --exact --nocapture`",
                mutant.name, mutant.checkpoints, model.test
            );
        }
        let _ = writeln!(out);
    }
}

#[cfg(test)]
mod tests {
    use model_check::Failure;

    use super::*;

    fn model(name: &str, failure: Option<Failure>) -> ModelRecord {
        ModelRecord {
            model: name.to_string(),
            test: format!("{name}_bound_3"),
            property: "no lost wake-up".to_string(),
            scenario: "2 threads | capacity 1".to_string(),
            executions: 1_234_567,
            preemption_bound: Some(3),
            seconds: 2.5,
            failure,
        }
    }

    fn sample(passed: bool, killed: bool) -> Report {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let suites = crate::suites::discover(root).unwrap();
        let mut loom = SuiteResult::new(&suites[0], "cargo test -p q -- --nocapture".to_string());
        loom.passed = passed;
        let failure = (!passed).then(|| Failure {
            execution: 17,
            message: "deadlock; threads = [..]".to_string(),
            checkpoint: None,
        });
        loom.models.push(model("spsc", failure));
        loom.tests.push(TestVerdict {
            test: "spsc_bound_3".to_string(),
            passed,
            failure: (!passed).then(|| "deadlock; threads = [..]".to_string()),
        });
        let proptest_suite = suites
            .iter()
            .find(|s| s.checker == Checker::Proptest)
            .unwrap();
        let scenario_suite = suites
            .iter()
            .find(|s| s.checker == Checker::Scenario)
            .unwrap();
        let mut scenario = SuiteResult::new(scenario_suite, "cargo test -p s".to_string());
        scenario.passed = true;
        scenario.tests.push(TestVerdict {
            test: "forked_children_exit".to_string(),
            passed: true,
            failure: None,
        });
        let mut proptest = SuiteResult::new(proptest_suite, "cargo test -p m".to_string());
        proptest.passed = passed;
        proptest.properties.push(PropertyRecord {
            test: "q model::matches".to_string(),
            property: "answers equal the model's".to_string(),
            cases: 1024,
            seed: 99,
        });
        proptest.tests.push(TestVerdict {
            test: "matches".to_string(),
            passed,
            failure: (!passed).then(|| {
                "Test failed: len differs.\nminimal failing input: ops = [Push(1)]".to_string()
            }),
        });
        let mutant_model = model(
            "spsc",
            killed.then(|| Failure {
                execution: 2,
                message: "\nCausality violation: Concurrent read and write accesses.".to_string(),
                checkpoint: Some("cp/spsc.json".to_string()),
            }),
        );
        Report {
            header: Header {
                commit: "abc".to_string(),
                date: "today".to_string(),
                toolchain: "rustc".to_string(),
                crate_versions: "0.1.0".to_string(),
                cores: 2,
                quick: false,
                proptest_seed: 99,
                total_seconds: 10.0,
            },
            orderings: None,
            suites: vec![loom, proptest, scenario],
            mutants: vec![MutantResult {
                name: "m".to_string(),
                broken: "b".to_string(),
                killed_by: killed.then(|| "loom: boom".to_string()),
                command: Some("cargo test --test loom_queue".to_string()),
                checkpoints: "cp".to_string(),
                models: vec![mutant_model],
            }],
        }
    }

    #[test]
    fn a_failing_suite_or_a_surviving_mutant_fails_the_run() {
        assert!(sample(true, true).passed());
        assert!(!sample(false, true).passed());
        assert!(!sample(true, false).passed());
    }

    #[test]
    fn a_passing_report_renders_every_field() {
        let text = sample(true, true).markdown();
        for needle in [
            "Commit `abc`",
            "proptest properties: 1, 1,024 cases, seed 99",
            "complete up to 3 preemptions",
            "1,234,567",
            "2 threads \\| capacity 1",
            "- `spsc`: no lost wake-up.",
            "| `q model::matches` | 1,024 | 99 | passed |",
            "- `q model::matches`: answers equal the model's.",
            "Cannot prove:",
            "| `m` | `spsc` | 2 threads \\| capacity 1 | 2, exploring up to 3 preemptions | Causality violation: Concurrent read and write accesses. |",
            "MODEL_CHECK_CHECKPOINTS=cp MODEL_CHECK_REPLAY=1 LOOM_LOG=trace LOOM_LOCATION=1 cargo test --test loom_queue -- spsc_bound_3 --exact",
            "SeqCst loads and stores are modelled as AcqRel",
            "membarrier barrier pair is modelled as two SeqCst fences",
            "Tests: `forked_children_exit`.",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        let json = serde_json::to_string(&sample(true, true)).unwrap();
        assert!(json.contains("\"executions\":1234567"));
        assert!(json.contains("\"seed\":99"));
    }

    #[test]
    fn a_failing_report_shows_counterexamples_and_replays() {
        let text = sample(false, false).markdown();
        for needle in [
            "**FAILED** at execution 17",
            "#### `spsc_bound_3` failed",
            "loom found the failing execution at number 17",
            "deadlock; threads = [..]",
            "MODEL_CHECK_CHECKPOINTS=\"$PWD\"/target/verification/checkpoints cargo test -p q -- spsc_bound_3 --exact --nocapture",
            "minimal failing input: ops = [Push(1)]",
            "PROPTEST_RNG_SEED=99 cargo test -p m -- matches --exact --nocapture",
            "**SURVIVED**",
            "| `m` | `spsc` | 2 threads \\| capacity 1 | **passed** | 1,234,567 executions |",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(2_268_887), "2,268,887");
    }
}
