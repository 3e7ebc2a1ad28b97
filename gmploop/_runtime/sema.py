"""Waiting and waking for all three caller kinds: the one way to block.

This module owns the whole life of a waiter (a ``Sudog``, Go's sudog): getting
one, publishing it, claiming it, waking it, withdrawing it, and deciding when a
goroutine may reuse it. Channels, select, join, sync, context and net only call
these functions; none of them moves ``Sudog.state`` itself. The states and who
owns the record in each are in ``runtime2.SudogState``.

Every blocking structure has its own lock ``L`` and ``WaitQ`` queues:

1. Under ``L``, decide the caller must wait. ``new_sudog(g, reason)`` gets a
   waiter for the caller's kind: a goroutine's cached one if it is off every
   queue (``acquire_sudog``), else a fresh one; a thread's (a lock used as a
   binary semaphore); or ``new_async_sudog(loop)`` for a coroutine (a Future).
   It is WAITING, and a goroutine is marked WAITING before it is published.
2. ``q.enqueue(sg)``, release ``L``.
3. ``block(sg, timeout, withdraw)`` (goroutines, threads) or
   ``await ablock(...)`` (coroutines) waits. ``withdraw(sg)`` is the
   structure's own function that takes ``L`` and calls ``sema.withdraw``.
4. A waker, under ``L``, takes the waiter with ``q.dequeue()``, which *claims*
   it (WAITING -> CLAIMED; for a select, through the shared test-and-set),
   fills in ``elem/ok/success``, releases ``L`` and calls ``wake(sg)``.
   ``q.claim_all()`` claims every live waiter at once (close, a WaitGroup
   reaching zero, a Once finishing, a goroutine's joiners, admitted readers).
5. On timeout or cancellation ``withdraw(sg)`` runs: if the waiter is still
   WAITING it becomes CANCELLED (left on the queue, dropped lazily) and the wait
   fails; if a waker claimed it first, the wait *succeeds*: the value was
   delivered and must not be lost. A select withdraws by claiming its
   ``SelectDone`` with no winner, which kills every case's sudog at once.
6. Reuse: a goroutine keeps its last sudog in ``g.sudog`` and reuses it only if
   it is CLAIMED, i.e. a waker took it off its queue. A CANCELLED one, and a
   select's sudog that did not win, may still sit on a queue: reusing it would
   bring it back to life there (a later wait would take a value sent on
   another channel), so ``acquire_sudog`` makes a fresh one instead.

A claimed waiter is woken exactly once, so a value is never delivered twice,
and a withdrawn one is never claimed, so it is never lost.

Hot paths in _chan.py inline ``acquire_sudog``, ``WaitQ.enqueue`` and
``proc.goready``; tests/test_inline_copies.py compares each inlined copy with
its reference here by their ASTs, so the copies cannot drift.
"""

from __future__ import annotations

import asyncio
import math
from _thread import allocate_lock
from collections import deque
from typing import Any, Callable


from .proc import _Worker, _get_running_loop, add_timer, goready, gopark_commit
from . import runtime2
from .runtime2 import (DEAD, K_FUTURE, K_G, K_THREAD, SG_CANCELLED, SG_CLAIMED,
                       SG_WAITING, W_JOIN, WAITING, Goroutine, SelectDone, Sudog)

import cython  # compiled: Cython's own; pure: gmploop._build's stand-in

if cython.compiled:  # deque and greenlet calls as C calls (dequeops.pxd, capi.pxd)
    dq_init(deque)  # type: ignore[name-defined]  # noqa: F821
    PyGreenlet_Import()  # type: ignore[name-defined]  # noqa: F821
else:
    from greenlet import getcurrent

    from .dequeops import dq_append, dq_appendleft, dq_pop, dq_popleft


#: Wait queues shorter than this are never compacted (see WaitQ).
COMPACT_MIN = 32


