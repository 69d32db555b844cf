//! [`init_before_main!`]: [`init`](crate::init) run before `main`, for programs whose `main`
//! is not theirs (the test harness).

/// Registers entry points before `main` runs, as [`init`](crate::init) does in `main`: the one
/// line that makes spawned children work inside `#[test]`s.
///
/// A test binary's `main` is the harness's. A child started by [`StartMethod::Spawn`] runs the
/// test binary again, and so does the fork server of [`StartMethod::ForkServer`]; without this,
/// the harness reads the child's start-up command line as its own options and fails
/// ("Unrecognized option"). With it, each run of the binary calls `init` with `entries`
/// before the harness starts: a spawned child runs its entry point and exits, the fork server
/// serves, and the parent's tests find the entries registered.
///
/// Put it once per test binary (a file in `tests/`, or the crate for unit tests), at module
/// level, listing every entry point the binary's tests start. It works in an ordinary program
/// too, where calling `init` first in `main` says the same thing more plainly.
///
/// [`StartMethod::Fork`] stays refused in a test: the harness runs each test on a thread of its
/// own, so the process is multithreaded ([`StartError::MultiThreaded`]). Use `Spawn` or
/// `ForkServer` there (the fork server forks from a single-threaded process of its own).
///
/// # Examples
///
/// ```no_run
/// use spawn_core::{Entry, Process, StartMethod, entry};
///
/// fn square(n: u64) -> i32 {
///     i32::from(n * n != 49)
/// }
/// const SQUARE: Entry<u64> = entry!(square);
///
/// spawn_core::init_before_main!(SQUARE);
///
/// #[test]
/// fn a_child_squares() {
///     for method in [StartMethod::Spawn, StartMethod::ForkServer] {
///         let child = Process::new(SQUARE, 7).start_method(method).start().unwrap();
///         assert!(child.join().unwrap().success());
///     }
/// }
/// ```
///
/// # How
///
/// The macro places a function in the binary's `.init_array`, which the program's loader runs
/// before `main` and after the standard library has read the command line (its own entry
/// there has a higher priority). It is the mechanism the `ctor` crate uses.
///
/// [`StartMethod::Spawn`]: crate::StartMethod::Spawn
/// [`StartMethod::ForkServer`]: crate::StartMethod::ForkServer
/// [`StartMethod::Fork`]: crate::StartMethod::Fork
/// [`StartError::MultiThreaded`]: crate::StartError::MultiThreaded
#[doc(alias = "enable_test_support")]
#[macro_export]
macro_rules! init_before_main {
    ($($entry:expr),+ $(,)?) => {
        const _: () = {
            extern "C" fn spawn_core_init_before_main() {
                static ENTRIES: &[&'static dyn $crate::Registered] = &[$(&$entry),+];
                $crate::init(ENTRIES);
            }

            // SAFETY: `.init_array` holds pointers to functions that take and return nothing,
            // which the loader calls once, before `main`; this is one. It runs after the
            // standard library's own entry (which has a priority, so comes first) has read the
            // command line that `init` reads.
            #[used]
            #[unsafe(link_section = ".init_array")]
            static INIT_BEFORE_MAIN: extern "C" fn() = spawn_core_init_before_main;
        };
    };
}
