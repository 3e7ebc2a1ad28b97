"""``python -m gmploop``: run a Python program as gmploop's main goroutine.

Usage::

    python -m gmploop [--procs N] script.py [args...]
    python -m gmploop [--procs N] -m module [args...]
    python -m gmploop [--procs N] -c "code" [args...]
    python -m gmploop --version

The program's top level *is* the main goroutine (Go's ``main.main``): it can
call ``go``, use channels and block on them directly, with no ``gmploop.run``
of its own. It runs as module ``__main__`` with ``sys.argv = [script, args...]``
and ``sys.path[0]`` set to the script's directory, as ``python script.py``
would, under ``gmploop.run`` with ``GMPPolicy`` installed as asyncio's policy
(where asyncio has policies: up to Python 3.15; installing it does not warn).

Exit status, as Go's and Python's:

- the program returns normally -> 0; ``sys.exit(code)`` -> ``code``;
- an uncaught exception -> its traceback on stderr, 1;
- ``gmploop.Deadlock`` -> ``fatal error: all goroutines are asleep -
  deadlock!`` and every goroutine's stack on stderr, 2 (Go's status);
- ``KeyboardInterrupt`` -> 130.

Scripts written to run on their own (``python script.py``) end with
``gmploop.run(main)`` or ``asyncio.run(main())``. Under the command line they
are already inside the main goroutine, where both would raise
``RuntimeError``; so, while the program runs, a call to either *from the main
goroutine itself* runs ``main`` in place: a function is called, a coroutine
is awaited on the runtime's event loop (``gmploop.await_``), which is a
``GMPEventLoop``; a ``procs`` argument applies for the length of that call. Calls from any other goroutine keep their documented
behaviour. So every example in ``examples/`` runs both ways.
"""

from __future__ import annotations

import asyncio
import os
import platform
import runpy
import sys
import traceback
import types
from typing import Any, Callable, Sequence

USAGE = """\
usage: python -m gmploop [--procs N] script.py [args...]
       python -m gmploop [--procs N] -m module [args...]
       python -m gmploop [--procs N] -c code [args...]
       python -m gmploop --version

Runs a Python program as gmploop's main goroutine (module __main__, with
sys.argv set), with gmploop's asyncio policy installed.

options:
  -h, --help     show this help and exit
  --version      print gmploop's version (and its greenlet / poller) and exit
  --procs N      number of processors (GOMAXPROCS) for this run; default:
                 $GMPLOOP_MAXPROCS, else 1 where the GIL is on
  -m module      run a library module as a script (like python -m)
  -c code        run a program passed as a string (like python -c)

exit status: the program's (sys.exit), 1 on an uncaught exception,
2 on a deadlock ("all goroutines are asleep - deadlock!") or a usage error.
"""


class _UsageError(Exception):
    pass


def _version() -> str:
    import greenlet

    import gmploop
    try:
        import uvloop
        poller = f"uvloop {uvloop.__version__}"  # type: ignore[attr-defined]  # not re-exported
    except ImportError:  # pragma: no cover - where uvloop is not installed
        poller = "stdlib selector loop"
    return (f"gmploop {gmploop.__version__} (Python {platform.python_version()}, "
            f"greenlet {greenlet.__version__}, {poller}, {gmploop._build.describe()})")


def _parse(argv: Sequence[str]) -> tuple[str, str | None, int | None, list[str]]:
    """-> (kind, target, procs, rest); kind in script/module/code/version/help."""
    procs: int | None = None
    i = 0
    n = len(argv)
    while i < n:
        a = argv[i]
        if a in ("-h", "--help"):
            return "help", None, procs, []
        if a == "--version":
            return "version", None, procs, []
        if a == "--procs" or a.startswith("--procs="):
            if a == "--procs":
                if i + 1 >= n:
                    raise _UsageError("--procs needs a value")
                raw = argv[i + 1]
                i += 2
            else:
                raw = a.split("=", 1)[1]
                i += 1
            try:
                procs = int(raw)
            except ValueError:
                raise _UsageError(f"--procs must be an integer, got {raw!r}") from None
            if procs < 1:
                raise _UsageError(f"--procs must be >= 1, got {procs}")
            continue
        if a in ("-m", "-c"):
            if i + 1 >= n:
                raise _UsageError(f"{a} needs an argument")
            kind = "module" if a == "-m" else "code"
            return kind, argv[i + 1], procs, list(argv[i + 2:])
        if a == "--":
            i += 1
            if i >= n:
                break
            return "script", argv[i], procs, list(argv[i + 1:])
        if a.startswith("-") and a != "-":
            raise _UsageError(f"unknown option {a!r}")
        return "script", a, procs, list(argv[i + 1:])
    raise _UsageError("no script given")


