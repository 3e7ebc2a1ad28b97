"""The compiled hot path and the pure one are the same code (docs/internals.md,
"The compiled hot path").

The ``.pxd`` files that type the compiled build list every field of the
classes they make C structs; a field missing there would raise
AttributeError only in the compiled build, so the lists are compared with
the classes' ``__slots__`` here, in either build. ``GMPLOOP_PURE=1`` and the
reports of which build runs are checked in subprocesses.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

import gmploop
from gmploop import _build
from gmploop._chan import ChanCore
from gmploop._runtime.mutexcore import MutexCore
from gmploop._runtime.proc import P, Sched
from gmploop._runtime.runq import LocalQueues
from gmploop._runtime.runtime2 import GoroutineCore, Sudog

PKG = pathlib.Path(gmploop.__file__).resolve().parent

CLASSES = {
    ("_runtime/mutexcore.pxd", "MutexCore"): MutexCore,
    ("_runtime/runtime2.pxd", "GoroutineCore"): GoroutineCore,
    ("_runtime/runtime2.pxd", "Sudog"): Sudog,
    ("_runtime/runq.pxd", "LocalQueues"): LocalQueues,
    ("_runtime/proc.pxd", "P"): P,
    ("_runtime/proc.pxd", "Sched"): Sched,
    ("_chan.pxd", "ChanCore"): ChanCore,
}


def pxd_fields(pxd: str, cls: str) -> set[str]:
    """The attribute names a cdef class declares in a .pxd (``cdef [public]
    TYPE a, b, c`` lines in its body)."""
    text = (PKG / pxd).read_text()
    m = re.search(rf"^cdef class {cls}\b.*?:\n((?:[ \t]+.*\n|\n)*)", text, re.M)
    assert m, f"{pxd} declares no cdef class {cls}"
    names: set[str] = set()
    for line in m.group(1).splitlines():
        line = line.split("#")[0].rstrip()
        d = re.match(r"\s+cdef\s+(?:public\s+|readonly\s+)?(?:(?:unsigned|signed|long|short)\s+)*"
                     r"[\w.]+\s+([\w, ]+)$", line)
        if d:
            names.update(n.strip() for n in d.group(1).split(","))
    return names


@pytest.mark.parametrize("where", sorted(CLASSES), ids=lambda w: w[1])
def test_pxd_fields_match_slots(where):
    cls = CLASSES[where]
    slots = set(cls.__dict__.get("__slots__", ()))
    assert slots, f"{cls.__name__} has no __slots__ of its own"
    assert pxd_fields(*where) == slots


#: .pxd files of no module of their own: C helpers the hot modules cimport
#: (their .py gives the same names to the pure build).
HEADER_PXDS = {"gmploop._runtime.dequeops", "gmploop._runtime.capi"}


def test_every_pxd_belongs_to_a_hot_module():
    pxds = {str(p.relative_to(PKG.parent))[:-4].replace(os.sep, ".")
            for p in PKG.rglob("*.pxd")}
    assert pxds - HEADER_PXDS <= set(_build.HOT)
    assert not HEADER_PXDS & set(_build.HOT)
    for name in HEADER_PXDS:
        text = (PKG.parent / (name.replace(".", os.sep) + ".pxd")).read_text()
        # declarations of C code only: nothing a module would have to define
        assert "cdef class" not in text and "cpdef" not in text


def test_dequeops_are_the_deque_methods():
    # The pure build's names (the compiled build's C calls run in every test
    # that sends, receives or schedules).
    from collections import deque

    from gmploop._runtime import dequeops as dq
    from gmploop._runtime.sema import WaitQ
    for q in (deque(), WaitQ()):
        dq.dq_append(q, 1)
        dq.dq_append(q, 2)
        dq.dq_appendleft(q, 0)
        assert list(q) == [0, 1, 2]
        assert dq.dq_popleft(q) == 0 and dq.dq_pop(q) == 2 and dq.dq_pop(q) == 1
        with pytest.raises(IndexError):
            dq.dq_popleft(q)
        with pytest.raises(IndexError):
            dq.dq_pop(q)


def test_hot_modules_are_in_setup():
    # setup.py reads HOT from gmploop/_build.py: one list.
    setup = (PKG.parent / "setup.py").read_text()
    assert "_hot_modules()" in setup and '"HOT"' in setup


def test_public_classes_are_generic_subclasses():
    assert issubclass(gmploop.Chan, ChanCore)
    assert issubclass(gmploop.Goroutine, GoroutineCore)
    assert gmploop.Chan[int] is not None and gmploop.Goroutine[int] is not None
    assert gmploop.Chan.__module__ == "gmploop"
    assert gmploop.Goroutine.__module__ == "gmploop"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GMPLOOP_PURE", "GMPLOOP_DEBUG", "GMPLOOP_TRACEBACK")}
    env.update(extra)
    return env


def _version(**extra: str) -> str:
    r = subprocess.run([sys.executable, "-m", "gmploop", "--version"],
                       env=_env(**extra), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _probe(env_extra: dict[str, str]) -> list[str]:
    env = _env(**env_extra)
    code = ("import sys, gmploop\n"
            "from gmploop import _build\n"
            "print(_build.mode())\n"
            "print(gmploop.run(lambda: gmploop.stats()['build']))\n"
            "print(sorted({type(sys.modules[m].__loader__).__name__ for m in _build.HOT}))\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")


@pytest.mark.parametrize("var,value", [("GMPLOOP_PURE", "1"), ("GMPLOOP_DEBUG", "1"),
                                       ("GMPLOOP_TRACEBACK", "system")])
def test_env_forces_pure(var, value):
    mode, in_stats, loaders, _ = _probe({var: value})
    assert mode == in_stats == "pure"
    assert loaders == "['SourceFileLoader']"
    assert f"pure Python hot path ({var}={value})" in _version(**{var: value})


def _built_here() -> bool:
    """An extension module of this interpreter's ABI beside every hot module."""
    import importlib.machinery
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return all(PKG.joinpath(*m.split(".")[1:]).with_name(m.rpartition(".")[2] + suffix).exists()
               for m in _build.HOT)


