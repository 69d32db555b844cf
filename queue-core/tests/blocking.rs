//! Behaviour of `BlockingQueue` within one process: blocking calls, timeouts, close, slices,
//! on both placements. (Attaching a shared queue: `attach.rs`; across processes:
//! `cross_process.rs`.)
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: BlockingQueue (heap and shared, one process)
//! - Proves: blocked calls are woken, timeouts bound the whole call and hand the value back, close
//!   wakes every sleeper; 3 producer and 3 consumer threads move 60,000 values exactly once through
//!   blocking calls; 20,000 ping-pong rounds lose no wake-up (no call sleeps its whole timeout); a
//!   blocked getter uses under 1% of a core.
//! - Cannot prove: a stress test on this machine's scheduler, not a proof: a lost wake-up in a
//!   window too narrow to hit would pass (loom's models are the proof).

mod common;

use std::ops::Deref;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::cpu::thread_cpu_time;
use queue_core::{
    BlockingQueue, Frame, Heap, Placement, PopError, PopTimeoutError, PushSliceError,
    PushTimeoutError, Shared, TryPopError, TryPushError,
};

/// Runs `$body` once with `$queue` a `BlockingQueue<u64>` of `$capacity` on the heap, and once
/// with one in a shared mapping.
macro_rules! for_each_placement {
    ($capacity:expr, |$queue:ident| $body:block) => {{
        {
            let $queue = BlockingQueue::<u64>::new($capacity).unwrap();
            $body
        }
        {
            let $queue = BlockingQueue::<u64, Shared>::create($capacity).unwrap();
            $body
        }
    }};
    ($capacity:expr, |$first:ident, $second:ident| $body:block) => {{
        {
            let $first = BlockingQueue::<u64>::new($capacity).unwrap();
            let $second = BlockingQueue::<u64>::new($capacity).unwrap();
            $body
        }
        {
            let $first = BlockingQueue::<u64, Shared>::create($capacity).unwrap();
            let $second = BlockingQueue::<u64, Shared>::create($capacity).unwrap();
            $body
        }
    }};
}

/// A queue handle another thread can own: an `Arc` for the heap placement (its queue is
/// `Sync`), a handle of its own for a shared queue (`try_clone`, one participant per handle).
trait Handle: Deref<Target = BlockingQueue<u64, Self::Placement>> + Send + 'static {
    type Placement: Placement;
    /// Another handle on the same queue.
    fn another(&self) -> Self;
}

impl Handle for Arc<BlockingQueue<u64, Heap>> {
    type Placement = Heap;
    fn another(&self) -> Self {
        Arc::clone(self)
    }
}

impl Handle for Box<BlockingQueue<u64, Shared>> {
    type Placement = Shared;
    fn another(&self) -> Self {
        Box::new(self.try_clone().unwrap())
    }
}

/// Turns a queue into the first of its handles.
trait IntoHandle {
    type Handle: Handle;
    fn into_handle(self) -> Self::Handle;
}

impl IntoHandle for BlockingQueue<u64, Heap> {
    type Handle = Arc<Self>;
    fn into_handle(self) -> Self::Handle {
        Arc::new(self)
    }
}

impl IntoHandle for BlockingQueue<u64, Shared> {
    type Handle = Box<Self>;
    fn into_handle(self) -> Self::Handle {
        Box::new(self)
    }
}

/// `"Heap"` or `"Shared"`.
fn placement_name<P: Placement>(_: &BlockingQueue<u64, P>) -> &'static str {
    std::any::type_name::<P>()
        .rsplit("::")
        .next()
        .unwrap_or("?")
}

#[test]
fn a_blocked_pop_is_woken_by_a_push() {
    for_each_placement!(2, |queue| {
        let queue = queue.into_handle();
        let getter = {
            let queue = queue.another();
            thread::spawn(move || queue.pop())
        };
        thread::sleep(Duration::from_millis(50)); // let it go to sleep
        queue.push(42).unwrap();
        assert_eq!(getter.join().unwrap(), Ok(42));
    });
}

#[test]
fn a_blocked_push_is_woken_by_a_pop() {
    for_each_placement!(1, |queue| {
        let queue = queue.into_handle();
        queue.push(1).unwrap();
        let putter = {
            let queue = queue.another();
            thread::spawn(move || queue.push(2))
        };
        thread::sleep(Duration::from_millis(50));
        assert_eq!(queue.pop(), Ok(1));
        putter.join().unwrap().unwrap();
        assert_eq!(queue.pop(), Ok(2));
    });
}

