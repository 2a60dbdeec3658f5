"""What a request asks of the extra samplers, and the form it travels to the engine in
(`SamplingParams.extra_args`, serialised across the engine's process boundary)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from server.protocol.order import StageName

# llama.cpp's defaults (common/common.h).
DRY_BASE = 1.75
DRY_ALLOWED_LENGTH = 2
DRY_BREAKERS = ("\n", ":", '"', "*")
XTC_THRESHOLD = 0.1
MIROSTAT_TAU = 5.0
MIROSTAT_ETA = 0.1
ADAPTIVE_DECAY = 0.9
EXTRA_ARGS_KEY = "samplers"


@dataclass(frozen=True)
class SamplerConfig:
    """Each sampler is off at its default, as in llama.cpp: dry_multiplier 0, xtc_probability
    0 (or a threshold above 0.5), top_n_sigma <= 0, typical_p 1, mirostat 0, adaptive_target
    below 0."""

    dry_multiplier: float = 0.0
    dry_base: float = DRY_BASE
    dry_allowed_length: int = DRY_ALLOWED_LENGTH
    dry_penalty_last_n: int = -1  # -1: the whole context, 0: off
    dry_sequence_breakers: tuple[str, ...] = DRY_BREAKERS
    xtc_probability: float = 0.0
    xtc_threshold: float = XTC_THRESHOLD
    top_n_sigma: float = -1.0
    typical_p: float = 1.0
    mirostat: int = 0
    mirostat_tau: float = MIROSTAT_TAU
    mirostat_eta: float = MIROSTAT_ETA
    adaptive_target: float = -1.0
    adaptive_decay: float = ADAPTIVE_DECAY

    @property
    def dry(self) -> bool:
        return self.dry_multiplier > 0 and self.dry_penalty_last_n != 0

    @property
    def xtc(self) -> bool:
        return self.xtc_probability > 0 and self.xtc_threshold <= 0.5

    @property
    def nsigma(self) -> bool:
        return self.top_n_sigma > 0

    @property
    def typical(self) -> bool:
        return self.typical_p < 1.0

    @property
    def uses_mirostat(self) -> bool:
        return self.mirostat == 2

    @property
    def adaptive(self) -> bool:
        return self.adaptive_target >= 0

    @property
    def late(self) -> bool:
        """Any of those that act on the tempered distribution (not at temperature 0)."""
        return self.xtc or self.nsigma or self.typical or self.uses_mirostat

    @property
    def any(self) -> bool:
        return self.dry or self.late or self.adaptive


@dataclass(frozen=True)
class ChainValues:
    """What a request's chain needs beyond the extra samplers when it runs as this server's
    processor (vLLM's own temperature, top-k, top-p, min_p and penalties are then neutral):
    the order, and the values of the stages vLLM would otherwise run."""

    order: tuple[StageName, ...]
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0


@dataclass(frozen=True)
class SamplerArgs:
    """A request's samplers as the engine runs them: DRY's breakers as token ids (resolved
    against the vocabulary by the server), the seed of XTC's coin, and the whole chain when
    it runs as this server's processor (None: on vLLM's own sampler)."""

    config: SamplerConfig
    dry_breaker_ids: tuple[int, ...] = ()
    xtc_seed: int = 0
    chain: ChainValues | None = None

    def to_extra_args(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self.config)
        fields["dry_sequence_breakers"] = list(self.config.dry_sequence_breakers)
        return {
            EXTRA_ARGS_KEY: {
                "config": fields,
                "dry_breaker_ids": list(self.dry_breaker_ids),
                "xtc_seed": self.xtc_seed,
                "chain": None if self.chain is None else dataclasses.asdict(self.chain),
            }
        }

    @classmethod
    def from_extra_args(cls, extra_args: dict[str, Any] | None) -> SamplerArgs | None:
        raw = (extra_args or {}).get(EXTRA_ARGS_KEY)
        if raw is None:
            return None
        fields = dict(raw["config"])
        fields["dry_sequence_breakers"] = tuple(fields["dry_sequence_breakers"])
        chain = raw.get("chain")
        if chain is not None:
            chain = ChainValues(**{**chain, "order": tuple(chain["order"])})
        return cls(
            SamplerConfig(**fields), tuple(raw["dry_breaker_ids"]), int(raw["xtc_seed"]), chain
        )
