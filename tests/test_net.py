"""gmploop.net: goroutine-aware TCP on the processors' pollers. Loopback only
(127.0.0.1 and ::1). Every wait is bounded: sockets carry timeouts, channel
receives carry timeouts, threads are joined with timeouts."""

import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import pytest

import gmploop
from gmploop import net

from support import CANCELLERS, T, cancel_from  # T: the bound on every wait (seconds)

HOSTS = ["127.0.0.1", "::1"]


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_V6 = _has_ipv6()


@pytest.fixture(params=HOSTS, ids=["v4", "v6"])
def host(request):
    if request.param == "::1" and not HAS_V6:
        pytest.skip("no IPv6 loopback on this machine")
    return request.param


def echo_handler(c, done):
    try:
        with c:
            c.settimeout(T)
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
    finally:
        done.send(None)


def serve(ln, done, nconns):
    """Accept ``nconns`` connections, one echo goroutine each; report each
    handler's end on ``done``."""
    for _ in range(nconns):
        c = ln.accept()
        gmploop.go(echo_handler, c, done)


def recv_exact(c, n):
    buf = bytearray()
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += d
    return bytes(buf)


# --------------------------------------------------------------------------
# Echo round trips
# --------------------------------------------------------------------------


def test_echo_100_concurrent_clients(run, host):
    N, ROUNDS = 100, 5

    def client(addr, i, out):
        with net.dial(addr, timeout=T) as c:
            c.settimeout(T)
            for k in range(ROUNDS):
                msg = (b"%03d:%d|" % (i, k)) * 150  # ~1 KiB, distinct per client
                c.sendall(msg)
                assert recv_exact(c, len(msg)) == msg
        out.send(i)

    def main():
        done = gmploop.Chan(N)
        out = gmploop.Chan(N)
        with net.listen((host, 0)) as ln:
            ln.settimeout(T)
            gmploop.go(serve, ln, done, N)
            for i in range(N):
                gmploop.go(client, ln.addr, i, out)
            got = sorted(out.recv(timeout=T) for _ in range(N))
            for _ in range(N):
                done.recv(timeout=T)
        return got

    assert run(main) == list(range(N))


def test_string_addresses(run):
    addrs = ["127.0.0.1:0"] + (["[::1]:0"] if HAS_V6 else [])

    def main():
        res = []
        for a in addrs:
            with net.listen(a) as ln:
                host, port = ln.addr
                assert port > 0
                done = gmploop.Chan(1)
                gmploop.go(serve, ln, done, 1)
                target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                with net.dial(target, timeout=T) as c:
                    c.settimeout(T)
                    c.sendall(b"ping")
                    res.append((host, recv_exact(c, 4)))
                    assert c.remote_addr == (host, port)
                    assert c.local_addr[0] == host
                done.recv(timeout=T)
        return res

    expect = [("127.0.0.1", b"ping")] + ([("::1", b"ping")] if HAS_V6 else [])
    assert run(main) == expect


