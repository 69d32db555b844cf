//! Cross-process throughput: one producer process and one consumer process move `MESSAGES`
//! messages, u64 and 64-byte, through
//! - the shared queue (capacity 1024): `Queue`'s non-blocking `try_push`/`try_pop` (retrying
//!   with `crossbeam_utils::Backoff` when full or empty), `BlockingQueue`'s blocking
//!   `push`/`pop`, and batches of 512 (`push_slice`/`pop_slice`), u64 batches also at
//!   capacity 4096, whose 64 KiB of values and stamps match the buffer the kernel gives a
//!   pipe; one message at a time also at capacity 262,144, a ring far larger than a core's cache (4 MiB of u64 slots, 32 MiB of
//!   64-byte ones);
//! - the floor ring (`support/floor_ring.rs`: Vyukov's ring, ~100 lines, with none of the
//!   queue's guarantees) in a shared mapping, at capacities 1024 and 64, beside the queue's
//!   non-blocking calls at both: what the queue's guarantees cost across processes;
//! - a pipe, one write per message (8 or 64 bytes), the reader reading up to 4 KiB at a time;
//! - a pipe fed with 4 KiB writes (512 u64 per write): the best byte-stream transport;
//! - Python 3's `multiprocessing.Queue` and `SimpleQueue` (`benches/python_queue.py`, run with
//!   `python3`, same message count);
//! - with `--features serde`, serde messages (a struct of a short `String` and two integers)
//!   through `MessageQueue` and `ipc-channel`, beside Python's queues carrying the same tuple
//!   (`benches/support/messages.rs`).
//!
//! Both processes are forked first and wait at a start line; each time runs from the start
//! until the consumer has taken the last message, so process creation stays out of it. Each
//! Rust case runs five times and the table shows the median; the consumer checks every
//! message and exits non-zero on a wrong one. Prints first how long a cache line takes to go
//! from one process to the other and back (this machine's two CPUs are sometimes close,
//! sometimes far apart, and every rate moves with that), then one table with each transport's
//! messages per second and the shared queue's ratios to the peers. (The CPU time of a blocked
//! getter is measured by `tests/blocking.rs`; one-way latency by `benches/latency.rs`.)
//!
//! `harness = false`: forking needs a single-threaded parent. Run:
//! `cargo bench -p queue-core --bench cross_process`. Without `--bench` (as in
//! `cargo test --benches`) it moves 10,000 messages per case, to show the bench still works.
fn main() {
    bench::main();
}
#[path = "support/floor_ring.rs"]
// Each bench uses its part of the shared support.
#[allow(dead_code)]
mod floor_ring;
#[path = "support/processes.rs"]
mod processes;

#[cfg(feature = "serde")]
#[path = "support/messages.rs"]
mod serde_messages;
mod bench {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::process::Command;
    use std::time::Duration;

    use crossbeam_utils::Backoff;
    use nix::unistd::pipe;
    use queue_core::{BlockingQueue, Frame, Plain, Queue, Shared};

    use crate::floor_ring::FloorRing;
    use crate::processes::{ROUND_TRIPS, round_trip_nanos, two_processes};

    /// Messages per case under `cargo bench` (`QUEUE_CORE_BENCH_MESSAGES` overrides it).
    const MESSAGES: u64 = 2_000_000;
    /// How many times each Rust case runs; the table shows the median rate.
    const RUNS: usize = 5;
    /// Messages per case in a quick run.
    const QUICK_MESSAGES: u64 = 10_000;
    /// The shared queue's capacity in every case but those below.
    pub(crate) const CAPACITY: usize = 1024;
    /// The capacity of the second pair of one-at-a-time cases: 262,144 slots take 4 MiB for
    /// u64 and 32 MiB for 64-byte values (each with its stamp), several times a core's L2
    /// cache; on the CI machine that made messages one at a time much faster when its two
    /// CPUs are far apart (see "How big a ring" in the crate README).
    const LARGE_CAPACITY: usize = 262_144;
    /// The capacity of the second u64 batch case: 4096 slots of an 8-byte value and an 8-byte
    /// stamp take 64 KiB, the buffer of a pipe (16 pages by default), so that the batches and
    /// the pipe with 4 KiB writes are compared with the same memory in flight.
    const PIPE_SIZED_CAPACITY: usize = 4096;
    /// Messages per batch in the batch cases.
    const BATCH: usize = 512;

