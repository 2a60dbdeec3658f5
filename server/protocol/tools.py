"""Function tools in the Chat Completions API: definitions, tool_choice, the calls an
assistant message carries, and the calls an answer returns (whole or as stream deltas)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from server.protocol.common import APIModel
from server.protocol.fields import CallArguments, JSONSchemaBody, SchemaName

# OpenAI's own limit on the number of tools in one request.
MAX_TOOLS = 128
MAX_CALLS_PER_MESSAGE = 128
CallId = Annotated[StrictStr, Field(max_length=256)]


class FunctionDefinition(APIModel):
    name: SchemaName
    description: StrictStr | None = None
    parameters: JSONSchemaBody | None = None
    strict: StrictBool | None = None


class ChatTool(APIModel):
    type: Literal["function"]
    function: FunctionDefinition


class CustomToolDefinition(APIModel):
    name: StrictStr
    description: StrictStr | None = None
    format: dict[str, Any] | None = None


class ChatCustomTool(APIModel):
    """A free-form tool: refused (server/protocol/policy.py), every call here is JSON."""

    type: Literal["custom"]
    custom: CustomToolDefinition


ChatTools = Annotated[
    list[Annotated[ChatTool | ChatCustomTool, Field(discriminator="type")]],
    Field(max_length=MAX_TOOLS),
]


class FunctionName(APIModel):
    name: SchemaName


class NamedToolChoice(APIModel):
    type: Literal["function"]
    function: FunctionName


class CustomName(APIModel):
    name: StrictStr


class NamedCustomChoice(APIModel):
    type: Literal["custom"]
    custom: CustomName


class AllowedTools(APIModel):
    mode: Literal["auto", "required"]
    tools: Annotated[
        list[Annotated[NamedToolChoice | NamedCustomChoice, Field(discriminator="type")]],
        Field(min_length=1, max_length=MAX_TOOLS),
    ]


class AllowedToolsChoice(APIModel):
    """Only these of the declared tools may be called; the others are still described."""

    type: Literal["allowed_tools"]
    allowed_tools: AllowedTools


ToolChoiceMode = Literal["none", "auto", "required"]
ChatToolChoice = (
    ToolChoiceMode
    | Annotated[
        NamedToolChoice | NamedCustomChoice | AllowedToolsChoice, Field(discriminator="type")
    ]
)


class FunctionCall(APIModel):
    """A call as an assistant message carries it: `arguments` is JSON text. Its name is
    history, checked against nothing (a declared tool's name is)."""

    name: StrictStr
    arguments: CallArguments


class MessageToolCall(APIModel):
    id: CallId
    type: Literal["function"]
    function: FunctionCall


class CustomCall(APIModel):
    name: StrictStr
    input: StrictStr


class MessageCustomCall(APIModel):
    """A call of a free-form tool: refused with the tools it needs."""

    id: CallId
    type: Literal["custom"]
    custom: CustomCall


MessageToolCalls = Annotated[
    list[Annotated[MessageToolCall | MessageCustomCall, Field(discriminator="type")]],
    Field(max_length=MAX_CALLS_PER_MESSAGE),
]


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
