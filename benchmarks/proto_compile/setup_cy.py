"""Prototype build (issue 12): compile the hot modules with Cython, in place.

The .py files stay the source; the .pxd files beside them (copy
benchmarks/proto_compile/pxd/*.pxd next to the modules, and apply
cython.patch, for the typed prototype; leave them out for the plain one)
declare cdef classes and typed locals. Reference material for issue 12:
nothing imports this and the package build is untouched (README.md).

    python benchmarks/proto_compile/setup_cy.py build_ext --inplace -j1
        (from the root of a scratch worktree; CY_MODULES picks the modules)
"""
import os
from setuptools import setup, Extension
from Cython.Build import cythonize

MODULES = os.environ.get("CY_MODULES", "gmploop/_chan.py gmploop/_runtime/runtime2.py "
                         "gmploop/_runtime/runq.py gmploop/_runtime/sema.py "
                         "gmploop/_runtime/proc.py").split()

exts = [Extension(m[:-3].replace("/", "."), [m]) for m in MODULES]
setup(
    name="gmploop-proto",
    ext_modules=cythonize(
        exts, nthreads=1, language_level=3, annotate=False,
        compiler_directives={
            "binding": True,  # introspectable functions, as the pure ones
            "boundscheck": False, "wraparound": False,
            "infer_types": True,
            # Annotations are documentation here (float | None, Generic[T]...);
            # the .pxd files carry the C types.
            "annotation_typing": os.environ.get("CY_ANNOT", "0") == "1",
            "freethreading_compatible": True,
        }),
    script_args=None,
)
