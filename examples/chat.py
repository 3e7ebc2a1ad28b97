"""A TCP chat server (after "The Go Programming Language", section 8.10),
with simulated clients.

One goroutine per connection reads lines; one *broadcaster* goroutine owns
the set of clients and is the only one that touches it: the others talk to it
over three channels (``entering``, ``leaving``, ``messages``) in a ``select``
loop, so no lock is needed (Go's "share memory by communicating"). Each client
has a writer goroutine draining its own buffered channel, so one slow client
cannot stall the broadcaster for long.

By default the example serves on 127.0.0.1 (a free port), connects
``--clients`` simulated clients with ``gmploop.net.dial``, has each say
``--messages`` lines, checks that every client heard every line, and stops.
``--serve`` keeps the server up for you: ``nc 127.0.0.1 PORT``.

    python examples/chat.py
    python examples/chat.py --clients 50 --messages 20
    python examples/chat.py --serve --port 9000
"""

import argparse
import time

import gmploop
from gmploop import Recv, net


class Lines:
    """Read ``\\n``-terminated lines from a ``net.Conn`` (bufio.Scanner)."""

    def __init__(self, conn: net.Conn) -> None:
        self.conn = conn
        self.buf = b""

    def __iter__(self):
        while True:
            while b"\n" not in self.buf:
                data = self.conn.recv(4096)
                if not data:
                    return
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            yield line.decode(errors="replace").rstrip("\r")


def broadcaster(entering: gmploop.Chan, leaving: gmploop.Chan,
                messages: gmploop.Chan) -> None:
    clients: set[gmploop.Chan] = set()
    while True:
        i, v, _ = gmploop.select(Recv(messages), Recv(entering), Recv(leaving))
        if i == 0:
            for cli in clients:  # broadcast to every client's outgoing queue
                cli.send(v)
        elif i == 1:
            clients.add(v)
        else:
            clients.discard(v)
            v.close()


def client_writer(conn: net.Conn, out: gmploop.Chan) -> None:
    gone = False
    for msg in out:  # until the broadcaster closes ``out``
        if gone:
            continue  # keep draining, so the broadcaster never blocks on us
        try:
            conn.sendall(msg.encode() + b"\n")
        except OSError:
            gone = True  # the client went away


def handle_conn(conn: net.Conn, entering: gmploop.Chan, leaving: gmploop.Chan,
                messages: gmploop.Chan) -> None:
    out = gmploop.Chan(256)
    gmploop.go(client_writer, conn, out)
    host, port = conn.remote_addr
    who = f"{host}:{port}"
    entering.send(out)          # registered once the broadcaster has taken it
    out.send(f"You are {who}")
    messages.send(f"{who} has arrived")
    try:
        for line in Lines(conn):
            if line.startswith("/nick "):
                new = line[6:].strip() or who
                messages.send(f"{who} is now {new}")
                who = new
                continue
            messages.send(f"{who}: {line}")
    except OSError:
        pass
    leaving.send(out)
    messages.send(f"{who} has left")
    conn.close()


def serve(listener: net.Listener) -> None:
    entering, leaving, messages = gmploop.Chan(), gmploop.Chan(), gmploop.Chan()
    gmploop.go(broadcaster, entering, leaving, messages)
    while True:
        try:
            conn = listener.accept()
        except OSError:
            return  # listener closed
        gmploop.go(handle_conn, conn, entering, leaving, messages)


def simulated_client(addr: tuple[str, int], name: str, nmsg: int, nclients: int,
                     joined: gmploop.WaitGroup, start: gmploop.Chan) -> list[str]:
    """Join as ``name``, say ``nmsg`` lines once everyone has joined, and read
    until it has heard all ``nclients * nmsg`` chat lines; returns them."""
    conn = net.dial(addr, timeout=10)
    conn.settimeout(30)  # a blocked recv raises TimeoutError instead of hanging
    with conn:
        lines = iter(Lines(conn))
        next(lines)                      # "You are ..." : we are registered
        conn.sendall(f"/nick {name}\n".encode())
        joined.done()
        start.recv_ok()                  # wait until every client has joined
        for j in range(nmsg):
            conn.sendall(f"hello {j} from {name}\n".encode())
        heard = []
        for line in lines:
            if ": hello " in line:
                heard.append(line)
                if len(heard) == nclients * nmsg:
                    break
        return heard


def main() -> None:
    ap = argparse.ArgumentParser(description="TCP chat server with simulated clients")
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--messages", type=int, default=3, help="lines each client says")
    ap.add_argument("--serve", action="store_true", help="keep serving (Ctrl-C stops)")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()

    listener = net.listen(("127.0.0.1", args.port))
    host, port = listener.addr
    gmploop.go(serve, listener)
    if args.serve:
        print(f"chat server on {host}:{port}; connect with: nc {host} {port}")
        gmploop.Chan().recv()  # serve until interrupted

    t0 = time.perf_counter()
    joined = gmploop.WaitGroup()
    joined.add(args.clients)
    start = gmploop.Chan()
    clients = [gmploop.go(simulated_client, (host, port), f"user{i}", args.messages,
                          args.clients, joined, start) for i in range(args.clients)]
    joined.wait(timeout=30)
    start.close()
    heard = [c.join(timeout=60) for c in clients]
    dt = time.perf_counter() - t0
    listener.close()

    expected = {f"user{i}: hello {j} from user{i}"
                for i in range(args.clients) for j in range(args.messages)}
    complete = sum(set(h) == expected for h in heard)
    print(f"chat server on {host}:{port}: {args.clients} clients x {args.messages} "
          f"messages in {dt:.2f} s")
    print("user0 heard:")
    for line in heard[0][:6]:
        print(f"  {line}")
    if len(heard[0]) > 6:
        print(f"  ... {len(heard[0]) - 6} more")
    print(f"{complete} of {args.clients} clients heard all {len(expected)} messages")
    if complete != args.clients:
        raise SystemExit(1)


if __name__ == "__main__":
    try:
        gmploop.run(main)
    except KeyboardInterrupt:
        pass