def test_large_transfer_backpressure(run, host):
    """sendall of 8 MiB to a reader that is slower than the sender: the
    sender parks on a full send buffer and resumes as the peer drains it."""
    SIZE = 8 << 20
    payload = bytes(range(256)) * (SIZE // 256)

    def reader(ln, out):
        with ln.accept() as c:
            c.settimeout(T)
            n = 0
            h = 0
            while True:
                d = c.recv(65536)
                if not d:
                    break
                h = zlib.crc32(d, h)
                n += len(d)
                gmploop.sleep(0)  # let the sender run between reads
            out.send((n, h))

    def main():
        out = gmploop.Chan(1)
        with net.listen((host, 0)) as ln:
            ln.settimeout(T)
            gmploop.go(reader, ln, out)
            with net.dial(ln.addr, timeout=T) as c:
                c.settimeout(T)
                c.sendall(memoryview(payload))
                c.close_write()
                return out.recv(timeout=T)

    n, h = run(main)
    assert n == SIZE
    assert h == zlib.crc32(payload)


def test_recv_into_and_bytearray(run):
    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            done = gmploop.Chan(1)
            gmploop.go(serve, ln, done, 1)
            with net.dial(ln.addr, timeout=T) as c:
                c.settimeout(T)
                c.sendall(bytearray(b"hello world"))
                buf = bytearray(64)
                n = 0
                while n < 11:
                    k = c.recv_into(memoryview(buf)[n:])
                    assert k > 0
                    n += k
                small = bytearray(3)
                c.sendall(b"xyz!")
                assert c.recv_into(small, 2) in (1, 2)
            done.recv(timeout=T)
            return bytes(buf[:n])

    assert run(main) == b"hello world"


# --------------------------------------------------------------------------
# EOF, half-close, reset
# --------------------------------------------------------------------------


def test_half_close_and_eof(run, host):
    """The client sends, half-closes, and still reads the server's reply; the
    server sees EOF (b"") after the data, replies, closes; the client then
    sees EOF too."""

    def server(ln, out):
        with ln.accept() as c:
            c.settimeout(T)
            data = b""
            while True:
                d = c.recv(1000)
                if not d:
                    break
                data += d
            assert c.recv(10) == b""  # EOF stays EOF
            c.sendall(b"got %d" % len(data))
        out.send(data)

    def main():
        out = gmploop.Chan(1)
        with net.listen((host, 0)) as ln:
            ln.settimeout(T)
            gmploop.go(server, ln, out)
            with net.dial(ln.addr, timeout=T) as c:
                c.settimeout(T)
                c.sendall(b"a" * 5000)
                c.close_write()
                reply = b""
                while True:
                    d = c.recv(100)
                    if not d:
                        break
                    reply += d
                with pytest.raises(OSError):
                    c.sendall(b"more")  # our write side is shut
            return reply, out.recv(timeout=T)

    reply, data = run(main)
    assert reply == b"got 5000"
    assert data == b"a" * 5000


def test_peer_reset(run, host):
    """A peer that resets the connection makes a parked recv raise
    ConnectionResetError (an OSError), and later sends fail."""

    def server(ln, out):
        with ln.accept() as c:
            c.settimeout(T)
            out.send("accepted")
            try:
                c.recv(100)
            except ConnectionResetError as e:
                out.send(e)
                return
            out.send("no error")

    def main():
        out = gmploop.Chan(2)
        with net.listen((host, 0)) as ln:
            ln.settimeout(T)
            gmploop.go(server, ln, out)
            c = net.dial(ln.addr, timeout=T)
            assert out.recv(timeout=T) == "accepted"
            gmploop.sleep(0.02)  # the server parks in recv
            raw = socket.socket(fileno=c.fileno())
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.detach()
            c.close()
            return out.recv(timeout=T)

    res = run(main)
    assert isinstance(res, ConnectionResetError), res


def test_send_to_reset_peer_fails(run):
    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            c = net.dial(ln.addr, timeout=T)
            s = ln.accept()
            raw = socket.socket(fileno=s.fileno())
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.detach()
            s.close()
            c.settimeout(T)
            try:
                for _ in range(1000):
                    c.sendall(b"x" * 65536)
                    gmploop.sleep(0.001)
            except OSError as e:
                return type(e)
            finally:
                c.close()
            return None

    exc = run(main)
    assert exc is not None and issubclass(exc, OSError)
    assert exc is not TimeoutError


# --------------------------------------------------------------------------
# A slow or silent client does not hold up the others
# --------------------------------------------------------------------------


def test_slow_client_does_not_block_others(run, host):
    """One client sends half a message and stalls; another floods the server
    without reading its replies (the handler parks in sendall). Meanwhile 20
    other clients get served."""
    N = 20

    def main():
        done = gmploop.Chan(N + 2)
        out = gmploop.Chan(N)
        with net.listen((host, 0)) as ln:
            ln.settimeout(T)
            gmploop.go(serve, ln, done, N + 2)
            stalled = net.dial(ln.addr, timeout=T)
            stalled.sendall(b"half a mess")
            flooder = net.dial(ln.addr, timeout=T)
            flooder.settimeout(T)

            def flood():
                try:
                    for _ in range(200):  # 12.8 MiB, far beyond socket buffers
                        flooder.sendall(b"f" * 65536)
                except OSError:
                    pass  # closed by main below

            fg = gmploop.go(flood)

            def client(i):
                with net.dial(ln.addr, timeout=T) as c:
                    c.settimeout(T)
                    msg = b"%d" % i * 100
                    c.sendall(msg)
                    out.send(recv_exact(c, len(msg)) == msg)

            for i in range(N):
                gmploop.go(client, i)
            ok = [out.recv(timeout=T) for _ in range(N)]
            assert not fg.done()  # the flooder is still stuck on backpressure
            stalled.close()
            flooder.close()
            fg.join(T)
            for _ in range(N + 2):
                done.recv(timeout=T)
        return ok

    assert run(main) == [True] * N


# --------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------


def test_timeouts(run, host):
    def main():
        with net.listen((host, 0)) as ln:
            ln.settimeout(0.05)
            with pytest.raises(TimeoutError):
                ln.accept()
            ln.settimeout(T)
            c = net.dial(ln.addr, timeout=T)
            s = ln.accept()
            with c, s:
                c.settimeout(0.05)
                t0 = time.monotonic()
                with pytest.raises(TimeoutError):
                    c.recv(10)
                waited = time.monotonic() - t0
                # the connection is still usable after a timeout
                c.settimeout(T)
                s.sendall(b"late")
                assert recv_exact(c, 4) == b"late"
                # timeout 0: would-block raises at once
                c.settimeout(0)
                with pytest.raises(TimeoutError):
                    c.recv(1)
                assert c.gettimeout() == 0
                # sendall to a peer that never reads times out
                c.settimeout(0.1)
                with pytest.raises(TimeoutError):
                    for _ in range(1000):
                        c.sendall(b"z" * 65536)
                return waited

    assert run(main) >= 0.04


def test_timeout_does_not_stall_other_goroutines(run):
    """A goroutine parked in recv with a timeout leaves its processor free."""

    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            c = net.dial(ln.addr, timeout=T)
            s = ln.accept()
            with c, s:
                c.settimeout(0.2)
                ticks = []
                stop = gmploop.Chan(1)

                def ticker():
                    while True:
                        try:
                            stop.recv(timeout=0.005)
                            return
                        except TimeoutError:
                            ticks.append(1)

                g = gmploop.go(ticker)
                with pytest.raises(TimeoutError):
                    c.recv(10)
                n = len(ticks)
                stop.send(None)
                g.join(T)
                return n

    assert run(main) >= 5


# --------------------------------------------------------------------------
# Close while blocked
# --------------------------------------------------------------------------


def test_close_wakes_accept_and_recv(run, host):
    def main():
        out = gmploop.Chan(4)
        ln = net.listen((host, 0))
        c = net.dial(ln.addr, timeout=T)
        s = ln.accept()

        def blocked(fn, *a):
            out.send("parked")
            try:
                fn(*a)
            except OSError as e:
                out.send(e)
                return
            out.send("returned")

        ln2 = net.listen((host, 0))
        gmploop.go(blocked, ln2.accept)
        gmploop.go(blocked, s.recv, 10)
        assert out.recv(timeout=T) == "parked"
        assert out.recv(timeout=T) == "parked"
        gmploop.sleep(0.02)  # both are parked in IO wait now
        ln2.close()
        s.close()
        res = [out.recv(timeout=T), out.recv(timeout=T)]
        c.close()
        ln.close()
        with pytest.raises(OSError):
            s.recv(1)
        with pytest.raises(OSError):
            ln2.accept()
        s.close()  # twice is fine
        return res

    res = run(main)
    assert all(type(e) is OSError for e in res), res


def test_close_from_plain_thread_wakes_goroutine(run):
    def main():
        out = gmploop.Chan(2)
        with net.listen(("127.0.0.1", 0)) as ln:
            c = net.dial(ln.addr, timeout=T)
            s = ln.accept()

            def reader():
                try:
                    s.recv(10)
                except OSError as e:
                    out.send(e)
                    return
                out.send("returned")

            g = gmploop.go(reader)
            gmploop.sleep(0.02)
            t = threading.Thread(target=s.close)
            t.start()
            res = out.recv(timeout=T)
            gmploop.blocking(t.join, T)
            g.join(T)
            c.close()
            return res

    assert type(run(main)) is OSError


def test_close_from_goroutine_wakes_plain_thread(run):
    """A thread blocked in accept/recv (thread context: poll) wakes with
    OSError when a goroutine closes the socket."""

    def main():
        out = gmploop.Chan(2)
        with net.listen(("127.0.0.1", 0)) as ln:
            c = net.dial(ln.addr, timeout=T)
            s = ln.accept()
            ln2 = net.listen(("127.0.0.1", 0))

            def blocked(fn, *a):
                try:
                    fn(*a)
                except OSError as e:
                    out.send(e)
                    return
                out.send("returned")

            ts = [threading.Thread(target=blocked, args=(s.recv, 10)),
                  threading.Thread(target=blocked, args=(ln2.accept,))]
            for t in ts:
                t.start()
            gmploop.sleep(0.05)
            s.close()
            ln2.close()
            res = [out.recv(timeout=T), out.recv(timeout=T)]
            for t in ts:
                gmploop.blocking(t.join, T)
            c.close()
            return res

    res = run(main)
    assert all(type(e) is OSError for e in res), res


# --------------------------------------------------------------------------
# Thread context
# --------------------------------------------------------------------------


def test_thread_clients_against_goroutine_server(run):
    """Plain threads use the same Conn API with blocking semantics."""
    N = 5

    def thread_client(addr, i, out):
        try:
            with net.dial(addr, timeout=T) as c:
                c.settimeout(T)
                msg = b"thread %d " % i * 50
                c.sendall(msg)
                out.send(recv_exact(c, len(msg)) == msg)
        except BaseException as e:  # noqa: BLE001 - reported to the test
            out.send(e)

    def main():
        done = gmploop.Chan(N)
        out = gmploop.Chan(N)
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            gmploop.go(serve, ln, done, N)
            ts = [threading.Thread(target=thread_client, args=(ln.addr, i, out))
                  for i in range(N)]
            for t in ts:
                t.start()
            res = [out.recv(timeout=T) for _ in range(N)]
            for t in ts:
                gmploop.blocking(t.join, T)
            for _ in range(N):
                done.recv(timeout=T)
        return res

    assert run(main) == [True] * N


def test_thread_context_timeout():
    with net.listen(("127.0.0.1", 0)) as ln:
        ln.settimeout(0.05)
        with pytest.raises(TimeoutError):
            ln.accept()
        with net.dial(ln.addr, timeout=T) as c:
            c.settimeout(0.05)
            ln.settimeout(T)
            with ln.accept() as s:
                with pytest.raises(TimeoutError):
                    c.recv(1)
                s.sendall(b"ok")
                c.settimeout(T)
                assert recv_exact(c, 2) == b"ok"


def test_blocking_call_on_loop_thread_raises():
    import asyncio

    async def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            with pytest.raises(RuntimeError, match="event loop"):
                ln.accept()

    asyncio.run(main())


# --------------------------------------------------------------------------
# An I/O wait is not a deadlock
# --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_io_wait_is_not_deadlock():
    """The only goroutine parks in accept with no timer and no other thread:
    deadlock detection must not fire, since the poller may wake it (here a
    child process connects after a while)."""
    child = ("import socket, sys, time\n"
             "time.sleep(0.2)\n"
             "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
             "s.sendall(b'hi'); s.close()\n")

    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            proc = subprocess.Popen([sys.executable, "-c", child, str(ln.addr[1])])
            try:
                with ln.accept() as c:
                    data = c.recv(2)
            finally:
                proc.wait(T)  # runs on P0's thread: the child has already connected
            return data

    assert gmploop.run(main, procs=1) == b"hi"


# --------------------------------------------------------------------------
# Bad arguments, misc
# --------------------------------------------------------------------------


def test_bad_arguments():
    with pytest.raises(TypeError, match="address"):
        net.listen(8080)
    with pytest.raises(ValueError, match="address"):
        net.listen("localhost")
    with pytest.raises(ValueError, match="address"):
        net.listen("::1:80")
    with pytest.raises(ValueError, match="address"):
        net.listen("127.0.0.1:http")
    with pytest.raises(ValueError, match="port"):
        net.listen(("127.0.0.1", 70000))
    with pytest.raises(TypeError, match="port"):
        net.listen(("127.0.0.1", "80"))
    with pytest.raises(TypeError, match="host"):
        net.listen((1, 80))
    with pytest.raises(TypeError, match="backlog"):
        net.listen(("127.0.0.1", 0), backlog="x")
    with pytest.raises(ValueError, match="backlog"):
        net.listen(("127.0.0.1", 0), backlog=-1)
    with pytest.raises(TypeError, match="timeout"):
        net.dial(("127.0.0.1", 1), timeout="1")
    with pytest.raises(ValueError, match="timeout"):
        net.dial(("127.0.0.1", 1), timeout=-1)
    with net.listen(("127.0.0.1", 0)) as ln:
        with pytest.raises(ValueError, match="seconds"):
            ln.settimeout(-1)
        with net.dial(ln.addr, timeout=T) as c:
            with pytest.raises(TypeError, match="n"):
                c.recv("10")
            with pytest.raises(ValueError, match="n"):
                c.recv(-1)
            with pytest.raises(TypeError, match="seconds"):
                c.settimeout("1")
            with pytest.raises(ValueError, match="seconds"):
                c.settimeout(float("nan"))
            with pytest.raises(TypeError, match="data"):
                c.sendall(123)
            with pytest.raises(TypeError, match="data"):
                c.sendall("text")
            with pytest.raises(TypeError, match="buf"):
                c.recv_into(b"readonly")
            with pytest.raises(TypeError, match="buf"):
                c.recv_into(5)
        ln.accept().close()


def test_dial_refused():
    with net.listen(("127.0.0.1", 0)) as ln:
        addr = ln.addr
    with pytest.raises(ConnectionRefusedError):
        net.dial(addr, timeout=T)

    def main():
        with pytest.raises(ConnectionRefusedError):
            net.dial(addr, timeout=T)
        return True

    assert gmploop.run(main, procs=1)


def test_dial_by_name(run):
    """A host name goes through getaddrinfo (off the processor, via blocking())."""

    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            with net.dial(f"localhost:{ln.addr[1]}", timeout=T) as c:
                with ln.accept() as s:
                    s.sendall(b"hey")
                    c.settimeout(T)
                    return recv_exact(c, 3)

    assert run(main) == b"hey"


def test_fileno_repr_closed_and_context_manager():
    with net.listen(("127.0.0.1", 0)) as ln:
        assert isinstance(ln.fileno(), int) and ln.fileno() >= 0
        assert "Listener" in repr(ln)
        c = net.dial(ln.addr, timeout=T)
        with c:
            assert c.fileno() >= 0
            assert "Conn" in repr(c)
            assert not c.closed
        assert c.closed
        assert c.fileno() == -1
        with pytest.raises(OSError):
            c.sendall(b"x")
        with pytest.raises(OSError):
            c.recv(1)
        with pytest.raises(OSError):
            c.close_write()
    assert ln.closed
    with pytest.raises(OSError):
        ln.accept()
    assert type(net.Conn).__name__ == "type"
    assert net.Conn.__module__ == "gmploop.net"
    assert all(getattr(net, n).__doc__ for n in net.__all__)


def test_conn_shared_between_processors():
    """One goroutine reads and another writes the same Conn; with procs=4
    they may sit on different processors (different pollers)."""

    def main():
        N = 200
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            done = gmploop.Chan(1)
            gmploop.go(serve, ln, done, 1)
            c = net.dial(ln.addr, timeout=T)
            c.settimeout(T)
            got = gmploop.Chan(1)

            def writer():
                for i in range(N):
                    c.sendall(b"%08d" % i)

            def reader():
                got.send(recv_exact(c, 8 * N))

            gmploop.go(reader)
            gmploop.go(writer)
            data = got.recv(timeout=T)
            c.close()
            done.recv(timeout=T)
            return data

    assert gmploop.run(main, procs=4) == b"".join(b"%08d" % i for i in range(200))


# --------------------------------------------------------------------------
# Poller registrations and fd lifetime (white box: Conn._regs / _refs)
# --------------------------------------------------------------------------


def test_data_already_there_beats_short_timeout(run):
    """After a short read (which makes the next read wait for readiness
    first), data that is already there is returned even with a tiny timeout."""

    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            with net.dial(ln.addr, timeout=T) as c, ln.accept() as s:
                s.sendall(b"ab")
                c.settimeout(T)
                first = c.recv(100)  # a short read: b"ab" (or b"a")
                s.sendall(b"cd")
                gmploop.sleep(0.05)  # "cd" is in c's receive buffer now
                c.settimeout(0.000001)
                got = c.recv(100)
                c.settimeout(0)
                s.sendall(b"ef")
                gmploop.sleep(0.05)
                got0 = c.recv(100)
                return first + got, got0

    got, got0 = run(main)
    assert got == b"abcd"
    assert got0 == b"ef"


def test_unread_data_drops_the_registration(run):
    """A goroutine that stops reading while data keeps arriving must not keep
    its processor's poller calling back forever: the lazy registration goes."""

    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            with net.dial(ln.addr, timeout=T) as c, ln.accept() as s:
                s.settimeout(T)
                c.sendall(b"first")
                assert s.recv(100) == b"first"  # s parked on readiness once
                c.sendall(b"unread")  # s never reads this
                deadline = time.monotonic() + T
                while s._regs and time.monotonic() < deadline:
                    gmploop.sleep(0.005)
                return len(s._regs)

    assert run(main) == 0


def test_close_from_thread_releases_fd_and_registrations():
    """close() from a plain thread while a processor still has the fd
    registered: the registration is dropped on that processor's thread and
    only then is the OS socket closed."""

    def main():
        with net.listen(("127.0.0.1", 0)) as ln:
            ln.settimeout(T)
            c = net.dial(ln.addr, timeout=T)
            s = ln.accept()
            with c:
                s.settimeout(T)
                g = gmploop.go(s.recv, 10)
                gmploop.sleep(0.02)  # parked: s is registered on this P
                assert s._regs
                c.sendall(b"x")
                assert g.join(T) == b"x"
                raw = s._sock
                t = threading.Thread(target=s.close)
                t.start()
                gmploop.blocking(t.join, T)
                deadline = time.monotonic() + T
                while raw.fileno() != -1 and time.monotonic() < deadline:
                    gmploop.sleep(0.005)
                return raw.fileno(), s._refs, len(s._regs)

    assert gmploop.run(main, procs=2) == (-1, 0, 0)


def test_docs_example_runs():
    """The echo program in docs/net.md runs and prints what the page says."""
    import os
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "docs", "net.md")) as f:
        text = f.read()
    m = re.search(r"<!-- example: echo -->\n```python\n(.*?)```", text, re.S)
    assert m, "example block not found in docs/net.md"
    out = subprocess.run([sys.executable, "-c", m.group(1)], capture_output=True,
                         text=True, timeout=60, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "100 of 100 clients got their echo"


def test_bench_net_smoke():
    """benchmarks/bench_net.py runs end to end (tiny duration, two servers)
    and reports every case; it checks the harness, never speed."""
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, os.path.join(root, "benchmarks", "bench_net.py"),
         "--duration", "0.2", "--warmup", "0.05", "--conns", "2",
         "--servers", "gmploop,uvloop-streams"],
        capture_output=True, text=True, timeout=90, cwd=root)
    assert out.returncode == 0, out.stderr
    assert "gmploop procs=1" in out.stdout and "uvloop-streams" in out.stdout
    assert "(!)" not in out.stdout
    assert "target C=2" in out.stdout


