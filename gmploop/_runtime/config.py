"""Runtime configuration, read from the environment once, in one place.

``GMPLOOP_MAXPROCS``   default number of processors (Go's GOMAXPROCS).
``GMPLOOP_SCHEDTRACE`` print one scheduler-state line to stderr every N ms.
``GMPLOOP_SEED``       seed of the scheduler's random source (steal victims,
                       select case order), so an interleaving can be replayed.
``GMPLOOP_SYSMON_MS``  how long a goroutine may hold its processor before sysmon
                       reports it (default 10 ms); 0 turns the report off.
``GMPLOOP_DEBUG``      1 turns on the runtime's invariant checks (slow).
``GMPLOOP_TRACEBACK``  ``system`` keeps gmploop's own frames in goroutine
                       stacks (deadlock reports, dump_goroutines), as Go's
                       GOTRACEBACK=system shows runtime frames.
``GMPLOOP_PURE``       1 runs the interpreted hot path where it was compiled
                       (read by gmploop/_build.py, before the hot modules
                       load; GMPLOOP_DEBUG=1 and GMPLOOP_TRACEBACK=system
                       imply it).
"""

from __future__ import annotations

import os
import random
import sys


def _int_env(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


#: True on a free-threaded CPython build running with the GIL disabled.
FREE_THREADED: bool = hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled()

MAXPROCS: int | None = _int_env("GMPLOOP_MAXPROCS", None)
SCHEDTRACE_MS: int = _int_env("GMPLOOP_SCHEDTRACE", 0) or 0
SEED: int | None = _int_env("GMPLOOP_SEED", None)
SYSMON_MS: int = _int_env("GMPLOOP_SYSMON_MS", 10) or 0
DEBUG: bool = bool(_int_env("GMPLOOP_DEBUG", 0))
PURE: bool = bool(_int_env("GMPLOOP_PURE", 0))
TRACEBACK_SYSTEM: bool = os.environ.get("GMPLOOP_TRACEBACK", "").strip().lower() == "system"

#: Goroutine switches a processor makes before it lets its event loop poll
#: I/O and fire its timers (the "batch"); see proc.py.
BATCH: int = 64
#: Idle greenlets a processor keeps for reuse. Bounded: an unbounded free list
#: kept gigabytes alive after skynet (a million goroutines).
GFREE_CAP: int = 256
#: Go checks the global run queue every 61 schedule ticks for fairness.
GLOBAL_CHECK_TICKS: int = 61

#: The runtime's one random source (steal victim order, select poll order).
rng = random.Random(SEED)


def default_procs() -> int:
    """Processors for a run that does not say (docs/api.md, "Running"):
    ``GMPLOOP_MAXPROCS``, else the CPU count on a free-threaded build, else 1."""
    if MAXPROCS is not None and MAXPROCS >= 1:
        return MAXPROCS
    if FREE_THREADED:
        return os.cpu_count() or 1
    return 1
