"""Go's ``context`` package: cancellation, deadlines and request-scoped values.

Concepts (src/context/context.go)
---------------------------------
A Context is immutable and forms a tree: every context but ``background()``
has a parent. Three kinds of node:

- ``_EmptyCtx``   the root (``background()``): never cancelled, no deadline,
                  no values. Its ``done()`` channel is never closed (Go returns
                  a nil channel; a channel that is never ready is the same
                  thing for ``recv``/``select``).
- ``_CancelCtx``  ``with_cancel``/``with_timeout``/``with_deadline``: owns a
                  lock, a lazily made done channel, its error once cancelled,
                  its registered children and (for deadlines) a runtime timer.
- ``_ValueCtx``   ``with_value``: one key/value pair; everything else is its
                  parent's.

Approach
--------
Cancellation is *pushed* down the tree, as in Go: a cancel node registers with
its nearest cancel ancestor (``propagate`` below, Go's propagateCancel) and a
cancel walks the registered children. The walk is iterative (a stack), so a
chain of 100k nested contexts does not hit Python's recursion limit, and every
node's state changes under its own lock only: no code path ever holds two
nodes' locks at once, so there is no lock order to get wrong.

Deadlines use the runtime's timers (``_runtime/timers.py`` via
``_time._timer_p``): the calling goroutine's processor, or P0 of the program's
runtime for a thread or a coroutine. The timer callback runs on that
processor's thread and only closes a channel, which never blocks. No helper
thread, no polling. Rejected: ``threading.Timer`` (a thread per context) and a
goroutine per deadline (a parked greenlet per context, and a goroutine is a
heavier object than a heap entry).

Parents that are user subclasses of ``Context`` (not made by this module) are
watched by one goroutine per child that waits on ``select`` over the parent's
and the child's done channels, as Go does for foreign Context implementations.

Cancel protocol (one node ``c`` with error ``e``):
1. under ``c.lock``: if ``c.err`` is set, stop (cancel is idempotent); else set
   it, take the done channel, the children and the timer; clear the children.
2. outside the lock: stop the timer, close the done channel (wakes every
   waiter: goroutines, threads and coroutines), push the children with ``e``.
3. the node the user cancelled (only that one) unregisters from its parent, so
   long-lived parents do not accumulate dead children (TestCancelRemoves).

Invariants:
- ``c.err is None`` <=> ``c`` is registered in its cancel parent's children
  (or has no cancel parent), except transiently inside step 1-3.
- once ``c.err`` is set it never changes, and ``c.done()`` is closed.
"""

from __future__ import annotations

import math
import time
from _thread import allocate_lock
from typing import TYPE_CHECKING, Any, Callable

from ._chan import Chan
from ._runtime import proc
from ._runtime.runtime2 import Canceled

if TYPE_CHECKING:
    from ._runtime.proc import P
    from ._runtime.timers import Timer

_monotonic = time.monotonic


class DeadlineExceeded(TimeoutError):
    """``ctx.err()`` of a context whose deadline passed
    (Go's ``context.DeadlineExceeded``; a ``TimeoutError``)."""


class _DoneChan(Chan[None]):
    """A context's done channel: receive-only for users (Go's ``<-chan
    struct{}``). Only the context closes it."""

    __slots__ = ()

    def close(self) -> None:
        raise RuntimeError("a context's done channel is closed by cancelling the context")

    def send(self, value: Any, timeout: float | None = None) -> None:
        raise RuntimeError("cannot send on a context's done channel")

    async def asend(self, value: Any, timeout: float | None = None) -> None:
        raise RuntimeError("cannot send on a context's done channel")

    def try_send(self, value: Any) -> bool:
        raise RuntimeError("cannot send on a context's done channel")

    def _close(self) -> None:
        Chan.close(self)


def _closed_chan() -> _DoneChan:
    c = _DoneChan()
    c._close()
    return c


class Context:
    """A Go context: carries cancellation, a deadline and values down a call
    tree. Make one with ``background()``, ``with_cancel``, ``with_timeout``,
    ``with_deadline`` or ``with_value``.

    - ``done()`` -> a ``Chan`` closed when the context is cancelled (the same
      channel on every call): ``ctx.done().recv_ok()`` waits,
      ``select(Recv(ctx.done()), ...)`` waits alongside other channels.
    - ``err()`` -> ``None`` while live, then a ``Canceled`` or
      ``DeadlineExceeded`` *instance* (not raised).
    - ``deadline()`` -> the ``time.monotonic()`` deadline, or ``None``.
    - ``value(key)`` -> the value bound to ``key`` here or in an ancestor.
    """

    __slots__ = ()

    def done(self) -> Chan[None]:
        """A channel closed when this context is cancelled (same one each call)."""
        raise NotImplementedError

    def err(self) -> BaseException | None:
        """None while live; the ``Canceled``/``DeadlineExceeded`` instance after."""
        raise NotImplementedError

    def deadline(self) -> float | None:
        """The ``time.monotonic()`` time this context will be cancelled, or None."""
        raise NotImplementedError

    def value(self, key: Any) -> Any:
        """The value bound to ``key`` by ``with_value`` here or above; else None."""
        raise NotImplementedError


