//! Section 116.1's note on start methods: the same countdown under fork, spawn and
//! forkserver, each chosen as `multiprocessing.set_start_method` (or `get_context`) would.
//!
//! ```python
//! for method in ["fork", "spawn", "forkserver"]:
//!     context = multiprocessing.get_context(method)
//!     p = context.Process(target=countdown, args=[3])
//!     p.start(); p.join()
//!     print(method, "pid", p.pid, "exit code", p.exitcode)
//! ```
//!
//! Python lets `set_start_method` be called once per program; here each [`Context`] carries
//! its method, so the three can be used side by side. Fork is refused with a typed error if
//! this program ran more than one thread (it runs one).

use spawn_core::{Context, StartMethod};

use crate::s116_1_processes::COUNTDOWN;

pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    for (name, method) in [
        ("fork", StartMethod::Fork),
        ("spawn", StartMethod::Spawn),
        ("forkserver", StartMethod::ForkServer),
    ] {
        let child = Context::new(method).process(COUNTDOWN, 3).start()?;
        let status = child.join()?;
        println!(
            "{name} pid {} exit code {}",
            child.pid(),
            status.exitcode().unwrap_or(-1)
        );
    }
    Ok(())
}
