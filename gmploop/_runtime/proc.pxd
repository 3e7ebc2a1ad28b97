# The compiled build's view of proc.py (docs/internals.md, "The compiled hot path").
from gmploop._runtime.dequeops cimport dq_init, dq_append, dq_appendleft, dq_popleft, dq_pop
cimport cython
from gmploop._runtime.runq cimport LocalQueues, runqget
from gmploop._runtime.runtime2 cimport GoroutineCore, Sudog

from gmploop._runtime.capi cimport PyGreenlet_Import, getcurrent, get_ident, _switch, _switch0, gc_track, gc_untrack, caller_code, caller_lasti

cdef class Sched

cdef class P(LocalQueues):
    cdef public object id, sched, loop, sched_glet, gfree, timers, lock
    cdef public object sleeping, in_batch, allgs, ncreated, nexited, nreused
    cdef public object idle, stuck, sm_tick, sm_since, sm_reported, retiring
    cdef public object thread, wake_handle, wake_deadline, nsteals, batch_t0, batch_tick, curg
    cdef public long budget
    cdef public unsigned long tid  # the M's thread ident (get_ident), 0 before it starts

    @cython.locals(g=GoroutineCore, nxt=GoroutineCore, sched=Sched)
    cdef goexit(self, g, glet)

cdef class Sched:
    cdef public object lock, globalq, nprocs, allp, retired, idle, nforeign
    cdef public object nexternal, abandoned, started, detect_deadlock
    cdef public object deadlock, fatal, main_g, on_main_exit, runtime_tids, loop0
    cdef public object sysmon
    cdef public bint dead
    cdef object __weakref__

@cython.locals(p=P, sched=Sched, nxt=GoroutineCore, ng=object)
cpdef gopark_commit(GoroutineCore g)

@cython.locals(p=P)
cpdef goready(GoroutineCore g)

# go()'s P path, a C call from go() (fan-out, skynet)
@cython.locals(g=GoroutineCore)
cpdef newproc_p(P p, fn, args, kwargs, ctx, code, lasti, parent)

# config values read in the hot paths, as C longs (C arithmetic)
cdef long GLOBAL_CHECK_TICKS
