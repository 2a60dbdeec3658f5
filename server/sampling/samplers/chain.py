"""The whole sampler chain in any order, on one row of logits (torch): what the engine runs as
one logits processor when vLLM's own sampler cannot run the order asked for (vLLM's sampling
is then neutral: temperature 1, nothing cut), and what the inspector and post-sampling
logprobs replay in float64 on the same numbers. Every stage is exact on logprobs as on
logits (each is unchanged by adding one constant to every logit) except the repetition
penalty, which the inspector refuses.

Each stage keeps vLLM's rule where vLLM has one (top-k keeps ties with the k-th value; top-p
cuts from the least likely while the sum of what it cut stays <= 1 - p; min_p compares
probabilities with min_p x the largest; temperature below 1e-5 keeps only the most likely
token), llama.cpp's elsewhere; `python -m bench sampler_differential` holds them to
llama.cpp's own samplers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from server.protocol.samplers import STAGES, SamplerConfig, StageName
from server.sampling.samplers.adaptive import AdaptiveState
from server.sampling.samplers.config import ChainValues
from server.sampling.samplers.dry import DryState
from server.sampling.samplers.truncation import (
    MirostatState,
    coin,
    top_n_sigma,
    typical,
    xtc,
)

GREEDY_BELOW = 1e-5


def stage_active(stage: StageName, values: ChainValues, config: SamplerConfig) -> bool:
    """Whether a stage changes anything for these values (one that does not is skipped)."""
    return {
        "penalties": values.presence_penalty != 0
        or values.frequency_penalty != 0
        or values.repetition_penalty != 1,
        "dry": config.dry,
        "top_n_sigma": config.nsigma,
        "top_k": values.top_k > 0,
        "typ_p": config.typical,
        "top_p": values.top_p < 1.0,
        "min_p": values.min_p > 0,
        "xtc": config.xtc,
        "temperature": values.temperature != 1.0,
        "mirostat": config.uses_mirostat,
        "adaptive_p": config.adaptive,
    }[stage]


def _cut(row: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return row.masked_fill(~keep, -math.inf)


def penalties(
    row: torch.Tensor, prompt: Sequence[int], output: Sequence[int], values: ChainValues
) -> torch.Tensor:
    """vLLM's: the repetition penalty divides the positive logits of every token seen in the
    prompt or the output and multiplies the negative ones; then each token of the output
    loses frequency_penalty per occurrence and presence_penalty once."""
    size = row.numel()
    row = row.clone()
    if values.repetition_penalty != 1.0:
        seen = torch.zeros(size, dtype=torch.bool, device=row.device)
        seen[torch.as_tensor([*prompt, *output], dtype=torch.long, device=row.device)] = True
        penalised = torch.where(
            row > 0, row / values.repetition_penalty, row * values.repetition_penalty
        )
        row = torch.where(seen, penalised, row)
    if output:
        ids = torch.as_tensor(list(output), dtype=torch.long, device=row.device)
        counts = torch.bincount(ids, minlength=size)[:size].to(row.dtype)
        present = (counts > 0).to(row.dtype)
        row -= values.frequency_penalty * counts + values.presence_penalty * present
    return row


def temperature(row: torch.Tensor, t: float) -> torch.Tensor:
    if t < GREEDY_BELOW:
        keep = torch.zeros_like(row, dtype=torch.bool)
        keep[torch.argmax(row)] = True
        return _cut(row, keep)
    return row / t


def top_k(row: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th largest logit and every one equal to it or above (a partial selection, not
    a sort of the vocabulary)."""
    if not 0 < k < row.numel():
        return row
    kth = torch.topk(row, k, sorted=False).values.min()
    return _cut(row, row >= kth)


def top_p(row: torch.Tensor, p: float) -> tuple[torch.Tensor, float]:
    """The row and the smallest probability kept. Only the tokens still in play are sorted
    (those already cut add 0 to every sum)."""
    probs = torch.softmax(row, dim=-1)
    live = torch.nonzero(torch.isfinite(row)).flatten()
    order = live[torch.argsort(row[live], stable=True)]
    removed = torch.cumsum(probs[order], dim=0) <= 1.0 - p
    removed[-1] = False
    keep = torch.ones_like(row, dtype=torch.bool)
    keep[order[removed]] = False
    keep &= torch.isfinite(row)
    return _cut(row, keep), float(probs[keep].min())


