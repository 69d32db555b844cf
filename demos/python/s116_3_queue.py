"""Section 116.3 in two parts, the twin of demos/src/s116_3_queue.rs.

1. The chapter's helpers on a bounded queue (maxsize=4): the parent puts 0..5, then a child
   given the queue gets six times, squaring each value, -1 once empty. Booleans are printed in
   lower case, as the Rust demo prints them.
2. Under each start method, two workers given the queue as their argument put five results
   each (a dataclass with a str and numbers) while the parent gets them; the parent counts the
   results (a multiprocessing.Queue cannot tell it that every worker is done), then joins."""
import dataclasses
import multiprocessing
import queue
import time


def Queue_Iftry_Get(get_queue, default=None, use_default=False, func=None, use_func=False):
    if get_queue.empty():
        if use_default:
            return default
    else:
        try:
            value = get_queue.get_nowait()
        except queue.Empty:
            if use_default:
                return default
        else:
            if use_func:
                return func(value)
            else:
                return value


def Queue_Iftry_Put(put_queue, value):
    if put_queue.full():
        return False
    else:
        try:
            put_queue.put_nowait(value)
        except queue.Full:
            return False
        else:
            return True


def consume(my_queue):
    for _ in range(6):
        got = Queue_Iftry_Get(my_queue, default=-1, use_default=True, func=lambda v: v * v, use_func=True)
        print("got", got, flush=True)


@dataclasses.dataclass
class Squared:
    worker: str
    n: int
    square: int


def work(results, worker, count):
    for n in range(1, count + 1):
        results.put(Squared(worker, n, n * n))


if __name__ == "__main__":
    my_queue = multiprocessing.Queue(maxsize=4)
    for value in range(6):
        print(f"put {value}: {str(Queue_Iftry_Put(my_queue, value)).lower()}", flush=True)
    # multiprocessing.Queue's feeder thread may not have written the values to its pipe yet,
    # and then the child's empty() would say True (the chapter's helpers trust empty()):
    # wait until the feeder's buffer is empty, and a little more for its last write.
    while my_queue._buffer:
        time.sleep(0.001)
    time.sleep(0.05)
    consumer = multiprocessing.Process(target=consume, args=(my_queue,))
    consumer.start()
    consumer.join()
    print("consumer exit code", consumer.exitcode, flush=True)

    for method in ["spawn", "forkserver", "fork"]:
        context = multiprocessing.get_context(method)
        results = context.Queue(maxsize=4)
        workers = [context.Process(target=work, args=(results, f"worker-{i}", 5)) for i in (1, 2)]
        for worker in workers:
            worker.start()
        for _ in range(10):
            squared = results.get()
            print(f"{method}: got {squared.worker} {squared.n} squared is {squared.square}", flush=True)
        for index, worker in enumerate(workers, start=1):
            worker.join()
            print(f"{method}: worker-{index} exit code {worker.exitcode}", flush=True)
