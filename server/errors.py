"""One error path: every failure leaves the server as an OpenAI error envelope."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.schemas.errors import ErrorDetail, ErrorResponse

log = logging.getLogger(__name__)


class APIError(Exception):
    """A caller's mistake or a known condition, reported with a status and a parameter."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> ErrorResponse:
        return ErrorResponse(
            error=ErrorDetail(
                message=self.message, type=self.type, param=self.param, code=self.code
            )
        )


def error_response(error: APIError) -> JSONResponse:
    return JSONResponse(error.body().model_dump(), status_code=error.status)


def _param(loc: tuple[int | str, ...]) -> str | None:
    """('body', 'messages', 0, 'content') -> 'messages[0].content'."""
    parts = [p for p in loc if p != "body"]
    # Union members show up in the location as type names; they mean nothing to a caller.
    parts = [p for p in parts if not (isinstance(p, str) and ("[" in p or p in _TYPE_TAGS))]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "function-after", "function-before"}


def validation_error(exc: RequestValidationError) -> APIError:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return APIError(
            "We could not parse the JSON body of your request: it is not valid JSON.",
            code="invalid_json",
        )
    loc = tuple(first.get("loc", ()))
    param = _param(loc)
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "extra_forbidden":
        message = f"Unrecognized request argument supplied: {param}"
    elif first.get("type") == "missing":
        message = f"Missing required parameter: '{param}'."
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        if ": " in message and param is None:
            param, _, _ = message.partition(":")
    else:
        message = f"Invalid value for '{param}': {message}."
    code = "missing_required_parameter" if first.get("type") == "missing" else "invalid_value"
    return APIError(message, param=param, code=code)


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        phrase = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return error_response(APIError(detail, status=exc.status_code, type=kind))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            APIError(
                "The server had an error while processing your request.",
                status=500,
                type="server_error",
            )
        )


def sse_error(error: APIError) -> str:
    """An error that happens after a stream has started goes out as one more event."""
    return f"data: {json.dumps(error.body().model_dump())}\n\n"
