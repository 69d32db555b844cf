//! [`init`]: the registry of entry points, and the start of a child's program, which it
//! dispatches to its entry point (spawn) or turns into the fork server's loop.

use std::os::fd::{OwnedFd, RawFd};
use std::sync::OnceLock;

use crate::entry::Registered;
use crate::error::StartError;
use crate::exit_code::{DISPATCH_FAILED, entry_failed, report_panics_to};
use crate::start::forkserver;
use crate::start::command_line::{self as handoff, Role};

/// The entry points [`init`] registered, in this process.
static REGISTRY: OnceLock<&'static [&'static dyn Registered]> = OnceLock::new();

/// Registers the entry points that children may run, and, in a child started by the spawn
/// start method, runs the one it was started for and exits. Call it first in `main`, with the
/// same list in every run of the program:
///
/// ```no_run
/// use spawn_core::{Entry, entry};
///
/// fn countdown(count: u32) { /* ... */ }
/// const COUNTDOWN: Entry<u32> = entry!(countdown);
///
/// fn main() {
///     spawn_core::init(&[&COUNTDOWN]); // in a spawned child, runs countdown and exits
///     // ... the parent's program
/// }
/// ```
///
/// This is what Python does when a spawned child imports the main module and unpickles its
/// target. In the fork server (started by the first [`StartMethod::ForkServer`] start), it
/// runs the server's loop instead. Registering twice keeps the first list.
///
/// # Panics
///
/// If `entries` names one entry point twice: a child could not tell which one to run.
///
/// [`StartMethod::ForkServer`]: crate::StartMethod::ForkServer
pub fn init(entries: &'static [&'static dyn Registered]) {
    if let Some(name) = duplicate_name(entries) {
        panic!("spawn_core::init: the entry point `{name}` is in the list twice");
    }
    let _ = REGISTRY.set(entries);
    let code = match Role::of_this_process() {
        Role::Program => return,
        Role::ForkServer { control } => forkserver::serve(control, entries),
        Role::Spawned {
            entry,
            arguments,
            report,
            carried,
        } => {
            report_panics_to(report);
            handoff::keep_from_programs(report);
            // SAFETY: the descriptors our parent's spawn named on our command line, open and
            // owned by nothing else in this fresh program; taken once, here.
            let carried = unsafe { handoff::take_carried(&carried) };
            dispatch(&entry, arguments, carried, entries)
        }
        Role::Malformed => {
            eprintln!("spawn_core: a start-up command line this crate cannot read");
            DISPATCH_FAILED
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code);
}

/// The first name that two of `entries` share, if any.
fn duplicate_name(entries: &[&'static dyn Registered]) -> Option<&'static str> {
    entries.iter().enumerate().find_map(|(at, entry)| {
        entries[..at]
            .iter()
            .any(|earlier| earlier.name() == entry.name())
            .then(|| entry.name())
    })
}

/// Checks, in the parent, that the entry point called `name` is registered, so that a child
/// will find it.
pub(crate) fn check_registered(name: &'static str) -> Result<(), StartError> {
    let entries = REGISTRY.get().ok_or(StartError::NotInitialised)?;
    if entries.iter().any(|entry| entry.name() == name) {
        Ok(())
    } else {
        Err(StartError::NotRegistered { name })
    }
}

/// The value registered by [`init`] under `name`, in this process: `None` if `init` was not
/// called or registered nothing of that name.
///
/// For a crate whose child processes run registered values of their own kind (process-pool's
/// workers find their tasks here), as [`init`] runs an entry point by its name.
pub fn registered(name: &str) -> Option<&'static dyn Registered> {
    REGISTRY
        .get()?
        .iter()
        .copied()
        .find(|entry| entry.name() == name)
}

/// In a spawned child: reads the arguments from `arguments` and runs the entry point `name`
/// with them and the descriptors `carried` beside them.
fn dispatch(
    name: &str,
    arguments: RawFd,
    carried: Vec<OwnedFd>,
    entries: &[&'static dyn Registered],
) -> i32 {
    let Some(entry) = entries.iter().find(|entry| entry.name() == name) else {
        return entry_failed(&format!(
            "entry point `{name}` is not registered with spawn_core::init"
        ));
    };
    // SAFETY: the descriptor our parent's spawn named on our command line, open and owned by
    // nothing else in this fresh program; read once, here.
    match unsafe { handoff::read_arguments(arguments) } {
        Ok(arguments) => entry.run_serialized(&arguments, carried),
        Err(error) => entry_failed(&format!("the arguments of `{name}` could not be read: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entry;
    use crate::entry::__private::run_target;

    fn count(count: u32) -> i32 {
        i32::try_from(count).unwrap_or(-1)
    }

    fn length(text: String) -> i32 {
        i32::try_from(text.len()).unwrap_or(-1)
    }

    const COUNT: Entry<u32> = Entry::new("a::work", |bytes, fds| run_target(bytes, fds, count));
    const LENGTH: Entry<String> =
        Entry::new("b::work", |bytes, fds| run_target(bytes, fds, length));
    const COUNT_AGAIN: Entry<u32> =
        Entry::new("a::work", |bytes, fds| run_target(bytes, fds, count));

    #[test]
    fn a_list_that_names_an_entry_twice_is_found_out() {
        assert_eq!(duplicate_name(&[&COUNT, &LENGTH]), None);
        assert_eq!(
            duplicate_name(&[&COUNT, &LENGTH, &COUNT_AGAIN]),
            Some("a::work")
        );
    }

    #[test]
    fn an_argument_of_another_type_is_refused_before_it_is_decoded() {
        let hello = || LENGTH.encode(&"hello".to_string()).unwrap();
        assert_eq!(LENGTH.run(hello()), 5);
        // Decoding those bytes as a u32 would read the string's length: 5.
        assert_eq!(COUNT.run(hello()), crate::exit_code::DISPATCH_FAILED);
        assert_eq!(COUNT.run(COUNT.encode(&7).unwrap()), 7);
    }
}
