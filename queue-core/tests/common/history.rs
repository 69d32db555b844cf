//! Histories of completed queue operations, ordered by happens-before.
//!
//! Each thread keeps a vector clock. A pushed message carries its producer's clock from the
//! start of the push; the pop that returns it joins that clock into its own. Together with
//! program order and thread spawn/join this gives a (sub-)relation of the real happens-before
//! order that the queue's own synchronisation creates, computed without trusting the
//! scheduler's interleaving order (which, under a weak memory model, is not a real-time order).

/// The most threads a history records, main thread included.
pub const MAX_THREADS: usize = 9;

/// A vector clock: entry `t` counts the operations of thread `t` known to have completed.
pub type Clock = [u16; MAX_THREADS];

/// A message moved through the queue under test: an id and the producer's clock at the start
/// of its push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u32,
    pub clock: Clock,
}

/// What an operation asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Push(u32),
    Pop,
}

/// What an operation answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Pushed,
    Full,
    Popped(u32),
    Empty,
}

/// One completed operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub thread: usize,
    pub call: Call,
    pub answer: Answer,
    /// The thread's clock when the call began.
    pub start: Clock,
    /// The thread's clock when it returned (own entry incremented).
    pub end: Clock,
}

impl Event {
    /// Whether `self` returned before `later` was called, in happens-before.
    pub fn precedes(&self, later: &Event) -> bool {
        later.start[self.thread] >= self.end[self.thread]
    }
}

/// Joins `other` into `clock`, entry by entry.
pub fn join(clock: &mut Clock, other: &Clock) {
    for (mine, theirs) in clock.iter_mut().zip(other) {
        *mine = (*mine).max(*theirs);
    }
}

/// One thread's log: its clock and the events it completed.
#[derive(Clone, Debug)]
pub struct ThreadLog {
    pub thread: usize,
    pub clock: Clock,
    pub events: Vec<Event>,
}

impl ThreadLog {
    /// The log of the main thread, numbered 0.
    pub fn main() -> Self {
        Self::new(0, [0; MAX_THREADS])
    }

    /// The log of thread `thread`, spawned by a thread whose clock was `spawner`.
    pub fn new(thread: usize, spawner: Clock) -> Self {
        assert!(thread < MAX_THREADS);
        Self {
            thread,
            clock: spawner,
            events: Vec::new(),
        }
    }

    /// A log for a thread the current one is about to spawn.
    pub fn fork(&self, thread: usize) -> Self {
        Self::new(thread, self.clock)
    }

    /// Learns everything `joined` did (its thread was joined).
    pub fn join(&mut self, joined: ThreadLog) -> Vec<Event> {
        join(&mut self.clock, &joined.clock);
        joined.events
    }

    /// Records one operation: `run` gets the message to push (if any) and returns the answer
    /// plus the clock a popped message carried.
    pub fn record(
        &mut self,
        call: Call,
        run: impl FnOnce(Option<Message>) -> (Answer, Option<Clock>),
    ) -> Answer {
        let start = self.clock;
        let message = match call {
            Call::Push(id) => Some(Message { id, clock: start }),
            Call::Pop => None,
        };
        let (answer, learned) = run(message);
        if let Some(learned) = learned {
            join(&mut self.clock, &learned);
        }
        self.clock[self.thread] += 1;
        self.events.push(Event {
            thread: self.thread,
            call,
            answer,
            start,
            end: self.clock,
        });
        answer
    }
}

/// Records pushes and pops of `queue_core::Queue<Message>` into a thread log.
pub trait Recorded {
    fn push(&mut self, queue: &queue_core::Queue<Message>, id: u32) -> Answer;
    fn pop(&mut self, queue: &queue_core::Queue<Message>) -> Answer;
}

impl Recorded for ThreadLog {
    fn push(&mut self, queue: &queue_core::Queue<Message>, id: u32) -> Answer {
        self.record(Call::Push(id), |message| {
            match queue.try_push(message.expect("a push carries a message")) {
                Ok(()) => (Answer::Pushed, None),
                Err(_) => (Answer::Full, None),
            }
        })
    }

    fn pop(&mut self, queue: &queue_core::Queue<Message>) -> Answer {
        self.record(Call::Pop, |_| match queue.try_pop() {
            Ok(message) => (Answer::Popped(message.id), Some(message.clock)),
            Err(_) => (Answer::Empty, None),
        })
    }
}

/// Panics unless every value whose push answered `Pushed` was popped exactly once in `events`
/// (whose last pops drained the queue) and no value nobody pushed was popped.
pub fn assert_popped_exactly_once(events: &[Event]) {
    let mut popped: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for event in events {
        if let Answer::Popped(id) = event.answer {
            *popped.entry(id).or_default() += 1;
        }
    }
    for event in events {
        if let (Call::Push(id), Answer::Pushed) = (event.call, event.answer) {
            assert_eq!(
                popped.remove(&id),
                Some(1),
                "value {id} must be popped exactly once"
            );
        }
    }
    assert!(popped.is_empty(), "popped values nobody pushed: {popped:?}");
}

/// Panics unless each thread popped each producer's values in the order they were pushed:
/// ids are `ids_per_producer * producer + n`, pushed in increasing `n`.
pub fn assert_in_each_producers_order(events: &[Event], ids_per_producer: u32) {
    let mut last_seen: std::collections::HashMap<(usize, u32), u32> =
        std::collections::HashMap::new();
    for event in events {
        if let Answer::Popped(id) = event.answer {
            if let Some(previous) = last_seen.insert((event.thread, id / ids_per_producer), id) {
                assert!(
                    previous < id,
                    "thread {} popped {id} after {previous}",
                    event.thread
                );
            }
        }
    }
}
