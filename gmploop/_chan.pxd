# The compiled build's view of _chan.py (docs/internals.md, "The compiled hot path").
from gmploop._runtime.dequeops cimport dq_init, dq_append, dq_appendleft, dq_popleft, dq_pop
from gmploop._runtime.capi cimport PyGreenlet_Import, getcurrent, get_ident
cimport cython
from gmploop._runtime.runtime2 cimport GoroutineCore, Sudog
from gmploop._runtime.proc cimport P, gopark_commit

cdef class ChanCore:
    # The channel lock: a C mutex (PyMutex from 3.13, PyThread lock before),
    # acquired and released without a method call; the pure build's is an
    # allocate_lock(). Not public: lock_all/unlock_all serve _select.py.
    cdef cython.pymutex _lock
    cdef public object _buf, recvq, sendq
    cdef public Py_ssize_t _cap
    cdef public bint _closed
    cdef object __weakref__

    @cython.locals(sg=Sudog, g=GoroutineCore, p=P)
    cpdef _recv_fast(self)
    @cython.locals(sg=Sudog, g=GoroutineCore)
    cpdef _recv_wait(self, timeout, what=*, alt=*)
    # send and recv are def methods, typed in _chan.py (@cython.locals):
    # called only from Python, so no C entry point, and one C frame fewer
    # under a goroutine parked in them.

@cython.locals(c=ChanCore)
cpdef lock_all(list lockorder)
@cython.locals(c=ChanCore)
cpdef unlock_all(list lockorder)

# runtime2's waiter kind, as a C int (Sudog.kind is one): a C comparison
cdef int K_G
