"""CPython's peers of process-pool, for its bench and its fault comparison.

    python3 python_pool.py map METHOD TASKS CHUNKSIZE REPEATS
        Pool(2).map(square, range(TASKS), CHUNKSIZE) (0: Python's default chunking) on an
        already started pool, REPEATS times: prints the best time per task in microseconds.
    python3 python_pool.py cpu METHOD TASKS MILLIS
        Pool(2).map of TASKS tasks of MILLIS ms of CPU each: prints the wall time in seconds.
    python3 python_pool.py startup METHOD WORKERS REPEATS
        Pool(WORKERS) until every worker has answered a task: prints the best time in ms.
    python3 python_pool.py kills METHOD TRIALS TIMEOUT
        The worker_kills soak's scenario on Pool and on ProcessPoolExecutor: a 10,000-task map
        on 2 workers, default chunking, one worker SIGKILLed at a random time; prints, for
        each, how many trials finished, hung (no answer within TIMEOUT seconds), broke the
        pool (BrokenProcessPool) or answered wrong.
"""
import concurrent.futures
import multiprocessing
import os
import random
import signal
import sys
import threading
import time


def square(n):
    return n * n


def spin_square(n):
    x = n
    for _ in range(20):
        x = (x * 7) ^ n
    return n * n


def burn(millis):
    end = time.process_time() + millis / 1000
    while time.process_time() < end:
        pass
    return millis


def pid(_):
    return os.getpid()


def bench_map(method, tasks, chunksize, repeats):
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        pool.map(square, range(100))
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            if chunksize:
                pool.map(square, range(tasks), chunksize)
            else:
                pool.map(square, range(tasks))
            best = min(best, time.perf_counter() - started)
    print(f"{best / tasks * 1e6:.4f}")


def bench_cpu(method, tasks, millis):
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        pool.map(square, range(10))
        started = time.perf_counter()
        pool.map(burn, [millis] * tasks)
        print(f"{time.perf_counter() - started:.4f}")


def bench_startup(method, workers, repeats):
    context = multiprocessing.get_context(method)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        pool = context.Pool(workers)
        seen = set()
        while len(seen) < workers:
            seen.update(pool.map(pid, range(workers), 1))
        best = min(best, time.perf_counter() - started)
        pool.terminate()
        pool.join()
    print(f"{best * 1e3:.3f}")


def kill_later(pids, delay):
    time.sleep(delay)
    victims = pids()
    if victims:
        try:
            os.kill(random.choice(victims), signal.SIGKILL)
        except ProcessLookupError:
            pass


def kills(method, trials, timeout):
    context = multiprocessing.get_context(method)
    tasks = 10_000
    expected = [n * n for n in range(tasks)]
    for kind in ["Pool", "ProcessPoolExecutor"]:
        counts = {"finished": 0, "hung": 0, "broken": 0, "wrong": 0}
        usual = None
        for trial in range(trials + 1):
            if kind == "Pool":
                pool = context.Pool(2)
                pids = lambda: [p.pid for p in pool._pool]
            else:
                pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=context)
                pool.submit(square, 1).result()
                pids = lambda: list(pool._processes)
            started = time.perf_counter()
            killer = None
            if usual is not None:
                killer = threading.Thread(target=kill_later, args=(pids, random.uniform(0, usual)))
                killer.start()
            try:
                if kind == "Pool":
                    values = pool.map_async(spin_square, range(tasks)).get(timeout)
                else:
                    chunksize = max(1, -(-tasks // 8))
                    future = pool.map(spin_square, range(tasks), chunksize=chunksize, timeout=timeout)
                    values = list(future)
                outcome = "finished" if values == expected else "wrong"
            except multiprocessing.TimeoutError:
                outcome = "hung"
            except concurrent.futures.TimeoutError:
                outcome = "hung"
            except concurrent.futures.process.BrokenProcessPool:
                outcome = "broken"
            if killer:
                killer.join()
            if usual is None:
                usual = time.perf_counter() - started
            else:
                counts[outcome] += 1
            if kind == "Pool":
                pool.terminate()
            else:
                for p in list(pool._processes.values()):
                    p.kill()
                pool.shutdown(wait=False, cancel_futures=True)
        print(f"{method} {kind}: {trials} trials: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)


if __name__ == "__main__":
    what, method = sys.argv[1], sys.argv[2]
    args = [float(a) if "." in a else int(a) for a in sys.argv[3:]]
    {"map": bench_map, "cpu": bench_cpu, "startup": bench_startup, "kills": kills}[what](method, *args)
