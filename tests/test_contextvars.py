"""Context variables (API.md "Context variables"): a goroutine starts in a copy
of its creator's ``contextvars`` context (a goroutine's, a task's or a
thread's), taken when ``go`` is called; its writes never leak out, also not to
the next goroutine that reuses its greenlet; ``await_`` runs a coroutine in a
copy of the goroutine's context; ``ctx.run(gmploop.go, fn)`` picks the context.
Core tests run at procs 1 and 4 through the ``run`` fixture."""

import asyncio
import contextvars
import gc
import threading
import weakref

import pytest

import gmploop
from gmploop import Chan

from support import T  # the bound on every wait (seconds)

rid = contextvars.ContextVar("rid", default="unset")
other = contextvars.ContextVar("other", default="unset")


def _child_reads_then_writes():
    seen = rid.get()
    rid.set("child")
    other.set("child")
    return seen


# -- the creator's values reach the goroutine ----------------------------------


def test_goroutine_sees_creator_goroutine_values(run):
    def main():
        rid.set("req-42")
        g = gmploop.go(_child_reads_then_writes)
        return g.join(T), rid.get(), other.get()

    assert run(main) == ("req-42", "req-42", "unset")


def test_goroutine_sees_creator_task_values(procs):
    async def amain():
        rid.set("req-task")
        g = gmploop.go(_child_reads_then_writes)
        seen = await asyncio.wait_for(g, T)
        return seen, rid.get(), other.get()

    assert gmploop.run(amain(), procs=procs) == ("req-task", "req-task", "unset")


def test_goroutine_sees_creator_thread_values(run):
    def in_thread(out):
        rid.set("req-thread")  # a new thread starts in an empty context
        g = gmploop.go(_child_reads_then_writes)
        out.send((g.join(T), rid.get(), other.get()), timeout=T)

    def main():
        out = Chan(1)
        t = threading.Thread(target=in_thread, args=(out,))
        t.start()
        got = out.recv(timeout=T)
        t.join(T)  # it has sent: it is ending
        return got

    assert run(main) == ("req-thread", "req-thread", "unset")


def test_main_goroutine_starts_in_a_copy_of_the_callers_context(run):
    def main():
        seen = rid.get()
        rid.set("main wrote")
        return seen

    def caller():
        rid.set("caller")
        return run(main), rid.get()

    assert contextvars.Context().run(caller) == ("caller", "caller")


def test_snapshot_is_taken_when_go_is_called(run):
    def child(ready):
        ready.recv(timeout=T)
        return rid.get()

    def main():
        ready = Chan()
        rid.set("before go")
        g = gmploop.go(child, ready)
        rid.set("after go")  # the child has not run yet (or is parked)
        ready.send(None, timeout=T)
        return g.join(T)

    assert run(main) == "before go"


def test_writes_never_leak_to_creator_or_siblings(run):
    def writer(step):
        rid.set("writer")
        step.send(None, timeout=T)   # parked with its write in place...
        step.send(None, timeout=T)
        return rid.get()

    def reader(step):
        step.recv(timeout=T)         # ...while a sibling reads
        seen = rid.get()
        step.recv(timeout=T)
        return seen

    def main():
        rid.set("parent")
        step = Chan()
        w = gmploop.go(writer, step)
        r = gmploop.go(reader, step)
        return w.join(T), r.join(T), rid.get()

    assert run(main) == ("writer", "parent", "parent")


def test_ctx_run_go_chooses_the_context(run):
    def main():
        rid.set("main")
        chosen = contextvars.Context()
        chosen.run(rid.set, "chosen")
        g = chosen.run(gmploop.go, _child_reads_then_writes)
        return g.join(T), chosen[rid], rid.get()

    # the goroutine writes to its own copy, not to the chosen context
    assert run(main) == ("chosen", "chosen", "main")


def test_nested_goroutines_inherit_through_generations(run):
    def grandchild():
        return rid.get(), other.get()

    def child():
        other.set("from child")
        return gmploop.go(grandchild).join(T)

    def main():
        rid.set("from main")
        return gmploop.go(child).join(T)

    assert run(main) == ("from main", "from child")


# -- greenlet reuse ---------------------------------------------------------------


@pytest.mark.parametrize("creator_ctx", ["empty", "non-empty"])
def test_reused_greenlet_does_not_carry_previous_goroutines_context(run, creator_ctx):
    # Goroutines run one after another on recycled greenlets (inline on the
    # same greenlet, or back from the free list); each must start clean.
    def child(i):
        seen = (rid.get(), other.get())
        rid.set(f"child {i}")
        other.set(f"child {i}")
        return seen

    def main():
        if creator_ctx == "non-empty":
            other.set("main")
        want = ("unset", "main" if creator_ctx == "non-empty" else "unset")
        bad = []
        for batch in range(20):
            gs = [gmploop.go(child, i) for i in range(50)]
            bad += [s for s in (g.join(T) for g in gs) if s != want]
            if batch % 2:
                gmploop.sleep(0.001)  # let the greenlets go to the free list
        return bad

    assert contextvars.Context().run(run, main) == []


def test_finished_goroutine_keeps_no_context_alive(run):
    class Payload:
        pass

    def child():
        p = Payload()
        rid.set(p)
        return weakref.ref(p)

    def main():
        other.set("main")  # a non-empty context: the child gets a copy
        g = gmploop.go(child)
        ref = g.join(T)
        gmploop.sleep(0.01)  # the child's greenlet goes idle
        return g, ref

    g, ref = contextvars.Context().run(run, main)
    gc.collect()
    assert ref() is None, "the goroutine's context outlived it"
    assert g.done()


# -- await_ -------------------------------------------------------------------


async def _coro_reads_then_writes():
    seen = rid.get()
    rid.set("coroutine")
    return seen


class _Awaitable:
    def __await__(self):
        return _coro_reads_then_writes().__await__()


@pytest.mark.parametrize("kind", ["coroutine", "awaitable"])
def test_await_runs_in_the_goroutines_context(run, kind):
    def child():
        rid.set("child")
        aw = _coro_reads_then_writes() if kind == "coroutine" else _Awaitable()
        return gmploop.await_(aw), rid.get()

    def main():
        rid.set("main")
        return gmploop.go(child).join(T)

    # the coroutine sees the goroutine's value; its write stays in its task
    assert run(main) == ("child", "child")


def test_await_task_sees_goroutine_values_and_current_task(run):
    async def probe():
        return rid.get(), asyncio.current_task() is not None

    def main():
        rid.set("main")
        return gmploop.await_(probe())

    assert run(main) == ("main", True)
