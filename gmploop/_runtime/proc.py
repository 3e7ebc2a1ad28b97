"""The scheduler: goroutines (G) on processors (P) run by OS threads (M).
Counterpart of Go's ``runtime/proc.go``; read it beside this file.

Concepts
--------
G   a goroutine: ``runtime2.Goroutine``. A plain record until it first runs; it
    then takes a greenlet from its P's free list (or a new one) and keeps it
    until it dies, when the greenlet returns to the free list (Go's G reuse).
    It runs in its own contextvars context, a copy of its creator's taken at
    ``go``, installed as its greenlet's ``gr_context`` (``worker_main``).
P   a processor: local run queues (runq.py), a free list of idle greenlets, a
    timer heap (timers.py) and an asyncio event loop that serves as its poller
    and its way to sleep and be woken. P0's loop is the loop an asyncio program
    sees (``GMPEventLoop``); the others are private.
M   the OS thread that runs one P. P0 runs on the thread that runs the loop
    (the caller of ``run``); every other P has its own thread for life. A P and
    its M never part: greenlets are bound to the thread that started them
    (docs/internals.md, "a greenlet is bound to its thread"), so a started G
    stays on its P. Blocking calls get their own threads (``blocking()``),
    like Go's syscall Ms.

Scheduling
----------
Each P runs goroutines in *batches*: a batch is one callback of its event loop
(``P.run_batch``) that runs goroutines until ``BATCH`` schedule ticks have
passed or none is runnable, then returns to the loop so that it polls I/O, fires
its callbacks and lets the P's timers run. A P with nothing to do sleeps in its
loop (epoll) and is woken through the loop's thread-safe wake-up.

Inside a batch, control passes from goroutine to goroutine *directly*, not
through a scheduler greenlet (measured: 1.50 -> 0.98 us per ping-pong round
trip, docs/internals.md):

1. A goroutine that parks (``gopark``) picks the next runnable G itself
   (``gopark_commit``): a started one is switched to; an unstarted one is handed to an
   idle greenlet from the free list; only if none is idle does it switch to the
   P's scheduler greenlet, which creates a new worker greenlet. New greenlets
   are always started from the scheduler greenlet, at a fixed shallow stack
   depth: starting them from inside a goroutine nests C stacks (RecursionError
   on skynet).
2. A goroutine that returns leaves its greenlet free. If the next runnable G
   has never run, it runs *inline* on that same greenlet, no switch at all;
   otherwise the greenlet joins the free list and switches to the next G.
3. When the batch budget is spent or nothing is runnable, control returns to
   the scheduler greenlet, which returns from ``run_batch`` to the event loop.

``findrunnable`` order (runq.runqget, then here): every 61 ticks the global
queue, then local unstarted work (LIFO), readied work (FIFO), the global queue,
and, when idle, stealing.

Stealing
--------
Only unstarted goroutines move (fact 1), and a steal is permanent: two
goroutines that talk a lot and end up on different Ps pay a cross-thread
wake-up (~47 us on this VM) on every message. So thieves are conservative. On
a GIL build an idle P steals only from a victim that sysmon found *stuck*: one
that has run the same goroutine for a while (a CPU loop, a C call that releases
the GIL, an unannounced blocking call). Splitting a P that makes progress buys
no parallel Python under the GIL, only cross-thread hops. On a free-threaded
build, idle Ps steal half of any backlog as Go does, since there they run
Python in parallel.

Spinning is bounded as in Go: sysmon wakes at most one idle P per round.

Wake-up protocol (no lost wake-ups)
-----------------------------------
A P is, at any moment, in a batch, has a batch pending on its loop, or is
``sleeping``. A waker on another thread appends to the P's ``inbox`` and then,
under the P's lock, clears ``sleeping`` and schedules a batch if it was set.
The P, before it sleeps, looks at its inbox under the same lock. Global-queue
work follows the same pattern with the scheduler lock and the idle list.
Lock order: ``Sched.lock`` before ``P.lock``; never switch greenlets while
holding either (nor any other lock: the goroutine switched to may run on the
same thread and take it, and a thread cannot wait for itself).

Deadlock
--------
``checkdead`` runs when a P goes idle. Under ``run(main)``, if every P is idle,
no timer is pending, no blocking call, I/O wait or asyncio await is in flight,
no asyncio task is alive on a P's loop and no other Python thread is alive, no
goroutine can ever be woken: ``run`` raises ``Deadlock`` with Go's message and
every goroutine's wait reason and stack. Threads of the runtime's pools count
only while they run a call; one that goes idle while every P sleeps makes P0
check again (``recheck_dead``), since no P would go idle to do it.

Beside this file
----------------
``runtime2.py`` (G, the waiter record and their states), ``runq.py`` (the run
queues and stealing), ``timers.py`` (each P's timer heap), ``sema.py`` (the
waiter life-cycle: how any caller blocks and is woken), ``netpoll.py`` (I/O
waits on each P's poller), ``sysmon.py`` (the monitor thread, schedtrace),
``traceback.py`` (goroutine dumps, excepthook, stats), ``blockpool.py``
(threads for blocking calls). docs/internals.md is the tour.
"""

from __future__ import annotations

import asyncio
import collections.abc as _abc
import itertools
import threading
import time
import weakref
from _thread import allocate_lock
from sys import _getframe
from collections import deque
from typing import Any, Callable

from greenlet import greenlet

from . import config
from .config import BATCH, GFREE_CAP, FREE_THREADED
from .config import GLOBAL_CHECK_TICKS
from .runq import (LocalQueues, globrunqget, runqget, runqget_exit,
                   runqget_fair, runqsteal)
from . import runtime2
from .runtime2 import (DEAD, RUNNABLE, RUNNING, WAITING, W_GOSCHED, W_SLEEP,
                       Canceled, Goroutine, GoroutineCore)
from .timers import Timer, TimerHeap

import cython  # compiled: Cython's own; pure: gmploop._build's stand-in

if cython.compiled:  # deque and greenlet calls as C calls (dequeops.pxd, capi.pxd)
    dq_init(deque)  # type: ignore[name-defined]  # noqa: F821
    PyGreenlet_Import()  # type: ignore[name-defined]  # noqa: F821
