// A struct with a gap between its fields: its padding bytes are uninitialised memory, which
// a shared queue would copy to another process.
use queue_core::Plain;
use zerocopy::{FromBytes, Immutable, IntoBytes};

#[derive(FromBytes, IntoBytes, Immutable, Clone, Copy)]
#[repr(C)]
struct Reading {
    sensor: u8,
    celsius: f32,
}

impl Plain for Reading {}

fn main() {}
