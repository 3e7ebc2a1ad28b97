# The compiled build's view of runq.py (docs/internals.md, "The compiled hot path").
from gmploop._runtime.dequeops cimport dq_init, dq_append, dq_appendleft, dq_popleft, dq_pop
cdef class LocalQueues:
    cdef public object newq, runq, runnext, inbox
    cdef public long schedtick
    cpdef drain_inbox(self)

# Called from proc.py's compiled code as C functions (gopark_commit).
cpdef runqget(LocalQueues pp, globalq)

# config's value, as a C long (C arithmetic)
cdef long GLOBAL_CHECK_TICKS
