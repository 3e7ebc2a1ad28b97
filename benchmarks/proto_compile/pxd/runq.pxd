cdef class LocalQueues:
    cdef public object newq, runq, runnext, inbox
    cdef public long schedtick
    cpdef drain_inbox(self)
