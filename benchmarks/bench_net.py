"""TCP echo: gmploop.net (a goroutine per connection) against the servers a
user would write instead, driven by a load generator in a separate process.

Workload (issue 5): each of C concurrent connections (C = 10, 100) sends a
1 KiB message, waits for all of it to come back, and sends the next one
(closed loop, one request in flight per connection). Requests/s is completed
round trips per second over the measured window; latency percentiles are per
round trip, measured by the client.

Servers, each in its own process:

- ``gmploop``           ``gmploop.net``: ``listen`` + ``accept`` loop, ``go(handler)``
                        per connection, ``recv(65536)`` / ``sendall``; procs=1
                        (``--gmploop-procs`` to change).
- ``gmploop-asyncio``   asyncio streams on gmploop's own event loop
                        (``loop_factory=gmploop.new_event_loop``).
- ``asyncio``           asyncio streams (``start_server``, ``read``/``write``/
                        ``drain``) on the stdlib loop.
- ``uvloop-streams``    the same streams code on uvloop.
- ``uvloop-protocol``   an ``asyncio.Protocol`` whose ``data_received`` writes
                        back, on uvloop (the fastest Python echo server).
- ``gevent``            ``gevent.server.StreamServer``, ``recv``/``sendall``.
- ``go``                Go's ``net`` (goroutine per connection, GOMAXPROCS=1),
                        only when ``go`` is on PATH.

Load generator: one process running uvloop with ``asyncio.Protocol`` clients
(the cheapest client Python offers), the same for every server. On a small
machine the generator and the server share the CPUs, so absolute numbers are
bounded by both; the ratios between servers measured in one run are what
counts. The target (issue 5): gmploop at procs=1 >= 1.0x uvloop streams
requests/s.

    python benchmarks/bench_net.py [--duration 2] [--conns 10,100]
        [--servers gmploop,uvloop-streams,...] [--size 1024] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _common as C  # noqa: E402

SERVERS = ["gmploop", "gmploop-asyncio", "asyncio", "uvloop-streams",
           "uvloop-protocol", "gevent", "go"]
BASELINE = "uvloop-streams"

GO_SERVER = r"""
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 65536)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}(c)
	}
}
"""


# ==========================================================================
# Servers (run in a child process: ``--serve KIND``). Each prints
# "PORT <n>" once it listens, then serves until killed.
# ==========================================================================


def _arun(coro, loop_factory=None):
    """asyncio.run with a loop factory (Python 3.11 has it only on Runner)."""
    import asyncio
    with asyncio.Runner(loop_factory=loop_factory) as r:
        return r.run(coro)


def _announce(port: int) -> None:
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()


def serve_gmploop(procs: int) -> None:
    import warnings

    import gmploop
    from gmploop import net

    warnings.simplefilter("ignore", RuntimeWarning)  # sysmon reports, if any

    def handler(c: net.Conn) -> None:
        with c:
            recv, sendall = c.recv, c.sendall
            try:
                while True:
                    data = recv(65536)
                    if not data:
                        return
                    sendall(data)
            except OSError:
                return

    def main() -> None:
        ln = net.listen(("127.0.0.1", 0))
        _announce(ln.addr[1])
        go = gmploop.go
        while True:
            go(handler, ln.accept())

    gmploop.run(main, procs=procs)


async def _streams_main() -> None:
    import asyncio

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
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


def serve_streams(kind: str) -> None:
    import asyncio
    if kind == "asyncio":
        _arun(_streams_main())
    elif kind == "uvloop-streams":
        import uvloop
        _arun(_streams_main(), uvloop.new_event_loop)
    else:  # gmploop-asyncio
        import gmploop
        _arun(_streams_main(), gmploop.new_event_loop)


def serve_uvloop_protocol() -> None:
    import asyncio

    import uvloop

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        _announce(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    _arun(main(), uvloop.new_event_loop)


def serve_gevent() -> None:
    from gevent.server import StreamServer

    def handler(sock, addr) -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                sock.sendall(data)
        except OSError:
            return
        finally:
            sock.close()

    server = StreamServer(("127.0.0.1", 0), handler)
    server.start()
    _announce(server.server_port)
    server.serve_forever()


# ==========================================================================
# Load generator (a child process: ``--client``)
# ==========================================================================


def run_client(port: int, conns: int, size: int, warmup: float, duration: float) -> dict:
    import asyncio

    import uvloop

    msg = bytes(i & 0xFF for i in range(size))
    lat: list[float] = []
    total = [0]  # round trips including warm-up
    perf = time.perf_counter

    class Client(asyncio.Protocol):
        def __init__(self, t_start: float, t_stop: float, done: asyncio.Future) -> None:
            self.t_start, self.t_stop, self.done = t_start, t_stop, done
            self.got = 0
            self.t0 = 0.0
            self.ok = True

        def connection_made(self, transport: asyncio.Transport) -> None:
            self.transport = transport
            self.send()

        def send(self) -> None:
            self.got = 0
            self.t0 = perf()
            self.transport.write(msg)

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got < size:
                return
            if self.got > size:
                self.ok = False
            t = perf()
            total[0] += 1
            if t >= self.t_start:
                lat.append(t - self.t0)
            if t < self.t_stop:
                self.send()
            else:
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.done.done():
                self.done.set_result(self.ok and perf() >= self.t_stop)

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        t_start = perf() + warmup
        t_stop = t_start + duration
        dones = []
        for _ in range(conns):
            fut = loop.create_future()
            dones.append(fut)
            await loop.create_connection(
                lambda f=fut: Client(t_start, t_stop, f), "127.0.0.1", port)
        oks = await asyncio.wait_for(asyncio.gather(*dones), warmup + duration + 30)
        return {"ok": all(oks), "n": len(lat), "total": total[0]}

    res = _arun(main(), uvloop.new_event_loop)
    lat.sort()
    n = len(lat)

    def pct(q: float) -> float | None:
        return lat[min(n - 1, int(q * n))] if n else None

    return {"ok": res["ok"], "requests": n, "total": res["total"], "rps": n / duration,
            "p50": pct(0.50), "p99": pct(0.99), "max": lat[-1] if n else None}


# ==========================================================================
# Orchestration (the parent process: starts servers and clients)
# ==========================================================================


def start_server(kind: str, procs: int, tmp: str) -> tuple[subprocess.Popen | None, int | str]:
    if kind == "go":
        go = C.go_binary()
        if go is None:
            return None, "skipped: go is not on PATH"
        src = os.path.join(tmp, "echo.go")
        exe = os.path.join(tmp, "echo")
        with open(src, "w") as f:
            f.write(GO_SERVER)
        b = subprocess.run([go, "build", "-o", exe, src], capture_output=True, text=True,
                           timeout=300, cwd=tmp)
        if b.returncode != 0:
            return None, f"skipped: go build failed: {b.stderr.strip()[:100]}"
        cmd = [exe]
        env = dict(os.environ, GOMAXPROCS="1")
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", kind,
               "--gmploop-procs", str(procs)]
        env = dict(os.environ)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=C.REPO)
    line = p.stdout.readline()
    if not line.startswith("PORT "):
        p.kill()
        err = p.stderr.read().strip().splitlines()
        return None, f"failed: {(err or ['no output'])[-1][:100]}"
    return p, int(line.split()[1])


def stop_server(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGKILL)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
    for f in (p.stdout, p.stderr):
        if f is not None:
            f.close()


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measure(server: subprocess.Popen, port: int, conns: int, size: int, warmup: float,
            duration: float) -> dict:
    """One client run against ``server``; adds the server's CPU time per
    round trip (``cpu_us``), which, unlike requests/s, hardly depends on how
    busy the rest of the machine is."""
    cpu0 = proc_cpu(server.pid)
    r = _client(port, conns, size, warmup, duration)
    cpu1 = proc_cpu(server.pid)
    if "error" not in r and cpu0 is not None and cpu1 is not None and r.get("total"):
        r["cpu_us"] = (cpu1 - cpu0) / r["total"] * 1e6
    return r


def _client(port: int, conns: int, size: int, warmup: float, duration: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--client", "--port", str(port),
           "--conns", str(conns), "--size", str(size), "--warmup", str(warmup),
           "--duration", str(duration)]
    return C.run_worker(cmd, timeout=warmup + duration + 60)


def _median_result(rs: list[dict]) -> dict:
    """Per-key median over the rounds of one (server, conns) case."""
    out: dict = {"ok": all(r.get("ok", True) for r in rs), "rounds": rs}
    for k in ("rps", "p50", "p99", "cpu_us"):
        vals = [r[k] for r in rs if r.get(k) is not None]
        out[k] = C.median(vals) if vals else None
    return out


def fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", choices=SERVERS[:-1], help=argparse.SUPPRESS)
    ap.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--duration", type=float, default=2.0, help="seconds measured per case")
    ap.add_argument("--warmup", type=float, default=0.3, help="seconds before measuring")
    ap.add_argument("--conns", default="10,100", help="concurrent connections, comma list")
    ap.add_argument("--size", type=int, default=1024, help="message bytes")
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma list of servers")
    ap.add_argument("--reps", type=int, default=1,
                    help="rounds over all servers; the table shows medians")
    ap.add_argument("--gmploop-procs", type=int, default=1, help="procs of the gmploop server")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)

    if a.serve:
        if a.serve == "gmploop":
            serve_gmploop(a.gmploop_procs)
        elif a.serve in ("asyncio", "uvloop-streams", "gmploop-asyncio"):
            serve_streams(a.serve)
        elif a.serve == "uvloop-protocol":
            serve_uvloop_protocol()
        elif a.serve == "gevent":
            serve_gevent()
        return 0
    if a.client:
        C.emit(run_client(a.port, int(a.conns), a.size, a.warmup, a.duration))

    servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    bad = [s for s in servers if s not in SERVERS]
    if bad:
        ap.error(f"unknown server(s): {', '.join(bad)}; choose from {', '.join(SERVERS)}")
    conn_list = [int(x) for x in a.conns.split(",")]
    facts = C.machine_facts()
    print(f"TCP echo, {a.size} B messages, {a.duration:g} s per case "
          f"(+{a.warmup:g} s warm-up), {a.reps} round(s), medians; "
          "load generator: 1 uvloop process")
    print(f"{facts['cpu']} x{facts['cpus']}, {facts['python']}, load {' '.join(facts['loadavg_start'])}")
    results: dict[str, dict[int, dict]] = {}
    notes: list[str] = []
    runs: dict[str, dict[int, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.reps):  # rounds interleave the servers: drift hits all alike
            for kind in servers:
                if any(n.startswith(f"{kind}: ") for n in notes):
                    continue  # could not start in an earlier round
                proc, port = start_server(kind, a.gmploop_procs, tmp)
                if proc is None:
                    notes.append(f"{kind}: {port}")
                    continue
                try:
                    for c in conn_list:
                        r = measure(proc, port, c, a.size, a.warmup, a.duration)
                        if "error" in r:
                            notes.append(f"{kind} C={c} round {rnd + 1}: {r['error']}")
                        else:
                            runs.setdefault(kind, {}).setdefault(c, []).append(r)
                finally:
                    stop_server(proc)
    for kind, by_c in runs.items():
        for c, rs in by_c.items():
            results.setdefault(kind, {})[c] = _median_result(rs)

    headers = ["server", "conns", "req/s", "p50", "p99", f"vs {BASELINE}",
               "server CPU/req", f"CPU vs {BASELINE}"]
    rows = []
    for kind in servers:
        for c in conn_list:
            r = results.get(kind, {}).get(c)
            if r is None or "error" in r:
                continue
            bres = results.get(BASELINE, {}).get(c, {})
            base = bres.get("rps")
            ratio = f"{r['rps'] / base:.2f}x" if base else "-"
            cpu = r.get("cpu_us")
            bcpu = bres.get("cpu_us")
            cpu_s = f"{cpu:.1f} µs" if cpu else "-"
            # > 1: this server needs less CPU per round trip than the baseline
            cpu_ratio = f"{bcpu / cpu:.2f}x" if cpu and bcpu else "-"
            name = kind if kind != "gmploop" else f"gmploop procs={a.gmploop_procs}"
            if not r.get("ok", True):
                name += " (!)"
            rows.append([name, str(c), f"{r['rps']:,.0f}", fmt_ms(r["p50"]),
                         fmt_ms(r["p99"]), ratio, cpu_s, cpu_ratio])
    print()
    print(C.text_table(headers, rows))
    g = results.get("gmploop", {})
    b = results.get(BASELINE, {})
    print()
    for c in conn_list:
        if c in g and c in b and "rps" in g[c] and "rps" in b[c]:
            r = g[c]["rps"] / b[c]["rps"]
            verdict = "met" if r >= 1.0 else "NOT MET"
            print(f"target C={c}: gmploop procs={a.gmploop_procs} >= 1.0x {BASELINE} "
                  f"req/s: {r:.2f}x -> {verdict}")
    for n in notes:
        print(f"note: {n}")
    if any(not r.get("ok", True) for d in results.values() for r in d.values()):
        print("(!) a client saw a wrong byte count or its connection closed early")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": facts, "args": vars(a), "results": results,
                       "notes": notes}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
