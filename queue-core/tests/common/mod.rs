//! Test support shared by the queue's test suites: a sequential reference model, operation
//! histories with happens-before clocks, and a linearizability checker over them.
#![allow(dead_code, unreachable_pub)]

pub mod counted;
#[cfg(not(loom))]
pub mod cpu;
pub mod history;
pub mod linearizability;
pub mod reference;
