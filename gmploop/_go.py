"""Running goroutines: ``run``, ``go``, ``Goroutine.join``, ``await_``,
``blocking`` and the small functions of Go's ``runtime`` package."""

from __future__ import annotations

import asyncio
import atexit
import inspect
from contextvars import copy_context
import sys
import threading
from _thread import get_ident
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, Callable, ParamSpec, TypeVar, overload

from greenlet import getcurrent

from . import _build
from ._loop import GMPEventLoop, active_sched, check_procs
from ._runtime import proc, traceback as _traceback
from ._runtime.config import FREE_THREADED
from ._runtime.proc import (Deadlock, Sched, _next_goid, _Worker,
                            _get_running_loop, current_p, getg, goready,
                            gopark_commit, gopark_prepare, snapshot_context,
                            take_cancel)
from ._runtime.runtime2 import DEAD, RUNNING, W_AWAIT, W_JOIN, W_SYSCALL, Goroutine
from ._runtime.sema import (JoinQ, ablock, block, caller_goroutine, check_timeout,
                            new_async_sudog, new_sudog)

excepthook = _traceback.default_excepthook


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------


_P = ParamSpec("_P")
_R = TypeVar("_R")


# Typing: a coroutine, a coroutine function or a plain function gives its
# result; arguments are checked against main's parameters (ParamSpec), except
# when procs= is passed too (PEP 612 allows no keyword between *args and
# **kwargs).
@overload
def run(main: Coroutine[Any, Any, _R], *, procs: int | None = None) -> _R: ...
@overload
def run(main: Callable[[], Coroutine[Any, Any, _R]], *,
        procs: int | None = None) -> _R: ...
@overload
def run(main: Callable[[], _R], *, procs: int | None = None) -> _R: ...
@overload
def run(main: Callable[..., Coroutine[Any, Any, _R]], *args: Any,
        procs: int | None, **kwargs: Any) -> _R: ...
