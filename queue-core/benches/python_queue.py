"""Cross-process throughput of Python's multiprocessing queues: the peer of benches/cross_process.rs.

One producer process puts COUNT messages, one consumer process gets them. As in the Rust
bench, both processes are started first and wait at a barrier; the time runs from the barrier
until the consumer has taken the last message (CLOCK_MONOTONIC, the same in every process).
Prints one JSON line:
{"queue": ..., "message": ..., "count": ..., "seconds": ..., "messages_per_second": ...}.

Usage: python3 python_queue.py {Queue|SimpleQueue} {u64|64B|struct|bytes:SIZE} COUNT
"""

import json
import multiprocessing
import sys
import time


def message(kind, n):
    """An int for u64 messages, 64 bytes for 64B messages (the Rust bench's Frame<60>), for
    struct messages the tuple of a short str and two ints (the Rust bench's Squared), and for
    bytes:SIZE messages SIZE bytes of n's low byte, the last one its complement (the Rust
    bench message_sizes's)."""
    if kind == "u64":
        return n
    if kind == "struct":
        return ("w1", n, n * n)
    if kind.startswith("bytes:"):
        size = int(kind[len("bytes:"):])
        return bytes([n % 256]) * (size - 1) + bytes([255 - n % 256])
    return n.to_bytes(8, "little") * 8


def matches(kind, got, n):
    """Whether got is message n: for bytes, as far as the Rust bench checks (the length and
    the first and last bytes); for the others, all of it."""
    if kind.startswith("bytes:"):
        size = int(kind[len("bytes:"):])
        return len(got) == size and got[0] == n % 256 and got[-1] == 255 - n % 256
    return got == message(kind, n)


def produce(queue, kind, count, start):
    start.wait()
    for n in range(count):
        queue.put(message(kind, n))


def consume(queue, kind, count, start, finished_at):
    start.wait()
    for n in range(count):
        got = queue.get()
        if not matches(kind, got, n):
            sys.exit(f"message {n}: got {got!r}")
    finished_at.value = time.monotonic_ns()


def main():
    queue_name, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    assert queue_name in ("Queue", "SimpleQueue")
    assert kind in ("u64", "64B", "struct") or kind.startswith("bytes:")
    context = multiprocessing.get_context("fork")
    queue = getattr(context, queue_name)()
    start = context.Barrier(3)
    finished_at = context.Value("Q", 0)
    consumer = context.Process(target=consume, args=(queue, kind, count, start, finished_at))
    producer = context.Process(target=produce, args=(queue, kind, count, start))
    consumer.start()
    producer.start()
    start.wait()
    started_at = time.monotonic_ns()
    producer.join()
    consumer.join()
    seconds = (finished_at.value - started_at) / 1e9
    if producer.exitcode != 0 or consumer.exitcode != 0:
        sys.exit(f"exit codes: producer {producer.exitcode}, consumer {consumer.exitcode}")
    print(json.dumps({
        "queue": queue_name,
        "message": kind,
        "count": count,
        "seconds": seconds,
        "messages_per_second": count / seconds,
    }))


if __name__ == "__main__":
    main()
