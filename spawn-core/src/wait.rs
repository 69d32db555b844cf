//! [`wait`]: waiting for the first of several children to end, Python's
//! `multiprocessing.connection.wait` on the children's sentinels.

use std::io;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, poll};

use crate::pidfd::poll_timeout;
use crate::process::ProcessHandle;

/// Waits until at least one of `children` has ended, or `timeout` has passed (`None`: no
/// limit), and returns the indices (into `children`) of all that have ended, in order: empty
/// if the timeout passed first. One `poll` of every child's pidfd (of a fork server's worker,
/// of the socket its status comes on); nothing is reaped, and an ended child's status is
/// ready, so [`exit_status`](ProcessHandle::exit_status) then gives it at once. A child that
/// had already ended (or been joined) counts as ended.
///
/// # Errors
///
/// The kernel's error, if `poll` fails.
///
/// # Examples
///
/// ```no_run
/// use spawn_core::{Entry, Process, entry};
/// use std::time::Duration;
///
/// fn nap(millis: u64) {
///     std::thread::sleep(Duration::from_millis(millis));
/// }
/// const NAP: Entry<u64> = entry!(nap);
///
/// spawn_core::init(&[&NAP]);
/// let children: Vec<_> = [300, 10, 200]
///     .map(|millis| Process::new(NAP, millis).start().unwrap())
///     .into_iter()
///     .collect();
/// let all: Vec<_> = children.iter().collect();
/// let ended = spawn_core::wait(&all, Some(Duration::from_secs(5))).unwrap();
/// assert_eq!(ended, [1]); // the 10 ms nap
/// ```
pub fn wait(children: &[&ProcessHandle], timeout: Option<Duration>) -> io::Result<Vec<usize>> {
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    loop {
        let mut fds: Vec<PollFd<'_>> = children
            .iter()
            .map(|child| PollFd::new(child.sentinel(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, poll_timeout(deadline)) {
            Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(Vec::new()),
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => {
                return Ok(fds
                    .iter()
                    .enumerate()
                    .filter(|(_, fd)| fd.revents().is_some_and(|events| !events.is_empty()))
                    .map(|(index, _)| index)
                    .collect());
            }
            Err(error) => return Err(error.into()),
        }
    }
}
