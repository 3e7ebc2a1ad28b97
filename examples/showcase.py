"""gmploop in a minute: what it is for, shown live.

gmploop brings Go's runtime model to Python: goroutines (plain functions, no
``async``/``await`` colouring) on a G-M-P scheduler, channels and ``select``,
sync and context, deadlock detection, and an asyncio event loop on the same
runtime. This program walks through it in five short sections and ends with a
benchmark table measured on the spot against asyncio (and uvloop):

1. goroutines and channels: the prime sieve, and a word count fanned out to
   goroutines and back in over a channel, with a WaitGroup;
2. ``select`` with a timeout: the first replica to answer wins;
3. deadlock detection: Go's "all goroutines are asleep" report;
4. asyncio interop: ``gmploop.run(coroutine)``, goroutines and tasks sharing
   channels, a goroutine awaiting a coroutine;
5. the live benchmark (a progress line shows while it runs).

    python examples/showcase.py            # about 15-30 s
    python examples/showcase.py --quick    # smaller benchmark, a few seconds
    python -m gmploop examples/showcase.py

Each section's code is in this file; the full programs are in examples/ and
the docs in docs/ (start at docs/index.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import subprocess
import sys
import time
from collections import Counter
from typing import Any, Callable

import gmploop
from gmploop import Recv

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the other examples, for the sieve
from sieve import primes  # noqa: E402

try:
    import uvloop
except ImportError:  # pragma: no cover - where uvloop does not install
    uvloop = None

TTY = sys.stdout.isatty()


def heading(n: int, title: str) -> None:
    text = f"{n}. {title}"
    print(f"\n\033[1m{text}\033[0m" if TTY else f"\n{text}")


def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking call (a subprocess, another event loop) without holding
    a processor: ``gmploop.blocking`` hands it to a thread when called from a
    goroutine (as under ``python -m gmploop``) and just calls it otherwise."""
    return gmploop.blocking(fn, *args)


# --------------------------------------------------------------------------
# 1. Goroutines and channels
# --------------------------------------------------------------------------

VOCAB = ("go gopher channel select goroutine python greenlet scheduler "
         "processor thread queue timer context mutex loop").split()


def make_corpus(words: int, chunk: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(VOCAB))]  # Zipf-like
    text = rng.choices(VOCAB, weights, k=words)
    return [" ".join(text[i:i + chunk]) for i in range(0, words, chunk)]


def word_count(chunks: list[str], workers: int) -> Counter:
    """Fan out: ``workers`` goroutines count words of the chunks they take
    from one channel. Fan in: each sends its partial count to ``partials``,
    closed once the WaitGroup says all mappers are done."""
    todo = gmploop.Chan()
    partials = gmploop.Chan()
    wg = gmploop.WaitGroup()

    def mapper() -> None:
        c: Counter = Counter()
        for chunk in todo:          # until todo is closed and drained
            c.update(chunk.split())
        partials.send(c)

    def feed() -> None:
        for chunk in chunks:
            todo.send(chunk)
        todo.close()

    for _ in range(workers):
        wg.go(mapper)
    gmploop.go(feed)
    gmploop.go(lambda: (wg.wait(), partials.close()))
    total: Counter = Counter()
    for c in partials:
        total.update(c)
    return total


def section_goroutines(chunks: list[str]) -> Counter:
    heading(1, "Goroutines and channels")
    ps = primes(20)
    print(f"   prime sieve, a daisy chain of {len(ps)} filter goroutines "
          f"(examples/sieve.py):\n     {' '.join(map(str, ps))}")
    t0 = time.perf_counter()
    counts = word_count(chunks, workers=8)
    dt = time.perf_counter() - t0
    words = sum(counts.values())
    print(f"   word count: {words:,} words in {len(chunks)} chunks, fanned out to 8 "
          f"goroutines and back in over a channel, {dt * 1000:.0f} ms")
    return counts


# --------------------------------------------------------------------------
# 2. select with a timeout
# --------------------------------------------------------------------------


