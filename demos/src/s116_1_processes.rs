//! Section 116.1, "The multiprocessing module": two processes counting down from 10 and 20,
//! started, then joined.
//!
//! ```python
//! p1 = multiprocessing.Process(target=countdown, args=[10])
//! p1.start()
//! p2 = multiprocessing.Process(target=countdown, args=[20])
//! p2.start()
//! p1.join()
//! p2.join()
//! ```
//!
//! In the chapter's notebook no `Count value` line appeared, and the note guesses that one
//! process cannot see another's output. The reason is plainer: a notebook cell shows what the
//! kernel process writes to its own `sys.stdout` object, which the notebook captures; a child
//! process writes to the file descriptor it inherited (the kernel's terminal or log), not to
//! the cell. Run from a terminal, as here, both children print to the same terminal, and their
//! lines interleave in whatever order the scheduler gives.

use spawn_core::{Entry, Process, entry};

use crate::countdown::countdown;

/// The entry point the children run (registered in `main`).
pub(crate) const COUNTDOWN: Entry<u32> = entry!(countdown);

/// Runs the listing; returns the two children's exit codes.
pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    let p1 = Process::new(COUNTDOWN, 10).name("p1").start()?;
    let p2 = Process::new(COUNTDOWN, 20).name("p2").start()?;
    let (s1, s2) = (p1.join()?, p2.join()?);
    println!(
        "exit codes: {} {}",
        s1.exitcode().unwrap_or(-1),
        s2.exitcode().unwrap_or(-1)
    );
    Ok(())
}
