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

# Not a hot module: reading the environment here decides how those load.
from ._runtime import config

#: The modules setup.py compiles (it reads this tuple from this file).
HOT = (
    "gmploop._runtime.runtime2",
    "gmploop._runtime.runq",
    "gmploop._runtime.proc",
    "gmploop._runtime.sema",
    "gmploop._runtime.mutexcore",
    "gmploop._chan",
)


#: The file names compiled functions give their traceback entries (relative,
#: as setup.py names the sources), for code that trims the runtime's frames.
HOT_FILENAMES = frozenset(m.replace(".", "/") + ".py" for m in HOT)


def _requested() -> str | None:
    """Why the environment asks for the interpreted modules, or None."""
    for why, on in (
        ("GMPLOOP_PURE=1", config.PURE),
        # its invariant checks wrap methods the compiled classes do not let
        # it replace
        ("GMPLOOP_DEBUG=1", config.DEBUG),
        # compiled functions have no Python frames to show in goroutine stacks
        ("GMPLOOP_TRACEBACK=system", config.TRACEBACK_SYSTEM),
        # the compiled build's object fields are plain C slots that its code
        # reads and writes without the GIL's protection (docs/internals.md,
        # "The compiled hot path", free threading)
        ("free-threaded interpreter: the compiled build is not free-threading safe yet",
         config.FREE_THREADED),
    ):
        if on:
            return why
    return None


_REQUESTED = _requested()
#: True when the environment asks for the interpreted modules.
PURE_REQUESTED: bool = _REQUESTED is not None


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
    # directives given as decorators in the hot modules: no-ops interpreted
    _SHIM.always_allow_keywords = lambda flag: lambda fn: fn
    _SHIM.locals = lambda **types: lambda fn: fn
    sys.modules["cython"] = _SHIM


def loaded() -> None:
    """gmploop/__init__.py, once every hot module is imported."""
    if _SHIM is not None and sys.modules.get("cython") is _SHIM:
        del sys.modules["cython"]


def _stem(m: str) -> str:
    """Hot module ``m``'s path in the package, without a suffix."""
    return os.path.join(_PKG, *m.split(".")[1:])


def _extension_files(m: str) -> list[str]:
    """The extension modules built for this interpreter beside hot module ``m``."""
    stem = _stem(m)
    return [stem + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if os.path.exists(stem + suffix)]


def _stale(built: dict[str, list[str]]) -> list[str]:
    """Hot modules whose extension module is older than its ``.py`` or
    ``.pxd``: an editable install whose sources changed since it was built.
    Running it would run old code, so gmploop runs pure until ``pip install
    -e .`` rebuilds (a warning says so). Only in a source tree (an
    editable install): an installed wheel's files have no meaningful order."""
    if not os.path.exists(os.path.join(os.path.dirname(_PKG), "setup.py")):
        return []
    out = []
    for m, files in built.items():
        if not files:
            continue
        t = min(os.path.getmtime(f) for f in files)
        stem = _stem(m)
        if any(os.path.exists(stem + ext) and os.path.getmtime(stem + ext) > t
               for ext in (".py", ".pxd")):
            out.append(m)
    return out


_BUILT = {} if PURE_REQUESTED else {m: _extension_files(m) for m in HOT}
#: Hot modules found stale at import (see _stale); then all run pure.
STALE: list[str] = _stale(_BUILT)
#: True when only part of the hot path was compiled for this interpreter (a
#: compiler that failed on one): the compiled ones need the others' C types,
#: so all run pure.
PARTIAL: bool = (not STALE and any(_BUILT.values())
                 and not all(_BUILT.values()))

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
    if _REQUESTED is not None:
        why = _REQUESTED
    elif STALE:
        why = "the compiled build is older than its sources: pip install -e ."
    elif PARTIAL:
        why = "only part of the hot path was compiled at install"
    else:
        why = "not compiled at install: no C compiler or Cython"
    return f"{m} Python hot path ({why})"
