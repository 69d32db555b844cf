//! Real processes through the public API, under each start method.
//!
//! `harness = false`: the fork start method refuses (rightly) a parent with several threads,
//! and libtest runs tests on worker threads. `main` calls `spawn_core::init` first (spawned
//! children are this binary run again), then runs the tests one after another on the main
//! thread and prints libtest's summary line. Children report through exit codes; every wait
//! has a deadline, so a hang fails instead of stalling CI.
//!
//! Run: `cargo test -p spawn-core --test processes`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Process, ClosureProcess, ProcessHandle
//! - Proves: exit codes, signals, timeouts, panics, grandchildren, SIGCHLD ignored, fork refused
//!   when multithreaded, fork servers per process, drop policy: as documented; all nine child ->
//!   grandchild start-method pairs work and a child that runs its own program again runs it as
//!   itself; a child holds no descriptor of its siblings; a dead fork server is started again and a
//!   killed parent's server ends; 100,000 join-then-fork tries are never refused; an argument of
//!   another type is an entry error.
//! - Cannot prove: fixed scenarios.
fn main() {
    cases::main();
}
mod cases {
    use std::io::Read;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use spawn_core::{
        ClosureProcess, Context, Entry, ExitStatus, Process, ProcessHandle, StartError,
        StartMethod, Thread, entry,
    };

    /// Every wait in these tests gives up after this long: a hang is a failure.
    const PATIENCE: Duration = Duration::from_secs(30);

    fn exit_with(code: i32) -> i32 {
        code
    }

    fn panic_with(message: String) {
        panic!("{message}");
    }

    fn sleep_for(millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }

