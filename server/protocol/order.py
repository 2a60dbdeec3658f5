"""The sampler chain's stages and their order: the one list of stage names (llama.cpp's own,
as its `samplers` request field takes them), the named orders, and whether an order can run
on vLLM's own sampler or needs this server's chain processor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

StageName = Literal[
    "penalties",
    "dry",
    "top_n_sigma",
    "top_k",
    "typ_p",
    "top_p",
    "min_p",
    "xtc",
    "temperature",
    "mirostat",
    "adaptive_p",
]
STAGES: tuple[StageName, ...] = StageName.__args__  # type: ignore[attr-defined]

# vLLM's sampler: DRY (a processor before its penalties), temperature, min_p, this server's
# truncations (argmax-invariant processors), then top-k and top-p.
VLLM_ORDER: tuple[StageName, ...] = (
    "dry",
    "penalties",
    "temperature",
    "min_p",
    "top_n_sigma",
    "typ_p",
    "xtc",
    "mirostat",
    "top_k",
    "top_p",
    "adaptive_p",
)
# llama.cpp's default (common/common.h), temperature last; adaptive-p, like llama.cpp's, runs
# last wherever it is listed.
LLAMA_CPP_ORDER: tuple[StageName, ...] = (
    "penalties",
    "dry",
    "top_n_sigma",
    "top_k",
    "typ_p",
    "top_p",
    "min_p",
    "xtc",
    "temperature",
    "adaptive_p",
)
NamedOrder = Literal["vllm", "llama.cpp"]
ORDERS: dict[str, tuple[StageName, ...]] = {"vllm": VLLM_ORDER, "llama.cpp": LLAMA_CPP_ORDER}
DEFAULT_ORDER: NamedOrder = "vllm"
# Stages that choose the token themselves: they run last.
SELECTING: tuple[StageName, ...] = ("adaptive_p",)
# The stages vLLM's own sampler runs in VLLM_ORDER (adaptive-p must come after its top-p).
NATIVE: tuple[StageName, ...] = VLLM_ORDER[:-1]


def _aliases() -> dict[str, StageName]:
    """llama.cpp's spellings: kebab-case, without the underscore, and a few more."""
    names: dict[str, StageName] = {}
    for stage in STAGES:
        names[stage] = stage
        names[stage.replace("_", "-")] = stage
        names[stage.replace("_", "")] = stage
    names.update(
        nucleus="top_p", temp="temperature", typ="typ_p", typical="typ_p", typical_p="typ_p"
    )
    names["typical-p"] = "typ_p"
    return names


ALIASES = _aliases()
# llama.cpp's one-letter codes (common_sampler_type_to_chr): a string of them is an order.
LETTERS: dict[str, StageName] = {
    "e": "penalties",
    "d": "dry",
    "s": "top_n_sigma",
    "k": "top_k",
    "y": "typ_p",
    "p": "top_p",
    "m": "min_p",
    "x": "xtc",
    "t": "temperature",
    "a": "adaptive_p",
}


def parse_order(value: str | Sequence[str]) -> tuple[StageName, ...]:
    """A named order, a string of llama.cpp's one-letter codes, or stage names in the order
    to run them (case-insensitive, llama.cpp's aliases); the selecting stage moves to the
    end. Raises ValueError naming the problem."""
    if isinstance(value, str):
        if value in ORDERS:
            return ORDERS[value]
        if value and all(letter in LETTERS for letter in value):
            return parse_order([LETTERS[letter] for letter in value])
        raise ValueError(
            f"unknown order {value!r}: give {' or '.join(map(repr, ORDERS))}, llama.cpp's "
            f"letters ({''.join(LETTERS)}), or a list of stage names ({', '.join(STAGES)})"
        )
    order: list[StageName] = []
    for name in value:
        stage = ALIASES.get(name.lower())
        if stage is None:
            raise ValueError(f"unknown stage {name!r}: the stages are {', '.join(STAGES)}")
        if stage in order:
            raise ValueError(f"stage {stage!r} is listed twice")
        order.append(stage)
    return (*[s for s in order if s not in SELECTING], *[s for s in order if s in SELECTING])


def runs_natively(order: Sequence[StageName], active: Callable[[StageName], bool]) -> bool:
    """Whether vLLM's own sampler gives the distribution this order defines: its active
    stages come in the order vLLM runs them (a stage that is off commutes with anything)."""
    steps = [stage for stage in order if active(stage)]
    native = iter(NATIVE)
    return all(stage in native for stage in steps)
