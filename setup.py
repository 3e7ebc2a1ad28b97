"""Build: compile gmploop's hot modules with Cython (docs/internals.md, "The
compiled hot path"). Everything else is in pyproject.toml.

The ``.py`` files are the source; the ``.pxd`` files beside them give the
compiled build its C types. Each extension is optional: where there is no C
compiler the build skips it and gmploop runs pure (``gmploop.stats()["build"]``
and ``python -m gmploop --version`` say which). ``GMPLOOP_PURE=1`` at install
time skips compiling altogether.
"""

import ast
import os
import platform
import runpy

from setuptools import Extension, setup


HERE = os.path.dirname(os.path.abspath(__file__))


def _hot_modules() -> list[str]:
    # gmploop/_build.py's HOT is the one list of compiled modules.
    with open(os.path.join(HERE, "gmploop", "_build.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "HOT" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise RuntimeError("gmploop/_build.py defines no HOT")


def _ext_modules() -> list[Extension]:
    # GMPLOOP_PURE read by the runtime's own rule (gmploop/_runtime/config.py
    # imports only the standard library, so it runs here without gmploop).
    if runpy.run_path(os.path.join(HERE, "gmploop", "_runtime", "config.py"))["PURE"]:
        return []
    if platform.python_implementation() != "CPython":
        return []
    try:
        from Cython.Build import cythonize
        import greenlet  # for greenlet/greenlet.h, its C API (proc.pxd)
    except ImportError:  # build requirements not installed (--no-build-isolation)
        return []
    include = [os.path.dirname(os.path.dirname(os.path.abspath(greenlet.__file__)))]
    exts = [Extension(m, [m.replace(".", "/") + ".py"], include_dirs=include)
            for m in _hot_modules()]
    exts = cythonize(
        exts,
        nthreads=1,
        language_level=3,
        quiet=True,
        compiler_directives={
            "binding": True,  # functions introspect as the pure ones do
            "boundscheck": False,
            "wraparound": False,
            "infer_types": True,
            # The annotations are for type checkers (float | None, Goroutine[T]);
            # the .pxd files carry the C types.
            "annotation_typing": False,
            # Not declared free-threading compatible: the records' object
            # fields are plain C slots (docs/internals.md). gmploop/_build.py
            # runs the .py files on a free-threaded interpreter instead, and
            # were these modules imported there anyway, the GIL would be
            # re-enabled rather than raced.
            "freethreading_compatible": False,
        },
    )
    for ext in exts:
        # A C compiler that is missing or fails skips the extension instead of
        # failing the install (cythonize drops the flag, so it is set here).
        # gmploop/_build.py runs pure unless every hot module was built.
        ext.optional = True
    return exts


setup(ext_modules=_ext_modules())
