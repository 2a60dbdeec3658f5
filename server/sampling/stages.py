"""vLLM's sampling pipeline for one step, recomputed on the full-vocabulary raw logprobs so
that each stage can be shown (pure numpy).

The order and the tie rules follow vLLM 0.32's sampler: logit_bias -> frequency and presence
penalties -> temperature (below 1e-5: greedy, every filter off) -> min_p on the tempered
probabilities -> top-k (ties with the k-th value survive) -> top-p on what top-k left,
renormalised (a token survives unless the ascending cumulative sum up to it is <= 1 - p;
the most likely always survives) -> renormalise and draw.

Working on logprobs instead of logits is exact for all of these: each is unchanged by
adding one constant to every logit. The repetition penalty is not (it divides positive
logits and multiplies negative ones), so it is not supported here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

GREEDY_BELOW = 1e-5


@dataclass(frozen=True)
class Filters:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 or -1: off
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW


@dataclass(frozen=True)
class StepStages:
    """Every stage of one step over the whole vocabulary. The kept_* masks are cumulative:
    kept_top_k means survived min_p and top-k."""

    raw_probs: np.ndarray
    adjusted: np.ndarray
    tempered_probs: np.ndarray
    kept_min_p: np.ndarray
    kept_top_k: np.ndarray
    kept_top_p: np.ndarray
    final_probs: np.ndarray
    min_p_threshold: float | None
    top_p_cutoff: float | None
    greedy: bool

    @property
    def survivors(self) -> tuple[int, int, int]:
        """How many tokens are left after min_p, after top-k, after top-p."""
        return int(self.kept_min_p.sum()), int(self.kept_top_k.sum()), int(self.kept_top_p.sum())


def _softmax(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros_like(x)
    shifted = np.where(finite, x - x[finite].max(), -np.inf)
    e = np.exp(shifted)
    return e / e.sum()


def entropy_bits(probs: np.ndarray) -> float:
    p = probs[probs > 0]
    return float(-(p * np.log2(p)).sum())


def adjusted_logprobs(
    raw_logprobs: np.ndarray,
    filters: Filters,
    output_counts: Mapping[int, int],
    logit_bias: Mapping[int, float],
) -> np.ndarray:
    """Raw logprobs with logit_bias added and the penalties subtracted (vLLM's order)."""
    x = raw_logprobs.astype(np.float64).copy()
    for token_id, bias in logit_bias.items():
        x[token_id] += bias
    for token_id, count in output_counts.items():
        if count > 0:
            x[token_id] -= filters.frequency_penalty * count + filters.presence_penalty
    return x


def run_step(
    raw_logprobs: np.ndarray,
    filters: Filters,
    output_counts: Mapping[int, int] | None = None,
    logit_bias: Mapping[int, float] | None = None,
) -> StepStages:
    raw_probs = np.exp(raw_logprobs.astype(np.float64))
    x = adjusted_logprobs(raw_logprobs, filters, output_counts or {}, logit_bias or {})
    size = x.shape[0]
    everything = np.ones(size, dtype=bool)
    if filters.greedy:
        one_hot = np.zeros(size)
        one_hot[int(np.argmax(x))] = 1.0
        return StepStages(
            raw_probs, x, one_hot, everything, everything, everything, one_hot, None, None, True
        )

    scaled = x / filters.temperature
    tempered = _softmax(scaled)

    kept_min_p = everything
    threshold = None
    if filters.min_p > 0:
        threshold = float(filters.min_p * tempered.max())
        kept_min_p = tempered >= threshold
    scaled = np.where(kept_min_p, scaled, -np.inf)

    kept_top_k = kept_min_p
    if 0 < filters.top_k < size:
        kth = np.sort(scaled)[size - filters.top_k]
        kept_top_k = kept_min_p & (scaled >= kth)
    scaled = np.where(kept_top_k, scaled, -np.inf)

    kept_top_p = kept_top_k
    cutoff = None
    if filters.top_p < 1.0:
        order = np.argsort(scaled, kind="stable")
        removed = np.cumsum(_softmax(scaled[order])) <= 1.0 - filters.top_p
        removed[-1] = False
        kept_top_p = kept_top_k.copy()
        kept_top_p[order[removed]] = False
        cutoff = float(_softmax(scaled)[kept_top_p].min())
    scaled = np.where(kept_top_p, scaled, -np.inf)

    final = _softmax(scaled)
    return StepStages(
        raw_probs,
        x,
        tempered,
        kept_min_p,
        kept_top_k,
        kept_top_p,
        final,
        threshold,
        cutoff,
        False,
    )
