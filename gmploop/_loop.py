"""The asyncio face of the runtime: ``GMPEventLoop``, ``GMPPolicy``, ``install``.

A ``GMPEventLoop`` *is* processor P0's event loop: uvloop's loop where uvloop
installs, the stdlib selector loop otherwise, with the scheduler attached. While
it runs, P0's goroutines run on its thread between its callbacks (one batch per
callback, proc.py), and P1..Pn run on their own threads with private loops. An
asyncio program on it keeps asyncio's single-threaded guarantees: its callbacks
and task steps all run on P0's thread, one at a time. Goroutines it starts use
every processor.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ._runtime import config
from ._runtime.proc import Sched, _uvloop

_Base: Any = _uvloop.Loop if _uvloop is not None else asyncio.SelectorEventLoop


def check_procs(procs: Any) -> int:
    if procs is None:
        return config.default_procs()
    if isinstance(procs, bool) or not isinstance(procs, int):
        raise TypeError(f"procs must be an int or None, not {type(procs).__name__}")
    if procs < 1:
        raise ValueError(f"procs must be >= 1, got {procs}")
    return procs


# Runtimes whose P0 loop is running now, most recent last: a plain thread's
# go() joins the newest one (the program it belongs to) before falling back to
# the background runtime.
_active: list[Sched] = []
_active_lock = threading.Lock()


def active_sched() -> Sched | None:
    with _active_lock:
        return _active[-1] if _active else None


class GMPEventLoop(_Base):  # type: ignore[misc, valid-type]
    """An asyncio event loop that is also processor P0 of a gmploop runtime."""

    def __init__(self, procs: int | None = None) -> None:
        n = check_procs(procs)
        super().__init__()
        self._gmp_sched = Sched(n, self)
        self._gmp_p = self._gmp_sched.allp[0]

    @property
    def procs(self) -> int:
        """Number of processors of this loop's runtime."""
        return self._gmp_sched.nprocs

    def run_forever(self) -> None:
        sched = self._gmp_sched
        if sched.dead:
            raise RuntimeError("this gmploop event loop's runtime was shut down")
        sched.attach_p0()
        with _active_lock:
            _active.append(sched)
        try:
            super().run_forever()
        finally:
            with _active_lock:
                try:
                    _active.remove(sched)
                except ValueError:
                    pass

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        self._gmp_sched.shutdown()
        super().close()

    def __repr__(self) -> str:
        return (f"<GMPEventLoop procs={self._gmp_sched.nprocs} "
                f"running={self.is_running()} closed={self.is_closed()}>")


def new_event_loop(procs: int | None = None) -> GMPEventLoop:
    """A new gmploop event loop with ``procs`` processors (default: API.md)."""
    return GMPEventLoop(procs)


class GMPPolicy(asyncio.DefaultEventLoopPolicy):
    """Event loop policy whose loops are ``GMPEventLoop`` s:
    ``asyncio.set_event_loop_policy(GMPPolicy())``."""

    def __init__(self, procs: int | None = None) -> None:
        super().__init__()
        self._procs = procs if procs is None else check_procs(procs)

    def new_event_loop(self) -> GMPEventLoop:
        return GMPEventLoop(self._procs)


def install() -> None:
    """Set ``GMPPolicy()`` as asyncio's event loop policy."""
    asyncio.set_event_loop_policy(GMPPolicy())


GMPEventLoop.__module__ = GMPPolicy.__module__ = "gmploop"