else:
    from _thread import get_ident

    from greenlet import getcurrent

    from .dequeops import dq_append, dq_appendleft, dq_pop, dq_popleft

    # Switching greenlets: ``_switch(glet, x)`` is ``glet.switch(x)``,
    # ``_switch0(glet)`` is ``glet.switch()``. Compiled, greenlet's C API,
    # inlined (capi.pxd): no method lookup, no argument parsing, and no C
    # frames of their own under every parked goroutine. Interpreted,
    # greenlet's own method, called unbound: no extra Python frame.
    _switch = _switch0 = greenlet.switch

try:  # uvloop where it installs; the stdlib loop otherwise (README, "Dependencies").
    import uvloop as _uvloop
except ImportError:  # pragma: no cover - exercised where uvloop is missing
    _uvloop = None  # type: ignore[assignment]  # read as "uvloop or None"

_monotonic = time.monotonic
_get_running_loop = asyncio._get_running_loop


class Deadlock(RuntimeError):
    """Raised by ``run`` when every goroutine is blocked forever."""


class _Worker(greenlet):  # type: ignore[misc]  # greenlet ships no stubs: Any
    """A greenlet that runs goroutines, one after another (G reuse).

    A subclass with two slots rather than a plain greenlet with the two in
    its ``__dict__``: greenlet checks the type of a subclass with
    PyType_IsSubtype on every switch (~400 instructions per ping-pong round
    trip, compiled), but a ``__dict__`` costs 120 bytes per goroutine (the
    memory target weighs more; docs/internals.md, "Memory")."""

    __slots__ = ("g", "p")
    # The goroutine it runs: typed as code running on it sees it (None only
    # while the worker is idle on its P's free list, when nothing reads it).
    g: Goroutine[Any]
    p: P


if FREE_THREADED:  # pragma: no cover - free-threaded builds only
    _goid_lock = threading.Lock()
    _goid_counter = itertools.count(1)

    def _next_goid() -> int:
        with _goid_lock:
            return next(_goid_counter)
else:
    # itertools.count's __next__ is one C call: atomic where the GIL is on.
    _next_goid = itertools.count(1).__next__




def new_loop() -> asyncio.AbstractEventLoop:
    """A plain event loop for a P's poller: uvloop's where available."""
    if _uvloop is not None:
        return _uvloop.new_event_loop()
    return asyncio.SelectorEventLoop()


# --------------------------------------------------------------------------
# P
# --------------------------------------------------------------------------


