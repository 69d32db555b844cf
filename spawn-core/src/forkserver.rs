//! The fork server: Python's `forkserver` start method.
//!
//! The first `ForkServer` start in a program spawns the server (this program run again, which
//! [`init`](crate::init) turns into the server's loop): a fresh, single-threaded process that
//! has nothing but the registry. For each request it forks a worker that runs the entry point
//! and ends with `_exit`, so a worker is a fork of a clean process, whatever threads the user's
//! program runs. Starting the server lazily, by exec, keeps this safe in any parent, and costs
//! nothing to programs that never ask for it.
//!
//! # The protocol
//!
//! The parent and the server share a `SOCK_SEQPACKET` socket pair (messages keep their
//! boundaries). A request is one message: the `die_with_parent` flag and the entry point's
//! name, with four descriptors attached (`SCM_RIGHTS`): the parent's stdout and stderr, which
//! the worker takes as its own (its output goes where the parent's goes at the start, as with
//! the other start methods), the write end of the parent's panic report pipe, and a memory file
//! holding the serialized argument, which the server reads before it forks (so an argument's
//! size has no limit); then the descriptors the argument carries, which only that worker
//! keeps. The reply carries the worker's pid and two descriptors
//! (`SCM_RIGHTS`): a pidfd of the worker, which the parent polls and signals, and one end of a
//! new socket pair on which the server sends the worker's exit status once it has reaped it
//! (the parent cannot: the worker is the server's child). The server polls its control socket
//! and its workers' pidfds; when the parent's end of the control socket closes (the parent
//! exited, or died), the server exits. (Not `PR_SET_PDEATHSIG`: it fires when the *thread*
//! that started the server exits, which may be long before the program does.)

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::cmsg_space;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use nix::unistd::{ForkResult, Pid};

use crate::entry::{MAX_CARRIED, Registered, SerializedArgument};
use crate::error::StartError;
use crate::handoff::SERVER_FLAG;
use crate::exit_code::report_panics_to;
use crate::lifecycle::ChildOs;
use crate::pidfd::{Pidfd, REAPED_ELSEWHERE_GRACE, wait_readable};
use crate::start::{ChildOptions, become_orphan_proof, flush_standard_streams};
use crate::status::ExitStatus;

/// The largest request: the flag and the entry point's name (a `SOCK_SEQPACKET` message). The
/// argument travels beside it, in a memory file, so its size has no limit here.
const MAX_REQUEST: usize = 64 * 1024;

/// A worker of the fork server, as the parent holds it: its pidfd, and the socket on which the
/// server sends its exit status.
#[derive(Debug)]
pub(crate) struct ServedChild {
    pidfd: Pidfd,
    status: UnixStream,
}

impl ServedChild {
    pub(crate) fn pid(&self) -> Pid {
        self.pidfd.pid()
    }

    /// A descriptor readable once the worker's status can be read at once: the status socket,
    /// on which the server sends it after reaping the worker (or which closes if the server
    /// is gone).
    pub(crate) fn sentinel(&self) -> BorrowedFd<'_> {
        self.status.as_fd()
    }

    /// Whether the server closed the status socket without sending a status (it died).
    fn server_is_gone(&self) -> bool {
        let peeked = nix::sys::socket::recv(
            self.status.as_raw_fd(),
            &mut [0u8],
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        );
        !matches!(peeked, Ok(1))
    }
}

impl ChildOs for ServedChild {
    fn wait_exited(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        if !self.pidfd.wait_exited(timeout)? {
            return Ok(false);
        }
        // The server sends the status once it has reaped the worker, which has exited: wait
        // for it too, within what is left, so that `reap` never blocks and the caller's bound
        // holds whatever the server does (a stopped or slow server). A socket at EOF (the
        // server is gone) is readable too.
        let left = || deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if !wait_readable(self.status.as_fd(), left().or(timeout))? {
            return Ok(false);
        }
        if self.server_is_gone() && !self.pidfd.is_unreaped_child() {
            // The worker outlived its server: its new parent (init, or a child subreaper)
            // reaps it, and the kernel then keeps its status for us. Wait for that, within
            // what is left and the grace; this process reaps it itself if it adopted it.
            let grace = left().map_or(REAPED_ELSEWHERE_GRACE, |left| {
                left.min(REAPED_ELSEWHERE_GRACE)
            });
            self.pidfd.wait_reaped(grace)?;
        }
        Ok(true)
    }

