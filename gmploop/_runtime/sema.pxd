# The compiled build's view of sema.py (docs/internals.md, "The compiled hot path").
from gmploop._runtime.dequeops cimport dq_init, dq_append, dq_appendleft, dq_popleft, dq_pop
from gmploop._runtime.capi cimport PyGreenlet_Import, getcurrent, get_ident

# runtime2's waiter kind, as a C int (Sudog.kind is one): a C comparison
cdef int K_G
