//! The lists of descriptors being collected or delivered, one of each per thread, and the
//! scopes that set them up.

use core::cell::RefCell;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::thread::LocalKey;

use crate::Error;

thread_local! {
    /// The descriptors collected so far by the innermost [`collect`] of this thread.
    static COLLECTED: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
    /// The descriptors given to the innermost [`deliver`] of this thread; a taken one is `None`.
    static DELIVERED: RefCell<Option<Vec<Option<OwnedFd>>>> = const { RefCell::new(None) };
}

/// Runs `serialize`, collecting every descriptor it serializes (see [`carry`]); returns its
/// result and the descriptors, in the order of the indices serialized, for the transport to
/// carry beside the bytes.
///
/// Each descriptor is a duplicate (close-on-exec): the value serialized keeps its own. A
/// `collect` inside `serialize` collects on its own, and the outer one goes on after it.
pub fn collect<R>(serialize: impl FnOnce() -> R) -> (R, Vec<OwnedFd>) {
    let scope = Scope::enter(&COLLECTED, Vec::new());
    let result = serialize();
    (result, scope.leave())
}

/// Runs `deserialize` with `fds`, the descriptors received beside the bytes, for it to
/// [`take`]; returns its result. The descriptors it did not take are closed.
///
/// A `deliver` inside `deserialize` delivers its own list, and the outer one goes on after it.
pub fn deliver<R>(fds: Vec<OwnedFd>, deserialize: impl FnOnce() -> R) -> R {
    let scope = Scope::enter(&DELIVERED, fds.into_iter().map(Some).collect());
    let result = deserialize();
    drop(scope.leave());
    result
}

/// Adds a duplicate of `fd` to the list of the innermost [`collect`] of this thread; returns
/// its index, for the value to serialize in the descriptor's place.
///
/// # Errors
///
/// [`Error::NotCollecting`] outside [`collect`]; [`Error::Duplicate`] if the descriptor cannot
/// be duplicated.
pub fn carry(fd: BorrowedFd<'_>) -> Result<u32, Error> {
    COLLECTED.with(|collected| {
        let mut collected = collected.borrow_mut();
        let list = collected.as_mut().ok_or(Error::NotCollecting)?;
        let index = u32::try_from(list.len())
            .map_err(|_| Error::Duplicate(std::io::Error::other("more than 2^32 descriptors")))?;
        list.push(fd.try_clone_to_owned().map_err(Error::Duplicate)?);
        Ok(index)
    })
}

/// Takes the descriptor at `index` from the list of the innermost [`deliver`] of this thread.
///
/// # Errors
///
/// [`Error::NotDelivering`] outside [`deliver`]; [`Error::Missing`] for an index past the end
/// of the list; [`Error::AlreadyTaken`] for one taken before.
pub fn take(index: u32) -> Result<OwnedFd, Error> {
    DELIVERED.with(|delivered| {
        let mut delivered = delivered.borrow_mut();
        let list = delivered.as_mut().ok_or(Error::NotDelivering)?;
        let received = list.len();
        let slot = usize::try_from(index)
            .ok()
            .and_then(|at| list.get_mut(at))
            .ok_or(Error::Missing { index, received })?;
        slot.take().ok_or(Error::AlreadyTaken { index })
    })
}

/// A list of this thread's, set up for the length of a scope; the list it replaced (an outer
/// scope's, or none) is put back when the scope ends, even by a panic.
struct Scope<T: 'static> {
    key: &'static LocalKey<RefCell<Option<T>>>,
    outer: Option<T>,
}

impl<T: Default> Scope<T> {
    fn enter(key: &'static LocalKey<RefCell<Option<T>>>, list: T) -> Self {
        let outer = key.with(|current| current.borrow_mut().replace(list));
        Self { key, outer }
    }

    /// Ends the scope; returns its list.
    fn leave(self) -> T {
        self.key
            .with(|current| current.borrow_mut().as_mut().map(core::mem::take))
            .unwrap_or_default()
    }
}

