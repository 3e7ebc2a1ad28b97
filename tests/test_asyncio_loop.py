"""asyncio on gmploop's loop: one test body, several loops.

Every behaviour test here runs on the stdlib loop (the oracle: a body that fails
there is a wrong test) and on gmploop's loop at 1 and 4 processors. Where the
result is a trace (callback order), the trace is compared with the one the stdlib
loop produces for the same body. Every wait is bounded (``asyncio.wait_for``
around each body, timeouts on every subprocess and socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import gmploop
from support import LOOPS  # the loop matrix; the loop_name fixture runs over it

BODY_TIMEOUT = 30.0  # a whole asyncio program (servers, subprocesses): above conftest.T


def run_on(factory, body, *args, debug=None):
    """Run ``body(*args)`` on a fresh loop from ``factory`` (bounded)."""
    async def main():
        return await asyncio.wait_for(body(*args), BODY_TIMEOUT)
    with asyncio.Runner(loop_factory=factory, debug=debug) as runner:
        return runner.run(main())


@pytest.fixture
def arun(loop_name):
    """``arun(body, *args)``: run a coroutine function on the test's loop."""
    factory = LOOPS[loop_name]

    def _run(body, *args, debug=None):
        return run_on(factory, body, *args, debug=debug)
    return _run


def oracle(body, *args):
    """What the stdlib loop makes of ``body``."""
    return run_on(LOOPS["asyncio"], body, *args)


# --------------------------------------------------------------------------
# The loop object itself
# --------------------------------------------------------------------------


def test_runner_gives_the_loop_under_test(arun, loop_name):
    async def body():
        loop = asyncio.get_running_loop()
        return type(loop), asyncio.get_event_loop() is loop, loop.is_running()

    cls, same, running = arun(body)
    assert same and running
    if loop_name.startswith("gmploop"):
        assert cls is gmploop.GMPEventLoop
        assert issubclass(cls, asyncio.AbstractEventLoop)


def test_pure_python_get_event_loop_sees_the_running_loop(loop_name, monkeypatch):
    """The loop sets the running loop through asyncio.events._set_running_loop
    as it is when the loop runs, so asyncio's pure-Python get_event_loop and
    get_running_loop (or a wrapped _set_running_loop) see it (uvloop only set
    the C one it imported). As CPython's TestPyGetEventLoop: the pure-Python
    functions replace the C ones, and the coroutine runs with
    run_until_complete, in a pure-Python task (from 3.14 on the C task checks
    the running loop the C functions set)."""
    from asyncio import events, tasks

    pure = {"_set_running_loop": events._py__set_running_loop,
            "_get_running_loop": events._py__get_running_loop,
            "get_running_loop": events._py_get_running_loop,
            "get_event_loop": events._py_get_event_loop}
    loop = LOOPS[loop_name]()
    try:
        for name, fn in pure.items():
            monkeypatch.setattr(events, name, fn)
            monkeypatch.setattr(asyncio, name, fn)

        async def func():
            return (asyncio.get_event_loop() is loop, asyncio.get_running_loop() is loop,
                    events._py__get_running_loop() is loop)

        loop.call_later(BODY_TIMEOUT, loop.stop)  # bounded
        seen = loop.run_until_complete(tasks._PyTask(func(), loop=loop))
        after = events._py__get_running_loop()
    finally:
        monkeypatch.undo()
        loop.close()
    assert seen == (True, True, True)
    assert after is None  # unset when the loop stops


# --------------------------------------------------------------------------
# Tasks, futures, gather, cancel
# --------------------------------------------------------------------------


def test_tasks_gather_cancel(arun):
    async def body():
        async def square(i):
            await asyncio.sleep(0)
            return i * i

        out = {}
        out["gather"] = await asyncio.gather(*(square(i) for i in range(50)))

        async def boom():
            await asyncio.sleep(0)
            raise KeyError("boom")

        res = await asyncio.gather(square(3), boom(), return_exceptions=True)
        out["gather_exc"] = [res[0], type(res[1]).__name__]

        started = asyncio.Event()

        async def sleeper():
            started.set()
            await asyncio.sleep(3600)

        t = asyncio.create_task(sleeper(), name="sleeper")
        await started.wait()
        t.cancel("stop")
        try:
            await t
        except asyncio.CancelledError as e:
            out["cancelled"] = (t.cancelled(), e.args, t.get_name())

        inner = asyncio.create_task(square(7))
        out["shield"] = await asyncio.shield(inner)

        try:
            await asyncio.wait_for(asyncio.sleep(3600), 0.01)
        except TimeoutError:
            out["wait_for"] = "timeout"

        async with asyncio.TaskGroup() as tg:
            ts = [tg.create_task(square(i)) for i in range(5)]
        out["taskgroup"] = [t.result() for t in ts]

        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, "f")
        out["future"] = await fut
        return out

    got = arun(body)
    assert got == oracle(body)
    assert got["gather"] == [i * i for i in range(50)]
    assert got["cancelled"] == (True, ("stop",), "sleeper")


