"""Chat Completions: `POST /v1/chat/completions`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictStr,
    field_serializer,
    model_serializer,
    model_validator,
)

from server.protocol.common import (
    APIModel,
    ContentPart,
    FinishReason,
    NoEffectFields,
    SamplingFields,
    ServiceTierUsed,
    Usage,
)
from server.protocol.fields import (
    Integer,
    JSONSchemaBody,
    MaxTokens,
    ReasoningEffort,
    SchemaName,
    Verbosity,
)
from server.protocol.policy import refuse_chat
from server.protocol.tools import (
    CallId,
    ChatToolChoice,
    ChatTools,
    CustomToolCall,
    DeltaToolCall,
    MessageToolCalls,
    ToolCall,
)


class TextContentPart(ContentPart):
    type: Literal["text"] = Field(description="A text part.")
    text: StrictStr = Field(description="The text.")


class RefusalContentPart(APIModel):
    """An assistant's earlier refusal, as the SDK sends a message back."""

    type: Literal["refusal"] = Field(description="A refusal part.")
    refusal: StrictStr = Field(description="The refusal's text; the model reads it as text.")


class ImageURL(APIModel):
    url: StrictStr = Field(description="The image's URL or data URL.")
    detail: Literal["auto", "low", "high"] | None = Field(
        None, description="The image's detail level."
    )


class ImageContentPart(ContentPart):
    """Refused: the model reads text only."""

    type: Literal["image_url"] = Field(description="An image part (refused: text only).")
    image_url: ImageURL = Field(description="The image.")


class InputAudio(APIModel):
    data: StrictStr = Field(description="Base64-encoded audio.")
    format: StrictStr = Field(description="The audio's encoding (wav, mp3).")


class AudioContentPart(ContentPart):
    """Refused: the model reads text only."""

    type: Literal["input_audio"] = Field(description="An audio part (refused: text only).")
    input_audio: InputAudio = Field(description="The audio.")


class FileData(APIModel):
    file_data: StrictStr | None = Field(None, description="The file's content, base64-encoded.")
    file_id: StrictStr | None = Field(None, description="An uploaded file's id.")
    filename: StrictStr | None = Field(None, description="The file's name.")


class FileContentPart(ContentPart):
    """Refused: the model reads text only."""

    type: Literal["file"] = Field(description="A file part (refused: text only).")
    file: FileData = Field(description="The file.")


MessagePart = Annotated[
    TextContentPart | RefusalContentPart | ImageContentPart | AudioContentPart | FileContentPart,
    Field(discriminator="type"),
]
# What a text model reads; the other parts are refused by name (server/protocol/policy.py).
READABLE_PARTS = (TextContentPart, RefusalContentPart)


class AssistantAudio(APIModel):
    id: StrictStr = Field(description="The id of an earlier audio answer.")


class LegacyFunctionCall(APIModel):
    name: StrictStr = Field(description="The called function's name.")
    arguments: StrictStr = Field(description="The call's arguments, as JSON text.")


