#!/usr/bin/env bash
# Set everything up, lint, build the docs, then run the whole test suite (unit tests and the
# end-to-end suite, which starts the real server once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The playground's browser test drives Debian's chromium (Playwright's own browser download
# needs the internet).
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "test: installing chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# PostgreSQL for the response store's tests (Debian's server; the tests start their own).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [[ $(id -u) == 0 ]] \
    && command -v apt-get >/dev/null; then
    echo "test: installing postgresql for the response store's tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# Codex CLI for the real-client tests (npm's @openai/codex: a Rust binary inside the package).
CODEX_VERSION=0.171.0
if ! command -v npm >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "test: installing npm for Codex CLI"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi
if command -v npm >/dev/null && [[ $(cat .tools/codex/.version 2>/dev/null) != "$CODEX_VERSION" ]]; then
    echo "test: installing Codex CLI $CODEX_VERSION into .tools/codex"
    npm install --prefix .tools/codex --no-audit --no-fund --loglevel=error \
        "@openai/codex@$CODEX_VERSION" >/dev/null
    echo "$CODEX_VERSION" > .tools/codex/.version
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The documentation site, strictly: a broken link, a missing image or a page left out of the
# nav fails the run. Built into a scratch folder, removed after.
docs_site=$(mktemp -d)
trap 'rm -rf "$docs_site"' EXIT
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$docs_site"
rm -rf "$docs_site"
trap - EXIT
.venv/bin/python -m pytest "$@"
# The whole suite's run: then the tests that read the model's greedy text once more, with the
# CPU's kernels limited to AVX2 (oneDNN's GEMMs and PyTorch's own), so that no test passes
# only by the rounding of this machine's widest instructions (docs/api/reproducibility.md).
if [[ $# == 0 ]]; then
    echo "test: the greedy-text tests again with the CPU kernels limited to AVX2"
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 .venv/bin/python -m pytest -m greedy_text tests/e2e
fi
