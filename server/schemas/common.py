"""Parts shared by the chat and completions APIs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from server.presets import PresetName

Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]


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
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: StrictInt | None = Field(None, ge=-1)
    min_p: float | None = Field(None, ge=0.0, le=1.0)
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    repetition_penalty: float | None = Field(None, gt=0.0, le=2.0)
    logit_bias: dict[str, Annotated[float, Field(ge=-100.0, le=100.0)]] | None = None
    seed: StrictInt | None = None
    ignore_eos: StrictBool = False

    @field_validator("logit_bias")
    @classmethod
    def _token_ids(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for key in value or {}:
            if not key.lstrip("-").isdigit():
                raise ValueError(f"keys must be token ids, got {key!r}")
        return value


class SamplingFields(SamplingKnobs):
    """What chat and completions add: several choices, stop strings, streaming."""

    n: StrictInt = Field(1, ge=1, le=128)
    stop: str | list[str] | None = None
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


FinishReason = Literal["stop", "length"]
