//! The report: what ran, what it proved and under which bounds, as Markdown and JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::checks::Suite;
use crate::outcome::{ModelRecord, TestVerdict};

/// Where and when the run happened.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Header {
    pub(crate) commit: String,
    pub(crate) date: String,
    pub(crate) toolchain: String,
    pub(crate) crate_versions: String,
    pub(crate) cores: usize,
    pub(crate) quick: bool,
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
    pub(crate) command: String,
    pub(crate) seconds: f64,
    /// The command exited with 0 and every test passed.
    pub(crate) passed: bool,
    pub(crate) tests: Vec<TestVerdict>,
    /// For loom suites: each model's record.
    pub(crate) models: Vec<ModelRecord>,
}

impl SuiteResult {
    pub(crate) fn new(suite: &Suite, command: String) -> Self {
        Self {
            name: suite.name.to_string(),
            primitive: suite.primitive.to_string(),
            checker: suite.checker.name().to_string(),
            property: suite.property.to_string(),
            gaps: suite.gaps.to_string(),
            command,
            seconds: 0.0,
            passed: false,
            tests: Vec::new(),
            models: Vec::new(),
        }
    }
}

/// One mutant's outcome.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MutantResult {
    pub(crate) name: String,
    pub(crate) broken: String,
    /// `Some(how)`: killed, with the suite and the first line of the failure.
    pub(crate) killed_by: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) header: Header,
    pub(crate) suites: Vec<SuiteResult>,
    pub(crate) mutants: Vec<MutantResult>,
}

/// What loom cannot see, stated once in every report.
const LOOM_GAPS: &[&str] = &[
    "SeqCst loads and stores are modelled as AcqRel (SeqCst fences are modelled; the crates use only fences).",
    "compare_exchange_weak never fails spuriously in loom.",
    "No load buffering: a load never reads a store that comes later in its own thread's future.",
    "At most 5 threads per model, and a bounded number of stores per atomic location.",
    "Memory shared between processes is not modelled: loom's atomics are not memory.",
];

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
        let _ = writeln!(out, "- mutants killed: {killed} of {}", self.mutants.len());
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
            "\"Exhaustive\" means loom explored every execution with no preemption bound and \
             returned; \"complete up to N preemptions\" means every execution with at most N \
             preemptions was explored.\n"
        );
        let _ = writeln!(out, "## Suites\n");
        for suite in &self.suites {
            let verdict = if suite.passed { "passed" } else { "**FAILED**" };
            let _ = writeln!(
                out,
                "### {} ({verdict}, {:.1} s)\n",
                suite.name, suite.seconds
            );
            let _ = writeln!(out, "- Primitive: {}", suite.primitive);
            let _ = writeln!(out, "- Checker: {}", suite.checker);
            let _ = writeln!(out, "- Property: {}", suite.property);
            let _ = writeln!(out, "- Cannot prove: {}", suite.gaps);
            let _ = writeln!(out, "- Command: `{}`\n", suite.command);
            if !suite.models.is_empty() {
                let _ = writeln!(out, "| model | coverage | executions | time | verdict |");
                let _ = writeln!(out, "|---|---|---|---|---|");
                for model in &suite.models {
                    let verdict = verdict_of(&suite.tests, &model.model);
                    let _ = writeln!(
                        out,
                        "| `{}` | {} | {} | {:.2} s | {verdict} |",
                        model.model,
                        model.coverage(),
                        group(model.executions),
                        model.seconds
                    );
                }
                let _ = writeln!(out);
            }
            let failed: Vec<&TestVerdict> = suite.tests.iter().filter(|t| !t.passed).collect();
            let _ = writeln!(
                out,
                "{} tests, {} failed.\n",
                suite.tests.len(),
                failed.len()
            );
            for test in failed {
                let _ = writeln!(
                    out,
                    "- `{}` failed: {}",
                    test.test,
                    test.failure
                        .as_deref()
                        .unwrap_or("(no panic message found; see the command's output)")
                );
            }
            if suite.tests.iter().any(|t| !t.passed) {
                let _ = writeln!(out, "\nReplay: `{}`\n", suite.command);
            }
        }
        let _ = writeln!(out, "## Mutants\n");
        let _ = writeln!(
            out,
            "Each is a deliberately broken variant of a core algorithm; its killing models must fail (`.ci/mutants NAME`).\n"
        );
        let _ = writeln!(out, "| mutant | what is broken | verdict |");
        let _ = writeln!(out, "|---|---|---|");
        for mutant in &self.mutants {
            let verdict = match &mutant.killed_by {
                Some(how) => format!("killed by {}", how.replace('|', "\\|")),
                None => "**SURVIVED**".to_string(),
            };
            let _ = writeln!(out, "| `{}` | {} | {verdict} |", mutant.name, mutant.broken);
        }
        let _ = writeln!(out, "\n## What loom cannot prove\n");
        for gap in LOOM_GAPS {
            let _ = writeln!(out, "- {gap}");
        }
        out
    }
}

/// The verdict of the test that ran `model` (test names extend model names).
fn verdict_of(tests: &[TestVerdict], model: &str) -> &'static str {
    let short = model.strip_prefix("lifecycle_").unwrap_or(model);
    match tests.iter().find(|t| t.test.contains(short)) {
        Some(test) if test.passed => "passed",
        Some(_) => "**FAILED**",
        None => "passed",
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::SUITES;

    fn sample(passed: bool, killed: bool) -> Report {
        let mut suite = SuiteResult::new(&SUITES[0], "cargo test".to_string());
        suite.passed = passed;
        suite.models.push(ModelRecord {
            model: "spsc".to_string(),
            executions: 1_234_567,
            preemption_bound: Some(3),
            seconds: 2.5,
        });
        suite.tests.push(TestVerdict {
            test: "spsc_bound_3".to_string(),
            passed,
            failure: (!passed).then(|| "deadlock".to_string()),
        });
        Report {
            header: Header {
                commit: "abc".to_string(),
                date: "today".to_string(),
                toolchain: "rustc".to_string(),
                crate_versions: "0.1.0".to_string(),
                cores: 2,
                quick: false,
                total_seconds: 10.0,
            },
            suites: vec![suite],
            mutants: vec![MutantResult {
                name: "m".to_string(),
                broken: "b".to_string(),
                killed_by: killed.then(|| "loom: boom".to_string()),
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
    fn the_report_renders_every_field() {
        let text = sample(false, false).markdown();
        for needle in [
            "Commit `abc`",
            "complete up to 3 preemptions",
            "1,234,567",
            "`spsc_bound_3` failed: deadlock",
            "**SURVIVED**",
            "Cannot prove:",
            "Replay: `cargo test`",
            "SeqCst loads and stores are modelled as AcqRel",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        let json = serde_json::to_string(&sample(true, true)).unwrap();
        assert!(json.contains("\"executions\":1234567"));
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(2_268_887), "2,268,887");
    }
}
