"""Deadlock detection beside asyncio's executor (API.md "Running"): idle threads
of the runtime's own pools (the ``blocking()`` pool, the event loop's default
executor behind ``asyncio.to_thread`` and ``run_in_executor(None, ...)``) are
runtime threads, so a program that used them and then deadlocks gets
``Deadlock`` at once; a pool thread running a call still counts as a thread
that could wake a goroutine.

Each case runs in a fresh interpreter with a timeout, so a regression (a run
that hangs instead of raising ``Deadlock``) fails in seconds, not at the
suite's backstop. Cases run at procs 1 and 4."""

import json
import subprocess
import sys
import textwrap

import pytest

T = 60  # bound on each subprocess (seconds); a passing case takes well under 1 s

SCRIPT = textwrap.dedent('''
    import asyncio, json, sys, threading, time
    import gmploop
    from gmploop.lowlevel import GStatus

    case, procs = sys.argv[1], int(sys.argv[2])
    T = 10
    marks = {}

    about_to_block = threading.Event()

    def wait_until_all_idle(main_g):
        # Sync with the scheduler, not with a sleep: main has parked on its
        # channel (it was running when it set the event) and every processor
        # has gone idle (and found this pool thread busy, so none reported a
        # deadlock).
        if not about_to_block.wait(T):
            return False
        deadline = time.monotonic() + T
        while time.monotonic() < deadline:
            s = gmploop.stats()
            if main_g.status is GStatus.WAITING and s["idle_procs"] == procs:
                return True
            time.sleep(0.001)
        return False

    def to_thread_then_deadlock():
        assert gmploop.await_(asyncio.to_thread(lambda: 41)) == 41
        marks["call_done"] = time.monotonic()
        gmploop.Chan().recv()

    def run_in_executor_then_deadlock():
        async def call():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, sum, [1, 2])
        assert gmploop.await_(call()) == 3
        marks["call_done"] = time.monotonic()
        gmploop.Chan().recv()

    def call_ends_after_everyone_blocked():
        # The call's end wakes nobody: only the executor's "idle again"
        # re-check can find the deadlock.
        main_g = gmploop.current()

        def blocker():
            marks["synced"] = wait_until_all_idle(main_g)
            marks["call_done"] = time.monotonic()

        async def start():
            asyncio.get_running_loop().run_in_executor(None, blocker)  # not awaited
        gmploop.await_(start())
        about_to_block.set()
        gmploop.Chan().recv()

    def running_call_can_still_wake_main():
        main_g = gmploop.current()
        ch = gmploop.Chan()

        def sender():
            marks["synced"] = wait_until_all_idle(main_g)
            ch.send("woken by the pool thread", timeout=T)

        async def start():
            asyncio.get_running_loop().run_in_executor(None, sender)  # not awaited
        gmploop.await_(start())
        about_to_block.set()
        return ch.recv(timeout=T)

    def blocking_pool_then_deadlock():
        assert gmploop.blocking(lambda: 5) == 5
        marks["call_done"] = time.monotonic()
        gmploop.Chan().recv()

    def main():
        return globals()[case]()

    t0 = time.monotonic()
    try:
        out = {"result": gmploop.run(main, procs=procs)}
    except gmploop.Deadlock as e:
        now = time.monotonic()
        out = {"deadlock": str(e).splitlines()[0],
               "after_call_s": now - marks.get("call_done", t0)}
    out["synced"] = marks.get("synced")
    print(json.dumps(out))
''')


def run_case(case, procs):
    try:
        r = subprocess.run([sys.executable, "-c", SCRIPT, case, str(procs)],
                           capture_output=True, text=True, timeout=T)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case} at procs={procs} hung for {T} s instead of ending")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["to_thread_then_deadlock", "run_in_executor_then_deadlock",
                                  "blocking_pool_then_deadlock"])
def test_deadlock_after_using_a_pool(case, procs):
    out = run_case(case, procs)
    assert out.get("deadlock") == "all goroutines are asleep - deadlock!", out
    # API.md: within a second (it is immediate; the bound allows a loaded machine)
    assert out["after_call_s"] < 1.0, out


def test_deadlock_when_a_call_ends_after_everyone_blocked(procs):
    out = run_case("call_ends_after_everyone_blocked", procs)
    assert out["synced"] is True, out
    assert out.get("deadlock") == "all goroutines are asleep - deadlock!", out
    assert out["after_call_s"] < 1.0, out


def test_a_running_pool_call_is_not_idle(procs):
    out = run_case("running_call_can_still_wake_main", procs)
    assert out["synced"] is True, out
    assert out == {"result": "woken by the pool thread", "synced": True}
