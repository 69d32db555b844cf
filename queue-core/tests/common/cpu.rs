//! The CPU time a thread uses: how a test bounds what a waiting call costs, as a share of a
//! core rather than a wall-clock time that a loaded machine could stretch.

use std::time::Duration;

/// The CPU time the calling thread has used.
pub fn thread_cpu_time() -> Duration {
    use nix::libc;
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec on this frame.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(result, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
