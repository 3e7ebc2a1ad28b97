# The compiled build's view of _chan.py (docs/internals.md, "The compiled hot path").
cimport cython
from gmploop._runtime.runtime2 cimport GoroutineCore, Sudog
from gmploop._runtime.proc cimport P, gopark_commit

cdef class ChanCore:
    cdef public object _lock, _buf, recvq, sendq
    cdef public Py_ssize_t _cap
    cdef public bint _closed
    cdef object __weakref__

    @cython.locals(sg=Sudog, g=GoroutineCore, p=P)
    cpdef send(self, value, timeout=*)
    @cython.locals(sg=Sudog, g=GoroutineCore, p=P)
    cpdef _recv_fast(self)
    @cython.locals(sg=Sudog, g=GoroutineCore)
    cpdef _recv_wait(self, timeout, what=*, alt=*)
    @cython.locals(sg=Sudog, g=GoroutineCore, p=P)
    cpdef recv(self, timeout=*)
