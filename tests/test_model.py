"""Channels and select composed the way programs use them (issue 9, "Tests that
compose"), and regression tests for what the model found.

The model
=========

A *world* is one ``gmploop.run(main, procs=P)`` on a background thread, three
channel slots (each channel unbuffered or buffered, chosen per example) and a
fixed cast of six *actors*: two goroutines (G0, G1), two plain threads (T0,
T1) and two asyncio tasks on the runtime's event loop (A0, A1). Each actor runs
the operations queued for it one at a time, in order; the actors run
concurrently, so operations of different actors race. Hypothesis's
``RuleBasedStateMachine`` picks the operations, one rule per kind: send / recv
/ recv_ok with timeout 0, tiny, small or none; try_send / try_recv; select
(``aselect`` for tasks) with 1-4 cases, duplicate and ``None`` channels, with
and without ``default`` and a timeout; close, racing with all of it; reopen (a
fresh channel in a slot); for tasks, asend / arecv / arecv_ok / aselect in a
sub-task cancelled after 0, 1 or 3 loop iterations or a tiny sleep; for
goroutines, gcancel: send / recv / recv_ok / select (timeout none, small or
tiny) while ``Goroutine.cancel()`` is called on the actor from the harness's
canceller thread or from a task, after 0 or 1 turns or a tiny sleep; settle
(wait until the world is quiescent, so a shrunk example tends to replay the
same way); and rendezvous (below), mid-run.

Goroutine cancellation: the op raised ``Canceled`` (then it performed
nothing: its value stays unsent, it took nothing, no select case ran; check 3
sees a violation), or it completed (a partner, timeout or close won the race)
and reports normally; the request then stays pending and surfaces at the
actor's next wait. A goroutine actor catches ``Canceled`` around every
operation: a blocking one (send / recv / recv_ok / select) that raises it
performed nothing; a non-blocking one (try_*, close) raising it, or more
``Canceled`` than cancellations asked for, is a violation. Before it parks
in its inbox or meets the harness (rendezvous), the actor waits until every
cancel it asked for was issued and absorbs a pending one at ``gosched``
(``World.quiesce_cancel``), so no cancellation reaches those waits.

Values are tags ``(channel id, actor, seq)``: unique, and naming the channel
they were sent on, so loss, duplication and misdelivery are all visible.

Checks
------
After every rule, and all the while the harness waits:

1. No orphan waiter: on each channel queue, the live waiters are at most those
   the operations in flight could own there. The actors' op counters are read
   before and after the scan; only a stable snapshot counts. A waiter that a
   finished operation left live fails this at once.
2. chan.go's invariants, with Go's exception: a select may wait to send and to
   receive on the same unbuffered channel (so this is not
   ``Chan._check_invariants()``, which has no such exception, while ops run).

Each result is checked as it completes (a value received from ch1 must have
been sent on ch1; a ``Closed`` result needs a closed channel; ...). A goroutine
actor woken while parked in its inbox by anyone but the harness is a violation
(a stale waiter's waker readied it).

Rendezvous: the harness meets an actor on a fresh channel, the actor parking
first each time: recv and send without a timeout (the inlined goroutine fast
paths), then recv with one, select, send with one. The actor's waiter must be
live when it parks (one queued dead would never be woken).

At teardown: wait for every operation with a timeout to end; close every
channel; wait for every actor to go idle (a goroutine still parked on a channel
after every close returned was not woken by close: its waiter was dead); no
live waiter anywhere and ``Chan._check_invariants()``; drain the buffers; a
rendezvous with every actor; then the value checks:

3. every value a send reported as sent (send returned, try_send gave True, its
   Send case was chosen) was received exactly once, from the channel it was
   sent on; no value whose send failed (timeout, ``Closed``, cancelled) was
   received; nothing else was received;
4. order, where the contract promises it (one sender's successive completed
   sends on one channel): if x was sent before y, no receive of x starts after
   a receive of y has ended;
5. no receive said "closed and drained" while a value it should have got was
   still buffered (sent before it started, taken by a receive that started
   after it ended).

Every wait of the harness is bounded (no operation ending for T_BOUND seconds
is a failure, never a pacing delay); an operation under test with
``timeout=None`` is bounded by the close at teardown, as the contract promises
("close wakes every waiting receiver ... and every waiting sender").
Violations are recorded and raised at teardown, so that every example draws
the same steps on replay. Shrinking is capped (SHRINK_SECONDS) to stay inside
the pytest timeout.

``GMPLOOP_DEBUG=1`` (channel methods assert chan.go's invariants after every
call) is read once, at import: ``test_model_with_gmploop_debug`` runs this
same machine in a subprocess with the variable set (``GMPLOOP_DEBUG=1 python
tests/test_model.py --procs N --examples K`` does the same by hand; a run of
the whole suite with the variable set runs every variant in-process).
benchmarks/soak.py drives the same world with random operations for millions
of steps.

On f6dba75 (before issue 9's fix) the machine finds finding 1 at procs 1 and 4
within seconds, shrunk to: G0 runs ``select(Recv(ch0), timeout=0.01)`` (it
times out), then cannot complete a rendezvous: its ``recv()`` is queued dead,
since the reused sudog kept the select's claimed state. Other shrunk forms:
``select(Recv(ch0), timeout=0.01); ch1.send(timeout=0.01)`` leaves a live
receive waiter on ch0 while G0 waits on ch1 (the sudog revived on its old
channel); and, unshrunk, a thread's select received ``None`` (no send offered
it) and a goroutine's select returned ``(0, None, False)`` on an open channel.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict, deque
from time import monotonic
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 rule, run_state_machine_as_test)

import gmploop
from gmploop import Chan, Closed, Recv, Send, aselect, lowlevel, select
from gmploop._runtime import config as _config
from support import PROCS, T

TINY = 0.001
SMALL = 0.01
TIMEOUTS = (SMALL, None, TINY, 0)
#: Bound on the harness's waits: no operation ending for this long is a
#: failure (never a pacing delay). Smaller than support.T, which bounds one
#: wait, because shrinking re-runs a failing example many times.
T_BOUND = 3.0
#: Bound once a failure is already reported (only cleaning up).
T_CLEANUP = 0.5
NCHAN = 3
GOROUTINES = ("G0", "G1")
THREADS = ("T0", "T1")
TASKS = ("A0", "A1")
ACTORS = GOROUTINES + THREADS + TASKS
STOP = "STOP"

#: Hypothesis examples per machine run, by (procs, GMPLOOP_DEBUG): about 7-10 s
#: each on a quiet machine (a procs=4 runtime takes ~25 ms to stop);
#: GMPLOOP_MODEL_SCALE multiplies them (a longer hunt: scale 10).
EXAMPLES = {(1, False): 100, (4, False): 60, (1, True): 50, (4, True): 30}
SCALE = float(os.environ.get("GMPLOOP_MODEL_SCALE", "1"))
MAX_EXAMPLES = 100
STEPS = int(os.environ.get("GMPLOOP_MODEL_STEPS", "50"))


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------


class Op:
    """One operation for one actor.

    kind: send recv recv_ok try_send try_recv select close cancel gcancel rv
    ``cid``: the channel's id in the world (``ch<cid>``); the rules name a
    *slot* instead, which ``resolve`` maps to the channel in it now.
    ``cases`` (select): tuple of ("r"|"s", cid or None).
    ``inner``/``delay`` (cancel): the async op and when to cancel it
    (an int: loop iterations; a float: seconds).
    ``inner``/``delay``/``by`` (gcancel, goroutine actors): the blocking op,
    and when and from where ("thread": the harness's canceller thread;
    "task": a task on the runtime's loop) ``Goroutine.cancel()`` is called.
    """

    __slots__ = ("kind", "cid", "timeout", "cases", "default", "inner", "delay", "rv",
                 "by")

    def __init__(self, kind, cid=None, timeout=None, cases=(), default=False,
                 inner=None, delay=0, rv=None, by=None):
        self.kind = kind
        self.cid = cid
        self.timeout = timeout
        self.cases = tuple(cases)
        self.default = default
        self.inner = inner
        self.delay = delay
        self.rv = rv
        self.by = by

    def resolve(self, slots) -> "Op":
        """A copy naming channel ids instead of slots."""
        return Op(self.kind, None if self.cid is None else slots[self.cid], self.timeout,
                  tuple((d, None if s is None else slots[s]) for d, s in self.cases),
                  self.default, self.inner and self.inner.resolve(slots), self.delay,
                  self.rv, self.by)

    def waits(self) -> list:
        """(cid, "r"|"s") of every waiter this op may put on a queue."""
        k = self.kind
        if k in ("cancel", "gcancel"):
            return self.inner.waits()
        if k in ("send", "recv", "recv_ok"):
            if self.timeout == 0:
                return []
            return [(self.cid, "s" if k == "send" else "r")]
        if k == "select":
            if self.default or self.timeout == 0:
                return []
            return [(s, d) for d, s in self.cases if s is not None]
        return []

    def both_sided(self) -> set:
        """Slots this op may wait on to send and to receive at once (Go's
        exception to "one of sendq and recvq is empty")."""
        op = self.inner if self.kind in ("cancel", "gcancel") else self
        if op.kind != "select":
            return set()
        r = {s for s, d in op.waits() if d == "r"}
        return {s for s, d in op.waits() if d == "s" and s in r}

    @property
    def unbounded(self) -> bool:
        """Blocks until a partner or close comes (no timeout, no default)."""
        if self.kind in ("send", "recv", "recv_ok"):
            return self.timeout is None
        if self.kind == "select":
            return self.timeout is None and not self.default
        return False

    def __repr__(self) -> str:
        k = self.kind
        if k in ("send", "recv", "recv_ok"):
            return f"ch{self.cid}.{k}(timeout={self.timeout})"
        if k in ("try_send", "try_recv", "close"):
            return f"ch{self.cid}.{k}()"
        if k == "select":
            cs = ", ".join(f"{'Recv' if d == 'r' else 'Send'}("
                           f"{'None' if s is None else f'ch{s}'})" for d, s in self.cases)
            return f"select({cs}, default={self.default}, timeout={self.timeout})"
        if k == "cancel":
            return f"cancel(a{self.inner!r}, after={self.delay})"
        if k == "gcancel":
            return f"gcancel({self.inner!r}, by={self.by}, after={self.delay})"
        return k


# ---------------------------------------------------------------------------
# Actors
# ---------------------------------------------------------------------------


class Parker:
    """A goroutine's inbox fed from any thread, without channels (lowlevel
    park/ready), so the harness does not lean on what it tests."""

    def __init__(self, on_spurious=None) -> None:
        self.lock = threading.Lock()
        self.items: deque = deque()
        self.g = None
        self.parked = False
        self.on_spurious = on_spurious

    def put(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)
            wake, self.parked = self.parked, False
        if wake:
            try:
                lowlevel.ready(self.g)
            except RuntimeError as e:  # someone else readied it (get says who)
                self._spurious(f"ready() failed: {e}")

    def get(self) -> Any:
        self.g = gmploop.current()
        while True:
            with self.lock:
                if self.items:
                    return self.items.popleft()
                self.parked = True
            try:
                lowlevel.park("model inbox")
            except gmploop.Canceled:
                # The actor absorbs every cancellation before it parks here
                # (World.quiesce_cancel), and none is asked for until its
                # next gcancel op: a Canceled here was never requested.
                with self.lock:
                    self.parked = False
                self._spurious("its inbox park raised Canceled, with no "
                               "cancellation outstanding")
                continue
            with self.lock:
                if self.parked:  # nobody called put(): a stray wake-up
                    self.parked = False
                    self._spurious("woken while parked in its inbox, by no put()")

    def _spurious(self, what: str) -> None:
        if self.on_spurious is not None:
            self.on_spurious(what)

    def __len__(self) -> int:
        return len(self.items)


class Actor:
    """One goroutine, thread or task. Bookkeeping read by the harness:
    ``cur`` is set before ``nstarted`` counts an op and cleared after
    ``ndone`` does, so a stable (nstarted, ndone) pair pins ``cur``."""

    def __init__(self, world: "World", name: str) -> None:
        self.world = world
        self.name = name
        self.kind = {"G": "goroutine", "T": "thread", "A": "task"}[name[0]]
        self.cur: Op | None = None
        self.nsub = 0
        self.nstarted = 0
        self.ndone = 0
        self.seq = 0
        self.stuck = False
        self.history: list = []
        self.inbox: Any = None
        self.thread: threading.Thread | None = None
        self.g = None
        self.ready = threading.Event()
        # Goroutine cancellation (gcancel ops): cancels asked for (before the
        # canceller starts), issued (Goroutine.cancel() returned), taken (a
        # Canceled caught). One is outstanding at a time, so once all are
        # issued and none is pending, taken == asked.
        self.cancel_req = 0
        self.cancel_issued = 0
        self.cancel_taken = 0

    def tag(self, cid) -> tuple:
        self.seq += 1
        t = (cid, self.name, self.seq)
        self.world.offered.add(t)
        return t

    def idle(self) -> bool:
        return self.ndone == self.nsub

    # -- the three drivers -------------------------------------------------

    def run_goroutine(self) -> None:
        self.g = gmploop.current()
        self.ready.set()
        while True:
            if not len(self.inbox):  # about to park in the inbox
                self.world.quiesce_cancel(self)
            op = self.inbox.get()
            if op == STOP:
                self.world.quiesce_cancel(self)  # cancel() on a live goroutine
                return
            self.world.exec_sync(self, op)

    def run_thread(self) -> None:
        self.ready.set()
        while not self.world.dead:
            try:
                op = self.inbox.get(timeout=1.0)
            except queue.Empty:
                continue
            if op == STOP:
                return
            self.world.exec_sync(self, op)

    async def run_task(self) -> None:
        self.ready.set()
        while True:
            op = await self.inbox.get()
            if op == STOP:
                return
            await self.world.exec_async(self, op)


# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------


class World:
    """Channels, actors, the log of what happened and the checks."""

    #: At most this many channels per world (``reopen`` adds one).
    MAX_CHANS = 12

    def __init__(self, procs: int, caps) -> None:
        self.procs = procs
        self.caps = list(caps)  # by channel id
        self.chans = [Chan(c) for c in self.caps]  # by channel id
        self.slots = list(range(len(self.chans)))  # slot -> channel id
        self.actors = {n: Actor(self, n) for n in ACTORS}
        self.violations: list[str] = []
        self.offered: set = set()
        self.sent: dict = {}  # tag -> (actor, t0, t1)
        self.received: list = []  # (tag, cid, actor, t0, t1)
        self.closed_obs: list = []  # (cid, actor, t0, t1): a receive saw closed+drained
        self.nops = 0
        self.dead = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.host_stop: asyncio.Future | None = None
        self.main_inbox = Parker()
        self.main_ready = threading.Event()
        self.host_ready = threading.Event()
        self.runtime_thread: threading.Thread | None = None
        self.run_exc: BaseException | None = None
        self.drainer = Actor(self, "T9")
        self.drainer.name = "drain"
        # Goroutine cancellation: the harness's canceller thread (requests
        # (actor, delay) from gcancel ops), the tasks that cancel from the
        # loop, and how each gcancel / pending cancellation ended.
        self.cancel_lock = threading.Lock()
        self.cancel_q: queue.Queue = queue.Queue()
        self.canceller: threading.Thread | None = None
        self.cancel_tasks: set = set()
        self.gc_stats: Counter = Counter()

    # -- violations ----------------------------------------------------------

    def violation(self, msg: str) -> None:
        if msg not in self.violations:  # the checks repeat while they wait
            self.violations.append(msg)

    def report(self) -> str:
        lines = [f"procs={self.procs} caps by channel id={self.caps} "
                 f"slots -> channel ids={self.slots}"]
        lines += [f"  {v}" for v in self.violations[:12]]
        if len(self.violations) > 12:
            lines.append(f"  ... and {len(self.violations) - 12} more")
        for a in self.actors.values():
            if a.history:
                lines.append(f"  {a.name}: " + "; ".join(map(repr, a.history[-12:])))
            if a.cancel_req:
                lines.append(f"  {a.name} cancellations: asked {a.cancel_req}, issued "
                             f"{a.cancel_issued}, Canceled taken {a.cancel_taken}")
        if self.gc_stats:
            lines.append(f"  goroutine cancellation outcomes: {dict(self.gc_stats)}")
        return "\n".join(lines)

    # -- start / stop ----------------------------------------------------------

    def start(self) -> None:
        self.runtime_thread = threading.Thread(target=self._run, name="model-runtime",
                                               daemon=True)
        self.runtime_thread.start()
        for n in THREADS:
            a = self.actors[n]
            a.inbox = queue.Queue()
            a.thread = threading.Thread(target=a.run_thread, name=f"model-{n}", daemon=True)
            a.thread.start()
        self.canceller = threading.Thread(target=self._run_canceller,
                                          name="model-canceller", daemon=True)
        self.canceller.start()
        waits = [self.main_ready, self.host_ready] + [a.ready for a in self.actors.values()]
        deadline = monotonic() + T_BOUND
        for ev in waits:
            if not ev.wait(max(0.0, deadline - monotonic())):
                self.dead = True
                raise RuntimeError(f"the model world did not start in {T_BOUND} s "
                                   f"(run raised {self.run_exc!r})")

    def _run(self) -> None:
        try:
            gmploop.run(self._main, procs=self.procs)
        except BaseException as e:  # noqa: BLE001 - reported as a violation
            self.run_exc = e
            self.violation("gmploop.run raised: " + "".join(
                traceback.format_exception(type(e), e, e.__traceback__)))
            self.main_ready.set()
            self.host_ready.set()

    def _main(self) -> None:
        for n in GOROUTINES:
            self.actors[n].inbox = Parker(
                lambda what, n=n: self.violation(
                    f"{n} {what} (a waker readied a goroutine that was not waiting "
                    f"for it: a stale waiter?)"))
        gs = [gmploop.go(self.actors[n].run_goroutine) for n in GOROUTINES]
        # await_ rather than go(coroutine function): the latter (API.md,
        # "Coroutine functions") returns the coroutine unawaited at f6dba75.
        host = gmploop.go(lambda: gmploop.await_(self._task_host()))
        self.main_ready.set()
        stuck = self.main_inbox.get()
        bound = T_CLEANUP if self.violations else T_BOUND
        for n, g in zip(GOROUTINES, gs):
            if n not in stuck:
                try:
                    g.join(timeout=bound)
                except TimeoutError:
                    self.violation(f"{n} did not stop")
        try:
            host.join(timeout=bound)
        except TimeoutError:
            self.violation("the task host did not stop")

    async def _task_host(self) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.host_stop = loop.create_future()
        tasks = []
        for n in TASKS:
            a = self.actors[n]
            a.inbox = asyncio.Queue()
            tasks.append(loop.create_task(a.run_task(), name=f"model-{n}"))
        self.host_ready.set()
        await self.host_stop
        _, pending = await asyncio.wait(tasks, timeout=T_CLEANUP)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=T_CLEANUP)

    def reopen(self, slot: int, cap: int) -> bool:
        """Put a new channel in ``slot`` (the old one lives on for the ops
        that still use it). False if the world has enough channels."""
        if len(self.chans) >= self.MAX_CHANS:
            return False
        self.caps.append(cap)
        self.chans.append(Chan(cap))
        self.slots[slot] = len(self.chans) - 1
        return True

    def submit(self, name: str, op: Any) -> None:
        """Queue ``op`` (naming channel ids: see Op.resolve) on an actor."""
        a = self.actors[name]
        if op != STOP:
            a.nsub += 1
            a.history.append(op)
        if a.kind == "task":
            self.loop.call_soon_threadsafe(a.inbox.put_nowait, op)
        else:
            a.inbox.put(op)

    def shutdown(self) -> None:
        """Stop actors and the runtime (bounded). Safe after failures."""
        bound = T_CLEANUP if self.violations else T_BOUND
        try:
            for a in self.actors.values():
                if not a.stuck:
                    try:
                        self.submit(a.name, STOP)
                    except RuntimeError:  # the loop is gone
                        pass
            for n in THREADS:
                t = self.actors[n].thread
                if t is not None and not self.actors[n].stuck:
                    t.join(bound)
            if self.loop is not None and self.host_stop is not None:
                try:
                    self.loop.call_soon_threadsafe(
                        lambda: self.host_stop.done() or self.host_stop.set_result(None))
                except RuntimeError:
                    pass
            self.main_inbox.put({a.name for a in self.actors.values() if a.stuck})
            if self.runtime_thread is not None:
                self.runtime_thread.join(T_BOUND)
                if self.runtime_thread.is_alive():
                    self.violation("the runtime did not stop after main returned")
        finally:
            self.dead = True
            self.cancel_q.put(STOP)
            if self.canceller is not None:
                self.canceller.join(bound)

    # -- executing operations ------------------------------------------------

    def _begin(self, a: Actor, op: Op) -> None:
        a.cur = op
        a.nstarted += 1

    def _end(self, a: Actor) -> None:
        a.ndone += 1
        a.cur = None
        self.nops += 1

    def exec_sync(self, a: Actor, op: Op) -> None:
        self._begin(a, op)
        try:
            if op.kind == "rv":
                self._rv_sync(a, op.rv)
            elif op.kind == "gcancel":
                self._gcancel_sync(a, op)
            else:
                call, finish = self._plan(a, op, False)
                t0 = monotonic()
                try:
                    r = call()
                except gmploop.Canceled:
                    # A cancellation left pending by an earlier gcancel (or
                    # issued late) surfaced here: the op performed nothing,
                    # so finish is not called (its value stays unsent).
                    self._took_cancel(a, op, "later op")
                except Exception as e:  # noqa: BLE001 - judged by finish
                    finish(None, e, t0, monotonic())
                else:
                    finish(r, None, t0, monotonic())
        except Exception as e:  # noqa: BLE001 - a harness error is a failure too
            self.violation(f"{a.name} {op!r}: harness error {e!r}\n{traceback.format_exc()}")
        except gmploop.Canceled as e:  # keep the actor alive to report it
            self.violation(f"{a.name} {op!r}: Canceled escaped the harness: {e!r}\n"
                           f"{traceback.format_exc()}")
        finally:
            self._end(a)

    # -- goroutine cancellation (gcancel) ---------------------------------------

    _CANCEL_POINTS = ("send", "recv", "recv_ok", "select")

    def _gcancel_sync(self, a: Actor, op: Op) -> None:
        """Run ``op.inner`` on a goroutine actor while another context calls
        ``Goroutine.cancel()`` on it after ``op.delay``. Either the op raised
        Canceled (it performed nothing: finish is not called), or it
        completed (a partner, a timeout or close won the race) and reports
        normally; then the request stays pending and surfaces at a later
        wait, which the actor catches (exec_sync, quiesce_cancel)."""
        call, finish = self._plan(a, op.inner, False)
        # One request outstanding at a time (none merges into another), so
        # every request must be delivered exactly once (quiesce_cancel).
        self.quiesce_cancel(a)
        self._request_cancel(a, op)
        t0 = monotonic()
        try:
            r = call()
        except gmploop.Canceled:
            self._took_cancel(a, op.inner, "gcancel op")
            return
        except Exception as e:  # noqa: BLE001 - judged by finish
            self.gc_stats["gcancel op completed"] += 1
            finish(None, e, t0, monotonic())
            return
        self.gc_stats["gcancel op completed"] += 1
        finish(r, None, t0, monotonic())

    def _request_cancel(self, a: Actor, op: Op) -> None:
        """On the actor's goroutine, before it starts ``op.inner``: have the
        canceller thread, or a new task on the loop, cancel it after
        ``op.delay`` (0: at once; an int: that many loop turns / thread
        yields; a float: seconds)."""
        a.cancel_req += 1
        if op.by == "thread":
            self.cancel_q.put((a, op.delay))
            return

        def start():
            t = self.loop.create_task(self._cancel_task(a, op.delay))
            self.cancel_tasks.add(t)
            t.add_done_callback(self.cancel_tasks.discard)
        try:
            self.loop.call_soon_threadsafe(start)
        except RuntimeError as e:  # the loop is gone
            self.violation(f"{a.name} {op!r}: could not start the cancelling task: {e!r}")
            with self.cancel_lock:
                a.cancel_issued += 1

    def _run_canceller(self) -> None:
        """The harness's canceller thread."""
        while True:
            try:
                item = self.cancel_q.get(timeout=1.0)
            except queue.Empty:
                if self.dead:
                    return
                continue
            if item == STOP:
                return
            a, d = item
            if isinstance(d, int):
                for _ in range(d):
                    time.sleep(0)
            elif d:
                time.sleep(d)
            self._do_cancel(a, "the canceller thread")

    async def _cancel_task(self, a: Actor, d) -> None:
        if isinstance(d, int):
            for _ in range(d):
                await asyncio.sleep(0)
        elif d:
            await asyncio.sleep(d)
        self._do_cancel(a, "a task")

    def _do_cancel(self, a: Actor, who: str) -> None:
        try:
            ok = a.g.cancel()
        except Exception as e:  # noqa: BLE001
            self.violation(f"{a.name}: Goroutine.cancel() from {who} raised {e!r}")
            ok = True
        if ok is not True and not self.dead:
            self.violation(f"{a.name}: Goroutine.cancel() from {who} returned {ok!r}, "
                           f"but the goroutine is alive")
        with self.cancel_lock:
            a.cancel_issued += 1

    def _took_cancel(self, a: Actor, op: Op | None, where: str) -> None:
        """The actor caught Canceled (at ``op``, or None: while absorbing)."""
        a.cancel_taken += 1
        self.gc_stats[f"Canceled at {where}"] += 1
        what = f"{a.name} {op!r}" if op is not None else f"{a.name} (absorbing)"
        if a.cancel_taken > a.cancel_req:
            self.violation(f"{what}: raised Canceled, but {a.cancel_req} cancellation(s) "
                           f"were asked for and this is Canceled number {a.cancel_taken} "
                           f"(one request delivered twice, or one nobody made)")
        if op is not None and op.kind not in self._CANCEL_POINTS:
            self.violation(f"{what}: raised Canceled, but it is not a blocking operation")

    def quiesce_cancel(self, a: Actor) -> None:
        """On a goroutine actor, before it parks in its inbox or meets the
        harness (rendezvous): wait until every cancel it asked for was
        issued, and absorb a pending one at ``gosched`` / ``sleep`` (inside
        try/except Canceled), so that no cancellation can reach its inbox
        park or a rendezvous (none is asked for until its next gcancel)."""
        g = a.g

        def clear():
            return a.cancel_issued == a.cancel_req and not g.cancelreq

        if clear():
            self._check_delivered(a)
            return
        deadline = monotonic() + T_BOUND
        n = 0
        while not clear():
            if monotonic() > deadline:
                self.violation(f"{a.name}: a cancellation was not issued or not taken in "
                               f"{T_BOUND} s (asked {a.cancel_req}, issued "
                               f"{a.cancel_issued}, taken {a.cancel_taken}, "
                               f"cancelreq={g.cancelreq})")
                return
            try:
                if n < 20:
                    gmploop.gosched()
                else:
                    gmploop.sleep(1e-4)
            except gmploop.Canceled:
                self._took_cancel(a, None, "absorb")
            n += 1
        self._check_delivered(a)

    def _check_delivered(self, a: Actor) -> None:
        """Every request issued (cancel() set ``cancelreq`` before it
        returned) and none pending: each one was delivered exactly once (a
        gcancel asks only once the previous one is absorbed)."""
        if a.cancel_taken != a.cancel_req:
            self.violation(f"{a.name}: {a.cancel_req} cancellation(s) asked for and issued, "
                           f"none pending, but Canceled was raised {a.cancel_taken} times "
                           f"(a request lost or delivered twice)")
            a.cancel_taken = a.cancel_req  # report it once

    async def exec_async(self, a: Actor, op: Op) -> None:
        self._begin(a, op)
        try:
            if op.kind == "rv":
                await self._rv_async(a, op.rv)
            elif op.kind == "cancel":
                await self._cancel_async(a, op)
            else:
                call, finish = self._plan(a, op, True)
                t0 = monotonic()
                try:
                    r = call()
                    if asyncio.iscoroutine(r):
                        r = await r
                except Exception as e:  # noqa: BLE001
                    finish(None, e, t0, monotonic())
                else:
                    finish(r, None, t0, monotonic())
        except Exception as e:  # noqa: BLE001
            self.violation(f"{a.name} {op!r}: harness error {e!r}\n{traceback.format_exc()}")
        finally:
            self._end(a)

    async def _cancel_async(self, a: Actor, op: Op) -> None:
        """Run ``op.inner`` in a sub-task and cancel it mid-flight. A
        cancelled operation performed nothing (finish is not called: its
        value stays unsent); one that completed reports normally."""
        call, finish = self._plan(a, op.inner, True)

        async def body():
            t0 = monotonic()
            try:
                r = await call()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                finish(None, e, t0, monotonic())
                return
            finish(r, None, t0, monotonic())

        loop = asyncio.get_running_loop()
        task = loop.create_task(body())
        d = op.delay
        if isinstance(d, int):
            for _ in range(d):
                await asyncio.sleep(0)
        else:
            await asyncio.sleep(d)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=T_BOUND)
        if not done:
            self.violation(f"{a.name} {op!r}: the cancelled task did not end in {T_BOUND} s")
            return
        if not task.cancelled() and task.exception() is not None:
            e = task.exception()
            self.violation(f"{a.name} {op!r}: raised {e!r}")

    def _plan(self, a: Actor, op: Op, aio: bool):
        """(call, finish): ``call()`` performs ``op`` (returns an awaitable
        when ``aio``); ``finish(result, exc, t0, t1)`` records and checks."""
        k = op.kind
        ch = self.chans[op.cid] if op.cid is not None else None
        bad = self._unexpected

        if k == "send":
            v = a.tag(op.cid)
            if aio:
                call = lambda: ch.asend(v, timeout=op.timeout)  # noqa: E731
            else:
                call = lambda: ch.send(v, timeout=op.timeout)  # noqa: E731

            def finish(r, e, t0, t1):
                if e is None:
                    if r is not None:
                        bad(a, op, f"returned {r!r}")
                    self._sent(v, a, t0, t1)
                else:
                    self._expect_error(a, op, e, op.timeout is not None, [op.cid])
            return call, finish

        if k in ("recv", "recv_ok"):
            if k == "recv":
                m = ch.arecv if aio else ch.recv
            else:
                m = ch.arecv_ok if aio else ch.recv_ok
            call = lambda: m(timeout=op.timeout)  # noqa: E731

            def finish(r, e, t0, t1):
                if e is not None:
                    if isinstance(e, Closed) and k == "recv":
                        self.closed_obs.append((op.cid, a.name, t0, t1))
                    self._expect_error(a, op, e, op.timeout is not None,
                                       [op.cid] if k == "recv" else [])
                    return
                if k == "recv":
                    self._received(op.cid, r, a, op, t0, t1)
                    return
                if type(r) is not tuple or len(r) != 2:
                    bad(a, op, f"returned {r!r}, not (value, ok)")
                elif r[1] is True:
                    self._received(op.cid, r[0], a, op, t0, t1)
                elif r != (None, False) or not ch.closed:
                    bad(a, op, f"returned {r!r} (closed={ch.closed})")
                else:
                    self.closed_obs.append((op.cid, a.name, t0, t1))
            return call, finish

        if k == "try_send":
            v = a.tag(op.cid)
            call = lambda: ch.try_send(v)  # noqa: E731

            def finish(r, e, t0, t1):
                if e is not None:
                    self._expect_error(a, op, e, False, [op.cid])
                elif r is True:
                    self._sent(v, a, t0, t1)
                elif r is not False:
                    bad(a, op, f"returned {r!r}")
            return call, finish

        if k == "try_recv":
            call = ch.try_recv

            def finish(r, e, t0, t1):
                if e is not None:
                    if isinstance(e, Closed):
                        self.closed_obs.append((op.cid, a.name, t0, t1))
                    self._expect_error(a, op, e, False, [op.cid])
                elif type(r) is not tuple or len(r) != 2:
                    bad(a, op, f"returned {r!r}")
                elif r[1] is True:
                    self._received(op.cid, r[0], a, op, t0, t1)
                elif r != (None, False):
                    bad(a, op, f"returned {r!r}")
            return call, finish

        if k == "close":
            call = ch.close

            def finish(r, e, t0, t1):
                if e is not None:
                    self._expect_error(a, op, e, False, [op.cid])
                elif not ch.closed:
                    bad(a, op, "returned, but the channel is not closed")
            return call, finish

        if k == "select":
            cases = []
            tags = {}
            for i, (d, s) in enumerate(op.cases):
                c = self.chans[s] if s is not None else None
                if d == "r":
                    cases.append(Recv(c))
                else:
                    tags[i] = a.tag(s)
                    cases.append(Send(c, tags[i]))
            fn = aselect if aio else select
            call = lambda: fn(*cases, default=op.default, timeout=op.timeout)  # noqa: E731

            def finish(r, e, t0, t1):
                if e is not None:
                    send_cids = [s for d, s in op.cases if d == "s" and s is not None]
                    self._expect_error(a, op, e, op.timeout is not None and not op.default,
                                       send_cids)
                    return
                if type(r) is not tuple or len(r) != 3:
                    bad(a, op, f"returned {r!r}")
                    return
                idx, v, ok = r
                if idx == -1:
                    if not op.default or (v, ok) != (None, False):
                        bad(a, op, f"returned {r!r}")
                    return
                if not (type(idx) is int and 0 <= idx < len(op.cases)):
                    bad(a, op, f"returned index {idx!r}")
                    return
                d, s = op.cases[idx]
                if s is None:
                    bad(a, op, f"chose case {idx}, whose channel is None")
                elif d == "s":
                    if (v, ok) != (None, True):
                        bad(a, op, f"returned {r!r} for a Send case")
                    self._sent(tags[idx], a, t0, t1)
                elif ok is True:
                    self._received(s, v, a, op, t0, t1)
                elif v is not None or ok is not False or not self.chans[s].closed:
                    bad(a, op, f"returned {r!r} (ch{s}.closed={self.chans[s].closed})")
                else:
                    self.closed_obs.append((s, a.name, t0, t1))
            return call, finish

        raise ValueError(f"unknown op {op!r}")

    def _unexpected(self, a: Actor, op: Op, what: str) -> None:
        self.violation(f"{a.name} {op!r}: {what}")

    def _expect_error(self, a: Actor, op: Op, e: BaseException, timeout_ok: bool,
                      closed_cids) -> None:
        if isinstance(e, TimeoutError) and timeout_ok:
            return
        if isinstance(e, Closed) and any(self.chans[s].closed for s in closed_cids):
            return
        self.violation(f"{a.name} {op!r}: raised {e!r}\n" + "".join(
            traceback.format_exception(type(e), e, e.__traceback__)))

    def _sent(self, tag: tuple, a: Actor, t0: float, t1: float) -> None:
        if tag in self.sent:
            self.violation(f"{a.name}: {tag} reported sent twice")
        self.sent[tag] = (a.name, t0, t1)

    def _received(self, cid: int, v: Any, a: Actor, op, t0: float, t1: float) -> None:
        if not (type(v) is tuple and v in self.offered):
            self.violation(f"{a.name} {op!r}: received {v!r} from ch{cid}, a value no "
                           f"send offered")
            return
        if v[0] != cid:
            self.violation(f"{a.name} {op!r}: received {v} from ch{cid}, but it was "
                           f"sent on ch{v[0]}")
        self.received.append((v, cid, a.name, t0, t1))

    # -- rendezvous (teardown): can every actor still meet a partner? --------

    def _rv_sync(self, a: Actor, rv: Chan) -> None:
        if a.kind == "goroutine":
            self.quiesce_cancel(a)  # no cancellation pending or to come
        try:
            v = rv.recv()  # no timeout: the goroutine fast path
            rv.send(v + 1)
            v = rv.recv(timeout=T_BOUND)
            _, v, _ = select(Recv(None), Recv(rv), timeout=T_BOUND)
            rv.send(v + 1, timeout=T_BOUND)
        except (Exception, gmploop.Canceled) as e:  # noqa: BLE001
            self.violation(f"{a.name}: rendezvous failed on the actor's side: {e!r}")

    async def _rv_async(self, a: Actor, rv: Chan) -> None:
        try:
            v = await rv.arecv()
            await rv.asend(v + 1)
            v = await rv.arecv(timeout=T_BOUND)
            _, v, _ = await aselect(Recv(None), Recv(rv), timeout=T_BOUND)
            await rv.asend(v + 1, timeout=T_BOUND)
        except Exception as e:  # noqa: BLE001
            self.violation(f"{a.name}: rendezvous failed on the actor's side: {e!r}")

    def _await_waiter(self, a: Actor, rv: Chan, side: str, bound: float) -> None:
        """Wait until the actor parks on ``rv`` (nobody else uses it): its
        waiter must be live; one that is queued but not live is dead on
        arrival and would never be woken."""
        q = rv.recvq if side == "r" else rv.sendq
        deadline = monotonic() + bound
        done = a.ndone  # ops queued before the rendezvous run first
        pause = 5e-5
        while True:
            r_n, r_live, s_n, s_live, _, _ = rv._queue_counts()
            n, live = (r_n, r_live) if side == "r" else (s_n, s_live)
            if live:
                return
            if n:
                raise AssertionError("its waiter was queued dead (never to be woken)")
            if a.idle():
                raise AssertionError("it ended its rendezvous early")
            if a.ndone != done:
                done = a.ndone
                deadline = monotonic() + bound
            elif monotonic() > deadline:
                raise TimeoutError(f"it did not park in {bound} s")
            time.sleep(pause)
            pause = min(pause * 2, 2e-3)

    def rendezvous(self, a: Actor, bound: float) -> bool:
        """The harness meets the actor on a fresh channel, the actor parking
        first each time (see _rv_sync for the actor's side)."""
        rv = Chan()
        self.submit(a.name, Op("rv", rv=rv))
        step = ""
        try:
            for step, side, v in (("recv()", "r", 1), ("send(v)", "s", 2),
                                  ("recv(timeout)", "r", 3),
                                  ("select(Recv(None), Recv(rv), timeout)", "r", 10),
                                  ("send(v, timeout)", "s", 11)):
                self._await_waiter(a, rv, side, bound)
                if side == "r":
                    rv.send(v, timeout=bound)
                else:
                    got = rv.recv(timeout=bound)
                    assert got == v, f"got {got!r}, expected {v!r}"
        except (TimeoutError, Closed, AssertionError) as e:
            self.violation(f"{a.name} could not complete a rendezvous: at "
                           f"its {step}: {e}")
            a.stuck = True
            try:
                rv.close()
            except Closed:
                pass
            return False
        return self.wait_for(lambda: a.idle(), bound, f"{a.name} to end its rendezvous")

    def probe(self, name: str) -> None:
        """A rendezvous in the middle of the run: skipped (not drawn
        differently) when the actor has an unbounded op still to finish."""
        a = self.actors[name]
        pending = a.history[a.ndone:]
        if a.stuck or self.violations or any(op.unbounded for op in pending):
            return
        self.rendezvous(a, T_BOUND)

    # -- the live-waiter check ------------------------------------------------

    def _snapshot(self):
        return tuple((a.nstarted, a.ndone, a.cur) for a in self.actors.values())

    def check_live(self):
        """Checks 1 and 2 on a stable snapshot. Returns (stable, equal):
        ``equal`` is True when every queue holds exactly the waiters the
        in-flight ops could own (all of them parked)."""
        before = self._snapshot()
        rows = []
        for ch in self.chans:
            _, r_live, _, s_live, n, closed = ch._queue_counts()
            rows.append((r_live, s_live, n, closed))
        after = self._snapshot()
        if before != after:
            return False, False
        expect: Counter = Counter()
        both: set = set()
        inflight = []
        for (ns, nd, cur), a in zip(before, self.actors.values()):
            if ns == nd + 1 and cur is not None:
                inflight.append(f"{a.name}: {cur!r}")
                for w in cur.waits():
                    expect[w] += 1
                both |= cur.both_sided()
        equal = True
        for cid, (nr, ns_, n, closed) in enumerate(rows):
            where = f"ch{cid} (cap {self.caps[cid]})"
            for d, live in (("r", nr), ("s", ns_)):
                if live > expect[(cid, d)]:
                    self.violation(
                        f"{where}: {live} live {'receive' if d == 'r' else 'send'} "
                        f"waiter(s), but the operations in flight can own at most "
                        f"{expect[(cid, d)]} (a finished operation left its waiter "
                        f"live); in flight: {inflight or 'nothing'}")
                if live != expect[(cid, d)]:
                    equal = False
            if nr and ns_ and cid not in both:
                self.violation(f"{where}: live waiters on both recvq ({nr}) and sendq "
                               f"({ns_}); in flight: {inflight}")
            cap = self.caps[cid]
            if cap and n and nr:
                self.violation(f"{where}: {n} buffered values and {nr} waiting receivers")
            if cap and n < cap and ns_:
                self.violation(f"{where}: buffer not full ({n}) with {ns_} waiting senders")
            if closed and (nr or ns_):
                self.violation(f"{where}: closed, with live waiters ({nr} recv, {ns_} send)")
        return True, equal

    def _progress(self) -> int:
        return sum(a.ndone for a in self.actors.values())

    def wait_for(self, cond, bound: float, what: str) -> bool:
        """Poll ``cond`` (checking live waiters meanwhile) until true; a
        violation if no actor finishes an operation for ``bound`` seconds
        (a long queue of timed operations on a loaded machine is progress,
        not a hang)."""
        deadline = monotonic() + bound
        done = self._progress()
        pause = 5e-5
        while True:
            if cond():
                return True
            if self._progress() != done:
                done = self._progress()
                deadline = monotonic() + bound
            elif monotonic() > deadline:
                self.violation(f"gave up waiting for {what}: no operation ended "
                               f"for {bound} s")
                return False
            self.check_live()
            time.sleep(pause)
            pause = min(pause * 2, 2e-3)

    _CHAN_WAITS = ("chan receive", "chan send", "select")

    def _parked_dead(self, a: Actor) -> bool:
        """After close() has returned on every channel: a goroutine actor
        still parked on a channel wait of an unbounded op was not woken by
        close, so its waiter was not live. (Close wakes before it returns;
        the op counters pin the op across the status read.)"""
        if a.kind != "goroutine" or a.g is None:
            return False
        ns, nd, cur = a.nstarted, a.ndone, a.cur
        parked = (a.g.status is lowlevel.GStatus.WAITING
                  and a.g.waitreason in self._CHAN_WAITS)
        return (parked and cur is not None and cur.unbounded and ns == nd + 1
                and (a.nstarted, a.ndone) == (ns, nd))

    def settled(self) -> bool:
        """Quiescent: every actor idle or parked in an unbounded op."""
        for a in self.actors.values():
            if a.idle():
                continue
            cur = a.cur
            if cur is None or not cur.unbounded or a.nstarted != a.ndone + 1:
                return False
        stable, equal = self.check_live()
        return stable and equal

    def settle(self) -> None:
        self.wait_for(self.settled, T_BOUND, "the world to settle "
                      "(an op neither returns nor parks: its waiter is dead on arrival?)")

    # -- teardown ---------------------------------------------------------------

    def finish(self, check: bool = True) -> None:
        """Close, drain, rendezvous, then the value checks (3-5). With
        ``check`` False (a failure is already reported) only close and let
        the actors go idle, with short bounds."""
        bound = T_CLEANUP if self.violations else T_BOUND

        def bounded_done():
            return all(a.idle() or (a.cur is not None and a.cur.unbounded)
                       for a in self.actors.values())

        self.wait_for(bounded_done, bound, "every operation with a timeout to end")
        for ch in self.chans:
            try:
                ch.close()
            except Closed:
                pass
        for a in self.actors.values():
            if not self.wait_for(lambda: a.idle() or self._parked_dead(a),
                                 bound if not self.violations else T_CLEANUP,
                                 f"{a.name} to go idle after close "
                                 f"(it is running {a.cur!r})"):
                a.stuck = True
            elif not a.idle():
                a.stuck = True
                self.violation(f"{a.name} is parked for good in {a.cur!r}: every channel "
                               f"is closed and close woke every live waiter, so its "
                               f"waiter was dead (it will never wake)")
        if not check:
            return
        self.check_live()
        for cid, ch in enumerate(self.chans):
            if ch.recvq.has_live() or ch.sendq.has_live():
                self.violation(f"ch{cid}: live waiters left after the run "
                               f"(recv {ch.recvq.live_count()}, "
                               f"send {ch.sendq.live_count()})")
            try:
                ch._check_invariants()
            except AssertionError as e:
                self.violation(f"ch{cid}._check_invariants(): {e}")
        # drain what is still buffered (a receive by the harness)
        d = self.drainer
        for cid, ch in enumerate(self.chans):
            for _ in range(ch.cap + 2):
                t0 = monotonic()
                try:
                    v, ok = ch.try_recv()
                except Closed:
                    self.closed_obs.append((cid, d.name, t0, monotonic()))
                    break
                if not ok:
                    self.violation(f"ch{cid}: closed, try_recv said (None, False) "
                                   f"instead of Closed")
                    break
                self._received(cid, v, d, "drain", t0, monotonic())
            else:
                self.violation(f"ch{cid}: more values buffered than its capacity")
        for a in self.actors.values():
            if not a.stuck and not self.violations:
                self.rendezvous(a, T_BOUND)
        self.check_values()

    def check_values(self) -> None:
        got: dict = defaultdict(list)
        for v, cid, who, t0, t1 in self.received:
            got[v].append((cid, who, t0, t1))
        for v, recvs in got.items():
            if len(recvs) > 1:
                self.violation(f"{v} received {len(recvs)} times: {[r[:2] for r in recvs]}")
            if v not in self.sent:
                self.violation(f"{v} received by {recvs[0][1]} although its send did "
                               f"not report success (timed out, closed or cancelled)")
        for v, (who, _, _) in self.sent.items():
            if v not in got:
                self.violation(f"{v} reported sent by {who} but never received (lost)")
        # 4. order per (sender, channel)
        groups: dict = defaultdict(list)
        for v in self.sent:
            if v in got:
                groups[(v[1], v[0])].append(v)
        for (sender, cid), vs in groups.items():
            vs.sort(key=lambda t: t[2])
            max_start, max_v = -1.0, None
            for v in vs:
                _, _, t0, t1 = got[v][0]
                if max_start > t1:
                    self.violation(f"order: {sender} sent {max_v} before {v} on ch{cid}, "
                                   f"but {v} was received before the receive of "
                                   f"{max_v} began")
                if t0 > max_start:
                    max_start, max_v = t0, v
        # 5. "closed and drained" while a value was still buffered
        for cid, who, c0, c1 in self.closed_obs:
            for v, (sender, s0, s1) in self.sent.items():
                if v[0] != cid or v not in got or s1 >= c0:
                    continue
                _, rwho, r0, _ = got[v][0]
                if r0 > c1:
                    self.violation(f"{who} saw ch{cid} closed and drained, but {v} "
                                   f"(sent before) was received later by {rwho}")

    def stats(self) -> dict:
        return {"ops": self.nops, "sent": len(self.sent), "received": len(self.received),
                **self.gc_stats}


