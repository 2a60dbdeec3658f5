"""Function tools in the Chat Completions API: definitions, tool_choice, the calls an
assistant message carries, and the calls an answer returns (whole or as stream deltas)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from server.schemas.common import APIModel
from server.schemas.fields import JSONSchemaBody, SchemaName

# OpenAI's own limit on the number of tools in one request.
MAX_TOOLS = 128
MAX_CALLS_PER_MESSAGE = 128
CallId = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class FunctionDefinition(APIModel):
    name: SchemaName
    description: StrictStr | None = None
    parameters: JSONSchemaBody | None = None
    strict: StrictBool | None = None


class ChatTool(APIModel):
    type: Literal["function"]
    function: FunctionDefinition


ChatTools = Annotated[list[ChatTool], Field(max_length=MAX_TOOLS)]


class FunctionName(APIModel):
    name: SchemaName


class NamedToolChoice(APIModel):
    type: Literal["function"]
    function: FunctionName


ToolChoiceMode = Literal["none", "auto", "required"]
ChatToolChoice = ToolChoiceMode | NamedToolChoice


class FunctionCall(APIModel):
    """A call as an assistant message carries it: `arguments` is JSON text."""

    name: SchemaName
    arguments: StrictStr


class MessageToolCall(APIModel):
    id: CallId
    type: Literal["function"]
    function: FunctionCall


MessageToolCalls = Annotated[list[MessageToolCall], Field(max_length=MAX_CALLS_PER_MESSAGE)]


class CalledFunction(BaseModel):
    name: str
    arguments: str


class ToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: CalledFunction


class DeltaFunction(BaseModel):
    name: str | None = None
    arguments: str | None = None


class DeltaToolCall(BaseModel):
    """The first delta of a call has its id, type and name; the later ones carry only
    fragments of its arguments."""

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: DeltaFunction
