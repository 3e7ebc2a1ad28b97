"""Goroutine.cancel() and the structured Group (API.md "Cancellation", "Group").

Every wait is bounded: a cancellation that is lost shows up as a TimeoutError
from the bounded join, never as a hung test.
"""

import asyncio
import threading
import time

import pytest

import gmploop
from gmploop import Canceled, Chan, Group, Recv, Send, go, lowlevel

from support import CANCELLERS, T, cancel_from  # T: the bound on every wait (seconds)


def parked(g, timeout=T):
    """Wait (from a goroutine) until ``g`` is parked."""
    deadline = time.monotonic() + timeout
    while g.status is not lowlevel.GStatus.WAITING:
        assert time.monotonic() < deadline, f"{g} never parked"
        gmploop.sleep(0.001)


def expect_canceled(g):
    with pytest.raises(Canceled):
        g.join(timeout=T)


# -- every blocking operation ------------------------------------------------------


def _ops():
    """(name, setup) pairs: setup() -> (blocking call, check afterwards)."""
    def recv():
        ch = Chan()
        return ch.recv, None

    def recv_ok():
        ch = Chan(1)
        return ch.recv_ok, None

    def send():
        ch = Chan()
        return (lambda: ch.send(1)), (lambda: ch.try_recv() == (None, False))

    def send_full():
        ch = Chan(1)
        ch.send(0)
        return (lambda: ch.send(1)), (lambda: (ch.recv(timeout=T), ch.try_recv()) == (0, (None, False)))

    def select():
        a, b = Chan(), Chan(1)
        b.send(0)
        return (lambda: gmploop.select(Recv(a), Send(b, 1))), \
            (lambda: (b.recv(timeout=T), len(b)) == (0, 0))

    def select_timeout():
        return (lambda: gmploop.select(Recv(Chan()), timeout=T)), None

    def sleep():
        return (lambda: gmploop.sleep(T)), None

    def mutex():
        mu = gmploop.Mutex()
        mu.lock()
        return mu.lock, (lambda: mu.unlock() is None and mu.try_lock())

    def rlock():
        rw = gmploop.RWMutex()
        rw.lock()
        return rw.rlock, (lambda: rw.unlock() is None and rw.try_lock())

    def wlock():
        rw = gmploop.RWMutex()
        rw.rlock()
        return rw.lock, (lambda: rw.runlock() is None and rw.try_lock())

    def semaphore():
        sem = gmploop.Semaphore(1)
        sem.acquire()
        return (lambda: sem.acquire(timeout=T)), (lambda: sem.release() is None and sem.try_acquire())

    def waitgroup():
        wg = gmploop.WaitGroup()
        wg.add(1)
        return (lambda: wg.wait(timeout=T)), None

    def once():
        o = gmploop.Once()
        gate = Chan()
        go(o.do, lambda: gate.recv(timeout=T))
        gmploop.gosched()
        return (lambda: o.do(lambda: None)), (lambda: gate.send(None, timeout=T) is None)

    def group_wait():
        grp = Group()
        c = Chan()
        grp.go(c.recv, timeout=T)
        return (lambda: grp.wait(timeout=T)), (lambda: c.send(1, timeout=T) is None)

    def join():
        c = Chan()
        other = go(c.recv, timeout=T)
        return (lambda: other.join(timeout=T)), (lambda: c.send(1, timeout=T) is None)

    def await_():
        return (lambda: gmploop.await_(asyncio.sleep(T))), None

    def park():
        return (lambda: lowlevel.park("custom wait")), None

    return [recv, recv_ok, send, send_full, select, select_timeout, sleep, mutex,
            rlock, wlock, semaphore, waitgroup, once, group_wait, join, await_, park]


OPS = _ops()


@pytest.mark.parametrize("setup", OPS, ids=[f.__name__ for f in OPS])
@pytest.mark.parametrize("canceller", CANCELLERS)
def test_cancel_interrupts_every_blocking_operation(run, setup, canceller):
    def main():
        op, check = setup()
        reached = []

        def victim():
            reached.append(1)
            op()

        g = go(victim)
        parked(g)
        t0 = time.monotonic()
        cancel_from(g, canceller)
        expect_canceled(g)
        assert time.monotonic() - t0 < 5
        assert reached == [1]
        assert not g.cancel()  # finished
        if check is not None:
            assert check()  # the cancelled operation performed nothing
        return True

    assert run(main)


