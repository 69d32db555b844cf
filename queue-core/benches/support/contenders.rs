//! The queues of the in-process bench, each behind the handles its threads hold: a producer's
//! and a consumer's, non-blocking ([`TryProducer`]/[`TryConsumer`]) or blocking
//! ([`Producer`]/[`Consumer`]). A queue shared by reference is shared through an `Arc`, as a
//! user shares it; a queue with split handles (rtrb, channels) hands each thread its own.

use std::sync::{Arc, Mutex, mpsc};

use crossbeam_queue::ArrayQueue;
use queue_core::{BlockingQueue, Queue, Shared};

use crate::floor_ring::FloorRing;

/// The producer side of a non-blocking queue, as one thread holds it.
pub(crate) trait TryProducer: Send {
    /// Pushes `value` or hands it back when the queue is full.
    fn try_push(&mut self, value: u64) -> Result<(), u64>;
}

/// The consumer side of a non-blocking queue, as one thread holds it.
pub(crate) trait TryConsumer: Send {
    /// Pops a value, or `None` when the queue is empty.
    fn try_pop(&mut self) -> Option<u64>;
}

/// The producer side of a blocking queue.
pub(crate) trait Producer: Send {
    /// Pushes `value`, waiting for room.
    fn push(&mut self, value: u64);
}

/// The consumer side of a blocking queue.
pub(crate) trait Consumer: Send {
    /// Pops a value, waiting for one.
    fn pop(&mut self) -> u64;
}

/// A queue of the bench: its name and the handles of `producers` and `consumers` threads.
pub(crate) trait Contender {
    const NAME: &'static str;
    /// Whether it takes more than one producer and consumer.
    const MPMC: bool = true;
    type Producer;
    type Consumer;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Self::Producer>, Vec<Self::Consumer>);
}

/// One queue shared through an `Arc` by every thread.
fn shared<Q>(queue: Q, producers: usize, consumers: usize) -> (Vec<Arc<Q>>, Vec<Arc<Q>>) {
    let queue = Arc::new(queue);
    let handles = |n| (0..n).map(|_| Arc::clone(&queue)).collect();
    (handles(producers), handles(consumers))
}

impl Contender for Queue<u64> {
    const NAME: &'static str = "Queue";
    type Producer = Arc<Self>;
    type Consumer = Arc<Self>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Arc<Self>>, Vec<Arc<Self>>) {
        shared(Self::new(capacity).unwrap(), producers, consumers)
    }
}

impl TryProducer for Arc<Queue<u64>> {
    #[inline]
    fn try_push(&mut self, value: u64) -> Result<(), u64> {
        Queue::try_push(self, value).map_err(|full| full.into_inner())
    }
}

impl TryConsumer for Arc<Queue<u64>> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        Queue::try_pop(self).ok()
    }
}

/// The shared placement within one process: a handle of its own per thread.
impl Contender for Queue<u64, Shared> {
    const NAME: &'static str = "Queue<_, Shared>";
    type Producer = Self;
    type Consumer = Self;
    fn handles(capacity: usize, producers: usize, consumers: usize) -> (Vec<Self>, Vec<Self>) {
        let first = Self::create(capacity).unwrap();
        let handles = |n| {
            (0..n)
                .map(|_| first.try_clone().unwrap())
                .collect::<Vec<_>>()
        };
        (handles(producers), handles(consumers))
    }
}

impl TryProducer for Queue<u64, Shared> {
    #[inline]
    fn try_push(&mut self, value: u64) -> Result<(), u64> {
        Queue::try_push(self, value).map_err(|full| full.into_inner())
    }
}

impl TryConsumer for Queue<u64, Shared> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        Queue::try_pop(self).ok()
    }
}

impl Contender for FloorRing<u64> {
    const NAME: &'static str = "floor ring";
    type Producer = Arc<Self>;
    type Consumer = Arc<Self>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Arc<Self>>, Vec<Arc<Self>>) {
        shared(Self::new(capacity), producers, consumers)
    }
}

impl TryProducer for Arc<FloorRing<u64>> {
    #[inline]
    fn try_push(&mut self, value: u64) -> Result<(), u64> {
        FloorRing::push(self, value)
    }
}

impl TryConsumer for Arc<FloorRing<u64>> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        FloorRing::pop(self)
    }
}

impl Contender for ArrayQueue<u64> {
    const NAME: &'static str = "ArrayQueue";
    type Producer = Arc<Self>;
    type Consumer = Arc<Self>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Arc<Self>>, Vec<Arc<Self>>) {
        shared(Self::new(capacity), producers, consumers)
    }
}

impl TryProducer for Arc<ArrayQueue<u64>> {
    #[inline]
    fn try_push(&mut self, value: u64) -> Result<(), u64> {
        ArrayQueue::push(self, value)
    }
}

impl TryConsumer for Arc<ArrayQueue<u64>> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        ArrayQueue::pop(self)
    }
}

/// This crate's queue of one producer and one consumer.
pub(crate) enum Spsc {}

