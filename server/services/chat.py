"""Chat completions: messages through the model's chat template, answered whole or as
`chat.completion.chunk` events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from server.engine.engine import Engine
from server.protocol.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatCompletionTokenLogprob,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    ResponseFormatJSONObject,
    ResponseFormatJSONSchema,
)
from server.protocol.common import Usage
from server.protocol.errors import APIError, sse_error
from server.sampling.json_schema import bounded, check_schema
from server.sampling.logprobs import chat_logprobs
from server.sampling.outputs import ChoiceOutput
from server.sampling.params import (
    JSON_OBJECT_SCHEMA,
    EffectiveSampling,
    OutputRequest,
    resolve,
    token_rules,
)
from server.services.budget import Limits, output_budget
from server.services.checks import (
    check_logit_bias,
    check_model,
    check_stream_options,
    check_token_rules,
)
from server.services.fan_out import choice_deltas
from server.services.ids import new_id, now
from server.services.samplers import check_samplers, logprobs_from
from server.services.template import render_messages
from server.services.usage import CachedTokens, usage
from server.settings import SamplingDefaults
from server.tools import shape
from server.tools.grammar import call_grammar
from server.tools.parse import CallParser, parse_answer
from server.tools.plan import ToolPlan, chat_plan


@dataclass(frozen=True)
class FieldNames:
    """What errors call the request's fields: chat's own names, or the Responses API's."""

    prompt: str = "messages"
    output: str = "max_tokens"
    response_format: str = "response_format"
    schema: str = "response_format"


@dataclass(frozen=True)
class PreparedChat:
    request: ChatCompletionRequest
    prompt_ids: list[int]
    output: OutputRequest
    sampling: EffectiveSampling
    tools: ToolPlan | None = None

    @property
    def parses_calls(self) -> bool:
        return self.tools is not None and self.tools.choice != "none"