# --------------------------------------------------------------------------
# Running the program
# --------------------------------------------------------------------------


def _run_script(path: str) -> None:
    """Execute ``path`` as module ``__main__`` (as ``python path`` does)."""
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec", dont_inherit=True)
    mod = types.ModuleType("__main__")
    mod.__file__ = path
    mod.__builtins__ = __builtins__  # type: ignore[attr-defined]
    mod.__spec__ = None
    mod.__loader__ = None
    sys.modules["__main__"] = mod
    exec(code, mod.__dict__)


def _run_code(source: str) -> None:
    code = compile(source, "<string>", "exec", dont_inherit=True)
    mod = types.ModuleType("__main__")
    mod.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = mod
    exec(code, mod.__dict__)


def _run_module(name: str) -> None:
    runpy.run_module(name, run_name="__main__", alter_sys=True)


class _InPlace:
    """While the program runs: ``gmploop.run`` / ``asyncio.run`` called from
    the main goroutine itself run their argument in place (see the module
    docstring); from anywhere else they are the originals."""

    def __init__(self) -> None:
        import gmploop
        self.gmploop = gmploop
        self.orig_run = gmploop.run
        self.orig_asyncio_run = asyncio.run
        self.main_g: Any = None

    def _in_main(self) -> bool:
        return self.main_g is not None and self.gmploop.current() is self.main_g

    def run(self, main: Any, *args: Any, procs: int | None = None, **kwargs: Any) -> Any:
        if not self._in_main():
            return self.orig_run(main, *args, procs=procs, **kwargs)
        if asyncio.iscoroutine(main):
            if args or kwargs:
                main.close()
                raise TypeError("run(coroutine) takes no extra arguments")
        elif not callable(main):
            raise TypeError(f"main must be callable or a coroutine, not {type(main).__name__}")
        old = None
        if procs is not None:  # for this call only, as a fresh run would have
            from ._loop import check_procs
            old = self.gmploop.set_max_procs(check_procs(procs))
        try:
            if asyncio.iscoroutine(main):
                return self.gmploop.await_(main)
            return main(*args, **kwargs)
        finally:
            if old is not None and old != procs:
                self.gmploop.set_max_procs(old)

    def asyncio_run(self, main: Any, *, debug: bool | None = None, **kwargs: Any) -> Any:
        if not self._in_main():
            return self.orig_asyncio_run(main, debug=debug, **kwargs)
        if not asyncio.iscoroutine(main):
            raise ValueError(f"a coroutine was expected, got {main!r}")
        return self.gmploop.await_(main)

    def __enter__(self) -> "_InPlace":
        self.gmploop.run = self.run  # type: ignore[assignment]
        asyncio.run = self.asyncio_run
        return self

    def __exit__(self, *exc: Any) -> None:
        self.gmploop.run = self.orig_run
        asyncio.run = self.orig_asyncio_run


def _print_exception(exc: BaseException) -> None:
    """Print ``exc``'s traceback from the program's own first frame on (as
    Python does for a script), leaving out this launcher's, runpy's and the
    runtime's frames that lead to it."""
    tb = exc.__traceback__
    t = tb
    while t is not None and _is_launcher_frame(t.tb_frame.f_code.co_filename):
        t = t.tb_next
    if t is not None:
        tb = t
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _is_launcher_frame(filename: str) -> bool:
    from gmploop._build import HOT_FILENAMES  # a compiled function's entry
    return (filename.startswith(_PKG_DIR) or filename in HOT_FILENAMES
            or filename == runpy.__file__
            or filename.startswith("<frozen runpy"))