    fn reap(&self) -> ExitStatus {
        // The server writes the status right after reaping the worker, which has exited.
        let mut message = [0u8; 5];
        match (&self.status).read_exact(&mut message) {
            Ok(()) => decode_status(message),
            // The server died before it could tell us: the kernel may still have it.
            Err(_) => self.pidfd.status_now().unwrap_or(ExitStatus::Lost),
        }
    }

    fn send_signal(&self, signal: i32) -> io::Result<()> {
        self.pidfd.send_signal(signal)
    }
}

/// This process's connection to its fork server: started on first use, and owned by the
/// process that started it. A child forked from this process inherits the connection, but
/// must not use it (the server's replies would go to whichever process reads first): it
/// starts a server of its own.
struct Connection {
    owner: Pid,
    socket: UnixStream,
    /// The server process, reaped if it dies and a new one replaces it.
    server: std::process::Child,
}

/// Locks this process's connection to its fork server, starting the server if this process
/// has none. The lock is held for one request and its reply.
fn server() -> Result<MutexGuard<'static, Option<Connection>>, StartError> {
    let mut connection = SERVER.lock().unwrap_or_else(PoisonError::into_inner);
    let me = nix::unistd::getpid();
    if connection
        .as_ref()
        .is_none_or(|connection| connection.owner != me)
    {
        // Dropping an inherited connection closes only this process's copy of it.
        *connection = Some(start_server()?);
    }
    Ok(connection)
}

/// In a child just forked from this process: closes its copy of this process's connection to
/// a fork server, so that the server, which ends when every copy of its parent's end is
/// closed, ends with this process and not with the last of its forked children. Skipped if
/// another thread held the connection at the fork (possible only after `start_unchecked` in
/// a multithreaded parent): its lock stays locked in the child for good.
pub(crate) fn close_inherited_connection() {
    if let Some(connection) = SERVER.try_lock().ok().and_then(|mut held| held.take()) {
        // Not waited for: the server is this process's parent's child, not ours.
        let Connection { socket, .. } = connection;
        drop(socket);
    }
}

/// This process's connection to its fork server, if it has started one.
static SERVER: Mutex<Option<Connection>> = Mutex::new(None);

