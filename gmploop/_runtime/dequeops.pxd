# deque operations as direct C calls, for the compiled build (docs/internals.md,
# "The compiled hot path"). ``buf.append(v)`` on an untyped object is a method
# call by name in Cython (lookup, bound call: ~220 instructions); CPython has
# no C API for deques, so these call the C functions behind deque's own
# method descriptors, read once at import (``dq_init``): ~20 instructions.
# Where a descriptor is not the expected C function (another interpreter),
# they fall back to the method call. Interpreted, dequeops.py gives the same
# names as deque's unbound methods. Callers pass a deque or a subclass that
# does not override the method (WaitQ), as the unbound methods require.
cdef extern from *:
    """
    typedef PyObject *(*__gmp_dq_meth)(PyObject *, PyObject *);
    static __gmp_dq_meth __gmp_dq_fn[4];
    static int __gmp_dq_init(PyObject *deque_type) {
        static const char *names[4] = {"append", "appendleft", "popleft", "pop"};
        static const int conv[4] = {METH_O, METH_O, METH_NOARGS, METH_NOARGS};
        for (int i = 0; i < 4; i++) {
            PyObject *d = PyObject_GetAttrString(deque_type, names[i]);
            if (d == NULL) return -1;
            __gmp_dq_fn[i] = NULL;
            if (Py_IS_TYPE(d, &PyMethodDescr_Type)) {
                PyMethodDef *def = ((PyMethodDescrObject *)d)->d_method;
                int flags = def->ml_flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS
                                             | METH_O | METH_FASTCALL | METH_METHOD);
                if (flags == conv[i])
                    __gmp_dq_fn[i] = (__gmp_dq_meth)(void (*)(void))def->ml_meth;
            }
            Py_DECREF(d);
        }
        return 0;
    }
    static inline PyObject *__gmp_dq_append(PyObject *q, PyObject *v) {
        return __gmp_dq_fn[0] ? __gmp_dq_fn[0](q, v) : PyObject_CallMethod(q, "append", "O", v);
    }
    static inline PyObject *__gmp_dq_appendleft(PyObject *q, PyObject *v) {
        return __gmp_dq_fn[1] ? __gmp_dq_fn[1](q, v) : PyObject_CallMethod(q, "appendleft", "O", v);
    }
    static inline PyObject *__gmp_dq_popleft(PyObject *q) {
        return __gmp_dq_fn[2] ? __gmp_dq_fn[2](q, NULL) : PyObject_CallMethod(q, "popleft", NULL);
    }
    static inline PyObject *__gmp_dq_pop(PyObject *q) {
        return __gmp_dq_fn[3] ? __gmp_dq_fn[3](q, NULL) : PyObject_CallMethod(q, "pop", NULL);
    }
    """
    int dq_init "__gmp_dq_init" (object deque_type) except -1
    object dq_append "__gmp_dq_append" (object q, object v)
    object dq_appendleft "__gmp_dq_appendleft" (object q, object v)
    object dq_popleft "__gmp_dq_popleft" (object q)
    object dq_pop "__gmp_dq_pop" (object q)
