//! The suites, found where they live: every test file (`tests/*.rs`) and every module of a
//! member crate whose docs have a `# Verification` section is a suite. The section says what
//! the suite proves, next to the models and tests that prove it:
//!
//! ```text
//! //! # Verification
//! //!
//! //! - Checker: loom
//! //! - Primitive: Queue (the ring)
//! //! - Proves: every history of pushes and pops ...
//! //!   (an item goes on over indented lines)
//! //! - Cannot prove: capacities 1-2 ...
//! ```
//!
//! Where loom models live, one home per kind: a model of the public API is a test file
//! `tests/loom_<what>.rs` (it sees the crate as a user does); a model that needs the crate's
//! insides (its crash points, a fake kernel) is a module `src/<module>/loom_models` beside the
//! code it models, compiled only for `cfg(all(test, loom))`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::checks::Checker;

/// One suite: a `cargo test` invocation, and what it proves.
#[derive(Clone, Debug)]
pub(crate) struct Suite {
    pub(crate) name: String,
    pub(crate) primitive: String,
    pub(crate) checker: Checker,
    /// What it proves, in one sentence.
    pub(crate) property: String,
    /// What it cannot prove.
    pub(crate) gaps: String,
    /// `cargo test` arguments after `--release`.
    pub(crate) args: Vec<String>,
    /// The file that declares it, relative to the workspace root.
    pub(crate) declared_in: PathBuf,
}

/// Every suite of the workspace's members, in the order they run: by checker (loom first),
/// then by crate and name.
pub(crate) fn discover(root: &Path) -> Result<Vec<Suite>, String> {
    let mut suites = Vec::new();
    for member in members(root)? {
        let dir = root.join(&member);
        for file in rust_files(&dir.join("tests"), false) {
            if let Some(section) = section_of(&file)? {
                let stem = stem(&file);
                let args = vec!["-p".into(), member.clone(), "--test".into(), stem.clone()];
                suites.push(suite(root, &member, stem, args, &file, &section)?);
            }
        }
        let src = dir.join("src");
        for file in rust_files(&src, true) {
            if let Some(section) = section_of(&file)? {
                let module = module_path(&src, &file);
                let args = vec!["-p".into(), member.clone(), "--lib".into(), module.clone()];
                suites.push(suite(root, &member, module, args, &file, &section)?);
            }
        }
    }
    suites.sort_by(|a, b| {
        (a.checker.rank(), &a.args[1], &a.name).cmp(&(b.checker.rank(), &b.args[1], &b.name))
    });
    Ok(suites)
}

/// The workspace's members, from its `Cargo.toml`.
pub(crate) fn members(root: &Path) -> Result<Vec<String>, String> {
    let manifest = read(&root.join("Cargo.toml"))?;
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .ok_or("the workspace's Cargo.toml has no `members = [...]`")?
        .0;
    Ok(list
        .split(',')
        .map(|member| member.trim().trim_matches('"').to_owned())
        .filter(|member| !member.is_empty())
        .collect())
}

/// The `.rs` files in `dir`, sorted, and in its subdirectories if `deep`.
fn rust_files(dir: &Path, deep: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return files;
    };
    for path in entries.filter_map(|entry| Some(entry.ok()?.path())) {
        if path.is_dir() {
            if deep {
                files.extend(rust_files(&path, true));
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn stem(file: &Path) -> String {
    file.file_stem()
        .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned())
}

/// The module path of a file under `src` (`ring::loom_models` for its `mod.rs` or for a file
/// of that name).
fn module_path(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// The items of the `# Verification` section of `file`'s leading `//!` docs, if it has one.
fn section_of(file: &Path) -> Result<Option<Vec<(String, String)>>, String> {
    let text = read(file)?;
    let docs = text
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line));
    let mut items: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    for line in docs {
        if line.starts_with('#') {
            inside = line.trim_start_matches('#').trim() == "Verification";
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(item) = line.strip_prefix("- ") {
            let (key, value) = item
                .split_once(": ")
                .ok_or_else(|| format!("{}: `{line}` is not `- Key: value`", file.display()))?;
            items.push((key.to_owned(), value.to_owned()));
        } else if let Some(more) = line.strip_prefix("  ") {
            let (_, value) = items
                .last_mut()
                .ok_or_else(|| format!("{}: an indented line before any item", file.display()))?;
            value.push(' ');
            value.push_str(more.trim());
        }
    }
    Ok((!items.is_empty()).then_some(items))
}

fn suite(
    root: &Path,
    member: &str,
    what: String,
    args: Vec<String>,
    file: &Path,
    section: &[(String, String)],
) -> Result<Suite, String> {
    let field = |key: &str| {
        section
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| {
                format!(
                    "{}: its Verification section has no `{key}`",
                    file.display()
                )
            })
    };
    let checker = field("Checker")?;
    let checker = Checker::named(&checker)
        .ok_or_else(|| format!("{}: no checker is called `{checker}`", file.display()))?;
    Ok(Suite {
        name: format!("{member} {what}"),
        primitive: field("Primitive")?,
        checker,
        property: field("Proves")?,
        gaps: field("Cannot prove")?,
        args,
        declared_in: file.strip_prefix(root).unwrap_or(file).to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    #[test]
    fn every_loom_model_and_test_file_of_the_cores_declares_its_suite() {
        let suites = discover(&root()).unwrap();
        let declared: Vec<_> = suites
            .iter()
            .map(|suite| suite.declared_in.clone())
            .collect();
        for crate_dir in ["queue-core", "spawn-core", "process-pool", "demos"] {
            for file in rust_files(&root().join(crate_dir).join("tests"), false) {
                let relative = file.strip_prefix(root()).unwrap().to_path_buf();
                assert!(
                    declared.contains(&relative),
                    "{} declares no suite",
                    relative.display()
                );
            }
        }
        for model in [
            "queue-core/src/ring/loom_models/mod.rs",
            "spawn-core/src/lifecycle/loom_models.rs",
        ] {
            assert!(
                declared.contains(&PathBuf::from(model)),
                "{model} declares no suite"
            );
        }
        let loom = suites
            .iter()
            .filter(|suite| suite.checker == Checker::Loom)
            .count();
        assert_eq!(loom, 5, "{suites:#?}");
        assert_eq!(suites[0].checker, Checker::Loom, "loom runs first");
    }

    #[test]
    fn a_section_reads_items_over_several_lines() {
        let dir = std::env::temp_dir().join(format!("suites-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.rs");
        fs::write(
            &file,
            "//! Intro.\n//!\n//! # Verification\n//!\n//! - Checker: loom\n//! - Proves: one\n//!   two\n//!\n//! # Other\n//! - Not: this\nfn main() {}\n",
        )
        .unwrap();
        let items = section_of(&file).unwrap().unwrap();
        assert_eq!(
            items,
            [
                ("Checker".into(), "loom".into()),
                ("Proves".into(), "one two".into())
            ]
        );
        fs::write(&file, "//! - Checker: loom\n").unwrap();
        assert_eq!(
            section_of(&file).unwrap(),
            None,
            "outside a Verification section"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