impl<T> Drop for Scope<T> {
    fn drop(&mut self) {
        let outer = self.outer.take();
        // What is left of this scope's list (nothing after `leave`) is dropped here: the
        // descriptors of a scope that panicked are closed.
        let _ = self.key.with(|current| current.replace(outer));
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, AsRawFd};

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Two {
        #[serde(with = "crate::owned")]
        first: OwnedFd,
        label: String,
        #[serde(with = "crate::owned")]
        second: OwnedFd,
    }

    /// Two connected sockets (std's `pipe` is newer than this crate's Rust 1.85).
    fn pipe() -> (OwnedFd, OwnedFd) {
        let (read, write) = std::os::unix::net::UnixStream::pair().unwrap();
        (read.into(), write.into())
    }

    fn same_file(a: &OwnedFd, b: &OwnedFd) -> bool {
        let inode = |fd: &OwnedFd| {
            let file = std::fs::File::from(fd.try_clone().unwrap());
            let meta = file.metadata().unwrap();
            (
                std::os::unix::fs::MetadataExt::dev(&meta),
                std::os::unix::fs::MetadataExt::ino(&meta),
            )
        };
        inode(a) == inode(b)
    }

    #[test]
    fn a_value_with_descriptors_arrives_with_the_same_files() {
        let (read, write) = pipe();
        let value = Two {
            first: read,
            label: "two".into(),
            second: write,
        };
        let (bytes, fds) = collect(|| postcard::to_allocvec(&value));
        let bytes = bytes.unwrap();
        assert_eq!(fds.len(), 2);
        assert!(same_file(&fds[0], &value.first) && same_file(&fds[1], &value.second));
        assert_ne!(
            fds[0].as_raw_fd(),
            value.first.as_raw_fd(),
            "a duplicate, not the original"
        );
        let received: Two = deliver(fds, || postcard::from_bytes(&bytes)).unwrap();
        assert_eq!(received.label, "two");
        assert!(same_file(&received.first, &value.first));
        assert!(same_file(&received.second, &value.second));
    }

    #[test]
    fn outside_the_scopes_a_descriptor_is_an_error() {
        let (read, write) = pipe();
        let value = Two {
            first: read,
            label: String::new(),
            second: write,
        };
        assert!(
            postcard::to_allocvec(&value).is_err(),
            "refused outside collect"
        );
        assert!(matches!(
            carry(value.first.as_fd()),
            Err(Error::NotCollecting)
        ));
        assert!(matches!(take(0), Err(Error::NotDelivering)));
    }

    #[test]
    fn an_index_is_taken_once_and_must_exist() {
        let (read, _write) = pipe();
        deliver(vec![read], || {
            assert!(take(0).is_ok());
            assert!(matches!(take(0), Err(Error::AlreadyTaken { index: 0 })));
            assert!(matches!(
                take(1),
                Err(Error::Missing {
                    index: 1,
                    received: 1
                })
            ));
        });
    }

    #[test]
    fn descriptors_nobody_took_are_closed() {
        let (read, write) = pipe();
        let raw = read.as_raw_fd();
        deliver(vec![read], || {});
        // The read end is closed: writing to the other end now fails with EPIPE.
        let mut write = std::fs::File::from(write);
        let error = std::io::Write::write(&mut write, b"x").unwrap_err();
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::BrokenPipe,
            "descriptor {raw} leaked"
        );
    }

    #[test]
    fn scopes_nest_and_a_panic_restores_the_outer_one() {
        let (read, _write) = pipe();
        let ((), outer) = collect(|| {
            carry(read.as_fd()).unwrap();
            let ((), inner) = collect(|| {
                carry(read.as_fd()).unwrap();
                carry(read.as_fd()).unwrap();
            });
            assert_eq!(inner.len(), 2);
            let panicked = std::panic::catch_unwind(|| {
                collect(|| {
                    carry(read.as_fd()).unwrap();
                    panic!("in the middle of a value");
                })
            });
            assert!(panicked.is_err());
            assert_eq!(carry(read.as_fd()).unwrap(), 1, "the outer list goes on");
        });
        assert_eq!(outer.len(), 2);
        assert!(matches!(carry(read.as_fd()), Err(Error::NotCollecting)));
    }
}
