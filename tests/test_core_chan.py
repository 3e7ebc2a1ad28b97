"""Channels, after Go's test/chan/*.go, test/closedchan.go and
runtime/chan_test.go. Run at procs 1 and 4 (``run`` fixture)."""

import threading
import time
from collections import Counter

import pytest

import gmploop
from gmploop import Chan, Closed

from support import T  # the bound on every wait (seconds)


def test_bad_cap():
    with pytest.raises(TypeError, match="cap"):
        Chan("1")
    with pytest.raises(TypeError, match="cap"):
        Chan(1.5)
    with pytest.raises(TypeError, match="cap"):
        Chan(True)
    with pytest.raises(ValueError, match="cap"):
        Chan(-1)


def test_bad_timeout():
    c = Chan(1)
    with pytest.raises(TypeError, match="timeout"):
        c.send(1, timeout="x")
    with pytest.raises(ValueError, match="timeout"):
        c.recv(timeout=float("nan"))


def test_len_cap_closed():
    c = Chan(3)
    assert (len(c), c.cap, c.closed) == (0, 3, False)
    c.send(1)
    c.send(2)
    assert len(c) == 2
    c.close()
    assert c.closed and len(c) == 2
    assert Chan().cap == 0


def test_unbuffered_rendezvous(run):
    def main():
        c = Chan()
        events = []

        def sender():
            c.send("v", timeout=T)
            events.append("sent")

        g = gmploop.go(sender)
        gmploop.sleep(0.01)
        assert events == []  # no receiver yet: the send has not completed
        assert c.recv(timeout=T) == "v"
        g.join(timeout=T)
        return events

    assert run(main) == ["sent"]


def test_buffered_fifo_and_blocking_when_full(run):
    def main():
        c = Chan(3)
        for i in range(3):
            c.send(i, timeout=0)
        with pytest.raises(TimeoutError):
            c.send(3, timeout=0)
        with pytest.raises(TimeoutError):
            c.send(3, timeout=0.02)
        g = gmploop.go(c.send, 3)
        got = [c.recv(timeout=T) for _ in range(4)]
        g.join(timeout=T)
        return got

    assert run(main) == [0, 1, 2, 3]


def test_try_send_try_recv():
    c = Chan(1)
    assert c.try_recv() == (None, False)
    assert c.try_send("a")
    assert not c.try_send("b")
    assert c.try_recv() == ("a", True)
    u = Chan()
    assert not u.try_send(1)  # nobody waiting
    c.close()
    with pytest.raises(Closed):
        c.try_send(1)
    with pytest.raises(Closed):
        c.try_recv()


def test_timeouts_zero_and_positive():
    c = Chan()
    with pytest.raises(TimeoutError):
        c.recv(timeout=0)
    with pytest.raises(TimeoutError):
        c.recv_ok(timeout=-1)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        c.recv(timeout=0.05)
    assert time.monotonic() - t0 >= 0.04
    b = Chan(1)
    b.send(1)
    assert b.recv(timeout=0) == 1


def test_timed_out_send_was_not_sent(run):
    def main():
        c = Chan()
        with pytest.raises(TimeoutError):
            c.send("lost?", timeout=0.02)
        # No receiver can get the value now.
        return c.try_recv()

    assert run(main) == (None, False)


def test_closed_channel_semantics(run):
    """test/closedchan.go: buffered values survive close; then zero/ok=False."""
    def main():
        c = Chan(2)
        c.send(1)
        c.send(2)
        c.close()
        with pytest.raises(Closed):
            c.send(3)
        with pytest.raises(Closed):
            c.close()
        assert c.recv(timeout=T) == 1
        assert c.recv_ok(timeout=T) == (2, True)
        assert c.recv_ok(timeout=T) == (None, False)
        with pytest.raises(Closed):
            c.recv(timeout=T)
        assert list(c) == []
        return True

    assert run(main)