def test_callback_order_call_soon_later_at(arun):
    """call_soon is FIFO; timers fire in deadline order; a cancelled timer
    never fires. (A zero-delay call_later is left out: uvloop runs it as
    call_soon, the stdlib one iteration later; docs/asyncio.md.)"""
    async def body():
        loop = asyncio.get_running_loop()
        trace = []
        done = loop.create_future()
        for i in range(5):
            loop.call_soon(trace.append, f"soon{i}")
        loop.call_later(0.030, trace.append, "later30")
        loop.call_later(0.010, trace.append, "later10")
        loop.call_at(loop.time() + 0.020, trace.append, "at20")
        h = loop.call_later(0.015, trace.append, "cancelled")
        h.cancel()
        loop.call_soon(lambda: loop.call_soon(trace.append, "nested"))
        loop.call_later(0.050, done.set_result, None)
        await done
        return trace, h.cancelled()

    assert arun(body) == oracle(body)


def test_call_soon_threadsafe_from_threads(arun):
    async def body():
        loop = asyncio.get_running_loop()
        got = []
        done = loop.create_future()
        n = 4 * 200

        def add(v):
            got.append((v, threading.get_ident()))
            if len(got) == n and not done.done():
                done.set_result(None)

        def pusher(k):
            for i in range(200):
                loop.call_soon_threadsafe(add, (k, i))

        ts = [threading.Thread(target=pusher, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        await done
        for t in ts:
            t.join(10)
        me = threading.get_ident()
        per_thread_order = all(
            [i for (k2, i), _ in got if k2 == k] == list(range(200)) for k in range(4))
        return len(got), {tid == me for _, tid in got}, per_thread_order

    assert arun(body) == (800, {True}, True)


# --------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------


def test_to_thread_and_run_in_executor(arun):
    async def body():
        loop = asyncio.get_running_loop()
        me = threading.get_ident()
        a = await asyncio.to_thread(lambda x: (x + 1, threading.get_ident() != me), 41)
        b = await loop.run_in_executor(None, sum, range(10))
        with ThreadPoolExecutor(2) as ex:
            c = await asyncio.gather(*(loop.run_in_executor(ex, pow, 2, i) for i in range(8)))
        try:
            await asyncio.to_thread(int, "nope")
        except ValueError:
            d = "ValueError"
        return a, b, c, d

    got = arun(body)
    assert got == ((42, True), 45, [2 ** i for i in range(8)], "ValueError")


def test_shutdown_default_executor_and_asyncgens(loop_name):
    """asyncio.Runner's teardown: async generators finalized, the default
    executor's threads joined, then the loop closed."""
    factory = LOOPS[loop_name]
    finalized = []

    async def agen():
        try:
            for i in range(10):
                yield i
        finally:
            finalized.append("agen")

    async def body():
        g = agen()
        assert await g.__anext__() == 0  # left suspended: shutdown_asyncgens closes it
        await asyncio.to_thread(time.sleep, 0)
        return asyncio.get_running_loop()

    before = {t.ident for t in threading.enumerate()}
    runner = asyncio.Runner(loop_factory=factory)
    loop = runner.run(body())
    runner.close()
    assert finalized == ["agen"]
    assert loop.is_closed()
    # No executor thread and no runtime thread of this loop outlives it.
    for t in threading.enumerate():
        if t.ident not in before:
            assert not t.name.startswith(("asyncio_", "gmploop-M", "gmploop-sysmon")), t


# --------------------------------------------------------------------------
# Sockets, servers, streams
# --------------------------------------------------------------------------


def test_streams_echo_server(arun):
    async def body():
        async def handle(reader, writer):
            while line := await reader.readline():
                writer.write(line.upper())
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def client(k):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            out = []
            for i in range(20):
                writer.write(f"c{k} m{i}\n".encode())
                await writer.drain()
                out.append(await reader.readline())
            writer.write_eof()
            rest = await reader.read()
            writer.close()
            await writer.wait_closed()
            return out, rest

        results = await asyncio.gather(*(client(k) for k in range(10)))
        server.close()
        await server.wait_closed()
        return results

    results = arun(body)
    assert results == [([f"C{k} M{i}\n".encode() for i in range(20)], b"") for k in range(10)]


def test_low_level_sockets(arun):
    async def body():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        with a, b:
            await loop.sock_sendall(a, b"ping" * 1000)
            got = b""
            while len(got) < 4000:
                got += await loop.sock_recv(b, 4096)
            # add_reader / remove_reader
            ready = loop.create_future()
            loop.add_reader(b.fileno(), lambda: ready.done() or ready.set_result(b.recv(10)))
            a.send(b"x")
            first = await ready
            removed = loop.remove_reader(b.fileno()), loop.remove_reader(b.fileno())
        return len(got), first, removed

    assert arun(body) == (4000, b"x", (True, False))


def test_datagram_endpoint(arun):
    async def body():
        loop = asyncio.get_running_loop()
        got = loop.create_future()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                self.transport.sendto(data[::-1], addr)

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                got.set_result(data)

        st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = st.get_extra_info("sockname")
        ct, _ = await loop.create_datagram_endpoint(Client, remote_addr=addr)
        ct.sendto(b"hello")
        data = await got
        ct.close()
        st.close()
        return data

    assert arun(body) == b"olleh"


# --------------------------------------------------------------------------
# Subprocesses
# --------------------------------------------------------------------------


def test_subprocess_pipes(arun):
    async def body():
        code = "import sys; d = sys.stdin.read(); sys.stdout.write(d.upper()); sys.stderr.write('e')"
        p = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(p.communicate(b"abc" * 1000), 20)
        p2 = await asyncio.create_subprocess_shell(
            "echo shell; exit 3", stdout=asyncio.subprocess.PIPE)
        out2, _ = await asyncio.wait_for(p2.communicate(), 20)
        p3 = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(60)")
        p3.kill()
        rc3 = await asyncio.wait_for(p3.wait(), 20)
        return out, err, p.returncode, out2, p2.returncode, rc3

    assert arun(body) == (b"ABC" * 1000, b"e", 0, b"shell\n", 3, -signal.SIGKILL)


def test_subprocess_user_group_umask(arun):
    """Popen's user, group, extra_groups, umask and process_group, which the
    stdlib loop passes to Popen and uvloop rejects ("unexpected kwargs")."""
    root = os.getuid() == 0  # setgroups() needs privilege, on every loop
    code = ("import os; m = os.umask(0); "
            "print(oct(m), os.getuid(), os.getgid(), os.getpgid(0) == os.getpid(), "
            "sorted(os.getgroups()))")

    async def body():
        kw = dict(user=os.getuid(), group=os.getgid(), umask=0o027, process_group=0)
        if root:
            kw["extra_groups"] = [os.getgid()]
        p = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, **kw)
        out, _ = await asyncio.wait_for(p.communicate(), 20)
        p2 = await asyncio.create_subprocess_shell(
            "umask", stdout=asyncio.subprocess.PIPE, umask=0o077)
        out2, _ = await asyncio.wait_for(p2.communicate(), 20)
        errors = []
        for bad in (dict(user=-1), dict(group=1.5), dict(user="no-such-user-gmploop")):
            try:
                await asyncio.create_subprocess_exec(sys.executable, "-c", "pass", **bad)
            except (ValueError, TypeError, KeyError) as e:
                errors.append(type(e).__name__)
        return out.decode().split(" ", 4), out2.strip(), errors

    fields, umask_shell, errors = arun(body)
    groups = f"[{os.getgid()}]\n" if root else fields[4]
    assert fields == ["0o27", str(os.getuid()), str(os.getgid()), "True", groups]
    assert umask_shell == b"0077"
    assert errors == ["ValueError", "TypeError", "KeyError"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/stdin by path")
def test_subprocess_child_reads_dev_stdin(arun):
    """A child that opens /dev/stdin by path reads its stdin pipe (uvloop's
    subprocess pipes were socket pairs, which cannot be opened: b'' there)."""
    async def body():
        code = 'f = open("/dev/stdin"); print(len(f.read()))'
        p = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(p.communicate(b"abc"), 20)
        return out.strip(), p.returncode

    assert arun(body) == (b"3", 0)


def test_subprocess_popen_error_raised(arun):
    """The error subprocess.Popen raises reaches the caller, and the pipes
    made for the child are closed (no ResourceWarning)."""
    import subprocess
    import warnings
    from unittest import mock

    async def body():
        raised = []
        for stdin in (None, subprocess.PIPE):
            with mock.patch("subprocess.Popen", side_effect=ZeroDivisionError):
                with warnings.catch_warnings(record=True) as warns:
                    warnings.simplefilter("always")
                    try:
                        await asyncio.create_subprocess_exec(
                            sys.executable, "-c", "pass", stdin=stdin)
                    except ZeroDivisionError:
                        raised.append("ZeroDivisionError")
                    gc.collect()
            raised.append([str(w.message) for w in warns])
        return raised

    assert arun(body) == ["ZeroDivisionError", [], "ZeroDivisionError", []]


def test_subprocess_transport_close_kills_only_a_running_child(arun):
    """transport.close() kills a child still running, through the Popen
    object get_extra_info('subprocess') gives, and does not kill one that
    already exited (even before the loop noticed)."""
    import subprocess

    async def body():
        loop = asyncio.get_running_loop()
        blocked = (sys.executable, "-c", "import time; time.sleep(60)")

        class Proto(asyncio.SubprocessProtocol):
            def __init__(self):
                self.lost = loop.create_future()

            def connection_lost(self, exc):
                self.lost.set_result(exc)

        transport, proto = await loop.subprocess_exec(Proto, *blocked)
        popen = transport.get_extra_info("subprocess")
        kills = []
        orig_kill = popen.kill
        popen.kill = lambda: (kills.append("running"), orig_kill())
        before = transport.get_returncode()
        transport.close()
        await asyncio.wait_for(proto.lost, 20)
        first = (isinstance(popen, subprocess.Popen), before, kills,
                 transport.get_returncode())

        transport, proto = await loop.subprocess_exec(Proto, *blocked)
        popen = transport.get_extra_info("subprocess")
        popen.kill()
        popen.wait(20)  # the loop is not told yet
        kills = []
        popen.kill = lambda: kills.append("finished")
        transport.close()
        await asyncio.wait_for(proto.lost, 20)
        return first, kills

    assert arun(body) == ((True, None, ["running"], -signal.SIGKILL), [])


@pytest.mark.skipif(not hasattr(asyncio, "AbstractChildWatcher"),
                    reason="child watchers were removed in Python 3.14")
def test_subprocess_uses_the_policy_child_watcher(loop_name):
    """Up to 3.13 a subprocess is watched by the policy's child watcher: an
    inactive one makes create_subprocess_exec fail before anything is started,
    and a SafeChildWatcher (SIGCHLD) sees the child exit."""
    import warnings
    from unittest import mock

    factory = LOOPS[loop_name]
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # watchers: deprecated in 3.12
        old = policy._watcher if hasattr(policy, "_watcher") else None

        inactive = mock.create_autospec(asyncio.AbstractChildWatcher)
        inactive.is_active.return_value = False  # 3.12 on asks the watcher,
        inactive.__enter__.return_value.is_active.return_value = False  # 3.11 what __enter__ gives

        async def refused():
            try:
                await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
            except RuntimeError as e:
                return "not activated" in str(e), (
                    inactive.add_child_handler.called
                    or inactive.__enter__.return_value.add_child_handler.called)
            return "started"

        async def safe_watcher():
            watcher = asyncio.SafeChildWatcher()
            watcher.attach_loop(asyncio.get_running_loop())
            policy.set_child_watcher(watcher)
            try:
                p = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", "import sys; sys.exit(7)")
                return await asyncio.wait_for(p.wait(), 20)
            finally:
                policy.set_child_watcher(None)
                watcher.attach_loop(None)
                watcher.close()

        try:
            policy.set_child_watcher(inactive)
            assert run_on(factory, refused) == (True, False)
            policy.set_child_watcher(None)
            assert run_on(factory, safe_watcher) == 7
        finally:
            policy.set_child_watcher(old)


# --------------------------------------------------------------------------
# TLS with a self-signed certificate made here
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_contexts(tmp_path_factory):
    """(server_context, client_context) for a fresh self-signed certificate
    for 127.0.0.1 (cryptography if installed, else the openssl CLI)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import ipaddress
    except ImportError:  # pragma: no cover - openssl CLI fallback
        import subprocess
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=30)
    else:
        k = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName(
                 [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .sign(k, hashes.SHA256()))
        cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_tls_echo(arun, tls_contexts):
    server_ctx, client_ctx = tls_contexts

    async def body():
        async def handle(reader, writer):
            data = await reader.readexactly(5)
            writer.write(b"tls:" + data)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="127.0.0.1")
        version = writer.get_extra_info("ssl_object").version()
        writer.write(b"hello")
        reply = await reader.read()
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()
        # A client that does not trust the certificate is refused.
        refused = False
        try:
            await asyncio.open_connection("127.0.0.1", port,
                                          ssl=ssl.create_default_context(),
                                          server_hostname="127.0.0.1")
        except ssl.SSLCertVerificationError:
            refused = True
        server.close()
        await server.wait_closed()
        return reply, version.startswith("TLS"), refused

    assert arun(body) == (b"tls:hello", True, True)


class _BioTLS:
    """The server end of a TLS connection over a blocking socket, through
    memory BIOs: it can send a plain EOF (no close_notify) and go on reading,
    which an SSLSocket cannot do with every OpenSSL (TLS 1.3 may write while
    reading: EPIPE)."""

    def __init__(self, sock, ctx):
        self.sock, self.eof_sent = sock, False
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def _flush(self):
        data = self.outgoing.read()
        if data and not self.eof_sent:
            self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def sendall(self, data):
        self.obj.write(data)
        self._flush()

    def shutdown_write(self):
        """A plain EOF: FIN without close_notify."""
        self.sock.shutdown(socket.SHUT_WR)
        self.eof_sent = True

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""


def _tls_peer(server_ctx, serve):
    """A blocking TLS server on a thread for one connection: ``serve(tls,
    seen)`` (tls: a ``_BioTLS``) appends what it saw to ``seen``. Returns
    (port, thread, seen)."""
    lsock = socket.create_server(("127.0.0.1", 0))
    lsock.settimeout(20)
    seen = []

    def run():
        with lsock:
            conn, _ = lsock.accept()
            with conn:
                conn.settimeout(20)
                try:
                    serve(_BioTLS(conn, server_ctx), seen)
                except (OSError, AssertionError) as e:
                    seen.append(repr(e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return lsock.getsockname()[1], t, seen


def _recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


async def _close_and_join(writer, thread):
    """Close a TLS client (close_notify may race the peer's EOF) and wait for
    the peer's thread."""
    writer.close()
    with contextlib.suppress(ssl.SSLError, ConnectionError):
        await writer.wait_closed()
    await asyncio.to_thread(thread.join, 20)


def _count_until_eof(s):
    """Read until EOF; the number of bytes read."""
    n = 0
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            return n
        n += len(chunk)


def test_tls_writes_after_peer_eof_are_delivered(arun, tls_contexts):
    """The peer sends EOF (no close_notify) while writes are still waiting in
    the TLS layer's backlog (data written during a renegotiation waits there;
    the transport's test hook, which the stdlib and uvloop both have, puts it
    there): all of it is delivered before the connection closes (uvloop's TLS
    dropped the backlog and closed)."""
    server_ctx, client_ctx = tls_contexts
    chunk, count = 128 * 1024, 32
    total = chunk * count

    def serve(s, seen):
        assert _recv_exactly(s, 4) == b"ping"
        s.sendall(b"pong")
        time.sleep(0.3)  # the client's writes back up meanwhile
        s.shutdown_write()  # a plain EOF: no close_notify
        seen.append(_count_until_eof(s))

    async def body():
        port, thread, seen = _tls_peer(server_ctx, serve)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="127.0.0.1")
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"pong"
        for _ in range(count):
            writer.transport._test__append_write_backlog(b"x" * chunk)
        with contextlib.suppress(ConnectionError):
            assert await reader.read() == b""
        await _close_and_join(writer, thread)
        return seen

    assert arun(body) == [total]


def test_tls_data_before_peer_eof_survives_paused_reading(arun, tls_contexts):
    """Data that arrives while reading is paused, followed by the peer's EOF,
    is delivered by resume_reading() before connection_lost (uvloop's TLS
    lost it)."""
    server_ctx, client_ctx = tls_contexts

    async def body():
        loop = asyncio.get_running_loop()
        eof_sent = asyncio.Event()

        def serve(s, seen):
            s.sendall(b"hello")
            assert _recv_exactly(s, 5) == b"world"
            s.sendall(b"extra bytes")
            s.shutdown_write()
            loop.call_soon_threadsafe(eof_sent.set)
            while s.recv(1024):
                pass

        port, thread, seen = _tls_peer(server_ctx, serve)
        events = []

        class Proto(asyncio.Protocol):
            def __init__(self):
                self.lost = loop.create_future()

            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                events.append(data)
                if data == b"hello":
                    self.transport.write(b"world")
                    self.transport.pause_reading()  # what follows stays queued

            def eof_received(self):
                events.append("eof")

            def connection_lost(self, exc):
                events.append("lost")
                self.lost.set_result(None)

        tr, pr = await loop.create_connection(
            Proto, "127.0.0.1", port, ssl=client_ctx, server_hostname="127.0.0.1")
        await eof_sent.wait()
        await asyncio.sleep(0.1)
        tr.resume_reading()
        await asyncio.wait_for(pr.lost, 20)
        tr.close()
        await asyncio.to_thread(thread.join, 20)
        return [e for e in events if e != "eof"], seen

    assert arun(body) == ([b"hello", b"extra bytes", "lost"], [])


def test_tls_close_flushes_queued_writes(arun, tls_contexts):
    """close() right after a large write: the peer, reading late, gets every
    byte before close_notify."""
    server_ctx, client_ctx = tls_contexts
    total = 8 * 1024 * 1024

    def serve(s, seen):
        time.sleep(0.3)  # not reading yet: the writes queue
        seen.append(_count_until_eof(s))

    async def body():
        port, thread, seen = _tls_peer(server_ctx, serve)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="127.0.0.1")
        writer.write(b"x" * total)
        await _close_and_join(writer, thread)
        return seen

    assert arun(body) == [total]


# --------------------------------------------------------------------------
# Exception handler, debug mode, task factory
# --------------------------------------------------------------------------


def test_exception_handler(arun):
    async def body():
        loop = asyncio.get_running_loop()
        seen = []
        loop.set_exception_handler(lambda lp, ctx: seen.append(
            (lp is loop, type(ctx.get("exception")).__name__, "handle" in ctx,
             ctx["message"].split(" ")[0])))
        handler_ok = loop.get_exception_handler() is not None

        def bad():
            raise ZeroDivisionError

        loop.call_soon(bad)
        loop.call_soon(loop.call_exception_handler, {"message": "custom note"})
        await asyncio.sleep(0.01)

        async def failing():
            raise OSError("lost")

        t = loop.create_task(failing())
        await asyncio.sleep(0.01)
        del t
        gc.collect()  # "Task exception was never retrieved" goes to the handler
        await asyncio.sleep(0)
        loop.set_exception_handler(None)
        return handler_ok, seen, loop.get_exception_handler()

    handler_ok, seen, after = arun(body)
    assert handler_ok and after is None
    assert seen[0] == (True, "ZeroDivisionError", True, "Exception")
    assert seen[1] == (True, "NoneType", False, "custom")
    assert seen[2][:2] == (True, "OSError")
    assert len(seen) == 3


def test_debug_mode_reports_slow_callbacks(arun, caplog):
    async def body():
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.005
        assert loop.get_debug()
        loop.call_soon(time.sleep, 0.05)
        await asyncio.sleep(0.02)
        return loop.get_debug()

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        assert arun(body, debug=True) is True
    assert any("took" in r.getMessage() and "seconds" in r.getMessage()
               for r in caplog.records)


def test_task_factory_called_as_stdlib_calls_it(arun):
    """A factory is called as the running Python's stdlib calls it. Up to
    3.13: ``factory(loop, coro)``, with ``context=`` only when one is given
    (uvloop passes it always), and the task is named afterwards. From 3.14 on:
    ``factory(loop, coro, **kwargs)`` with exactly the keywords given to
    ``create_task``, ``name`` included (uvloop passes ``context=`` and
    ``eager_start=`` always), so a two-argument factory refuses a name."""
    new_call = sys.version_info >= (3, 14)

    async def body():
        import contextvars
        loop = asyncio.get_running_loop()
        calls = []

        def factory(loop, coro, **kw):
            calls.append(sorted(kw))
            return asyncio.Task(coro, loop=loop, **kw)

        def legacy(loop, coro):
            calls.append("legacy")
            return asyncio.Task(coro, loop=loop)

        loop.set_task_factory(factory)
        same = loop.get_task_factory() is factory
        named = loop.create_task(asyncio.sleep(0), name="n")
        await named
        await loop.create_task(asyncio.sleep(0), context=contextvars.copy_context())
        if new_call:
            await loop.create_task(asyncio.sleep(0), eager_start=False)
        loop.set_task_factory(legacy)
        await loop.create_task(asyncio.sleep(0))
        coro = asyncio.sleep(0)
        if new_call:
            with pytest.raises(TypeError, match="name"):
                loop.create_task(coro, name="named")
            coro.close()
        else:
            await loop.create_task(coro, name="named")
        loop.set_task_factory(None)
        return same, calls, named.get_name(), loop.get_task_factory()

    if new_call:
        expected = [["name"], ["context"], ["eager_start"], "legacy"]
    else:
        expected = [[], ["context"], "legacy", "legacy"]
    assert arun(body) == (True, expected, "n", None)


# --------------------------------------------------------------------------
# Signals (main thread)
# --------------------------------------------------------------------------


def test_signal_handler(arun):
    async def body():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, lambda *a: got.done() or got.set_result(a),
                                "arg")
        os.kill(os.getpid(), signal.SIGUSR1)
        args = await got
        removed = loop.remove_signal_handler(signal.SIGUSR1)
        again = loop.remove_signal_handler(signal.SIGUSR1)
        restored = signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
        with pytest.raises(TypeError):
            loop.add_signal_handler("nope", print)
        with pytest.raises(RuntimeError):
            loop.add_signal_handler(signal.SIGKILL, print)
        return args, removed, again, restored

    assert arun(body) == (("arg",), True, False, True)