# ---------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------

# Biased so that operations meet: a nil channel in one case of four, default
# in one select of four; timeouts long enough (SMALL) come first.
actors_st = st.sampled_from(ACTORS)
slots_st = st.integers(0, NCHAN - 1)
timeouts_st = st.sampled_from(TIMEOUTS)
cases_st = st.lists(st.tuples(st.sampled_from("rs"), st.sampled_from((0, 1, 2, None))),
                    min_size=1, max_size=4)
default_st = st.integers(0, 3).map(lambda i: i == 3)
gc_timeouts_st = st.sampled_from((None, SMALL, TINY))


class ChannelMachine(RuleBasedStateMachine):
    """Rules queue operations on actors; the actors run them concurrently.
    Rules name channel *slots* (0-2); ``reopen`` puts a fresh channel in a
    slot (the old one is abandoned, as programs do, and closed at teardown),
    so closes do not end the interesting part."""

    procs = 1

    def __init__(self) -> None:
        super().__init__()
        self.world: World | None = None

    @initialize(caps=st.lists(st.sampled_from((0, 1, 2)), min_size=NCHAN, max_size=NCHAN))
    def start(self, caps):
        self.world = World(self.procs, caps)
        self.world.start()

    def _op(self, actor, op):
        self.world.submit(actor, op.resolve(self.world.slots))

    @rule(actor=actors_st, slot=slots_st, timeout=timeouts_st)
    def send(self, actor, slot, timeout):
        self._op(actor, Op("send", slot, timeout))

    @rule(actor=actors_st, slot=slots_st, timeout=timeouts_st, with_ok=st.booleans())
    def recv(self, actor, slot, timeout, with_ok):
        self._op(actor, Op("recv_ok" if with_ok else "recv", slot, timeout))

    @rule(actor=actors_st, slot=slots_st)
    def try_send(self, actor, slot):
        self._op(actor, Op("try_send", slot))

    @rule(actor=actors_st, slot=slots_st)
    def try_recv(self, actor, slot):
        self._op(actor, Op("try_recv", slot))

    @rule(actor=actors_st, cases=cases_st, default=default_st, timeout=timeouts_st)
    def select(self, actor, cases, default, timeout):
        if timeout is None and not default and all(s is None for _, s in cases):
            timeout = TINY  # select on only nil channels blocks forever (Go)
        self._op(actor, Op("select", cases=cases, default=default, timeout=timeout))

    @rule(actor=actors_st, slot=slots_st)
    def close(self, actor, slot):
        self._op(actor, Op("close", slot))

    @rule(slot=slots_st, cap=st.sampled_from((0, 1, 2)))
    def reopen(self, slot, cap):
        # No precondition on "closed": whether a close has run yet is a race,
        # and hypothesis needs each example to draw the same way on replay.
        self.world.reopen(slot, cap)

    @rule(actor=st.sampled_from(TASKS),
          inner=st.one_of(
              st.builds(lambda s, t: Op("send", s, t), slots_st, st.sampled_from((None, SMALL))),
              st.builds(lambda s, t, ok: Op("recv_ok" if ok else "recv", s, t), slots_st,
                        st.sampled_from((None, SMALL)), st.booleans()),
              st.builds(lambda c, t: Op("select", cases=c, timeout=t), cases_st,
                        st.sampled_from((None, SMALL)))),
          delay=st.sampled_from((0, 1, 3, TINY)))
    def cancel(self, actor, inner, delay):
        """asend/arecv/arecv_ok/aselect in a sub-task, cancelled mid-flight."""
        if inner.kind == "select" and inner.timeout is None and \
                all(s is None for _, s in inner.cases):
            inner = Op("select", cases=inner.cases, timeout=SMALL)
        self._op(actor, Op("cancel", inner=inner, delay=delay))

    @rule(actor=st.sampled_from(GOROUTINES),
          inner=st.one_of(
              st.builds(lambda s, t: Op("send", s, t), slots_st, gc_timeouts_st),
              st.builds(lambda s, t, ok: Op("recv_ok" if ok else "recv", s, t), slots_st,
                        gc_timeouts_st, st.booleans()),
              st.builds(lambda c, t: Op("select", cases=c, timeout=t), cases_st,
                        gc_timeouts_st)),
          by=st.sampled_from(("thread", "task")),
          delay=st.sampled_from((0, 1, TINY)))
    def gcancel(self, actor, inner, by, delay):
        """A goroutine actor's send / recv / recv_ok / select, and
        ``Goroutine.cancel()`` on it from the harness's thread or a task
        after 0 or 1 turns or a tiny sleep (a select on only None channels
        without a timeout is kept: only the cancellation ends it)."""
        self._op(actor, Op("gcancel", inner=inner, delay=delay, by=by))

    @rule()
    def settle(self):
        self.world.settle()

    @rule(actor=actors_st)
    def rendezvous(self, actor):
        """Mid-run, the harness meets the actor on a fresh channel (as at
        teardown), unless an op it still has to run may wait for good."""
        self.world.probe(actor)

    @invariant()
    def live_waiters(self):
        # Checks 1 and 2. Violations are recorded and raised at teardown, so
        # every example draws all its steps (a failure found at a different
        # step on replay would otherwise make hypothesis's data generation
        # inconsistent).
        if self.world is not None:
            self.world.check_live()

    def teardown(self):
        w = self.world
        if w is None:
            return
        try:
            w.finish(check=not w.violations)
        finally:
            w.shutdown()
        if w.violations:
            raise AssertionError("model violation:\n" + w.report())