def first_reply(delays_ms: list[int], budget_ms: int) -> str:
    """Ask every replica at once, take the first answer, give up after
    ``budget_ms``: Go's ``select { case r := <-c: ... case <-time.After(d): }``."""
    c = gmploop.Chan(len(delays_ms))  # buffered: late replicas never block
    t0 = time.perf_counter()

    def replica(i: int, delay_ms: int) -> None:
        gmploop.sleep(delay_ms / 1000)
        c.send(i)

    for i, d in enumerate(delays_ms):
        gmploop.go(replica, i, d)
    i, who, _ = gmploop.select(Recv(c), Recv(gmploop.after(budget_ms / 1000)))
    ms = (time.perf_counter() - t0) * 1000
    if i == 0:
        return f"replica {who} answered first, after {ms:.0f} ms"
    return f"no answer: gave up after {ms:.0f} ms"


def section_select() -> None:
    heading(2, "select with a timeout: three replicas answer in 30, 60 and 90 ms")
    for budget in (100, 20):
        print(f"   budget {budget:3d} ms: {first_reply([60, 30, 90], budget)}")


# --------------------------------------------------------------------------
# 3. Deadlock detection
# --------------------------------------------------------------------------


def user_frames(report: str) -> list[str]:
    """The report without the runtime's own frames (gmploop/...)."""
    out, skip = [], False
    for line in report.splitlines():
        if line.startswith('  File "'):
            skip = f"{os.sep}gmploop{os.sep}" in line
        elif not line.startswith("    "):
            skip = False
        if not skip:
            out.append(line)
    return out


def section_deadlock() -> None:
    heading(3, "Deadlock detection: two goroutines take two locks in opposite order")
    script = os.path.join(HERE, "deadlock.py")
    r = off_loop(lambda: subprocess.run([sys.executable, script], capture_output=True,
                                        text=True, timeout=60))
    print(f"   $ python examples/deadlock.py   # gmploop.run(main) raises gmploop.Deadlock")
    for line in user_frames(r.stdout):
        if line.strip():
            print(f"   | {line.replace(HERE + os.sep, '')}")


# --------------------------------------------------------------------------
# 4. asyncio interop
# --------------------------------------------------------------------------


async def interop() -> list[str]:
    loop = asyncio.get_running_loop()
    out = [f"asyncio runs on {type(loop).__name__}; goroutines and tasks share it"]

    # A goroutine produces, a coroutine consumes: one channel, both worlds.
    ch = gmploop.Chan()

    def producer(n: int) -> None:
        for i in range(n):
            ch.send(i * i)
        ch.close()

    gmploop.go(producer, 6)
    squares = [v async for v in ch]
    out.append(f"async for over a channel fed by a goroutine: {squares}")

    # Goroutines are awaitable; a goroutine can await asyncio code.
    async def lookup(x: int) -> int:
        await asyncio.sleep(0.01)
        return x * 2

    def blocking_style(x: int) -> int:
        return gmploop.await_(lookup(x)) + 1  # parks this goroutine only

    results = await asyncio.gather(*(gmploop.go(blocking_style, i) for i in range(1000)))
    out.append(f"1000 goroutines each awaited a coroutine, gathered by asyncio: "
               f"sum {sum(results)} (expected {sum(2 * i + 1 for i in range(1000))})")

    # Go's sync works from both sides too.
    mu, shared = gmploop.Mutex(), [0]

    def g_incr() -> None:
        for _ in range(100):
            with mu:
                shared[0] += 1

    async def t_incr() -> None:
        for _ in range(100):
            async with mu:
                shared[0] += 1
                await asyncio.sleep(0)

    wg = gmploop.WaitGroup()
    for _ in range(10):
        wg.go(g_incr)
    await asyncio.gather(*(t_incr() for _ in range(10)))
    await wg
    out.append(f"one Mutex, 10 goroutines + 10 tasks x 100 increments: {shared[0]}")
    return out


def section_asyncio() -> None:
    heading(4, "asyncio interop: gmploop.run(coroutine)")
    for line in gmploop.run(interop()):
        print(f"   {line}")


# --------------------------------------------------------------------------
# 5. Live benchmark
# --------------------------------------------------------------------------
# The same workloads as benchmarks/bench_core.py (which runs the full matrix,
# in fresh processes, against gevent, threads and Go too). The clock runs
# inside each system's main function: runtime start-up is not timed.

