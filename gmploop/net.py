"""Goroutine-aware TCP sockets: ``listen``, ``dial``, ``Listener``, ``Conn``.
Counterpart of Go's ``net`` package (``net.Listen``, ``net.Dial``, ``TCPConn``).

This is the public layer: argument checking, addresses and name resolution,
and the system call of each operation (``recv``, ``send``, ``accept``,
``connect``), which it tries first. When one would block (``EAGAIN``), it
waits through the core's netFD, ``_runtime/netpoll.py`` (Go's internal/poll):
that file's header describes the poller, the wake-up protocol, closing and fd
lifetime, and waiting from a plain thread.
"""

from __future__ import annotations

import errno
import os
import socket
from time import monotonic as _monotonic
from collections.abc import Sequence
from typing import Any

from ._runtime.netpoll import _NetFD, _R, _W, _check_seconds, _closed_error
from ._runtime.proc import getg

__all__ = ["listen", "dial", "Listener", "Conn"]

_CONNECTING = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EAGAIN)


# --------------------------------------------------------------------------
# Argument checking
# --------------------------------------------------------------------------


def _check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"address: port must be an int, not {type(port).__name__}")
    if not 0 <= port <= 65535:
        raise ValueError(f"address: port must be in 0..65535, got {port}")
    return port


