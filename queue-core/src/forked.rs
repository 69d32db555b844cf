//! Telling the process that made a thing from a copy of it made by `fork`, two ways.
//!
//! - The fork token, for a shared queue's handles, which must know under any fork: a word in
//!   a page marked `MADV_WIPEONFORK`, which the kernel gives a forked child zeroed, whatever
//!   made the child (`fork`, `clone`, a library); the word holds the pid of the process that
//!   last set it. A handle compares it with the pid it joined under (one load, from a line
//!   nobody writes) and takes an entry of its own in a child.
//! - The fork generation, for heap queues, whose every claim asks: a static counter that a
//!   `pthread_atfork` handler increments in each child of libc's `fork` (which Rust's and
//!   nix's use, spawn-core's included). It costs a heap claim one load of a static, and the
//!   claimer holds a `u32`: the token's pointer in the heap claimer, measured, made a
//!   blocking push and pop 13 ns slower, the generation nothing measurable. A heap queue's
//!   copy in a child refuses every claim.

use core::num::NonZeroUsize;
use core::ptr::NonNull;
use std::io;
use std::sync::OnceLock;
// Not the `sync` facade's atomics: this word is no part of any algorithm loom checks (a model
// never forks), and it must be the same word for every queue of the process.
use std::sync::atomic::{AtomicU32, Ordering};

use nix::libc;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous};

/// The word that reads 0 in a child made by fork, until it is set to the child's pid.
pub(crate) fn fork_token() -> io::Result<&'static AtomicU32> {
    static TOKEN: OnceLock<Result<usize, nix::errno::Errno>> = OnceLock::new();
    let address = TOKEN.get_or_init(|| {
        let len = NonZeroUsize::new(4096).unwrap_or(NonZeroUsize::MIN);
        // SAFETY: a new private anonymous mapping overlaps no Rust object; it is never
        // unmapped, so the `'static` reference below stays valid.
        let page = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }?;
        // SAFETY: advice on our own new mapping, exactly its length; it changes no data now.
        unsafe { madvise(page, len.get(), MmapAdvise::MADV_WIPEONFORK) }?;
        Ok(page.as_ptr() as usize)
    });
    let address = address.map_err(io::Error::from)?;
    let word = NonNull::new(address as *mut AtomicU32)
        .ok_or_else(|| io::Error::other("no fork token"))?;
    // SAFETY: the page is mapped for the life of the process, page-aligned (so aligned for an
    // `AtomicU32`), readable and writable, and only ever accessed as this atomic; a zeroed page
    // in a forked child is a valid `AtomicU32` (0).
    Ok(unsafe { word.as_ref() })
}

/// The pid this process goes by: set in the fork token if it reads 0.
pub(crate) fn current_pid(token: &AtomicU32) -> u32 {
    // Relaxed: the word is this process's own (private memory); only the kernel's wipe at
    // fork changes it behind our back, and a fork is a full barrier for the child.
    match token.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            token.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// The process a thing was made in, as its fork generation: how many forks (libc's `fork`,
/// which Rust's and nix's use) separate this process from the program's first one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner {
    generation: u32,
}

/// This process's fork generation: incremented in every child, by the handler `counted`
/// registers with `pthread_atfork`, before `fork` returns there.
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// Registers the handler that counts forks, once per process; whether it is registered.
fn counted() -> bool {
    extern "C" fn in_child() {
        // Relaxed: the child has one thread until `fork` returns, and this is it; every
        // later reader is that thread or a thread it starts (which synchronises).
        GENERATION.fetch_add(1, Ordering::Relaxed);
    }
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // SAFETY: `in_child` is a plain function that only touches an atomic, safe to run in a
    // child between fork and fork's return (async-signal-safe); no other handler is passed.
    *REGISTERED.get_or_init(|| unsafe { libc::pthread_atfork(None, None, Some(in_child)) } == 0)
}

impl Owner {
    /// This process, as a thing made now remembers it.
    pub(crate) fn this_process() -> io::Result<Self> {
        if !counted() {
            return Err(io::Error::other("pthread_atfork refused the fork handler"));
        }
        // Relaxed: see `in_child`.
        let generation = GENERATION.load(Ordering::Relaxed);
        Ok(Self { generation })
    }

    /// Whether the caller runs in a copy of the owner made by fork (or a copy of a copy).
    #[inline(always)]
    pub(crate) fn is_forked_copy(self) -> bool {
        // Relaxed: see `in_child`. Generations only grow down a line of forks.
        GENERATION.load(Ordering::Relaxed) != self.generation
    }
}