def test_close_wakes_all_waiters(run):
    def main():
        c = Chan()
        results = Chan(10)

        def receiver():
            results.send(("r", c.recv_ok(timeout=T)), timeout=T)

        def sender():
            try:
                c.send(1, timeout=T)
                results.send(("s", "sent"), timeout=T)
            except Closed:
                results.send(("s", "closed"), timeout=T)

        for _ in range(3):
            gmploop.go(receiver)
        gmploop.sleep(0.02)
        c.close()
        got = [results.recv(timeout=T) for _ in range(3)]
        d = Chan()
        for _ in range(3):
            gmploop.go(lambda: (d.send(1, timeout=T)))
        gs = []

        def blocked_sender():
            try:
                d.send(1, timeout=T)
                return "sent"
            except Closed:
                return "closed"

        gs = [gmploop.go(blocked_sender) for _ in range(2)]
        gmploop.sleep(0.02)
        d.close()
        outcomes = [g.join(timeout=T) for g in gs]
        return got, outcomes

    old = gmploop.excepthook
    gmploop.excepthook = lambda g, e: None  # the 3 anonymous senders raise Closed
    try:
        got, outcomes = run(main)
    finally:
        gmploop.excepthook = old
    assert got == [("r", (None, False))] * 3
    assert outcomes == ["closed", "closed"]


def test_iteration_until_closed(run):
    def main():
        c = Chan(5)

        def producer():
            for i in range(20):
                c.send(i, timeout=T)
            c.close()

        gmploop.go(producer)
        return list(c)

    assert run(main) == list(range(20))


def test_fifo_order_of_blocked_senders(run):
    def main():
        c = Chan()
        order = Chan(10)
        for i in range(5):
            gmploop.go(c.send, i)
            # Make sure sender i is queued before sender i+1.
            deadline = time.monotonic() + T
            while len(c.sendq) < i + 1 and time.monotonic() < deadline:
                gmploop.sleep(0.001)
        got = [c.recv(timeout=T) for _ in range(5)]
        order.close()
        return got

    assert run(main) == [0, 1, 2, 3, 4]


def test_full_buffer_moves_blocked_sender_value_in_order(run):
    def main():
        c = Chan(2)
        c.send("a")
        c.send("b")
        gmploop.go(c.send, "c")
        deadline = time.monotonic() + T
        while not c.sendq and time.monotonic() < deadline:
            gmploop.sleep(0.001)
        return [c.recv(timeout=T) for _ in range(3)]

    assert run(main) == ["a", "b", "c"]


def test_blocking_recv_on_loop_thread_raises_naming_async_form():
    import asyncio

    async def main():
        c = Chan()
        with pytest.raises(RuntimeError, match="arecv"):
            c.recv()
        with pytest.raises(RuntimeError, match="asend"):
            c.send(1)
        with pytest.raises(RuntimeError, match="aselect"):
            gmploop.select(gmploop.Recv(c))
        return True

    assert asyncio.run(main())


@pytest.mark.parametrize("cap", [0, 1, 16])
def test_stress_every_value_exactly_once(run, cap):
    """Many producers and consumers, timeouts and a close racing: every value
    a send reported as sent is received exactly once, none twice."""
    def main():
        c = Chan(cap)
        sent = []
        received = []
        nprod, nper = 8, 150

        def producer(pid):
            for i in range(nper):
                v = (pid, i)
                while True:
                    try:
                        c.send(v, timeout=0.002 if i % 7 == 0 else T)
                        sent.append(v)
                        break
                    except TimeoutError:
                        continue  # not sent: retry

        def consumer():
            while True:
                try:
                    v, ok = c.recv_ok(timeout=0.003)
                except TimeoutError:
                    continue
                if not ok:
                    return
                received.append(v)

        prods = [gmploop.go(producer, p) for p in range(nprod)]
        cons = [gmploop.go(consumer) for _ in range(5)]
        deadline = time.monotonic() + T * 3
        while not all(g.done() for g in prods) and time.monotonic() < deadline:
            c._check_invariants()  # at arbitrary points of the race
            gmploop.sleep(0.001)
        for g in prods:
            g.join(timeout=T * 3)
        c.close()
        for g in cons:
            g.join(timeout=T * 3)
        c._check_invariants()
        return sent, received

    sent, received = run(main)
    assert len(sent) == 8 * 150
    counts = Counter(received)
    assert set(counts) == set(sent)
    assert max(counts.values()) == 1


