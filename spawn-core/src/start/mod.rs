//! How a child process is created: Python's start methods, each in a file of its own, and the
//! one place that picks among them.
//!
//! - `spawn`: this program run again, dispatched by [`init`](crate::init) to its entry point;
//! - `fork`: a copy of this process;
//! - `forkserver`: a fork of a clean server process, itself this program run again.
//!
//! Each is given the same `options`; a child does what `child` says first. The start-up
//! information of a program started by exec travels on its command line (`command_line`).
//! Either way the child is held by a pidfd from the moment it exists (see `pidfd`).
//!
//! A new start method is a file here, a variant of [`StartMethod`] and an arm of
//! [`start_child`].

pub(crate) mod child;
pub(crate) mod command_line;
pub(crate) mod fork;
pub(crate) mod forkserver;
pub(crate) mod options;
mod spawn;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use serde::Serialize;

use crate::children::Child;
use crate::entry::{Entry, SerializedArgument};
use crate::error::StartError;
use crate::pidfd::Pidfd;
use options::ChildOptions;

/// How a child process is created: Python's start methods.
///
/// Chosen per process ([`Process::start_method`](crate::Process::start_method)) or for a group
/// of them ([`Context`](crate::Context)); there is no process-wide setting to set twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StartMethod {
    /// Run this program again, and have [`init`](crate::init) call the entry point by name
    /// with its deserialized argument. Safe in any parent, even one running many threads.
    #[default]
    Spawn,
    /// Fork this process; the child calls the target in its copy of memory and ends with
    /// `_exit`. Fast, but refused (with [`StartError::MultiThreaded`]) in a parent that runs
    /// more than one thread.
    Fork,
    /// Ask a fork server to fork the child: the server is this program run again (started on
    /// first use, by exec, so safe in any parent), single-threaded, and each child is a fork
    /// of it that runs the entry point by name. Faster than `Spawn` once the server runs.
    ForkServer,
}

impl StartMethod {
    /// Every start method, the default first: to run the same work under each.
    pub const ALL: [Self; 3] = [Self::Spawn, Self::ForkServer, Self::Fork];
}

/// Starts a child that runs `entry` with its serialized `argument`, by `method`.
pub(crate) fn start_child<A: Serialize>(
    method: StartMethod,
    entry: Entry<A>,
    argument: SerializedArgument,
    options: ChildOptions,
    report: &std::os::fd::OwnedFd,
) -> Result<Child, StartError> {
    let name = entry.name();
Ok(match method {
        StartMethod::Spawn => Child::Own(spawn::spawn(name, &argument, options, report)?),
        StartMethod::Fork => {
            refuse_if_multithreaded()?;
            // The child is handed its values in its argument, as under the other methods:
            // what it merely inherited of the parent's (a queue handle, say) must not
            // count as present there until it exits (see `fd_presence`).
            let run = move || match fd_presence::give_up_inherited() {
                Ok(_) => entry.run(argument),
                Err(error) => {
                    eprintln!("spawn-core: the forked child could not give up what it inherited: {error}");
                    1
                }
            };
            // SAFETY: this process runs one thread (checked just above, and only this
            // thread could start another in between).
            Child::Own(unsafe { fork::fork(run, options, report)? })
        }
        StartMethod::ForkServer => {
            Child::Served(forkserver::start(name, argument, options, report)?)
        }
})
}

/// Refuses a fork in a process that runs more than one thread.
pub(crate) fn refuse_if_multithreaded() -> Result<(), StartError> {
    match fork::thread_count()? {
        1 => Ok(()),
        threads => Err(StartError::MultiThreaded { threads }),
    }
}

/// Takes hold of a new child with a pidfd; if that fails, kills and reaps it, so nothing is
/// left running.
pub(crate) fn hold(pid: Pid) -> Result<Pidfd, StartError> {
    Pidfd::open(pid).map_err(|error| {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        StartError::Os(error)
    })
}