    /// A message of the bench: made from its sequence number, checked by the consumer.
    trait Message: Plain + PartialEq + std::fmt::Debug {
        fn new(n: u64) -> Self;
        fn bytes(&self) -> &[u8];
    }

    impl Message for u64 {
        fn new(n: u64) -> Self {
            n
        }
        fn bytes(&self) -> &[u8] {
            // SAFETY: a u64 is 8 initialised bytes; the slice borrows `self`.
            unsafe { std::slice::from_raw_parts((self as *const u64).cast(), 8) }
        }
    }

    /// 64 bytes in all: a 4-byte length and 60 bytes.
    impl Message for Frame<60> {
        fn new(n: u64) -> Self {
            let mut bytes = [0u8; 60];
            bytes[..8].copy_from_slice(&n.to_le_bytes());
            Frame::new(&bytes).expect("60 bytes fit")
        }
        fn bytes(&self) -> &[u8] {
            const _: () = assert!(size_of::<Frame<60>>() == 64);
            // SAFETY: a `Frame<60>` is `#[repr(C)]` of 4 length bytes and 60 bytes, 64 with no
            // padding (checked above), all initialised.
            unsafe { std::slice::from_raw_parts((self as *const Self).cast(), 64) }
        }
    }

    pub(super) fn main() {
        let full = std::env::args().any(|arg| arg == "--bench");
        let messages = if full {
            std::env::var("QUEUE_CORE_BENCH_MESSAGES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(MESSAGES)
        } else {
            QUICK_MESSAGES
        };
        println!(
            "cross-process throughput, {messages} messages per case, 1 producer + 1 consumer process"
        );
        println!(
            "this machine: a cache line goes from one process to the other and back in {:.0} ns \
             (median of {RUNS} runs of {ROUND_TRIPS}; the table gives it again for each case)",
            median(round_trip_nanos)
        );
        // Like criterion: `cargo bench --bench cross_process -- WORD` runs the cases whose
        // transport names contain WORD.
        let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
        let wanted = |transport: &str| filter.as_ref().is_none_or(|word| transport.contains(word));
        let mut rows = Vec::new();
        for (transport, message, case) in cases() {
            if wanted(transport) {
                rows.push(Row::measured(transport, message, messages, case));
            }
        }
        #[cfg(feature = "serde")]
        for (transport, case) in crate::serde_messages::cases() {
            if wanted(transport) {
                rows.push(Row::measured(
                    transport,
                    crate::serde_messages::KIND,
                    messages,
                    case,
                ));
            }
        }
        for kind in ["u64", "64B", "struct"] {
            for queue in ["Queue", "SimpleQueue"] {
                if wanted(&format!("python multiprocessing.{queue}")) {
                    rows.push(python(queue, kind, messages));
                }
            }
        }
        print_table(&rows);
        #[cfg(feature = "serde")]
        crate::serde_messages::print_ratios(&rows);
        #[cfg(not(feature = "serde"))]
        println!("\n(no serde message rows: the bench runs them with `--features serde`)");
    }

    /// A Rust case: its transport, its message type, and the function that runs it.
    pub(crate) type Case = (&'static str, &'static str, fn(u64) -> Duration);

    fn cases() -> [Case; 17] {
        [
            ("queue, try_push/try_pop", "u64", queue_try::<u64, CAPACITY>),
            (FLOOR, "u64", floor_try::<CAPACITY>),
            (SMALL_TRY, "u64", queue_try::<u64, SMALL_CAPACITY>),
            (SMALL_FLOOR, "u64", floor_try::<SMALL_CAPACITY>),
            (
                "queue, push/pop (blocking)",
                "u64",
                queue_blocking::<u64, CAPACITY>,
            ),
            (LARGE_TRY, "u64", queue_try::<u64, LARGE_CAPACITY>),
            (LARGE_BLOCKING, "u64", queue_blocking::<u64, LARGE_CAPACITY>),
            (
                "queue, batches of 512",
                "u64",
                queue_batches::<u64, CAPACITY>,
            ),
            (
                PIPE_SIZED_BATCHES,
                "u64",
                queue_batches::<u64, PIPE_SIZED_CAPACITY>,
            ),
            ("pipe, a write per message", "u64", pipe_per_message::<u64>),
            ("pipe, 4 KiB writes", "u64", pipe_4k),
            (
                "queue, try_push/try_pop",
                "64B",
                queue_try::<Frame<60>, CAPACITY>,
            ),
            (
                "queue, push/pop (blocking)",
                "64B",
                queue_blocking::<Frame<60>, CAPACITY>,
            ),
            (LARGE_TRY, "64B", queue_try::<Frame<60>, LARGE_CAPACITY>),
            (
                LARGE_BLOCKING,
                "64B",
                queue_blocking::<Frame<60>, LARGE_CAPACITY>,
            ),
            (
                "queue, batches of 512",
                "64B",
                queue_batches::<Frame<60>, CAPACITY>,
            ),
            (
                "pipe, a write per message",
                "64B",
                pipe_per_message::<Frame<60>>,
            ),
        ]
    }

    /// The capacity of the second pair of non-blocking cases, queue and floor ring.
    const SMALL_CAPACITY: usize = 64;
    /// The transport name of the floor ring at [`CAPACITY`].
    const FLOOR: &str = "floor ring (hand-written Vyukov), push/pop";
    /// The transport name of the floor ring at [`SMALL_CAPACITY`].
    const SMALL_FLOOR: &str = "floor ring (hand-written Vyukov), push/pop, capacity 64";
    /// The transport name of the non-blocking calls at [`SMALL_CAPACITY`].
    const SMALL_TRY: &str = "queue, try_push/try_pop, capacity 64";
    /// The transport name of the u64 batches at [`PIPE_SIZED_CAPACITY`].
    const PIPE_SIZED_BATCHES: &str = "queue, batches of 512, capacity 4096 (a pipe's 64 KiB)";
    /// The transport name of the non-blocking calls at [`LARGE_CAPACITY`].
    const LARGE_TRY: &str = "queue, try_push/try_pop, capacity 262144";
    /// The transport name of the blocking calls at [`LARGE_CAPACITY`].
    const LARGE_BLOCKING: &str = "queue, push/pop (blocking), capacity 262144";

    /// One measured case.
    pub(crate) struct Row {
        pub(crate) transport: String,
        pub(crate) message: &'static str,
        pub(crate) per_second: f64,
        /// The cache-line round trip measured just before the runs (median), in ns.
        round_trip_ns: f64,
    }

    impl Row {
        /// Runs `case` [`RUNS`] times and keeps the median rate.
        fn measured(
            transport: &str,
            message: &'static str,
            messages: u64,
            case: fn(u64) -> Duration,
        ) -> Self {
            let mut round_trips = Vec::new();
            let per_second = median(|| {
                round_trips.push(round_trip_nanos());
                messages as f64 / case(messages).as_secs_f64()
            });
            round_trips.sort_by(f64::total_cmp);
            Self {
                transport: transport.to_string(),
                message,
                per_second,
                round_trip_ns: round_trips[RUNS / 2],
            }
        }
    }

    /// The median of [`RUNS`] measurements.
    fn median(mut measure: impl FnMut() -> f64) -> f64 {
        let mut values: Vec<f64> = (0..RUNS).map(|_| measure()).collect();
        values.sort_by(f64::total_cmp);
        values[RUNS / 2]
    }

    fn print_table(rows: &[Row]) {
        let rate = |transport: &str, message: &str| {
            rows.iter()
                .find(|r| r.transport == transport && r.message == message)
                .map(|r| r.per_second)
        };
        println!(
            "\n| transport | message | messages/s | ÷ pipe (a write per message) | ÷ mp.Queue | ÷ mp.SimpleQueue | round trip (ns) |"
        );
        println!("|---|---|---|---|---|---|---|");
        for row in rows {
            let ratio = |peer: &str| {
                rate(peer, row.message).map_or("n/a".to_string(), |peer| {
                    format!("{:.1}", row.per_second / peer)
                })
            };
            println!(
                "| {} | {} | {:.0} | {} | {} | {} | {:.0} |",
                row.transport,
                row.message,
                row.per_second,
                ratio("pipe, a write per message"),
                ratio("python multiprocessing.Queue"),
                ratio("python multiprocessing.SimpleQueue"),
                row.round_trip_ns,
            );
        }
        for (queue, floor, capacity) in [
            ("queue, try_push/try_pop", FLOOR, CAPACITY),
            (SMALL_TRY, SMALL_FLOOR, SMALL_CAPACITY),
        ] {
            if let (Some(queue), Some(floor)) = (rate(queue, "u64"), rate(floor, "u64")) {
                println!(
                    "try_push/try_pop at capacity {capacity} ÷ floor ring (u64): {:.2}",
                    queue / floor
                );
            }
        }
        if let Some(pipe) = rate("pipe, 4 KiB writes", "u64") {
            println!();
            for (batches, capacity) in [
                ("queue, batches of 512", CAPACITY),
                (PIPE_SIZED_BATCHES, PIPE_SIZED_CAPACITY),
            ] {
                if let Some(batches) = rate(batches, "u64") {
                    println!(
                        "batches of 512 at capacity {capacity} ÷ pipe with 4 KiB writes (u64): {:.2}",
                        batches / pipe
                    );
                }
            }
        }
    }

    fn queue_try<M: Message, const CAPACITY: usize>(messages: u64) -> Duration {
        let queue = Queue::<M, Shared>::create(CAPACITY).unwrap();
        two_processes(
            || {
                for n in 0..messages {
                    let mut message = M::new(n);
                    let backoff = Backoff::new();
                    while let Err(full) = queue.try_push(message) {
                        message = full.into_inner();
                        backoff.snooze();
                    }
                }
            },
            || {
                for n in 0..messages {
                    let backoff = Backoff::new();
                    let message = loop {
                        match queue.try_pop() {
                            Ok(message) => break message,
                            Err(_) => backoff.snooze(),
                        }
                    };
                    assert_eq!(message, M::new(n));
                }
            },
        )
    }

    /// The floor ring's push and pop, retried as `queue_try` retries.
    fn floor_try<const CAPACITY: usize>(messages: u64) -> Duration {
        let ring = FloorRing::<u64>::in_shared_mapping(CAPACITY);
        two_processes(
            || {
                for n in 0..messages {
                    let backoff = Backoff::new();
                    while ring.push(n).is_err() {
                        backoff.snooze();
                    }
                }
            },
            || {
                for n in 0..messages {
                    let backoff = Backoff::new();
                    let message = loop {
                        match ring.pop() {
                            Some(message) => break message,
                            None => backoff.snooze(),
                        }
                    };
                    assert_eq!(message, n);
                }
            },
        )
    }

    fn queue_blocking<M: Message, const CAPACITY: usize>(messages: u64) -> Duration {
        let queue = BlockingQueue::<M, Shared>::create(CAPACITY).unwrap();
        two_processes(
            || {
                for n in 0..messages {
                    queue.push(M::new(n)).unwrap();
                }
            },
            || {
                for n in 0..messages {
                    assert_eq!(queue.pop().unwrap(), M::new(n));
                }
            },
        )
    }

    fn queue_batches<M: Message, const CAPACITY: usize>(messages: u64) -> Duration {
        let queue = BlockingQueue::<M, Shared>::create(CAPACITY).unwrap();
        two_processes(
            || {
                let mut batch = Vec::with_capacity(BATCH);
                let mut n = 0;
                while n < messages {
                    batch.clear();
                    batch.extend((n..messages.min(n + BATCH as u64)).map(M::new));
                    let mut rest = &batch[..];
                    while !rest.is_empty() {
                        rest = &rest[queue.push_slice(rest).unwrap()..];
                    }
                    n += batch.len() as u64;
                }
            },
            || {
                let mut buffer = vec![M::new(0); BATCH];
                let mut n = 0;
                while n < messages {
                    let got = queue.pop_slice(&mut buffer).unwrap();
                    for message in &buffer[..got] {
                        assert_eq!(*message, M::new(n));
                        n += 1;
                    }
                }
            },
        )
    }

    /// Reads `messages` messages of `size` bytes from `reader`, up to 4 KiB per read, and
    /// checks each with `check(sequence, bytes)`.
    fn read_messages(mut reader: &File, size: usize, messages: u64, check: impl Fn(u64, &[u8])) {
        let mut buffer = vec![0u8; 4096 + size];
        let (mut filled, mut n) = (0, 0);
        while n < messages {
            let read = reader.read(&mut buffer[filled..filled + 4096]).unwrap();
            assert!(read > 0, "the writer closed the pipe early");
            filled += read;
            let whole = filled / size * size;
            for message in buffer[..whole].chunks_exact(size) {
                check(n, message);
                n += 1;
            }
            buffer.copy_within(whole..filled, 0);
            filled -= whole;
        }
    }

    fn pipe_per_message<M: Message>(messages: u64) -> Duration {
        let (read_end, write_end) = pipe().unwrap();
        let (reader, writer) = (File::from(read_end), File::from(write_end));
        let size = size_of::<M>();
        two_processes(
            || {
                let mut writer = &writer;
                for n in 0..messages {
                    writer.write_all(M::new(n).bytes()).unwrap();
                }
            },
            || {
                read_messages(&reader, size, messages, |n, bytes| {
                    assert_eq!(bytes, M::new(n).bytes());
                });
            },
        )
    }

    fn pipe_4k(messages: u64) -> Duration {
        let (read_end, write_end) = pipe().unwrap();
        let (reader, writer) = (File::from(read_end), File::from(write_end));
        two_processes(
            || {
                let mut writer = &writer;
                let mut block = [0u8; 4096];
                let mut n = 0;
                while n < messages {
                    let count = (messages - n).min(512) as usize;
                    for (i, chunk) in block.chunks_exact_mut(8).take(count).enumerate() {
                        chunk.copy_from_slice(&(n + i as u64).to_le_bytes());
                    }
                    writer.write_all(&block[..count * 8]).unwrap();
                    n += count as u64;
                }
            },
            || {
                read_messages(&reader, 8, messages, |n, bytes| {
                    assert_eq!(bytes, n.to_le_bytes());
                });
            },
        )
    }

    /// Runs `benches/python_queue.py`; a missing `python3` is reported in the row, loudly.
    fn python(queue: &str, kind: &'static str, messages: u64) -> Row {
        let transport = format!("python multiprocessing.{queue}");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_queue.py");
        let round_trip_ns = round_trip_nanos();
        let output = Command::new("python3")
            .args([script, queue, kind, &messages.to_string()])
            .output();
        let per_second = match output {
            Ok(output) if output.status.success() => {
                let line = String::from_utf8_lossy(&output.stdout);
                json_number(&line, "messages_per_second").expect("the script prints its rate")
            }
            Ok(output) => panic!(
                "{script} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => {
                eprintln!("WARNING: python3 could not be run ({error}): no Python rows");
                f64::NAN
            }
        };
        Row {
            transport,
            message: kind,
            per_second,
            round_trip_ns,
        }
    }

    /// The number after `"key": ` in a one-line JSON object.
    fn json_number(line: &str, key: &str) -> Option<f64> {
        let start = line.find(&format!("\"{key}\": "))? + key.len() + 4;
        let end = line[start..]
            .find(|c: char| c != '.' && c != 'e' && c != '-' && c != '+' && !c.is_ascii_digit())
            .map_or(line.len(), |end| start + end);
        line[start..end].parse().ok()
    }
}
