"""A request's extra samplers made ready for the engine: DRY's breakers as token ids, XTC's
coin seeded, and the combinations that cannot be honoured refused by name."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Literal

from server.protocol.common import LogprobsChoice
from server.protocol.errors import APIError
from server.protocol.samplers import SamplerConfig
from server.sampling.params import EffectiveSampling, TokenRules, choice_seed
from server.sampling.samplers.config import SamplerArgs
from server.sampling.vocabulary import Vocabulary


@lru_cache(maxsize=64)
def breaker_ids(vocabulary: Vocabulary, breakers: tuple[str, ...]) -> tuple[int, ...]:
    """Every token whose text holds one of the breakers ("\\n" breaks in ".\\n" too, as the
    token-overlap rule of llama.cpp and KoboldCpp has it)."""
    return tuple(
        token
        for token in range(len(vocabulary.token_bytes))
        if any(b in vocabulary.text_of(token) for b in breakers)
    )


def sampler_args(
    sampling: EffectiveSampling, vocabulary: Vocabulary, index: int = 0, xtc_seed: int | None = None
) -> SamplerArgs | None:
    """None when vLLM's own sampler runs the chain and the request uses none of them. XTC's
    coin follows the request's seed (choice i: seed + i); without one it gets a fresh random
    seed, which the inspector keeps."""
    config = sampling.samplers
    native = sampling.native
    if native and not config.any:
        return None
    breakers = breaker_ids(vocabulary, config.dry_sequence_breakers) if config.dry else ()
    if xtc_seed is None:
        xtc_seed = choice_seed(sampling.seed, index)
    if xtc_seed is None:
        xtc_seed = secrets.randbits(63)
    return SamplerArgs(config, breakers, xtc_seed, None if native else sampling.chain_values())


# What Mirostat replaces: it is the truncation, as in llama.cpp (only temperature before it).
_MIROSTAT_EXCLUDES = ("top_k", "top_p", "min_p", "typical_p", "xtc_probability", "top_n_sigma")


def check_samplers(sampling: EffectiveSampling) -> None:
    config: SamplerConfig = sampling.samplers
    if not config.uses_mirostat:
        return
    if config.adaptive:
        raise APIError(
            "mirostat cannot be combined with adaptive_target: each selects the token itself.",
            param="mirostat",
        )
    active = {
        "top_k": sampling.top_k > 0,
        "top_p": sampling.top_p < 1.0,
        "min_p": sampling.min_p > 0,
        "typical_p": config.typical,
        "xtc_probability": config.xtc,
        "top_n_sigma": config.nsigma,
    }
    clash = [name for name in _MIROSTAT_EXCLUDES if active[name]]
    if clash:
        raise APIError(
            f"mirostat cannot be combined with {', '.join(clash)}: Mirostat chooses the "
            "truncation itself, from its own target surprise, and learns from the "
            "distribution it drew from, which a later filter would change.",
            param="mirostat",
        )


LogprobsFrom = Literal["engine", "replay", "prefills"]
NO_RULES = TokenRules()


def logprobs_from(
    request: LogprobsChoice,
    sampling: EffectiveSampling,
    engine_mode: str,
    rules: TokenRules = NO_RULES,
) -> LogprobsFrom:
    """Where a request's logprobs come from: the engine when they are in its own mode;
    post-sampling ones on a raw engine by replaying the chain on whole raw distributions
    (allowed_token_ids included; the grammar's mask is already in them); raw ones on a
    processed engine by one prefill per position."""
    wanted = "processed" if request.processed_logprobs(engine_mode) else "raw"
    if wanted == engine_mode:
        return "engine"
    if wanted == "raw":
        return "prefills"
    unreplayable = {
        "repetition_penalty": sampling.repetition_penalty != 1.0,
        "min_tokens": rules.min_tokens > 0,
        "bad_words": bool(rules.bad_words),
    }
    if found := [name for name, used in unreplayable.items() if used]:
        raise APIError(
            "on this server (raw logprobs by default) processed logprobs are replayed from "
            f"the model's logprobs, which cannot be done with {', '.join(found)} (the "
            "repetition penalty needs the logits' sign; min_tokens and bad_words mask tokens "
            "by rules the replay does not know). Start the server with --logprobs-mode "
            "processed for these.",
            param="logprobs_mode",
        )
    return "replay"
