#![doc = include_str!("../README.md")]

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Mutex, TryLockError};

use nix::libc;

/// The descriptors of the live [`PresenceFd`]s of this process.
static REGISTERED: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// Runs `change` on the registry, waiting for its lock (between threads of one process).
fn with_registry<R>(change: impl FnOnce(&mut Vec<RawFd>) -> R) -> R {
    // A panic while the lock was held left a list that is still a list of numbers.
    let mut registered = REGISTERED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    change(&mut registered)
}

/// A descriptor that stands for its owner's presence in this process, registered for
/// [`give_up_inherited`] while it lives, and closed on drop.
///
/// # Examples
///
/// See the [crate docs](crate#use).
#[derive(Debug)]
pub struct PresenceFd {
    fd: OwnedFd,
}

impl PresenceFd {
    /// Takes `fd` and registers it.
    pub fn new(fd: OwnedFd) -> Self {
        let raw = fd.as_raw_fd();
        with_registry(|registered| registered.push(raw));
        Self { fd }
    }
}

impl AsFd for PresenceFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for PresenceFd {
    fn drop(&mut self) {
        // Unregistered before `fd` closes (after this body), so the registry never names a
        // number that another open could have taken.
        let raw = self.fd.as_raw_fd();
        with_registry(|registered| {
            if let Some(at) = registered.iter().position(|&fd| fd == raw) {
                registered.swap_remove(at);
            }
        });
    }
}

/// In a child made by `fork` that is handed its values explicitly: makes every registered
/// descriptor of this process refer to `/dev/null` (close-on-exec), so that this process no
/// longer holds what the inherited ones stood for; returns how many.
///
/// The [`PresenceFd`]s stay valid: each still owns its number, and dropping it closes
/// `/dev/null`. Their owners' copies in the parent are untouched: a descriptor is this
/// process's own reference to the open file description.
///
/// # Errors
///
/// `/dev/null` could not be opened or duplicated, or another thread held the registry's lock
/// (in a child, one forked while a thread of the parent was registering: the lock stays held
/// for good there, so this answers [`io::ErrorKind::WouldBlock`] instead of waiting).
pub fn give_up_inherited() -> io::Result<usize> {
    let registered = match REGISTERED.try_lock() {
        Ok(registered) => registered,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
    };
    if registered.is_empty() {
        return Ok(0);
    }
    let null = File::open("/dev/null")?;
    for &fd in registered.iter() {
        // SAFETY: a registered `fd` is owned by a live `PresenceFd` (which unregisters under
        // this lock before it closes): `dup3` changes what the number refers to and leaves the
        // number its owner's. `null` is ours, open for the call.
        let result = unsafe { libc::dup3(null.as_raw_fd(), fd, libc::O_CLOEXEC) };
        if result == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(registered.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_lasts_as_long_as_its_descriptor() {
        let count = || with_registry(|registered| registered.len());
        let before = count();
        let held = PresenceFd::new(File::open("/dev/zero").unwrap().into());
        assert_eq!(count(), before + 1);
        drop(held);
        assert_eq!(count(), before);
    }
}
