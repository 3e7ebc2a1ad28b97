"""Shared fixtures and constants: the timeout bound, the processor matrix,
the asyncio loop matrix. Every blocking call in a test carries a timeout; the
pytest-timeout backstop (pyproject: 120 s) ends a stuck test with stacks.

Test modules import the constants (``from conftest import T, LOOPS``: pytest
puts this directory on ``sys.path``) and take the fixtures by name."""

import asyncio
import threading

import pytest

import gmploop

#: Bound, in seconds, on every wait in a test that is expected to succeed (a
#: join, a receive, a thread's join): far above what a passing run needs even
#: on a loaded machine, so a lost wake-up fails as a TimeoutError instead of
#: hanging. Files whose waits span a whole asyncio program or a subprocess
#: keep a larger bound of their own and say why.
T = 10.0

#: Processor counts every core test runs at: one processor (everything on one
#: thread), and several (cross-thread wake-ups, stealing, the global queue).
PROCS = (1, 4)

#: The event loops an asyncio test body runs on: the stdlib loop (the oracle:
#: a body that fails there is a wrong test) and gmploop's at 1 and 4
#: processors. Each value makes a fresh loop.
LOOPS = {
    "asyncio": asyncio.SelectorEventLoop,
    "gmploop": lambda: gmploop.new_event_loop(procs=1),
    "gmploop-procs4": lambda: gmploop.new_event_loop(procs=4),
}


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
