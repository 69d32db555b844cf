"""Section 116.1 as the chapter wrote it, plus the exit codes (the Rust demo prints them too)."""
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
    p1 = multiprocessing.Process(target=countdown, args=[10])
    p1.start()
    p2 = multiprocessing.Process(target=countdown, args=[20])
    p2.start()
    p1.join()
    p2.join()
    print("exit codes:", p1.exitcode, p2.exitcode)
