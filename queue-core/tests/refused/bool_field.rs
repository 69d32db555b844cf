// A `bool` field: a peer may write any byte into it, and only 0 and 1 are `bool`s.
use queue_core::Plain;
use zerocopy::{FromBytes, Immutable, IntoBytes};

#[derive(FromBytes, IntoBytes, Immutable, Clone, Copy)]
#[repr(C)]
struct Switch {
    on: bool,
    level: [u8; 3],
}

impl Plain for Switch {}

fn main() {}
