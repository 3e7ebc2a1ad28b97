"""Timers, after Go's time/sleep_test.go."""

import time

import pytest

import gmploop
from gmploop import Chan, Ticker, Timer, after

from support import T  # the bound on every wait (seconds)


def test_after_fires_once_with_monotonic_time(run):
    def main():
        t0 = time.monotonic()
        v = after(0.03).recv(timeout=T)
        assert v >= t0 + 0.03 - 0.002
        return True

    assert run(main)


def test_zero_and_negative_durations_fire_at_once(run):
    def main():
        assert after(0).recv(timeout=T) > 0
        assert Timer(-5).c.recv(timeout=T) > 0
        return True

    assert run(main)


def test_huge_duration_does_not_overflow(run):
    def main():
        t = Timer(1e300)
        assert t.c.try_recv() == (None, False)
        assert t.stop()
        return True

    assert run(main)


def test_timer_stop_and_reset(run):
    def main():
        t = Timer(60)
        assert t.stop() is True
        assert t.stop() is False
        assert t.reset(0.01) is False
        assert t.c.recv(timeout=T) > 0
        assert t.reset(0.01) is False  # had fired
        assert t.reset(60) is True  # was pending
        with pytest.raises(TimeoutError):
            t.c.recv(timeout=0.03)
        assert t.stop()
        return True

    assert run(main)


def test_ticker_ticks_and_drops_for_slow_reader(run):
    def main():
        tk = Ticker(0.01)
        first = tk.c.recv(timeout=T)
        second = tk.c.recv(timeout=T)
        assert second > first
        gmploop.sleep(0.08)  # slow reader: ~8 ticks missed, buffer holds 1
        assert len(tk.c) == 1
        tk.c.recv(timeout=T)
        tk.reset(0.02)
        tk.c.recv(timeout=T)
        tk.stop()
        gmploop.sleep(0.05)
        return tk.c.try_recv()

    assert run(main) == (None, False)


def test_ticker_bad_interval():
    with pytest.raises(ValueError, match="seconds"):
        Ticker(0)
    with pytest.raises(ValueError, match="seconds"):
        Ticker(-1)
    with pytest.raises(TypeError, match="seconds"):
        Ticker("1")
    with pytest.raises(TypeError, match="seconds"):
        after(None)
    with pytest.raises(ValueError, match="seconds"):
        Timer(float("nan"))


def test_timeout_pattern_with_select(run):
    def main():
        c = Chan()
        i, _, _ = gmploop.select(gmploop.Recv(c), gmploop.Recv(after(0.02)), timeout=T)
        return i

    assert run(main) == 1


def test_many_sleepers_wake_in_deadline_order(run):
    def main():
        out = Chan(20)

        def sleeper(d):
            gmploop.sleep(d)
            out.send(d, timeout=T)

        ds = [0.05, 0.01, 0.04, 0.02, 0.03]
        for d in ds:
            gmploop.go(sleeper, d)
        return [out.recv(timeout=T) for _ in ds]

    got = run(main)
    assert sorted(got) == [0.01, 0.02, 0.03, 0.04, 0.05]


def test_timers_from_a_plain_thread():
    t0 = time.monotonic()
    assert after(0.02).recv(timeout=T) >= t0
    gmploop.shutdown(timeout=T)
