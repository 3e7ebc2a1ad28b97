"""What every test module shares: the timeout bound, the processor matrix
and the asyncio loop matrix (``from support import T``). conftest.py turns
the matrices into the ``procs`` and ``loop_name`` fixtures. (A module of its
own, not conftest: tests/asyncio_conformance has a conftest too, so the
name ``conftest`` does not always mean this directory's.)"""

import asyncio
import threading

import gmploop

#: Bound, in seconds, on every wait in a test that is expected to succeed (a
#: join, a receive, a thread's join): far above what a passing run needs even
#: on a loaded machine, so a lost wake-up fails as a TimeoutError instead of
#: hanging. Files whose waits span a whole asyncio program or a subprocess
#: keep a larger bound of their own and say why.
T = 10.0

#: Processor counts every core test runs at: one processor (everything on one
#: thread), and several (cross-thread wake-ups, stealing, the global queue).
PROCS = (1, 4)

#: The event loops an asyncio test body runs on: the stdlib loop (the oracle:
#: a body that fails there is a wrong test) and gmploop's at 1 and 4
#: processors. Each value makes a fresh loop.
LOOPS = {
    "asyncio": asyncio.SelectorEventLoop,
    "gmploop": lambda: gmploop.new_event_loop(procs=1),
    "gmploop-procs4": lambda: gmploop.new_event_loop(procs=4),
}


#: Who calls Goroutine.cancel() in the cancellation tests.
CANCELLERS = ("goroutine", "thread", "task")


def cancel_from(g, canceller: str) -> None:
    """From a goroutine: cancel ``g`` from this goroutine, a plain thread, or
    an asyncio task on the runtime's loop, and check cancel() said True."""
    if canceller == "goroutine":
        assert g.cancel()
    elif canceller == "thread":
        out = []
        th = threading.Thread(target=lambda: out.append(g.cancel()))
        th.start()
        th.join(T)
        assert out == [True]
    else:
        async def from_task():
            return g.cancel()
        assert gmploop.await_(from_task())
