"""Beyond the chapter: Pool.map, the twin of demos/src/pool.rs.

Under each start method: the squares of 0..9 on 2 workers; then the same map one task at a
time, with a task that kills its own worker (SIGKILL) on input 5. CPython's Pool loses that
task and waits for it for ever (cpython#96062): the script waits 2 seconds for the map and
says that it got no answer, then terminates the pool."""
import multiprocessing
import os
import signal


def square(n):
    return n * n


def square_or_die(n):
    if n == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return n * n


if __name__ == "__main__":
    for method in ["spawn", "forkserver", "fork"]:
        context = multiprocessing.get_context(method)
        with context.Pool(2) as pool:
            print(f"{method}: squares {pool.map(square, range(10))}", flush=True)
            pending = pool.map_async(square_or_die, range(10), chunksize=1)
            try:
                squares = pending.get(timeout=2)
                print(f"{method}: the squares {squares}", flush=True)
            except multiprocessing.TimeoutError:
                print(f"{method}: no answer after 2 s: the pool waits for the dead worker's task for ever", flush=True)
            pool.terminate()
