"""Runtime data structures: the goroutine record (G), its status, and the waiter
record (sudog). Counterpart of Go's ``runtime/runtime2.go``.

Ownership (who may write what):

- ``G.status`` moves IDLE -> RUNNABLE -> RUNNING <-> WAITING -> DEAD.
  IDLE/RUNNABLE before its first run, the G is a plain record owned by whichever
  run queue holds it (it can be stolen). From its first run on it is bound to one
  greenlet and so to one processor P and one OS thread for life (greenlets are
  bound to their thread, docs/internals.md): ``G.p`` never changes again.
- A G is set WAITING by its own code *before* it publishes a waiter (under the
  lock of the structure it waits on), so a waker on another thread that readies it
  at once finds it WAITING. ``goready`` sets RUNNABLE and queues it on ``G.p``.
- ``G.param`` is written by the waker before ``goready`` and read by the G after
  it resumes (Go's ``gp.param``).

A Sudog stands for one waiting party on one wait queue. It is one of three kinds:
a goroutine (woken by ``goready``), a thread (woken by releasing a lock it blocks
on), or an asyncio future (resolved on its loop, thread-safely from elsewhere).
Every blocking structure (channels, select, join, sync) uses it, so all three
caller kinds work on every primitive.

Claiming: exactly one party may complete a waiter. For a sudog on one queue the
queue's lock arbitrates (the waker dequeues it, a timeout or cancellation looks
whether it is still there). A sudog that belongs to a ``select`` (or any waiter
on several queues) shares a ``SelectDone`` whose test-and-set decides the winner,
as Go's ``selectDone`` CAS does.
"""

from __future__ import annotations

import enum
from _thread import allocate_lock
from typing import TYPE_CHECKING, Any, Callable, Generator, Generic, TypeVar

if TYPE_CHECKING:
    import asyncio
    from _thread import LockType

    from .proc import P
    from .sema import JoinQ

T = TypeVar("T")


class Canceled(BaseException):
    """A goroutine was cancelled (``Goroutine.cancel()``), raised at its
    blocking operation; also ``ctx.err()`` of a cancelled context (Go's
    ``context.Canceled``). A ``BaseException``, as ``asyncio.CancelledError``
    is, so that ``except Exception:`` in a worker loop does not swallow it."""


class GStatus(enum.IntEnum):
    """Goroutine states, after runtime2.go's ``_Gidle`` ... ``_Gdead``."""

    IDLE = 0  #: created, never queued (not used by go(); kept for Go parity)
    RUNNABLE = 1  #: on a run queue, not running
    RUNNING = 2  #: executing on its processor's thread
    WAITING = 3  #: parked; some waker will ``goready`` it
    DEAD = 4  #: finished


IDLE = GStatus.IDLE
RUNNABLE = GStatus.RUNNABLE
RUNNING = GStatus.RUNNING
WAITING = GStatus.WAITING
DEAD = GStatus.DEAD

# Wait reasons, spelled as Go spells them (runtime2.go waitReasonStrings).
W_CHAN_RECV = "chan receive"
W_CHAN_SEND = "chan send"
W_CHAN_RECV_NIL = "chan receive (nil chan)"
W_SELECT = "select"
W_SELECT_NO_CASES = "select (no cases)"
W_SLEEP = "sleep"
W_SYNC_WAIT = "sync.WaitGroup.Wait"
W_MUTEX = "sync.Mutex.Lock"
W_RWMUTEX_R = "sync.RWMutex.RLock"
W_RWMUTEX_W = "sync.RWMutex.Lock"
W_SEMACQUIRE = "semacquire"
W_JOIN = "goroutine join"
W_IO = "IO wait"
W_SYSCALL = "syscall"
W_AWAIT = "asyncio await"
W_GOSCHED = "preempted"


