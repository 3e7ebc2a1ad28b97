"""Property-based tests (hypothesis): channels and the timer heap against
simple models, over random operation sequences."""

import heapq
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

import gmploop
from gmploop import Chan, Closed
from gmploop._runtime.timers import Timer, TimerHeap

chan_ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers()),
        st.just(("recv", None)),
        st.just(("close", None)),
        st.just(("len", None)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(cap=st.integers(min_value=0, max_value=5), ops=chan_ops)
def test_nonblocking_channel_ops_match_a_bounded_fifo(cap, ops):
    """try_send/try_recv/close/len on one channel behave like a bounded FIFO
    that can be closed (closedchan.go's rules)."""
    c = Chan(cap)
    model: deque = deque()
    closed = False
    for op, arg in ops:
        if op == "send":
            if closed:
                try:
                    c.try_send(arg)
                    raise AssertionError("send on closed channel succeeded")
                except Closed:
                    pass
            else:
                ok = c.try_send(arg)
                assert ok == (len(model) < cap)
                if ok:
                    model.append(arg)
        elif op == "recv":
            if closed and not model:
                try:
                    c.try_recv()
                    raise AssertionError("recv on closed, drained channel succeeded")
                except Closed:
                    pass
            else:
                got = c.try_recv()
                assert got == ((model.popleft(), True) if model else (None, False))
        elif op == "close":
            if closed:
                try:
                    c.close()
                    raise AssertionError("double close succeeded")
                except Closed:
                    pass
            else:
                c.close()
                closed = True
        else:
            assert len(c) == len(model)
        assert c.closed == closed
        c._check_invariants()


@settings(max_examples=30, deadline=None)
@given(cap=st.integers(min_value=0, max_value=4),
       values=st.lists(st.integers(), max_size=40),
       nprod=st.integers(min_value=1, max_value=4))
def test_goroutine_producers_deliver_each_value_once_in_per_producer_order(cap, values, nprod):
    def main():
        c = Chan(cap)
        chunks = [values[i::nprod] for i in range(nprod)]

        def producer(k):
            for v in chunks[k]:
                c.send((k, v), timeout=10)

        gs = [gmploop.go(producer, k) for k in range(nprod)]
        got = [c.recv(timeout=10) for _ in range(len(values))]
        for g in gs:
            g.join(timeout=10)
        return chunks, got

    chunks, got = gmploop.run(main)
    for k in range(nprod):
        assert [v for kk, v in got if kk == k] == chunks[k]


timer_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.floats(min_value=0, max_value=100)),
        st.tuples(st.just("stop"), st.integers(min_value=0, max_value=6)),
        st.tuples(st.just("run"), st.floats(min_value=0, max_value=100)),
        st.just(("peek", None)),  # next_deadline() also drops dead entries
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops=timer_ops)
def test_timer_heap_matches_a_sorted_model(ops):
    calls: list = []
    h = TimerHeap(lambda: calls.append(1))
    fired: list = []
    timers: list = []
    model: list = []  # (when, seq) of live timers
    seq = 0
    now = 0.0
    for op, arg in ops:
        if op == "add":
            t = Timer(arg, fired.append, seq)
            # The owner must hear of every new earliest *live* timer.
            expect_call = not model or (arg, seq) < model[0]
            calls.clear()
            h.add(t)
            assert calls == ([1] if expect_call else [])
            timers.append(t)
            heapq.heappush(model, (arg, seq))
            seq += 1
        elif op == "stop":
            if arg < len(timers):
                t = timers[arg]
                was_live = any(s == t.arg for _, s in model)
                assert h.stop(t) == was_live
                model = [(w, s) for w, s in model if s != t.arg]
                heapq.heapify(model)
        elif op == "peek":
            assert h.next_deadline() == (model[0][0] if model else None)
        else:
            now = max(now, arg)
            fired.clear()
            h.run_expired(now)
            expect = []
            while model and model[0][0] <= now:
                expect.append(heapq.heappop(model)[1])
            assert fired == expect
        assert len(h) == len(model)
