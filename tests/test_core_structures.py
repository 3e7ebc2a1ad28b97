"""Data structures of the core, tested without threads or a scheduler:
run queues and steal-half, the timer heap, the waiter queue (Go's
export_test.go approach: drive the structure directly)."""

from _thread import get_ident
from collections import deque

import pytest

from gmploop._runtime import config
from gmploop._runtime.proc import P, goready
from gmploop._runtime.runq import (LocalQueues, globrunqget, runqget,
                                   runqget_exit, runqsteal)
from gmploop._runtime.runtime2 import K_G, WAITING, GoroutineCore, SelectDone, Sudog
from gmploop._runtime.sema import WaitQ, withdraw
from gmploop._runtime.timers import Timer, TimerHeap


class FakeG(GoroutineCore):
    """Stands in for a Goroutine: the queues only look at identity. (The
    goroutine record, so that the compiled build's typed code takes it.)"""

    def __init__(self, name):
        super().__init__(0, None, (), None)
        self.name = name

    def __repr__(self):
        return self.name


def gs(prefix, n):
    return [FakeG(f"{prefix}{i}") for i in range(n)]


class FakeP(P):
    """A processor as goready sees it: owned by this thread, awake. (A P, so
    that the compiled build's typed code takes it; only its run queues are
    set up.)"""

    def __init__(self):
        LocalQueues.__init__(self)
        self.tid = get_ident()
        self.sleeping = False

    def notify(self):
        raise AssertionError("an awake processor is readied on its own thread without a wake-up")


def ready(pp, g):
    """Ready ``g`` on its processor's own thread, as the scheduler does
    (proc.goready: into runnext, the previous one to the tail of runq)."""
    g.p = pp
    g.status = WAITING
    goready(g)


# -- run queues --------------------------------------------------------------


def test_runqget_prefers_readied_fifo_then_new_lifo():
    pp = LocalQueues()
    new = gs("n", 3)
    ready = gs("r", 2)
    pp.newq.extend(new)
    pp.runq.extend(ready)
    got = [runqget(pp, deque()) for _ in range(5)]
    assert got == [ready[0], ready[1], new[2], new[1], new[0]]
    assert runqget(pp, deque()) is None


def test_runqget_exit_prefers_unstarted():
    pp = LocalQueues()
    new = gs("n", 2)
    ready = gs("r", 1)
    pp.newq.extend(new)
    pp.runq.extend(ready)
    got = [runqget_exit(pp, deque()) for _ in range(3)]
    assert got == [new[1], new[0], ready[0]]


def test_runnext_runs_before_runq_and_kicks_older_to_tail():
    pp = FakeP()
    a, b, c = gs("g", 3)
    pp.runq.append(a)
    ready(pp, b)
    ready(pp, c)  # c takes runnext, b goes behind a
    assert [runqget(pp, deque()) for _ in range(3)] == [c, a, b]


def test_ready_from_another_thread_goes_to_inbox_and_wakes_the_owner():
    pp = FakeP()
    pp.tid = get_ident() + 1  # owned by some other thread (an ident is unsigned)
    woken = []
    pp.notify = lambda: woken.append(True)
    a, b = gs("g", 2)
    ready(pp, a)
    ready(pp, b)
    assert pp.runnext is None and list(pp.inbox) == [a, b] and woken == [True, True]
    assert [runqget(pp, deque()) for _ in range(2)] == [a, b]


def test_exit_path_runs_unstarted_before_runnext():
    pp = FakeP()
    (r,) = gs("r", 1)
    (n,) = gs("n", 1)
    ready(pp, r)
    pp.newq.append(n)
    assert [runqget_exit(pp, deque()) for _ in range(2)] == [n, r]


def test_fairness_tick_serves_runq_despite_runnext_ping_pong():
    # Two goroutines that keep readying each other through runnext must not
    # starve a readied goroutine waiting in runq.
    pp = FakeP()
    (waiting,) = gs("waiting", 1)
    pp.runq.append(waiting)
    x, y = gs("pp", 2)
    for tick in range(200):
        ready(pp, x if tick % 2 else y)
        if runqget(pp, deque()) is waiting:
            break
    else:
        pytest.fail("runq starved by runnext")
    assert tick < 61


