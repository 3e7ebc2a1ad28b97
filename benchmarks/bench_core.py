"""gmploop's core benchmarks against the runtimes a user would pick instead.

Workloads (issue 2, "Benchmarks"), each written for every system:

1. ``fanout``    N goroutines each send 1 into a channel of capacity N; main
                 receives N. N = 1k, 10k, 100k. ns per goroutine (spawn included).
2. ``pingpong``  a round trip over two channels of capacity 1. ns per round trip.
3. ``contended`` P producers x 1000 messages into one channel of capacity 64,
                 one consumer. P = 10, 100. ns per message.
4. ``skynet``    1,000,000 leaves, a 10-ary tree of goroutines over unbuffered
                 channels (the classic Go program); checks 499999500000. seconds.
5. ``memory``    RSS per parked goroutine (N blocked on a channel) and per
                 spawned-not-yet-run goroutine, in a fresh process. bytes.
6. ``steal``     16 goroutines each making four plain ``time.sleep(0.05)``
                 calls: gmploop procs=1 vs procs=4 wall time.

Systems: gmploop at procs=1 and procs=2 (columns), stdlib asyncio, uvloop,
gevent, threads (skipped where one OS thread per goroutine makes no sense:
100k/1M goroutines), Go with GOMAXPROCS=1 when ``go`` is on PATH
(``benchmarks/go/core.go``), and on ping-pong the raw greenlet switch floor.

Method: every (workload, size, system) runs in a FRESH subprocess, so memory
and interpreter state never leak between systems; inside it the workload runs
``--reps`` times (skynet and memory: one fresh process per repetition) and the
table shows the median. The clock runs inside each system's main (runtime
start-up and interpreter exit are not timed). Targets from issue 2 are printed
as met / not met next to the results, never asserted.

    python benchmarks/bench_core.py [--quick] [--only NAME[,NAME]] [--reps N]
        [--json out.json] [--markdown docs/benchmarks.md] [--skynet-size N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

now = C.now
HERE = os.path.dirname(os.path.abspath(__file__))
GO_SRC = os.path.join(HERE, "go", "core.go")

# ==========================================================================
# Workload implementations. Each returns (value, check): value is seconds
# (memory: bytes per goroutine), check is what ``expected`` must equal.
# They import their runtime lazily: a worker process loads only its own.
# ==========================================================================


def expected(workload: str, p: dict) -> int:
    """The check value a correct run of ``workload`` with params ``p`` returns."""
    if workload == "fanout":
        return p["n"]
    if workload == "pingpong":
        return p["n"] * (p["n"] - 1) // 2
    if workload == "contended":
        return p["p"] * (p["m"] * (p["m"] - 1) // 2)
    if workload == "skynet":
        return p["size"] * (p["size"] - 1) // 2
    if workload == "memory":
        return p["n"]
    if workload == "steal":
        return p["g"] * p["k"]
    raise ValueError(f"unknown workload {workload!r}")


def ops(workload: str, p: dict) -> int:
    """Operations a run performs (the divisor of ns/op)."""
    if workload in ("fanout", "pingpong"):
        return p["n"]
    if workload == "contended":
        return p["p"] * p["m"]
    return 1


# -- gmploop ---------------------------------------------------------------


def gmp_fanout(n: int, procs: int = 1) -> tuple[float, int]:
    import gmploop

    def worker(ch):
        ch.send(1)

    def main():
        ch = gmploop.Chan(n)
        go = gmploop.go
        t0 = now()
        for _ in range(n):
            go(worker, ch)
        recv = ch.recv
        s = 0
        for _ in range(n):
            s += recv()
        return now() - t0, s
    return gmploop.run(main, procs=procs)


def gmp_pingpong(n: int, procs: int = 1) -> tuple[float, int]:
    import gmploop

    def partner(a, b):
        for _ in range(n):
            b.send(a.recv())

    def main():
        a, b = gmploop.Chan(1), gmploop.Chan(1)
        gmploop.go(partner, a, b)
        s = 0
        t0 = now()
        for i in range(n):
            a.send(i)
            s += b.recv()
        return now() - t0, s
    return gmploop.run(main, procs=procs)


def gmp_contended(p: int, m: int, procs: int = 1) -> tuple[float, int]:
    import gmploop

    def producer(ch):
        send = ch.send
        for i in range(m):
            send(i)

    def main():
        ch = gmploop.Chan(64)
        t0 = now()
        for _ in range(p):
            gmploop.go(producer, ch)
        recv = ch.recv
        s = 0
        for _ in range(p * m):
            s += recv()
        return now() - t0, s
    return gmploop.run(main, procs=procs)


def gmp_skynet(size: int, procs: int = 1) -> tuple[float, int]:
    import gmploop
    go, Chan = gmploop.go, gmploop.Chan

    def skynet(c, num, size, div):
        if size == 1:
            c.send(num)
            return
        rc = Chan()
        sub = size // div
        for i in range(div):
            go(skynet, rc, num + i * sub, sub, div)
        s = 0
        for _ in range(div):
            s += rc.recv()
        c.send(s)

    def main():
        t0 = now()
        c = Chan()
        go(skynet, c, 0, size, 10)
        s = c.recv()
        return now() - t0, s
    return gmploop.run(main, procs=procs)


def gmp_memory(kind: str, n: int, procs: int = 1) -> tuple[float, int]:
    import gmploop

    def parked(ch, ready):
        ready.send(1)
        ch.recv()

    def main():
        ch, ready = gmploop.Chan(), gmploop.Chan(n)
        gc.collect()
        base = C.rss_bytes()
        if kind == "unstarted":
            for _ in range(n):
                gmploop.go(parked, ch, ready)
            return (C.rss_bytes() - base) / n, gmploop.num_goroutine() - 1
        for _ in range(n):
            gmploop.go(parked, ch, ready)
        got = 0
        for _ in range(n):
            got += ready.recv()
        gmploop.sleep(0.05)  # the last senders park on ch
        return (C.rss_bytes() - base) / n, got
    return gmploop.run(main, procs=procs)


def gmp_steal(g: int, k: int, d: float, procs: int = 1) -> tuple[float, int]:
    import time

    import gmploop

    def sleeper(done):
        for _ in range(k):
            time.sleep(d)  # a plain blocking call: holds this P's thread
        done.send(k)

    def main():
        done = gmploop.Chan(g)
        t0 = now()
        for _ in range(g):
            gmploop.go(sleeper, done)
        s = 0
        for _ in range(g):
            s += done.recv()
        return now() - t0, s
    return gmploop.run(main, procs=procs)


# -- asyncio / uvloop --------------------------------------------------------


def _aio(coro_fn: Callable, uv: bool, teardown: bool = True) -> Any:
    """asyncio.run on the stdlib loop or uvloop. ``teardown=False`` leaves
    pending tasks alone (the memory worker exits right after measuring;
    cancelling 100k parked tasks would only cost wall time)."""
    import asyncio
    if uv:
        import uvloop
        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    if not teardown:
        loop = factory()
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro_fn())
    with asyncio.Runner(loop_factory=factory) as r:
        return r.run(coro_fn())


def aio_fanout(n: int, uv: bool = False) -> tuple[float, int]:
    import asyncio

    async def worker(q):
        await q.put(1)

    async def main():
        q = asyncio.Queue(n)
        spawn = asyncio.get_running_loop().create_task
        t0 = now()
        tasks = [spawn(worker(q)) for _ in range(n)]
        s = 0
        for _ in range(n):
            s += await q.get()
        t = now() - t0
        del tasks
        return t, s
    return _aio(main, uv)


def aio_pingpong(n: int, uv: bool = False) -> tuple[float, int]:
    import asyncio

    async def partner(a, b):
        for _ in range(n):
            await b.put(await a.get())

    async def main():
        a, b = asyncio.Queue(1), asyncio.Queue(1)
        task = asyncio.create_task(partner(a, b))
        s = 0
        t0 = now()
        for i in range(n):
            await a.put(i)
            s += await b.get()
        t = now() - t0
        await task
        return t, s
    return _aio(main, uv)


def aio_contended(p: int, m: int, uv: bool = False) -> tuple[float, int]:
    import asyncio

    async def producer(q):
        for i in range(m):
            await q.put(i)

    async def main():
        q = asyncio.Queue(64)
        t0 = now()
        tasks = [asyncio.create_task(producer(q)) for _ in range(p)]
        s = 0
        for _ in range(p * m):
            s += await q.get()
        t = now() - t0
        del tasks
        return t, s
    return _aio(main, uv)


def aio_skynet(size: int, uv: bool = False) -> tuple[float, int]:
    # asyncio has no rendezvous queue: an unbounded Queue stands in for the
    # unbuffered channel (a put never waits: if anything, this favours asyncio).
    import asyncio
    create_task, Queue = asyncio.create_task, asyncio.Queue

    async def skynet(q, num, size, div):
        if size == 1:
            await q.put(num)
            return
        rq = Queue()
        sub = size // div
        tasks = [create_task(skynet(rq, num + i * sub, sub, div)) for i in range(div)]
        s = 0
        for _ in range(div):
            s += await rq.get()
        del tasks
        await q.put(s)

    async def main():
        t0 = now()
        q = Queue()
        task = create_task(skynet(q, 0, size, 10))
        s = await q.get()
        t = now() - t0
        await task
        return t, s
    return _aio(main, uv)


def aio_memory(kind: str, n: int, uv: bool = False) -> tuple[float, int]:
    import asyncio

    async def parked(q, ready):
        ready.put_nowait(1)
        await q.get()

    async def main():
        q, ready = asyncio.Queue(), asyncio.Queue()
        spawn = asyncio.get_running_loop().create_task
        gc.collect()
        base = C.rss_bytes()
        if kind == "unstarted":
            for _ in range(n):
                spawn(parked(q, ready))
            return (C.rss_bytes() - base) / n, len(asyncio.all_tasks()) - 1
        for _ in range(n):
            spawn(parked(q, ready))
        got = 0
        for _ in range(n):
            got += await ready.get()
        await asyncio.sleep(0.05)
        return (C.rss_bytes() - base) / n, got
    return _aio(main, uv, teardown=False)


# -- gevent ------------------------------------------------------------------


def gev_fanout(n: int) -> tuple[float, int]:
    import gevent
    from gevent.queue import Queue

    def worker(q):
        q.put(1)

    q = Queue(n)
    spawn = gevent.spawn
    t0 = now()
    for _ in range(n):
        spawn(worker, q)
    s = 0
    for _ in range(n):
        s += q.get()
    return now() - t0, s


def gev_pingpong(n: int) -> tuple[float, int]:
    import gevent
    from gevent.queue import Queue

    def partner(a, b):
        for _ in range(n):
            b.put(a.get())

    a, b = Queue(1), Queue(1)
    g = gevent.spawn(partner, a, b)
    s = 0
    t0 = now()
    for i in range(n):
        a.put(i)
        s += b.get()
    t = now() - t0
    g.join()
    return t, s


def gev_contended(p: int, m: int) -> tuple[float, int]:
    import gevent
    from gevent.queue import Queue

    def producer(q):
        put = q.put
        for i in range(m):
            put(i)

    q = Queue(64)
    t0 = now()
    for _ in range(p):
        gevent.spawn(producer, q)
    s = 0
    for _ in range(p * m):
        s += q.get()
    return now() - t0, s


def gev_skynet(size: int) -> tuple[float, int]:
    import gevent
    from gevent.queue import Channel  # gevent's unbuffered (rendezvous) channel
    spawn = gevent.spawn

    def skynet(c, num, size, div):
        if size == 1:
            c.put(num)
            return
        rc = Channel()
        sub = size // div
        for i in range(div):
            spawn(skynet, rc, num + i * sub, sub, div)
        s = 0
        for _ in range(div):
            s += rc.get()
        c.put(s)

    t0 = now()
    c = Channel()
    spawn(skynet, c, 0, size, 10)
    s = c.get()
    return now() - t0, s


def gev_memory(kind: str, n: int) -> tuple[float, int]:
    import gevent
    from gevent.queue import Queue

    def parked(q, ready):
        ready.put(1)
        q.get()

    q, ready = Queue(), Queue()
    gc.collect()
    base = C.rss_bytes()
    if kind == "unstarted":
        gs = [gevent.spawn(parked, q, ready) for _ in range(n)]
        v = (C.rss_bytes() - base) / n
        return v, sum(1 for g in gs if not g.dead)
    for _ in range(n):
        gevent.spawn(parked, q, ready)
    got = 0
    for _ in range(n):
        got += ready.get()
    gevent.sleep(0.05)
    return (C.rss_bytes() - base) / n, got


# -- threads -----------------------------------------------------------------


def thr_fanout(n: int) -> tuple[float, int]:
    import queue
    import threading

    def worker(q):
        q.put(1)

    q = queue.Queue(n)
    t0 = now()
    ts = []
    for _ in range(n):
        t = threading.Thread(target=worker, args=(q,), daemon=True)
        t.start()
        ts.append(t)
    s = 0
    for _ in range(n):
        s += q.get()
    el = now() - t0
    for t in ts:
        t.join()
    return el, s


def thr_pingpong(n: int) -> tuple[float, int]:
    import queue
    import threading

    def partner(a, b):
        for _ in range(n):
            b.put(a.get())

    a, b = queue.Queue(1), queue.Queue(1)
    th = threading.Thread(target=partner, args=(a, b), daemon=True)
    th.start()
    s = 0
    t0 = now()
    for i in range(n):
        a.put(i)
        s += b.get()
    el = now() - t0
    th.join()
    return el, s


def thr_contended(p: int, m: int) -> tuple[float, int]:
    import queue
    import threading

    def producer(q):
        put = q.put
        for i in range(m):
            put(i)

    q = queue.Queue(64)
    t0 = now()
    ts = [threading.Thread(target=producer, args=(q,), daemon=True) for _ in range(p)]
    for t in ts:
        t.start()
    s = 0
    for _ in range(p * m):
        s += q.get()
    el = now() - t0
    for t in ts:
        t.join()
    return el, s


def thr_skynet(size: int) -> tuple[float, int]:
    import queue
    import threading

    def skynet(q, num, size, div):
        if size == 1:
            q.put(num)
            return
        rq = queue.Queue()
        sub = size // div
        for i in range(div):
            threading.Thread(target=skynet, args=(rq, num + i * sub, sub, div),
                             daemon=True).start()
        s = 0
        for _ in range(div):
            s += rq.get()
        q.put(s)

    t0 = now()
    q = queue.Queue()
    threading.Thread(target=skynet, args=(q, 0, size, 10), daemon=True).start()
    s = q.get()
    return now() - t0, s


# -- raw greenlet floor (ping-pong only) ---------------------------------------


def grl_pingpong(n: int) -> tuple[float, int]:
    """Two greenlets switching directly: the floor any greenlet runtime's
    round trip sits on (two switches, no channel, no scheduler)."""
    from greenlet import getcurrent, greenlet
    main = getcurrent()

    def partner(x):
        while True:
            x = main.switch(x)

    g = greenlet(partner)
    g.switch(None)
    s = 0
    sw = g.switch
    t0 = now()
    for i in range(n):
        s += sw(i)
    return now() - t0, s


IMPLS: dict[str, dict[str, Callable[..., tuple[float, int]]]] = {
    "gmploop": {"fanout": gmp_fanout, "pingpong": gmp_pingpong, "contended": gmp_contended,
                "skynet": gmp_skynet, "memory": gmp_memory, "steal": gmp_steal},
    "asyncio": {"fanout": aio_fanout, "pingpong": aio_pingpong, "contended": aio_contended,
                "skynet": aio_skynet, "memory": aio_memory},
    "gevent": {"fanout": gev_fanout, "pingpong": gev_pingpong, "contended": gev_contended,
               "skynet": gev_skynet, "memory": gev_memory},
    "threads": {"fanout": thr_fanout, "pingpong": thr_pingpong, "contended": thr_contended,
                "skynet": thr_skynet},
    "greenlet": {"pingpong": grl_pingpong},
}


def worker_main(spec: dict) -> None:
    """Run one cell (system x workload x params) ``reps`` times in this fresh
    process and emit the raw values and checks."""
    warnings.filterwarnings("ignore", message="goroutine .* has held processor")
    system, workload = spec["system"], spec["workload"]
    params = dict(spec["params"])
    params.update(spec.get("extra", {}))
    if system == "uvloop":
        fn = IMPLS["asyncio"][workload]
        params["uv"] = True
    else:
        fn = IMPLS[system][workload]
    values, checks = [], []
    for _ in range(spec["reps"]):
        gc.collect()
        v, chk = fn(**params)
        values.append(v)
        checks.append(chk)
    C.emit({"values": values, "checks": checks})


# ==========================================================================
# The suite: columns (systems), workloads and their cases, skips, targets
# ==========================================================================


@dataclass(frozen=True)
class Column:
    label: str
    system: str  # key of IMPLS, "uvloop" or "go"
    extra: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)  # the worker's environment


COLS = {c.label: c for c in [
    Column("gmploop p=1", "gmploop", {"procs": 1}),
    Column("gmploop p=2", "gmploop", {"procs": 2}),
    Column("gmploop p=4", "gmploop", {"procs": 4}),
    # The same code interpreted (docs/internals.md, "The compiled hot path"):
    # what an install without a C compiler runs.
    Column("gmploop pure p=1", "gmploop", {"procs": 1}, {"GMPLOOP_PURE": "1"}),
    Column("asyncio", "asyncio"),
    Column("uvloop", "uvloop"),
    Column("gevent", "gevent"),
    Column("threads", "threads"),
    Column("greenlet floor", "greenlet"),
    Column("go p=1", "go"),
]}
PEERS = ["asyncio", "uvloop", "gevent", "threads", "go p=1"]
MAIN_COLS = ["gmploop p=1", "gmploop p=2", "gmploop pure p=1"] + PEERS


@dataclass
class Workload:
    name: str
    title: str
    unit: str  # "ns" (per op), "s" (per run) or "B" (per goroutine)
    per: str  # what one op is
    cases: list  # [(label, params)] for a full run
    quick: list  # [(label, params)] for --quick
    cols: list
    fresh_per_rep: bool = False
    max_reps: int | None = None
    # per-column parameter overrides for a full run, e.g. fewer ping-pong
    # round trips for threads (the figure is per op, so it stays comparable)
    col_params: dict = field(default_factory=dict)


def _k(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


WORKLOADS = [
    Workload("fanout", "fan-out/fan-in: N goroutines each send 1 into a channel of capacity N",
             "ns", "goroutine",
             [(f"N={_k(n)}", {"n": n}) for n in (1000, 10_000, 100_000)],
             [(f"N={_k(n)}", {"n": n}) for n in (1000, 10_000)],
             MAIN_COLS),
    Workload("pingpong", "ping-pong: round trips over two channels of capacity 1",
             "ns", "round trip",
             [("100k round trips", {"n": 100_000})],
             [("20k round trips", {"n": 20_000})],
             MAIN_COLS + ["greenlet floor"], col_params={"threads": {"n": 20_000}}),
    Workload("contended", "contended: P producers x 1000 messages into one channel of "
             "capacity 64, one consumer", "ns", "message",
             [(f"P={p}", {"p": p, "m": 1000}) for p in (10, 100)],
             [(f"P={p}", {"p": p, "m": 1000}) for p in (10, 100)],
             MAIN_COLS),
    Workload("skynet", "skynet: a 10-ary tree of goroutines over unbuffered channels, "
             "sum of the leaves", "s", "run",
             [("1M leaves", {"size": 1_000_000})],
             [("10k leaves", {"size": 10_000})],
             MAIN_COLS, fresh_per_rep=True, max_reps=3),
    Workload("memory", "memory: RSS per goroutine, measured in a fresh process",
             "B", "goroutine",
             [("parked, N=100k", {"kind": "parked", "n": 100_000}),
              ("unstarted, N=100k", {"kind": "unstarted", "n": 100_000})],
             [("parked, N=10k", {"kind": "parked", "n": 10_000}),
              ("unstarted, N=10k", {"kind": "unstarted", "n": 10_000})],
             MAIN_COLS, fresh_per_rep=True, max_reps=3),
    Workload("steal", "stealing: 16 goroutines each making four plain time.sleep(d) calls",
             "s", "run",
             [("16 x 4 x sleep(50 ms)", {"g": 16, "k": 4, "d": 0.05})],
             [("16 x 4 x sleep(10 ms)", {"g": 16, "k": 4, "d": 0.01})],
             ["gmploop p=1", "gmploop p=2", "gmploop p=4"], max_reps=3),
]
WL = {w.name: w for w in WORKLOADS}


def skip_reason(w: Workload, params: dict, col: str, go_ok: bool) -> str | None:
    """Why a cell is not measured (shown in the table), or None."""
    sysname = COLS[col].system
    if sysname == "go":
        if not go_ok:
            return "go not on PATH"
        if w.name == "steal":
            return "n/a"
        return None
    if sysname == "threads":
        if w.name == "memory":
            return "skipped: one OS thread per goroutine"
        if w.name == "fanout" and params["n"] >= 100_000:
            return "skipped: one OS thread per goroutine at 100k+"
        if w.name == "skynet" and params["size"] > 1000:
            return "skipped: one OS thread per goroutine (11k+ threads)"
    if w.name == "memory" and params["kind"] == "unstarted" and col == "gmploop p=2":
        return "n/a: the idle P starts them"
    if w.name not in IMPLS.get("asyncio" if sysname == "uvloop" else sysname, {}) \
            and sysname != "go":
        return "n/a"
    return None


# Targets (issue 2), checked against this run's medians at procs=1.
# (description, workload, case index, kind, args, threshold)
#   kind "vs":    peer / gmploop-1 >= threshold (times)
#   kind "abs":   gmploop-1 value <= threshold (KiB)
#   kind "procs": gmploop-2 / gmploop-1 <= threshold
#   kind "steal": gmploop-1 / gmploop-4 >= threshold
#   kind "check": the gmploop-1 result was correct
TARGETS = [
    ("fan-out N=100k: >= 3x faster than uvloop", "fanout", -1, "vs", "uvloop", 3.0),
    ("ping-pong: >= 2.5x faster than gevent", "pingpong", 0, "vs", "gevent", 2.5),
    ("contended P=100: at least as fast as gevent", "contended", -1, "vs", "gevent", 1.0),
    ("skynet: correct sum", "skynet", 0, "check", None, None),
    ("skynet: >= 4x faster than asyncio", "skynet", 0, "vs", "asyncio", 4.0),
    ("memory: <= 7 KiB per parked goroutine", "memory", 0, "abs", None, 7),
    ("memory: <= 1 KiB per spawned-not-yet-run goroutine", "memory", 1, "abs", None, 1),
    ("procs=2 <= 1.25x slower than procs=1: fan-out (largest N)", "fanout", -1, "procs", None, 1.25),
    ("procs=2 <= 1.25x slower than procs=1: ping-pong", "pingpong", 0, "procs", None, 1.25),
    ("procs=2 <= 1.25x slower than procs=1: contended P=10", "contended", 0, "procs", None, 1.25),
    ("procs=2 <= 1.25x slower than procs=1: contended P=100", "contended", -1, "procs", None, 1.25),
    ("procs=2 <= 1.25x slower than procs=1: skynet", "skynet", 0, "procs", None, 1.25),
    ("stealing: procs=4 >= 3x faster than procs=1", "steal", 0, "steal", None, 3.0),
]
# Issue 12 (the compiled hot path), against the same run's peers; the
# compiled build is the "gmploop p=1" column, "gmploop pure p=1" the
# interpreted one.
TARGETS += [
    ("issue 12: ping-pong >= 3x faster than gevent", "pingpong", 0, "vs", "gevent", 3.0),
    ("issue 12: ping-pong within 1.5x of the raw greenlet floor", "pingpong", 0, "floor",
     "greenlet floor", 1.5),
    ("issue 12: contended P=100 >= 1.5x faster than gevent", "contended", -1, "vs", "gevent", 1.5),
    ("issue 12: fan-out N=100k >= 5x faster than uvloop", "fanout", -1, "vs", "uvloop", 5.0),
    ("issue 12: skynet >= 10x faster than asyncio", "skynet", 0, "vs", "asyncio", 10.0),
    ("issue 12: memory per parked goroutine no worse than pure", "memory", 0, "vs",
     "gmploop pure p=1", 1.0),
]
AIMS = [
    ("aim: ping-pong within 10% of the raw greenlet floor", "pingpong", 0, "floor",
     "greenlet floor", 1.10),
    ("aim: fan-out N=100k near Go GOMAXPROCS=1", "fanout", -1, "info", "go p=1", None),
]


# ==========================================================================
# Running the suite
# ==========================================================================


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: dict[tuple[str, str, str], dict] = {}
        self.go_bin: str | None = None
        self.go_err: str | None = None
        self.tmp = tempfile.mkdtemp(prefix="gmploop-bench-")

    # -- cases and cells --------------------------------------------------

    def cases(self, w: Workload) -> list:
        cases = w.quick if self.args.quick else w.cases
        if w.name == "skynet" and self.args.skynet_size:
            n = self.args.skynet_size
            cases = [(f"{_k(n)} leaves", {"size": n})]
        return cases

    def reps(self, w: Workload) -> int:
        r = self.args.reps
        if self.args.quick and w.max_reps and not self.args.reps_given:
            return 1  # --quick: one fresh process per cell for the slow ones
        return min(r, w.max_reps) if w.max_reps else r

    def build_go(self) -> None:
        go = C.go_binary()
        if not go:
            return
        out = os.path.join(self.tmp, "core")
        try:
            import subprocess
            cp = subprocess.run([go, "build", "-o", out, GO_SRC], capture_output=True,
                                text=True, timeout=300)
        except Exception as e:  # noqa: BLE001
            self.go_err = f"go build failed: {e}"
            return
        if cp.returncode != 0:
            self.go_err = "go build failed: " + (cp.stderr.strip().splitlines() or ["?"])[-1]
            return
        self.go_bin = out

    def command(self, w: Workload, params: dict, col: Column, reps: int) -> tuple[list, dict]:
        if col.system == "go":
            args = [self.go_bin, w.name, str(reps)] + [f"{k}={v}" for k, v in params.items()]
            return args, {"GOMAXPROCS": "1"}
        spec = {"system": col.system, "workload": w.name, "params": params,
                "extra": col.extra, "reps": reps}
        return ([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                dict(col.env))

    def run_cell(self, w: Workload, label: str, params: dict, col_label: str) -> dict:
        col = COLS[col_label]
        why = skip_reason(w, params, col_label, C.go_binary() is not None)
        if col.system == "go" and why is None and self.go_bin is None:
            why = self.go_err or "go build failed"
        if (why is None and self.args.quick and col.system == "threads"
                and w.name == "fanout" and params["n"] >= 10_000):
            why = "skipped in --quick: 10k threads"
        if why:
            return {"skip": why}
        note = None
        if not self.args.quick and col_label in w.col_params:
            params = {**params, **w.col_params[col_label]}
            note = "ran with " + ", ".join(f"{k}={v:,}" for k, v in
                                           w.col_params[col_label].items())
        reps = self.reps(w)
        timeout = self.args.timeout
        values, checks = [], []
        runs = [1] * reps if w.fresh_per_rep else [reps]
        for r in runs:
            cmd, env = self.command(w, params, col, r)
            res = C.run_worker(cmd, timeout, env)
            if "error" in res:
                return {"error": res["error"], "values": values}
            values += res["values"]
            checks += res["checks"]
        want = expected(w.name, params)
        ok = all(c == want for c in checks)
        n_ops = ops(w.name, params)
        scale = 1e9 / n_ops if w.unit == "ns" else 1.0
        per = [v * scale for v in values]
        out = {"median": C.median(per), "values": per, "ok": ok,
               "checks": checks, "expected": want, "reps": len(per)}
        if note:
            out["note"] = note
        return out

    def run(self) -> None:
        only = set(self.args.only.split(",")) if self.args.only else None
        if only:
            bad = only - set(WL)
            if bad:
                raise SystemExit(f"--only: unknown workload(s) {sorted(bad)}; "
                                 f"choose from {sorted(WL)}")
        systems = set(self.args.systems.split(",")) if self.args.systems else None
        self.build_go()
        self.selected = [w for w in WORKLOADS if not only or w.name in only]
        t_start = now()
        for w in self.selected:
            for label, params in self.cases(w):
                for col in w.cols:
                    if systems and col not in systems and COLS[col].system not in systems:
                        continue
                    t0 = now()
                    res = self.run_cell(w, label, params, col)
                    res["wall_s"] = round(now() - t0, 2)
                    self.results[(w.name, label, col)] = res
                    if "skip" not in res:
                        print(f"  {w.name:9s} {label:22s} {col:14s} "
                              f"{self.cell(w, res):>16s}   ({now() - t0:5.1f} s)",
                              file=sys.stderr, flush=True)
        self.elapsed = now() - t_start
        if self.args.merge:
            self.merge(self.args.merge)

    def merge(self, path: str) -> None:
        """Keep ``path``'s results for the workloads this run did not measure
        (e.g. rerun one workload after fixing it, without redoing skynet)."""
        with open(path) as f:
            old = json.load(f)
        if (old.get("quick") != self.args.quick
                or old.get("skynet_size") != self.args.skynet_size):
            raise SystemExit("--merge: the old run used other --quick/--skynet-size flags")
        ran = {w.name for w in self.selected}
        for r in old["results"]:
            r = dict(r)
            key = (r.pop("workload"), r.pop("case"), r.pop("column"))
            if key[0] not in ran:
                self.results[key] = r
        names = ran | {k[0] for k in self.results}
        self.selected = [w for w in WORKLOADS if w.name in names]
        self.merged_facts = old["facts"]
        self.elapsed += old.get("elapsed_s", 0.0)

    # -- reporting ----------------------------------------------------------

    def cell(self, w: Workload, res: dict | None) -> str:
        if res is None:
            return ""
        if "skip" in res:
            return res["skip"] if len(res["skip"]) < 8 else "skipped"
        if "error" in res:
            return "ERROR"
        s = C.fmt_value(res["median"], w.unit)
        return s if res["ok"] else s + " WRONG"

    def med(self, w: str, label: str, col: str) -> float | None:
        res = self.results.get((w, label, col))
        if not res or "median" not in res or not res.get("ok"):
            return None
        return res["median"]

    def present_cols(self, w: Workload) -> list[str]:
        return [c for c in w.cols if any((w.name, lab, c) in self.results
                                         for lab, _ in self.cases(w))]

    def table(self, w: Workload) -> tuple[list[str], list[list[str]]]:
        cols = self.present_cols(w)
        headers = ["case"] + cols
        rows = [[label] + [self.cell(w, self.results.get((w.name, label, c))) for c in cols]
                for label, _ in self.cases(w)]
        return headers, rows

    def notes(self, w: Workload) -> list[str]:
        """Skip reasons, errors and wrong results, one line each."""
        out, seen = [], set()
        for label, _ in self.cases(w):
            for c in self.present_cols(w):
                res = self.results.get((w.name, label, c)) or {}
                if "skip" in res and len(res["skip"]) >= 8:
                    key = (c, res["skip"])
                    if key not in seen:
                        seen.add(key)
                        out.append(f"{c}: {res['skip']}")
                elif "error" in res:
                    out.append(f"{c} {label}: ERROR {res['error']}")
                elif res and not res.get("ok", True):
                    out.append(f"{c} {label}: WRONG result {res['checks']} "
                               f"(expected {res['expected']})")
                if res.get("note"):
                    out.append(f"{c} {label}: {res['note']} (the figure is per op)")
        return out

    def max_spread(self) -> float:
        """The largest max/min ratio among any cell's repetitions."""
        worst = 1.0
        for r in self.results.values():
            vals = [v for v in r.get("values", []) if v > 0]
            if len(vals) > 1:
                worst = max(worst, max(vals) / min(vals))
        return worst

    def spreads(self, w: Workload, limit: float = 1.5) -> list[str]:
        """Cells whose repetitions differ by more than ``limit``x (min-max):
        on a shared machine the reader should see which medians are shaky."""
        out = []
        for label, _ in self.cases(w):
            parts = []
            for c in w.cols:
                res = self.results.get((w.name, label, c)) or {}
                vals = [v for v in res.get("values", []) if v > 0]
                if len(vals) > 1 and max(vals) / min(vals) > limit:
                    parts.append(f"{c} {C.fmt_value(min(vals), w.unit)}-"
                                 f"{C.fmt_value(max(vals), w.unit)}")
            if parts:
                out.append(f"{label}: reps spread over {limit}x (min-max): " + ", ".join(parts))
        return out

    def ratios(self, w: Workload) -> list[str]:
        """gmploop procs=1 against every peer, and procs=2 against procs=1."""
        out = []
        better, worse = (("less memory", "more memory") if w.unit == "B"
                         else ("faster", "slower"))
        for label, _ in self.cases(w):
            g1 = self.med(w.name, label, "gmploop p=1")
            if g1 is None:
                continue
            parts, procs = [], []
            for c in w.cols:
                if c == "gmploop p=1" or (w.name, label, c) not in self.results:
                    continue
                v = self.med(w.name, label, c)
                if v is None:
                    continue
                if c.startswith("gmploop p="):
                    procs.append(f"procs={c[-1]}/procs=1 = {v / g1:.2f}")
                else:
                    parts.append(C.ratio_text(g1, v, c, better, worse))
            line = []
            if parts:
                line.append("gmploop p=1 is " + ", ".join(parts))
            if procs:
                line.append(", ".join(procs))
            if line:
                out.append(f"{label}: " + "; ".join(line))
        return out

    def _case(self, wname: str, idx: int) -> str | None:
        if wname not in {w.name for w in self.selected}:
            return None
        cases = self.cases(WL[wname])
        try:
            return cases[idx][0]
        except IndexError:
            return None

    def targets(self) -> list[tuple[str, str, str]]:
        """(target, measured, verdict) rows; verdict is met / NOT MET /
        not measured. Information only: nothing is asserted."""
        rows = []
        for desc, wname, idx, kind, arg, thr in TARGETS + AIMS:
            label = self._case(wname, idx)
            if label is None:
                continue
            g1 = self.med(wname, label, "gmploop p=1")
            measured, verdict = "-", "not measured"
            if kind == "check":
                res = self.results.get((wname, label, "gmploop p=1")) or {}
                if "checks" in res:
                    measured = f"{res['checks'][0]} (expected {res['expected']})"
                    verdict = "met" if res["ok"] else "NOT MET"
            elif kind in ("vs", "floor", "info"):
                v = self.med(wname, label, arg)
                if g1 is not None and v is not None:
                    r = v / g1
                    unit = WL[wname].unit
                    words = (("less memory", "more memory") if unit == "B"
                             else ("faster", "slower"))
                    measured = (f"{C.fmt_value(g1, unit)} vs {C.fmt_value(v, unit)}: "
                                + C.ratio_text(g1, v, arg, *words))
                    if kind == "vs":
                        verdict = "met" if r >= thr else "NOT MET"
                    elif kind == "floor":
                        verdict = "met" if g1 / v <= thr else "not reached"
                    else:
                        verdict = "info"
            elif kind == "abs":
                # KB read as KiB, like /proc's VmRSS "kB"; say so where the
                # 1000-byte reading would give the other verdict.
                if g1 is not None:
                    measured = f"{C.fmt_value(g1, 'B')} ({g1:,.0f} B)"
                    verdict = "met" if g1 <= thr * 1024 else "NOT MET"
                    if (g1 <= thr * 1000) != (g1 <= thr * 1024):
                        verdict += f" (with 1 KB = 1000 B: {'met' if g1 <= thr * 1000 else 'NOT MET'})"
            elif kind == "procs":
                g2 = self.med(wname, label, "gmploop p=2")
                if g1 is not None and g2 is not None:
                    unit = WL[wname].unit
                    measured = (f"p=2 {C.fmt_value(g2, unit)} / p=1 "
                                f"{C.fmt_value(g1, unit)} = {g2 / g1:.2f}")
                    verdict = "met" if g2 / g1 <= thr else "NOT MET"
            elif kind == "steal":
                g4 = self.med(wname, label, "gmploop p=4")
                if g1 is not None and g4 is not None:
                    measured = f"p=1 {g1:.2f} s / p=4 {g4:.2f} s = {g1 / g4:.2f}x"
                    verdict = "met" if g1 / g4 >= thr else "NOT MET"
            if self.args.quick and verdict.startswith(("met", "NOT MET")):
                verdict += " (quick sizes)"
            rows.append((f"{desc} [{label}]", measured, verdict))
        return rows

    def reps_shown(self, w: Workload) -> int:
        """Repetitions behind this workload's medians (a merged run may
        differ from this run's flags)."""
        n = [r.get("reps", 0) for (wn, _, _), r in self.results.items() if wn == w.name]
        return max(n) if n and max(n) else self.reps(w)

    def unit_word(self, w: Workload) -> str:
        return {"ns": f"time per {w.per}", "s": "seconds per run",
                "B": f"RSS per {w.per}"}[w.unit]

    def report_text(self, facts: dict) -> str:
        out = ["", "gmploop core benchmarks" + (" (--quick)" if self.args.quick else ""),
               "machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()), ""]
        for w in self.selected:
            headers, rows = self.table(w)
            out.append(f"== {w.title} ({self.unit_word(w)}, median of "
                       f"{self.reps_shown(w)} reps)")
            out.append(C.text_table(headers, rows))
            out += ["   " + n for n in self.notes(w)]
            out += ["   " + r for r in self.ratios(w) + self.spreads(w)]
            out.append("")
        tr = self.targets()
        if tr:
            out.append("== targets (issue 2; reported, not asserted)")
            out.append(C.text_table(["target", "measured", "verdict"], tr))
        out.append(f"\ntotal {self.elapsed:.0f} s")
        return "\n".join(out)

    def report_markdown(self, facts: dict, svg_name: str | None) -> str:
        quick = " (--quick sizes)" if self.args.quick else ""
        out = [
            "# Benchmarks",
            "",
            "gmploop's core benchmarks against the runtimes a user would pick instead, all "
            "measured in one run of `benchmarks/bench_core.py`" + quick + ". Every cell ran "
            "in a fresh subprocess; the figure is the median of the repetitions. "
            "Lower is better everywhere.",
            "",
            f"**Recorded {facts['date']}** on a shared 2-vCPU VM whose timings vary from "
            "run to run (between two full runs here gmploop's ping-pong went from 2.8 to "
            "4.9 us at the same interpreter instruction count, measured with callgrind), "
            f"so the numbers are noisy: the repetitions of one cell differed by up to {self.max_spread():.1f}x "
            "(cells whose repetitions spread over 1.5x are listed under each table). "
            "Compare ratios within this one run rather than absolute figures across runs, "
            "and treat verdicts near their threshold as undecided. Load average "
            f"at start {' '.join(facts['loadavg_start'])}, at end "
            f"{' '.join(facts.get('loadavg_end', []))}.",
            "",
        ]
        if facts.get("rerun"):
            out += [f"Rerun after the main run, with every column of the workload measured "
                    f"again together (so its ratios still come from one run): "
                    f"{facts['rerun']}.", ""]
        out += [
            "## Machine",
            "",
            C.markdown_table(["fact", "value"],
                             [[k, " ".join(v) if isinstance(v, list) else str(v)]
                              for k, v in facts.items()], numeric=False),
            "",
            "## Rerun",
            "",
            "```sh",
            ".venv/bin/pip install -e '.[bench]'       # gevent (uvloop comes with gmploop)",
            ".venv/bin/python benchmarks/bench_core.py --quick          # < 1 minute",
            ".venv/bin/python benchmarks/bench_core.py --markdown docs/benchmarks.md "
            "--json docs/benchmarks.json                     # the full run recorded here",
            "# rerun one workload, keep the others from the recorded run:",
            ".venv/bin/python benchmarks/bench_core.py --only pingpong "
            "--merge docs/benchmarks.json --json docs/benchmarks.json "
            "--markdown docs/benchmarks.md",
            ".venv/bin/python benchmarks/bench_core.py --render docs/benchmarks.json "
            "--markdown docs/benchmarks.md   # re-render only",
            ".venv/bin/python benchmarks/bench_core.py --only skynet --skynet-size 100000",
            "```",
            "",
            f"The full run took {self.elapsed / 60:.0f} minutes here, most of it skynet 1M "
            "(three fresh processes per system; asyncio and gevent need tens of seconds "
            "each on this machine).",
            "",
            "The Go column appears when `go` is on PATH (`benchmarks/go/core.go`, run with "
            "GOMAXPROCS=1). See `benchmarks/README.md` for what each workload does on each "
            "system.",
            "",
        ]
        if svg_name:
            out += ["![time relative to gmploop procs=1](" + svg_name + ")", ""]
        tr = self.targets()
        if tr:
            out += ["## Targets (issue 2)", "",
                    "Ratios to the peer measured in this run, at procs=1. Reported, never "
                    "asserted.", "",
                    C.markdown_table(["target", "measured", "verdict"], tr, numeric=False), ""]
        out += ["## Results", ""]
        for w in self.selected:
            headers, rows = self.table(w)
            out += [f"### {w.title} (`{w.name}`)", "",
                    f"{self.unit_word(w)}, median of {self.reps_shown(w)} reps"
                    + (" (one fresh process each)" if w.fresh_per_rep else "") + ".", "",
                    C.markdown_table(headers, rows), ""]
            notes = self.notes(w) + self.ratios(w) + self.spreads(w)
            out += [f"- {n}" for n in notes]
            out.append("")
        out += [f"Total wall time of the run: {self.elapsed:.0f} s.", ""]
        return "\n".join(out)

    def svg(self) -> str | None:
        """Time relative to gmploop procs=1 on each time workload's headline case."""
        groups, lookup = [], {}
        for wname, idx in (("fanout", -1), ("pingpong", 0), ("contended", 0),
                           ("contended", -1), ("skynet", 0)):
            label = self._case(wname, idx)
            if label is None or f"{wname} {label}" in lookup:
                continue
            g1 = self.med(wname, label, "gmploop p=1")
            if g1 is None:
                continue
            name = f"{wname} {label}"
            groups.append(name)
            lookup[name] = (wname, label, g1)
        if not groups:
            return None
        series = [c for c in MAIN_COLS
                  if any((lookup[g][0], lookup[g][1], c) in self.results
                         and "skip" not in self.results[(lookup[g][0], lookup[g][1], c)]
                         for g in groups)]

        def value(g: str, s: str) -> float | None:
            wname, label, g1 = lookup[g]
            v = self.med(wname, label, s)
            return None if v is None else v / g1
        return C.svg_bar_chart(groups, series, value,
                               "gmploop core benchmarks: time relative to gmploop procs=1",
                               "time / gmploop p=1 (lower is better)")

    def json_out(self, facts: dict) -> dict:
        return {"facts": facts, "quick": self.args.quick,
                "skynet_size": self.args.skynet_size, "elapsed_s": self.elapsed,
                "results": [{"workload": w, "case": lab, "column": c, **r}
                            for (w, lab, c), r in self.results.items()],
                "targets": [{"target": t, "measured": m, "verdict": v}
                            for t, m, v in self.targets()]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, few reps: a harness check in under a minute")
    ap.add_argument("--only", help=f"comma-separated workloads: {','.join(WL)}")
    ap.add_argument("--systems", help="comma-separated columns or systems "
                    "(e.g. gmploop,gevent or 'gmploop p=1')")
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions per cell (default 5, --quick 2; skynet, memory "
                    "and steal at most 3, with --quick 1)")
    ap.add_argument("--skynet-size", type=int, default=None,
                    help="skynet leaves, a power of 10 (default 1000000, --quick 10000)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per worker process (default 300, --quick 60)")
    ap.add_argument("--json", help="write all results and facts here")
    ap.add_argument("--markdown", help="write the report here (and an SVG chart beside it)")
    ap.add_argument("--merge", help="a --json file of an earlier run (same flags): keep its "
                    "results for the workloads not run now")
    ap.add_argument("--render", help="measure nothing: re-render the report (text, "
                    "--markdown) from a --json file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.reps_given = a.reps is not None
    if a.reps is None:
        a.reps = 2 if a.quick else 5
    if a.reps < 1:
        ap.error("--reps must be >= 1")
    if a.timeout is None:
        a.timeout = 60.0 if a.quick else 300.0
    if a.skynet_size is not None:
        n = a.skynet_size
        while n > 1 and n % 10 == 0:
            n //= 10
        if a.skynet_size < 10 or n != 1:
            ap.error("--skynet-size must be a power of 10, >= 10")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(json.loads(args.worker))
        return 0
    if args.render:
        suite = Suite(args)
        with open(args.render) as f:
            old = json.load(f)
        args.quick, args.skynet_size = old["quick"], old.get("skynet_size")
        for r in old["results"]:
            r = dict(r)
            suite.results[(r.pop("workload"), r.pop("case"), r.pop("column"))] = r
        suite.selected = [w for w in WORKLOADS if any(k[0] == w.name for k in suite.results)]
        suite.elapsed = old.get("elapsed_s", 0.0)
        facts = old["facts"]
        return report(args, suite, facts)
    facts = C.machine_facts()
    suite = Suite(args)
    suite.run()
    facts["loadavg_end"] = C.loadavg()
    if args.merge:
        # the earlier run's facts stay the record; this run is noted as a rerun
        rerun = (f"{','.join(sorted(args.only.split(',')) if args.only else 'all')} "
                 f"rerun {facts['date']} (load {' '.join(facts['loadavg_start'])} -> "
                 f"{' '.join(facts['loadavg_end'])}), gmploop {facts['gmploop']}")
        facts = dict(suite.merged_facts)
        facts["rerun"] = (facts.get("rerun", "") + "; " if facts.get("rerun") else "") + rerun
    return report(args, suite, facts)


def report(args: argparse.Namespace, suite: Suite, facts: dict) -> int:
    """Print the text report; write --json and --markdown (+ .svg)."""
    print(suite.report_text(facts))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(suite.json_out(facts), f, indent=1)
    if args.markdown:
        svg = suite.svg()
        svg_name = None
        if svg:
            svg_path = os.path.splitext(args.markdown)[0] + ".svg"
            with open(svg_path, "w") as f:
                f.write(svg)
            svg_name = os.path.basename(svg_path)
        kept = ""
        if os.path.exists(args.markdown):
            with open(args.markdown) as f:
                old = f.read()
            i = old.find(KEPT_MARK)
            if i >= 0:
                kept = "\n" + old[i:]  # sections kept by hand (soak, instruction counts)
        with open(args.markdown, "w") as f:
            f.write(suite.report_markdown(facts, svg_name) + kept)
    return 0


#: In the --markdown file, what follows this line is kept when the report is
#: rewritten (results recorded by other scripts, e.g. benchmarks/soak.py).
KEPT_MARK = "<!-- kept by hand: bench_core.py --markdown keeps what follows -->"


if __name__ == "__main__":
    sys.exit(main())
