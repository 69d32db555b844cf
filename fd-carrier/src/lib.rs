#![doc = include_str!("../README.md")]

#[cfg(not(unix))]
compile_error!("fd-carrier carries Unix file descriptors: it builds on Unix only");

mod error;
pub mod owned;
mod scope;

pub use error::Error;
pub use scope::{carry, collect, deliver, take};
