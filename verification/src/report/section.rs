//! One suite's section of the Markdown report: its checker and bounds, its models' and
//! properties' tables, and each failure with the commands that replay it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use model_check::ModelRecord;

use super::{CHECKPOINTS_DIR, REPLAY_ENV, SuiteResult};
use crate::checks::Checker;
use crate::outcome::TestVerdict;

pub(super) fn render_suite(out: &mut String, suite: &SuiteResult, seed: u64) {
    let verdict = if suite.passed { "passed" } else { "**FAILED**" };
    let _ = writeln!(
        out,
        "### {} ({verdict}, {:.1} s)\n",
        suite.name, suite.seconds
    );
    let _ = writeln!(out, "- Primitive: {}", suite.primitive);
    let _ = writeln!(out, "- Checker: {}", checker_line(suite, seed));
    let _ = writeln!(out, "- Property: {}", suite.property);
    let _ = writeln!(out, "- Cannot prove: {}", suite.gaps);
    let _ = writeln!(out, "- Declared in: [`{0}`](../{0})", suite.declared_in);
    let _ = writeln!(out, "- Command: `{}`\n", suite.command);
    if !suite.models.is_empty() {
        render_models(out, suite);
    }
    if !suite.properties.is_empty() {
        render_properties(out, suite);
    }
    let failed: Vec<&TestVerdict> = suite.tests.iter().filter(|t| !t.passed).collect();
    let _ = writeln!(
        out,
        "{} tests, {} failed.\n",
        suite.tests.len(),
        failed.len()
    );
    if suite.models.is_empty() && suite.properties.is_empty() && !suite.tests.is_empty() {
        // A scenario suite: each test is a check of its own; name them.
        let names: Vec<String> = suite
            .tests
            .iter()
            .map(|t| {
                let verdict = if t.passed { "" } else { " (**FAILED**)" };
                format!("`{}`{verdict}", t.test)
            })
            .collect();
        let _ = writeln!(out, "Tests: {}.\n", names.join(", "));
    }
    for figure in &suite.figures {
        let _ = writeln!(out, "- {figure}");
    }
    if !suite.figures.is_empty() {
        out.push('\n');
    }
    for test in failed {
        render_failure(out, suite, test, seed);
    }
}

fn checker_line(suite: &SuiteResult, seed: u64) -> String {
    if suite.is_loom() {
        let exhaustive = suite
            .models
            .iter()
            .filter(|m| m.preemption_bound.is_none())
            .count();
        format!(
            "loom; {} models, {exhaustive} exhaustive, the others complete up to their \
             preemption bound",
            suite.models.len()
        )
    } else if suite.checker == Checker::Proptest.name() {
        format!(
            "proptest, {} cases in all, seed {seed}",
            suite
                .properties
                .iter()
                .map(|p| u64::from(p.cases))
                .sum::<u64>()
        )
    } else {
        suite.checker.clone()
    }
}

fn render_models(out: &mut String, suite: &SuiteResult) {
    let _ = writeln!(
        out,
        "| model | scenario | coverage | executions | time | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for model in &suite.models {
        let verdict = match &model.failure {
            Some(failure) => format!("**FAILED** at execution {}", group(failure.execution)),
            None => "passed".to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {:.2} s | {verdict} |",
            model.model,
            cell(&model.scenario),
            model.coverage(),
            group(model.executions),
            model.seconds
        );
    }
    let _ = writeln!(out, "\nWhat every execution checks:\n");
    for (property, models) in by_property(suite.models.iter().map(|m| (&m.property, &m.model))) {
        let _ = writeln!(out, "- {}: {property}.", models);
    }
    let _ = writeln!(out);
}

fn render_properties(out: &mut String, suite: &SuiteResult) {
    let _ = writeln!(out, "| property | cases | seed | verdict |");
    let _ = writeln!(out, "|---|---|---|---|");
    for property in &suite.properties {
        let short = property.test.rsplit("::").next().unwrap_or(&property.test);
        let verdict = match suite.tests.iter().find(|t| t.test.ends_with(short)) {
            Some(test) if !test.passed => "**FAILED**",
            _ if suite.passed => "passed",
            _ => "see below",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {verdict} |",
            property.test,
            group(u64::from(property.cases)),
            property.seed
        );
    }
    let _ = writeln!(out, "\nWhat each case checks:\n");
    for (property, tests) in by_property(suite.properties.iter().map(|p| (&p.property, &p.test))) {
        let _ = writeln!(out, "- {tests}: {property}.");
    }
    let _ = writeln!(out);
}

/// Groups names by their property: `(property, "`a`, `b`")`, in first-seen order of names.
fn by_property<'a>(
    items: impl Iterator<Item = (&'a String, &'a String)>,
) -> Vec<(&'a str, String)> {
    let mut order: Vec<&str> = Vec::new();
    let mut names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (property, name) in items {
        if !names.contains_key(property.as_str()) {
            order.push(property);
        }
        names.entry(property).or_default().push(format!("`{name}`"));
    }
    order
        .into_iter()
        .map(|property| (property, names[property].join(", ")))
        .collect()
}

fn render_failure(out: &mut String, suite: &SuiteResult, test: &TestVerdict, seed: u64) {
    let _ = writeln!(out, "#### `{}` failed\n", test.test);
    let model = suite
        .models
        .iter()
        .find(|m| m.test == test.test || test.test.ends_with(&m.test));
    if let Some(failure) = model.and_then(|m| m.failure.as_ref()) {
        let _ = writeln!(
            out,
            "loom found the failing execution at number {} of its exploration.\n",
            group(failure.execution)
        );
    }
    let counterexample = test
        .failure
        .as_deref()
        .or(model.and_then(|m| m.failure.as_ref().map(|f| f.message.as_str())))
        .unwrap_or("(no panic message found; run the command below)");
    let _ = writeln!(out, "Counterexample:\n\n```text\n{counterexample}\n```\n");
    if suite.is_loom() {
        let test_name = model.map_or(test.test.as_str(), |m| m.test.as_str());
        let command = suite.command_for(test_name);
        let _ = writeln!(
            out,
            "Replay: first record loom's checkpoint of the failing execution (the exploration \
             is deterministic, so it fails at the same execution), then replay just that \
             execution with its interleaving printed:\n\n```sh\n\
             MODEL_CHECK_CHECKPOINTS={CHECKPOINTS_DIR} {command}\n\
             MODEL_CHECK_CHECKPOINTS={CHECKPOINTS_DIR} {REPLAY_ENV} {command}\n```\n"
        );
    } else if suite.checker == Checker::Proptest.name() {
        let _ = writeln!(
            out,
            "Replay (the same cases; proptest also saved the failure in the suite's \
             `.proptest-regressions` file): `PROPTEST_RNG_SEED={seed} {}`\n",
            suite.command_for(&test.test)
        );
    } else {
        let _ = writeln!(out, "Replay: `{}`\n", suite.command_for(&test.test));
    }
}

/// How the model was being explored: "exploring exhaustively" or "exploring up to N preemptions".
pub(super) fn exploring(model: &ModelRecord) -> String {
    match model.preemption_bound {
        None => "exploring exhaustively".to_string(),
        Some(n) => format!("exploring up to {n} preemptions"),
    }
}

/// Text made safe for a Markdown table cell.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `1234567` as `1,234,567`.
pub(super) fn group(n: u64) -> String {
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
