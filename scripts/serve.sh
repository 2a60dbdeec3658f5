#!/usr/bin/env bash
# Set everything up, then serve the embedded default (extra arguments go to the server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m server "$@"
