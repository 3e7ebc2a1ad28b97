"""Waiting and waking for all three caller kinds: the one way to block.

Every blocking structure (channel, select, join, WaitGroup, Mutex, ...) follows
the same protocol, with its own lock ``L`` and ``WaitQ`` queues:

1. Under ``L``, decide the caller must wait. ``new_sudog()`` makes a waiter for
   the caller's kind (goroutine, thread, or coroutine: ``new_async_sudog``),
   which also marks a goroutine WAITING before it is published.
2. ``q.enqueue(sg)``, release ``L``.
3. ``block(sg, timeout, cancel)`` (goroutines, threads) or
   ``await ablock(sg, timeout, cancel)`` (coroutines) waits.
4. A waker, under ``L``, takes the waiter with ``q.dequeue()`` (which *claims*
   it: for a select, by the shared test-and-set), fills in ``elem/ok/success``,
   releases ``L`` and calls ``wake(sg)``.
5. On timeout or cancellation, ``cancel(sg)`` runs: under ``L`` it checks
   whether a waker already claimed the waiter; if not, it marks it cancelled
   (lazily removed) and the wait fails; if so, the wait *succeeds*: the value
   was delivered and must not be lost.

A claimed waiter is woken exactly once, so a value is never delivered twice,
and a cancelled one is never claimed, so it is never lost.
"""

from __future__ import annotations

import asyncio
import math
from _thread import allocate_lock
from collections import deque
from typing import Any, Callable

from greenlet import getcurrent

from .proc import (_Worker, _get_running_loop, add_timer, goready,
                   gopark_commit, gopark_prepare)
from .runtime2 import K_FUTURE, K_G, K_THREAD, SelectDone, Sudog


class WaitQ(deque):
    """FIFO of sudogs with lazy deletion of cancelled / lost-select waiters.

    Invariant: len(self) <= 2 * max(live waiters, COMPACT_MIN) after every
    enqueue, so long-running selects and timeouts do not leak (Go's
    test/chan/select2.go).
    """

    __slots__ = ("_limit",)
    COMPACT_MIN = 32

    def __init__(self) -> None:
        super().__init__()
        self._limit = self.COMPACT_MIN

    def enqueue(self, sg: Sudog) -> None:
        self.append(sg)
        if len(self) > self._limit:
            self._compact()

    def _compact(self) -> None:
        live = [sg for sg in self if _live(sg)]
        self.clear()
        self.extend(live)
        self._limit = max(2 * len(live), self.COMPACT_MIN)

    def dequeue(self) -> Sudog | None:
        """Pop and claim the first live waiter (caller holds the lock)."""
        while self:
            sg = self.popleft()
            sel = sg.sel
            if sel is None:
                if not sg.cancelled:
                    sg.cancelled = None  # claimed: neither waiting nor cancelled
                    return sg
            elif sel.claim(sg):
                return sg
        return None

    def has_live(self) -> bool:
        for sg in self:
            if _live(sg):
                return True
        return False

    def live_count(self) -> int:
        return sum(1 for sg in self if _live(sg))


def _live(sg: Sudog) -> bool:
    if sg.cancelled is not False:
        return False
    sel = sg.sel
    return sel is None or not sel.claimed


def cancel_plain(sg: Sudog) -> bool:
    """For a single-queue waiter, under its queue's lock: True if it was still
    waiting (now cancelled), False if a waker already claimed it."""
    if sg.cancelled is False:
        sg.cancelled = True
        return True
    return False


# --------------------------------------------------------------------------
# Making waiters
# --------------------------------------------------------------------------


def loop_thread_error(what: str, alt: str) -> RuntimeError:
    return RuntimeError(
        f"{what} would block the event loop running on this thread; "
        f"use 'await {alt}' in a coroutine, or call it from a goroutine or thread")


def caller_goroutine(what: str, alt: str):
    """The running goroutine, or None for a plain thread. Raises RuntimeError
    on an event loop's thread outside goroutines (blocking would freeze it)."""
    cur = getcurrent()
    if type(cur) is _Worker:
        return cur.g
    if _get_running_loop() is not None:
        raise loop_thread_error(what, alt)
    return None


