"""Tokenization: `POST /v1/tokenize` and `POST /v1/detokenize` (vLLM's shapes)."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictBool, StrictStr, model_validator

from server.protocol.chat import ChatMessage
from server.protocol.common import RequestModel
from server.protocol.fields import ModelId, TokenId
from server.protocol.tools import ChatToolChoice, ChatTools


class TokenizeRequest(RequestModel):
    """Text as the completions endpoint tokenizes it, or messages through the chat template
    as the chat endpoint does."""

    model: ModelId
    prompt: StrictStr | None = Field(
        None, description="Text to tokenize as completions does (one of prompt and messages)."
    )
    messages: list[ChatMessage] | None = Field(
        None,
        min_length=1,
        description="Messages to tokenize through the chat template, as chat does.",
    )
    add_special_tokens: StrictBool = Field(
        True, description="With prompt: add the tokenizer's special tokens, as completions does."
    )
    add_generation_prompt: StrictBool = Field(
        True, description="With messages: end with the assistant turn's opening, as chat does."
    )
    # With messages: the tool definitions as chat renders them, so they count too.
    tools: ChatTools | None = None
    tool_choice: ChatToolChoice | None = Field(
        None, description="With messages: the tool choice, as chat renders it."
    )

    @model_validator(mode="after")
    def _one_input(self) -> TokenizeRequest:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("prompt: give exactly one of 'prompt' and 'messages'")
        if self.tools is not None and self.messages is None:
            raise ValueError("tools: only with 'messages'")
        return self


class TokenizeResponse(BaseModel):
    count: int
    max_model_len: int
    tokens: list[int]
    token_strs: list[str]


class DetokenizeRequest(RequestModel):
    model: ModelId
    tokens: list[TokenId] = Field(description="Token ids of the model's vocabulary to decode.")


class DetokenizeResponse(BaseModel):
    prompt: str
