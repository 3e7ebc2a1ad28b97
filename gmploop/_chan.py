"""Go channels. Counterpart of ``runtime/chan.go``.

An hchan here is a lock, a ring buffer (a ``deque`` bounded by ``cap``), and two
wait queues of sudogs, ``recvq`` and ``sendq`` (sema.WaitQ). The waiters may be
goroutines, threads or asyncio futures, mixed on one channel.

Invariants (chan.go):
- at least one of ``sendq`` and ``recvq`` has no live waiter, except on an
  unbuffered channel with a single select waiting on it both to send and to
  receive (as in chan.go);
- for a buffered channel: the buffer is empty or ``recvq`` has no live waiter,
  and the buffer is full or ``sendq`` has no live waiter.

Direct hand-off: a sender that finds a waiting receiver gives it the value
directly (also on a buffered channel, whose buffer must then be empty); a
receiver that finds a waiting sender on a full buffered channel takes the head
of the buffer and moves the sender's value to its tail, so values are received
in the order their sends completed. Waiters are served FIFO.

Close wakes every waiting receiver (no value, ok=False) and every waiting
sender (``Closed``). Buffered values are still delivered after close.
"""

from __future__ import annotations

import asyncio
from _thread import allocate_lock
from collections import deque
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Generic, Iterator, TypeVar

import cython  # compiled: Cython's own; pure: gmploop._build's stand-in

from ._runtime import config as _config
from ._runtime.proc import P, _Worker, gopark_commit
from ._runtime.runtime2 import (K_G, RUNNABLE, GoroutineCore, SG_CLAIMED, SG_WAITING, W_CHAN_RECV,
                                W_CHAN_SEND, WAITING, Sudog)
from ._runtime.sema import (COMPACT_MIN, WaitQ, ablock, block, caller_goroutine, check_timeout,
                            is_live,
                            new_async_sudog, new_sudog, wake, wake_all, withdraw)

if cython.compiled:  # deque and greenlet calls as C calls (dequeops.pxd, capi.pxd)
    dq_init(deque)  # type: ignore[name-defined]  # noqa: F821
    PyGreenlet_Import()  # type: ignore[name-defined]  # noqa: F821
else:
    from _thread import get_ident

    from greenlet import getcurrent

    from ._runtime.dequeops import dq_append, dq_appendleft, dq_pop, dq_popleft


class Closed(Exception):
    """Operation on a closed channel (Go's panics and ``ok == false``)."""


def _check_cap(cap: Any) -> int:
    if isinstance(cap, bool) or not isinstance(cap, int):
        raise TypeError(f"cap must be an int, not {type(cap).__name__}")
    if cap < 0:
        raise ValueError(f"cap must be >= 0, got {cap}")
    return cap


T = TypeVar("T")