class GoroutineCore:
    """The goroutine record (Go's g): every field of a :class:`Goroutine`.

    A separate base so that a compiled build can make it a C struct (a cdef
    class, runtime2.pxd) while the public :class:`Goroutine` stays an ordinary
    generic class; code outside this package uses ``Goroutine``.
    """

    __slots__ = (
        "id", "_name", "fn", "args", "kwargs", "status", "glet", "p", "param",
        "waitreason", "result", "exc", "joinq", "tracked", "sudog", "cancelreq",
        "waitobj", "quiet", "ctx",
        # Where it was created, for dump_goroutines' "created by" line: the
        # code object and instruction offset of the go() call and the
        # creating goroutine's id (0: created outside goroutines). Set by
        # go() (no traceback, no allocation but an int), left unset for the
        # main goroutine; read with getattr(g, "go_code", None).
        "go_code", "go_lasti", "parent_goid",
        "__weakref__",
    )

    # Typed as its readers see it: fixed at the first run, and read only by
    # the goroutine itself or by wakers of one that has run (hot paths).
    # None before then (set in __init__).
    p: P
    # Slots that are set only when needed (read with getattr and a default).
    waitobj: Any
    quiet: bool
    go_code: Any
    go_lasti: int
    parent_goid: int

    def __init__(self, gid: int, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any] | None) -> None:
        self.id = gid
        self._name: str | None = None
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.status = RUNNABLE
        self.glet: Any = None  # greenlet, bound at first run
        self.p = None  # type: ignore[assignment]  # home processor, see above
        self.param: Any = None
        self.waitreason = ""
        self.result: Any = None
        self.exc: BaseException | None = None
        self.joinq: JoinQ | None = None  # its joiners, made on first join
        self.tracked = False  # in its P's allgs (set at first park)
        self.sudog: Sudog | None = None  # cached waiter for plain waits
        # Cancellation (proc.py, "Cancellation"): a request not yet
        # delivered. Two more slots are set only when needed, to keep go()
        # cheap: ``waitobj``, what the current park waits on (every park that
        # can be cancelled sets it); ``quiet``, set when its exception is
        # reported elsewhere (a joiner was waiting, or its Group reports it),
        # so that excepthook is not called for it.
        self.cancelreq = False
        # The contextvars.Context it runs in: a copy of its creator's, taken
        # at creation (as asyncio.create_task does); None when the creator's
        # was empty, and then it starts in a fresh empty one. Set by the
        # creator (proc.snapshot_context); proc.worker_main installs it as its
        # greenlet's gr_context.
        self.ctx: Any = None

    @property
    def name(self) -> str:
        return self._name if self._name is not None else f"goroutine-{self.id}"

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"name must be a str, not {type(value).__name__}")
        self._name = value

    def done(self) -> bool:
        """True once the goroutine's function has returned or raised."""
        return self.status is DEAD


class Goroutine(GoroutineCore, Generic[T]):
    """A goroutine: a function run by the gmploop scheduler on a greenlet.

    Returned by :func:`gmploop.go`; ``Goroutine[T]`` is one whose function
    returns ``T``. ``id`` is unique and increasing in creation order; ``name``
    defaults to ``goroutine-<id>``. Use :meth:`join` (or ``await g`` in a
    coroutine) for its result, :meth:`cancel` to stop it.
    """

    __slots__ = ()

    def join(self, timeout: float | None = None) -> T:
        """Wait for the goroutine to finish; return its result or re-raise its
        exception. Parks a calling goroutine, blocks a calling thread.
        ``TimeoutError`` if not done in time (the goroutine is not cancelled);
        joining itself raises ``RuntimeError``."""
        r: T = _join(self, timeout)
        return r

    async def ajoin(self, timeout: float | None = None) -> T:
        """``join`` for a coroutine, without blocking the loop. Cancelling the
        awaiting task cancels the goroutine, as awaiting a Task does
        (``asyncio.shield`` prevents it); a timeout does not."""
        r: T = await _ajoin(self, timeout)
        return r

    def __await__(self) -> Generator[Any, None, T]:
        """``await g``: same as ``await g.ajoin()``."""
        return self.ajoin().__await__()

    def cancel(self) -> bool:
        """Ask the goroutine to stop: ``Canceled`` is raised at its current
        blocking operation, or at the next one it starts, which then performs
        nothing. Delivered once; the goroutine may catch it. Works from any
        goroutine, thread or coroutine. False if it has already finished."""
        return _cancel(self)

    def __repr__(self) -> str:
        return f"<Goroutine {self.id} {self.name!r} {self.status.name.lower()}>"