def test_cancelled_receive_leaves_the_value_for_the_next_receiver(run):
    def main():
        ch = Chan()
        first = go(ch.recv)
        parked(first)
        second = go(ch.recv, timeout=T)
        parked(second)
        first.cancel()
        expect_canceled(first)
        ch.send("v", timeout=T)
        return second.join(timeout=T)

    assert run(main) == "v"


def test_cancellation_is_delivered_once_and_can_be_caught(run):
    def main():
        ch = Chan()
        log = []

        def worker():
            try:
                ch.recv()
            except Canceled:
                log.append("cancelled")
            try:
                ch.recv()  # no second delivery
            except Exception:  # noqa: BLE001
                log.append("wrong")
            return ch.recv(timeout=T)

        g = go(worker)
        parked(g)
        g.cancel()
        ch.send(1, timeout=T)
        ch.send(2, timeout=T)
        assert g.join(timeout=T) == 2
        return log

    assert run(main) == ["cancelled"]


def test_except_exception_does_not_swallow_canceled(run):
    def main():
        ch = Chan()

        def worker():
            while True:
                try:
                    ch.recv()
                except Exception:  # noqa: BLE001 - a worker loop's usual guard
                    pass

        g = go(worker)
        parked(g)
        g.cancel()
        expect_canceled(g)
        return issubclass(Canceled, BaseException) and not issubclass(Canceled, Exception)

    assert run(main)


def test_cancel_before_start_and_before_the_wait(run):
    def main():
        ch = Chan(1)
        ch.send(1)
        log = []

        def worker():
            log.append(ch.recv())  # can proceed: does not wait, no Canceled
            gmploop.gosched()

        g = go(worker)
        assert g.cancel()  # before it ever ran
        expect_canceled(g)
        return log

    assert run(main) == [1]


def test_self_cancel_raises_at_next_wait(run):
    def main():
        def worker():
            gmploop.current().cancel()
            gmploop.sleep(T)

        g = go(worker)
        expect_canceled(g)
        return True

    assert run(main)


def test_gosched_is_a_cancellation_point(run):
    def main():
        stop = []

        def spinner():
            while True:
                gmploop.gosched()
                stop.append(1)

        g = go(spinner)
        gmploop.gosched()
        g.cancel()
        expect_canceled(g)
        return True

    assert run(main)


def test_timeout_cancel_and_send_racing_deliver_exactly_once(run):
    """Timeouts, cancellations and sends race on one channel: every value a
    send reported as sent is received exactly once, and a cancelled or
    timed-out receive took nothing."""
    def main():
        ch = Chan()
        got = []
        sent = []

        def receiver():
            try:
                got.append(ch.recv(timeout=0.002))
            except (TimeoutError, Canceled):
                pass

        for i in range(300):
            r = go(receiver)
            if i % 3 == 0:
                r.cancel()
            try:
                ch.send(i, timeout=0.002)
                sent.append(i)
            except TimeoutError:
                pass
            try:
                r.join(timeout=T)
            except Canceled:
                pass
        return sorted(got) == sorted(sent) and len(set(got)) == len(got)

    assert run(main)


def test_blocking_call_is_not_interrupted_but_canceled_follows(run):
    def main():
        gate = threading.Event()
        log = []

        def worker():
            log.append(gmploop.blocking(gate.wait, T))
            gmploop.sleep(T)

        g = go(worker)
        parked(g)
        g.cancel()
        gate.set()
        expect_canceled(g)
        return log

    assert run(main) == [True]


# -- asyncio -------------------------------------------------------------------------


def test_wait_for_on_a_goroutine_cancels_it(procs):
    async def main():
        ch = Chan()
        g = go(ch.recv)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(g, 0.05)
        with pytest.raises(Canceled):
            await asyncio.wait_for(g.ajoin(), T)
        return True

    assert gmploop.run(main(), procs=procs)


def test_shield_protects_a_goroutine(procs):
    async def main():
        ch = Chan()
        g = go(ch.recv, timeout=T)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(g), 0.05)
        await ch.asend("still here", timeout=T)
        return await asyncio.wait_for(g, T)

    assert gmploop.run(main(), procs=procs) == "still here"


def test_join_timeout_never_cancels(run):
    def main():
        ch = Chan()
        g = go(ch.recv, timeout=T)
        with pytest.raises(TimeoutError):
            g.join(timeout=0.01)
        ch.send("ok", timeout=T)
        return g.join(timeout=T)

    assert run(main) == "ok"


# -- Group ---------------------------------------------------------------------------