# --------------------------------------------------------------------------
# Cancellation (Goroutine.cancel): a cancelled call performed nothing
# --------------------------------------------------------------------------


def _parked_in_io(g, timeout=T):
    """Wait (from a goroutine) until ``g`` is parked in a socket wait."""
    deadline = time.monotonic() + timeout
    while g.status is not gmploop.lowlevel.GStatus.WAITING or g.waitreason != "IO wait":
        assert not g.done(), f"{g} finished instead of waiting: {g.join(0)!r}"
        assert g.status is not gmploop.lowlevel.GStatus.WAITING or not g.waitreason, \
            f"{g} waits for something else: {g.waitreason}"
        assert time.monotonic() < deadline, f"{g} never parked in IO wait"
        gmploop.sleep(0.001)


def _small_buffers_pair():
    """A listener and a connected pair (client, server side) with small
    socket buffers, so that a few KiB fill them. The receive buffer is set on
    the listener, before the handshake: shrinking it on a connected socket
    can stall the connection."""
    ln = net.listen("127.0.0.1:0")
    ln._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c = net.dial(ln.addr, timeout=T)
    s = ln.accept()
    c._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    for x in (c, s, ln):
        x.settimeout(T)
    return ln, c, s


def _fill_send_buffer(c):
    """Fill ``c``'s send buffer and its peer's receive buffer (the peer does
    not read): the next send on ``c`` would block. Returns the bytes queued."""
    queued = 0
    for _ in range(100):  # until the kernel has moved all it will to the peer
        before = queued
        for chunk in (b"f" * 4096, b"f"):  # a small send may fit where a big one did not
            while True:
                try:
                    queued += c._sock.send(chunk)
                except BlockingIOError:
                    break
        if queued == before:
            return queued
        gmploop.sleep(0.01)
    raise AssertionError("the send buffer never filled")


