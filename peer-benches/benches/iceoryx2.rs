//! iceoryx2's publish-subscribe (with feature `iceoryx2`) beside the shared queue across two
//! processes, in one run: throughput (a million u64s, iceoryx2 told to wait rather than drop
//! when the subscriber's buffer of 1024 is full, our `Queue` retrying with a backoff), and
//! one-way latency beside a cache line, the shared `Queue` spinning and `BlockingQueue`,
//! with the harness of queue-core's latency bench (`queue-core/benches/support/ping_pong.rs`:
//! half a round trip, median, 99th and 99.9th percentiles, pinned and unpinned, samples
//! interleaved).
//!
//! Each process opens iceoryx2's two services (one per direction) itself, a subscriber first,
//! and waits for the other before the first message, so that no message goes to a subscriber
//! that is not there yet. A receive that finds nothing retries at once, as the spinning queue
//! does.
//!
//! Run: `cargo bench -p peer-benches --features iceoryx2` (iceoryx2's bindings need libclang:
//! `apt install libclang-dev`). Without the feature it runs the workspace's cases alone and
//! says so.
fn main() {
    bench::main();
}
#[path = "../../queue-core/benches/support/ping_pong.rs"]
mod ping_pong;
#[path = "../../queue-core/benches/support/processes.rs"]
// The latency harness uses a part of the process harness.
#[allow(dead_code)]
mod processes;

mod bench {
    use crate::ping_pong::{BLOCKING_QUEUE, CACHE_LINE, Case, SPINNING_QUEUE, find, run};

    #[cfg(feature = "iceoryx2")]
    const CASES: [Case; 4] = [
        CACHE_LINE,
        SPINNING_QUEUE,
        BLOCKING_QUEUE,
        ("iceoryx2 publish-subscribe", || {
            Box::new(iceoryx::Services::new())
        }),
    ];

    #[cfg(not(feature = "iceoryx2"))]
    const CASES: [Case; 3] = [CACHE_LINE, SPINNING_QUEUE, BLOCKING_QUEUE];

    /// The capacity of the queues and of iceoryx2's subscriber buffer in the throughput
    /// cases.
    const CAPACITY: usize = 1024;

    /// Runs of each throughput case; the median counts.
    const RUNS: usize = 5;

    /// `messages` u64s through a shared `Queue`, its calls retried after
    /// `Backoff::snooze` while full or empty; as `iceoryx::transfer`.
    fn queue_transfer(messages: u64) -> std::time::Duration {
        use crossbeam_utils::Backoff;
        let queue =
            queue_core::Queue::<u64, queue_core::Shared>::create(CAPACITY).expect("a shared queue");
        crate::processes::two_processes(
            || {
                for n in 0..messages {
                    let backoff = Backoff::new();
                    while queue.try_push(n).is_err() {
                        backoff.snooze();
                    }
                }
            },
            || {
                for n in 0..messages {
                    let backoff = Backoff::new();
                    let value = loop {
                        match queue.try_pop() {
                            Ok(value) => break value,
                            Err(_) => backoff.snooze(),
                        }
                    };
                    assert_eq!(value, n);
                }
            },
        )
    }

    /// The throughput cases, runs interleaved: million messages per second, median (range).
    fn throughput() {
        let full = std::env::args().any(|arg| arg == "--bench");
        let messages = if full { 1_000_000 } else { 10_000 };
        type Transfer = fn(u64) -> std::time::Duration;
        let mut cases: Vec<(&str, Transfer, Vec<f64>)> =
            vec![("Queue, try_push/try_pop", queue_transfer, Vec::new())];
        #[cfg(feature = "iceoryx2")]
        cases.push(("iceoryx2 publish-subscribe", iceoryx::transfer, Vec::new()));
        for _ in 0..RUNS {
            for (_, transfer, rates) in &mut cases {
                rates.push(messages as f64 / transfer(messages).as_secs_f64() / 1e6);
            }
        }
        println!(
            "\nthroughput across two processes, {messages} u64s, capacity {CAPACITY}; million \
             messages/s, median (min-max) of {RUNS} runs"
        );
        let mut medians = Vec::new();
        for (name, _, rates) in &mut cases {
            rates.sort_by(f64::total_cmp);
            let median = rates[RUNS / 2];
            println!(
                "{name}: {median:.2} ({:.2}-{:.2})",
                rates[0],
                rates[RUNS - 1]
            );
            medians.push(median);
        }
        if let [ours, iceoryx2] = medians[..] {
            println!("Queue ÷ iceoryx2: {:.1}", ours / iceoryx2);
        }
    }

    #[cfg(feature = "iceoryx2")]
    mod iceoryx {
        use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
        use std::time::{Duration, Instant};

        use iceoryx2::port::publisher::Publisher;
        use iceoryx2::port::subscriber::Subscriber;
        use iceoryx2::prelude::*;
        use iceoryx2::service::port_factory::publish_subscribe::PortFactory;

        use crate::ping_pong::{Ends, Mapped, Pair};

        /// Two publish-subscribe services, one per direction, named for this sample and made
        /// by the parent before the fork (two processes that both open-or-create a service at
        /// once may fail), kept until the sample ends; the count of processes whose ports are
        /// open.
        pub(super) struct Services {
            there: String,
            back: String,
            ready: Mapped<AtomicU32>,
            /// The services live while a port factory of theirs does (dropped before the node).
            _services: Vec<PortFactory<ipc::Service, u64, ()>>,
            _node: Node<ipc::Service>,
        }

        /// How long a process waits for the other's ports before it gives up.
        const PATIENCE: Duration = Duration::from_secs(10);

