# C APIs the compiled hot modules call directly (docs/internals.md, "The
# compiled hot path"): greenlet's (greenlet/greenlet.h, found by setup.py
# beside the installed greenlet package) and CPython's thread identity. The
# names match what the .py files import, so interpreted they are greenlet's
# and _thread's own functions. A module that cimports these says
# ``if cython.compiled: PyGreenlet_Import()`` once (the API table is per C
# file).

# The C functions below use greenlet's API (PyGreenlet_Switch,
# PyGreenlet_GetCurrent) from this header directly.
cdef extern from "greenlet/greenlet.h":
    void PyGreenlet_Import() except *

cdef extern from *:
    """
    /* greenlet.getcurrent(); greenlet's C function returns NULL without an
       error once the interpreter is finalizing: None then, which no caller
       takes for a goroutine's greenlet. */
    static inline PyObject *__gmp_getcurrent(void) {
        PyObject *cur = (PyObject *)PyGreenlet_GetCurrent();
        if (cur == NULL && !PyErr_Occurred()) {
            Py_INCREF(Py_None);
            return Py_None;
        }
        return cur;
    }
    """
    object getcurrent "__gmp_getcurrent" ()

cdef extern from *:
    """
    /* glet.switch(arg) and glet.switch(): one C call into greenlet, without
       the method lookup and the argument parsing of glet.switch(x), inlined
       where they are called (a C function of their own would be one more
       frame under every parked goroutine, for greenlet to save). */
    #if defined(__GNUC__) || defined(__clang__)
    #define __GMP_ALWAYS_INLINE static inline __attribute__((always_inline))
    #else
    #define __GMP_ALWAYS_INLINE static inline
    #endif
    __GMP_ALWAYS_INLINE PyObject *__gmp_switch(PyObject *glet, PyObject *arg) {
        PyObject *args = PyTuple_Pack(1, arg);
        PyObject *r;
        if (args == NULL)
            return NULL;
        r = PyGreenlet_Switch((PyGreenlet *)glet, args, NULL);
        Py_DECREF(args);
        return r;
    }
    __GMP_ALWAYS_INLINE PyObject *__gmp_switch0(PyObject *glet) {
        return PyGreenlet_Switch((PyGreenlet *)glet, NULL, NULL);
    }
    """
    object _switch "__gmp_switch" (object glet, object arg)
    object _switch0 "__gmp_switch0" (object glet)

cdef extern from "pythread.h":
    unsigned long get_ident "PyThread_get_thread_ident" ()

cdef extern from *:
    """
    /* A goroutine waiting to start is hidden from the cyclic GC
       (proc.py, newproc_p): tracking is idempotent both ways here
       (PyObject_GC_Track on a tracked object is a fatal error). */
    static inline void __gmp_gc_untrack(PyObject *o) {
        PyObject_GC_UnTrack(o);
    }
    static inline void __gmp_gc_track(PyObject *o) {
        if (!PyObject_GC_IsTracked(o))
            PyObject_GC_Track(o);
    }
    """
    void gc_untrack "__gmp_gc_untrack" (object o)
    void gc_track "__gmp_gc_track" (object o)

cdef extern from *:
    """
    /* The calling Python code's frame (compiled functions have none of
       their own), for go()'s "created by": its code object and last
       instruction, as frame.f_code and frame.f_lasti give them; None and 0
       when called straight from C. */
    static inline PyObject *__gmp_caller_code(void) {
        PyFrameObject *f = PyEval_GetFrame();
        if (f == NULL) {
            Py_INCREF(Py_None);
            return Py_None;
        }
        return (PyObject *)PyFrame_GetCode(f);
    }
    static inline int __gmp_caller_lasti(void) {
        PyFrameObject *f = PyEval_GetFrame();
        return f == NULL ? 0 : PyFrame_GetLasti(f);
    }
    """
    object caller_code "__gmp_caller_code" ()
    int caller_lasti "__gmp_caller_lasti" ()
