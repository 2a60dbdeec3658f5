"""`POST /v1/responses/compact`: a conversation summarized by the model into OpenAI's
`response.compaction` object (server/services/compaction.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from server.http.auth import require_api_key
from server.http.openapi import errors
from server.http.routes import ServicesDep
from server.http.streaming import admit, whole
from server.protocol.compaction import CompactResource, ResponseCompactRequest

router = APIRouter(
    dependencies=[Depends(require_api_key)], tags=["responses"], responses=errors(401, 503)
)


@router.post("/v1/responses/compact", responses=errors(400, 404, 413, 429))
async def compact_response(
    body: ResponseCompactRequest, services: ServicesDep, http: Request
) -> CompactResource:
    compactor = services.responses.compactor
    return await whole(http, compactor.resource(body, http.state.owner), admit(http, 1, "input"))
