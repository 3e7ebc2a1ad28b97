# Sourced by run.sh and test.sh (not a command of its own): make .venv and
# install gmploop into it, with the extras given, when needed.
#
#   ensure_venv SPEC STAMP IMPORTS   e.g. ensure_venv ".[test]" .venv/.gmploop-test-installed "pytest, gmploop"
#
# The install compiles the hot path (Cython, docs/internals.md), so it runs
# again only when needed: a new venv, a changed pyproject.toml or setup.py,
# IMPORTS that fail, or sources newer than their compiled modules
# (gmploop._build.STALE).
ensure_venv() {
    local spec=$1 stamp=$2 imports=$3
    if [ ! -x .venv/bin/python ]; then
        "${PYTHON:-python3}" -m venv .venv
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] ||
       ! env -u GMPLOOP_PURE -u GMPLOOP_DEBUG -u GMPLOOP_TRACEBACK .venv/bin/python -W ignore -c \
           "import sys, $imports; sys.exit(1 if gmploop._build.STALE else 0)" 2>/dev/null; then
        env -u GMPLOOP_PURE .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" >/dev/null
        touch "$stamp"
    fi
}
