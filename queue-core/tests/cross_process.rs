//! The shared queue between real processes.
//!
//! `harness = false`: each test forks, and a fork is only sound in a single-threaded parent,
//! while libtest runs tests on worker threads. `main` runs the tests one after another on the
//! main thread and prints libtest's summary line. A child reports failure through its exit
//! status (a panic in a child exits 101 after printing its message), and the parent never
//! waits for a child without a deadline: a hang fails the test instead of stalling CI.
//!
//! Run: `cargo test -p queue-core --test cross_process`.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: BlockingQueue in shared memory
//! - Proves: 2 producer and 2 consumer processes move 1,000,000 messages through a capacity-8 queue
//!   exactly once and in order; blocking calls, timeouts, close and attach work between real
//!   processes; a forked child takes entries of its own, and a dead child's are taken back, even
//!   when a new process reused its pid within its clock tick (forced as root); a forked child that
//!   finds the table full claims nothing (TooManyParticipants) until an entry frees; a producer
//!   handle copied by fork counts from the fork until the child drops it, exits or calls exec; a
//!   heap queue's copy answers ForkedCopy; a consumer blocked on a queue whose only producer
//!   process was SIGKILLed is told Disconnected (it prints how soon).
//! - Cannot prove: fixed scenarios on this machine's scheduler; a stress test, not a proof.
mod forked;
fn main() {
    tests::main();
}
mod tests {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::process::{Child, Command};
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use queue_core::{
        BlockingQueue, Consumer, Frame, MAX_PARTICIPANTS, MappingError, PopError, PopTimeoutError,
        Producer, PushError, Queue, Shared, TryPopError, TryPushError, spsc,
    };

    use super::forked::{Children, DEADLINE, SharedMemory};

    /// Names the descriptor of a shared `BlockingQueue<u64>` in a child started by `exec`.
    const ATTACH_FD: &str = "QUEUE_CORE_TEST_ATTACH_FD";
    /// What the exec'd child does with it: `pop-sum`, or `attach-as-u32`.
    const ATTACH_ROLE: &str = "QUEUE_CORE_TEST_ATTACH_ROLE";
    /// Exit status of an exec'd child whose attach as `u32` was refused with `WrongType`.
    const REFUSED_WRONG_TYPE: i32 = 3;

    pub(super) fn main() {
        if let Ok(fd) = std::env::var(ATTACH_FD) {
            exec_child(&fd);
        }
        let tests: [(&str, fn()); 11] = [
            (
                "two_producer_and_two_consumer_processes_move_a_million_messages_exactly_once",
                two_producers_two_consumers_exactly_once,
            ),
            (
                "one_producer_and_one_consumer_process_with_blocking_calls_and_frames",
                one_producer_one_consumer_blocking_frames,
            ),
            (
                "a_consumer_whose_producer_exited_times_out_and_is_woken_by_close",
                consumer_outlives_its_producer,
            ),
            (
                "a_consumer_blocked_on_a_queue_whose_only_producer_was_killed_is_told_disconnected",
                consumer_told_its_producer_was_killed,
            ),
            (
                "a_forked_child_takes_entries_of_its_own_and_a_dead_ones_are_taken_back",
                forked_child_takes_its_own_entries,
            ),
            (
                "a_heap_queue_and_an_spsc_channel_copied_into_a_forked_child_refuse_every_call_there_and_are_intact_here",
                heap_queue_copied_by_fork_refuses_every_call,
            ),
            (
                "a_producer_handle_in_a_forked_child_counts_from_the_fork_until_it_is_dropped_exits_or_execs",
                a_forked_producer_counts_from_the_fork,
            ),
            (
                "a_forked_child_that_finds_the_table_full_claims_nothing_until_an_entry_frees",
                forked_child_finding_the_table_full_claims_nothing,
            ),
            (
                "a_dead_participant_is_not_taken_for_a_process_that_reused_its_pid_within_its_tick",
                a_dead_participant_is_not_taken_for_its_pids_next_process,
            ),
            (
                "a_child_started_by_exec_attaches_from_an_inherited_descriptor",
                exec_child_attaches,
            ),
            (
                "a_child_started_by_exec_attaching_with_the_wrong_type_gets_a_typed_error",
                exec_child_with_wrong_type_is_refused,
            ),
        ];
        model_check::run_on_main_thread(&tests);
    }

    /// A message: the producer in the high 32 bits, its sequence number in the low ones.
    fn tag(producer: u64, sequence: u64) -> u64 {
        producer << 32 | sequence
    }

