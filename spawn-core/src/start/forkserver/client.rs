//! The parent's side of the fork server: starting the server on first use (and again if it
//! died), asking it for a worker, and holding the worker it started.

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, socketpair};
use nix::unistd::Pid;

use super::protocol::{
    MAX_REQUEST, decode_status, encode_request, receive_with_fds, send_with_fds, server_is_gone,
};
use crate::entry::SerializedArgument;
use crate::error::StartError;
use crate::lifecycle::ChildOs;
use crate::pidfd::{Pidfd, REAPED_ELSEWHERE_GRACE, wait_readable};
use crate::start::command_line::SERVER_FLAG;
use crate::start::options::{ChildOptions, arguments_file};
use crate::status::ExitStatus;

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
    let arguments = arguments_file(&argument.bytes)?;
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
