"""The optional API key on /v1 routes."""

from __future__ import annotations

import hmac

from fastapi import Request

from server.protocol.errors import APIError


async def require_api_key(request: Request) -> None:
    """Bearer key check in constant time; a server without a key lets everyone in."""
    expected = request.app.state.api_key
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise APIError(
            "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.",
            status=401,
            type="invalid_request_error",
            code="invalid_api_key",
        )
