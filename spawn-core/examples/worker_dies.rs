//! What the parent sees when a worker fails: Python gives an exit code (1 for an exception,
//! `-signal` for a signal) and a traceback on the child's stderr; here the same exit codes,
//! and the panic's message in the parent too.
//!
//! Run: `cargo run -p spawn-core --example worker_dies`.

use std::time::Duration;

use spawn_core::{Entry, ExitStatus, Process, StartMethod, entry};

/// A worker that panics on an odd input.
fn check(n: u32) {
    assert!(n % 2 == 0, "{n} is odd");
}
const CHECK: Entry<u32> = entry!(check);

/// A worker that never ends on its own.
fn forever(_: ()) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}
const FOREVER: Entry<()> = entry!(forever);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spawn_core::init(&[&CHECK, &FOREVER]);
    for method in StartMethod::ALL {
        let fine = Process::new(CHECK, 2).start_method(method).start()?;
        let panics = Process::new(CHECK, 3).start_method(method).start()?;
        let stuck = Process::new(FOREVER, ()).start_method(method).start()?;

        assert_eq!(fine.join()?, ExitStatus::Exited(0));
        assert_eq!(
            panics.join()?.exitcode(),
            Some(1),
            "a panic exits with 1, as an exception"
        );
        let message = panics.panic_message();
        println!("{method:?}: the worker panicked with {message:?}");
        assert_eq!(message.as_deref(), Some("3 is odd"));

        assert_eq!(
            stuck.join_timeout(Duration::from_millis(50))?,
            None,
            "still running"
        );
        stuck.kill()?; // as `p.kill()`, or an OOM killer
        let status = stuck.join()?;
        println!(
            "{method:?}: the stuck worker ended as {status:?}, exitcode {:?}",
            status.exitcode()
        );
        assert_eq!(status.exitcode(), Some(-9), "Python's -SIGKILL");
    }
    Ok(())
}
