"""The Responses API as a translation over chat completions: the same template, sampling and
engine, answered as a `response` object or as Responses stream events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from pydantic import BaseModel

from server.api_error import APIError
from server.chat import ChatCompletions, PreparedChat
from server.generation import new_id, now
from server.schemas.chat import (
    ChatCompletionRequest,
    ChatMessage,
    JSONSchema,
    ResponseFormatJSONObject,
    ResponseFormatJSONSchema,
)
from server.schemas.responses import (
    FormatJSONObject,
    FormatJSONSchema,
    IncompleteDetails,
    OutputMessage,
    OutputText,
    Response,
    ResponseCreateRequest,
    ResponseUsage,
)


def to_chat(request: ResponseCreateRequest) -> ChatCompletionRequest:
    messages = []
    if request.instructions:
        messages.append(ChatMessage(role="system", content=request.instructions))
    if isinstance(request.input, str):
        messages.append(ChatMessage(role="user", content=request.input))
    else:
        messages += [ChatMessage(role=m.role, content=m.text()) for m in request.input]
    text_format = request.text.format if request.text else None
    response_format: ResponseFormatJSONObject | ResponseFormatJSONSchema | None = None
    if isinstance(text_format, FormatJSONObject):
        response_format = ResponseFormatJSONObject(type="json_object")
    elif isinstance(text_format, FormatJSONSchema):
        response_format = ResponseFormatJSONSchema(
            type="json_schema",
            json_schema=JSONSchema(
                name=text_format.name, schema=text_format.schema_, strict=text_format.strict
            ),
        )
    return ChatCompletionRequest(
        model=request.model,
        messages=messages,
        max_completion_tokens=request.max_output_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        min_p=request.min_p,
        seed=request.seed,
        preset=request.preset,
        response_format=response_format,
        stream=request.stream,
        user=request.user,
    )


class Responses:
    def __init__(self, chat: ChatCompletions) -> None:
        self._chat = chat

    def prepare(self, request: ResponseCreateRequest) -> tuple[ResponseCreateRequest, PreparedChat]:
        return request, self._chat.prepare(to_chat(request))

    def _response(
        self,
        request: ResponseCreateRequest,
        response_id: str,
        message_id: str,
        created: int,
        text: str,
        finish_reason: str | None,
        usage: ResponseUsage | None,
    ) -> Response:
        done = finish_reason is not None
        incomplete = finish_reason == "length"
        details = IncompleteDetails(reason="max_output_tokens") if incomplete else None
        text_config = request.text.model_dump(by_alias=True) if request.text else None
        status = "incomplete" if incomplete else ("completed" if done else "in_progress")
        output = []
        if done:
            output.append(
                OutputMessage(id=message_id, status=status, content=[OutputText(text=text)])
            )
        return Response(
            id=response_id,
            created_at=created,
            status=status,  # type: ignore[arg-type]
            model=self._chat.model_id,
            output=output,
            usage=usage,
            instructions=request.instructions,
            max_output_tokens=request.max_output_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            incomplete_details=details,
            text=text_config or {"format": {"type": "text"}},
            metadata=request.metadata or {},
        )

    async def create(self, request: ResponseCreateRequest, prepared: PreparedChat) -> Response:
        completion = await self._chat.complete(prepared)
        choice = completion.choices[0]
        return self._response(
            request,
            new_id("resp"),
            new_id("msg"),
            completion.created,
            choice.message.content or "",
            choice.finish_reason,
            _usage(completion.usage.prompt_tokens, completion.usage.completion_tokens),
        )

    async def stream(
        self, request: ResponseCreateRequest, prepared: PreparedChat
    ) -> AsyncIterator[str]:
        """The Responses event sequence the OpenAI SDK's stream helpers accumulate."""
        response_id, message_id, created = new_id("resp"), new_id("msg"), now()
        sequence = 0

        def event(kind: str, **fields: object) -> str:
            nonlocal sequence
            body = {"type": kind, "sequence_number": sequence}
            for key, value in fields.items():
                body[key] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            sequence += 1
            return f"event: {kind}\ndata: {json.dumps(body)}\n\n"

        def snapshot(
            text: str = "", finish: str | None = None, usage: ResponseUsage | None = None
        ) -> Response:
            return self._response(request, response_id, message_id, created, text, finish, usage)

        location = {"item_id": message_id, "output_index": 0, "content_index": 0}
        yield event("response.created", response=snapshot())
        yield event("response.in_progress", response=snapshot())
        item = OutputMessage(id=message_id, status="in_progress", content=[])
        yield event("response.output_item.added", output_index=0, item=item)
        yield event("response.content_part.added", **location, part=OutputText(text=""))
        text, finish, completion_tokens = "", None, 0
        try:
            async for delta in self._chat.deltas(prepared, response_id):
                completion_tokens += len(delta.token_ids)
                if delta.text:
                    text += delta.text
                    yield event(
                        "response.output_text.delta", **location, delta=delta.text, logprobs=[]
                    )
                finish = delta.finish_reason or finish
        except APIError as error:
            # The Responses stream's own error event, with what went wrong, then nothing more.
            yield event("error", code=error.code, message=error.message, param=error.param)
            return
        yield event("response.output_text.done", **location, text=text, logprobs=[])
        yield event("response.content_part.done", **location, part=OutputText(text=text))
        final = snapshot(
            text, finish or "stop", _usage(len(prepared.prompt_ids), completion_tokens)
        )
        yield event("response.output_item.done", output_index=0, item=final.output[0])
        kind = "response.incomplete" if final.status == "incomplete" else "response.completed"
        yield event(kind, response=final)


def _usage(input_tokens: int, output_tokens: int) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
