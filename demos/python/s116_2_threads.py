"""Section 116.2, fixed: the chapter defines `counter` but starts `countdown`. Each line is
written with one call, so two threads' lines interleave but do not tear (print() writes the
text and the newline separately: the chapter's output shows `Count valueCount value  209`)."""
import sys
import threading


def countdown(count):
    while count > 0:
        sys.stdout.write(f"Count value {count}\n")
        count -= 1
    return


t1 = threading.Thread(target=countdown, args=(10,))
t1.start()
t2 = threading.Thread(target=countdown, args=(20,))
t2.start()
t1.join()
t2.join()
