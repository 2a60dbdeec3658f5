#!/usr/bin/env bash
# Set everything up, lint, then run the whole test suite (unit tests and the end-to-end
# suite, which starts the real server once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
