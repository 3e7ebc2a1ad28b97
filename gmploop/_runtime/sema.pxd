# The compiled build's view of sema.py (docs/internals.md, "The compiled hot path").
from gmploop._runtime.dequeops cimport dq_init, dq_append, dq_appendleft, dq_popleft, dq_pop

# runtime2's waiter kind, as a C int (Sudog.kind is one): a C comparison
cdef int K_G
