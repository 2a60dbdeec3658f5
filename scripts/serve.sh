#!/usr/bin/env bash
# Set up what serving needs (scripts/test.sh adds the test tools), then serve the embedded
# default (extra arguments go to the server), which the server converts at its first start.
# Environment:
#   SETUP_EXTRAS  the extras scripts/setup.sh installs
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_EXTRAS=${SETUP_EXTRAS:-cpu} SETUP_MODEL=0 scripts/setup.sh
exec .venv/bin/python -m server "$@"