# Goroutine's waiting and cancelling live in sema.py and proc.py, which import
# this module; they install their functions here when they load.
_join: Callable[[Goroutine[Any], float | None], Any] = None  # type: ignore[assignment]
_ajoin: Callable[[Goroutine[Any], float | None], Any] = None  # type: ignore[assignment]
_cancel: Callable[[Goroutine[Any]], bool] = None  # type: ignore[assignment]


class SelectDone:
    """Shared claim of the sudogs of one multi-queue wait (Go's selectDone).

    ``claim(sg)`` is an atomic test-and-set: the first caller wins and records
    which sudog won; later callers get False. The lock is never released, it
    only serves as the atomic flag.
    """

    __slots__ = ("_flag", "won")

    def __init__(self) -> None:
        self._flag = allocate_lock()
        self.won: Sudog | None = None

    def claim(self, sg: "Sudog | None") -> bool:
        if self._flag.acquire(False):
            self.won = sg
            return True
        return False

    @property
    def claimed(self) -> bool:
        return self._flag.locked()


# Sudog kinds.
K_G = 0
K_THREAD = 1
K_FUTURE = 2


class SudogState(enum.IntEnum):
    """Who owns a sudog (sema.py's life-cycle; docs/internals.md "Waiters").

    ``WAITING``: published on a wait queue; a waker may claim it (for a
    select, only through the shared ``SelectDone``). ``CLAIMED``: a waker took
    it off its queue; the waker fills in the outcome and wakes the waiter,
    which then owns it again, and a goroutine may reuse it for its next wait.
    ``CANCELLED``: the waiter withdrew it (timeout, cancellation); it stays on
    its queue until a dequeuer or a compaction drops it, so it is never reused.
    A select's losing sudogs stay ``WAITING`` on their queues but are dead
    (their ``SelectDone`` is claimed): they are never reused either.
    """

    WAITING = 1
    CLAIMED = 2
    CANCELLED = 3


SG_WAITING = SudogState.WAITING
SG_CLAIMED = SudogState.CLAIMED
SG_CANCELLED = SudogState.CANCELLED


class Sudog:
    """One waiter on one wait queue (Go's sudog).

    ``elem`` carries the value (to send, or received) or, for sync waiters,
    the datum their primitive documents (a Mutex waiter's start time, a
    semaphore waiter's unit count); ``ok`` whether a receive got a real value;
    ``success`` whether the waker completed the operation (False: woken by
    close, or to compete again); ``idx`` the case index in a select; ``sel``
    the shared claim of a select (None for a plain wait); ``state`` a
    ``SudogState``. Only sema.py moves ``state`` (see its header).
    """

    __slots__ = ("kind", "g", "elem", "ok", "sel", "idx", "state", "lock",
                 "fut", "loop", "success")

    def __init__(self, kind: int, g: Any = None) -> None:
        self.kind = kind
        self.g = g
        self.elem: Any = None
        self.ok = False
        self.sel: SelectDone | None = None
        self.idx = 0
        self.state = SG_WAITING
        # Per kind: a thread's lock (K_THREAD), a coroutine's future and its
        # loop (K_FUTURE); None for the other kinds.
        self.lock: LockType | None = None
        self.fut: asyncio.Future[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.success = False

    def __repr__(self) -> str:
        kind = ("goroutine", "thread", "future")[self.kind]
        return f"<sudog {kind} idx={self.idx} {self.state.name.lower()}>"