class P(LocalQueues):
    # Typed as the scheduler sees it once the P's M runs (set in __init__ to
    # None; nothing wakes a P before its loop exists, see "sleeping" below).
    loop: asyncio.AbstractEventLoop

    __slots__ = (
        "id", "sched", "loop", "tid", "sched_glet", "gfree", "timers", "lock",
        "sleeping", "in_batch", "budget", "allgs", "ncreated",
        "nexited", "nreused", "idle", "stuck", "sm_tick", "sm_since",
        "sm_reported", "retiring", "thread", "wake_handle", "wake_deadline",
        "nsteals", "batch_t0", "batch_tick", "curg",
    )

    def __init__(self, pid: int, sched: "Sched") -> None:
        super().__init__()
        self.id = pid
        self.sched = sched
        self.loop = None  # type: ignore[assignment]  # see above
        self.tid = 0
        self.sched_glet: greenlet = None  # the M's own greenlet, set when it starts
        self.gfree: list[_Worker] = []
        self.timers = TimerHeap(self.notify)
        self.lock = allocate_lock()
        # Invariant: exactly one of in_batch, a batch pending on the loop, or
        # sleeping holds (see "Wake-up protocol" above). A P other than P0
        # starts with its first batch "pending": its M queues it once its
        # loop exists (Sched._start_m), so no waker touches a P without a loop.
        self.sleeping = pid == 0
        self.in_batch = False
        self.budget = 0
        self.allgs: set[Goroutine[Any]] = set()  # started goroutines that parked
        self.ncreated = 0
        self.nexited = 0
        self.nreused = 0
        self.nsteals = 0
        self.idle = False  # in sched.idle (guarded by sched.lock); never while retiring
        self.stuck = False  # set by sysmon: same G running for a while
        self.sm_tick = -1
        self.sm_since = 0.0
        self.sm_reported = -1
        # Removed by set_max_procs (guarded by sched.lock): runs only the
        # goroutines pinned to it, takes no global or stolen work, is never
        # on the idle list, and sleeps in its loop until a later resize
        # revives it or the runtime shuts down.
        self.retiring = False
        self.thread: threading.Thread | None = None
        self.wake_handle: asyncio.TimerHandle | None = None
        self.wake_deadline: float | None = None
        self.batch_t0 = 0.0  # when the current batch started (sysmon)
        self.batch_tick = 0
        # The goroutine this P started last (worker_main), for running_g
        # (traceback.py): it, or one of allgs, is the one running now.
        self.curg: Goroutine[Any] | None = None

    def __repr__(self) -> str:
        return f"<P{self.id}>"

    # -- waking ------------------------------------------------------------

    def notify(self) -> None:
        """Make sure this P looks at its queues and timers soon. Any thread."""
        if self.tid == get_ident():
            if self.sleeping:
                self.sleeping = False
                self.loop.call_soon(self.run_batch)
            return
        with self.lock:
            if not self.sleeping:
                return  # in a batch or one is pending: it will see the change
            self.sleeping = False
        try:
            self.loop.call_soon_threadsafe(self.run_batch)
        except RuntimeError:  # loop closed: the runtime is shutting down
            pass

    # -- the scheduler greenlet's side --------------------------------------

    def run_batch(self) -> None:
        """Event-loop callback: run goroutines for one batch (see header)."""
        sched = self.sched
        if sched.dead or sched.abandoned:
            return
        if self.idle:
            sched.leave_idle(self)
        if self.timers.nactive:
            self.timers.run_expired(_monotonic())
        if sched.sysmon is None:
            sched.start_sysmon()
        self.batch_t0 = _monotonic()
        self.batch_tick = self.schedtick
        self.in_batch = True
        self.budget = BATCH
        gfree = self.gfree
        nxt = None
        try:
            while True:
                if nxt is None:
                    if self.budget <= 0:
                        break
                    nxt = runqget(self, sched.globalq)
                    if nxt is None:
                        nxt = self.findrunnable_slow()
                        if nxt is None:
                            break
                glet = nxt.glet
                if glet is not None:
                    nxt = _switch0(glet)
                else:
                    if gfree:
                        nxt = _switch(gfree.pop(), nxt)
                    else:
                        w = _Worker(worker_main, self.sched_glet)
                        w.p = self
                        w.g = None  # type: ignore[assignment]  # idle, see _Worker
                        nxt = _switch(w, nxt)
                if nxt == ():
                    nxt = None
                if sched.dead:
                    return
        finally:
            self.in_batch = False
        if nxt is not None:  # budget spent while handing over an unstarted G
            self.newq.append(nxt)
        self.after_batch()

    def after_batch(self) -> None:
        if (self.has_work() or (self.sched.globalq and not self.retiring)
                or self._timer_due()):
            self.loop.call_soon(self.run_batch)
            return
        self.sched.go_idle(self)

    def _timer_due(self) -> bool:
        if not self.timers.nactive:
            return False
        d = self.timers.next_deadline()
        return d is not None and d <= _monotonic()

    def arm_wakeup(self) -> None:
        """Sleep no longer than the earliest timer (P's thread, idle)."""
        d = self.timers.next_deadline()
        if d is None or d == self.wake_deadline:
            return
        if self.wake_handle is not None:
            self.wake_handle.cancel()
        self.wake_deadline = d
        self.wake_handle = self.loop.call_later(max(0.0, d - _monotonic()), self._on_wakeup)

    def _on_wakeup(self) -> None:
        self.wake_handle = None
        self.wake_deadline = None
        self.notify()

    def findrunnable_slow(self) -> Goroutine[Any] | None:
        """Local queues are empty: global queue, then steal (proc.go findRunnable)."""
        sched = self.sched
        if self.inbox:
            return runqget(self, sched.globalq)
        if self.retiring:
            return None
        if sched.globalq:
            g = globrunqget(self, sched.globalq, sched.nprocs)
            if g is not None:
                return g
        return sched.steal(self)

    # -- the goroutine's side ------------------------------------------------

    def goexit(self, g: Goroutine[Any], glet: _Worker) -> Goroutine[Any] | tuple[Any]:
        """Goroutine ``g`` on worker ``glet`` has ended (Go's goexit0): return
        the next goroutine to run on this greenlet, or ``(nxt,)`` when the
        greenlet ends, handing ``nxt`` (or None) to the scheduler greenlet.
        In between, an idle greenlet waits here on the P's free list."""
        sched = self.sched
        glet.g = None  # type: ignore[assignment]  # idle, see _Worker
        # goexit, inlined (hot: every goroutine ends here)
        g.fn = g.args = g.kwargs = g.ctx = None  # type: ignore[assignment]  # dead: drop them
        g.status = DEAD
        self.nexited += 1
        if g.tracked:
            self.allgs.discard(g)
        if g.joinq is not None:
            _sema.wake_joiners(g)
        if g.exc is not None or g is sched.main_g:
            self.goexit_slow(g)
        self.budget -= 1
        if self.budget > 0 and not sched.dead:
            # inline gmploop._runtime.runq.runqget_exit(self, sched.globalq) -> nxt
            if self.inbox:
                self.drain_inbox()
            self.schedtick += 1
            nxt = None
            if self.schedtick % GLOBAL_CHECK_TICKS == 0:
                nxt = runqget_fair(self, sched.globalq)
            if nxt is None:
                if self.newq:
                    try:
                        nxt = dq_pop(self.newq)
                    except IndexError:  # a thief took the last one meanwhile
                        pass
                if nxt is None:
                    nxt = self.runnext
                    if nxt is not None:
                        self.runnext = None
                    elif self.runq:
                        nxt = dq_popleft(self.runq)
            # inline end
            if nxt is not None and nxt.glet is None:
                self.nreused += 1
                return nxt  # run the unstarted goroutine inline: no switch
        else:
            nxt = None
        gfree = self.gfree
        if len(gfree) >= GFREE_CAP or sched.dead:
            return (nxt,)
        glet.gr_context = None  # an idle greenlet keeps no context alive
        gfree.append(glet)
        if nxt is not None:
            ng: Goroutine[Any] = _switch0(nxt.glet)
        else:
            ng = _switch(self.sched_glet, None)
        self.nreused += 1  # back from the free list with a new goroutine
        return ng

    def free_workers(self) -> None:
        """On p's own thread, once its loop has stopped for good: end its
        idle worker greenlets (each is thrown GreenletExit where it waits, in
        ``goexit``). Their suspended frames reference this P, and the cyclic
        GC cannot see references held by a suspended greenlet's frames: left
        alone, every finished runtime stayed alive (30 ``gmploop.run()``
        calls kept 30 Scheds, their Ps and loops)."""
        gfree = self.gfree
        cur = getcurrent()
        while gfree:
            w = gfree.pop()
            w.parent = cur  # it ends here, whichever greenlet ran the loop
            w.throw(_greenlet_exit())

    def goexit_slow(self, g: Goroutine[Any]) -> None:
        """The rare end of a goroutine: the main one, or one that raised."""
        sched = self.sched
        exc = g.exc
        if g is sched.main_g:
            # As in Go, nothing else runs once main returns: end this batch
            # now (the loop is stopping) instead of running up to BATCH more.
            self.budget = 0
            sched.main_exited(g)
        elif exc is not None:
            if isinstance(exc, Canceled):
                pass  # asked for: join() re-raises it, nobody else is told
            elif not isinstance(exc, Exception):
                sched.fatal_error(exc)  # SystemExit, KeyboardInterrupt: stop run()
            elif not getattr(g, "quiet", False):
                _traceback.call_excepthook(g, exc)


def newproc_p(p: P, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None,
              ctx: Any, code: Any, lasti: int, parent: int) -> Goroutine[Any]:
    """``Sched.newproc``'s path on ``p``'s own thread: create a goroutine and
    queue it on p's unstarted queue (Go's newproc1 + runqput). It runs in a
    copy of ``ctx``, its creator's contextvars context (None or empty: a
    fresh one, no copy made); ``code``/``lasti``/``parent`` say where it was
    created (see ``Goroutine.go_code``). The caller wakes ``p`` if it may be
    sleeping; a goroutine calling it need not: its P is in a batch.
    ``go()`` calls this compiled and inlines it interpreted (hot: fan-out,
    skynet); tests/test_inline_copies.py compares the copy.

    Compiled, the new goroutine is hidden from the cyclic GC until it starts
    (``worker_main`` tracks it again; ``Sched.shutdown`` tracks the ones that
    never will): fan-out and skynet create goroutines far faster than they
    run them, and every collection meanwhile traversed each waiting one
    (about a fifth of fan-out's instructions). While it waits it is
    reachable from its P's queue, so the collector has nothing to find in
    it; the interpreted build cannot untrack objects."""
    g: Goroutine[Any] = Goroutine(_next_goid(), fn, args, kwargs or None)
    if ctx:
        g.ctx = ctx.copy()
    g.go_code = code
    g.go_lasti = lasti
    g.parent_goid = parent
    if cython.compiled:
        gc_untrack(g)  # type: ignore[name-defined]  # noqa: F821
    p.ncreated += 1
    dq_append(p.newq, g)
    if FREE_THREADED and p.sched.idle:  # pragma: no cover
        p.sched.wakep()  # idle Ps may steal it: they run Python in parallel
    return g