#[test]
fn timeouts_bound_the_whole_call_and_hand_the_value_back() {
    for_each_placement!(1, |queue| {
        let started = Instant::now();
        assert_eq!(
            queue.pop_timeout(Duration::from_millis(30)),
            Err(PopTimeoutError::Timeout)
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(30),
            "returned early: {waited:?}"
        );
        queue.push(1).unwrap();
        let err = queue
            .push_timeout(2, Duration::from_millis(30))
            .unwrap_err();
        assert!(matches!(err, PushTimeoutError::Timeout(2)));
        assert_eq!(queue.pop_timeout(Duration::ZERO), Ok(1));
    });
}

/// A getter blocked for a second sleeps: it uses under 1% of a core (CPU time, not wall
/// time, so a loaded machine cannot make it pass or fail). Prints the measurement.
#[test]
fn a_getter_blocked_for_a_second_uses_under_one_percent_of_a_core() {
    for_each_placement!(8, |queue| {
        let before = thread_cpu_time();
        let started = Instant::now();
        assert_eq!(
            queue.pop_timeout(Duration::from_secs(1)),
            Err(PopTimeoutError::Timeout)
        );
        let (cpu, wall) = (thread_cpu_time() - before, started.elapsed());
        let share = cpu.as_secs_f64() / wall.as_secs_f64();
        println!(
            "blocked {:.3} s ({}): {:.3} ms of CPU, {:.4}% of a core",
            wall.as_secs_f64(),
            placement_name(&queue),
            cpu.as_secs_f64() * 1e3,
            share * 100.0
        );
        assert!(
            share < 0.01,
            "a blocked getter used {cpu:?} of CPU in {wall:?}"
        );
    });
}

#[test]
fn close_wakes_every_sleeper_and_drains_before_failing() {
    for_each_placement!(2, |queue| {
        let queue = queue.into_handle();
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let queue = queue.another();
                thread::spawn(move || queue.pop())
            })
            .collect();
        thread::sleep(Duration::from_millis(50));
        assert!(queue.close());
        assert!(!queue.close(), "closing twice reports it");
        for getter in getters {
            assert_eq!(getter.join().unwrap(), Err(PopError::Closed));
        }
        assert_eq!(queue.push(5).unwrap_err().into_inner(), 5);
        assert!(matches!(queue.try_push(6), Err(TryPushError::Closed(6))));
        assert_eq!(queue.try_pop(), Err(TryPopError::Closed));
    });
}

#[test]
fn close_wakes_a_sleeping_push_with_its_value() {
    for_each_placement!(1, |queue| {
        let queue = queue.into_handle();
        queue.push(1).unwrap();
        let putter = {
            let queue = queue.another();
            thread::spawn(move || queue.push(2))
        };
        thread::sleep(Duration::from_millis(50));
        queue.close();
        assert_eq!(putter.join().unwrap().unwrap_err().into_inner(), 2);
        assert_eq!(
            queue.pop(),
            Ok(1),
            "values pushed before the close are drained"
        );
        assert_eq!(queue.pop(), Err(PopError::Closed));
    });
}

#[test]
fn slices_move_as_many_as_fit_in_order() {
    for_each_placement!(4, |queue| {
        assert_eq!(queue.try_push_slice(&[1, 2, 3, 4, 5]), Ok(4));
        assert_eq!(queue.try_push_slice(&[5]), Ok(0));
        let mut buffer = [0; 3];
        assert_eq!(queue.try_pop_slice(&mut buffer), Ok(3));
        assert_eq!(buffer, [1, 2, 3]);
        assert_eq!(queue.push_slice(&[5, 6, 7]), Ok(3));
        let mut buffer = [0; 8];
        assert_eq!(queue.pop_slice(&mut buffer), Ok(4));
        assert_eq!(buffer[..4], [4, 5, 6, 7]);
        assert_eq!(queue.try_pop_slice(&mut buffer), Ok(0));
        queue.close();
        assert_eq!(queue.try_push_slice(&[1]), Err(PushSliceError::Closed));
        assert_eq!(queue.pop_slice(&mut buffer), Err(PopError::Closed));
    });
}