class ChatMessage(APIModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"] = Field(
        description="Who wrote the message; `function` is refused (deprecated: use `tool`)."
    )
    content: str | list[MessagePart] | None = Field(
        None,
        description="The message's text, or its parts (text and refusal parts are read; "
        "image, audio and file parts are refused).",
    )
    name: str | None = Field(
        None,
        description="The author's name, handed to the chat template; on a tool message, the "
        "called tool's name.",
    )
    tool_calls: MessageToolCalls | None = Field(
        None, description="The tool calls an assistant message made."
    )
    tool_call_id: CallId | None = Field(
        None, description="The call a tool message answers (required on tool messages)."
    )
    # What the SDK sends back when a client appends our answer's message as it is.
    refusal: str | None = Field(
        None, description="An answer's refusal, as the SDK sends the message back: not read."
    )
    annotations: list[dict[str, Any]] | None = Field(
        None, description="An answer's annotations, as the SDK sends the message back: not read."
    )
    # Refused when set (an earlier audio answer, the deprecated function call).
    audio: AssistantAudio | None = Field(
        None, description="An earlier audio answer: refused (no audio here)."
    )
    function_call: LegacyFunctionCall | None = Field(
        None, description="Deprecated by OpenAI: refused; use `tool_calls`."
    )

    @model_validator(mode="after")
    def _tool_fields(self) -> ChatMessage:
        if self.tool_calls is not None and self.role != "assistant":
            raise ValueError("tool_calls: only assistant messages carry tool calls")
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("tool_call_id: a tool message must name the call it answers")
        return self

    def text(self) -> str:
        """What the model reads: the text parts (an earlier refusal reads as its text)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(
            part.text if isinstance(part, TextContentPart) else getattr(part, "refusal", "")
            for part in self.content
        )


class JSONSchema(APIModel):
    name: SchemaName
    description: str | None = Field(
        None, description="What the format is for; the model is not shown it."
    )
    schema_: JSONSchemaBody = Field(
        default_factory=dict,
        alias="schema",
        description="The JSON Schema the answer follows, enforced by constrained decoding "
        "(nested up to 32 levels).",
    )
    strict: bool | None = Field(
        None, description="No effect: the schema is always enforced, not only when strict."
    )


class ResponseFormatText(APIModel):
    type: Literal["text"] = Field(description="Plain text: no constraint.")


class ResponseFormatJSONObject(APIModel):
    type: Literal["json_object"] = Field(description="Any JSON object.")


class ResponseFormatJSONSchema(APIModel):
    type: Literal["json_schema"] = Field(description="JSON that follows `json_schema`.")
    json_schema: JSONSchema = Field(description="The schema and its name.")


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema,
    Field(discriminator="type"),
]


class PredictionContent(APIModel):
    type: Literal["content"] = Field(description="Predicted content.")
    content: StrictStr | list[TextContentPart] = Field(
        description="The text the answer is expected to hold."
    )


class AudioOutput(APIModel):
    voice: StrictStr | dict[str, StrictStr] = Field(description="The voice to speak with.")
    format: StrictStr = Field(description="The audio's encoding.")


class UserLocation(APIModel):
    type: Literal["approximate"] = Field(description="An approximate location.")
    approximate: dict[str, StrictStr] = Field(description="City, region, country, timezone.")


class WebSearchOptions(APIModel):
    user_location: UserLocation | None = Field(None, description="Where the user is.")
    search_context_size: Literal["low", "medium", "high"] | None = Field(
        None, description="How much of the search results to read."
    )


class ChatCompletionRequest(SamplingFields, NoEffectFields):
    messages: list[ChatMessage] = Field(
        min_length=1, description="The conversation so far, rendered by the model's template."
    )
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    logprobs: StrictBool = Field(
        False, description="Return the log probability of each answer token."
    )
    top_logprobs: Integer | None = Field(
        None,
        ge=0,
        le=20,
        description="How many of the most likely tokens to list at each position, with their "
        "log probabilities (needs logprobs: true).",
    )
    response_format: ResponseFormat | None = Field(
        None,
        description="The answer's format: text, any JSON object, or JSON that follows a "
        "schema, enforced by constrained decoding.",
    )
    tools: ChatTools | None = None
    tool_choice: ChatToolChoice | None = Field(
        None,
        description="none, auto (the default with tools), required, a named tool, or "
        "allowed_tools: which of the tools the model may or must call.",
    )
    parallel_tool_calls: StrictBool = Field(
        True, description="Whether the model may call several tools in one answer."
    )
    # Without effect on this model (docs/api/compatibility.md): it does not reason, speaks text
    # at one length, predicts nothing and searches nothing.
    modalities: list[Literal["text", "audio"]] | None = Field(
        None, description='The output types: ["text"] (audio is refused).'
    )
    reasoning_effort: ReasoningEffort | None = None
    verbosity: Verbosity | None = None
    prediction: PredictionContent | None = Field(
        None, description="No effect: no predicted-output speed-up; the answer is the same."
    )
    web_search_options: WebSearchOptions | None = Field(
        None, description="No effect: the model searches nothing."
    )
    audio: AudioOutput | None = Field(None, description="Refused: no audio out.")
    moderation: dict[str, Any] | None = Field(None, description="Refused: nothing moderates here.")

    @model_validator(mode="before")
    @classmethod
    def _no_functions(cls, data: Any) -> Any:
        """The deprecated `functions`/`function_call` are refused by name rather than mapped:
        one way to call functions keeps one response shape (tool_calls)."""
        if isinstance(data, dict):
            for key in ("functions", "function_call"):
                if key in data:
                    raise ValueError(
                        f"{key}: '{key}' is deprecated and not supported by this server; "
                        "use 'tools' and 'tool_choice'"
                    )
        return data

    @model_validator(mode="after")
    def _top_logprobs_needs_logprobs(self) -> ChatCompletionRequest:
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs: only allowed when logprobs is true")
        refuse_chat(self)
        return self

    def output_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens else self.max_tokens


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None


class ChatCompletionTokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(BaseModel):
    content: list[ChatCompletionTokenLogprob] | None
    refusal: None = None


class ChatCompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: None = None
    annotations: list[None] = Field(default_factory=list)  # no web search: none
    tool_calls: list[ToolCall | CustomToolCall] | None = None

    @model_serializer(mode="wrap")
    def _tool_calls_only_when_called(self, handler: Any) -> dict[str, Any]:
        """As OpenAI answers: no `tool_calls` key on a message without calls."""
        data = handler(self)
        if data.get("tool_calls") is None:
            data.pop("tool_calls", None)
        return data


class Choice(BaseModel):
    index: int
    message: ChatCompletionMessage
    logprobs: ChoiceLogprobs | None = None
    finish_reason: FinishReason


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    service_tier: ServiceTierUsed = "default"
    system_fingerprint: str


class ChoiceDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[DeltaToolCall] | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: ChoiceDelta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: FinishReason | None = None

    @field_serializer("delta")
    def _only_what_changed(self, delta: ChoiceDelta) -> dict[str, Any]:
        return delta.model_dump(exclude_none=True)


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    service_tier: ServiceTierUsed = "default"
    system_fingerprint: str
