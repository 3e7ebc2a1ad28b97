#!/usr/bin/env bash
# Quick start, command 2: set up (once) and run the test suite.
#
# Set-up creates .venv and installs gmploop with its test extras; the install
# compiles the hot path (Cython, docs/internals.md), so it runs again only
# when needed: a new venv, a changed pyproject.toml or setup.py, or sources
# newer than their compiled modules. GMPLOOP_PURE=1 ./test.sh runs the suite
# on the pure Python hot path instead (CI runs both).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.gmploop-test-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] ||
   ! env -u GMPLOOP_PURE -u GMPLOOP_DEBUG -u GMPLOOP_TRACEBACK .venv/bin/python -W ignore -c \
       'import sys, pytest, gmploop; sys.exit(1 if gmploop._build.STALE else 0)' 2>/dev/null; then
    env -u GMPLOOP_PURE .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" >/dev/null
    touch "$stamp"
fi
exec .venv/bin/python -m pytest -q "$@"