def _split_address(address: Any) -> tuple[str, int]:
    """``"host:port"``, ``"[v6]:port"``, ``(host, port)`` -> (host, port)."""
    if isinstance(address, str):
        host, sep, port_s = address.rpartition(":")
        if not sep:
            raise ValueError(f"address must be 'host:port', got {address!r} (missing port)")
        if host.startswith("["):
            if not host.endswith("]"):
                raise ValueError(f"address {address!r}: missing ']' in IPv6 address")
            host = host[1:-1]
        elif ":" in host:
            raise ValueError(f"address {address!r}: too many colons "
                             "(write an IPv6 address as '[::1]:port')")
        if not port_s.isdigit() or not port_s.isascii():
            raise ValueError(f"address {address!r}: port must be a number 0..65535")
        return host, _check_port(int(port_s))
    if isinstance(address, tuple):
        if len(address) < 2:
            raise ValueError(f"address tuple must be (host, port), got {address!r}")
        host, port = address[0], address[1]
        if host is None:
            host = ""
        if not isinstance(host, str):
            raise TypeError(f"address: host must be a str, not {type(host).__name__}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return host, _check_port(port)
    raise TypeError("address must be a 'host:port' str or a (host, port) tuple, "
                    f"not {type(address).__name__}")


def _resolve(host: str, port: int, passive: bool
             ) -> Sequence[tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]]:
    """getaddrinfo for TCP. Numeric hosts never block; a name lookup from a
    goroutine runs through ``blocking()`` so its processor keeps running."""
    flags = socket.AI_PASSIVE if passive else 0
    h = host or None
    try:
        return socket.getaddrinfo(h, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                  flags | socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass
    if getg() is not None:
        from ._go import blocking
        return blocking(socket.getaddrinfo, h, port, socket.AF_UNSPEC,
                        socket.SOCK_STREAM, 0, flags)
    return socket.getaddrinfo(h, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, flags)


def _hostport(sa: Any) -> tuple[str, int]:
    if isinstance(sa, tuple) and len(sa) >= 2:
        return sa[0], sa[1]
    return sa, 0  # pragma: no cover - non-IP families are not created here


# --------------------------------------------------------------------------
# Conn
# --------------------------------------------------------------------------


class Conn(_NetFD):
    """A TCP connection (Go's ``net.Conn``), made by ``dial`` or
    ``Listener.accept``. Its blocking calls park a calling goroutine (its
    processor keeps running others) and block a calling thread."""

    # _drained: the last read returned less than asked, so the socket had
    # no more data then; the next read waits for readiness first instead of
    # making a system call that would most likely fail with EAGAIN (one
    # syscall and one exception saved per request in a request/response
    # loop). Correct because add_reader reports an fd that is already
    # readable, and a lazy registration that saw readiness with nobody
    # waiting has been dropped.
    __slots__ = ("_laddr", "_raddr", "_drained")

    def __init__(self, sock: socket.socket, raddr: Any = None) -> None:
        if not isinstance(sock, socket.socket):
            raise TypeError(f"sock must be a socket.socket, not {type(sock).__name__}")
        super().__init__(sock)
        self._drained = False
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Go does
        except OSError:
            pass
        self._laddr = _hostport(sock.getsockname())
        if raddr is None:
            try:
                raddr = sock.getpeername()
            except OSError:
                raddr = ("", 0)
        self._raddr = _hostport(raddr)

    @property
    def local_addr(self) -> tuple[str, int]:
        """``(host, port)`` of this end."""
        return self._laddr

    @property
    def remote_addr(self) -> tuple[str, int]:
        """``(host, port)`` of the peer."""
        return self._raddr

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._fd}"
        return f"<gmploop.net.Conn {state} local={self._laddr} remote={self._raddr}>"

    def recv(self, n: int) -> bytes:
        """Receive up to ``n`` bytes; waits until at least one byte (or EOF)
        is there. Returns ``b""`` at EOF."""
        if n.__class__ is not int:
            if isinstance(n, bool) or not isinstance(n, int):
                raise TypeError(f"n must be an int, not {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        sock = self._sock
        deadline = None
        first = True
        if self._drained and n and self._timeout != 0:
            self._drained = False
            first = False
            deadline = self._deadline()
            try:
                self._wait(_R, deadline, "recv")
            except TimeoutError:
                pass  # the read below still gets data that is there
        while True:
            if self._closed:
                raise _closed_error()
            try:
                data = sock.recv(n)
            except BlockingIOError:
                pass
            except OSError:
                if self._closed:
                    raise _closed_error() from None
                raise
            else:
                if 0 < len(data) < n:
                    self._drained = True
                return data
            if first:
                first = False
                deadline = self._deadline()
            self._wait(_R, deadline, "recv")

    def recv_into(self, buf: Any, nbytes: int = 0) -> int:
        """Receive into the writable buffer ``buf`` (at most ``nbytes`` bytes,
        0 = its size); returns the number of bytes, 0 at EOF."""
        try:
            mv = memoryview(buf)
        except TypeError:
            raise TypeError(f"buf must be a writable bytes-like object, "
                            f"not {type(buf).__name__}") from None
        if mv.readonly:
            raise TypeError("buf must be writable")
        if isinstance(nbytes, bool) or not isinstance(nbytes, int):
            raise TypeError(f"nbytes must be an int, not {type(nbytes).__name__}")
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        want = nbytes or mv.nbytes
        sock = self._sock
        deadline = None
        first = True
        if self._drained and want and self._timeout != 0:
            self._drained = False
            first = False
            deadline = self._deadline()
            try:
                self._wait(_R, deadline, "recv_into")
            except TimeoutError:
                pass  # the read below still gets data that is there
        while True:
            if self._closed:
                raise _closed_error()
            try:
                k = sock.recv_into(mv, nbytes)
                if 0 < k < want:
                    self._drained = True
                return k
            except BlockingIOError:
                pass
            except OSError:
                if self._closed:
                    raise _closed_error() from None
                raise
            if first:
                first = False
                deadline = self._deadline()
            self._wait(_R, deadline, "recv_into")

    def sendall(self, data: Any) -> None:
        """Send all of ``data`` (bytes-like). When the socket's send buffer is
        full the caller waits until the peer reads (backpressure). With a
        timeout, the whole call must finish in time, else ``TimeoutError``
        (part of the data may have been sent). A goroutine cancelled while
        it waits gets ``Canceled`` if nothing was sent yet; once part of the
        data is sent, the call goes on to the end (a half-sent message would
        break the stream) and ``Canceled`` comes at its next wait."""
        sock = self._sock
        if self._closed:
            raise _closed_error()
        try:
            n = sock.send(data)
        except BlockingIOError:
            n = 0
        except TypeError:
            raise TypeError(f"data must be a bytes-like object, "
                            f"not {type(data).__name__}") from None
        except OSError:
            if self._closed:
                raise _closed_error() from None
            raise
        try:
            total = len(data) if isinstance(data, (bytes, bytearray)) else memoryview(data).nbytes
        except TypeError:  # pragma: no cover - send() accepted it, so it has a buffer
            raise TypeError(f"data must be a bytes-like object, not {type(data).__name__}") from None
        if n >= total:
            return
        view = memoryview(data).cast("B")[n:]
        deadline = self._deadline()
        while view:
            self._wait(_W, deadline, "sendall", cancellable=len(view) == total)
            if self._closed:
                raise _closed_error()
            try:
                n = sock.send(view)
            except BlockingIOError:
                continue
            except OSError:
                if self._closed:
                    raise _closed_error() from None
                raise
            view = view[n:]

    def close_write(self) -> None:
        """Half-close: send EOF to the peer (``shutdown(SHUT_WR)``); this end
        can still receive."""
        if self._closed:
            raise _closed_error()
        self._sock.shutdown(socket.SHUT_WR)

    # -- dial's connect ----------------------------------------------------------

    def _connect(self, sa: Any, deadline: float | None, what: str) -> None:
        err = self._sock.connect_ex(sa)
        if err == 0:
            return
        if err not in _CONNECTING:
            raise OSError(err, f"{what}: {os.strerror(err)}")
        while True:
            self._wait(_W, deadline, what)
            err = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                return
            if err not in _CONNECTING:
                raise OSError(err, f"{what}: {os.strerror(err)}")


# --------------------------------------------------------------------------
# Listener
# --------------------------------------------------------------------------


class Listener(_NetFD):
    """A listening TCP socket (Go's ``net.Listener``), made by ``listen``."""

    __slots__ = ("_addr",)

    def __init__(self, sock: socket.socket) -> None:
        if not isinstance(sock, socket.socket):
            raise TypeError(f"sock must be a socket.socket, not {type(sock).__name__}")
        super().__init__(sock)
        self._addr = _hostport(sock.getsockname())

    @property
    def addr(self) -> tuple[str, int]:
        """``(host, port)`` it listens on (the real port when 0 was asked)."""
        return self._addr

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._fd}"
        return f"<gmploop.net.Listener {state} addr={self._addr}>"

    def accept(self) -> Conn:
        """Wait for the next connection and return it as a ``Conn``.
        ``OSError`` if the listener is closed (also while waiting)."""
        sock = self._sock
        deadline = None
        first = True
        while True:
            if self._closed:
                raise _closed_error()
            try:
                s, raddr = sock.accept()
            except BlockingIOError:
                pass
            except OSError:
                if self._closed:
                    raise _closed_error() from None
                raise
            else:
                try:
                    return Conn(s, raddr)
                except BaseException:
                    s.close()
                    raise
            if first:
                first = False
                deadline = self._deadline()
            self._wait(_R, deadline, "accept")


