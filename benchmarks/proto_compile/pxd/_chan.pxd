cimport cython
from gmploop._runtime.runtime2 cimport Goroutine, Sudog
from gmploop._runtime.proc cimport P, gopark_commit

cdef class Chan:
    cdef public object _lock, _buf, recvq, sendq
    cdef public Py_ssize_t _cap
    cdef public bint _closed
    cdef object __weakref__

    @cython.locals(sg=Sudog, g=Goroutine, p=P)
    cpdef send(self, value, timeout=*)
    @cython.locals(sg=Sudog, g=Goroutine, p=P)
    cpdef _recv_fast(self)
    @cython.locals(sg=Sudog, g=Goroutine)
    cpdef _recv_wait(self, timeout, what=*, alt=*)
    @cython.locals(sg=Sudog, g=Goroutine, p=P)
    cpdef recv(self, timeout=*)
