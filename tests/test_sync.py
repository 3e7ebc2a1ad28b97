"""WaitGroup, Mutex, RWMutex, Once, Semaphore, after Go's src/sync/*_test.go
and golang.org/x/sync/semaphore's tests. Core-style tests run at procs 1 and
4 (``run`` fixture); mixed tests put goroutines, threads and asyncio tasks on
one object at once. Every wait is bounded."""

import asyncio
import random
import threading
import time

import pytest

import gmploop
from gmploop import Chan, Mutex, Once, RWMutex, Semaphore, WaitGroup

from support import T  # the bound on every wait (seconds)
# A waiter that gives up by timeout while the test queues another one behind
# it: generous, so that queueing (microseconds) always wins on a loaded box.
GIVE_UP = 0.25


def _wait_until(pred, timeout=T):
    """Bounded wait for a state another party reaches (a queue length, ...):
    yields (goroutine) or sleeps briefly (thread) between looks."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        if gmploop.current() is not None:
            gmploop.sleep(0.0002)
        else:
            time.sleep(0.0002)


def _start_thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


# --------------------------------------------------------------------------
# WaitGroup (waitgroup_test.go)
# --------------------------------------------------------------------------


def test_waitgroup(run):
    """TestWaitGroup: wg2 must hold every goroutine until all wg2.done()."""
    def main():
        wg1, wg2 = WaitGroup(), WaitGroup()
        n = 16
        wg1.add(n)
        wg2.add(n)
        exited = Chan(n)

        def worker():
            wg1.done()
            wg2.wait(timeout=T)
            exited.send(True, timeout=T)

        for _ in range(n):
            gmploop.go(worker)
        wg1.wait(timeout=T)
        for _ in range(n):
            assert exited.try_recv() == (None, False), "released group too soon"
            wg2.done()
        for _ in range(n):
            assert exited.recv(timeout=T) is True
        return True

    assert run(main)


def test_waitgroup_misuse():
    wg = WaitGroup()
    with pytest.raises(ValueError, match="negative WaitGroup counter"):
        wg.done()
    wg.add(2)
    with pytest.raises(ValueError, match="negative"):
        wg.add(-3)
    wg.add(-2)  # the failed add left the counter at 2
    wg.wait(timeout=0)


def test_waitgroup_bad_input():
    wg = WaitGroup()
    for bad in ("1", 1.0, True, None):
        with pytest.raises(TypeError, match="n must be an int"):
            wg.add(bad)
    wg.add(1)
    with pytest.raises(TypeError, match="timeout"):
        wg.wait(timeout="1")
    with pytest.raises(ValueError, match="timeout"):
        wg.wait(timeout=float("nan"))
    with pytest.raises(TypeError, match="fn"):
        wg.go(None)
    assert "counter=1" in repr(wg)


def test_waitgroup_timeout(run):
    def main():
        wg = WaitGroup()
        wg.add(1)
        with pytest.raises(TimeoutError):
            wg.wait(timeout=0)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            wg.wait(timeout=0.02)
        assert time.monotonic() - t0 >= 0.015
        # Many timed-out waiters do not pile up in the queue (lazy deletion).
        for _ in range(200):
            with pytest.raises(TimeoutError):
                wg.wait(timeout=0.0001)
        assert len(wg._q) <= 64
        wg.done()
        wg.wait(timeout=T)
        return True

    assert run(main)


def test_waitgroup_timeout_thread():
    wg = WaitGroup()
    wg.add(1)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.01)
    assert wg._q.live_count() == 0


def test_waitgroup_go(run):
    def main():
        wg = WaitGroup()
        out = []
        lock = threading.Lock()

        def work(i, scale=1):
            gmploop.sleep(0.001 * (i % 3))
            with lock:
                out.append(i * scale)
            return i

        gs = [wg.go(work, i, scale=2) for i in range(50)]
        wg.wait(timeout=T)
        assert sorted(out) == [2 * i for i in range(50)]
        assert [g.join(timeout=T) for g in gs] == list(range(50))
        return True

    assert run(main)


def test_waitgroup_go_exception_still_done(run, monkeypatch):
    seen = []
    monkeypatch.setattr(gmploop, "excepthook", lambda g, e: seen.append(e))

    def main():
        wg = WaitGroup()

        def boom():
            raise KeyError("x")

        g = wg.go(boom)
        wg.wait(timeout=T)
        with pytest.raises(KeyError):
            g.join(timeout=T)
        return True

    assert run(main)
    assert len(seen) == 1 and isinstance(seen[0], KeyError)


def test_waitgroup_blocking_wait_on_loop_thread_raises():
    async def main():
        wg = WaitGroup()
        wg.add(1)
        with pytest.raises(RuntimeError, match="await wg"):
            wg.wait(timeout=1)
        wg.done()
        wg.wait(timeout=1)  # zero: returns at once, even on the loop thread
        return True

    assert gmploop.run(main(), procs=1)


def test_waitgroup_waited_from_all_three_kinds(procs):
    """One WaitGroup waited on by goroutines, threads and asyncio tasks at
    once, released by a goroutine."""
    async def main():
        wg = WaitGroup()
        wg.add(3)
        woke = []
        lock = threading.Lock()
        started = WaitGroup()
        n = 4
        started.add(3 * n)

        def g_waiter(i):
            started.done()
            wg.wait(timeout=T)
            with lock:
                woke.append(("g", i))

        def t_waiter(i):
            started.done()
            wg.wait(timeout=T)
            with lock:
                woke.append(("t", i))

        async def a_waiter(i):
            started.done()
            await asyncio.wait_for(wg, T)
            woke.append(("a", i))

        gs = [gmploop.go(g_waiter, i) for i in range(n)]
        ts = [_start_thread(t_waiter, i) for i in range(n)]
        tasks = [asyncio.create_task(a_waiter(i)) for i in range(n)]
        await asyncio.wait_for(started, T)
        await asyncio.sleep(0)
        assert woke == []

        def releaser():
            for _ in range(3):
                gmploop.sleep(0.001)
                wg.done()

        gmploop.go(releaser)
        await asyncio.wait_for(asyncio.gather(*tasks), T)
        for g in gs:
            await asyncio.wait_for(g, T)
        loop = asyncio.get_running_loop()
        for t in ts:
            await loop.run_in_executor(None, t.join, T)
        return sorted(woke)

    woke = gmploop.run(main(), procs=procs)
    assert woke == sorted([(k, i) for k in "gta" for i in range(4)])


def test_waitgroup_await_cancel_leaves_no_waiter():
    async def main():
        wg = WaitGroup()
        wg.add(1)
        task = asyncio.create_task(wg._await())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert wg._q.live_count() == 0
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(wg, 0.01)
        wg.done()
        await asyncio.wait_for(wg, T)
        return True

    assert gmploop.run(main(), procs=1)


# --------------------------------------------------------------------------
# Mutex (mutex_test.go)
# --------------------------------------------------------------------------


def test_mutex_hammer(run):
    """TestMutex: goroutines hammering lock/unlock (and try_lock) never
    overlap in the critical section."""
    def main():
        mu = Mutex()
        state = {"n": 0, "inside": 0, "bad": 0}
        wg = WaitGroup()

        def hammer(i, loops):
            for k in range(loops):
                if k % 10 == 0 and mu.try_lock():
                    pass
                else:
                    mu.lock(timeout=T)
                state["inside"] += 1
                if state["inside"] != 1:
                    state["bad"] += 1
                x = state["n"]
                if k % 3 == 0:
                    gmploop.gosched()
                state["n"] = x + 1
                state["inside"] -= 1
                mu.unlock()

        for i in range(10):
            wg.go(hammer, i, 300)
        wg.wait(timeout=T * 3)
        assert not mu.locked()
        return state

    state = run(main)
    assert state == {"n": 3000, "inside": 0, "bad": 0}


def test_mutex_misuse():
    mu = Mutex()
    with pytest.raises(RuntimeError, match="unlock of unlocked mutex"):
        mu.unlock()
    mu.lock()
    mu.unlock()
    with pytest.raises(RuntimeError, match="unlock of unlocked mutex"):
        mu.unlock()
    with pytest.raises(RuntimeError, match="unlock of unlocked mutex"):
        mu.__exit__(None, None, None)
    assert mu.try_lock() and not mu.try_lock()
    mu.unlock()


def test_mutex_bad_timeout():
    mu = Mutex()
    with pytest.raises(TypeError, match="timeout"):
        mu.lock(timeout="1")  # checked even when the mutex is free
    assert not mu.locked()
    mu.lock()
    with pytest.raises(TypeError, match="timeout"):
        mu.lock(timeout="1")
    with pytest.raises(ValueError, match="timeout"):
        mu.lock(timeout=float("nan"))
    mu.unlock()


def test_mutex_not_owned(run):
    """Go's Mutex is not tied to a goroutine: another goroutine, or a thread,
    may unlock it."""
    def main():
        mu = Mutex()
        mu.lock()
        gmploop.go(mu.unlock).join(timeout=T)
        mu.lock(timeout=T)  # free again
        t = _start_thread(mu.unlock)
        mu.lock(timeout=T)  # the thread's unlock hands it to us
        t.join(T)
        mu.unlock()
        return True

    assert run(main)


def test_mutex_timeouts(run):
    def main():
        mu = Mutex()
        mu.lock()
        with pytest.raises(TimeoutError):
            mu.lock(timeout=0)
        with pytest.raises(TimeoutError):
            mu.lock(timeout=0.01)
        err = []
        t = _start_thread(lambda: err.append(_raises(TimeoutError, mu.lock, 0.01)))
        t.join(T)
        assert err == [True]
        assert mu._q.live_count() == 0
        mu.unlock()
        mu.lock(timeout=T)
        mu.unlock()
        return True

    assert run(main)


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    return False


def test_mutex_deadlock_detected():
    def main():
        mu = Mutex()
        mu.lock()
        mu.lock()

    with pytest.raises(gmploop.Deadlock, match="sync.Mutex.Lock"):
        gmploop.run(main, procs=1)


def test_mutex_fairness(run):
    """TestMutexFairness: a goroutine that re-locks in a tight loop cannot
    starve another (starvation mode hands the mutex over after 1 ms)."""
    def main():
        mu = Mutex()
        stop = Chan()

        def hog():
            while True:
                mu.lock(timeout=T)
                gmploop.sleep(0.0001)
                mu.unlock()
                i, _, _ = gmploop.select(gmploop.Recv(stop), default=True)
                if i == 0:
                    return

        def waiter():
            for _ in range(10):
                gmploop.sleep(0.0001)
                mu.lock(timeout=T)
                mu.unlock()

        h = gmploop.go(hog)
        w = gmploop.go(waiter)
        try:
            w.join(timeout=T)
        finally:
            stop.close()
            h.join(timeout=T)
        return True

    assert run(main)


def test_mutex_fairness_thread_waiter(run):
    """The same with the starved waiter a plain thread."""
    def main():
        mu = Mutex()
        stop = threading.Event()

        def hog():
            while not stop.is_set():
                mu.lock(timeout=T)
                gmploop.sleep(0.0001)
                mu.unlock()

        def waiter():
            for _ in range(10):
                time.sleep(0.0001)
                mu.lock(timeout=T)
                mu.unlock()

        h = gmploop.go(hog)
        t = _start_thread(waiter)
        t0 = time.monotonic()
        gmploop.blocking(t.join, T)
        alive = t.is_alive()
        stop.set()
        h.join(timeout=T)
        return alive, time.monotonic() - t0

    alive, _ = run(main)
    assert not alive


def test_mutex_starvation_mode_hands_over():
    """Deterministic at one processor: a waiter that has waited > 1 ms and
    lost once to a barging newcomer gets the mutex directly at the next
    unlock; a try_lock right after that unlock fails (Go's starvation mode)."""
    def main():
        mu = Mutex()
        events = []
        mu.lock()

        def waiter():
            mu.lock(timeout=T)
            events.append("waiter")
            mu.unlock()

        gmploop.go(waiter)
        gmploop.gosched()  # the waiter runs and parks on the mutex
        assert mu._q.live_count() == 1
        gmploop.sleep(0.002)  # it has now waited > 1 ms
        mu.unlock()  # wakes it (normal mode: it must compete)...
        assert mu.try_lock()  # ...and we barge in before it runs
        gmploop.gosched()  # it runs, loses, and switches to starvation mode
        assert mu._starving and mu._q.live_count() == 1
        mu.unlock()  # starvation mode: handed over, we cannot barge
        assert not mu.try_lock()
        events.append("main")
        mu.lock(timeout=T)
        events.append("main locked")
        mu.unlock()
        return events, mu._starving

    events, starving = gmploop.run(main, procs=1)
    assert events == ["main", "waiter", "main locked"]
    assert not starving  # the last waiter took it: back to normal mode


def test_mutex_normal_mode_allows_barging():
    """Without starvation (short waits) a woken waiter competes: the unlocker
    may take the mutex again (throughput, as in Go's normal mode)."""
    def main():
        mu = Mutex()
        mu.lock()
        order = []

        def waiter():
            mu.lock(timeout=T)
            order.append("waiter")
            mu.unlock()

        gmploop.go(waiter)
        gmploop.gosched()
        mu.unlock()
        assert mu.try_lock()  # barged: normal mode
        order.append("main")
        mu.unlock()
        gmploop.sleep(0.001)
        mu.lock(timeout=T)
        mu.unlock()
        return order

    assert gmploop.run(main, procs=1) == ["main", "waiter"]


def test_mutex_mixed_goroutines_threads_tasks(procs):
    """One Mutex contended by goroutines, threads and asyncio tasks at once:
    the shared counter is exact and nobody overlaps in the critical section."""
    loops = 150
    n = 4

    async def main():
        mu = Mutex()
        st = {"n": 0, "inside": 0, "bad": 0}
        wg = WaitGroup()
        wg.add(3 * n)

        def enter():
            st["inside"] += 1
            if st["inside"] != 1:
                st["bad"] += 1
            return st["n"]

        def leave(x):
            st["n"] = x + 1
            st["inside"] -= 1

        def g_worker():
            try:
                for k in range(loops):
                    with mu:
                        x = enter()
                        if k % 2:
                            gmploop.gosched()
                        leave(x)
            finally:
                wg.done()

        def t_worker():
            try:
                for k in range(loops):
                    mu.lock(timeout=T)
                    x = enter()
                    if k % 2:
                        time.sleep(0)
                    leave(x)
                    mu.unlock()
            finally:
                wg.done()

        async def a_worker():
            try:
                for k in range(loops):
                    async with mu:
                        x = enter()
                        if k % 2:
                            await asyncio.sleep(0)
                        leave(x)
            finally:
                wg.done()

        for _ in range(n):
            gmploop.go(g_worker)
            _start_thread(t_worker)
            asyncio.create_task(a_worker())
        await asyncio.wait_for(wg, 60)
        return st

    st = gmploop.run(main(), procs=procs)
    assert st == {"n": 3 * n * loops, "inside": 0, "bad": 0}


def test_mutex_alock_cancel_and_timeout():
    async def main():
        mu = Mutex()
        mu.lock()
        task = asyncio.create_task(mu.alock())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert mu._q.live_count() == 0
        with pytest.raises(TimeoutError):
            await mu.alock(timeout=0.01)
        with pytest.raises(TimeoutError):
            await mu.alock(timeout=0)
        with pytest.raises(RuntimeError, match="alock"):
            mu.lock(timeout=1)  # would block the loop
        got = asyncio.create_task(mu.alock(timeout=T))
        await asyncio.sleep(0)
        mu.unlock()
        await got  # woken, owns it
        assert mu.locked()
        mu.unlock()
        assert not mu.locked()
        return True

    assert gmploop.run(main(), procs=1)


def test_mutex_unlock_wakes_thread_waiter_from_task():
    async def main():
        mu = Mutex()
        await mu.alock()
        box = []
        t = _start_thread(lambda: (mu.lock(timeout=T), box.append(1), mu.unlock()))
        await asyncio.get_running_loop().run_in_executor(
            None, _wait_until, lambda: mu._q.live_count() == 1)
        mu.unlock()
        await asyncio.get_running_loop().run_in_executor(None, t.join, T)
        return box

    assert gmploop.run(main(), procs=1) == [1]


def test_mutex_threads_only():
    mu = Mutex()
    n = [0]

    def work():
        for _ in range(2000):
            with mu:
                n[0] += 1

    ts = [_start_thread(work) for _ in range(4)]
    for t in ts:
        t.join(T)
    assert n[0] == 8000 and not mu.locked()


# --------------------------------------------------------------------------
# RWMutex (rwmutex_test.go)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("readers", [1, 3, 4])
def test_rwmutex_parallel_readers(run, readers):
    """TestParallelReaders: all readers hold the read lock at once."""
    def main():
        rw = RWMutex()
        clocked, cunlock, cdone = Chan(), Chan(), Chan()

        def reader():
            rw.rlock(timeout=T)
            clocked.send(True, timeout=T)
            cunlock.recv(timeout=T)
            rw.runlock()
            cdone.send(True, timeout=T)

        for _ in range(readers):
            gmploop.go(reader)
        for _ in range(readers):
            clocked.recv(timeout=T)
        assert rw._readers == readers
        for _ in range(readers):
            cunlock.send(True, timeout=T)
        for _ in range(readers):
            cdone.recv(timeout=T)
        return rw._readers

    assert run(main) == 0


def test_rwmutex_hammer(run):
    """TestRWMutex: readers and writers (goroutines and threads) never see a
    writer together with anyone else."""
    def main():
        rw = RWMutex()
        act = {"v": 0, "bad": 0}
        alock = threading.Lock()
        wg = WaitGroup()

        def add(d):
            with alock:
                act["v"] += d
                return act["v"]

        def reader(loops, yield_):
            for _ in range(loops):
                with rw.reader:
                    n = add(1)
                    if n < 1 or n >= 10000:
                        act["bad"] += 1
                    yield_()
                    add(-1)

        def writer(loops, yield_):
            for _ in range(loops):
                with rw.writer:
                    n = add(10000)
                    if n != 10000:
                        act["bad"] += 1
                    yield_()
                    add(-10000)

        for i in range(6):
            wg.go(reader, 100, gmploop.gosched)
        for i in range(2):
            wg.go(writer, 50, gmploop.gosched)
        ths = [_start_thread(reader, 100, lambda: time.sleep(0)),
               _start_thread(writer, 50, lambda: time.sleep(0))]
        wg.wait(timeout=T * 3)
        for t in ths:
            gmploop.blocking(t.join, T)
        return act

    assert run(main) == {"v": 0, "bad": 0}


def test_rwmutex_misuse():
    rw = RWMutex()
    with pytest.raises(RuntimeError, match="RUnlock of unlocked RWMutex"):
        rw.runlock()
    with pytest.raises(RuntimeError, match="Unlock of unlocked RWMutex"):
        rw.unlock()
    rw.rlock()
    with pytest.raises(RuntimeError, match="Unlock of unlocked RWMutex"):
        rw.unlock()  # read-locked is not write-locked
    rw.runlock()
    rw.lock()
    with pytest.raises(RuntimeError, match="RUnlock"):
        rw.runlock()
    rw.unlock()
    assert (rw._readers, rw._writer) == (0, False)
    for m in (rw.lock, rw.rlock):
        with pytest.raises(TypeError, match="timeout"):
            m(timeout="x")
    assert (rw._readers, rw._writer) == (0, False)


def test_rwmutex_try():
    rw = RWMutex()
    assert rw.try_rlock() and rw.try_rlock()
    assert not rw.try_lock()
    rw.runlock()
    rw.runlock()
    assert rw.try_lock()
    assert not rw.try_rlock() and not rw.try_lock()
    rw.unlock()


def test_rwmutex_waiting_writer_blocks_new_readers(run):
    def main():
        rw = RWMutex()
        order = []
        rw.rlock()

        def writer():
            rw.lock(timeout=T)
            order.append("writer")
            rw.unlock()

        def reader():
            rw.rlock(timeout=T)
            order.append("reader")
            rw.runlock()

        w = gmploop.go(writer)
        _wait_until(lambda: rw._nww == 1)
        assert not rw.try_rlock()  # a writer waits: new readers must queue
        r = gmploop.go(reader)
        _wait_until(lambda: rw._nrw == 1)
        assert order == []
        rw.runlock()  # the last reader leaves: the writer goes first
        w.join(timeout=T)
        r.join(timeout=T)
        return order

    assert run(main) == ["writer", "reader"]


def test_rwmutex_writer_unlock_admits_waiting_readers_first(run):
    def main():
        rw = RWMutex()
        rw.lock()
        order = []
        lk = threading.Lock()

        def reader(i):
            rw.rlock(timeout=T)
            with lk:
                order.append(f"r{i}")
            rw.runlock()

        def writer():
            rw.lock(timeout=T)
            with lk:
                order.append("w2")
            rw.unlock()

        rs = [gmploop.go(reader, i) for i in range(3)]
        _wait_until(lambda: rw._nrw == 3)
        w = gmploop.go(writer)
        _wait_until(lambda: rw._nww == 1)
        rw.unlock()
        for g in rs + [w]:
            g.join(timeout=T)
        return order

    order = run(main)
    assert sorted(order[:3]) == ["r0", "r1", "r2"] and order[3] == "w2"


def test_rwmutex_writer_timeout_releases_queued_readers(run):
    def main():
        rw = RWMutex()
        rw.rlock()
        got = []

        def writer():
            with pytest.raises(TimeoutError):
                rw.lock(timeout=GIVE_UP)
            got.append("writer gave up")

        def reader():
            rw.rlock(timeout=T)
            got.append(("reader", time.monotonic() - t0))
            rw.runlock()

        t0 = time.monotonic()
        w = gmploop.go(writer)
        _wait_until(lambda: rw._nww == 1)
        r = gmploop.go(reader)
        _wait_until(lambda: rw._nrw == 1)
        w.join(timeout=T)
        r.join(timeout=T)  # admitted once the only waiting writer left
        rw.runlock()
        return got, rw._readers, rw._nrw, rw._nww

    got, readers, nrw, nww = run(main)
    assert "writer gave up" in got
    (waited,) = [x[1] for x in got if x != "writer gave up"]
    assert waited >= GIVE_UP * 0.9  # not before the writer's timeout
    assert (readers, nrw, nww) == (0, 0, 0)


def test_rwmutex_thread_reader_timeout():
    rw = RWMutex()
    rw.lock()
    with pytest.raises(TimeoutError):
        rw.rlock(timeout=0.01)
    with pytest.raises(TimeoutError):
        rw.lock(timeout=0)
    assert rw._nrw == 0
    rw.unlock()


def test_rwmutex_async_mixed(procs):
    async def main():
        rw = RWMutex()
        act = {"v": 0, "bad": 0}
        lk = threading.Lock()
        wg = WaitGroup()

        def add(d):
            with lk:
                act["v"] += d
                return act["v"]

        async def a_reader():
            try:
                for _ in range(50):
                    async with rw.reader:
                        if not 1 <= add(1) < 10000:
                            act["bad"] += 1
                        await asyncio.sleep(0)
                        add(-1)
            finally:
                wg.done()

        async def a_writer():
            try:
                for _ in range(30):
                    async with rw.writer:
                        if add(10000) != 10000:
                            act["bad"] += 1
                        await asyncio.sleep(0)
                        add(-10000)
            finally:
                wg.done()

        def g_writer():
            try:
                for _ in range(30):
                    with rw:
                        if add(10000) != 10000:
                            act["bad"] += 1
                        gmploop.gosched()
                        add(-10000)
            finally:
                wg.done()

        def t_reader():
            try:
                for _ in range(50):
                    with rw.reader:
                        if not 1 <= add(1) < 10000:
                            act["bad"] += 1
                        time.sleep(0)
                        add(-1)
            finally:
                wg.done()

        wg.add(8)
        for _ in range(3):
            asyncio.create_task(a_reader())
        asyncio.create_task(a_writer())
        gmploop.go(g_writer)
        gmploop.go(g_writer)
        _start_thread(t_reader)
        _start_thread(t_reader)
        await asyncio.wait_for(wg, 60)
        async with rw:
            pass
        return act

    assert gmploop.run(main(), procs=procs) == {"v": 0, "bad": 0}


def test_rwmutex_arlock_cancel_and_timeout():
    async def main():
        rw = RWMutex()
        rw.lock()
        t = asyncio.create_task(rw.arlock())
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert rw._nrw == 0
        with pytest.raises(TimeoutError):
            await rw.arlock(timeout=0.01)
        with pytest.raises(TimeoutError):
            await rw.alock(timeout=0.01)
        with pytest.raises(RuntimeError, match="arlock"):
            rw.rlock(timeout=1)
        rw.unlock()
        await rw.arlock()
        rw.runlock()
        return (rw._readers, rw._writer, rw._nrw, rw._nww)

    assert gmploop.run(main(), procs=1) == (0, False, 0, 0)


# --------------------------------------------------------------------------
# Once (once_test.go)
# --------------------------------------------------------------------------


def test_once(run):
    def main():
        once = Once()
        calls = []
        c = Chan()

        def f():
            calls.append(1)

        def worker():
            once.do(f)
            assert calls == [1]
            c.send(True, timeout=T)

        for _ in range(10):
            gmploop.go(worker)
        for _ in range(10):
            c.recv(timeout=T)
        return len(calls), once.done

    assert run(main) == (1, True)


def test_once_raise_counts_as_done():
    once = Once()
    with pytest.raises(ZeroDivisionError):
        once.do(lambda: 1 / 0)
    calls = []
    once.do(lambda: calls.append(1))
    assert calls == [] and once.done


def test_once_others_wait_for_fn_to_finish(run):
    def main():
        once = Once()
        gate = Chan()
        order = []

        def slow():
            gate.recv(timeout=T)
            order.append("fn done")

        def second():
            once.do(lambda: order.append("second ran fn"))
            order.append("second returned")

        g1 = gmploop.go(once.do, slow)
        _wait_until(lambda: once._running)
        g2 = gmploop.go(second)
        ths = [_start_thread(second)]
        _wait_until(lambda: once._q.live_count() == 2)
        assert order == []
        gate.send(True, timeout=T)
        g1.join(timeout=T)
        g2.join(timeout=T)
        gmploop.blocking(ths[0].join, T)
        return order

    assert run(main) == ["fn done", "second returned", "second returned"]


def test_once_recursive_raises():
    once = Once()
    with pytest.raises(RuntimeError, match="inside its own fn"):
        once.do(lambda: once.do(lambda: None))
    assert once.done


def test_once_bad_input():
    with pytest.raises(TypeError, match="fn"):
        Once().do(None)
    with pytest.raises(TypeError, match="fn"):
        asyncio.run(Once().ado(42))


def test_once_async_mixed():
    async def main():
        once = Once()
        calls = []

        async def init():
            await asyncio.sleep(0.005)
            calls.append("init")

        def g_caller():
            once.do(lambda: calls.append("g ran fn"))
            calls.append("g")

        tasks = [asyncio.create_task(once.ado(init)) for _ in range(3)]
        await asyncio.sleep(0)
        g = gmploop.go(g_caller)
        await asyncio.wait_for(asyncio.gather(*tasks), T)
        await asyncio.wait_for(g, T)
        await once.ado(init)
        return calls

    assert gmploop.run(main(), procs=1) == ["init", "g"]


# --------------------------------------------------------------------------
# Semaphore (x/sync/semaphore tests)
# --------------------------------------------------------------------------


def test_semaphore_hammer(run):
    """TestWeighted: random weights never exceed the size."""
    def main():
        n, size = 12, 8
        sem = Semaphore(size)
        held = {"v": 0, "max": 0}
        lk = threading.Lock()
        wg = WaitGroup()
        rng = random.Random(1)

        def worker(loops, seed):
            r = random.Random(seed)
            for _ in range(loops):
                k = r.randint(1, size)
                sem.acquire(k, timeout=T)
                with lk:
                    held["v"] += k
                    held["max"] = max(held["max"], held["v"])
                gmploop.gosched()
                with lk:
                    held["v"] -= k
                sem.release(k)

        for i in range(n):
            wg.go(worker, 100, rng.random())
        wg.wait(timeout=T * 3)
        return held

    held = run(main)
    assert held["v"] == 0 and 1 <= held["max"] <= 8


def test_semaphore_release_more_than_held():
    sem = Semaphore(2)
    with pytest.raises(ValueError, match="released more than held"):
        sem.release(1)
    sem.acquire(1)
    with pytest.raises(ValueError, match="released more than held"):
        sem.release(2)
    sem.release(1)


def test_semaphore_try_acquire():
    sem = Semaphore(2)
    tries = []
    sem.acquire(1)
    tries.append(sem.try_acquire(1))
    tries.append(sem.try_acquire(1))
    sem.release(2)
    tries.append(sem.try_acquire(1))
    sem.acquire(1)
    tries.append(sem.try_acquire(1))
    assert tries == [True, False, True, False]


def test_semaphore_bad_input():
    with pytest.raises(TypeError, match="n must be an int"):
        Semaphore("3")
    with pytest.raises(ValueError, match="n must be >= 0"):
        Semaphore(-1)
    sem = Semaphore(3)
    with pytest.raises(ValueError, match="k must be <= n"):
        sem.acquire(4)
    with pytest.raises(ValueError, match="k must be <= n"):
        sem.try_acquire(4)
    with pytest.raises(ValueError, match="k must be >= 0"):
        sem.acquire(-1)
    with pytest.raises(TypeError, match="k must be an int"):
        sem.acquire(1.0)
    with pytest.raises(TypeError, match="k must be an int"):
        sem.release("1")
    with pytest.raises(TypeError, match="timeout"):
        sem.acquire(1, timeout=[])
    assert sem.size == 3 and sem._cur == 0


def test_semaphore_timeout_and_context_manager():
    sem = Semaphore(1)
    with sem:
        with pytest.raises(TimeoutError):
            sem.acquire(timeout=0)
        with pytest.raises(TimeoutError):
            sem.acquire(timeout=0.01)
    assert sem._cur == 0 and sem._head() is None


def test_semaphore_large_acquire_doesnt_starve(run):
    """TestLargeAcquireDoesntStarve: FIFO: a big request at the head blocks
    later small ones until it is served."""
    def main():
        sem = Semaphore(4)
        sem.acquire(4)
        order = []

        def big():
            sem.acquire(4, timeout=T)
            order.append("big")
            sem.release(4)

        def small():
            sem.acquire(1, timeout=T)
            order.append("small")
            sem.release(1)

        b = gmploop.go(big)
        _wait_until(lambda: sem._q.live_count() == 1)
        s = gmploop.go(small)
        _wait_until(lambda: sem._q.live_count() == 2)
        sem.release(1)  # one unit free: the small one must not overtake
        assert not sem.try_acquire(1)
        assert order == []
        sem.release(3)
        b.join(timeout=T)
        s.join(timeout=T)
        return order

    assert run(main) == ["big", "small"]


def test_semaphore_cancelled_head_unblocks_others(run):
    """TestAllocCancelDoesntStarve: a big waiter at the head that gives up
    lets the small ones behind it through."""
    def main():
        sem = Semaphore(10)
        sem.acquire(1)
        got = []

        def big():
            with pytest.raises(TimeoutError):
                sem.acquire(10, timeout=GIVE_UP)
            got.append("big gave up")

        def small():
            sem.acquire(1, timeout=T)
            got.append(("small", time.monotonic() - t0))
            sem.release(1)

        t0 = time.monotonic()
        b = gmploop.go(big)
        _wait_until(lambda: sem._q.live_count() == 1)
        s = gmploop.go(small)
        _wait_until(lambda: sem._q.live_count() == 2)
        b.join(timeout=T)
        s.join(timeout=T)
        sem.release(1)
        return got, sem._cur

    got, cur = run(main)
    assert "big gave up" in got and cur == 0
    (waited,) = [x[1] for x in got if x != "big gave up"]
    assert waited >= GIVE_UP * 0.9  # queued behind the big one until it gave up


def test_semaphore_mixed_kinds(procs):
    async def main():
        sem = Semaphore(3)
        held = {"v": 0, "max": 0}
        lk = threading.Lock()
        wg = WaitGroup()

        def take(k):
            with lk:
                held["v"] += k
                held["max"] = max(held["max"], held["v"])

        def give(k):
            with lk:
                held["v"] -= k

        def g_worker():
            try:
                for i in range(40):
                    k = 1 + i % 3
                    sem.acquire(k, timeout=T)
                    take(k)
                    gmploop.gosched()
                    give(k)
                    sem.release(k)
            finally:
                wg.done()

        def t_worker():
            try:
                for _ in range(40):
                    with sem:
                        take(1)
                        time.sleep(0)
                        give(1)
            finally:
                wg.done()

        async def a_worker():
            try:
                for i in range(40):
                    k = 1 + i % 2
                    await sem.aacquire(k, timeout=T)
                    take(k)
                    await asyncio.sleep(0)
                    give(k)
                    sem.release(k)
                    async with sem:
                        pass
            finally:
                wg.done()

        wg.add(6)
        for _ in range(2):
            gmploop.go(g_worker)
            _start_thread(t_worker)
            asyncio.create_task(a_worker())
        await asyncio.wait_for(wg, 60)
        return held, sem._cur

    held, cur = gmploop.run(main(), procs=procs)
    assert held["v"] == 0 and held["max"] <= 3 and cur == 0


def test_semaphore_aacquire_cancel():
    async def main():
        sem = Semaphore(2)
        await sem.aacquire(2)
        t = asyncio.create_task(sem.aacquire(2))
        t2 = asyncio.create_task(sem.aacquire(1))
        await asyncio.sleep(0)
        t.cancel()  # the head gives up: the one behind it may proceed
        with pytest.raises(asyncio.CancelledError):
            await t
        sem.release(1)
        await asyncio.wait_for(t2, T)
        with pytest.raises(TimeoutError):
            await sem.aacquire(1, timeout=0)
        with pytest.raises(RuntimeError, match="aacquire"):
            sem.acquire(1, timeout=1)
        sem.release(2)
        return sem._cur

    assert gmploop.run(main(), procs=1) == 0


# --------------------------------------------------------------------------
# A task cancelled just as it is granted never keeps the grant (asyncio.Lock's
# rule): the grant passes on and CancelledError propagates.
# --------------------------------------------------------------------------


def test_cancel_races_grant_mutex_normal_mode():
    async def main():
        mu = Mutex()
        await mu.alock()
        a = asyncio.create_task(mu.alock())
        b = asyncio.create_task(mu.alock(timeout=T))
        await asyncio.sleep(0)
        assert mu._q.live_count() == 2
        mu.unlock()  # wakes a (to compete); b stays queued
        assert mu._woken
        a.cancel()  # before a runs: the wake and the cancel race
        with pytest.raises(asyncio.CancelledError):
            await a
        await asyncio.wait_for(b, T)  # the wake was passed on to b
        assert mu.locked() and not mu._woken
        mu.unlock()
        return mu.locked(), mu._q.live_count()

    assert gmploop.run(main(), procs=1) == (False, 0)


def test_cancel_races_grant_mutex_starvation_hand_off():
    async def main():
        mu = Mutex()
        await mu.alock()
        a = asyncio.create_task(mu.alock())
        b = asyncio.create_task(mu.alock(timeout=T))
        await asyncio.sleep(0)
        mu._starving = True  # as if a waiter had waited > 1 ms
        mu._q[0].elem -= 1.0
        mu.unlock()  # handed to a directly
        a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await a
        await asyncio.wait_for(b, T)  # a handed it on to b
        mu.unlock()
        return mu.locked(), mu._starving

    assert gmploop.run(main(), procs=1) == (False, False)


# --------------------------------------------------------------------------
# A woken Mutex waiter whose deadline passes before it retries must not leave
# the others stranded (found by test_sync_compose: waiters queued on a free
# mutex in starvation mode after the woken one timed out, so nobody woke them).
# --------------------------------------------------------------------------


def _poll(cond, what):
    """Wait (bounded, yielding) until ``cond()``; from a goroutine or thread."""
    deadline = time.monotonic() + T
    while not cond():
        assert time.monotonic() < deadline, f"never: {what}"
        gmploop.sleep(0.0005)


def test_mutex_woken_waiter_timing_out_passes_the_wake_on():
    def main():
        mu = Mutex()
        mu.lock()
        got = {}

        def a():
            try:
                mu.lock(timeout=0.02)
                got["a"] = True
            except TimeoutError:
                got["a"] = False

        def b():
            try:
                mu.lock(timeout=T)
            except TimeoutError:
                got["b"] = False
                return
            got["b"] = True
            mu.unlock()

        ga = gmploop.go(a)
        _poll(lambda: mu._q.live_count() == 1, "a queued")
        tb = threading.Thread(target=b)
        tb.start()
        _poll(lambda: mu._q.live_count() == 2, "b queued behind a")
        mu.unlock()  # wakes a, on this P: it runs only when this goroutine parks
        assert mu._woken
        time.sleep(0.05)  # hold the P: a's deadline passes before it retries
        ga.join(timeout=T)
        if got["a"]:  # it found the mutex free as it gave up: took it
            mu.unlock()
        tb.join(T)
        return got, mu.locked(), mu._starving, mu._woken, mu._q.live_count()

    got, locked, starving, woken, live = gmploop.run(main, procs=1)
    assert got["b"] is True, "b never got the mutex: the wake was lost"
    assert (locked, starving, woken, live) == (False, False, False, 0)


def test_mutex_woken_coroutine_timing_out_passes_the_wake_on():
    async def main():
        mu = Mutex()
        await mu.alock()
        a = asyncio.create_task(mu.alock(timeout=0.02))
        b = asyncio.create_task(mu.alock(timeout=T))
        await asyncio.sleep(0)
        assert mu._q.live_count() == 2
        mu.unlock()  # wakes a (to compete); b stays queued
        assert mu._woken
        time.sleep(0.05)  # hold the loop: a's deadline passes before it retries
        try:
            await asyncio.wait_for(a, T)
            mu.unlock()  # it found the mutex free as it gave up: took it
        except TimeoutError:
            pass
        await asyncio.wait_for(b, T)  # b gets it either way
        mu.unlock()
        return mu.locked(), mu._starving, mu._woken, mu._q.live_count()

    assert gmploop.run(main(), procs=1) == (False, False, False, 0)


def test_cancel_races_grant_semaphore_and_rwmutex():
    async def main():
        sem = Semaphore(2)
        await sem.aacquire(2)
        a = asyncio.create_task(sem.aacquire(2))
        await asyncio.sleep(0)
        sem.release(2)  # granted to a
        assert sem._cur == 2
        a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await a
        assert sem._cur == 0

        rw = RWMutex()
        await rw.alock()
        r = asyncio.create_task(rw.arlock())
        w = asyncio.create_task(rw.alock())
        await asyncio.sleep(0)
        rw.unlock()  # r admitted (w waits for it)
        assert rw._readers == 1
        r.cancel()
        with pytest.raises(asyncio.CancelledError):
            await r
        await asyncio.wait_for(w, T)  # r's runlock let the writer in
        assert rw._writer
        rw.unlock()
        w2 = asyncio.create_task(rw.alock())
        rw.rlock()
        await asyncio.sleep(0)
        rw.runlock()  # w2 granted
        w2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await w2
        return rw._readers, rw._writer, sem._cur

    assert gmploop.run(main(), procs=1) == (0, False, 0)


def test_cancel_races_wake_waitgroup():
    async def main():
        wg = WaitGroup()
        wg.add(1)
        a = asyncio.create_task(wg._await())
        await asyncio.sleep(0)
        wg.done()
        a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await a
        await asyncio.wait_for(wg, T)
        return True

    assert gmploop.run(main(), procs=1)


# --------------------------------------------------------------------------
# docs/sync.md: every Python snippet is a complete program; run each.
# --------------------------------------------------------------------------

_DOC = __import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "sync.md"


def _doc_snippets():
    import re
    text = _DOC.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("index", range(len(_doc_snippets())))
def test_docs_sync_snippet_runs(index, capsys):
    code = _doc_snippets()[index]
    assert "gmploop.run(" in code
    exec(compile(code, f"docs/sync.md snippet {index}", "exec"), {"__name__": "__doc_snippet__"})