#: Shrinking a failure of a concurrent machine replays racy examples; give it
#: this long (hypothesis's own cap, 300 s, exceeds the pytest timeout).
SHRINK_SECONDS = int(os.environ.get("GMPLOOP_MODEL_SHRINK_S", "60"))


def run_model(procs: int, max_examples: int = MAX_EXAMPLES, steps: int = STEPS,
              shrink_seconds: int = SHRINK_SECONDS, **kw) -> None:
    """Run the machine at ``procs`` processors (hypothesis settings in kw)."""
    machine = type(f"ChannelMachineProcs{procs}", (ChannelMachine,), {"procs": procs})
    from hypothesis.internal.conjecture import engine  # no public knob for this
    old = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if old is not None:
        engine.MAX_SHRINKING_SECONDS = shrink_seconds
    try:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=max_examples, stateful_step_count=steps, deadline=None,
            suppress_health_check=list(HealthCheck), **kw))
    finally:
        if old is not None:
            engine.MAX_SHRINKING_SECONDS = old


def _examples(procs: int, debug: bool) -> int:
    return max(1, round(EXAMPLES.get((procs, debug), 30) * SCALE))


def test_model(procs):
    run_model(procs, _examples(procs, _config.DEBUG))


@pytest.mark.parametrize("dprocs", PROCS, ids=[f"procs{n}" for n in PROCS])
def test_model_with_gmploop_debug(dprocs):
    """The same machine with GMPLOOP_DEBUG=1 (read at import: a subprocess)."""
    n = _examples(dprocs, True)
    if _config.DEBUG:
        run_model(dprocs, n)
        return
    env = dict(os.environ, GMPLOOP_DEBUG="1")
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--procs", str(dprocs),
                        "--examples", str(n)],
                       env=env, capture_output=True, text=True, timeout=110)
    assert r.returncode == 0, (r.stdout + r.stderr)[-8000:]


