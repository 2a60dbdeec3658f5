"""The Responses API: `POST /v1/responses` (text, function and custom tools), stored
responses and their continuation, the objects `GET`, `DELETE` and `input_items` answer with."""

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
    LogprobsChoice,
    NoEffectFields,
    RequestModel,
    SamplerFields,
    ServiceTierUsed,
)
from server.protocol.fields import (
    CallArguments,
    Integer,
    JSONSchemaBody,
    MaxTokens,
    ModelId,
    ReasoningEffort,
    SchemaName,
    Verbosity,
)
from server.protocol.policy import refuse_response
from server.protocol.tools import (
    CUSTOM_FORMAT,
    MAX_TOOLS,
    AllowedMode,
    CallId,
    GrammarInput,
    TextInput,
    ToolChoiceMode,
    ToolDescription,
    ToolParameters,
    ToolStrict,
)

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
# What an earlier answer's items carry when they are sent back as input: taken, not read.
ItemId = Annotated[StrictStr, Field(description="The item's id, as an answer gave it: not read.")]
ItemStatus = Annotated[
    Status, Field(description="The item's status, as an answer gave it: not read.")
]
Caller = Annotated[
    dict[str, Any], Field(description="Programmatic tool calling's caller: no effect here.")
]
Namespace = Annotated[
    StrictStr, Field(description="The called tool's namespace (history: checked against nothing).")
]
NOT_READ = "As an answer gave it: not read."


class InputText(ContentPart):
    type: Literal["input_text"] = Field(description="A text part.")
    text: StrictStr = Field(description="The text.")


class EchoedOutputText(APIModel):
    """An `output_text` part of an answer sent back as input: its annotations and logprobs
    come along and are not read."""

    type: Literal["output_text"] = Field(description="An answer's text part, sent back.")
    text: StrictStr = Field(description="The text, which the model reads.")
    annotations: list[dict[str, Any]] | None = Field(None, description=NOT_READ)
    logprobs: list[dict[str, Any]] | None = Field(None, description=NOT_READ)


class Refusal(APIModel):
    type: Literal["refusal"] = Field(description="A refusal part.")
    refusal: StrictStr = Field(description="The refusal's text; the model reads it as text.")


class InputImage(ContentPart):
    """Refused: the model reads text only."""

    type: Literal["input_image"] = Field(description="An image part (refused: text only).")
    image_url: StrictStr | None = Field(None, description="The image's URL or data URL.")
    file_id: StrictStr | None = Field(None, description="An uploaded file's id.")
    detail: Literal["low", "high", "auto", "original"] | None = Field(
        None, description="The image's detail level."
    )


class InputFile(ContentPart):
    """Refused: the model reads text only."""

    type: Literal["input_file"] = Field(description="A file part (refused: text only).")
    file_id: StrictStr | None = Field(None, description="An uploaded file's id.")
    file_data: StrictStr | None = Field(None, description="The file's content.")
    file_url: StrictStr | None = Field(None, description="The file's URL.")
    filename: StrictStr | None = Field(None, description="The file's name.")
    detail: StrictStr | None = Field(None, description="The file's detail level.")


InputPart = Annotated[
    InputText | EchoedOutputText | Refusal | InputImage | InputFile,
    Field(discriminator="type"),
]


class InputMessage(APIModel):
    """A message of the conversation; one of this server's answers sent back carries its
    id and status, which are taken and not read."""

    type: Literal["message"] = Field("message", description="A message (may be left out).")
    role: Literal["user", "assistant", "system", "developer"] = Field(
        description="Who wrote the message."
    )
    content: str | list[InputPart] = Field(
        description="The message's text, or its parts (text and refusal parts are read; "
        "image and file parts are refused)."
    )
    id: ItemId | None = None
    status: ItemStatus | None = None
    phase: Literal["commentary", "final_answer"] | None = Field(
        None, description="An assistant message's phase, as an answer gave it: not read."
    )

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(
            part.refusal if isinstance(part, Refusal) else getattr(part, "text", "")
            for part in self.content
        )


ToolOutput = Annotated[
    StrictStr | list[InputPart],
    Field(description="The call's result, text or parts, which the model reads."),
]


class FunctionCallItem(APIModel):
    """A call the model made earlier, sent back as input."""

    type: Literal["function_call"] = Field(description="A function call made earlier.")
    call_id: CallId
    name: StrictStr = Field(description="The called function (history: checked against nothing).")
    arguments: CallArguments
    namespace: Namespace | None = None
    id: ItemId | None = None
    status: ItemStatus | None = None
    caller: Caller | None = None


