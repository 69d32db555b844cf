//! The wire protocol between a parent and its fork server: a request (the `die_with_parent`
//! flag and the entry point's name, with descriptors attached), the reply (the worker's pid,
//! with its pidfd and status socket attached), and the status the server sends once it has
//! reaped a worker.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::cmsg_space;
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use crate::entry::MAX_CARRIED;
use crate::start::options::ChildOptions;
use crate::status::ExitStatus;

/// The largest request: the flag and the entry point's name (a `SOCK_SEQPACKET` message). The
/// argument travels beside it, in a memory file, so its size has no limit here.
pub(super) const MAX_REQUEST: usize = 64 * 1024;

/// Where a worker keeps its report pipe: the first descriptor after the standard streams.
pub(super) const REPORT_IN_WORKER: RawFd = 3;

/// The descriptors of a request before those its argument carries: stdout, stderr, the report
/// pipe, the argument's memory file.
pub(super) const REQUEST_FDS: usize = 4;

pub(super) fn encode_request(name: &str, options: ChildOptions) -> Vec<u8> {
    let mut request = Vec::with_capacity(1 + name.len());
    request.push(u8::from(options.die_with_parent));
    request.extend_from_slice(name.as_bytes());
    request
}

/// A request's parts: (die with parent, name).
pub(super) fn decode_request(request: &[u8]) -> Option<(bool, &str)> {
    let (&flag, name) = request.split_first()?;
    Some((flag != 0, std::str::from_utf8(name).ok()?))
}

pub(super) fn encode_status(status: ExitStatus) -> [u8; 5] {
    let (kind, value) = match status {
        ExitStatus::Exited(code) => (0, code),
        ExitStatus::Signaled(signal) => (1, signal),
        _ => (2, 0),
    };
    let mut message = [kind, 0, 0, 0, 0];
    message[1..].copy_from_slice(&value.to_le_bytes());
    message
}

pub(super) fn decode_status(message: [u8; 5]) -> ExitStatus {
    let value = i32::from_le_bytes([message[1], message[2], message[3], message[4]]);
    match message[0] {
        0 => ExitStatus::Exited(value),
        1 => ExitStatus::Signaled(value),
        _ => ExitStatus::Lost,
    }
}

/// Whether a send or receive on the control socket failed because the server is gone.
pub(super) fn server_is_gone(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(nix::libc::EPIPE | nix::libc::ECONNRESET | nix::libc::ENOTCONN)
    )
}

/// Sends one message with `fds` attached.
pub(super) fn send_with_fds(socket: RawFd, message: &[u8], fds: &[RawFd]) -> io::Result<()> {
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
pub(super) fn receive_with_fds(socket: RawFd, buffer: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
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
