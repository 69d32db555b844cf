//! [`MappingError`]: why a shared queue could not be created or attached.

use core::fmt;

use crate::error::CapacityError;

/// The size, alignment and tag of an element type, as recorded in a shared queue's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ElementType {
    /// `size_of` the element type.
    pub size: u64,
    /// `align_of` the element type.
    pub align: u64,
    /// The type's [`Plain::TYPE_TAG`](crate::Plain::TYPE_TAG) (0: not tagged).
    pub tag: u64,
}

/// What a descriptor handed to `attach` is, when it is not a memory file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A pipe or FIFO.
    Pipe,
    /// A socket.
    Socket,
    /// A character device, such as `/dev/null`.
    CharacterDevice,
    /// A block device.
    BlockDevice,
    /// A directory.
    Directory,
    /// A regular file that cannot carry seals: a file on disk, or a shared-memory file not
    /// made by `memfd_create`.
    UnsealableFile,
    /// Anything else.
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pipe => "a pipe",
            Self::Socket => "a socket",
            Self::CharacterDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Directory => "a directory",
            Self::UnsealableFile => "a file that cannot be sealed (not a memory file)",
            Self::Other => "not a regular file",
        })
    }
}

/// A shared queue could not be created, or a mapping could not be attached as one.
///
/// Attaching checks the descriptor (a memory file, sealed at its length), the whole header and
/// the cursors before any access to the ring, so a damaged or foreign file is one of these
/// errors, never undefined behaviour.
#[derive(Debug)]
#[non_exhaustive]
pub enum MappingError {
    /// The capacity is 0, or the mapping for it does not fit in memory.
    Capacity(CapacityError),
    /// The kernel refused a call (`memfd_create`, `fallocate`, `fcntl`, `fstat`, `mmap`, or the
    /// `membarrier` registration of a process attaching a queue that uses it).
    Os(std::io::Error),
    /// The descriptor is not a memory file, so it cannot hold a shared queue: it names
    /// what it is instead.
    NotAMemoryFile {
        /// What the descriptor is.
        kind: FileKind,
    },
    /// The memory file is not sealed against changes of its length, so another process
    /// could shrink it under the mapping; every queue's creator seals its file.
    Unsealed,
    /// The file's length is not that of the queue its header describes.
    WrongLength {
        /// The file's length in bytes.
        len: u64,
        /// The length of the queue the header describes.
        expected: u64,
    },
    /// The file does not start with a shared queue's magic number.
    NotAQueue,
    /// The queue was made by a version of this crate with another memory layout.
    UnsupportedVersion {
        /// The layout version in the header.
        found: u32,
        /// The layout version this crate reads and writes.
        supported: u32,
    },
    /// The queue holds elements of another type.
    WrongType {
        /// The element type of the caller.
        expected: ElementType,
        /// The element type in the header.
        found: ElementType,
    },
    /// The file holds the other kind of shared queue: a blocking one (with wait lists)
    /// attached as a non-blocking [`Queue`](crate::Queue), or the reverse.
    WrongKind {
        /// Whether the file's queue is a blocking one, made by
        /// [`BlockingQueue::create`](crate::BlockingQueue::create).
        blocking: bool,
    },
    /// Every entry of the queue's table of participants is taken: the queue already has
    /// [`MAX_PARTICIPANTS`](crate::MAX_PARTICIPANTS) handles, in all processes together, that
    /// are alive (the entries of dead ones are taken back).
    TooManyParticipants {
        /// How many participants a queue can have.
        max: usize,
    },
    /// The header or the cursors hold values no queue of this crate can have.
    Corrupted {
        /// Which field is wrong.
        field: &'static str,
    },
    /// Only in a build with `--cfg loom` (or `--cfg shuttle`, likewise): a shared queue cannot
    /// live inside a loom model. Its memory is a file other processes map, which loom does not
    /// model (loom's atomics are objects of its own, not words in a file); model your code
    /// with a heap [`Queue`](crate::Queue) or [`BlockingQueue`](crate::BlockingQueue) instead:
    /// the same ring, with the same guarantees, which this crate's own models check.
    UnderLoom,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Capacity(error) => write!(f, "shared queue: {error}"),
            Self::Os(error) => write!(f, "shared queue: {error}"),
            Self::NotAMemoryFile { kind } => {
                write!(f, "not a shared queue: the descriptor is {kind}")
            }
            Self::Unsealed => f.write_str(
                "not a shared queue: the memory file is not sealed against resizing",
            ),
            Self::WrongLength { len, expected } => write!(
                f,
                "shared queue is damaged: the file has {len} bytes, its header describes {expected}"
            ),
            Self::NotAQueue => f.write_str("the file is not a shared queue (no magic number)"),
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "shared queue of layout version {found}; this crate reads version {supported}"
            ),
            Self::WrongType { expected, found } => write!(
                f,
                "shared queue of another element type: it holds {}-byte elements aligned to {} \
                 (type tag {:#x}), the caller's are {}-byte aligned to {} (type tag {:#x})",
                found.size,
                found.align,
                found.tag,
                expected.size,
                expected.align,
                expected.tag
            ),
            Self::WrongKind { blocking: true } => {
                f.write_str("the file holds a blocking shared queue: attach it as a BlockingQueue")
            }
            Self::WrongKind { blocking: false } => f.write_str(
                "the file holds a non-blocking shared queue (no wait lists): attach it as a Queue",
            ),
            Self::TooManyParticipants { max } => write!(
                f,
                "shared queue has {max} participants already, the most it can have"
            ),
            Self::Corrupted { field } => {
                write!(f, "shared queue is damaged: its {field} is impossible")
            }
            Self::UnderLoom => f.write_str(
                "a shared queue cannot run inside a loom model (loom does not model memory \
                 shared with other processes): model your code with a heap Queue or \
                 BlockingQueue, the same ring",
            ),
        }
    }
}

impl std::error::Error for MappingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Capacity(error) => Some(error),
            Self::Os(error) => Some(error),
            _ => None,
        }
    }
}

impl From<CapacityError> for MappingError {
    fn from(error: CapacityError) -> Self {
        Self::Capacity(error)
    }
}

impl From<nix::errno::Errno> for MappingError {
    fn from(errno: nix::errno::Errno) -> Self {
        Self::Os(errno.into())
    }
}
