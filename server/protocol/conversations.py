"""The Conversations API: a conversation's create, update and add-items bodies, and the
objects its routes answer with (its items come back as pages of `InputItemList`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from server.protocol.common import RequestModel
from server.protocol.fields import Metadata
from server.protocol.policy import refuse_items
from server.protocol.responses import InputItem

MAX_ITEMS = 20  # items one request adds, as OpenAI's

Items = Annotated[
    list[InputItem],
    Field(max_length=MAX_ITEMS, description="Items to add, up to 20 at a time."),
]


class CreateConversationBody(RequestModel):
    metadata: Metadata | None = Field(None, description="Up to 16 string pairs, echoed back.")
    items: Items | None = None

    @model_validator(mode="after")
    def _refused(self) -> CreateConversationBody:
        refuse_items(self.items or [], "items")
        return self


class UpdateConversationBody(RequestModel):
    metadata: Metadata = Field(description="Replaces the conversation's metadata.")


class AddItemsBody(RequestModel):
    items: Items = Field(description="Items to append to the conversation, up to 20.")

    @model_validator(mode="after")
    def _refused(self) -> AddItemsBody:
        refuse_items(self.items, "items")
        return self


class Conversation(BaseModel):
    id: str
    object: Literal["conversation"] = "conversation"
    created_at: int
    metadata: dict[str, str]


class ConversationDeleted(BaseModel):
    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: bool = True