def _drain(c, n):
    """Read exactly ``n`` bytes from ``c`` (with its timeout) and check they
    are all filler bytes."""
    got = recv_exact(c, n)
    assert got == b"f" * n
    return got


def _net_op(kind, c, s, ln):
    """(blocking call, check afterwards) for one kind of socket wait. The check
    proves the cancelled call performed nothing and the socket still works."""
    if kind == "recv":
        def check():
            s.sendall(b"data")
            return c.recv(10) == b"data"
        return (lambda: c.recv(10)), check
    if kind == "recv_into":
        buf = bytearray(10)

        def check():
            s.sendall(b"data")
            return c.recv_into(buf) == 4 and buf[:4] == b"data" and bytes(buf[4:]) == bytes(6)
        return (lambda: c.recv_into(buf)), check
    if kind == "sendall":
        queued = _fill_send_buffer(c)

        def check():
            _drain(s, queued)  # the filler only: nothing of the cancelled call
            c.sendall(b"after")
            return recv_exact(s, 5) == b"after"
        return (lambda: c.sendall(b"M" * 100)), check
    if kind == "accept":
        def check():
            c2 = net.dial(ln.addr, timeout=T)
            s2 = ln.accept()
            try:
                c2.sendall(b"hi")
                return recv_exact(s2, 2) == b"hi"
            finally:
                c2.close()
                s2.close()
        return ln.accept, check
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["recv", "recv_into", "sendall", "accept"])
@pytest.mark.parametrize("canceller", CANCELLERS)
def test_cancel_interrupts_a_socket_wait(run, kind, canceller):
    def main():
        ln, c, s = _small_buffers_pair()
        try:
            op, check = _net_op(kind, c, s, ln)
            g = gmploop.go(op)
            _parked_in_io(g)
            t0 = time.monotonic()
            cancel_from(g, canceller)
            with pytest.raises(gmploop.Canceled):
                g.join(timeout=T)
            assert time.monotonic() - t0 < 5
            assert not c._waiting and not ln._waiting  # the waiter is gone
            assert check()
            return True
        finally:
            for x in (c, s, ln):
                x.close()

    assert run(main)


