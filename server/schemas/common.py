"""Parts shared by the chat and completions APIs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from server.presets import PresetName
from server.schemas.fields import (
    LogitBias,
    MinP,
    Penalty,
    RepetitionPenalty,
    Seed,
    Stop,
    Temperature,
    TopK,
    TopP,
)


class APIModel(BaseModel):
    """Requests refuse unknown fields, as OpenAI does, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class StreamOptions(APIModel):
    include_usage: StrictBool = False


class SamplingKnobs(APIModel):
    """The sampling parameters every generating endpoint takes; top_k, min_p,
    repetition_penalty, ignore_eos and preset are this server's extensions (the SDK sends
    them through `extra_body`)."""

    model: str
    preset: PresetName | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    min_p: MinP | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    repetition_penalty: RepetitionPenalty | None = None
    logit_bias: LogitBias | None = None
    seed: Seed | None = None
    ignore_eos: StrictBool = False


class SamplingFields(SamplingKnobs):
    """What chat and completions add: several choices, stop strings, streaming."""

    n: StrictInt = Field(1, ge=1, le=128)
    stop: Stop | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: str | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


FinishReason = Literal["stop", "length", "tool_calls"]
