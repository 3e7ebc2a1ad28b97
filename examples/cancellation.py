"""Cancellation and structured concurrency in gmploop (docs/cancellation.md).

Three patterns, each printing what happened:

1. A structured ``Group``: the first failure cancels its siblings, which are
   blocked in a channel receive, a sleep and an asyncio await; ``wait`` raises
   that first error once every member has finished.
2. Hedged requests: ask three replicas, keep the first answer, cancel the rest.
3. From asyncio: ``asyncio.wait_for`` on a goroutine cancels it at the
   timeout, as it would a Task; ``asyncio.shield`` keeps it running.

Run: python examples/cancellation.py
"""

from __future__ import annotations

import asyncio
import time

import gmploop
from gmploop import Canceled, Chan, Group


def structured_group() -> None:
    results = Chan(10)
    never = Chan()

    def waits_for_a_message() -> None:
        try:
            never.recv()
        except Canceled:
            results.send("receiver cancelled")
            raise

    def sleeps() -> None:
        try:
            gmploop.sleep(60)
        except Canceled:
            results.send("sleeper cancelled")
            raise

    def awaits_asyncio() -> None:
        try:
            gmploop.await_(asyncio.sleep(60))
        except Canceled:
            results.send("awaiter cancelled")
            raise

    def fails() -> None:
        gmploop.sleep(0.01)
        raise ConnectionError("upstream refused")

    t0 = time.monotonic()
    grp = Group()
    for fn in (waits_for_a_message, sleeps, awaits_asyncio, fails):
        grp.go(fn)
    try:
        grp.wait(timeout=10)
    except ConnectionError as e:
        elapsed = time.monotonic() - t0
        print(f"group: first error {e!r}, all members done in under 1 s: {elapsed < 1}")
    print("group:", ", ".join(sorted(results.recv(timeout=10) for _ in range(3))))


def hedged_requests() -> None:
    answers = Chan(3)

    def replica(name: str, delay: float) -> None:
        gmploop.sleep(delay)  # the request; a cancelled replica stops here
        answers.send(name)

    replicas = [gmploop.go(replica, f"replica-{i}", d)
                for i, d in enumerate((30, 0.02, 50))]
    first = answers.recv(timeout=10)
    cancelled = sum(g.cancel() for g in replicas if not g.done())
    for g in replicas:
        try:
            g.join(timeout=10)
        except Canceled:
            pass
    print(f"hedged: first answer from {first}, {cancelled} slower replicas cancelled, "
          f"{len(answers)} late answers")


async def from_asyncio() -> None:
    never = Chan()
    g = gmploop.go(never.recv)
    try:
        await asyncio.wait_for(g, 0.05)
    except TimeoutError:
        pass
    try:
        await asyncio.wait_for(g.ajoin(), 10)
    except Canceled:
        print("asyncio: wait_for timed out and cancelled the goroutine")

    ch = Chan()
    shielded = gmploop.go(ch.recv, timeout=10)
    try:
        await asyncio.wait_for(asyncio.shield(shielded), 0.05)
    except TimeoutError:
        pass
    await ch.asend("still running", timeout=10)
    print(f"asyncio: the shielded goroutine got {await shielded!r}")


def main() -> None:
    structured_group()
    hedged_requests()
    gmploop.await_(from_asyncio())


if __name__ == "__main__":
    gmploop.run(main)
