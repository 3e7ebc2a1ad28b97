"""Real asyncio applications, unchanged, on gmploop's loop: an aiohttp server
and client, and a Starlette app served by uvicorn and queried over HTTP by
httpx. Everything listens on 127.0.0.1 with port 0; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

import gmploop

aiohttp = pytest.importorskip("aiohttp")
from aiohttp import web  # noqa: E402

T = 30.0


@pytest.fixture(params=[1, 4], ids=["procs1", "procs4"])
def grun(request):
    """``grun(coro)``: gmploop.run(coro) at 1 and 4 processors, bounded."""
    def _run(coro):
        async def main():
            return await asyncio.wait_for(coro, T)
        return gmploop.run(main(), procs=request.param)
    return _run


# --------------------------------------------------------------------------
# aiohttp: server and client in one program
# --------------------------------------------------------------------------


def make_aiohttp_app() -> web.Application:
    async def hello(request):
        return web.json_response({"hello": request.match_info["name"],
                                  "loop": type(asyncio.get_running_loop()).__name__})

    async def echo(request):
        return web.Response(body=(await request.read())[::-1])

    async def fanout(request):
        # A handler that hands work to goroutines and awaits them.
        n = int(request.query["n"])
        gs = [gmploop.go(lambda i=i: i * i) for i in range(n)]
        return web.json_response({"sum": sum([await g for g in gs])})

    async def ws(request):
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        async for msg in sock:
            await sock.send_str(msg.data.upper())
        return sock

    app = web.Application()
    app.router.add_get("/hello/{name}", hello)
    app.router.add_post("/echo", echo)
    app.router.add_get("/fanout", fanout)
    app.router.add_get("/ws", ws)
    return app


def test_aiohttp_server_and_client(grun):
    async def main():
        runner = web.AppRunner(make_aiohttp_app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        out = {}
        try:
            timeout = aiohttp.ClientTimeout(total=T)
            async with aiohttp.ClientSession(timeout=timeout) as s:
                async with s.get(f"{base}/hello/gmp") as r:
                    out["hello"] = (r.status, await r.json())

                async def post(i):
                    async with s.post(f"{base}/echo", data=f"body{i}".encode()) as r:
                        return await r.read()

                out["echo"] = await asyncio.gather(*(post(i) for i in range(50)))
                async with s.get(f"{base}/fanout", params={"n": "100"}) as r:
                    out["fanout"] = await r.json()
                async with s.ws_connect(f"{base}/ws") as sock:
                    await sock.send_str("ws ok")
                    out["ws"] = (await sock.receive(timeout=T)).data
                async with s.get(f"{base}/missing") as r:
                    out["404"] = r.status
        finally:
            await runner.cleanup()
        return out

    out = grun(main())
    assert out["hello"] == (200, {"hello": "gmp", "loop": "GMPEventLoop"})
    assert out["echo"] == [f"body{i}".encode()[::-1] for i in range(50)]
    assert out["fanout"] == {"sum": sum(i * i for i in range(100))}
    assert out["ws"] == "WS OK" and out["404"] == 404


# --------------------------------------------------------------------------
# Starlette on uvicorn, queried by httpx
# --------------------------------------------------------------------------


def make_starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def home(request):
        return JSONResponse({"loop": type(asyncio.get_running_loop()).__name__})

    async def work(request):
        # Hand the request to a goroutine over a channel; await the reply.
        reply = gmploop.Chan(1)
        await request.app.state.jobs.asend((int(request.path_params["n"]), reply), timeout=T)
        return PlainTextResponse(str(await reply.arecv(timeout=T)))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        jobs = gmploop.Chan(64)

        def worker():
            for n, reply in jobs:
                reply.send(sum(range(n)), timeout=T)

        app.state.jobs = jobs
        workers = [gmploop.go(worker) for _ in range(4)]
        yield
        jobs.close()
        for g in workers:
            await g

    return Starlette(routes=[Route("/", home), Route("/work/{n:int}", work)],
                     lifespan=lifespan)


def test_starlette_on_uvicorn_inside_gmploop_run(grun):
    httpx = pytest.importorskip("httpx")
    uvicorn = pytest.importorskip("uvicorn")

    async def main():
        config = uvicorn.Config(make_starlette_app(), host="127.0.0.1", port=0,
                                loop="none", log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.005)
            port = server.servers[0].sockets[0].getsockname()[1]
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         timeout=T) as client:
                home = (await client.get("/")).json()
                works = await asyncio.gather(*(client.get(f"/work/{n}") for n in range(40)))
        finally:
            server.should_exit = True
            await serving
        return home, [int(r.text) for r in works]

    home, works = grun(main())
    assert home == {"loop": "GMPEventLoop"}
    assert works == [sum(range(n)) for n in range(40)]


def test_uvicorn_run_with_gmploop_loop_factory():
    """``uvicorn --loop gmploop:new_event_loop`` (uvicorn >= 0.36): uvicorn
    makes the loop itself through the factory, on the main thread; a client
    thread queries it and asks it to stop."""
    httpx = pytest.importorskip("httpx")
    uvicorn = pytest.importorskip("uvicorn")
    config = uvicorn.Config(make_starlette_app(), host="127.0.0.1", port=0,
                            loop="gmploop:new_event_loop", log_level="warning")
    if config.get_loop_factory() is not gmploop.new_event_loop:
        pytest.skip("this uvicorn takes no custom loop factory (needs >= 0.36)")
    server = uvicorn.Server(config)
    result: dict = {}

    def client():
        try:
            for _ in range(int(T / 0.01)):
                if server.started or server.should_exit:
                    break
                threading.Event().wait(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=T) as c:
                result["home"] = c.get("/").json()
                result["work"] = c.get("/work/10").text
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            result["error"] = repr(e)
        finally:
            server.should_exit = True

    t = threading.Thread(target=client)
    t.start()
    server.run()  # returns once should_exit is set
    t.join(T)
    assert result == {"home": {"loop": "GMPEventLoop"}, "work": str(sum(range(10)))}
