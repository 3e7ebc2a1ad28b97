"""Which build of the hot modules runs: compiled or pure (docs/internals.md,
"The compiled hot path").

``pip install`` compiles the modules in ``HOT`` with Cython (setup.py) into
extension modules beside their ``.py`` files, typed by the ``.pxd`` files
there; the ``.py`` files stay the one source. Where no C compiler (or no
Cython) was present the build is skipped and gmploop runs the same ``.py``
files interpreted ("pure").

The ``.py`` files also run, on a compiled install, with ``GMPLOOP_PURE=1``;
with ``GMPLOOP_DEBUG=1`` (its invariant checks wrap methods the compiled
classes do not let it replace); with ``GMPLOOP_TRACEBACK=system`` (compiled
functions have no Python frames to show in goroutine stacks); on a
free-threaded interpreter without the GIL; and when the build is stale or
partial (below). This module must be imported before any of ``HOT``
(gmploop/__init__.py does it first): it then puts a finder on
``sys.meta_path`` that loads them from their ``.py`` files. ``mode()`` and
``describe()`` say which build runs and why.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from typing import Any, Sequence

#: The modules setup.py compiles (it reads this tuple from this file).
HOT = (
    "gmploop._runtime.runtime2",
    "gmploop._runtime.runq",
    "gmploop._runtime.proc",
    "gmploop._runtime.sema",
    "gmploop._chan",
)


#: The file names compiled functions give their traceback entries (relative,
#: as setup.py names the sources), for code that trims the runtime's frames.
HOT_FILENAMES = frozenset(m.replace(".", "/") + ".py" for m in HOT)


def _env_on(name: str) -> bool:
    raw = os.environ.get(name, "").strip()
    return raw not in ("", "0")


def _traceback_system() -> bool:
    return os.environ.get("GMPLOOP_TRACEBACK", "").strip().lower() == "system"


def _free_threaded() -> bool:
    # A free-threaded interpreter running without the GIL: the compiled
    # build's object fields are plain C slots that its code reads and writes
    # without the GIL's protection (docs/internals.md, "The compiled hot
    # path", free threading), so there the interpreted modules run.
    return hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled()


#: True when the environment asks for the interpreted modules.
PURE_REQUESTED: bool = (_env_on("GMPLOOP_PURE") or _env_on("GMPLOOP_DEBUG")
                        or _traceback_system() or _free_threaded())


class _SourceFinder:
    """Finds ``HOT``'s modules as source, ahead of their extension modules."""

    @staticmethod
    def find_spec(name: str, path: Sequence[str] | None = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in HOT:
            return None
        return _source_spec(name, path)


def _source_spec(name: str, path: Sequence[str] | None) -> importlib.machinery.ModuleSpec | None:
    base = name.rpartition(".")[2] + ".py"
    for d in path or ():
        f = os.path.join(d, base)
        if os.path.isfile(f):
            return importlib.util.spec_from_file_location(
                name, f, loader=importlib.machinery.SourceFileLoader(name, f))
    return None


_PKG = os.path.dirname(os.path.abspath(__file__))


# The hot modules say ``import cython`` to ask ``cython.compiled`` (the
# channel lock is a C mutex in the compiled build). Compiled, Cython resolves
# that at build time; interpreted, it needs a module named ``cython``, and
# Cython need not be installed at run time. So while gmploop's modules load,
# ``cython`` is this stand-in unless one is loaded already; ``loaded()``
# takes it away again, so that a program's own ``import cython`` is not
# answered by it.
_SHIM: Any = None
if "cython" not in sys.modules:
    import types
    _SHIM = types.ModuleType("cython", "gmploop's stand-in for Cython's pure-mode module")
    _SHIM.compiled = False
    sys.modules["cython"] = _SHIM


def loaded() -> None:
    """gmploop/__init__.py, once every hot module is imported."""
    if _SHIM is not None and sys.modules.get("cython") is _SHIM:
        del sys.modules["cython"]


def _stale() -> list[str]:
    """Hot modules whose extension module is older than its ``.py`` or
    ``.pxd``: an editable install whose sources changed since it was built.
    Running it would run old code, so gmploop runs pure until ``pip install
    -e .`` rebuilds (a warning says so). Only in a source tree (an
    editable install): an installed wheel's files have no meaningful order."""
    if not os.path.exists(os.path.join(os.path.dirname(_PKG), "setup.py")):
        return []
    out = []
    for m in HOT:
        stem = os.path.join(_PKG, *m.split(".")[1:])
        built = [stem + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES
                 if os.path.exists(stem + suffix)]
        if not built:
            continue
        t = min(os.path.getmtime(b) for b in built)
        if any(os.path.exists(stem + ext) and os.path.getmtime(stem + ext) > t
               for ext in (".py", ".pxd")):
            out.append(m)
    return out


def _partial() -> bool:
    """Some hot modules were compiled for this interpreter and some not (a
    compiler that failed on one): the compiled ones need the others' C types,
    so all run pure."""
    built = [any(os.path.exists(os.path.join(_PKG, *m.split(".")[1:]) + suffix)
                 for suffix in importlib.machinery.EXTENSION_SUFFIXES) for m in HOT]
    return any(built) and not all(built)


#: Hot modules found stale at import (see _stale); then all run pure.
STALE: list[str] = [] if PURE_REQUESTED else _stale()
#: True when only part of the hot path was compiled (see _partial).
PARTIAL: bool = not PURE_REQUESTED and not STALE and _partial()

if STALE:
    import warnings
    warnings.warn(
        f"gmploop: the compiled build is older than its sources ({', '.join(STALE)}); "
        "running the pure Python hot path. Rebuild: pip install -e .",
        RuntimeWarning, stacklevel=2)

if (PURE_REQUESTED or STALE or PARTIAL) and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _SourceFinder())


def mode() -> str:
    """``"compiled"`` when every module of ``HOT`` is an extension module,
    ``"pure"`` when none is (``"mixed"`` otherwise: a partial build)."""
    compiled = [isinstance(getattr(sys.modules.get(m), "__loader__", None),
                           importlib.machinery.ExtensionFileLoader) for m in HOT]
    if all(compiled):
        return "compiled"
    return "pure" if not any(compiled) else "mixed"


def describe() -> str:
    """One line for ``python -m gmploop --version``: the build and why."""
    m = mode()
    if m == "compiled":
        return "compiled hot path"
    if _env_on("GMPLOOP_PURE"):
        why = "GMPLOOP_PURE=1"
    elif _env_on("GMPLOOP_DEBUG"):
        why = "GMPLOOP_DEBUG=1"
    elif _traceback_system():
        why = "GMPLOOP_TRACEBACK=system"
    elif _free_threaded():
        why = "free-threaded interpreter: the compiled build is not free-threading safe yet"
    elif STALE:
        why = "the compiled build is older than its sources: pip install -e ."
    elif PARTIAL:
        why = "only part of the hot path was compiled at install"
    else:
        why = "not compiled at install: no C compiler or Cython"
    return f"{m} Python hot path ({why})"
