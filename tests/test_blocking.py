"""blocking(): a call that blocks in the OS runs on the blocking pool while its
goroutine parks; the processor keeps running other goroutines. Bounded waits
everywhere: barriers and joins carry timeouts, pool-size polls a deadline."""

import threading
import time

import pytest

import gmploop
from gmploop._runtime import blockpool

from support import T  # the bound on every wait (seconds)


def wait_until(cond, timeout=T, step=0.005):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


@pytest.fixture
def pool_limits():
    """Restore the pool's limits after a test that changes them."""
    old = blockpool.configure()
    yield
    blockpool.configure(*old)


def test_other_goroutines_progress_during_blocking_sleep(run):
    """blocking(time.sleep, 0.3) in one goroutine while another goroutine on
    the same processor keeps counting. Without blocking(), time.sleep would
    hold the processor and the counter would not move at all."""

    def main():
        state = {"n": 0, "stop": False}
        tids = {}

        def counter():
            tids["counter"] = threading.get_ident()
            while not state["stop"]:
                state["n"] += 1
                gmploop.sleep(0.002)

        def sleeper():
            tids["sleeper"] = threading.get_ident()
            before = state["n"]
            gmploop.blocking(time.sleep, 0.3)
            return state["n"] - before

        cg = gmploop.go(counter)
        gmploop.sleep(0.01)  # the counter has started
        during = gmploop.go(sleeper).join(T)
        state["stop"] = True
        cg.join(T)
        return during, tids

    during, tids = run(main)
    assert tids["counter"] == tids["sleeper"]  # same processor (one thread per P)
    assert during >= 10  # ~150 ticks of 2 ms in 0.3 s; 10 is a very coarse floor


def test_result_args_and_kwargs(run):
    def f(a, b, *, c):
        return (a, b, c, threading.current_thread().name)

    def main():
        return gmploop.blocking(f, 1, 2, c=3)

    a, b, c, name = run(main)
    assert (a, b, c) == (1, 2, 3)
    assert name == "gmploop-blocking"


def test_reraises_same_exception(run):
    err = OSError(5, "disk on fire")

    def boom():
        raise err

    def main():
        try:
            gmploop.blocking(boom)
        except OSError as e:
            return e
        return None

    assert run(main) is err


def test_base_exceptions_reraise(run):
    class Stop(BaseException):
        pass

    def main():
        with pytest.raises(Stop):
            gmploop.blocking(_raise, Stop())
        return "ok"

    assert run(main) == "ok"


def _raise(e):
    raise e


def test_thread_context_calls_inline():
    me = threading.get_ident()
    assert gmploop.blocking(threading.get_ident) == me
    with pytest.raises(ZeroDivisionError):
        gmploop.blocking(lambda: 1 / 0)


def test_bad_fn():
    with pytest.raises(TypeError, match="fn"):
        gmploop.blocking(42)

    def main():
        with pytest.raises(TypeError, match="fn"):
            gmploop.blocking("not callable")
        return True

    assert gmploop.run(main, procs=1)


def test_pool_grows_on_demand(run):
    """8 calls that can only finish together (a barrier of 8) all finish: the
    pool ran them on 8 threads at once."""
    N = 8
    barrier = threading.Barrier(N, timeout=T)

    def main():
        gs = [gmploop.go(gmploop.blocking, barrier.wait) for _ in range(N)]
        return sorted(g.join(T) for g in gs)

    assert run(main) == list(range(N))


def test_pool_cap_and_shrink(pool_limits):
    """With the cap at 2, six calls never run more than two at once and all
    complete; once idle, the pool shrinks back to no threads."""
    blockpool.configure(idle_s=0.0)
    assert wait_until(lambda: blockpool.size()[0] == 0)
    blockpool.configure(max_threads=2, idle_s=0.05)
    lock = threading.Lock()
    live = [0, 0]  # now, max
    first_two = threading.Barrier(2, timeout=T)

    def work(i):
        with lock:
            live[0] += 1
            live[1] = max(live[1], live[0])
        if i < 2:
            first_two.wait()  # the first two calls do run at once
        time.sleep(0.03)
        with lock:
            live[0] -= 1
        return i

    def main():
        gs = [gmploop.go(gmploop.blocking, work, i) for i in range(6)]
        return [g.join(T) for g in gs]

    assert gmploop.run(main, procs=1) == list(range(6))
    assert live[1] == 2
    assert wait_until(lambda: blockpool.size()[0] == 0)


def test_lowering_cap_shrinks_idle_threads(pool_limits):
    blockpool.configure(idle_s=60)
    N = 4
    barrier = threading.Barrier(N, timeout=T)

    def main():
        gs = [gmploop.go(gmploop.blocking, barrier.wait) for _ in range(N)]
        for g in gs:
            g.join(T)

    gmploop.run(main, procs=1)
    assert blockpool.size()[0] >= N
    blockpool.configure(max_threads=1)
    assert wait_until(lambda: blockpool.size()[0] <= 1)


def test_configure_checks_arguments():
    with pytest.raises(TypeError, match="max_threads"):
        blockpool.configure(max_threads="3")
    with pytest.raises(ValueError, match="max_threads"):
        blockpool.configure(max_threads=0)
    with pytest.raises(ValueError, match="idle_s"):
        blockpool.configure(idle_s=-1)


def test_blocking_call_is_not_a_deadlock():
    """The only goroutine is in a blocking call: deadlock detection waits for
    it (the call may ready the goroutine) instead of firing."""

    def main():
        gmploop.blocking(time.sleep, 0.1)
        return "woke"

    assert gmploop.run(main, procs=1) == "woke"


def test_many_goroutines_many_calls(run):
    """200 goroutines x 5 short calls each: every result comes back to the
    right goroutine."""

    def worker(i):
        return sum(gmploop.blocking(pow, i, k) for k in range(5))

    def main():
        gs = [gmploop.go(worker, i) for i in range(200)]
        return [g.join(T) for g in gs]

    assert run(main) == [sum(i ** k for k in range(5)) for i in range(200)]
