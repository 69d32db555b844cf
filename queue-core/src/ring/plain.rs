//! [`Plain`]: the values that may cross a process boundary, and [`Frame`], a byte message.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::Extent;

/// Plain data: a value that is nothing but its bytes, so that copying them into another
/// process makes the same value there.
///
/// Only `Plain` types go through a shared [`BlockingQueue`](crate::BlockingQueue). The trait
/// is safe to implement: what makes a type plain is checked by the compiler, through
/// [`zerocopy`]'s derived traits, which `Plain` requires:
/// - [`FromBytes`]: every bit pattern of its size is a valid value (integers, floats, arrays
///   and `#[repr(C)]` structs of them; not `bool`, `char`, references or pointers, nor most
///   enums). Another process writes those bytes, and a buggy or hostile one could write
///   anything.
/// - [`IntoBytes`]: it has no padding bytes, so every byte of it can be copied (a padding
///   byte is uninitialised memory, which Rust does not let us read).
/// - [`Immutable`]: nothing inside it can change behind a shared reference.
///
/// Derive the three with `zerocopy = { version = "0.8", features = ["derive"] }` in your
/// `Cargo.toml`:
///
/// ```
/// use queue_core::{BlockingQueue, Plain, Shared, type_tag};
/// use zerocopy::{FromBytes, Immutable, IntoBytes};
///
/// #[derive(FromBytes, IntoBytes, Immutable, Clone, Copy, Debug, PartialEq)]
/// #[repr(C)]
/// struct Reading {
///     sensor: u32,
///     celsius: f32,
/// }
///
/// impl Plain for Reading {
///     const TYPE_TAG: u64 = type_tag("my_app::Reading v1");
/// }
///
/// # fn main() {
/// let queue = BlockingQueue::<Reading, Shared>::create(4).unwrap();
/// queue.push(Reading { sensor: 7, celsius: 21.5 }).unwrap();
/// assert_eq!(queue.pop().unwrap(), Reading { sensor: 7, celsius: 21.5 });
/// # }
/// ```
///
/// A struct with a gap between its fields, or with a `bool` field, does not compile:
///
/// ```compile_fail
/// # use zerocopy::{FromBytes, Immutable, IntoBytes};
/// #[derive(FromBytes, IntoBytes, Immutable, Clone, Copy)]
/// #[repr(C)]
/// struct Reading {
///     sensor: u8, // error: `Reading` has 3 total byte(s) of padding
///     celsius: f32,
/// }
/// ```
///
/// Nor does a shared queue of a type with pointers:
///
/// ```compile_fail
/// use queue_core::{BlockingQueue, Shared};
///
/// let queue = BlockingQueue::<String, Shared>::create(4); // error: `String: Plain` is not satisfied
/// ```
///
/// # The type tag
///
/// A process attaching a queue checks that its element type has the size, the alignment and
/// the [`TYPE_TAG`](Plain::TYPE_TAG) recorded by the queue's creator. The tag is yours to set:
/// name the type (and its version, if its meaning may change) with [`type_tag`], and every
/// program that uses that name, whatever compiler built it, shares the queue. Left at its
/// default, 0, only the size and alignment are checked. The crate's own `Plain` types carry
/// tags of their own names, so a queue of `u64` refuses an `i64` attacher.
pub trait Plain: FromBytes + IntoBytes + Immutable + Copy + Send + 'static {
    /// The tag a shared queue records for its element type, checked when attaching (see
    /// [the type tag](Plain#the-type-tag)); 0, the default, means "not tagged".
    const TYPE_TAG: u64 = 0;

    /// How much of a value a shared queue copies: not part of the API (its type cannot be
    /// named outside the crate), and whole for every type but `Frame`.
    #[doc(hidden)]
    const EXTENT: Extent = Extent::Whole;
}

