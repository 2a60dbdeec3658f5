#!/usr/bin/env bash
# Serve the documentation site (docs/, mkdocs.yml) on 127.0.0.1:8001, rebuilding on every
# edit; extra arguments go to `mkdocs serve`. mkdocs and its plugins come with the dev extras,
# which scripts/setup.sh installs (at once when up to date).
# Environment:
#   DOCS_ADDRESS  the address the site is served on
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_MODEL=0 scripts/setup.sh
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/mkdocs serve --strict -a "${DOCS_ADDRESS:-127.0.0.1:8001}" "$@"
