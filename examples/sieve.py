"""The prime sieve: Go's classic concurrent pipeline.

A goroutine generates 2, 3, 4, ...; each prime found adds a filter goroutine to
the chain that drops that prime's multiples. Every number travels down the
chain over unbuffered channels, so this measures goroutine switches and
channel hand-offs more than arithmetic. (From the Go tour / go/test/chan/sieve1.go.)

    python examples/sieve.py            # first 100 primes
    python examples/sieve.py -n 1000
    python -m gmploop examples/sieve.py -n 50
"""

import argparse
import time

import gmploop


def generate(ch: gmploop.Chan) -> None:
    """Send 2, 3, 4, ... to ``ch`` forever (abandoned when main returns)."""
    i = 2
    while True:
        ch.send(i)
        i += 1


def sieve_filter(src: gmploop.Chan, dst: gmploop.Chan, prime: int) -> None:
    """Copy the values from ``src`` to ``dst``, dropping multiples of ``prime``."""
    for i in src:
        if i % prime != 0:
            dst.send(i)


def primes(n: int) -> list[int]:
    """The first ``n`` primes, found by a daisy chain of filter goroutines."""
    ch = gmploop.Chan()
    gmploop.go(generate, ch)
    found = []
    for _ in range(n):
        prime = ch.recv()
        found.append(prime)
        ch1 = gmploop.Chan()
        gmploop.go(sieve_filter, ch, ch1, prime)
        ch = ch1
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100, help="how many primes (default 100)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    ps = primes(args.n)
    dt = time.perf_counter() - t0
    print(" ".join(map(str, ps)))
    print(f"{len(ps)} primes, largest {ps[-1]}, {gmploop.num_goroutine()} goroutines, "
          f"{dt:.3f} s")


if __name__ == "__main__":
    gmploop.run(main)