def test_group_first_error_cancels_blocked_siblings_quickly(run):
    async def forever():
        await asyncio.sleep(T)

    def main():
        ch = Chan()
        mu = gmploop.Mutex()
        mu.lock()
        grp = Group()
        siblings = [grp.go(ch.recv), grp.go(gmploop.select, Recv(ch)),
                    grp.go(gmploop.sleep, T), grp.go(mu.lock),
                    grp.go(gmploop.await_, forever())]
        for g in siblings:
            parked(g)
        t0 = time.monotonic()

        def boom():
            raise ValueError("boom")

        failing = grp.go(boom)
        with pytest.raises(ValueError, match="boom"):
            grp.wait(timeout=T)
        elapsed = time.monotonic() - t0
        for g in siblings:
            expect_canceled(g)
        with pytest.raises(ValueError, match="boom"):
            failing.join(timeout=T)
        assert mu.locked() and mu.unlock() is None and mu.try_lock()
        return elapsed

    assert run(main) < 0.1


def test_group_member_results_and_ctx(run):
    def main():
        grp = Group(gmploop.background())
        a = grp.go(lambda: 1)
        b = grp.go(lambda: grp.ctx.done().recv_ok(timeout=T))
        grp.go(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            grp.wait(timeout=T)
        return a.join(timeout=T), b.join(timeout=T), isinstance(grp.ctx.err(), Canceled)

    assert run(main) == (1, (None, False), True)


def test_group_cancel_on_error_false_is_plain_errgroup(run):
    def main():
        grp = Group(cancel_on_error=False)
        ch = Chan(1)
        slow = grp.go(ch.recv, timeout=T)
        grp.go(lambda: 1 / 0)
        ch.send("kept", timeout=T)
        with pytest.raises(ZeroDivisionError):
            grp.wait(timeout=T)
        return slow.join(timeout=T)

    assert run(main) == "kept"


def test_group_with_block(run):
    def main():
        ch = Chan()
        with pytest.raises(KeyError):
            with Group() as grp:
                member = grp.go(ch.recv)
                parked(member)
                raise KeyError("body")
        expect_canceled(member)  # the body's exception cancelled it, exit waited
        assert member.done()
        with Group() as grp:
            g = grp.go(lambda: 5)
        assert g.done()
        with pytest.raises(ZeroDivisionError):
            with Group() as grp:
                grp.go(lambda: 1 / 0)
        return g.join(timeout=T)

    assert run(main) == 5


def test_group_async_with(procs):
    async def main():
        ch = Chan()
        with pytest.raises(KeyError):
            async with Group() as grp:
                member = grp.go(ch.recv)
                raise KeyError("body")
        assert member.done()
        with pytest.raises(Canceled):
            member.join(timeout=0)
        async with Group() as grp:
            g = grp.go(lambda: 7)
        return await g

    assert gmploop.run(main(), procs=procs) == 7


def test_group_cancelled_waiter_cancels_members(run):
    def main():
        ch = Chan()
        members = []

        def body():
            with Group() as grp:
                members.append(grp.go(ch.recv))

        g = go(body)
        while not members:
            gmploop.sleep(0.001)
        parked(members[0])
        parked(g)
        g.cancel()
        expect_canceled(g)
        expect_canceled(members[0])
        return True

    assert run(main)


def test_excepthook_not_called_for_canceled_or_group_members(run, monkeypatch):
    hooked = []
    monkeypatch.setattr(gmploop, "excepthook", lambda g, e: hooked.append(e))

    def main():
        ch = Chan()
        g = go(ch.recv)
        parked(g)
        g.cancel()
        expect_canceled(g)
        grp = Group()
        grp.go(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            grp.wait(timeout=T)
        lone = go(lambda: 1 / 0)  # nobody waits: reported
        for _ in range(1000):
            if lone.done():
                break
            gmploop.sleep(0.001)
        return True

    assert run(main)
    assert len(hooked) == 1 and isinstance(hooked[0], ZeroDivisionError)


def test_cancel_after_run_returned(procs):
    """A goroutine abandoned when main returned (never resumed, as in Go) can
    still be asked to stop, from the main thread and from another thread,
    without touching the stopped runtime."""
    kept = []

    def main():
        ch = Chan()
        kept.append(go(ch.recv))
        parked(kept[0])

    gmploop.run(main, procs=procs)
    g = kept[0]
    assert g.cancel() is True
    out = []
    th = threading.Thread(target=lambda: out.append(g.cancel()))
    th.start()
    th.join(T)
    assert out == [True]
    assert not g.done()
