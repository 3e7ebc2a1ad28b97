"""Goroutines and asyncio in one program, both directions, at 1 and 4
processors: channels and select from coroutines (``asend``/``arecv``/
``arecv_ok``/``aselect``/``async for``), ``await g``, ``gmploop.await_`` from
goroutines, cancellation that loses no value, the loop-thread guard, and the
drop-in guarantee (one loop's callbacks never overlap).

Every wait is bounded: each body runs under ``asyncio.wait_for``, every
goroutine-side wait has a timeout.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

import gmploop
from gmploop import Chan, Closed, Recv, Send, aselect

T = 30.0  # bound on every body and goroutine-side wait


@pytest.fixture
def arun(procs):
    """``arun(body, *args)``: run ``body`` on a fresh gmploop loop (bounded)."""
    def _run(body, *args):
        async def main():
            return await asyncio.wait_for(body(*args), T)
        with asyncio.Runner(loop_factory=lambda: gmploop.new_event_loop(procs)) as r:
            return r.run(main())
    return _run


def go_from_thread(fn, *args):
    """Start goroutines the way a plain thread does (global run queue, so
    they spread over idle processors), and return the Goroutine."""
    box = []
    t = threading.Thread(target=lambda: box.append(gmploop.go(fn, *args)))
    t.start()
    t.join(T)
    return box[0]


# --------------------------------------------------------------------------
# Channels and select, coroutine <-> goroutine
# --------------------------------------------------------------------------


def test_coroutine_receives_from_goroutines(arun):
    async def body():
        ch = Chan()

        def producer(k):
            for i in range(100):
                ch.send((k, i), timeout=T)

        gs = [gmploop.go(producer, k) for k in range(4)]
        got = [await ch.arecv(timeout=T) for _ in range(400)]
        for g in gs:
            await g
        return got

    got = arun(body)
    assert sorted(got) == sorted((k, i) for k in range(4) for i in range(100))
    for k in range(4):  # each producer's values arrive in its send order
        assert [i for k2, i in got if k2 == k] == list(range(100))


def test_goroutine_receives_from_coroutine_and_async_for(arun):
    async def body():
        ch, back = Chan(), Chan(3)

        def doubler():
            for v in ch:  # until closed and drained
                back.send(v * 2, timeout=T)
            back.close()

        async def collect():
            return [v async for v in back]

        g = gmploop.go(doubler)
        collector = asyncio.create_task(collect())
        for i in range(50):
            await ch.asend(i, timeout=T)
        ch.close()
        out = await collector
        await g
        return out, await back.arecv_ok(), g.done()

    out, last, done = arun(body)
    assert out == [i * 2 for i in range(50)]
    assert last == (None, False) and done


def test_closed_channel_from_coroutines(arun):
    async def body():
        ch = Chan(2)
        await ch.asend(1)
        ch.close()
        r = [await ch.arecv(), await ch.arecv_ok()]
        try:
            await ch.arecv()
        except Closed:
            r.append("recv-closed")
        try:
            await ch.asend(2)
        except Closed:
            r.append("send-closed")
        try:
            await Chan().arecv(timeout=0.01)
        except TimeoutError:
            r.append("timeout")
        return r

    assert arun(body) == [1, (None, False), "recv-closed", "send-closed", "timeout"]


def test_aselect_with_goroutine_partners(arun):
    async def body():
        a, b, out = Chan(), Chan(), Chan()

        def feeder():
            for i in range(30):
                (a if i % 2 else b).send(i, timeout=T)
            a.close()

        def drain():
            return [out.recv(timeout=T) for _ in range(10)]

        g1, g2 = gmploop.go(feeder), gmploop.go(drain)
        got, sent = [], 0
        while len(got) < 30 or sent < 10:
            i, v, ok = await aselect(Recv(a), Recv(b),
                                     Send(out if sent < 10 else None, sent), timeout=T)
            if i == 2:
                sent += 1
            elif ok:
                got.append(v)
        await g1
        drained = await g2
        idx = await aselect(Recv(a), default=True)  # closed: ready with ok=False
        none = await aselect(Recv(Chan()), default=True)
        return sorted(got), drained, idx, none

    got, drained, idx, none = arun(body)
    assert got == list(range(30)) and drained == list(range(10))
    assert idx == (0, None, False) and none == (-1, None, False)


def test_await_goroutine(arun):
    async def body():
        g = gmploop.go(lambda: sum(range(100)))
        err = KeyError("mine")

        def fail():
            raise err

        hold = Chan()
        h = gmploop.go(lambda: (hold.recv(timeout=T), fail()))
        r = [await g]
        joiner = asyncio.ensure_future(h.ajoin())
        await asyncio.sleep(0)  # the joiner's first step runs: it waits on h
        await hold.asend(None, timeout=T)  # now h raises, with a joiner waiting
        try:
            await joiner
        except KeyError as e:
            r.append(e is err)
        gate = Chan()
        slow = gmploop.go(gate.recv, timeout=T)
        try:
            await slow.ajoin(timeout=0.01)
        except TimeoutError:
            r.append("timeout")
        await gate.asend("open")
        r.append(await slow)
        return r

    errors = []
    old = gmploop.excepthook
    gmploop.excepthook = lambda g, e: errors.append(e)
    try:
        assert arun(body) == [4950, True, "timeout", "open"]
    finally:
        gmploop.excepthook = old
    assert errors == []  # the joiner got it: not reported a second time


def test_one_channel_from_goroutines_threads_and_coroutines(arun):
    """The same channel used by all three caller kinds at once."""
    async def body():
        ch = Chan(8)
        n = 300

        def g_producer():
            for i in range(n):
                ch.send(("g", i), timeout=T)

        def t_producer():
            for i in range(n):
                ch.send(("t", i), timeout=T)

        async def c_producer():
            for i in range(n):
                await ch.asend(("c", i), timeout=T)

        g = gmploop.go(g_producer)
        t = threading.Thread(target=t_producer)
        t.start()
        c = asyncio.create_task(c_producer())
        got = [await ch.arecv(timeout=T) for _ in range(3 * n)]
        await c
        await g
        await asyncio.to_thread(t.join, T)
        return got

    got = arun(body)
    for kind in "gtc":
        assert [i for k, i in got if k == kind] == list(range(300))


# --------------------------------------------------------------------------
# await_: goroutines waiting on asyncio
# --------------------------------------------------------------------------


def test_await_from_goroutines(arun, procs):
    async def body():
        loop = asyncio.get_running_loop()
        loop_tid = threading.get_ident()
        fut = loop.create_future()

        async def on_loop(x):
            await asyncio.sleep(0.001)
            return x, threading.get_ident() == loop_tid

        async def raises():
            await asyncio.sleep(0)
            raise ValueError("from coroutine")

        def worker(i):
            out = [gmploop.await_(on_loop(i))]
            try:
                gmploop.await_(raises())
            except ValueError as e:
                out.append(str(e))
            out.append(gmploop.await_(asyncio.ensure_future(on_loop(-i), loop=loop)))
            out.append(gmploop.await_(fut))  # a Future another coroutine resolves
            return out, threading.get_ident()

        gs = [gmploop.go(worker, i) for i in range(8)]
        gs += [go_from_thread(worker, i) for i in range(8, 16)]
        await asyncio.sleep(0.01)
        fut.set_result("fut")
        return [await g for g in gs], loop_tid

    results, loop_tid = arun(body)
    for i, (out, _tid) in enumerate(results):
        assert out == [(i, True), "from coroutine", (-i, True), "fut"]


def test_await_outside_goroutine_and_bad_input(arun):
    async def body():
        coro = asyncio.sleep(0)
        try:
            gmploop.await_(coro)
        except RuntimeError as e:
            msg = str(e)
        coro.close()
        bad = gmploop.go(gmploop.await_, 42)
        try:
            await bad
        except TypeError as e:
            return msg, "awaitable" in str(e)

    old = gmploop.excepthook
    gmploop.excepthook = lambda g, e: None
    try:
        msg, named = arun(body)
    finally:
        gmploop.excepthook = old
    assert "goroutine" in msg and named


def test_await_in_a_plain_run():
    """await_ works in a goroutine of run(main), with no asyncio code around."""
    async def coro():
        await asyncio.sleep(0.001)
        return type(asyncio.get_running_loop()).__name__

    def main():
        return gmploop.await_(coro())

    assert gmploop.run(main) == "GMPEventLoop"


# --------------------------------------------------------------------------
# The loop-thread guard
# --------------------------------------------------------------------------


def test_blocking_calls_on_the_loop_thread_raise(arun):
    async def body():
        ch = Chan()
        gate = Chan()
        # Still running when joined below (on procs=4 a goroutine that just
        # returned could finish first, and join would not need to block).
        g = gmploop.go(gate.recv_ok, timeout=T)
        msgs = {}
        for name, call in [("recv", ch.recv), ("recv_ok", ch.recv_ok),
                           ("send", lambda: ch.send(1)),
                           ("select", lambda: gmploop.select(Recv(ch))),
                           ("join", lambda: g.join(timeout=T))]:
            try:
                call()
            except RuntimeError as e:
                msgs[name] = str(e)
        # Non-blocking forms stay legal on the loop thread.
        ok = (ch.try_recv(), ch.try_send(1), gmploop.select(Recv(ch), default=True))
        gate.close()
        await g
        return msgs, ok

    msgs, ok = arun(body)
    assert "arecv" in msgs["recv"] and "arecv" in msgs["recv_ok"]
    assert "asend" in msgs["send"] and "aselect" in msgs["select"]
    assert "await g" in msgs["join"]
    assert ok == ((None, False), False, (-1, None, False))


# --------------------------------------------------------------------------
# Cancellation loses no value (stress)
# --------------------------------------------------------------------------


async def _cancel_storm(pending, stop, rng):
    """Cancel random pending tasks until ``stop`` is set."""
    while not stop.is_set():
        live = [t for t in list(pending) if not t.done()]
        for t in rng.sample(live, k=len(live) // 3):
            t.cancel()
        await asyncio.sleep(0)


@pytest.mark.parametrize("cap", [0, 4])
def test_cancelled_arecv_loses_nothing(arun, procs, cap):
    """Receivers are tasks that are cancelled at random while goroutines send.
    A value a send reported as sent is received exactly once; a cancelled
    arecv took nothing."""
    n = 1500

    async def body():
        ch = Chan(cap)
        rng = random.Random(7)
        got: list = []
        stop = asyncio.Event()

        def producer(k):
            for i in range(k, n, 3):
                ch.send(i, timeout=T)

        async def receiver():
            v = await ch.arecv(timeout=T)
            got.append(v)  # recorded before the task's next await

        prods = [gmploop.go(producer, 0), gmploop.go(producer, 1), go_from_thread(producer, 2)]
        pending: set = set()
        storm = asyncio.create_task(_cancel_storm(pending, stop, rng))
        cancels = 0
        while not all(g.done() for g in prods):
            while len(pending) < 16:
                t = asyncio.create_task(receiver())
                pending.add(t)
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=T)
            for t in done:
                pending.discard(t)
                cancels += t.cancelled()
        stop.set()
        await storm
        for g in prods:
            await g
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        rest = []
        while True:
            v, ok = ch.try_recv()
            if not ok:
                break
            rest.append(v)
        return got, rest, cancels

    got, rest, cancels = arun(body)
    assert sorted(got + rest) == list(range(n))
    assert cancels > 0


@pytest.mark.parametrize("cap", [0, 4])
def test_cancelled_asend_did_not_send(arun, procs, cap):
    """Senders are tasks cancelled at random; a goroutine receives. Every
    value an asend reported as sent arrives exactly once; one whose asend was
    cancelled did not arrive (it is sent again later)."""
    n = 1500

    async def body():
        ch = Chan(cap)
        rng = random.Random(11)
        received: list = []
        sent: list = []
        sent_set: set = set()
        stop = asyncio.Event()

        def consumer():
            for v in ch:
                received.append(v)

        cons = gmploop.go(consumer)
        todo = list(range(n))

        async def sender(v):
            await ch.asend(v, timeout=T)
            sent.append(v)  # recorded before the task's next await
            sent_set.add(v)

        pending: dict = {}
        storm = asyncio.create_task(_cancel_storm(pending, stop, rng))
        cancels = 0
        while todo or pending:
            while todo and len(pending) < 16:
                v = todo.pop()
                pending[asyncio.create_task(sender(v))] = v
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=T)
            for t in done:
                v = pending.pop(t)
                if t.cancelled():
                    cancels += 1
                    if v not in sent_set:
                        todo.append(v)  # its asend was cancelled: not sent, send again
        stop.set()
        await storm
        ch.close()
        await cons
        return received, sent, cancels

    received, sent, cancels = arun(body)
    assert sorted(received) == sorted(sent) == list(range(n))
    assert cancels > 0


def test_cancelled_aselect_performs_nothing(arun, procs):
    n = 1000

    async def body():
        a, b = Chan(), Chan(2)
        rng = random.Random(3)
        got: list = []
        stop = asyncio.Event()

        def producer(ch, start):
            for i in range(start, n, 2):
                ch.send(i, timeout=T)

        async def selector():
            _, v, ok = await aselect(Recv(a), Recv(b), timeout=T)
            got.append(v)

        prods = [gmploop.go(producer, a, 0), go_from_thread(producer, b, 1)]
        pending: set = set()
        storm = asyncio.create_task(_cancel_storm(pending, stop, rng))
        while not all(g.done() for g in prods):
            while len(pending) < 16:
                pending.add(asyncio.create_task(selector()))
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=T)
            pending -= done
        stop.set()
        await storm
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        rest = []
        for ch in (a, b):
            while (r := ch.try_recv())[1]:
                rest.append(r[0])
        return got, rest

    got, rest = arun(body)
    assert sorted(got + rest) == list(range(n))


def test_cancel_after_handoff_keeps_the_value_of_a_bare_arecv_task(arun):
    async def body():
        ch = Chan()
        t = asyncio.create_task(ch.arecv())
        await asyncio.sleep(0)  # t waits in arecv
        assert ch.try_send("v")  # the send completes: the value is t's now
        t.cancel()  # and the cancellation arrives after the hand-off
        try:
            return await t
        except asyncio.CancelledError:
            return "lost"

    assert arun(body) == "v"


def test_timeout_expiring_at_the_handoff_keeps_the_value_and_nothing_else(arun):
    """asyncio.timeout() expires just after the value was handed over: the
    receive completes with the value, the block exits normally, and the task
    is not cancelled afterwards (nobody wants it cancelled any more)."""
    async def body():
        ch = Chan()
        trace = []

        async def consumer():
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(None) as cm:
                # One callback: the hand-off, then the timeout expiring (what a
                # timer firing in the same loop iteration does).
                loop.call_soon(lambda: (ch.try_send("v"), cm._on_timeout()))
                trace.append(await ch.arecv())
            try:
                await asyncio.sleep(0.01)
                trace.append("next await ok")
            except asyncio.CancelledError:
                trace.append("cancelled again")

        await asyncio.create_task(consumer())
        return trace

    assert arun(body) == ["v", "next await ok"]


def test_cancel_after_handoff_completes_then_cancels(arun):
    """A cancellation that arrives after the value was handed over: the
    receive completes (the value is kept) and the cancellation is delivered at
    the task's next await."""
    async def body():
        ch = Chan()
        trace = []

        async def recv_then_wait():
            trace.append(await ch.arecv())
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                trace.append("cancelled at the next await")
                raise

        t = asyncio.create_task(recv_then_wait())
        await asyncio.sleep(0)
        assert ch.try_send("v")
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            trace.append(t.cancelled())
        return trace

    assert arun(body) == ["v", "cancelled at the next await", True]


