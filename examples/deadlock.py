"""Deadlock detection: the runtime notices when no goroutine can ever run again.

Two workers each hold one channel "lock" (a capacity-1 channel used as a
mutex) and wait for the other's: a textbook lock-order inversion. Go's runtime
stops such a program with ``fatal error: all goroutines are asleep -
deadlock!``; gmploop's ``run`` raises ``gmploop.Deadlock`` with the same
message and, for every goroutine, its wait reason and the stack where it
parked. Here the program catches it and prints the report.

    python examples/deadlock.py      # catches gmploop.Deadlock, prints it, exits 0
    python -m gmploop examples/deadlock.py
        # here the script *is* the main goroutine, so the deadlock is the whole
        # program's: the command line prints Go's report and exits with status 2
"""

import gmploop


def worker(first: gmploop.Chan, second: gmploop.Chan,
           holding: gmploop.Chan, go_on: gmploop.Chan, done: gmploop.Chan) -> None:
    first.send(None)      # take the first lock
    holding.send(None)    # tell main we hold it
    go_on.recv_ok()       # wait until both hold their first lock (main closes go_on)
    second.send(None)     # take the second lock: blocks forever, the other holds it
    done.send(None)


def main() -> None:
    lock_a = gmploop.Chan(1)
    lock_b = gmploop.Chan(1)
    holding, go_on, done = gmploop.Chan(), gmploop.Chan(), gmploop.Chan()
    gmploop.go(worker, lock_a, lock_b, holding, go_on, done)
    gmploop.go(worker, lock_b, lock_a, holding, go_on, done)
    holding.recv()
    holding.recv()
    go_on.close()
    done.recv()           # never: each worker waits for the other's lock


if __name__ == "__main__":
    try:
        gmploop.run(main)
    except gmploop.Deadlock as e:
        print("caught gmploop.Deadlock:\n")
        print(e)
