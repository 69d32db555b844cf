"""Start + join of a trivial child with Python's multiprocessing: the peer of benches/lifecycle.rs.

Usage: python3 python_process.py {fork|spawn|forkserver} COUNT
Prints one JSON line: {"method": ..., "count": ..., "seconds_per_process": ...}.
The first start of each method (which starts the fork server, for forkserver) is not timed.
"""

import json
import multiprocessing
import sys
import time


def trivial():
    pass


def start_and_join(context):
    process = context.Process(target=trivial)
    process.start()
    process.join()
    assert process.exitcode == 0, process.exitcode


def main():
    method, count = sys.argv[1], int(sys.argv[2])
    context = multiprocessing.get_context(method)
    start_and_join(context)  # warm-up
    started = time.perf_counter()
    for _ in range(count):
        start_and_join(context)
    seconds = time.perf_counter() - started
    print(json.dumps({"method": method, "count": count, "seconds_per_process": seconds / count}))


if __name__ == "__main__":
    main()
