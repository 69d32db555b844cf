//! [`Pidfd`]: a child process as a file descriptor (Linux 5.3+), the real [`ChildOs`].
//!
//! A pidfd refers to one process for as long as the descriptor is open, so a signal sent
//! through it can never reach another process that got the same pid later, and `poll` on it
//! turns readable when the process exits, with no signal handler and no busy-waiting. `nix`
//! does not wrap `pidfd_open`, `pidfd_send_signal` or the `PIDFD_GET_INFO` ioctl; they are
//! made here.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
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

    /// The status of the exited process, without blocking, wherever the kernel keeps it: reaped
    /// here if it is a child of this process (ours from the start, or adopted because this
    /// process is a child subreaper), else the record the kernel keeps of a process someone
    /// else reaped (Linux 6.15 and later). `None` if neither has it (yet).
    pub(crate) fn status_now(&self) -> Option<ExitStatus> {
        match waitid(
            Id::PIDFd(self.fd.as_fd()),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG,
        ) {
            Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::Exited(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => Some(ExitStatus::Signaled(signal as i32)),
            _ => self.status_kept_by_kernel(),
        }
    }

    /// Whether the process is an exited child of this process, not reaped yet (left so).
    pub(crate) fn is_unreaped_child(&self) -> bool {
        matches!(
            waitid(
                Id::PIDFd(self.fd.as_fd()),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
            ),
            Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..))
        )
    }

    /// Blocks until the process has been reaped, by anyone, or `timeout` has passed; returns
    /// whether it was reaped.
    pub(crate) fn wait_reaped(&self, timeout: Duration) -> io::Result<bool> {
        // The pidfd reports POLLIN from the exit on and POLLIN | POLLHUP once the process is
        // reaped, so a level-triggered poll would answer at once, again and again. Edge-triggered
        // epoll reports it again only when the kernel wakes the pidfd's waiters, which it does
        // at the reap.
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let interest = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, 0);
        epoll.add(self.fd.as_fd(), interest)?;
        let deadline = Instant::now().checked_add(timeout);
        let mut events = [EpollEvent::empty()];
        loop {
            match epoll.wait(&mut events, poll_timeout(deadline)) {
                Ok(1) if events[0].events().contains(EpollFlags::EPOLLHUP) => return Ok(true),
                Ok(_) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(false),
                Ok(_) | Err(Errno::EINTR) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The exit status the kernel recorded for the process when it was reaped, read through the
    /// pidfd (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, Linux 6.15 and later); `None` before the
    /// reap, or on an older kernel.
    fn status_kept_by_kernel(&self) -> Option<ExitStatus> {
        // SAFETY: `pidfd_info` is plain integers, for which all zeroes is a valid value.
        let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
        info.mask = u64::from(libc::PIDFD_INFO_EXIT);
        // SAFETY: PIDFD_GET_INFO writes at most `size_of::<pidfd_info>()` bytes (the size is
        // part of the request number) into `info`, which lives across the call.
        let done = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::PIDFD_GET_INFO,
                &raw mut info,
            )
        };
        // The kernel sets the bit only if it has the exit record.
        if done == -1 || info.mask & u64::from(libc::PIDFD_INFO_EXIT) == 0 {
            return None;
        }
        let status = info.exit_code; // as `waitpid` gives it
        if libc::WIFEXITED(status) {
            Some(ExitStatus::Exited(libc::WEXITSTATUS(status)))
        } else if libc::WIFSIGNALED(status) {
            Some(ExitStatus::Signaled(libc::WTERMSIG(status)))
        } else {
            None
        }
    }
}

/// How long a status is waited for once the process is known to have exited and to be reaped
/// by someone else: the kernel itself when `SIGCHLD` is ignored (microseconds after the exit),
/// or the new parent of a fork server's worker that outlived its server (init, or a child
/// subreaper, which reaps when it handles its `SIGCHLD`). Past it the status is
/// [`Lost`](ExitStatus::Lost): some inits never reap.
pub(crate) const REAPED_ELSEWHERE_GRACE: Duration = Duration::from_millis(100);

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
                // ECHILD: the kernel reaps it itself (SIGCHLD ignored) or another waiter took
                // it; the kernel may still have its status. Any other answer cannot come for
                // an exited child of ours.
                Ok(_) | Err(_) => {
                    let _ = self.wait_reaped(REAPED_ELSEWHERE_GRACE);
                    return self.status_now().unwrap_or(ExitStatus::Lost);
                }
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
