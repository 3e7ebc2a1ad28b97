# The compiled build's view of runq.py (docs/internals.md, "The compiled hot path").
cdef class LocalQueues:
    cdef public object newq, runq, runnext, inbox
    cdef public long schedtick
    cpdef drain_inbox(self)

# Called from proc.py's compiled code as C functions (gopark_commit).
cpdef runqget(LocalQueues pp, globalq)
