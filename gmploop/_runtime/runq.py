"""Run queues and work stealing: the data-structure half of proc.go.

Each processor P keeps three queues (all ``collections.deque``, whose append and
pop at either end are atomic, also on free-threaded builds):

``newq``   goroutines that have never run. Only these may move between
           processors (a started goroutine is pinned to its greenlet's thread,
           DESIGN.md fact 1). The owner pushes and pops at the right end (LIFO,
           "work first", as Cilk and rayon do: fork-join trees like skynet then
           run depth-first and keep a handful of goroutines parked instead of the
           whole tree); thieves take from the left end, the oldest, which in a
           fork-join tree are the largest pieces of work. Every
           ``GLOBAL_CHECK_TICKS`` ticks the owner also takes the oldest, so no
           goroutine waits forever behind newer ones.
``runq``   started goroutines made runnable again on their own thread, FIFO.
           Owner-only.
``inbox``  started goroutines made runnable from another thread: the waker
           appends, the owner moves them to ``runq`` at its next schedule.

Why not Go's single ring plus ``runnext``: Go moves every G freely, so one queue
serves both; here a thief must be able to take unstarted work without touching
pinned goroutines, and keeping the two apart makes that a single atomic pop.

Order within a schedule (``runqget``): every 61st tick the global queue, then the
oldest unstarted goroutine, then the oldest readied one (fairness); otherwise
unstarted work first (it runs inline on the finishing goroutine's greenlet, with
no switch at all), then readied goroutines.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .config import GLOBAL_CHECK_TICKS


class LocalQueues:
    """The queues of one processor. ``P`` in proc.py inherits from this."""

    __slots__ = ("newq", "runq", "inbox", "schedtick")

    def __init__(self) -> None:
        self.newq: deque = deque()
        self.runq: deque = deque()
        self.inbox: deque = deque()
        self.schedtick = 0


def runqget(pp: LocalQueues, globalq: deque) -> Any:
    """Next goroutine for ``pp`` to run, or None. Owner thread only."""
    inbox = pp.inbox
    runq = pp.runq
    if inbox:
        # Drain cross-thread readies into the FIFO, keeping their order.
        try:
            while True:
                runq.append(inbox.popleft())
        except IndexError:
            pass
    pp.schedtick += 1
    if pp.schedtick % GLOBAL_CHECK_TICKS == 0:
        # Fairness (proc.go: "check the global runnable queue once in a while").
        try:
            return globalq.popleft()
        except IndexError:
            pass
        try:
            return pp.newq.popleft()
        except IndexError:
            pass
        if runq:
            return runq.popleft()
    try:
        return pp.newq.pop()
    except IndexError:
        pass
    if runq:
        return runq.popleft()
    return None


def globrunqget(pp: LocalQueues, globalq: deque, nprocs: int) -> Any:
    """Take a batch from the global queue (proc.go globrunqget): one to run now,
    up to ``len/nprocs`` more onto ``pp``'s unstarted queue. Returns one or None."""
    try:
        first = globalq.popleft()
    except IndexError:
        return None
    n = min(len(globalq) // max(nprocs, 1), 128)
    newq = pp.newq
    for _ in range(n):
        try:
            newq.appendleft(globalq.popleft())
        except IndexError:
            break
    return first


def runqsteal(pp: LocalQueues, victim: LocalQueues, take_last: bool) -> Any:
    """Steal half of ``victim``'s unstarted goroutines onto ``pp`` (proc.go
    runqsteal/runqgrab). Returns one of them to run now, or None.

    ``take_last`` allows taking a victim's only goroutine; the caller passes it
    only when the victim is stuck on a long-running goroutine, the counterpart
    of runqgrab's rule not to steal a ``runnext`` its owner is about to run.
    """
    vq = victim.newq
    n = len(vq)
    if n == 0 or (n == 1 and not take_last):
        return None
    n -= n // 2
    got = []
    for _ in range(n):
        try:
            got.append(vq.popleft())  # oldest first; the owner pops the right end
        except IndexError:
            break
    if not got:
        return None
    first = got[0]
    # Keep the stolen ones in their order: the owner pops the right end, so the
    # oldest must be at the right to run first.
    pp.newq.extend(reversed(got[1:]))
    return first
