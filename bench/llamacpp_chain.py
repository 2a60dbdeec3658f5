"""llama.cpp's own sampler chain, run on given logits: the reference side of
`python -m bench sampler_differential`. It runs in .venv-llamacpp (scripts/setup_llamacpp.sh:
llama-cpp-python built from source, whose C API is llama.cpp's `llama_sampler_*`), reads one
JSON case per line on stdin and writes one JSON answer per line: the candidates left after
the chain, with the probabilities llama.cpp gives them, the token it selected (Mirostat,
adaptive-p) and whether typical-p saw a candidate of probability 0 (it then computes
0 * log 0 = NaN and keeps an arbitrary set). Only numpy and llama_cpp are imported here,
nothing of the server's."""

from __future__ import annotations

import ctypes
import json
import sys

import llama_cpp as lib
import numpy as np

FLOAT = np.float32
TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


def _sampler(stage: dict, seed: int):
    """One of llama.cpp's samplers by its `samplers` name, made as common/sampling.cpp makes
    it (min_keep 0, llama-server's default)."""
    name = stage["name"]
    if name == "penalties":
        return lib.llama_sampler_init_penalties(
            0, stage["last_n"], stage["repeat"], stage["freq"], stage["present"]
        )
    if name == "temperature":
        return lib.llama_sampler_init_temp(stage["t"])
    if name == "top_k":
        return lib.llama_sampler_init_top_k(stage["k"])
    if name == "top_p":
        return lib.llama_sampler_init_top_p(stage["p"], 0)
    if name == "min_p":
        return lib.llama_sampler_init_min_p(stage["p"], 0)
    if name == "typ_p":
        return lib.llama_sampler_init_typical(stage["p"], 0)
    if name == "top_n_sigma":
        return lib.llama_sampler_init_top_n_sigma(stage["n"])
    if name == "xtc":
        return lib.llama_sampler_init_xtc(stage["probability"], stage["threshold"], 0, seed)
    if name == "mirostat":
        return lib.llama_sampler_init_mirostat_v2(seed, stage["tau"], stage["eta"])
    if name == "adaptive_p":
        return lib.llama_sampler_init_adaptive_p(stage["target"], stage["decay"], seed)
    raise ValueError(f"no llama.cpp sampler named {name!r}")


def _candidates(array, data: np.ndarray) -> np.ndarray:
    """The candidates the array holds now: a sampler may move its pointer (XTC)."""
    start = (ctypes.addressof(array.data.contents) - data.ctypes.data) // TOKEN_DATA.itemsize
    return data[start : start + array.size]


def _sees_a_zero(candidates: np.ndarray) -> bool:
    """Whether llama.cpp's float32 softmax gives one of these candidates probability 0 (an
    underflow, or a logit an earlier sampler set to -inf without removing it)."""
    logits = candidates["logit"].astype(FLOAT)
    with np.errstate(under="ignore", invalid="ignore"):
        probs = np.exp(logits - logits.max())
        return bool((probs / probs.sum(dtype=FLOAT) == 0).any())


def run(case: dict) -> dict:
    """Each step's logits through one chain. The chain first accepts `history` (penalties
    count it); after each step it accepts the token it selected (Mirostat, adaptive-p) or,
    for a chain that selects none, the case's `drawn` token for that step. Its samplers are
    applied one by one, as llama_sampler_chain_apply does, to look before typical-p."""
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    samplers = [_sampler(stage, case.get("seed", 0)) for stage in case["chain"]]
    for sampler in samplers:
        lib.llama_sampler_chain_add(chain, sampler)
    for token in case.get("history", []):
        lib.llama_sampler_accept(chain, token)
    steps = []
    n = len(case["steps"])
    for step, logits in enumerate(case["steps"]):
        row = np.asarray(logits, dtype=FLOAT)
        data = np.zeros(row.size, dtype=TOKEN_DATA)  # llama_token_data, laid out as in C
        data["id"] = np.arange(row.size)
        data["logit"] = row
        array = lib.llama_token_data_array(
            data.ctypes.data_as(lib.llama_token_data_p), row.size, -1, False
        )
        typical_zero = False
        for stage, sampler in zip(case["chain"], samplers, strict=True):
            if stage["name"] == "typ_p":
                typical_zero |= _sees_a_zero(_candidates(array, data))
            lib.llama_sampler_apply(sampler, ctypes.byref(array))
        left = _candidates(array, data)
        left = left[np.isfinite(left["logit"])]
        ids = left["id"].astype(np.int64)
        kept_logits = left["logit"].astype(np.float64)
        probs = np.exp(kept_logits - kept_logits.max()) if ids.size else kept_logits
        probs = probs / probs.sum() if ids.size else probs
        selected = int(array.data[array.selected].id) if array.selected >= 0 else None
        assert ctypes.sizeof(lib.llama_token_data) == TOKEN_DATA.itemsize
        steps.append(
            {
                "ids": ids.tolist(),
                "probs": probs.tolist(),
                "selected": selected,
                "typical_zero": typical_zero,
            }
        )
        after = selected if selected is not None else (case.get("drawn") or [None] * n)[step]
        if after is not None:
            lib.llama_sampler_accept(chain, after)
    lib.llama_sampler_free(chain)
    return {"steps": steps}


def main() -> None:
    for line in sys.stdin:
        try:
            answer = run(json.loads(line))
        except Exception as error:  # the parent shows it with the case that caused it
            answer = {"error": repr(error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
