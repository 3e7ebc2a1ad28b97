"""The netFD and the poller: how goroutines and threads wait for sockets.
Counterpart of Go's ``internal/poll`` (``poll.FD`` with its ``pollDesc``) and
``runtime/netpoll.go``. ``gmploop.net`` (``Listener``, ``Conn``, ``listen``,
``dial``) is built on ``_NetFD``: it makes the system calls and, when one
would block, waits here.

Concepts
--------
netFD      a ``_NetFD`` (base of ``Listener`` and ``Conn``): one non-blocking
           socket plus the state of who waits on it (Go's ``poll.FD`` with its
           ``pollDesc``).
poller     each processor's event loop (uvloop's or the stdlib's). A goroutine
           never blocks its thread in a socket call: on ``EAGAIN`` it registers
           interest with its *own* P's loop (``add_reader``/``add_writer``, legal
           because that loop runs on the goroutine's thread) and parks with wait
           reason ``IO wait``; the loop's readiness callback makes it ready.
waiter     a ``_Waiter``: one goroutine parked on one socket in one direction.

Approach
--------
1. Try the system call first (``recv``/``send``/``accept``/``connect``); the
   common case never touches the poller.
2. On ``EAGAIN``: ``gopark_prepare``; under the netFD's lock, check it is not
   closed, append the waiter to ``waiting[(P, dir)]`` and, if this P has no
   registration for this direction yet, note one (``regs``); release the lock;
   ``add_reader``/``add_writer`` on the P's loop; arm a timer for the deadline;
   count the wait in ``sched.nexternal`` (deadlock detection must know an I/O
   wait may wake a goroutine); ``gopark_commit``.
3. Exactly one of four claimers *claims* a waiter, under the lock, by taking
   it out of ``waiting`` and setting ``state``: the readiness callback (READY,
   on the P's thread), the deadline timer (TIMEOUT, on the P's thread),
   ``close`` (CLOSED, any thread) or a cancellation (CANCELLED, on the P's
   thread: ``_Waiter._withdraw``, which the goroutine's park names as its
   ``g.waitobj``; proc.py "Cancellation"). The claimer then calls
   ``goready`` (for a cancellation, ``proc.cancel_parked`` does, or
   ``gopark_commit`` raises at once when the request came first).
4. The resumed goroutine retries the call (READY) or raises ``TimeoutError`` /
   ``OSError`` / ``Canceled``. A cancelled wait performed nothing: no byte was
   read, sent or accepted by it, and the socket stays usable. If another
   claimer came first, the call goes on and the request waits for the next
   wait (as a channel operation whose partner came first completes).

A wait is cancellable only while its call has done nothing: ``Conn.sendall``
makes its waits after a partial send uncancellable (``g.waitobj = None``, as
``blocking()`` does), since a half-sent message would break the stream; it
ends when the rest is sent, its timeout passes or the socket is closed, and
``Canceled`` comes at the goroutine's next wait.

Registrations are *lazy*: a readiness callback that wakes waiters leaves the
fd registered, since a goroutine that just read usually comes back to wait for
more (a request/response loop then costs no ``epoll_ctl`` at all). A callback
that finds nobody waiting removes the registration (level-triggered polling
would otherwise call it again and again).

Closing and fd lifetime (Go's fdMutex reference count)
------------------------------------------------------
A loop registration and a thread blocked in ``poll`` both refer to the fd
*number*; if the fd were closed under them, the number could be reused by a new
socket and the stale registration would fire for it. So ``refs`` counts every
loop registration and every thread wait; ``close`` marks the netFD closed, wakes
every waiter with CLOSED, asks each registering P to drop its registration on
its own thread (directly when it *is* that thread, else through
``call_soon_threadsafe``) and wakes blocked threads with ``shutdown``. The OS
socket is closed when the last reference goes. Invariant (under ``lock``):
``refs == len(regs) + nthread + (closers in progress)``.

Rejected alternatives: one persistent registration per socket on a single
"netpoller" thread (every wake-up would be a cross-thread hop, ~47 us on a
2-CPU VM, docs/internals.md); eager register/unregister on every wait (two ``epoll_ctl``
per request); switching the socket to blocking mode for thread callers (a
goroutine may be using the same socket at the same time).

Thread context (no goroutine): the same non-blocking calls, waiting in
``poll(2)`` with the remaining timeout. On an event loop's thread outside a
goroutine a call that would block raises ``RuntimeError`` (it would freeze the
loop); asyncio code has its own streams.
"""

