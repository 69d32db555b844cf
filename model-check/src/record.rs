//! The records: what a model or a property reports, one JSON line each.

use std::io::Write as _;

use serde::{Deserialize, Serialize};

use crate::RESULTS_VAR;

/// How a model is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// No preemption bound (nor any duration or permutation limit): loom explores every
    /// execution.
    Exhaustive,
    /// At most this many preemptions per execution: complete up to that bound.
    Preemptions(usize),
}

impl Bound {
    /// How the report words it.
    pub fn describe(self) -> String {
        match self {
            Self::Exhaustive => "exhaustive".to_string(),
            Self::Preemptions(n) => format!("preemption bound {n}"),
        }
    }

    /// The bound as recorded: `None` for exhaustive.
    pub fn preemptions(self) -> Option<usize> {
        match self {
            Self::Exhaustive => None,
            Self::Preemptions(n) => Some(n),
        }
    }
}

/// One line of a results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A loom model.
    Loom(ModelRecord),
    /// A proptest property.
    Proptest(PropertyRecord),
}

/// One explored loom model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The model's name.
    pub model: String,
    /// The test that ran it (libtest's name for it).
    pub test: String,
    /// What every execution checks, in one sentence.
    pub property: String,
    /// The threads, capacity and operations.
    pub scenario: String,
    /// How many executions loom ran (up to and including the failing one, if any).
    pub executions: u64,
    /// The preemption bound; `None`: exhaustive.
    pub preemption_bound: Option<usize>,
    /// Wall time.
    pub seconds: f64,
    /// Why the model failed, if it did.
    pub failure: Option<Failure>,
}

impl ModelRecord {
    /// "exhaustive" or "complete up to N preemptions" (for a model that passed).
    pub fn coverage(&self) -> String {
        match self.preemption_bound {
            None => "exhaustive".to_string(),
            Some(n) => format!("complete up to {n} preemptions"),
        }
    }
}

/// A model's failing execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The failing execution's number, counting from 1 in loom's exploration order.
    pub execution: u64,
    /// The panic message: the model's assertion, or loom's ("deadlock", "Causality violation").
    pub message: String,
    /// loom's checkpoint of the failing execution, if checkpoints were kept.
    pub checkpoint: Option<String>,
}

/// One proptest property, as configured by [`property_config`](crate::property_config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyRecord {
    /// The property's test.
    pub test: String,
    /// What it checks, in one sentence.
    pub property: String,
    /// How many cases it runs.
    pub cases: u32,
    /// The random generator's seed: `PROPTEST_RNG_SEED=<seed>` runs the same cases again.
    pub seed: u64,
}

impl Entry {
    /// Appends the entry to the file named by [`RESULTS_VAR`], if it is set.
    ///
    /// # Panics
    ///
    /// If the file cannot be written: a record silently lost would make the report lie.
    pub fn append(&self) {
        let Ok(path) = std::env::var(RESULTS_VAR) else {
            return;
        };
        let line = serde_json::to_string(self).expect("records serialise") + "\n";
        // One write of the whole line, so that lines appended by threads at once stay whole.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()))
            .unwrap_or_else(|error| panic!("{RESULTS_VAR}={path}: cannot append: {error}"));
    }
}

/// Parses a results file: one JSON object a line; a line that does not parse is an error.
pub fn parse_entries(text: &str) -> Result<Vec<Entry>, String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(|e| format!("bad record {line:?}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(bound: Option<usize>, failure: Option<Failure>) -> Entry {
        Entry::Loom(ModelRecord {
            model: "m".to_string(),
            test: "m_exhaustive".to_string(),
            property: "p \"quoted\"".to_string(),
            scenario: "s".to_string(),
            executions: 42,
            preemption_bound: bound,
            seconds: 0.5,
            failure,
        })
    }

    #[test]
    fn entries_round_trip_through_json_lines() {
        let failure = Failure {
            execution: 7,
            message: "deadlock; threads = [..]".to_string(),
            checkpoint: Some("dir/m.json".to_string()),
        };
        let entries = vec![
            model(None, None),
            model(Some(3), Some(failure)),
            Entry::Proptest(PropertyRecord {
                test: "t".to_string(),
                property: "p".to_string(),
                cases: 1024,
                seed: u64::MAX,
            }),
        ];
        let text: String = entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        assert_eq!(parse_entries(&text).unwrap(), entries);
        assert!(text.starts_with("{\"kind\":\"loom\""));
    }

    #[test]
    fn a_bad_line_is_an_error_and_coverage_is_worded() {
        assert!(parse_entries("{\"kind\":\"loom\",\"model\":1}").is_err());
        let Entry::Loom(exhaustive) = model(None, None) else {
            unreachable!()
        };
        assert_eq!(exhaustive.coverage(), "exhaustive");
        let Entry::Loom(bounded) = model(Some(3), None) else {
            unreachable!()
        };
        assert_eq!(bounded.coverage(), "complete up to 3 preemptions");
    }
}
