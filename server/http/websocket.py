"""The Responses API's WebSocket mode: `response.create` events on ws://…/v1/responses, each
answered with the same events as an HTTP stream, one JSON message each. One response at a
time per connection; the connection's last response stays in memory (stored or not), so a
continuation with `previous_response_id` works on the same socket even with `store: false`."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.types import Message

from server.http.auth import owner_of
from server.http.error_handlers import validation_error
from server.http.runtime import Runtime, Services
from server.protocol.errors import APIError, internal_error
from server.protocol.responses import Response, ResponseCreateRequest
from server.services.responses import TERMINAL
from server.store.database import StoredResponse

log = logging.getLogger(__name__)
router = APIRouter()


def error_event(error: APIError, stream_id: str | None = None) -> str:
    """The WebSocket error event: the HTTP status beside OpenAI's error object."""
    event: dict[str, Any] = {"type": "error", "status": error.status}
    if stream_id is not None:
        event["stream_id"] = stream_id
    event["error"] = error.body().error.model_dump()
    return json.dumps(event)


def _services(runtime: Runtime) -> Services:
    if runtime.state != "ready" or runtime.services is None:
        raise APIError(
            "The engine is not serving; retry when GET /health answers 200.",
            status=503,
            type="service_unavailable",
            code="engine_unavailable",
        )
    return runtime.services


def _text(message: Message) -> str:
    """A text frame's content: OpenAI's events are JSON text, so a binary frame is refused."""
    text = message.get("text")
    if text is None:
        raise APIError("Send events as text frames; a binary frame is not read.")
    return text


def _request(message: str) -> tuple[ResponseCreateRequest, str | None]:
    try:
        event = json.loads(message)
    except (ValueError, RecursionError):  # nested past the parser's depth: RecursionError
        raise APIError("The message is not valid JSON.", code="invalid_json") from None
    if not isinstance(event, dict) or event.get("type") != "response.create":
        raise APIError("Send 'response.create' events.", param="type")
    fields = {k: v for k, v in event.items() if k not in ("type", "stream_id", "stream")}
    stream_id = event.get("stream_id")
    try:
        return ResponseCreateRequest.model_validate({**fields, "stream": True}), stream_id
    except ValidationError as error:
        raise validation_error(RequestValidationError(error.errors())) from None


@router.websocket("/v1/responses")
async def responses_socket(socket: WebSocket) -> None:
    await socket.accept()
    try:
        owner = owner_of(socket.headers, socket.app.state.api_keys)
    except APIError as error:
        await socket.send_text(error_event(error))
        await socket.close(code=1008)
        return
    recent: StoredResponse | None = None
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            stream_id, continued = None, None
            try:
                body, stream_id = _request(_text(message))
                continued = body.previous_response_id
                recent = await _answer(socket, body, owner, recent, stream_id)
            except APIError as error:
                if recent is not None and continued == recent.id:
                    recent = None  # a failed continuation forgets what it continued
                await socket.send_text(error_event(error, stream_id))
    except WebSocketDisconnect:
        return
    except Exception:
        log.exception("websocket failed")
        await socket.send_text(error_event(internal_error()))
        await socket.close(code=1011)


async def _answer(
    socket: WebSocket,
    body: ResponseCreateRequest,
    owner: str,
    recent: StoredResponse | None,
    stream_id: str | None,
) -> StoredResponse | None:
    """One response's events; the connection's new last response (or the old one, if this
    one did not finish)."""
    services = _services(socket.app.state.runtime)
    responses = services.responses
    release = socket.app.state.admission.admit(1, "input")
    try:
        begun = await responses.begin(body, owner, recent, "websocket")
        events = responses.stream(begun)
        try:
            async for event in events:
                data = event.data
                if stream_id is not None:
                    data = json.dumps({**json.loads(data), "stream_id": stream_id})
                await socket.send_text(data)
                if event.type in TERMINAL:
                    final = Response.model_validate(json.loads(event.data)["response"])
                    recent = begun.turn.record(final)
        finally:
            await events.aclose()
    finally:
        release()
    return recent
