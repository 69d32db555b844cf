//! What the sweeps found, file by file: the committed ledger (`verification/orderings.json`),
//! which each run of the command updates for the files it swept, and the report's view of it
//! against today's sources (a survivor's reason is read from its comment as it is now).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sites::{self, Site};

/// Every swept file's last sweep, by path from the workspace's root.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub(crate) files: BTreeMap<String, FileSweep>,
}

/// One file's last sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FileSweep {
    pub(crate) commit: String,
    pub(crate) date: String,
    /// "preemption bound 2", or "each model's own bound".
    pub(crate) bounds: String,
    pub(crate) seconds: f64,
    pub(crate) sites: Vec<Swept>,
}

/// One site as swept, and its verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Swept {
    pub(crate) line: usize,
    pub(crate) call: String,
    pub(crate) ordering: String,
    pub(crate) weakened: String,
    pub(crate) verdict: Verdict,
}

/// What the models said of a weakened ordering.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// A model failed: the test, and its message's first line.
    Killed { by: String, message: String },
    /// Every model whose binary the weakening changed passed.
    Survived { models: usize },
    /// The weakening changed no loom binary of its crate: no model reaches the site.
    Unreached,
    /// The weakened source did not compile (the verdict of no model).
    BuildFailed { error: String },
    /// No model failed, and these ran out of time.
    TimedOut { tests: Vec<String> },
}

impl Verdict {
    /// Whether every model passed with the ordering weakened (or none reached it).
    pub(crate) fn survived(&self) -> bool {
        matches!(self, Self::Survived { .. } | Self::Unreached)
    }
}

impl Swept {
    pub(crate) fn new(site: &Site, verdict: Verdict) -> Self {
        Self {
            line: site.line,
            call: site.call.clone(),
            ordering: site.ordering.clone(),
            weakened: site.weakened.clone(),
            verdict,
        }
    }

    /// Whether `site` (found today) is the same ordering as this one: same call and ordering.
    fn same_as(&self, site: &Site) -> bool {
        self.call == site.call && self.ordering == site.ordering && self.weakened == site.weakened
    }
}

impl Ledger {
    /// The ledger at `path`; empty if there is none.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(_) => Ok(Self::default()),
        }
    }

    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }

    /// Today's sources (`files`, read under `root`) beside their last sweeps.
    pub(crate) fn view(&self, root: &Path, files: &[String]) -> View {
        let mut view = View::default();
        for file in files {
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            let Ok(today) = sites::find(&text) else {
                continue;
            };
            if today.is_empty() {
                continue;
            }
            let Some(sweep) = self.files.get(file) else {
                view.unswept.push((file.clone(), today.len()));
                continue;
            };
            // The sweep holds for today's file if it has the same orderings in the same order
            // (lines may have moved, comments changed); otherwise it is shown as of its commit.
            let current = sweep.sites.len() == today.len()
                && sweep
                    .sites
                    .iter()
                    .zip(&today)
                    .all(|(old, new)| old.same_as(new));
            view.files.push(FileView {
                file: file.clone(),
                commit: sweep.commit.clone(),
                date: sweep.date.clone(),
                bounds: sweep.bounds.clone(),
                current,
            });
            for (index, swept) in sweep.sites.iter().enumerate() {
                let now = current.then(|| &today[index]);
                view.rows.push(Row {
                    file: file.clone(),
                    line: now.map_or(swept.line, |site| site.line),
                    call: swept.call.clone(),
                    ordering: swept.ordering.clone(),
                    weakened: swept.weakened.clone(),
                    reason: now.map_or_else(String::new, |site| site.reason.clone()),
                    explained: now.is_some_and(Site::explained),
                    verdict: swept.verdict.clone(),
                });
            }
        }
        view
    }
}

/// The report's view: each swept site as its file reads today.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct View {
    pub(crate) files: Vec<FileView>,
    pub(crate) rows: Vec<Row>,
    /// The files with orderings that no sweep has covered, and how many each has.
    pub(crate) unswept: Vec<(String, usize)>,
}

/// A swept file: when, at which commit, and whether it still has the orderings swept.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct FileView {
    pub(crate) file: String,
    pub(crate) commit: String,
    pub(crate) date: String,
    pub(crate) bounds: String,
    pub(crate) current: bool,
}

/// One swept site.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Row {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) call: String,
    pub(crate) ordering: String,
    pub(crate) weakened: String,
    /// Its comment today (empty if its file changed since the sweep).
    pub(crate) reason: String,
    /// Whether that comment says it is deliberately stronger than the models can show.
    pub(crate) explained: bool,
    pub(crate) verdict: Verdict,
}

