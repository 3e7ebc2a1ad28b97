"""select, after runtime/select.go and Go's test/chan/select*.go."""

import threading
import time
from collections import Counter

import pytest

import gmploop
from gmploop import Chan, Closed, Recv, Send, select

from support import T  # the bound on every wait (seconds)


def test_bad_cases():
    with pytest.raises(TypeError, match=r"cases\[1\]"):
        select(Recv(Chan()), "nope", default=True)
    with pytest.raises(TypeError, match="ch"):
        Recv(5)
    with pytest.raises(TypeError, match="ch"):
        Send("x", 1)
    with pytest.raises(TypeError, match="default"):
        select(Recv(Chan()), default=1)
    with pytest.raises(TypeError, match="timeout"):
        select(Recv(Chan()), timeout="1")


def test_ready_recv_and_send():
    a, b = Chan(1), Chan(1)
    a.send("x")
    assert select(Recv(a), Send(b, 5), timeout=T) in [(0, "x", True), (1, None, True)]


def test_default_when_nothing_ready():
    assert select(Recv(Chan()), Send(Chan(), 1), default=True) == (-1, None, False)
    assert select(default=True) == (-1, None, False)


def test_timeout_performs_no_case():
    a = Chan()
    s = Chan()
    with pytest.raises(TimeoutError):
        select(Recv(a), Send(s, "v"), timeout=0.02)
    # Neither case happened: nothing queued, nothing to receive.
    assert not a.recvq.has_live() and not s.sendq.has_live()
    assert s.try_recv() == (None, False)
    with pytest.raises(TimeoutError):
        select(Recv(a), timeout=0)


def test_none_channel_case_never_ready():
    c = Chan(1)
    c.send(1)
    for _ in range(20):
        assert select(Recv(None), Recv(c), Send(None, 3), timeout=T)[0] == 1
        c.send(1)
    with pytest.raises(TimeoutError):
        select(Recv(None), timeout=0.01)


def test_closed_recv_case_returns_not_ok():
    c = Chan()
    c.close()
    assert select(Recv(c), timeout=T) == (0, None, False)


def test_send_on_closed_raises_even_with_default():
    c = Chan()
    c.close()
    with pytest.raises(Closed):
        select(Send(c, 1), default=True)


def test_uniform_choice_among_ready_cases():
    chans = [Chan(1) for _ in range(4)]
    counts = Counter()
    n = 4000
    for _ in range(n):
        for c in chans:
            if len(c) == 0:
                c.send(1)
        i, _, _ = select(*(Recv(c) for c in chans), timeout=T)
        counts[i] += 1
    # Each of 4 ready cases ~ n/4 = 1000; 6 sigma is about 165.
    assert set(counts) == {0, 1, 2, 3}
    for i in range(4):
        assert 800 < counts[i] < 1200, counts


def test_same_channel_in_several_cases(run):
    def main():
        c = Chan()
        g = gmploop.go(lambda: select(Recv(c), Recv(c), Send(c, "never"), timeout=T))
        gmploop.sleep(0.01)
        c.send("v", timeout=T)
        idx, v, ok = g.join(timeout=T)
        assert idx in (0, 1) and v == "v" and ok
        # Exactly one case happened: nothing else is pending.
        assert not c.sendq.has_live() and not c.recvq.has_live()
        return True

    assert run(main)


def test_select_waiting_goroutine_woken_by_send_and_close(run):
    def main():
        a, b = Chan(), Chan()
        g = gmploop.go(select, Recv(a), Recv(b))
        gmploop.sleep(0.01)
        b.send("hello", timeout=T)
        assert g.join(timeout=T) == (1, "hello", True)
        g2 = gmploop.go(select, Recv(a), Recv(b))
        gmploop.sleep(0.01)
        a.close()
        assert g2.join(timeout=T) == (0, None, False)
        return True

    assert run(main)


def test_select_send_case_completes_with_receiver(run):
    def main():
        c = Chan()
        g = gmploop.go(select, Send(c, 42), Recv(Chan()))
        assert c.recv(timeout=T) == 42
        assert g.join(timeout=T) == (0, None, True)
        blocked = Chan()
        g2 = gmploop.go(select, Send(blocked, 1))
        gmploop.sleep(0.01)
        blocked.close()
        with pytest.raises(Closed):
            g2.join(timeout=T)
        return True

    old = gmploop.excepthook
    gmploop.excepthook = lambda g, e: None
    try:
        assert run(main)
    finally:
        gmploop.excepthook = old


def test_select_no_cases_blocks_until_timeout():
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        select(timeout=0.03)
    assert time.monotonic() - t0 >= 0.02


def test_select_loop_does_not_leak_waiters(run):
    """test/chan/select2.go: a long select loop leaves no garbage behind on the
    channel that never wins."""
    def main():
        c = Chan()
        dummy = Chan()

        def sender():
            for i in range(3000):
                c.send(i, timeout=T)

        gmploop.go(sender)
        total = 0
        for _ in range(3000):
            i, v, ok = select(Recv(c), Recv(dummy), timeout=T)
            assert i == 0
            total += v
        return total, len(dummy.recvq)

    total, left = run(main)
    assert total == sum(range(3000))
    assert left <= 64


def test_select_from_threads_and_goroutines_exactly_once(run):
    def main():
        a, b = Chan(2), Chan()
        got = []
        lock = threading.Lock()

        def take(n):
            for _ in range(n):
                i, v, ok = select(Recv(a), Recv(b), timeout=T)
                with lock:
                    got.append(v)

        ths = [threading.Thread(target=take, args=(100,)) for _ in range(2)]
        for t in ths:
            t.start()
        gs = [gmploop.go(take, 100) for _ in range(2)]

        def produce(ch, base):
            for i in range(200):
                ch.send(base + i, timeout=T)

        p1 = gmploop.go(produce, a, 0)
        p2 = gmploop.go(produce, b, 1000)
        for g in (p1, p2, *gs):
            g.join(timeout=T * 3)
        for t in ths:
            t.join(T * 3)
        return got

    got = run(main)
    assert sorted(got) == list(range(200)) + list(range(1000, 1200))


def test_select_stress_with_timeouts(run):
    """Selects with short timeouts racing senders: nothing lost, nothing twice."""
    def main():
        chans = [Chan(c) for c in (0, 0, 1)]
        sent = []
        got = []

        def producer(k):
            for i in range(200):
                v = (k, i)
                while True:
                    idx, _, _ = select(*(Send(c, v) for c in chans), timeout=T)
                    sent.append(v)
                    break

        def consumer(stop):
            while True:
                try:
                    idx, v, ok = select(*(Recv(c) for c in chans), Recv(stop), timeout=0.002)
                except TimeoutError:
                    continue
                if idx == 3:
                    return
                got.append(v)

        stop = Chan()
        ps = [gmploop.go(producer, k) for k in range(4)]
        cs = [gmploop.go(consumer, stop) for _ in range(3)]
        for g in ps:
            g.join(timeout=T * 3)
        # drain what is left buffered, then stop consumers
        deadline = time.monotonic() + T
        while len(got) < len(sent) and time.monotonic() < deadline:
            gmploop.sleep(0.001)
        stop.close()
        for g in cs:
            g.join(timeout=T)
        return sent, got

    sent, got = run(main)
    assert len(sent) == 800
    assert Counter(got) == Counter(sent)
