"""The Responses API: `POST /v1/responses` (text and function tools; no stored state)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, StrictBool, StrictStr, Tag, model_validator

from server.presets import PresetName
from server.schemas.common import APIModel
from server.schemas.fields import (
    JSONSchemaBody,
    MaxTokens,
    MinP,
    SchemaName,
    Seed,
    Temperature,
    TopK,
    TopP,
)
from server.schemas.tools import MAX_TOOLS, CallId, ToolChoiceMode

UNSUPPORTED = (
    "previous_response_id",
    "conversation",
    "reasoning",
    "background",
    "include",
    "prompt",
    "truncation",
    "max_tool_calls",
    "top_logprobs",
)


class InputText(APIModel):
    type: Literal["input_text", "output_text"]
    text: str


class InputMessage(APIModel):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputText]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class FunctionCallItem(APIModel):
    """A call the model made earlier, sent back as input."""

    type: Literal["function_call"]
    call_id: CallId
    name: SchemaName
    arguments: StrictStr
    id: StrictStr | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class FunctionCallOutputItem(APIModel):
    """The result of a call, for the model to read."""

    type: Literal["function_call_output"]
    call_id: CallId
    output: StrictStr
    id: StrictStr | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


def _item_type(item: Any) -> str:
    """Messages may leave out their type (OpenAI's "easy input message")."""
    if isinstance(item, dict):
        return str(item.get("type", "message"))
    return str(getattr(item, "type", "message"))


InputItem = Annotated[
    Annotated[InputMessage, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(_item_type),
]


class FunctionTool(APIModel):
    type: Literal["function"]
    name: SchemaName
    description: StrictStr | None = None
    parameters: JSONSchemaBody | None = None
    strict: StrictBool | None = None


class NamedFunctionChoice(APIModel):
    type: Literal["function"]
    name: SchemaName


class FormatText(APIModel):
    type: Literal["text"]


class FormatJSONObject(APIModel):
    type: Literal["json_object"]


class FormatJSONSchema(APIModel):
    type: Literal["json_schema"]
    name: SchemaName
    schema_: JSONSchemaBody = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


TextFormat = Annotated[
    FormatText | FormatJSONObject | FormatJSONSchema, Field(discriminator="type")
]


class TextConfig(APIModel):
    format: TextFormat = Field(default_factory=lambda: FormatText(type="text"))


class ResponseCreateRequest(APIModel):
    model: str
    input: str | list[InputItem] = Field(min_length=1)
    instructions: str | None = None
    max_output_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    min_p: MinP | None = None
    seed: Seed | None = None
    preset: PresetName | None = None
    stream: StrictBool = False
    store: StrictBool | None = None
    text: TextConfig | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    tools: Annotated[list[FunctionTool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: ToolChoiceMode | NamedFunctionChoice | None = None
    parallel_tool_calls: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in UNSUPPORTED:
                if data.get(key) not in (None, [], False):
                    raise ValueError(f"{key}: '{key}' is not supported by this server")
            if data.get("store") is True:
                raise ValueError("store: this server keeps no responses; send store: false")
        return data


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] = Field(default_factory=list)


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    role: Literal["assistant"] = "assistant"
    content: list[OutputText]


class OutputFunctionCall(BaseModel):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"]


OutputItem = OutputMessage | OutputFunctionCall


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int


class IncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens"]


class Response(BaseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["in_progress", "completed", "incomplete"]
    model: str
    output: list[OutputItem]
    usage: ResponseUsage | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    incomplete_details: IncompleteDetails | None = None
    error: None = None
    parallel_tool_calls: bool = True
    tool_choice: ToolChoiceMode | NamedFunctionChoice = "auto"
    tools: list[FunctionTool] = Field(default_factory=list)
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    metadata: dict[str, str] = Field(default_factory=dict)
    store: bool = False
