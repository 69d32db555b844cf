//! Descriptors inside a process's argument: they reach exactly the child started with them,
//! under each start method, and no one else.
//!
//! `harness = false`, as `processes.rs`: the fork start method needs a single-threaded parent.
//!
//! Run: `cargo test -p spawn-core --test carried`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Process, fd_carrier
//! - Proves: descriptors inside an argument reach exactly their child under every start method,
//!   close-on-exec there, so a program the child runs gets only what it was meant to; the parent
//!   keeps no duplicate and the next child has none; serializing a descriptor outside a start is an
//!   error.
//! - Cannot prove: fixed scenarios.
fn main() {
    cases::main();
}
mod cases {
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use nix::fcntl::FdFlag;
    use serde::{Deserialize, Serialize};
    use spawn_core::{Entry, ExitStatus, Process, ProcessHandle, StartMethod, entry};

    /// Every wait gives up after this long: a hang is a failure.
    const PATIENCE: Duration = Duration::from_secs(30);

    /// The first argument that makes this program print how many descriptors it holds, and
    /// exit: what a program a child runs inherits.
    const COUNT_FLAG: &str = "--count-descriptors";

    /// An argument that holds two descriptors beside its other fields.
    #[derive(Serialize, Deserialize)]
    struct Carried {
        name: String,
        #[serde(with = "fd_carrier::owned")]
        reply: OwnedFd,
        #[serde(with = "fd_carrier::owned")]
        spare: OwnedFd,
    }

    /// What a child that was given a [`Carried`] writes back on its `reply`.
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct Seen {
        name: String,
        /// How many descriptors the child holds.
        descriptors: usize,
        /// Whether both carried descriptors are close-on-exec in the child.
        close_on_exec: bool,
        /// How many of the child's descriptors are not close-on-exec.
        inheritable: usize,
        /// How many descriptors a program the child runs holds: the inheritable ones only.
        in_a_program_it_runs: usize,
    }

    fn descriptor_numbers() -> Vec<i32> {
        let numbers: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .map(|entry| {
                entry
                    .unwrap()
                    .file_name()
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        // The directory's own descriptor was among them while it was read.
        numbers
            .into_iter()
            .filter(|&fd| descriptor_flags(fd).is_some())
            .collect()
    }

    /// The descriptor flags of `fd`, or `None` if it is not open.
    fn descriptor_flags(fd: i32) -> Option<nix::fcntl::FdFlag> {
        // SAFETY: F_GETFD reads a number's flags, or fails with EBADF; it touches no memory.
        let flags = unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) };
        (flags != -1).then(|| FdFlag::from_bits_retain(flags))
    }

    fn open_descriptors() -> usize {
        descriptor_numbers().len()
    }

    fn close_on_exec(fd: impl AsRawFd) -> bool {
        descriptor_flags(fd.as_raw_fd()).is_some_and(|flags| flags.contains(FdFlag::FD_CLOEXEC))
    }

    fn inheritable_descriptors() -> usize {
        descriptor_numbers()
            .into_iter()
            .filter(|&fd| !close_on_exec(fd))
            .count()
    }

    /// How many descriptors a program run by this process starts with.
    fn descriptors_of_a_program() -> usize {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(COUNT_FLAG)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap()
    }

    fn report(carried: Carried) -> i32 {
        let seen = Seen {
            name: carried.name,
            descriptors: open_descriptors(),
            close_on_exec: close_on_exec(carried.reply.as_raw_fd())
                && close_on_exec(carried.spare.as_raw_fd()),
            inheritable: inheritable_descriptors(),
            in_a_program_it_runs: descriptors_of_a_program(),
        };
        let mut reply = UnixStream::from(carried.reply);
        reply
            .write_all(&postcard::to_allocvec(&seen).unwrap())
            .unwrap();
        0
    }

    /// Exits with the number of descriptors it holds.
    fn count(_: ()) -> i32 {
        i32::try_from(open_descriptors()).unwrap()
    }

