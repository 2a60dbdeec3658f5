"""top-n-sigma, typical-p, XTC and Mirostat 2.0 on one row of tempered logits (torch, so the engine
runs them where its logits are; the inspector runs the very same functions in float64). Each
keeps a subset of the tokens and sets the others to -inf; the ones already at -inf (cut by
min_p) stay cut."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from server.protocol.samplers import SamplerConfig

_MASK64 = 2**64 - 1


def coin(seed: int, position: int) -> float:
    """XTC's uniform draw in [0, 1) for one position: SplitMix64 of (seed, position), so a
    seeded request draws the same coins on every run and the inspector knows them."""
    z = (seed + (position + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (z >> 11) / 2**53


def _cut(row: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return row.masked_fill(~keep, -math.inf)


def top_n_sigma(row: torch.Tensor, n: float) -> torch.Tensor:
    """Tang et al. 2024: keep the logits within n standard deviations of the largest (the
    population deviation over the tokens still in play, as llama.cpp takes it). The kept set
    does not depend on the temperature."""
    finite = torch.isfinite(row)
    values = row[finite]
    if values.numel() < 2:
        return row
    spread = values.std(correction=0)
    return _cut(row, row >= values.max() - n * spread)


def typical(row: torch.Tensor, p: float) -> torch.Tensor:
    """Meister et al. 2022 (locally typical sampling): rank tokens by how far their surprisal
    is from the entropy, keep the closest until their probability adds up to more than p."""
    logp = torch.log_softmax(row, dim=-1)
    probs = logp.exp()
    finite = torch.isfinite(logp)
    entropy = -(probs[finite] * logp[finite]).sum()
    distance = torch.where(finite, (-logp - entropy).abs(), math.inf)
    order = torch.argsort(distance, stable=True)
    cumulative = torch.cumsum(probs[order], dim=0)
    target = torch.tensor(p, dtype=cumulative.dtype, device=cumulative.device)
    last = int(torch.searchsorted(cumulative, target, right=True))
    keep = torch.zeros_like(finite)
    keep[order[: min(last + 1, order.numel())]] = True
    return _cut(row, keep & finite)


def xtc(row: torch.Tensor, threshold: float, fires: bool) -> torch.Tensor:
    """Exclude Top Choices (p-e-w, text-generation-webui #6335; llama.cpp's
    `llama_sampler_xtc`): when the coin fires and at least two tokens have probability >=
    threshold, all of those but the least likely are removed."""
    if not fires:
        return row
    probs = torch.softmax(row, dim=-1)
    above = (probs >= threshold) & torch.isfinite(row)
    if int(above.sum()) < 2:
        return row
    least = probs[above].min()
    return _cut(row, ~above | (probs <= least))


def mirostat_cut(row: torch.Tensor, mu: float) -> torch.Tensor:
    """Mirostat 2.0's truncation (Basu et al. 2021): keep the tokens whose surprisal,
    -log2 p, is at most mu; the most likely always stays."""
    logp = torch.log_softmax(row, dim=-1)
    keep = -logp / math.log(2) <= mu
    keep[torch.argmax(row)] = True
    return _cut(row, keep)


@dataclass
class Trace:
    """What each stage did at one step, for the inspector: (stage, row after it)."""

    rows: list[tuple[str, torch.Tensor]] = field(default_factory=list)
    xtc_fired: bool | None = None
    mu: float | None = None


@dataclass
class MirostatState:
    """Mirostat 2.0's mu: it starts at 2 tau and after each token moves by
    -eta * (surprisal of the token drawn - tau), read from the distribution it was drawn from
    (learned at the next step, when the engine hands over the token)."""

    tau: float
    eta: float
    mu: float = field(init=False)
    _drawn_from: torch.Tensor | None = field(default=None, init=False)
    _position: int = field(default=-1, init=False)

    def __post_init__(self) -> None:
        self.mu = 2 * self.tau

    def cut(self, row: torch.Tensor, position: int) -> torch.Tensor:
        row = mirostat_cut(row, self.mu)
        self._drawn_from, self._position = torch.log_softmax(row, dim=-1), position
        return row

    def learn(self, output: Sequence[int]) -> None:
        if self._drawn_from is None or len(output) != self._position + 1:
            return
        surprisal = -float(self._drawn_from[output[-1]]) / math.log(2)
        self.mu -= self.eta * (surprisal - self.tau)
        self._drawn_from = None


@dataclass
class LateState:
    """The samplers after temperature and min_p, in this order: top-n-sigma, typical-p, XTC,
    Mirostat (which excludes the other truncations, so nothing changes its distribution
    after it)."""

    config: SamplerConfig
    xtc_seed: int = 0
    mirostat: MirostatState = field(init=False)

    def __post_init__(self) -> None:
        self.mirostat = MirostatState(self.config.mirostat_tau, self.config.mirostat_eta)

    @property
    def mu(self) -> float:
        return self.mirostat.mu

    def apply(
        self, row: torch.Tensor, output: list[int], trace: Trace | None = None
    ) -> torch.Tensor:
        config, position = self.config, len(output)
        if config.uses_mirostat:
            self.mirostat.learn(output)
        if config.nsigma:
            row = top_n_sigma(row, config.top_n_sigma)
            if trace is not None:
                trace.rows.append(("top_n_sigma", row))
        if config.typical:
            row = typical(row, config.typical_p)
            if trace is not None:
                trace.rows.append(("typ_p", row))
        if config.xtc:
            fires = coin(self.xtc_seed, position) < config.xtc_probability
            row = xtc(row, config.xtc_threshold, fires)
            if trace is not None:
                trace.rows.append(("xtc", row))
                trace.xtc_fired = fires
        if config.uses_mirostat:
            if trace is not None:
                trace.mu = self.mirostat.mu
            row = self.mirostat.cut(row, position)
            if trace is not None:
                trace.rows.append(("mirostat", row))
        return row
