//! The fork server: Python's `forkserver` start method, in three parts: the parent's side
//! (`client`), the messages between them (`protocol`) and the server (`server`).
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


mod client;
mod protocol;
mod server;

pub(crate) use client::{ServedChild, close_inherited_connection, start};
pub(crate) use server::serve;