impl View {
    fn count(&self, verdict: fn(&Verdict) -> bool) -> usize {
        self.rows.iter().filter(|r| verdict(&r.verdict)).count()
    }

    /// The survivors whose comment does not say why they are kept.
    pub(crate) fn unexplained(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|row| row.verdict.survived() && !row.explained)
    }

    /// One line: sites swept, killed, survived (unexplained, unreached), the rest.
    pub(crate) fn summary(&self) -> String {
        let killed = self.count(|v| matches!(v, Verdict::Killed { .. }));
        let survived = self.count(Verdict::survived);
        let unreached = self.count(|v| matches!(v, Verdict::Unreached));
        let other = self.rows.len() - killed - survived;
        let unswept: usize = self.unswept.iter().map(|(_, n)| n).sum();
        format!(
            "{} sites swept: {killed} killed, {survived} survived ({} unexplained, {unreached} \
             reached by no model), {other} neither; {unswept} sites in {} files not swept yet",
            self.rows.len(),
            self.unexplained().count(),
            self.unswept.len()
        )
    }

    /// The report's section: the files and their sweeps, every site, the survivors' reasons.
    pub(crate) fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "{}.\n", self.summary());
        for file in &self.files {
            let _ = writeln!(
                out,
                "- `{}`: swept at `{}`, {}, models to {}{}",
                file.file,
                file.commit,
                file.date,
                file.bounds,
                if file.current {
                    ""
                } else {
                    " (**its orderings changed since**: sweep it again)"
                }
            );
        }
        for (file, count) in &self.unswept {
            let _ = writeln!(out, "- `{file}`: {count} sites, not swept yet");
        }
        let _ = writeln!(out, "\n| site | call | ordering | weakened to | verdict |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for row in &self.rows {
            let verdict = match &row.verdict {
                Verdict::Killed { by, .. } => format!("killed by `{by}`"),
                v if v.survived() && row.explained => "survived (explained)".to_owned(),
                Verdict::Unreached => "**survived: no model reaches it**".to_owned(),
                Verdict::Survived { .. } => "**survived, unexplained**".to_owned(),
                Verdict::BuildFailed { .. } => "did not build".to_owned(),
                Verdict::TimedOut { .. } => "timed out".to_owned(),
            };
            let _ = writeln!(
                out,
                "| `{}:{}` | `{}` | {} | {} | {verdict} |",
                row.file, row.line, row.call, row.ordering, row.weakened
            );
        }
        let survivors: Vec<&Row> = self.rows.iter().filter(|r| r.verdict.survived()).collect();
        if !survivors.is_empty() {
            let _ = writeln!(out, "\nThe survivors, with their comments:\n");
            for row in survivors {
                let reason = match row.reason.as_str() {
                    "" => "(no comment)",
                    reason => reason,
                };
                let _ = writeln!(
                    out,
                    "- `{}:{}` ({} {}): {}",
                    row.file,
                    row.line,
                    row.call,
                    row.ordering,
                    reason.replace('|', "\\|")
                );
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_holds_for_a_file_whose_orderings_only_moved() {
        let dir = std::env::temp_dir().join(format!("orderings-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let before = "fn f() {\n    x.load(Ordering::Acquire);\n}\n";
        let after = "fn f() {\n    // ORDERING: Acquire. Beyond the models: a reason.\n    x.load(Ordering::Acquire);\n}\n";
        std::fs::write(dir.join("a.rs"), after).unwrap();
        std::fs::write(
            dir.join("b.rs"),
            "fn g() { y.store(1, Ordering::Release); }\n",
        )
        .unwrap();
        let swept = sites::find(before).unwrap();
        let mut ledger = Ledger::default();
        ledger.files.insert(
            "a.rs".to_owned(),
            FileSweep {
                commit: "abc".to_owned(),
                date: "today".to_owned(),
                bounds: "preemption bound 2".to_owned(),
                seconds: 1.0,
                sites: vec![Swept::new(&swept[0], Verdict::Survived { models: 3 })],
            },
        );
        let view = ledger.view(&dir, &["a.rs".to_owned(), "b.rs".to_owned()]);
        assert!(view.files[0].current);
        assert_eq!(view.rows[0].line, 3, "the line as it is today");
        assert!(view.rows[0].explained);
        assert_eq!(view.unswept, [("b.rs".to_owned(), 1)]);
        assert_eq!(view.unexplained().count(), 0);
        let mut markdown = String::new();
        view.markdown(&mut markdown);
        assert!(
            markdown.contains("| `a.rs:3` | `load` | Acquire | Relaxed | survived (explained) |")
        );
        assert!(markdown.contains("`b.rs`: 1 sites, not swept yet"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
