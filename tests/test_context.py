"""Go's context package, after src/context/context_test.go: cancellation
trees, deadlines firing on the runtime's timers, values inherited, waiting on
``done()`` from goroutines, threads and coroutines. Every wait is bounded."""

import asyncio
import random
import threading
import time

import pytest

import gmploop
from gmploop import (Canceled, Chan, Context, DeadlineExceeded, Recv, background,
                     select, with_cancel, with_deadline, with_timeout, with_value)

from support import T  # the bound on every wait (seconds)


def _closed(c: Chan) -> bool:
    """A done channel is closed <=> a receive completes with ok=False now."""
    try:
        v, ok = c.recv_ok(timeout=0)
    except TimeoutError:
        return False
    assert (v, ok) == (None, False)
    return True


def _wait_done(ctx: Context, timeout=T) -> None:
    assert ctx.done().recv_ok(timeout=timeout) == (None, False)


# --------------------------------------------------------------------------
# Basics
# --------------------------------------------------------------------------


def test_background():
    c = background()
    assert c is background()
    assert isinstance(c, Context)
    assert c.err() is None and c.deadline() is None and c.value("k") is None
    assert c.done() is c.done()
    assert not _closed(c.done())
    assert repr(c) == "context.Background"


def test_exceptions_classes():
    assert issubclass(DeadlineExceeded, TimeoutError)
    # as asyncio.CancelledError: "except Exception:" does not swallow it
    assert issubclass(Canceled, BaseException)
    assert not issubclass(Canceled, Exception)
    assert not issubclass(Canceled, TimeoutError)
    assert Canceled.__module__ == DeadlineExceeded.__module__ == "gmploop"
    assert Context.__module__ == "gmploop"


def test_with_cancel():
    ctx, cancel = with_cancel(background())
    d = ctx.done()
    assert ctx.done() is d and isinstance(d, Chan)
    assert ctx.err() is None and not _closed(d)
    cancel()
    assert _closed(d) and ctx.done() is d
    err = ctx.err()
    assert isinstance(err, Canceled) and str(err) == "context canceled"
    cancel()  # idempotent
    assert ctx.err() is err
    assert "WithCancel" in repr(ctx)


def test_done_chan_made_after_cancel_is_closed():
    ctx, cancel = with_cancel(background())
    cancel()
    assert _closed(ctx.done())


def test_done_chan_is_receive_only():
    ctx, cancel = with_cancel(background())
    with pytest.raises(RuntimeError, match="cancelling the context"):
        ctx.done().close()
    with pytest.raises(RuntimeError, match="send"):
        ctx.done().try_send(1)
    with pytest.raises(RuntimeError, match="send"):
        ctx.done().send(1, timeout=0)
    with pytest.raises(RuntimeError):
        background().done().close()
    cancel()
    assert _closed(ctx.done())


def test_bad_input():
    for bad in (None, 1, "ctx", object()):
        with pytest.raises(TypeError, match="parent"):
            with_cancel(bad)
        with pytest.raises(TypeError, match="parent"):
            with_timeout(bad, 1)
        with pytest.raises(TypeError, match="parent"):
            with_deadline(bad, 1)
        with pytest.raises(TypeError, match="parent"):
            with_value(bad, "k", 1)
    bg = background()
    for bad in ("1", None, True, [1]):
        with pytest.raises(TypeError, match="seconds"):
            with_timeout(bg, bad)
        with pytest.raises(TypeError, match="monotonic_deadline"):
            with_deadline(bg, bad)
    with pytest.raises(ValueError, match="seconds"):
        with_timeout(bg, float("nan"))
    with pytest.raises(ValueError, match="monotonic_deadline"):
        with_deadline(bg, float("nan"))
    # TestWithValueChecksKey: nil and non-comparable keys are refused.
    with pytest.raises(TypeError, match="key"):
        with_value(bg, None, 1)
    with pytest.raises(TypeError, match="key must be hashable"):
        with_value(bg, [1], 1)


# --------------------------------------------------------------------------
# Trees (TestParentFinishesChild, TestChildFinishesFirst, ...)
# --------------------------------------------------------------------------


def test_parent_finishes_child():
    parent, cancel = with_cancel(background())
    cancel_child, stop_child = with_cancel(parent)
    timer_child, stop_timer = with_timeout(parent, 3600)
    value_child = with_value(parent, "key", "value")
    grandchild, stop_grand = with_cancel(value_child)
    assert parent._children == {cancel_child, timer_child, grandchild}
    assert timer_child._timer is not None
    cancel()
    for c in (parent, cancel_child, timer_child, value_child, grandchild):
        assert _closed(c.done())
        assert c.err() is parent.err()
    assert parent._children is None
    assert timer_child._timer is None  # its timer was stopped
    for stop in (stop_child, stop_timer, stop_grand):
        stop()  # cancelling an already-cancelled child is harmless
    assert isinstance(grandchild.err(), Canceled)