class ChatCompletions:
    def __init__(
        self,
        engine: Engine,
        defaults: SamplingDefaults,
        limits: Limits,
        json_whitespace: bool = False,
        logprobs_mode: str = "raw",
    ) -> None:
        self._engine = engine
        self._defaults = defaults
        self._limits = limits
        self._json_whitespace = json_whitespace
        self._logprobs_mode = logprobs_mode

    @property
    def model_id(self) -> str:
        return self._engine.info.id

    def prepare(
        self,
        request: ChatCompletionRequest,
        tools: ToolPlan | None = None,
        names: FieldNames = FieldNames(),
    ) -> PreparedChat:
        """Everything that can be refused is refused here, before a stream starts. The
        Responses API hands in its tools already checked and its field names."""
        info = self._engine.info
        check_model(request.model, info)
        check_logit_bias(request, info)
        check_stream_options(request)
        if tools is None:
            tools = chat_plan(request.tools, request.tool_choice, request.parallel_tool_calls)
        json_schema = _json_schema(request, names.schema)
        json_object = isinstance(request.response_format, ResponseFormatJSONObject)
        answer = JSON_OBJECT_SCHEMA if json_object else json_schema
        grammar = call_grammar(tools, self._json_whitespace, answer) if tools else None
        prompt_ids = render_messages(self._engine, request.messages, plan=tools, param=names.prompt)
        max_tokens = output_budget(
            len(prompt_ids), request.output_limit(), info, names.prompt, self._limits, names.output
        )
        constrained = grammar is not None or json_schema is not None or json_object
        check_token_rules(request, info, max_tokens, constrained)
        sampling = resolve(request, self._defaults)
        check_samplers(sampling)
        top = request.top_logprobs or 0
        output = OutputRequest(
            max_tokens=max_tokens,
            logprobs=top if request.logprobs else None,
            logprobs_from=logprobs_from(
                request, sampling, self._logprobs_mode, token_rules(request)
            )
            if request.logprobs
            else "engine",
            stream=request.stream,
            json_schema=json_schema,
            json_object=json_object,
            grammar=grammar,
            stop_repeated_calls=grammar is not None and tools is not None and tools.parallel,
        )
        return PreparedChat(request, prompt_ids, output, sampling, tools)

    def sampling(self, prepared: PreparedChat) -> EffectiveSampling:
        """The values the request samples with (its own, its preset's, the defaults)."""
        return prepared.sampling

    def logprobs(
        self, prepared: PreparedChat, delta: ChoiceOutput
    ) -> list[ChatCompletionTokenLogprob]:
        if not prepared.request.logprobs or delta.logprobs is None:
            return []
        return chat_logprobs(delta.logprobs, self._engine.vocabulary).content or []

    def deltas(self, prepared: PreparedChat, request_id: str) -> AsyncIterator[ChoiceOutput]:
        return choice_deltas(
            self._engine,
            prepared.prompt_ids,
            prepared.request,
            prepared.sampling,
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
            message = ChatCompletionMessage(content=delta.text)
            finish = delta.finish_reason or "stop"
            if prepared.parses_calls:
                parsed = parse_answer(delta.text)
                message, finish = shape.message(parsed), shape.finish_reason(parsed, finish)
            choices.append(
                Choice(
                    index=index,
                    message=message,
                    logprobs=logprobs,
                    finish_reason=finish,  # type: ignore[arg-type]
                )
            )
        completion_tokens = sum(len(d.token_ids) for d in finals.values())
        cached = finals[0].cached_tokens if 0 in finals else 0
        return ChatCompletion(
            id=request_id,
            created=now(),
            model=self._engine.info.id,
            choices=choices,
            usage=usage(len(prepared.prompt_ids), completion_tokens, cached),
            system_fingerprint=self._engine.info.fingerprint,
        )

    async def stream(self, prepared: PreparedChat) -> AsyncIterator[str]:
        """Server-sent events: a role chunk per choice, content (or tool call) chunks with
        their logprobs, a finish chunk per choice, the usage chunk only when asked for, then
        [DONE]."""
        request = prepared.request
        request_id = new_id("chatcmpl")
        created = now()
        info = self._engine.info
        cached = CachedTokens()

        def chunk(choice: ChunkChoice | None = None, totals: Usage | None = None) -> str:
            body = ChatCompletionChunk(
                id=request_id,
                created=created,
                model=info.id,
                choices=[choice] if choice else [],
                usage=totals,
                system_fingerprint=info.fingerprint,
            )
            return f"data: {body.model_dump_json()}\n\n"

        for index in range(request.n):
            yield chunk(ChunkChoice(index=index, delta=ChoiceDelta(role="assistant", content="")))
        completion_tokens = 0
        parsers = [CallParser() for _ in range(request.n)] if prepared.parses_calls else None
        try:
            async for delta in self.deltas(prepared, request_id):
                completion_tokens += len(delta.token_ids)
                cached.see(delta)
                logprobs = None
                if request.logprobs and delta.logprobs is not None:
                    logprobs = chat_logprobs(delta.logprobs, self._engine.vocabulary)
                content, calls, finish = delta.text, None, delta.finish_reason
                if parsers is not None:
                    parser = parsers[delta.index]
                    events = parser.feed(delta.text)
                    if finish:
                        events += parser.finish()
                        finish = shape.finish_reason(parser, finish)
                    text, calls = shape.delta_parts(events)
                    content = text or None
                if content or calls or (logprobs and logprobs.content):
                    yield chunk(
                        ChunkChoice(
                            index=delta.index,
                            delta=ChoiceDelta(content=content, tool_calls=calls or None),
                            logprobs=logprobs,
                        )
                    )
                if finish:
                    yield chunk(
                        ChunkChoice(
                            index=delta.index,
                            delta=ChoiceDelta(),
                            finish_reason=finish,  # type: ignore[arg-type]
                        )
                    )
        except APIError as error:
            yield sse_error(error)
        else:
            if request.stream_options and request.stream_options.include_usage:
                totals = usage(len(prepared.prompt_ids), completion_tokens, cached.total)
                yield chunk(totals=totals)
        yield "data: [DONE]\n\n"


def _json_schema(request: ChatCompletionRequest, param: str) -> dict[str, Any] | None:
    """The schema of a json_schema response_format, refused early when it is not usable."""
    if not isinstance(request.response_format, ResponseFormatJSONSchema):
        return None
    schema = request.response_format.json_schema.schema_
    check_schema(schema, param)
    return bounded(schema)