# ---------------------------------------------------------------------------
# Regression tests: a select that timed out must leave no live waiter
# (issue 9, finding 1), then plain waits on other objects, at procs 1 and 4.
# ---------------------------------------------------------------------------


def test_issue9_program_timed_out_select_then_recv_on_another_channel(run):
    """The issue's six lines: b.recv() returned the value sent on a."""
    def main():
        a, b = Chan(), Chan()
        try:
            select(Recv(a), timeout=0.01)
        except TimeoutError:
            pass
        gmploop.go(lambda: a.send("from-a", timeout=0.5))
        gmploop.go(lambda: b.send("from-b", timeout=T))
        return b.recv(timeout=5)

    assert run(main) == "from-b"


def test_issue9_program_without_the_sender_on_a(run):
    """Without the first go(...): b.recv() without a timeout (the inlined
    goroutine path) parked with a waiter dead on arrival, and run() reported
    a deadlock. Bounded by deadlock detection: on fixed code the sender's
    timeout is the only timer, and the receive completes at once."""
    def main():
        a, b = Chan(), Chan()
        with pytest.raises(TimeoutError):
            select(Recv(a), timeout=0.01)
        gmploop.go(lambda: b.send("from-b", timeout=T))
        return b.recv()

    assert run(main) == "from-b"