def test_build_is_reported():
    mode, in_stats, loaders, _ = _probe({})
    assert mode == in_stats
    if _built_here() and not _build.STALE:
        # Installed with a C compiler (CI): every hot module is compiled.
        assert mode == "compiled" and loaders == "['ExtensionFileLoader']"
    else:
        assert mode == "pure" and loaders == "['SourceFileLoader']"
    assert ("compiled hot path" in _version()) == (mode == "compiled")


def test_this_process_runs_the_build_it_asked_for():
    # CI runs the suite twice per version, compiled and GMPLOOP_PURE=1, and
    # says which it expects in GMPLOOP_EXPECT_BUILD: a compiled run that
    # silently ran pure (a failed build) fails here.
    expect = os.environ.get("GMPLOOP_EXPECT_BUILD")
    if expect:
        assert _build.mode() == expect, _build.describe()
    want_pure = _build.PURE_REQUESTED or bool(_build.STALE) or not _built_here()
    assert (_build.mode() == "pure") == want_pure


@pytest.mark.skipif(not _built_here(), reason="needs the compiled build (pip install with a C compiler)")
def test_a_partial_build_runs_pure(tmp_path):
    # A compiler that failed on one module leaves the others compiled; they
    # need its C types, so gmploop must run all of them pure, and say why.
    import importlib.machinery
    import shutil
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    copy = tmp_path / "gmploop"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    (copy / "_runtime" / ("runq" + suffix)).unlink()
    code = ("import gmploop, sys\n"
            "print(gmploop.__file__)\n"
            "print(gmploop.run(lambda: gmploop.stats()['build']))\n"
            "print(gmploop._build.describe())\n")
    r = subprocess.run([sys.executable, "-c", code], env=_env(PYTHONPATH=str(tmp_path)),
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    where, build, why, _ = r.stdout.split("\n")
    assert where.startswith(str(copy))
    assert build == "pure" and "only part of the hot path was compiled" in why


def test_setup_makes_every_extension_optional(monkeypatch):
    # Without a working C compiler the install must still succeed (and run
    # pure): each extension must be optional. cythonize() once dropped the
    # flag silently; this reads what setup.py really hands to setuptools.
    import runpy

    import setuptools
    captured: dict = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: captured.update(kw))
    monkeypatch.delenv("GMPLOOP_PURE", raising=False)
    monkeypatch.chdir(PKG.parent)
    runpy.run_path(str(PKG.parent / "setup.py"))
    exts = captured["ext_modules"]
    assert [e.name for e in exts] == list(_build.HOT)
    assert all(e.optional for e in exts)
    assert all(s.endswith(".c") for e in exts for s in e.sources)  # cythonized
