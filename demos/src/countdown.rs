//! The chapter's `countdown`, shared by the process and thread listings.

/// Prints `Count value N` for N from `count` down to 1, one line each (the chapter's
/// `countdown`; its return value 0 is the exit code of a process that runs it).
pub(crate) fn countdown(count: u32) {
    for n in (1..=count).rev() {
        println!("Count value {n}");
    }
}