def test_signal_arriving_while_loop_is_stopped(loop_name):
    """A signal that arrives between two runs is handled on the next run, and
    the handler can be removed while the loop is stopped, as with the stdlib
    loop (uvloop loses the first and ignores the second: docs/asyncio.md)."""
    loop = LOOPS[loop_name]()
    try:
        caught = []
        loop.add_signal_handler(signal.SIGUSR2, caught.append, "usr2")
        os.kill(os.getpid(), signal.SIGUSR2)
        loop.run_until_complete(asyncio.sleep(0.05))
        deadline = time.monotonic() + 10
        while not caught and time.monotonic() < deadline:
            loop.run_until_complete(asyncio.sleep(0.01))
        assert caught == ["usr2"]
        assert loop.remove_signal_handler(signal.SIGUSR2) is True
        assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL
    finally:
        loop.close()


def test_add_signal_handler_off_main_thread_refused(loop_name):
    loop = LOOPS[loop_name]()
    errs = []

    def other():
        try:
            loop.add_signal_handler(signal.SIGUSR1, print)
        except (RuntimeError, ValueError) as e:
            errs.append(type(e).__name__)

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    loop.close()
    assert errs == ["RuntimeError"]


# --------------------------------------------------------------------------
# Running and closing: asyncio's own checks, made before the runtime moves
# --------------------------------------------------------------------------