/// The type tag for a type named `name`: the 64-bit FNV-1a hash of its UTF-8 bytes, the same
/// in every program and with every compiler.
///
/// # Examples
///
/// ```
/// assert_eq!(queue_core::type_tag("u64"), <u64 as queue_core::Plain>::TYPE_TAG);
/// assert_ne!(queue_core::type_tag("my_app::Reading v1"), queue_core::type_tag("my_app::Reading v2"));
/// ```
pub const fn type_tag(name: &str) -> u64 {
    fnv1a(0xcbf2_9ce4_8422_2325, name.as_bytes())
}

/// The FNV-1a hash of `bytes`, continuing from `hash`.
const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut at = 0;
    while at < bytes.len() {
        hash = (hash ^ bytes[at] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        at += 1;
    }
    hash
}

/// The tag of an array of `len` elements tagged `element`: the FNV-1a hash of "array",
/// continued over the element's tag and the length.
const fn array_tag(element: u64, len: usize) -> u64 {
    let hash = fnv1a(type_tag("array"), &element.to_le_bytes());
    fnv1a(hash, &(len as u64).to_le_bytes())
}

macro_rules! plain {
    ($($t:ty),* $(,)?) => {
        $(
            impl Plain for $t {
                const TYPE_TAG: u64 = type_tag(stringify!($t));
            }
        )*
    };
}

plain!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    ()
);

impl<T: Plain, const N: usize> Plain for [T; N] {
    const TYPE_TAG: u64 = array_tag(T::TYPE_TAG, N);
}

/// A message of up to `N` bytes with its length: plain data, so a shared queue carries it.
///
/// # Examples
///
/// ```
/// use queue_core::Frame;
///
/// let frame = Frame::<60>::new(b"hello").unwrap();
/// assert_eq!(frame.as_bytes(), b"hello");
/// assert!(Frame::<4>::new(b"too long").is_none());
/// ```
// Bytes only (the length too, as a little-endian `[u8; 4]`): alignment 1 and no padding for
// every `N`, which is what lets `IntoBytes` be derived for a generic struct.
#[derive(Clone, Copy, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Frame<const N: usize> {
    len: [u8; 4],
    bytes: [u8; N],
}

impl<const N: usize> Frame<N> {
    /// A frame holding `bytes`, or `None` if they do not fit in `N` (or `u32::MAX`) bytes.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut frame = Self::default();
        frame.room().get_mut(..bytes.len())?.copy_from_slice(bytes);
        frame.set_len(bytes.len())?;
        Some(frame)
    }

    /// The frame's `N` bytes, to write a message into in place ([`set_len`](Self::set_len)
    /// then says how many of them it takes).
    pub(crate) fn room(&mut self) -> &mut [u8; N] {
        &mut self.bytes
    }

    /// Makes the message the first `len` bytes of the frame; `None` (and the frame unchanged)
    /// if `len` is more than `N` or `u32::MAX`.
    pub(crate) fn set_len(&mut self, len: usize) -> Option<()> {
        if len > N {
            return None;
        }
        self.len = u32::try_from(len).ok()?.to_le_bytes();
        Some(())
    }

    /// The message. A frame damaged by another process (a length above `N`) yields all `N`
    /// bytes rather than reading out of bounds.
    pub fn as_bytes(&self) -> &[u8] {
        let len = usize::try_from(u32::from_le_bytes(self.len)).map_or(N, |len| len.min(N));
        &self.bytes[..len]
    }
}

impl<const N: usize> Default for Frame<N> {
    fn default() -> Self {
        Self {
            len: [0; 4],
            bytes: [0; N],
        }
    }
}

impl<const N: usize> core::fmt::Debug for Frame<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Frame")
            .field("bytes", &self.as_bytes())
            .finish()
    }
}

impl<const N: usize> Plain for Frame<N> {
    const TYPE_TAG: u64 = array_tag(type_tag("queue_core::Frame"), N);
    // The length comes first, as a little-endian `u32`: a short message in a large frame
    // costs the words it fills.
    const EXTENT: Extent = Extent::LengthPrefixed;
}
