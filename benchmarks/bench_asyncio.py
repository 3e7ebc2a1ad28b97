"""asyncio on gmploop's loop against uvloop and the stdlib loop (issue 3).

Workloads, each measured in fresh processes, all loops in the same run:

- ``spawn``  create N=100k tasks (``create_task`` of a coroutine that awaits
             ``sleep(0)`` once) and ``gather`` them; ns per task. The clock runs
             inside the coroutine (loop start-up is not timed).
- ``echo``   an asyncio streams TCP echo server (``start_server``, ``read``/
             ``write``/``drain``) on the loop under test; C=100 connections each
             send 1 KiB and wait for it back (closed loop), requests/s over a
             short window, plus the server's CPU time per request.
- ``mixed``  an asyncio streams server whose handler hands each request (1 KiB)
             to a pool of W=8 workers and awaits the reply (a 32-byte SHA-256 of
             the request repeated 64 times, i.e. 64 KiB hashed: ~40 us of C
             that releases the GIL). gmploop: workers are goroutines, the hand-off
             is ``await jobs.asend((data, reply))`` / ``await reply.arecv()`` on
             gmploop channels, at procs=1 and procs=4. Baseline: the same
             program with worker *tasks*, an ``asyncio.Queue`` and a Future per
             reply, on uvloop (and on the stdlib loop).

Targets (issue 3): spawn and echo >= 0.9x uvloop; mixed faster than the
asyncio.Queue program on uvloop. Reported, never asserted.

The load generator is one separate process running uvloop with
``asyncio.Protocol`` clients, the same for every server. On a small shared
machine the generator and the server share the CPUs: compare the ratios
inside one run, and the CPU time per request, which depends far less on the
rest of the machine than requests/s.

    python benchmarks/bench_asyncio.py [--quick] [--reps 3] [--duration 2]
        [--only spawn,echo,mixed] [--json out.json] [--markdown out.md]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _common as C  # noqa: E402

LOOPS = ["gmploop", "uvloop", "asyncio"]
MIXED = ["gmploop p=1", "gmploop p=4", "uvloop Queue", "asyncio Queue"]
MIXED_BASELINE = "uvloop Queue"
WORK_REPEAT = 64  # mixed: each request hashes the 1 KiB request x this (--work)
WORKERS = 8


def loop_factory(name: str, procs: int = 1):
    import asyncio
    if name == "gmploop":
        import gmploop
        return lambda: gmploop.new_event_loop(procs=procs)
    if name == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    return asyncio.SelectorEventLoop


def arun(coro, factory):
    import asyncio
    with asyncio.Runner(loop_factory=factory) as r:
        return r.run(coro)


# ==========================================================================
# spawn + gather (worker process: --worker spawn --loop L --n N)
# ==========================================================================


def work_spawn(loop: str, n: int, reps: int) -> dict:
    import asyncio
    import gc

    async def child() -> None:
        await asyncio.sleep(0)

    async def main() -> float:
        t0 = C.now()
        ts = [asyncio.create_task(child()) for _ in range(n)]
        await asyncio.gather(*ts)
        return C.now() - t0

    times = []
    for _ in range(reps):
        gc.collect()
        times.append(arun(main(), loop_factory(loop)))
    return {"ns": [t / n * 1e9 for t in times]}


# ==========================================================================
# Servers (child process: --serve KIND). Print "PORT <n>", serve until killed.
# ==========================================================================


def _announce(port: int) -> None:
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()


async def _echo_main() -> None:
    import asyncio

    async def handler(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    _announce(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _digest(data: bytes) -> bytes:
    import hashlib
    return hashlib.sha256(data * WORK_REPEAT).digest()  # releases the GIL (>= 2 KiB)


async def _mixed_server(submit, size: int) -> None:
    """The asyncio side, shared by both programs: read a request, ``submit``
    it to the workers, write the reply."""
    import asyncio

    async def handler(reader, writer) -> None:
        try:
            while True:
                data = await reader.readexactly(size)
                writer.write(await submit(data))
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    _announce(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


async def _mixed_gmploop(size: int) -> None:
    import gmploop

    jobs = gmploop.Chan(64)

    def worker() -> None:  # a goroutine
        for data, reply in jobs:
            reply.send(_digest(data))

    for _ in range(WORKERS):
        gmploop.go(worker)

    async def submit(data: bytes) -> bytes:
        reply = gmploop.Chan(1)
        await jobs.asend((data, reply))
        return await reply.arecv()

    await _mixed_server(submit, size)


async def _mixed_queue(size: int) -> None:
    import asyncio

    jobs: asyncio.Queue = asyncio.Queue(64)
    loop = asyncio.get_running_loop()

    async def worker() -> None:  # a task
        while True:
            data, reply = await jobs.get()
            reply.set_result(_digest(data))

    workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]  # noqa: F841

    async def submit(data: bytes) -> bytes:
        reply = loop.create_future()
        await jobs.put((data, reply))
        return await reply

    await _mixed_server(submit, size)


def serve(kind: str, size: int, work: int) -> None:
    import warnings
    global WORK_REPEAT
    WORK_REPEAT = work
    warnings.simplefilter("ignore", RuntimeWarning)  # sysmon reports, if any
    if kind.startswith("echo:"):
        arun(_echo_main(), loop_factory(kind[5:]))
    elif kind == "mixed:gmploop p=1":
        arun(_mixed_gmploop(size), loop_factory("gmploop", 1))
    elif kind == "mixed:gmploop p=4":
        arun(_mixed_gmploop(size), loop_factory("gmploop", 4))
    elif kind == "mixed:uvloop Queue":
        arun(_mixed_queue(size), loop_factory("uvloop"))
    elif kind == "mixed:asyncio Queue":
        arun(_mixed_queue(size), loop_factory("asyncio"))
    else:
        raise SystemExit(f"unknown server {kind!r}")


# ==========================================================================
# Load generator (child process: --client)
# ==========================================================================


def run_client(port: int, conns: int, size: int, resp: int, warmup: float,
               duration: float) -> dict:
    import asyncio

    import uvloop

    msg = bytes(i & 0xFF for i in range(size))
    counted = [0]
    total = [0]
    perf = time.perf_counter

    class Client(asyncio.Protocol):
        def __init__(self, t_start: float, t_stop: float, done) -> None:
            self.t_start, self.t_stop, self.done = t_start, t_stop, done
            self.got = 0
            self.ok = True

        def connection_made(self, transport) -> None:
            self.transport = transport
            transport.write(msg)

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got < resp:
                return
            if self.got > resp:
                self.ok = False
            self.got = 0
            t = perf()
            total[0] += 1
            if t >= self.t_start:
                counted[0] += 1
            if t < self.t_stop:
                self.transport.write(msg)
            else:
                self.transport.close()

        def connection_lost(self, exc) -> None:
            if not self.done.done():
                self.done.set_result(self.ok and perf() >= self.t_stop)

    async def main() -> bool:
        loop = asyncio.get_running_loop()
        t_start = perf() + warmup
        t_stop = t_start + duration
        dones = []
        for _ in range(conns):
            fut = loop.create_future()
            dones.append(fut)
            await loop.create_connection(lambda f=fut: Client(t_start, t_stop, f),
                                         "127.0.0.1", port)
        oks = await asyncio.wait_for(asyncio.gather(*dones), warmup + duration + 30)
        return all(oks)

    ok = arun(main(), uvloop.new_event_loop)
    return {"ok": ok, "requests": counted[0], "total": total[0], "rps": counted[0] / duration}


# ==========================================================================
# Orchestration
# ==========================================================================


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def server_round(kind: str, conns: int, size: int, resp: int, warmup: float,
                 duration: float, work: int = WORK_REPEAT) -> dict:
    """Start the server ``kind``, run one client against it, stop it."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", kind,
                          "--size", str(size), "--work", str(work)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=C.REPO)
    try:
        line = p.stdout.readline()
        if not line.startswith("PORT "):
            p.kill()
            err = (p.stderr.read().strip().splitlines() or ["no output"])[-1]
            return {"error": f"server failed: {err[:160]}"}
        port = int(line.split()[1])
        cpu0 = proc_cpu(p.pid)
        r = C.run_worker([sys.executable, os.path.abspath(__file__), "--client",
                          "--port", str(port), "--conns", str(conns), "--size", str(size),
                          "--resp", str(resp), "--warmup", str(warmup),
                          "--duration", str(duration)], timeout=warmup + duration + 60)
        cpu1 = proc_cpu(p.pid)
        if "error" not in r and cpu0 is not None and cpu1 is not None and r.get("total"):
            r["cpu_us"] = (cpu1 - cpu0) / r["total"] * 1e6
        return r
    finally:
        p.send_signal(signal.SIGKILL)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        p.stdout.close()
        p.stderr.close()