impl Contender for Spsc {
    const NAME: &'static str = "spsc::channel";
    const MPMC: bool = false;
    type Producer = queue_core::spsc::Producer<u64>;
    type Consumer = queue_core::spsc::Consumer<u64>;
    fn handles(capacity: usize, _: usize, _: usize) -> (Vec<Self::Producer>, Vec<Self::Consumer>) {
        let (producer, consumer) = queue_core::spsc::channel(capacity).unwrap();
        (vec![producer], vec![consumer])
    }
}

impl TryProducer for queue_core::spsc::Producer<u64> {
    #[inline]
    fn try_push(&mut self, value: u64) -> Result<(), u64> {
        queue_core::spsc::Producer::try_push(self, value).map_err(|full| full.into_inner())
    }
}

impl TryConsumer for queue_core::spsc::Consumer<u64> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        queue_core::spsc::Consumer::try_pop(self).ok()
    }
}

/// rtrb's single-producer single-consumer ring.
pub(crate) enum Rtrb {}

impl Contender for Rtrb {
    const NAME: &'static str = "rtrb";
    const MPMC: bool = false;
    type Producer = rtrb::Producer<u64>;
    type Consumer = rtrb::Consumer<u64>;
    fn handles(capacity: usize, _: usize, _: usize) -> (Vec<Self::Producer>, Vec<Self::Consumer>) {
        let (producer, consumer) = rtrb::RingBuffer::new(capacity);
        (vec![producer], vec![consumer])
    }
}

impl TryProducer for rtrb::Producer<u64> {
    #[inline]
    fn try_push(&mut self, value: u64) -> Result<(), u64> {
        self.push(value)
            .map_err(|rtrb::PushError::Full(value)| value)
    }
}

impl TryConsumer for rtrb::Consumer<u64> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        self.pop().ok()
    }
}

impl Contender for BlockingQueue<u64> {
    const NAME: &'static str = "BlockingQueue";
    type Producer = Arc<Self>;
    type Consumer = Arc<Self>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Arc<Self>>, Vec<Arc<Self>>) {
        shared(Self::new(capacity).unwrap(), producers, consumers)
    }
}

impl Producer for Arc<BlockingQueue<u64>> {
    #[inline]
    fn push(&mut self, value: u64) {
        BlockingQueue::push(self, value).unwrap();
    }
}

impl Consumer for Arc<BlockingQueue<u64>> {
    #[inline]
    fn pop(&mut self) -> u64 {
        BlockingQueue::pop(self).unwrap()
    }
}

/// crossbeam-channel's bounded channel, `send`/`recv`.
pub(crate) enum CrossbeamChannel {}

impl Contender for CrossbeamChannel {
    const NAME: &'static str = "crossbeam-channel";
    type Producer = crossbeam_channel::Sender<u64>;
    type Consumer = crossbeam_channel::Receiver<u64>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Self::Producer>, Vec<Self::Consumer>) {
        let (sender, receiver) = crossbeam_channel::bounded(capacity);
        (
            (0..producers).map(|_| sender.clone()).collect(),
            (0..consumers).map(|_| receiver.clone()).collect(),
        )
    }
}

impl Producer for crossbeam_channel::Sender<u64> {
    #[inline]
    fn push(&mut self, value: u64) {
        self.send(value).unwrap();
    }
}

impl Consumer for crossbeam_channel::Receiver<u64> {
    #[inline]
    fn pop(&mut self) -> u64 {
        self.recv().unwrap()
    }
}

/// `std::sync::mpsc::sync_channel`; its one receiver behind a mutex where two consumers share it.
pub(crate) enum StdSyncChannel {}

impl Contender for StdSyncChannel {
    const NAME: &'static str = "std sync_channel";
    type Producer = mpsc::SyncSender<u64>;
    type Consumer = Arc<Mutex<mpsc::Receiver<u64>>>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Self::Producer>, Vec<Self::Consumer>) {
        let (sender, receiver) = mpsc::sync_channel(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        (
            (0..producers).map(|_| sender.clone()).collect(),
            (0..consumers).map(|_| Arc::clone(&receiver)).collect(),
        )
    }
}

impl Producer for mpsc::SyncSender<u64> {
    #[inline]
    fn push(&mut self, value: u64) {
        self.send(value).unwrap();
    }
}

impl Consumer for Arc<Mutex<mpsc::Receiver<u64>>> {
    #[inline]
    fn pop(&mut self) -> u64 {
        self.lock().unwrap().recv().unwrap()
    }
}

/// kanal's bounded channel, `send`/`recv`.
pub(crate) enum Kanal {}

impl Contender for Kanal {
    const NAME: &'static str = "kanal";
    type Producer = kanal::Sender<u64>;
    type Consumer = kanal::Receiver<u64>;
    fn handles(
        capacity: usize,
        producers: usize,
        consumers: usize,
    ) -> (Vec<Self::Producer>, Vec<Self::Consumer>) {
        let (sender, receiver) = kanal::bounded(capacity);
        (
            (0..producers).map(|_| sender.clone()).collect(),
            (0..consumers).map(|_| receiver.clone()).collect(),
        )
    }
}

impl Producer for kanal::Sender<u64> {
    #[inline]
    fn push(&mut self, value: u64) {
        self.send(value).unwrap();
    }
}

impl Consumer for kanal::Receiver<u64> {
    #[inline]
    fn pop(&mut self) -> u64 {
        self.recv().unwrap()
    }
}
