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
    DeltaToolCall,
    MessageToolCalls,
    ToolCall,
)


class TextContentPart(ContentPart):
    type: Literal["text"]
    text: StrictStr


class RefusalContentPart(APIModel):
    """An assistant's earlier refusal, as the SDK sends a message back."""

    type: Literal["refusal"]
    refusal: StrictStr


class ImageURL(APIModel):
    url: StrictStr
    detail: Literal["auto", "low", "high"] | None = None


class ImageContentPart(ContentPart):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(APIModel):
    data: StrictStr
    format: StrictStr


class AudioContentPart(ContentPart):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FileData(APIModel):
    file_data: StrictStr | None = None
    file_id: StrictStr | None = None
    filename: StrictStr | None = None


class FileContentPart(ContentPart):
    type: Literal["file"]
    file: FileData


MessagePart = Annotated[
    TextContentPart | RefusalContentPart | ImageContentPart | AudioContentPart | FileContentPart,
    Field(discriminator="type"),
]
# What a text model reads; the other parts are refused by name (server/protocol/policy.py).
READABLE_PARTS = (TextContentPart, RefusalContentPart)


class AssistantAudio(APIModel):
    id: StrictStr


class LegacyFunctionCall(APIModel):
    name: StrictStr
    arguments: StrictStr


class ChatMessage(APIModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[MessagePart] | None = None
    name: str | None = None
    tool_calls: MessageToolCalls | None = None
    tool_call_id: CallId | None = None
    # What the SDK sends back when a client appends our answer's message as it is.
    refusal: str | None = None
    annotations: list[dict[str, Any]] | None = None
    # Refused when set (an earlier audio answer, the deprecated function call).
    audio: AssistantAudio | None = None
    function_call: LegacyFunctionCall | None = None

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
    description: str | None = None
    schema_: JSONSchemaBody = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormatText(APIModel):
    type: Literal["text"]


class ResponseFormatJSONObject(APIModel):
    type: Literal["json_object"]


class ResponseFormatJSONSchema(APIModel):
    type: Literal["json_schema"]
    json_schema: JSONSchema


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema,
    Field(discriminator="type"),
]


class PredictionContent(APIModel):
    type: Literal["content"]
    content: StrictStr | list[TextContentPart]


class AudioOutput(APIModel):
    voice: StrictStr | dict[str, StrictStr]
    format: StrictStr


class UserLocation(APIModel):
    type: Literal["approximate"]
    approximate: dict[str, StrictStr]


class WebSearchOptions(APIModel):
    user_location: UserLocation | None = None
    search_context_size: Literal["low", "medium", "high"] | None = None


class ChatCompletionRequest(SamplingFields, NoEffectFields):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    logprobs: StrictBool = False
    top_logprobs: Integer | None = Field(None, ge=0, le=20)
    response_format: ResponseFormat | None = None
    tools: ChatTools | None = None
    tool_choice: ChatToolChoice | None = None
    parallel_tool_calls: StrictBool = True
    # Without effect on this model (docs/api/compatibility.md): it does not reason, speaks text
    # at one length, predicts nothing and searches nothing.
    modalities: list[Literal["text", "audio"]] | None = None
    reasoning_effort: ReasoningEffort | None = None
    verbosity: Verbosity | None = None
    prediction: PredictionContent | None = None
    web_search_options: WebSearchOptions | None = None
    audio: AudioOutput | None = None  # refused when set: no audio out
    moderation: dict[str, Any] | None = None  # refused when set: nothing moderates here

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
    tool_calls: list[ToolCall] | None = None

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
