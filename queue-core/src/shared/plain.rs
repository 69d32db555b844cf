//! [`Plain`]: the values that may cross a process boundary, and [`Frame`], a byte message.

/// Plain data: a value that is nothing but its bytes, so that copying them into another
/// process makes the same value there.
///
/// Only `Plain` types go through a shared [`BlockingQueue`](crate::BlockingQueue); a type
/// with pointers is rejected when the program is compiled:
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
///
/// ```
/// use queue_core::{Plain, type_tag};
///
/// #[derive(Clone, Copy)]
/// #[repr(C)]
/// struct Reading {
///     sensor: u32,
///     celsius: f32,
/// }
///
/// // SAFETY: two 4-byte numbers: no pointers, no padding, every bit pattern valid.
/// unsafe impl Plain for Reading {
///     const TYPE_TAG: u64 = type_tag("my_app::Reading v1");
/// }
/// ```
///
/// # Safety
///
/// Implement it only for a type that
/// - holds no pointer, reference, or handle whose meaning is local to a process (a `Box`, a
///   `&str`, a file descriptor number that the receiver does not share, ...),
/// - is valid for every bit pattern of its size (like integers and floats; unlike `bool`,
///   `char`, references and most enums): another process writes those bytes, and a buggy or
///   hostile one could write anything, and
/// - has no padding bytes: the queue copies every byte of a value as part of a machine word,
///   and a padding byte is uninitialised memory, which Rust does not let us read.
///
/// A `#[repr(C)]` struct of `Plain` fields qualifies if its fields leave no gaps (order them
/// from the largest alignment down, and make its size a multiple of its alignment).
pub unsafe trait Plain: Copy + Send + 'static {
    /// The tag a shared queue records for its element type, checked when attaching (see
    /// [the type tag](Plain#the-type-tag)); 0, the default, means "not tagged".
    const TYPE_TAG: u64 = 0;
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
            // SAFETY: a primitive number with no pointers and no padding, valid for every bit
            // pattern.
            unsafe impl Plain for $t {
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

// SAFETY: an array of plain values is its elements' bytes, with no gaps between them (an
// element's size is a multiple of its alignment), each valid for every pattern.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {
    const TYPE_TAG: u64 = array_tag(T::TYPE_TAG, N);
}

/// A message of up to `N` bytes with its length: plain data for a shared queue when `N` is a
/// multiple of 4 (a frame of any other size has padding bytes, and a shared queue of it does not
/// compile).
///
/// ```compile_fail
/// use queue_core::{Frame, Queue, Shared};
///
/// let queue = Queue::<Frame<5>, Shared>::create(4); // error: a Frame<N> crosses processes only when N is a multiple of 4
/// ```
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
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Frame<const N: usize> {
    len: u32,
    bytes: [u8; N],
}

impl<const N: usize> Frame<N> {
    /// A frame holding `bytes`, or `None` if they do not fit in `N` (or `u32::MAX`) bytes.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N {
            return None;
        }
        let len = u32::try_from(bytes.len()).ok()?;
        let mut frame = Self { len, bytes: [0; N] };
        frame.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(frame)
    }

    /// The message. A frame damaged by another process (a length above `N`) yields all `N`
    /// bytes rather than reading out of bounds.
    pub fn as_bytes(&self) -> &[u8] {
        let len = usize::try_from(self.len).map_or(N, |len| len.min(N));
        &self.bytes[..len]
    }
}

impl<const N: usize> Default for Frame<N> {
    fn default() -> Self {
        Self {
            len: 0,
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

// A `u32` and `N` bytes, `#[repr(C)]`, valid for every bit pattern (`as_bytes` clamps the
// length), with no padding when `N` is a multiple of 4. Other sizes stop the build of any
// shared queue of them: every one evaluates its element's tag (`create` and `attach` record
// and check it), and this tag's evaluation fails for them.
// SAFETY: so every frame that crosses processes is plain data with no padding.
unsafe impl<const N: usize> Plain for Frame<N> {
    const TYPE_TAG: u64 = {
        assert!(
            N % 4 == 0,
            "a Frame<N> crosses processes only when N is a multiple of 4 (else it has padding)"
        );
        array_tag(type_tag("queue_core::Frame"), N)
    };
}
