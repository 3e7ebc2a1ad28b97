"""Typical mistakes that mypy --strict must reject.

Each line that must be rejected ends with ``# E: <code>[, <code>...]``, the
mypy error codes expected on that line; tests/test_typing.py checks that
mypy reports exactly these errors and no others. Never run.
"""
import asyncio

import gmploop
import gmploop.lowlevel
from gmploop import Chan, Goroutine, Recv, Send


def work(n: int, name: str = "x") -> str:
    return name * n


def count(n: int) -> int:
    return n


async def awork(n: int) -> float:
    return n / 2


def noargs() -> int:
    return 0


def channels() -> None:
    ch: Chan[int] = Chan(1)
    ch.send("x")  # E: arg-type
    ch.try_send(b"1")  # E: arg-type
    s: str = ch.recv()  # E: assignment
    v: int = ch.recv_ok()  # E: assignment
    for x in ch:
        x.upper()  # E: attr-defined
    other: Chan[str] = Chan[int]()  # E: assignment
    Chan("3")  # E: arg-type


def cases() -> None:
    ch: Chan[int] = Chan()
    Send(ch, "x")  # E: misc
    r: Recv[str] = Recv(ch)  # E: arg-type
    gmploop.select(ch)  # E: arg-type
    gmploop.select(Recv(ch), timeout="1")  # E: arg-type


def goroutines() -> None:
    gmploop.go(work, "x")  # E: call-overload
    gmploop.go(work)  # E: call-overload
    gmploop.go(work, 1, 2)  # E: call-overload
    gmploop.go(work, 1, nme="y")  # E: call-arg, arg-type
    gmploop.go(count, 1, 2)  # E: call-overload
    g: Goroutine[str] = gmploop.go(count, 1)  # E: call-overload
    s: str = gmploop.go(count, 1).join()  # E: assignment
    f: int = gmploop.go(awork, 1).join()  # E: assignment
    gmploop.go(42)  # E: call-overload
    gmploop.run(noargs, 1)  # E: call-overload
    n: str = gmploop.run(noargs)  # E: assignment
    gmploop.blocking(work, "x")  # E: arg-type
    b: bytes = gmploop.blocking(count, 1)  # E: assignment
    gmploop.await_(work)  # E: arg-type
    gmploop.lowlevel.ready("g")  # E: arg-type


def sync_and_time() -> None:
    wg = gmploop.WaitGroup()
    wg.go(work, "x")  # E: call-overload
    grp = gmploop.Group()
    grp.go(work, 1, name=2)  # E: arg-type
    grp.try_go(count)  # E: call-arg
    gmploop.Group(ctx="background")  # E: arg-type
    gmploop.Semaphore("2")  # E: arg-type
    gmploop.after("1")  # E: arg-type
    t: Chan[str] = gmploop.Timer(1).c  # E: assignment
    ctx, cancel = gmploop.with_cancel(gmploop.background())
    ctx.done().send(1)  # E: arg-type


async def coroutines() -> None:
    ch: Chan[int] = Chan()
    await ch.asend("x")  # E: arg-type
    s: str = await ch.arecv()  # E: assignment
    g = gmploop.go(count, 1)
    t: str = await g  # E: assignment
    await asyncio.wait_for(g.join(), 1)  # E: arg-type
