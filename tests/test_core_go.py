"""Goroutines and the scheduler: run, go, join, ids, gosched, sleep, counts,
set_max_procs, deadlock detection, the background runtime. Each test runs at
procs 1 and 4 through the ``run`` fixture."""

import asyncio
import gc
import io
import os
import subprocess
import sys
import threading
import time
import warnings

import pytest

import gmploop
from gmploop import Chan, Deadlock
from gmploop.lowlevel import GStatus

from support import T  # the bound on every wait (seconds)


def test_run_returns_main_result(run):
    assert run(lambda a, b=0: a + b, 2, b=3) == 5


def test_run_reraises_main_exception_object(run):
    err = ValueError("boom")

    def main():
        raise err

    with pytest.raises(ValueError) as info:
        run(main)
    assert info.value is err


def test_run_rejects_bad_arguments():
    with pytest.raises(TypeError, match="main"):
        gmploop.run(42)
    with pytest.raises(TypeError, match="procs"):
        gmploop.run(lambda: None, procs="2")
    with pytest.raises(ValueError, match="procs"):
        gmploop.run(lambda: None, procs=0)


def test_run_inside_goroutine_or_loop_raises(run):
    def main():
        with pytest.raises(RuntimeError):
            gmploop.run(lambda: None)
        return True

    assert run(main)

    async def coro():
        with pytest.raises(RuntimeError):
            gmploop.run(lambda: None)
        return True

    assert gmploop.run(coro())


def test_go_rejects_non_callable(run):
    def main():
        with pytest.raises(TypeError, match="fn"):
            gmploop.go(123)
        return True

    assert run(main)


def test_goroutine_ids_increase_and_names(run):
    def main():
        gs = [gmploop.go(lambda: None) for _ in range(50)]
        ids = [g.id for g in gs]
        assert ids == sorted(ids) and len(set(ids)) == 50
        assert gs[0].name == f"goroutine-{gs[0].id}"
        gs[1].name = "worker"
        assert gs[1].name == "worker"
        with pytest.raises(TypeError):
            gs[2].name = 5
        for g in gs:
            g.join(timeout=T)
        assert all(g.done() for g in gs)
        return True

    assert run(main)


def test_join_returns_value_and_reraises_exception_object(run):
    err = KeyError("k")
    hooked = []

    def main(hook_calls):
        ok = gmploop.go(lambda: 41 + 1)
        bad = gmploop.go(lambda: (_ for _ in ()).throw(err))
        assert ok.join(timeout=T) == 42
        with pytest.raises(KeyError) as info:
            bad.join(timeout=T)
        assert info.value is err
        return True

    old = gmploop.excepthook
    gmploop.excepthook = lambda g, e: hooked.append((g.id, e))
    try:
        assert run(main, hooked)
    finally:
        gmploop.excepthook = old
    assert [e for _, e in hooked] == [err]


def test_default_excepthook_prints_goroutine_header(run, capsys):
    def main():
        g = gmploop.go(lambda: 1 / 0)
        gmploop.gosched()  # it dies with nobody joining: reported at once
        assert g.done()
        with pytest.raises(ZeroDivisionError):
            g.join(timeout=T)
        return g.id

    gid = run(main)
    err = capsys.readouterr().err
    assert f"goroutine {gid} [goroutine-{gid}]:" in err
    assert "ZeroDivisionError" in err


def test_join_timeout_and_self_join(run):
    def main():
        c = Chan()
        g = gmploop.go(c.recv)
        with pytest.raises(TimeoutError):
            g.join(timeout=0.05)
        with pytest.raises(TimeoutError):
            g.join(timeout=0)
        c.send("x", timeout=T)
        assert g.join(timeout=T) == "x"

        def selfjoin():
            gmploop.current().join(timeout=1)

        with pytest.raises(RuntimeError):
            gmploop.go(selfjoin).join(timeout=T)
        return True

    assert run(main)


def test_join_from_a_plain_thread(run):
    def main():
        c = Chan()
        g = gmploop.go(c.recv)
        out = []
        t = threading.Thread(target=lambda: out.append(g.join(timeout=T)))
        t.start()
        c.send(7, timeout=T)
        t.join(T)
        assert out == [7]
        return True

    assert run(main)


