//! The spawn/join lifecycle of processes and threads, with the observable semantics of Python's
//! `multiprocessing.Process` and `threading.Thread`.
//!
//! Nothing is implemented yet: this crate is a placeholder in the workspace so that the layout
//! is fixed from the start. The lifecycle is specified in the project's issue tracker.
