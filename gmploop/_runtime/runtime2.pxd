# The compiled build's view of runtime2.py (docs/internals.md, "The compiled
# hot path"): the goroutine and waiter records as C structs. Every field is
# ``public`` so that uncompiled modules read and write them as before;
# tests/test_compiled.py checks these lists against the classes' __slots__.
cdef class GoroutineCore:
    cdef public object id, _name, fn, args, kwargs, status, glet, p, param
    cdef public object waitreason, result, exc, joinq, sudog, waitobj, quiet, ctx
    cdef public object go_code, go_lasti, parent_goid
    cdef public bint tracked, cancelreq
    cdef object __weakref__

cdef class Sudog:
    cdef public int kind  # K_G, K_THREAD or K_FUTURE
    cdef public GoroutineCore g  # K_G's goroutine, else None
    cdef public object elem, sel, idx, state, lock, fut, loop
    cdef public bint ok, success