now = time.perf_counter


def gmp_fanout(n: int) -> float:
    def worker(ch: gmploop.Chan) -> None:
        ch.send(1)

    def main() -> float:
        ch, go = gmploop.Chan(n), gmploop.go
        t0 = now()
        for _ in range(n):
            go(worker, ch)
        s = sum(ch.recv() for _ in range(n))
        t = now() - t0
        assert s == n
        return t
    return gmploop.run(main, procs=1)


def aio_fanout(n: int) -> Callable[[], Any]:
    async def worker(q: asyncio.Queue) -> None:
        await q.put(1)

    async def main() -> float:
        q = asyncio.Queue(n)
        spawn = asyncio.get_running_loop().create_task
        t0 = now()
        tasks = [spawn(worker(q)) for _ in range(n)]
        s = 0
        for _ in range(n):
            s += await q.get()
        t = now() - t0
        assert s == n
        del tasks
        return t
    return main


def gmp_pingpong(n: int) -> float:
    def partner(a: gmploop.Chan, b: gmploop.Chan) -> None:
        for _ in range(n):
            b.send(a.recv())

    def main() -> float:
        a, b = gmploop.Chan(1), gmploop.Chan(1)
        gmploop.go(partner, a, b)
        t0 = now()
        for i in range(n):
            a.send(i)
            b.recv()
        return now() - t0
    return gmploop.run(main, procs=1)


def aio_pingpong(n: int) -> Callable[[], Any]:
    async def partner(a: asyncio.Queue, b: asyncio.Queue) -> None:
        for _ in range(n):
            await b.put(await a.get())

    async def main() -> float:
        a, b = asyncio.Queue(1), asyncio.Queue(1)
        task = asyncio.create_task(partner(a, b))
        t0 = now()
        for i in range(n):
            await a.put(i)
            await b.get()
        t = now() - t0
        await task
        return t
    return main


def gmp_skynet(size: int) -> float:
    go, Chan = gmploop.go, gmploop.Chan

    def skynet(c: gmploop.Chan, num: int, size: int) -> None:
        if size == 1:
            c.send(num)
            return
        rc, sub = Chan(), size // 10
        for i in range(10):
            go(skynet, rc, num + i * sub, sub)
        c.send(sum(rc.recv() for _ in range(10)))

    def main() -> float:
        t0 = now()
        c = Chan()
        go(skynet, c, 0, size)
        s = c.recv()
        t = now() - t0
        assert s == size * (size - 1) // 2
        return t
    return gmploop.run(main, procs=1)


def aio_skynet(size: int) -> Callable[[], Any]:
    # asyncio has no rendezvous queue: an unbounded Queue stands in for the
    # unbuffered channel (a put never waits: if anything, this favours asyncio).
    async def skynet(q: asyncio.Queue, num: int, size: int) -> None:
        if size == 1:
            await q.put(num)
            return
        rq, sub = asyncio.Queue(), size // 10
        tasks = [asyncio.create_task(skynet(rq, num + i * sub, sub)) for i in range(10)]
        s = 0
        for _ in range(10):
            s += await rq.get()
        del tasks
        await q.put(s)

    async def main() -> float:
        t0 = now()
        q = asyncio.Queue()
        task = asyncio.create_task(skynet(q, 0, size))
        s = await q.get()
        t = now() - t0
        await task
        assert s == size * (size - 1) // 2
        return t
    return main


def run_aio(make: Callable[[int], Callable[[], Any]], n: int, uv: bool) -> float:
    """Run an asyncio workload on a fresh stdlib (or uvloop) loop, explicitly
    (under ``python -m gmploop`` the default policy makes gmploop loops)."""
    factory = uvloop.new_event_loop if uv else asyncio.SelectorEventLoop

    def go() -> float:
        with asyncio.Runner(loop_factory=factory) as r:
            return r.run(make(n)())
    return off_loop(go)