@overload
def run(main: Callable[..., _R], *args: Any, procs: int | None, **kwargs: Any) -> _R: ...
@overload
def run(main: Callable[_P, Coroutine[Any, Any, _R]],
        *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
@overload
def run(main: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R: ...


# PEP 612 cannot say that _P.kwargs of the last two overloads lacks procs=.
def run(main: Any, *args: Any, procs: int | None = None,  # type: ignore[misc]
        **kwargs: Any) -> Any:
    """Run ``main(*args, **kwargs)`` as the main goroutine and return its
    result (or re-raise its exception). When it returns, goroutines still
    alive are abandoned and the runtime stops, as in Go.

    ``main`` may also be a coroutine: it then runs on a gmploop event loop,
    like ``asyncio.run(main, loop_factory=gmploop.new_event_loop)``; and a
    function whose call returns a coroutine (a coroutine function, a partial
    of one, a lambda) runs as ``run(main(*args, **kwargs))`` would.

    Raises ``Deadlock`` when every goroutine is blocked forever.
    """
    if getg() is not None:
        raise RuntimeError("gmploop.run() cannot be called from a goroutine")
    if _get_running_loop() is not None:
        raise RuntimeError("gmploop.run() cannot be called from a running event loop")
    n = check_procs(procs)
    if inspect.iscoroutinefunction(main):
        # A coroutine function (or a partial or method of one): known to
        # return a coroutine, so call it here, once, and run that. A lambda
        # returning a coroutine cannot be told apart before it is called: it
        # runs as the main goroutine, which awaits what it returns on this
        # loop (proc.worker_main), with the same result.
        main = main(*args, **kwargs)
        args, kwargs = (), {}
        if not asyncio.iscoroutine(main):
            return main  # marked as a coroutine function, but it was not one
    if asyncio.iscoroutine(main):
        if args or kwargs:
            main.close()
            raise TypeError("run(coroutine) takes no extra arguments")
        with asyncio.Runner(loop_factory=lambda: GMPEventLoop(n)) as runner:
            return runner.run(main)
    if not callable(main):
        raise TypeError(f"main must be callable or a coroutine, not {type(main).__name__}")
    loop = GMPEventLoop(n)
    sched: Sched = loop._gmp_sched
    sched.detect_deadlock = True
    g: Goroutine[Any] = Goroutine(_next_goid(), main, args, kwargs or None)
    g.ctx = snapshot_context()
    p0 = sched.allp[0]
    p0.ncreated += 1
    p0.newq.append(g)
    sched.main_g = g
    sched.on_main_exit = lambda _g: loop.stop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        if sched.fatal is not None:
            raise sched.fatal
        if sched.deadlock is not None:
            raise sched.deadlock
        if g.status is not DEAD:
            raise RuntimeError("the event loop stopped before the main goroutine returned")
        if g.exc is not None:
            raise g.exc
        return g.result
    finally:
        sched.abandoned = True
        sched.main_g = None
        g.result = g.exc = None
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:  # noqa: BLE001 - best effort, as asyncio.run does
            pass
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for t in tasks:
        t.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


# --------------------------------------------------------------------------
# The background runtime (go() from a plain thread)
# --------------------------------------------------------------------------

_bg_lock = threading.Lock()
_bg: tuple[GMPEventLoop, threading.Thread] | None = None


def _background() -> Sched:
    global _bg
    with _bg_lock:
        if _bg is not None and not _bg[0]._gmp_sched.dead:
            return _bg[0]._gmp_sched
        loop = GMPEventLoop()
        started = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            try:
                loop.run_forever()
            finally:
                asyncio.set_event_loop(None)

        t = threading.Thread(target=main, name="gmploop-background", daemon=True)
        t._gmploop_runtime = True  # type: ignore[attr-defined]
        t.start()
        started.wait()
        _bg = (loop, t)
        return loop._gmp_sched


def shutdown(timeout: float | None = None) -> None:
    """Stop the runtime that ``go`` started in the background; goroutines
    still alive there are abandoned. A later ``go`` starts a new one."""
    global _bg
    timeout = check_timeout(timeout)
    with _bg_lock:
        bg, _bg = _bg, None
    if bg is None:
        return
    loop, t = bg
    try:
        loop.call_soon_threadsafe(loop.stop)
    except RuntimeError:
        pass
    t.join(timeout)
    if not t.is_alive():
        loop.close()
    else:
        loop._gmp_sched.shutdown(0)


atexit.register(shutdown, 1.0)


def _sched_for_thread() -> Sched:
    s = active_sched()
    if s is not None and not s.dead:
        return s
    return _background()


# --------------------------------------------------------------------------
# go / current / gosched / ...
# --------------------------------------------------------------------------


def _go_outside(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                origin: tuple[Any, int, int] | None) -> Goroutine[Any]:
    """``go()`` outside goroutines (``proc.go`` calls it): ``origin`` says
    where (``Goroutine.go_code``), None if it was called straight from C."""
    p = current_p()
    if p is not None:
        sched = p.sched
        if p.id == 0 and sched.nprocs > 1:
            # From a coroutine (or callback) on the asyncio loop's thread: the
            # goroutine goes to the global queue and another processor is
            # woken, so it does not hold up the loop (docs/api.md, asyncio:
            # "goroutines started from it run on all processors").
            return sched.newproc(fn, args, kwargs, None, avoid=p, origin=origin)
        return sched.newproc(fn, args, kwargs, p, origin=origin)
    return _sched_for_thread().newproc(fn, args, kwargs, None, origin=origin)


proc._go_outside = _go_outside

# go() is proc.go (compiled with the hot path: fan-out, skynet); its typing:
if TYPE_CHECKING:
    @overload
    def go(fn: Callable[_P, Coroutine[Any, Any, _R]],
           *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...
    @overload
    def go(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[_R]: ...
    def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Goroutine[Any]: ...
else:
    go = proc.go


def current() -> Goroutine[Any] | None:
    """The running goroutine, or None outside goroutines."""
    return getg()


def _any_sched() -> Sched | None:
    p = current_p()
    if p is not None:
        return p.sched
    s = active_sched()
    if s is not None:
        return s
    if _bg is not None:
        return _bg[0]._gmp_sched
    return None


def num_goroutine() -> int:
    """Goroutines that exist now (not yet finished), of the current runtime."""
    s = _any_sched()
    return s.num_goroutine() if s is not None else 0


def set_max_procs(n: int) -> int:
    """Like ``runtime.GOMAXPROCS(n)``: set the number of processors of the
    current runtime and return the previous value; ``n < 1`` only reads it."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    s = _any_sched()
    if s is None:
        s = _sched_for_thread()
    if n < 1:
        return s.nprocs
    return s.resize(n)


def stats() -> dict[str, Any]:
    """A snapshot of the scheduler (see docs/api.md, "Observability")."""
    s = _any_sched()
    if s is None:
        d: dict[str, Any] = {
            "procs": 0, "goroutines": 0, "runnable_global": 0, "runnable_local": [],
            "idle_procs": 0, "threads": 0, "spinning": 0, "steals": 0,
            "created": 0, "reused": 0}
    else:
        d = _traceback.stats(s)
    d["build"] = _build.mode()  # "compiled" or "pure" (docs/internals.md)
    return d


def dump_goroutines(file: Any = None) -> None:
    """Write every live goroutine's id, name, state, wait reason and stack."""
    if file is None:
        file = sys.stderr
    s = _any_sched()
    text = _traceback.format_goroutines(s, names=True) if s is not None else ""
    file.write(text if text else "no goroutines\n")


Goroutine.__module__ = "gmploop"


# --------------------------------------------------------------------------
# await_: goroutine -> asyncio
# --------------------------------------------------------------------------


async def _await_awaitable(awaitable: Any) -> Any:
    return await awaitable


def await_(awaitable: Awaitable[_R]) -> _R:
    """From a goroutine, wait for an asyncio awaitable on the runtime's event
    loop (P0's), parking only this goroutine. Returns its result. A coroutine
    runs as a task in a copy of the goroutine's ``contextvars`` context: it
    sees the goroutine's values; its own writes stay in the task."""
    g = getg()
    if g is None:
        raise RuntimeError("await_() must be called from a goroutine; "
                           "in a coroutine use 'await'")
    if not (asyncio.isfuture(awaitable) or asyncio.iscoroutine(awaitable)
            or hasattr(awaitable, "__await__")):
        raise TypeError(f"awaitable must be a coroutine, Task or Future, "
                        f"not {type(awaitable).__name__}")
    if g.cancelreq:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()  # never started: nothing to cancel
        raise take_cancel(g)
    sched = g.p.sched
    loop = sched.loop0
    on_loop0 = sched.allp[0].tid == get_ident()
    box: list[asyncio.Future[Any]] = []
    started: list[asyncio.Future[Any]] = []
    # A coroutine runs as a task in a copy of the goroutine's contextvars
    # context (create_task would otherwise copy loop0's callback context).
    coro = None
    if asyncio.iscoroutine(awaitable):
        coro = awaitable
    elif not asyncio.isfuture(awaitable):
        coro = _await_awaitable(awaitable)
    ctx = copy_context() if coro is not None else None

    def done(fut: asyncio.Future[Any]) -> None:
        box.append(fut)
        with sched.lock:
            sched.nexternal -= 1
        goready(g)

    def start() -> None:
        try:
            if coro is not None:
                fut = loop.create_task(coro, context=ctx)
            else:
                fut = asyncio.ensure_future(awaitable, loop=loop)
        except BaseException as e:  # noqa: BLE001
            f = loop.create_future()
            f.set_exception(e)
            fut = f
        started.append(fut)
        fut.add_done_callback(done)

    def cancel_awaited(_sg: Any) -> bool:
        # proc.cancel_parked, on g's thread: cancel the task on loop0 (after
        # start(), which was queued there first). It ends, cancelled or not,
        # and done() wakes g; so nothing is withdrawn here.
        def cancel() -> None:
            if started:
                started[0].cancel()
        if on_loop0:
            cancel()
        else:
            try:
                loop.call_soon_threadsafe(cancel)
            except RuntimeError:  # loop closed
                pass
        return False

    with sched.lock:
        sched.nexternal += 1
    gopark_prepare(g, W_AWAIT)
    g.waitobj = cancel_awaited
    if on_loop0:
        start()
    else:
        loop.call_soon_threadsafe(start)
    gopark_commit(g)
    fut = box[0]
    if g.cancelreq and fut.cancelled():
        raise take_cancel(g)
    r: _R = fut.result()
    return r


proc.run_coroutine = await_


def call_fn(fn: Callable[..., Any], args: tuple[Any, ...],
            kwargs: dict[str, Any] | None) -> Any:
    """``fn(*args, **kwargs)`` in a goroutine; a coroutine it returns is
    awaited there (for the wrappers of ``WaitGroup.go`` and ``Group.go``,
    which must see its outcome; ``go`` itself gets this from proc.worker_main)."""
    r = fn(*args, **kwargs) if kwargs else fn(*args)
    if r is not None and proc.is_coroutine_type(type(r)):
        r = await_(r)
    return r


# --------------------------------------------------------------------------
# blocking(): hand a blocking call to another thread
# --------------------------------------------------------------------------


def blocking(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Run a call that blocks in the OS without stalling the goroutine's
    processor: it runs on a pool thread while the goroutine parks. From a
    thread context it just calls ``fn``."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    g = getg()
    if g is None:
        return fn(*args, **kwargs)
    from ._runtime import blockpool
    sched = g.p.sched
    box: list[tuple[bool, Any]] = []

    def call() -> None:
        try:
            box.append((True, fn(*args, **kwargs)))
        except BaseException as e:  # noqa: BLE001 - re-raised in the goroutine
            box.append((False, e))
        with sched.lock:
            sched.nexternal -= 1
        goready(g)

    with sched.lock:
        sched.nexternal += 1
    gopark_prepare(g, W_SYSCALL)
    g.waitobj = None  # an OS call cannot be interrupted: Canceled comes after
    try:
        blockpool.submit(call)
    except BaseException:
        with sched.lock:
            sched.nexternal -= 1
        g.status = RUNNING
        raise
    gopark_commit(g)
    ok, v = box[0]
    if ok:
        r: _R = v
        return r
    raise v


__all__ = ["run", "go", "current", "num_goroutine", "set_max_procs", "stats",
           "dump_goroutines", "shutdown", "await_", "blocking", "Deadlock",
           "excepthook"]
