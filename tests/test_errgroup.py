"""errgroup.Group, after golang.org/x/sync/errgroup's tests: first error,
derived context, set_limit, try_go; from goroutines, threads and coroutines.
Every wait is bounded."""

import asyncio
import threading
import time

import pytest

import gmploop
from gmploop import Canceled, Chan, Group, background, with_cancel

from support import T  # the bound on every wait (seconds)


class E1(Exception):
    pass


class E2(Exception):
    pass


def test_zero_group(run):
    """TestZeroGroup: wait returns the first error of the group's life."""
    def main():
        g = Group()
        assert g.ctx is None
        results = []
        for errs in ([], [None], [E1], [E1, None], [E1, E2]):
            for e in errs:
                def fn(e=e):
                    if e is not None:
                        raise e("boom")
                g.go(fn)
            try:
                g.wait(timeout=T)
                results.append(None)
            except Exception as exc:  # noqa: BLE001
                results.append(type(exc))
        return results

    # once E1 happened, later waits keep reporting it (first error wins)
    assert run(main) == [None, None, E1, E1, E1]


def test_first_error_is_the_one_reported(run):
    def main():
        g = Group()
        gate = Chan()

        def first():
            raise E1("first")

        def second():
            gate.recv_ok(timeout=T)
            raise E2("second")

        g.go(first)
        g.go(second)
        deadline = time.monotonic() + T
        while g._err is None and time.monotonic() < deadline:
            gmploop.sleep(0.0005)  # bounded: until first() has failed
        gate.close()
        with pytest.raises(E1, match="first"):
            g.wait(timeout=T)
        return True

    assert run(main)


