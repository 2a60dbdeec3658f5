"""The optional API keys on /v1 routes, and whose stored responses a request may read."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from fastapi import Request

from server.protocol.errors import APIError


def owner_of(headers: Mapping[str, str], keys: Sequence[str]) -> str:
    """The owner of what this request stores: a hash of its key ("" on a server without
    keys). Each key is compared in constant time; a missing or wrong one is a 401."""
    if not keys:
        return ""
    scheme, _, given = headers.get("authorization", "").partition(" ")
    token = given.strip().encode()
    matched = [hmac.compare_digest(token, key.encode()) for key in keys]
    if scheme.lower() != "bearer" or not any(matched):
        raise APIError(
            "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.",
            status=401,
            type="invalid_request_error",
            code="invalid_api_key",
        )
    return hashlib.sha256(token).hexdigest()[:32]


async def require_api_key(request: Request) -> None:
    request.state.owner = owner_of(request.headers, request.app.state.api_keys)
