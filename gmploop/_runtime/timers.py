"""Per-processor timers: a binary heap with lazy deletion (Go's per-P timer heap,
runtime/time.go, without its lock-free state machine).

Each processor owns one heap. Its M checks it at every scheduler batch and, when
idle, sleeps in its event loop no longer than the earliest deadline. Timers may
be added, stopped and reset from any thread; the heap's lock protects it and a
callback (``on_earlier``) tells the owner when a new earliest deadline appeared,
so a sleeping processor wakes in time.

Stopping a timer only marks it; the heap drops marked entries when they reach the
top, and rebuilds itself when more than half of it is dead, so stop is O(1) and
memory stays bounded by twice the live timers.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from typing import Any, Callable


class Timer:
    """One timer. ``fn(arg)`` runs on the owning processor's thread, outside any
    goroutine, and must not block."""

    __slots__ = ("when", "period", "fn", "arg", "seq", "heap", "active")

    def __init__(self, when: float, fn: Callable[[Any], None], arg: Any = None,
                 period: float = 0.0) -> None:
        self.when = when
        self.period = period
        self.fn = fn
        self.arg = arg
        self.seq = 0
        self.heap: TimerHeap | None = None
        self.active = False

    def __lt__(self, other: "Timer") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def _withdraw(self, _sg: Any) -> bool:
        """A goroutine sleeping on this timer is cancelled (proc.cancel_parked):
        True if the timer was still pending (now stopped)."""
        heap = self.heap
        return heap is not None and heap.stop(self)


class TimerHeap:
    __slots__ = ("_heap", "_lock", "_seq", "nactive", "_ndead", "on_earlier")

    def __init__(self, on_earlier: Callable[[], None] | None = None) -> None:
        self._heap: list[Timer] = []
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self.nactive = 0  # live timers (deadlock detection reads this)
        self._ndead = 0
        self.on_earlier = on_earlier

    def __len__(self) -> int:
        return self.nactive

    def add(self, t: Timer) -> None:
        """Arm ``t`` (which must not be armed)."""
        with self._lock:
            if t.active:
                raise RuntimeError("timer already active")
            t.seq = next(self._seq)
            t.heap = self
            t.active = True
            self.nactive += 1
            h = self._heap
            heapq.heappush(h, t)
            # Stopped timers stay in the heap until they reach the top: drop
            # them there first, or a dead earlier entry would hide that ``t``
            # is the earliest *live* timer and the owner would not be told.
            while not h[0].active:
                heapq.heappop(h)
                self._ndead -= 1
            earliest = h[0] is t
        if earliest and self.on_earlier is not None:
            self.on_earlier()

    def stop(self, t: Timer) -> bool:
        """Disarm ``t``; True if it was pending."""
        with self._lock:
            if not t.active or t.heap is not self:
                return False
            t.active = False
            self.nactive -= 1
            self._ndead += 1
            if self._ndead > 64 and self._ndead > len(self._heap) // 2:
                self._heap = [x for x in self._heap if x.active]
                heapq.heapify(self._heap)
                self._ndead = 0
            return True

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None."""
        with self._lock:
            h = self._heap
            while h and not h[0].active:
                heapq.heappop(h)
                self._ndead -= 1
            return h[0].when if h else None

    def run_expired(self, now: float) -> int:
        """Fire every live timer due at ``now``; returns how many fired."""
        fired = 0
        while True:
            with self._lock:
                h = self._heap
                while h and not h[0].active:
                    heapq.heappop(h)
                    self._ndead -= 1
                if not h or h[0].when > now:
                    return fired
                t = heapq.heappop(h)
                if t.period > 0:
                    # Go's ticker: next tick one period after the one due, or
                    # after now if we fell behind by more than a period.
                    t.when += t.period
                    if t.when <= now:
                        t.when = now + t.period
                    t.seq = next(self._seq)
                    heapq.heappush(h, t)
                else:
                    t.active = False
                    self.nactive -= 1
            fired += 1
            t.fn(t.arg)