def test_inbox_is_drained_in_order_behind_local_readies():
    pp = LocalQueues()
    a, b, c = gs("g", 3)
    pp.runq.append(a)
    pp.inbox.extend([b, c])
    assert [runqget(pp, deque()) for _ in range(3)] == [a, b, c]
    assert not pp.inbox


def test_global_queue_checked_every_61_ticks():
    pp = LocalQueues()
    glob = deque(gs("glob", 1))
    pp.runq.extend(gs("r", 100))
    picks = []
    for _ in range(61):
        picks.append(runqget(pp, glob))
    # Ticks 1..60 take local work; tick 61 must take the global goroutine.
    assert picks[-1].name == "glob0"
    assert all(p.name.startswith("r") for p in picks[:-1])


def test_fairness_tick_takes_oldest_unstarted():
    pp = LocalQueues()
    new = gs("n", 100)
    pp.newq.extend(new)
    picks = [runqget_exit(pp, deque()) for _ in range(61)]
    assert picks[0] is new[99]  # LIFO normally
    assert picks[60] is new[0]  # tick 61: the oldest, so none starves


def test_local_queues_never_starve_under_continuous_spawning():
    # A goroutine that keeps spawning pushes on the LIFO end; the oldest
    # queued goroutine must still run within a bounded number of ticks.
    pp = LocalQueues()
    oldest = FakeG("oldest")
    pp.newq.append(oldest)
    for tick in range(1000):
        pp.newq.append(FakeG(f"spawned{tick}"))
        if runqget_exit(pp, deque()) is oldest:
            break
    else:
        pytest.fail("the oldest unstarted goroutine never ran")
    assert tick < 61


def test_steal_half_takes_oldest_and_keeps_order():
    victim = LocalQueues()
    thief = LocalQueues()
    new = gs("n", 7)
    victim.newq.extend(new)
    first = runqsteal(thief, victim, take_last=False)
    # ceil(7/2) = 4 taken, the oldest ones; the victim keeps the newest.
    assert first is new[0]
    assert list(victim.newq) == new[4:]
    # The thief runs them oldest first: it pops its right end.
    assert [runqget(thief, deque()) for _ in range(3)] == [new[1], new[2], new[3]]


def test_steal_does_not_take_a_lone_goroutine_unless_victim_is_stuck():
    victim = LocalQueues()
    thief = LocalQueues()
    (g,) = gs("n", 1)
    victim.newq.append(g)
    assert runqsteal(thief, victim, take_last=False) is None
    assert runqsteal(thief, victim, take_last=True) is g
    assert runqsteal(thief, victim, take_last=True) is None


def test_steal_never_touches_started_goroutines():
    victim = LocalQueues()
    thief = LocalQueues()
    victim.runq.extend(gs("r", 5))
    victim.inbox.extend(gs("i", 5))
    assert runqsteal(thief, victim, take_last=True) is None
    assert len(victim.runq) == 5 and len(victim.inbox) == 5


def test_globrunqget_takes_a_share():
    pp = LocalQueues()
    glob = deque(gs("g", 9))
    first = globrunqget(pp, glob, nprocs=2)
    assert first.name == "g0"
    # len(rest)=8, nprocs=2 -> 4 more move to the local queue.
    assert len(pp.newq) == 4 and len(glob) == 4
    assert runqget(pp, deque()).name == "g1"  # kept in order


# -- timer heap ----------------------------------------------------------------


def test_timers_fire_in_deadline_order_and_only_when_due():
    fired = []
    h = TimerHeap()
    for when in (3.0, 1.0, 2.0, 1.0):
        h.add(Timer(when, fired.append, when))
    assert h.next_deadline() == 1.0
    assert h.run_expired(0.5) == 0
    assert h.run_expired(2.0) == 3
    assert fired == [1.0, 1.0, 2.0]
    assert len(h) == 1
    assert h.run_expired(10.0) == 1
    assert len(h) == 0 and h.next_deadline() is None