def median_of(rounds: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rounds if r.get(key) is not None and "error" not in r]
    return C.median(vals) if vals else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 round: seconds")
    ap.add_argument("--only", default="spawn,echo,mixed")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=100_000, help="spawn: tasks")
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--work", type=int, default=WORK_REPEAT,
                    help="mixed: hash the request x WORK per request (64: ~40 us)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None)
    # child modes
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--loop", help=argparse.SUPPRESS)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--resp", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker == "spawn":
        C.emit(work_spawn(args.loop, args.n, args.reps))
    if args.serve:
        serve(args.serve, args.size, args.work)
        return 0
    if args.client:
        C.emit(run_client(args.port, args.conns, args.size, args.resp, args.warmup,
                          args.duration))

    if args.quick:
        args.n, args.reps, args.duration, args.warmup, args.conns = 5000, 1, 0.5, 0.2, 20
    only = set(args.only.split(","))
    facts = C.machine_facts()
    report: dict = {"facts": facts, "params": {
        "n": args.n, "reps": args.reps, "conns": args.conns, "size": args.size,
        "duration": args.duration, "warmup": args.warmup, "workers": WORKERS,
        "work": f"sha256 of the request x {args.work}"}}
    rows = []

    if "spawn" in only:
        res = {}
        for lp in LOOPS:
            res[lp] = C.run_worker([sys.executable, os.path.abspath(__file__), "--worker",
                                    "spawn", "--loop", lp, "--n", str(args.n),
                                    "--reps", str(args.reps)], timeout=600)
        report["spawn"] = res
        med = {lp: (C.median(r["ns"]) if "ns" in r else None) for lp, r in res.items()}
        for lp in LOOPS:
            rows.append([f"spawn+gather {args.n:,} tasks (ns/task)", lp,
                         C.fmt_value(med[lp], "ns") if med[lp] else res[lp].get("error", "-"),
                         "-", _ratio(med["uvloop"], med[lp], lower_better=True)])

    def rounds_for(kinds: list[str], resp: int) -> dict:
        out: dict = {k: [] for k in kinds}
        for _ in range(args.reps):  # interleave: drift hits every server alike
            for k in kinds:
                out[k].append(server_round(k, args.conns, args.size, resp, args.warmup,
                                           args.duration, args.work))
        return out

    if "echo" in only:
        res = rounds_for([f"echo:{lp}" for lp in LOOPS], args.size)
        report["echo"] = res
        rps = {k: median_of(v, "rps") for k, v in res.items()}
        cpu = {k: median_of(v, "cpu_us") for k, v in res.items()}
        for lp in LOOPS:
            k = f"echo:{lp}"
            rows.append([f"streams echo {args.conns} conns x {args.size} B (req/s)", lp,
                         _num(rps[k]), _us(cpu[k]),
                         _ratio(rps["echo:uvloop"], rps[k], lower_better=False)])

    if "mixed" in only:
        res = rounds_for([f"mixed:{m}" for m in MIXED], 32)
        report["mixed"] = res
        rps = {k: median_of(v, "rps") for k, v in res.items()}
        cpu = {k: median_of(v, "cpu_us") for k, v in res.items()}
        base = rps[f"mixed:{MIXED_BASELINE}"]
        for m in MIXED:
            k = f"mixed:{m}"
            rows.append([f"mixed: {WORKERS} workers, {args.size * args.work // 1024} KiB "
                         f"hashed/req (req/s)", m, _num(rps[k]),
                         _us(cpu[k]), _ratio(base, rps[k], lower_better=False)])

    headers = ["workload", "system", "result", "server CPU/req", "vs uvloop"]
    print(C.text_table(headers, rows))
    print(f"\n{facts['date']}, {facts['cpu']} x{facts['cpus']}, {facts['python']}, "
          f"uvloop {facts['uvloop']}, gmploop {facts['gmploop']}, load {facts['loadavg_start']}")
    report["rows"] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(C.markdown_table(headers, rows) + "\n")
    return 0


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _us(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} µs"


def _ratio(base: float | None, v: float | None, lower_better: bool) -> str:
    """gmploop-style ratio vs uvloop: >1 means better than uvloop."""
    if not base or not v:
        return "-"
    r = base / v if lower_better else v / base
    return f"{r:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
