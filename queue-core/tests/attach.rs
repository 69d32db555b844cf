//! What `attach` accepts and refuses: a shared queue's memory file is checked (a memory file,
//! sealed at its length), then its header and cursors, before anything else in it is read.
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Queue, BlockingQueue in shared memory
//! - Proves: attach accepts only a sealed memory file whose header, length and cursors are a
//!   queue's of the caller's element type and kind; pipes, sockets, devices, disk files, unsealed
//!   or resized files and damaged headers are each a typed error; the file cannot be shrunk or
//!   grown.
//! - Cannot prove: the damage is one field at a time, at fixed offsets.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use queue_core::{BlockingQueue, FileKind, Frame, MappingError, Queue, Shared};

fn duplicate(queue: &BlockingQueue<u64, Shared>) -> OwnedFd {
    queue.fd().try_clone_to_owned().unwrap()
}

#[test]
fn attaching_shares_the_same_ring() {
    let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
    let attached = BlockingQueue::<u64, Shared>::attach(duplicate(&queue)).unwrap();
    assert_eq!(attached.capacity(), 4);
    queue.push(9).unwrap();
    assert_eq!(attached.len(), 1);
    assert_eq!(attached.pop(), Ok(9));
    attached.close();
    assert!(queue.is_closed());
}

#[test]
fn attaching_with_the_wrong_type_is_a_typed_error() {
    let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
    for result in [
        BlockingQueue::<u32, Shared>::attach(duplicate(&queue)).map(drop),
        BlockingQueue::<i64, Shared>::attach(duplicate(&queue)).map(drop),
        BlockingQueue::<Frame<60>, Shared>::attach(duplicate(&queue)).map(drop),
    ] {
        assert!(
            matches!(result, Err(MappingError::WrongType { .. })),
            "{result:?}"
        );
    }
}

/// Writes `bytes` at `offset` of the queue's memory file.
fn damage(queue: &BlockingQueue<u64, Shared>, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::from(duplicate(queue));
    file.write_all_at(bytes, offset).unwrap();
}

/// Bytes written at an offset of the header, and the error they must cause.
type Damage<'a> = (u64, &'a [u8], fn(&MappingError) -> bool);

#[test]
fn a_damaged_header_is_a_typed_error() {
    let cases: [Damage; 6] = [
        (0, b"nonsense", |e| matches!(e, MappingError::NotAQueue)),
        (8, &6u32.to_le_bytes(), |e| {
            matches!(e, MappingError::UnsupportedVersion { found: 6, .. })
        }),
        (16, &0u64.to_le_bytes(), |e| {
            matches!(e, MappingError::Corrupted { field: "capacity" })
        }),
        (16, &5u64.to_le_bytes(), |e| {
            matches!(e, MappingError::Corrupted { field: "layout" })
        }),
        (48, &1u64.to_le_bytes(), |e| {
            matches!(
                e,
                MappingError::Corrupted {
                    field: "stamp size"
                }
            )
        }),
        (96, &9u32.to_le_bytes(), |e| {
            matches!(e, MappingError::Corrupted { field: "barriers" })
        }),
    ];
    for (offset, bytes, expected) in cases {
        let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
        damage(&queue, offset, bytes);
        let err = BlockingQueue::<u64, Shared>::attach(duplicate(&queue))
            .expect_err(&format!("offset {offset} damaged"));
        assert!(expected(&err), "offset {offset}: {err}");
    }
}

#[test]
fn damaged_cursors_are_a_typed_error() {
    let queue = BlockingQueue::<u64, Shared>::create(3).unwrap();
    // The head cursor sits right after the header, on its own cache line.
    let fd = duplicate(&queue);
    let header_end = 128;
    damage(&queue, header_end, &3u64.to_le_bytes()); // index 3 of a 3-slot ring
    let err = BlockingQueue::<u64, Shared>::attach(fd).unwrap_err();
    assert!(
        matches!(err, MappingError::Corrupted { field: "cursors" }),
        "{err}"
    );
}

