#!/usr/bin/env bash
# Quick start, command 1: set up (once) and run the showcase, gmploop's main job.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e . >/dev/null
exec .venv/bin/python examples/showcase.py "$@"