class _EmptyCtx(Context):
    __slots__ = ("_done",)

    def __init__(self) -> None:
        self._done = _DoneChan()  # never closed

    def done(self) -> Chan[None]:
        return self._done

    def err(self) -> None:
        return None

    def deadline(self) -> None:
        return None

    def value(self, key: Any) -> None:
        return None

    def __repr__(self) -> str:
        return "context.Background"


_BACKGROUND = _EmptyCtx()


def background() -> Context:
    """The root context: never cancelled, no deadline, no values."""
    return _BACKGROUND


class _CancelCtx(Context):
    __slots__ = ("_parent", "_lock", "_done", "_err", "_children", "_pcancel",
                 "_deadline", "_timer", "_timer_p", "__weakref__")

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._lock = allocate_lock()
        self._done: _DoneChan | None = None  # made on first done() (Go: lazily)
        self._err: BaseException | None = None
        self._children: set[_CancelCtx] | None = None
        self._pcancel: _CancelCtx | None = None  # registered with this node
        self._deadline: float | None = None  # own deadline (timer contexts)
        self._timer: Timer | None = None
        self._timer_p: P | None = None  # the processor whose heap holds _timer

    def done(self) -> Chan[None]:
        d = self._done
        if d is None:
            with self._lock:
                d = self._done
                if d is None:
                    d = self._done = _DoneChan()
                    if self._err is not None:
                        d._close()
        return d

    def err(self) -> BaseException | None:
        return self._err

    def deadline(self) -> float | None:
        if self._deadline is not None:
            return self._deadline  # already the min of the parent's (with_deadline)
        return self._parent.deadline()

    def value(self, key: Any) -> Any:
        return _lookup(self._parent, key)

    def __repr__(self) -> str:
        kind = "WithDeadline" if self._deadline is not None else "WithCancel"
        return f"{self._parent!r}.{kind}"

    def _cancel(self, err: BaseException, remove: bool) -> None:
        """Cancel this node and its subtree (see "Cancel protocol")."""
        stack = [self]
        first = True
        close = Chan.close
        while stack:
            c = stack.pop()
            lk = c._lock
            lk.acquire()
            if c._err is not None:
                lk.release()
                if first:
                    return  # idempotent: nothing else to do
                continue
            c._err = err
            d = c._done
            kids = c._children
            c._children = None
            t = c._timer
            c._timer = None
            lk.release()
            if t is not None:
                assert c._timer_p is not None
                c._timer_p.timers.stop(t)
            if d is not None:
                close(d)
            if kids:
                stack.extend(kids)
            first = False
        if remove:
            p = self._pcancel
            if p is not None:
                with p._lock:
                    if p._children is not None:
                        p._children.discard(self)


