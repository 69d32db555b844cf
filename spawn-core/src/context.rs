//! [`Context`]: a group of processes started the same way.

use serde::Serialize;

use crate::entry::Entry;
use crate::process::Process;
use crate::start::StartMethod;

/// A group of processes started the same way: Python's `multiprocessing.get_context`.
///
/// # Examples
///
/// ```no_run
/// use spawn_core::{Context, Entry, StartMethod, entry};
///
/// fn work(n: u32) { println!("{n}"); }
/// const WORK: Entry<u32> = entry!(work);
///
/// spawn_core::init(&[&WORK]);
/// let fork = Context::new(StartMethod::Fork);
/// let child = fork.process(WORK, 1).start()?;
/// assert!(child.join()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    method: StartMethod,
}

impl Context {
    /// A context whose processes start with `method`.
    pub const fn new(method: StartMethod) -> Self {
        Self { method }
    }

    /// Its start method.
    pub const fn start_method(&self) -> StartMethod {
        self.method
    }

    /// A process of this context that runs `entry` with `argument`.
    pub fn process<A: Serialize>(&self, entry: Entry<A>, argument: A) -> Process<A> {
        Process::new(entry, argument).start_method(self.method)
    }
}
