//! Every path a document cites exists: the links of every Markdown file of the workspace, and
//! the file paths its READMEs and code comments name in backticks. Checked by a test, so a
//! file moved without its citations fails `cargo test`.

#![cfg(test)]

use std::fs;
use std::path::{Path, PathBuf};

/// The extensions of the files a document cites by path.
const CITED: [&str; 8] = ["rs", "md", "toml", "py", "json", "txt", "sh", "stderr"];

/// The Markdown and Rust files of the workspace, outside `target` and hidden folders.
fn documents(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|entry| Some(entry.ok()?.path())) {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                documents(&path, found);
            }
        } else if name.ends_with(".md") || name.ends_with(".rs") {
            found.push(path);
        }
    }
}

/// The links of a Markdown text that point into the repository: `[text](path)`.
fn links(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')')?];
            let local = !target.contains("://")
                && !target.starts_with('#')
                && !target.starts_with("mailto:");
            local.then(|| target.split('#').next().unwrap_or(target).to_owned())
        })
        .filter(|target| !target.is_empty())
        .collect()
}

/// The file paths named in backticks: relative, with a folder, and no pattern or placeholder
/// (a segment in capitals, as in a command's synopsis).
fn cited_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|token| {
            let plain = token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
            let file = Path::new(token)
                .extension()
                .is_some_and(|ext| CITED.contains(&ext.to_string_lossy().as_ref()));
            let placeholder = token.split('/').any(|segment| {
                let stem = segment.split('.').next().unwrap_or(segment);
                !stem.is_empty() && stem.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            });
            plain
                && !placeholder
                && token.contains('/')
                && !token.starts_with('/')
                && !token.starts_with("target/")
                && (file || token.ends_with('/'))
        })
        .map(str::to_owned)
        .collect()
}

/// The nearest folder at or above `file`'s that holds a `Cargo.toml`.
fn crate_of(file: &Path, root: &Path) -> PathBuf {
    file.ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.toml").exists())
        .unwrap_or(root)
        .to_path_buf()
}

#[test]
fn every_path_a_document_cites_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    documents(root, &mut files);
    let mut missing = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let markdown = file.extension().is_some_and(|ext| ext == "md");
        let here = file.parent().unwrap();
        let bases = [here.to_path_buf(), crate_of(file, root), root.to_path_buf()];
        let comments: String = if markdown {
            text.clone()
        } else {
            text.lines()
                .filter(|line| line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut check = |cited: String, bases: &[PathBuf]| {
            if !bases.iter().any(|base| base.join(&cited).exists()) {
                missing.push(format!(
                    "{}: {cited}",
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        };
        if markdown {
            for link in links(&text) {
                check(link, &bases[..1]);
            }
        }
        for cited in cited_paths(&comments) {
            check(cited, &bases);
        }
    }
    assert!(files.len() > 100, "the walk found the workspace's files");
    assert!(
        missing.is_empty(),
        "cited but missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn links_and_backticked_paths_are_found_and_urls_left_alone() {
    let text = "see [the report](../verification/REPORT.md#suites), [loom](https://docs.rs/loom), \
                `src/ring/loom_models/`, `tests/loom_*.rs`, `/proc/self/fd`, `Queue::new`, `a.rs`, \
                `DIR/MODEL.json`";
    assert_eq!(links(text), ["../verification/REPORT.md"]);
    assert_eq!(cited_paths(text), ["src/ring/loom_models/"]);
}
