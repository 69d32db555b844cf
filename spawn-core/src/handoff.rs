//! The spawn start method's hand-off: how a parent tells a child started by `exec` which
//! entry point to run, where its arguments are, and where to report a panic. The parent's
//! side is in `start`, the child's in `init`.

use std::io::Read;
use std::os::fd::{FromRawFd, RawFd};

/// Names the entry point a spawned child runs.
pub(crate) const ENTRY_VAR: &str = "SPAWN_CORE_ENTRY";
/// Names the descriptor a spawned child reads its arguments from.
pub(crate) const ARGS_FD_VAR: &str = "SPAWN_CORE_ARGS_FD";
/// Names the descriptor a spawned child reports its target's panic message on.
pub(crate) const REPORT_FD_VAR: &str = "SPAWN_CORE_REPORT_FD";

/// In a spawned child: the descriptor its parent left open for its panic report, if any.
pub(crate) fn report_fd() -> Option<RawFd> {
    std::env::var(REPORT_FD_VAR).ok()?.parse().ok()
}

/// Reads the serialized arguments from the descriptor the parent left open for us.
pub(crate) fn read_arguments() -> std::io::Result<Vec<u8>> {
    let fd: i32 = std::env::var(ARGS_FD_VAR)
        .ok()
        .and_then(|fd| fd.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("{ARGS_FD_VAR} is not set")))?;
    // SAFETY: the parent's spawn passed this descriptor, open and ours alone (see
    // `spawn::command`); nothing else in this fresh program owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut arguments = Vec::new();
    file.read_to_end(&mut arguments)?;
    Ok(arguments)
}
