//! The libraries build with the Rust their `rust-version` names (1.85), which this machine's
//! newer toolchain cannot show by building: the syntax stabilised since is looked for in their
//! sources. `clippy` already holds their use of the standard library to that version.

#![cfg(test)]

use std::fs;
use std::path::Path;

/// Syntax newer than 1.85, with the release that made it stable.
const NEWER: [(&str, &str); 1] = [("&& let ", "let chains, Rust 1.88")];

fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for path in fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(entry.ok()?.path()))
    {
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_libraries_use_no_syntax_newer_than_their_rust_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for library in [
        "queue-core",
        "spawn-core",
        "fd-carrier",
        "fd-presence",
        "message-codec",
    ] {
        sources(&root.join(library).join("src"), &mut files);
    }
    assert!(files.len() > 50, "the walk found the libraries' sources");
    let mut found = Vec::new();
    for file in &files {
        for (number, line) in fs::read_to_string(file).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap_or(line);
            for (syntax, since) in NEWER {
                if code.contains(syntax) {
                    found.push(format!("{}:{}: {since}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "newer than the libraries' rust-version:\n{}",
        found.join("\n")
    );
}
