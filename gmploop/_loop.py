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
   registered (uvloop returns None); ``subprocess_shell`` rejects a non-string
   command with ``ValueError`` as the stdlib does; ``subprocess_exec`` and
   ``subprocess_shell`` take Popen's ``user``, ``group``, ``extra_groups``,
   ``umask`` and ``process_group`` (uvloop rejects them), applied in the
   child by a ``preexec_fn`` (``_child_setup``).
6. Signal handlers are the stdlib's design on uvloop's wake-up: uvloop loses a
   signal that arrives while its loop is stopped (its self-pipe exists only
   while it runs, so the callback waits for the *next* signal), and its
   ``remove_signal_handler`` does nothing while the loop is stopped. Here a
   Python-level handler queues the callback with ``call_soon_threadsafe``,
   which works whether or not the loop runs; while it runs, uvloop's self-pipe
   wakes it to run that Python-level handler. SIGCHLD stays uvloop's (it
   watches subprocesses with it).

7. ``GMPPolicy`` (an ``asyncio.DefaultEventLoopPolicy``) is made on first
   use, not at import: Python 3.14 deprecates the policy classes (importing
   gmploop must not warn) and 3.16 removes them (importing gmploop must not
   break). Policies are the legacy path; ``GMPPolicy()`` and ``install()``
   warn from 3.14 on, as asyncio's own policy calls do.

None of these touch a hot path: ``create_task``, ``call_soon`` and transports
are uvloop's own, unwrapped.

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
import sys
import threading
import warnings
from typing import Any, Callable

from ._runtime import config
from ._runtime.blockpool import LoopExecutor
from ._runtime.proc import Sched, _get_running_loop
from ._runtime.proc import _uvloop  # type: ignore[attr-defined]  # proc's, shared on purpose

_Base: Any = _uvloop.Loop if _uvloop is not None else asyncio.SelectorEventLoop


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


def _popen_id(value: Any, what: str, lookup: Callable[[str], int]) -> int:
    # subprocess.Popen's checks of user=/group=/extra_groups= items.
    if isinstance(value, str):
        return lookup(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a string or an integer")
    if value < 0:
        raise ValueError(f"{what} ID cannot be negative, got {value}")
    return value


def _child_setup(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Popen's ``user``, ``group``, ``extra_groups``, ``umask`` and
    ``process_group``, which the stdlib loop passes to ``subprocess.Popen``
    and uvloop's spawn rejects (``ValueError: unexpected kwargs``): checked
    and looked up here, as Popen does, and applied in the child by a
    ``preexec_fn`` (which uvloop supports), in ``_posixsubprocess``'s order
    and before the caller's own ``preexec_fn``."""
    if not any(k in kwargs for k in ("user", "group", "extra_groups", "umask", "process_group")):
        return kwargs
    import os
    kwargs = dict(kwargs)
    user = kwargs.pop("user", None)
    group = kwargs.pop("group", None)
    extra = kwargs.pop("extra_groups", None)
    umask = kwargs.pop("umask", -1)
    pgid = kwargs.pop("process_group", None)
    uid = gid = gids = None
    if user is not None:
        import pwd
        uid = _popen_id(user, "User", lambda n: pwd.getpwnam(n).pw_uid)
    if group is not None:
        import grp
        gid = _popen_id(group, "Group", lambda n: grp.getgrnam(n).gr_gid)
    if extra is not None:
        import grp
        if isinstance(extra, str):
            raise ValueError("Groups must be a list, not a string")
        gids = [_popen_id(x, "Items in extra_groups", lambda n: grp.getgrnam(n).gr_gid)
                for x in extra]
    if not isinstance(umask, int) or isinstance(umask, bool):
        raise TypeError("umask must be an integer")
    if pgid is not None and (isinstance(pgid, bool) or not isinstance(pgid, int)):
        raise TypeError("process_group must be an integer")
    then = kwargs.get("preexec_fn")

    def preexec_fn() -> None:
        if umask >= 0:
            os.umask(umask)
        if pgid is not None and pgid >= 0:
            os.setpgid(0, pgid)
        if gids is not None:
            os.setgroups(gids)
        if gid is not None:
            os.setregid(gid, gid)
        if uid is not None:
            os.setreuid(uid, uid)
        if then is not None:
            then()

    kwargs["preexec_fn"] = preexec_fn
    return kwargs


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
        try:
            super().run_forever()
        finally:
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
        if sig == getattr(signal, "SIGCHLD", None) or _uvloop is None:
            super().add_signal_handler(sig, callback, *args)  # uvloop's own use
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
        if sig == getattr(signal, "SIGCHLD", None) or _uvloop is None:
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

    async def subprocess_shell(self, protocol_factory: Any, cmd: Any, **kwargs: Any) -> Any:
        """Run ``cmd`` in a shell; see ``asyncio.loop.subprocess_shell``."""
        if not isinstance(cmd, (bytes, str)):
            raise ValueError("cmd must be a string")
        if _uvloop is not None:
            kwargs = _child_setup(kwargs)
        return await super().subprocess_shell(protocol_factory, cmd, **kwargs)

    async def subprocess_exec(self, protocol_factory: Any, program: Any, *args: Any,
                              **kwargs: Any) -> Any:
        """Run ``program``; see ``asyncio.loop.subprocess_exec``."""
        if _uvloop is not None:
            kwargs = _child_setup(kwargs)
        return await super().subprocess_exec(protocol_factory, program, *args, **kwargs)

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
