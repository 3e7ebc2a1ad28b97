"""gmploop.lowlevel: park/ready for library authors."""

import subprocess
import sys
import threading

import pytest

import gmploop
from gmploop.lowlevel import GStatus, park, ready

from support import T  # the bound on every wait (seconds)


def test_park_ready_roundtrip(run):
    def main():
        box = []

        def parker():
            box.append(gmploop.current())
            return park("my primitive")

        g = gmploop.go(parker)
        gmploop.sleep(0.01)
        assert g.status is GStatus.WAITING
        ready(g, "value")
        assert g.join(timeout=T) == "value"
        return True

    assert run(main)


def test_ready_from_thread(run):
    def main():
        me = gmploop.current()
        threading.Thread(target=lambda: ready(me, 7)).start()
        return park("waiting for a thread")

    assert run(main) == 7


def test_ready_not_parked_raises(run):
    def main():
        with pytest.raises(RuntimeError):
            ready(gmploop.current())
        g = gmploop.go(lambda: 1)
        g.join(timeout=T)
        with pytest.raises(RuntimeError):
            ready(g)
        with pytest.raises(TypeError, match="g"):
            ready("x")
        return True

    assert run(main)


def test_park_outside_goroutine():
    with pytest.raises(RuntimeError):
        park("x")


def test_park_reason_in_deadlock_report(run):
    with pytest.raises(gmploop.Deadlock, match=r"\[custom wait\]"):
        run(lambda: park("custom wait"))


def test_status_values():
    assert [s.name for s in GStatus] == ["IDLE", "RUNNABLE", "RUNNING", "WAITING", "DEAD"]


def test_lowlevel_is_an_attribute_of_the_package():
    """``import gmploop`` alone makes ``gmploop.lowlevel`` usable (issue 9,
    finding 5); a fresh interpreter, since this one has imported it already."""
    code = ("import gmploop\n"
            "print(gmploop.lowlevel.park.__name__, gmploop.lowlevel.ready.__name__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["park", "ready"]
