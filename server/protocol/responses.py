"""The Responses API: `POST /v1/responses` (text and function tools), stored responses and
their continuation, the objects `GET`, `DELETE` and `input_items` answer with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    Tag,
    model_serializer,
    model_validator,
)

from server.protocol.chat import ChatCompletionTokenLogprob
from server.protocol.common import (
    APIModel,
    ContentPart,
    NoEffectFields,
    RequestModel,
    ServiceTierUsed,
)
from server.protocol.fields import (
    CallArguments,
    Integer,
    JSONSchemaBody,
    MaxTokens,
    MinP,
    Penalty,
    ReasoningEffort,
    SchemaName,
    Seed,
    Temperature,
    TopK,
    TopP,
    Verbosity,
)
from server.protocol.policy import refuse_response
from server.protocol.presets import PresetName
from server.protocol.tools import MAX_TOOLS, CallId, ToolChoiceMode

# Item and tool types of OpenAI's spec that belong to hosted tools, state or programs: taken
# in as they are and then refused or ignored by server/protocol/policy.py.
HOSTED_ITEMS = (
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "web_search_call",
    "tool_search_call",
    "tool_search_output",
    "additional_tools",
    "compaction",
    "compaction_trigger",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "custom_tool_call",
    "custom_tool_call_output",
    "item_reference",
    "program",
    "program_output",
)
HOSTED_TOOLS = (
    "file_search",
    "computer",
    "computer_use",
    "computer_use_preview",
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "mcp",
    "code_interpreter",
    "programmatic_tool_calling",
    "image_generation",
    "local_shell",
    "shell",
    "tool_search",
    "apply_patch",
)
INCLUDABLE = Literal[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
]
Status = Literal["in_progress", "completed", "incomplete"]
# A response's own status has more: a background one waits, fails or is cancelled.
ResponseStatus = Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]


class InputText(ContentPart):
    type: Literal["input_text"]
    text: StrictStr


class EchoedOutputText(APIModel):
    """An `output_text` part of an answer sent back as input: its annotations and logprobs
    come along and are not read."""

    type: Literal["output_text"]
    text: StrictStr
    annotations: list[dict[str, Any]] | None = None
    logprobs: list[dict[str, Any]] | None = None


class Refusal(APIModel):
    type: Literal["refusal"]
    refusal: StrictStr


class InputImage(ContentPart):
    type: Literal["input_image"]
    image_url: StrictStr | None = None
    file_id: StrictStr | None = None
    detail: Literal["low", "high", "auto", "original"] | None = None


class InputFile(ContentPart):
    type: Literal["input_file"]
    file_id: StrictStr | None = None
    file_data: StrictStr | None = None
    file_url: StrictStr | None = None
    filename: StrictStr | None = None
    detail: StrictStr | None = None


InputPart = Annotated[
    InputText | EchoedOutputText | Refusal | InputImage | InputFile,
    Field(discriminator="type"),
]


class InputMessage(APIModel):
    """A message of the conversation; one of this server's answers sent back carries its
    id and status, which are taken and not read."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputPart]
    id: StrictStr | None = None
    status: Status | None = None
    phase: Literal["commentary", "final_answer"] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(
            part.refusal if isinstance(part, Refusal) else getattr(part, "text", "")
            for part in self.content
        )


class FunctionCallItem(APIModel):
    """A call the model made earlier, sent back as input."""

    type: Literal["function_call"]
    call_id: CallId
    name: StrictStr  # history: checked against nothing
    arguments: CallArguments
    namespace: StrictStr | None = None  # history: checked against nothing
    id: StrictStr | None = None
    status: Status | None = None
    caller: dict[str, Any] | None = None  # programmatic tool calling: no effect here


class FunctionCallOutputItem(APIModel):
    """The result of a call, for the model to read."""

    type: Literal["function_call_output"]
    call_id: CallId
    output: StrictStr | list[InputPart]
    name: StrictStr | None = None  # the called function's, for OpenAI's records: no effect
    namespace: StrictStr | None = None
    id: StrictStr | None = None
    status: Status | None = None
    caller: dict[str, Any] | None = None

    def text(self) -> str:
        if isinstance(self.output, str):
            return self.output
        return "".join(getattr(part, "text", "") for part in self.output)


