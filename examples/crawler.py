"""A rate-limited web crawler, against a local test site it serves itself.

A coordinator hands URLs to a pool of worker goroutines and collects the links
they find, in one ``select`` loop: the send case is switched off (Go's nil
channel: ``Send(None, ...)``) while there is nothing to hand out. All workers
share one ``Ticker``, so the whole crawl makes at most ``--rate`` requests a
second however many workers there are. Each fetch runs in ``gmploop.blocking``
(the stdlib's urllib blocks its thread), so a worker waiting for the server
parks and its processor runs the others.

The site: ``--pages`` pages, page i linking to pages 2i+1 and 2i+2 (so every
page is reachable from /page/0), to a page chosen pseudo-randomly, and every
tenth page to a missing page (a 404, which the crawler reports). The server
(http.server, threads) answers each request after ``--latency`` seconds.

    python examples/crawler.py
    python examples/crawler.py --pages 200 --workers 16 --rate 500
"""

import argparse
import http.server
import re
import threading
import time
import urllib.error
import urllib.request

import gmploop
from gmploop import Recv, Send

LINK = re.compile(r'href="([^"]+)"')


def site_links(i: int, pages: int) -> list[str]:
    links = [f"/page/{k}" for k in (2 * i + 1, 2 * i + 2, (i * 7919 + 13) % pages)
             if k < pages]
    if i % 10 == 9:
        links.append(f"/missing/{i}")
    return links


def start_site(pages: int, latency: float) -> http.server.ThreadingHTTPServer:
    """Serve the test site on 127.0.0.1 (a free port) from a thread."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            time.sleep(latency)
            m = re.fullmatch(r"/page/(\d+)", self.path)
            if m is None or int(m.group(1)) >= pages:
                self.send_error(404)
                return
            i = int(m.group(1))
            body = "".join(f'<a href="{u}">{u}</a>\n' for u in site_links(i, pages))
            data = f"<html><body><h1>page {i}</h1>\n{body}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass  # quiet

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     name="test-site", daemon=True).start()
    return server


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def crawl(base: str, workers: int, rate: float) -> tuple[set[str], dict[str, str], int]:
    """Crawl from ``base + /page/0``; returns (pages fetched, errors, requests)."""
    jobs = gmploop.Chan()
    results = gmploop.Chan()
    limiter = gmploop.Ticker(1.0 / rate)

    def worker() -> None:
        for path in jobs:
            limiter.c.recv()  # one request per tick, across all workers
            try:
                body = gmploop.blocking(fetch, base + path)
                results.send((path, LINK.findall(body), None))
            except (urllib.error.URLError, OSError) as e:
                results.send((path, [], str(e)))

    for _ in range(workers):
        gmploop.go(worker)

    seen = {"/page/0"}
    todo = ["/page/0"]
    inflight = 0
    ok: set[str] = set()
    errors: dict[str, str] = {}
    while todo or inflight:
        # Go: select { case r := <-results: ...; case jobs <- next: ... }
        # with the jobs case disabled (nil channel) when there is nothing to do.
        i, res, _ = gmploop.select(
            Recv(results),
            Send(jobs if todo else None, todo[-1] if todo else None),
            timeout=30,
        )
        if i == 1:
            todo.pop()
            inflight += 1
            continue
        inflight -= 1
        path, links, err = res
        if err is not None:
            errors[path] = err
            continue
        ok.add(path)
        for link in links:
            if link not in seen:
                seen.add(link)
                todo.append(link)
    jobs.close()
    limiter.stop()
    return ok, errors, len(ok) + len(errors)


def main() -> None:
    ap = argparse.ArgumentParser(description="rate-limited crawler of a local test site")
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rate", type=float, default=100.0, help="requests per second")
    ap.add_argument("--latency", type=float, default=0.02, help="server delay, seconds")
    args = ap.parse_args()
    server = start_site(args.pages, args.latency)
    host, port = server.server_address[:2]
    try:
        t0 = time.perf_counter()
        ok, errors, requests = crawl(f"http://{host}:{port}", args.workers, args.rate)
        dt = time.perf_counter() - t0
    finally:
        gmploop.blocking(server.shutdown)
        server.server_close()
    print(f"crawled {len(ok)} pages ({len(errors)} errors) of http://{host}:{port}/ "
          f"with {args.workers} workers")
    for path, err in sorted(errors.items()):
        print(f"  {path}: {err}")
    print(f"{requests} requests in {dt:.2f} s: {requests / dt:.0f}/s "
          f"(limit {args.rate:g}/s)")


if __name__ == "__main__":
    gmploop.run(main)
