"""The asyncio face of the runtime: ``GMPEventLoop``, ``new_event_loop``, and the
legacy ``GMPPolicy``/``install``.

A ``GMPEventLoop`` *is* processor P0's event loop: uvloop's loop where uvloop
installs, the stdlib selector loop otherwise, with the scheduler attached. While
it runs, P0's goroutines run on its thread between its callbacks (one batch per
callback, proc.py), and P1..Pn run on their own threads with private loops. An
asyncio program on it keeps asyncio's single-threaded guarantees: its callbacks
and task steps all run on P0's thread, one at a time. Goroutines it starts use
every processor.

What the subclass adds to its base loop, and why
------------------------------------------------
The base (uvloop's ``Loop``) supplies the whole asyncio surface. The subclass
only binds the runtime to the loop's life and smooths the places where uvloop
differs from the stdlib loop in ways a program can see (stdlib is the oracle;
docs/asyncio.md lists what is left):

1. ``run_forever`` binds P0 to the running thread (proc.Sched.attach_p0) *after*
   asyncio's own checks (closed, already running, another loop running on this
   thread), so a refused call leaves the runtime untouched.
2. ``run_until_complete`` refuses a running loop before wrapping its argument
   in a task, as the stdlib does (a refused coroutine is never awaited and
   Python warns about it, instead of a task left pending on the loop).
3. ``close`` stops the runtime's threads (P1..Pn and sysmon) and waits for
   them, so a closed loop leaves no thread behind.
4. Task factories are called as the running Python's stdlib calls them:
   up to 3.13 ``factory(loop, coro)`` unless a context is given (uvloop always
   passes ``context=``, which breaks factories written to the documented
   signature); from 3.14 on ``factory(loop, coro, **kwargs)`` with exactly the
   keywords given to ``create_task``, ``name`` included (uvloop passes
   ``context=`` and ``eager_start=`` always and names the task itself).
5. ``remove_reader``/``remove_writer`` return whether a callback was
   registered (uvloop returns None).
6. Signal handlers are the stdlib's design on uvloop's wake-up: uvloop loses a
   signal that arrives while its loop is stopped (its self-pipe exists only
   while it runs, so the callback waits for the *next* signal), and its
   ``remove_signal_handler`` does nothing while the loop is stopped. Here a
   Python-level handler queues the callback with ``call_soon_threadsafe``,
   which works whether or not the loop runs; while it runs, uvloop's self-pipe
   wakes it to run that Python-level handler. SIGCHLD too: libuv never
   spawns a process here (8.), so the stdlib's child watchers may use it.

7. ``GMPPolicy`` (an ``asyncio.DefaultEventLoopPolicy``) is made on first
   use, not at import: Python 3.14 deprecates the policy classes (importing
   gmploop must not warn) and 3.16 removes them (importing gmploop must not
   break). Policies are the legacy path; ``GMPPolicy()`` and ``install()``
   warn from 3.14 on, as asyncio's own policy calls do.

8. Subprocesses are the stdlib's: ``subprocess_exec``/``subprocess_shell``
   are asyncio's own methods, whose ``_make_subprocess_transport`` starts a
   ``subprocess.Popen`` under the running Python's child watcher (the
   policy's up to 3.13, the loop's ``_watcher`` from 3.14, made here as the
   stdlib loop makes it) and connects the pipes with uvloop's
   ``connect_read_pipe``/``connect_write_pipe``. uvloop's spawn differs where
   programs see it: socket pairs for pipes (a child cannot open
   ``/dev/stdin``), ``Popen`` never called (its errors, ``user=``/
   ``group=``/``umask=``, ``get_extra_info('subprocess')``), no child
   watcher (an inactive one is not refused).
9. TLS is the stdlib's ``asyncio.sslproto.SSLProtocol`` over uvloop's TCP and
   Unix transports, as the stdlib layers it over its socket transports:
   ``create_connection``/``create_unix_connection``/``connect_accepted_socket``
   wrap the caller's protocol and wait for the handshake, ``create_server``/
   ``create_unix_server`` wrap each accepted connection's protocol, and
   ``start_tls`` is the stdlib's code. uvloop's own TLS (an older copy of the
   same state machine, in C) loses data that arrives while reading is paused
   before the peer's EOF, drops writes still queued when the peer sends EOF,
   and its transport is not an ``asyncio.Transport``. The cost: the TLS layer
   runs as Python code (plain transports do not change).
10. ``run_forever`` also sets the running loop through
    ``asyncio.events._set_running_loop`` as it is when the loop starts (the
    stdlib loop looks it up each time; uvloop calls the C function it
    imported), so the pure-Python ``get_event_loop`` sees the loop.

None of these touch a hot path: ``create_task``, ``call_soon``, the ``sock_*``
methods and plain transports are uvloop's own, unwrapped.

The default executor (``run_in_executor(None, ...)``, ``asyncio.to_thread``)
is ``blockpool.LoopExecutor`` unless ``set_default_executor`` chose another:
its idle threads do not hide a deadlock from ``run`` (docs/api.md, "Running").
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import signal
import socket
import sys
import threading
import warnings
from typing import Any, Callable

try:
    import ssl as _ssl
except ImportError:  # pragma: no cover - a Python built without ssl
    _ssl = None  # type: ignore[assignment]

from ._runtime import config
from ._runtime.blockpool import LoopExecutor
from ._runtime.proc import Sched, _get_running_loop
from ._runtime.proc import _uvloop  # type: ignore[attr-defined]  # proc's, shared on purpose

_Base: Any = _uvloop.Loop if _uvloop is not None else asyncio.SelectorEventLoop
# The stdlib's implementation modules (private names, so typed Any).
_base_events: Any = asyncio.base_events
_sslproto: Any = getattr(asyncio, "sslproto")
_unix: Any = getattr(asyncio, "unix_events", None)  # None on Windows
#: uvloop's stream transports, which start_tls upgrades.
_UV_STREAMS: tuple[type, ...] = ((getattr(_uvloop, "loop").TCPTransport,
                                  getattr(_uvloop, "loop").UnixTransport)
                                 if _uvloop is not None else ())


#: The function uvloop calls to set the running loop (bound when it was imported).
_uv_set_running_loop: Any = asyncio.events._set_running_loop


def _check_ssl_socket(sock: Any) -> None:
    # asyncio's check: a socket already wrapped in TLS cannot be used.
    if _ssl is not None and isinstance(sock, _ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")


def check_procs(procs: Any) -> int:
    if procs is None:
        return config.default_procs()
    if isinstance(procs, bool) or not isinstance(procs, int):
        raise TypeError(f"procs must be an int or None, not {type(procs).__name__}")
    if procs < 1:
        raise ValueError(f"procs must be >= 1, got {procs}")
    return procs


# Runtimes whose P0 loop is running now, most recent last: a plain thread's
# go() joins the newest one (the program it belongs to) before falling back to
# the background runtime.
_active: list[Sched] = []
_active_lock = threading.Lock()


def active_sched() -> Sched | None:
    with _active_lock:
        return _active[-1] if _active else None


_logger = logging.getLogger("asyncio")


def _check_signal(sig: Any) -> None:
    if not isinstance(sig, int):
        raise TypeError(f"sig must be an int, not {sig!r}")
    if sig not in signal.valid_signals():
        raise ValueError(f"invalid signal number {sig}")


def _fd_of(fileobj: Any) -> int:
    """The descriptor of ``fileobj`` as the stdlib selector loop keys it."""
    if isinstance(fileobj, int):
        return fileobj
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"Invalid file object: {fileobj!r}") from None


def _stdlib_factory_call(factory: Callable[..., Any]) -> Callable[..., Any]:
    """Adapt a user task factory to uvloop's call, ``factory(loop, coro,
    context=..., [eager_start=...])``, so that it is called as the stdlib
    calls it: ``factory(loop, coro)`` unless a context is given."""

    def task_factory(loop: Any, coro: Any, context: Any = None, **kw: Any) -> Any:
        kw = {k: v for k, v in kw.items() if v is not None}
        if context is not None:
            kw["context"] = context
        return factory(loop, coro, **kw)

    task_factory.__wrapped__ = factory  # type: ignore[attr-defined]
    return task_factory


class GMPEventLoop(_Base):  # type: ignore[misc]  # uvloop's Loop or the stdlib's: Any
    """An asyncio event loop that is also processor P0 of a gmploop runtime.

    Use it wherever an asyncio loop is expected: ``asyncio.Runner(loop_factory=
    gmploop.new_event_loop)``, ``GMPPolicy``, ``gmploop.run(coro)``. Its
    callbacks and task steps run on the thread that runs it, one at a time;
    goroutines it starts run on all of its ``procs`` processors.
    """

    def __init__(self, procs: int | None = None) -> None:
        n = check_procs(procs)
        super().__init__()
        self._gmp_sched = Sched(n, self)
        self._gmp_p = self._gmp_sched.allp[0]
        self._gmp_readers: set[int] = set()
        self._gmp_writers: set[int] = set()
        self._gmp_signal_handlers: dict[int, asyncio.Handle] = {}
        self._gmp_executor_set = False  # a default executor was installed
        if _uvloop is not None and _unix is not None and hasattr(_unix, "_ThreadedChildWatcher"):
            # 3.14 on, the stdlib loop holds its child watcher (header, 8.)
            self._watcher = (_unix._PidfdChildWatcher() if _unix.can_use_pidfd()
                             else _unix._ThreadedChildWatcher())

    @property
    def procs(self) -> int:
        """Number of processors of this loop's runtime."""
        return self._gmp_sched.nprocs

    # -- running --------------------------------------------------------------

    def _gmp_check_can_run(self) -> None:
        # asyncio's checks, made before the runtime is touched (header, 1.).
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        if _get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")

    def run_forever(self) -> None:
        """Run the event loop until ``stop()`` is called; P0 runs goroutines
        on this thread between the loop's callbacks meanwhile."""
        self._gmp_check_can_run()
        sched = self._gmp_sched
        if sched.dead:
            raise RuntimeError("this gmploop event loop's runtime was shut down")
        sched.attach_p0()
        with _active_lock:
            _active.append(sched)
        # uvloop sets the running loop with the function it imported; the
        # stdlib loop calls asyncio.events._set_running_loop as it is now, so
        # a pure-Python or wrapped one sees the loop too (header, 10.).
        set_running = asyncio.events._set_running_loop
        if _uvloop is None or set_running is _uv_set_running_loop:
            set_running = None
        else:
            set_running(self)
        try:
            super().run_forever()
        finally:
            if set_running is not None:
                set_running(None)
            with _active_lock:
                try:
                    _active.remove(sched)
                except ValueError:
                    pass

    def run_until_complete(self, future: Any) -> Any:
        """Run until ``future`` (a coroutine is wrapped in a task) is done;
        return its result or raise its exception."""
        self._gmp_check_can_run()
        return super().run_until_complete(future)

    def close(self) -> None:
        """Close the loop and stop its runtime: goroutines still alive are
        abandoned (as when a Go program's main returns), the runtime's threads
        end before this returns. Idempotent."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        sched = self._gmp_sched
        sched.shutdown()
        p0 = sched.allp[0]
        if p0.tid == threading.get_ident():
            p0.free_workers()  # on its own thread only: greenlets are thread-bound
        mon = sched.sysmon
        if mon is not None and mon.thread.is_alive() and mon.thread is not threading.current_thread():
            mon.thread.join(1.0)
        if self._gmp_signal_handlers:
            if threading.current_thread() is threading.main_thread():
                for sig in list(self._gmp_signal_handlers):
                    self.remove_signal_handler(sig)
            else:
                _logger.warning("Closing the loop %r on a thread other than the main "
                                "one: its signal handlers cannot be removed", self)
        super().close()
        self._gmp_readers.clear()
        self._gmp_writers.clear()

    # -- the default executor (header) -------------------------------------------

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        """Run ``func(*args)`` in ``executor``; ``None``: the default one, made
        on first use (a ``blockpool.LoopExecutor`` unless one was set)."""
        if executor is None and not self._gmp_executor_set and not self.is_closed():
            self._gmp_executor_set = True
            super().set_default_executor(LoopExecutor())
        return super().run_in_executor(executor, func, *args)

    def set_default_executor(self, executor: Any) -> None:
        """Use ``executor`` for ``run_in_executor(None, ...)``; its threads
        count as user threads for deadlock detection."""
        super().set_default_executor(executor)
        self._gmp_executor_set = True

    # -- stdlib-compatible corners (header, 4. and 5.) --------------------------

    if sys.version_info < (3, 14):
        def set_task_factory(self, factory: Callable[..., Any] | None) -> None:
            """Set the task factory used by ``create_task``; it is called as
            ``factory(loop, coro)``, or with ``context=`` when one is given."""
            if factory is not None and not callable(factory):
                raise TypeError("task factory must be a callable or None")
            super().set_task_factory(None if factory is None else _stdlib_factory_call(factory))

        def get_task_factory(self) -> Callable[..., Any] | None:
            """The task factory set with ``set_task_factory``, or None."""
            f = super().get_task_factory()
            wrapped: Callable[..., Any] | None = getattr(f, "__wrapped__", f)
            return wrapped

    elif _uvloop is not None:
        def set_task_factory(self, factory: Callable[..., Any] | None) -> None:
            """Set the task factory used by ``create_task``; it is called as
            ``factory(loop, coro, **kwargs)`` with the keywords given to
            ``create_task`` (``name``, ``context``, ``eager_start``)."""
            if factory is not None and not callable(factory):
                raise TypeError("task factory must be a callable or None")
            super().set_task_factory(factory)
            if factory is None:
                self.__dict__.pop("create_task", None)
            else:
                # Only while a factory is set: no factory, uvloop's own
                # create_task, unwrapped.
                self.create_task = self._gmp_create_task_with_factory

        def _gmp_create_task_with_factory(self, coro: Any, **kwargs: Any) -> Any:
            # The stdlib's create_task (3.14 on) with a factory set.
            if self.is_closed():
                raise RuntimeError("Event loop is closed")
            return super().get_task_factory()(self, coro, **kwargs)

    # -- signals (header, 6.) -------------------------------------------------

    def add_signal_handler(self, sig: int, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` on the loop when signal ``sig`` arrives
        (main thread only), also when it arrives while the loop is not running."""
        if _uvloop is None:
            super().add_signal_handler(sig, callback, *args)
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("add_signal_handler() can only be called from the main thread")
        if asyncio.iscoroutine(callback) or inspect.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        _check_signal(sig)
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        handle = asyncio.Handle(callback, args, self, None)
        self._gmp_signal_handlers[sig] = handle
        try:
            signal.signal(sig, self._gmp_on_signal)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._gmp_signal_handlers[sig]
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler for ``sig``; True if there was one."""
        if _uvloop is None:
            removed: bool = super().remove_signal_handler(sig)
            return removed
        _check_signal(sig)
        try:
            del self._gmp_signal_handlers[sig]
        except KeyError:
            return False
        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise
        return True

    def _gmp_on_signal(self, signum: int, frame: Any) -> None:
        # A Python-level signal handler: runs on the main thread between two
        # bytecodes (uvloop's self-pipe wakes the loop for it while it runs).
        # call_soon_threadsafe only appends to the ready queue and pokes the
        # loop, which is safe from there, and queues the callback also while
        # the loop is stopped, as the stdlib's self-pipe does.
        handle = self._gmp_signal_handlers.get(signum)
        if handle is not None and not self.is_closed():
            self.call_soon_threadsafe(self._gmp_run_signal, signum, handle)

    def _gmp_run_signal(self, signum: int, handle: asyncio.Handle) -> None:
        if handle.cancelled():
            if self._gmp_signal_handlers.get(signum) is handle:
                self.remove_signal_handler(signum)
            return
        handle._run()

    # -- readers and writers ----------------------------------------------------

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` when ``fd`` is readable."""
        super().add_reader(fd, callback, *args)
        self._gmp_readers.add(_fd_of(fd))

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching ``fd`` for reading; True if it was watched."""
        super().remove_reader(fd)
        if self.is_closed():
            return False
        try:
            self._gmp_readers.remove(_fd_of(fd))
        except KeyError:
            return False
        return True

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` when ``fd`` is writable."""
        super().add_writer(fd, callback, *args)
        self._gmp_writers.add(_fd_of(fd))

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching ``fd`` for writing; True if it was watched."""
        super().remove_writer(fd)
        if self.is_closed():
            return False
        try:
            self._gmp_writers.remove(_fd_of(fd))
        except KeyError:
            return False
        return True

    # -- subprocesses: the stdlib's (header, 8.) --------------------------------

    if _uvloop is not None and _unix is not None:
        # asyncio's own code, run on this loop: subprocess_exec/_shell check
        # their arguments and call _make_subprocess_transport, which starts a
        # subprocess.Popen under the running Python's child watcher and
        # connects its pipes with connect_read_pipe/connect_write_pipe
        # (uvloop's pipe transports). libuv then never spawns a process, so
        # SIGCHLD is free for the stdlib's watchers (add_signal_handler).
        subprocess_shell = _base_events.BaseEventLoop.subprocess_shell
        subprocess_exec = _base_events.BaseEventLoop.subprocess_exec
        _log_subprocess = _base_events.BaseEventLoop._log_subprocess
        _make_subprocess_transport = _unix._UnixSelectorEventLoop._make_subprocess_transport
        _child_watcher_callback = _unix._UnixSelectorEventLoop._child_watcher_callback

        @property
        def _debug(self) -> bool:
            # Read by the stdlib methods above (uvloop keeps its flag in C).
            return bool(self.get_debug())

        def _add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
            # The stdlib's pidfd child watcher registers the pidfd with these.
            self.add_reader(fd, callback, *args)

        def _remove_reader(self, fd: Any) -> bool:
            return self.remove_reader(fd)

    # -- TLS: the stdlib's sslproto over uvloop's transports (header, 9.) --------

    if _uvloop is not None and _ssl is not None:
        async def create_connection(self, protocol_factory: Any, host: Any = None,
                                    port: Any = None, *, ssl: Any = None,
                                    server_hostname: Any = None, **kwargs: Any) -> Any:
            """See ``asyncio.loop.create_connection``."""
            if not ssl:
                return await super().create_connection(
                    protocol_factory, host, port, ssl=ssl, server_hostname=server_hostname,
                    **kwargs)
            if server_hostname is None:
                # The stdlib's default; '' turns hostname checking off.
                if not host:
                    raise ValueError("You must set server_hostname when using ssl without a host")
                server_hostname = host
            _check_ssl_socket(kwargs.get("sock"))
            return await self._gmp_tls_connect(super().create_connection, (host, port), kwargs,
                                               protocol_factory, ssl, server_hostname, False)

        async def create_unix_connection(self, protocol_factory: Any, path: Any = None, *,
                                         ssl: Any = None, server_hostname: Any = None,
                                         **kwargs: Any) -> Any:
            """See ``asyncio.loop.create_unix_connection``."""
            if not ssl:
                return await super().create_unix_connection(
                    protocol_factory, path, ssl=ssl, server_hostname=server_hostname, **kwargs)
            if server_hostname is None:
                raise ValueError("you have to pass server_hostname when using ssl")
            _check_ssl_socket(kwargs.get("sock"))
            return await self._gmp_tls_connect(super().create_unix_connection, (path,), kwargs,
                                               protocol_factory, ssl, server_hostname, False)

        async def connect_accepted_socket(self, protocol_factory: Any, sock: Any, *,
                                          ssl: Any = None, **kwargs: Any) -> Any:
            """See ``asyncio.loop.connect_accepted_socket``."""
            if not ssl:
                return await super().connect_accepted_socket(protocol_factory, sock, ssl=ssl,
                                                             **kwargs)
            if sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A Stream Socket was expected, got {sock!r}")
            _check_ssl_socket(sock)
            return await self._gmp_tls_connect(super().connect_accepted_socket, (sock,), kwargs,
                                               protocol_factory, ssl, "", True)

        async def create_server(self, protocol_factory: Any, host: Any = None,
                                port: Any = None, *, ssl: Any = None, **kwargs: Any) -> Any:
            """See ``asyncio.loop.create_server``."""
            if isinstance(ssl, _ssl.SSLContext):
                protocol_factory = self._gmp_tls_server(protocol_factory, ssl, kwargs)
                ssl = None
            return await super().create_server(protocol_factory, host, port, ssl=ssl, **kwargs)

        async def create_unix_server(self, protocol_factory: Any, path: Any = None, *,
                                     ssl: Any = None, **kwargs: Any) -> Any:
            """See ``asyncio.loop.create_unix_server``."""
            if isinstance(ssl, _ssl.SSLContext):
                protocol_factory = self._gmp_tls_server(protocol_factory, ssl, kwargs)
                ssl = None
            return await super().create_unix_server(protocol_factory, path, ssl=ssl, **kwargs)

        async def start_tls(self, transport: Any, protocol: Any, sslcontext: Any, *,
                            server_side: bool = False, server_hostname: str | None = None,
                            ssl_handshake_timeout: float | None = None,
                            ssl_shutdown_timeout: float | None = None) -> Any:
            """Upgrade ``transport`` to TLS; see ``asyncio.loop.start_tls``
            (the stdlib's code, accepting uvloop's stream transports)."""
            if not isinstance(sslcontext, _ssl.SSLContext):
                raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, "
                                f"got {sslcontext!r}")
            if not (isinstance(transport, _UV_STREAMS)
                    or getattr(transport, "_start_tls_compatible", False)):
                raise TypeError(f"transport {transport!r} is not supported by start_tls()")
            waiter = self.create_future()
            ssl_protocol = _sslproto.SSLProtocol(
                self, protocol, sslcontext, waiter, server_side, server_hostname,
                ssl_handshake_timeout=ssl_handshake_timeout,
                ssl_shutdown_timeout=ssl_shutdown_timeout, call_connection_made=False)
            # Paused first, so that no data_received() comes before connection_made().
            transport.pause_reading()
            if server_side and isinstance(protocol, asyncio.StreamReaderProtocol):
                # Bytes the stream read before the upgrade belong to the
                # handshake (the stdlib does this from 3.14 on, gh-142352).
                reader = getattr(protocol, "_stream_reader", None)
                buffer = getattr(reader, "_buffer", None)
                if buffer:
                    ssl_protocol._incoming.write(buffer)
                    buffer.clear()
            transport.set_protocol(ssl_protocol)
            conmade_cb = self.call_soon(ssl_protocol.connection_made, transport)
            resume_cb = self.call_soon(transport.resume_reading)
            try:
                await waiter
            except BaseException:
                transport.close()
                conmade_cb.cancel()
                resume_cb.cancel()
                raise
            return ssl_protocol._app_transport

        async def _gmp_tls_connect(self, connect: Callable[..., Any], args: tuple[Any, ...],
                                   kwargs: dict[str, Any], protocol_factory: Any, ssl: Any,
                                   server_hostname: str, server_side: bool) -> Any:
            # The stdlib's _create_connection_transport with ssl: the
            # SSLProtocol is the plain transport's protocol; the caller gets
            # its app transport once the handshake is done.
            handshake_timeout = kwargs.pop("ssl_handshake_timeout", None)
            shutdown_timeout = kwargs.pop("ssl_shutdown_timeout", None)
            sslcontext = None if isinstance(ssl, bool) else ssl
            waiter = self.create_future()
            made: list[Any] = []

            def factory() -> Any:
                protocol = protocol_factory()
                ssl_protocol = _sslproto.SSLProtocol(
                    self, protocol, sslcontext, waiter, server_side, server_hostname,
                    ssl_handshake_timeout=handshake_timeout,
                    ssl_shutdown_timeout=shutdown_timeout)
                made[:] = [ssl_protocol._get_app_transport(), protocol]
                return ssl_protocol

            try:
                await connect(factory, *args, **kwargs)
            except BaseException:
                if made:  # uvloop makes the protocol before it connects
                    made[0].close()
                raise
            transport, protocol = made
            try:
                await waiter
            except BaseException:
                transport.close()
                raise
            return transport, protocol

        def _gmp_tls_server(self, protocol_factory: Any, sslcontext: Any,
                            kwargs: dict[str, Any]) -> Callable[[], Any]:
            # The protocol factory of a TLS server: each accepted connection
            # gets an SSLProtocol around the caller's protocol, as in the
            # stdlib's _accept_connection2.
            handshake_timeout = kwargs.pop("ssl_handshake_timeout", None)
            shutdown_timeout = kwargs.pop("ssl_shutdown_timeout", None)

            def factory() -> Any:
                waiter = self.create_future()
                protocol = protocol_factory()
                ssl_protocol = _sslproto.SSLProtocol(
                    self, protocol, sslcontext, waiter, True, None,
                    ssl_handshake_timeout=handshake_timeout,
                    ssl_shutdown_timeout=shutdown_timeout)
                transport = ssl_protocol._get_app_transport()
                waiter.add_done_callback(
                    lambda w: self._gmp_tls_accepted(w, protocol, transport))
                return ssl_protocol
            return factory

        def _gmp_tls_accepted(self, waiter: Any, protocol: Any, transport: Any) -> None:
            # A failed server-side handshake: closed, and reported in debug
            # mode only, as the stdlib does.
            if waiter.cancelled() or waiter.exception() is None:
                return
            transport.close()
            if self.get_debug():
                self.call_exception_handler({
                    "message": "Error on transport creation for incoming connection",
                    "exception": waiter.exception(), "protocol": protocol,
                    "transport": transport})

    def __repr__(self) -> str:
        return (f"<GMPEventLoop procs={self._gmp_sched.nprocs} "
                f"running={self.is_running()} closed={self.is_closed()} "
                f"debug={self.get_debug()}>")


def new_event_loop(procs: int | None = None) -> GMPEventLoop:
    """A new gmploop event loop with ``procs`` processors (default:
    ``GMPLOOP_MAXPROCS``, else 1, or the CPU count on a free-threaded build)."""
    return GMPEventLoop(procs)


# -- the legacy path: event loop policies (header, 7.) -------------------------

#: Python 3.14 deprecates asyncio's event loop policies (removal in 3.16).
_POLICIES_DEPRECATED = sys.version_info >= (3, 14)

_LEGACY = ("{} is deprecated, as asyncio's event loop policies are since Python "
           "3.14 (slated for removal in 3.16): use asyncio.run(main(), "
           "loop_factory=gmploop.new_event_loop) or gmploop.run(main)")


def _policy_api() -> tuple[Callable[[], Any], Callable[[Any], None], type] | None:
    """``(get_policy, set_policy, default_policy_class)``, none of which warns;
    None where asyncio has no event loop policies (3.16 on)."""
    if not hasattr(asyncio, "set_event_loop_policy"):
        return None
    if not _POLICIES_DEPRECATED:
        return (asyncio.get_event_loop_policy, asyncio.set_event_loop_policy,
                asyncio.DefaultEventLoopPolicy)
    # 3.14 and 3.15: the public names warn; the private ones they wrap do not.
    events = asyncio.events
    impl = getattr(asyncio, "windows_events" if sys.platform == "win32" else "unix_events", None)
    get = getattr(events, "_get_event_loop_policy", None)
    set_ = getattr(events, "_set_event_loop_policy", None)
    base = getattr(impl, "_DefaultEventLoopPolicy", None)
    if get is None or set_ is None or base is None:
        return None
    return get, set_, base


_policy_lock = threading.Lock()
_policy_class: type[Any] | None = None


def _gmp_policy_class() -> type[Any]:
    """``GMPPolicy``, made on first use (so that importing gmploop never
    touches asyncio's deprecated policy classes)."""
    global _policy_class
    with _policy_lock:
        if _policy_class is not None:
            return _policy_class
        api = _policy_api()
        if api is None:
            raise AttributeError(
                "gmploop.GMPPolicy: this Python's asyncio has no event loop policies; "
                "use asyncio.run(main(), loop_factory=gmploop.new_event_loop) or gmploop.run(main)")
        base: Any = api[2]  # asyncio's default policy class, found at run time

        class GMPPolicy(base):  # type: ignore[misc]  # a base found at run time: Any
            """Event loop policy whose loops are ``GMPEventLoop`` s:
            ``asyncio.set_event_loop_policy(GMPPolicy())``. The legacy path
            (policies are deprecated from Python 3.14 on, and creating one
            warns there): prefer ``loop_factory=gmploop.new_event_loop``."""

            def __init__(self, procs: int | None = None) -> None:
                if _POLICIES_DEPRECATED:
                    warnings.warn(_LEGACY.format("gmploop.GMPPolicy"), DeprecationWarning,
                                  stacklevel=2)
                self._gmp_init(procs)

            def _gmp_init(self, procs: int | None) -> None:
                base.__init__(self)
                self._procs = procs if procs is None else check_procs(procs)

            def new_event_loop(self) -> GMPEventLoop:
                return GMPEventLoop(self._procs)

        GMPPolicy.__module__ = "gmploop"
        GMPPolicy.__qualname__ = "GMPPolicy"
        _policy_class = GMPPolicy
        return GMPPolicy


def _new_policy(procs: int | None = None) -> Any:
    """A ``GMPPolicy(procs)`` made without the deprecation warning (for
    gmploop's own use: ``install``, ``python -m gmploop``)."""
    cls: Any = _gmp_policy_class()
    policy = cls.__new__(cls)
    policy._gmp_init(procs)
    return policy


def get_policy() -> Any:
    """asyncio's current event loop policy, read without a warning; None
    where asyncio has no policies."""
    api = _policy_api()
    return None if api is None else api[0]()


def set_policy(policy: Any) -> None:
    """Set asyncio's event loop policy without a warning (no-op where asyncio
    has no policies and ``policy`` is None)."""
    api = _policy_api()
    if api is None:
        if policy is not None:
            raise RuntimeError("this Python's asyncio has no event loop policies")
        return
    api[1](policy)


def install() -> None:
    """Set ``GMPPolicy()`` as asyncio's event loop policy. The legacy path: it
    warns from Python 3.14 on, as ``asyncio.set_event_loop_policy`` does, and
    raises ``RuntimeError`` where asyncio has no policies (3.16 on)."""
    if _policy_api() is None:
        raise RuntimeError(
            "gmploop.install(): this Python's asyncio has no event loop policies; "
            "use asyncio.run(main(), loop_factory=gmploop.new_event_loop) or gmploop.run(main)")
    if _POLICIES_DEPRECATED:
        warnings.warn(_LEGACY.format("gmploop.install()"), DeprecationWarning, stacklevel=2)
    set_policy(_new_policy())


def __getattr__(name: str) -> Any:
    if name == "GMPPolicy":
        return _gmp_policy_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GMPEventLoop.__module__ = "gmploop"
