//! Reading what the suites produced: the loom records that `model-check` writes, libtest's
//! verdict lines, and `.ci/mutants`' verdict line.

use serde::{Deserialize, Serialize};

/// One explored loom model, as `model-check` records it (one JSON line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelRecord {
    pub(crate) model: String,
    pub(crate) executions: u64,
    /// `None`: exhaustive.
    pub(crate) preemption_bound: Option<u32>,
    pub(crate) seconds: f64,
}

impl ModelRecord {
    /// "exhaustive" or "complete up to N preemptions".
    pub(crate) fn coverage(&self) -> String {
        match self.preemption_bound {
            None => "exhaustive".to_string(),
            Some(n) => format!("complete up to {n} preemptions"),
        }
    }
}

/// Parses the records file: one JSON object a line; a line that does not parse is an error.
pub(crate) fn parse_records(text: &str) -> Result<Vec<ModelRecord>, String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(|e| format!("bad record {line:?}: {e}")))
        .collect()
}

/// A test's verdict, from libtest's (or our `harness = false` runners') output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TestVerdict {
    pub(crate) test: String,
    pub(crate) passed: bool,
    /// For a failed test: the first line of its panic message (the counterexample's summary).
    pub(crate) failure: Option<String>,
}

/// The verdicts in a `cargo test` output: every `test NAME ... ok|FAILED` line, with the
/// first line of each failed test's panic message.
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
        let failure = (!passed).then(|| first_panic_line(&lines, name)).flatten();
        verdicts.push(TestVerdict {
            test: name.trim().to_string(),
            passed,
            failure,
        });
    }
    verdicts
}

/// The line after `thread '...NAME' panicked at ...`: the panic message's first line.
fn first_panic_line(lines: &[&str], name: &str) -> Option<String> {
    let short = name.rsplit("::").next().unwrap_or(name).trim();
    let at = lines
        .iter()
        .position(|line| line.contains("panicked at") && line.contains(short))
        .or_else(|| lines.iter().position(|line| line.contains("panicked at")))?;
    lines.get(at + 1).map(|line| line.trim().to_string())
}

/// The verdict line `.ci/mutants NAME` prints: `Some(first failure)` if the mutant was
/// killed, `None` if it survived or the run failed for another reason.
pub(crate) fn parse_mutant_line(output: &str) -> Option<String> {
    let line = output.lines().find(|line| line.starts_with("- mutant "))?;
    let (_, killed) = line.split_once("killed by ")?;
    Some(killed.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_and_say_their_coverage() {
        let text = "{\"model\":\"a\",\"executions\":42,\"preemption_bound\":null,\"seconds\":0.010}\n\
                    {\"model\":\"b\",\"executions\":7,\"preemption_bound\":3,\"seconds\":1.5}\n";
        let records = parse_records(text).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].coverage(), "exhaustive");
        assert_eq!(records[1].coverage(), "complete up to 3 preemptions");
        assert_eq!(records[1].executions, 7);
        assert!(parse_records("{\"model\":1}").is_err());
    }

    #[test]
    fn verdicts_carry_the_first_line_of_a_failure() {
        let output = "test a_exhaustive ... ok\n\
                      thread 'b_bound_3' (12) panicked at src/x.rs:1:1:\n\
                      deadlock; threads = [..]\n\
                      test b_bound_3 ... FAILED\n\
                      test result: FAILED. 1 passed; 1 failed\n";
        let verdicts = parse_verdicts(output);
        assert_eq!(verdicts.len(), 2);
        assert!(verdicts[0].passed);
        assert!(!verdicts[1].passed);
        assert_eq!(
            verdicts[1].failure.as_deref(),
            Some("deadlock; threads = [..]")
        );
    }

    #[test]
    fn a_surviving_mutant_has_no_kill_line() {
        assert_eq!(
            parse_mutant_line(
                "- mutant x   killed by queue-core --test loom_queue (1 models failed): boom\n"
            ),
            Some("queue-core --test loom_queue (1 models failed): boom".to_string())
        );
        assert_eq!(
            parse_mutant_line("- mutant x   SURVIVED: the models passed\n"),
            None
        );
    }
}
