"""Skynet: a tree of goroutines, each spawning ``div`` children until ``size``
leaves each send their number; the sums flow back up over channels.
(https://github.com/atemerev/skynet; the real one is 1M leaves: try
``--size 1000000``, which creates 1,111,111 goroutines.)

    python examples/skynet.py                  # 10,000 leaves
    python examples/skynet.py --size 1000000
    python -m gmploop --procs 2 examples/skynet.py
"""

import argparse
import time

import gmploop


def skynet(out: gmploop.Chan, num: int, size: int, div: int) -> None:
    """Send the sum of ``num .. num+size-1`` to ``out``, computed by a subtree
    of goroutines."""
    if size == 1:
        out.send(num)
        return
    rc = gmploop.Chan(div)
    step = size // div
    for i in range(div):
        gmploop.go(skynet, rc, num + i * step, step, div)
    total = 0
    for _ in range(div):
        total += rc.recv()
    out.send(total)


def run_skynet(size: int, div: int) -> int:
    out = gmploop.Chan(1)
    gmploop.go(skynet, out, 0, size, div)
    return out.recv()


def main() -> None:
    ap = argparse.ArgumentParser(description="skynet: a tree of goroutines")
    ap.add_argument("--size", type=int, default=10_000, help="leaves, a power of div")
    ap.add_argument("--div", type=int, default=10, help="children per node")
    args = ap.parse_args()
    size, div = args.size, args.div
    n, nodes = size, 0
    while n > 1:
        if n % div:
            raise SystemExit(f"--size must be a power of --div ({div})")
        nodes += n
        n //= div
    nodes += 1
    t0 = time.perf_counter()
    total = run_skynet(size, div)
    dt = time.perf_counter() - t0
    want = size * (size - 1) // 2
    st = gmploop.stats()
    print(f"skynet size={size}: sum {total} ({'ok' if total == want else f'WRONG, want {want}'})"
          f", {nodes} goroutines in {dt:.3f} s ({dt / nodes * 1e6:.2f} us each), "
          f"procs={st['procs']}, greenlets reused {st['reused']}")
    if total != want:
        raise SystemExit(1)


if __name__ == "__main__":
    gmploop.run(main)