# --------------------------------------------------------------------------
# The drop-in guarantee
# --------------------------------------------------------------------------


def test_loop_callbacks_never_overlap_while_goroutines_run_everywhere(arun, procs):
    """Callbacks, task steps and coroutines run by await_ all run on the
    loop's thread, one at a time, while goroutines run on every processor and
    poke the loop from their threads. A read-modify-write between two awaits
    that releases the GIL in the middle loses no update."""
    async def body():
        loop = asyncio.get_running_loop()
        loop_tid = threading.get_ident()
        state = {"busy": False, "overlaps": 0, "foreign": 0, "entries": 0, "counter": 0}

        def enter():
            if state["busy"]:
                state["overlaps"] += 1
            if threading.get_ident() != loop_tid:
                state["foreign"] += 1
            state["busy"] = True
            state["entries"] += 1

        def leave():
            state["busy"] = False

        def callback():
            enter()
            time.sleep(0)  # release the GIL inside the callback
            leave()

        async def step_on_loop():
            enter()
            x = state["counter"]
            time.sleep(0)
            state["counter"] = x + 1
            leave()
            await asyncio.sleep(0)

        ch = Chan(16)
        rounds = 60
        gor_threads: set = set()
        lock = threading.Lock()

        spread = min(procs, 2)
        deadline = time.monotonic() + 10

        def goroutine(k):
            # Spin (no yield) until goroutines run on two threads: idle
            # processors steal unstarted goroutines from a stuck one (API.md),
            # so this ends at once at procs=4; a started goroutine stays put.
            with lock:
                gor_threads.add(threading.get_ident())
            while len(gor_threads) < spread and time.monotonic() < deadline:
                pass
            for i in range(rounds):
                with lock:
                    gor_threads.add(threading.get_ident())
                x = 0
                for _ in range(2000):  # some work off the loop
                    x += 1
                loop.call_soon_threadsafe(callback)
                gmploop.await_(step_on_loop())
                ch.send(1, timeout=T)
                gmploop.sleep(0.0005)

        nG = 8
        gs = [go_from_thread(goroutine, k) for k in range(nG)]

        async def task(k):
            for _ in range(rounds):
                await step_on_loop()

        tasks = [asyncio.create_task(task(k)) for k in range(8)]
        for _ in range(rounds * nG):
            await ch.arecv(timeout=T)
            enter()
            time.sleep(0)
            leave()
        for g in gs:
            await g
        await asyncio.gather(*tasks)
        await asyncio.sleep(0.01)  # the last call_soon_threadsafe callbacks
        return state, len(gor_threads)

    state, nthreads = arun(body)
    assert state["overlaps"] == 0 and state["foreign"] == 0
    assert state["counter"] == 60 * 8 + 60 * 8  # await_ steps + task steps
    assert state["entries"] >= 60 * 8 * 3
    if procs > 1:
        assert nthreads >= 2  # the goroutines really ran on other processors
