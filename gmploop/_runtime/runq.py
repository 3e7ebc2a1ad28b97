"""Run queues and work stealing: the data-structure half of proc.go.

Each processor P keeps three queues (all ``collections.deque``, whose append and
pop at either end are atomic, also on free-threaded builds):

``newq``   goroutines that have never run. Only these may move between
           processors (a started goroutine is pinned to its greenlet's thread,
           docs/internals.md). The owner pushes and pops at the right end (LIFO,
           "work first", as Cilk and rayon do: fork-join trees like skynet then
           run depth-first and keep a handful of goroutines parked instead of the
           whole tree); thieves take from the left end, the oldest, which in a
           fork-join tree are the largest pieces of work. Every
           ``GLOBAL_CHECK_TICKS`` ticks the owner also takes the oldest, so no
           goroutine waits forever behind newer ones.
``runq``   started goroutines made runnable again on their own thread, FIFO.
           Owner-only.
``runnext`` the goroutine readied last on this thread (Go's runnext): it runs
           before ``runq``, so a goroutine that wakes its partner and then parks
           hands the processor straight to it. A newer ready kicks the older one
           to the tail of ``runq`` (both done by ``proc.goready``, which the
           channel hand-offs inline). This is what makes a consumer draining a
           buffered channel run right after the producer that filled it (and
           not after every other blocked producer, which would each wake only
           to block again: the contended benchmark).
``inbox``  started goroutines made runnable from another thread: the waker
           appends, the owner moves them to ``runq`` at its next schedule.

Why not Go's single ring plus ``runnext``: Go moves every G freely, so one queue
serves both; here a thief must be able to take unstarted work without touching
pinned goroutines, and keeping the two apart makes that a single atomic pop.

Order within a schedule. Two paths pick the next goroutine, and they differ on
purpose (measured on skynet and fan-out, see docs/internals.md):

- ``runqget`` (a goroutine parks, or the scheduler starts a batch): ``runnext``,
  then readied goroutines (FIFO), then unstarted ones (LIFO). A readied goroutine is
  usually the partner of whoever just parked; running new work first instead
  starves it, and on skynet every leaf then parks on its unbuffered send with a
  greenlet of its own (10,000 greenlets alive instead of a few dozen).
- ``runqget_exit`` (a goroutine returned, its greenlet is free): unstarted
  goroutines first, then ``runnext``, then ``runq``, because they run *inline* on that greenlet with no switch
  at all (fan-out of 100k: one switch in total instead of two per goroutine).
  Readied goroutines wait at most until the batch ends (``BATCH`` ticks), as
  every batch starts with ``runqget``.

Every ``GLOBAL_CHECK_TICKS`` ticks both first look at the global queue, then
the oldest unstarted goroutine (so the LIFO end cannot starve the old ones).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .config import GLOBAL_CHECK_TICKS

import cython  # compiled: Cython's own; pure: gmploop._build's stand-in

if cython.compiled:  # deque calls as C calls (dequeops.pxd)
    dq_init(deque)  # type: ignore[name-defined]  # noqa: F821
else:
    from .dequeops import dq_append, dq_appendleft, dq_pop, dq_popleft

if TYPE_CHECKING:
    from .runtime2 import Goroutine


class LocalQueues:
    """The queues of one processor. ``P`` in proc.py inherits from this."""

    __slots__ = ("newq", "runq", "runnext", "inbox", "schedtick")

    def __init__(self) -> None:
        self.newq: deque[Goroutine[Any]] = deque()
        self.runq: deque[Goroutine[Any]] = deque()
        self.runnext: Goroutine[Any] | None = None
        self.inbox: deque[Goroutine[Any]] = deque()
        self.schedtick = 0

    def has_work(self) -> bool:
        return bool(self.newq or self.runq or self.inbox or self.runnext is not None)

    def drain_inbox(self) -> None:
        """Move cross-thread readies into the FIFO, keeping their order."""
        inbox = self.inbox
        runq = self.runq
        try:
            while True:
                dq_append(runq, dq_popleft(inbox))
        except IndexError:
            pass


def runqget(pp: LocalQueues, globalq: deque[Goroutine[Any]]) -> Goroutine[Any] | None:
    """Next goroutine for ``pp`` to run, or None: readied first. Owner thread.

    proc.gopark_commit inlines this (the hot path of every park), so it has
    one exit: tests/test_inline_copies.py compares the copy with this body.
    """
    if pp.inbox:
        pp.drain_inbox()
    pp.schedtick += 1
    nxt = None
    if pp.schedtick % GLOBAL_CHECK_TICKS == 0:
        nxt = runqget_fair(pp, globalq)
    if nxt is None:
        nxt = pp.runnext
        if nxt is not None:
            pp.runnext = None
        elif pp.runq:
            nxt = dq_popleft(pp.runq)
        elif pp.newq:
            try:
                nxt = dq_pop(pp.newq)
            except IndexError:  # a thief took the last one meanwhile
                pass
    return nxt


def runqget_exit(pp: LocalQueues, globalq: deque[Goroutine[Any]]) -> Goroutine[Any] | None:
    """Next goroutine after one returned: unstarted first (runs inline).

    proc.P.goexit inlines this (every goroutine's end), so it has one exit:
    tests/test_inline_copies.py compares the copy with this body.
    """
    if pp.inbox:
        pp.drain_inbox()
    pp.schedtick += 1
    nxt = None
    if pp.schedtick % GLOBAL_CHECK_TICKS == 0:
        nxt = runqget_fair(pp, globalq)
    if nxt is None:
        if pp.newq:
            try:
                nxt = dq_pop(pp.newq)
            except IndexError:  # a thief took the last one meanwhile
                pass
        if nxt is None:
            nxt = pp.runnext
            if nxt is not None:
                pp.runnext = None
            elif pp.runq:
                nxt = dq_popleft(pp.runq)
    return nxt


def runqget_fair(pp: LocalQueues, globalq: deque[Goroutine[Any]]) -> Goroutine[Any] | None:
    """The every-61-ticks pick (proc.go: "check the global runnable queue once
    in a while"): global queue, then the oldest unstarted, then the oldest
    readied goroutine. Readied ones in ``runq`` come before ``runnext`` here,
    so two goroutines that keep readying each other cannot starve them."""
    try:
        return globalq.popleft()
    except IndexError:
        pass
    try:
        return pp.newq.popleft()
    except IndexError:
        pass
    if pp.runq:
        return pp.runq.popleft()
    return None


def globrunqget(pp: LocalQueues, globalq: deque[Goroutine[Any]],
                nprocs: int) -> Goroutine[Any] | None:
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


def runqsteal(pp: LocalQueues, victim: LocalQueues, take_last: bool) -> Goroutine[Any] | None:
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
