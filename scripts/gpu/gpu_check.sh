#!/usr/bin/env bash
# One command for the first person with a GPU: on a CUDA machine with Docker and the NVIDIA
# container toolkit, build the GPU image, start it with compose (Phi-3.5-mini-instruct AWQ,
# the 6 GB profile unless server.env says otherwise), wait for /health, then inside the
# container run the checks the Phi-3.5 twin passes on the CPU (template ids, the stop at
# <|end|>, byte-fallback bytes, structured output, the inspector), the README's SDK example
# with a right answer, `python -m bench gpu_smoke` and the seed experiment (`python -m bench
# seeds`: greedy, temperature, top-k, top-p, min-p with logprobs through the OpenAI SDK)
# and the tutorial's version of it (docs/sampling/tutorial.py, with its figures); copy their
# results to docs/results/ (gpu_smoke.json, phi35_seeds.json, phi35_tutorial/) and print one
# summary. Exits 1 if anything failed. The server keeps running afterwards; `docker compose
# down` stops it.
#
#     scripts/gpu/gpu_check.sh
#
# Environment:
#   GPU_CHECK_TIMEOUT  seconds the first start may take (it downloads the checkpoint)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

TIMEOUT=${GPU_CHECK_TIMEOUT:-1800}
COMPOSE=(docker compose --profile gpu)
declare -A RESULT
failed=0

record() {  # record NAME STATUS
    RESULT[$1]=$2
    [[ $2 == ok ]] || failed=1
}

echo "gpu_check: [1/7] building the GPU image"
if "${COMPOSE[@]}" build server; then record build ok; else record build FAILED; fi

if [[ ${RESULT[build]} == ok ]]; then
    echo "gpu_check: [2/7] starting it"
    if "${COMPOSE[@]}" up -d server; then record start ok; else record start FAILED; fi
fi

if [[ ${RESULT[start]:-} == ok ]]; then
    echo "gpu_check: [3/7] waiting for /health (the first start downloads the checkpoint)"
    started=$(date +%s)
    record health "not ready in ${TIMEOUT} s"
    while (( $(date +%s) - started < TIMEOUT )); do
        if curl -fsS http://127.0.0.1:8000/health >/dev/null 2>&1; then
            record health ok
            echo "gpu_check: ready after $(( $(date +%s) - started )) s"
            break
        fi
        printf '\r  %4d s' $(( $(date +%s) - started ))
        sleep 5
    done
    [[ ${RESULT[health]} == ok ]] || "${COMPOSE[@]}" logs --tail 80 server
fi

if [[ ${RESULT[health]:-} == ok ]]; then
    # The measurement package alone (its checks need only httpx and openai, in vLLM's image).
    "${COMPOSE[@]}" exec -T server mkdir -p /tmp/gpu-check
    "${COMPOSE[@]}" cp bench server:/tmp/gpu-check >/dev/null
    BENCH=("${COMPOSE[@]}" exec -T --workdir /tmp/gpu-check server python3 -m bench)
    echo "gpu_check: [4/7] Phi-3.5 checks and the README's SDK example"
    if "${BENCH[@]}" phi35_checks --answers; then
        record phi35_checks ok
    else
        record phi35_checks FAILED
    fi
    echo "gpu_check: [5/7] time to first token and tokens/s"
    if "${BENCH[@]}" gpu_smoke --base-url http://127.0.0.1:8000 \
        --out /tmp/gpu-check/gpu_smoke.json; then
        record smoke ok
    else
        record smoke FAILED
    fi
    echo "gpu_check: [6/7] the seed experiment (each sampler, the same seed twice)"
    if "${BENCH[@]}" seeds --base-url http://127.0.0.1:8000 --out /tmp/gpu-check/seeds.json; then
        record seeds ok
    else
        record seeds FAILED
    fi
    echo "gpu_check: [7/7] the tutorial's seed experiment (docs/sampling/tutorial.md)"
    "${COMPOSE[@]}" cp docs/sampling/tutorial.py server:/tmp/gpu-check/tutorial.py >/dev/null
    # It draws with matplotlib, which vLLM's image may lack: added to the user's site only.
    "${COMPOSE[@]}" exec -T server sh -c 'python3 -c "import matplotlib" 2>/dev/null \
        || python3 -m pip install -q --user --break-system-packages matplotlib'
    if "${COMPOSE[@]}" exec -T server python3 /tmp/gpu-check/tutorial.py \
        --base-url http://127.0.0.1:8000 --out /tmp/gpu-check/tutorial; then
        record tutorial ok
    else
        record tutorial FAILED
    fi
    "${COMPOSE[@]}" cp server:/tmp/gpu-check/gpu_smoke.json docs/results/gpu_smoke.json
    "${COMPOSE[@]}" cp server:/tmp/gpu-check/seeds.json docs/results/phi35_seeds.json
    rm -rf docs/results/phi35_tutorial
    "${COMPOSE[@]}" cp server:/tmp/gpu-check/tutorial docs/results/phi35_tutorial
fi

echo
echo "gpu_check summary"
for name in build start health phi35_checks smoke seeds tutorial; do
    printf '  %-13s %s\n' "$name" "${RESULT[$name]:-not run}"
done
if (( failed )); then
    echo "the mission does NOT hold on this machine yet (see above)"
    exit 1
fi
echo "the mission holds: docker compose up serves Phi-3.5-mini-instruct AWQ as specified"
