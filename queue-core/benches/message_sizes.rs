//! Messages of every size between two processes, in MB/s: one producer process sends messages
//! of 16 B, 256 B, 4 KiB, 64 KiB, 1 MiB and 16 MiB to one consumer process, through
//! - `MessageQueue<Vec<u8>>` (serde sees a `Vec<u8>` as a sequence of bytes, one at a time),
//!   `MessageQueue<Blob>`, a struct holding the `Vec<u8>` as serde bytes (`serde_bytes`: one
//!   copy each way), and the same popped with `pop_borrowed` as a `BlobView` that borrows the
//!   bytes from the buffer they were copied into, each in a queue of 4 MiB or four messages,
//!   whichever is larger;
//! - `ipc-channel`'s byte channel (`IpcBytesSender`: a Unix socket, one `send` per message);
//! - a pipe, each message written whole and read whole with `read_exact`;
//! - Python 3's `multiprocessing.Queue` carrying `bytes` (`benches/python_queue.py`);
//! - for the limit, a single-core `memcpy` of a message's bytes in one process.
//!
//! Every case moves the same bytes (256 MiB under `cargo bench`, at most 200,000 messages and
//! at least 8); both processes are forked first and wait at a start line, the time runs until
//! the consumer has the last message, and the consumer checks each message's length and its
//! first and last bytes. The whole table runs three times, case by case in turn, and each
//! cell is the median with the range of the three; the ratios are of medians.
//!
//! `harness = false`: forking needs a single-threaded parent. Run:
//! `cargo bench -p queue-core --bench message_sizes`. Without `--bench` (as in
//! `cargo test --benches`) each case moves 1 MiB, at least two messages, once, to show the
//! bench still works.
fn main() {
    bench::main();
}
#[path = "support/processes.rs"]
#[allow(dead_code, reason = "the round trip is the cross-process bench's")]
mod processes;
mod bench {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::process::Command;
    use std::time::{Duration, Instant};

    use nix::unistd::pipe;
    use queue_core::MessageQueue;
    use serde::{Deserialize, Serialize};

    use crate::processes::two_processes;

    /// The message sizes, in bytes.
    const SIZES: [usize; 6] = [16, 256, 4 << 10, 64 << 10, 1 << 20, 16 << 20];
    /// The bytes each case moves under `cargo bench`, and in a quick run.
    const BYTES: usize = 256 << 20;
    const QUICK_BYTES: usize = 1 << 20;
    /// The most messages a case sends, and the fewest.
    const MOST_MESSAGES: usize = 200_000;
    const FEWEST_MESSAGES: usize = 8;
    /// How many times the table runs; each cell is the median.
    const RUNS: usize = 3;
    /// The smallest queue: 4 MiB of slots.
    const SMALLEST_QUEUE: usize = 4 << 20;

    /// A message as serde bytes: one copy into the encoding, one out of it.
    #[derive(Serialize, Deserialize)]
    struct Blob {
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    }

