//! [`Pidfd`]: a child process as a file descriptor (Linux 5.3+), the real [`ChildOs`].
//!
//! A pidfd refers to one process for as long as the descriptor is open, so a signal sent
//! through it can never reach another process that got the same pid later, and `poll` on it
//! turns readable when the process exits, with no signal handler and no busy-waiting. `nix`
//! does not wrap `pidfd_open` or `pidfd_send_signal`; the two system calls are made here.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use crate::lifecycle::ChildOs;
use crate::status::ExitStatus;

/// A process, held by a pidfd.
#[derive(Debug)]
pub(crate) struct Pidfd {
    fd: OwnedFd,
    pid: Pid,
}

impl Pidfd {
    /// Opens a pidfd for `pid`, a child of this process that nobody has reaped: it stays a
    /// zombie until we reap it, so `pid` cannot have been reused in between.
    pub(crate) fn open(pid: Pid) -> io::Result<Self> {
        let raw = retry_on_eintr(|| {
            // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor; it touches
            // no memory of ours.
            unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) }
        })?;
        let raw = i32::try_from(raw).map_err(|_| io::Error::other("pidfd_open: bad descriptor"))?;
        // SAFETY: `raw` is a descriptor the kernel just opened for us and nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd, pid })
    }

    /// A pidfd received from the process that opened it (the fork server).
    pub(crate) fn from_parts(fd: OwnedFd, pid: Pid) -> Self {
        Self { fd, pid }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> Pid {
        self.pid
    }

    /// The descriptor, to poll beside others or to pass to another process.
    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `poll`'s timeout for a wait until `deadline`: none for no deadline (or one too far away to
/// represent), else the time left, rounded up so that a wait never ends before its deadline.
pub(crate) fn poll_timeout(deadline: Option<Instant>) -> PollTimeout {
    let Some(deadline) = deadline else {
        return PollTimeout::NONE;
    };
    let millis = deadline
        .saturating_duration_since(Instant::now())
        .as_nanos()
        .div_ceil(1_000_000);
    PollTimeout::try_from(millis.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
}

/// Blocks until `fd` is readable (a pidfd: its process has exited) or `timeout` has passed
/// (`None`: no limit). Returns whether it is readable.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, poll_timeout(deadline)) {
            Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(false),
            Ok(0) => {}
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

impl ChildOs for Pidfd {
    fn wait_exited(&self, timeout: Option<Duration>) -> io::Result<bool> {
        wait_readable(self.fd.as_fd(), timeout)
    }

    fn reap(&self) -> ExitStatus {
        loop {
            match waitid(Id::PIDFd(self.fd.as_fd()), WaitPidFlag::WEXITED) {
                Ok(WaitStatus::Exited(_, code)) => return ExitStatus::Exited(code),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    return ExitStatus::Signaled(signal as i32);
                }
                Err(Errno::EINTR) => {}
                // ECHILD: the kernel discarded the status (SIGCHLD ignored) or another waiter
                // took it. Any other answer cannot come for an exited child of ours.
                Ok(_) | Err(_) => return ExitStatus::Lost,
            }
        }
    }

    fn send_signal(&self, signal: i32) -> io::Result<()> {
        retry_on_eintr(|| {
            // SAFETY: pidfd_send_signal takes a descriptor we own, a signal number, a null
            // siginfo (the kernel fills in a default one) and flags; it touches no memory of
            // ours.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    self.fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            }
        })
        .map(drop)
    }
}

/// Runs a raw system call until it is not interrupted; `-1` becomes the `errno` error.
fn retry_on_eintr(mut call: impl FnMut() -> libc::c_long) -> io::Result<libc::c_long> {
    loop {
        let result = call();
        if result != -1 {
            return Ok(result);
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINTR) {
            return Err(error);
        }
    }
}