def test_await_goroutine_from_coroutine(procs):
    async def main():
        g = gmploop.go(lambda: sum(range(10)))
        assert await g == 45
        bad = gmploop.go(lambda: [][1])
        with pytest.raises(IndexError):
            await bad
        return True

    old = gmploop.excepthook
    gmploop.excepthook = lambda g, e: None
    try:
        assert gmploop.run(main(), procs=procs)
    finally:
        gmploop.excepthook = old


def test_current_is_none_outside_and_self_inside(run):
    assert gmploop.current() is None

    def main():
        me = gmploop.current()
        other = gmploop.go(gmploop.current)
        assert other.join(timeout=T) is other
        return me

    g = run(main)
    assert isinstance(g, gmploop.Goroutine) and g.done()


def test_gosched_interleaves(run):
    def main():
        order = []
        c = Chan(2)

        def worker(tag):
            for i in range(3):
                order.append((tag, i))
                gmploop.gosched()
            c.send(tag, timeout=T)

        gmploop.go(worker, "a")
        gmploop.go(worker, "b")
        c.recv(timeout=T)
        c.recv(timeout=T)
        return order

    order = run(main)
    assert sorted(order) == [(t, i) for t in "ab" for i in range(3)]
    # Whatever the procs, each worker's own steps stay in order.
    for tag in "ab":
        assert [i for t, i in order if t == tag] == [0, 1, 2]


def test_gosched_interleaves_on_one_proc():
    def main():
        order = []
        done = Chan(2)

        def worker(tag):
            for i in range(3):
                order.append(tag)
                gmploop.gosched()
            done.send(None, timeout=T)

        gmploop.go(worker, "a")
        gmploop.go(worker, "b")
        done.recv(timeout=T)
        done.recv(timeout=T)
        return order

    order = gmploop.run(main, procs=1)
    # With one processor gosched really alternates the two.
    assert order.count("a") == 3 and order.count("b") == 3
    assert "".join(order) not in ("aaabbb", "bbbaaa")


def test_gosched_outside_goroutine_is_harmless():
    gmploop.gosched()


def test_sleep_parks_only_the_goroutine(run):
    def main():
        ticks = []
        stop = Chan()

        def counter():
            while True:
                i, _, _ = gmploop.select(gmploop.Recv(stop), default=True)
                if i == 0:  # stop was closed
                    return
                ticks.append(1)
                gmploop.sleep(0.001)

        g = gmploop.go(counter)
        t0 = time.monotonic()
        gmploop.sleep(0.05)
        assert time.monotonic() - t0 >= 0.05
        stop.close()
        g.join(timeout=T)
        return len(ticks)

    assert run(main) >= 2


def test_sleep_arguments():
    gmploop.sleep(0)
    gmploop.sleep(-1)
    with pytest.raises(TypeError, match="seconds"):
        gmploop.sleep("1")
    with pytest.raises(ValueError, match="seconds"):
        gmploop.sleep(float("nan"))


def test_num_goroutine(run):
    def main():
        assert gmploop.num_goroutine() == 1
        c = Chan()
        gs = [gmploop.go(c.recv) for _ in range(10)]
        assert gmploop.num_goroutine() == 11
        for _ in gs:
            c.send(0, timeout=T)
        for g in gs:
            g.join(timeout=T)
        return gmploop.num_goroutine()

    assert run(main) == 1


def test_set_max_procs(run):
    def main():
        before = gmploop.set_max_procs(0)
        assert gmploop.set_max_procs(3) == before
        assert gmploop.set_max_procs(-1) == 3
        assert gmploop.stats()["procs"] == 3
        c = Chan()
        gs = [gmploop.go(lambda i=i: c.send(i, timeout=T)) for i in range(20)]
        got = sorted(c.recv(timeout=T) for _ in range(20))
        assert got == list(range(20))
        assert gmploop.set_max_procs(1) == 3
        gs2 = [gmploop.go(lambda i=i: i * 2) for i in range(20)]
        assert [g.join(timeout=T) for g in gs2] == [i * 2 for i in range(20)]
        for g in gs:
            g.join(timeout=T)
        return True

    assert run(main)
    with pytest.raises(TypeError, match="n"):
        gmploop.set_max_procs("2")


