"""Go's ``select``. Counterpart of ``runtime/select.go``.

``select(*cases, default=False, timeout=None)``:

pass 0 - validate, drop ``None`` channels (never ready), and make the poll order
         (a random permutation: uniform choice among ready cases) and the lock
         order (distinct channels sorted by ``id``: a fixed global order, so two
         selects never deadlock on each other's locks).
pass 1 - with every channel locked, look for a case that can proceed now, in
         poll order; perform it and return.
         ``default``: none ready -> return (-1, None, False).
pass 2 - enqueue one sudog per case on its channel's recvq/sendq; all share one
         ``SelectDone`` whose test-and-set lets exactly one waker win. Unlock,
         block.
pass 3 - the winner's waker already did the transfer. The other sudogs stay on
         their queues marked dead (the claim is taken), and the queues drop them
         lazily (sema.WaitQ), so no lock is retaken and nothing leaks. A timeout
         or cancellation withdraws by taking the claim itself (sema.withdraw).
         None of these sudogs is reused while it may still be queued (sema.py,
         step 6): reusing one revived it on its old channel.

The transfers themselves are the channel's (``Chan._take_from_sender``,
``Chan._give_to_receiver``), shared with send and receive.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from . import _chan
from ._chan import Chan, Closed, lock_all, unlock_all
from ._runtime import config
from ._runtime.runtime2 import W_SELECT, W_SELECT_NO_CASES, SelectDone
from ._runtime.sema import (ablock, block, caller_goroutine, check_timeout,
                            new_async_sudog, new_sudog, sibling, wake, withdraw)

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._runtime.runtime2 import Sudog

    _Cases: TypeAlias = "tuple[Recv[Any] | Send[Any], ...]"
    _Result: TypeAlias = "tuple[int, Any, bool]"


T = TypeVar("T")


@final  # the passes below tell the two apart by exact type
class Recv(Generic[T]):
    """Select case: receive from ``ch`` (``None``: never ready)."""

    __slots__ = ("ch",)

    def __init__(self, ch: Chan[T] | None) -> None:
        if ch is not None and not isinstance(ch, Chan):
            raise TypeError(f"ch must be a Chan or None, not {type(ch).__name__}")
        self.ch = ch

    def __repr__(self) -> str:
        return f"Recv({self.ch!r})"


@final
class Send(Generic[T]):
    """Select case: send ``value`` on ``ch`` (``None``: never ready)."""

    __slots__ = ("ch", "value")

    def __init__(self, ch: Chan[T] | None, value: T) -> None:
        if ch is not None and not isinstance(ch, Chan):
            raise TypeError(f"ch must be a Chan or None, not {type(ch).__name__}")
        self.ch = ch
        self.value = value

    def __repr__(self) -> str:
        return f"Send({self.ch!r}, {self.value!r})"


def _prepare(cases: _Cases, default: Any,
             timeout: Any) -> tuple[list[int], list[Chan[Any]], float | None]:
    if not isinstance(default, bool):
        raise TypeError(f"default must be a bool, not {type(default).__name__}")
    timeout = check_timeout(timeout)
    active = []
    for i, c in enumerate(cases):
        if type(c) is not Recv and type(c) is not Send:
            if not isinstance(c, (Recv, Send)):
                raise TypeError(f"cases[{i}] must be Recv or Send, not {type(c).__name__}")
        if c.ch is not None:
            active.append(i)
    config.rng.shuffle(active)  # pollorder
    chans = {id(ch): ch for i in active if (ch := cases[i].ch) is not None}
    lockorder = [chans[k] for k in sorted(chans)]
    return active, lockorder, timeout


def _pass1(cases: _Cases, pollorder: list[int]) -> tuple[_Result, Sudog | None] | None:
    """Under all locks: perform a ready case. Returns (result, sudog to wake)
    or None. Raises Closed (locks still held: the caller unlocks)."""
    for i in pollorder:
        case = cases[i]
        c = case.ch
        assert c is not None  # polled cases have a channel (_prepare)
        if type(case) is Recv:
            sg = c.sendq.dequeue() if c.sendq else None
            if sg is not None:
                return (i, c._take_from_sender(sg), True), sg
            if c._buf:
                return (i, c._buf.popleft(), True), None
            if c._closed:
                return (i, None, False), None
        else:
            if c._closed:
                raise Closed("send on closed channel")
            sg = c.recvq.dequeue() if c.recvq else None
            if sg is not None:
                Chan._give_to_receiver(sg, case.value)
                return (i, None, True), sg
            if len(c._buf) < c._cap:
                c._buf.append(case.value)
                return (i, None, True), None
    return None


def _enqueue_all(cases: _Cases, pollorder: list[int], first: Sudog) -> SelectDone:
    sel = SelectDone()
    first.sel = sel
    sg = first
    for n, i in enumerate(sorted(pollorder)):
        if n:
            sg = sibling(first)
        sg.sel = sel
        sg.idx = i
        case = cases[i]
        c = case.ch
        assert c is not None  # polled cases have a channel (_prepare)
        if type(case) is Recv:
            c.recvq.enqueue(sg)
        else:
            sg.elem = case.value
            c.sendq.enqueue(sg)
    return sel


def _result(cases: _Cases, sel: SelectDone) -> _Result:
    won = sel.won
    assert won is not None  # called once a waker claimed a case
    if type(cases[won.idx]) is Recv:
        return won.idx, won.elem, won.ok
    if not won.success:
        raise Closed("send on closed channel")
    return won.idx, None, True


def _select_now(cases: _Cases, default: Any, timeout: Any
                ) -> tuple[_Result | None, list[int], list[Chan[Any]], float | None]:
    """Passes 0 and 1, shared by select and aselect. Returns ``(result,
    pollorder, lockorder, timeout)``: ``result`` when done without waiting,
    else None with every channel still locked (the caller enqueues, unlocks)."""
    pollorder, lockorder, timeout = _prepare(cases, default, timeout)
    lock_all(lockorder)
    try:
        r = _pass1(cases, pollorder)
    except BaseException:
        unlock_all(lockorder)
        raise
    if r is not None:
        unlock_all(lockorder)
        if r[1] is not None:
            wake(r[1])
        return r[0], pollorder, lockorder, timeout
    if default:
        unlock_all(lockorder)
        return (-1, None, False), pollorder, lockorder, timeout
    if timeout == 0:
        unlock_all(lockorder)
        raise TimeoutError("select timed out")
    return None, pollorder, lockorder, timeout


def select(*cases: Recv[Any] | Send[Any], default: bool = False,
           timeout: float | None = None) -> tuple[int, Any, bool]:
    """Wait until one case can proceed, perform exactly that one and return
    ``(index, value, ok)``. See docs/api.md, "Select"."""
    r, pollorder, lockorder, timeout = _select_now(cases, default, timeout)
    if r is not None:
        return r
    try:
        g = caller_goroutine("select()", "aselect(...)")
    except BaseException:
        unlock_all(lockorder)
        raise
    first = new_sudog(g, W_SELECT if pollorder else W_SELECT_NO_CASES)
    # pass 2 - enqueue on all channels, then unlock and block
    sel = _enqueue_all(cases, pollorder, first)
    unlock_all(lockorder)
    if not block(first, timeout, withdraw):
        raise TimeoutError("select timed out")
    # pass 3 - nothing to undo: the losing sudogs are dead (claim taken), and
    # sema's reuse rule never hands a goroutine one that may still be queued
    return _result(cases, sel)


async def aselect(*cases: Recv[Any] | Send[Any], default: bool = False,
                  timeout: float | None = None) -> tuple[int, Any, bool]:
    """Awaitable ``select``, same arguments and result. Cancelling it performs
    no case (or, if one was already performed, returns it and re-arms the
    cancellation for the next await)."""
    r, pollorder, lockorder, timeout = _select_now(cases, default, timeout)
    if r is not None:
        return r
    try:
        first = new_async_sudog(asyncio.get_running_loop())
    except BaseException:
        unlock_all(lockorder)
        raise
    sel = _enqueue_all(cases, pollorder, first)
    unlock_all(lockorder)
    if not await ablock(first, timeout, withdraw):
        raise TimeoutError("select timed out")
    return _result(cases, sel)


Recv.__module__ = Send.__module__ = "gmploop"
_ = _chan
