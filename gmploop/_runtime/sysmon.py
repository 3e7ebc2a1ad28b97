"""sysmon: the monitor thread (Go's ``sysmon`` in ``runtime/proc.go``) and
the schedtrace lines it prints (Go's ``GODEBUG=schedtrace``).

Concepts
--------
sysmon      one daemon thread per runtime (``_Sysmon``): started when the
            runtime starts with more than one processor or with
            ``GMPLOOP_SCHEDTRACE``, else by its first scheduler batch (a pure
            asyncio program on one processor has none), and by
            ``set_max_procs`` growing; stopped by ``Sched.shutdown``. It
            starts under the scheduler lock before it is published (proc.py,
            ``Sched.start_sysmon``), so shutdown never joins an unstarted one.
stuck P     a processor that has run the same goroutine (same ``schedtick``)
            for a while: a CPU loop, a C call that releases the GIL, an
            unannounced blocking call. Idle processors may steal only from a
            stuck one on a GIL build (proc.py "Stealing").

Approach
--------
Each round (1 ms while some P is idle and others exist, else 10 ms) sysmon
samples every P's ``schedtick`` (``retake``, Go's name):

1. A P not in a batch is not stuck.
2. A P whose tick moved since the last sample is making progress; its
   current goroutine has run since this sample (or since the batch began, if
   it is the batch's first).
3. A P whose tick has not moved for ``STUCK_S`` is marked ``stuck``; if it
   has unstarted goroutines and some P is idle, one idle P is woken to steal
   (bounded spinning: one per round). When sysmon itself woke late, a thread
   is running Python with the GIL held, and stealing from a P that runs
   Python buys no parallelism: the bar is then ``STUCK_PY_S`` (~Go's 10 ms
   preemption) instead.
4. A goroutine that held its P past ``GMPLOOP_SYSMON_MS`` while something
   else waits for that P (queued goroutines, timers) is reported once, with
   its stack, as a ``RuntimeWarning``.

It cannot preempt: a greenlet cannot be interrupted from outside, so unlike
Go's sysmon it never retakes a P, it only lets others take its unstarted
work. It reads the processors' fields without locks: a sample may be stale by
a round, which only delays a steal or a report.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback  # the standard library's (imports here are absolute)
from typing import TYPE_CHECKING, Any

from . import config
from .config import FREE_THREADED
from .runtime2 import Goroutine
from .traceback import running_g, stats

if TYPE_CHECKING:
    from .proc import P, Sched

_monotonic = time.monotonic


def schedtrace_line(sched: Sched, t0: float) -> str:
    s = stats(sched)
    ms = int((_monotonic() - t0) * 1000)
    local = " ".join(str(n) for n in s["runnable_local"])
    return (f"SCHED {ms}ms: gomaxprocs={s['procs']} idleprocs={s['idle_procs']} "
            f"threads={s['threads']} goroutines={s['goroutines']} "
            f"runqueue={s['runnable_global']} [{local}] steals={s['steals']} "
            f"created={s['created']} reused={s['reused']}")



# --------------------------------------------------------------------------
# The monitor thread
# --------------------------------------------------------------------------


class _Sysmon:
    """Go's sysmon: a monitor thread. It notices a P that has run one goroutine
    for a long time, marks it *stuck* so idle Ps may steal its unstarted
    goroutines (and wakes one to do so), reports it once (``GMPLOOP_SYSMON_MS``)
    and prints schedtrace lines (``GMPLOOP_SCHEDTRACE``). It cannot preempt:
    greenlets cannot be interrupted from outside."""

    # A P that has run one goroutine this long may be stolen from. Where the
    # GIL is on, stealing from a P that is running *Python* buys no
    # parallelism, only cross-thread hops, so the wait is longer (~Go's 10 ms
    # preemption) unless the stuck thread has let go of the GIL (a blocking
    # call, C code): sysmon sees that as waking on time. When the GIL is held
    # by a busy thread, sysmon itself wakes late (the 5 ms switch interval).
    STUCK_S = 0.002
    STUCK_PY_S = 0.02
    GIL_LAG_S = 0.002

    def __init__(self, sched: Sched) -> None:
        self.sched = sched
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gmploop-sysmon", daemon=True)
        self.thread._gmploop_runtime = True  # type: ignore[attr-defined]
        self.report_s = config.SYSMON_MS / 1000.0
        self.gil_busy = False
        self.trace_s = config.SCHEDTRACE_MS / 1000.0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        sched = self.sched
        t0 = _monotonic()
        next_trace = t0 + self.trace_s if self.trace_s else None
        while not self._stop.is_set() and not sched.dead:
            multi = len(sched.allp) > 1
            delay = 0.001 if (multi and sched.idle) else 0.01
            if self.report_s and any(p.in_batch for p in sched.allp):
                delay = min(delay, self.report_s / 5)
            if next_trace is not None:
                delay = min(delay, max(0.0, next_trace - _monotonic()))
            before = _monotonic()
            if self._stop.wait(delay):
                break
            now = _monotonic()
            self.gil_busy = not FREE_THREADED and now - before - delay > self.GIL_LAG_S
            self.retake(now)
            if next_trace is not None and now >= next_trace:
                try:
                    sys.stderr.write(schedtrace_line(sched, t0) + "\n")
                    sys.stderr.flush()
                except Exception:  # noqa: BLE001
                    pass
                next_trace = now + self.trace_s

    def retake(self, now: float) -> None:
        sched = self.sched
        woke = False
        for p in list(sched.allp):
            tick = p.schedtick
            if not p.in_batch:
                p.stuck = False
                p.sm_tick = -1
                continue
            if tick != p.sm_tick:
                p.sm_tick = tick
                # The batch's first goroutine has been running since the
                # batch began, not since this sample.
                p.sm_since = p.batch_t0 if tick - p.batch_tick <= 1 else now
                p.stuck = False
                if now - p.sm_since < self.STUCK_S:
                    continue
            held = now - p.sm_since
            if held >= (self.STUCK_PY_S if self.gil_busy else self.STUCK_S):
                p.stuck = True
                if p.newq and not woke and sched.idle:
                    woke = True  # bound spinning: one P per round
                    sched.wakep()
            if (self.report_s and held >= self.report_s and p.sm_reported != tick
                    and (p.has_work() or p.timers.nactive or sched.globalq)):
                # Reported only when something is, or may soon be, waiting
                # for this processor: queued goroutines or pending timers. A
                # lone goroutine importing modules starves nobody.
                p.sm_reported = tick
                g = running_g(p)
                if g is not None:
                    _report_long_running(p, g, held)


def _report_long_running(p: P, g: Goroutine[Any], held: float) -> None:
    import warnings
    frame = None
    try:
        frame = sys._current_frames().get(p.tid)
    except Exception:  # noqa: BLE001
        pass
    stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
    if config.SCHEDTRACE_MS:
        try:
            sys.stderr.write(f"SCHED long-running: goroutine {g.id} [{g.name}] on "
                             f"P{p.id} for {held * 1000:.0f} ms\n")
        except Exception:  # noqa: BLE001
            pass
    warnings.warn(
        f"goroutine {g.id} [{g.name}] has held processor P{p.id} for "
        f"{held * 1000:.0f} ms without yielding\n{stack}",
        RuntimeWarning, stacklevel=1)

