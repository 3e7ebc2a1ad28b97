"""Go's ``time`` package pieces: ``after``, ``Timer``, ``Ticker``.

Their timers live on a processor's timer heap (_runtime/timers.py): the calling
goroutine's P, P0 for a coroutine on a gmploop loop, and P0 of the program's
runtime for a plain thread. A timer fires on its P's thread and sends on its
channel without blocking (capacity 1), so a slow reader of a ``Ticker`` misses
ticks instead of queueing them, as in Go.
"""

from __future__ import annotations

import math
import time
from typing import Any, Self

from ._chan import Chan
from ._runtime import proc
from ._runtime.proc import P, current_p

_monotonic = time.monotonic


def _check_seconds(seconds: Any) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    if math.isnan(seconds):
        raise ValueError("seconds must not be NaN")
    return float(seconds)


def _timer_p() -> P:
    p = current_p()
    if p is not None:
        return p
    from ._go import _sched_for_thread
    return _sched_for_thread().allp[0]


def _send_time(c: Chan[float]) -> None:
    c.try_send(_monotonic())


class _StopOnExit:
    """``with`` / ``async with``: the timer or ticker is stopped on exit."""

    __slots__ = ()

    def stop(self) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.stop()


class Timer(_StopOnExit):
    """A single event: ``.c`` receives ``time.monotonic()`` once, after
    ``seconds`` (at once if ``seconds <= 0``). A context manager (``with``
    and ``async with``) that stops the timer on exit."""

    __slots__ = ("c", "_t", "_p")

    def __init__(self, seconds: float) -> None:
        seconds = _check_seconds(seconds)
        self.c: Chan[float] = Chan(1)
        self._p = _timer_p()
        self._t = proc.add_timer(self._p, seconds, _send_time, self.c)

    def stop(self) -> bool:
        """Prevent the timer from firing; True if it was pending."""
        return self._p.timers.stop(self._t)

    def reset(self, seconds: float) -> bool:
        """Make the timer fire after ``seconds``; True if it was pending."""
        seconds = _check_seconds(seconds)
        was = self._p.timers.stop(self._t)
        self._t = proc.add_timer(self._p, seconds, _send_time, self.c)
        return was


class Ticker(_StopOnExit):
    """Ticks on ``.c`` every ``seconds``; a slow reader misses ticks (buffer 1).
    A context manager (``with`` and ``async with``) that stops it on exit."""

    __slots__ = ("c", "_t", "_p")

    def __init__(self, seconds: float) -> None:
        seconds = _check_seconds(seconds)
        if seconds <= 0:
            raise ValueError(f"seconds must be > 0 for a Ticker, got {seconds}")
        self.c: Chan[float] = Chan(1)
        self._p = _timer_p()
        self._t = proc.add_timer(self._p, seconds, _send_time, self.c, period=seconds)

    def stop(self) -> None:
        """Stop ticking (the channel is not closed, as in Go)."""
        self._p.timers.stop(self._t)

    def reset(self, seconds: float) -> None:
        """Stop and restart with period ``seconds``."""
        seconds = _check_seconds(seconds)
        if seconds <= 0:
            raise ValueError(f"seconds must be > 0 for a Ticker, got {seconds}")
        self._p.timers.stop(self._t)
        self._t = proc.add_timer(self._p, seconds, _send_time, self.c, period=seconds)


def after(seconds: float) -> Chan[float]:
    """A channel that receives ``time.monotonic()`` once, after ``seconds``."""
    return Timer(seconds).c


Timer.__module__ = Ticker.__module__ = "gmploop"
