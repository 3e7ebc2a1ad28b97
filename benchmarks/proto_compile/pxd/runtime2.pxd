# Prototype (issue 12): runtime2.py's records as cdef classes. Every field
# stays readable and writable from Python (``public``), so the modules that
# are not compiled keep working unchanged.
cdef class Goroutine:
    cdef public object id, _name, fn, args, kwargs, status, glet, p, param
    cdef public object waitreason, result, exc, joinq, sudog, waitobj, quiet, ctx
    cdef public object go_code, go_lasti, parent_goid
    cdef public bint tracked, cancelreq
    cdef object __weakref__

cdef class Sudog:
    cdef public object kind, g, elem, sel, idx, state, lock, fut, loop
    cdef public bint ok, success
