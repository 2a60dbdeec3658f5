"""Legacy Completions: `POST /v1/completions`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr, model_validator

from server.protocol.common import FinishReason, SamplingFields, Usage
from server.protocol.fields import MAX_TOKENS, Integer, TokenId
from server.protocol.policy import refuse_completion

Prompt = StrictStr | list[StrictStr] | list[TokenId] | list[list[TokenId]]


# OpenAI's default prompt (and what a null or empty one means): the document boundary, a
# special token in both served models' vocabularies.
DOCUMENT_BOUNDARY = "<|endoftext|>"


class CompletionRequest(SamplingFields):
    prompt: Prompt = DOCUMENT_BOUNDARY
    max_tokens: Integer = Field(16, ge=0, le=MAX_TOKENS)
    logprobs: Integer | None = Field(None, ge=0, le=20)
    echo: StrictBool = False
    best_of: Integer = Field(1, ge=0, le=20)
    suffix: StrictStr | None = None

    @model_validator(mode="after")
    def _refused(self) -> CompletionRequest:
        refuse_completion(self)
        return self

    def prompt_count(self) -> int:
        """How many prompts the request holds: a list of strings or of token lists is several,
        a string or one list of token ids is one."""
        if isinstance(self.prompt, str) or not self.prompt or isinstance(self.prompt[0], int):
            return 1
        return len(self.prompt)


class CompletionLogprobs(BaseModel):
    """The legacy shape: parallel lists, one entry per token."""

    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: FinishReason | None


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str
