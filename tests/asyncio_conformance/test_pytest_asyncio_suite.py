"""A pytest-asyncio suite run by pytest-asyncio itself on the stdlib loop and on
gmploop's (the factories come from this directory's conftest.py): async tests,
async fixtures, and goroutines inside them."""

import asyncio

import pytest
import pytest_asyncio

import gmploop

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def echo_server():
    async def handle(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_runs_on_the_configured_loop(request):
    loop = asyncio.get_running_loop()
    name = request.node.callspec.id
    if name.startswith("gmploop"):
        assert isinstance(loop, gmploop.GMPEventLoop)
        assert loop.procs == 4 if "procs4" in name else loop.procs >= 1
    else:
        assert not isinstance(loop, gmploop.GMPEventLoop)


async def test_async_fixture_shares_the_loop(echo_server):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", echo_server), 10)
    writer.write(b"ping\n")
    assert await asyncio.wait_for(reader.readline(), 10) == b"ping\n"
    writer.close()
    await writer.wait_closed()


async def test_goroutines_inside_a_pytest_asyncio_test():
    # On gmploop's loop the goroutine runs on the loop's runtime; on the stdlib
    # loop, on the background runtime, and the channel wakes the coroutine
    # across threads.
    ch = gmploop.Chan()

    def producer():
        for i in range(10):
            ch.send(i, timeout=10)
        ch.close()

    g = gmploop.go(producer)
    assert [v async for v in ch] == list(range(10))
    await asyncio.wait_for(g.ajoin(), 10)


async def test_wait_for_and_gather():
    async def double(x):
        await asyncio.sleep(0)
        return 2 * x

    assert await asyncio.wait_for(asyncio.gather(*(double(i) for i in range(20))), 10) == \
        [2 * i for i in range(20)]
