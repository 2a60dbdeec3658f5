"""The web framework's side of the one error path: its exceptions become OpenAI error
envelopes."""

from __future__ import annotations

import re
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.protocol.errors import APIError


def error_response(error: APIError) -> JSONResponse:
    headers = {"retry-after": "1"} if error.status == 429 else None
    return JSONResponse(error.body().model_dump(), status_code=error.status, headers=headers)


def _param(loc: tuple[int | str, ...]) -> str | None:
    """('body', 'messages', 0, 'content') -> 'messages[0].content'; ('query', 'limit') ->
    'limit', the bare name OpenAI gives a query parameter."""
    if loc and loc[0] in _SOURCES:
        loc = loc[1:]
    parts: list[int | str] = []
    for part in loc:
        # Union members show up in the location as type names, and a discriminated
        # union's member as its tag; they mean nothing to a caller.
        if isinstance(part, str) and ("[" in part or part in _TYPE_TAGS):
            continue
        if parts and parts[-1] in _TAGGED_UNIONS and isinstance(part, str):
            parts.append(_TAG)
            continue
        tagged_item = len(parts) >= 2 and isinstance(parts[-1], int) and parts[-2] in _TAGGED_LISTS
        if tagged_item and isinstance(part, str):
            parts.append(_TAG)
            continue
        parts.append(part)
    text = ""
    for part in parts:
        if part is _TAG:
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


# Where in the HTTP request FastAPI says a value was: the first part of its location.
_SOURCES = {"body", "query", "path", "header", "cookie"}
_TYPE_TAGS = {
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "function-after",
    "function-before",
    "constrained-str",
    "constrained-int",
}
# Fields whose value is a union told apart by its "type" (response_format, text.format).
_TAGGED_UNIONS = {"response_format", "format", "tool_choice"}
# Lists whose items are such unions (the Responses API's input items).
_TAGGED_LISTS = {"input", "tools", "tool_calls", "content", "output"}
_TAG = "\0tag"


_FIELD_FIRST = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\]|\.[A-Za-z_][A-Za-z0-9_]*)*): ")


def _most_specific(errors: list[dict]) -> dict:
    """Of a union's errors, the one that says what is wrong with the value ("must be >= 0")
    rather than that it is not some other member's type ("should be a valid string")."""
    for error in errors:
        kind = str(error.get("type", ""))
        if not kind.endswith(("_type", "_parsing")) and kind not in ("union_tag_invalid",):
            return error
    return errors[0]


def validation_error(exc: RequestValidationError) -> APIError:
    first = _most_specific(list(exc.errors()))
    if first.get("type") == "json_invalid":
        return APIError(
            "We could not parse the JSON body of your request: it is not valid JSON.",
            code="invalid_json",
        )
    loc = tuple(first.get("loc", ()))
    param = _param(loc)
    message = str(first.get("msg", "invalid value"))
    kind = str(first.get("type", ""))
    code = CODES.get(kind, "invalid_value")
    if kind == "extra_forbidden":
        message = f"Unrecognized request argument supplied: {param or repr(loc[-1])}"
    elif kind == "missing":
        message = f"Missing required parameter: '{param}'."
    elif message.startswith("Value error, ") or kind in CODES:
        message = message.removeprefix("Value error, ")
        # Model validators name their field first ("tool_call_id: ..."), below where the
        # model sits (messages[1]).
        named = _FIELD_FIRST.match(message)
        if named and param is None:
            param = named.group(1)
        elif named:
            param = f"{param}.{named.group(1)}"
    else:
        message = f"Invalid value for '{param}': {message}."
    return APIError(message, param=param, code=code)


# Error types of the request models that are their own error codes.
CODES = {
    "extra_forbidden": "unknown_parameter",
    "missing": "missing_required_parameter",
    "invalid_unicode": "invalid_unicode",
}


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
