//! What every start method is given: the options, the panic report pipe, and (for a child
//! that does not share this process's memory) the argument's memory file.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

use nix::fcntl::OFlag;
use nix::sys::memfd::{MFdFlags, memfd_create};

/// Options that every start method honours.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ChildOptions {
    /// The child gets `SIGKILL` when this process dies (`PR_SET_PDEATHSIG`).
    pub(crate) die_with_parent: bool,
}

/// The pipe on which a child reports its target's panic message: the parent keeps the read
/// end (non-blocking, read once the child has ended), the child gets the write end.
pub(crate) struct ReportPipe {
    pub(crate) read: OwnedFd,
    pub(crate) write: OwnedFd,
}

impl ReportPipe {
    pub(crate) fn new() -> io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        Ok(Self { read, write })
    }
}

/// A memory file holding `arguments`, for a child started by exec or by the fork server: any
/// size, never blocks, gone with the last close.
pub(crate) fn arguments_file(arguments: &[u8]) -> io::Result<std::fs::File> {
    let file = std::fs::File::from(memfd_create(
        c"spawn-core-arguments",
        MFdFlags::MFD_CLOEXEC,
    )?);
    file.write_all_at(arguments, 0)?;
    Ok(file)
}
