"""The Responses API's routes: create (answered, streamed, or in the background), and the
stored responses' retrieve, stream from a cursor, delete, cancel and input items."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response as RawResponse

from server.http.auth import require_api_key
from server.http.routes import ServicesDep
from server.http.streaming import admit, event_stream, nothing, whole
from server.protocol.responses import (
    InputItemList,
    Response,
    ResponseCreateRequest,
    ResponseDeleted,
)
from server.services.response_events import StreamEvent

router = APIRouter(dependencies=[Depends(require_api_key)], tags=["responses"])
STREAMED = {200: {"content": {"text/event-stream": {}}}}


async def _sse(events: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
    async for event in events:
        yield event.sse


@router.post("/v1/responses", response_model=Response, responses=STREAMED)
async def create_response(body: ResponseCreateRequest, services: ServicesDep, http: Request):
    responses = services.responses
    begun = await responses.begin(body, http.state.owner)
    release = admit(http, 1, "input")
    if body.background:
        try:
            queued, run = await responses.start_background(begun, release)
        except BaseException:
            release()
            raise
        # A reader that hangs up leaves the response running.
        return event_stream(_sse(run.follow()), nothing) if body.stream else queued
    if body.stream:
        return event_stream(_sse(responses.stream(begun)), release)
    return await whole(http, responses.create(begun), release)


@router.get("/v1/responses/{response_id}", response_model=Response, responses=STREAMED)
async def retrieve_response(
    response_id: str,
    services: ServicesDep,
    http: Request,
    stream: bool = False,
    starting_after: Annotated[int | None, Query(ge=-1)] = None,
    include: Annotated[list[str] | None, Query()] = None,
    include_obfuscation: bool | None = None,
):
    """The stored response; with `stream=true`, a background response's events after
    `starting_after`, as they come (on the replica running it)."""
    responses = services.responses
    record = await responses.keeper.get(response_id, http.state.owner)
    if not stream:
        return RawResponse(record.response, media_type="application/json")
    return event_stream(_sse(responses.events_after(record, starting_after)), nothing)


@router.delete("/v1/responses/{response_id}")
async def delete_response(
    response_id: str, services: ServicesDep, http: Request
) -> ResponseDeleted:
    await services.responses.delete(response_id, http.state.owner)
    return ResponseDeleted(id=response_id)


@router.post("/v1/responses/{response_id}/cancel")
async def cancel_response(response_id: str, services: ServicesDep, http: Request) -> Response:
    return await services.responses.cancel(response_id, http.state.owner)


@router.get("/v1/responses/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    services: ServicesDep,
    http: Request,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    include: Annotated[list[str] | None, Query()] = None,
) -> InputItemList:
    keeper = services.responses.keeper
    return await keeper.input_items(response_id, http.state.owner, after, limit, order)