        /// The publish-subscribe service `name`, created or opened by `node`, with this
        /// bench's settings: nothing dropped, a subscriber buffer of [`BUFFER`] samples.
        fn service(
            node: &Node<ipc::Service>,
            name: &str,
            create: bool,
        ) -> PortFactory<ipc::Service, u64, ()> {
            let builder = node
                .service_builder(&name.try_into().expect("a service name"))
                .publish_subscribe::<u64>()
                .enable_safe_overflow(false)
                .subscriber_max_buffer_size(BUFFER);
            if create {
                builder.create().expect("a new publish-subscribe service")
            } else {
                builder
                    .open()
                    .expect("the parent's publish-subscribe service")
            }
        }

        impl Services {
            pub(super) fn new() -> Self {
                static SAMPLES: AtomicU64 = AtomicU64::new(0);
                // Relaxed: a counter that only makes the names unique.
                let sample = SAMPLES.fetch_add(1, Ordering::Relaxed);
                let name = |direction: &str| {
                    format!("peer-benches/{}/{sample}/{direction}", std::process::id())
                };
                let node = NodeBuilder::new()
                    .create::<ipc::Service>()
                    .expect("an iceoryx2 node");
                let (there, back) = (name("there"), name("back"));
                let services = [&there, &back]
                    .map(|name| service(&node, name, true))
                    .into();
                Self {
                    there,
                    back,
                    ready: Mapped::new(AtomicU32::new(0)),
                    _services: services,
                    _node: node,
                }
            }

            /// This process's ports: a subscriber of `into`, a publisher of `out`, once the
            /// other process has its own (a publisher connects to the subscribers there are
            /// when it sends). Nothing is ever dropped: a publisher whose subscriber's buffer
            /// is full waits.
            fn open(&self, into: &str, out: &str) -> Ports {
                let node = NodeBuilder::new()
                    .create::<ipc::Service>()
                    .expect("an iceoryx2 node");
                let subscriber = service(&node, into, false)
                    .subscriber_builder()
                    .create()
                    .expect("a subscriber");
                let publisher = service(&node, out, false)
                    .publisher_builder()
                    .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
                    .create()
                    .expect("a publisher");
                // ORDERING: AcqRel/Acquire: each process's ports exist before the other sees
                // the count reach 2 (they live in iceoryx2's own shared memory).
                self.ready.fetch_add(1, Ordering::AcqRel);
                self.wait_for(2);
                Ports {
                    publisher,
                    subscriber,
                    _node: node,
                }
            }
        }

        impl Services {
            /// Waits until `count` processes have counted themselves in `ready`; panics
            /// after [`PATIENCE`] (the other process failed).
            fn wait_for(&self, count: u32) {
                let started = Instant::now();
                // ORDERING: Acquire pairs with the other process's count.
                while self.ready.load(Ordering::Acquire) < count {
                    assert!(
                        started.elapsed() < PATIENCE,
                        "the other process never got ready"
                    );
                    std::thread::yield_now();
                }
            }
        }

        impl Pair for Services {
            fn echo_ends(&self) -> Box<dyn Ends + '_> {
                Box::new(self.open(&self.there, &self.back))
            }
            fn timed_ends(&self) -> Box<dyn Ends + '_> {
                Box::new(self.open(&self.back, &self.there))
            }
        }

        /// The subscriber's buffer: the queues' capacity.
        const BUFFER: usize = super::CAPACITY;

        /// `messages` u64s from a producer process to a consumer process, the consumer
        /// checking each; the time from the start until the consumer took the last.
        pub(super) fn transfer(messages: u64) -> std::time::Duration {
            let services = Services::new();
            crate::processes::two_processes(
                || {
                    let mut ports = services.open(&services.back, &services.there);
                    for n in 0..messages {
                        ports.send(n);
                    }
                    // The consumer's subscriber must have taken every sample before this
                    // process's publisher goes.
                    services.wait_for(3);
                },
                || {
                    let mut ports = services.open(&services.there, &services.back);
                    for n in 0..messages {
                        assert_eq!(ports.receive(), n, "iceoryx2 delivers in order");
                    }
                    // ORDERING: Release pairs with the producer's Acquire load above.
                    services.ready.fetch_add(1, Ordering::Release);
                },
            )
        }

        /// A process's ports, dropped before its node.
        pub(super) struct Ports {
            publisher: Publisher<ipc::Service, u64, ()>,
            subscriber: Subscriber<ipc::Service, u64, ()>,
            _node: Node<ipc::Service>,
        }

        impl Ends for Ports {
            fn send(&mut self, value: u64) {
                self.publisher.send_copy(value).expect("iceoryx2 sends");
            }
            fn receive(&mut self) -> u64 {
                loop {
                    match self.subscriber.receive().expect("iceoryx2 receives") {
                        Some(sample) => return *sample,
                        None => std::hint::spin_loop(),
                    }
                }
            }
        }
    }

    pub(super) fn main() {
        if cfg!(not(feature = "iceoryx2")) {
            println!(
                "NOTE: built without feature `iceoryx2`: iceoryx2 is left out (run \
                 `cargo bench -p peer-benches --features iceoryx2`, which needs libclang)"
            );
        }
        let measured = run(&CASES);
        throughput();
        println!();
        for pinning in ["pinned", "unpinned"] {
            let Some(iceoryx2) = find(&measured, "iceoryx2", pinning) else {
                continue;
            };
            for ours in ["Queue,", "BlockingQueue"] {
                if let Some(ours) = find(&measured, ours, pinning) {
                    println!(
                        "iceoryx2 ÷ {}: median {:.2}, p99 {:.2}",
                        ours.name,
                        iceoryx2.median / ours.median,
                        iceoryx2.p99 / ours.p99
                    );
                }
            }
        }
    }
}
