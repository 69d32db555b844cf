//! What a new child does first, under every start method.

use std::io;

use nix::unistd::{Pid, getppid};

/// In a new child: asks for `SIGKILL` when the parent dies, then checks the parent is still
/// `parent` (it may have died before the request).
pub(crate) fn become_orphan_proof(parent: Pid) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; it touches no memory of ours.
    if unsafe { nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if getppid() != parent {
        return Err(io::Error::other("the parent died before the child started"));
    }
    Ok(())
}

/// Flushes stdout and stderr, so that a fork does not print the parent's buffered output twice
/// and a child's output is not lost at `_exit`.
pub(crate) fn flush_standard_streams() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}
