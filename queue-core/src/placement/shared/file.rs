//! The memory file behind a shared queue: made, sized and sealed by the creator, and checked
//! by every process that attaches it before anything is mapped.
//!
//! The seals are what make the mapping's length a fact: once a file carries
//! `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`, no process (not even one holding the
//! descriptor, writing garbage into the queue) can make it shorter, so no access inside the
//! mapping can fault with `SIGBUS`. Only a memory file (`memfd_create`) can carry them, so the
//! check also turns away disk files, pipes, sockets and devices, with an error that names
//! what the descriptor is.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FallocateFlags, FcntlArg, SealFlag, fallocate, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::stat::{SFlag, fstat};

use super::error::{FileKind, MappingError};

/// The seals on every queue's memory file: its length can never change again, and no seal can
/// be added (none that would make our writable mapping fail later) or removed.
const SEALS: SealFlag = SealFlag::F_SEAL_SHRINK
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_SEAL);

/// A new memory file of `len` bytes, every page allocated, sealed against any change of length.
///
/// Allocating now means a machine short of memory fails here, with an error, rather than at
/// the first touch of a page in some later push (`SIGBUS` or the out-of-memory killer, in the
/// middle of the ring's protocol), and no call on the queue spends its time allocating pages.
pub(super) fn create_sealed(len: i64) -> Result<OwnedFd, MappingError> {
    let fd = memfd_create(
        c"queue-core",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )?;
    loop {
        match fallocate(&fd, FallocateFlags::empty(), 0, len) {
            // A signal can interrupt the allocation of a large file (the kernel does not
            // restart it): start again.
            Err(Errno::EINTR) => continue,
            done => break done?,
        }
    }
    fcntl(&fd, FcntlArg::F_ADD_SEALS(SEALS))?;
    Ok(fd)
}

/// The length of the memory file `fd`, after checking that it is one and carries the seals
/// that fix its length.
///
/// # Errors
///
/// [`MappingError::NotAMemoryFile`] for anything else (a pipe, a socket, a device, a disk
/// file), [`MappingError::Unsealed`] for a memory file whose length could still change.
pub(super) fn sealed_len(fd: impl AsFd) -> Result<u64, MappingError> {
    let stat = fstat(&fd)?;
    let kind = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
    if kind != SFlag::S_IFREG {
        return Err(MappingError::NotAMemoryFile {
            kind: file_kind(kind),
        });
    }
    let seals = match fcntl(&fd, FcntlArg::F_GET_SEALS) {
        // A file system without seals: a disk file, not a memory file.
        Err(Errno::EINVAL) => {
            return Err(MappingError::NotAMemoryFile {
                kind: FileKind::UnsealableFile,
            });
        }
        seals => SealFlag::from_bits_retain(seals?),
    };
    if !seals.contains(SEALS) {
        return Err(MappingError::Unsealed);
    }
    // A regular file's length is never negative.
    Ok(u64::try_from(stat.st_size).unwrap_or(0))
}

/// What `fstat`'s file type says a descriptor is.
fn file_kind(kind: SFlag) -> FileKind {
    match kind {
        SFlag::S_IFIFO => FileKind::Pipe,
        SFlag::S_IFSOCK => FileKind::Socket,
        SFlag::S_IFCHR => FileKind::CharacterDevice,
        SFlag::S_IFBLK => FileKind::BlockDevice,
        SFlag::S_IFDIR => FileKind::Directory,
        _ => FileKind::Other,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::fs::File;

    use super::*;

    #[test]
    fn a_created_file_is_sealed_at_its_length() {
        let fd = create_sealed(8192).unwrap();
        assert_eq!(sealed_len(&fd).unwrap(), 8192);
        let file = File::from(fd);
        assert!(file.set_len(100).is_err(), "shrinking is refused");
        assert!(file.set_len(1 << 20).is_err(), "growing is refused");
    }

    #[test]
    fn descriptors_that_are_not_memory_files_say_what_they_are() {
        let kind = |fd: OwnedFd| match sealed_len(fd) {
            Err(MappingError::NotAMemoryFile { kind }) => kind,
            other => panic!("expected NotAMemoryFile, got {other:?}"),
        };
        let (read, _write) = nix::unistd::pipe().unwrap();
        assert_eq!(kind(read), FileKind::Pipe);
        let (socket, _other) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(kind(socket.into()), FileKind::Socket);
        assert_eq!(kind(File::open("/dev/null").unwrap().into()), FileKind::CharacterDevice);
        assert_eq!(kind(File::open("/").unwrap().into()), FileKind::Directory);
        let disk = std::env::temp_dir().join(format!("queue-core-{}", std::process::id()));
        let file = File::create(&disk).unwrap();
        std::fs::remove_file(&disk).unwrap();
        // A disk file on a file system without seals, or a tmpfs file that cannot be sealed.
        assert!(matches!(
            sealed_len(file),
            Err(MappingError::NotAMemoryFile { kind: FileKind::UnsealableFile } | MappingError::Unsealed)
        ));
    }

    #[test]
    fn a_memory_file_without_the_seals_is_refused() {
        let fd = memfd_create(c"unsealed", MFdFlags::MFD_CLOEXEC).unwrap();
        File::from(fd.try_clone().unwrap()).set_len(4096).unwrap();
        assert!(matches!(sealed_len(&fd), Err(MappingError::Unsealed)));
        let sealable = memfd_create(c"half", MFdFlags::MFD_ALLOW_SEALING).unwrap();
        fcntl(&sealable, FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_SHRINK)).unwrap();
        assert!(matches!(sealed_len(&sealable), Err(MappingError::Unsealed)));
    }
}
