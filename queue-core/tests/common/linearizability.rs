//! A small linearizability checker: is there a sequential order of a history's events,
//! consistent with their happens-before order, that the reference model explains answer by
//! answer?
//!
//! Two specifications are available:
//! - [`Spec::Strict`]: every answer is the reference queue's answer at the event's place in
//!   the order.
//! - [`Spec::InFlightExempt`]: what `queue_core::Queue` promises. As strict, except that a pop
//!   may answer Empty when the push of the queue's front value had not returned before the pop
//!   was called (it is "in flight"), and a push may answer Full when the pop that took the
//!   value last held in the slot it needs (the value pushed `capacity` pushes earlier) had not
//!   returned before the push was called.

use std::collections::{HashMap, HashSet, VecDeque};

use super::history::{Answer, Call, Event};
use super::reference::ReferenceQueue;

/// Which answers a history's events may give; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    Strict,
    InFlightExempt,
}

/// Finds a linearization of `events` for a queue of `capacity` that starts empty, under
/// `spec`, and returns it as indices into `events`; or explains why there is none.
///
/// Values are identified by their ids, which must be unique among pushes.
pub fn linearize(capacity: usize, spec: Spec, events: &[Event]) -> Result<Vec<usize>, String> {
    assert!(
        events.len() <= MAX_EVENTS,
        "the checker handles at most {MAX_EVENTS} events"
    );
    let predecessors: Vec<EventSet> = events
        .iter()
        .enumerate()
        .map(|(j, later)| {
            events
                .iter()
                .enumerate()
                .filter(|&(i, earlier)| i != j && earlier.precedes(later))
                .fold(EventSet::default(), |set, (i, _)| set.with(i))
        })
        .collect();
    let mut pusher = HashMap::new();
    let mut popper = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        match (event.call, event.answer) {
            (Call::Push(id), Answer::Pushed) => {
                assert!(pusher.insert(id, i).is_none(), "id {id} pushed twice")
            }
            (Call::Pop, Answer::Popped(id)) => {
                popper.insert(id, i);
            }
            _ => {}
        }
    }
    let mut search = Search {
        capacity,
        spec,
        events,
        predecessors,
        pusher,
        popper,
        dead_ends: HashSet::new(),
        order: Vec::with_capacity(events.len()),
    };
    let start = State {
        queue: ReferenceQueue::new(capacity),
        recent_pushes: VecDeque::new(),
    };
    if search.extend(EventSet::default(), &start) {
        Ok(search.order)
    } else {
        Err(format!(
            "no sequential order of these {} events, consistent with happens-before, is \
             explained by a FIFO queue of capacity {capacity} ({spec:?}):\n{}",
            events.len(),
            events
                .iter()
                .enumerate()
                .map(|(i, e)| format!(
                    "  #{i} thread {}: {:?} -> {:?}  start {:?} end {:?}\n",
                    e.thread, e.call, e.answer, e.start, e.end
                ))
                .collect::<String>()
        ))
    }
}

/// The most events one history may have.
pub const MAX_EVENTS: usize = 64 * EVENT_WORDS;
const EVENT_WORDS: usize = 4;

/// A set of indices into a history's events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct EventSet([u64; EVENT_WORDS]);

impl EventSet {
    fn with(mut self, i: usize) -> Self {
        self.0[i / 64] |= 1 << (i % 64);
        self
    }

    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & 1 << (i % 64) != 0
    }

    fn within(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .all(|(mine, theirs)| mine & !theirs == 0)
    }
}

/// The sequential state after some events: the queue, and the last `capacity` ids pushed
/// (whose slots the next pushes reuse).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    queue: ReferenceQueue<u32>,
    recent_pushes: VecDeque<u32>,
}

struct Search<'a> {
    capacity: usize,
    spec: Spec,
    events: &'a [Event],
    predecessors: Vec<EventSet>,
    pusher: HashMap<u32, usize>,
    popper: HashMap<u32, usize>,
    /// States (events done, sequential state) known to lead nowhere.
    dead_ends: HashSet<(EventSet, State)>,
    order: Vec<usize>,
}

impl Search<'_> {
    fn extend(&mut self, done: EventSet, state: &State) -> bool {
        if self.order.len() == self.events.len() {
            return true;
        }
        if self.dead_ends.contains(&(done, state.clone())) {
            return false;
        }
        for i in 0..self.events.len() {
            if done.contains(i) || !self.predecessors[i].within(&done) {
                continue;
            }
            let Some(next) = self.apply(state, i) else {
                continue;
            };
            self.order.push(i);
            if self.extend(done.with(i), &next) {
                return true;
            }
            self.order.pop();
        }
        self.dead_ends.insert((done, state.clone()));
        false
    }

    /// The state after event `i`, or `None` if the spec does not allow its answer here.
    fn apply(&self, state: &State, i: usize) -> Option<State> {
        let event = &self.events[i];
        let mut next = state.clone();
        let allowed = match (event.call, event.answer) {
            (Call::Push(id), Answer::Pushed) => {
                let pushed = next.queue.try_push(id).is_ok();
                next.recent_pushes.push_back(id);
                if next.recent_pushes.len() > self.capacity {
                    next.recent_pushes.pop_front();
                }
                pushed
            }
            (Call::Push(_), Answer::Full) => {
                state.queue.is_full()
                    || (self.spec == Spec::InFlightExempt
                        && state.recent_pushes.len() == self.capacity
                        && self.in_flight(self.popper.get(&state.recent_pushes[0]), event))
            }
            (Call::Pop, Answer::Popped(id)) => next.queue.try_pop() == Some(id),
            (Call::Pop, Answer::Empty) => {
                state.queue.is_empty()
                    || (self.spec == Spec::InFlightExempt
                        && self.in_flight(
                            state.queue.front().and_then(|id| self.pusher.get(id)),
                            event,
                        ))
            }
            _ => false,
        };
        allowed.then_some(next)
    }

    /// Whether the event `other` (if any) had not returned before `event` was called.
    fn in_flight(&self, other: Option<&usize>, event: &Event) -> bool {
        other.is_some_and(|&other| !self.events[other].precedes(event))
    }
}