class _ValueCtx(Context):
    __slots__ = ("_parent", "_key", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def done(self) -> Chan[None]:
        return self._parent.done()

    def err(self) -> BaseException | None:
        return self._parent.err()

    def deadline(self) -> float | None:
        return self._parent.deadline()

    def value(self, key: Any) -> Any:
        return _lookup(self, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


def _lookup(c: Any, key: Any) -> Any:
    """Walk up the tree for ``key`` (iteratively: deep chains are fine).
    ``c`` is a Context; the walk tells nodes apart by ``type(c)`` kept in a
    local, which the type checker cannot follow, hence Any."""
    while True:
        t = type(c)
        if t is _ValueCtx:
            if c._key is key or c._key == key:
                return c._val
            c = c._parent
        elif t is _CancelCtx:
            c = c._parent
        elif t is _EmptyCtx:
            return None
        else:
            return c.value(key)  # a user's Context subclass


# --------------------------------------------------------------------------
# Making contexts
# --------------------------------------------------------------------------


def _check_parent(parent: Any) -> Context:
    if not isinstance(parent, Context):
        raise TypeError(f"parent must be a Context, not {type(parent).__name__}")
    return parent


def _check_number(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(x).__name__}")
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    return float(x)


def _parent_cancel_ctx(parent: Context) -> tuple[_CancelCtx | None, bool]:
    """The nearest ancestor cancel node (Go's parentCancelCtx), and whether
    the walk met a user Context subclass instead (then it must be watched)."""
    c: Any = parent  # a Context, told apart by type(c) as in _lookup
    while True:
        t = type(c)
        if t is _CancelCtx:
            return c, False
        if t is _ValueCtx:
            c = c._parent
        elif t is _EmptyCtx:
            return None, False
        else:
            return None, True


def _propagate(child: _CancelCtx) -> None:
    """Arrange for ``child`` to be cancelled when its parent is (Go's
    propagateCancel). A child of an already-cancelled parent is cancelled now."""
    parent = child._parent
    pc, foreign = _parent_cancel_ctx(parent)
    if pc is not None:
        with pc._lock:
            perr = pc._err
            if perr is None:
                if pc._children is None:
                    pc._children = set()
                pc._children.add(child)
                child._pcancel = pc
                return
        child._cancel(perr, False)
        return
    if foreign:
        perr = parent.err()
        if perr is not None:
            child._cancel(perr, False)
            return
        _watch_foreign(parent, child)


def _watch_foreign(parent: Context, child: _CancelCtx) -> None:
    from ._go import go
    from ._select import Recv, select
    pdone = parent.done()
    if pdone is None:
        return  # never cancelled (Go: a nil Done channel)

    def watch() -> None:
        i, _, _ = select(Recv(pdone), Recv(child.done()))
        if i == 0:
            child._cancel(parent.err() or Canceled("context canceled"), True)

    go(watch)


class _CancelFunc:
    """``cancel()`` of a context: idempotent; cancels the context and every
    descendant with ``Canceled``."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: _CancelCtx) -> None:
        self._ctx = ctx

    def __call__(self) -> None:
        c = self._ctx
        if c._err is None:
            c._cancel(Canceled("context canceled"), True)

    def __repr__(self) -> str:
        return f"<cancel func of {self._ctx!r}>"


def with_cancel(parent: Context) -> tuple[Context, Callable[[], None]]:
    """A child of ``parent`` with its own ``cancel()``. It is cancelled when
    ``cancel`` is called or when ``parent`` is, whichever comes first."""
    _check_parent(parent)
    c = _CancelCtx(parent)
    _propagate(c)
    return c, _CancelFunc(c)


def _fire(c: _CancelCtx) -> None:
    # Runs on the timer's processor thread: only closes channels, never blocks.
    if c._err is None:
        c._cancel(DeadlineExceeded("context deadline exceeded"), True)


def with_deadline(parent: Context, monotonic_deadline: float) -> tuple[Context, Callable[[], None]]:
    """A child of ``parent`` cancelled with ``DeadlineExceeded`` at
    ``monotonic_deadline`` (a ``time.monotonic()`` value), or earlier by
    ``cancel()`` or its parent. A parent's earlier deadline wins."""
    _check_parent(parent)
    d = _check_number("monotonic_deadline", monotonic_deadline)
    cur = parent.deadline()
    if cur is not None and cur < d:
        return with_cancel(parent)  # the parent will fire first (Go does the same)
    c = _CancelCtx(parent)
    c._deadline = d
    _propagate(c)
    delay = d - _monotonic()
    if delay <= 0:
        _fire(c)
        return c, _CancelFunc(c)
    from ._time import _timer_p
    p = _timer_p()
    with c._lock:
        if c._err is None:
            c._timer_p = p
            c._timer = proc.add_timer(p, delay, _fire, c)
    return c, _CancelFunc(c)


def with_timeout(parent: Context, seconds: float) -> tuple[Context, Callable[[], None]]:
    """``with_deadline(parent, time.monotonic() + seconds)``."""
    _check_parent(parent)
    s = _check_number("seconds", seconds)
    return with_deadline(parent, _monotonic() + s)


def with_value(parent: Context, key: Any, value: Any) -> Context:
    """A child of ``parent`` where ``value(key)`` returns ``value``. ``key``
    must be hashable and not None (Go: comparable and non-nil); use a private
    class or object as key to avoid clashes between packages."""
    _check_parent(parent)
    if key is None:
        raise TypeError("key must not be None")
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"key must be hashable, not {type(key).__name__}") from None
    return _ValueCtx(parent, key, value)


for _c in (Context, Canceled, DeadlineExceeded):
    _c.__module__ = "gmploop"
del _c

__all__ = ["Context", "Canceled", "DeadlineExceeded", "background", "with_cancel",
           "with_timeout", "with_deadline", "with_value"]