#[test]
fn many_threads_move_every_value_exactly_once_through_blocking_calls() {
    const PER_PRODUCER: u64 = 20_000;
    for_each_placement!(8, |queue| {
        let queue = queue.into_handle();
        let producers: Vec<_> = (0..3u64)
            .map(|p| {
                let queue = queue.another();
                thread::spawn(move || {
                    for n in 0..PER_PRODUCER {
                        queue.push(p << 32 | n).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let queue = queue.another();
                thread::spawn(move || {
                    let mut last = [None::<u64>; 3];
                    let mut seen = Vec::new();
                    while let Ok(v) = queue.pop() {
                        let producer = (v >> 32) as usize;
                        assert!(last[producer] < Some(v & 0xffff_ffff), "order kept");
                        last[producer] = Some(v & 0xffff_ffff);
                        seen.push(v);
                    }
                    seen
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        queue.close();
        let mut all: Vec<u64> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        let expected: Vec<u64> = (0..3u64)
            .flat_map(|p| (0..PER_PRODUCER).map(move |n| p << 32 | n))
            .collect();
        assert_eq!(all, expected);
    });
}

/// Two threads bat a value back and forth through two capacity-1 queues, so that nearly every
/// call finds its queue empty or full and many go to sleep. A lost wake-up leaves a thread
/// asleep although its value or room is there: its timed call then returns only when the
/// timer fires (its last try after the timeout finds the value), so a call that took its
/// whole timeout is a lost wake-up.
#[test]
fn ping_pong_never_loses_a_wake_up() {
    const ROUNDS: u64 = 20_000;
    const PATIENCE: Duration = Duration::from_secs(10);
    fn promptly<R>(call: impl FnOnce(Duration) -> R) -> R {
        let started = Instant::now();
        let answer = call(PATIENCE);
        assert!(
            started.elapsed() < PATIENCE,
            "a call slept its whole timeout: a wake-up was lost"
        );
        answer
    }
    for_each_placement!(1, |ping, pong| {
        let (ping, pong) = (ping.into_handle(), pong.into_handle());
        let echo = {
            let (ping, pong) = (ping.another(), pong.another());
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let value = promptly(|patience| ping.pop_timeout(patience)).unwrap();
                    promptly(|patience| pong.push_timeout(value + 1, patience)).unwrap();
                }
            })
        };
        for round in 0..ROUNDS {
            // A pause of 0 to about 60 µs, so that the echo's pop meets the push at every
            // stage of its way to sleep (spinning, registering, checking, asleep).
            let pause = Instant::now();
            while pause.elapsed() < Duration::from_nanos(round % 64 * 1000) {
                std::hint::spin_loop();
            }
            promptly(|patience| ping.push_timeout(2 * round, patience)).unwrap();
            let answer = promptly(|patience| pong.pop_timeout(patience));
            assert_eq!(answer, Ok(2 * round + 1));
        }
        echo.join().unwrap();
    });
}

#[test]
fn frames_carry_bytes_through_a_shared_queue() {
    let queue = BlockingQueue::<Frame<60>, Shared>::create(2).unwrap();
    queue.push(Frame::new(b"spam").unwrap()).unwrap();
    assert_eq!(queue.pop().unwrap().as_bytes(), b"spam");
}

#[test]
fn debug_shows_placement_and_state() {
    let queue = BlockingQueue::<u64, Shared>::create(2).unwrap();
    queue.push(1).unwrap();
    assert_eq!(
        format!("{queue:?}"),
        "BlockingQueue { placement: \"shared\", len: 1, capacity: 2, closed: false, .. }"
    );
}

#[test]
fn zero_sized_values_move_through_a_shared_queue_in_every_build() {
    // `()` is `Plain`: its slots hold no words, only stamps.
    let queue = BlockingQueue::<(), Shared>::create(3).unwrap();
    for _ in 0..3 {
        queue.push(()).unwrap();
    }
    assert_eq!(queue.try_push(()), Err(TryPushError::Full(())));
    assert_eq!(queue.len(), 3);
    let mut popped = [(); 5];
    assert_eq!(queue.try_pop_slice(&mut popped), Ok(3));
    assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
    let attached =
        BlockingQueue::<(), Shared>::attach(queue.fd().try_clone_to_owned().unwrap()).unwrap();
    attached.push(()).unwrap();
    assert_eq!(queue.pop_timeout(Duration::from_secs(1)), Ok(()));
}