#: ``gmploop._go``'s path for ``go()`` outside goroutines (threads, coroutines,
#: callbacks), set when it is imported: ``(fn, args, kwargs, origin)``.
_go_outside: Any = None


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Goroutine[Any]:
    """Start ``fn(*args, **kwargs)`` as a new goroutine and return at once.

    The goroutine runs in a copy of the caller's ``contextvars`` context
    (``ctx.run(go, fn)`` picks another). When ``fn(*args, **kwargs)``
    returns a coroutine, the goroutine awaits it on the runtime's event loop
    (as ``await_`` does) and its result is the coroutine's."""
    # Here, not in gmploop/_go.py, so that the compiled build runs it as C
    # (hot: fan-out, skynet); gmploop.go is this function. The go statement,
    # for "created by" (Goroutine.go_code): compiled, this function has no
    # frame of its own, so the current frame is the caller's (read through
    # C, capi.pxd); no frame at all (go(go, fn), a thread's target) gives
    # code None.
    if cython.compiled:
        code = caller_code()  # type: ignore[name-defined]  # noqa: F821
        lasti = caller_lasti()  # type: ignore[name-defined]  # noqa: F821
    else:
        try:
            f = _getframe(1)
            code, lasti = f.f_code, f.f_lasti
        except ValueError:  # called straight from C
            code, lasti = None, 0
    cur = getcurrent()
    if type(cur) is _Worker and callable(fn):
        # From a goroutine: Sched.newproc's P path.
        if cython.compiled:
            return newproc_p(cur.p, fn, args, kwargs, cur.gr_context, code, lasti, cur.g.id)
        p = cur.p
        c = cur.gr_context
        # inline gmploop._runtime.proc.newproc_p(p, fn, args, kwargs, c, code, lasti, cur.g.id) -> g
        g: Goroutine[Any] = Goroutine(_next_goid(), fn, args, kwargs or None)
        if c:
            g.ctx = c.copy()
        g.go_code = code
        g.go_lasti = lasti
        g.parent_goid = cur.g.id
        if cython.compiled:
            gc_untrack(g)  # type: ignore[name-defined]  # noqa: F821
        p.ncreated += 1
        dq_append(p.newq, g)
        if FREE_THREADED and p.sched.idle:  # pragma: no cover
            p.sched.wakep()  # idle Ps may steal it: they run Python in parallel
        # inline end
        return g
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    # created outside any goroutine (parent 0); None: called straight from C
    origin = None if code is None else (code, lasti, 0)
    r: Goroutine[Any] = _go_outside(fn, args, kwargs, origin)
    return r


# --------------------------------------------------------------------------
# Sched: the runtime instance (Go's schedt)
# --------------------------------------------------------------------------

_all_scheds: "weakref.WeakSet[Sched]" = weakref.WeakSet()


def recheck_dead() -> None:
    """A thread that counted as one that could wake a goroutine stopped
    counting (an event loop executor's thread went idle, blockpool.py): make
    every deadlock-detecting runtime whose processors all sleep run checkdead
    again, on P0. Nothing else would: no processor goes idle again. Any
    thread; call it after the change, which the check then sees (it reads
    the idle list after the caller's write; a P going idle now writes the
    idle list before it checks)."""
    for _ in range(3):
        try:
            scheds = list(_all_scheds)
            break
        except RuntimeError:  # the WeakSet changed size meanwhile (a runtime started)
            continue
    else:  # pragma: no cover - three starts in a row
        return
    for s in scheds:
        if (s.detect_deadlock and s.main_g is not None and not s.dead
                and s.deadlock is None and len(s.idle) >= len(s.allp)):
            s.allp[0].notify()


# The run function of every worker greenlet (P.run_batch creates them). A
# plain function, not a bound method, called only by greenlet, positionally:
# compiled, a def (no C entry point or override check) taking one argument
# (METH_O, no keyword parsing). Whatever lies under a goroutine's own frames
# is saved with its stack whenever it parks, so this is kept small: less
# memory per parked goroutine. Its end is ``P.goexit``.
@cython.always_allow_keywords(False)
@cython.locals(g=GoroutineCore, p=P)
def worker_main(g: Goroutine[Any]) -> Any:
    """Body of every worker greenlet: run goroutines until its P retires it."""
    glet: _Worker = getcurrent()
    p = glet.p
    while True:
        if cython.compiled:
            gc_track(g)  # type: ignore[name-defined]  # noqa: F821  # (newproc_p)
        g.glet = glet
        g.p = p
        g.status = RUNNING
        glet.g = g
        p.curg = g
        # Its own contextvars context (None: a fresh empty one), never
        # the previous goroutine's on this greenlet. Cheaper than
        # ctx.run(fn) and keeps the fixed-arity calls below.
        glet.gr_context = g.ctx
        try:
            # Fixed-arity calls let CPython 3.11+ run the goroutine's
            # Python function in the same C frame (CALL is inlined,
            # CALL_FUNCTION_EX is not): less C stack for the greenlet to
            # save when it parks, so less memory per parked goroutine.
            args = g.args
            if g.kwargs:
                g.result = g.fn(*args, **g.kwargs)
            elif not args:
                g.result = g.fn()
            elif len(args) == 1:
                g.result = g.fn(args[0])
            elif len(args) == 2:
                g.result = g.fn(args[0], args[1])
            else:
                g.result = g.fn(*args)
            r = g.result
            if r is not None and is_coroutine_type(type(r)):
                # fn returned a coroutine (an async def, a partial or a
                # lambda of one): await it on the runtime's loop on the
                # goroutine's behalf, as await_ does (docs/api.md,
                # "Coroutine functions"). The only cost on the hot
                # path is the test.
                g.result = None
                g.result = run_coroutine(r)
        except BaseException as e:  # noqa: BLE001 - goroutine boundary
            g.exc = e
        if g.exc is not None and p.sched.dead:
            raise g.exc  # the runtime is gone: unwind (GreenletExit)
        nxt = p.goexit(g, glet)
        if isinstance(nxt, tuple):
            return nxt[0]  # this greenlet ends; its parent, the scheduler, goes on
        g = nxt


