//! A shared queue's table of participants within one process: each handle (made by `create`,
//! `attach` or `try_clone`) is one participant, up to `MAX_PARTICIPANTS`; a dropped handle
//! gives its entry back. (A forked child's entry, and a dead process's: `cross_process.rs`.)
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Queue, BlockingQueue in shared memory
//! - Proves: each handle (create, attach, try_clone) takes one of MAX_PARTICIPANTS entries and one
//!   more is a typed TooManyParticipants error; a dropped handle gives its entry back.
//! - Cannot prove: one process (a forked child's entries and a dead process's: cross_process).

use queue_core::{BlockingQueue, MAX_PARTICIPANTS, MappingError, Queue, Shared};

#[test]
fn a_queue_takes_max_participants_handles_and_refuses_one_more_with_a_typed_error() {
    let queue = BlockingQueue::<u64, Shared>::create(4).unwrap();
    let attached =
        BlockingQueue::<u64, Shared>::attach(queue.fd().try_clone_to_owned().unwrap()).unwrap();
    let mut handles: Vec<_> = (2..MAX_PARTICIPANTS)
        .map(|n| {
            queue
                .try_clone()
                .unwrap_or_else(|e| panic!("handle {n}: {e}"))
        })
        .collect();
    let refused = queue.try_clone().unwrap_err();
    assert!(
        matches!(refused, MappingError::TooManyParticipants { max } if max == MAX_PARTICIPANTS),
        "{refused}"
    );
    assert!(
        BlockingQueue::<u64, Shared>::attach(queue.fd().try_clone_to_owned().unwrap()).is_err(),
        "attach takes an entry too"
    );
    // Every handle works on the one ring.
    handles[0].push(5).unwrap();
    assert_eq!(attached.pop(), Ok(5));
    // A dropped handle gives its entry back.
    handles.pop();
    let again = queue.try_clone().unwrap();
    assert!(queue.try_clone().is_err());
    again.push(6).unwrap();
    assert_eq!(handles[7].pop(), Ok(6));
}

#[test]
fn every_handle_of_a_non_blocking_queue_is_a_participant_too() {
    let queue = Queue::<u64, Shared>::create(2).unwrap();
    let handles: Vec<_> = (1..MAX_PARTICIPANTS)
        .map(|_| queue.try_clone().unwrap())
        .collect();
    assert!(matches!(
        queue.try_clone(),
        Err(MappingError::TooManyParticipants { .. })
    ));
    drop(handles);
    let handles: Vec<_> = (1..MAX_PARTICIPANTS)
        .map(|_| queue.try_clone().unwrap())
        .collect();
    assert_eq!(handles.len(), MAX_PARTICIPANTS - 1, "every entry came back");
}
