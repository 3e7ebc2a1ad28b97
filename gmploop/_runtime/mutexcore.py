"""The fast paths of ``sync.Mutex``: its state word and the uncontended
``lock``/``unlock`` pair (``gmploop._sync.Mutex`` adds the waiting, the
coroutine side and the docs; its header describes the protocol).

Why a module of its own: issue 12 asks for an uncontended ``lock()``/
``unlock()`` within 1.2x of ``threading.Lock``'s ``acquire()``/``release()``.
Interpreted, a Mutex method is a Python call around the raw lock's own method
call (about 2x). Compiled (setup.py, ``mutexcore.pxd``), ``MutexCore`` is a C
struct whose ``_l`` is a C flag, so ``lock()`` is one C method call that tests
and sets it.

``_l``: interpreted, a ``_thread`` lock, held <=> the mutex is locked (its
``acquire(False)`` and ``release()`` are atomic, also without the GIL).
Compiled, a C ``bint`` with the same meaning; testing and setting it in C is
atomic because the compiled build runs only under the GIL (gmploop/_build.py
runs these ``.py`` files on a free-threaded interpreter) and none of these
methods calls back into Python between the test and the set. ``try_lock``,
``_release_l`` and ``locked`` are the three operations the slow paths use.
"""

from __future__ import annotations

from _thread import allocate_lock
from typing import Any

import cython

from .sema import WaitQ, check_timeout

_UNLOCKED_MSG = "sync: unlock of unlocked mutex"


class MutexCore:
    """A Mutex's state and its fast paths; ``gmploop.Mutex`` is the class to use."""

    __slots__ = ("_l", "_guard", "_q", "_starving", "_woken")

    def __init__(self) -> None:
        # held <=> the mutex is locked: compiled a C flag, else a _thread lock
        self._l: Any = False if cython.compiled else allocate_lock()
        self._guard = allocate_lock()
        self._q = WaitQ()
        self._starving = False
        self._woken = False  # a woken waiter is on its way (mutexWoken)

    # -- the state word ------------------------------------------------------

    def _release_l(self) -> None:
        """Free ``_l``; ``RuntimeError`` if it is free."""
        if cython.compiled:
            _give(self)
        else:
            try:
                self._l.release()
            except RuntimeError:
                raise RuntimeError(_UNLOCKED_MSG) from None

    def locked(self) -> bool:
        """True while the mutex is held."""
        if cython.compiled:
            return self._l  # type: ignore[no-any-return]
        held: bool = self._l.locked()
        return held

    def try_lock(self) -> bool:
        """Lock if it is free now; never waits."""
        if cython.compiled:
            got = _take(self)
        else:
            got = self._l.acquire(False)
        return got

    # -- fast paths ------------------------------------------------------------

    def lock(self, timeout: float | None = None) -> None:
        """Lock; waits (parks / blocks) while it is locked. ``timeout``:
        ``TimeoutError`` if not acquired in time."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        # inline gmploop._runtime.mutexcore.MutexCore.try_lock(self) -> got
        if cython.compiled:
            got = _take(self)
        else:
            got = self._l.acquire(False)
        # inline end
        if not got:
            self._lock_slow(timeout)

    def unlock(self) -> None:
        """Unlock, waking a waiter if any. ``RuntimeError`` if not locked."""
        if self._starving:
            self._unlock_starving()
            return
        # inline gmploop._runtime.mutexcore.MutexCore._release_l(self)
        if cython.compiled:
            _give(self)
        else:
            try:
                self._l.release()
            except RuntimeError:
                raise RuntimeError(_UNLOCKED_MSG) from None
        # inline end
        if self._q:
            self._wake()

    def __enter__(self) -> Any:
        # inline gmploop._runtime.mutexcore.MutexCore.try_lock(self) -> got
        if cython.compiled:
            got = _take(self)
        else:
            got = self._l.acquire(False)
        # inline end
        if not got:
            self._lock_slow(None)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # inline gmploop._runtime.mutexcore.MutexCore.unlock(self)
        if self._starving:
            self._unlock_starving()
            return
        if cython.compiled:
            _give(self)
        else:
            try:
                self._l.release()
            except RuntimeError:
                raise RuntimeError(_UNLOCKED_MSG) from None
        if self._q:
            self._wake()
        # inline end

    # -- the slow paths: gmploop._sync.Mutex ------------------------------------

    def _lock_slow(self, timeout: float | None) -> None:
        raise NotImplementedError

    def _unlock_starving(self) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        raise NotImplementedError


def _take(m: MutexCore) -> bool:
    """Compiled: test and set ``m._l`` (a C function inlined into its callers;
    the interpreted build calls ``_l.acquire(False)`` instead)."""
    if m._l:
        return False
    m._l = True
    return True


def _give(m: MutexCore) -> None:
    """Compiled: clear ``m._l``, ``RuntimeError`` if it is clear (inlined
    like ``_take``)."""
    if not m._l:
        raise RuntimeError(_UNLOCKED_MSG)
    m._l = False