class Sched:
    """One gmploop runtime: its processors, global queue and bookkeeping."""

    # Slots (and, compiled, a C struct: proc.pxd): gopark_commit and
    # worker_main read ``dead`` on every park and every goroutine's end.
    __slots__ = (
        "lock", "globalq", "nprocs", "allp", "retired", "idle", "nforeign",
        "nexternal", "dead", "abandoned", "started", "detect_deadlock",
        "deadlock", "fatal", "main_g", "on_main_exit", "runtime_tids", "loop0",
        "sysmon", "__weakref__",
    )

    def __init__(self, nprocs: int, loop0: asyncio.AbstractEventLoop) -> None:
        self.lock = threading.Lock()
        self.globalq: deque[Goroutine[Any]] = deque()
        self.nprocs = nprocs
        self.allp: list[P] = []
        self.retired: list[P] = []
        self.idle: list[P] = []
        self.nforeign = 0  # goroutines created off any P (global queue)
        self.nexternal = 0  # blocking calls, I/O waits, awaits in flight
        self.dead = False
        # run(main): main has returned; the loop may still run (asyncgens,
        # tasks unwinding) but no goroutine runs again, as in Go.
        self.abandoned = False
        self.started = False
        self.detect_deadlock = False
        self.deadlock: Deadlock | None = None
        self.fatal: BaseException | None = None
        self.main_g: Goroutine[Any] | None = None
        self.on_main_exit: Callable[[Goroutine[Any]], None] | None = None
        self.runtime_tids: set[int] = set()
        self.loop0 = loop0
        self.sysmon: "_sysmon._Sysmon | None" = None
        for i in range(nprocs):
            self.allp.append(P(i, self))
        _all_scheds.add(self)

    # -- lifecycle -----------------------------------------------------------

    def attach_p0(self) -> None:
        """Bind P0 to the thread now running loop0 (GMPEventLoop.run_forever)."""
        p0 = self.allp[0]
        tid = get_ident()
        if p0.tid and p0.tid != tid and p0.allgs:
            raise RuntimeError("a gmploop loop with parked goroutines cannot move "
                               "to another thread (greenlets are thread-bound)")
        p0.tid = tid
        p0.loop = self.loop0
        p0.sched_glet = getcurrent()
        self.runtime_tids.add(tid)
        if not self.started:
            self.started = True
            for p in self.allp[1:]:
                self._start_m(p)
            if self.nprocs > 1 or config.SCHEDTRACE_MS:
                self.start_sysmon()
            # else: started by the first batch that runs a goroutine; a pure
            # asyncio program on one processor has no monitor thread at all.
        # P0 may have work queued before the loop ran (run(main), go()); a
        # pure asyncio program gets no extra callback (which would shift the
        # order of its own, e.g. a subprocess's exit and pipe-closed ones).
        with p0.lock:
            p0.sleeping = True
        if p0.has_work() or self.globalq or p0.timers.nactive:
            p0.notify()

    # Start-up and shutdown (one lock, no window): ``dead``, ``sysmon`` and
    # every P's ``thread`` and ``loop`` change only under ``self.lock``. A
    # thread is started under the lock before it is published, so shutdown
    # (which sets ``dead`` under the lock) joins only threads that have
    # started, and a start that comes after it starts nothing. An M thread
    # publishes its loop under the lock only while ``dead`` is unset, so
    # shutdown either stops that loop or the M sees ``dead`` and never runs it.

    def start_sysmon(self) -> None:
        with self.lock:
            if self.sysmon is not None or self.dead:
                return
            mon = _sysmon._Sysmon(self)
            mon.start()
            self.sysmon = mon

    def _start_m(self, p: P) -> None:
        """Start p's M thread. It does not wait for the M to come up: the M
        queues p's first batch itself (see P.sleeping), which is what keeps
        set_max_procs from stalling on thread start-up under the GIL."""

        def mstart() -> None:
            loop = None
            try:
                loop = new_loop()
                with self.lock:
                    if self.dead:
                        return  # shut down while this M was starting
                    p.loop = loop
                    p.tid = get_ident()
                    self.runtime_tids.add(p.tid)
                loop._gmp_p = p  # type: ignore[attr-defined]  # for current_p
                p.sched_glet = getcurrent()
                asyncio.set_event_loop(loop)
                # The batch that p.sleeping == False promised: it looks for
                # work, then puts p on the idle list (go_idle).
                loop.call_soon(p.run_batch)
                loop.run_forever()
            finally:
                try:
                    p.free_workers()
                finally:
                    if loop is not None:
                        try:
                            loop.close()
                        except Exception:  # noqa: BLE001 - best effort at shutdown
                            pass

        t = threading.Thread(target=mstart, name=f"gmploop-M{p.id}", daemon=True)
        # A runtime thread for every runtime's checkdead, not just this one's:
        # another gmploop runtime (the background one, a loop left open) is
        # not "a Python thread that could wake a goroutine".
        t._gmploop_runtime = True  # type: ignore[attr-defined]
        with self.lock:
            if self.dead:
                return
            t.start()
            p.thread = t

    def shutdown(self, timeout: float | None = 1.0) -> None:
        """Stop every processor; goroutines still alive are abandoned (as in Go).
        Safe at any point of start-up (see above) and from any thread."""
        with self.lock:
            if self.dead:
                return
            self.dead = True
            mon = self.sysmon
            ps = self.allp[1:] + self.retired
            if cython.compiled:
                # goroutines that never started, untracked by newproc_p: the
                # collector must see them again (they may be in cycles now)
                for pp in self.allp + self.retired:
                    for g in list(pp.newq):
                        gc_track(g)  # type: ignore[name-defined]  # noqa: F821
                for g in list(self.globalq):
                    gc_track(g)  # type: ignore[name-defined]  # noqa: F821
        me = get_ident()
        if mon is not None:
            mon.stop()
            if mon.thread.ident != me:
                mon.thread.join(timeout)
        for p in ps:
            if p.loop is not None:
                try:
                    p.loop.call_soon_threadsafe(p.loop.stop)
                except RuntimeError:
                    pass
        for p in ps:
            if p.thread is not None and p.thread.ident != me:
                p.thread.join(timeout)

    # -- goroutine creation --------------------------------------------------

    def newproc(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None,
                p: P | None, avoid: P | None = None,
                origin: tuple[Any, int, int] | None = None) -> Goroutine[Any]:
        """Create a goroutine and queue it: on ``p`` when called on p's thread,
        else on the global queue (Go's newproc), waking an idle P (P0 first,
        unless ``avoid`` names it). ``origin``: (go_code, go_lasti,
        parent_goid), see ``Goroutine``; None leaves them unset."""
        if p is not None:
            code, lasti, parent = origin if origin is not None else (None, 0, 0)
            g = newproc_p(p, fn, args, kwargs, getcurrent().gr_context,
                          code, lasti, parent)
            if p.sleeping:  # called from a callback or coroutine on p's thread
                p.notify()
            return g
        g = Goroutine(_next_goid(), fn, args, kwargs or None)
        g.ctx = snapshot_context()
        if origin is not None:
            g.go_code, g.go_lasti, g.parent_goid = origin
        with self.lock:
            self.nforeign += 1
            self.globalq.append(g)
        if avoid is None:
            self.wakep(prefer=self.allp[0])
        else:
            self.wakep(avoid=avoid)
        return g

    def wakep(self, prefer: P | None = None, avoid: P | None = None) -> None:
        """Wake one idle P to look for work (Go's wakep): ``prefer`` if it is
        idle, else one other than ``avoid`` if any, else any."""
        if self.nprocs == 1 and not self.retired and not self.allp[0].idle:
            self.allp[0].notify()  # go_idle's one-processor path
            return
        with self.lock:
            if not self.idle:
                return
            if prefer is not None and prefer.idle:
                p = prefer
                self.idle.remove(p)
            else:
                p = self.idle.pop()
                if p is avoid and self.idle:
                    self.idle.insert(0, p)
                    p = self.idle.pop()
            p.idle = False
        p.notify()

    def leave_idle(self, p: P) -> None:
        with self.lock:
            if p.idle:
                p.idle = False
                try:
                    self.idle.remove(p)
                except ValueError:
                    pass

    def go_idle(self, p: P) -> None:
        """``p`` found nothing to run: sleep in its loop (P's thread)."""
        if self.nprocs == 1 and not self.detect_deadlock and not self.retired:
            # One processor and no deadlock detection (an asyncio program):
            # nobody else takes the idle list, so skip it and the scheduler
            # lock; wakep notifies P0 directly. This is P0's path after every
            # coroutine -> goroutine hand-off.
            with p.lock:
                if p.has_work() or self.globalq:
                    p.loop.call_soon(p.run_batch)
                    return
                p.sleeping = True
            if p.timers.nactive:
                p.arm_wakeup()
            return
        dead = None
        with self.lock:
            if self.globalq and not p.retiring:
                p.loop.call_soon(p.run_batch)
                return
            with p.lock:
                if p.has_work():
                    p.loop.call_soon(p.run_batch)
                    return
                p.sleeping = True
            if not p.idle and not p.retiring:
                p.idle = True
                self.idle.append(p)
            if self.detect_deadlock:
                dead = self._checkdead_locked()
        if p.timers.nactive:
            p.arm_wakeup()
        if dead:
            self.report_deadlock()

    def _checkdead_locked(self) -> bool:
        """Go's checkdead, under self.lock. True if no goroutine can ever run."""
        if self.dead or self.deadlock is not None:
            return False
        if self.main_g is None or self.main_g.status is DEAD:
            return False
        if len(self.idle) < len(self.allp):
            return False
        ps = self.allp + self.retired
        if self.globalq or self.nexternal:
            return False
        for p in ps:
            if p.has_work() or p.timers.nactive or not p.sleeping:
                return False
            if p.loop is not None:
                try:
                    if asyncio.all_tasks(p.loop):
                        return False
                except RuntimeError:
                    return False
        for t in threading.enumerate():
            if t.ident not in self.runtime_tids and not getattr(t, "_gmploop_runtime", False):
                return False
        return True

    def report_deadlock(self) -> None:
        msg = "all goroutines are asleep - deadlock!\n\n" + _traceback.format_goroutines(self)
        self.deadlock = Deadlock(msg)
        self._stop_loop0()

    def _stop_loop0(self) -> None:
        loop = self.loop0
        try:
            if self.allp[0].tid == get_ident():
                loop.stop()
            else:
                loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            pass

    def main_exited(self, g: Goroutine[Any]) -> None:
        self.abandoned = True  # no batch runs again, even before the loop stops
        if self.on_main_exit is not None:
            self.on_main_exit(g)

    def fatal_error(self, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = exc
        self._stop_loop0()

    # -- stealing ------------------------------------------------------------

    def steal(self, pp: P) -> Goroutine[Any] | None:
        """Steal half of a victim's unstarted goroutines (proc.go stealWork)."""
        ps = self.allp
        n = len(ps)
        if n < 2:
            return None
        start = config.rng.randrange(n)
        for i in range(n):
            victim = ps[(start + i) % n]
            if victim is pp or not victim.newq:
                continue
            stuck = victim.stuck
            if not (stuck or FREE_THREADED):
                continue
            g = runqsteal(pp, victim, take_last=stuck)
            if g is not None:
                pp.nsteals += 1 + len(pp.newq)
                return g
        return None

    # -- set_max_procs --------------------------------------------------------

    def resize(self, n: int) -> int:
        """Change the number of processors (proc.go procresize).

        Shrinking retires the Ps past ``n``: their unstarted goroutines go to
        the global queue, the goroutines pinned to them (started there) keep
        running there, and each then sleeps in its loop, off the idle list.
        Growing revives a retired P of the id it needs, M thread and all, and
        starts a new M only for an id never used before. So set_max_procs
        churn starts at most one thread per id for the life of the runtime,
        as Go reuses its Ps and idle Ms, instead of a thread per call (each
        start waits for the GIL behind every running processor: 1-30 s for
        200 calls, issue 9), and ``retired`` never holds more Ps than the
        largest count ever set.
        """
        with self.lock:
            old = self.nprocs
            if n == old:
                return old
            if n > old:
                by_id = {p.id: p for p in self.retired}
                revived, fresh = [], []
                for i in range(old, n):
                    p = by_id.get(i)
                    if p is not None:
                        self.retired.remove(p)
                        p.retiring = False
                        revived.append(p)
                    else:
                        p = P(i, self)
                        fresh.append(p)
                    self.allp.append(p)
                self.nprocs = n
            else:
                gone = self.allp[n:]
                del self.allp[n:]
                self.nprocs = n
                for p in gone:
                    p.retiring = True
                    if p.idle:
                        p.idle = False
                        self.idle.remove(p)
                    self.retired.append(p)
        if n > old:
            if self.started:
                for p in fresh:
                    self._start_m(p)
                self.start_sysmon()
            for p in revived:
                p.notify()  # looks for work, then joins the idle list
            return old
        moved = False
        for p in gone:
            while True:
                try:
                    g = p.newq.popleft()
                except IndexError:
                    break
                with self.lock:
                    self.globalq.append(g)
                moved = True
        if moved:
            self.wakep(prefer=self.allp[0])
        return old

    # -- counting ------------------------------------------------------------

    def num_goroutine(self) -> int:
        ps = self.allp + self.retired
        created = self.nforeign + sum(p.ncreated for p in ps)
        exited = sum(p.nexited for p in ps)
        return created - exited


# --------------------------------------------------------------------------
# The current context
# --------------------------------------------------------------------------


def getg() -> Goroutine[Any] | None:
    """The running goroutine, or None outside goroutines (Go's getg)."""
    cur = getcurrent()
    if type(cur) is _Worker:
        return cur.g
    return None


class _CoroutineTypes(dict[type, bool]):
    """type -> whether its instances are coroutines (asyncio.iscoroutine's
    test, cached per type: one dict lookup for a goroutine that returns a
    value). A generator is not a coroutine."""

    def __missing__(self, t: type) -> bool:
        v = issubclass(t, _abc.Coroutine)
        if len(self) < 256:
            self[t] = v
        return v


is_coroutine_type: Callable[[type], bool] = _CoroutineTypes().__getitem__


def _no_coroutine_runner(coro: Any) -> Any:  # pragma: no cover - gmploop._go sets it
    coro.close()
    raise RuntimeError("gmploop's await_ is not loaded")


#: How a goroutine whose function returned a coroutine awaits it: set to
#: ``gmploop._go.await_`` by that module (the core does not import the layers
#: above it).
run_coroutine: Callable[[Any], Any] = _no_coroutine_runner


def snapshot_context() -> Any:
    """A copy of the caller's contextvars context for a goroutine it creates
    (as asyncio.create_task copies the creator's), or None if it is empty:
    the goroutine then starts in a fresh empty one, and creating it
    allocates no Context (one per goroutine, alive until it runs, costs the
    cyclic GC more than the copy itself: fan-out). Runs in the creator."""
    c = getcurrent().gr_context
    return c.copy() if c else None


def current_p() -> P | None:
    """The P whose thread this is, when called on a P's thread."""
    cur = getcurrent()
    if type(cur) is _Worker:
        return cur.p
    loop = _get_running_loop()
    if loop is not None:
        lp: P | None = getattr(loop, "_gmp_p", None)
        if lp is not None and lp.tid == get_ident():
            return lp
    return None


# --------------------------------------------------------------------------
# park / ready (Go's gopark / goready)
# --------------------------------------------------------------------------


def gopark_prepare(g: Goroutine[Any], reason: str) -> None:
    """First half of a park: mark ``g`` WAITING *before* publishing it where a
    waker can find it (under that structure's lock)."""
    g.status = WAITING
    g.waitreason = reason


def gopark_commit(g: Goroutine[Any]) -> Any:
    """Second half: switch away (after releasing every lock). Returns the value
    its waker left in ``g.param``.

    This is the hot path of every blocking operation, so ``runq.runqget`` is
    inlined here (same logic, same order; keep in step).
    """
    p = g.p
    sched = p.sched
    if sched.dead:
        raise _greenlet_exit()
    if g.cancelreq and withdraw_park(g):  # asked before the park began
        g.status = RUNNING
        raise take_cancel(g)
    if not g.tracked:
        g.tracked = True
        p.allgs.add(g)
    p.budget -= 1
    if p.budget > 0:
        if cython.compiled:
            # a C call: runqget's frame is gone before the switch below,
            # so it is not saved with every parked goroutine's stack
            nxt = runqget(p, sched.globalq)
        else:
            # inline gmploop._runtime.runq.runqget(p, sched.globalq) -> nxt
            if p.inbox:
                p.drain_inbox()
            p.schedtick += 1
            nxt = None
            if p.schedtick % GLOBAL_CHECK_TICKS == 0:
                nxt = runqget_fair(p, sched.globalq)
            if nxt is None:
                nxt = p.runnext
                if nxt is not None:
                    p.runnext = None
                elif p.runq:
                    nxt = dq_popleft(p.runq)
                elif p.newq:
                    try:
                        nxt = dq_pop(p.newq)
                    except IndexError:  # a thief took the last one meanwhile
                        pass
            # inline end
        # -- switch to it --
        if nxt is not None:
            ng = nxt.glet
            if ng is None:
                if p.gfree:
                    _switch(p.gfree.pop(), nxt)
                else:
                    _switch(p.sched_glet, nxt)
            elif ng is not g.glet:
                _switch0(ng)
        else:
            _switch(p.sched_glet, None)
    else:
        _switch(p.sched_glet, None)
    if sched.dead:
        raise _greenlet_exit()
    g.status = RUNNING
    v = g.param
    if v is not None:
        g.param = None
        if v is _CANCELED:
            raise take_cancel(g)
    return v


def gopark(reason: str) -> Any:
    g = getg()
    if g is None:
        raise RuntimeError("park() called outside a goroutine")
    gopark_prepare(g, reason)
    return gopark_commit(g)


# --------------------------------------------------------------------------
# Cancellation (Goroutine.cancel)
# --------------------------------------------------------------------------
#
# 1. ``gocancel(g)`` (any thread) sets ``g.cancelreq`` and then runs
#    ``cancel_parked(g)`` on g's own processor thread (directly, or posted to
#    its loop). A goroutine not started yet, or the caller itself, just keeps
#    the request.
# 2. On g's thread g is not running, so its park is complete or not begun:
#    if g is WAITING, ``g.waitobj`` describes the current park (every park
#    sets it). ``cancel_parked`` withdraws the wait through it, exactly as a
#    timeout does (sema.withdraw, under the structure's lock). If that wins,
#    the operation performed nothing: ``g.param = _CANCELED`` and goready;
#    ``gopark_commit`` then raises ``Canceled``. If a waker won, the operation
#    completes and the request stays for the next blocking operation.
# 3. ``gopark_commit``, the one place every park goes through, checks
#    ``g.cancelreq`` before it switches away: a request that came before the
#    park began withdraws the wait there, the same way. ``gosched`` (not a
#    park) checks on entry and on return. ``take_cancel`` delivers a request
#    once.
#
# A stale ``g.waitobj`` (from a finished park) is harmless: its sudog is no
# longer WAITING (claimed or withdrawn), so withdrawing it again fails.

_CANCELED: Any = object()


def take_cancel(g: Goroutine[Any]) -> Canceled:
    """Deliver ``g``'s cancellation: clear the request, return the exception."""
    g.cancelreq = False
    return Canceled(f"goroutine {g.id} cancelled")


def gocancel(g: Goroutine[Any]) -> bool:
    """``Goroutine.cancel()``: ask ``g`` to stop. False if it has finished."""
    if g.status is DEAD:
        return False
    g.cancelreq = True
    p = g.p
    if p is None:
        return True  # not started: its first wait raises
    cur = getcurrent()
    if type(cur) is _Worker and cur.g is g:
        return True  # cancelling itself: its next wait raises
    sched = p.sched
    if sched.dead or sched.abandoned:
        return True  # its run() has returned: it is abandoned, never resumed (as in Go)
    if p.tid == get_ident():
        cancel_parked(g)
    else:
        loop = p.loop
        try:
            loop.call_soon_threadsafe(cancel_parked, g)
        except (RuntimeError, AttributeError):  # the runtime stopped meanwhile
            pass
    return True


runtime2._cancel = gocancel  # Goroutine.cancel (runtime2 cannot import this module)


def cancel_parked(g: Goroutine[Any]) -> None:
    """On g's processor thread: withdraw g's current park, if any, and wake it."""
    if g.status is WAITING and g.cancelreq and withdraw_park(g):
        g.param = _CANCELED
        goready(g)


def withdraw_park(g: Goroutine[Any]) -> bool:
    """Withdraw g's current (or just published) park through ``g.waitobj``:
    True if no waker will ready it now. On g's thread, g not running."""
    w = getattr(g, "waitobj", None)
    if w is None:
        return False
    withdrawn: bool = getattr(w, "_withdraw", w)(g.sudog)
    return withdrawn


def goready(g: Goroutine[Any]) -> None:
    """Make the WAITING goroutine ``g`` runnable on its own P. Any thread.

    On g's own thread it takes ``runnext``, kicking the previous one to the
    tail of ``runq`` (Go's runqput with next=true: a goroutine that wakes its
    partner and then parks hands the processor straight to it, runq.py);
    from another thread it goes to the P's ``inbox``. Channel hand-offs in
    _chan.py inline this (tests/test_inline_copies.py)."""
    g.status = RUNNABLE
    p = g.p
    if p.tid == get_ident():
        old = p.runnext
        p.runnext = g
        if old is not None:
            dq_append(p.runq, old)
        if p.sleeping:
            p.notify()
    else:
        dq_append(p.inbox, g)
        p.notify()


def gosched() -> None:
    """Yield the processor (Go's Gosched). A thread yields its time slice.

    Go puts the yielding G on the global queue, behind all local work; here it
    cannot leave its P, so it goes to the tail of the local FIFO and the next
    goroutine is picked unstarted-first, so everything already queued runs
    before it comes back.
    """
    g = getg()
    if g is None:
        time.sleep(0)
        return
    if g.cancelreq:
        raise take_cancel(g)
    p = g.p
    g.status = RUNNABLE
    g.waitreason = W_GOSCHED
    p.budget -= 1
    nxt = runqget_exit(p, p.sched.globalq) if p.budget > 0 else None
    dq_append(p.runq, g)
    if nxt is None:
        _switch(p.sched_glet, None)
    elif nxt.glet is None:
        if p.gfree:
            _switch(p.gfree.pop(), nxt)
        else:
            _switch(p.sched_glet, nxt)
    elif nxt is not g:
        _switch0(nxt.glet)
    if p.sched.dead:
        raise _greenlet_exit()
    g.status = RUNNING
    if g.cancelreq:  # cancelled while it let others run
        raise take_cancel(g)


def _greenlet_exit() -> BaseException:
    from greenlet import GreenletExit
    e: BaseException = GreenletExit()
    return e


# --------------------------------------------------------------------------
# Timers on the current P
# --------------------------------------------------------------------------


def add_timer(p: P, delay: float, fn: Callable[[Any], None], arg: Any = None,
              period: float = 0.0) -> Timer:
    """Arm a timer on ``p`` that calls ``fn(arg)`` on p's thread after ``delay``."""
    if delay > 1e9:
        delay = 1e9  # "a huge duration does not overflow": ~31 years
    t = Timer(_monotonic() + max(delay, 0.0), fn, arg, period)
    p.timers.add(t)
    return t


def _sleep_wake(g: Goroutine[Any]) -> None:
    goready(g)


def sleep(seconds: float) -> None:
    """Park the goroutine for at least ``seconds``; ``time.sleep`` in a thread.
    On an event loop's thread outside goroutines (a coroutine, a callback)
    it would freeze the loop: ``RuntimeError`` naming ``asyncio.sleep``."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    if seconds != seconds:
        raise ValueError("seconds must not be NaN")
    g = getg()
    if g is None:
        if seconds > 0:
            if _get_running_loop() is not None:
                raise _sema.loop_thread_error("gmploop.sleep()", "asyncio.sleep(seconds)")
            time.sleep(seconds)
        return
    if seconds <= 0:
        return
    gopark_prepare(g, W_SLEEP)
    g.waitobj = add_timer(g.p, seconds, _sleep_wake, g)  # Timer._withdraw
    gopark_commit(g)


# Modules of the core that this one calls back (sema: a goroutine's joiners;
# traceback: a deadlock report, a goroutine that raised; sysmon: starting the
# monitor). Imported last, as module references, since each imports this one.
from . import sema as _sema  # noqa: E402
from . import sysmon as _sysmon  # noqa: E402
from . import traceback as _traceback  # noqa: E402