class ChanCore:
    """Every field and method of a :class:`Chan`, without its type parameter:
    a separate base so that a compiled build can make it a C struct (a cdef
    class, _chan.pxd) while the public ``Chan`` stays an ordinary generic
    class (mypy checks the typed signatures there against these)."""

    __slots__ = ("_lock", "_buf", "_cap", "_closed", "recvq", "sendq", "__weakref__")

    def __init__(self, cap: int = 0) -> None:
        self._cap = _check_cap(cap)
        if not cython.compiled:  # compiled, a C mutex in the struct (_chan.pxd)
            self._lock = allocate_lock()
        self._buf: deque[Any] = deque()
        self._closed = False
        self.recvq = WaitQ()
        self.sendq = WaitQ()

    # -- properties --------------------------------------------------------

    @property
    def cap(self) -> int:
        """Buffer capacity (0 for an unbuffered channel)."""
        return self._cap

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    def __len__(self) -> int:
        return len(self._buf)

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<Chan cap={self._cap} len={len(self._buf)}{state}>"

    def _check_invariants(self) -> None:
        """Assert chan.go's invariants (see the header). For tests and
        ``GMPLOOP_DEBUG`` runs; takes the lock."""
        with self._lock:
            live_r = self.recvq.has_live()
            live_s = self.sendq.has_live()
            if live_r and live_s:
                # chan.go's one exception: an unbuffered channel with a single
                # select waiting on it to send and to receive.
                sels = {id(sg.sel) if sg.sel is not None else id(sg)
                        for q in (self.recvq, self.sendq) for sg in q if is_live(sg)}
                assert self._cap == 0 and len(sels) == 1, \
                    "both recvq and sendq have waiters"
            if self._cap > 0:
                assert not (self._buf and live_r), "buffered values with waiting receivers"
                assert len(self._buf) == self._cap or not live_s, \
                    "buffer not full with waiting senders"
            assert len(self._buf) <= self._cap or self._cap == 0
            assert self._cap > 0 or not self._buf
            if self._closed:
                assert not live_r and not live_s, "waiters on a closed channel"

    # -- the two transfers, shared with select ----------------------------------

    def _take_from_sender(self, sg: Sudog) -> Any:
        """Under the lock, ``sg`` a claimed waiting sender: the value a receive
        gets now. On a full buffered channel that is the buffer's head, and the
        sender's value moves to its tail (chan.go recv), so values are received
        in the order their sends completed."""
        if self._cap == 0:
            v = sg.elem
        else:
            buf = self._buf
            v = dq_popleft(buf)
            dq_append(buf, sg.elem)
        sg.elem = None
        sg.success = True
        return v

    @staticmethod
    def _give_to_receiver(sg: Sudog, value: object) -> None:
        """Under the lock, ``sg`` a claimed waiting receiver: hand it ``value``."""
        sg.elem = value
        sg.ok = True
        sg.success = True

    def _withdraw(self, sg: Sudog) -> bool:
        with self._lock:
            return withdraw(sg)

    def _queue_counts(self) -> tuple[int, int, int, int, int, bool]:
        """A consistent snapshot, under the lock (tests): receivers queued and
        live, senders queued and live, buffered values, closed."""
        with self._lock:
            return (len(self.recvq), self.recvq.live_count(), len(self.sendq),
                    self.sendq.live_count(), len(self._buf), self._closed)

    # -- send ----------------------------------------------------------------
    #
    # send/recv/recv_ok are the hottest code in gmploop: on CPython a function
    # call costs as much as a greenlet switch's bookkeeping, and ping-pong pays
    # a handful per message. So their goroutine paths inline a few functions
    # between "# inline REF(ARGS)" and "# inline end" markers;
    # tests/test_inline_copies.py checks each copy against REF's AST.

    @cython.locals(sg=Sudog, g=GoroutineCore, p=P)
    def send(self, value: Any, timeout: float | None = None) -> None:
        """Send ``value``; blocks until a receiver takes it or there is room.

        Raises ``Closed`` if the channel is (or gets) closed, ``TimeoutError``
        if it could not send in time (then the value was not sent).
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        self._lock.acquire()
        if self._closed:
            self._lock.release()
            raise Closed("send on closed channel")
        recvq = self.recvq
        if recvq:
            # inline gmploop._runtime.sema.WaitQ.claim_first(recvq) -> sg
            sg = dq_popleft(recvq)
            if sg.state is SG_WAITING and sg.sel is None:
                sg.state = SG_CLAIMED
            else:
                dq_appendleft(recvq, sg)
                sg = recvq.dequeue()
            # inline end
            if sg is not None:
                # inline gmploop._chan.ChanCore._give_to_receiver(sg, value)
                sg.elem = value
                sg.ok = True
                sg.success = True
                # inline end
                self._lock.release()
                if sg.kind == K_G:
                    g = sg.g
                    # inline gmploop._runtime.proc.goready(g)
                    g.status = RUNNABLE
                    p = g.p
                    if p.tid == get_ident():
                        old = p.runnext
                        p.runnext = g
                        if old is not None:
                            dq_append(p.runq, old)
                        if p.sleeping:
                            p.notify()
                    else:
                        dq_append(p.inbox, g)
                        p.notify()
                    # inline end
                else:
                    wake(sg)
                return
        buf = self._buf
        if len(buf) < self._cap:
            dq_append(buf, value)
            self._lock.release()
            return
        if timeout == 0:
            self._lock.release()
            raise TimeoutError("send timed out")
        cur = getcurrent()
        if type(cur) is _Worker and timeout is None:
            g = cur.g
            # inline gmploop._runtime.sema.acquire_sudog(g, W_CHAN_SEND) -> sg
            sg = g.sudog
            if sg is None or sg.state is not SG_CLAIMED:
                sg = g.sudog = Sudog(K_G, g)
            else:
                sg.state = SG_WAITING
                sg.sel = None
            g.status = WAITING
            g.waitreason = W_CHAN_SEND
            # inline end
            g.waitobj = self  # what a cancellation withdraws (proc.py)
            sg.elem = value
            self.sendq.enqueue(sg)
            self._lock.release()
            gopark_commit(g)
        else:
            try:
                g = caller_goroutine("Chan.send()", "ch.asend(value)")
            except BaseException:
                self._lock.release()
                raise
            sg = new_sudog(g, W_CHAN_SEND)
            sg.elem = value
            self.sendq.enqueue(sg)
            self._lock.release()
            if not block(sg, timeout, self._withdraw):
                raise TimeoutError("send timed out")
        if not sg.success:
            raise Closed("send on closed channel")

    def _send_fast(self, value: Any) -> bool:
        """Under the lock: complete a send now if possible. Returns True if
        done (lock released); raises Closed (lock released); False: must wait
        (lock still held)."""
        if self._closed:
            self._lock.release()
            raise Closed("send on closed channel")
        if self.recvq:
            sg = self.recvq.dequeue()
            if sg is not None:
                self._give_to_receiver(sg, value)
                self._lock.release()
                wake(sg)
                return True
        if len(self._buf) < self._cap:
            dq_append(self._buf, value)
            self._lock.release()
            return True
        return False

    async def asend(self, value: Any, timeout: float | None = None) -> None:
        """Awaitable ``send``; never blocks the loop. Cancelling it never loses
        the value: a cancelled ``asend`` did not send."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        self._lock.acquire()
        if self._send_fast(value):
            return
        if timeout == 0:
            self._lock.release()
            raise TimeoutError("send timed out")
        try:
            sg = new_async_sudog(asyncio.get_running_loop())
        except BaseException:
            self._lock.release()
            raise
        sg.elem = value
        self.sendq.enqueue(sg)
        self._lock.release()
        if not await ablock(sg, timeout, self._withdraw):
            raise TimeoutError("send timed out")
        if not sg.success:
            raise Closed("send on closed channel")

    def try_send(self, value: Any) -> bool:
        """Send without blocking: False if it would block. Closed -> ``Closed``."""
        self._lock.acquire()
        if self._send_fast(value):
            return True
        self._lock.release()
        return False

    # -- receive ---------------------------------------------------------------

    def _recv_fast(self) -> tuple[Any, bool] | None:
        """Under the lock: receive now if possible, returning (value, ok) and
        releasing the lock; None (lock still held) if it must wait."""
        if self.sendq:
            sg = self.sendq.dequeue()
            if sg is not None:
                # inline gmploop._chan.ChanCore._take_from_sender(self, sg) -> v
                if self._cap == 0:
                    v = sg.elem
                else:
                    buf = self._buf
                    v = dq_popleft(buf)
                    dq_append(buf, sg.elem)
                sg.elem = None
                sg.success = True
                # inline end
                self._lock.release()
                if sg.kind == K_G:
                    g = sg.g
                    # inline gmploop._runtime.proc.goready(g)
                    g.status = RUNNABLE
                    p = g.p
                    if p.tid == get_ident():
                        old = p.runnext
                        p.runnext = g
                        if old is not None:
                            dq_append(p.runq, old)
                        if p.sleeping:
                            p.notify()
                    else:
                        dq_append(p.inbox, g)
                        p.notify()
                    # inline end
                else:
                    wake(sg)
                return v, True
        buf = self._buf
        if buf:
            v = dq_popleft(buf)
            self._lock.release()
            return v, True
        if self._closed:
            self._lock.release()
            return None, False
        return None

    def _recv_wait(self, timeout: float | None, what: str = "Chan.recv()",
                   alt: str = "ch.arecv()") -> tuple[Any, bool]:
        """Under the lock, nothing to receive now: wait (releases the lock)."""
        if timeout == 0:
            self._lock.release()
            raise TimeoutError("receive timed out")
        cur = getcurrent()
        if type(cur) is _Worker and timeout is None:
            g = cur.g
            # inline gmploop._runtime.sema.acquire_sudog(g, W_CHAN_RECV) -> sg
            sg = g.sudog
            if sg is None or sg.state is not SG_CLAIMED:
                sg = g.sudog = Sudog(K_G, g)
            else:
                sg.state = SG_WAITING
                sg.sel = None
            g.status = WAITING
            g.waitreason = W_CHAN_RECV
            # inline end
            g.waitobj = self  # what a cancellation withdraws (proc.py)
            self.recvq.enqueue(sg)
            self._lock.release()
            gopark_commit(g)
            return sg.elem, sg.ok
        try:
            g = caller_goroutine(what, alt)
        except BaseException:
            self._lock.release()
            raise
        sg = new_sudog(g, W_CHAN_RECV)
        self.recvq.enqueue(sg)
        self._lock.release()
        if not block(sg, timeout, self._withdraw):
            raise TimeoutError("receive timed out")
        return sg.elem, sg.ok

    def recv_ok(self, timeout: float | None = None) -> tuple[Any, bool]:
        """Go's ``v, ok := <-ch``: ``(None, False)`` once closed and drained."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        self._lock.acquire()
        r = self._recv_fast()
        if r is not None:
            return r
        return self._recv_wait(timeout, "Chan.recv_ok()", "ch.arecv_ok()")

    @cython.locals(sg=Sudog, g=GoroutineCore, p=P)
    def recv(self, timeout: float | None = None) -> Any:
        """Receive a value; blocks until one arrives. Closed and drained ->
        ``Closed``; not in time -> ``TimeoutError``."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        self._lock.acquire()
        if not self.sendq:
            buf = self._buf
            if buf:
                v = dq_popleft(buf)
                self._lock.release()
                return v
            if timeout is None and not self._closed:
                cur = getcurrent()
                if type(cur) is _Worker:
                    # Park at once (the _recv_wait goroutine path, inlined).
                    g = cur.g
                    # inline gmploop._runtime.sema.acquire_sudog(g, W_CHAN_RECV) -> sg
                    sg = g.sudog
                    if sg is None or sg.state is not SG_CLAIMED:
                        sg = g.sudog = Sudog(K_G, g)
                    else:
                        sg.state = SG_WAITING
                        sg.sel = None
                    g.status = WAITING
                    g.waitreason = W_CHAN_RECV
                    # inline end
                    g.waitobj = self  # what a cancellation withdraws (proc.py)
                    q = self.recvq
                    # inline gmploop._runtime.sema.WaitQ.enqueue(q, sg)
                    dq_append(q, sg)
                    if len(q) > COMPACT_MIN:
                        q._maybe_compact()
                    # inline end
                    self._lock.release()
                    gopark_commit(g)
                    if sg.ok:
                        return sg.elem  # a T was sent
                    raise Closed("receive from closed channel")
        r = self._recv_fast()
        if r is None:
            r = self._recv_wait(timeout)
        if r[1]:
            return r[0]  # ok: a T was received
        raise Closed("receive from closed channel")

    async def arecv_ok(self, timeout: float | None = None) -> tuple[Any, bool]:
        """Awaitable ``recv_ok``. A cancelled ``arecv_ok`` took nothing."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        self._lock.acquire()
        r = self._recv_fast()
        if r is not None:
            return r
        if timeout == 0:
            self._lock.release()
            raise TimeoutError("receive timed out")
        try:
            sg = new_async_sudog(asyncio.get_running_loop())
        except BaseException:
            self._lock.release()
            raise
        self.recvq.enqueue(sg)
        self._lock.release()
        if not await ablock(sg, timeout, self._withdraw):
            raise TimeoutError("receive timed out")
        return sg.elem, sg.ok

    async def arecv(self, timeout: float | None = None) -> Any:
        """Awaitable ``recv``. A cancelled ``arecv`` took nothing."""
        v, ok = await self.arecv_ok(timeout)
        if not ok:
            raise Closed("receive from closed channel")
        return v  # ok: a T was received

    def try_recv(self) -> tuple[Any, bool]:
        """Receive without blocking: ``(value, True)`` or ``(None, False)`` if
        none is ready. Closed and drained -> ``Closed``."""
        self._lock.acquire()
        r = self._recv_fast()
        if r is None:
            self._lock.release()
            return None, False
        if not r[1]:
            raise Closed("receive from closed channel")
        return r

    # -- close -------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel: wake every waiting receiver (no value) and every
        waiting sender (``Closed``). Closing twice -> ``Closed``."""
        with self._lock:
            if self._closed:
                raise Closed("close of closed channel")
            self._closed = True
            woken = self.recvq.claim_all() + self.sendq.claim_all()
            for sg in woken:
                sg.elem = None
                sg.ok = False
                sg.success = False
        wake_all(woken)

    # -- iteration -----------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        """``for v in ch``: receive until closed and drained."""
        while True:
            v, ok = self.recv_ok()
            if not ok:
                return
            yield v  # ok: a T was received

    async def __aiter__(self) -> AsyncIterator[Any]:
        """``async for v in ch``: receive until closed and drained."""
        while True:
            v, ok = await self.arecv_ok()
            if not ok:
                return
            yield v  # ok: a T was received