def _wait_parked(g, what: str) -> None:
    """Sync with the scheduler: yield until ``g`` is parked (bounded)."""
    deadline = time.monotonic() + T
    while g.status is not lowlevel.GStatus.WAITING:
        assert time.monotonic() < deadline, f"{what} never parked"
        gmploop.gosched()
        if g.done():
            raise AssertionError(f"{what} ended instead of parking")


# The second wait, on objects other than the select's channel ``a``. Each
# entry: (name, setup() -> state, wait(state) -> result, release(state) ->
# expected result).

def _second_waits():
    def chan(cap=0):
        return lambda: Chan(cap)

    def mutex():
        mu = gmploop.Mutex()
        mu.lock()
        return mu

    def sem():
        s = gmploop.Semaphore(1)
        s.acquire()
        return s

    def wg():
        w = gmploop.WaitGroup()
        w.add(1)
        return w

    def rw():
        m = gmploop.RWMutex()
        m.lock()
        return m

    def join():
        c = Chan()
        return c, gmploop.go(lambda: c.recv(timeout=T) and "joined")

    def pair_send(st_):
        assert st_.recv(timeout=T) == "payload"
        return "payload"

    return {
        # channel receives, with and without a timeout (new_sudog vs. the inlined path)
        "recv": (chan(), lambda b: b.recv(), lambda b: b.send("from-b", timeout=T), "from-b"),
        "recv-timeout": (chan(), lambda b: b.recv(timeout=T),
                         lambda b: b.send("from-b", timeout=T), "from-b"),
        "recv_ok": (chan(), lambda b: b.recv_ok(),
                    lambda b: b.send("from-b", timeout=T), ("from-b", True)),
        "recv-buffered": (chan(1), lambda b: b.recv(timeout=T),
                          lambda b: b.send("from-b", timeout=T), "from-b"),
        # sends
        "send": (chan(), lambda b: b.send("payload"), pair_send, None),
        "send-timeout": (chan(), lambda b: b.send("payload", timeout=T), pair_send, None),
        # select on other channels, blocking and timed
        "select": (chan(), lambda b: select(Recv(b), Recv(None)),
                   lambda b: b.send("from-b", timeout=T), (0, "from-b", True)),
        "select-timeout": (chan(), lambda b: select(Recv(None), Recv(b), timeout=T),
                           lambda b: b.send("from-b", timeout=T), (1, "from-b", True)),
        # sync waits
        "mutex": (mutex, lambda m: m.lock() or "locked", lambda m: m.unlock(), "locked"),
        "semaphore": (sem, lambda s: s.acquire(timeout=T) or "acquired",
                      lambda s: s.release(), "acquired"),
        "waitgroup": (wg, lambda w: w.wait(timeout=T) or "waited", lambda w: w.done(),
                      "waited"),
        "rwmutex-read": (rw, lambda m: m.rlock() or "rlocked", lambda m: m.unlock(),
                         "rlocked"),
        "join": (join, lambda s: s[1].join(timeout=T),
                 lambda s: s[0].send(1, timeout=T), "joined"),
    }