def test_child_finishes_first():
    for make in (lambda p: with_cancel(p), lambda p: with_timeout(p, 3600)):
        parent, cancel_parent = with_cancel(background())
        child, cancel_child = make(parent)
        assert parent._children == {child}
        cancel_child()
        assert _closed(child.done()) and isinstance(child.err(), Canceled)
        assert parent.err() is None and not _closed(parent.done())
        assert not parent._children  # TestCancelRemoves: the child unregistered
        cancel_parent()
        assert child.err() is not parent.err()  # kept its own error


def test_cancel_removes_child_through_value_layers():
    parent, cancel_parent = with_cancel(background())
    mid = with_value(with_value(parent, 1, 1), 2, 2)
    children = [with_cancel(mid) for _ in range(100)]
    assert len(parent._children) == 100
    for _, cancel in children:
        cancel()
    assert not parent._children
    cancel_parent()


def test_child_of_cancelled_parent_is_cancelled_at_once():
    parent, cancel = with_cancel(background())
    cancel()
    for child, _ in (with_cancel(parent), with_timeout(parent, 3600),
                     with_deadline(with_value(parent, "k", 1), time.monotonic() + 5)):
        assert _closed(child.done())
        assert child.err() is parent.err()
        assert child._timer is None


def test_deep_chain_cancel_no_recursion():
    root, cancel = with_cancel(background())
    c = root
    for i in range(20000):
        c, _ = with_cancel(c) if i % 2 else (with_value(c, i, i), None)
    leaf = c
    assert leaf.value(0) == 0 and leaf.value(19998) == 19998 and leaf.value(-1) is None
    cancel()
    assert _closed(leaf.done()) and leaf.err() is root.err()


def test_random_layers_cancel():
    """TestLayersCancel: random stacks of value/cancel/timeout layers; the
    values stay visible, cancelling the bottom reaches the top."""
    rng = random.Random(3)
    for _ in range(30):
        root, cancel = with_cancel(background())
        ctx = root
        vals = {}
        cancels = [cancel]
        for depth in range(rng.randint(1, 12)):
            kind = rng.randrange(3)
            if kind == 0:
                ctx = with_value(ctx, f"k{depth}", depth)
                vals[f"k{depth}"] = depth
            elif kind == 1:
                ctx, c = with_cancel(ctx)
                cancels.append(c)
            else:
                ctx, c = with_timeout(ctx, 3600)
                cancels.append(c)
        for k, v in vals.items():
            assert ctx.value(k) == v
        assert ctx.err() is None
        cancel()
        assert _closed(ctx.done()) and isinstance(ctx.err(), Canceled)
        for c in cancels:
            c()