class ReasoningItem(APIModel):
    """Another model's reasoning sent back: this model does not read it (or write any)."""

    type: Literal["reasoning"]
    id: StrictStr | None = None
    summary: list[dict[str, Any]] = Field(default_factory=list)
    content: list[dict[str, Any]] | None = None
    encrypted_content: StrictStr | None = None
    status: Status | None = None


class OtherItem(BaseModel):
    """An item of a hosted tool, of stored state or of a program: refused by its type."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr = "item_reference"


def _item_type(item: Any) -> str:
    """Messages may leave out their type (OpenAI's "easy input message")."""
    if isinstance(item, dict):
        # An item reference may leave out its type too; it has an id and no role.
        default = "item_reference" if "role" not in item and "id" in item else "message"
        kind = item.get("type") or default
    else:
        kind = getattr(item, "type", "")
    return "other" if kind in HOSTED_ITEMS else str(kind)


InputItem = Annotated[
    Annotated[InputMessage, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")]
    | Annotated[OtherItem, Tag("other")],
    Discriminator(_item_type),
]


AllowedCaller = Literal["direct", "programmatic"]


class FunctionTool(APIModel):
    type: Literal["function"]
    name: SchemaName
    description: StrictStr | None = None
    parameters: JSONSchemaBody | None = None
    strict: StrictBool | None = None
    output_schema: JSONSchemaBody | None = None  # what its outputs hold: no effect here
    defer_loading: StrictBool | None = None
    allowed_callers: list[AllowedCaller] | None = None  # programmatic calling: no effect


class CustomTool(APIModel):
    type: Literal["custom"]
    name: StrictStr
    description: StrictStr | None = None
    format: dict[str, Any] | None = None
    defer_loading: StrictBool | None = None
    allowed_callers: list[AllowedCaller] | None = None


class NamespaceTool(APIModel):
    """A group of function tools (Codex sends one): flattened into its functions; a call
    of one of them names its namespace."""

    type: Literal["namespace"]
    name: SchemaName
    description: StrictStr
    tools: Annotated[
        list[Annotated[FunctionTool | CustomTool, Field(discriminator="type")]],
        Field(min_length=1, max_length=MAX_TOOLS),
    ]


class HostedTool(BaseModel):
    """A tool OpenAI runs (web search, file search, …): the model here is not told of it
    and never calls it."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr


def _tool_type(tool: Any) -> str:
    kind = tool.get("type", "") if isinstance(tool, dict) else getattr(tool, "type", "")
    return "hosted" if kind in HOSTED_TOOLS else str(kind)


Tool = Annotated[
    Annotated[FunctionTool, Tag("function")]
    | Annotated[NamespaceTool, Tag("namespace")]
    | Annotated[CustomTool, Tag("custom")]
    | Annotated[HostedTool, Tag("hosted")],
    Discriminator(_tool_type),
]


class NamedFunctionChoice(APIModel):
    type: Literal["function"]
    name: SchemaName


class AllowedToolsChoice(APIModel):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class OtherToolChoice(BaseModel):
    """A hosted, MCP or custom tool forced: refused (none of them runs here)."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr


def _choice_type(choice: Any) -> str:
    kind = choice.get("type", "") if isinstance(choice, dict) else getattr(choice, "type", "")
    return kind if kind in ("function", "allowed_tools") else "other"


ToolChoice = (
    ToolChoiceMode
    | Annotated[
        Annotated[NamedFunctionChoice, Tag("function")]
        | Annotated[AllowedToolsChoice, Tag("allowed_tools")]
        | Annotated[OtherToolChoice, Tag("other")],
        Discriminator(_choice_type),
    ]
)


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
    verbosity: Verbosity = "medium"


class ReasoningConfig(APIModel):
    effort: ReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None
    context: Literal["auto", "current_turn", "all_turns"] | None = None
    mode: StrictStr | None = None


class PromptReference(APIModel):
    id: StrictStr
    version: StrictStr | None = None
    variables: dict[str, Any] | None = None


class ConversationReference(APIModel):
    id: StrictStr


class ResponseStreamOptions(APIModel):
    include_obfuscation: StrictBool = True  # no effect: nothing is padded


class ResponseCreateRequest(RequestModel, NoEffectFields):
    model: str
    input: str | Annotated[list[InputItem], Field(min_length=1)]
    instructions: str | None = None
    max_output_tokens: MaxTokens | None = None
    max_tool_calls: Integer | None = Field(None, ge=0)
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_logprobs: Integer = Field(0, ge=0, le=20)
    # This server's extensions, as in chat.
    top_k: TopK | None = None
    min_p: MinP | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    seed: Seed | None = None
    preset: PresetName | None = None
    stream: StrictBool = False
    stream_options: ResponseStreamOptions | None = None
    text: TextConfig | None = None
    user: str | None = None
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: StrictBool = True
    include: list[INCLUDABLE] | None = None
    reasoning: ReasoningConfig | None = None
    # Codex's own field beside OpenAI's: thread and turn ids, without effect.
    client_metadata: dict[str, StrictStr] | None = None
    truncation: Literal["auto", "disabled"] = "disabled"
    background: StrictBool = False
    previous_response_id: StrictStr | None = None
    # Refused unless at their defaults (docs/api/compatibility.md): no conversations yet.
    conversation: StrictStr | ConversationReference | None = None
    prompt: PromptReference | None = None
    context_management: list[dict[str, Any]] | None = None
    moderation: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _refused(self) -> ResponseCreateRequest:
        refuse_response(self)
        return self

    @property
    def wants_logprobs(self) -> bool:
        return "message.output_text.logprobs" in (self.include or ())

    def functions(self) -> list[tuple[str, FunctionTool, str | None]]:
        """The function tools the model is told of, namespaces flattened: (where it was
        declared, the tool, its namespace)."""
        found: list[tuple[str, FunctionTool, str | None]] = []
        for i, tool in enumerate(self.tools or ()):
            if isinstance(tool, FunctionTool):
                found.append((f"tools[{i}]", tool, None))
            elif isinstance(tool, NamespaceTool):
                found += [
                    (f"tools[{i}].tools[{j}]", t, tool.name)
                    for j, t in enumerate(tool.tools)
                    if isinstance(t, FunctionTool)
                ]
        return found


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[None] = Field(default_factory=list)  # no citations: none
    logprobs: list[ChatCompletionTokenLogprob] = Field(default_factory=list)


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    status: Status
    role: Literal["assistant"] = "assistant"
    content: list[OutputText]


class OutputFunctionCall(BaseModel):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: Status
    namespace: str | None = None

    @model_serializer(mode="wrap")
    def _namespace_only_when_set(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if data.get("namespace") is None:
            data.pop("namespace", None)
        return data


OutputItem = OutputMessage | OutputFunctionCall


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0  # the engine's prefix cache
    cache_write_tokens: int = 0


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


class ReasoningUsed(BaseModel):
    """A model that does not reason: no effort, no summary."""

    effort: None = None
    summary: None = None


class ResponseError(BaseModel):
    code: Literal["server_error"] = "server_error"
    message: str


class Response(BaseModel):
    """Every key of OpenAI's Response object, with the values this answer really used."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    completed_at: int | None = None
    status: ResponseStatus
    background: bool = False
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    output: list[OutputItem]
    parallel_tool_calls: bool
    previous_response_id: str | None = None
    conversation: None = None
    prompt: None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    reasoning: ReasoningUsed = Field(default_factory=ReasoningUsed)
    safety_identifier: str | None = None
    service_tier: ServiceTierUsed = "default"
    store: bool = True
    temperature: float
    top_p: float
    top_logprobs: int
    presence_penalty: float
    frequency_penalty: float
    text: TextConfig
    tool_choice: ToolChoice
    tools: list[Tool]
    truncation: Literal["auto", "disabled"] = "disabled"
    usage: ResponseUsage | None = None
    user: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class ResponseDeleted(BaseModel):
    id: str
    object: Literal["response"] = "response"  # as OpenAI's spec has it
    deleted: bool = True


class InputItemList(BaseModel):
    """A page of a stored response's input items, paged by item id as OpenAI's lists are."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool
