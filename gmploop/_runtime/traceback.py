"""Goroutine dumps, tracebacks, exception reports and scheduler statistics.
Counterpart of Go's ``runtime/traceback.go`` (and the reporting half of
``proc.go``); the scheduler calls it only on rare paths (a deadlock report, a
goroutine that raised), ``dump_goroutines``/``stats`` and sysmon call it on
request.

Concepts
--------
dump        every goroutine of a runtime, one block each, in Go's format:
            ``goroutine N (name) [state]:``, its stack, then ``created by
            FUNC at FILE:LINE in goroutine M``. ``dump_goroutines`` and the
            ``Deadlock`` message are made here (``format_goroutines``).
state word  a WAITING goroutine shows its wait reason (Go's spellings,
            ``runtime2.W_*``); the others ``runnable`` / ``running``.
excepthook  what reports a goroutine that died of an exception nobody joins
            (``gmploop.excepthook``, looked up at each call so a program can
            replace it).

Approach
--------
1. Finding goroutines: no global list is kept on the hot paths (it would cost
   a store per go() and per exit). A dump walks each P's queues, the P's
   ``allgs`` (started goroutines that have parked at least once), the global
   queue and the main goroutine (``_all_goroutines``).
2. Stacks: a parked or runnable started goroutine's stack is its greenlet's
   ``gr_frame``. The goroutine *running* on another P has no "current G"
   field either (a store per switch): ``running_g`` finds it as the one
   RUNNING among ``P.curg`` (the goroutine the P started last: one store per
   goroutine) and ``allgs`` (a goroutine that runs again after a park is
   there); its stack is that thread's (``sys._current_frames``). (Reading
   ``worker_main``'s local ``g`` off the thread's frames would need no
   store, but the compiled build's worker_main has no Python frame.) An
   unstarted one shows its function.
3. "created by": go() keeps only the caller's code object, instruction offset
   and the creating goroutine's id (``Goroutine.go_code``/``go_lasti``/
   ``parent_goid``); the line number is worked out here, at dump time.
4. Frames of gmploop itself are hidden, as Go hides ``runtime.*`` frames
   unless ``GOTRACEBACK=system`` (``GMPLOOP_TRACEBACK=system``, config.py).

Everything here reads state that other threads change: a dump is a best-effort
snapshot (queues are copied with ``list()`` before iterating), never a lock
taken on a scheduler path.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback  # the standard library's (imports here are absolute)
from types import CodeType
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent

from . import config
from .runtime2 import DEAD, RUNNABLE, RUNNING, WAITING, Goroutine

if TYPE_CHECKING:
    from .proc import P, Sched

__all__ = ["default_excepthook", "call_excepthook", "running_g", "created_by",
           "format_goroutine", "format_goroutines", "stats"]


# --------------------------------------------------------------------------
# excepthook
# --------------------------------------------------------------------------


def default_excepthook(g: Goroutine[Any], exc: BaseException) -> None:
    """Print ``goroutine <id> [<name>]:`` and the traceback to stderr."""
    try:
        sys.stderr.write(f"goroutine {g.id} [{g.name}]:\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    except Exception:  # noqa: BLE001 - never let reporting kill the runtime
        pass


def call_excepthook(g: Goroutine[Any], exc: BaseException) -> None:
    mod = sys.modules.get("gmploop")
    hook = getattr(mod, "excepthook", default_excepthook) if mod else default_excepthook
    try:
        hook(g, exc)
    except Exception:  # noqa: BLE001
        default_excepthook(g, exc)



# --------------------------------------------------------------------------
# Finding goroutines and their stacks
# --------------------------------------------------------------------------


def running_g(p: P) -> Goroutine[Any] | None:
    """The goroutine running on ``p`` now (see "Finding goroutines" above).
    From another thread the answer may be a moment stale."""
    if not p.in_batch:
        return None
    g = p.curg
    if g is not None and g.status is RUNNING:
        return g
    for g in list(p.allgs):  # another thread's set: copy (atomic), then look
        if g.status is RUNNING:
            return g
    return None


def _all_goroutines(sched: Sched) -> list[Goroutine[Any]]:
    seen: dict[int, Goroutine[Any]] = {}
    for p in sched.allp + sched.retired:
        for q in (p.newq, p.runq, p.inbox, [p.runnext] if p.runnext else []):
            for g in list(q):
                seen[g.id] = g
        for g in list(p.allgs):
            seen[g.id] = g
        g = running_g(p)
        if g is not None and g.status is not DEAD:
            seen[g.id] = g
    for g in list(sched.globalq):
        seen[g.id] = g
    if sched.main_g is not None and sched.main_g.status is not DEAD:
        seen[sched.main_g.id] = sched.main_g
    return [seen[k] for k in sorted(seen)]


def _state_word(g: Goroutine[Any]) -> str:
    if g.status is WAITING:
        return g.waitreason or "waiting"
    if g.status is RUNNABLE:
        return "runnable"
    if g.status is RUNNING:
        return "running"
    return g.status.name.lower()


_CORE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PKG_DIR = os.path.dirname(_CORE_DIR.rstrip(os.sep)) + os.sep


def _line_at(code: CodeType, lasti: int) -> int:
    """The source line of the instruction at byte offset ``lasti``."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return line
    return code.co_firstlineno


def created_by(g: Goroutine[Any]) -> str | None:
    """Go's "created by" line: the function that called go(), where, and
    from which goroutine. Worked out only here, from what go() kept (a code
    object and an offset), so creating a goroutine stays cheap."""
    code = getattr(g, "go_code", None)
    if code is None:
        return None
    lasti, parent = g.go_lasti, g.parent_goid
    text = f"created by {code.co_qualname} at {code.co_filename}:{_line_at(code, lasti)}"
    return f"{text} in goroutine {parent}" if parent else text


def format_goroutine(g: Goroutine[Any], names: bool = False) -> str:
    """One goroutine as Go prints it in a traceback. ``names``: show the
    name also when it is the default ``goroutine-<id>`` (dump_goroutines);
    deadlock reports show only names given by the program, as Go's do."""
    head = f"goroutine {g.id} [{_state_word(g)}]:"
    if names or g._name is not None:
        head = f"goroutine {g.id} ({g.name}) [{_state_word(g)}]:"
    lines = [head]
    frame = None
    if g.glet is not None and g.status is not RUNNING:
        frame = g.glet.gr_frame
    elif g.status is RUNNING and g.glet is getcurrent():
        frame = sys._getframe(2)
    if frame is not None:
        frames = traceback.extract_stack(frame)
        if not config.TRACEBACK_SYSTEM:
            # As Go hides runtime.* frames unless GOTRACEBACK=system: the
            # goroutine's own frames, not the scheduler's and channels'.
            # A goroutine running a gmploop function itself (go(ch.send, v))
            # keeps that frame, without the scheduler's.
            frames = ([f for f in frames if not f.filename.startswith(_PKG_DIR)]
                      or [f for f in frames if not f.filename.startswith(_CORE_DIR)]
                      or frames)
        lines.extend(s.rstrip("\n") for s in traceback.format_list(frames))
    elif g.fn is not None:
        fn = g.fn
        lines.append(f"  created, not yet started: {getattr(fn, '__qualname__', repr(fn))}")
    origin = created_by(g)
    if origin is not None:
        lines.append("  " + origin)
    return "\n".join(lines) + "\n"


def format_goroutines(sched: Sched, names: bool = False) -> str:
    return "\n".join(format_goroutine(g, names) for g in _all_goroutines(sched))


def stats(sched: Sched) -> dict[str, Any]:
    ps = sched.allp
    allps = ps + sched.retired
    threads = sum(1 for t in threading.enumerate()
                  if t.ident in sched.runtime_tids or getattr(t, "_gmploop_runtime", False))
    created = sched.nforeign + sum(p.ncreated for p in allps)
    return {
        "procs": sched.nprocs,
        "goroutines": sched.num_goroutine(),
        "runnable_global": len(sched.globalq),
        "runnable_local": [len(p.newq) + len(p.runq) + len(p.inbox)
                           + (p.runnext is not None) for p in ps],
        "idle_procs": len(sched.idle),
        "threads": threads,
        "spinning": 0,
        "steals": sum(p.nsteals for p in allps),
        "created": created,
        "reused": sum(p.nreused for p in allps),
        "parked": sum(len(p.allgs) for p in allps),
        "timers": sum(p.timers.nactive for p in allps),
        "free_greenlets": sum(len(p.gfree) for p in allps),
    }

