#!/usr/bin/env bash
# The GPU image's Python environment, rehearsed for real on a machine without Docker or a GPU:
# a side environment with vLLM's CUDA build at the Dockerfile's version and what vLLM's image
# adds (scripts/gpu/image_closure.py --base), then the Dockerfile's own install step as written
# (its --system pointed at the side environment), then every server module imported and the
# server started with the GPU profile, which must stop with the one-line "no GPU" message
# (server/engine/device.py), not a traceback. Writes docs/results/gpu_image_rehearsal.json and
# deletes the side environment (several GB of CUDA wheels) afterwards. Exits 1 if a step failed.
#
#     scripts/gpu/rehearse_image.sh
#
# Environment:
#   REHEARSAL_VENV    the side environment (deleted afterwards)
#   REHEARSAL_PYTHON  the Python it is created with (the image's version)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

VENV=${REHEARSAL_VENV:-/tmp/gpu-image-venv}
PYTHON=${REHEARSAL_PYTHON:-python3.12}
PROFILE=config/phi35-awq-6gb.yaml
OUT=docs/results/gpu_image_rehearsal.json
HERE=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"  # uv, which the Dockerfile's step calls
WORK=$(mktemp -d)
trap 'rm -rf "$VENV" "$WORK"' EXIT
# The package registry alone, as the image's build sees it: no local indexes or constraints.
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(UV|PIP)_')

failed=0
step() {  # step NAME COMMAND...: run and time it; output in $WORK/NAME.log, a row in steps.tsv
    local name=$1 started=$SECONDS status=ok
    shift
    echo "rehearse: $name"
    "$@" >"$WORK/$name.log" 2>&1 || { status="exit $?"; failed=1; }
    printf '%s\t%s\t%s\n' "$name" "$status" $(( SECONDS - started )) >> "$WORK/steps.tsv"
    tail -n 3 "$WORK/$name.log"
}

# The start-up must end with exit 1 and, as its last line, the one-line "no GPU" message.
# shellcheck disable=SC2329  # called through step
starts_as_expected() {
    local message
    SAMPLING_SERVER_CONFIG=$PROFILE SAMPLING_SERVER_CACHE_DIR=$WORK/cache \
        timeout 600 "$VENV/bin/python" -m server --port 0
    [[ $? == 1 ]] || return 1
    message=$("$HERE" -c 'from server.engine.device import NO_DEVICE; print(NO_DEVICE)')
    [[ $(tail -n 1 "$WORK/start.log") == "$message" ]] && ! grep -q '^Traceback' "$WORK/start.log"
}

mapfile -t BASE < <("$HERE" -m scripts.gpu.image_closure --base)
INSTALL_STEP=$("$HERE" -m scripts.gpu.image_closure --install-step)
INSTALL_STEP=${INSTALL_STEP//--system/--python $VENV/bin/python}
IMPORT_ALL='import importlib, pkgutil, server
names = [m.name for m in pkgutil.walk_packages(server.__path__, "server.")]
for name in names:
    importlib.import_module(name)
print(len(names), "server modules imported")'

step venv uv venv --python "$PYTHON" "$VENV"
step base_image uv pip install --python "$VENV/bin/python" --no-cache "${BASE[@]}"
step install_step sh -c "$INSTALL_STEP"
step pip_check uv pip check --python "$VENV/bin/python"
step imports "$VENV/bin/python" -c "$IMPORT_ALL"
step start starts_as_expected

RESULT_INSTALLED=$(uv pip list --python "$VENV/bin/python" --format freeze | grep -c '==') \
RESULT_DISK=$(du -sb "$VENV" | cut -f1) \
RESULT_VERSIONS=$("$VENV/bin/python" -c 'import torch, vllm; print(vllm.__version__, torch.__version__)') \
RESULT_FAILED=$failed RESULT_STEP=$INSTALL_STEP RESULT_BASE="${BASE[*]}" \
    "$HERE" - "$OUT" "$PYTHON" "$WORK" <<'EOF'
"""The rehearsal's result file, from its step logs and measurements."""
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

out, python, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
env = os.environ
rows = [line.split("\t") for line in (work / "steps.tsv").read_text().splitlines()]
vllm_version, torch_version = env["RESULT_VERSIONS"].split()
gpu = subprocess.run(
    ["sh", "-c", "nvidia-smi -L 2>/dev/null || echo none"], capture_output=True, text=True
).stdout.strip()
version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
result = {
    "what": "the GPU image's Python environment built for real outside Docker (vLLM's CUDA "
    "build, what vLLM's image adds, the Dockerfile's install step), every server module "
    "imported, then the server started with the GPU profile on a machine without a GPU",
    "command": "scripts/gpu/rehearse_image.sh",
    "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    "machine": {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "gpu": gpu,
        "python": version,
    },
    "base_image_requirements": env["RESULT_BASE"].split(" "),
    "dockerfile_install_step": env["RESULT_STEP"],
    "vllm": vllm_version,
    "torch": torch_version,
    "distributions_installed": int(env["RESULT_INSTALLED"]),
    "disk_bytes": int(env["RESULT_DISK"]),
    "steps": {name: {"status": status, "seconds": int(s)} for name, status, s in rows},
    "seconds_total": sum(int(s) for _, _, s in rows),
    "outcome": "failed" if env["RESULT_FAILED"] == "1" else "ok",
    "last_lines": {
        name: (work / f"{name}.log").read_text().splitlines()[-6:] for name, _, _ in rows[1:]
    },
}
Path(out).write_text(json.dumps(result, indent=2) + "\n")
print(
    f"rehearse: {result['outcome']}, {result['seconds_total']} s, "
    f"{result['disk_bytes'] / 2**30:.1f} GiB, written to {out}"
)
EOF
exit "$failed"
