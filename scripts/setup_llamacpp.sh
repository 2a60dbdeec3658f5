#!/usr/bin/env bash
# Set up .venv-llamacpp for `python -m bench benchmark`'s llama.cpp target: llama-cpp-python's
# OpenAI server, built from its PyPI source distribution for this CPU (llama.cpp's native
# build: -march=native), in its own environment. The build takes several minutes on two
# cores, once: uv keeps the built wheel in its cache. Idempotent; prints the environment's
# Python last.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
VENV=.venv-llamacpp
PACKAGE="llama-cpp-python[server]==0.3.36"

if venv_is_current "$VENV" scripts/setup_llamacpp.sh; then
    echo "setup_llamacpp: environment up to date ($VENV)" >&2
else
    venv_create "$VENV" "setup_llamacpp:" >&2
    echo "setup_llamacpp: $PACKAGE (built from source: minutes, once)" >&2
    venv_install "$VENV" -q "$PACKAGE" >&2
    venv_mark_current "$VENV" scripts/setup_llamacpp.sh
fi
echo "$VENV/bin/python"
