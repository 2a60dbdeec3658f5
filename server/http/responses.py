"""The Responses API's routes: create (answered, streamed, or in the background), and the
stored responses' retrieve, stream from a cursor, delete, cancel and input items."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response as RawResponse

from server.http.auth import require_api_key
from server.http.openapi import After, Include, Limit, Order, errors
from server.http.routes import STREAMED, ServicesDep
from server.http.streaming import admit, event_stream, nothing, until_disconnect, whole
from server.protocol.responses import (
    InputItemList,
    Response,
    ResponseCreateRequest,
    ResponseDeleted,
)
from server.services.response_events import StreamEvent

router = APIRouter(
    dependencies=[Depends(require_api_key)], tags=["responses"], responses=errors(401, 503)
)
ResponseId = Annotated[str, Path(description="The stored response's id.")]


async def _sse(events: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
    async for event in events:
        yield event.sse


@router.post(
    "/v1/responses", response_model=Response, responses={**STREAMED, **errors(400, 404, 413, 429)}
)
async def create_response(body: ResponseCreateRequest, services: ServicesDep, http: Request):
    responses = services.responses
    # Admitted first: with `context_management`, beginning may run a summary on the engine.
    release = admit(http, 1, "input")
    try:
        begun = await until_disconnect(http, responses.begin(body, http.state.owner))
    except BaseException:
        release()
        raise
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


@router.get(
    "/v1/responses/{response_id}",
    response_model=Response,
    responses={**STREAMED, **errors(400, 404)},
)
async def retrieve_response(
    response_id: ResponseId,
    services: ServicesDep,
    http: Request,
    stream: Annotated[
        bool,
        Query(description="Stream a background response's events, as they come, instead."),
    ] = False,
    starting_after: Annotated[
        int | None,
        Query(ge=-1, description="With stream: only the events after this sequence number."),
    ] = None,
    include: Include = None,
    include_obfuscation: Annotated[
        bool | None, Query(description="No effect: nothing is padded.")
    ] = None,
):
    """The stored response; with `stream=true`, a background response's events after
    `starting_after`, as they come (on the replica running it)."""
    responses = services.responses
    record = await responses.keeper.get(response_id, http.state.owner)
    if not stream:
        return RawResponse(record.response, media_type="application/json")
    return event_stream(_sse(responses.events_after(record, starting_after)), nothing)


@router.delete("/v1/responses/{response_id}", responses=errors(404))
async def delete_response(
    response_id: ResponseId, services: ServicesDep, http: Request
) -> ResponseDeleted:
    await services.responses.delete(response_id, http.state.owner)
    return ResponseDeleted(id=response_id)


@router.post("/v1/responses/{response_id}/cancel", responses=errors(400, 404))
async def cancel_response(
    response_id: ResponseId, services: ServicesDep, http: Request
) -> Response:
    return await services.responses.cancel(response_id, http.state.owner)


@router.get("/v1/responses/{response_id}/input_items", responses=errors(400, 404))
async def list_input_items(
    response_id: ResponseId,
    services: ServicesDep,
    http: Request,
    after: After = None,
    limit: Limit = 20,
    order: Order = "desc",
    include: Include = None,
) -> InputItemList:
    keeper = services.responses.keeper
    return await keeper.input_items(response_id, http.state.owner, after, limit, order)
