//! File descriptors inside [`serde`] values, carried beside the bytes.
//!
//! A descriptor's number means something only in the process that holds it: sent as a number,
//! it names nothing (or, worse, another file) in the receiver. The kernel can pass the
//! descriptor itself, beside the bytes: inherited across `exec`, or attached to a Unix socket
//! message (`SCM_RIGHTS`). This crate lets a value that holds descriptors serialize with any
//! serde format while its descriptors go that way:
//!
//! - the sender serializes inside [`collect`]: each descriptor in the value is duplicated into
//!   a list, and serialized as its index in that list;
//! - the transport moves the bytes and the list (spawn-core's `Process::start` passes them to
//!   the child it starts, by inheritance or by `SCM_RIGHTS`);
//! - the receiver deserializes inside [`deliver`], given the list it received: each index is
//!   turned back into the descriptor. Descriptors that nothing took are closed when
//!   [`deliver`] returns, so none leaks.
//!
//! # A type of your own
//!
//! A field that holds a descriptor serializes with [`owned`]:
//!
//! ```
//! use std::os::fd::OwnedFd;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Job {
//!     name: String,
//!     #[serde(with = "fd_carrier::owned")]
//!     log: OwnedFd,
//! }
//!
//! let (log, reader) = std::os::unix::net::UnixStream::pair()?;
//! let job = Job { name: "nightly".into(), log: log.into() };
//! let (bytes, fds) = fd_carrier::collect(|| postcard::to_allocvec(&job));
//! let bytes = bytes?;
//! assert_eq!(fds.len(), 1); // a duplicate of `job.log`, to hand to the transport
//!
//! // ... the receiver, given `bytes` and `fds`:
//! let received: Job = fd_carrier::deliver(fds, || postcard::from_bytes(&bytes))?;
//! assert_eq!(received.name, "nightly");
//! # drop(reader);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A type whose `Serialize` is written by hand calls [`carry`] and serializes the index it
//! returns; its `Deserialize` reads the index and calls [`take`].
//!
//! # Where it works
//!
//! The lists belong to the thread that serializes or deserializes: serde runs on one thread,
//! within the call. Outside [`collect`], serializing a descriptor is an error
//! ([`Error::NotCollecting`]), as is deserializing one outside [`deliver`]: a value holding a
//! descriptor cannot be written to a file or a network by accident. Unix only.

#[cfg(not(unix))]
compile_error!("fd-carrier carries Unix file descriptors: it builds on Unix only");

mod error;
pub mod owned;
mod scope;

pub use error::Error;
pub use scope::{carry, collect, deliver, take};