class FunctionCallOutputItem(APIModel):
    """The result of a call, for the model to read."""

    type: Literal["function_call_output"] = Field(description="A function call's result.")
    call_id: CallId
    output: ToolOutput
    name: StrictStr | None = Field(None, description="The called function's name: no effect.")
    namespace: Namespace | None = None
    id: ItemId | None = None
    status: ItemStatus | None = None
    caller: Caller | None = None

    def text(self) -> str:
        if isinstance(self.output, str):
            return self.output
        return "".join(getattr(part, "text", "") for part in self.output)


class CustomToolCallItem(APIModel):
    """A call of a custom tool the model made earlier, sent back as input."""

    type: Literal["custom_tool_call"] = Field(description="A custom tool's call made earlier.")
    call_id: CallId
    name: StrictStr = Field(description="The called tool (history: checked against nothing).")
    input: StrictStr = Field(description="The input the model wrote.")
    namespace: Namespace | None = None
    id: ItemId | None = None
    status: ItemStatus | None = None
    caller: Caller | None = None


class CustomToolCallOutputItem(APIModel):
    """The result of a custom tool's call, for the model to read."""

    type: Literal["custom_tool_call_output"] = Field(description="A custom tool call's result.")
    call_id: CallId
    output: ToolOutput
    id: ItemId | None = None
    status: ItemStatus | None = None
    caller: Caller | None = None

    def text(self) -> str:
        if isinstance(self.output, str):
            return self.output
        return "".join(getattr(part, "text", "") for part in self.output)


class ReasoningItem(APIModel):
    """Another model's reasoning sent back: this model does not read it (or write any)."""

    type: Literal["reasoning"] = Field(description="Another model's reasoning: not read.")
    id: ItemId | None = None
    summary: list[dict[str, Any]] = Field(default_factory=list, description=NOT_READ)
    content: list[dict[str, Any]] | None = Field(None, description=NOT_READ)
    encrypted_content: StrictStr | None = Field(None, description=NOT_READ)
    status: ItemStatus | None = None


class ItemReference(APIModel):
    """An item stored earlier (a stored response's input or output, a conversation's item),
    by its id: replaced by that item before the model reads the input."""

    type: Literal["item_reference"] = Field(
        "item_reference", description="A stored item, by id (may be left out)."
    )
    id: StrictStr = Field(description="The id of the item to read here.")


class CompactionItem(APIModel):
    """A conversation compacted by `POST /v1/responses/compact` or by `context_management`:
    here `encrypted_content` is the summary the model wrote, in plain text, and the model
    reads it where the item stands (server/services/compaction.py)."""

    type: Literal["compaction"] = Field(description="A compacted conversation.")
    encrypted_content: Annotated[StrictStr, Field(max_length=20_971_520)] = Field(
        description="The summary of the conversation before this item (plain text here)."
    )
    id: ItemId | None = None
    created_by: StrictStr | None = Field(None, description=NOT_READ)


class OtherItem(BaseModel):
    """An item of a hosted tool, of stored state or of a program: refused by its type."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr = Field(
        description="A hosted tool's, stored state's or program's item type: refused."
    )


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
    | Annotated[CustomToolCallItem, Tag("custom_tool_call")]
    | Annotated[CustomToolCallOutputItem, Tag("custom_tool_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")]
    | Annotated[CompactionItem, Tag("compaction")]
    | Annotated[ItemReference, Tag("item_reference")]
    | Annotated[OtherItem, Tag("other")],
    Discriminator(_item_type),
]


AllowedCaller = Literal["direct", "programmatic"]


DeferLoading = Annotated[
    StrictBool, Field(description="No effect: every tool is shown to the model at once.")
]
AllowedCallers = Annotated[
    list[AllowedCaller], Field(description="Programmatic tool calling's callers: no effect.")
]


class FunctionTool(APIModel):
    type: Literal["function"] = Field(description="A function tool.")
    name: SchemaName
    description: ToolDescription | None = None
    parameters: ToolParameters | None = None
    strict: ToolStrict | None = None
    output_schema: JSONSchemaBody | None = Field(
        None, description="What the function's outputs hold: no effect here."
    )
    defer_loading: DeferLoading | None = None
    allowed_callers: AllowedCallers | None = None


class CustomTool(APIModel):
    """A tool whose input is free text, or text in its grammar, instead of JSON arguments."""

    type: Literal["custom"] = Field(description="A custom tool.")
    name: SchemaName
    description: ToolDescription | None = None
    format: Annotated[TextInput | GrammarInput, Field(discriminator="type")] | None = Field(
        None, description=CUSTOM_FORMAT
    )
    defer_loading: DeferLoading | None = None
    allowed_callers: AllowedCallers | None = None


class NamespaceTool(APIModel):
    """A group of function and custom tools (Codex sends one): flattened into its tools; a
    call of one of them names its namespace."""

    type: Literal["namespace"] = Field(description="A group of tools.")
    name: SchemaName
    description: StrictStr = Field(description="What the group is for.")
    tools: Annotated[
        list[Annotated[FunctionTool | CustomTool, Field(discriminator="type")]],
        Field(min_length=1, max_length=MAX_TOOLS),
    ] = Field(description="The group's function and custom tools.")


class HostedTool(BaseModel):
    """A tool OpenAI runs (web search, file search, …): the model here is not told of it
    and never calls it."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr = Field(description="A hosted tool's type: the model is not told of it.")


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
    type: Literal["function"] = Field(description="A function tool, which must be called.")
    name: SchemaName


