"""An asyncio web app (aiohttp) whose handlers fan work out to goroutines.

aiohttp runs on gmploop's event loop, unchanged. A handler starts goroutines
with ``gmploop.go``, and waits for them without blocking the loop: ``await g``,
``await ch.arecv()``, ``await gmploop.aselect(...)``. The goroutines are plain
functions that block on channels and timers; they run on all processors.

Routes:
  /primes?n=N&parts=K   count primes below N: K goroutines take a slice each
                        and send their counts over a channel
  /search?q=Q           Go's "replicated search" pattern (Rob Pike, "Go
                        Concurrency Patterns"): ask three replicas of each of
                        two backends at once, keep the first answer of each,
                        give up after --budget seconds
  /stats                gmploop.stats() as JSON

By default it starts the server on 127.0.0.1 (a free port), queries it with an
aiohttp client, prints the answers and stops. ``--serve`` keeps serving.

    python examples/web_app.py
    python examples/web_app.py --serve --port 8080   # then: curl 'localhost:8080/primes?n=100000'
    python -m gmploop examples/web_app.py

Needs aiohttp (``pip install aiohttp``; part of the ``test`` extra).
"""

import argparse
import asyncio
import random
import time

from aiohttp import ClientSession, web

import gmploop
from gmploop import Recv


def count_primes(lo: int, hi: int) -> int:
    """Primes in [lo, hi), by trial division: a CPU-bound goroutine body."""
    n = 0
    for k in range(max(lo, 2), hi):
        if k < 4:
            n += 1
            continue
        if k % 2 == 0:
            continue
        d = 3
        while d * d <= k:
            if k % d == 0:
                break
            d += 2
        else:
            n += 1
    return n


async def primes(request: web.Request) -> web.Response:
    n = int(request.query.get("n", "10000"))
    parts = int(request.query.get("parts", "4"))
    if not 0 <= n <= 2_000_000 or not 1 <= parts <= 1000:
        raise web.HTTPBadRequest(text="n in 0..2000000, parts in 1..1000")
    results = gmploop.Chan(parts)
    step = -(-n // parts) or 1

    def part(lo: int) -> None:
        results.send(count_primes(lo, min(lo + step, n)))

    for lo in range(0, n, step):
        gmploop.go(part, lo)
    total = 0
    for _ in range(0, n, step):
        total += await results.arecv()
    return web.json_response({"n": n, "parts": parts, "primes": total})


def backend(kind: str, replica: int, query: str, out: gmploop.Chan) -> None:
    """A fake backend replica: answers after a random delay (timer-driven)."""
    gmploop.sleep(random.uniform(0.005, 0.08))
    out.try_send(f"{kind} result for {query!r} (replica {replica})")


async def search(request: web.Request) -> web.Response:
    query = request.query.get("q", "gopher")
    budget = request.app["budget"]
    t0 = time.perf_counter()
    answers = gmploop.Chan(2)
    for kind in ("web", "image"):
        # first(): replicas race, the first answer wins (buffer 1, try_send).
        first = gmploop.Chan(1)
        for r in range(3):
            gmploop.go(backend, kind, r, query, first)
        gmploop.go(lambda c=first: answers.send(c.recv()))
    timeout = gmploop.after(budget)
    got = []
    while len(got) < 2:
        i, v, _ = await gmploop.aselect(Recv(answers), Recv(timeout))
        if i == 1:
            break  # timed out: answer with what we have
        got.append(v)
    ms = (time.perf_counter() - t0) * 1000
    return web.json_response({"q": query, "results": sorted(got), "ms": round(ms, 1)})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(gmploop.stats())


def make_app(budget: float) -> web.Application:
    app = web.Application()
    app["budget"] = budget
    app.add_routes([web.get("/primes", primes), web.get("/search", search),
                    web.get("/stats", stats)])
    return app


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(make_app(args.budget))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port picked for port 0
    base = f"http://127.0.0.1:{port}"
    print(f"serving on {base} ({type(loop).__name__}, {gmploop.stats()['procs']} procs)")
    try:
        if args.serve:
            await asyncio.Event().wait()  # until Ctrl-C
        async with ClientSession() as client:
            async def get(path: str) -> dict:
                async with client.get(base + path) as resp:
                    resp.raise_for_status()
                    return await resp.json()

            r = await get(f"/primes?n={args.n}&parts=8")
            print(f"/primes?n={args.n}: {r['primes']} primes, counted by {r['parts']} goroutines")
            # Ten searches at once: 10 handlers x 8 goroutines each, all concurrent.
            rs = await asyncio.gather(*(get(f"/search?q=q{i}") for i in range(10)))
            for r in rs[:3]:
                print(f"/search?q={r['q']}: {len(r['results'])} results in {r['ms']} ms: "
                      f"{'; '.join(r['results'])}")
            complete = sum(len(r["results"]) == 2 for r in rs)
            print(f"... {len(rs)} searches, {complete} complete within the "
                  f"{args.budget * 1000:.0f} ms budget")
            s = await get("/stats")
            print(f"/stats: created {s['created']} goroutines, {s['goroutines']} alive")
    finally:
        await runner.cleanup()


def cli() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="aiohttp app fanning out to goroutines")
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--serve", action="store_true", help="keep serving (Ctrl-C stops)")
    ap.add_argument("-n", type=int, default=20000, help="/primes query's n")
    ap.add_argument("--budget", type=float, default=0.5, help="/search time budget, s")
    return ap.parse_args()


if __name__ == "__main__":
    try:
        gmploop.run(main(cli()))
    except KeyboardInterrupt:
        pass
