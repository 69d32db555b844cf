//! The barrier pair of the wait lists: `SeqCst` fences, or `membarrier(2)` and compiler fences.

use std::sync::OnceLock;
use std::sync::atomic::{Ordering, compiler_fence, fence};

use nix::libc;

/// The pair of barriers that a wait list's sleepers and wakers issue (see `wait`): the
/// two halves together order a store before each half against a load after the other, as
/// two `SeqCst` fences do.
///
/// With `membarrier(2)`, the half that runs on every successful operation costs nothing
/// at run time (a compiler fence), and the half that runs before a caller sleeps makes
/// the kernel run a full memory barrier on every CPU that is running a thread of the
/// processes concerned (a thread not running has passed through one when it was switched
/// out). So whichever way a waker's store-then-load falls around that moment, the pair
/// behaves as two `SeqCst` fences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Barriers {
    /// A `SeqCst` fence on both sides: where `membarrier` is missing or refused.
    Symmetric,
    /// `MEMBARRIER_CMD_PRIVATE_EXPEDITED` and a compiler fence: threads of this process.
    WithinProcess,
    /// `MEMBARRIER_CMD_GLOBAL_EXPEDITED` and a compiler fence: every process that
    /// registered, which each process using a shared queue does before it touches it.
    AcrossProcesses,
}

/// `linux/membarrier.h`; the `libc` crate has the syscall number but not the commands.
const CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
const CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;
const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

fn membarrier(command: libc::c_int) -> std::io::Result<()> {
    // SAFETY: `membarrier` takes two integers and touches no memory of ours.
    let result = unsafe { libc::syscall(libc::SYS_membarrier, command, 0, 0) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Registers this process for `command` once. A registration is inherited by `fork` and
/// dropped by `exec`, as is this cache: the two always agree.
fn register_once(
    registered: &'static OnceLock<Result<(), i32>>,
    command: libc::c_int,
) -> std::io::Result<()> {
    let errno = |error: std::io::Error| error.raw_os_error().unwrap_or(libc::ENOSYS);
    (*registered.get_or_init(|| membarrier(command).map_err(errno)))
        .map_err(std::io::Error::from_raw_os_error)
}

impl Barriers {
    /// The barriers for a queue within this process: `WithinProcess` if the kernel
    /// accepts this process's registration, else `Symmetric`.
    pub(crate) fn within_process() -> Self {
        static REGISTERED: OnceLock<Result<(), i32>> = OnceLock::new();
        match register_once(&REGISTERED, CMD_REGISTER_PRIVATE_EXPEDITED) {
            Ok(()) => Self::WithinProcess,
            Err(_) => Self::Symmetric,
        }
    }

    /// Registers this process for `AcrossProcesses` barriers (once): a process must do
    /// so before it uses a shared queue made with them, or its wakers' half would not be
    /// covered by the sleepers' half.
    pub(crate) fn join_across_processes() -> std::io::Result<()> {
        static REGISTERED: OnceLock<Result<(), i32>> = OnceLock::new();
        register_once(&REGISTERED, CMD_REGISTER_GLOBAL_EXPEDITED)
    }

    /// The barriers for a new shared queue: `AcrossProcesses` if this process could
    /// register, else `Symmetric`.
    pub(crate) fn across_processes() -> Self {
        match Self::join_across_processes() {
            Ok(()) => Self::AcrossProcesses,
            Err(_) => Self::Symmetric,
        }
    }

    /// The half every waker issues, after its ring change and before it reads the
    /// sleeper count.
    #[inline(always)]
    pub(crate) fn waker_half(self) {
        match self {
            // ORDERING: SeqCst fence, paired with the one in `sleeper_half`. Beyond the
            // models: under loom the barrier pair is `sync::mocked`'s (whose fences the
            // sleeping models kill when weakened); this real one is compiled out there.
            Self::Symmetric => fence(Ordering::SeqCst),
            // ORDERING: the kernel's barrier in `sleeper_half` stands in for a fence here; the
            // compiler fence keeps our store before our load in the machine code, so that
            // barrier falls before the store, between the two, or after the load. Beyond the
            // models, as the fence above.
            Self::WithinProcess | Self::AcrossProcesses => compiler_fence(Ordering::SeqCst),
        }
    }

    /// The half a caller issues after counting itself as a sleeper and before its last
    /// check. Returns `false` if the kernel refused the barrier (it cannot, once the
    /// registration was accepted; the caller then must not sleep, and retries instead).
    #[must_use]
    pub(crate) fn sleeper_half(self) -> bool {
        let command = match self {
            Self::Symmetric => {
                // ORDERING: SeqCst fence, paired with the one in `waker_half`. Beyond the
                // models: under loom the pair is `sync::mocked`'s; this one is compiled out.
                fence(Ordering::SeqCst);
                return true;
            }
            Self::WithinProcess => CMD_PRIVATE_EXPEDITED,
            Self::AcrossProcesses => CMD_GLOBAL_EXPEDITED,
        };
        // ORDERING: SeqCst fences around the call order our own accesses before and
        // after it; the call runs a full barrier on every CPU running a registered
        // thread, which is what pairs with `waker_half`. Beyond the models: loom cannot run
        // membarrier; under loom the pair is `sync::mocked`'s, and this one is compiled out.
        fence(Ordering::SeqCst);
        let issued = membarrier(command).is_ok();
        // ORDERING: SeqCst fence, the second of the two around the call, beyond the models
        // as the first.
        fence(Ordering::SeqCst);
        issued
    }
}
