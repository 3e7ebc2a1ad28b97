# The compiled build's view of mutexcore.py (docs/internals.md, "The compiled
# hot path"): the Mutex's state word as a C flag, tested and set under the GIL.
cdef class MutexCore:
    cdef bint _l  # held <=> the mutex is locked (interpreted: a _thread lock)
    cdef public object _guard, _q
    cdef public bint _starving, _woken

# C functions, inlined into the methods (the interpreted build does not call them)
cdef inline bint _take(MutexCore m)
cdef inline int _give(MutexCore m) except -1
