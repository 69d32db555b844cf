//! The fork server itself: a fresh, single-threaded run of this program that forks a worker
//! for each request, reaps its workers and sends each one's status to the parent.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::unistd::ForkResult;

use super::protocol::{
    MAX_REQUEST, REPORT_IN_WORKER, REQUEST_FDS, decode_request, encode_status, receive_with_fds,
    send_with_fds,
};
use crate::entry::Registered;
use crate::exit_code::report_panics_to;
use crate::lifecycle::ChildOs;
use crate::pidfd::Pidfd;
use crate::start::child::{become_orphan_proof, flush_standard_streams};
use crate::start::command_line::keep_from_programs;

/// The server's loop, in the program the parent's `start_server` started; never returns.
pub(crate) fn serve(control: RawFd, entries: &[&'static dyn Registered]) -> ! {
    // SAFETY: the parent passed this descriptor open, without FD_CLOEXEC, and named it on our
    // command line; nothing else in this fresh program owns it.
    let control = unsafe { OwnedFd::from_raw_fd(control) };
    // A parent that ignores SIGCHLD passes that on through exec, and the kernel would then
    // discard every worker's status: the server reaps its workers, so it takes the default.
    // SAFETY: restoring a signal's default action runs no handler code.
    let _ = unsafe {
        nix::sys::signal::signal(nix::sys::signal::SIGCHLD, nix::sys::signal::SigHandler::SigDfl)
    };
    let code = match serve_requests(&control, entries) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("spawn_core fork server: {error}");
            1
        }
    };
    std::process::exit(code);
}

/// Closes every descriptor of this process but those in `keep`: with one `close_range` per gap
/// between them (Linux 5.9 and later), else one by one from `/proc/self/fd`.
fn close_all_but(keep: &[RawFd]) {
    let mut kept: Vec<u32> = keep.iter().filter_map(|&fd| u32::try_from(fd).ok()).collect();
    kept.sort_unstable();
    let mut from = 0;
    let mut closed_ranges = true;
    for next in kept.into_iter().map(Some).chain([None]) {
        let to = next.map_or(u32::MAX, |next| next.wrapping_sub(1));
        if next.is_none_or(|next| next > from) {
            // SAFETY: `close_range` closes the descriptors from `from` to `to`, none of which
            // is in `keep` (the caller keeps what it still uses there); it touches no memory.
            closed_ranges &= unsafe { nix::libc::close_range(from, to, 0) } == 0;
        }
        from = next.map_or(u32::MAX, |next| next.saturating_add(1));
    }
    if closed_ranges {
        return;
    }
    let Ok(directory) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    // Read them all first: the directory holds a descriptor of its own while it is read.
    let open: Vec<RawFd> = directory
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in open.into_iter().filter(|fd| !keep.contains(fd)) {
        // The directory's own descriptor is already closed: EBADF, ignored.
        let _ = nix::unistd::close(fd);
    }
}

/// A worker the server runs: its pidfd, and the socket to send its status on.
struct Worker {
    pidfd: Pidfd,
    status: UnixStream,
}

