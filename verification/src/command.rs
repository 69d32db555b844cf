//! Running a `cargo` command: captured for the report, with its progress lines shown as they
//! come, or with its output passed straight through.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

/// What a captured command printed, and whether it succeeded.
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) success: bool,
    /// Its standard output, then its standard error.
    pub(crate) text: String,
}

/// Whether a line of a suite's output is progress worth showing while the suite runs: the
/// loom models' lines (`loom model NAME: ...`, every few seconds in a long model, and once
/// at its end) and libtest's verdicts.
pub(crate) fn is_progress(line: &str) -> bool {
    line.starts_with("loom model ") || (line.starts_with("test ") && line.contains(" ... "))
}

/// Runs `command` with its output captured, printing each progress line (see
/// [`is_progress`]) as it arrives, indented.
pub(crate) fn run_captured(command: &mut Command) -> std::io::Result<Captured> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (lines, received) = mpsc::channel::<(bool, String)>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|out| Box::new(out) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .enumerate()
    .map(|(stream, pipe)| {
        let lines = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if lines.send((stream == 1, line)).is_err() {
                    break;
                }
            }
        })
    })
    .collect();
    drop(lines);
    let (mut stdout, mut stderr) = (String::new(), String::new());
    for (is_stderr, line) in received {
        if is_progress(&line) {
            println!("    {line}");
        }
        let text = if is_stderr { &mut stderr } else { &mut stdout };
        text.push_str(&line);
        text.push('\n');
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait()?;
    Ok(Captured {
        success: status.success(),
        text: format!("{stdout}\n{stderr}"),
    })
}

/// Runs `command` with its output passed through; whether it succeeded.
pub(crate) fn run_through(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_the_models_and_the_verdicts() {
        assert!(is_progress("loom model spsc: 1024 executions so far, 20 s"));
        assert!(is_progress("test spsc_exhaustive ... ok"));
        assert!(!is_progress("   Compiling queue-core v0.1.0"));
        assert!(!is_progress("test result: ok. 3 passed"));
    }

    #[test]
    fn a_captured_command_keeps_both_streams_and_its_status() {
        let captured =
            run_captured(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
                .unwrap();
        assert!(!captured.success);
        assert!(captured.text.contains("out\n") && captured.text.contains("err\n"));
    }
}