def min_p(row: torch.Tensor, p: float) -> tuple[torch.Tensor, float]:
    """The row and the threshold: p x the largest probability."""
    probs = torch.softmax(row, dim=-1)
    threshold = float(p * probs.max())
    return _cut(row, probs >= threshold), threshold


@dataclass(frozen=True)
class StageRow:
    """One stage at one step, for the inspector: the row after it and its number (min_p's
    threshold, top-p's smallest kept probability, Mirostat's mu, adaptive-p's target)."""

    name: StageName
    active: bool
    row: torch.Tensor
    value: float | None = None
    fired: bool | None = None


@dataclass
class ChainState:
    """One request's chain. Mirostat and adaptive-p learn from the token drawn at the step
    before (read from `output` at the next step, as the engine hands it over)."""

    values: ChainValues
    config: SamplerConfig
    breakers: frozenset[int] = frozenset()
    xtc_seed: int = 0
    mirostat: MirostatState = field(init=False)
    adaptive: AdaptiveState = field(init=False)
    _active: frozenset[StageName] = field(init=False)
    _dry: DryState = field(init=False)
    _dry_at: tuple[int, np.ndarray, np.ndarray] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        config = self.config
        self.mirostat = MirostatState(config.mirostat_tau, config.mirostat_eta)
        self.adaptive = AdaptiveState(config.adaptive_target, config.adaptive_decay)
        self._active = frozenset(s for s in STAGES if stage_active(s, self.values, config))
        self._dry = DryState(config, self.breakers)

    def active(self, stage: StageName) -> bool:
        return stage in self._active

    def dry_penalties(
        self, prompt: Sequence[int], output: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """DRY's token ids and amounts for the next position, worked out once per position
        (the inspector reads them beside the chain)."""
        if self._dry_at is None or self._dry_at[0] != len(output):
            self._dry_at = (len(output), *self._dry.penalties(prompt, output))
        return self._dry_at[1], self._dry_at[2]

    def apply(
        self,
        prompt: Sequence[int],
        output: Sequence[int],
        row: torch.Tensor,
        trace: list[StageRow] | None = None,
    ) -> torch.Tensor:
        position = len(output)
        self._learn(output)
        for stage in self.values.order:
            value = fired = None
            on = self.active(stage)
            if on:
                row, value, fired = self._stage(stage, row, prompt, output, position)
            if trace is not None:
                trace.append(StageRow(stage, on, row, value, fired))
        return row

    def _stage(
        self,
        stage: StageName,
        row: torch.Tensor,
        prompt: Sequence[int],
        output: Sequence[int],
        position: int,
    ) -> tuple[torch.Tensor, float | None, bool | None]:
        values, config = self.values, self.config
        if stage == "penalties":
            return penalties(row, prompt, output, values), None, None
        if stage == "dry":
            ids, amounts = self.dry_penalties(prompt, output)
            if ids.size:
                row = row.clone()
                index = torch.from_numpy(ids).to(row.device)
                row[index] -= torch.from_numpy(amounts).to(row.device, row.dtype)
            return row, None, None
        if stage == "temperature":
            return temperature(row, values.temperature), None, None
        if stage == "top_k":
            return top_k(row, values.top_k), None, None
        if stage == "top_p":
            row, smallest = top_p(row, values.top_p)
            return row, smallest, None
        if stage == "min_p":
            row, threshold = min_p(row, values.min_p)
            return row, threshold, None
        if stage == "top_n_sigma":
            return top_n_sigma(row, config.top_n_sigma), None, None
        if stage == "typ_p":
            return typical(row, config.typical_p), None, None
        if stage == "xtc":
            fires = coin(self.xtc_seed, position) < config.xtc_probability
            return xtc(row, config.xtc_threshold, fires), None, fires
        if stage == "mirostat":
            mu = self.mirostat.mu
            return self.mirostat.cut(row, position), mu, None
        target = self.adaptive.target_now()
        return self.adaptive.apply(row, position), target, None

    def _learn(self, output: Sequence[int]) -> None:
        if output:
            self.mirostat.learn(output)
            self.adaptive.learn(int(output[-1]), len(output) - 1)
