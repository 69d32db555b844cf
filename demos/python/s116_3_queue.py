"""Section 116.3 with the chapter's helpers, on a bounded queue (maxsize=4): the parent puts
0..5, then a child gets six times, squaring each value, -1 once empty. Booleans are printed in
lower case, as the Rust demo prints them."""
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
    print("consumer exit code", consumer.exitcode)
