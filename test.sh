#!/usr/bin/env bash
# Quick start, command 2: set up (once) and run the test suite.
#
# Set-up creates .venv and installs gmploop with its test extras; the install
# compiles the hot path, so it runs again only when needed (_venv.sh).
# GMPLOOP_PURE=1 ./test.sh runs the suite on the pure Python hot path
# instead (CI runs both).
set -euo pipefail
cd "$(dirname "$0")"
source ./_venv.sh
ensure_venv ".[test]" .venv/.gmploop-test-installed "pytest, gmploop"
exec .venv/bin/python -m pytest -q "$@"
