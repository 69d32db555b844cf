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
        on 2 workers, default chunking, one worker SIGKILLed at a random time within the map's
        usual length; each trial in a process of its own, since a hung pool can hang its own
        terminate. Prints, for each, how many trials finished, hung (no answer within TIMEOUT
        seconds), broke the pool (BrokenProcessPool) or answered wrong.
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
    """Kills one of the pool's workers, at random, after `delay` seconds."""
    time.sleep(delay)
    victims = pids()
    if victims:
        try:
            os.kill(random.choice(victims), signal.SIGKILL)
        except ProcessLookupError:
            pass


def trial(method, kind, delay, timeout):
    """One trial, in a process of its own (a hung pool may hang its own terminate too): prints
    finished, wrong, hung or broken."""
    context = multiprocessing.get_context(method)
    tasks = 10_000
    if kind == "Pool":
        pool = context.Pool(2)
        pool.map(square, range(2), 1)
        pids = lambda: [p.pid for p in pool._pool]
    else:
        pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=context)
        list(pool.map(square, range(2)))
        pids = lambda: list(pool._processes)
    killer = threading.Thread(target=kill_later, args=(pids, delay), daemon=True)
    killer.start()
    try:
        if kind == "Pool":
            values = pool.map_async(spin_square, range(tasks)).get(timeout)
        else:
            chunksize = max(1, -(-tasks // 8))
            values = list(pool.map(spin_square, range(tasks), chunksize=chunksize, timeout=timeout))
        outcome = "finished" if values == [n * n for n in range(tasks)] else "wrong"
    except (multiprocessing.TimeoutError, concurrent.futures.TimeoutError):
        outcome = "hung"
    except concurrent.futures.process.BrokenProcessPool:
        outcome = "broken"
    print(outcome, flush=True)
    os._exit(0)


def usual_map(method):
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        pool.map(square, range(2), 1)
        started = time.perf_counter()
        pool.map(spin_square, range(10_000))
        return time.perf_counter() - started


def kills(method, trials, timeout):
    import subprocess
    usual = usual_map(method)
    for kind in ["Pool", "ProcessPoolExecutor"]:
        counts = {"finished": 0, "hung": 0, "broken": 0, "wrong": 0}
        for _ in range(trials):
            delay = random.uniform(0, usual)
            try:
                done = subprocess.run(
                    [sys.executable, __file__, "trial", method, kind, f"{delay:.6f}", f"{timeout:.1f}"],
                    capture_output=True, text=True, timeout=timeout + 20,
                )
                outcome = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "hung"
            except subprocess.TimeoutExpired:
                outcome = "hung"
            counts[outcome] = counts.get(outcome, 0) + 1
        print(f"{method} {kind}: {trials} trials (map {usual * 1e3:.0f} ms): " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)


if __name__ == "__main__":
    what, method = sys.argv[1], sys.argv[2]
    if what == "trial":
        trial(method, sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
    args = [float(a) if "." in a else int(a) for a in sys.argv[3:]]
    {"map": bench_map, "cpu": bench_cpu, "startup": bench_startup, "kills": kills}[what](method, *args)