/// Spawns the server: this program again, with the server's end of a socket pair.
fn start_server() -> Result<Connection, StartError> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let fd = theirs.as_raw_fd();
    let mut command = Command::new(std::env::current_exe()?);
    command.arg(SERVER_FLAG).arg(fd.to_string());
    // SAFETY: the hook runs in the forked child before exec, where only async-signal-safe
    // functions may be called: `fcntl` is a plain system call.
    unsafe {
        command.pre_exec(move || {
            // Keep the server's end open across exec, in this child only.
            if nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let server = command.spawn()?;
    drop(theirs);
    Ok(Connection {
        owner: nix::unistd::getpid(),
        socket: UnixStream::from(ours),
        server,
    })
}

/// Asks the fork server to start a worker that runs the entry point `name` with `argument`.
pub(crate) fn start(
    name: &'static str,
    argument: SerializedArgument,
    options: ChildOptions,
    report: &OwnedFd,
) -> Result<ServedChild, StartError> {
    let request = encode_request(name, options);
    if request.len() > MAX_REQUEST {
        return Err(StartError::Arguments(format!(
            "the fork server takes entry point names of at most {MAX_REQUEST} bytes"
        )));
    }
    let arguments = crate::start::arguments_file(&argument.bytes)?;
    let mut passed = vec![
        std::io::stdout().as_raw_fd(),
        std::io::stderr().as_raw_fd(),
        report.as_raw_fd(),
        arguments.as_raw_fd(),
    ];
    passed.extend(argument.fds.iter().map(AsRawFd::as_raw_fd));
    let mut reply = [0u8; 256];
    // One request and its reply at a time on the control socket.
    let mut connection = server()?;
    let exchange = |connection: &Option<Connection>, reply: &mut [u8]| {
        let socket = connection
            .as_ref()
            .expect("`server` leaves a connection in place")
            .socket
            .as_raw_fd();
        send_with_fds(socket, &request, &passed)?;
        receive_with_fds(socket, reply)
    };
    let (len, fds) = match exchange(&connection, &mut reply) {
        Ok((0, fds)) if fds.is_empty() => None,
        Ok(answer) => Some(answer),
        Err(error) if server_is_gone(&error) => None,
        Err(error) => return Err(error.into()),
    }
    .map_or_else(
        || {
            // The server died (killed, or it failed): start another, as Python does, and ask
            // it once. The dead one is this process's child: reap it.
            if let Some(mut dead) = connection.take() {
                let _ = dead.server.kill();
                let _ = dead.server.wait();
            }
            *connection = Some(start_server()?);
            exchange(&connection, &mut reply).map_err(StartError::from)
        },
        Ok,
    )?;
    drop(connection);
    let [pidfd, status] = <[OwnedFd; 2]>::try_from(fds).map_err(|_| {
        StartError::Os(io::Error::other(format!(
            "the fork server refused: {}",
            String::from_utf8_lossy(&reply[..len])
        )))
    })?;
    let pid = i32::from_le_bytes(reply[..4].try_into().map_err(io::Error::other)?);
    Ok(ServedChild {
        pidfd: Pidfd::from_parts(pidfd, Pid::from_raw(pid)),
        status: UnixStream::from(status),
    })
}

fn encode_request(name: &str, options: ChildOptions) -> Vec<u8> {
    let mut request = Vec::with_capacity(1 + name.len());
    request.push(u8::from(options.die_with_parent));
    request.extend_from_slice(name.as_bytes());
    request
}

/// A request's parts: (die with parent, name).
fn decode_request(request: &[u8]) -> Option<(bool, &str)> {
    let (&flag, name) = request.split_first()?;
    Some((flag != 0, std::str::from_utf8(name).ok()?))
}

fn encode_status(status: ExitStatus) -> [u8; 5] {
    let (kind, value) = match status {
        ExitStatus::Exited(code) => (0, code),
        ExitStatus::Signaled(signal) => (1, signal),
        _ => (2, 0),
    };
    let mut message = [kind, 0, 0, 0, 0];
    message[1..].copy_from_slice(&value.to_le_bytes());
    message
}

fn decode_status(message: [u8; 5]) -> ExitStatus {
    let value = i32::from_le_bytes([message[1], message[2], message[3], message[4]]);
    match message[0] {
        0 => ExitStatus::Exited(value),
        1 => ExitStatus::Signaled(value),
        _ => ExitStatus::Lost,
    }
}

/// Whether a send or receive on the control socket failed because the server is gone.
fn server_is_gone(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(nix::libc::EPIPE | nix::libc::ECONNRESET | nix::libc::ENOTCONN)
    )
}

/// Sends one message with `fds` attached.
fn send_with_fds(socket: RawFd, message: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let iov = [IoSlice::new(message)];
    let rights = [ControlMessage::ScmRights(fds)];
    let control: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    loop {
        // MSG_NOSIGNAL: a server that died answers EPIPE, not a SIGPIPE that would end us if
        // the program restored its default action.
        match sendmsg::<()>(socket, &iov, control, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Receives one message into `buffer`, with up to `REQUEST_FDS + MAX_CARRIED` descriptors
/// attached; `(0, [])` at EOF.
fn receive_with_fds(socket: RawFd, buffer: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = cmsg_space!([RawFd; REQUEST_FDS + MAX_CARRIED]);
    loop {
        let mut iov = [IoSliceMut::new(buffer)];
        match recvmsg::<()>(
            socket,
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(message) => {
                let mut fds = Vec::new();
                for control in message.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(received) = control {
                        fds.extend(received.into_iter().map(|fd| {
                            // SAFETY: the kernel just installed this descriptor in this
                            // process for us; nothing else owns it.
                            unsafe { OwnedFd::from_raw_fd(fd) }
                        }));
                    }
                }
                return Ok((message.bytes, fds));
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// The server's loop, in the program started by [`start_server`]; never returns.
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

/// Where a worker keeps its report pipe: the first descriptor after the standard streams.
const REPORT_IN_WORKER: RawFd = 3;

/// The descriptors of a request before those its argument carries: stdout, stderr, the report
/// pipe, the argument's memory file.
const REQUEST_FDS: usize = 4;

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
            crate::handoff::keep_from_programs(report_fd);
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
