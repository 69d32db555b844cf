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
/// # Safety
///
/// Implement it only for a type that
/// - holds no pointer, reference, or handle whose meaning is local to a process (a `Box`, a
///   `&str`, a file descriptor number that the receiver does not share, ...), and
/// - is valid for every bit pattern of its size (like integers and floats; unlike `bool`,
///   `char`, references and most enums): another process writes those bytes, and a buggy or
///   hostile one could write anything.
///
/// A `#[repr(C)]` struct of `Plain` fields qualifies. Padding bytes, if any, are copied as they
/// are (they may carry stale bytes of the sending process).
pub unsafe trait Plain: Copy + Send + 'static {}

macro_rules! plain {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: a primitive number with no pointers, valid for every bit pattern.
            unsafe impl Plain for $t {}
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

// SAFETY: an array of plain values is its elements' bytes, each valid for every pattern.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// A message of up to `N` bytes with its length: plain data for a shared queue.
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

// SAFETY: a length and an array of bytes, both valid for every bit pattern; `as_bytes` clamps
// the length.
unsafe impl<const N: usize> Plain for Frame<N> {}
