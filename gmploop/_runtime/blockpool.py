"""The blocking pool: threads for calls that block in the OS (Go's syscall Ms,
tokio's blocking pool). ``blocking()`` parks its goroutine and runs the call
here, so the goroutine's processor keeps running other goroutines; the call's
completion readies the goroutine on its own processor.

Sizing
------
- Grows on demand: a call that finds no idle thread starts a new one, up to
  ``MAX_THREADS`` (default 64, as tokio's 512 is far more than a GIL build can
  use and Go's 10000 is a crash guard, not a target). Past the cap, calls wait
  in FIFO order for a thread to come free.
- Shrinks when idle: a thread that has had no work for ``IDLE_S`` seconds
  (default 10, as tokio's ``thread_keep_alive``) exits, so an unused pool holds
  no threads at all. Threads above a lowered cap exit as soon as they are idle.
- ``configure(max_threads=, idle_s=)`` changes both at run time (tests use it
  to watch the pool shrink quickly).

Accounting (under ``_lock``): ``_nthreads`` counts live pool threads, ``_nidle``
those waiting on ``_cond``. ``submit`` wakes an idle thread only if there are
more idle threads than queued calls (each queued call already has one on its
way); otherwise it starts a thread, so a burst of N calls gets N threads at
once instead of waiting for notified threads to run.

Pool threads are marked ``_gmploop_runtime`` so deadlock detection does not
count them as user threads; a call in flight is counted in ``sched.nexternal``
by ``blocking()`` instead.

The event loop's default executor
---------------------------------
``LoopExecutor`` is a gmploop event loop's default executor (behind
``asyncio.to_thread`` and ``run_in_executor(None, ...)``): a plain
``ThreadPoolExecutor`` whose threads are runtime threads while idle and user
threads while they run a call, which may wake a goroutine (docs/api.md,
"Running").
Its calls are not counted in ``nexternal``: the loop may run them for any
task or callback, and their outcome reaches the program through the loop
(a task awaiting it is alive, an ``await_`` is counted). When a call ends, its
thread is marked idle and then asks every deadlock-detecting runtime to check
again (``proc.recheck_dead``): a call whose end wakes no goroutine makes no
processor go idle, so nothing else would run checkdead, and a program that
used ``to_thread`` once and then deadlocked would hang.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from time import monotonic
from typing import Any, Callable

from . import proc

MAX_THREADS = 64
IDLE_S = 10.0

_lock = threading.Lock()
_cond = threading.Condition(_lock)
_work: deque[Callable[[], None]] = deque()
_nthreads = 0
_nidle = 0


def submit(fn: Callable[[], None]) -> None:
    """Run ``fn()`` on a pool thread. ``fn`` should not raise (an exception
    is printed and the thread goes on)."""
    global _nthreads
    with _lock:
        _work.append(fn)
        if _nidle >= len(_work) or _nthreads >= MAX_THREADS:
            _cond.notify()
            return
        _nthreads += 1
    t = threading.Thread(target=_worker, name="gmploop-blocking", daemon=True)
    t._gmploop_runtime = True  # type: ignore[attr-defined]
    try:
        t.start()
    except BaseException:
        with _lock:
            _nthreads -= 1
            # The call stays queued: a live thread, if any, will take it.
            if _nthreads == 0:
                _work.remove(fn)
                raise
            _cond.notify()


def _worker() -> None:
    global _nthreads, _nidle
    while True:
        with _lock:
            idle_since = monotonic()
            while not _work:
                left = idle_since + IDLE_S - monotonic()
                if left <= 0 or _nthreads > MAX_THREADS:
                    _nthreads -= 1
                    return
                _nidle += 1
                _cond.wait(left)
                _nidle -= 1
            fn = _work.popleft()
        try:
            fn()
        except BaseException:  # noqa: BLE001 - keep the pool thread alive
            try:
                traceback.print_exc(file=sys.stderr)
            except Exception:  # noqa: BLE001
                pass
        fn = None  # drop references to the finished call while idle


def configure(max_threads: int | None = None, idle_s: float | None = None) -> tuple[int, float]:
    """Set the cap and/or the idle time-out; returns the previous
    ``(max_threads, idle_s)``. Idle threads re-check at once, so lowering
    either shrinks the pool promptly."""
    global MAX_THREADS, IDLE_S
    if max_threads is not None:
        if isinstance(max_threads, bool) or not isinstance(max_threads, int):
            raise TypeError(f"max_threads must be an int, not {type(max_threads).__name__}")
        if max_threads < 1:
            raise ValueError(f"max_threads must be >= 1, got {max_threads}")
    if idle_s is not None:
        if isinstance(idle_s, bool) or not isinstance(idle_s, (int, float)):
            raise TypeError(f"idle_s must be a number, not {type(idle_s).__name__}")
        if not idle_s >= 0:
            raise ValueError(f"idle_s must be >= 0, got {idle_s}")
    with _lock:
        old = (MAX_THREADS, IDLE_S)
        if max_threads is not None:
            MAX_THREADS = max_threads
        if idle_s is not None:
            IDLE_S = float(idle_s)
        _cond.notify_all()
    return old


def size() -> tuple[int, int]:
    """(threads, idle threads) now."""
    with _lock:
        return _nthreads, _nidle


def pending() -> int:
    """Calls queued and not yet taken by a thread."""
    with _lock:
        return len(_work)


# --------------------------------------------------------------------------
# The event loop's default executor (header)
# --------------------------------------------------------------------------


def _mark_idle() -> None:
    threading.current_thread()._gmploop_runtime = True  # type: ignore[attr-defined]


def _run_marked(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    t = threading.current_thread()
    t._gmploop_runtime = False  # type: ignore[attr-defined]  # running a call
    try:
        return fn(*args, **kwargs)
    finally:
        t._gmploop_runtime = True  # type: ignore[attr-defined]  # idle again
        proc.recheck_dead()  # after the mark, so that the check sees it


class LoopExecutor(ThreadPoolExecutor):
    """A gmploop event loop's default executor: its threads count as runtime
    threads for deadlock detection only while idle (see the header)."""

    def __init__(self, max_workers: int | None = None,
                 thread_name_prefix: str = "asyncio") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix,
                         initializer=_mark_idle)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(_run_marked, fn, args, kwargs)
