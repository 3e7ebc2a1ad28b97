"""deque operations by function: ``dq_append(q, v)`` is ``q.append(v)``.

Interpreted, these are deque's unbound methods (as cheap as the method
calls). The compiled hot modules cimport dequeops.pxd instead, where the same
names are direct C calls (docs/internals.md, "The compiled hot path"); each
such module says ``if cython.compiled: dq_init(deque)`` and otherwise imports
these. ``q`` is a deque or a subclass that does not override the method.
"""

from collections import deque

dq_append = deque.append
dq_appendleft = deque.appendleft
dq_popleft = deque.popleft
dq_pop = deque.pop

__all__ = ["dq_append", "dq_appendleft", "dq_popleft", "dq_pop"]
