"""What the routes declare in /openapi.json beyond their models: the error statuses each can
answer, in OpenAI's envelope (docs/api/errors.md lists every one), and the query
parameters that several routes share."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from server.protocol.errors import ErrorResponse

WHEN = {
    400: "The request is invalid: a field missing, unknown, out of range or refused (`param` "
    "names it), or more engine requests than one request may start.",
    401: "The API key is missing or wrong (on a server started with API keys).",
    404: "Another model than the one served, or a stored response, conversation or item that "
    "does not exist or belongs to another API key.",
    413: "The body is larger than the server's --max-body-bytes.",
    429: "The server is busy: more engine requests in flight than --max-concurrent-requests; "
    "retry after the Retry-After header's seconds.",
    503: "The model is still loading, or the engine failed or the server is stopping.",
}
ANY_OTHER = (
    "Any other error, in the same envelope: a 500 is an unexpected failure (its details go "
    "to the server's log only)."
)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route (or router) that can answer these statuses. Every error is
    the same envelope, so it is also the `default`, which keeps FastAPI from declaring its
    422: a request that fails validation is answered 400 here, as OpenAI answers it."""
    declared: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": WHEN[status]} for status in statuses
    }
    declared["default"] = {"model": ErrorResponse, "description": ANY_OTHER}
    return declared


# The query parameters of OpenAI's item lists (a stored response's input, a conversation's).
After = Annotated[str | None, Query(description="List the items after this item id.")]
Limit = Annotated[int, Query(ge=1, le=100, description="How many items to list, 1 to 100.")]
Order = Annotated[
    Literal["asc", "desc"], Query(description="asc: oldest first; desc: newest first.")
]
Include = Annotated[
    list[str] | None,
    Query(description="No effect: no hosted-tool or reasoning items are ever stored here."),
]
