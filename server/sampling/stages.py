"""vLLM's sampling pipeline for one step, recomputed on the full-vocabulary raw logprobs so
that each stage can be shown (numpy, and for the extra samplers the very functions the
engine runs: server/sampling/samplers).

The order and the tie rules follow vLLM 0.32's sampler: logit_bias -> DRY -> frequency and
presence penalties -> temperature (below 1e-5: greedy, every filter off) -> min_p on the
tempered probabilities -> top-n-sigma -> typical-p -> XTC -> Mirostat -> top-k (ties with
the k-th value survive) -> top-p on what is left, renormalised (a token survives unless the
ascending cumulative sum up to it is <= 1 - p; the most likely always survives) ->
renormalise and draw.

Working on logprobs instead of logits is exact for all of these: each is unchanged by
adding one constant to every logit. The repetition penalty is not (it divides positive
logits and multiplies negative ones), so it is not supported here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from server.protocol.samplers import SamplerConfig
from server.sampling.samplers.chain import GREEDY_BELOW
from server.sampling.samplers.truncation import LateState, Trace

# Every stage that can cut tokens, in the engine's order.
STAGE_ORDER = ("min_p", "top_n_sigma", "typ_p", "xtc", "mirostat", "top_k", "top_p")


@dataclass(frozen=True)
class Filters:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 or -1: off
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    samplers: SamplerConfig = field(default_factory=SamplerConfig)

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW


@dataclass(frozen=True)
class Stage:
    """One filter at one step: the tokens still in play after it (cumulative), and its
    number: min_p's threshold, top-p's smallest kept probability, Mirostat's mu."""

    name: str
    active: bool
    kept: np.ndarray
    value: float | None = None
    fired: bool | None = None  # XTC: whether its coin fired at this step


@dataclass(frozen=True)
class StepStages:
    """Every stage of one step over the whole vocabulary."""

    raw_probs: np.ndarray
    adjusted: np.ndarray
    dry_penalty: np.ndarray
    tempered_probs: np.ndarray
    stages: tuple[Stage, ...]
    final_probs: np.ndarray
    greedy: bool

    def stage(self, name: str) -> Stage:
        """A stage the chain does not hold keeps everything."""
        everything = np.ones(self.final_probs.shape[0], dtype=bool)
        return next((s for s in self.stages if s.name == name), Stage(name, False, everything))

    def cut_by(self, token: int) -> str | None:
        """The first stage that removed the token (None: it survived them all)."""
        return next((s.name for s in self.stages if not s.kept[token]), None)


def softmax(x: np.ndarray) -> np.ndarray:
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
    dry_penalty: np.ndarray | None = None,
) -> np.ndarray:
    """Raw logprobs with logit_bias added and DRY and the penalties subtracted."""
    x = raw_logprobs.astype(np.float64).copy()
    for token_id, bias in logit_bias.items():
        x[token_id] += bias
    if dry_penalty is not None:
        x -= dry_penalty
    for token_id, count in output_counts.items():
        if count > 0:
            x[token_id] -= filters.frequency_penalty * count + filters.presence_penalty
    return x


def run_step(
    raw_logprobs: np.ndarray,
    filters: Filters,
    output_counts: Mapping[int, int] | None = None,
    logit_bias: Mapping[int, float] | None = None,
    dry: tuple[np.ndarray, np.ndarray] | None = None,
    late: LateState | None = None,
    output: Sequence[int] = (),
) -> StepStages:
    """`dry`: DRY's penalties for this step; `late`: the request's state of the samplers
    after min_p (it moves on: Mirostat learns from the token drawn before)."""
    size = raw_logprobs.shape[0]
    raw_probs = np.exp(raw_logprobs.astype(np.float64))
    dry_penalty = np.zeros(size)
    if dry is not None and dry[0].size:
        dry_penalty[dry[0]] = dry[1]
    x = adjusted_logprobs(raw_logprobs, filters, output_counts or {}, logit_bias or {}, dry_penalty)
    everything = np.ones(size, dtype=bool)
    if filters.greedy:
        one_hot = np.zeros(size)
        one_hot[int(np.argmax(x))] = 1.0
        stages = tuple(Stage(name, False, everything) for name in STAGE_ORDER)
        return StepStages(raw_probs, x, dry_penalty, one_hot, stages, one_hot, True)

    scaled = x / filters.temperature
    tempered = softmax(scaled)
    stages = []

    kept = everything
    threshold = None
    if filters.min_p > 0:
        threshold = float(filters.min_p * tempered.max())
        kept = tempered >= threshold
    stages.append(Stage("min_p", filters.min_p > 0, kept, threshold))
    scaled = np.where(kept, scaled, -np.inf)

    trace = Trace()
    if late is not None:
        scaled = late.apply(torch.from_numpy(scaled), list(output), trace).numpy()
    after = dict(trace.rows)
    for name in ("top_n_sigma", "typ_p", "xtc", "mirostat"):
        if name in after:
            kept = np.isfinite(after[name].numpy())
        value = trace.mu if name == "mirostat" else None
        fired = trace.xtc_fired if name == "xtc" else None
        stages.append(Stage(name, name in after, kept, value, fired))

    if 0 < filters.top_k < size:
        kth = np.partition(scaled, size - filters.top_k)[size - filters.top_k]
        kept = kept & (scaled >= kth)
    stages.append(Stage("top_k", 0 < filters.top_k < size, kept))
    scaled = np.where(kept, scaled, -np.inf)

    cutoff = None
    if filters.top_p < 1.0:
        # only the tokens in play are sorted: those already cut add 0 to every sum
        live = np.flatnonzero(np.isfinite(scaled))
        order = live[np.argsort(scaled[live], kind="stable")]
        removed = np.cumsum(softmax(scaled[order])) <= 1.0 - filters.top_p
        removed[-1] = False
        kept = kept & np.isfinite(scaled)
        kept[order[removed]] = False
        cutoff = float(softmax(scaled)[kept].min())
    stages.append(Stage("top_p", filters.top_p < 1.0, kept, cutoff))
    scaled = np.where(kept, scaled, -np.inf)

    final = softmax(scaled)
    return StepStages(raw_probs, x, dry_penalty, tempered, tuple(stages), final, False)
