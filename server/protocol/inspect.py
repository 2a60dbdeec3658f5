"""The sampling inspector: `POST /v1/sampling/inspect` (this server's own API)."""

from __future__ import annotations

from typing import Literal, get_type_hints

from pydantic import (
    BaseModel,
    Field,
    StrictInt,
    StrictStr,
    create_model,
    field_validator,
    model_validator,
)

from server.protocol.chat import ChatMessage
from server.protocol.common import SamplingKnobs
from server.protocol.fields import TokenId
from server.protocol.samplers import SamplerConfig, StageName

MAX_FORCED_TOKENS = 4096


class InspectRequest(SamplingKnobs):
    """Messages (through the chat template) or a raw prompt, with the sampling parameters to
    explain. The same seed and parameters give the same tokens as a chat or completions
    request."""

    messages: list[ChatMessage] | None = Field(
        None,
        min_length=1,
        description="Messages through the chat template, as chat renders them (one of "
        "messages and prompt).",
    )
    prompt: StrictStr | None = Field(
        None, min_length=1, description="A raw prompt, as completions reads it."
    )
    steps: StrictInt = Field(8, ge=1, le=64, description="Generated positions to explain.")
    top_candidates: StrictInt = Field(
        20, ge=1, le=200, description="Most likely tokens listed at each step."
    )
    forced_tokens: list[TokenId] | None = Field(
        None,
        max_length=MAX_FORCED_TOKENS,
        description="Token ids written after the prompt before sampling starts: the token "
        "explorer continues an answer from a token of its choice this way. They count as "
        "prompt (for the penalties, DRY and the context).",
    )
    max_candidates: StrictInt = Field(
        500,
        ge=1,
        le=5000,
        description="Cap on listed candidates: every survivor of the filters is listed up "
        "to this many (the counts are always complete).",
    )

    @field_validator("repetition_penalty")
    @classmethod
    def _no_repetition_penalty(cls, value: float | None) -> float | None:
        if value not in (None, 1.0):
            raise ValueError(
                "the inspector cannot explain repetition_penalty: it divides positive logits "
                "and multiplies negative ones, and logprobs do not carry the logits' sign"
            )
        return value

    @model_validator(mode="after")
    def _one_input(self) -> InspectRequest:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("messages: give exactly one of 'messages' and 'prompt'")
        return self


class TokenInfo(BaseModel):
    id: int
    token: str
    bytes: list[int]


class Candidate(TokenInfo):
    rank: int = Field(description="1 = most likely under the raw distribution.")
    raw_prob: float = Field(description="The model's own probability (what logprobs report).")
    raw_logprob: float
    adjusted_logprob: float = Field(description="After logit_bias and penalties.")
    temperature_prob: float = Field(description="After penalties and temperature.")
    kept_by_min_p: bool
    kept_by_top_k: bool
    kept_by_top_p: bool
    final_prob: float = Field(description="The distribution the token is drawn from.")
    dry_penalty: float = Field(description="What DRY subtracted from its logit (0: nothing).")
    cut_by: StageName | None = Field(
        description="The first stage that removed the token; null: it can be drawn."
    )


class Survivors(BaseModel):
    vocabulary: int
    after_min_p: int
    after_top_k: int
    after_top_p: int


class StageReport(BaseModel):
    """One stage at one step, in the chain's order: on vLLM's own sampler the stages that
    cut, on this server's chain processor every stage of the order."""

    name: StageName
    active: bool = Field(description="False: off for this request (it keeps everything).")
    survivors: int = Field(description="Tokens still in play after this stage.")
    value: float | None = Field(
        None,
        description="min_p: its threshold; top_p: the smallest probability it kept; "
        "mirostat: mu, the surprise (bits) it allowed; adaptive_p: the target probability "
        "at this step.",
    )
    fired: bool | None = Field(None, description="xtc: whether its coin fired at this step.")


class InspectStep(BaseModel):
    position: int
    sampled: TokenInfo
    sampled_final_prob: float
    greedy: bool
    entropy_raw_bits: float
    entropy_final_bits: float
    min_p_threshold: float | None = Field(
        description="Tokens below this tempered probability are cut (min_p x the top one)."
    )
    top_p_cutoff: float | None = Field(
        description="The smallest probability top-p kept, after min_p and top-k."
    )
    survivors: Survivors
    stages: list[StageReport]
    candidates: list[Candidate]
    candidates_truncated: bool


class _Parameters(BaseModel):
    temperature: float
    top_p: float
    top_k: int
    min_p: float
    presence_penalty: float
    frequency_penalty: float
    seed: int | None
    xtc_seed: int | None = Field(description="The seed of XTC's coin (null: XTC off).")
    samplers: list[StageName] = Field(description="The chain's order, as it ran.")
    native: bool = Field(
        description="True: vLLM's own sampler ran the chain (with this server's extra "
        "samplers as its processors); false: this server's chain processor ran it whole."
    )


# The values a request sampled with: the extra samplers' from their one declaration.
InspectParameters = create_model(  # type: ignore[call-overload]
    "InspectParameters",
    __base__=_Parameters,
    **{name: (hint, ...) for name, hint in get_type_hints(SamplerConfig).items()},
)


class Inspection(BaseModel):
    object: Literal["sampling.inspection"] = "sampling.inspection"
    model: str
    logprobs_mode: Literal["raw", "processed"]
    parameters: InspectParameters
    text: str
    steps: list[InspectStep]
    seconds: float = Field(description="Wall time of the inspection.")