    /// A [`Blob`] seen in the buffer it was popped into.
    #[derive(Deserialize)]
    struct BlobView<'a> {
        #[serde(borrow)]
        data: &'a [u8],
    }

    /// The columns, in order.
    const TRANSPORTS: [&str; 7] = [
        "MessageQueue<Vec<u8>>",
        "MessageQueue<Blob>",
        "MessageQueue<Blob>, pop_borrowed",
        "ipc-channel bytes",
        "pipe",
        "mp.Queue of bytes",
        "memcpy (1 core)",
    ];

    pub(super) fn main() {
        let quick = !std::env::args().any(|arg| arg == "--bench");
        let bytes = if quick { QUICK_BYTES } else { BYTES };
        let runs = if quick { 1 } else { RUNS };
        println!(
            "messages of every size, one producer process and one consumer process: MB/s \
             (10^6 bytes), median of {runs} (range)"
        );
        // rates[size][transport][run]
        let mut rates = vec![vec![Vec::new(); TRANSPORTS.len()]; SIZES.len()];
        for _ in 0..runs {
            for (size_at, &size) in SIZES.iter().enumerate() {
                let count =
                    (bytes / size).clamp(if quick { 2 } else { FEWEST_MESSAGES }, MOST_MESSAGES);
                for (transport, rate) in rates[size_at].iter_mut().enumerate() {
                    let took = run(transport, size, count);
                    rate.push((size * count) as f64 / took.as_secs_f64() / 1e6);
                }
            }
        }
        print_table(&rates);
    }

    /// Runs `TRANSPORTS[transport]` for `count` messages of `size` bytes.
    fn run(transport: usize, size: usize, count: usize) -> Duration {
        match transport {
            0 => queue::<Vec<u8>>(size, count, |data| data, |message| message),
            1 => queue::<Blob>(size, count, |data| Blob { data }, |blob| blob.data),
            2 => borrowed(size, count),
            3 => ipc_bytes(size, count),
            4 => pipe_whole(size, count),
            5 => python(size, count),
            _ => memcpy(size, count),
        }
    }

    /// Message `n` of `size` bytes: `n`'s low byte, and its first and last bytes marked.
    fn message(size: usize, n: usize) -> Vec<u8> {
        let mut data = vec![n as u8; size];
        if let Some(last) = data.last_mut() {
            *last = !(n as u8);
        }
        data
    }

    /// Panics unless `data` is message `n` of `size` bytes, as far as its length and its first
    /// and last bytes tell.
    fn check(data: &[u8], size: usize, n: usize) {
        assert_eq!(data.len(), size, "message {n}");
        assert_eq!(
            (data[0], data[size - 1]),
            (n as u8, !(n as u8)),
            "message {n}"
        );
    }

    fn queue<M: Serialize + serde::de::DeserializeOwned>(
        size: usize,
        count: usize,
        wrap: fn(Vec<u8>) -> M,
        unwrap: fn(M) -> Vec<u8>,
    ) -> Duration {
        let queue = MessageQueue::<M>::create(SMALLEST_QUEUE.max(4 * (size + 64))).unwrap();
        two_processes(
            || {
                for n in 0..count {
                    queue.push(wrap(message(size, n))).unwrap();
                }
            },
            || {
                for n in 0..count {
                    check(&unwrap(queue.pop().unwrap()), size, n);
                }
            },
        )
    }

    fn borrowed(size: usize, count: usize) -> Duration {
        let queue = MessageQueue::<Blob>::create(SMALLEST_QUEUE.max(4 * (size + 64))).unwrap();
        two_processes(
            || {
                for n in 0..count {
                    queue
                        .push(Blob {
                            data: message(size, n),
                        })
                        .unwrap();
                }
            },
            || {
                let mut buffer = Vec::new();
                for n in 0..count {
                    let view: BlobView<'_> = queue.pop_borrowed(&mut buffer).unwrap();
                    check(view.data, size, n);
                }
            },
        )
    }

    fn ipc_bytes(size: usize, count: usize) -> Duration {
        let (sender, receiver) = ipc_channel::ipc::bytes_channel().unwrap();
        two_processes(
            || {
                for n in 0..count {
                    sender.send(&message(size, n)).unwrap();
                }
            },
            || {
                for n in 0..count {
                    check(&receiver.recv().unwrap(), size, n);
                }
            },
        )
    }

    fn pipe_whole(size: usize, count: usize) -> Duration {
        let (reader, writer) = pipe().unwrap();
        let (mut reader, mut writer) = (File::from(reader), File::from(writer));
        two_processes(
            || {
                for n in 0..count {
                    writer.write_all(&message(size, n)).unwrap();
                }
            },
            || {
                for n in 0..count {
                    let mut data = vec![0; size];
                    reader.read_exact(&mut data).unwrap();
                    check(&data, size, n);
                }
            },
        )
    }

    /// Copies each message's bytes into a buffer of the same size, `count` times, in this
    /// process: what moving the bytes costs one core, with nothing else. The destination
    /// starts a kibibyte and a line past a page boundary relative to the source, so that the
    /// copy does not stall on addresses that look alike in their low 12 bits.
    fn memcpy(size: usize, count: usize) -> Duration {
        const SHIFT: usize = 1024 + 64;
        let from = message(size, 1);
        let mut to = vec![1u8; size + 4096 + SHIFT];
        let gap = (from.as_ptr() as usize).wrapping_sub(to.as_ptr() as usize) % 4096;
        let to = &mut to[gap + SHIFT..][..size];
        let started = Instant::now();
        for _ in 0..count {
            to.copy_from_slice(std::hint::black_box(&from));
            std::hint::black_box(&mut *to);
        }
        started.elapsed()
    }

    /// Runs `benches/python_queue.py` with `bytes:SIZE` messages; a missing `python3` is a
    /// rate of NaN, and says so.
    fn python(size: usize, count: usize) -> Duration {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_queue.py");
        let kind = format!("bytes:{size}");
        let output = Command::new("python3")
            .args([script, "Queue", &kind, &count.to_string()])
            .output();
        match output {
            Ok(output) if output.status.success() => {
                let line = String::from_utf8_lossy(&output.stdout);
                let seconds = line
                    .split("\"seconds\": ")
                    .nth(1)
                    .and_then(|rest| rest.split([',', '}']).next())
                    .and_then(|number| number.trim().parse::<f64>().ok())
                    .expect("the script prints its time");
                Duration::from_secs_f64(seconds)
            }
            Ok(output) => panic!(
                "{script} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => {
                eprintln!("WARNING: python3 could not be run ({error}): no Python column");
                Duration::from_secs_f64(f64::NAN)
            }
        }
    }

    /// The median of `values` and their range.
    fn median_and_range(values: &[f64]) -> (f64, f64, f64) {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        (
            sorted[sorted.len() / 2],
            sorted[0],
            sorted[sorted.len() - 1],
        )
    }

    fn print_table(rates: &[Vec<Vec<f64>>]) {
        println!();
        println!("| size | {} |", TRANSPORTS.join(" | "));
        println!("|---|{}", "---|".repeat(TRANSPORTS.len()));
        for (size, row) in SIZES.iter().zip(rates) {
            let cells: Vec<String> = row
                .iter()
                .map(|runs| {
                    let (median, low, high) = median_and_range(runs);
                    format!("{median:.0} ({low:.0}-{high:.0})")
                })
                .collect();
            println!("| {} | {} |", size_name(*size), cells.join(" | "));
        }
        println!();
        println!(
            "| size | Blob ÷ mp.Queue | Blob ÷ memcpy | borrowed ÷ memcpy | Vec<u8> ÷ mp.Queue \
             | Blob ÷ ipc-channel | Blob ÷ pipe |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (size, row) in SIZES.iter().zip(rates) {
            let median = |transport: usize| median_and_range(&row[transport]).0;
            let ratio = |ours: usize, peer: usize| format!("{:.2}", median(ours) / median(peer));
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                size_name(*size),
                ratio(1, 5),
                ratio(1, 6),
                ratio(2, 6),
                ratio(0, 5),
                ratio(1, 3),
                ratio(1, 4),
            );
        }
    }

    fn size_name(size: usize) -> String {
        match size {
            size if size >= 1 << 20 => format!("{} MiB", size >> 20),
            size if size >= 1 << 10 => format!("{} KiB", size >> 10),
            size => format!("{size} B"),
        }
    }
}
