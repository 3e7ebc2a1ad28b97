"""Soak: the model test's mix of channel operations, for millions of steps.

Drives the world of ``tests/test_model.py`` (goroutines, plain threads and
asyncio tasks on shared channels, unbuffered and buffered; send / recv /
recv_ok with timeout 0, tiny, small or none; try_*; select with duplicate and
``None`` channels, ``default`` and timeouts; close racing with all of it and
fresh channels replacing closed ones; tasks cancelled in the middle of asend /
arecv / arecv_ok / aselect; goroutines cancelled with ``Goroutine.cancel()``
from a thread or a task in the middle of send / recv / recv_ok / select, the
request left pending when the op wins the race) with random operations
instead of hypothesis's,
and runs every check of the model (see that module's docstring) on every
world: no orphan live waiter, chan.go's invariants, each value received
exactly once from its own channel, per-sender order, nothing lost at close,
every actor able to rendezvous afterwards.

Not run in CI (tests/test_model.py is the CI form). Prints operations per
second and the violations found; exit status 1 if any.

    .venv/bin/python benchmarks/soak.py --procs 1 --ops 1000000
    .venv/bin/python benchmarks/soak.py --procs 4 --ops 1000000 --seed 7
    GMPLOOP_DEBUG=1 .venv/bin/python benchmarks/soak.py --procs 4 --ops 200000

Options: ``--procs N`` (processors, default 1), ``--ops N`` (operations to run,
default 10**6; rendezvous and drains at the end of each world not counted),
``--world-ops N`` (operations per world before it is torn down and checked,
default 2000), ``--seed N`` (the op mix; the scheduler's own order comes from
``GMPLOOP_SEED``), ``--show N`` (print the reports of the first N failing
worlds, default 3), ``--max-seconds S`` (stop early, still reporting).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _load_model():
    sys.path.insert(0, os.path.join(REPO, "tests"))  # its ``from support import T``
    path = os.path.join(REPO, "tests", "test_model.py")
    spec = importlib.util.spec_from_file_location("_gmploop_model", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


M = _load_model()
# sysmon's long-running-goroutine report (a loaded machine, a GC pause) is
# noise here, as in bench_core's workers.
warnings.filterwarnings("ignore", "goroutine .* has held processor", RuntimeWarning)
Op = M.Op

# The op mix (weights). Timeouts: mostly bounded; None ones end at a partner
# or at close (the harness closes a channel when every actor is backed up).
TIMEOUT_W = ((M.SMALL, 3), (M.TINY, 3), (0, 2), (None, 2))
KIND_W = (("send", 4), ("recv", 3), ("recv_ok", 1), ("try_send", 1), ("try_recv", 1),
          ("select", 4), ("close", 0.15), ("cancel", 1.5), ("gcancel", 1.5))
BACKLOG = 3


def _pick(rng, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights)[0]


def _cases(rng, nslots):
    return [(rng.choice("rs"), rng.choice(list(range(nslots)) + [None]))
            for _ in range(rng.randint(1, 4))]


def random_op(rng, actor: str, nslots: int) -> "Op":
    """One operation for ``actor``, naming slots (resolved at submit)."""
    while True:
        kind = _pick(rng, KIND_W)
        if kind == "cancel" and actor not in M.TASKS:
            continue
        if kind == "gcancel" and actor not in M.GOROUTINES:
            continue
        break
    slot = rng.randrange(nslots)
    if kind in ("send", "recv", "recv_ok"):
        return Op(kind, slot, _pick(rng, TIMEOUT_W))
    if kind in ("try_send", "try_recv", "close"):
        return Op(kind, slot)
    if kind == "select":
        cases = _cases(rng, nslots)
        default = rng.random() < 0.2
        timeout = _pick(rng, TIMEOUT_W)
        if timeout is None and not default and all(s is None for _, s in cases):
            timeout = M.TINY
        return Op("select", cases=cases, default=default, timeout=timeout)
    inner_kind = rng.choice(("send", "recv", "recv_ok", "select"))
    if kind == "gcancel":
        # A select on only None channels without a timeout is kept: only
        # the cancellation ends it.
        t = rng.choice((None, M.SMALL, M.TINY))
        if inner_kind == "select":
            inner = Op("select", cases=_cases(rng, nslots), timeout=t)
        else:
            inner = Op(inner_kind, slot, t)
        return Op("gcancel", inner=inner, delay=rng.choice((0, 1, M.TINY)),
                  by=rng.choice(("thread", "task")))
    t = rng.choice((None, M.SMALL))
    if inner_kind == "select":
        cases = _cases(rng, nslots)
        if all(s is None for _, s in cases):
            t = M.SMALL
        inner = Op("select", cases=cases, timeout=t)
    else:
        inner = Op(inner_kind, slot, t)
    return Op("cancel", inner=inner, delay=rng.choice((0, 1, 3, M.TINY)))


def run_world(procs: int, nops: int, rng: random.Random) -> "M.World":
    w = M.World(procs, [rng.choice((0, 0, 1, 2)) for _ in range(M.NCHAN)])
    w.start()
    try:
        submitted = 0
        pause = 5e-5
        stalled_since = None
        while submitted < nops:
            free = [a for a in M.ACTORS
                    if w.actors[a].nsub - w.actors[a].ndone < BACKLOG]
            if not free:
                now = time.monotonic()
                if stalled_since is None:
                    stalled_since = now
                elif now - stalled_since > 0.05:
                    # Everyone is backed up (unbounded ops without partners):
                    # close a channel, as a program's shutdown would, and
                    # put a fresh one in its slot.
                    slot = rng.randrange(M.NCHAN)
                    try:
                        w.chans[w.slots[slot]].close()
                    except M.Closed:
                        pass
                    w.reopen(slot, rng.choice((0, 1, 2)))  # False past MAX_CHANS
                    stalled_since = None
                w.check_live()
                time.sleep(pause)
                pause = min(pause * 2, 1e-3)
                continue
            pause = 5e-5
            stalled_since = None
            actor = rng.choice(free)
            op = random_op(rng, actor, M.NCHAN)
            w.submit(actor, op.resolve(w.slots))
            submitted += 1
            if op.kind == "close" and rng.random() < 0.7:
                w.reopen(rng.randrange(M.NCHAN), rng.choice((0, 1, 2)))
            if submitted % 32 == 0:
                w.check_live()
        w.finish(check=not w.violations)
    finally:
        w.shutdown()
    return w


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--ops", type=int, default=10 ** 6)
    ap.add_argument("--world-ops", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=None)
    ns = ap.parse_args(argv)
    seed = ns.seed if ns.seed is not None else random.randrange(2 ** 32)
    rng = random.Random(seed)
    from gmploop._runtime import config
    print(f"soak: procs={ns.procs} ops={ns.ops} world-ops={ns.world_ops} seed={seed} "
          f"GMPLOOP_DEBUG={int(config.DEBUG)} GMPLOOP_SEED={config.SEED}", flush=True)
    t0 = time.perf_counter()
    ops = worlds = bad_worlds = nviol = sent = 0
    gc: dict = {}
    last = t0
    while ops < ns.ops:
        if ns.max_seconds is not None and time.perf_counter() - t0 > ns.max_seconds:
            print("stopping: --max-seconds reached", flush=True)
            break
        w = run_world(ns.procs, min(ns.world_ops, ns.ops - ops), rng)
        worlds += 1
        rv = sum(1 for a in w.actors.values() for op in a.history if op.kind == "rv")
        ops += w.nops - rv
        sent += len(w.sent)
        for k, n in w.gc_stats.items():
            gc[k] = gc.get(k, 0) + n
        if w.violations:
            bad_worlds += 1
            nviol += len(w.violations)
            if bad_worlds <= ns.show:
                print(f"--- violations in world {worlds}:\n{w.report()}", flush=True)
        now = time.perf_counter()
        if now - last > 10:
            last = now
            print(f"  {ops} ops, {ops / (now - t0):,.0f} ops/s, {worlds} worlds, "
                  f"{nviol} violations", flush=True)
    dt = time.perf_counter() - t0
    print(f"soak done: procs={ns.procs} ops={ops} in {dt:.1f} s = {ops / dt:,.0f} ops/s; "
          f"{worlds} worlds, {sent} values exchanged; violations: {nviol} "
          f"(in {bad_worlds} worlds)", flush=True)
    print("goroutine cancellation outcomes: "
          + ", ".join(f"{k}: {n}" for k, n in sorted(gc.items())), flush=True)
    return 1 if nviol else 0


if __name__ == "__main__":
    sys.exit(main())
