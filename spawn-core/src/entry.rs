//! Entry points: functions a child process can run by name, with serialized arguments.

use core::fmt;
use core::marker::PhantomData;
use std::os::fd::OwnedFd;

use message_codec::Codec;
use serde::Serialize;

/// How an entry point's argument becomes bytes and back: the codec seam that queue-core's
/// message queue shares, postcard for now.
pub(crate) type ArgumentCodec = message_codec::Postcard;

/// A function that a child process can run: Python's `Process(target=f, args=...)` for the
/// start methods that run a fresh program (spawn) or a server's fork (forkserver), which can
/// only find a function by its name.
///
/// Make one with [`entry!`](crate::entry), register it with [`init`](crate::init), and start it with
/// [`Process::new`](crate::Process::new). `A` is the argument, sent to the child serialized
/// (any `serde` type; use a tuple for several). The descriptors it holds travel beside its
/// bytes (see [descriptors in the argument](crate::Process#descriptors-in-the-argument)).
pub struct Entry<A> {
    name: &'static str,
    run: fn(&[u8], Vec<OwnedFd>) -> i32,
    _argument: PhantomData<fn(A)>,
}

/// The most descriptors one argument may carry to a child: a fork server's request carries
/// them in one message, beside four of its own, and the kernel passes at most 253 in one.
pub(crate) const MAX_CARRIED: usize = 64;

/// An argument as it travels to a child: its bytes, and the descriptors they name by index
/// (see [`fd_carrier`]).
#[derive(Debug)]
pub(crate) struct SerializedArgument {
    pub(crate) bytes: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

/// What an entry point's serialized argument is sent as: the argument type's name (the
/// parent's and the child's are one program, so a type has one name in both), then the
/// argument. A child checks the name before it decodes a byte of the argument, so bytes meant
/// for another type are an error, never a misread value.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Envelope<'a, A> {
    pub(crate) argument_type: &'a str,
    pub(crate) argument: A,
}

impl<A> Entry<A> {
    /// An entry point called `name` whose `run` decodes the argument bytes and calls the
    /// target. Use [`entry!`](crate::entry) rather than calling this.
    #[doc(hidden)]
    pub const fn new(name: &'static str, run: fn(&[u8], Vec<OwnedFd>) -> i32) -> Self {
        Self {
            name,
            run,
            _argument: PhantomData,
        }
    }

    /// The name it is registered under.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The argument, serialized for the child, with duplicates of the descriptors it holds.
    pub(crate) fn encode(&self, argument: &A) -> Result<SerializedArgument, String>
    where
        A: Serialize,
    {
        let envelope = Envelope {
            argument_type: core::any::type_name::<A>(),
            argument,
        };
        let mut bytes = Vec::new();
        let (encoded, fds) =
            fd_carrier::collect(|| ArgumentCodec::default().encode_to_vec(&envelope, &mut bytes));
        encoded.map_err(|error| error.to_string())?;
        if fds.len() > MAX_CARRIED {
            return Err(format!(
                "it holds {} file descriptors, and at most {MAX_CARRIED} travel to a child",
                fds.len()
            ));
        }
        Ok(SerializedArgument { bytes, fds })
    }

    /// Runs the target in this process with a serialized argument; returns the exit code.
    pub(crate) fn run(&self, argument: SerializedArgument) -> i32 {
        (self.run)(&argument.bytes, argument.fds)
    }
}

impl<A> Clone for Entry<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for Entry<A> {}

impl<A> fmt::Debug for Entry<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

/// An entry point of any argument type, as [`init`](crate::init) registers it.
pub trait Registered: Sync {
    /// The name it is registered under.
    fn name(&self) -> &'static str;
    /// Runs it with a serialized argument and the descriptors received beside it (those the
    /// argument does not take are closed before the target runs); returns the exit code.
    fn run_serialized(&self, arguments: &[u8], fds: Vec<OwnedFd>) -> i32;

    /// The registered value itself, for a crate that registers values of its own kind beside
    /// entry points and finds them again by name with [`registered`](crate::registered)
    /// (process-pool's tasks, which its workers look up): `None` for an [`Entry`].
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
}

impl<A> Registered for Entry<A> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run_serialized(&self, arguments: &[u8], fds: Vec<OwnedFd>) -> i32 {
        (self.run)(arguments, fds)
    }
}

/// Makes an [`Entry`] of a function `fn(A) -> R`, where `A` is deserializable and `R` is `()`,
/// an exit code (`i32`) or a `Result` (see [`IntoExitCode`](crate::IntoExitCode)).
///
/// The entry is named after the module the macro is called in and the path it is given
/// (`my_app::workers::work` for `entry!(work)` in `my_app::workers`), so functions of one name
/// in two modules make two entries; [`init`](crate::init) refuses a list that names one twice.
///
/// # Examples
///
/// ```
/// use spawn_core::{Entry, entry};
///
/// fn countdown(count: u32) {
///     for n in (1..=count).rev() {
///         println!("Count value {n}");
///     }
/// }
///
/// const COUNTDOWN: Entry<u32> = entry!(countdown);
/// assert_eq!(COUNTDOWN.name(), concat!(module_path!(), "::countdown"));
/// ```
#[macro_export]
macro_rules! entry {
    ($target:path) => {
        $crate::Entry::new(
            concat!(module_path!(), "::", stringify!($target)),
            |arguments, fds| $crate::__private::run_target(arguments, fds, $target),
        )
    };
}

#[doc(hidden)]
pub mod __private {
    use std::os::fd::OwnedFd;

    use message_codec::Codec;
    use serde::de::DeserializeOwned;

    use crate::entry::ArgumentCodec;
    use crate::exit_code::{IntoExitCode, entry_failed, report_taken, run_to_exit_code};

    /// Checks the argument's type, decodes it (with the descriptors received beside it; those
    /// it does not take are closed here) and runs the target; the body of every
    /// [`entry!`](crate::entry).
    pub fn run_target<A: DeserializeOwned, R: IntoExitCode>(
        arguments: &[u8],
        fds: Vec<OwnedFd>,
        target: fn(A) -> R,
    ) -> i32 {
        let expected = core::any::type_name::<A>();
        let carried = !fds.is_empty();
        let codec = ArgumentCodec::default();
        let decoded = codec
            .decode_prefix::<&str>(arguments)
            .map_err(|error| error.to_string())
            .and_then(|(argument_type, argument)| {
                if argument_type == expected {
                    fd_carrier::deliver(fds, || codec.decode::<A>(argument))
                        .map_err(|error| error.to_string())
                } else {
                    Err(format!(
                        "it was sent a `{argument_type}`, and the entry point takes a `{expected}`"
                    ))
                }
            });
        match decoded {
            Ok(argument) => {
                if carried {
                    report_taken();
                }
                run_to_exit_code(|| target(argument))
            }
            Err(error) => entry_failed(&format!("the argument could not be decoded: {error}")),
        }
    }
}