SECOND_WAITS = _second_waits()


@pytest.mark.parametrize("first,where", [
    ("select-recv", "main"), ("select-recv", "goroutine"),
    ("select-send-recv", "goroutine"), ("select-send", "main")])
@pytest.mark.parametrize("second", sorted(SECOND_WAITS))
def test_timed_out_select_leaves_no_live_waiter(run, second, first, where):
    """A goroutine's select times out; the goroutine then waits on another
    object. While it waits, the select's channel ``a`` must hold no live
    waiter: a sender on ``a`` must find no receiver (it used to find the
    select's old waiter, revived by the reuse of the goroutine's sudog, and
    "deliver" to the goroutine now waiting elsewhere), and the second wait
    must complete with its own result."""
    setup, wait, release, expect = SECOND_WAITS[second]

    def scenario():
        a, c = Chan(), Chan()
        cases = {"select-recv": (Recv(a),),
                 "select-send-recv": (Send(c, "never"), Recv(a), Recv(None)),
                 "select-send": (Send(a, "never"), Send(a, "never2"))}[first]
        with pytest.raises(TimeoutError):
            select(*cases, timeout=0.005)
        st_ = setup()
        me = gmploop.current()
        probe: dict = {}

        def helper():
            _wait_parked(me, f"the {second} wait")
            probe["live"] = (a.recvq.live_count(), a.sendq.live_count(),
                             c.recvq.live_count(), c.sendq.live_count())
            # A value or a receiver offered on the select's channels must
            # find nobody waiting.
            probe["a.try_send"] = a.try_send("stale-a")
            probe["a.try_recv"] = a.try_recv()
            probe["c.try_recv"] = c.try_recv()
            return release(st_)

        h = gmploop.go(helper)
        got = wait(st_)
        released = h.join(timeout=T)
        return probe, got, released

    def main():
        if where == "main":
            return scenario()
        return gmploop.go(scenario).join(timeout=T)

    probe, got, released = run(main)
    assert probe["live"] == (0, 0, 0, 0)
    assert probe["a.try_send"] is False
    assert probe["a.try_recv"] == (None, False)
    assert probe["c.try_recv"] == (None, False)
    if expect is not None:
        assert got == expect
    else:  # a send: the helper received it
        assert released == "payload"


