//! The examples step of `cargo test-all`: every example of the workspace's crates, run to its
//! end (each asserts what it shows). They are built as `cargo test --workspace` built them
//! (debug, the workspace's features), so the step costs their runs, not another build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::command;

/// Builds every example and runs each from its crate's folder; whether all exited with 0.
pub(crate) fn run_all(root: &Path) -> bool {
    let Some(examples) = build(root) else {
        println!("-- the examples did not build");
        return false;
    };
    if examples.is_empty() {
        println!("-- no example was built");
        return false;
    }
    let mut passed = true;
    for (name, binary, dir) in examples {
        println!("-- example {name}");
        if !command::run_through(Command::new(&binary).current_dir(&dir)) {
            println!("-- example {name} FAILED");
            passed = false;
        }
    }
    passed
}

/// `cargo build --workspace --examples`; each example's name, executable and crate folder.
fn build(root: &Path) -> Option<Vec<(String, PathBuf, PathBuf)>> {
    let output = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "build",
            "--workspace",
            "--examples",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let mut examples: Vec<_> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "example"))
        })
        .filter_map(|artifact| {
            let name = artifact["target"]["name"].as_str()?.to_owned();
            let binary = PathBuf::from(artifact["executable"].as_str()?);
            let manifest = Path::new(artifact["manifest_path"].as_str()?);
            Some((name, binary, manifest.parent()?.to_path_buf()))
        })
        .collect();
    examples.sort();
    Some(examples)
}
