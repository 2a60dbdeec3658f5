"""Chat completions: messages through the model's chat template, answered whole or as
`chat.completion.chunk` events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from server.api_error import APIError, sse_error
from server.engine import Engine
from server.generation import (
    Limits,
    check_logit_bias,
    check_model,
    check_stream_options,
    choice_deltas,
    new_id,
    now,
    output_budget,
    render_messages,
    usage,
)
from server.logprobs import chat_logprobs
from server.outputs import ChoiceOutput
from server.sampling import OutputRequest
from server.schemas.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    ResponseFormatJSONObject,
    ResponseFormatJSONSchema,
)
from server.schemas.common import Usage
from server.settings import SamplingDefaults


@dataclass(frozen=True)
class PreparedChat:
    request: ChatCompletionRequest
    prompt_ids: list[int]
    output: OutputRequest


class ChatCompletions:
    def __init__(self, engine: Engine, defaults: SamplingDefaults, limits: Limits) -> None:
        self._engine = engine
        self._defaults = defaults
        self._limits = limits

    @property
    def model_id(self) -> str:
        return self._engine.info.id

    def prepare(self, request: ChatCompletionRequest) -> PreparedChat:
        """Everything that can be refused is refused here, before a stream starts."""
        info = self._engine.info
        check_model(request.model, info)
        check_logit_bias(request, info)
        check_stream_options(request)
        prompt_ids = render_messages(self._engine, request.messages)
        max_tokens = output_budget(
            len(prompt_ids), request.output_limit(), info, "messages", self._limits
        )
        top = request.top_logprobs or 0
        output = OutputRequest(
            max_tokens=max_tokens,
            logprobs=top if request.logprobs else None,
            stream=request.stream,
            json_schema=_json_schema(request),
            json_object=isinstance(request.response_format, ResponseFormatJSONObject),
        )
        return PreparedChat(request, prompt_ids, output)

    def deltas(self, prepared: PreparedChat, request_id: str) -> AsyncIterator[ChoiceOutput]:
        return choice_deltas(
            self._engine,
            prepared.prompt_ids,
            prepared.request,
            self._defaults,
            prepared.output,
            request_id,
        )

    async def complete(self, prepared: PreparedChat) -> ChatCompletion:
        request = prepared.request
        request_id = new_id("chatcmpl")
        finals: dict[int, ChoiceOutput] = {}
        async for delta in self.deltas(prepared, request_id):
            finals[delta.index] = delta
        choices = []
        for index in sorted(finals):
            delta = finals[index]
            logprobs = None
            if request.logprobs and delta.logprobs is not None:
                logprobs = chat_logprobs(delta.logprobs, self._engine.vocabulary)
            choices.append(
                Choice(
                    index=index,
                    message=ChatCompletionMessage(content=delta.text),
                    logprobs=logprobs,
                    finish_reason=delta.finish_reason or "stop",
                )
            )
        completion_tokens = sum(len(d.token_ids) for d in finals.values())
        return ChatCompletion(
            id=request_id,
            created=now(),
            model=self._engine.info.id,
            choices=choices,
            usage=usage(len(prepared.prompt_ids), completion_tokens),
        )

    async def stream(self, prepared: PreparedChat) -> AsyncIterator[str]:
        """Server-sent events: a role chunk per choice, content chunks with their logprobs,
        a finish chunk per choice, the usage chunk only when asked for, then [DONE]."""
        request = prepared.request
        request_id = new_id("chatcmpl")
        created = now()
        model = self._engine.info.id

        def chunk(choice: ChunkChoice | None = None, totals: Usage | None = None) -> str:
            body = ChatCompletionChunk(
                id=request_id,
                created=created,
                model=model,
                choices=[choice] if choice else [],
                usage=totals,
            )
            return f"data: {body.model_dump_json()}\n\n"

        for index in range(request.n):
            yield chunk(ChunkChoice(index=index, delta=ChoiceDelta(role="assistant", content="")))
        completion_tokens = 0
        try:
            async for delta in self.deltas(prepared, request_id):
                completion_tokens += len(delta.token_ids)
                logprobs = None
                if request.logprobs and delta.logprobs is not None:
                    logprobs = chat_logprobs(delta.logprobs, self._engine.vocabulary)
                if delta.text or (logprobs and logprobs.content):
                    yield chunk(
                        ChunkChoice(
                            index=delta.index,
                            delta=ChoiceDelta(content=delta.text),
                            logprobs=logprobs,
                        )
                    )
                if delta.finish_reason:
                    yield chunk(
                        ChunkChoice(
                            index=delta.index,
                            delta=ChoiceDelta(),
                            finish_reason=delta.finish_reason,  # type: ignore[arg-type]
                        )
                    )
        except APIError as error:
            yield sse_error(error)
        else:
            if request.stream_options and request.stream_options.include_usage:
                yield chunk(totals=usage(len(prepared.prompt_ids), completion_tokens))
        yield "data: [DONE]\n\n"


def _json_schema(request: ChatCompletionRequest) -> dict[str, Any] | None:
    """The schema of a json_schema response_format, refused early when it is not a valid
    JSON Schema."""
    if not isinstance(request.response_format, ResponseFormatJSONSchema):
        return None
    schema = request.response_format.json_schema.schema_
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise APIError(
            f"Invalid JSON schema in response_format: {exc.message}",
            param="response_format",
            code="invalid_json_schema",
        ) from exc
    return schema
