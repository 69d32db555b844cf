//! What the verification runs: every suite of the workspace, as a command, and what each
//! proves.

/// How a suite checks its property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checker {
    /// loom models; each writes a record (executions, bound) through `model-check`.
    Loom,
    /// proptest properties (state machines against a reference model, or stress properties).
    Proptest,
    /// Real processes or threads, with fixed scenarios.
    Scenario,
    /// Real processes killed at the algorithm's crash points, in the build with the
    /// fault-injection hook (`--cfg queue_faults`).
    Faults,
}

impl Checker {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Loom => "loom",
            Self::Proptest => "proptest",
            Self::Scenario => "scenario",
            Self::Faults => "fault injection",
        }
    }
}

/// A build other than cargo's default: its `RUSTFLAGS`, the variable its crate's build script
/// reads (if any), and its target directory. A build whose `RUSTFLAGS` differ rebuilds every
/// dependency, so it keeps a directory to itself; one that differs only by a build script's
/// variable rebuilds that crate alone, and shares the release build's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Build {
    pub(crate) rustflags: &'static str,
    pub(crate) variable: Option<(&'static str, &'static str)>,
    pub(crate) target_dir: &'static str,
}

/// The loom build: every model, in release.
pub(crate) const LOOM_BUILD: Build = Build {
    rustflags: "--cfg loom",
    variable: None,
    target_dir: "target/loom",
};

/// The build with the fault-injection hook (queue-core's build script sets `queue_faults`).
pub(crate) const FAULTS_BUILD: Build = Build {
    rustflags: "",
    variable: Some(("QUEUE_CORE_FAULTS", "1")),
    target_dir: "target",
};

/// The release build of the mutants that ordinary tests catch: the release build itself,
/// with the mutant's variable set.
pub(crate) const MUTANT_BUILD: Build = Build {
    rustflags: "",
    variable: None,
    target_dir: "target",
};

impl Build {
    /// Sets `command`'s `RUSTFLAGS`, variable and target directory (under `root`) to this
    /// build's.
    pub(crate) fn apply(self, command: &mut std::process::Command, root: &std::path::Path) {
        command
            .env("RUSTFLAGS", self.rustflags)
            .env("CARGO_TARGET_DIR", root.join(self.target_dir));
        if let Some((name, value)) = self.variable {
            command.env(name, value);
        }
    }

    /// The same, as a reader types it before a command.
    pub(crate) fn shown(self) -> String {
        let mut shown = match self.rustflags {
            "" => String::new(),
            flags => format!("RUSTFLAGS=\"{flags}\" "),
        };
        if let Some((name, value)) = self.variable {
            shown.push_str(&format!("{name}={value} "));
        }
        if self.target_dir != "target" {
            shown.push_str(&format!("CARGO_TARGET_DIR={} ", self.target_dir));
        }
        shown.trim_end().to_owned()
    }
}

/// One suite: a `cargo test` invocation.
#[derive(Clone, Debug)]
pub(crate) struct Suite {
    pub(crate) name: &'static str,
    pub(crate) primitive: &'static str,
    pub(crate) checker: Checker,
    /// What it proves, in one sentence.
    pub(crate) property: &'static str,
    /// What it cannot prove.
    pub(crate) gaps: &'static str,
    /// `cargo test` arguments after `--release`.
    pub(crate) args: &'static [&'static str],
}