from __future__ import annotations

import errno
import math
import select
import socket
import threading
from _thread import get_ident
from time import monotonic as _monotonic
from typing import TYPE_CHECKING, Any

from .proc import (_get_running_loop, add_timer, getg, goready, gopark_commit,
                   gopark_prepare)
from .runtime2 import RUNNING, W_IO, Goroutine

if TYPE_CHECKING:
    from typing import TypeAlias

    from .proc import P

    _Key: TypeAlias = "tuple[P, int]"  # a processor's registration, one direction

_R = 0  # waiting to read (recv, accept)
_W = 1  # waiting to write (send, connect)

# A waiter's state (_Waiter.state): one claimer moves it from _WAITING, under
# the netFD's lock; the waiter reads it when it runs again.
_WAITING = 0  # parked, claimable
_READY = 1  # claimed by the readiness callback; not yet resumed
_TIMEOUT = 2
_CLOSED = 3
_RESUMED = 4  # resumed after READY (set by the waiter on its own thread)
_CANCELLED = 5  # withdrawn by Goroutine.cancel (on the waiter's own thread)


def _closed_error() -> OSError:
    """Go's ``net.ErrClosed``."""
    return OSError(errno.EBADF, "use of closed network connection")


def _check_seconds(seconds: Any, name: str) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number or None, not {type(seconds).__name__}")
    if math.isnan(seconds):
        raise ValueError(f"{name} must not be NaN")
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0 or None, got {seconds}")
    return float(seconds)


# --------------------------------------------------------------------------
# netFD: the shared waiting machinery
# --------------------------------------------------------------------------


class _Waiter:
    """One goroutine parked on one socket in one direction; while it waits,
    also the goroutine's ``waitobj`` (what a cancellation withdraws)."""

    __slots__ = ("g", "state", "key", "fd")

    def __init__(self, g: Goroutine[Any], key: _Key, fd: _NetFD) -> None:
        self.g = g
        self.key = key
        self.fd = fd
        self.state = _WAITING

    def _withdraw(self, sg: Any) -> bool:
        """Cancel this wait (proc.cancel_parked / gopark_commit, on the
        goroutine's thread; ``sg`` is its sudog, unused here): claim it as
        the deadline timer does. False if readiness, the deadline or close
        claimed it first: the call then goes on."""
        return self.fd._claim(self, _CANCELLED)