#[test]
fn the_memory_file_cannot_be_resized() {
    let queue = BlockingQueue::<u64, Shared>::create(64).unwrap();
    let file = File::from(duplicate(&queue));
    let len = file.metadata().unwrap().len();
    assert!(file.set_len(700).is_err(), "shrinking is refused");
    assert!(file.set_len(len * 2).is_err(), "growing is refused");
    queue.push(1).unwrap();
    assert_eq!(queue.pop(), Ok(1));
}

/// A sealed memory file holding the first `len` bytes of `queue`'s file, zero-extended.
fn sealed_copy(queue: &BlockingQueue<u64, Shared>, len: u64) -> OwnedFd {
    let original = File::from(duplicate(queue));
    let mut bytes = vec![0; original.metadata().unwrap().len() as usize];
    original.read_exact_at(&mut bytes, 0).unwrap();
    let copy = File::from(memfd_create(c"copy", MFdFlags::MFD_ALLOW_SEALING).unwrap());
    copy.set_len(len).unwrap();
    bytes.truncate(len as usize);
    copy.write_all_at(&bytes, 0).unwrap();
    let seals = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(seals)).unwrap();
    copy.into()
}

#[test]
fn a_file_whose_length_differs_from_its_header_is_a_typed_error() {
    let queue = BlockingQueue::<u64, Shared>::create(64).unwrap();
    let len = File::from(duplicate(&queue)).metadata().unwrap().len();
    assert!(BlockingQueue::<u64, Shared>::attach(sealed_copy(&queue, len)).is_ok());
    for wrong in [0, 10, 700, len - 1, len + 1, len * 2] {
        let err = BlockingQueue::<u64, Shared>::attach(sealed_copy(&queue, wrong)).unwrap_err();
        assert!(
            matches!(err, MappingError::WrongLength { len, .. } if len == wrong),
            "{wrong} bytes: {err}"
        );
    }
}

#[test]
fn a_memory_file_without_seals_is_refused() {
    let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
    let original = File::from(duplicate(&queue));
    let mut bytes = vec![0; original.metadata().unwrap().len() as usize];
    original.read_exact_at(&mut bytes, 0).unwrap();
    let copy = File::from(memfd_create(c"unsealed", MFdFlags::empty()).unwrap());
    copy.write_all_at(&bytes, 0).unwrap();
    let err = BlockingQueue::<u64, Shared>::attach(copy.into()).unwrap_err();
    assert!(matches!(err, MappingError::Unsealed), "{err}");
}

#[test]
fn descriptors_that_are_not_queues_say_what_they_are() {
    let (read, _write) = nix::unistd::pipe().unwrap();
    let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let cases: [(OwnedFd, FileKind); 3] = [
        (read, FileKind::Pipe),
        (socket.into(), FileKind::Socket),
        (
            File::open("/dev/null").unwrap().into(),
            FileKind::CharacterDevice,
        ),
    ];
    for (fd, kind) in cases {
        let err = Queue::<u64, Shared>::attach(fd).unwrap_err();
        assert!(
            matches!(err, MappingError::NotAMemoryFile { kind: found } if found == kind),
            "{kind:?}: {err}"
        );
        assert!(err.to_string().contains(&kind.to_string()), "{err}");
    }
    let disk = std::env::temp_dir().join(format!("queue-core-attach-{}", std::process::id()));
    let file = File::create(&disk).unwrap();
    std::fs::remove_file(&disk).unwrap();
    file.set_len(4096).unwrap();
    let err = Queue::<u64, Shared>::attach(file.into()).unwrap_err();
    assert!(
        matches!(
            err,
            MappingError::NotAMemoryFile {
                kind: FileKind::UnsealableFile
            } | MappingError::Unsealed
        ),
        "a disk file: {err}"
    );
}

#[test]
fn an_empty_sealed_memory_file_is_a_typed_error() {
    let empty = File::from(memfd_create(c"empty", MFdFlags::MFD_ALLOW_SEALING).unwrap());
    let seals = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
    fcntl(&empty, FcntlArg::F_ADD_SEALS(seals)).unwrap();
    let err = Queue::<u64, Shared>::attach(empty.into()).unwrap_err();
    assert!(
        matches!(err, MappingError::WrongLength { len: 0, .. }),
        "{err}"
    );
}
