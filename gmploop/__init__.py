"""gmploop: Go's runtime model for Python.

Goroutines on greenlets scheduled GMP-style, Go's channels and select, sync,
time and context, usable from goroutines, asyncio coroutines and plain threads,
and an asyncio event loop built on the same runtime. The contract is
docs/api.md; the guide starts at docs/index.md.
"""

from typing import Any as _Any

# First: it decides whether the compiled hot modules or their .py files load.
from . import _build as _build
from ._chan import Chan as Chan
from ._chan import Closed as Closed
from ._go import await_ as await_
from ._go import blocking as blocking
from ._go import current as current
from ._go import dump_goroutines as dump_goroutines
from ._go import excepthook as excepthook
from ._go import go as go
from ._go import num_goroutine as num_goroutine
from ._go import run as run
from ._go import set_max_procs as set_max_procs
from ._go import shutdown as shutdown
from ._go import stats as stats
from . import _loop
from ._loop import GMPEventLoop as GMPEventLoop
from ._loop import install as install
from ._loop import new_event_loop as new_event_loop
from ._runtime.proc import Deadlock as Deadlock
from ._runtime.proc import gosched as gosched
from ._runtime.proc import sleep as sleep
from ._runtime.runtime2 import Goroutine as Goroutine
from ._select import Recv as Recv
from ._select import Send as Send
from ._select import aselect as aselect
from ._select import select as select
from ._time import Ticker as Ticker
from ._time import Timer as Timer
from ._time import after as after
from ._sync import Group as Group
from ._sync import Mutex as Mutex
from ._sync import Once as Once
from ._sync import RWMutex as RWMutex
from ._sync import Semaphore as Semaphore
from ._sync import WaitGroup as WaitGroup
from ._context import Canceled as Canceled
from ._context import Context as Context
from ._context import DeadlineExceeded as DeadlineExceeded
from ._context import background as background
from ._context import with_cancel as with_cancel
from ._context import with_deadline as with_deadline
from ._context import with_timeout as with_timeout
from ._context import with_value as with_value

# Submodules of the documented surface, reachable as attributes after a plain
# ``import gmploop`` (as ``trio.lowlevel`` is).
from . import lowlevel as lowlevel

__version__ = "0.1.0"

_build.loaded()  # every hot module is in: the stand-in ``cython`` can go

Deadlock.__module__ = "gmploop"

__all__ = [
    "run", "go", "Goroutine", "current", "gosched", "sleep", "num_goroutine",
    "set_max_procs", "blocking", "await_", "shutdown", "excepthook",
    "Chan", "Closed", "Recv", "Send", "select", "aselect",
    "after", "Timer", "Ticker",
    "Deadlock", "new_event_loop", "GMPPolicy", "GMPEventLoop", "install",
    "stats", "dump_goroutines", "__version__",
    "WaitGroup", "Mutex", "RWMutex", "Once", "Semaphore", "Group",
    "background", "with_cancel", "with_timeout", "with_deadline", "with_value",
    "Context", "Canceled", "DeadlineExceeded",
]
if _loop._policy_api() is None:  # Python 3.16 on: asyncio has no policies
    __all__.remove("GMPPolicy")


def __getattr__(name: str) -> _Any:
    # GMPPolicy is made on first use: asyncio's policy classes are deprecated
    # from Python 3.14 on, and importing gmploop must not touch them.
    if name == "GMPPolicy":
        return _loop._gmp_policy_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
