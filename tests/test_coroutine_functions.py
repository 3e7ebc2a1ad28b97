"""Coroutine functions (API.md "Coroutine functions"): wherever gmploop takes a
function to run as a goroutine (``go``, ``run``, ``Group.go``, ``WaitGroup.go``)
and its call returns a coroutine (a coroutine function, a partial of one, a
lambda returning one), the goroutine awaits it on the runtime's event loop and
its result is the coroutine's. ``run(coro_fn, *args)`` is ``run(coro_fn(*args))``.
Core tests run at procs 1 and 4 through the ``run`` fixture."""

import asyncio
import collections.abc
import contextvars
import functools
import threading

import pytest

import gmploop

from support import T  # the bound on every wait (seconds)


async def add(a, b=0):
    await asyncio.sleep(0.001)
    return a + b


async def fail(msg):
    await asyncio.sleep(0)
    raise ValueError(msg)


class Adder:
    def __init__(self, base):
        self.base = base

    async def add(self, x):
        await asyncio.sleep(0)
        return self.base + x


def _fn_kinds():
    return {
        "coroutine function": (add, (2,), {"b": 3}),
        "partial": (functools.partial(add, 2), (), {"b": 3}),
        "lambda": (lambda: add(2, 3), (), {}),
        "bound method": (Adder(2).add, (3,), {}),
    }


KINDS = list(_fn_kinds())


# -- go ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_go_awaits_the_coroutine_and_join_returns_its_result(run, kind):
    fn, args, kwargs = _fn_kinds()[kind]

    def main():
        g = gmploop.go(fn, *args, **kwargs)
        return g.join(T)

    assert run(main) == 5


def test_go_coroutine_exception_reaches_join(run):
    def main():
        g = gmploop.go(fail, "from coroutine")
        with pytest.raises(ValueError, match="from coroutine"):
            g.join(T)
        return "ok"

    assert run(main) == "ok"


def test_go_coroutine_from_a_task_and_a_thread(procs):
    async def amain():
        g = gmploop.go(add, 1, 1)
        from_task = await asyncio.wait_for(g, T)
        out = []
        t = threading.Thread(target=lambda: out.append(gmploop.go(add, 2, 2).join(T)))
        t.start()
        await asyncio.to_thread(t.join, T)
        return from_task, out

    assert gmploop.run(amain(), procs=procs) == (2, [4])


def test_go_coroutine_runs_on_the_runtimes_loop_as_a_task(run):
    async def probe():
        return (isinstance(asyncio.get_running_loop(), gmploop.GMPEventLoop),
                asyncio.current_task() is not None)

    def main():
        return gmploop.go(probe).join(T)

    assert run(main) == (True, True)


def test_go_coroutine_sees_the_goroutines_context(run):
    rid = contextvars.ContextVar("rid", default="unset")

    async def read():
        return rid.get()

    def main():
        rid.set("req-7")
        return gmploop.go(read).join(T)

    assert run(main) == "req-7"


def test_other_results_are_not_awaited(run):
    def gen():
        yield 1

    class NotACoroutine:
        def __await__(self):  # awaitable, but not a coroutine
            yield

    def main():
        g1 = gmploop.go(gen)
        g2 = gmploop.go(NotACoroutine)
        g3 = gmploop.go(lambda: 42)
        return type(g1.join(T)).__name__, type(g2.join(T)).__name__, g3.join(T)

    assert run(main) == ("generator", "NotACoroutine", 42)


def test_a_coroutine_abc_instance_is_awaited(run):
    class Coro(collections.abc.Coroutine):
        def __init__(self):
            self._inner = add(20, 1)

        def send(self, v):
            return self._inner.send(v)

        def throw(self, *exc):
            return self._inner.throw(*exc)

        def close(self):
            return self._inner.close()

        def __await__(self):
            return self._inner.__await__()

    assert run(lambda: gmploop.go(Coro).join(T)) == 21


def test_many_coroutine_goroutines(run):
    def main():
        gs = [gmploop.go(add, i, 1) for i in range(200)]
        return sum(g.join(T) for g in gs)

    assert run(main) == sum(range(1, 201))


# -- run -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_run_coroutine_function(run, kind):
    fn, args, kwargs = _fn_kinds()[kind]
    assert run(fn, *args, **kwargs) == 5


@pytest.mark.parametrize("how", ["coroutine function", "lambda"])
def test_run_coroutine_function_reraises(run, how):
    fn = fail if how == "coroutine function" else (lambda m: fail(m))
    with pytest.raises(ValueError, match="boom"):
        run(fn, "boom")


def test_run_coroutine_function_calls_it_once(run):
    calls = []

    async def amain(x):
        calls.append(x)
        return x

    assert run(amain, 1) == 1
    assert run(lambda: amain(2)) == 2
    assert calls == [1, 2]


@pytest.mark.parametrize("how", ["coroutine function", "lambda"])
def test_run_coroutine_function_runs_on_a_gmploop_loop(run, how):
    async def amain():
        loop = asyncio.get_running_loop()
        g = gmploop.go(lambda: 7)  # goroutines work from it
        return isinstance(loop, gmploop.GMPEventLoop), await asyncio.wait_for(g, T)

    fn = amain if how == "coroutine function" else (lambda: amain())
    assert run(fn) == (True, 7)


# -- WaitGroup.go / Group.go -------------------------------------------------------


def test_waitgroup_go_waits_for_the_coroutine(run):
    def main():
        out = []

        async def work(i):
            await asyncio.sleep(0.001)
            out.append(i)
            return i * 10

        wg = gmploop.WaitGroup()
        gs = [wg.go(work, i) for i in range(5)]
        wg.wait(T)
        done_at_wait = sorted(out)
        return done_at_wait, [g.join(T) for g in gs]

    assert run(main) == ([0, 1, 2, 3, 4], [0, 10, 20, 30, 40])


def test_group_go_coroutine_error_is_the_groups_error(run):
    def main():
        grp = gmploop.Group()
        grp.go(add, 1)
        grp.go(fail, "member failed")
        with pytest.raises(ValueError, match="member failed"):
            grp.wait(T)
        return "ok"

    assert run(main) == "ok"


def test_group_go_coroutine_result(run):
    def main():
        grp = gmploop.Group()
        g = grp.go(functools.partial(add, 40), 2)
        grp.wait(T)
        return g.join(T)

    assert run(main) == 42
