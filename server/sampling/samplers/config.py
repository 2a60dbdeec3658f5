"""The form a request's chain travels to the engine in (`SamplingParams.extra_args`,
serialised across the engine's process boundary)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from server.protocol.samplers import SamplerConfig, StageName

EXTRA_ARGS_KEY = "samplers"


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