class NamedCustomChoice(APIModel):
    type: Literal["custom"] = Field(description="A custom tool, which must be called.")
    name: SchemaName


class AllowedToolsChoice(APIModel):
    type: Literal["allowed_tools"] = Field(description="A subset of the tools.")
    mode: AllowedMode
    tools: list[dict[str, Any]] = Field(
        description='The declared tools the model may call: {"type", "name"} each.'
    )


class OtherToolChoice(BaseModel):
    """A hosted or MCP tool forced: refused (none of them runs here)."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr = Field(description="A hosted or MCP tool: refused.")


def _choice_type(choice: Any) -> str:
    kind = choice.get("type", "") if isinstance(choice, dict) else getattr(choice, "type", "")
    return kind if kind in ("function", "custom", "allowed_tools") else "other"


ToolChoice = (
    ToolChoiceMode
    | Annotated[
        Annotated[NamedFunctionChoice, Tag("function")]
        | Annotated[NamedCustomChoice, Tag("custom")]
        | Annotated[AllowedToolsChoice, Tag("allowed_tools")]
        | Annotated[OtherToolChoice, Tag("other")],
        Discriminator(_choice_type),
    ]
)


class FormatText(APIModel):
    type: Literal["text"] = Field(description="Plain text: no constraint.")


class FormatJSONObject(APIModel):
    type: Literal["json_object"] = Field(description="Any JSON object.")


class FormatJSONSchema(APIModel):
    type: Literal["json_schema"] = Field(description="JSON that follows `schema`.")
    name: SchemaName
    schema_: JSONSchemaBody = Field(
        alias="schema",
        description="The JSON Schema the answer follows, enforced by constrained decoding "
        "(nested up to 32 levels).",
    )
    description: str | None = Field(
        None, description="What the format is for; the model is not shown it."
    )
    strict: bool | None = Field(
        None, description="No effect: the schema is always enforced, not only when strict."
    )


TextFormat = Annotated[
    FormatText | FormatJSONObject | FormatJSONSchema, Field(discriminator="type")
]


class TextConfig(APIModel):
    format: TextFormat = Field(
        default_factory=lambda: FormatText(type="text"),
        description="The answer's format: text, any JSON object, or JSON that follows a "
        "schema, enforced by constrained decoding.",
    )
    verbosity: Verbosity = "medium"


NO_REASONING = "No effect: the model does not reason."


class ReasoningConfig(APIModel):
    effort: ReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = Field(None, description=NO_REASONING)
    generate_summary: Literal["auto", "concise", "detailed"] | None = Field(
        None, description=NO_REASONING
    )
    context: Literal["auto", "current_turn", "all_turns"] | None = Field(
        None, description=NO_REASONING
    )
    mode: StrictStr | None = Field(None, description=NO_REASONING)


class PromptReference(APIModel):
    id: StrictStr = Field(description="A stored prompt's id.")
    version: StrictStr | None = Field(None, description="The prompt's version.")
    variables: dict[str, Any] | None = Field(None, description="Values for its variables.")


class ConversationReference(APIModel):
    id: StrictStr = Field(description="The conversation's id.")


class ContextManagement(APIModel):
    """Server-side compaction: an input rendered longer than the threshold is compacted
    before it is answered (server/services/compaction.py)."""

    type: Literal["compaction"] = Field(description="The only kind there is: `compaction`.")
    compact_threshold: Integer | None = Field(
        None,
        ge=1000,
        description="Rendered input tokens above which the input is compacted first; null: "
        "only when the input would not fit the context.",
    )


class ResponseStreamOptions(APIModel):
    include_obfuscation: StrictBool = Field(True, description="No effect: nothing is padded.")


class ResponseCreateRequest(RequestModel, NoEffectFields, SamplerFields, LogprobsChoice):
    model: ModelId
    input: str | Annotated[list[InputItem], Field(min_length=1)] = Field(
        description="The conversation's new turn: text (one user message) or items "
        "(messages, earlier calls and their results, item references, compactions)."
    )
    instructions: str | None = Field(
        None, description="A system message read before the input (not carried over)."
    )
    max_output_tokens: MaxTokens | None = None
    max_tool_calls: Integer | None = Field(
        None, ge=0, description="The most tool calls the answer may make."
    )
    top_logprobs: Integer = Field(
        0,
        ge=0,
        le=20,
        description="How many of the most likely tokens to list at each position (with "
        'include: ["message.output_text.logprobs"]).',
    )
    stream: StrictBool = Field(
        False, description="Send the answer as server-sent events, as it is written."
    )
    stream_options: ResponseStreamOptions | None = Field(
        None, description="Options of a streamed answer."
    )
    text: TextConfig | None = Field(None, description="The answer's format and verbosity.")
    user: str | None = Field(None, description="No effect: no abuse screening here.")
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = Field(
        None,
        description="Function, custom and namespace tools the model may call (up to 128); "
        "hosted tools are taken and not told to the model.",
    )
    tool_choice: ToolChoice | None = Field(
        None,
        description="none, auto (the default with tools), required, a named tool, or "
        "allowed_tools: which of the tools the model may or must call.",
    )
    parallel_tool_calls: StrictBool = Field(
        True, description="Whether the model may call several tools in one answer."
    )
    include: list[INCLUDABLE] | None = Field(
        None,
        description="Extra output to include; only message.output_text.logprobs has an "
        "effect (no hosted-tool or reasoning items here).",
    )
    reasoning: ReasoningConfig | None = Field(None, description=NO_REASONING)
    # Codex's own field beside OpenAI's: thread and turn ids, without effect.
    client_metadata: dict[str, StrictStr] | None = Field(
        None, description="Codex's thread and turn ids: no effect."
    )
    truncation: Literal["auto", "disabled"] = Field(
        "disabled",
        description="auto: drop the oldest input items when the input does not fit the "
        "context; disabled: refuse it with a 400.",
    )
    background: StrictBool = Field(
        False,
        description="Answer at once with a queued response, run it in the background and keep "
        "it for GET (needs store).",
    )
    previous_response_id: StrictStr | None = Field(
        None, description="A stored response to continue: its input and output are read first."
    )
    conversation: StrictStr | ConversationReference | None = Field(
        None, description="A conversation: its items are read first, this turn appended."
    )
    prompt: PromptReference | None = Field(None, description="Refused: no stored prompts here.")
    context_management: Annotated[list[ContextManagement], Field(min_length=1)] | None = Field(
        None, description="Server-side compaction of a long input (`compaction` entries only)."
    )
    moderation: dict[str, Any] | None = Field(None, description="Refused: nothing moderates here.")

    @model_validator(mode="after")
    def _refused(self) -> ResponseCreateRequest:
        refuse_response(self)
        return self

    @property
    def wants_logprobs(self) -> bool:
        return "message.output_text.logprobs" in (self.include or ())

    def declared_tools(self) -> list[tuple[str, FunctionTool | CustomTool, str | None]]:
        """The function and custom tools the model is told of, namespaces flattened: (where
        it was declared, the tool, its namespace)."""
        found: list[tuple[str, FunctionTool | CustomTool, str | None]] = []
        for i, tool in enumerate(self.tools or ()):
            if isinstance(tool, FunctionTool | CustomTool):
                found.append((f"tools[{i}]", tool, None))
            elif isinstance(tool, NamespaceTool):
                found += [
                    (f"tools[{i}].tools[{j}]", t, tool.name) for j, t in enumerate(tool.tools)
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


class _NamespacedCall(BaseModel):
    """A call item: its `namespace` is written only for a member of a namespace tool."""

    @model_serializer(mode="wrap")
    def _namespace_only_when_set(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if data.get("namespace") is None:
            data.pop("namespace", None)
        return data


class OutputFunctionCall(_NamespacedCall):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: Status
    namespace: str | None = None


class OutputCustomToolCall(_NamespacedCall):
    type: Literal["custom_tool_call"] = "custom_tool_call"
    id: str
    call_id: str
    name: str
    input: str
    status: Status
    namespace: str | None = None


class OutputCompaction(BaseModel):
    """The compaction item an answer starts with when `context_management` compacted its
    input; sent back as input, it is read as the summary it holds."""

    type: Literal["compaction"] = "compaction"
    id: str
    encrypted_content: str  # the summary, in plain text


OutputItem = OutputMessage | OutputFunctionCall | OutputCustomToolCall | OutputCompaction


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
    conversation: ConversationReference | None = None
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
    """A page of items (a stored response's input, a conversation's), paged by item id as
    OpenAI's lists are."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool
