"""The blocking pool: threads for calls that block in the OS (Go's syscall Ms,
tokio's blocking pool). ``blocking()`` parks its goroutine and runs the call
here, so the goroutine's processor keeps running other goroutines.

The pool grows on demand, one thread per call that finds no idle thread, up to
``MAX_THREADS``; past that, calls queue. A thread that has been idle for
``IDLE_S`` seconds exits, so the pool shrinks back to nothing when unused.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

MAX_THREADS = 64
IDLE_S = 10.0

_lock = threading.Lock()
_cond = threading.Condition(_lock)
_work: deque = deque()
_nthreads = 0
_nidle = 0


def submit(fn: Callable[[], None]) -> None:
    """Run ``fn()`` on a pool thread. ``fn`` must not raise."""
    global _nthreads
    with _lock:
        _work.append(fn)
        if _nidle > len(_work) - 1 or _nthreads >= MAX_THREADS:
            _cond.notify()
            return
        _nthreads += 1
    t = threading.Thread(target=_worker, name="gmploop-blocking", daemon=True)
    t._gmploop_runtime = True  # type: ignore[attr-defined]
    t.start()


def _worker() -> None:
    global _nthreads, _nidle
    while True:
        with _lock:
            while not _work:
                _nidle += 1
                got = _cond.wait(IDLE_S)
                _nidle -= 1
                if not got and not _work:
                    _nthreads -= 1
                    return
            fn = _work.popleft()
        fn()


def size() -> tuple[int, int]:
    """(threads, idle threads) now."""
    with _lock:
        return _nthreads, _nidle
