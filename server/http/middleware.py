"""Plain ASGI middleware (streaming-safe): request ids, access logs and metrics, the body size
limit, and the last answer to unexpected failures."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import Metrics
from server.protocol.errors import APIError, ClientDisconnected, internal_error

log = logging.getLogger(__name__)
access_log = logging.getLogger("server.access")
# nginx's code for "the client closed the connection before the answer": not a server error.
CLIENT_CLOSED = 499


async def _send_error(send: Send, error: APIError) -> None:
    body = error.body().model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class ServerMiddleware:
    """One pass per HTTP request: tag it with an x-request-id (the client's, if sent), refuse
    bodies over the limit (413), answer what the app could not (500, the connection kept),
    then count, time and log it. (The in-flight bound counts engine requests:
    server/http/admission.py.)"""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _client_request_id(scope) or uuid.uuid4().hex
        id_header = (b"x-request-id", request_id.encode())
        status = 500
        started_response = False
        counted = False

        def done() -> None:
            nonlocal counted
            if not counted:
                counted = True
                self._done(scope, status, started, request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), id_header]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                done()  # counted before the client has the last byte, so a reader sees it
            await send(message)

        try:
            body = await _read_body(scope, receive, self.max_body_bytes)
        except _BodyTooLarge:
            error = APIError(
                f"The request body is larger than {self.max_body_bytes} bytes.",
                status=413,
                code="request_too_large",
            )
            await _send_error(send_with_id, error)
            done()
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, send_with_id)
        except ClientDisconnected:
            status = CLIENT_CLOSED
        except Exception:
            # Answered here rather than by the framework's last-resort handler, which
            # re-raises to the ASGI server and so closes a keep-alive connection.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started_response:
                await _send_error(send_with_id, internal_error())
        finally:
            done()

    def _done(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        route = _route(scope)
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        self._log(scope, status, elapsed, request_id)

    def _log(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "ms": round(elapsed * 1000, 1),
            "request_id": request_id,
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
        access_log.info(
            "%s %s %s %.1f ms id=%s",
            fields["method"],
            fields["path"],
            status,
            fields["ms"],
            request_id,
            extra={"access": fields},  # the JSON log format writes these as its own fields
        )


MAX_REQUEST_ID = 128


def _client_request_id(scope: Scope) -> str | None:
    """The client's x-request-id, echoed only when it is a sane one: up to 128 printable
    ASCII characters (it goes into response headers and every log line)."""
    given = _header(scope, b"x-request-id")
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable():
        return given
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _route(scope: Scope) -> str:
    """The route template the router matched (`/v1/responses/{response_id}`): a bounded set
    of metric labels that every new route joins by being declared. A request no route took
    (an unknown path, a body refused before routing) is "other"."""
    return getattr(scope.get("route"), "path", None) or "other"


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refused past `limit` whether or not content-length says so."""
    declared = _header(scope, b"content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