def test_run_checks(loop_name):
    loop = LOOPS[loop_name]()
    try:
        async def nested():
            coro = asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="already running"):
                loop.run_until_complete(coro)
            coro.close()
            with pytest.raises(RuntimeError, match="running"):
                loop.close()
            if loop_name == "asyncio" and sys.version_info[:3] == (3, 13, 0):
                # CPython 3.13.0's refused run_forever() clears this thread's
                # running loop (its setup runs inside the try whose finally
                # resets it; later versions moved it out), breaking this loop.
                return "ok"
            with pytest.raises(RuntimeError, match="already running"):
                loop.run_forever()
            other = LOOPS[loop_name]()
            try:
                with pytest.raises(RuntimeError, match="another loop is running"):
                    other.run_forever()
            finally:
                other.close()
            return "ok"

        assert loop.run_until_complete(nested()) == "ok"
        assert loop.run_until_complete(asyncio.sleep(0, "again")) == "again"
        loop.stop()
        loop.run_forever()  # stop() before run_forever(): one iteration, returns
    finally:
        loop.close()
    loop.close()  # idempotent
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="closed"):
        loop.run_until_complete(coro)
    coro.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(print)


def test_remove_fds_after_close(loop_name):
    loop = LOOPS[loop_name]()
    a, b = socket.socketpair()
    with a, b:
        loop.add_reader(a, print)
        loop.add_writer(b.fileno(), print)
        assert loop.remove_writer(b) is True
        loop.close()
        assert loop.remove_reader(a) is False
        assert loop.remove_writer(b) is False