@pytest.mark.parametrize("kind", ["goroutine", "thread"])
def test_timed_out_select_then_value_goes_to_the_right_receiver(run, kind):
    """The issue's misdelivery, with a second receiver really waiting on a:
    the value sent on a goes to it, not to the goroutine waiting on b."""
    def main():
        a, b = Chan(), Chan()
        with pytest.raises(TimeoutError):
            select(Recv(a), Recv(None), timeout=0.005)
        me = gmploop.current()
        box: dict = {}

        def other():
            try:
                box["other"] = a.recv(timeout=T)
            except Exception as e:  # noqa: BLE001 - compared below
                box["other"] = repr(e)

        if kind == "goroutine":
            o = gmploop.go(other)
        else:
            o = threading.Thread(target=other)
            o.start()

        def helper():
            _wait_parked(me, "b.recv")
            deadline = time.monotonic() + T
            while a.recvq.live_count() < 1:  # the other receiver is queued
                assert time.monotonic() < deadline
                gmploop.gosched()
            box["live"] = a.recvq.live_count()
            a.send("from-a", timeout=T)
            b.send("from-b", timeout=T)

        h = gmploop.go(helper)
        box["main"] = b.recv(timeout=T)
        h.join(timeout=T)
        o.join(timeout=T)
        return box

    box = run(main)
    assert box == {"live": 1, "main": "from-b", "other": "from-a"}