    /// Ignores SIGTERM, then sleeps: only SIGKILL ends it early.
    fn ignore_sigterm_and_sleep(millis: u64) {
        // SAFETY: setting a signal's disposition to "ignore" runs no handler code.
        unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::SIGTERM,
                nix::sys::signal::SigHandler::SigIgn,
            )
        }
        .expect("ignore SIGTERM");
        std::thread::sleep(Duration::from_millis(millis));
    }

    /// Sums its arguments: checks that a tuple arrives intact (exit code = the sum).
    fn sum((a, b, text): (i32, i32, String)) -> i32 {
        a + b + i32::try_from(text.len()).unwrap()
    }

    const EXIT_WITH: Entry<i32> = entry!(exit_with);
    const PANIC_WITH: Entry<String> = entry!(panic_with);
    const SLEEP_FOR: Entry<u64> = entry!(sleep_for);
    const IGNORE_SIGTERM: Entry<u64> = entry!(ignore_sigterm_and_sleep);
    const SUM: Entry<(i32, i32, String)> = entry!(sum);
    const UNREGISTERED: Entry<i32> = entry!(exit_with_unregistered);
    const START_GRANDCHILD: Entry<usize> = entry!(start_grandchild);
    /// Not registered, and named as `EXIT_WITH` is, with another argument type: what a
    /// registry that confused two entries would run.
    const IMPOSTOR: Entry<String> = Entry::new(EXIT_WITH.name(), |bytes, fds| {
        spawn_core::__private::run_target(bytes, fds, panic_with)
    });
    const RERUN_SELF: Entry<()> = entry!(rerun_self);
    const COUNT_DESCRIPTORS: Entry<()> = entry!(count_descriptors);
    const LEAVE_A_SERVER_BEHIND: Entry<String> = entry!(leave_a_server_behind);
    const CHECKSUM: Entry<Vec<u8>> = entry!(checksum);
    const LEAVE_A_THREAD_RUNNING: Entry<String> = entry!(leave_a_thread_running);
    const OUTLIVE_THE_SERVER: Entry<Reaper> = entry!(outlive_the_server);
    const EXIT_LATER: Entry<(u64, i32)> = entry!(exit_later);

    fn exit_later((millis, code): (u64, i32)) -> i32 {
        std::thread::sleep(Duration::from_millis(millis));
        code
    }

    /// Who reaps a fork-server worker that outlives its server, in [`outlive_the_server`].
    #[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
    enum Reaper {
        /// This process, a child subreaper, with `waitid`.
        ThisProcess,
        /// The kernel: this process is a child subreaper that ignores SIGCHLD.
        TheKernel,
        /// Init, which may never reap (some containers' do not).
        Init,
    }

    /// Starts a fork-server worker that exits 6 after 300 ms, kills the server, and joins the
    /// worker: exits 0 if its status is `Exited(6)` (or, with [`Reaper::Init`], `Lost`, when
    /// init did not reap it in time) and the join kept its bound.
    fn outlive_the_server(reaper: Reaper) -> i32 {
        if let Reaper::ThisProcess | Reaper::TheKernel = reaper {
            // SAFETY: PR_SET_CHILD_SUBREAPER takes a flag; it touches no memory of ours.
            let done = unsafe { nix::libc::prctl(nix::libc::PR_SET_CHILD_SUBREAPER, 1) };
            assert_eq!(done, 0, "PR_SET_CHILD_SUBREAPER");
        }
        if let Reaper::TheKernel = reaper {
            // SAFETY: setting a signal's disposition to "ignore" runs no handler code.
            unsafe {
                nix::sys::signal::signal(
                    nix::sys::signal::SIGCHLD,
                    nix::sys::signal::SigHandler::SigIgn,
                )
            }
            .unwrap();
            // The server, started after this, still reaps its workers.
            let quick = Process::new(EXIT_WITH, 5)
                .start_method(StartMethod::ForkServer)
                .start()
                .unwrap();
            assert_eq!(finish(&quick), ExitStatus::Exited(5), "{reaper:?}");
        }
        let worker = Process::new(EXIT_LATER, (300, 6))
            .start_method(StartMethod::ForkServer)
            .start()
            .unwrap();
        let server = parent_of(worker.pid());
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        let started = Instant::now();
        let status = worker.join_timeout(Duration::from_secs(5)).unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{reaper:?}: took {took:?}");
        match (reaper, status) {
            (_, Some(ExitStatus::Exited(6))) | (Reaper::Init, Some(ExitStatus::Lost)) => 0,
            other => panic!("{other:?}"),
        }
    }

    /// Starts a non-daemon thread that writes "done" to the file at `path` after 300 ms, and
    /// returns at once.
    fn leave_a_thread_running(path: String) {
        let _running = Thread::new(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(&path, "done").unwrap();
        })
        .start()
        .unwrap();
    }

    /// Exits with the bytes' sum modulo 251, after checking each is `index % 251`.
    fn checksum(bytes: Vec<u8>) -> i32 {
        let intact = bytes
            .iter()
            .enumerate()
            .all(|(at, &byte)| usize::from(byte) == at % 251);
        let sum: u64 = bytes.iter().map(|&byte| u64::from(byte)).sum();
        if intact {
            i32::try_from(sum % 251).unwrap()
        } else {
            250
        }
    }

    /// Starts a fork server (through a worker) and a forked child that outlives this process,
    /// writes "SERVER CHILD" (their pids) to the file at `path`, and sleeps until killed.
    fn leave_a_server_behind(path: String) {
        let worker = Process::new(EXIT_LATER, (200, 0))
            .start_method(StartMethod::ForkServer)
            .start()
            .unwrap();
        let server = parent_of(worker.pid());
        assert_eq!(finish(&worker), ExitStatus::Exited(0));
        let child = ClosureProcess::new(|| std::thread::sleep(Duration::from_secs(20)))
            .start()
            .unwrap();
        std::fs::write(&path, format!("{server} {}", child.pid())).unwrap();
        std::thread::sleep(Duration::from_secs(30));
    }

    /// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
    fn has_ended(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat[stat.rfind(')').unwrap() + 2..].starts_with('Z')
        })
    }

    /// Exits with the number of descriptors it holds.
    fn count_descriptors(_: ()) -> i32 {
        let open: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        // The directory's own descriptor was among them while it was read.
        i32::try_from(open.len() - 1).unwrap()
    }

    /// Starts a grandchild with `StartMethod::ALL[method]` that exits 7; exits with its exit code.
    fn start_grandchild(method: usize) -> i32 {
        let grandchild = Process::new(EXIT_WITH, 7)
            .start_method(StartMethod::ALL[method])
            .start();
        match grandchild.map(|grandchild| finish(&grandchild)) {
            Ok(ExitStatus::Exited(code)) => code,
            other => {
                eprintln!("the grandchild: {other:?}");
                100
            }
        }
    }

    /// The first argument that makes this test program print [`AS_ITSELF`] and exit.
    pub(super) const RERUN_FLAG: &str = "--print-what-i-am";
    /// What this test program prints when it runs as itself.
    pub(super) const AS_ITSELF: &str = "a program of its own";

    /// Runs this program again without spawn-core, as a command-line tool that re-invokes
    /// itself would; exits 0 if it ran as itself and saw none of spawn-core's start-up data.
    fn rerun_self(_: ()) -> i32 {
        if let Some((name, _)) = std::env::vars().find(|(name, _)| name.starts_with("SPAWN_CORE")) {
            eprintln!("the child's environment holds {name}");
            return 1;
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(RERUN_FLAG)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.success() && stdout.trim() == AS_ITSELF {
            0
        } else {
            eprintln!("the program run again: {:?}, {stdout:?}", output.status);
            2
        }
    }

    fn exit_with_unregistered(code: i32) -> i32 {
        code
    }

    pub(super) fn main() {
        spawn_core::init(&[
            &EXIT_WITH,
            &PANIC_WITH,
            &SLEEP_FOR,
            &IGNORE_SIGTERM,
            &SUM,
            &START_GRANDCHILD,
            &RERUN_SELF,
            &COUNT_DESCRIPTORS,
            &LEAVE_A_SERVER_BEHIND,
            &CHECKSUM,
            &LEAVE_A_THREAD_RUNNING,
            &OUTLIVE_THE_SERVER,
            &EXIT_LATER,
        ]);
        if std::env::args().nth(1).as_deref() == Some(RERUN_FLAG) {
            println!("{AS_ITSELF}");
            return;
        }
        // A shell runs a background job with SIGINT ignored, and ignored signals stay ignored
        // across fork and exec: give the children the default action, which the signal tests
        // expect.
        for signal in [nix::sys::signal::SIGINT, nix::sys::signal::SIGTERM] {
            // SAFETY: restoring a signal's default action runs no handler code.
            unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) }
                .expect("default signal action");
        }
        let tests: &[(&str, fn())] = &[
            ("exit_codes_follow_python", exit_codes_follow_python),
            ("arguments_arrive_intact", arguments_arrive_intact),
            (
                "a_panic_exits_1_with_its_message_on_stderr",
                a_panic_exits_1,
            ),
            ("join_timeout_bounds_the_wait", join_timeout_bounds_the_wait),
            (
                "signals_give_minus_the_signal",
                signals_give_minus_the_signal,
            ),
            (
                "terminate_then_kill_ends_a_child_that_ignores_sigterm",
                terminate_then_kill,
            ),
            (
                "join_is_idempotent_and_signals_after_exit_do_nothing",
                join_is_idempotent,
            ),
            (
                "a_closure_runs_in_a_forked_child",
                a_closure_runs_in_a_forked_child,
            ),
            (
                "an_unregistered_entry_is_a_typed_error",
                an_unregistered_entry_is_a_typed_error,
            ),
            (
                "a_grandchild_holding_a_pipe_does_not_delay_join",
                grandchild_holding_a_pipe,
            ),
            (
                "dropping_a_daemon_handle_terminates_and_reaps_it",
                dropping_a_daemon,
            ),
            (
                "a_forked_child_uses_a_fork_server_of_its_own",
                forked_child_own_fork_server,
            ),
            (
                "every_start_method_starts_grandchildren_with_every_method",
                nested_start_methods,
            ),
            (
                "a_child_that_runs_its_own_program_again_runs_it_as_itself",
                a_child_reruns_itself,
            ),
            (
                "a_child_holds_no_descriptor_of_its_siblings",
                child_descriptors,
            ),
            (
                "join_timeout_keeps_its_bound_beside_a_long_lived_sibling",
                join_timeout_beside_a_sibling,
            ),
            (
                "wait_returns_the_children_that_ended",
                wait_for_the_first_to_end,
            ),
            (
                "a_child_waits_for_its_non_daemon_threads_before_it_exits",
                child_joins_its_threads,
            ),
            (
                "a_large_argument_reaches_every_start_method",
                a_large_argument,
            ),
            (
                "join_timeout_keeps_its_bound_while_the_fork_server_is_stopped",
                join_timeout_with_a_stopped_server,
            ),
            (
                "a_dead_fork_server_is_started_again",
                dead_fork_server_restarts,
            ),
            (
                "a_killed_parent_s_fork_server_ends_though_its_forked_child_lives",
                server_ends_with_its_parent,
            ),
            (
                "an_argument_of_another_type_is_an_entry_error_the_parent_sees",
                an_argument_of_another_type,
            ),
            (
                "a_worker_that_outlives_its_server_keeps_its_status",
                worker_outlives_its_server,
            ),
            (
                "active_children_lists_the_running_in_start_order",
                active_children_lists_the_running,
            ),
            ("a_joined_thread_does_not_make_fork_refused", join_then_fork),
            // These two start threads, so they run last: fork is refused from then on.
            (
                "one_handle_joined_polled_and_signalled_from_many_threads",
                many_threads_one_handle,
            ),
            (
                "fork_is_refused_in_a_multithreaded_parent",
                fork_is_refused_when_multithreaded,
            ),
            // Changes the SIGCHLD disposition for the rest of the run.
            ("sigchld_ignored_join_still_returns", sigchld_ignored),
        ];
        model_check::run_on_main_thread(tests);
    }

    /// Joins with a deadline; a child still running after [`PATIENCE`] is killed and fails.
    fn finish(child: &ProcessHandle) -> ExitStatus {
        match child.join_timeout(PATIENCE).expect("join") {
            Some(status) => status,
            None => {
                let _ = child.kill();
                panic!("{} still running after {PATIENCE:?}", child.name());
            }
        }
    }

    fn nested_start_methods() {
        for child_method in StartMethod::ALL {
            for (index, grandchild_method) in StartMethod::ALL.iter().enumerate() {
                let child = Process::new(START_GRANDCHILD, index)
                    .start_method(child_method)
                    .start()
                    .unwrap();
                assert_eq!(
                    finish(&child),
                    ExitStatus::Exited(7),
                    "a {child_method:?} child starting a {grandchild_method:?} grandchild"
                );
            }
        }
    }

    fn a_child_reruns_itself() {
        for method in StartMethod::ALL {
            let child = Process::new(RERUN_SELF, ())
                .start_method(method)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(0), "{method:?}");
        }
    }

    /// A child holds as many descriptors with siblings running as without: nothing of the
    /// parent's or the server's that belongs to another child (CPython's
    /// `test_child_fd_inflation`). A fork server's worker holds only stdin, stdout, stderr and
    /// its report pipe.
    fn child_descriptors() {
        let count = |method| {
            let child = Process::new(COUNT_DESCRIPTORS, ())
                .start_method(method)
                .start()
                .unwrap();
            finish(&child)
        };
        for method in [StartMethod::Spawn, StartMethod::ForkServer] {
            let alone = count(method);
            let siblings: Vec<ProcessHandle> = (0..4)
                .map(|_| {
                    Process::new(SLEEP_FOR, 30_000)
                        .start_method(method)
                        .start()
                        .unwrap()
                })
                .collect();
            let beside_siblings: Vec<ExitStatus> = (0..3).map(|_| count(method)).collect();
            for sibling in &siblings {
                sibling.kill().unwrap();
                assert_eq!(finish(sibling), ExitStatus::Signaled(9));
            }
            assert_eq!(beside_siblings, [alone; 3], "{method:?}");
            if method == StartMethod::ForkServer {
                assert_eq!(alone, ExitStatus::Exited(4), "a worker's descriptors");
            }
        }
    }

    /// A worker that ends is joined within `join_timeout`'s bound, though a sibling started
    /// after it lives on.
    fn join_timeout_beside_a_sibling() {
        for method in StartMethod::ALL {
            let short = Process::new(SLEEP_FOR, 100)
                .start_method(method)
                .start()
                .unwrap();
            let long = Process::new(SLEEP_FOR, 10_000)
                .start_method(method)
                .start()
                .unwrap();
            let started = Instant::now();
            let status = short.join_timeout(Duration::from_secs(2)).unwrap();
            let took = started.elapsed();
            long.kill().unwrap();
            assert_eq!(status, Some(ExitStatus::Exited(0)), "{method:?}");
            assert!(took < Duration::from_secs(2), "{method:?}: {took:?}");
            assert_eq!(finish(&long), ExitStatus::Signaled(9));
        }
    }

    /// `wait` on children of every start method: the short one first, then all once the
    /// others are killed; a timeout with none ended is empty.
    fn wait_for_the_first_to_end() {
        let start = |method, millis| {
            Process::new(SLEEP_FOR, millis)
                .start_method(method)
                .start()
                .unwrap()
        };
        let children = [
            start(StartMethod::Spawn, 30_000),
            start(StartMethod::ForkServer, 100),
            start(StartMethod::Fork, 30_000),
        ];
        let all: Vec<&ProcessHandle> = children.iter().collect();
        assert_eq!(
            spawn_core::wait(&all[..1], Some(Duration::ZERO)).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(spawn_core::wait(&all, Some(PATIENCE)).unwrap(), [1]);
        assert_eq!(children[1].exit_status(), Some(ExitStatus::Exited(0)));
        children[0].kill().unwrap();
        children[2].kill().unwrap();
        let deadline = Instant::now() + PATIENCE;
        let mut ended = Vec::new();
        while ended.len() < 3 && Instant::now() < deadline {
            ended = spawn_core::wait(&all, Some(PATIENCE)).unwrap();
        }
        assert_eq!(ended, [0, 1, 2], "a joined child counts as ended");
    }

    fn child_joins_its_threads() {
        for method in StartMethod::ALL {
            let path = std::env::temp_dir().join(format!(
                "spawn-core-thread-{}-{method:?}",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&path);
            let child = Process::new(LEAVE_A_THREAD_RUNNING, path.to_string_lossy().into_owned())
                .start_method(method)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(0), "{method:?}");
            let written = std::fs::read_to_string(&path);
            let _ = std::fs::remove_file(&path);
            assert_eq!(
                written.ok().as_deref(),
                Some("done"),
                "{method:?}: the thread was cut off"
            );
        }
    }

    /// 4 MiB of argument: over the fork server's old 64 KiB limit, under every method.
    fn a_large_argument() {
        let bytes: Vec<u8> = (0..4 << 20).map(|at: usize| (at % 251) as u8).collect();
        let expected =
            i32::try_from(bytes.iter().map(|&b| u64::from(b)).sum::<u64>() % 251).unwrap();
        for method in StartMethod::ALL {
            let child = Process::new(CHECKSUM, bytes.clone())
                .start_method(method)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(expected), "{method:?}");
        }
    }

    /// A worker that has ended, whose server is stopped (SIGSTOP) before it could send the
    /// status: `join_timeout` still returns within its bound, and the status comes once the
    /// server goes on.
    fn join_timeout_with_a_stopped_server() {
        use nix::sys::signal::{SIGCONT, SIGSTOP, kill};
        let worker = Process::new(SLEEP_FOR, 200)
            .start_method(StartMethod::ForkServer)
            .start()
            .unwrap();
        let server = nix::unistd::Pid::from_raw(parent_of(worker.pid()));
        kill(server, SIGSTOP).unwrap();
        let (answer, answered) = std::sync::mpsc::channel();
        let started = Instant::now();
        let worker = Arc::new(worker);
        let joiner = {
            let worker = Arc::clone(&worker);
            std::thread::spawn(move || {
                let _ = answer.send(worker.join_timeout(Duration::from_secs(1)).unwrap());
            })
        };
        let joined = answered.recv_timeout(Duration::from_secs(10));
        let took = started.elapsed();
        kill(server, SIGCONT).unwrap();
        assert_eq!(joined, Ok(None), "no status while the server is stopped");
        assert!(
            took < Duration::from_secs(2),
            "join_timeout(1 s) took {took:?}"
        );
        joiner.join().unwrap();
        assert_eq!(finish(&worker), ExitStatus::Exited(0));
    }

    fn dead_fork_server_restarts() {
        let method = StartMethod::ForkServer;
        // Each worker lives long enough for its parent to be read from `/proc`.
        let first = Process::new(EXIT_LATER, (200, 3))
            .start_method(method)
            .start()
            .unwrap();
        let server = parent_of(first.pid());
        assert_eq!(finish(&first), ExitStatus::Exited(3));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        let deadline = Instant::now() + PATIENCE;
        while !has_ended(server) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let again = Process::new(EXIT_LATER, (200, 4))
            .start_method(method)
            .start()
            .expect("a new fork server");
        assert_ne!(parent_of(again.pid()), server, "served by a new server");
        assert_eq!(finish(&again), ExitStatus::Exited(4));
        assert!(
            !std::path::Path::new(&format!("/proc/{server}")).exists(),
            "reaped"
        );
    }

    fn active_children_lists_the_running() {
        assert!(spawn_core::active_children().is_empty(), "none yet");
        let start = |method, millis| {
            Process::new(SLEEP_FOR, millis)
                .name(format!("{method:?} {millis}"))
                .start_method(method)
                .start()
                .unwrap()
        };
        let spawned = start(StartMethod::Spawn, 20_000);
        let quick = start(StartMethod::Spawn, 0);
        let served = start(StartMethod::ForkServer, 20_000);
        let forked = start(StartMethod::Fork, 20_000);
        let dropped = Process::new(SLEEP_FOR, 20_000)
            .daemon(true)
            .start()
            .unwrap();
        drop(dropped); // terminated and reaped
        assert_eq!(spawn_core::wait(&[&quick], Some(PATIENCE)).unwrap(), [0]);
        // A forked child does not list its parent's children.
        let listed_in_a_child = ClosureProcess::new(|| spawn_core::active_children().len() as i32)
            .start()
            .unwrap();
        assert_eq!(finish(&listed_in_a_child), ExitStatus::Exited(0));
        let active = spawn_core::active_children();
        let seen: Vec<(i32, &str)> = active.iter().map(|c| (c.pid(), c.name())).collect();
        assert_eq!(
            seen,
            [
                (spawned.pid(), "Spawn 20000"),
                (served.pid(), "ForkServer 20000"),
                (forked.pid(), "Fork 20000")
            ]
        );
        // The quick one, ended but not reaped by `wait`, was reaped on the way.
        assert!(!std::path::Path::new(&format!("/proc/{}", quick.pid())).exists());
        for child in &active {
            assert!(child.is_alive().unwrap());
            child.terminate().unwrap();
        }
        assert_eq!(finish(&spawned), ExitStatus::Signaled(15));
        assert_eq!(finish(&served), ExitStatus::Signaled(15));
        assert_eq!(finish(&forked), ExitStatus::Signaled(15));
        assert!(active.iter().all(|child| !child.is_alive().unwrap()));
        assert!(spawn_core::active_children().is_empty(), "all ended");
    }

    /// Each in a process of its own, which may become a child subreaper and ignore SIGCHLD.
    fn worker_outlives_its_server() {
        for reaper in [Reaper::ThisProcess, Reaper::TheKernel, Reaper::Init] {
            let child = Process::new(OUTLIVE_THE_SERVER, reaper)
                .start_method(StartMethod::Spawn)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(0), "{reaper:?}");
        }
    }

    /// A parent killed while a child it forked lives on: its fork server must end anyway.
    fn server_ends_with_its_parent() {
        let path = std::env::temp_dir().join(format!("spawn-core-server-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let parent = Process::new(LEAVE_A_SERVER_BEHIND, path.to_string_lossy().into_owned())
            .start()
            .unwrap();
        let deadline = Instant::now() + PATIENCE;
        let pids = loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if let Some((server, child)) = text.split_once(' ') {
                    break (
                        server.parse::<i32>().unwrap(),
                        child.parse::<i32>().unwrap(),
                    );
                }
            }
            assert!(Instant::now() < deadline, "the parent never wrote the pids");
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = std::fs::remove_file(&path);
        let (server, child) = pids;
        parent.kill().unwrap();
        assert_eq!(finish(&parent), ExitStatus::Signaled(9));
        let ended_by = Instant::now() + Duration::from_secs(5);
        while !has_ended(server) && Instant::now() < ended_by {
            std::thread::sleep(Duration::from_millis(5));
        }
        let server_ended = has_ended(server);
        let child_lived = !has_ended(child);
        let _ =
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), nix::sys::signal::SIGKILL);
        assert!(child_lived, "the forked child was to outlive its parent");
        assert!(server_ended, "the fork server outlived its parent by 5 s");
    }

    fn an_argument_of_another_type() {
        // Spawn and ForkServer find the entry by name in the child; Fork runs the one given.
        for method in [StartMethod::Spawn, StartMethod::ForkServer] {
            let child = Process::new(IMPOSTOR, "hello".to_string())
                .start_method(method)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(2), "{method:?}");
            let error = child.entry_error().expect("an entry error");
            assert!(
                error.message().contains("`alloc::string::String`")
                    && error.message().contains("`i32`"),
                "{method:?}: {error}"
            );
            assert_eq!(child.panic_message(), None);
        }
        let ran = Process::new(EXIT_WITH, 4).start().unwrap();
        assert_eq!(finish(&ran), ExitStatus::Exited(4));
        assert_eq!(ran.entry_error(), None);
    }

    /// Tries to fork right after joining a thread, many times: none may be refused.
    fn join_then_fork() {
        const TRIES: u32 = 100_000;
        let started = Instant::now();
        let mut refused = 0;
        for _ in 0..TRIES {
            std::thread::spawn(|| {}).join().unwrap();
            match ClosureProcess::new(|| 0).start() {
                Ok(child) => assert_eq!(finish(&child), ExitStatus::Exited(0)),
                Err(StartError::MultiThreaded { .. }) => refused += 1,
                // Such as ESRCH from the thread count, whose `stat` of a task released while
                // it was counted answers so (about once in 20,000 counts here, before it was
                // taken for a task that is gone).
                Err(error) => panic!("{error}"),
            }
        }
        eprintln!(
            "    {TRIES} joins then forks in {:.1} s: {refused} refused",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(refused, 0, "forks refused just after a join");
    }

    fn exit_codes_follow_python() {
        for method in StartMethod::ALL {
            let context = Context::new(method);
            for code in [0, 3, 255] {
                let child = context.process(EXIT_WITH, code).start().unwrap();
                assert_eq!(finish(&child), ExitStatus::Exited(code), "{method:?}");
                assert_eq!(child.exitcode(), Some(code));
            }
        }
    }

    fn arguments_arrive_intact() {
        for method in StartMethod::ALL {
            let argument = (20, 17, "hello".to_string());
            let child = Process::new(SUM, argument)
                .start_method(method)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(42), "{method:?}");
        }
    }

    /// Runs `start`'s child with its stderr redirected into a pipe; returns the status, what it
    /// printed there, and the panic message the parent received.
    fn stderr_of(start: impl FnOnce() -> ProcessHandle) -> (ExitStatus, String, Option<String>) {
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        let saved: OwnedFd = nix::unistd::dup(std::io::stderr()).unwrap();
        nix::unistd::dup2_stderr(&write_end).unwrap();
        let child = start();
        nix::unistd::dup2_stderr(&saved).unwrap();
        drop(write_end);
        let status = finish(&child);
        let mut printed = String::new();
        std::fs::File::from(read_end)
            .read_to_string(&mut printed)
            .unwrap();
        let _ = saved.as_raw_fd();
        (status, printed, child.panic_message())
    }

    fn a_panic_exits_1() {
        for method in StartMethod::ALL {
            let (status, stderr, message) = stderr_of(|| {
                Process::new(PANIC_WITH, "the target failed".to_string())
                    .start_method(method)
                    .start()
                    .unwrap()
            });
            assert_eq!(status, ExitStatus::Exited(1), "{method:?}");
            assert!(
                stderr.contains("the target failed"),
                "{method:?}: {stderr:?}"
            );
            assert_eq!(message.as_deref(), Some("the target failed"), "{method:?}");
        }
        let closure = ClosureProcess::new(|| -> i32 { panic!("closure {}", 7) })
            .start()
            .unwrap();
        assert_eq!(finish(&closure), ExitStatus::Exited(1));
        assert_eq!(closure.panic_message().as_deref(), Some("closure 7"));
        assert_eq!(
            closure.panic_message().as_deref(),
            Some("closure 7"),
            "read once, kept"
        );
        let calm = Process::new(SLEEP_FOR, 100).start().unwrap();
        assert_eq!(calm.panic_message(), None, "None while it runs");
        assert_eq!(finish(&calm), ExitStatus::Exited(0));
        assert_eq!(calm.panic_message(), None, "no panic");
    }

    fn join_timeout_bounds_the_wait() {
        for method in StartMethod::ALL {
            let child = Process::new(SLEEP_FOR, 300)
                .start_method(method)
                .start()
                .unwrap();
            let started = Instant::now();
            assert_eq!(child.join_timeout(Duration::from_millis(50)).unwrap(), None);
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_millis(50),
                "returned early: {waited:?}"
            );
            assert!(child.is_alive().unwrap());
            assert_eq!(child.exitcode(), None, "None while running, as in Python");
            assert_eq!(finish(&child), ExitStatus::Exited(0));
            assert!(!child.is_alive().unwrap());
        }
    }

    fn signals_give_minus_the_signal() {
        for method in StartMethod::ALL {
            for (send, signal) in [
                (
                    ProcessHandle::terminate as fn(&ProcessHandle) -> std::io::Result<()>,
                    15,
                ),
                (ProcessHandle::kill, 9),
                (ProcessHandle::interrupt, 2),
            ] {
                let child = Process::new(SLEEP_FOR, 30_000)
                    .start_method(method)
                    .start()
                    .unwrap();
                send(&child).unwrap();
                assert_eq!(finish(&child), ExitStatus::Signaled(signal), "{method:?}");
                assert_eq!(child.exitcode(), Some(-signal));
            }
        }
    }

    fn terminate_then_kill() {
        let child = Process::new(IGNORE_SIGTERM, 30_000)
            .start_method(StartMethod::Fork)
            .start()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100)); // let it ignore SIGTERM
        let started = Instant::now();
        let status = child
            .terminate_then_kill(Duration::from_millis(200))
            .unwrap();
        assert_eq!(
            status,
            ExitStatus::Signaled(9),
            "SIGTERM was ignored, SIGKILL was not"
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    fn join_is_idempotent() {
        let child = Process::new(EXIT_WITH, 5).start().unwrap();
        let first = finish(&child);
        assert_eq!(child.join().unwrap(), first);
        assert_eq!(child.join_timeout(Duration::ZERO).unwrap(), Some(first));
        child.terminate().unwrap();
        child.kill().unwrap();
        assert_eq!(child.join().unwrap(), ExitStatus::Exited(5));
    }

    fn a_closure_runs_in_a_forked_child() {
        let secret = String::from("abcdef"); // heap data, copied into the child by the fork
        let child = ClosureProcess::new(move || i32::try_from(secret.len()).unwrap())
            .name("adder")
            .start()
            .unwrap();
        assert_eq!(child.name(), "adder");
        assert_eq!(finish(&child), ExitStatus::Exited(6));
        let unnamed = ClosureProcess::new(|| ()).start().unwrap();
        assert!(unnamed.name().starts_with("Process-"), "{}", unnamed.name());
        assert!(finish(&unnamed).success());
    }

    fn an_unregistered_entry_is_a_typed_error() {
        for method in StartMethod::ALL {
            match Process::new(UNREGISTERED, 1).start_method(method).start() {
                Err(StartError::NotRegistered { name }) => {
                    assert!(name.ends_with("::exit_with_unregistered"), "{name}");
                }
                other => panic!("{method:?}: {other:?}"),
            }
        }
    }

    /// Python's join waits on a pipe that the child's own children inherit; ours polls a
    /// pidfd, so a grandchild that outlives the child does not delay the join.
    fn grandchild_holding_a_pipe() {
        let child = ClosureProcess::new(|| {
            // The grandchild sleeps 5 s holding every descriptor the child had.
            std::process::Command::new("sleep")
                .arg("5")
                .spawn()
                .map(drop)
        })
        .start()
        .unwrap();
        let started = Instant::now();
        assert!(finish(&child).success());
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "join waited for the grandchild"
        );
    }

    fn dropping_a_daemon() {
        let child = Process::new(SLEEP_FOR, 30_000)
            .daemon(true)
            .start()
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(child.pid());
        let started = Instant::now();
        drop(child);
        assert!(started.elapsed() < Duration::from_secs(5));
        // Reaped: the pid is no longer our child.
        assert_eq!(
            nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
            Err(nix::errno::Errno::ECHILD)
        );
    }

    /// The parent pid of a running process, from `/proc/PID/stat`.
    fn parent_of(pid: i32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // After the command name in parentheses: state, then the parent pid.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// A forked child inherits the parent's connection to its fork server, but must not share
    /// it (replies would reach the wrong process): it starts a server of its own.
    fn forked_child_own_fork_server() {
        let method = StartMethod::ForkServer;
        let first = Process::new(SLEEP_FOR, 30_000)
            .start_method(method)
            .start()
            .unwrap();
        let parents_server = parent_of(first.pid());
        let child = ClosureProcess::new(move || {
            let grandchild = Process::new(SLEEP_FOR, 30_000).start_method(method).start();
            let grandchild = grandchild.unwrap();
            let own_server = parent_of(grandchild.pid()) != parents_server;
            grandchild.kill().unwrap();
            assert!(grandchild.join().is_ok());
            i32::from(!own_server)
        })
        .start()
        .unwrap();
        assert_eq!(
            finish(&child),
            ExitStatus::Exited(0),
            "the child used its parent's server"
        );
        first.kill().unwrap();
        assert_eq!(finish(&first), ExitStatus::Signaled(9));
        let again = Process::new(EXIT_WITH, 2)
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(
            finish(&again),
            ExitStatus::Exited(2),
            "the parent's server still serves"
        );
    }

    fn many_threads_one_handle() {
        let child = Arc::new(Process::new(SLEEP_FOR, 200).start().unwrap());
        let observers: Vec<_> = (0..6)
            .map(|i| {
                let child = Arc::clone(&child);
                Thread::new(move || match i % 3 {
                    0 => finish(&child),
                    1 => loop {
                        if let Some(status) = child.exit_status() {
                            break status;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    },
                    _ => {
                        child.interrupt().unwrap();
                        finish(&child)
                    }
                })
                .start()
                .unwrap()
            })
            .collect();
        let statuses: Vec<ExitStatus> = observers.into_iter().map(|o| o.join().unwrap()).collect();
        assert!(
            statuses.windows(2).all(|w| w[0] == w[1]),
            "one status for all: {statuses:?}"
        );
    }

    fn fork_is_refused_when_multithreaded() {
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let helper = Thread::new(move || stop_rx.recv()).start().unwrap();
        match ClosureProcess::new(|| ()).start() {
            Err(StartError::MultiThreaded { threads }) => assert!(threads >= 2),
            other => panic!("fork in a multithreaded parent: {other:?}"),
        }
        match Process::new(EXIT_WITH, 0)
            .start_method(StartMethod::Fork)
            .start()
        {
            Err(StartError::MultiThreaded { .. }) => {}
            other => panic!("{other:?}"),
        }
        // Spawn and the fork server are safe in any parent.
        for method in [StartMethod::Spawn, StartMethod::ForkServer] {
            let child = Process::new(EXIT_WITH, 4)
                .start_method(method)
                .start()
                .unwrap();
            assert_eq!(finish(&child), ExitStatus::Exited(4), "{method:?}");
        }
        stop_tx.send(()).unwrap();
        helper.join().unwrap().unwrap();
    }

    /// Whether this kernel keeps the exit status of a reaped process for its pidfds (Linux
    /// 6.15 and later).
    fn kernel_keeps_exit_records() -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut numbers = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        (numbers.next().unwrap(), numbers.next().unwrap()) >= (6, 15)
    }

    /// With SIGCHLD ignored the kernel reaps children itself; Python's `is_alive` then says
    /// True forever. Ours sees the child end, with its status where the kernel keeps it.
    fn sigchld_ignored() {
        // SAFETY: setting a signal's disposition to "ignore" runs no handler code.
        unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::SIGCHLD,
                nix::sys::signal::SigHandler::SigIgn,
            )
        }
        .unwrap();
        // Fork is refused by now: earlier tests started threads.
        for method in [StartMethod::Spawn, StartMethod::ForkServer] {
            let child = Process::new(EXIT_LATER, (50, 9))
                .start_method(method)
                .start()
                .unwrap();
            let expected = if kernel_keeps_exit_records() || method == StartMethod::ForkServer {
                ExitStatus::Exited(9)
            } else {
                ExitStatus::Lost
            };
            assert_eq!(finish(&child), expected, "{method:?}");
            assert!(!child.is_alive().unwrap());
            assert_eq!(child.exitcode(), expected.exitcode());
        }
    }
}