def test_set_max_procs_churn():
    """Go's TestStopTheWorldDeadlock, smaller: set_max_procs cycles 1..4 200
    times while a chain of goroutines keeps spawning itself through a
    non-blocking select and another goroutine collects garbage. Each call used
    to start fresh threads and wait for them behind the busy processors (1-9 s,
    once over 30 s); now it reuses retired processors (well under a second;
    the bound here is only a hang guard)."""
    stop = Chan()

    def perpetuum_mobile():
        i, _, _ = gmploop.select(gmploop.Recv(stop), default=True)
        if i == -1:
            gmploop.go(perpetuum_mobile)

    def main():
        done = Chan(2)

        def collector():
            for _ in range(20):
                gc.collect()
            done.send(True, timeout=T)

        def churner():
            for i in range(200):
                gmploop.set_max_procs(1 + i % 4)
            done.send(True, timeout=T)

        gmploop.go(collector)
        gmploop.go(churner)
        gmploop.go(perpetuum_mobile)
        assert done.recv(timeout=T) and done.recv(timeout=T)
        stop.send(True, timeout=T)
        return [t.name for t in threading.enumerate() if t.name.startswith("gmploop-M")]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ms = gmploop.run(main, procs=3)
    # One M thread per processor id ever used (P1..P3), not one per call. (Idle
    # pool threads of earlier tests, which stats()["threads"] also counts, do
    # not matter here.)
    assert sorted(ms) == ["gmploop-M1", "gmploop-M2", "gmploop-M3"], ms


def test_retired_processor_runs_its_goroutines_and_comes_back():
    """A goroutine started on P1 is pinned there: after set_max_procs(1) it
    still runs there (woken from P0), and set_max_procs(2) revives P1 with the
    same thread instead of starting another."""
    def where(c):
        first = threading.get_ident()
        c.recv(timeout=T)
        return first, threading.get_ident()

    async def main():
        c = Chan()
        g = gmploop.go(where, c)  # from the loop's thread: to another processor
        deadline = time.monotonic() + T
        while g.status is not GStatus.WAITING:  # parked in c.recv on P1
            assert not g.done() and time.monotonic() < deadline
            await asyncio.sleep(0.001)
        assert gmploop.set_max_procs(1) == 2
        await c.asend("wake up", timeout=T)
        first, then = await g
        assert first == then != threading.get_ident()
        assert gmploop.set_max_procs(2) == 1
        g2 = gmploop.go(threading.get_ident)
        assert await g2 == first  # P1 came back on its thread
        return [t.name for t in threading.enumerate() if t.name.startswith("gmploop-M")]

    assert gmploop.run(main(), procs=2) == ["gmploop-M1"]


def test_deadlock_detected_after_processors_were_retired():
    def main():
        for n in (4, 1, 3, 2):
            gmploop.set_max_procs(n)
        Chan().recv()

    with pytest.raises(Deadlock):
        gmploop.run(main, procs=4)


def test_stats_and_dump(run):
    def main():
        c = Chan()
        g = gmploop.go(c.recv)
        g.name = "waiter"
        deadline = time.monotonic() + T
        while g.status is not GStatus.WAITING and time.monotonic() < deadline:
            gmploop.sleep(0.001)
        s = gmploop.stats()
        for key in ("procs", "goroutines", "runnable_global", "runnable_local",
                    "idle_procs", "threads", "spinning", "steals", "created", "reused"):
            assert key in s
        assert isinstance(s["runnable_local"], list)
        assert s["goroutines"] == 2
        buf = io.StringIO()
        gmploop.dump_goroutines(buf)
        c.send(1, timeout=T)
        g.join(timeout=T)
        return buf.getvalue(), g.id

    text, gid = run(main)
    assert f"goroutine {gid} (waiter) [chan receive]:" in text
    assert "in main" in text  # the running main goroutine's stack


