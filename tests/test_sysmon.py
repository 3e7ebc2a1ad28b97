"""sysmon: the monitor thread reports a goroutine that holds its processor
without yielding (once per stuck stretch, threshold GMPLOOP_SYSMON_MS, default
10 ms), and lets idle processors steal a stuck processor's unstarted
goroutines. Timing-free where possible: stealing is checked by counting the
threads that ran the goroutines, not by measuring speed-ups."""

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

import gmploop

from support import T  # the bound on every wait (seconds)
MSG = re.compile(r"goroutine (\d+) \[(.*?)\] has held processor P(\d+) for (\d+) ms "
                 r"without yielding")


def busy(seconds):
    """Spin for ``seconds`` of this thread's CPU time. CPU time, not wall
    time: on a loaded machine (this one is shared by many jobs) a wall-clock
    spin can be descheduled for most of its length, and the sampling monitor
    with it, which makes a wall-clock test flaky without testing anything
    more."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def reports(caught, gid=None):
    out = []
    for w in caught:
        if not issubclass(w.category, RuntimeWarning):
            continue
        m = MSG.search(str(w.message))
        if m and (gid is None or int(m.group(1)) == gid):
            out.append((m, str(w.message)))
    return out


def test_busy_loop_reported_once_with_stack(run):
    def spin_for_a_while():
        busy(0.1)

    def main():
        g = gmploop.go(spin_for_a_while)
        g.name = "spinner"
        g.join(T)
        return g.id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gid = run(main)
    got = reports(caught, gid)
    assert len(got) == 1, [str(w.message) for w in caught]  # once per stretch
    m, text = got[0]
    assert m.group(2) == "spinner"
    assert int(m.group(4)) >= 10
    assert "spin_for_a_while" in text  # the goroutine's stack
    assert "busy" in text


def test_50ms_busy_loop_reported():
    def main():
        g = gmploop.go(busy, 0.05)
        g.join(T)
        return g.id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gid = gmploop.run(main, procs=1)
    assert len(reports(caught, gid)) == 1


def test_each_stuck_stretch_reported_once(run):
    """Two busy stretches separated by a yield are two reports."""

    def two_stretches():
        busy(0.05)
        gmploop.sleep(0.001)
        busy(0.05)

    def main():
        g = gmploop.go(two_stretches)
        g.join(T)
        return g.id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gid = run(main)
    assert len(reports(caught, gid)) == 2


def test_yielding_goroutine_not_reported():
    """A goroutine that runs 60 ms but yields every ~0.1 ms is never stuck."""

    def polite():
        end = time.perf_counter() + 0.06
        while time.perf_counter() < end:
            busy(0.0001)
            gmploop.gosched()

    def main():
        gs = [gmploop.go(polite) for _ in range(2)]
        for g in gs:
            g.join(T)
        return [g.id for g in gs]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = gmploop.run(main, procs=1)
    assert not [r for gid in ids for r in reports(caught, gid)]


CHILD = textwrap.dedent("""
    import time, warnings, gmploop
    def busy():
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass
    def main():
        gmploop.go(busy).join(10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gmploop.run(main, procs=1)
    print(sum("has held processor" in str(w.message) for w in caught))
""")


@pytest.mark.parametrize("env,expect", [(None, 1), ("500", 0), ("0", 0)],
                         ids=["default", "500ms", "off"])
def test_threshold_from_environment(env, expect):
    e = dict(os.environ)
    e.pop("GMPLOOP_SYSMON_MS", None)
    if env is not None:
        e["GMPLOOP_SYSMON_MS"] = env
    out = subprocess.run([sys.executable, "-c", CHILD], env=e, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == expect


def _sleepers(procs):
    """8 goroutines that each hold their processor in time.sleep (no
    blocking()): which threads ran them, and the steal count."""

    def sleeper(i):
        tid = threading.get_ident()
        for _ in range(2):
            time.sleep(0.05)  # an unannounced blocking call: the P is stuck
        return tid

    def main():
        gs = [gmploop.go(sleeper, i) for i in range(8)]
        tids = {g.join(T) for g in gs}
        return tids, gmploop.stats()["steals"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return gmploop.run(main, procs=procs)


def test_idle_processors_steal_from_stuck_one():
    """All 8 start on P0 (the main goroutine's processor). P0 gets stuck in
    the first one's time.sleep; sysmon marks it stuck and wakes idle
    processors, which steal the unstarted rest: they run on several threads."""
    tids, steals = _sleepers(4)
    assert len(tids) >= 2
    assert steals >= 1


def test_one_processor_runs_everything_on_one_thread():
    tids, steals = _sleepers(1)
    assert len(tids) == 1
    assert steals == 0


# --------------------------------------------------------------------------
# Start-up and shutdown race with sysmon and the M threads (issue 9, finding 2)
# --------------------------------------------------------------------------


def test_start_and_stop_many_runtimes_with_blocking_calls():
    """The issue's reproducer, shorter: every run starts Ms and sysmon while
    its goroutines hand calls to the blocking pool, and stops them all when
    main returns. Shutdown used to join a sysmon thread that another
    processor had created but not yet started ("cannot join thread before it
    is started")."""
    for i in range(40):
        barrier = threading.Barrier(8, timeout=T)

        def main():
            gs = [gmploop.go(gmploop.blocking, barrier.wait) for _ in range(8)]
            return sorted(g.join(T) for g in gs)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            assert gmploop.run(main, procs=1 + i % 4) == list(range(8))


class _CountingLock:
    """Sched.lock with a count of the threads waiting to acquire it, so a test
    can tell "blocked on the lock" from "somewhere else" without sleeping."""

    def __init__(self):
        self._lock = threading.Lock()
        self.waiting = 0

    def __enter__(self):
        self.waiting += 1
        self._lock.acquire()
        self.waiting -= 1
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def acquire(self, blocking=True, timeout=-1):
        self.waiting += 1
        try:
            return self._lock.acquire(blocking, timeout)
        finally:
            self.waiting -= 1

    def release(self):
        self._lock.release()

    def locked(self):
        return self._lock.locked()


def _wait_until(cond, what):
    deadline = time.monotonic() + T
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def _in_thread(fn):
    errors = []

    def body():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    t = threading.Thread(target=body)
    t.start()
    return t, errors


def test_shutdown_while_sysmon_is_starting(monkeypatch):
    """Force the interleaving of finding 2: shutdown runs on another thread
    while start_sysmon is between creating the monitor and starting its
    thread. It must wait for the start (or see no monitor), never join a
    thread that has not started."""
    from gmploop._runtime import sysmon
    loop = gmploop.new_event_loop(procs=2)
    sched = loop._gmp_sched
    sched.lock = lock = _CountingLock()
    real_start = sysmon._Sysmon.start
    stopper = []

    def start(self):
        t, errors = _in_thread(lambda: sched.shutdown(T))
        stopper.append((t, errors))
        # Until shutdown has finished, or is blocked on the scheduler lock.
        _wait_until(lambda: not t.is_alive() or lock.waiting, "shutdown")
        real_start(self)

    monkeypatch.setattr(sysmon._Sysmon, "start", start)
    try:
        sched.start_sysmon()
        t, errors = stopper[0]
        t.join(T)
        assert not t.is_alive()
        assert errors == []
        assert sched.dead
        if sched.sysmon is not None:
            sched.sysmon.thread.join(T)
            assert not sched.sysmon.thread.is_alive()
    finally:
        monkeypatch.undo()
        loop.close()


def test_shutdown_while_an_m_is_starting(monkeypatch):
    """Shutdown while a processor's M thread is still making its event loop:
    the M must not run that loop (nobody would stop it), and _start_m must
    not wait forever for an M that gave up."""
    from gmploop._runtime import proc
    loop = gmploop.new_event_loop(procs=1)
    sched = loop._gmp_sched
    sched.started = True  # as if loop.run_forever had attached P0
    real_new_loop = proc.new_loop
    stopper = []
    made = []

    def new_loop():
        t, errors = _in_thread(lambda: sched.shutdown(T))
        stopper.append((t, errors))
        _wait_until(lambda: sched.dead or not t.is_alive(), "shutdown")
        lp = real_new_loop()
        made.append(lp)
        return lp

    monkeypatch.setattr(proc, "new_loop", new_loop)
    try:
        sched.resize(2)  # starts P1's M, which calls new_loop() (resize does not wait for it)
        _wait_until(lambda: stopper, "P1's M to make its loop")
        t, errors = stopper[0]
        t.join(T)
        assert not t.is_alive()
        assert errors == []
        p1 = sched.allp[1]
        p1.thread.join(T)
        assert not p1.thread.is_alive()
        assert p1.loop is None
        assert made[0].is_closed()
    finally:
        monkeypatch.undo()
        loop.close()


def test_nothing_starts_after_shutdown():
    loop = gmploop.new_event_loop(procs=1)
    sched = loop._gmp_sched
    sched.started = True
    sched.shutdown(T)
    sched.start_sysmon()
    sched.resize(3)
    assert sched.sysmon is None
    assert all(p.thread is None for p in sched.allp)
    loop.close()