# --------------------------------------------------------------------------
# listen / dial
# --------------------------------------------------------------------------


def listen(address: Any, backlog: int | None = None) -> Listener:
    """Listen for TCP connections on ``address``: ``"host:port"``,
    ``"[ipv6]:port"`` or ``(host, port)``; port 0 picks a free port (see
    ``Listener.addr``); an empty host means every local address.
    ``backlog`` defaults to the system's maximum."""
    host, port = _split_address(address)
    if backlog is None:
        backlog = socket.SOMAXCONN
    elif isinstance(backlog, bool) or not isinstance(backlog, int):
        raise TypeError(f"backlog must be an int or None, not {type(backlog).__name__}")
    elif backlog < 0:
        raise ValueError(f"backlog must be >= 0, got {backlog}")
    infos = _resolve(host, port, passive=True)
    err: OSError | None = None
    for family, stype, proto, _, sa in infos:
        sock = socket.socket(family, stype, proto)
        try:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sa)
            sock.listen(backlog)
            return Listener(sock)
        except OSError as e:
            sock.close()
            err = e
    assert err is not None
    raise err


def dial(address: Any, timeout: float | None = None) -> Conn:
    """Connect to the TCP server at ``address`` (as for ``listen``; an empty
    host means the local system). Tries each resolved address in turn.
    ``TimeoutError`` if not connected within ``timeout`` seconds."""
    host, port = _split_address(address)
    timeout = _check_seconds(timeout, "timeout")
    deadline = None if timeout is None else _monotonic() + timeout
    infos = _resolve(host, port, passive=False)
    what = f"dial {host}:{port}" if ":" not in host else f"dial [{host}]:{port}"
    err: OSError | None = None
    for family, stype, proto, _, sa in infos:
        sock = socket.socket(family, stype, proto)
        c = Conn.__new__(Conn)
        _NetFD.__init__(c, sock)
        c._drained = False
        try:
            c._connect(sa, deadline, what)
        except TimeoutError:
            c.close()
            raise
        except OSError as e:
            c.close()
            err = e
            continue
        except BaseException:
            c.close()
            raise
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        c._laddr = _hostport(sock.getsockname())
        c._raddr = _hostport(sa)
        return c
    assert err is not None
    raise err


for _cls in (Conn, Listener):
    _cls.__module__ = "gmploop.net"
del _cls