def test_dump_shows_names_and_where_each_goroutine_was_created(run):
    """Every goroutine's name, and Go's "created by FUNC at FILE:LINE in
    goroutine N" (issue 9, finding 4)."""
    def waiter(c):
        c.recv(timeout=T)

    def spawner(c, lines):
        lines.append(sys._getframe().f_lineno + 1)
        g = gmploop.go(waiter, c)
        g.name = "grandchild"
        c.recv(timeout=T)
        return g.id

    def main():
        c, lines = Chan(), []
        lines.append(sys._getframe().f_lineno + 1)
        child = gmploop.go(spawner, c, lines)
        deadline = time.monotonic() + T
        while gmploop.num_goroutine() < 3 or child.status is not GStatus.WAITING:
            assert time.monotonic() < deadline
            gmploop.sleep(0.001)
        buf = io.StringIO()
        gmploop.dump_goroutines(buf)
        for _ in range(2):
            c.send(None, timeout=T)
        return buf.getvalue(), lines, gmploop.current().id, child.id, child.join(T)

    text, (main_line, spawn_line), main_id, child_id, grandchild_id = run(main)
    blocks = {int(b.split()[1]): b for b in text.split("\n\n") if b.startswith("goroutine")}
    assert blocks[main_id].startswith(f"goroutine {main_id} (goroutine-{main_id}) [running]:")
    assert "created by" not in blocks[main_id]  # run() made it, as Go's main
    here = __file__
    assert blocks[child_id].startswith(f"goroutine {child_id} (goroutine-{child_id}) [chan receive]:")
    assert (f"created by test_dump_shows_names_and_where_each_goroutine_was_created."
            f"<locals>.main at {here}:{main_line} in goroutine {main_id}") in blocks[child_id]
    assert blocks[grandchild_id].startswith(f"goroutine {grandchild_id} (grandchild) [")
    assert (f"created by test_dump_shows_names_and_where_each_goroutine_was_created."
            f"<locals>.spawner at {here}:{spawn_line} in goroutine {child_id}"
            ) in blocks[grandchild_id]


def test_dump_created_outside_goroutines(procs):
    """A goroutine started by a coroutine has no creating goroutine: the line
    names the function and place only."""
    async def main():
        c = Chan()
        line = sys._getframe().f_lineno + 1
        g = gmploop.go(c.recv, timeout=T)
        buf = io.StringIO()
        gmploop.dump_goroutines(buf)
        await c.asend(1, timeout=T)
        await g
        return buf.getvalue(), line, g.id

    text, line, gid = gmploop.run(main(), procs=procs)
    block = next(b for b in text.split("\n\n") if b.startswith(f"goroutine {gid} "))
    assert block.rstrip().endswith(f"created by test_dump_created_outside_goroutines."
                                   f"<locals>.main at {__file__}:{line}")


def test_reuse_of_greenlets(run):
    def main():
        for _ in range(5):
            gs = [gmploop.go(lambda: None) for _ in range(100)]
            for g in gs:
                g.join(timeout=T)
        return gmploop.stats()

    s = run(main)
    assert s["created"] >= 501
    assert s["reused"] > 400


# -- deadlock ---------------------------------------------------------------------


def test_deadlock_detected_with_reasons_and_stacks(run):
    def blocked_sender(c):
        c.send(1)

    def main():
        c = Chan()
        g = gmploop.go(blocked_sender, c)
        g.name = "sender"
        Chan().recv()

    with pytest.raises(Deadlock) as info:
        run(main)
    msg = str(info.value)
    assert msg.startswith("all goroutines are asleep - deadlock!")
    assert "[chan receive]" in msg and "(sender) [chan send]" in msg
    assert "blocked_sender" in msg and "in main" in msg
    assert isinstance(info.value, RuntimeError)


def test_deadlock_on_select_no_cases(run):
    with pytest.raises(Deadlock, match=r"select \(no cases\)"):
        run(gmploop.select)


def test_no_deadlock_while_timer_pending(run):
    def main():
        c = Chan()
        t = gmploop.Timer(0.05)
        gmploop.go(lambda: c.send(t.c.recv()))
        return c.recv() > 0

    assert run(main)


def test_deadlock_after_last_timer_stopped(run):
    def main():
        t = gmploop.Timer(60)
        assert t.stop()
        t.c.recv()

    with pytest.raises(Deadlock):
        run(main)


def test_no_deadlock_while_a_thread_may_wake_us(run):
    def main():
        c = Chan()
        threading.Thread(target=lambda: (time.sleep(0.05), c.send("hi"))).start()
        return c.recv(timeout=T)

    assert run(main) == "hi"


def test_abandoned_goroutines_when_main_returns(run):
    def main():
        c = Chan()
        for _ in range(10):
            gmploop.go(c.recv)
        return "done"

    assert run(main) == "done"


# -- parallel progress (Go's TestGoroutineParallelism) -----------------------


