"""Low-level scheduler access for library authors (Go's gopark/goready).

``park(reason)`` parks the current goroutine until some other code calls
``ready(g)``; ``reason`` shows in ``dump_goroutines()`` and ``Deadlock`` reports.
Publish the goroutine (``gmploop.current()``) where your waker will find it
*before* calling ``park``: a ``ready`` that comes while the goroutine is still on
its way to parking waits for it to park.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ._runtime.proc import getg, gopark_commit, goready
from ._runtime.runtime2 import RUNNING, WAITING, GStatus, Goroutine
from ._runtime.sema import acquire_sudog, claim, withdraw

__all__ = ["park", "ready", "GStatus"]

_ready_lock = threading.Lock()


def park(reason: str) -> Any:
    """Park the current goroutine; returns the value passed to ``ready``."""
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, not {type(reason).__name__}")
    g = getg()
    if g is None:
        raise RuntimeError("park() called outside a goroutine")
    # A waiter on no queue: ready() claims it, a cancellation withdraws it,
    # both under _ready_lock, so exactly one of them wakes the goroutine.
    acquire_sudog(g, reason)
    g.waitobj = _withdraw_park
    return gopark_commit(g)


def _withdraw_park(sg: Any) -> bool:
    with _ready_lock:
        return withdraw(sg)


def ready(g: Goroutine[Any], value: Any = None) -> None:
    """Make the parked goroutine ``g`` runnable; ``park`` returns ``value``.
    Any goroutine, thread or coroutine may call it. ``RuntimeError`` if ``g``
    is not parked."""
    if not isinstance(g, Goroutine):
        raise TypeError(f"g must be a Goroutine, not {type(g).__name__}")
    if g.status is RUNNING and g is not getg() and g.p is not None:
        # Published, but still on its way to parking on another thread.
        deadline = time.monotonic() + 1.0
        while g.status is RUNNING and time.monotonic() < deadline:
            time.sleep(0)
    with _ready_lock:  # two ready() calls, or a ready and a cancel: one wins
        if g.status is not WAITING or getattr(g, "waitobj", None) is not _withdraw_park \
                or g.sudog is None or not claim(g.sudog):
            raise RuntimeError(f"goroutine {g.id} is not parked in park() "
                               f"(status {g.status.name})")
        g.param = value
    goready(g)