def test_timer_stop_is_lazy_and_compacts():
    h = TimerHeap()
    ts = [Timer(float(i), lambda _: None) for i in range(1000)]
    for t in ts:
        h.add(t)
    for t in ts[:900]:
        assert h.stop(t)
        assert not h.stop(t)  # twice: no longer pending
    assert len(h) == 100
    assert len(h._heap) <= 2 * 100 + 64  # dead entries were dropped
    assert h.next_deadline() == 900.0


def test_periodic_timer_reschedules_and_skips_missed_periods():
    got = []
    h = TimerHeap()
    t = Timer(1.0, got.append, "tick", period=1.0)
    h.add(t)
    h.run_expired(1.0)
    assert got == ["tick"] and t.when == 2.0
    h.run_expired(10.5)  # far behind: one tick, next one period after now
    assert got == ["tick", "tick"] and t.when == 11.5
    assert h.stop(t)
    assert h.run_expired(100.0) == 0


def test_on_earlier_called_only_for_new_earliest():
    calls = []
    h = TimerHeap(lambda: calls.append(1))
    h.add(Timer(5.0, print))
    h.add(Timer(7.0, print))
    h.add(Timer(1.0, print))
    assert len(calls) == 2


def test_on_earlier_not_hidden_by_a_stopped_timer():
    """A stopped (lazily deleted) timer at the top of the heap must not hide
    that a new timer is the earliest live one: the owner would never be woken
    for it (found by the full suite: a sleeping P missed a context deadline)."""
    calls = []
    h = TimerHeap(lambda: calls.append(1))
    old = Timer(1.0, print)
    h.add(old)
    assert h.stop(old)
    calls.clear()
    h.add(Timer(5.0, print))
    assert calls == [1]
    assert h.next_deadline() == 5.0


def test_timer_cannot_be_added_twice():
    h = TimerHeap()
    t = Timer(1.0, print)
    h.add(t)
    with pytest.raises(RuntimeError):
        h.add(t)


# -- wait queue ------------------------------------------------------------------


def sudog(sel=None):
    sg = Sudog(K_G)
    sg.sel = sel
    return sg


def test_waitq_fifo_and_claim():
    q = WaitQ()
    a, b = sudog(), sudog()
    q.enqueue(a)
    q.enqueue(b)
    assert q.dequeue() is a
    assert not withdraw(a)  # claimed: a timeout must not take it back
    assert q.dequeue() is b
    assert q.dequeue() is None


def test_waitq_skips_cancelled_and_lost_select_waiters():
    q = WaitQ()
    a, b = sudog(), sudog()
    sel = SelectDone()
    c = sudog(sel)
    d = sudog()
    for sg in (a, b, c, d):
        q.enqueue(sg)
    assert withdraw(a)
    assert sel.claim(None)  # the select gave up (timeout) or another case won
    assert q.dequeue() is b
    assert q.dequeue() is d
    assert q.dequeue() is None


def test_select_claim_is_won_once():
    sel = SelectDone()
    x, y = sudog(sel), sudog(sel)
    assert sel.claim(x)
    assert not sel.claim(y)
    assert sel.won is x


def test_waitq_stays_bounded_under_lazy_deletion():
    # Go's test/chan/select2.go: a select that loses on a channel over and
    # over must not grow that channel's queue without bound.
    q = WaitQ()
    live = [sudog() for _ in range(3)]
    for sg in live:
        q.enqueue(sg)
    for _ in range(10_000):
        sel = SelectDone()
        sg = sudog(sel)
        q.enqueue(sg)
        sel.claim(None)  # it lost
    assert len(q) <= 2 * max(3, WaitQ.COMPACT_MIN) + 1
    assert [q.dequeue() for _ in range(3)] == live


def test_rng_is_seedable():
    a = config.rng.__class__(7)
    b = config.rng.__class__(7)
    assert [a.random() for _ in range(5)] == [b.random() for _ in range(5)]