def test_unstarted_goroutines_are_stolen_by_idle_procs():
    """With procs=4, four goroutines that never yield all make progress: idle
    processors steal the unstarted ones from the stuck processor."""
    n = 4

    def spinner(i, flags, stop):
        flags[i] = threading.get_ident()
        deadline = time.monotonic() + T
        while not stop.is_set() and time.monotonic() < deadline:
            pass  # never yields to the scheduler

    def main():
        flags = [None] * n
        stop = threading.Event()

        def watcher():
            # A plain thread, so it needs no processor: it stops the spinners
            # once all have started (or after T, and the test fails).
            deadline = time.monotonic() + T
            while None in flags and time.monotonic() < deadline:
                time.sleep(0.001)
            stop.set()

        w = threading.Thread(target=watcher)
        w.start()
        gs = [gmploop.go(spinner, i, flags, stop) for i in range(n)]
        for g in gs:
            g.join(timeout=T * 2)
        w.join(T)
        return list(flags)

    started = gmploop.run(main, procs=n)
    assert None not in started, started
    assert len(set(started)) == n  # each on its own processor thread


# -- the background runtime --------------------------------------------------------


def test_go_from_plain_thread_starts_background_runtime():
    c = Chan()
    g = gmploop.go(lambda: c.send("from goroutine", timeout=T))
    assert c.recv(timeout=T) == "from goroutine"
    assert g.join(timeout=T) is None
    gmploop.shutdown(timeout=T)
    # A later go() starts a fresh one.
    g2 = gmploop.go(lambda: 5)
    assert g2.join(timeout=T) == 5
    gmploop.shutdown(timeout=T)


def test_schedtrace_env_prints_lines():
    code = ("import gmploop\n"
            "def main():\n"
            "    gmploop.sleep(0.3)\n"
            "gmploop.run(main)\n")
    env = dict(os.environ, GMPLOOP_SCHEDTRACE="50")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("SCHED ")]
    assert len(lines) >= 2
    assert "gomaxprocs=1" in lines[0] and "goroutines=" in lines[0]


def test_maxprocs_env_sets_default():
    code = "import gmploop\nprint(gmploop.run(lambda: gmploop.set_max_procs(0)))\n"
    env = dict(os.environ, GMPLOOP_MAXPROCS="3")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


def test_asyncio_and_goroutines_share_p0():
    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop, gmploop.GMPEventLoop)
        c = Chan()
        gmploop.go(lambda: c.send(gmploop.await_(asyncio.sleep(0.01, "slept")), timeout=T))
        return await c.arecv(timeout=T)

    assert gmploop.run(main()) == "slept"


def test_schedtrace_reports_long_running_goroutine():
    code = ("import time, warnings, gmploop\n"
            "warnings.simplefilter('ignore')\n"
            "def main():\n"
            "    gmploop.go(print, 'starved')  # queued behind the busy loop\n"
            "    t = time.thread_time()\n"
            "    while time.thread_time() - t < 0.2:\n"
            "        pass\n"
            "gmploop.run(main)\n")
    env = dict(os.environ, GMPLOOP_SCHEDTRACE="20", GMPLOOP_SYSMON_MS="10")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "SCHED long-running: goroutine 1 [goroutine-1] on P0" in r.stderr


def test_lone_busy_goroutine_starving_nobody_is_not_reported():
    code = ("import time, warnings, gmploop\n"
            "warnings.simplefilter('error')\n"
            "def main():\n"
            "    t = time.thread_time()\n"
            "    while time.thread_time() - t < 0.1:\n"
            "        pass\n"
            "gmploop.run(main)\n")
    env = dict(os.environ, GMPLOOP_SYSMON_MS="10")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "held processor" not in r.stderr