# --------------------------------------------------------------------------
# gmploop's own entry points: policy, install, new_event_loop, run(coro)
# --------------------------------------------------------------------------


# Event loop policies are the legacy path: deprecated from Python 3.14 on
# (GMPPolicy() and install() warn there, as asyncio's policy calls do) and
# gone in 3.16.
HAS_POLICIES = hasattr(asyncio, "set_event_loop_policy")
legacy = pytest.deprecated_call if sys.version_info >= (3, 14) else contextlib.nullcontext
needs_policies = pytest.mark.skipif(not HAS_POLICIES, reason="asyncio has no policies")


@pytest.fixture
def restore_policy():
    from gmploop import _loop
    old = _loop.get_policy()
    yield
    _loop.set_policy(old)


@needs_policies
def test_policy_and_install(restore_policy):
    from gmploop import _loop
    with legacy():
        pol = gmploop.GMPPolicy(procs=3)
    loop = pol.new_event_loop()
    try:
        assert isinstance(loop, gmploop.GMPEventLoop) and loop.procs == 3
    finally:
        loop.close()
    with legacy():
        gmploop.install()
    assert isinstance(_loop.get_policy(), gmploop.GMPPolicy)

    async def main():
        return type(asyncio.get_running_loop())

    assert asyncio.run(main()) is gmploop.GMPEventLoop
    with asyncio.Runner() as r:  # Runner without loop_factory uses the policy
        assert r.run(main()) is gmploop.GMPEventLoop


