//! The handover of descriptors carried in an argument: a child that received some says so on
//! its report pipe once its argument has taken them, and `Process::start` returns only then.
//!
//! Until that word the parent keeps its own argument, so a value that stands for a share of
//! something (a queue handle counted as one of the queue's producers) is never released by the
//! parent before the child holds its own: a consumer is never told "every producer has gone"
//! about a handle still in transit.

use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::children::Child;
use crate::exit_code::TAKEN;

/// Waits until `child` has said on `report` that its argument took its descriptors, or has
/// ended (its argument failed to decode, or it was killed), whichever comes first; returns the
/// bytes of the report read meanwhile that are not that word (the start of a failure report).
pub(crate) fn wait_until_taken(child: &Child, report: &OwnedFd) -> io::Result<Vec<u8>> {
    let mut read = Vec::new();
    loop {
        let ended = {
            let mut fds = [
                PollFd::new(report.as_fd(), PollFlags::POLLIN),
                PollFd::new(child.sentinel(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(error) => return Err(error.into()),
            }
            fds[1].revents().is_some_and(|events| !events.is_empty())
        };
        let closed = read_available(report, &mut read)?;
        if read.first() == Some(&TAKEN) {
            read.remove(0);
            return Ok(read);
        }
        if ended || closed || !read.is_empty() {
            return Ok(read);
        }
    }
}

/// Appends what `report` (non-blocking) holds now to `read`; whether its write end is closed.
fn read_available(report: &OwnedFd, read: &mut Vec<u8>) -> io::Result<bool> {
    let mut pipe = std::fs::File::from(report.try_clone()?);
    let mut buffer = [0; 512];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => return Ok(true),
            Ok(count) => read.extend_from_slice(&buffer[..count]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}
