"""gmploop's sync and context benchmarks against what a user would use
instead (issue 4, "Benchmarks"). Each cell runs in a fresh subprocess, once
per repetition, round-robin over all cells (load drift on a shared machine
then hits every system alike); the table shows the median of ``--reps``
repetitions and the ratio of gmploop to each peer measured in the same run.

Workloads:

1. ``uncontended``  one caller, N lock/unlock pairs. Rows: gmploop Mutex
                    from a goroutine (``lock()``/``unlock()`` and ``with``),
                    ``threading.Lock`` (``acquire()``/``release()`` and
                    ``with``) from the same goroutine, and gmploop Mutex vs
                    ``asyncio.Lock`` (``async with``) in one coroutine. All
                    six run in one process, interleaved rep by rep, so load
                    drift on a shared box hits them alike. ns per pair.
                    Target (issue 12; issue 4's was 2x): gmploop
                    ``lock()/unlock()`` and ``with`` from a goroutine within
                    1.2x of ``threading.Lock``'s, on the compiled build.
2. ``contended``    W workers x M critical sections on one lock, each
                    ``lock; x = n; yield; n = x + 1; unlock`` (the yield makes
                    the others queue): gmploop goroutines (``gosched``),
                    threads + ``threading.Lock`` (``time.sleep(0)``), asyncio
                    tasks + ``asyncio.Lock`` (``asyncio.sleep(0)``), and
                    asyncio tasks + gmploop Mutex (``alock``) on gmploop's
                    loop. ns per critical section; the count is checked.
3. ``waitgroup``    fan-out/fan-in: N goroutines started with ``wg.go`` and
                    awaited with ``wg.wait()``, vs N asyncio tasks and
                    ``asyncio.gather``. ns per goroutine (spawn included).
4. ``ctx_cancel``   a 10k-goroutine tree (100 subtrees of 100), each goroutine
                    parked on ``ctx.done()`` of its own derived context; the
                    clock measures ``cancel()`` at the root until every
                    goroutine has returned. Peers: asyncio tasks on
                    ``asyncio.Event`` per subtree (set by a cascade) and
                    ``task.cancel()`` of every task. ns per goroutine.

    python benchmarks/bench_sync.py [--quick] [--reps N] [--only NAME[,NAME]]

Default sizes finish in well under a minute on a 2-core VM.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

now = C.now

SIZES = {  # workload -> params (full, quick)
    "uncontended": ({"n": 50_000}, {"n": 20_000}),
    "contended": ({"w": 8, "m": 1000}, {"w": 4, "m": 300}),
    "waitgroup": ({"n": 100_000}, {"n": 20_000}),
    "ctx_cancel": ({"subtrees": 100, "leaves": 100}, {"subtrees": 20, "leaves": 50}),
}


# ==========================================================================
# Workloads: each returns (seconds, ops, check_ok)
# ==========================================================================

# -- uncontended ---------------------------------------------------------------
# All six variants run in ONE process, interleaved round by round, so that a
# load change on a shared machine hits them alike and the ratios hold.


def unc_all(n: int):
    import asyncio
    import threading

    import gmploop
    out: dict = {}

    def add(label, secs, ok):
        out.setdefault(label, []).append((secs, n, ok))

    def sync_round():
        mu = gmploop.Mutex()
        lk = threading.Lock()
        lock, unlock = mu.lock, mu.unlock
        acquire, release = lk.acquire, lk.release
        t0 = now()
        for _ in range(n):
            acquire()
            release()
        add(UNC[2], now() - t0, not lk.locked())
        t0 = now()
        for _ in range(n):
            lock()
            unlock()
        add(UNC[0], now() - t0, not mu.locked())
        t0 = now()
        for _ in range(n):
            with lk:
                pass
        add(UNC[3], now() - t0, not lk.locked())
        t0 = now()
        for _ in range(n):
            with mu:
                pass
        add(UNC[1], now() - t0, not mu.locked())

    async def async_round():
        mu = gmploop.Mutex()
        lk = asyncio.Lock()
        t0 = now()
        for _ in range(n):
            async with lk:
                pass
        add(UNC[5], now() - t0, not lk.locked())
        t0 = now()
        for _ in range(n):
            async with mu:
                pass
        add(UNC[4], now() - t0, not mu.locked())

    async def async_rounds():
        for _ in range(ROUNDS):
            await async_round()

    def sync_rounds():
        for _ in range(ROUNDS):
            sync_round()

    gmploop.run(sync_rounds, procs=1)  # from a goroutine
    gmploop.run(async_rounds(), procs=1)  # both locks on the same (gmploop) loop
    return out


ROUNDS = 5  # alternations of the six variants inside one worker


UNC = [
    "gmploop Mutex lock()/unlock() (goroutine)",
    "gmploop Mutex `with` (goroutine)",
    "threading.Lock acquire()/release()",
    "threading.Lock `with`",
    "gmploop Mutex `async with` (coroutine)",
    "asyncio.Lock `async with` (same loop)",
]


# -- contended -------------------------------------------------------------------


def con_gmp(w: int, m: int):
    import gmploop

    def main():
        mu = gmploop.Mutex()
        wg = gmploop.WaitGroup()
        box = [0]
        gosched = gmploop.gosched

        def worker():
            for _ in range(m):
                mu.lock()
                x = box[0]
                gosched()
                box[0] = x + 1
                mu.unlock()

        t0 = now()
        for _ in range(w):
            wg.go(worker)
        wg.wait()
        return now() - t0, w * m, box[0] == w * m
    return gmploop.run(main, procs=1)


def con_threads(w: int, m: int):
    import threading
    import time
    lk = threading.Lock()
    box = [0]

    def worker():
        for _ in range(m):
            lk.acquire()
            x = box[0]
            time.sleep(0)
            box[0] = x + 1
            lk.release()

    ts = [threading.Thread(target=worker) for _ in range(w)]
    t0 = now()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return now() - t0, w * m, box[0] == w * m


def _con_async(w: int, m: int, make_lock, runner):
    import asyncio

    async def main():
        lk = make_lock()
        box = [0]

        async def worker():
            for _ in range(m):
                async with lk:
                    x = box[0]
                    await asyncio.sleep(0)
                    box[0] = x + 1

        t0 = now()
        await asyncio.gather(*(worker() for _ in range(w)))
        return now() - t0, w * m, box[0] == w * m
    return runner(main())


def con_asyncio(w: int, m: int):
    import asyncio
    return _con_async(w, m, asyncio.Lock, asyncio.run)


def con_gmp_async(w: int, m: int):
    import gmploop
    return _con_async(w, m, gmploop.Mutex, lambda c: gmploop.run(c, procs=1))


# -- waitgroup fan-out/fan-in --------------------------------------------------------


def wg_gmp(n: int):
    import gmploop

    def main():
        wg = gmploop.WaitGroup()
        box = [0]

        def leaf():
            box[0] += 1

        t0 = now()
        for _ in range(n):
            wg.go(leaf)
        wg.wait()
        return now() - t0, n, box[0] == n
    return gmploop.run(main, procs=1)


def wg_gmp_add(n: int):
    import gmploop

    def main():
        wg = gmploop.WaitGroup()
        go = gmploop.go
        done = wg.done
        box = [0]

        def leaf():
            box[0] += 1
            done()

        t0 = now()
        wg.add(n)
        for _ in range(n):
            go(leaf)
        wg.wait()
        return now() - t0, n, box[0] == n
    return gmploop.run(main, procs=1)


def wg_asyncio(n: int):
    import asyncio
    box = [0]

    async def leaf():
        box[0] += 1

    async def main():
        t0 = now()
        await asyncio.gather(*(leaf() for _ in range(n)))
        return now() - t0, n, box[0] == n
    return asyncio.run(main())


# -- context cancellation of a goroutine tree -----------------------------------------


def ctx_gmp(subtrees: int, leaves: int):
    import gmploop

    def main():
        root, cancel = gmploop.with_cancel(gmploop.background())
        wg = gmploop.WaitGroup()
        ready = gmploop.WaitGroup()
        box = [0]

        def leaf(ctx):
            ready.done()
            ctx.done().recv_ok()
            box[0] += 1

        def subtree():
            sub, _ = gmploop.with_cancel(root)
            for _ in range(leaves):
                c, _ = gmploop.with_cancel(sub)
                ready.add(1)
                wg.go(leaf, c)
            ready.done()
            sub.done().recv_ok()
            box[0] += 1

        ready.add(subtrees)
        for _ in range(subtrees):
            wg.go(subtree)
        ready.wait()
        t0 = now()
        cancel()
        wg.wait()
        n = subtrees * (leaves + 1)
        return now() - t0, n, box[0] == n
    return gmploop.run(main, procs=1)


def ctx_asyncio_events(subtrees: int, leaves: int):
    import asyncio

    async def main():
        root = asyncio.Event()
        box = [0]
        tasks = []

        async def leaf(ev):
            await ev.wait()
            box[0] += 1

        async def subtree(ev):
            await root.wait()
            ev.set()  # cascade, as a cancel tree does
            box[0] += 1

        for _ in range(subtrees):
            ev = asyncio.Event()
            tasks.append(asyncio.create_task(subtree(ev)))
            for _ in range(leaves):
                tasks.append(asyncio.create_task(leaf(ev)))
        await asyncio.sleep(0)
        t0 = now()
        root.set()
        await asyncio.gather(*tasks)
        n = subtrees * (leaves + 1)
        return now() - t0, n, box[0] == n
    return asyncio.run(main())


def ctx_asyncio_cancel(subtrees: int, leaves: int):
    import asyncio

    async def park(fut):
        await fut

    async def main():
        fut = asyncio.get_running_loop().create_future()
        tasks = [asyncio.create_task(park(fut)) for _ in range(subtrees * (leaves + 1))]
        await asyncio.sleep(0)
        t0 = now()
        for t in tasks:
            t.cancel()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        n = len(tasks)
        ok = all(isinstance(r, asyncio.CancelledError) for r in res)
        return now() - t0, n, ok
    return asyncio.run(main())


# ==========================================================================
# Table of cells
# ==========================================================================

WORKLOADS = {
    "uncontended": [(label, unc_all if i == 0 else None) for i, label in enumerate(UNC)],
    "contended": [
        ("gmploop Mutex, goroutines", con_gmp),
        ("gmploop Mutex, asyncio tasks (alock)", con_gmp_async),
        ("asyncio.Lock, asyncio tasks", con_asyncio),
        ("threading.Lock, threads", con_threads),
    ],
    "waitgroup": [
        ("gmploop WaitGroup.go + wait", wg_gmp),
        ("gmploop add(n) + go + done", wg_gmp_add),
        ("asyncio tasks + gather", wg_asyncio),
    ],
    "ctx_cancel": [
        ("gmploop context tree, goroutines", ctx_gmp),
        ("asyncio.Event cascade, tasks", ctx_asyncio_events),
        ("asyncio task.cancel() each", ctx_asyncio_cancel),
    ],
}

# (workload, row A, row B, target ratio A/B or None): printed as ratios.
COMPARISONS = [
    ("uncontended", 0, 2, 1.2),
    ("uncontended", 1, 3, 1.2),
    ("uncontended", 4, 5, None),
    ("contended", 0, 2, None),
    ("contended", 0, 3, None),
    ("contended", 1, 2, None),
    ("waitgroup", 0, 2, None),
    ("ctx_cancel", 0, 1, None),
    ("ctx_cancel", 0, 2, None),
]


def worker_main(workload: str, index: int, reps: int, quick: bool) -> None:
    warnings.simplefilter("ignore")
    params = SIZES[workload][1 if quick else 0]
    fn = WORKLOADS[workload][index][1]
    rows: dict = {}
    for _ in range(reps):
        gc.collect()
        r = fn(**params)
        if not isinstance(r, dict):
            r = {WORKLOADS[workload][index][0]: [r]}
        for label, samples in r.items():
            for secs, ops, good in samples:
                row = rows.setdefault(label, {"ns": [], "ok": True})
                row["ns"].append(secs / ops * 1e9)
                row["ok"] = row["ok"] and good
    C.emit({"rows": rows})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated workloads")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--json", default="", help="write every value here")
    ap.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "INDEX"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker_main(a.worker[0], int(a.worker[1]), a.reps, a.quick)
        return 0
    names = [n for n in WORKLOADS if not a.only or n in a.only.split(",")]
    results: dict = {}
    t_start = now()
    facts = C.machine_facts()
    print(f"# bench_sync  {facts['date']}  {facts['cpu']} x{facts['cpus']}  "
          f"{facts['python']}  gmploop {facts['gmploop']}  load {facts['loadavg_start']}")
    # Round-robin: every rep visits every cell once (a fresh process each),
    # so load drift on a shared machine spreads over all systems alike.
    got: dict = {w: {} for w in names}
    for _ in range(a.reps):
        for w in names:
            for i, (label, fn) in enumerate(WORKLOADS[w]):
                if fn is None:
                    continue  # measured by another row's worker (interleaved)
                cmd = [sys.executable, os.path.abspath(__file__), "--worker", w, str(i),
                       "--reps", "1"] + (["--quick"] if a.quick else [])
                r = C.run_worker(cmd, a.timeout)
                if "error" in r:
                    got[w][label] = r
                    continue
                for lab, row in r["rows"].items():
                    cell = got[w].setdefault(lab, {"ns": [], "ok": True})
                    if "error" not in cell:
                        cell["ns"] += row["ns"]
                        cell["ok"] = cell["ok"] and row["ok"]
    for w in names:
        p = SIZES[w][1 if a.quick else 0]
        rows = []
        for i, (label, _) in enumerate(WORKLOADS[w]):
            r = got[w].get(label, {"error": "no result"})
            results[(w, i)] = r
            if "error" in r:
                rows.append([label, "error", r["error"][:60]])
                continue
            med = C.median(r["ns"])
            r["median"] = med
            rows.append([label, C.fmt_value(med, "ns"), "ok" if r["ok"] else "WRONG RESULT"])
        print(f"\n## {w}  {p}")
        print(C.text_table(["system", "per op (median)", "check"], rows))
    print("\n## ratios (same run)")
    rows = []
    for w, ia, ib, target in COMPARISONS:
        if w not in names:
            continue
        ra, rb = results.get((w, ia), {}), results.get((w, ib), {})
        if "median" not in ra or "median" not in rb:
            continue
        ratio = ra["median"] / rb["median"]
        verdict = ""
        if target is not None:
            verdict = f"target <= {target:.1f}x: {'met' if ratio <= target else 'NOT MET'}"
        rows.append([w, WORKLOADS[w][ia][0], WORKLOADS[w][ib][0], f"{ratio:.2f}x", verdict])
    print(C.text_table(["workload", "gmploop", "vs", "time ratio", ""], rows))
    print(f"\n(total {now() - t_start:.1f} s; time ratio > 1 means gmploop is slower)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"facts": facts, "results": {f"{w}/{i}": r for (w, i), r in results.items()}},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
