"""Sync primitives composed the way programs use them: goroutines, plain
threads and asyncio tasks contend for one Mutex, RWMutex or Semaphore at once,
with timeouts (none, zero, tiny), goroutine cancellation (Goroutine.cancel())
and task cancellation racing the hand-offs (issue 9, "Tests that compose";
issue 10, cancellation). tests/test_model.py does the same for channels.

Checked all the while: mutual exclusion (a Mutex has at most one holder, an
RWMutex one writer and no readers beside it, a Semaphore never more units out
than it has). At the end: every acquisition that reported success was
released exactly once, nothing is held, no waiter is left live on the
primitive's queues, and every actor finished (bounded waits: a lost wake-up
fails as a timeout, never as a hang). Hypothesis picks the seed, the primitive
and the processor count; the seed drives every actor's choices.
"""

from __future__ import annotations

import asyncio
import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gmploop
from gmploop import Canceled

T = 30.0  # bound on every wait of the harness
ROUNDS = 25  # acquisitions tried per actor


class Books:
    """What the actors hold, under a plain lock (the thing under test is not
    used to check itself)."""

    def __init__(self, prim: str) -> None:
        self.prim = prim
        self.lock = threading.Lock()
        self.held = 0  # mutex / semaphore units / rwmutex writers
        self.readers = 0
        self.acquired = 0
        self.released = 0
        self.violations: list[str] = []

    def enter(self, who: str, mode: str) -> None:
        with self.lock:
            self.acquired += 1
            if mode == "r":
                self.readers += 1
            else:
                self.held += 1
            if self.prim == "mutex" and self.held > 1:
                self.violations.append(f"{who}: {self.held} holders of a Mutex")
            if self.prim == "sem" and self.held > 2:
                self.violations.append(f"{who}: {self.held} units out of a Semaphore(2)")
            if self.prim == "rw" and (self.held > 1 or (self.held and self.readers)):
                self.violations.append(
                    f"{who}: {self.held} writers and {self.readers} readers at once")

    def leave(self, mode: str) -> None:
        with self.lock:
            self.released += 1
            if mode == "r":
                self.readers -= 1
            else:
                self.held -= 1


def make(prim: str):
    if prim == "mutex":
        return gmploop.Mutex()
    if prim == "sem":
        return gmploop.Semaphore(2)
    return gmploop.RWMutex()


def acquire(obj, prim: str, mode: str, timeout):
    if prim == "mutex":
        obj.lock(timeout=timeout)
    elif prim == "sem":
        obj.acquire(timeout=timeout)
    elif mode == "r":
        obj.rlock(timeout=timeout)
    else:
        obj.lock(timeout=timeout)


async def aacquire(obj, prim: str, mode: str, timeout):
    if prim == "mutex":
        await obj.alock(timeout=timeout)
    elif prim == "sem":
        await obj.aacquire(timeout=timeout)
    elif mode == "r":
        await obj.arlock(timeout=timeout)
    else:
        await obj.alock(timeout=timeout)


def release(obj, prim: str, mode: str) -> None:
    if prim == "mutex":
        obj.unlock()
    elif prim == "sem":
        obj.release()
    elif mode == "r":
        obj.runlock()
    else:
        obj.unlock()


def queues(obj, prim: str):
    if prim == "rw":
        return [obj._rq, obj._wq]
    return [obj._q]


TIMEOUTS = [None, None, 0, 0.0005, 0.002]


def world(seed: int, prim: str, procs: int) -> Books:
    books = Books(prim)
    obj = make(prim)

    def plan(name: str) -> list[tuple[str, float | None, int]]:
        rng = random.Random(f"{seed}-{name}")
        return [("r" if prim == "rw" and rng.random() < 0.6 else "w",
                 rng.choice(TIMEOUTS), rng.randrange(3)) for _ in range(ROUNDS)]

    def goroutine_actor(name: str) -> None:
        for mode, timeout, hold in plan(name):
            try:
                acquire(obj, prim, mode, timeout)
            except (TimeoutError, Canceled):
                continue  # performed nothing: holds nothing
            try:
                books.enter(name, mode)
                try:
                    if hold == 1:
                        gmploop.gosched()
                    elif hold == 2:
                        gmploop.sleep(0.0002)
                except Canceled:
                    pass  # cancelled while holding: still holds it, releases below
            finally:
                books.leave(mode)
                release(obj, prim, mode)

    def thread_actor(name: str) -> None:
        for mode, timeout, hold in plan(name):
            try:
                acquire(obj, prim, mode, timeout)
            except TimeoutError:
                continue
            books.enter(name, mode)
            if hold:
                gmploop.sleep(0.0002)  # time.sleep in a thread
            books.leave(mode)
            release(obj, prim, mode)

    async def task_actor(name: str) -> None:
        rng = random.Random(f"{seed}-{name}-cancel")
        for mode, timeout, hold in plan(name):
            sub = asyncio.ensure_future(aacquire(obj, prim, mode, timeout))
            if rng.random() < 0.3:  # cancel it mid-flight, after 0-2 loop turns
                for _ in range(rng.randrange(3)):
                    await asyncio.sleep(0)
                sub.cancel()
            try:
                await sub
            except (TimeoutError, asyncio.CancelledError):
                continue  # a cancelled acquire holds nothing
            books.enter(name, mode)
            if hold:
                await asyncio.sleep(0)
            books.leave(mode)
            release(obj, prim, mode)

    def main() -> Books:
        gs = [gmploop.go(goroutine_actor, f"G{i}") for i in range(2)]
        ths = [threading.Thread(target=thread_actor, args=(f"T{i}",)) for i in range(2)]
        for t in ths:
            t.start()

        async def tasks() -> None:
            await asyncio.wait_for(asyncio.gather(*(task_actor(f"A{i}") for i in range(2))), T)

        ta = gmploop.go(gmploop.await_, tasks())
        rng = random.Random(f"{seed}-canceller")
        for _ in range(6):  # cancel goroutine actors at random moments
            gmploop.sleep(rng.choice([0, 0.0003, 0.001]))
            rng.choice(gs).cancel()
        for g in gs:
            try:
                g.join(timeout=T)
            except Canceled:
                pass  # a cancel that came after its last wait, at the end: fine
        ta.join(timeout=T)
        for t in ths:
            t.join(T)
            assert not t.is_alive(), "a thread actor never finished"
        # Quiescent: nothing held, nothing waiting.
        for q in queues(obj, prim):
            assert q.live_count() == 0, f"live waiters left: {list(q)}"
        if prim == "sem":
            assert obj.try_acquire(2)
            obj.release(2)
        else:
            assert obj.try_lock()
            obj.unlock()
        return books

    return gmploop.run(main, procs=procs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), prim=st.sampled_from(["mutex", "sem", "rw"]),
       procs=st.sampled_from([1, 4]))
def test_sync_primitives_compose(seed, prim, procs):
    books = world(seed, prim, procs)
    assert books.violations == []
    assert books.acquired == books.released
    assert books.held == 0 and books.readers == 0


@pytest.mark.parametrize("prim", ["mutex", "sem", "rw"])
@pytest.mark.parametrize("procs", [1, 4])
def test_sync_primitives_compose_fixed_seeds(prim, procs):
    for seed in range(3):
        books = world(seed, prim, procs)
        assert books.violations == [] and books.acquired == books.released > 0