class _NetFD:
    """A non-blocking socket and its waiters (see the module header)."""

    __slots__ = ("_sock", "_fd", "_lock", "_closed", "_refs", "_regs", "_waiting",
                 "_woken", "_nthread", "_timeout", "__weakref__")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._closed = False
        self._refs = 0
        # Invariant (under _lock): every key in _regs is registered on its P's
        # loop for its direction, and each holds one ref; _waiting's lists are
        # never empty.
        self._regs: set[_Key] = set()
        self._waiting: dict[_Key, list[_Waiter]] = {}
        # The waiters each registration's callback woke last. Read and written
        # only on that key's P thread (the callback, and the waiter as it
        # resumes), so a waiter's READY -> RESUMED needs no lock.
        self._woken: dict[_Key, list[_Waiter]] = {}
        self._nthread = 0
        self._timeout: float | None = None

    # -- public bits shared by Listener and Conn ----------------------------

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return -1 if self._closed else self._fd

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    def settimeout(self, seconds: float | None) -> None:
        """Bound each later blocking call: one that cannot complete within
        ``seconds`` raises ``TimeoutError``. ``None`` waits forever; ``0``
        raises at once instead of waiting."""
        self._timeout = _check_seconds(seconds, "seconds")

    def gettimeout(self) -> float | None:
        """The timeout set by ``settimeout`` (None: wait forever)."""
        return self._timeout

    def close(self) -> None:
        """Close the socket. Goroutines and threads blocked on it wake up with
        ``OSError``. Safe from any goroutine or thread; closing twice is a no-op."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            claimed: list[_Waiter] = []
            for lst in self._waiting.values():
                for w in lst:
                    w.state = _CLOSED
                    claimed.append(w)
            self._waiting.clear()
            regs = list(self._regs)
            nthread = self._nthread
            self._refs += 1  # ours, until the registrations are dropped
        for w in claimed:
            goready(w.g)
        if nthread:
            try:  # wakes threads blocked in poll(2) on this fd (POLLHUP)
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        tid = get_ident()
        for key in regs:
            p = key[0]
            if p.tid == tid:
                self._drop_reg(key)
            else:
                try:
                    p.loop.call_soon_threadsafe(self._drop_reg, key)
                except (RuntimeError, AttributeError):  # that loop is closed
                    self._forget_reg(key)
        self._decref()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- references ------------------------------------------------------------

    def _decref(self) -> None:
        with self._lock:
            self._refs -= 1
            last = self._refs == 0 and self._closed
        if last:
            self._sock.close()

    def _unregister(self, key: _Key) -> bool:
        """Forget this P's registration in our books; False if it was gone."""
        with self._lock:
            if key not in self._regs:
                return False
            self._regs.discard(key)
            self._woken.pop(key, None)
        return True

    def _drop_reg(self, key: _Key) -> None:
        """Remove this P's registration (on that P's thread) and its ref."""
        if self._unregister(key):
            self._remove_from_poller(key)

    def _remove_from_poller(self, key: _Key) -> None:
        """On that P's thread, after our books forgot ``key``: take the fd off
        the P's poller and drop the registration's ref."""
        p, d = key
        try:
            if d == _R:
                p.loop.remove_reader(self._fd)
            else:
                p.loop.remove_writer(self._fd)
        except Exception:  # noqa: BLE001 - the loop is closing: nothing to remove
            pass
        self._decref()

    def _forget_reg(self, key: _Key) -> None:
        """Forget a registration whose loop is gone (nothing to remove there)."""
        if self._unregister(key):
            self._decref()

    # -- the poller's callbacks (on the P's thread) --------------------------

    def _on_ready(self, key: _Key) -> None:
        with self._lock:
            lst = self._waiting.pop(key, None)
            if lst is None:
                if key not in self._regs:
                    return
                woken = self._woken.get(key)
                if woken is not None:
                    for w in woken:
                        if w.state == _READY:
                            # A goroutine we woke has not run yet: it will
                            # consume the readiness soon (it is runnable, so
                            # the loop does not sit idle calling us).
                            return
                # Nobody waits and nobody is about to: drop the lazy
                # registration, else level-triggered polling calls us forever.
                self._regs.discard(key)
                self._woken.pop(key, None)
                drop = True
            else:
                drop = False
                for w in lst:
                    w.state = _READY
                self._woken[key] = lst
        if drop:
            self._remove_from_poller(key)
            return
        assert lst is not None  # drop is False
        for w in lst:
            goready(w.g)

    def _claim(self, w: _Waiter, state: int) -> bool:
        """Claim the waiting ``w`` for a timeout or a cancellation: take it
        out of ``waiting`` and set ``state``. False if another claimer was
        first (readiness, close, the other of the two). The caller readies it."""
        with self._lock:
            if w.state != _WAITING:
                return False
            lst = self._waiting.get(w.key)
            if lst is not None:
                try:
                    lst.remove(w)
                except ValueError:
                    pass
                if not lst:
                    del self._waiting[w.key]
            w.state = state
        return True

    def _on_timeout(self, w: _Waiter) -> None:
        if self._claim(w, _TIMEOUT):
            goready(w.g)

    # -- waiting ----------------------------------------------------------------

    def _deadline(self) -> float | None:
        t = self._timeout
        return None if t is None else _monotonic() + t

    def _wait(self, d: int, deadline: float | None, what: str,
              cancellable: bool = True) -> None:
        """Wait until the socket may be ready for direction ``d``. Raises
        ``TimeoutError`` past ``deadline``, ``OSError`` if closed and, in a
        goroutine, ``Canceled`` if it is cancelled first (unless not
        ``cancellable``: the call has already done part of its work)."""
        g = getg()
        if g is None:
            self._twait(d, deadline, what)
            return
        if deadline is not None and deadline <= _monotonic():
            raise TimeoutError(f"{what}: i/o timeout")
        p = g.p
        key = (p, d)
        w = _Waiter(g, key, self)
        gopark_prepare(g, W_IO)  # WAITING before a closer can find the waiter
        with self._lock:
            if self._closed:
                g.status = RUNNING
                raise _closed_error()
            lst = self._waiting.get(key)
            if lst is None:
                self._waiting[key] = [w]
            else:
                lst.append(w)
            new = key not in self._regs
            if new:
                self._regs.add(key)
                self._refs += 1
        if new:
            try:
                if d == _R:
                    p.loop.add_reader(self._fd, self._on_ready, key)
                else:
                    p.loop.add_writer(self._fd, self._on_ready, key)
            except BaseException:
                with self._lock:
                    self._regs.discard(key)
                    lst = self._waiting.get(key)
                    if lst is not None and w in lst:
                        lst.remove(w)
                        if not lst:
                            del self._waiting[key]
                g.status = RUNNING
                self._decref()
                raise
        timer = None
        if deadline is not None:
            timer = add_timer(p, deadline - _monotonic(), self._on_timeout, w)
        sched = p.sched
        with sched.lock:
            sched.nexternal += 1
        # What a cancellation withdraws (w._withdraw); None: nothing, it waits
        # for its call to finish. gopark_commit withdraws at once a request
        # that came before this park.
        g.waitobj = w if cancellable else None
        try:
            gopark_commit(g)  # Canceled: withdrawn, the finally below undoes the rest
        finally:
            with sched.lock:
                sched.nexternal -= 1
            if timer is not None and timer.active:
                p.timers.stop(timer)
        st = w.state
        if st == _READY:
            w.state = _RESUMED
            return
        if st == _TIMEOUT:
            raise TimeoutError(f"{what}: i/o timeout")
        raise _closed_error()

    def _twait(self, d: int, deadline: float | None, what: str) -> None:
        """Thread context: wait in poll(2) with the remaining timeout."""
        if _get_running_loop() is not None:
            raise RuntimeError(
                f"{what} would block the event loop running on this thread; "
                "call it from a goroutine or a thread (asyncio code: use asyncio streams)")
        with self._lock:
            if self._closed:
                raise _closed_error()
            self._refs += 1
            self._nthread += 1
        try:
            if deadline is None:
                ms = None
            else:
                left = deadline - _monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what}: i/o timeout")
                ms = min(math.ceil(left * 1000), 2**31 - 1)
            ready = _poll_fd(self._fd, d, ms)
        finally:
            with self._lock:
                self._nthread -= 1
            self._decref()
        if self._closed:
            raise _closed_error()
        if not ready:
            raise TimeoutError(f"{what}: i/o timeout")


if hasattr(select, "poll"):
    def _poll_fd(fd: int, d: int, ms: int | None) -> bool:
        pl = select.poll()
        pl.register(fd, select.POLLIN if d == _R else select.POLLOUT)
        return bool(pl.poll(ms))
else:  # pragma: no cover - platforms without poll(2)
    def _poll_fd(fd: int, d: int, ms: int | None) -> bool:
        t = None if ms is None else ms / 1000
        if d == _R:
            r, _, x = select.select([fd], [], [fd], t)
        else:
            _, r, x = select.select([], [fd], [fd], t)
        return bool(r or x)
