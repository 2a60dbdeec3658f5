"""The error type the services raise and the OpenAI envelope it is written in, free of the
web framework: the services report a caller's mistake without knowing they run behind
HTTP."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, for a person to read.")
    type: str = Field(description="The error's class: invalid_request_error, server_error...")
    param: str | None = Field(
        None, description="The field at fault, by its path (messages[0].content), if one is."
    )
    code: str | None = Field(None, description="A stable code for programs, if one applies.")


class ErrorResponse(BaseModel):
    """OpenAI's error envelope: every error this server answers has this shape."""

    error: ErrorDetail


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


class ClientDisconnected(Exception):
    """The client hung up before its whole answer was ready; its work was cancelled."""


def internal_error() -> APIError:
    """What a caller sees of an unexpected failure (the details go to the log)."""
    return APIError(
        "The server had an error while processing your request.",
        status=500,
        type="server_error",
    )


def sse_error(error: APIError) -> str:
    """An error that happens after a stream has started goes out as one more event."""
    return f"data: {error.body().model_dump_json()}\n\n"
