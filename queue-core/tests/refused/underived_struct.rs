// A struct that does not derive zerocopy's traits cannot claim to be `Plain`.
use queue_core::Plain;

#[derive(Clone, Copy)]
#[repr(C)]
struct Reading {
    sensor: u32,
    celsius: f32,
}

impl Plain for Reading {}

fn main() {}
