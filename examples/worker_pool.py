"""A worker pool with errgroup and context cancellation (Go's errgroup
pipeline pattern, as in golang.org/x/sync/errgroup's "Pipeline" example).

A producer hands job numbers to ``--workers`` workers over a channel; the
workers "process" each job (a cancellable wait plus a hash) and send results
to a collector. All of them run in one ``gmploop.Group`` made with a context:

- the first worker that raises cancels ``group.ctx``; every other goroutine
  watches ``group.ctx.done()`` in its ``select``, stops early, and
  ``group.wait()`` re-raises that first error;
- the whole run has a deadline (``with_timeout``): when it passes, the same
  channel closes and the workers stop with ``DeadlineExceeded``.

The example runs three scenarios: everything succeeds (the checksum is
verified against a plain loop), one job fails, and the deadline expires.

    python examples/worker_pool.py
    python examples/worker_pool.py --jobs 1000 --workers 32 --fail-at 500
"""

import argparse
import hashlib
import time

import gmploop
from gmploop import Recv, Send


def digest(job: int) -> int:
    return int.from_bytes(hashlib.sha256(f"job-{job}".encode()).digest()[:4], "big")


def process(ctx: gmploop.Context, job: int, delay: float, fail_at: int | None) -> int:
    """One job: wait ``delay`` seconds (cancellable), then hash. Raises on
    the poisoned job, and raises ``ctx.err()`` if cancelled meanwhile
    (Go: ``return ctx.Err()``)."""
    i, _, _ = gmploop.select(Recv(ctx.done()), Recv(gmploop.after(delay)))
    if i == 0:
        raise ctx.err()
    if job == fail_at:
        raise ValueError(f"job {job}: corrupt input")
    return digest(job)


def run_pool(jobs: int, workers: int, delay: float, deadline: float,
             fail_at: int | None = None) -> tuple[dict[int, int], int, BaseException | None]:
    """-> (results by job, jobs handed out, the group's error or None)."""
    ctx, cancel = gmploop.with_timeout(gmploop.background(), deadline)
    try:
        group = gmploop.Group(ctx)
        gctx = group.ctx
        work = gmploop.Chan()
        results = gmploop.Chan()
        handed_out = 0

        def produce() -> None:
            nonlocal handed_out
            try:
                for job in range(jobs):
                    i, _, _ = gmploop.select(Send(work, job), Recv(gctx.done()))
                    if i == 1:
                        raise gctx.err()
                    handed_out += 1
            finally:
                work.close()

        def worker() -> None:
            for job in work:
                r = process(gctx, job, delay, fail_at)
                i, _, _ = gmploop.select(Send(results, (job, r)), Recv(gctx.done()))
                if i == 1:
                    raise gctx.err()

        group.go(produce)
        for _ in range(workers):
            group.go(worker)

        def close_results() -> None:  # Go: go func() { g.Wait(); close(c) }()
            try:
                group.wait()
            except Exception:  # noqa: BLE001 - the collector re-raises it below
                pass
            results.close()

        gmploop.go(close_results)
        done: dict[int, int] = {}
        for job, r in results:
            done[job] = r
        try:
            group.wait()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            return done, handed_out, e
        return done, handed_out, None
    finally:
        cancel()


def main() -> None:
    ap = argparse.ArgumentParser(description="worker pool: errgroup + context")
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--delay", type=float, default=0.002, help="seconds per job")
    ap.add_argument("--fail-at", type=int, default=60, help="the job that fails in run 2")
    args = ap.parse_args()
    n, w, d = args.jobs, args.workers, args.delay

    t0 = time.perf_counter()
    done, sent, err = run_pool(n, w, d, deadline=30.0)
    dt = time.perf_counter() - t0
    want = sum(digest(j) for j in range(n))
    got = sum(done.values())
    verdict = "ok" if err is None and len(done) == n and got == want else "WRONG"
    print(f"run 1, all succeed: {len(done)} of {n} jobs by {w} workers in {dt:.2f} s, "
          f"checksum {got:#x} {verdict}")
    if verdict != "ok":
        raise SystemExit(1)

    done, sent, err = run_pool(n, w, d, deadline=30.0, fail_at=args.fail_at)
    print(f"run 2, job {args.fail_at} fails: group.wait() raised "
          f"{type(err).__name__}: {err}; cancelled after {len(done)} results, "
          f"{sent} of {n} jobs handed out")

    slow = max(d * 5, 0.005)
    deadline = slow * 3.5  # time for about three rounds of jobs
    done, sent, err = run_pool(n, w, slow, deadline=deadline)
    print(f"run 3, deadline {deadline * 1000:.0f} ms, {slow * 1000:.0f} ms per job: "
          f"group.wait() raised {type(err).__name__}; {len(done)} of {n} jobs done")


if __name__ == "__main__":
    gmploop.run(main)
