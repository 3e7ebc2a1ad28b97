"""Go's ``sync`` (WaitGroup, Mutex, RWMutex, Once), ``x/sync/semaphore``
(Semaphore) and ``x/sync/errgroup`` (Group), for goroutines, threads and
asyncio coroutines at once. Counterparts of src/sync/mutex.go, rwmutex.go,
waitgroup.go, once.go and golang.org/x/sync/{semaphore,errgroup}.

Every wait goes through the runtime's one waiter protocol (``_runtime/sema.py``):
under the primitive's internal lock ("guard") the caller decides to wait,
publishes a sudog on a ``WaitQ`` and releases the guard; ``block`` parks a
goroutine or blocks a thread, ``ablock`` awaits for a coroutine; a
waker claims the sudog under the guard, fills in its result (``sg.success``)
and wakes it after releasing the guard. No polling, no sleeping loops. Timeouts
and task cancellation withdraw the sudog through the primitive's ``_withdraw*``
method.

Task cancellation (asyncio.Lock's rule): a cancelled ``alock``/``arlock``/
``aacquire`` never returns holding anything. If the cancellation races with a
grant (the waker already claimed the sudog and handed over the lock or the
units), the grant is passed on (``give_back``) and ``CancelledError``
propagates: ``sema.ablock`` called with ``give_back``. (For a channel value,
``ablock`` instead completes the operation and re-arms the cancellation; for a
lock that would leave it held by a task that is being cancelled and, with
``asyncio.timeout()``, turn the timeout into a stray CancelledError later.)

Mutex (mutex.go)
----------------
State: ``_l``, the word that *is* the mutex (held <=> locked; not owned: any
thread may clear it, as in Go); ``_guard`` protecting ``_q`` (the waiters),
``_starving`` and ``_woken``. ``_l`` and the fast paths are ``MutexCore``'s
(``_runtime/mutexcore.py``): interpreted, ``_l`` is a raw ``_thread`` lock;
compiled, a C flag tested and set under the GIL. The slow paths below use its
three operations: ``try_lock()``, ``_release_l()``, ``locked()``.

Uncontended lock/unlock never touch the guard: ``lock`` is one test-and-set
of ``_l``, ``unlock`` one clear plus a look at ``_q``. Compiled, that is faster
than ``threading.Lock``'s ``acquire()``/``release()`` (benchmarks/bench_sync.py).

Normal mode: waiters queue FIFO, but a woken waiter does not own the mutex; it
competes with newcomers ("barging"), which is what makes a mutex fast under
contention. ``_woken`` records that one waiter is already on its way, so an
unlock does not wake a second one (Go's mutexWoken). A woken waiter that loses
goes back to the *front* of the queue.

Starvation mode: a woken waiter that has waited more than 1 ms
(``STARVATION_S``) sets ``_starving``. From then on ``unlock`` hands the mutex
directly to the head waiter (``_l`` stays held, the waiter wakes owning it:
``sg.success = True``) and newcomers queue at the tail instead of barging. The
mode ends when a waiter that is handed the mutex waited less than 1 ms or was
the last one.

Lost wake-ups: the unlock fast path releases ``_l`` *then* looks at ``_q``
without the guard. So a waiter publishes its sudog first and then tries
``_l`` once more, under the guard:

1. guard; (woken before: clear ``_woken``, maybe set ``_starving``)
2. not starving: try ``_l`` -> got it: done. (Deadline passed: give up.)
3. enqueue the sudog (front if woken before).
4. try ``_l`` again -> got it: normal mode: unpublish, done; starving: the
   mutex belongs to the head waiter: hand it over (maybe to ourselves).
5. release the guard, block.

An unlocker that released before step 3 is seen by step 4; one that released
after step 3 sees the sudog in ``_q`` and wakes it (``_wake``).

Invariants: ``_starving`` implies ``_q`` is non-empty (dead entries count:
they leave only through ``dequeue``, which clears the mode when it finds no
live waiter); ``_woken`` is set only while a woken, not-yet-retried waiter
exists. A woken waiter that leaves instead of retrying (a cancelled coroutine
in ``_give_back``; a timeout that expired while it was being woken, in step 1)
clears ``_woken`` and passes the wake on (``_pass_wake``): the unlock that
woke it woke nobody else, and in starvation mode the mutex may be free with
waiters queued. (Missing that for the timeout lost wake-ups: waiters left
queued on a free, starving mutex; tests/test_sync.py
``test_mutex_woken_waiter_timing_out_passes_the_wake_on``.) A waiter about to
time out does not turn the mutex starving.

Rejected: a bool under the guard as the mutex state (two more lock operations
per lock/unlock pair: about 2x slower uncontended); always handing the mutex
to the first waiter (a lock convoy: every unlock then pays a wake-up, ~47 us
across threads on the reference VM, even when the unlocker would re-lock at
once); a spin phase before parking (Go spins on multicore; under the GIL a
spinning thread only delays the holder).

RWMutex (rwmutex.go)
--------------------
Under a guard: ``_readers`` (active), ``_writer`` (held), waiting readers and
writers on two queues with live counts ``_nrw``/``_nww``. A waiting writer
blocks new readers (``rlock`` waits while ``_nww``), so writers are not
starved; a writer's unlock admits every waiting reader before the next writer
(which then waits for them to drain), so readers are not starved either.
Hand-off is direct: the waker counts the reader in / marks the writer before
waking it.

Invariants (under the guard): ``_writer`` implies ``_readers == 0``;
``_nww > 0`` implies the lock is held (``_writer`` or ``_readers > 0``).

Semaphore (x/sync/semaphore)
----------------------------
Weighted, strictly FIFO: a waiter at the head that wants more than is free
blocks later, smaller ones (no starvation of big acquirers). A cancelled head
waiter lets the ones behind it proceed.

Group (x/sync/errgroup)
-----------------------
A WaitGroup, the first error, an optional derived context cancelled at the
first error or when ``wait`` returns, and an optional slot semaphore
(``set_limit``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from _thread import allocate_lock
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any, Callable, ParamSpec, TypeVar, overload

from ._runtime.runtime2 import (RUNNING, Canceled, W_MUTEX, W_RWMUTEX_R, W_RWMUTEX_W,
                                W_SEMACQUIRE, W_SYNC_WAIT, Goroutine, Sudog)
from ._runtime.sema import (WaitQ, ablock, block, caller_goroutine, check_timeout,
                            is_live, new_async_sudog, new_sudog, wake, wake_all,
                            withdraw)
from ._go import call_fn as _call_fn
from ._go import go as _go
from ._runtime.mutexcore import _UNLOCKED_MSG, MutexCore
from ._runtime.proc import getg

if TYPE_CHECKING:
    from ._context import Context

_monotonic = time.monotonic

#: A woken Mutex waiter that has waited longer than this switches the mutex
#: to starvation mode (mutex.go's starvationThresholdNs = 1e6).
STARVATION_S = 1e-3


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _check_int(name: str, v: Any, minimum: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int, not {type(v).__name__}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _check_fn(fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")


# --------------------------------------------------------------------------
# WaitGroup
# --------------------------------------------------------------------------


class WaitGroup:
    """Go's ``sync.WaitGroup``: wait for a collection of goroutines (or
    threads, or tasks) to finish.

    ``add(n)`` before starting work, ``done()`` when a piece finishes,
    ``wait()`` (or ``await wg``) until the counter is zero. ``go(fn, ...)``
    does all three for a goroutine. The counter going below zero raises
    ``ValueError``.
    """

    __slots__ = ("_n", "_guard", "_q")

    def __init__(self) -> None:
        self._n = 0
        self._guard = allocate_lock()
        self._q = WaitQ()

    def add(self, n: int = 1) -> None:
        """Add ``n`` (may be negative) to the counter; at zero every waiter
        wakes. Below zero -> ``ValueError`` (the counter is left unchanged)."""
        if type(n) is not int:
            _check_int("n", n)
        guard = self._guard
        guard.acquire()
        c = self._n + n
        if c < 0:
            guard.release()
            raise ValueError("sync: negative WaitGroup counter")
        self._n = c
        if c == 0 and self._q:
            self._release_waiters()  # releases the guard
            return
        guard.release()

    def done(self) -> None:
        """Decrement the counter by one."""
        guard = self._guard
        guard.acquire()
        c = self._n - 1
        if c < 0:
            guard.release()
            raise ValueError("sync: negative WaitGroup counter")
        self._n = c
        if c == 0 and self._q:
            self._release_waiters()
            return
        guard.release()

    def _release_waiters(self) -> None:
        """Under the guard, which it releases: wake every waiter."""
        woken = self._q.claim_all()
        for sg in woken:
            sg.success = True
        self._guard.release()
        wake_all(woken)

    def _withdraw(self, sg: Any) -> bool:
        with self._guard:
            return withdraw(sg)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the counter is zero; ``TimeoutError`` if not in time."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._n == 0:
            return
        guard = self._guard
        guard.acquire()
        if self._n == 0:
            guard.release()
            return
        if timeout == 0:
            guard.release()
            raise TimeoutError("WaitGroup.wait() timed out")
        try:
            g = caller_goroutine("WaitGroup.wait()", "wg")
        except BaseException:
            guard.release()
            raise
        sg = new_sudog(g, W_SYNC_WAIT)
        self._q.enqueue(sg)
        guard.release()
        if not block(sg, timeout, self._withdraw):
            raise TimeoutError("WaitGroup.wait() timed out")

    async def _await(self, timeout: float | None = None) -> None:
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._n == 0:
            return
        guard = self._guard
        guard.acquire()
        if self._n == 0:
            guard.release()
            return
        if timeout == 0:
            guard.release()
            raise TimeoutError("WaitGroup wait timed out")
        try:
            sg = new_async_sudog(asyncio.get_running_loop())
        except BaseException:
            guard.release()
            raise
        self._q.enqueue(sg)
        guard.release()
        if not await ablock(sg, timeout, self._withdraw, None):
            raise TimeoutError("WaitGroup wait timed out")

    def __await__(self) -> Generator[Any, None, None]:
        """``await wg``: wait for zero without blocking the event loop."""
        return self._await().__await__()

    @overload
    def go(self, fn: Callable[_P, Coroutine[Any, Any, _R]],
           *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...
    @overload
    def go(self, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...

    def go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Goroutine[Any]:
        """``add(1)``, start ``fn(*args, **kwargs)`` as a goroutine, and
        ``done()`` when it returns or raises (Go 1.25's ``WaitGroup.Go``); a
        coroutine it returns is awaited first, on the runtime's loop.
        Returns the Goroutine."""
        if not callable(fn):
            _check_fn(fn)
        guard = self._guard
        guard.acquire()
        self._n += 1
        guard.release()
        try:
            return _go(_wg_run, self, fn, args, kwargs)
        except BaseException:
            self.done()
            raise

    def __repr__(self) -> str:
        return f"<WaitGroup counter={self._n} waiters={self._q.live_count()}>"


def _wg_run(wg: WaitGroup, fn: Callable[..., Any], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
    try:
        return _call_fn(fn, args, kwargs)  # awaits a coroutine fn returns
    finally:
        wg.done()


# --------------------------------------------------------------------------
# Mutex
# --------------------------------------------------------------------------


class Mutex(MutexCore):
    """Go's ``sync.Mutex``: mutual exclusion for goroutines, threads and
    coroutines at once.

    ``lock()`` / ``await alock()`` / ``try_lock()`` / ``unlock()``;
    ``with mu:`` and ``async with mu:``. Not owned: any goroutine or thread may
    unlock it. Unlocking an unlocked mutex raises ``RuntimeError``. A waiter
    that has waited more than 1 ms gets the mutex before newcomers (Go's
    starvation mode). ``lock``/``alock`` take an optional ``timeout``
    (``TimeoutError`` if not acquired in time).
    """

    # The state and the fast paths (lock, try_lock, locked, unlock, with) are
    # MutexCore's (_runtime/mutexcore.py, compiled): ``_l`` is the mutex.
    __slots__ = ()

    async def alock(self, timeout: float | None = None) -> None:
        """Awaitable ``lock``: never blocks the event loop. A cancelled
        ``alock`` does not hold the mutex (if it was handed over just as the
        cancellation came, it is passed on to the next waiter)."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self.try_lock():
            return
        await self._alock_slow(timeout)

    async def __aenter__(self) -> "Mutex":
        if not self.try_lock():
            await self._alock_slow(None)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.unlock()

    # -- slow paths (see the header's numbered steps) ----------------------------

    def _withdraw(self, sg: Any) -> bool:
        with self._guard:
            return withdraw(sg)

    def _give_back(self, sg: Any) -> None:
        """A cancelled coroutine waiter was claimed: pass on what it got."""
        if sg.success:
            self.unlock()  # handed the mutex (starvation mode): hand it on
            return
        with self._guard:  # woken to compete: let the next waiter be woken
            self._woken = False
        self._pass_wake()

    def _pass_wake(self) -> None:
        """A woken waiter leaves without retrying (cancelled, timed out), and
        has cleared ``_woken``: wake the next waiter if the mutex is free (if
        it is held, its unlock wakes)."""
        if self._q and not self.locked():
            self._wake()

    def _exit_starvation_locked(self, sg: Any) -> None:
        # mutex.go: leave starvation mode when the waiter handed the mutex
        # waited under the threshold, or is the last one.
        if _monotonic() - sg.elem < STARVATION_S or not self._q.has_live():
            self._starving = False

    def _attempt(self, requeue: bool, start: float, deadline: float | None,
                 g: Any, loop: Any, what: str) -> tuple[Any, float | None]:
        """Steps 1-5 of the header, shared by ``lock`` and ``alock``: returns
        ``(None, None)`` if the mutex is now the caller's, else the published
        sudog and how long to wait for it (the guard is released either way).
        ``requeue``: the caller was woken and lost the race. ``loop`` None: a
        goroutine (``g``) or thread waits; else a coroutine on ``loop``.

        A woken waiter that times out here passes the wake on: the unlock that
        woke it woke nobody else (``_woken``), and in starvation mode the
        mutex may be free with waiters queued."""
        guard = self._guard
        guard.acquire()
        now = _monotonic()
        wait = None if deadline is None else deadline - now
        if requeue:
            self._woken = False
            if now - start > STARVATION_S and (wait is None or wait > 0):
                self._starving = True  # (not by a waiter about to give up)
        if not self._starving and self.try_lock():
            guard.release()
            return None, None
        if wait is not None and wait <= 0:
            guard.release()
            if requeue:
                self._pass_wake()
            raise TimeoutError(f"{what} timed out")
        sg = new_sudog(g, W_MUTEX) if loop is None else new_async_sudog(loop)
        sg.elem = start
        owned, h = self._try_wait(sg, requeue)
        if owned:
            if g is not None:
                g.status = RUNNING  # published, but it never parked
            return None, None
        if h is not None:
            wake(h)
        return sg, wait

    def _try_wait(self, sg: Any, requeue: bool) -> tuple[bool, Any]:
        """Steps 3-4 under the guard (released here). Returns (owned, to_wake)."""
        q = self._q
        if requeue:
            q.enqueue_front(sg)
        else:
            q.enqueue(sg)
        if self.try_lock():
            if not self._starving:
                q.take_back(sg, requeue)
                self._guard.release()
                return True, None
            h = q.dequeue()  # at least our own sudog is live
            assert h is not None
            h.success = True
            self._exit_starvation_locked(h)
            self._guard.release()
            if h is sg:
                return True, None
            return False, h
        self._guard.release()
        return False, None

    def _lock_slow(self, timeout: Any) -> None:
        timeout = check_timeout(timeout)
        start = _monotonic()
        deadline = None if timeout is None else start + timeout
        g = caller_goroutine("Mutex.lock()", "mu.alock()")
        requeue = False
        while True:
            sg, wait = self._attempt(requeue, start, deadline, g, None, "Mutex.lock()")
            if sg is None:
                return
            if not block(sg, wait, self._withdraw):
                raise TimeoutError("Mutex.lock() timed out")
            if sg.success:
                return  # handed over (starvation mode)
            requeue = True

    async def _alock_slow(self, timeout: Any) -> None:
        timeout = check_timeout(timeout)
        loop = asyncio.get_running_loop()
        start = _monotonic()
        deadline = None if timeout is None else start + timeout
        requeue = False
        while True:
            sg, wait = self._attempt(requeue, start, deadline, None, loop, "Mutex.alock()")
            if sg is None:
                return
            if not await ablock(sg, wait, self._withdraw, self._give_back):
                raise TimeoutError("Mutex.alock() timed out")
            if sg.success:
                return
            requeue = True

    def _wake(self) -> None:
        """After a release found waiters: wake one (normal mode) or hand the
        free mutex to the head (a waiter turned starving meanwhile)."""
        guard = self._guard
        guard.acquire()
        if self.locked():
            guard.release()  # grabbed already: its unlock will wake
            return
        if self._starving:
            if not self.try_lock():
                guard.release()
                return
            sg = self._q.dequeue()
            if sg is None:
                self._starving = False
                self._release_l()
                guard.release()
                return
            sg.success = True
            self._exit_starvation_locked(sg)
            guard.release()
            wake(sg)
            return
        if self._woken:
            guard.release()
            return
        sg = self._q.dequeue()
        if sg is None:
            guard.release()
            return
        sg.success = False  # woken to compete, not owning
        self._woken = True
        guard.release()
        wake(sg)

    def _unlock_starving(self) -> None:
        guard = self._guard
        guard.acquire()
        if self._starving:
            if not self.locked():
                guard.release()
                raise RuntimeError(_UNLOCKED_MSG)
            sg = self._q.dequeue()
            if sg is not None:
                sg.success = True  # hand-off: _l stays held for the waiter
                self._exit_starvation_locked(sg)
                guard.release()
                wake(sg)
                return
            self._starving = False
        guard.release()
        self._release_l()
        if self._q:
            self._wake()

    def __repr__(self) -> str:
        state = "locked" if self.locked() else "unlocked"
        if self._starving:
            state += " starving"
        return f"<Mutex {state} waiters={self._q.live_count()}>"


# --------------------------------------------------------------------------
# RWMutex
# --------------------------------------------------------------------------


class _Side:
    """``rw.reader`` / ``rw.writer``: one side of an RWMutex as a context
    manager (Go's RLocker), for ``with`` and ``async with``."""

    __slots__ = ("_rw", "_lock", "_alock", "_unlock", "_what")

    def __init__(self, rw: "RWMutex", lock: Callable[[], None],
                 alock: Callable[[], Any], unlock: Callable[[], None], what: str) -> None:
        self._rw = rw
        self._lock = lock
        self._alock = alock
        self._unlock = unlock
        self._what = what

    def __enter__(self) -> "_Side":
        self._lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._unlock()

    async def __aenter__(self) -> "_Side":
        await self._alock()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._unlock()

    def __repr__(self) -> str:
        return f"<{self._what} of {self._rw!r}>"


class RWMutex:
    """Go's ``sync.RWMutex``: many readers or one writer.

    ``rlock()``/``arlock()``/``runlock()`` for readers, ``lock()``/
    ``alock()``/``unlock()`` for the writer; ``try_rlock()``/``try_lock()``;
    ``with rw.reader:`` / ``with rw.writer:`` (and ``async with``); plain
    ``with rw:`` is the writer. A waiting writer blocks new readers, so writers
    are not starved; a writer's unlock admits the readers that waited before
    the next writer. ``runlock``/``unlock`` when not held raise
    ``RuntimeError``. Blocking methods take an optional ``timeout``.
    """

    __slots__ = ("_guard", "_readers", "_writer", "_rq", "_wq", "_nrw", "_nww",
                 "reader", "writer")

    def __init__(self) -> None:
        self._guard = allocate_lock()
        self._readers = 0  # active readers
        self._writer = False  # a writer holds it
        self._rq = WaitQ()
        self._wq = WaitQ()
        self._nrw = 0  # live waiting readers
        self._nww = 0  # live waiting writers
        self.reader = _Side(self, self.rlock, self.arlock, self.runlock, "reader")
        self.writer = _Side(self, self.lock, self.alock, self.unlock, "writer")

    # -- readers ---------------------------------------------------------------

    def try_rlock(self) -> bool:
        """Read-lock if possible now; never waits."""
        with self._guard:
            if self._writer or self._nww:
                return False
            self._readers += 1
            return True

    def rlock(self, timeout: float | None = None) -> None:
        """Lock for reading; waits while a writer holds or waits for it."""
        timeout = check_timeout(timeout)
        guard = self._guard
        guard.acquire()
        if not self._writer and not self._nww:
            self._readers += 1
            guard.release()
            return
        try:
            if timeout == 0:
                raise TimeoutError("RWMutex.rlock() timed out")
            g = caller_goroutine("RWMutex.rlock()", "rw.arlock()")
        except BaseException:
            guard.release()
            raise
        sg = new_sudog(g, W_RWMUTEX_R)
        self._rq.enqueue(sg)
        self._nrw += 1
        guard.release()
        if not block(sg, timeout, self._withdraw_r):
            raise TimeoutError("RWMutex.rlock() timed out")

    async def arlock(self, timeout: float | None = None) -> None:
        """Awaitable ``rlock``."""
        timeout = check_timeout(timeout)
        guard = self._guard
        guard.acquire()
        if not self._writer and not self._nww:
            self._readers += 1
            guard.release()
            return
        try:
            if timeout == 0:
                raise TimeoutError("RWMutex.arlock() timed out")
            sg = new_async_sudog(asyncio.get_running_loop())
        except BaseException:
            guard.release()
            raise
        self._rq.enqueue(sg)
        self._nrw += 1
        guard.release()
        if not await ablock(sg, timeout, self._withdraw_r, self._give_back_r):
            raise TimeoutError("RWMutex.arlock() timed out")

    def runlock(self) -> None:
        """Undo one ``rlock``. ``RuntimeError`` if not read-locked."""
        guard = self._guard
        guard.acquire()
        if self._readers <= 0:
            guard.release()
            raise RuntimeError("sync: RUnlock of unlocked RWMutex")
        self._readers -= 1
        sg = None
        if self._readers == 0 and self._nww:
            sg = self._wq.dequeue()
            if sg is not None:
                self._nww -= 1
                self._writer = True
                sg.success = True
        guard.release()
        if sg is not None:
            wake(sg)

    # -- writers -----------------------------------------------------------------

    def try_lock(self) -> bool:
        """Write-lock if free now; never waits."""
        with self._guard:
            if self._writer or self._readers or self._nww:
                return False
            self._writer = True
            return True

    def lock(self, timeout: float | None = None) -> None:
        """Lock for writing; waits for active readers and writers to leave."""
        timeout = check_timeout(timeout)
        guard = self._guard
        guard.acquire()
        if not self._writer and not self._readers and not self._nww:
            self._writer = True
            guard.release()
            return
        try:
            if timeout == 0:
                raise TimeoutError("RWMutex.lock() timed out")
            g = caller_goroutine("RWMutex.lock()", "rw.alock()")
        except BaseException:
            guard.release()
            raise
        sg = new_sudog(g, W_RWMUTEX_W)
        self._wq.enqueue(sg)
        self._nww += 1
        guard.release()
        if not block(sg, timeout, self._withdraw_w):
            raise TimeoutError("RWMutex.lock() timed out")

    async def alock(self, timeout: float | None = None) -> None:
        """Awaitable ``lock``."""
        timeout = check_timeout(timeout)
        guard = self._guard
        guard.acquire()
        if not self._writer and not self._readers and not self._nww:
            self._writer = True
            guard.release()
            return
        try:
            if timeout == 0:
                raise TimeoutError("RWMutex.alock() timed out")
            sg = new_async_sudog(asyncio.get_running_loop())
        except BaseException:
            guard.release()
            raise
        self._wq.enqueue(sg)
        self._nww += 1
        guard.release()
        if not await ablock(sg, timeout, self._withdraw_w, self._give_back_w):
            raise TimeoutError("RWMutex.alock() timed out")

    def unlock(self) -> None:
        """Undo ``lock``: admit every waiting reader, else the next writer.
        ``RuntimeError`` if not write-locked."""
        guard = self._guard
        guard.acquire()
        if not self._writer:
            guard.release()
            raise RuntimeError("sync: Unlock of unlocked RWMutex")
        self._writer = False
        woken: list[Sudog] = []
        if self._nrw:
            self._admit_readers_locked(woken)
        elif self._nww:
            sg = self._wq.dequeue()
            if sg is not None:
                self._nww -= 1
                self._writer = True
                sg.success = True
                woken.append(sg)
        guard.release()
        wake_all(woken)

    def _admit_readers_locked(self, woken: list[Sudog]) -> None:
        admitted = self._rq.claim_all()
        for sg in admitted:
            sg.success = True
        self._readers += len(admitted)
        woken += admitted
        self._nrw = 0

    def _give_back_r(self, sg: Any) -> None:
        self.runlock()

    def _give_back_w(self, sg: Any) -> None:
        self.unlock()

    def _withdraw_r(self, sg: Any) -> bool:
        with self._guard:
            if not withdraw(sg):
                return False
            self._nrw -= 1
            return True

    def _withdraw_w(self, sg: Any) -> bool:
        woken: list[Sudog] = []
        with self._guard:
            if not withdraw(sg):
                return False
            self._nww -= 1
            # The readers queued only because this writer was waiting.
            if not self._nww and not self._writer and self._nrw:
                self._admit_readers_locked(woken)
        wake_all(woken)
        return True

    # -- context manager: the write side ------------------------------------------

    def __enter__(self) -> "RWMutex":
        self.lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unlock()

    async def __aenter__(self) -> "RWMutex":
        await self.alock()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.unlock()

    def __repr__(self) -> str:
        return (f"<RWMutex readers={self._readers} writer={self._writer} "
                f"waiting_readers={self._nrw} waiting_writers={self._nww}>")


# --------------------------------------------------------------------------
# Once
# --------------------------------------------------------------------------


def _caller_token() -> Any:
    """Who is calling: the goroutine, else the asyncio task, else the thread."""
    g = getg()
    if g is not None:
        return g
    try:
        t = asyncio.current_task()
    except RuntimeError:
        t = None
    if t is not None:
        return t
    return threading.get_ident()


class Once:
    """Go's ``sync.Once``: ``do(fn)`` / ``await ado(fn)`` runs ``fn`` exactly
    once across all callers; the others wait until it has finished. If ``fn``
    raises, the exception reaches its caller and the Once still counts as done
    (as in Go). ``ado`` also awaits ``fn()`` when it returns an awaitable.
    Calling ``do`` again from inside ``fn`` raises ``RuntimeError`` (in Go it
    deadlocks)."""

    __slots__ = ("_done", "_running", "_owner", "_guard", "_q")

    def __init__(self) -> None:
        self._done = False
        self._running = False
        self._owner: Any = None
        self._guard = allocate_lock()
        self._q = WaitQ()

    @property
    def done(self) -> bool:
        """True once ``fn`` has run (returned or raised)."""
        return self._done

    def _withdraw(self, sg: Any) -> bool:
        with self._guard:
            return withdraw(sg)

    def _finish(self) -> None:
        with self._guard:
            self._done = True
            self._running = False
            self._owner = None
            woken = self._q.claim_all()
            for sg in woken:
                sg.success = True
        wake_all(woken)

    def _recursive(self) -> RuntimeError:
        return RuntimeError("Once.do() called from inside its own fn (would deadlock)")

    def do(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` if no call of ``do``/``ado`` has; else wait until the
        one that runs it has finished."""
        _check_fn(fn)
        if self._done:
            return
        guard = self._guard
        guard.acquire()
        if self._done:
            guard.release()
            return
        if self._running:
            try:
                if _caller_token() == self._owner:
                    raise self._recursive()
                g = caller_goroutine("Once.do()", "once.ado(fn)")
            except BaseException:
                guard.release()
                raise
            sg = new_sudog(g, W_MUTEX)
            self._q.enqueue(sg)
            guard.release()
            block(sg, None, self._withdraw)
            return
        self._running = True
        self._owner = _caller_token()
        guard.release()
        try:
            fn()
        finally:
            self._finish()

    async def ado(self, fn: Callable[[], Any]) -> None:
        """Awaitable ``do``; ``fn`` may be a plain or an ``async`` function."""
        _check_fn(fn)
        if self._done:
            return
        guard = self._guard
        guard.acquire()
        if self._done:
            guard.release()
            return
        if self._running:
            try:
                if _caller_token() == self._owner:
                    raise self._recursive()
                sg = new_async_sudog(asyncio.get_running_loop())
            except BaseException:
                guard.release()
                raise
            self._q.enqueue(sg)
            guard.release()
            await ablock(sg, None, self._withdraw, None)
            return
        self._running = True
        self._owner = _caller_token()
        guard.release()
        try:
            r = fn()
            if inspect.isawaitable(r):
                await r
        finally:
            self._finish()

    def __repr__(self) -> str:
        return f"<Once done={self._done}>"


# --------------------------------------------------------------------------
# Semaphore (x/sync/semaphore.Weighted)
# --------------------------------------------------------------------------


class Semaphore:
    """A weighted semaphore (Go's ``x/sync/semaphore``) with ``n`` units.

    ``acquire(k=1, timeout=None)`` / ``await aacquire(k=1)`` wait until ``k``
    units are free, FIFO: a big request at the head of the queue blocks
    later small ones, so it is never starved. ``try_acquire(k)``,
    ``release(k)``; ``with sem:`` / ``async with sem:`` hold one unit.
    ``k > n`` -> ``ValueError`` (it could never succeed); releasing more than
    is held -> ``ValueError``.
    """

    __slots__ = ("_size", "_cur", "_guard", "_q")

    def __init__(self, n: int) -> None:
        self._size = _check_int("n", n, 0)
        self._cur = 0  # units held
        self._guard = allocate_lock()
        self._q = WaitQ()  # sg.elem = units wanted

    @property
    def size(self) -> int:
        """Total units (``n``)."""
        return self._size

    def _check_k(self, k: int) -> int:
        if type(k) is not int:
            _check_int("k", k)
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if k > self._size:
            raise ValueError(f"k must be <= n ({self._size}), got {k}")
        return k

    def _head(self) -> Any:
        """The first live waiter (dropping cancelled ones), or None."""
        q = self._q
        while q:
            sg = q[0]
            if is_live(sg):
                return sg
            q.popleft()
        return None

    def _notify_locked(self, woken: list[Sudog]) -> None:
        # semaphore.go notifyWaiters: admit waiters in order while they fit;
        # stop at the first that does not (no overtaking: FIFO).
        while True:
            sg = self._head()
            if sg is None or self._size - self._cur < sg.elem:
                return
            self._q.dequeue()
            self._cur += sg.elem
            sg.success = True
            woken.append(sg)

    def _withdraw(self, sg: Any) -> bool:
        woken: list[Sudog] = []
        with self._guard:
            if not withdraw(sg):
                return False
            self._notify_locked(woken)  # it may have been blocking the head
        wake_all(woken)
        return True

    def _give_back(self, sg: Any) -> None:
        self.release(sg.elem)

    def try_acquire(self, k: int = 1) -> bool:
        """Take ``k`` units if free now and nobody waits; never waits."""
        k = self._check_k(k)
        with self._guard:
            if self._size - self._cur >= k and self._head() is None:
                self._cur += k
                return True
            return False

    def acquire(self, k: int = 1, timeout: float | None = None) -> None:
        """Take ``k`` units, waiting FIFO; ``TimeoutError`` if not in time."""
        self._acquire(self._check_k(k), timeout, "Semaphore.acquire()")

    def _acquire(self, k: int, timeout: Any, what: str) -> None:
        timeout = check_timeout(timeout)
        guard = self._guard
        guard.acquire()
        if self._size - self._cur >= k and self._head() is None:
            self._cur += k
            guard.release()
            return
        try:
            if timeout == 0:
                raise TimeoutError(f"{what} timed out")
            g = caller_goroutine(what, "sem.aacquire(k)")
        except BaseException:
            guard.release()
            raise
        sg = new_sudog(g, W_SEMACQUIRE)
        sg.elem = k
        self._q.enqueue(sg)
        guard.release()
        if not block(sg, timeout, self._withdraw):
            raise TimeoutError(f"{what} timed out")

    async def aacquire(self, k: int = 1, timeout: float | None = None) -> None:
        """Awaitable ``acquire``. A cancelled ``aacquire`` holds nothing
        (units granted just as the cancellation came are released again)."""
        await self._aacquire(self._check_k(k), timeout)

    async def _aacquire(self, k: int, timeout: Any) -> None:
        timeout = check_timeout(timeout)
        guard = self._guard
        guard.acquire()
        if self._size - self._cur >= k and self._head() is None:
            self._cur += k
            guard.release()
            return
        try:
            if timeout == 0:
                raise TimeoutError("Semaphore.aacquire() timed out")
            sg = new_async_sudog(asyncio.get_running_loop())
        except BaseException:
            guard.release()
            raise
        sg.elem = k
        self._q.enqueue(sg)
        guard.release()
        if not await ablock(sg, timeout, self._withdraw, self._give_back):
            raise TimeoutError("Semaphore.aacquire() timed out")

    def release(self, k: int = 1) -> None:
        """Give back ``k`` units, admitting waiters that now fit.
        ``ValueError`` if more than held."""
        if type(k) is not int:
            _check_int("k", k)
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        woken: list[Sudog] = []
        with self._guard:
            if k > self._cur:
                raise ValueError("semaphore: released more than held")
            self._cur -= k
            self._notify_locked(woken)
        wake_all(woken)

    def __enter__(self) -> "Semaphore":
        self.acquire(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release(1)

    async def __aenter__(self) -> "Semaphore":
        await self.aacquire(1)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.release(1)

    def __repr__(self) -> str:
        return f"<Semaphore n={self._size} held={self._cur} waiters={self._q.live_count()}>"


# --------------------------------------------------------------------------
# Group (x/sync/errgroup)
# --------------------------------------------------------------------------


class Group:
    """Go's ``errgroup.Group``, structured: run goroutines, wait for all, get
    the first error, and cancel the others when one fails.

    ``go(fn, *args, **kwargs)`` starts a member; ``wait()`` / ``await group``
    waits for all of them, then re-raises the first exception any of them
    raised. At that first exception the group cancels its other members
    (``Goroutine.cancel``) and ``group.ctx``; ``cancel_on_error=False`` keeps
    Go's plain errgroup (members are not cancelled). ``Group(ctx)`` derives
    ``group.ctx`` from ``ctx`` (``errgroup.WithContext``): cancelled at the
    first error or when ``wait`` returns; ``ctx`` itself is left alone.
    ``with Group() as grp:`` / ``async with``: the exit waits as ``wait()``
    does; an exception from the body (or cancellation of the waiter) cancels
    the members, waits for them, and propagates. ``join()``/``await`` on a
    member give its own result or exception; members' exceptions are not
    passed to ``excepthook`` (the group reports them). ``set_limit(n)``
    bounds how many run at once: ``go`` then waits for a slot (``ago`` in a
    coroutine; ``try_go`` does not wait).
    """

    __slots__ = ("ctx", "_cancel", "_wg", "_sem", "_err", "_errlock", "_members",
                 "_cancel_on_error", "_aborted")

    def __init__(self, ctx: Context | None = None, cancel_on_error: bool = True) -> None:
        from ._context import Context, with_cancel
        if not isinstance(cancel_on_error, bool):
            raise TypeError(f"cancel_on_error must be a bool, not "
                            f"{type(cancel_on_error).__name__}")
        self._cancel = None
        self.ctx = None
        if ctx is not None:
            if not isinstance(ctx, Context):
                raise TypeError(f"ctx must be a Context or None, not {type(ctx).__name__}")
            self.ctx, self._cancel = with_cancel(ctx)
        self._wg = WaitGroup()
        self._sem: Semaphore | None = None
        self._err: BaseException | None = None
        self._errlock = allocate_lock()
        # Members that may still run (guarded by _errlock); a member that has
        # finished may linger until the next abort or wait.
        self._members: set[Goroutine[Any]] = set()
        self._cancel_on_error = cancel_on_error
        self._aborted = False  # members are being cancelled: new ones are too

    # -- members -----------------------------------------------------------------

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
        me = getg()
        assert me is not None  # a member runs in its goroutine
        me.quiet = True  # the group reports its members' errors
        try:
            return _call_fn(fn, args, kwargs)  # awaits a coroutine fn returns
        except Exception as e:  # noqa: BLE001 - errgroup collects errors
            with self._errlock:
                first = self._err is None
                if first:
                    self._err = e
            if first:
                if self._cancel is not None:
                    self._cancel()
                if self._cancel_on_error:
                    self._abort()
            raise  # join() on the member gives its own exception
        finally:
            with self._errlock:
                self._members.discard(me)
            if self._sem is not None:
                self._sem.release(1)
            self._wg.add(-1)

    def _abort(self) -> None:
        """Cancel every member (but the caller), and every later one."""
        me = getg()
        with self._errlock:
            self._aborted = True
            members = list(self._members)
            self._members.clear()
        for g in members:
            if g is not me:
                g.cancel()

    def _start(self, fn: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Goroutine[Any]:
        self._wg.add(1)
        try:
            g = _go(self._run, fn, args, kwargs)
        except BaseException:
            self._wg.add(-1)
            if self._sem is not None:
                self._sem.release(1)
            raise
        with self._errlock:
            aborted = self._aborted
            if not aborted and not g.done():
                self._members.add(g)
        if aborted:
            g.cancel()
        return g

    @overload
    def go(self, fn: Callable[_P, Coroutine[Any, Any, _R]],
           *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...
    @overload
    def go(self, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...

    def go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Goroutine[Any]:
        """Start ``fn(*args, **kwargs)`` in a goroutine of the group (a
        coroutine it returns is awaited on the runtime's loop); with a
        limit, first wait for a free slot (parks a goroutine, blocks a
        thread). Returns the Goroutine."""
        _check_fn(fn)
        sem = self._sem
        if sem is not None:
            sem._acquire(1, None, "Group.go()")
        return self._start(fn, args, kwargs)

    @overload
    async def ago(self, fn: Callable[_P, Coroutine[Any, Any, _R]],
                  *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...
    @overload
    async def ago(self, fn: Callable[_P, _R],
                  *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...

    async def ago(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Goroutine[Any]:
        """Awaitable ``go``: waits for a slot without blocking the loop."""
        _check_fn(fn)
        sem = self._sem
        if sem is not None:
            await sem._aacquire(1, None)
        return self._start(fn, args, kwargs)

    def try_go(self, fn: Callable[_P, Any], *args: _P.args, **kwargs: _P.kwargs) -> bool:
        """Start ``fn`` only if a slot is free now (errgroup's TryGo)."""
        _check_fn(fn)
        sem = self._sem
        if sem is not None:
            with sem._guard:
                if sem._cur >= sem._size or sem._head() is not None:
                    return False
                sem._cur += 1
        self._start(fn, args, kwargs)
        return True

    def set_limit(self, n: int | None) -> None:
        """At most ``n`` goroutines of the group run at once; ``None`` or a
        negative ``n`` removes the limit. ``RuntimeError`` while goroutines of
        the group are running (as Go panics)."""
        if n is not None:
            _check_int("n", n)
        if self._wg._n:
            raise RuntimeError(f"errgroup: modify limit while {self._wg._n} "
                               f"goroutines in the group are still active")
        if n is None or n < 0:
            self._sem = None
        else:
            self._sem = Semaphore(n)

    # -- waiting -------------------------------------------------------------------

    def _close(self) -> None:
        """Every member has finished: cancel group.ctx, forget the members.
        (Where a with-block's own exception or cancellation propagates, this
        is all; the members' first error stays readable as group.error.)"""
        if self._cancel is not None:
            self._cancel()
        with self._errlock:
            self._members.clear()

    def _finish(self) -> None:
        self._close()
        if self._err is not None:
            raise self._err

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every goroutine of the group, cancel ``group.ctx``, and
        re-raise the first exception. ``TimeoutError`` if they do not all
        finish in time (then nothing is cancelled)."""
        self._wg.wait(timeout)
        self._finish()

    async def _await(self) -> None:
        await self._wg._await()
        self._finish()

    def __await__(self) -> Generator[Any, None, None]:
        """``await group``: ``wait()`` without blocking the event loop."""
        return self._await().__await__()

    def _cancel_all(self) -> None:
        if self._cancel is not None:
            self._cancel()
        self._abort()

    def __enter__(self) -> "Group":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            try:
                self._wg.wait()
            except Canceled:  # the waiter was cancelled: so are the members
                self._cancel_all()
                self._wg.wait()
                self._close()
                raise
            self._finish()
            return
        self._cancel_all()
        self._wg.wait()
        self._close()

    async def __aenter__(self) -> "Group":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            try:
                await self._wg._await()
            except asyncio.CancelledError:  # the task was cancelled: so are the members
                self._cancel_all()
                await self._wg._await()
                self._close()
                raise
            self._finish()
            return
        self._cancel_all()
        await self._wg._await()
        self._close()

    @property
    def error(self) -> BaseException | None:
        """The first exception a member raised, or None."""
        return self._err

    def __repr__(self) -> str:
        return f"<Group running={self._wg._n} error={self._err!r}>"


for _c in (WaitGroup, Mutex, RWMutex, Once, Semaphore, Group):
    _c.__module__ = "gmploop"
del _c

__all__ = ["WaitGroup", "Mutex", "RWMutex", "Once", "Semaphore", "Group", "STARVATION_S"]
