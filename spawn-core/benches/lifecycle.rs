//! Start + join of a trivial child, per start method, beside its peers in one run:
//! - `spawn_core` `Spawn`, `ForkServer`, `Fork` (an entry point) and `ClosureProcess` (a
//!   closure, forked);
//! - raw `fork()` + `_exit(0)` + `waitpid`, and `std::process::Command::new("/bin/true")`;
//! - Python's `multiprocessing.Process` under fork, spawn and forkserver
//!   (`benches/python_process.py`, run with `python3`);
//! - threads: `spawn_core::Thread` start + join beside `std::thread::spawn` + join.
//!
//! Each case runs `COUNT` times after one warm-up; the table gives the mean time per process
//! (or thread) and the ratios the issue asks for. `harness = false`: forking needs a
//! single-threaded parent, and spawned children are this binary run again, dispatched by
//! `spawn_core::init`. Run: `cargo bench -p spawn-core --bench lifecycle`. Without `--bench`
//! (as in `cargo test --benches`) every case runs 3 times, to show the bench still works.

use std::process::Command;
use std::time::{Duration, Instant};

use spawn_core::{ClosureProcess, Entry, Process, StartMethod, Thread, entry};

fn trivial(_: ()) {}

const TRIVIAL: Entry<()> = entry!(trivial);

/// Starts and joins per case under `cargo bench`.
const COUNT: u32 = 200;

fn main() {
    spawn_core::init(&[&TRIVIAL]);
    let full = std::env::args().any(|arg| arg == "--bench");
    let count = if full { COUNT } else { 3 };
    println!("start + join of a trivial child, mean of {count} after a warm-up");
    let rows = [
        (
            "spawn_core Fork (entry point)",
            per_run(count, || {
                Process::new(TRIVIAL, ())
                    .start_method(StartMethod::Fork)
                    .start()
                    .unwrap()
                    .join()
                    .unwrap();
            }),
        ),
        (
            "spawn_core ClosureProcess (fork)",
            per_run(count, || {
                ClosureProcess::new(|| ()).start().unwrap().join().unwrap();
            }),
        ),
        ("raw fork + waitpid", per_run(count, raw_fork_and_wait)),
        (
            "spawn_core Spawn (re-exec)",
            per_run(count, || {
                Process::new(TRIVIAL, ()).start().unwrap().join().unwrap();
            }),
        ),
        (
            "spawn_core ForkServer",
            per_run(count, || {
                Process::new(TRIVIAL, ())
                    .start_method(StartMethod::ForkServer)
                    .start()
                    .unwrap()
                    .join()
                    .unwrap();
            }),
        ),
        (
            "Command::new(\"/bin/true\")",
            per_run(count, || {
                assert!(Command::new("/bin/true").status().unwrap().success());
            }),
        ),
        ("python fork", python("fork", count)),
        ("python spawn", python("spawn", count)),
        ("python forkserver", python("forkserver", count)),
        (
            "spawn_core Thread",
            per_run(count * 10, || {
                Thread::new(|| ()).start().unwrap().join().unwrap();
            }),
        ),
        (
            "std::thread::spawn",
            per_run(count * 10, || {
                std::thread::spawn(|| ()).join().unwrap();
            }),
        ),
    ];
    println!("\n| case | per start + join |");
    println!("|---|---|");
    for (case, took) in &rows {
        println!("| {case} | {:.1} µs |", took.as_secs_f64() * 1e6);
    }
    let time = |case: &str| {
        rows.iter()
            .find(|(c, _)| *c == case)
            .map(|(_, t)| t.as_secs_f64())
    };
    let ratio = |a: &str, b: &str| match (time(a), time(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".to_string(),
    };
    println!();
    println!(
        "Fork ÷ raw fork + waitpid: {}",
        ratio("spawn_core Fork (entry point)", "raw fork + waitpid")
    );
    println!(
        "ClosureProcess ÷ raw fork + waitpid: {}",
        ratio("spawn_core ClosureProcess (fork)", "raw fork + waitpid")
    );
    println!(
        "python fork ÷ Fork: {}",
        ratio("python fork", "spawn_core Fork (entry point)")
    );
    println!(
        "python spawn ÷ Spawn: {}",
        ratio("python spawn", "spawn_core Spawn (re-exec)")
    );
    println!(
        "Spawn ÷ Command /bin/true: {}",
        ratio("spawn_core Spawn (re-exec)", "Command::new(\"/bin/true\")")
    );
    println!(
        "Thread ÷ std::thread: {}",
        ratio("spawn_core Thread", "std::thread::spawn")
    );
}

/// The mean time of `case` over `count` runs, after one untimed run.
fn per_run(count: u32, mut case: impl FnMut()) -> Duration {
    case();
    let started = Instant::now();
    for _ in 0..count {
        case();
    }
    started.elapsed() / count
}

fn raw_fork_and_wait() {
    // SAFETY: the bench runs on its main thread only; the child calls only `_exit`.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
        }
        // SAFETY: `_exit` is async-signal-safe and always safe to call.
        nix::unistd::ForkResult::Child => unsafe { nix::libc::_exit(0) },
    }
}

/// Runs `benches/python_process.py`; a missing `python3` is reported loudly, with no row value.
fn python(method: &str, count: u32) -> Duration {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_process.py");
    match Command::new("python3")
        .args([script, method, &count.to_string()])
        .output()
    {
        Ok(output) if output.status.success() => {
            let line = String::from_utf8_lossy(&output.stdout);
            let key = "\"seconds_per_process\": ";
            let start = line.find(key).expect("the script prints its time") + key.len();
            let end = line[start..]
                .find('}')
                .map_or(line.len(), |end| start + end);
            Duration::from_secs_f64(line[start..end].trim().parse().expect("a number"))
        }
        Ok(output) => panic!(
            "{script} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => {
            eprintln!("WARNING: python3 could not be run ({error}): no Python rows");
            Duration::ZERO
        }
    }
}