def test_threads_and_goroutines_on_one_channel(run):
    def main():
        c = Chan(4)
        n_threads, n_gs, per = 3, 3, 200
        got = []
        lock = threading.Lock()

        def thread_producer(tid):
            for i in range(per):
                c.send(("t", tid, i), timeout=T)

        def g_producer(gid):
            for i in range(per):
                c.send(("g", gid, i), timeout=T)

        def thread_consumer():
            while True:
                v, ok = c.recv_ok(timeout=T)
                if not ok:
                    return
                with lock:
                    got.append(v)

        def g_consumer():
            while True:
                v, ok = c.recv_ok(timeout=T)
                if not ok:
                    return
                with lock:
                    got.append(v)

        ths = [threading.Thread(target=thread_producer, args=(i,)) for i in range(n_threads)]
        tcs = [threading.Thread(target=thread_consumer) for _ in range(2)]
        for t in ths + tcs:
            t.start()
        gps = [gmploop.go(g_producer, i) for i in range(n_gs)]
        gcs = [gmploop.go(g_consumer) for _ in range(2)]
        for g in gps:
            g.join(timeout=T * 3)
        for t in ths:
            t.join(T * 3)
        c.close()
        for g in gcs:
            g.join(timeout=T * 3)
        for t in tcs:
            t.join(T * 3)
        return got

    got = run(main)
    assert len(got) == 6 * 200 and len(set(got)) == 6 * 200
    # Per producer, values arrive in the order they were sent.
    by_src = {}
    for kind, pid, i in got:
        by_src.setdefault((kind, pid), []).append(i)
    for seq in by_src.values():
        assert sorted(seq) == list(range(200))


def test_pure_threads_without_runtime():
    c = Chan()
    out = []
    t = threading.Thread(target=lambda: out.extend(c.recv(timeout=T) for _ in range(3)))
    t.start()
    for i in range(3):
        c.send(i, timeout=T)
    t.join(T)
    assert out == [0, 1, 2]


def test_thread_recv_timeout_then_value_not_lost():
    c = Chan()
    with pytest.raises(TimeoutError):
        c.recv(timeout=0.01)
    assert not c.recvq.has_live()  # the timed-out waiter is gone
    res = []
    t = threading.Thread(target=lambda: res.append(c.recv(timeout=T)))
    t.start()
    c.send("x", timeout=T)
    t.join(T)
    assert res == ["x"]


def test_pingpong_values(run):
    def main():
        a, b = Chan(1), Chan(1)

        def ponger():
            for v in a:
                b.send(v * 2, timeout=T)
            b.close()

        gmploop.go(ponger)
        out = []
        for i in range(500):
            a.send(i, timeout=T)
            out.append(b.recv(timeout=T))
        a.close()
        assert b.recv_ok(timeout=T) == (None, False)
        return out

    assert run(main) == [i * 2 for i in range(500)]


def test_sieve(run):
    """Go's classic concurrent prime sieve (test/chan/sieve1.go)."""
    def generate(ch):
        i = 2
        while True:
            ch.send(i)
            i += 1

    def filt(src, dst, prime):
        for i in src:
            if i % prime:
                dst.send(i)

    def main():
        ch = Chan()
        gmploop.go(generate, ch)
        primes = []
        for _ in range(30):
            prime = ch.recv(timeout=T)
            primes.append(prime)
            ch1 = Chan()
            gmploop.go(filt, ch, ch1, prime)
            ch = ch1
        return primes

    assert run(main)[-1] == 113


def test_debug_mode_checks_invariants_under_stress():
    """GMPLOOP_DEBUG=1 checks chan.go's invariants after every operation."""
    import os
    import subprocess
    import sys
    code = (
        "import gmploop\n"
        "assert gmploop.Chan.send.__qualname__.startswith('_debug_checked')\n"
        "def main():\n"
        "    c = gmploop.Chan(3)\n"
        "    def prod(k):\n"
        "        for i in range(300):\n"
        "            c.send((k, i), timeout=10)\n"
        "    gs = [gmploop.go(prod, k) for k in range(4)]\n"
        "    got = [c.recv(timeout=10) for _ in range(1200)]\n"
        "    for g in gs:\n"
        "        g.join(timeout=10)\n"
        "    return len(set(got))\n"
        "print(gmploop.run(main, procs=2))\n")
    env = dict(os.environ, GMPLOOP_DEBUG="1")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1200"


def test_blocking_recv_ok_on_loop_thread_names_arecv_ok():
    import asyncio

    async def main():
        with pytest.raises(RuntimeError, match="arecv_ok"):
            Chan().recv_ok()
        return True

    assert asyncio.run(main())
