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
    prompt: Prompt = Field(
        DOCUMENT_BOUNDARY,
        description="The prompt or prompts: a string, strings, token ids, or lists of token "
        "ids (each one prompt); left out, the document boundary <|endoftext|>.",
    )
    max_tokens: Integer = Field(
        16,
        ge=0,
        le=MAX_TOKENS,
        description="The most tokens each choice may have; 0 only with echo (scoring the prompt).",
    )
    logprobs: Integer | None = Field(
        None,
        ge=0,
        le=20,
        description="Return each token's log probability and this many most likely tokens "
        "at each position (the legacy shape).",
    )
    echo: StrictBool = Field(
        False, description="Return the prompt before the completion (with its logprobs)."
    )
    best_of: Integer = Field(
        1, ge=0, le=20, description="Only 1 or n: vLLM has no best-of (another is a 400)."
    )
    suffix: StrictStr | None = Field(None, description="Refused: no fill-in-the-middle here.")

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