class WaitQ(deque[Sudog]):
    """FIFO of sudogs with lazy deletion of withdrawn / lost-select waiters.

    Invariant: len(self) <= 2 * max(live waiters, COMPACT_MIN) after every
    enqueue, so long-running selects and timeouts do not leak (Go's
    test/chan/select2.go).
    """

    # ``_limit``: the length that triggers the next compaction, set by
    # ``_compact``; unset, COMPACT_MIN. No __init__: a channel makes two of
    # these, and a Python-level __init__ tripled the cost of each.
    __slots__ = ("_limit",)
    COMPACT_MIN = COMPACT_MIN

    def enqueue(self, sg: Sudog) -> None:
        """Publish ``sg`` (caller holds the queue's lock)."""
        dq_append(self, sg)
        if len(self) > COMPACT_MIN:
            self._maybe_compact()

    def _maybe_compact(self) -> None:
        if len(self) > getattr(self, "_limit", COMPACT_MIN):
            self._compact()

    def _compact(self) -> None:
        live = [sg for sg in self if is_live(sg)]
        self.clear()
        self.extend(live)
        self._limit = max(2 * len(live), COMPACT_MIN)

    def dequeue(self) -> Sudog | None:
        """Pop and claim the first live waiter (caller holds the lock)."""
        while self:
            sg = dq_popleft(self)
            if sg.state is SG_WAITING:
                sel = sg.sel
                if sel is None or sel.claim(sg):
                    sg.state = SG_CLAIMED
                    return sg
        return None

    def enqueue_front(self, sg: Sudog) -> None:
        """Publish ``sg`` at the head (a woken Mutex waiter that lost the race
        goes back first, mutex.go's LIFO requeue)."""
        dq_appendleft(self, sg)

    def take_back(self, sg: Sudog, front: bool) -> None:
        """The waiter itself completes the wait it just published (it got what
        it waited for without anyone's hand-off): unpublish ``sg``, the last
        one enqueued (``front``: the first), and mark it claimed, so that it
        is off the queue and reusable. Caller holds the lock."""
        if front:
            taken = dq_popleft(self)
        else:
            taken = dq_pop(self)
        assert taken is sg
        sg.state = SG_CLAIMED

    def claim_first(self) -> Sudog | None:
        """``dequeue()`` of a non-empty queue, quick when its head is a plain
        live waiter (the common case; hot paths inline this)."""
        sg = dq_popleft(self)
        if sg.state is SG_WAITING and sg.sel is None:
            sg.state = SG_CLAIMED
        else:
            dq_appendleft(self, sg)
            sg = self.dequeue()
        return sg

    def claim_all(self) -> list[Sudog]:
        """Pop and claim every live waiter, in order (caller holds the lock;
        it fills in the outcome, releases the lock, then ``wake_all``)."""
        out: list[Sudog] = []
        while True:
            sg = self.dequeue()
            if sg is None:
                return out
            out.append(sg)

    def has_live(self) -> bool:
        for sg in self:
            if is_live(sg):
                return True
        return False

    def live_count(self) -> int:
        return sum(1 for sg in self if is_live(sg))


def is_live(sg: Sudog) -> bool:
    """Still waiting: published, neither claimed nor withdrawn."""
    if sg.state is not SG_WAITING:
        return False
    sel = sg.sel
    return sel is None or not sel.claimed


def claim(sg: Sudog) -> bool:
    """Claim a waiter that sits on no queue (``lowlevel.park``): True if it
    was still waiting. The caller holds the lock that guards ``sg``, the same
    one its ``withdraw`` takes."""
    if sg.state is SG_WAITING:
        sg.state = SG_CLAIMED
        return True
    return False


def withdraw(sg: Sudog) -> bool:
    """Give up a wait (timeout, cancellation): True if ``sg`` was still
    waiting and now never will be claimed; False if a waker claimed it first
    (then the wait succeeded). A plain waiter's caller holds its queue's lock;
    a select's needs no lock: the shared test-and-set kills every case."""
    sel = sg.sel
    if sel is not None:
        return sel.claim(None)
    if sg.state is SG_WAITING:
        sg.state = SG_CANCELLED
        return True
    return False


# --------------------------------------------------------------------------
# Getting waiters
# --------------------------------------------------------------------------


def loop_thread_error(what: str, alt: str) -> RuntimeError:
    return RuntimeError(
        f"{what} would block the event loop running on this thread; "
        f"use 'await {alt}' in a coroutine, or call it from a goroutine or thread")


def caller_goroutine(what: str, alt: str) -> Goroutine[Any] | None:
    """The running goroutine, or None for a plain thread. Raises RuntimeError
    on an event loop's thread outside goroutines (blocking would freeze it)."""
    cur = getcurrent()
    if type(cur) is _Worker:
        return cur.g
    if _get_running_loop() is not None:
        raise loop_thread_error(what, alt)
    return None


def acquire_sudog(g: Goroutine[Any], reason: str) -> Sudog:
    """A WAITING sudog for goroutine ``g``, which is marked WAITING (Go's
    acquireSudog + gopark's first half). Reuses ``g.sudog`` only when a waker
    took it off its queue (step 6 of the header).

    A reused sudog gets back its state and loses its select claim; ``elem``,
    ``ok`` and ``success`` are left as they are, because every waiter writes
    ``elem`` before it publishes (or never reads it) and every waker writes
    all three before it wakes (a received value stays referenced until the
    goroutine's next wait, as it would in a local variable)."""
    sg = g.sudog
    if sg is None or sg.state is not SG_CLAIMED:
        sg = g.sudog = Sudog(K_G, g)
    else:
        sg.state = SG_WAITING
        sg.sel = None
    g.status = WAITING
    g.waitreason = reason
    return sg


