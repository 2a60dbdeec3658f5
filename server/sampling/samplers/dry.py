"""DRY, "Don't Repeat Yourself" (p-e-w, text-generation-webui #5677; llama.cpp's
`llama_sampler_dry`): if the context ends with tokens that already occurred earlier, the
token that followed them then is penalised by multiplier * base ** (n - allowed_length),
n being the length of the repeated run (counting the last token); a sequence breaker ends
every run. The run lengths are kept per request and extended by one numpy step per token,
so a step costs O(context) vector work, never O(context²) Python."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from server.protocol.samplers import SamplerConfig

# llama.cpp's cap: base ** exponent stays below float32's largest value.
_FLOAT_MAX_LOG = 88.7228391


def _z_function(s: Sequence[int]) -> list[int]:
    """z[k]: the longest common prefix of s and s[k:] (Gusfield), O(len(s))."""
    n = len(s)
    z = [0] * n
    if n:
        z[0] = n
    left = right = 0
    for k in range(1, n):
        if k < right:
            z[k] = min(right - k, z[k - left])
        while k + z[k] < n and s[z[k]] == s[k + z[k]]:
            z[k] += 1
        if k + z[k] > right:
            left, right = k, k + z[k]
    return z


@dataclass
class DryState:
    """runs[i], for each position i before the last: how many tokens ending at i equal the
    same number ending at the last position, none of them a breaker."""

    config: SamplerConfig
    breakers: frozenset[int]
    context: list[int] = field(default_factory=list)
    runs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def penalties(
        self, prompt: Sequence[int], output: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and the amounts to subtract from their logits, for the next token after
        prompt + output."""
        self._catch_up(prompt, output)
        config = self.config
        end = len(self.context) - 1
        if end < 1 or not config.dry:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        start = max(0, end + 1 - config.dry_penalty_last_n) if config.dry_penalty_last_n > 0 else 0
        positions = np.arange(start, end)
        runs = np.minimum(self.runs[start:end], positions - start + 1)
        hit = runs >= config.dry_allowed_length
        if not hit.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        tokens = np.asarray(self.context, dtype=np.int64)
        following = tokens[positions[hit] + 1]
        lengths = runs[hit]
        if self.breakers:
            keep = ~np.isin(following, np.fromiter(self.breakers, dtype=np.int64))
            following, lengths = following[keep], lengths[keep]
        if following.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        ids = np.unique(following)
        longest = np.zeros(ids.size, dtype=np.int64)
        np.maximum.at(longest, np.searchsorted(ids, following), lengths)
        cap = _FLOAT_MAX_LOG / math.log(config.dry_base) if config.dry_base > 1 else math.inf
        exponent = np.minimum(longest - config.dry_allowed_length, cap)
        return ids, config.dry_multiplier * np.power(config.dry_base, exponent.astype(np.float64))

    def _catch_up(self, prompt: Sequence[int], output: Sequence[int]) -> None:
        total = len(prompt) + len(output)
        if not self.context:
            self.context = [*prompt, *output]
            self.runs = self._from_scratch(self.context)
            return
        for token in output[len(self.context) - len(prompt) : total - len(prompt)]:
            self._append(int(token))

    def _from_scratch(self, context: list[int]) -> np.ndarray:
        n = len(context)
        if n < 2:
            return np.zeros(max(n - 1, 0), dtype=np.int64)
        z = _z_function(context[::-1])
        runs = np.asarray(z[:0:-1], dtype=np.int64)  # runs[i] = z[n - 1 - i], i < n - 1
        # clip each run at the nearest breaker at or before its end
        since_breaker = np.zeros(n - 1, dtype=np.int64)
        count = 0
        for i in range(n - 1):
            count = 0 if context[i] in self.breakers else count + 1
            since_breaker[i] = count
        if context[-1] in self.breakers:
            return np.zeros(n - 1, dtype=np.int64)
        return np.minimum(runs, since_breaker)

    def _append(self, token: int) -> None:
        previous = np.concatenate(([0], self.runs))  # position i reads the run ending at i-1
        self.context.append(token)
        if token in self.breakers:
            self.runs = np.zeros(len(self.context) - 1, dtype=np.int64)
            return
        same = np.asarray(self.context[:-1], dtype=np.int64) == token
        self.runs = np.where(same, previous + 1, 0)