class Chan(ChanCore, Generic[T]):
    """A Go channel: ``Chan(0)`` unbuffered (rendezvous), ``Chan(n)`` buffered;
    ``Chan[int]()`` (or ``ch: Chan[int] = Chan()``) for type checkers.

    Safe from goroutines (which park), plain threads (which block) and asyncio
    coroutines (the ``a*`` methods), all at once.
    """

    __slots__ = ()

    if TYPE_CHECKING:
        # The typed face of ChanCore's methods (the code is there); mypy
        # checks each against the method it overrides.
        def send(self, value: T, timeout: float | None = None) -> None: ...
        async def asend(self, value: T, timeout: float | None = None) -> None: ...
        def try_send(self, value: T) -> bool: ...
        def recv(self, timeout: float | None = None) -> T: ...
        def recv_ok(self, timeout: float | None = None) -> tuple[T | None, bool]: ...
        async def arecv(self, timeout: float | None = None) -> T: ...
        async def arecv_ok(self, timeout: float | None = None) -> tuple[T | None, bool]: ...
        def try_recv(self) -> tuple[T | None, bool]: ...
        def __iter__(self) -> Iterator[T]: ...
        def __aiter__(self) -> AsyncIterator[T]: ...


def lock_all(lockorder: list[Any]) -> None:
    """Lock every channel of a select, in lock order (_select.py). Here, not
    there, because a compiled build's channel lock is a C mutex that only
    this module's code can reach."""
    for c in lockorder:
        c._lock.acquire()


def unlock_all(lockorder: list[Any]) -> None:
    """Unlock what ``lock_all`` locked, in reverse order."""
    for c in reversed(lockorder):
        c._lock.release()


Chan.__module__ = "gmploop"
Closed.__module__ = "gmploop"


def _debug_checked(method: Callable[..., Any]) -> Callable[..., Any]:
    # GMPLOOP_DEBUG=1: check invariants after every op
    def checked(self: Chan[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._check_invariants()
    checked.__name__ = method.__name__
    checked.__doc__ = method.__doc__
    return checked


if _config.DEBUG:
    for _name in ("send", "recv", "recv_ok", "try_send", "try_recv", "close"):
        setattr(Chan, _name, _debug_checked(getattr(Chan, _name)))
