"""`POST /v1/responses/compact`: a conversation in, its user messages and one `compaction`
item out (OpenAI's `response.compaction` object)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr, model_validator

from server.protocol.common import NoEffectFields, RequestModel
from server.protocol.fields import ModelId
from server.protocol.policy import refuse_items
from server.protocol.responses import InputItem, OutputCompaction, ResponseUsage


class ResponseCompactRequest(RequestModel, NoEffectFields):
    """OpenAI's CompactResponseMethodPublicBody; its prompt-cache and tier fields, as
    create's, have no effect."""

    model: ModelId
    input: str | Annotated[list[InputItem], Field(min_length=1)] | None = Field(
        None, description="The conversation to compact (read after previous_response_id's)."
    )
    previous_response_id: StrictStr | None = Field(
        None, description="A stored response whose context and output are compacted first."
    )
    instructions: str | None = Field(
        None, description="The conversation's system message, read by the summarizing pass."
    )

    @model_validator(mode="after")
    def _refused(self) -> ResponseCompactRequest:
        """The items create refuses, refused here too; something to compact is needed."""
        if self.input is None and self.previous_response_id is None:
            raise ValueError("input: give the conversation to compact, or previous_response_id")
        refuse_items(self.input if isinstance(self.input, list) else [], "input")
        return self


class KeptText(BaseModel):
    type: Literal["input_text"] = "input_text"
    text: str


class KeptMessage(BaseModel):
    """A user message the compaction keeps word for word, as OpenAI's output shows it."""

    type: Literal["message"] = "message"
    id: str
    status: Literal["completed"] = "completed"
    role: Literal["user"] = "user"
    content: list[KeptText]


class CompactResource(BaseModel):
    id: str
    object: Literal["response.compaction"] = "response.compaction"
    created_at: int
    output: list[KeptMessage | OutputCompaction]
    usage: ResponseUsage