def test_errors_not_sent_to_excepthook(run, monkeypatch):
    seen = []
    monkeypatch.setattr(gmploop, "excepthook", lambda g, e: seen.append(e))

    def main():
        g = Group()
        g.go(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            g.wait(timeout=T)
        return True

    assert run(main)
    assert seen == []


def test_with_context(run):
    """TestWithContext: the derived ctx is cancelled at the first error (and
    after wait); the parent ctx is left alone."""
    def main():
        parent, cancel_parent = with_cancel(background())
        out = []
        for errs in ([], [None], [E1], [E1, None], [E1, E2]):
            g = Group(parent)
            assert g.ctx is not parent and g.ctx.err() is None
            for e in errs:
                def fn(e=e):
                    if e is not None:
                        raise e("boom")
                g.go(fn)
            try:
                g.wait(timeout=T)
                got = None
            except Exception as exc:  # noqa: BLE001
                got = type(exc)
            out.append((got, isinstance(g.ctx.err(), Canceled)))
        assert parent.err() is None
        cancel_parent()
        return out

    out = run(main)
    # with two failures either may be first: goroutines run in any order
    assert out[:4] == [(None, True), (None, True), (E1, True), (E1, True)]
    assert out[4] in ((E1, True), (E2, True))


def test_ctx_cancelled_at_first_error_before_wait(run):
    def main():
        g = Group(background())
        seen = []

        def waits_for_cancel():
            g.ctx.done().recv_ok(timeout=T)
            seen.append(type(g.ctx.err()).__name__)

        def fails():
            raise E1("x")

        g.go(waits_for_cancel)
        g.go(fails)
        with pytest.raises(E1):
            g.wait(timeout=T)
        return seen

    assert run(main) == ["Canceled"]


def test_parent_cancel_reaches_group_ctx():
    parent, cancel = with_cancel(background())
    g = Group(parent)
    cancel()
    assert isinstance(g.ctx.err(), Canceled)


def test_go_limit(run):
    """TestGoLimit: never more than the limit at once."""
    def main():
        limit = 3
        g = Group()
        g.set_limit(limit)
        active = {"n": 0, "max": 0}
        lk = threading.Lock()

        def work():
            with lk:
                active["n"] += 1
                active["max"] = max(active["max"], active["n"])
                bad = active["n"] > limit
            gmploop.sleep(0.001)
            with lk:
                active["n"] -= 1
            if bad:
                raise AssertionError("limit exceeded")

        for _ in range(20):
            g.go(work)  # parks the main goroutine while 3 run
        g.wait(timeout=T)
        return active

    assert run(main) == {"n": 0, "max": 3}


def test_go_limit_from_thread():
    g = Group()
    g.set_limit(2)
    active = {"n": 0, "max": 0}
    lk = threading.Lock()

    def work():
        with lk:
            active["n"] += 1
            active["max"] = max(active["max"], active["n"])
        gmploop.sleep(0.001)
        with lk:
            active["n"] -= 1

    try:
        for _ in range(10):
            g.go(work)  # blocks this thread while 2 run
        g.wait(timeout=T)
    finally:
        gmploop.shutdown(T)
    assert active == {"n": 0, "max": 2}


def test_try_go(run):
    """TestTryGo."""
    def main():
        g = Group()
        g.set_limit(1)
        gate = Chan()
        assert g.try_go(gate.recv_ok, T)
        assert not g.try_go(lambda: None)  # no slot
        gate.send(True, timeout=T)
        g.wait(timeout=T)
        ran = []
        assert g.try_go(ran.append, 1)
        g.wait(timeout=T)
        # without a limit try_go always starts
        g2 = Group()
        assert all(g2.try_go(ran.append, i) for i in range(5))
        g2.wait(timeout=T)
        return sorted(ran)

    assert run(main) == [0, 1, 1, 2, 3, 4]


def test_set_limit_while_active_raises(run):
    def main():
        g = Group()
        gate = Chan()
        g.go(gate.recv_ok, T)
        with pytest.raises(RuntimeError, match="modify limit"):
            g.set_limit(2)
        gate.close()
        g.wait(timeout=T)
        g.set_limit(2)
        g.set_limit(None)  # no limit
        g.set_limit(-1)  # no limit (Go: negative)
        for _ in range(10):
            g.go(gmploop.sleep, 0.001)
        g.wait(timeout=T)
        return True

    assert run(main)


def test_zero_limit_blocks_go():
    """Go: a limit of zero prevents any new goroutine (go waits)."""
    def main():
        g = Group()
        g.set_limit(0)
        assert not g.try_go(lambda: None)
        g.go(lambda: None)  # waits forever: no timer, nothing else runs

    with pytest.raises(gmploop.Deadlock, match="semacquire"):
        gmploop.run(main, procs=1)


def test_bad_input():
    with pytest.raises(TypeError, match="ctx"):
        Group("ctx")
    g = Group()
    with pytest.raises(TypeError, match="fn"):
        g.go(None)
    with pytest.raises(TypeError, match="fn"):
        g.try_go(3)
    with pytest.raises(TypeError, match="n must be an int"):
        g.set_limit("2")
    with pytest.raises(TypeError, match="n must be an int"):
        g.set_limit(1.5)
    with pytest.raises(TypeError, match="timeout"):
        g.wait(timeout="x")
    assert g._wg._n == 0


def test_wait_timeout_does_not_cancel(run):
    def main():
        g = Group(background())
        gate = Chan()
        g.go(gate.recv_ok, T)
        with pytest.raises(TimeoutError):
            g.wait(timeout=0.01)
        assert g.ctx.err() is None
        gate.close()
        g.wait(timeout=T)
        return isinstance(g.ctx.err(), Canceled)

    assert run(main)


def test_await_group_and_ago(procs):
    async def main():
        g = Group(background())
        g.set_limit(2)
        results = []
        lk = threading.Lock()

        def work(i):
            gmploop.sleep(0.001)
            with lk:
                results.append(i)

        for i in range(8):
            await g.ago(work, i)  # waits for a slot without blocking the loop
        await asyncio.wait_for(g, T)
        assert isinstance(g.ctx.err(), Canceled)

        g2 = Group()
        g2.go(lambda: None)
        g2.go(lambda: (_ for _ in ()).throw(E2("async")))
        with pytest.raises(E2):
            await asyncio.wait_for(g2, T)

        g3 = Group()
        g3.set_limit(1)
        gate = Chan()
        g3.go(gate.recv_ok, T)  # a free slot: go() from the loop does not block
        with pytest.raises(RuntimeError, match="aacquire|ago"):
            g3.go(lambda: None)  # would block the loop
        await gate.asend(True, timeout=T)
        await asyncio.wait_for(g3, T)
        return sorted(results)

    assert gmploop.run(main(), procs=procs) == list(range(8))


def test_group_goroutines_wait_on_ctx_from_threads_and_tasks():
    """The derived ctx is an ordinary Context: threads and tasks may wait on
    it while the group's goroutines fail."""
    async def main():
        g = Group(background())
        woke = []
        t = threading.Thread(target=lambda: woke.append(g.ctx.done().recv_ok(timeout=T)))
        t.start()
        task = asyncio.create_task(g.ctx.done().arecv_ok(timeout=T))
        await asyncio.sleep(0)

        def fail():
            gmploop.sleep(0.002)
            raise E1("x")

        g.go(fail)
        woke.append(await task)
        await asyncio.get_running_loop().run_in_executor(None, t.join, T)
        with pytest.raises(E1):
            await g
        return woke

    assert gmploop.run(main(), procs=1) == [(None, False), (None, False)]


def test_group_is_reusable_and_counts(run):
    def main():
        g = Group()
        n = [0]
        lk = threading.Lock()

        def inc():
            with lk:
                n[0] += 1

        for _ in range(3):
            for _ in range(100):
                g.go(inc)
            g.wait(timeout=T)
        t0 = time.monotonic()
        g.wait(timeout=T)  # nothing running: returns at once
        return n[0], time.monotonic() - t0 < T

    assert run(main) == (300, True)