@pytest.mark.parametrize("canceller", CANCELLERS)
def test_cancel_interrupts_dial(run, canceller):
    """A dial whose connect is still in progress (the server's accept queue
    is full, so its SYN goes unanswered) is abandoned and its socket closed."""
    def main():
        ln = net.listen("127.0.0.1:0", backlog=0)
        first = net.dial(ln.addr, timeout=T)  # fills the accept queue
        g = gmploop.go(net.dial, ln.addr, T)
        try:
            deadline = time.monotonic() + T
            while g.status is not gmploop.lowlevel.GStatus.WAITING or g.waitreason != "IO wait":
                if g.done():  # this kernel answered the SYN after all
                    g.join(0).close()
                    return "skip"
                assert time.monotonic() < deadline
                gmploop.sleep(0.001)
            cancel_from(g, canceller)
            with pytest.raises(gmploop.Canceled):
                g.join(timeout=T)
            s = ln.accept()  # the listener still works
            s.close()
            return True
        finally:
            first.close()
            ln.close()

    r = run(main)
    if r == "skip":
        pytest.skip("connect did not stay in progress on this kernel")
    assert r is True


def test_cancel_pending_before_the_wait(run):
    """Cancelled while running: the next socket call that would wait raises
    at once and consumes nothing; a call that need not wait completes."""
    def main():
        ln = net.listen("127.0.0.1:0")
        c = net.dial(ln.addr, timeout=T)
        s = ln.accept()
        c.settimeout(T)
        try:
            def victim():
                gmploop.current().cancel()
                try:
                    c.recv(10)  # nothing there: would wait
                except gmploop.Canceled:
                    pass
                else:
                    return "no Canceled"
                s.sendall(b"ready")
                gmploop.current().cancel()
                return c.recv(10)  # data there: no wait, no Canceled

            assert gmploop.go(victim).join(timeout=T) == b"ready"
            with pytest.raises(gmploop.Canceled):  # still pending: the next wait
                gmploop.go(lambda: (gmploop.current().cancel(), gmploop.sleep(T))).join(timeout=T)
            return True
        finally:
            for x in (c, s, ln):
                x.close()

    assert run(main)


