#!/usr/bin/env bash
# Set everything up, lint, then run the whole test suite (unit tests and the end-to-end
# suite, which starts the real server once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The playground's browser test drives Debian's chromium (Playwright's own browser download
# needs the internet).
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "test: installing chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