class Progress:
    """One ``\\r`` status line on stderr while the benchmark runs (a terminal
    only; in a log it would be noise)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.on = sys.stderr.isatty()

    def step(self, what: str) -> None:
        if self.on:
            pct = 100 * self.done // self.total
            el = time.perf_counter() - self.t0
            sys.stderr.write(f"\r   [{pct:3d}%] {el:4.1f} s  measuring {what:<40}")
            sys.stderr.flush()
        self.done += 1

    def clear(self) -> None:
        if self.on:
            sys.stderr.write("\r" + " " * 78 + "\r")
            sys.stderr.flush()


def section_benchmark(quick: bool, reps: int) -> None:
    scale = 0.2 if quick else 1.0
    n_fan, n_pp, n_sky = int(10_000 * scale), int(20_000 * scale), 10_000 if quick else 100_000
    workloads = [
        (f"fan-out: spawn {n_fan:,}, fan in over a channel", "us/goroutine", n_fan,
         gmp_fanout, aio_fanout, 1e6 / n_fan),
        (f"ping-pong: {n_pp:,} round trips, 2 channels", "us/round trip", n_pp,
         gmp_pingpong, aio_pingpong, 1e6 / n_pp),
        (f"skynet: {n_sky:,} leaves, {n_sky * 10 // 9:,} goroutines", "ms total", n_sky,
         gmp_skynet, aio_skynet, 1e3),
    ]
    systems = ["gmploop", "asyncio"] + (["uvloop"] if uvloop is not None else [])
    heading(5, f"Live benchmark: gmploop vs asyncio, best of {reps}, procs=1, this machine")
    prog = Progress(len(workloads) * len(systems) * reps)
    rows = []
    for title, unit, n, gmp, aio, mult in workloads:
        best: dict[str, float] = {}
        for system in systems:
            for rep in range(reps):
                prog.step(f"{title.split(':')[0]} on {system} ({rep + 1}/{reps})")
                gc.collect()
                if system == "gmploop":
                    t = gmp(n)
                else:
                    t = run_aio(aio, n, uv=(system == "uvloop"))
                best[system] = min(best.get(system, t), t)
        rows.append((title, unit, {s: best[s] * mult for s in systems}))
    prog.clear()

    head = ["workload", "unit", *systems, "gmploop vs asyncio"]
    table = [head]
    for title, unit, vals in rows:
        ratio = vals["asyncio"] / vals["gmploop"]
        fmt = "{:.0f}" if unit.startswith("ms") else "{:.2f}"
        table.append([title, unit, *(fmt.format(vals[s]) for s in systems),
                      f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for k, r in enumerate(table):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        print("   " + "  ".join(cells))
        if k == 0:
            print("   " + "  ".join("-" * w for w in widths))
    print("   (full matrix with gevent, threads and Go: python benchmarks/bench_core.py)")


# --------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description="gmploop in a minute")
    ap.add_argument("--quick", action="store_true", help="smaller benchmark sizes")
    ap.add_argument("--reps", type=int, default=3, help="benchmark repetitions (best of)")
    ap.add_argument("--words", type=int, default=300_000, help="word-count corpus size")
    ap.add_argument("--no-bench", action="store_true", help="skip the benchmark")
    args = ap.parse_args()
    import greenlet
    poller = f"uvloop {uvloop.__version__}" if uvloop is not None else "stdlib loop"
    print(f"gmploop {gmploop.__version__}: Go's runtime model for Python "
          f"(Python {sys.version.split()[0]}, greenlet {greenlet.__version__}, {poller})")
    t0 = time.perf_counter()
    chunks = make_corpus(args.words, 1000)
    counts = gmploop.run(section_goroutines, chunks)
    check = Counter(w for chunk in chunks for w in chunk.split())
    top = ", ".join(f"{w} {n}" for w, n in counts.most_common(4))
    print(f"     top: {top}; same as collections.Counter: "
          f"{'yes' if counts == check else 'NO'}")
    if counts != check:
        raise SystemExit("word count mismatch")
    gmploop.run(section_select)
    section_deadlock()
    section_asyncio()
    if not args.no_bench:
        section_benchmark(args.quick, max(1, args.reps))
    print(f"\ndone in {time.perf_counter() - t0:.1f} s. Next: the examples in examples/ "
          f"(each runs with python examples/NAME.py),\nand docs/index.md: getting started, "
          f"a Go -> gmploop cheat sheet, asyncio, internals, debugging.")


if __name__ == "__main__":
    main()
