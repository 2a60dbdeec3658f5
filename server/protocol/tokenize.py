"""Tokenization: `POST /v1/tokenize` and `POST /v1/detokenize` (vLLM's shapes)."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictBool, StrictStr, model_validator

from server.protocol.chat import ChatMessage
from server.protocol.common import RequestModel
from server.protocol.fields import TokenId
from server.protocol.tools import ChatToolChoice, ChatTools


class TokenizeRequest(RequestModel):
    """Text as the completions endpoint tokenizes it, or messages through the chat template
    as the chat endpoint does."""

    model: str
    prompt: StrictStr | None = None
    messages: list[ChatMessage] | None = Field(None, min_length=1)
    add_special_tokens: StrictBool = True
    add_generation_prompt: StrictBool = True
    # With messages: the tool definitions as chat renders them, so they count too.
    tools: ChatTools | None = None
    tool_choice: ChatToolChoice | None = None

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
    model: str
    tokens: list[TokenId]


class DetokenizeResponse(BaseModel):
    prompt: str