def test_many_timed_out_selects_then_rendezvous(run):
    """A loop of timed-out selects over several channels, each followed by a
    rendezvous on another channel (with and without timeouts): every value
    arrives where it was sent; no select channel keeps a live waiter."""
    def main():
        chans = [Chan(), Chan(1), Chan()]
        rv = Chan()
        got = []

        def partner():
            for i in range(60):
                rv.send(i, timeout=T)

        p = gmploop.go(partner)
        for i in range(60):
            with pytest.raises(TimeoutError):
                select(Recv(chans[0]), Recv(chans[2]), Send(chans[0], "x"), timeout=0)
            try:
                select(Recv(chans[i % 3]), Recv(chans[(i + 1) % 3]), timeout=0.0005)
            except TimeoutError:
                pass
            got.append(rv.recv() if i % 2 else rv.recv(timeout=T))
            for c in chans:  # nobody waits: only a buffer with room takes it
                room = len(c) < c.cap
                assert c.try_send("stale") is room
            chans[1].try_recv()
        p.join(timeout=T)
        return got, [(c.recvq.live_count(), c.sendq.live_count()) for c in chans]

    got, live = run(main)
    assert got == list(range(60))
    assert live == [(0, 0)] * 3


_DEBUG_BOTH_SIDES = """
import gmploop
from gmploop import Chan, Recv, Send, select

def main():
    c = Chan()

    def sender():
        try:
            c.send("x", timeout=10)
            return "sent"
        except AssertionError as e:
            return f"AssertionError: {e}"

    g = gmploop.go(sender)
    while not c.sendq.has_live():
        gmploop.gosched()
    assert c.try_recv() == ("x", True)  # readies the sender, which runs later
    try:  # meanwhile this select waits to receive and to send on c
        select(Recv(c), Send(c, 1), timeout=0.05)
    except TimeoutError:
        pass
    return g.join(timeout=10)

print(gmploop.run(main, procs=1))
"""


def test_debug_checks_allow_a_select_on_both_sides_of_one_channel():
    """Found by the model under GMPLOOP_DEBUG=1: a select parked to send and
    to receive on one unbuffered channel is legal (chan.go's invariant names
    this exception), but the debug check after another operation on that
    channel asserted "both recvq and sendq have waiters", so a send that had
    completed raised AssertionError."""
    env = dict(os.environ, GMPLOOP_DEBUG="1")
    r = subprocess.run([sys.executable, "-c", _DEBUG_BOTH_SIDES], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stdout.strip() == "sent"


# ---------------------------------------------------------------------------
# Command line: the DEBUG subprocess, or a longer hunt by hand
# ---------------------------------------------------------------------------

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="run the channel model (hypothesis)")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--examples", type=int, default=MAX_EXAMPLES)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--shrink-seconds", type=int, default=SHRINK_SECONDS)
    ns = ap.parse_args()
    print(f"GMPLOOP_DEBUG={int(_config.DEBUG)} procs={ns.procs} examples={ns.examples}")
    run_model(ns.procs, ns.examples, ns.steps, ns.shrink_seconds)
    print("ok")