fn serve_requests(control: &OwnedFd, entries: &[&'static dyn Registered]) -> io::Result<()> {
    let mut workers: Vec<Worker> = Vec::new();
    let mut request = vec![0u8; MAX_REQUEST];
    loop {
        let (control_ready, exited) = {
            let mut fds = vec![PollFd::new(control.as_fd(), PollFlags::POLLIN)];
            fds.extend(
                workers
                    .iter()
                    .map(|w| PollFd::new(w.pidfd.fd(), PollFlags::POLLIN)),
            );
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(error) => return Err(error.into()),
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            let exited: Vec<usize> = (1..fds.len())
                .filter(|&i| ready(&fds[i]))
                .map(|i| i - 1)
                .collect();
            (ready(&fds[0]), exited)
        };
        // Report exited workers, last index first so the others keep theirs.
        for index in exited.into_iter().rev() {
            let worker = workers.swap_remove(index);
            let status = worker.pidfd.reap();
            // If the parent already dropped the handle, nobody listens: that is fine.
            let _ = (&worker.status).write_all(&encode_status(status));
        }
        if control_ready {
            let (len, fds) = receive_with_fds(control.as_raw_fd(), &mut request)?;
            if len == 0 {
                return Ok(()); // the parent closed the connection
            }
            match start_worker(&request[..len], fds, control, entries) {
                Ok((worker, parent_end)) => {
                    let pid = worker.pidfd.pid().as_raw().to_le_bytes();
                    let fds = [worker.pidfd.fd().as_raw_fd(), parent_end.as_raw_fd()];
                    send_with_fds(control.as_raw_fd(), &pid, &fds)?;
                    workers.push(worker);
                }
                Err(error) => {
                    send_with_fds(control.as_raw_fd(), error.to_string().as_bytes(), &[])?
                }
            }
        }
    }
}

/// Forks a worker for `request`, which came with the descriptors `fds`; returns it and the
/// parent's end of its status socket. The server's copies of `fds` are closed on return.
fn start_worker(
    request: &[u8],
    mut fds: Vec<OwnedFd>,
    control: &OwnedFd,
    entries: &[&'static dyn Registered],
) -> io::Result<(Worker, OwnedFd)> {
    let (die_with_parent, name) =
        decode_request(request).ok_or_else(|| io::Error::other("a malformed request"))?;
    let carried = fds.split_off(REQUEST_FDS.min(fds.len()));
    let [stdout, stderr, report, arguments] = &<[OwnedFd; REQUEST_FDS]>::try_from(fds)
        .map_err(|_| io::Error::other("a request without its four descriptors"))?;
    // Read here, in the server, so that a worker starts with its argument in memory.
    let mut argument = Vec::new();
    std::fs::File::from(arguments.try_clone()?).read_to_end(&mut argument)?;
    let entry = entries
        .iter()
        .find(|entry| entry.name() == name)
        .ok_or_else(|| io::Error::other(format!("entry point `{name}` is not registered")))?;
    let (server_end, parent_end) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    flush_standard_streams();
    let server = nix::unistd::getpid();
    // SAFETY: the server is single-threaded (a fresh program that starts no thread).
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Parent { child } => {
            let pidfd = Pidfd::open(child)?;
            Ok((
                Worker {
                    pidfd,
                    status: UnixStream::from(server_end),
                },
                parent_end,
            ))
        }
        ForkResult::Child => {
            // Its output goes where the parent's went when it asked for the worker, and its
            // panic message to the parent's report pipe.
            let _ = nix::unistd::dup2_stdout(stdout);
            let _ = nix::unistd::dup2_stderr(stderr);
            // The report pipe goes to descriptor 3, the first after the standard streams, so
            // that one `close_range` closes everything above it.
            let report_fd = if report.as_raw_fd() == REPORT_IN_WORKER {
                REPORT_IN_WORKER
            } else {
                // SAFETY: `dup2` onto descriptor 3 of this new worker, whose every other
                // descriptor but 0-2 is closed below anyway.
                match unsafe { nix::libc::dup2(report.as_raw_fd(), REPORT_IN_WORKER) } {
                    -1 => report.as_raw_fd(),
                    moved => moved,
                }
            };
            // `dup2` clears the close-on-exec mark: set it again, so that a program the worker
            // runs does not inherit the report pipe.
            keep_from_programs(report_fd);
            report_panics_to(report_fd);
            let mut keep = vec![0, 1, 2, report_fd];
            keep.extend(carried.iter().map(AsRawFd::as_raw_fd));
            // The worker holds nothing else of the server's: not its control socket, not the
            // pidfds and status sockets of its siblings, not the ends of its own status socket
            // (the fork copies every descriptor, close-on-exec or not). A sibling holding a
            // copy would keep those alive as long as it lives. The carried descriptors stay
            // close-on-exec (as received): a program the worker runs does not get them.
            close_all_but(&keep);
            let _ = control;
            let code = if die_with_parent && become_orphan_proof(server).is_err() {
                1
            } else {
                entry.run_serialized(&argument, carried)
            };
            flush_standard_streams();
            // SAFETY: ends the worker without running the server's exit handlers.
            unsafe { nix::libc::_exit(code) }
        }
    }
}
