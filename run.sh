#!/usr/bin/env bash
# Quick start, command 1: set up (once) and run the showcase, gmploop's main job.
# (The install compiles the hot path; it runs again only when needed: _venv.sh.)
set -euo pipefail
cd "$(dirname "$0")"
source ./_venv.sh
ensure_venv . .venv/.gmploop-installed gmploop
exec .venv/bin/python examples/showcase.py "$@"