def test_cancel_racing_with_data(run):
    """Data arriving as the cancellation does: either the receive was
    cancelled and the data is still there, or it got the data and the
    cancellation waits for the next wait. Never both, never neither."""
    def main():
        ln = net.listen("127.0.0.1:0")
        c = net.dial(ln.addr, timeout=T)
        s = ln.accept()
        c.settimeout(T)
        outcomes = set()
        try:
            for i in range(30):
                msg = b"m%02d" % i

                def victim():
                    try:
                        got = c.recv(3)
                    except gmploop.Canceled:
                        return ("cancelled", recv_exact(c, 3))
                    try:
                        gmploop.sleep(T)
                    except gmploop.Canceled:
                        return ("received", got)
                    return ("lost", got)

                g = gmploop.go(victim)
                _parked_in_io(g)
                # Both orders, so that both outcomes happen (which one a
                # given run gets depends on which the loop sees first).
                race = ((lambda: (s.sendall(msg), g.cancel())) if i % 2 else
                        (lambda: (g.cancel(), s.sendall(msg))))
                th = threading.Thread(target=race)
                th.start()
                outcome, got = g.join(timeout=T)
                th.join(T)
                assert got == msg and outcome in ("cancelled", "received"), (outcome, got)
                outcomes.add(outcome)
            return outcomes
        finally:
            for x in (c, s, ln):
                x.close()

    assert run(main)


@pytest.mark.parametrize("canceller", ["goroutine", "thread"])
def test_sendall_that_has_sent_part_finishes_first(run, canceller):
    """Once part of its data is out, sendall is not interrupted (a half-sent
    message would break the stream): it completes and Canceled comes at the
    goroutine's next wait."""
    def main():
        ln, c, s = _small_buffers_pair()
        big = bytes(range(256)) * 4096  # 1 MiB: far more than the small buffers
        log = []
        try:
            def victim():
                c.sendall(big)
                log.append("sent")
                gmploop.sleep(T)  # the cancellation is delivered here

            g = gmploop.go(victim)
            _parked_in_io(g)
            cancel_from(g, canceller)
            got = recv_exact(s, len(big))
            with pytest.raises(gmploop.Canceled):
                g.join(timeout=T)
            assert got == big and log == ["sent"]
            return True
        finally:
            for x in (c, s, ln):
                x.close()

    assert run(main)
