//! Whether a handle of a role exists anywhere, as the kernel keeps count: the answer behind
//! `Disconnected`.
//!
//! Each handle opens the queue's memory file once more, for an open file description of its
//! own, and takes a shared open-file-description lock (`F_OFD_SETLK`, `F_RDLCK`) on one byte
//! per role it has, far past the file's end. The kernel keeps such a lock for as long as some
//! descriptor in some process refers to that description, and drops it when the last one
//! closes. So the lock lives exactly as long as the handle does, wherever it went:
//!
//! - dropping the handle closes the descriptor;
//! - a process that dies, however, or that calls `exec` (the descriptor is close-on-exec),
//!   loses it;
//! - a child made by `fork`, by any means, shares the description: a handle it inherited
//!   (captured by a closure, say) keeps the role present while it exists in either process,
//!   including the moment between the fork and the child's first call, before the child has
//!   taken an entry of its own. The child's first call takes a presence of its own.
//! - a child made by fork that is handed its values explicitly (spawn-core's fork start
//!   method, whose child runs an entry point with its argument) gives up the presences it
//!   inherited ([`fd_presence::give_up_inherited`]): the parent's handles are unreachable
//!   there, and must not keep their roles present until the child exits.
//!
//! A side is gone when nobody holds its byte: a test for a conflicting exclusive lock
//! (`F_OFD_GETLK`) finds none. The kernel takes and tests these locks under one lock of its
//! own, so a release (after the handle's last push) happens before a test that finds it
//! released (before the caller reads the cursors).
//!
//! A peer that holds a byte for ever only keeps a side present (as a live participant that
//! never calls does); one that holds it exclusively makes a new handle's `create`, `attach` or
//! clone fail with an error. Neither is more than the trust model already allows.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use fd_presence::PresenceFd;

use nix::fcntl::{FcntlArg, fcntl};
use nix::libc;

use super::participants::Roles;
use crate::ring::Side;

/// The byte whose lock says a producer exists: past any file a queue can have.
const PRODUCERS_BYTE: i64 = 1 << 62;
/// The byte whose lock says a consumer exists.
const CONSUMERS_BYTE: i64 = PRODUCERS_BYTE + 1;

/// The lock request of `kind` on the byte of `side`.
fn request(kind: libc::c_int, side: Side) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers, for which zeros are valid.
    let mut lock: libc::flock = unsafe { core::mem::zeroed() };
    lock.l_type = kind as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = match side {
        Side::Push => PRODUCERS_BYTE,
        Side::Pop => CONSUMERS_BYTE,
    };
    lock.l_len = 1;
    lock
}

/// One handle's presence: its own open file description of the queue's memory file, holding
/// the bytes of its roles.
#[derive(Debug)]
pub(crate) struct Presence {
    /// Kept open only to hold the locks: dropping it (in the last process that has it)
    /// releases them.
    _description: PresenceFd,
}

impl Presence {
    /// Opens a description of `file` of its own and takes the bytes of `roles`.
    pub(crate) fn take(file: BorrowedFd<'_>, roles: Roles) -> io::Result<Self> {
        // A new open of the same file is a new description (a `dup` would share ours, and
        // with it the locks of every handle of this process). Close-on-exec, as `File`s are.
        let description: OwnedFd =
            File::open(format!("/proc/self/fd/{}", file.as_raw_fd()))?.into();
        for side in [Side::Push, Side::Pop] {
            if roles.has(side) {
                fcntl(
                    description.as_fd(),
                    FcntlArg::F_OFD_SETLK(&request(libc::F_RDLCK, side)),
                )?;
            }
        }
        Ok(Self {
            _description: PresenceFd::new(description),
        })
    }

    /// Whether no handle that claims on `side` exists in any process, as the lock test on
    /// `file` (any description of the queue's file) finds.
    ///
    /// A test that fails (it does not, for a valid descriptor) answers "present": a side is
    /// only ever declared gone on the kernel's word.
    pub(crate) fn side_gone(file: BorrowedFd<'_>, side: Side) -> bool {
        let mut probe = request(libc::F_WRLCK, side);
        // A description that held a byte itself would not see its own lock as a conflict:
        // `file` is the region's, which holds none.
        fcntl(file, FcntlArg::F_OFD_GETLK(&mut probe)).is_ok()
            && probe.l_type == libc::F_UNLCK as libc::c_short
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn memory_file() -> OwnedFd {
        nix::sys::memfd::memfd_create(c"presence", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .unwrap()
    }

    #[test]
    fn a_role_is_present_while_a_handle_of_it_holds_its_byte() {
        let file = memory_file();
        assert!(Presence::side_gone(file.as_fd(), Side::Push));
        assert!(Presence::side_gone(file.as_fd(), Side::Pop));
        let producer = Presence::take(file.as_fd(), Roles::PRODUCER).unwrap();
        let both = Presence::take(file.as_fd(), Roles::BOTH).unwrap();
        assert!(!Presence::side_gone(file.as_fd(), Side::Push));
        assert!(!Presence::side_gone(file.as_fd(), Side::Pop));
        drop(both);
        assert!(!Presence::side_gone(file.as_fd(), Side::Push));
        assert!(Presence::side_gone(file.as_fd(), Side::Pop));
        drop(producer);
        assert!(Presence::side_gone(file.as_fd(), Side::Push));
    }
}
