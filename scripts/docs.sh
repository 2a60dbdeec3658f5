#!/usr/bin/env bash
# Serve the documentation site (docs/, mkdocs.yml) on 127.0.0.1:8001, rebuilding on every
# edit. DOCS_ADDRESS picks another address; extra arguments go to `mkdocs serve`. mkdocs comes
# with the dev extras, which scripts/setup.sh installs when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/mkdocs ]]; then
    SETUP_MODEL=0 scripts/setup.sh
fi
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/mkdocs serve --strict -a "${DOCS_ADDRESS:-127.0.0.1:8001}" "$@"