def test_procs_argument_checked():
    for bad in ("2", 1.5, True, None.__class__):
        with pytest.raises(TypeError, match="procs"):
            gmploop.new_event_loop(bad)
        if HAS_POLICIES:
            with pytest.raises(TypeError, match="procs"), legacy():
                gmploop.GMPPolicy(bad)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="procs"):
            gmploop.new_event_loop(bad)
        if HAS_POLICIES:
            with pytest.raises(ValueError, match="procs"), legacy():
                gmploop.GMPPolicy(procs=bad)


def test_entry_points_do_not_warn(tmp_path):
    """Importing gmploop, run, new_event_loop, a loop factory and ``python -m
    gmploop`` touch none of asyncio's deprecated policy calls: silent with
    warnings as errors on every version (policies are deprecated from 3.14)."""
    import subprocess
    prog = tmp_path / "prog.py"
    prog.write_text(
        "import asyncio, sys, gmploop\n"
        "from gmploop import *\n"
        "async def main():\n"
        "    return type(asyncio.get_running_loop()).__name__\n"
        "assert gmploop.run(lambda: 1) == 1\n"
        "assert gmploop.run(main()) == 'GMPEventLoop'\n"
        "gmploop.new_event_loop(procs=2).close()\n"
        "with asyncio.Runner(loop_factory=gmploop.new_event_loop) as r:\n"
        "    assert r.run(main()) == 'GMPEventLoop'\n"
        "if sys.version_info >= (3, 12):\n"
        "    assert asyncio.run(main(), loop_factory=gmploop.new_event_loop) == 'GMPEventLoop'\n"
        "print('ok')\n")
    cli = tmp_path / "cli.py"  # under the command line: already in the main goroutine
    cli.write_text(
        "import asyncio, gmploop\n"
        "async def main():\n"
        "    return type(asyncio.get_running_loop()).__name__\n"
        "assert asyncio.run(main()) == gmploop.run(main()) == 'GMPEventLoop'\n"
        "print('ok')\n")
    for argv in ([str(prog)], ["-m", "gmploop", str(cli)]):
        cp = subprocess.run([sys.executable, "-W", "error", *argv], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
        assert (cp.returncode, cp.stdout, cp.stderr) == (0, "ok\n", ""), argv


def test_gmploop_run_coroutine():
    async def main(x):
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()), x

    assert gmploop.run(main(5), procs=2) == (gmploop.GMPEventLoop, 5)

    async def fails():
        raise LookupError("x")

    with pytest.raises(LookupError):
        gmploop.run(fails())


