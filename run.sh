#!/usr/bin/env bash
# Quick start, command 1: set up (once) and run the showcase, gmploop's main job.
# (The install compiles the hot path; it runs again only when needed, as in test.sh.)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.gmploop-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] ||
   ! env -u GMPLOOP_PURE -u GMPLOOP_DEBUG -u GMPLOOP_TRACEBACK .venv/bin/python -W ignore -c \
       'import sys, gmploop; sys.exit(1 if gmploop._build.STALE else 0)' 2>/dev/null; then
    env -u GMPLOOP_PURE .venv/bin/python -m pip install -q --disable-pip-version-check -e . >/dev/null
    touch "$stamp"
fi
exec .venv/bin/python examples/showcase.py "$@"
