//! Reading what the suites produced: the records that `model-check` writes (loom models and
//! proptest properties) and libtest's verdict lines with their panic messages.

use model_check::{Entry, ModelRecord, PropertyRecord};
use serde::Serialize;

/// The records of one results file, split by kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Records {
    pub(crate) models: Vec<ModelRecord>,
    pub(crate) properties: Vec<PropertyRecord>,
}

/// Parses a results file (see `model_check::parse_entries`).
pub(crate) fn parse_records(text: &str) -> Result<Records, String> {
    let mut records = Records::default();
    for entry in model_check::parse_entries(text)? {
        match entry {
            Entry::Loom(model) => records.models.push(model),
            Entry::Proptest(property) => records.properties.push(property),
        }
    }
    Ok(records)
}

/// A test's verdict, from libtest's (or our `harness = false` runners') output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TestVerdict {
    pub(crate) test: String,
    pub(crate) passed: bool,
    /// For a failed test: its panic message (the counterexample: loom's message, or
    /// proptest's reason and minimal failing input), up to [`MESSAGE_LINES`] lines.
    pub(crate) failure: Option<String>,
}

impl TestVerdict {
    /// The first non-empty line of the failure, if any.
    pub(crate) fn failure_summary(&self) -> Option<&str> {
        first_line(self.failure.as_deref()?)
    }
}

/// The first non-empty line of `text`, trimmed.
pub(crate) fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

/// How many lines of a panic message the report keeps.
pub(crate) const MESSAGE_LINES: usize = 60;

/// The figures a scenario printed: its lines that start with `figure: `, without the prefix.
pub(crate) fn parse_figures(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("figure: "))
        .map(str::to_string)
        .collect()
}

/// The verdicts in a `cargo test` output: every `test NAME ... ok|FAILED` line, with each
/// failed test's panic message.
pub(crate) fn parse_verdicts(output: &str) -> Vec<TestVerdict> {
    let lines: Vec<&str> = output.lines().collect();
    let mut verdicts = Vec::new();
    for line in &lines {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, verdict)) = rest.split_once(" ... ") else {
            continue;
        };
        let passed = verdict.starts_with("ok");
        if !passed && !verdict.starts_with("FAILED") {
            continue;
        }
        let failure = (!passed).then(|| panic_message(&lines, name)).flatten();
        verdicts.push(TestVerdict {
            test: name.trim().to_string(),
            passed,
            failure,
        });
    }
    verdicts
}

/// The message after `thread '...NAME' panicked at ...:`, up to the line that ends it.
fn panic_message(lines: &[&str], name: &str) -> Option<String> {
    let short = name.rsplit("::").next().unwrap_or(name).trim();
    let at = lines
        .iter()
        .position(|line| line.contains("panicked at") && line.contains(short))
        .or_else(|| lines.iter().position(|line| line.contains("panicked at")))?;
    let ends_message = |line: &&str| {
        [
            "note: run with",
            "stack backtrace:",
            "test ",
            "failures:",
            "---- ",
            "thread '",
        ]
        .iter()
        .any(|start| line.starts_with(start))
    };
    let message: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|line| !ends_message(line))
        .take(MESSAGE_LINES)
        .copied()
        .collect();
    let message = message.join("\n").trim().to_string();
    (!message.is_empty()).then_some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_into_models_and_properties() {
        let text = "{\"kind\":\"loom\",\"model\":\"a\",\"test\":\"a_exhaustive\",\"property\":\"p\",\
                    \"scenario\":\"s\",\"executions\":42,\"preemption_bound\":null,\"seconds\":0.01,\
                    \"failure\":null}\n\
                    {\"kind\":\"proptest\",\"test\":\"t\",\"property\":\"q\",\"cases\":16,\"seed\":9}\n";
        let records = parse_records(text).unwrap();
        assert_eq!(records.models.len(), 1);
        assert_eq!(records.models[0].executions, 42);
        assert_eq!(records.models[0].coverage(), "exhaustive");
        assert_eq!(records.properties[0].seed, 9);
        assert!(parse_records("{\"kind\":\"loom\",\"model\":1}").is_err());
    }

    #[test]
    fn verdicts_carry_the_whole_panic_message() {
        let output = "test a_exhaustive ... ok\n\
                      thread 'b_bound_3' (12) panicked at src/x.rs:1:1:\n\
                      Test failed: values differ.\n\
                      minimal failing input: ops = [\n    Push(1),\n]\n\
                      \tsuccesses: 3\n\
                      note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\
                      test b_bound_3 ... FAILED\n\
                      test result: FAILED. 1 passed; 1 failed\n";
        let verdicts = parse_verdicts(output);
        assert_eq!(verdicts.len(), 2);
        assert!(verdicts[0].passed && verdicts[0].failure.is_none());
        assert!(!verdicts[1].passed);
        let failure = verdicts[1].failure.as_deref().unwrap();
        assert!(failure.starts_with("Test failed: values differ."));
        assert!(failure.contains("minimal failing input: ops = [\n    Push(1),\n]"));
        assert!(!failure.contains("RUST_BACKTRACE"));
        assert_eq!(
            verdicts[1].failure_summary(),
            Some("Test failed: values differ.")
        );
    }
}