def new_sudog(g: Goroutine[Any] | None, reason: str) -> Sudog:
    """A waiter for goroutine ``g`` (marked WAITING now) or, if None, this thread."""
    if g is not None:
        return acquire_sudog(g, reason)
    sg = Sudog(K_THREAD)
    lk = allocate_lock()
    lk.acquire()
    sg.lock = lk
    return sg


def new_async_sudog(loop: asyncio.AbstractEventLoop) -> Sudog:
    """A waiter for the running coroutine: a Future on ``loop``."""
    sg = Sudog(K_FUTURE)
    sg.loop = loop
    sg.fut = loop.create_future()
    return sg


def sibling(first: Sudog) -> Sudog:
    """Another waiter of the same party (for select: one per case). Only
    ``first`` may become a goroutine's cached sudog."""
    sg = Sudog(first.kind, first.g)
    sg.lock = first.lock
    sg.fut = first.fut
    sg.loop = first.loop
    return sg


# --------------------------------------------------------------------------
# Waking
# --------------------------------------------------------------------------


def _resolve(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_result(None)


def wake(sg: Sudog) -> None:
    """Wake a claimed waiter. Call after releasing the queue's lock."""
    k = sg.kind
    if k == K_G:
        goready(sg.g)
    elif k == K_THREAD:
        lk = sg.lock
        assert lk is not None
        lk.release()
    else:
        loop = sg.loop
        assert loop is not None and sg.fut is not None
        if _get_running_loop() is loop:
            _resolve(sg.fut)
        else:
            try:
                loop.call_soon_threadsafe(_resolve, sg.fut)
            except RuntimeError:  # loop closed: nobody is left to wake
                pass


def wake_all(sgs: list[Sudog]) -> None:
    """Wake claimed waiters (after releasing the queue's lock)."""
    for sg in sgs:
        wake(sg)


# --------------------------------------------------------------------------
# Blocking (goroutines and threads)
# --------------------------------------------------------------------------


def check_timeout(timeout: Any) -> float | None:
    """Validate a ``timeout`` argument: None, or a number (negative = 0)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number or None, not {type(timeout).__name__}")
    if math.isnan(timeout):
        raise ValueError("timeout must not be NaN")
    return timeout if timeout > 0 else 0.0


def _timer_fire(arg: tuple[Sudog, Callable[[Sudog], bool]]) -> None:
    sg, withdraw_ = arg
    if withdraw_(sg):
        sg.success = False
        goready(sg.g)


def block(sg: Sudog, timeout: float | None, withdraw_: Callable[[Sudog], bool]) -> bool:
    """Wait until ``sg`` is woken. True if a waker claimed it; False if the
    timeout won (then ``withdraw_`` withdrew it). The caller has released its
    lock. ``withdraw_(sg)`` takes the lock itself and calls ``withdraw``."""
    if sg.kind == K_G:
        g = sg.g
        g.waitobj = withdraw_  # what a cancellation withdraws (proc.py)
        if timeout is None:
            gopark_commit(g)
            return True
        t = add_timer(g.p, timeout, _timer_fire, (sg, withdraw_))
        try:
            gopark_commit(g)
        except BaseException:  # Canceled (or the runtime stopping)
            g.p.timers.stop(t)
            raise
        if t.active:
            g.p.timers.stop(t)
            return True
        # The timer fired: it either withdrew us, or lost to a waker.
        return not _withdrawn(sg)
    lk = sg.lock
    assert lk is not None
    if timeout is None:
        lk.acquire()
        return True
    if lk.acquire(True, min(timeout, 1e6)):
        return True
    if withdraw_(sg):
        return False
    lk.acquire()  # a waker claimed us and is about to release
    return True


def _withdrawn(sg: Sudog) -> bool:
    """After the wait: True if ``withdraw`` won over every waker."""
    sel = sg.sel
    if sel is not None:
        return sel.won is None
    return sg.state is SG_CANCELLED


_COMPLETE: Any = object()


async def ablock(sg: Sudog, timeout: float | None, withdraw_: Callable[[Sudog], bool],
                 give_back: Any = _COMPLETE) -> bool:
    """Coroutine form of ``block``: True if woken, False if the timeout won.

    On task cancellation, a waiter still waiting is withdrawn and
    CancelledError propagates. If a waker already claimed it, what happens
    depends on what the waiter was given:

    - a value (channels; ``give_back`` left out): the operation *completes*,
      so nothing is lost, and the cancellation is re-armed for the task's next
      suspension (a callback once this step ends re-cancels it, if the request
      is still outstanding); a task that returns before then keeps its result;
    - a grant (a lock, semaphore units; ``give_back`` callable or None):
      ``give_back(sg)`` passes the grant on and CancelledError propagates, as
      ``asyncio.Lock`` does, so a cancelled task never returns holding it.
    """
    fut = sg.fut
    loop = sg.loop
    assert fut is not None and loop is not None
    try:
        if timeout is None:
            await fut
        else:
            handle = loop.call_later(timeout, _resolve_timeout, fut)
            try:
                await fut
            finally:
                handle.cancel()
            if fut.result() == "timeout":
                if withdraw_(sg):
                    return False
        return True
    except asyncio.CancelledError:
        if withdraw_(sg):
            raise
        if give_back is not _COMPLETE:
            if give_back is not None:
                give_back(sg)
            raise
        task = asyncio.current_task()
        if task is not None:
            # Re-arm the cancellation at the task's next suspension, not now:
            # a pending cancel at return would make a task whose coroutine is
            # this very operation end cancelled and drop the value.
            loop.call_soon(_recancel, task)
        return True


def _recancel(task: asyncio.Task[Any]) -> None:
    # Only if the request is still outstanding: an asyncio.timeout() that
    # expired at the hand-off has consumed it (uncancel) on leaving its block.
    if not task.done() and task.cancelling() > 0:
        task.uncancel()
        task.cancel()


def _resolve_timeout(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_result("timeout")


# --------------------------------------------------------------------------
# Joining goroutines (Goroutine.join / ajoin / await g; proc.worker_main
# wakes the joiners when a goroutine ends)
# --------------------------------------------------------------------------


class JoinQ:
    """Waiters for one goroutine's end."""

    __slots__ = ("lock", "q")

    def __init__(self) -> None:
        self.lock = allocate_lock()
        self.q = WaitQ()

    def withdraw(self, sg: Sudog) -> bool:
        with self.lock:
            return withdraw(sg)


def wake_joiners(g: Goroutine[Any]) -> None:
    jq = g.joinq
    assert jq is not None
    with jq.lock:
        woken = jq.q.claim_all()
        for sg in woken:
            sg.success = True
    if woken:
        g.quiet = True  # its joiners get its exception: excepthook is not told
    wake_all(woken)


_joinq_lock = allocate_lock()


def _joinq(g: Goroutine[Any]) -> JoinQ:
    jq = g.joinq
    if jq is None:
        with _joinq_lock:
            jq = g.joinq
            if jq is None:
                jq = g.joinq = JoinQ()
    return jq


def _outcome(g: Goroutine[Any]) -> Any:
    if g.exc is not None:
        raise g.exc
    return g.result


def join(g: Goroutine[Any], timeout: float | None = None) -> Any:
    """``Goroutine.join``: wait for ``g`` to finish; its result, or its
    exception re-raised. ``TimeoutError`` if not done in time."""
    timeout = check_timeout(timeout)
    if g.status is DEAD:
        return _outcome(g)
    me = caller_goroutine("Goroutine.join()", "g")
    if me is g:
        raise RuntimeError("a goroutine cannot join itself")
    jq = _joinq(g)
    with jq.lock:
        if g.status is DEAD:
            return _outcome(g)
        if timeout == 0:
            raise TimeoutError(f"goroutine {g.id} did not finish in time")
        sg = new_sudog(me, W_JOIN)
        jq.q.enqueue(sg)
    if not block(sg, timeout, jq.withdraw):
        raise TimeoutError(f"goroutine {g.id} did not finish in time")
    return _outcome(g)


async def ajoin(g: Goroutine[Any], timeout: float | None = None) -> Any:
    """``Goroutine.ajoin`` and ``await g``: ``join`` for a coroutine. As
    awaiting a Task, cancelling the awaiting task cancels the goroutine
    (``asyncio.wait_for(g, t)`` does); ``asyncio.shield(g)`` protects it."""
    timeout = check_timeout(timeout)
    if g.status is DEAD:
        return _outcome(g)
    jq = _joinq(g)
    loop = asyncio.get_running_loop()
    with jq.lock:
        if g.status is DEAD:
            return _outcome(g)
        sg = new_async_sudog(loop)
        jq.q.enqueue(sg)
    try:
        ok = await ablock(sg, timeout, jq.withdraw)
    except asyncio.CancelledError:
        g.cancel()
        raise
    if not ok:
        raise TimeoutError(f"goroutine {g.id} did not finish in time")
    return _outcome(g)


# Goroutine's methods call these (runtime2 cannot import this module).
runtime2._join = join
runtime2._ajoin = ajoin


__all__ = [
    "WaitQ", "JoinQ", "is_live", "acquire_sudog", "new_sudog", "new_async_sudog", "sibling",
    "claim", "withdraw", "wake", "wake_all", "block", "ablock", "check_timeout",
    "caller_goroutine", "loop_thread_error", "wake_joiners", "join", "ajoin",
    "SelectDone",
]