def test_runner_with_loop_factory_311():
    """Python 3.11's spelling of asyncio.run(main, loop_factory=...)."""
    async def main():
        return asyncio.get_running_loop().procs

    with asyncio.Runner(loop_factory=lambda: gmploop.new_event_loop(procs=2)) as r:
        assert r.run(main()) == 2


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is 3.12+")
def test_asyncio_run_loop_factory_312():  # pragma: no cover - 3.12+
    async def main():
        return type(asyncio.get_running_loop())

    assert asyncio.run(main(), loop_factory=gmploop.new_event_loop) is gmploop.GMPEventLoop


def test_close_stops_runtime_threads():
    # Only this loop's threads: a background runtime started by an earlier
    # test (go() from a plain thread) legitimately lives until exit.
    before = {t.ident for t in threading.enumerate()}
    loop = gmploop.new_event_loop(procs=4)

    async def main():
        gs = [gmploop.go(lambda i=i: i * 2) for i in range(20)]
        return [await g for g in gs]

    assert loop.run_until_complete(main()) == [i * 2 for i in range(20)]
    assert any(t.name.startswith("gmploop-M") for t in threading.enumerate())
    loop.close()
    left = [t.name for t in threading.enumerate()
            if t.name.startswith(("gmploop-M", "gmploop-sysmon")) and t.ident not in before]
    assert left == []
    assert repr(loop).startswith("<GMPEventLoop procs=4") and "closed=True" in repr(loop)