def test_deadlock_report_hides_runtime_frames_unless_asked():
    code = ("import gmploop\n"
            "def waiter():\n"
            "    gmploop.Chan().recv()\n"
            "try:\n"
            "    gmploop.run(waiter)\n"
            "except gmploop.Deadlock as e:\n"
            "    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "in waiter" in r.stdout and "_runtime" not in r.stdout and "_chan.py" not in r.stdout
    env = dict(os.environ, GMPLOOP_TRACEBACK="system")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert "in waiter" in r.stdout and "gopark_commit" in r.stdout


def test_deadlock_detected_while_another_runtime_is_alive():
    """Another runtime's processor threads (a loop left open, the background
    runtime) are runtime threads, not "a thread that could wake us"."""
    other = gmploop.new_event_loop(procs=3)
    other.run_until_complete(asyncio.sleep(0))  # its M threads now exist
    try:
        assert any(t.name.startswith("gmploop-M") for t in threading.enumerate())
        with pytest.raises(Deadlock):
            gmploop.run(lambda: Chan().recv(), procs=1)
    finally:
        other.close()


def test_nothing_runs_after_main_returns():
    """As in Go: when main returns, goroutines that have not run yet never
    do (procs=1, where nothing else could have picked them up)."""
    ran = []

    def main():
        for i in range(10):
            gmploop.go(ran.append, i)
        return "bye"

    assert gmploop.run(main, procs=1) == "bye"
    assert ran == []


# --------------------------------------------------------------------------
# The compiled build hides a goroutine from the cyclic GC until it starts
# (proc.newproc_p): it must be tracked again once it runs, and a goroutine
# that never starts must not keep a reference cycle alive.
# --------------------------------------------------------------------------


def test_goroutine_is_gc_tracked_once_it_runs():
    from gmploop import _build

    def main():
        g = gmploop.go(lambda: gc.is_tracked(gmploop.current()))
        waiting = gc.is_tracked(g)
        return waiting, g.join(timeout=T)

    waiting, running = gmploop.run(main, procs=1)
    assert running is True
    assert waiting is (_build.mode() != "compiled")


def test_goroutines_that_never_start_are_gc_tracked_after_shutdown():
    gs = []

    def main():
        # main returns before these start: they are abandoned, as in Go
        for _ in range(3):
            gs.append(gmploop.go(lambda: None))

    gmploop.run(main, procs=1)
    assert [gc.is_tracked(g) for g in gs] == [True] * 3


def test_cycles_through_goroutines_are_collected():
    import weakref

    class Box:
        g = None

    refs = []

    def main():
        # One that runs and one that never starts (main returns first: it is
        # abandoned, as in Go); each sits in a cycle: g -> args -> box -> g.
        for started in (True, False):
            box = Box()
            box.g = gmploop.go(lambda b: None, box)
            refs.append(weakref.ref(box))
            if started:
                box.g.join(timeout=T)

    gmploop.run(main, procs=1)
    # (bounded: the runtime's monitor thread may still be exiting under load)
    deadline = time.monotonic() + T
    while True:
        gc.collect()
        if not any(r() for r in refs) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert [r() for r in refs] == [None, None]


def test_finished_runtimes_are_freed():
    # Idle worker greenlets wait in goexit with frames that reference their
    # P; the GC cannot see into a suspended greenlet, so they are ended when
    # their P's thread stops (P.free_workers). Before, every run() stayed.
    from gmploop._runtime.proc import Sched

    def main():
        gs = [gmploop.go(gmploop.sleep, 0) for _ in range(4)]
        for g in gs:
            g.join(timeout=T)

    def scheds():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Sched)

    before = scheds()  # runtimes of earlier tests may still be ending: at most these
    for procs in (1, 2, 4, 1, 2, 4):
        gmploop.run(main, procs=procs)
    # run() waits up to 1 s for each M thread, which ends its workers as it
    # exits; under load one may still be exiting: wait for it, bounded.
    deadline = time.monotonic() + T
    while scheds() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scheds() <= before, "finished runtimes stayed alive"


def test_closing_a_loop_from_another_greenlet_ends_its_workers_there():
    # The idle workers' parent is the greenlet that ran the loop; ending them
    # (P.free_workers) must come back to the closing greenlet, not resume that
    # one.
    import asyncio

    import greenlet

    loop = gmploop.new_event_loop(procs=1)
    main_glet = greenlet.getcurrent()

    async def work():
        gs = [gmploop.go(gmploop.sleep, 0) for _ in range(3)]
        for g in gs:
            await g

    def runner():
        loop.run_until_complete(asyncio.wait_for(work(), T))
        main_glet.switch("ran")
        return "resumed"  # only if closing the loop switched back here

    other = greenlet.greenlet(runner)
    assert other.switch() == "ran"
    loop.close()
    assert not other.dead  # still suspended where it switched away
    assert loop.is_closed()
