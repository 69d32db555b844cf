"""Section 116.1's start methods: the countdown under fork, spawn and forkserver."""
import multiprocessing
import sys


def countdown(count):
    while count > 0:
        # One write per line: print() writes its pieces separately, and two processes
        # sharing a pipe then tear each other's lines.
        sys.stdout.write(f"Count value {count}\n")
        sys.stdout.flush()
        count -= 1
    return 0


if __name__ == "__main__":
    for method in ["fork", "spawn", "forkserver"]:
        context = multiprocessing.get_context(method)
        p = context.Process(target=countdown, args=[3])
        p.start()
        p.join()
        print(method, "pid", p.pid, "exit code", p.exitcode, flush=True)