def new_sudog(g, reason: str) -> Sudog:
    """A waiter for goroutine ``g`` (marked WAITING now) or, if None, this thread."""
    if g is not None:
        sg = g.sudog
        if sg is None or sg.cancelled is True:
            sg = g.sudog = Sudog(K_G, g)
        else:
            sg.elem = None
            sg.ok = False
            sg.success = False
            sg.sel = None
        sg.cancelled = False
        gopark_prepare(g, reason)
        return sg
    sg = Sudog(K_THREAD)
    lk = allocate_lock()
    lk.acquire()
    sg.lock = lk
    sg.cancelled = False
    return sg


def new_async_sudog(loop: asyncio.AbstractEventLoop) -> Sudog:
    sg = Sudog(K_FUTURE)
    sg.loop = loop
    sg.fut = loop.create_future()
    sg.cancelled = False
    return sg


def sibling(first: Sudog) -> Sudog:
    """Another waiter of the same party (for select: one per case)."""
    sg = Sudog(first.kind, first.g)
    sg.lock = first.lock
    sg.fut = first.fut
    sg.loop = first.loop
    sg.cancelled = False
    return sg


# --------------------------------------------------------------------------
# Waking
# --------------------------------------------------------------------------


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


def wake(sg: Sudog) -> None:
    """Wake a claimed waiter. Call after releasing the queue's lock."""
    k = sg.kind
    if k == K_G:
        goready(sg.g)
    elif k == K_THREAD:
        sg.lock.release()
    else:
        loop = sg.loop
        if _get_running_loop() is loop:
            _resolve(sg.fut)
        else:
            try:
                loop.call_soon_threadsafe(_resolve, sg.fut)
            except RuntimeError:  # loop closed: nobody is left to wake
                pass


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


def _timer_fire(arg: tuple) -> None:
    sg, cancel = arg
    if cancel(sg):
        sg.success = False
        goready(sg.g)


def block(sg: Sudog, timeout: float | None, cancel: Callable[[Sudog], bool]) -> bool:
    """Wait until ``sg`` is woken. True if a waker claimed it; False if the
    timeout won (then ``cancel`` already removed it). The caller has released
    its lock. ``cancel(sg)`` must take the lock itself."""
    if sg.kind == K_G:
        g = sg.g
        if timeout is None:
            gopark_commit(g)
            return True
        t = add_timer(g.p, timeout, _timer_fire, (sg, cancel))
        gopark_commit(g)
        if t.active:
            g.p.timers.stop(t)
            return True
        # The timer fired: it either cancelled us, or lost to a waker.
        return not _was_cancelled(sg)
    lk = sg.lock
    if timeout is None:
        lk.acquire()
        return True
    if lk.acquire(True, min(timeout, 1e6)):
        return True
    if cancel(sg):
        return False
    lk.acquire()  # a waker claimed us and is about to release
    return True


def _was_cancelled(sg: Sudog) -> bool:
    if sg.sel is not None:
        return sg.sel.won is None
    return sg.cancelled is True


_COMPLETE: Any = object()


async def ablock(sg: Sudog, timeout: float | None, cancel: Callable[[Sudog], bool],
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
    try:
        if timeout is None:
            await fut
        else:
            handle = sg.loop.call_later(timeout, _resolve_timeout, fut)
            try:
                await fut
            finally:
                handle.cancel()
            if fut.result() == "timeout":
                if cancel(sg):
                    return False
        return True
    except asyncio.CancelledError:
        if cancel(sg):
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
            sg.loop.call_soon(_recancel, task)
        return True


def _recancel(task: asyncio.Task) -> None:
    # Only if the request is still outstanding: an asyncio.timeout() that
    # expired at the hand-off has consumed it (uncancel) on leaving its block.
    if not task.done() and task.cancelling() > 0:
        task.uncancel()
        task.cancel()


def _resolve_timeout(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result("timeout")


# --------------------------------------------------------------------------
# Joining goroutines (used by proc.goexit)
# --------------------------------------------------------------------------


class JoinQ:
    """Waiters for one goroutine's end."""

    __slots__ = ("lock", "q")

    def __init__(self) -> None:
        self.lock = allocate_lock()
        self.q = WaitQ()


def wake_joiners(g) -> None:
    jq = g.joinq
    with jq.lock:
        woken = []
        while True:
            sg = jq.q.dequeue()
            if sg is None:
                break
            sg.success = True
            woken.append(sg)
    for sg in woken:
        wake(sg)


__all__ = [
    "WaitQ", "JoinQ", "new_sudog", "new_async_sudog", "sibling", "wake", "block",
    "ablock", "cancel_plain", "check_timeout", "caller_goroutine",
    "loop_thread_error", "wake_joiners", "SelectDone",
]
