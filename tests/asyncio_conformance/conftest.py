"""pytest-asyncio on gmploop's loop, as a user would set it up (docs/asyncio.md).

pytest-asyncio >= 1.4 takes loop factories from the
``pytest_asyncio_loop_factories`` hook; every asyncio test below this directory
then runs once per factory: on the stdlib loop (the oracle) and on gmploop's.
A hook in this conftest applies only to tests in this directory.
"""

import asyncio

import gmploop


def pytest_asyncio_loop_factories(config, item):
    return {
        "asyncio": asyncio.SelectorEventLoop,
        "gmploop": gmploop.new_event_loop,
        "gmploop-procs4": lambda: gmploop.new_event_loop(procs=4),
    }
