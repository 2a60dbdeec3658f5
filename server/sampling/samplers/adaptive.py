"""Adaptive-p (llama.cpp #17927, `llama_sampler_adaptive_p`; KoboldCpp 1.105): it reshapes the
distribution so that tokens near a target probability are the likely ones, and moves that
target to hold the average probability of the tokens drawn (an exponential moving average
of their probabilities before the reshaping) at the asked one. Each token still in play
gets the logit 5 - 10 d² / (1 + d), d = |p - target now| / 0.3; the target now is
clamp(2 x target - average, 0, 1); the average starts at the target. It selects the token,
so it runs last."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

WIDTH = 0.3
PEAK = 5.0
SHARPNESS = 10.0
MAX_DECAY = 0.99


@dataclass
class AdaptiveState:
    target: float
    decay: float
    weighted_sum: float = field(init=False)
    total_weight: float = field(init=False)
    _probs: torch.Tensor | None = field(default=None, init=False)
    _position: int = field(default=-1, init=False)

    def __post_init__(self) -> None:
        self.decay = min(max(self.decay, 0.0), MAX_DECAY)
        self.weighted_sum = self.target / (1.0 - self.decay)
        self.total_weight = 1.0 / (1.0 - self.decay)

    def target_now(self) -> float:
        target = min(max(self.target, 0.0), 1.0)
        if self.total_weight == 0.0:
            return target
        return min(max(2.0 * target - self.weighted_sum / self.total_weight, 0.0), 1.0)

    def apply(self, row: torch.Tensor, position: int) -> torch.Tensor:
        probs = torch.softmax(row, dim=-1)
        distance = ((probs - self.target_now()) / WIDTH).abs()
        reshaped = PEAK - SHARPNESS * distance * distance / (1.0 + distance)
        self._probs, self._position = probs, position
        return torch.where(torch.isfinite(row), reshaped, -math.inf)

    def learn(self, drawn: int, position: int) -> None:
        """After the token of `position` was drawn: its probability before the reshaping
        enters the average."""
        if self._probs is None or self._position != position:
            return
        self.weighted_sum = float(self._probs[drawn]) + self.decay * self.weighted_sum
        self.total_weight = 1.0 + self.decay * self.total_weight
        self._probs = None