    const REPORT: Entry<Carried> = entry!(report);
    const COUNT: Entry<()> = entry!(count);

    fn finish(child: &ProcessHandle) -> ExitStatus {
        match child.join_timeout(PATIENCE).expect("join") {
            Some(status) => status,
            None => {
                let _ = child.kill();
                panic!("{} still running after {PATIENCE:?}", child.name());
            }
        }
    }

    fn descriptors_of_a_child(method: StartMethod) -> usize {
        let child = Process::new(COUNT, ())
            .start_method(method)
            .start()
            .unwrap();
        match finish(&child) {
            ExitStatus::Exited(count) => usize::try_from(count).unwrap(),
            other => panic!("{method:?}: {other:?}"),
        }
    }

    /// The child gets the same files, holds two descriptors more than a child given none (and,
    /// unless it is a fork, none of this process's originals), keeps them from the programs it
    /// runs, and the next child does not get them.
    fn descriptors_reach_exactly_their_child() {
        for method in StartMethod::ALL {
            let before = descriptors_of_a_child(method);
            let (reply, mut ours) = UnixStream::pair().unwrap();
            let (spare, spare_peer) = UnixStream::pair().unwrap();
            let parent_before = open_descriptors();
            let argument = Carried {
                name: format!("{method:?}"),
                reply: reply.into(),
                spare: spare.into(),
            };
            let child = Process::new(REPORT, argument)
                .start_method(method)
                .start()
                .unwrap();
            // `argument` was moved into the builder and dropped by `start`: the parent's
            // originals and its duplicates are closed, so the reply below ends at the child's
            // close of its own copy.
            assert_eq!(finish(&child), ExitStatus::Exited(0), "{method:?}");
            let mut bytes = Vec::new();
            ours.read_to_end(&mut bytes).unwrap();
            let seen: Seen = postcard::from_bytes(&bytes).unwrap();
            // A forked child holds every descriptor its parent held at the fork, as Python's
            // does: here the four ends of the two socket pairs, beside the carried two.
            let inherited = if method == StartMethod::Fork { 4 } else { 0 };
            assert_eq!(
                seen,
                Seen {
                    name: format!("{method:?}"),
                    descriptors: before + inherited + 2,
                    close_on_exec: true,
                    inheritable: seen.inheritable,
                    in_a_program_it_runs: seen.inheritable,
                },
                "{method:?}"
            );
            // stdin, stdout, stderr, and what this test's own runner left open for it.
            assert!(
                seen.inheritable <= descriptors_of_a_program(),
                "{method:?}: the report pipe is close-on-exec too"
            );
            drop((child, ours, spare_peer));
            assert_eq!(
                open_descriptors(),
                parent_before - 4,
                "{method:?}: the parent keeps neither the originals nor the duplicates"
            );
            assert_eq!(
                descriptors_of_a_child(method),
                before,
                "{method:?}: the next child"
            );
        }
    }

    /// A value holding a descriptor is refused outside a start: it cannot be written to a
    /// file by accident, and the error says why.
    fn a_descriptor_serializes_only_for_a_child() {
        let (reply, _peer) = UnixStream::pair().unwrap();
        let (spare, _spare_peer) = UnixStream::pair().unwrap();
        let argument = Carried {
            name: String::new(),
            reply: reply.into(),
            spare: spare.into(),
        };
        assert!(postcard::to_allocvec(&argument).is_err());
    }

    pub(super) fn main() {
        spawn_core::init(&[&REPORT, &COUNT]);
        if std::env::args().nth(1).as_deref() == Some(COUNT_FLAG) {
            println!("{}", open_descriptors());
            return;
        }
        let tests: &[(&str, fn())] = &[
            (
                "descriptors_reach_exactly_their_child",
                descriptors_reach_exactly_their_child,
            ),
            (
                "a_descriptor_serializes_only_for_a_child",
                a_descriptor_serializes_only_for_a_child,
            ),
        ];
        model_check::run_on_main_thread(tests);
    }
}
