//! Section 116.2, "The threading module": two threads counting down from 10 and 20, whose
//! lines interleave.
//!
//! The chapter's listing defines `counter` but starts `threading.Thread(target=countdown)`,
//! which only works in its notebook because `countdown` was defined in an earlier cell; a
//! fresh program raises `NameError`. Here the one function is `countdown`. The chapter's
//! output also shows torn lines (`Count valueCount value  209`): Python's `print` writes the
//! text and the newline separately, so two threads can interleave mid-line. Rust's `println!`
//! locks stdout for the whole line, so lines interleave but never tear.

use spawn_core::Thread;

use crate::countdown::countdown;

pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    let t1 = Thread::new(|| countdown(10)).name("t1").start()?;
    let t2 = Thread::new(|| countdown(20)).name("t2").start()?;
    t1.join()?;
    t2.join()?;
    Ok(())
}
