"""``gmploop.sleep`` on an event loop's thread outside goroutines raises
``RuntimeError`` naming ``asyncio.sleep`` (it would freeze the loop), on
gmploop's loop and on a plain asyncio loop alike; ``Timer`` and ``Ticker`` are
context managers (``with`` and ``async with``) that stop on exit."""

import asyncio
import threading

import pytest

import gmploop

from support import T  # the bound on every wait (seconds)
LONG = 3600.0  # a timer that cannot fire during a test


def _loops(procs):
    return {
        "asyncio": lambda coro: asyncio.run(coro),
        "gmploop": lambda coro: gmploop.run(coro, procs=procs),
    }


@pytest.fixture(params=["asyncio", "gmploop"])
def run_coro(request, procs):
    return _loops(procs)[request.param]


# -- sleep on a loop's thread -------------------------------------------------------


def test_sleep_in_a_coroutine_raises_naming_asyncio_sleep(run_coro):
    async def amain():
        with pytest.raises(RuntimeError, match=r"asyncio\.sleep"):
            gmploop.sleep(0.05)
        return "ok"

    assert run_coro(amain()) == "ok"


def test_sleep_in_a_loop_callback_raises(run_coro):
    async def amain():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def callback():
            try:
                gmploop.sleep(0.05)
            except RuntimeError as e:
                fut.set_result(str(e))
            else:
                fut.set_result("no error")

        loop.call_soon(callback)
        return await asyncio.wait_for(fut, T)

    assert "asyncio.sleep" in run_coro(amain())


def test_sleep_zero_or_negative_in_a_coroutine_returns(run_coro):
    async def amain():
        gmploop.sleep(0)
        gmploop.sleep(-1)
        return "ok"

    assert run_coro(amain()) == "ok"


def test_sleep_bad_argument_in_a_coroutine_is_still_a_type_error(run_coro):
    async def amain():
        with pytest.raises(TypeError):
            gmploop.sleep("1")
        return "ok"

    assert run_coro(amain()) == "ok"


def test_sleep_still_works_in_goroutines_and_threads_of_a_coroutine_program(procs):
    async def amain():
        g = gmploop.go(gmploop.sleep, 0.001)   # a goroutine started from the task
        await asyncio.wait_for(g, T)
        await asyncio.to_thread(gmploop.sleep, 0.001)  # a thread: time.sleep
        return "ok"

    assert gmploop.run(amain(), procs=procs) == "ok"


def test_sleep_in_a_thread_outside_any_loop():
    out = []
    t = threading.Thread(target=lambda: out.append(gmploop.sleep(0.001)))
    t.start()
    t.join(T)
    assert out == [None]


# -- Timer / Ticker as context managers ---------------------------------------------


def _timers():
    return gmploop.stats()["timers"]


def test_timer_with_stops_on_exit(run):
    def main():
        before = _timers()
        with gmploop.Timer(LONG) as tm:
            assert isinstance(tm, gmploop.Timer)
            inside = _timers()
        after = _timers()
        # stop() is True only for a pending timer: the exit stopped it
        return inside - before, after - before, tm.stop(), tm.c.try_recv()

    assert run(main) == (1, 0, False, (None, False))


def test_timer_with_stops_on_exception(run):
    def main():
        with pytest.raises(ValueError):
            with gmploop.Timer(LONG) as tm:
                raise ValueError("body failed")
        return tm.stop()

    assert run(main) is False


def test_ticker_with_stops_on_exit(run):
    def main():
        before = _timers()
        with gmploop.Ticker(0.001) as tk:
            assert isinstance(tk, gmploop.Ticker)
            tk.c.recv(timeout=T)            # it ticks inside
            inside = _timers()
        return inside - before, _timers() - before

    assert run(main) == (1, 0)


def test_timer_and_ticker_async_with(procs):
    async def amain():
        before = _timers()
        async with gmploop.Timer(LONG) as tm, gmploop.Ticker(0.001) as tk:
            await tk.c.arecv(timeout=T)
            inside = _timers()
        return inside - before, _timers() - before, tm.stop()

    assert gmploop.run(amain(), procs=procs) == (2, 0, False)


def test_timer_fires_inside_with(run):
    def main():
        with gmploop.Timer(0.001) as tm:
            v = tm.c.recv(timeout=T)
        return isinstance(v, float)

    assert run(main) is True
