from typing import Any, Callable, assert_type
import asyncio
import gmploop
import gmploop.net
from gmploop import Chan, Goroutine, Recv, Send

def work(n: int, name: str = "x") -> str:
    return name * n

async def awork(n: int) -> float:
    return n / 2

def main() -> int:
    ch: Chan[int] = Chan(3)
    ch.send(1)
    assert_type(ch.recv(), int)
    assert_type(ch.recv_ok(), tuple[int | None, bool])
    assert_type(ch.try_recv(), tuple[int | None, bool])
    for v in ch:
        assert_type(v, int)
    g = gmploop.go(work, 2, name="y")
    assert_type(g, Goroutine[str])
    assert_type(g.join(), str)
    a = gmploop.go(awork, 3)
    assert_type(a, Goroutine[float])
    i, v2, ok = gmploop.select(Recv(ch), Send(ch, 5))
    assert_type(i, int)
    return 1

assert_type(gmploop.run(main), int)
assert_type(gmploop.run(main, procs=2), int)
assert_type(gmploop.run(awork, 4), float)
assert_type(gmploop.run(awork(4)), float)
assert_type(gmploop.run(work, 2, procs=1), str)


# -- select -------------------------------------------------------------------

def selecting(a: Chan[int], b: Chan[str]) -> None:
    r = Recv(a)
    assert_type(r, Recv[int])
    s = Send(b, "x")
    assert_type(s, Send[str])
    i, v, ok = gmploop.select(r, s, default=True, timeout=0.5)
    assert_type(i, int)
    assert_type(v, Any)
    assert_type(ok, bool)


async def aselecting(a: Chan[int]) -> None:
    assert_type(await gmploop.aselect(Recv(a), timeout=1), tuple[int, Any, bool])


# -- sync ---------------------------------------------------------------------

def syncing() -> None:
    wg = gmploop.WaitGroup()
    assert_type(wg.go(work, 1), Goroutine[str])
    assert_type(wg.go(awork, 1), Goroutine[float])
    wg.add(1)
    wg.done()
    wg.wait(timeout=1.0)

    mu = gmploop.Mutex()
    with mu:
        pass
    mu.lock()
    assert_type(mu.try_lock(), bool)
    mu.unlock()

    rw = gmploop.RWMutex()
    with rw:
        pass
    rw.rlock()
    rw.runlock()

    once = gmploop.Once()
    once.do(lambda: None)
    assert_type(once.done, bool)

    sem = gmploop.Semaphore(3)
    sem.acquire(2)
    assert_type(sem.try_acquire(), bool)
    sem.release(2)
    with sem:
        pass

    with gmploop.Group() as grp:
        assert_type(grp.go(work, 2, name="z"), Goroutine[str])
        assert_type(grp.go(awork, 2), Goroutine[float])
        assert_type(grp.try_go(work, 1), bool)
        assert_type(grp.ctx, gmploop.Context | None)
    grp.wait()
    assert_type(grp.error, BaseException | None)
    with gmploop.Group(gmploop.background(), cancel_on_error=False) as grp2:
        grp2.go(work, 1)


async def asyncing_sync() -> None:
    wg = gmploop.WaitGroup()
    await wg
    mu = gmploop.Mutex()
    async with mu:
        pass
    await mu.alock()
    sem = gmploop.Semaphore(1)
    await sem.aacquire()
    async with gmploop.Group() as grp:
        g = await grp.ago(awork, 1)
        assert_type(g, Goroutine[float])
        assert_type(await g, float)
    await grp


# -- context --------------------------------------------------------------------

def contexts() -> None:
    root = gmploop.background()
    assert_type(root, gmploop.Context)
    ctx, cancel = gmploop.with_cancel(root)
    assert_type(cancel, Callable[[], None])
    tctx, tcancel = gmploop.with_timeout(ctx, 0.5)
    dctx, dcancel = gmploop.with_deadline(tctx, 1e9)
    vctx = gmploop.with_value(dctx, "k", 1)
    assert_type(vctx.value("k"), Any)
    assert_type(vctx.done(), Chan[None])
    assert_type(vctx.err(), BaseException | None)
    assert_type(vctx.deadline(), float | None)
    gmploop.select(Recv(ctx.done()), default=True)
    cancel()
    tcancel()
    dcancel()


# -- time ---------------------------------------------------------------------------

def timing() -> None:
    assert_type(gmploop.after(0.1), Chan[float])
    assert_type(gmploop.after(0.1).recv(), float)
    with gmploop.Timer(1) as t:
        assert_type(t, gmploop.Timer)
        assert_type(t.c, Chan[float])
        assert_type(t.stop(), bool)
        assert_type(t.reset(2), bool)
    with gmploop.Ticker(0.5) as tk:
        assert_type(tk, gmploop.Ticker)
        assert_type(tk.c.recv(), float)
    gmploop.sleep(0.01)
    gmploop.gosched()


# -- net ------------------------------------------------------------------------------

def networking() -> None:
    ln = gmploop.net.listen("127.0.0.1:0")
    assert_type(ln, gmploop.net.Listener)
    host, port = ln.addr
    assert_type(port, int)
    c = gmploop.net.dial(("127.0.0.1", port), timeout=1)
    assert_type(c, gmploop.net.Conn)
    s = ln.accept()
    c.sendall(b"hi")
    assert_type(s.recv(2), bytes)
    c.close()
    s.close()
    ln.close()


# -- goroutines and the runtime ------------------------------------------------------

async def fetch(n: int) -> bytes:
    await asyncio.sleep(0)
    return b"x" * n


def in_goroutine() -> None:
    assert_type(gmploop.await_(fetch(3)), bytes)
    assert_type(gmploop.await_(asyncio.sleep(0, "r")), str)
    assert_type(gmploop.blocking(work, 2), str)
    assert_type(gmploop.blocking(len, "abc"), int)
    me = gmploop.current()
    assert_type(me, Goroutine[Any] | None)
    assert me is not None
    assert_type(me.id, int)
    assert_type(me.name, str)
    assert_type(me.done(), bool)
    assert_type(me.cancel(), bool)
    assert_type(gmploop.lowlevel.park("waiting"), Any)
    gmploop.lowlevel.ready(me, 1)
    assert_type(gmploop.num_goroutine(), int)
    assert_type(gmploop.set_max_procs(0), int)
    assert_type(gmploop.stats(), dict[str, Any])
    g = gmploop.go(work, 1)
    assert_type(g.join(timeout=1.0), str)
    g2: Goroutine[str] = gmploop.go(lambda: "s")
    assert_type(g2.join(), str)


# -- asyncio ----------------------------------------------------------------------------

async def amain() -> int:
    ch = Chan[int](1)
    assert_type(ch, Chan[int])
    await ch.asend(1)
    assert_type(await ch.arecv(), int)
    assert_type(await ch.arecv_ok(timeout=1), tuple[int | None, bool])
    async for v in ch:
        assert_type(v, int)
    g = gmploop.go(work, 1)
    assert_type(await g, str)
    assert_type(await g.ajoin(timeout=1), str)
    assert_type(await asyncio.wait_for(g, 1), str)
    return 0


assert_type(gmploop.new_event_loop(), gmploop.GMPEventLoop)
with asyncio.Runner(loop_factory=gmploop.new_event_loop) as runner:
    assert_type(runner.run(amain()), int)
