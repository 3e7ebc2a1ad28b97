"""Shared fixtures: the processor and asyncio loop matrices (their values,
and the timeout bound ``T``, are in support.py). Every blocking call in a
test carries a timeout; the pytest-timeout backstop (pyproject: 120 s) ends a
stuck test with stacks."""

import threading

import pytest

import gmploop
from support import LOOPS, PROCS


@pytest.fixture(params=PROCS, ids=[f"procs{n}" for n in PROCS])
def procs(request):
    """Core tests run at 1 and 4 processors."""
    return request.param


@pytest.fixture(params=list(LOOPS))
def loop_name(request):
    """The name of the asyncio loop (a key of ``LOOPS``) the test runs on."""
    return request.param


@pytest.fixture
def run(procs):
    """``run(fn, *args)``: gmploop.run at the test's processor count."""
    def _run(fn, *args, **kwargs):
        return gmploop.run(fn, *args, procs=procs, **kwargs)
    return _run


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Teardown catches leaks: runtime threads of finished runs must be gone."""
    before = {t.ident for t in threading.enumerate()}
    yield
    for t in threading.enumerate():
        if t.ident in before or not t.name.startswith("gmploop-M"):
            continue
        t.join(5)
        assert not t.is_alive(), f"runtime thread {t.name} outlived its run"
