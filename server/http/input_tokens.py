"""`POST /v1/responses/input_tokens`: a Responses request's prompt, counted, not answered."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from server.http.auth import require_api_key
from server.http.openapi import errors
from server.http.routes import ServicesDep
from server.protocol.input_tokens import TokenCounts, TokenCountsBody
from server.services.input_tokens import count

router = APIRouter(
    dependencies=[Depends(require_api_key)], tags=["responses"], responses=errors(401, 503)
)


@router.post("/v1/responses/input_tokens", responses=errors(400, 404, 413))
async def count_input_tokens(
    body: TokenCountsBody, services: ServicesDep, http: Request
) -> TokenCounts:
    return await count(body, services.responses, http.state.owner, services.engine.info.id)