def test_simultaneous_cancels(run):
    """TestSimultaneousCancels: a tree cancelled from many goroutines and
    threads at once ends fully cancelled, without deadlock."""
    def main():
        root, cancel_root = with_cancel(background())
        nodes = [(root, cancel_root)]
        for i in range(1, 200):
            parent = nodes[(i - 1) // 3][0]
            nodes.append(with_cancel(parent) if i % 4 else with_timeout(parent, 3600))
        wg = gmploop.WaitGroup()
        start = Chan()

        def canceller(c):
            start.recv_ok(timeout=T)
            c()

        for _, c in nodes:
            wg.go(canceller, c)
        ths = [threading.Thread(target=canceller, args=(c,)) for _, c in nodes[::7]]
        for t in ths:
            t.start()
        start.close()
        wg.wait(timeout=T)
        for t in ths:
            gmploop.blocking(t.join, T)
        return all(_closed(n.done()) and isinstance(n.err(), Canceled) for n, _ in nodes)

    assert run(main)


def test_interlocked_cancels(run):
    """TestInterlockedCancels: a goroutine cancels the child when the parent
    is done; the child then is done too."""
    def main():
        parent, cancel_parent = with_cancel(background())
        child, cancel_child = with_timeout(parent, 3600)

        def relay():
            parent.done().recv_ok(timeout=T)
            cancel_child()

        g = gmploop.go(relay)
        cancel_parent()
        _wait_done(child)
        g.join(timeout=T)
        return True

    assert run(main)


# --------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------


def test_deadline_fires(run):
    def main():
        t0 = time.monotonic()
        d = t0 + 0.03
        ctx, cancel = with_deadline(background(), d)
        assert ctx.deadline() == d
        assert ctx.err() is None
        _wait_done(ctx)
        waited = time.monotonic() - t0
        err = ctx.err()
        cancel()
        assert ctx.err() is err  # cancel after the deadline changes nothing
        return waited, err

    waited, err = run(main)
    assert waited >= 0.025
    assert isinstance(err, DeadlineExceeded) and isinstance(err, TimeoutError)
    assert str(err) == "context deadline exceeded"


def test_timeout_fires_and_children_follow(run):
    def main():
        ctx, cancel = with_timeout(background(), 0.02)
        child, _ = with_cancel(with_value(ctx, "a", 1))
        _wait_done(child)
        cancel()
        return ctx.err(), child.err()

    e1, e2 = run(main)
    assert isinstance(e1, DeadlineExceeded) and e2 is e1


def test_canceled_timeout():
    """TestCanceledTimeout: cancelled before its deadline -> Canceled, and
    the timer is gone."""
    ctx, cancel = with_timeout(background(), 1.0)
    p = ctx._timer_p
    before = p.timers.nactive
    cancel()
    assert isinstance(ctx.err(), Canceled)
    assert p.timers.nactive == before - 1
    assert ctx._timer is None


def test_deadline_is_min_of_parents():
    now = time.monotonic()
    parent, cp = with_deadline(background(), now + 10)
    later, cl = with_deadline(parent, now + 100)
    assert later.deadline() == now + 10
    assert later._timer is None  # the parent's timer covers it (Go: WithCancel)
    sooner, cs = with_timeout(parent, 5)
    assert now + 4 < sooner.deadline() < now + 6
    v = with_value(sooner, "k", 1)
    assert v.deadline() == sooner.deadline()
    plain, cc = with_cancel(sooner)
    assert plain.deadline() == sooner.deadline()
    assert background().deadline() is None
    for c in (cp, cl, cs, cc):
        c()


def test_deadline_in_the_past_fires_at_once():
    for ctx, cancel in (with_timeout(background(), 0), with_timeout(background(), -5),
                        with_deadline(background(), time.monotonic() - 1)):
        assert _closed(ctx.done())
        assert isinstance(ctx.err(), DeadlineExceeded)
        cancel()


def test_huge_timeout_does_not_overflow():
    ctx, cancel = with_timeout(background(), 1e300)
    assert ctx.err() is None and ctx.deadline() > time.monotonic() + 1e299
    cancel()
    ctx, cancel = with_timeout(background(), float("inf"))
    assert ctx.err() is None
    cancel()


def test_deadline_from_plain_thread():
    """A thread-context deadline uses the program runtime's P0 timers (the
    background runtime here): no helper thread per context."""
    try:
        ctx, cancel = with_timeout(background(), 0.02)
        _wait_done(ctx)
        assert time.monotonic() >= ctx.deadline()  # not before its deadline
        assert isinstance(ctx.err(), DeadlineExceeded)
        cancel()
    finally:
        gmploop.shutdown(T)


def test_deadline_keeps_main_alive_no_false_deadlock():
    """A pending deadline timer can wake the waiter: not a deadlock."""
    def main():
        ctx, _ = with_timeout(background(), 0.02)
        ctx.done().recv_ok()  # no timeout: only the deadline ends this wait
        return ctx.err()

    assert isinstance(gmploop.run(main, procs=1), DeadlineExceeded)


def test_wait_on_background_done_is_deadlock():
    def main():
        background().done().recv_ok()

    with pytest.raises(gmploop.Deadlock, match="chan receive"):
        gmploop.run(main, procs=1)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def test_values():
    class Key:  # a private key type, as Go recommends
        pass

    k1, k2, k3 = Key(), Key(), "k3"
    c0 = background()
    c1 = with_value(c0, k1, "c1k1")
    c2 = with_value(c1, k2, "c2k2")
    c3 = with_value(c2, k3, "c3k3")
    c4 = with_value(c3, k1, None)  # shadows k1 with None
    cc, cancel = with_cancel(c3)
    assert (c1.value(k1), c1.value(k2), c1.value(k3)) == ("c1k1", None, None)
    assert (c3.value(k1), c3.value(k2), c3.value(k3)) == ("c1k1", "c2k2", "c3k3")
    assert (c4.value(k1), c4.value(k2)) == (None, "c2k2")
    assert (cc.value(k1), cc.value(k3)) == ("c1k1", "c3k3")
    assert c0.value(k1) is None
    assert c3.err() is None and c3.done() is background().done()
    assert "WithValue" in repr(c3)
    # equal keys match (Go compares keys with ==)
    assert with_value(c0, ("a", 1), "t").value(("a", 1)) == "t"
    cancel()
    assert cc.value(k2) == "c2k2"  # values outlive cancellation


def test_value_ctx_forwards_done_and_err():
    parent, cancel = with_cancel(background())
    v = with_value(parent, "k", 1)
    assert v.done() is parent.done()
    cancel()
    assert v.err() is parent.err()


# --------------------------------------------------------------------------
# Waiting on done() from all three caller kinds; select
# --------------------------------------------------------------------------


def test_done_waited_from_goroutines_threads_tasks(procs):
    async def main():
        ctx, cancel = with_cancel(background())
        child = with_value(ctx, "who", "child")
        woke = []
        lk = threading.Lock()
        ready = gmploop.WaitGroup()
        ready.add(9)

        def g_wait(i):
            ready.done()
            child.done().recv_ok(timeout=T)
            with lk:
                woke.append(("g", i, type(child.err()).__name__))

        def t_wait(i):
            ready.done()
            ctx.done().recv_ok(timeout=T)
            with lk:
                woke.append(("t", i, type(ctx.err()).__name__))

        async def a_wait(i):
            ready.done()
            await ctx.done().arecv_ok(timeout=T)
            woke.append(("a", i, type(ctx.err()).__name__))

        gs = [gmploop.go(g_wait, i) for i in range(3)]
        ts = [threading.Thread(target=t_wait, args=(i,)) for i in range(3)]
        for t in ts:
            t.start()
        tasks = [asyncio.create_task(a_wait(i)) for i in range(3)]
        await asyncio.wait_for(ready, T)
        assert woke == []
        gmploop.go(cancel)  # cancelled from a goroutine
        await asyncio.wait_for(asyncio.gather(*tasks), T)
        for g in gs:
            await asyncio.wait_for(g, T)
        loop = asyncio.get_running_loop()
        for t in ts:
            await loop.run_in_executor(None, t.join, T)
        return sorted(woke)

    woke = gmploop.run(main(), procs=procs)
    assert woke == sorted((k, i, "Canceled") for k in "gta" for i in range(3))


def test_done_in_select(run):
    def main():
        ctx, cancel = with_timeout(background(), 0.02)
        work = Chan()
        got = []
        while True:
            i, v, ok = select(Recv(ctx.done()), Recv(work), timeout=T)
            if i == 0:
                got.append(("done", ok, type(ctx.err()).__name__))
                break
        cancel()
        return got

    assert run(main) == [("done", False, "DeadlineExceeded")]


def test_aselect_on_done():
    async def main():
        ctx, cancel = with_cancel(background())
        asyncio.get_running_loop().call_later(0.01, cancel)
        i, _, ok = await gmploop.aselect(Recv(ctx.done()), Recv(Chan()), timeout=T)
        return i, ok, isinstance(ctx.err(), Canceled)

    assert gmploop.run(main(), procs=1) == (0, False, True)


def test_cancel_tree_of_goroutines(run):
    """A 2000-goroutine tree, each waiting on its own derived context: one
    cancel at the root wakes them all."""
    def main():
        root, cancel = with_cancel(background())
        wg = gmploop.WaitGroup()
        started = gmploop.WaitGroup()
        errs = []

        def node(ctx, depth):
            if depth < 3:
                for _ in range(12):
                    child, _c = with_cancel(ctx)
                    started.add(1)
                    wg.go(node, child, depth + 1)
            started.done()
            ctx.done().recv_ok(timeout=T)
            errs.append(ctx.err())

        started.add(1)
        wg.go(node, root, 0)
        started.wait(timeout=T)
        n = gmploop.num_goroutine() - 1
        cancel()
        wg.wait(timeout=T)
        return n, errs

    n, errs = run(main)
    assert n == len(errs) == 1 + 12 + 144 + 1728
    assert all(isinstance(e, Canceled) for e in errs)


# --------------------------------------------------------------------------
# A user's own Context subclass as parent (Go's foreign Context)
# --------------------------------------------------------------------------


class _MyCtx(Context):
    """A minimal user implementation: wraps a channel."""

    def __init__(self):
        self.c = Chan()
        self.e = None

    def done(self):
        return self.c

    def err(self):
        return self.e

    def deadline(self):
        return None

    def value(self, key):
        return "mine" if key == "mine" else None

    def cancel(self):
        self.e = Canceled("custom")
        self.c.close()


def test_foreign_parent(run):
    def main():
        p = _MyCtx()
        child, cancel_child = with_cancel(p)
        v = with_value(child, "k", 1)
        assert v.value("mine") == "mine" and v.value("k") == 1
        p.cancel()
        _wait_done(child)
        assert child.err() is p.e
        # a child of a foreign parent that is cancelled first stops watching
        p2 = _MyCtx()
        c2, cancel2 = with_cancel(p2)
        cancel2()
        _wait_done(c2)
        deadline = time.monotonic() + T
        while gmploop.num_goroutine() > 1 and time.monotonic() < deadline:
            gmploop.sleep(0.0005)  # bounded: the watchers end on their own
        return gmploop.num_goroutine()

    assert run(main) == 1  # the watcher goroutines have ended