def _user_stacks(report: str) -> str:
    """A deadlock report with the runtime's and this launcher's frames left
    out of each goroutine's stack, as Go leaves out runtime frames (unless
    ``GOTRACEBACK=system``): what remains is where the program blocked."""
    out: list[str] = []
    frame: list[str] = []
    block: list[str] = []

    def flush_frame() -> None:
        if frame:
            block.append("\n".join(frame))
            frame.clear()

    def flush_block() -> None:
        flush_frame()
        user = [f for f in block if not _is_launcher_frame(_frame_file(f))]
        out.extend(user if user else block)
        block.clear()

    for line in report.split("\n"):
        if line.startswith('  File "'):
            flush_frame()
            frame.append(line)
        elif line.startswith("    ") and frame:
            frame.append(line)
        else:
            flush_block()
            out.append(line)
    flush_block()
    return "\n".join(out)


def _frame_file(frame: str) -> str:
    head = frame.split("\n", 1)[0]
    return head[len('  File "'):].split('", line', 1)[0]


def _set_path0(entry: str) -> None:
    if sys.path:
        sys.path[0] = entry
    else:
        sys.path.insert(0, entry)


def _exit_code(e: SystemExit) -> int:
    code = e.code
    if code is None:
        return 0
    if isinstance(code, bool):
        return int(code)
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:  # noqa: BLE001
        pass
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gmploop`` and the ``gmploop`` command.
    Returns the exit status (it does not call ``sys.exit``)."""
    if argv is None:
        argv = sys.argv[1:]
    try:
        kind, target, procs, rest = _parse(list(argv))
    except _UsageError as e:
        sys.stderr.write(f"gmploop: {e}\n\n{USAGE}")
        return 2
    if kind == "help":
        sys.stdout.write(USAGE)
        return 0
    if kind == "version":
        print(_version())
        return 0

    import gmploop
    from gmploop import _loop

    assert target is not None
    saved_argv, saved_path0 = sys.argv, (sys.path[0] if sys.path else None)
    runner: Callable[[], None]
    if kind == "script":
        path = os.path.abspath(target)
        if not os.path.exists(path):
            sys.stderr.write(f"gmploop: can't open file {target!r}: "
                             f"[Errno 2] No such file or directory\n")
            return 2
        sys.argv = [target, *rest]
        _set_path0(os.path.dirname(path))
        runner = lambda: _run_script(path)  # noqa: E731
    elif kind == "module":
        sys.argv = [target, *rest]  # runpy replaces [0] with the module's file
        _set_path0(os.getcwd())
        runner = lambda: _run_module(target)  # noqa: E731
    else:
        sys.argv = ["-c", *rest]
        _set_path0("")
        runner = lambda: _run_code(target)  # noqa: E731

    # Where asyncio has event loop policies, GMPPolicy makes every loop the
    # program asks asyncio for a GMPEventLoop. They are deprecated from Python
    # 3.14 on, but this is gmploop's doing, not the program's: set it through
    # the calls that do not warn (_loop.set_policy). From 3.16 on there are no
    # policies: asyncio.run and gmploop.run in the main goroutine still run
    # in place on the runtime's loop (_InPlace).
    old_policy = _loop.get_policy()
    if old_policy is not None:
        _loop.set_policy(_loop._new_policy(procs))

    in_place = _InPlace()

    def main_goroutine() -> None:
        in_place.main_g = gmploop.current()
        runner()

    saved_main = sys.modules.get("__main__")
    try:
        with in_place:
            in_place.orig_run(main_goroutine, procs=procs)
        return 0
    except SystemExit as e:
        return _exit_code(e)
    except gmploop.Deadlock as e:
        sys.stderr.write("fatal error: " + _user_stacks(str(e)).rstrip("\n") + "\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("KeyboardInterrupt\n")
        return 130
    except BaseException as e:  # noqa: BLE001 - the program's uncaught exception
        _print_exception(e)
        return 1
    finally:
        try:
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stdout
            pass
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
        if old_policy is not None:
            _loop.set_policy(old_policy)


if __name__ == "__main__":
    sys.exit(main())