/// Every suite, in the order they run.
pub(crate) const SUITES: &[Suite] = &[
    Suite {
        name: "queue-core loom_queue",
        primitive: "Queue (the ring)",
        checker: Checker::Loom,
        property: "every history of pushes and pops, Full and Empty answers included, is linearizable \
                   (with respect to happens-before) to a FIFO queue of the same capacity; every value \
                   is delivered exactly once, in each producer's order; no call retries more often \
                   than the other calls' claims explain (no livelock).",
        gaps: "capacities 1-2, up to 4 threads and 12 operations; SeqCst accesses modelled as AcqRel \
               (the ring's are in close, which these models do not call; its SeqCst fences are \
               modelled); no load buffering.",
        args: &["-p", "queue-core", "--test", "loom_queue"],
    },
    Suite {
        name: "queue-core loom_blocking",
        primitive: "BlockingQueue (wait lists, close, batches)",
        checker: Checker::Loom,
        property: "no lost wake-up and no sleeper left behind (a sleeper never woken fails the model \
                   as a deadlock); close wakes every sleeper, drains, then refuses; a timeout racing a \
                   wake loses nothing; a batch's values are claimed in one step, adjacent, in order, \
                   once each.",
        gaps: "the futex is a mutex and condition variable with its contract (no real kernel); a \
               timed wait's timer fires as early as it can; close's two SeqCst accesses (the flag, \
               then the mark) are modelled as AcqRel, which allows more executions, never fewer; \
               the shared-memory placement is not modelled (loom's atomics are not memory), see \
               the cross-process suite.",
        args: &["-p", "queue-core", "--test", "loom_blocking"],
    },
    Suite {
        name: "queue-core crash_models",
        primitive: "the ring's recovery of a dead participant's claims",
        checker: Checker::Loom,
        property: "a participant that stops for ever at each of its crash points in turn (mid-push, \
                   mid-pop, mid-batch, mid-close), and one that only stalls, beside surviving \
                   producers and consumers: every acknowledged value is delivered exactly once, \
                   whole and in order, a dead producer's at most once, only a dead consumer's \
                   claimed values may be lost; no survivor waits on the dead (a wedge is a \
                   deadlock); the whole capacity comes back; a slow claimer is never robbed; a \
                   consumer that dies at each step of a blocking pop (asleep included) is never \
                   a lost wake-up for the others, and its registration as a sleeper is taken out \
                   by the next wake that wakes nobody; a consumer whose only producer leaves, or \
                   dies at each step of its pushes, gets every acknowledged value before it is \
                   told Disconnected, and is told.",
        gaps: "capacity 1-2, 2-3 participants, one victim per model, up to 2 preemptions (close \
               and the sleeper: exhaustive; disconnection: 4); death is a flag set after the victim stops (the \
               kernel's pidfd is not modelled); loom has no clock, so a shared sleeper's looks \
               every 10 ms are checked by the fault-injection tests, not here; Disconnected is \
               modelled for pops only (a mask of producers and the death flags stand for the \
               table and its pidfds), up to 4 preemptions.",
        args: &["-p", "queue-core", "--lib", "ring::crash_models"],
    },
    Suite {
        name: "spawn-core lifecycle",
        primitive: "ProcessHandle (the lifecycle)",
        checker: Checker::Loom,
        property: "a child joined, polled and signalled from several threads at once is reaped exactly \
                   once, every observer sees the one published status, no signal is sent once reaping \
                   has begun, and no waiter waits forever.",
        gaps: "the kernel is a fake child driven by a model thread; pidfd semantics are tested with \
               real processes, not modelled.",
        args: &["-p", "spawn-core", "--lib"],
    },
    Suite {
        name: "queue-core model",
        primitive: "Queue",
        checker: Checker::Proptest,
        property: "sequences of pushes and pops answer as the reference model (capacities 1-64, cursors \
                   near the usize wrap), and threads deliver every value exactly once.",
        gaps: "sampled: random cases, not every sequence.",
        args: &["-p", "queue-core", "--test", "model"],
    },
    Suite {
        name: "queue-core model_batches",
        primitive: "Queue, BlockingQueue (heap and shared)",
        checker: Checker::Proptest,
        property: "single and batch operations, zero-timeout calls and close answer as the reference \
                   model, in every placement.",
        gaps: "sampled; single-threaded (concurrency is the loom suites' part).",
        args: &["-p", "queue-core", "--test", "model_batches"],
    },
    Suite {
        name: "queue-core behaviour",
        primitive: "Queue",
        checker: Checker::Scenario,
        property: "the API contract, one behaviour per test: capacity errors, Full hands the \
                   value back, capacity 1 over many laps, positions wrapping around usize, \
                   zero-sized values, values left inside dropped once, Send and Sync exactly \
                   when T is Send, errors that display without T: Debug.",
        gaps: "fixed single-threaded cases; the state machines and loom cover the rest.",
        args: &["-p", "queue-core", "--test", "behaviour"],
    },
    Suite {
        name: "queue-core blocking",
        primitive: "BlockingQueue (heap and shared, one process)",
        checker: Checker::Scenario,
        property: "blocked calls are woken, timeouts bound the whole call and hand the value \
                   back, close wakes every sleeper; 3 producer and 3 consumer threads move \
                   60,000 values exactly once through blocking calls; 20,000 ping-pong rounds \
                   lose no wake-up (no call sleeps its whole timeout); a blocked getter uses \
                   under 1% of a core.",
        gaps: "a stress test on this machine's scheduler, not a proof: a lost wake-up in a \
               window too narrow to hit would pass (loom's models are the proof).",
        args: &["-p", "queue-core", "--test", "blocking"],
    },
    Suite {
        name: "queue-core attach",
        primitive: "Queue, BlockingQueue in shared memory",
        checker: Checker::Scenario,
        property: "attach accepts only a sealed memory file whose header, length and cursors are a \
                   queue's of the caller's element type and kind; pipes, sockets, devices, disk \
                   files, unsealed or resized files and damaged headers are each a typed error; \
                   the file cannot be shrunk or grown.",
        gaps: "the damage is one field at a time, at fixed offsets.",
        args: &["-p", "queue-core", "--test", "attach"],
    },
    Suite {
        name: "queue-core refused_types",
        primitive: "Plain (values in shared memory)",
        checker: Checker::Scenario,
        property: "a struct with padding, a bool field or without zerocopy's derives cannot be \
                   Plain, and a shared queue of a String does not compile, each with the \
                   compiler's error for that reason.",
        gaps: "the cases listed in queue-core/tests/refused; the rest is zerocopy's own checks.",
        args: &["-p", "queue-core", "--test", "refused_types"],
    },
    Suite {
        name: "queue-core participants",
        primitive: "Queue, BlockingQueue in shared memory",
        checker: Checker::Scenario,
        property: "each handle (create, attach, try_clone) takes one of MAX_PARTICIPANTS entries \
                   and one more is a typed TooManyParticipants error; a dropped handle gives its \
                   entry back.",
        gaps: "one process (a forked child's entries and a dead process's: cross_process).",
        args: &["-p", "queue-core", "--test", "participants"],
    },
    Suite {
        name: "queue-core disconnection",
        primitive: "Queue, BlockingQueue in shared memory: roles",
        checker: Checker::Scenario,
        property: "a consumer gets every value pushed before the last producer left, then \
                   Disconnected from every pop (a sleeping one is woken by the leave); a queue \
                   that never had a producer is only empty, and a producer joining later \
                   connects it again; a producer of a full queue whose consumers left gets \
                   Disconnected with its value back; a heap queue never answers it.",
        gaps: "handles leaving within one process (a killed producer process: cross_process); \
               not modelled with loom.",
        args: &["-p", "queue-core", "--test", "disconnection"],
    },
    Suite {
        name: "queue-core hostile_peer",
        primitive: "Queue, BlockingQueue in shared memory",
        checker: Checker::Scenario,
        property: "a second mapping writing garbage into cursors, stamps, values, header and wait \
                   lists, once (a damaged stamp, a huge stamp, cursors one and two laps ahead, \
                   head at usize::MAX, an index past the capacity) or all the time, never makes \
                   a call panic, fault or spin: each returns a value, an answer or Corrupted \
                   within its bound, and len() stays within the capacity; a peer bumping a \
                   sleeper's futex word without end leaves it under 5% of a core.",
        gaps: "the peer is a thread with its own mapping, not a process; its scribbling is \
               random, not exhaustive (here in release; `cargo test` runs it in debug too).",
        args: &["-p", "queue-core", "--test", "hostile_peer"],
    },
    Suite {
        name: "queue-core cross_process",
        primitive: "BlockingQueue in shared memory",
        checker: Checker::Scenario,
        property: "2 producer and 2 consumer processes move 1,000,000 messages through a capacity-8 \
                   queue exactly once and in order; blocking calls, timeouts, close and attach work \
                   between real processes; a forked child takes entries of its own, and a dead \
                   child's are taken back, even when a new process reused its pid within its \
                   clock tick (forced as root); a forked child that finds the table full claims \
                   nothing (TooManyParticipants) until an entry frees; a producer handle copied \
                   by fork counts from the fork until the child drops it, exits or calls exec; \
                   a heap queue's copy answers ForkedCopy; a consumer blocked on a queue whose \
                   only producer process was SIGKILLed is told Disconnected (it prints how soon).",
        gaps: "fixed scenarios on this machine's scheduler; a stress test, not a proof.",
        args: &["-p", "queue-core", "--test", "cross_process"],
    },
    Suite {
        name: "queue-core crash_recovery",
        primitive: "BlockingQueue in shared memory",
        checker: Checker::Faults,
        property: "a producer or consumer process SIGKILLed at each crash point of a push (of 8 \
                   and of 64 bytes), a pop, a batch push and a batch pop, in turn: the survivor \
                   gets every acknowledged value exactly once (a dead consumer's taken value at \
                   most once), never a dead producer's half-written or torn value, and the full \
                   capacity back, in order; a producer asleep on a full queue gets the slot of a \
                   consumer killed mid-pop; a consumer killed at each point of a blocking pop \
                   (asleep included) leaves no registration behind once a producer goes on. It \
                   prints the recovery times.",
        gaps: "one death at a time (the random-time kills are the soak's).",
        args: &["-p", "queue-core", "--test", "crash_recovery"],
    },
    Suite {
        name: "queue-core crash_soak",
        primitive: "BlockingQueue in shared memory",
        checker: Checker::Scenario,
        property: "200 trials of 2 producer and 1 consumer processes on a capacity-8 queue of \
                   64-byte values, one of them SIGKILLed at a random time: no hang, no wedge, no \
                   acknowledged value lost (but the one a killed consumer may have taken), none \
                   duplicated, invented or torn; it prints the counts and the consumers' longest \
                   stall.",
        gaps: "random times, not every instruction (crash_recovery and the crash models cover \
               every step); one kill per trial.",
        args: &["-p", "queue-core", "--test", "crash_soak"],
    },
    Suite {
        name: "spawn-core entries",
        primitive: "Entry, init",
        checker: Checker::Scenario,
        property: "an entry point is named after its module and path, so functions of one name in \
                   two modules are two entries; init refuses a list that names one twice; a child \
                   refuses an argument sent for another type before decoding it.",
        gaps: "fixed cases.",
        args: &["-p", "spawn-core", "--test", "entries"],
    },
    Suite {
        name: "spawn-core model",
        primitive: "Process, ProcessHandle",
        checker: Checker::Proptest,
        property: "arbitrary sequences of start, join, join_timeout, is_alive, exitcode, terminate and \
                   kill on real processes (all start methods) answer as the reference model of \
                   Python's semantics allows.",
        gaps: "sampled; timing-dependent answers are checked against the set the model allows.",
        args: &["-p", "spawn-core", "--test", "model"],
    },
    Suite {
        name: "spawn-core thread_model",
        primitive: "Thread, ThreadHandle",
        checker: Checker::Proptest,
        property: "arbitrary sequences of start, is_alive, join_timeout and join on threads that \
                   return, panic or wait at a gate answer as the reference model says: a value or \
                   the panic's message, a timeout while gated.",
        gaps: "sampled.",
        args: &["-p", "spawn-core", "--test", "thread_model"],
    },
    Suite {
        name: "spawn-core processes",
        primitive: "Process, ClosureProcess, ProcessHandle",
        checker: Checker::Scenario,
        property: "exit codes, signals, timeouts, panics, grandchildren, SIGCHLD ignored, fork refused \
                   when multithreaded, fork servers per process, drop policy: as documented; all nine \
                   child -> grandchild start-method pairs work and a child that runs its own program \
                   again runs it as itself; a child holds no descriptor of its siblings; a dead fork \
                   server is started again and a killed parent's server ends; 100,000 join-then-fork \
                   tries are never refused; an argument of another type is an entry error.",
        gaps: "fixed scenarios.",
        args: &["-p", "spawn-core", "--test", "processes"],
    },
    Suite {
        name: "spawn-core carried",
        primitive: "Process, fd_carrier",
        checker: Checker::Scenario,
        property: "descriptors inside an argument reach exactly their child under every start \
                   method, close-on-exec there, so a program the child runs gets only what it \
                   was meant to; the parent keeps no duplicate and the next child has none; \
                   serializing a descriptor outside a start is an error.",
        gaps: "fixed scenarios.",
        args: &["-p", "spawn-core", "--test", "carried"],
    },
    Suite {
        name: "demos queue_arguments",
        primitive: "BlockingQueue<T, Shared<R>> as a Process argument",
        checker: Checker::Scenario,
        property: "under every start method a child given a queue handle pushes into the parent's \
                   queue while it pops, and the parent is told Disconnected only once every child \
                   is done (never about a handle in transit); a spawned or fork-served child holds \
                   exactly two descriptors more than a child given none; two queues inside a \
                   user's struct work (a fork-method child gives up the handles it inherited); a \
                   child passes a handle on to a grandchild, all nine start-method pairs; a \
                   producer moved into a forked closure is never taken for gone (100 rounds, and \
                   4 producers of 20,000 values).",
        gaps: "fixed scenarios.",
        args: &["-p", "demos", "--test", "queue_arguments"],
    },
    Suite {
        name: "demos parity",
        primitive: "the chapter's listings",
        checker: Checker::Scenario,
        property: "each demo prints the same lines as the chapter's listing under CPython, each \
                   worker's lines in order, with the same exit codes.",
        gaps: "needs python3; interleavings compared per worker.",
        args: &["-p", "demos", "--test", "parity"],
    },
];