    /// Checks each producer's order as this consumer sees it, and marks the message received.
    fn receive(message: u64, last: &mut [Option<u64>; 2], flags: &[AtomicU8], per_producer: u64) {
        let (producer, sequence) = ((message >> 32) as usize, message & 0xffff_ffff);
        assert!(
            producer < 2 && sequence < per_producer,
            "a message never sent: {message:#x}"
        );
        assert!(
            last[producer] < Some(sequence),
            "producer {producer}'s order broken: {sequence} after {:?}",
            last[producer]
        );
        last[producer] = Some(sequence);
        let index = producer * per_producer as usize + sequence as usize;
        // Relaxed: only the count matters; the parent reads it after waiting for the child.
        flags[index].fetch_add(1, Ordering::Relaxed);
    }

    /// 2 producer processes and 2 consumer processes move 1,000,000 tagged messages through
    /// a capacity-8 shared queue. Producer 0 uses `push`, producer 1 `push_slice`; consumer 0
    /// uses `pop`, consumer 1 `pop_slice`. Each message arrives exactly once, and each
    /// consumer sees each producer's messages in order.
    fn two_producers_two_consumers_exactly_once() {
        let mut children = Children::default();
        const PER_PRODUCER: u64 = 500_000;
        let queue = BlockingQueue::<u64, Shared>::create(8).unwrap();
        let seen = SharedMemory::new(2 * PER_PRODUCER as usize);
        let consumers = [
            children.fork(|| {
                let mut last = [None; 2];
                while let Ok(message) = queue.pop() {
                    receive(message, &mut last, seen.flags(), PER_PRODUCER);
                }
            }),
            children.fork(|| {
                let mut last = [None; 2];
                let mut buffer = [0u64; 16];
                while let Ok(n) = queue.pop_slice(&mut buffer) {
                    for &message in &buffer[..n] {
                        receive(message, &mut last, seen.flags(), PER_PRODUCER);
                    }
                }
            }),
        ];
        let producers = [
            children.fork(|| {
                for sequence in 0..PER_PRODUCER {
                    queue.push(tag(0, sequence)).unwrap();
                }
            }),
            children.fork(|| {
                let messages: Vec<u64> = (0..PER_PRODUCER).map(|s| tag(1, s)).collect();
                let mut rest = &messages[..];
                while !rest.is_empty() {
                    rest = &rest[queue.push_slice(rest).unwrap()..];
                }
            }),
        ];
        for producer in producers {
            children.assert_exits_cleanly(producer, "producer");
        }
        queue.close();
        for consumer in consumers {
            children.assert_exits_cleanly(consumer, "consumer");
        }
        let counts = seen.flags();
        let lost = counts
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) == 0)
            .count();
        let duplicated = counts
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) > 1)
            .count();
        assert_eq!(
            (lost, duplicated),
            (0, 0),
            "messages lost, and received twice"
        );
        assert_eq!(queue.try_pop(), Err(queue_core::TryPopError::Closed));
    }

    /// 1 producer and 1 consumer process, blocking calls only, 64-byte frames through a
    /// capacity-4 queue; the consumer checks every frame's bytes and their order.
    fn one_producer_one_consumer_blocking_frames() {
        let mut children = Children::default();
        const MESSAGES: u32 = 100_000;
        fn frame(n: u32) -> Frame<60> {
            let mut bytes = [0u8; 60];
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = (n as usize).wrapping_add(i) as u8;
            }
            let len = 1 + n as usize % 60;
            Frame::new(&bytes[..len]).unwrap()
        }
        let queue = BlockingQueue::<Frame<60>, Shared>::create(4).unwrap();
        let consumer = children.fork(|| {
            for n in 0..MESSAGES {
                assert_eq!(queue.pop(), Ok(frame(n)), "frame {n}");
            }
            assert_eq!(
                queue.pop(),
                Err(PopError::Closed),
                "closed after the last frame"
            );
        });
        let producer = children.fork(|| {
            for n in 0..MESSAGES {
                queue.push(frame(n)).unwrap();
            }
            queue.close();
        });
        children.assert_exits_cleanly(producer, "producer");
        children.assert_exits_cleanly(consumer, "consumer");
    }

    /// A forked child's inherited handle takes an entry of its own at its first call (its
    /// parent's stays the parent's), so the child can make `MAX_PARTICIPANTS - 2` more
    /// handles. It exits without dropping them; the parent then takes every entry but its own
    /// back from the dead child.
    fn forked_child_takes_its_own_entries() {
        let mut children = Children::default();
        let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
        let child = children.fork(|| {
            queue.push(1).unwrap();
            let mut kept = Vec::new();
            while let Ok(handle) = queue.try_clone() {
                kept.push(handle);
            }
            assert_eq!(
                kept.len(),
                MAX_PARTICIPANTS - 2,
                "the parent's entry and its own"
            );
            std::mem::forget(kept);
        });
        children.assert_exits_cleanly(child, "forked");
        let handles: Vec<_> = (1..MAX_PARTICIPANTS)
            .map(|n| {
                queue
                    .try_clone()
                    .unwrap_or_else(|e| panic!("handle {n}: {e}"))
            })
            .collect();
        assert!(matches!(
            queue.try_clone(),
            Err(MappingError::TooManyParticipants { .. })
        ));
        assert_eq!(handles[0].pop(), Ok(1));
    }

    /// A producer handle copied into a forked child exists there from the fork on: the parent
    /// drops its own copy at once, before the child has made a call, and its consumer is never
    /// told `Disconnected` while the child's copy lives, and is told once the child drops it,
    /// exits without dropping it, or replaces its image with `exec` (the handle is gone, the
    /// process is not).
    fn a_forked_producer_counts_from_the_fork() {
        let mut children = Children::default();
        let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(4).unwrap();
        let wait = Duration::from_millis(30);
        // The child pushes only after the parent has dropped its copy, then drops its own.
        let producer = consumer.try_clone_as::<Producer>().unwrap();
        let child = children.fork(|| {
            std::thread::sleep(wait);
            producer.push(7).unwrap();
            std::thread::sleep(wait);
            producer.push(8).unwrap();
            drop(producer);
            std::thread::sleep(40 * wait);
        });
        assert_eq!(
            consumer.pop_timeout(DEADLINE),
            Ok(7),
            "before the child's first call"
        );
        assert_eq!(consumer.pop_timeout(DEADLINE), Ok(8), "between its calls");
        let started = Instant::now();
        assert_eq!(
            consumer.pop_timeout(DEADLINE),
            Err(PopTimeoutError::Disconnected)
        );
        assert!(
            started.elapsed() < 20 * wait,
            "told once the child dropped its copy, before it exits"
        );
        children.assert_exits_cleanly(child, "forked");
        // A child that never uses its copy and ends with `_exit`, dropping nothing.
        let producer = consumer.try_clone_as::<Producer>().unwrap();
        let child = children.fork(|| {
            std::thread::sleep(wait);
            // SAFETY: ends this forked child at once; always safe to call.
            unsafe { nix::libc::_exit(0) };
        });
        drop(producer);
        assert_eq!(
            consumer.pop_timeout(wait / 3),
            Err(PopTimeoutError::Timeout),
            "the child's copy exists"
        );
        assert_eq!(
            consumer.pop_timeout(DEADLINE),
            Err(PopTimeoutError::Disconnected)
        );
        children.assert_exits_cleanly(child, "forked");
        // A child that replaces its image: the copy is gone at `exec`, the process lives on.
        let producer = consumer.try_clone_as::<Producer>().unwrap();
        let child = children.fork(|| {
            let sleep = c"/bin/sleep";
            let _ = nix::unistd::execv(sleep, &[sleep, c"3"]);
            panic!("exec failed");
        });
        drop(producer);
        let started = Instant::now();
        assert_eq!(
            consumer.pop_timeout(DEADLINE),
            Err(PopTimeoutError::Disconnected)
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "told while the child sleeps"
        );
        kill(child, Signal::SIGKILL).unwrap();
        children.wait(child, "exec'd");
    }

    /// The parent's handles fill the table; a forked child that uses an inherited handle has
    /// no entry to announce its claims under, so each call answers `TooManyParticipants`
    /// (handing the value back, never sleeping) instead of claiming where a death of the child
    /// could not be recovered; once the parent drops a handle, the child's next call joins.
    fn forked_child_finding_the_table_full_claims_nothing() {
        let mut children = Children::default();
        let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
        let mut handles: Vec<_> = (1..MAX_PARTICIPANTS)
            .map(|_| queue.try_clone().unwrap())
            .collect();
        let flags = SharedMemory::new(2);
        let [refused, freed] = [&flags.flags()[0], &flags.flags()[1]];
        let child = children.fork(|| {
            let pushed = queue.try_push(1);
            assert_eq!(pushed, Err(TryPushError::TooManyParticipants(1)), "a push");
            let error = pushed.unwrap_err();
            assert!(
                error.to_string().contains("table of participants"),
                "the error says what happened: {error}"
            );
            let started = Instant::now();
            let popped = queue.pop_timeout(DEADLINE);
            assert_eq!(popped, Err(PopTimeoutError::TooManyParticipants), "a pop");
            assert!(
                started.elapsed() < DEADLINE / 2,
                "answered without sleeping"
            );
            assert_eq!(queue.push(2), Err(PushError::TooManyParticipants(2)));
            // Release: the parent acts on it only; nothing else is published.
            refused.store(1, Ordering::Release);
            while freed.load(Ordering::Acquire) == 0 {
                assert!(
                    started.elapsed() < DEADLINE,
                    "the parent never freed an entry"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            queue.push(3).expect("an entry is free now");
        });
        let started = Instant::now();
        while refused.load(Ordering::Acquire) == 0 {
            assert!(started.elapsed() < DEADLINE, "the child never reported");
            if let Some(ended) = children.wait_within(child, Duration::from_millis(1)) {
                panic!("the forked process failed before it reported: {ended:?} (see its stderr)");
            }
        }
        assert!(
            queue.is_empty(),
            "the child's refused calls claimed nothing"
        );
        handles.pop();
        freed.store(1, Ordering::Release);
        children.assert_exits_cleanly(child, "forked");
        assert_eq!(queue.try_pop(), Ok(3));
        assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
        drop(handles);
    }

    /// Field `field` (1-based) of `/proc/PID/stat`, after the command name; `None` once the
    /// process is reaped.
    fn stat_field(pid: Pid, field: usize) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        after_name
            .split_ascii_whitespace()
            .nth(field - 3)
            .map(str::to_owned)
    }

    /// A participant that dies within its first clock tick (10 ms), whose pid a new process
    /// takes within that same tick, is still known dead while the new one lives: the table
    /// the two filled gives its entry back. The pid is reused on purpose (by writing
    /// `ns_last_pid`, which needs root); an attempt whose two processes started in different
    /// ticks, or in which another process took the pid, is made again.
    fn a_dead_participant_is_not_taken_for_its_pids_next_process() {
        const NS_LAST_PID: &str = "/proc/sys/kernel/ns_last_pid";
        if std::fs::OpenOptions::new()
            .write(true)
            .open(NS_LAST_PID)
            .is_err()
        {
            println!("    pid reuse not forced: writing {NS_LAST_PID} needs root");
            return;
        }
        let mut children = Children::default();
        let (mut forced, mut attempts) = (0, 0);
        while forced < 3 {
            attempts += 1;
            assert!(
                attempts <= 100,
                "pid reuse within one tick forced {forced} times in 100"
            );
            let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
            let handles: Vec<_> = (2..MAX_PARTICIPANTS)
                .map(|_| queue.try_clone().unwrap())
                .collect();
            let dead = children.fork(|| {
                // The last entry, never given back: this process ends without dropping it.
                std::mem::forget(queue.try_clone().unwrap());
            });
            let started = loop {
                // A zombie still has its `/proc` entry: read its start time before reaping.
                if stat_field(dead, 3).as_deref() == Some("Z") {
                    break stat_field(dead, 22).unwrap();
                }
                std::thread::yield_now();
            };
            children.assert_exits_cleanly(dead, "participant");
            std::fs::write(NS_LAST_PID, (dead.as_raw() - 1).to_string()).unwrap();
            let reuser = children.fork(|| std::thread::sleep(DEADLINE));
            let reused =
                reuser == dead && stat_field(reuser, 22).as_deref() == Some(started.as_str());
            if reused {
                forced += 1;
                let taken_back = queue.try_clone();
                assert!(
                    taken_back.is_ok(),
                    "the dead participant's entry, under a pid reused in its tick: {:?}",
                    taken_back.err()
                );
            }
            kill(reuser, Signal::SIGKILL).unwrap();
            children.wait(reuser, "reusing");
            drop(handles);
        }
        println!("    pid reused within the dead participant's tick {forced} times in {attempts}");
    }

    /// A forked child has a copy of the parent's heap queues and spsc channels, which reach
    /// nobody: every push and pop on the copies answers `ForkedCopy` at once (a blocking pop
    /// does not sleep), handing pushed values back and saying what happened, while a queue the
    /// child makes works; the parent's queues keep their values.
    fn heap_queue_copied_by_fork_refuses_every_call() {
        let mut children = Children::default();
        let queue = Queue::<String>::new(4).unwrap();
        queue.try_push("kept".to_string()).unwrap();
        let blocking = BlockingQueue::<u64>::new(4).unwrap();
        blocking.push(7).unwrap();
        let (mut producer, mut consumer) = spsc::channel::<u64>(4).unwrap();
        producer.try_push(5).unwrap();
        let child = children.fork(|| {
            let copy = "a heap queue's copy answered";
            assert_eq!(
                producer.try_push(6),
                Err(TryPushError::ForkedCopy(6)),
                "{copy} an spsc push"
            );
            assert_eq!(
                consumer.try_pop(),
                Err(TryPopError::ForkedCopy),
                "{copy} an spsc pop"
            );
            let value = "lost".to_string();
            assert_eq!(
                queue.try_push(value),
                Err(TryPushError::ForkedCopy("lost".to_string())),
                "{copy} a push"
            );
            let refused = queue.try_pop().unwrap_err();
            assert_eq!(refused, TryPopError::ForkedCopy, "{copy} a pop");
            let said = refused.to_string();
            assert!(
                said.contains("copy that fork made of a queue on the heap")
                    && !said.contains("shared queue"),
                "a heap copy's error says what happened to it: {said}"
            );
            let mut buffer = [0; 2];
            let popped = blocking.try_pop_slice(&mut buffer);
            assert_eq!(popped, Err(PopError::ForkedCopy), "{copy} a batch");
            assert_eq!(
                blocking.push(8),
                Err(PushError::ForkedCopy(8)),
                "{copy} a push"
            );
            let started = Instant::now();
            assert_eq!(blocking.pop(), Err(PopError::ForkedCopy), "{copy} a pop");
            let popped = blocking.pop_timeout(DEADLINE);
            assert_eq!(popped, Err(PopTimeoutError::ForkedCopy), "{copy} a pop");
            assert!(
                started.elapsed() < DEADLINE / 2,
                "answered without sleeping"
            );
            let own = BlockingQueue::<u64>::new(4).unwrap();
            own.push(9).unwrap();
            assert_eq!(own.pop(), Ok(9));
        });
        children.assert_exits_cleanly(child, "forked");
        assert_eq!(queue.try_pop().as_deref(), Ok("kept"));
        assert_eq!(blocking.pop(), Ok(7));
        assert_eq!(blocking.try_pop(), Err(TryPopError::Empty));
        assert_eq!(consumer.try_pop(), Ok(5));
        assert_eq!(consumer.try_pop(), Err(TryPopError::Empty));
        producer.try_push(8).unwrap();
    }

    /// The only producer, a child process, pushes 3 values and is SIGKILLed while it holds
    /// its handle: the consumer gets the 3 values, then its blocked `pop` answers
    /// `Disconnected`, found by its looks while asleep (at least every 10 ms).
    fn consumer_told_its_producer_was_killed() {
        let mut children = Children::default();
        let consumer = BlockingQueue::<u64, Shared<Consumer>>::create(8).unwrap();
        let flags = SharedMemory::new(1);
        let producer = children.fork(|| {
            let producer = consumer.try_clone_as::<Producer>().unwrap();
            producer.push_slice(&[1, 2, 3]).unwrap();
            flags.flags()[0].store(1, Ordering::Release);
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        assert_eq!(consumer.pop_timeout(DEADLINE), Ok(1));
        assert_eq!(consumer.pop_timeout(DEADLINE), Ok(2));
        assert_eq!(consumer.pop_timeout(DEADLINE), Ok(3));
        while flags.flags()[0].load(Ordering::Acquire) == 0 {
            std::thread::yield_now();
        }
        assert_eq!(
            consumer.pop_timeout(Duration::from_millis(30)),
            Err(PopTimeoutError::Timeout)
        );
        kill(producer, Signal::SIGKILL).unwrap();
        let killed = Instant::now();
        assert_eq!(
            consumer.pop_timeout(DEADLINE),
            Err(PopTimeoutError::Disconnected)
        );
        let told = killed.elapsed();
        children.wait(producer, "killed producer");
        assert!(
            told < Duration::from_secs(1),
            "told {told:?} after the kill"
        );
        println!(
            "figure: a consumer blocked in pop was told Disconnected {:.2} ms after its only producer was SIGKILLed",
            told.as_secs_f64() * 1e3
        );
    }

    /// A producer process pushes 10 values and exits without closing. Its consumer gets the
    /// 10 values, then a timed pop answers `Timeout` instead of sleeping forever; a second
    /// consumer sleeping in an untimed `pop` is woken by the parent's close.
    fn consumer_outlives_its_producer() {
        let mut children = Children::default();
        let queue = BlockingQueue::<u64, Shared>::create(16).unwrap();
        let producer = children.fork(|| {
            for n in 0..10 {
                queue.push(n).unwrap();
            }
        });
        children.assert_exits_cleanly(producer, "producer");
        let timed = children.fork(|| {
            for n in 0..10 {
                assert_eq!(queue.pop_timeout(Duration::from_secs(10)), Ok(n));
            }
            let started = Instant::now();
            assert_eq!(
                queue.pop_timeout(Duration::from_millis(100)),
                Err(PopTimeoutError::Timeout)
            );
            assert!(started.elapsed() >= Duration::from_millis(100));
        });
        children.assert_exits_cleanly(timed, "timed consumer");
        let sleeper = children.fork(|| {
            assert_eq!(queue.pop(), Err(PopError::Closed), "woken by the close");
        });
        // Give the sleeper time to go to sleep (if it has not, close still makes it fail).
        std::thread::sleep(Duration::from_millis(100));
        assert!(queue.close());
        children.assert_exits_cleanly(sleeper, "sleeping consumer");
    }

    /// Starts this test binary again with the queue's descriptor (duplicated without
    /// `FD_CLOEXEC`, so `exec` keeps it) and `role`.
    fn exec_with_queue(queue: &BlockingQueue<u64, Shared>, role: &str) -> Child {
        let inherited: OwnedFd = nix::unistd::dup(queue.fd()).expect("dup");
        let child = Command::new(std::env::current_exe().unwrap())
            .env(ATTACH_FD, inherited.as_raw_fd().to_string())
            .env(ATTACH_ROLE, role)
            .spawn()
            .expect("exec the test binary");
        // The child has its copy; later children must not inherit this one.
        drop(inherited);
        child
    }

    /// Waits for an exec'd child until [`DEADLINE`], then kills it; returns its exit code.
    fn wait_for_exec(mut child: Child) -> i32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code().expect("the child exited");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("exec'd child still running after {DEADLINE:?}: killed");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The body of a child started by `exec_with_queue`.
    fn exec_child(fd: &str) -> ! {
        let raw: i32 = fd.parse().expect("a descriptor number");
        // SAFETY: the parent passed this descriptor open, without FD_CLOEXEC, and nothing
        // else in this fresh process owns it.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        let role = std::env::var(ATTACH_ROLE).unwrap_or_default();
        let code = match role.as_str() {
            "pop-sum" => {
                let queue = BlockingQueue::<u64, Shared>::attach(fd).expect("attach");
                let mut sum = 0;
                while let Ok(value) = queue.pop() {
                    sum += value;
                }
                // The exit code carries the sum (the parent pushes values adding up to 42).
                i32::try_from(sum).unwrap_or(255)
            }
            "attach-as-u32" => match BlockingQueue::<u32, Shared>::attach(fd) {
                Err(MappingError::WrongType { .. }) => REFUSED_WRONG_TYPE,
                other => {
                    eprintln!("expected WrongType, got {other:?}");
                    1
                }
            },
            other => {
                eprintln!("unknown role {other:?}");
                1
            }
        };
        std::process::exit(code);
    }

    /// The spawn start method's case: a fresh program attaches from an inherited descriptor
    /// and pops what the parent pushes, until the parent closes the queue. The parent's third
    /// push sleeps on the full queue until the child, in another process, makes room.
    fn exec_child_attaches() {
        let queue = BlockingQueue::<u64, Shared>::create(2).unwrap();
        queue.push(10).unwrap();
        queue.push(12).unwrap();
        let child = exec_with_queue(&queue, "pop-sum");
        queue.push(20).unwrap();
        queue.close();
        assert_eq!(
            wait_for_exec(child),
            42,
            "the child's sum of what it popped"
        );
    }

    fn exec_child_with_wrong_type_is_refused() {
        let queue = BlockingQueue::<u64, Shared>::create(2).unwrap();
        let child = exec_with_queue(&queue, "attach-as-u32");
        assert_eq!(wait_for_exec(child), REFUSED_WRONG_TYPE);
    }
}
